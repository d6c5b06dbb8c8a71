extension SubscriptionRegistry {
    /// Slow path of ``IntervalSubscription/readBegin()``: the subscription is in
    /// the current window, it is no longer registered, or the caller is an
    /// invalidate callback.
    @usableFromInline @inline(never)
    func waitForReadBegin(_ subscription: IntervalSubscription) throws(NotifierError) -> UInt64 {
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: .readBegin) }
        // Re-read under the lock, as the kernel does, then sleep until the window
        // closes; the end step changes the sequence under this lock.
        let (seen, invalidating) = try withLock { (state) throws(NotifierError) -> (UInt64, Bool) in
            // Relaxed: read under `lock`, which every write of the sequence holds
            // (`setSequence` writes only during a window, which this lock orders).
            let seen = subscription.sequence.load(ordering: .relaxed)
            try checkReadable(subscription, seen: seen)
            // Relaxed: as above.
            guard seen == sequence.load(ordering: .relaxed) else { return (seen, false) }
            // The window is open and covers the subscription: sleeping would
            // wait for whoever opened it.
            if state.callerHoldsWindow() { throw .calledInsideOwnWindow(operation: .readBegin) }
            state.statistics.readBeginWaits += 1
            return (seen, true)
        }
        // Relaxed: read under `lock` (in `waitUntil`), which every write holds.
        if invalidating { waitUntil { _ in sequence.load(ordering: .relaxed) != seen } }
        return seen
    }

    /// Throws the error of an unregistered subscription (lock held): even
    /// sequence `seen` means removed or detached.
    private func checkReadable(_ subscription: IntervalSubscription, seen: UInt64) throws(NotifierError) {
        guard seen & 1 == 0 else { return }
        throw subscription.state.unregisteredError ?? .notRegistered
    }

    /// ``IntervalSubscription/readBegin()`` of the locked strategies, as the
    /// kernel's `mmu_interval_read_begin`: read both sequences under the registry
    /// lock (shared where it has a shared mode), then sleep if the subscription
    /// is in the current window.
    @usableFromInline @inline(never)
    func lockedReadBegin(_ subscription: IntervalSubscription) throws(NotifierError) -> UInt64 {
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: .readBegin) }
        try refuseInsideLockedLookup(.readBegin)
        lock.lockShared()
        // Relaxed: both are written only under `lock`, which we hold.
        let seen = subscription.sequence.load(ordering: .relaxed)
        // Relaxed: as above.
        let invalidating = seen == sequence.load(ordering: .relaxed)
        lock.unlockShared()
        if _fastPath(!invalidating && seen & 1 == 1) { return seen }
        return try waitForReadBegin(subscription)
    }

    /// Calls `body` with each subscription overlapping `[start, last]`, in
    /// address order, until it returns false, with no lock (RCU read-side
    /// section) or the registry lock shared (locked strategies).
    @inlinable
    func forEachSubscription(overlapping start: UInt64, last: UInt64, _ body: (IntervalSubscription) throws -> Bool) rethrows -> Bool {
        let token = enterLookup()
        defer { exitLookup(token) }
        return try tree.snapshot().forEachOverlapping(start: start, last: last) { entry in
            try IntervalSubscription.borrowing(treeValue: entry.value, body)
        }
    }

    /// Calls `body` with the lowest subscription containing `address` (or nil).
    @inlinable
    func withSubscription<Result>(containing address: UInt64, _ body: (IntervalSubscription?) throws -> Result) rethrows -> Result {
        let token = enterLookup()
        defer { exitLookup(token) }
        guard let entry = tree.snapshot().firstOverlapping(start: address, last: address) else { return try body(nil) }
        return try IntervalSubscription.borrowing(treeValue: entry.value, body)
    }

    /// Enters the protection lookups need (see ``ReaderProtection``).
    @inlinable @inline(__always)
    func enterLookup() -> LookupToken {
        if _fastPath(readersAreMembRCU) {
            RCU.readLock()
            return LookupToken(wentOnline: false, previousMarker: nil)
        }
        return readers.enterLookup(lock: lock, registry: markerAddress)
    }

    /// Leaves what ``enterLookup()`` entered.
    @inlinable @inline(__always)
    func exitLookup(_ token: LookupToken) {
        if _fastPath(readersAreMembRCU) { return RCU.readUnlock() }
        readers.exitLookup(token, lock: lock)
    }
}
