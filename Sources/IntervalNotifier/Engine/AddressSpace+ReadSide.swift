extension AddressSpace {
    /// Slow path of ``IntervalSubscription/readBegin()``: the subscription is in
    /// the current window (or the caller is an invalidate callback).
    @usableFromInline @inline(never)
    func waitForReadBegin(_ subscription: IntervalSubscription, observed: UInt64) throws(NotifierError) -> UInt64 {
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: "readBegin") }
        lock.lock()
        // Re-read under the lock, as the kernel does, then sleep until the window
        // closes; the end step changes the sequence under this lock.
        let seen = subscription.sequence.load(ordering: .relaxed)
        // Relaxed: read under `lock`, which every write of the sequence holds.
        if seen == sequence.load(ordering: .relaxed) {
            statisticsValue.readBeginWaits += 1
            waiters += 1
            // Relaxed: read under `lock`, which every write of the sequence holds.
            while sequence.load(ordering: .relaxed) == seen { lock.wait() }
            waiters -= 1
        }
        lock.unlock()
        return seen
    }

    /// Calls `body` with each subscription overlapping `[start, last]`, in
    /// address order, until it returns false; no lock is taken (RCU read-side
    /// section). This is the fault path's lookup.
    ///
    /// `body` must not block, wait for a grace period, or keep the subscription
    /// beyond the call without its own strong reference; it may call
    /// ``IntervalSubscription/readBegin()`` only if that cannot sleep for long.
    /// - Returns: false if `body` stopped the walk.
    /// - Complexity: O(log n + k); no allocation, no reference counting.
    @inlinable
    @discardableResult
    public func forEachSubscription(overlapping start: UInt64, last: UInt64, _ body: (IntervalSubscription) throws -> Bool) rethrows -> Bool {
        RCU.readLock()
        defer { RCU.readUnlock() }
        return try tree.snapshot().forEachOverlapping(start: start, last: last) { entry in
            try Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: entry.value)!)
                ._withUnsafeGuaranteedRef { try body($0) }
        }
    }

    /// Calls `body` with the lowest subscription containing `address` (or nil),
    /// inside an RCU read-side section, without a lock.
    /// - Complexity: O(log n); no allocation, no reference counting.
    @inlinable
    public func withSubscription<Result>(containing address: UInt64, _ body: (IntervalSubscription?) throws -> Result) rethrows -> Result {
        RCU.readLock()
        defer { RCU.readUnlock() }
        guard let entry = tree.snapshot().firstOverlapping(start: address, last: address) else { return try body(nil) }
        return try Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: entry.value)!)
            ._withUnsafeGuaranteedRef { try body($0) }
    }

    /// Number of subscriptions in the tree (excluding pending inserts).
    public var subscriptionCount: Int { tree.count }
}
