import CNotifierCore
import Synchronization

extension AddressSpace {
    /// Starts invalidating `range` (`mmu_notifier_invalidate_range_start` for
    /// interval subscriptions) and calls the invalidate callback of every
    /// subscription that overlaps it, on the calling thread.
    ///
    /// Under the lock: `active += 1`; if a subscription overlaps, the sequence is
    /// made odd (the window opens and the tree freezes). Then, without the lock,
    /// each overlapping subscription's callback gets the window's sequence.
    /// Pair every successful call with ``invalidateRangeEnd(_:)``; the window
    /// closes when every invalidation in flight has ended.
    ///
    /// - Throws: ``NotifierError/wouldBlock`` when `range` is not blockable and a
    ///   callback returned false: the walk stopped there and the range was ended
    ///   already (`active` is back to its value before): do not call end.
    ///   A false return on a blockable range is a callback bug: it is counted in
    ///   ``AddressSpaceStatistics/blockableCallbackFailures`` and the walk goes on.
    /// - Complexity: O(log n + k) for k overlapping subscriptions, plus the callbacks.
    public func invalidateRangeStart(_ range: InvalidationRange) throws(NotifierError) {
        lock.lock()
        active += 1
        statisticsValue.invalidations += 1
        let snapshot = tree.snapshotProtected()
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        var current = sequence.load(ordering: .relaxed)
        if snapshot.firstOverlapping(start: range.start, last: range.last) != nil {
            current |= 1
            // Releasing: lock-free `readBegin` must see the window open before
            // any callback stores this value into a subscription.
            sequence.store(current, ordering: .releasing)
        }
        lock.unlock()
        guard current & 1 == 1 else { return }
        let completed = walk(snapshot, range: range, sequence: current)
        if !completed {
            lock.withLock { statisticsValue.wouldBlock += 1 }
            invalidateRangeEnd(range)
            throw .wouldBlock
        }
    }

    /// Calls the callbacks of the subscriptions in `snapshot` overlapping `range`;
    /// returns false if a non-blockable walk was refused.
    ///
    /// The walk takes no lock: the sequence is odd, so the tree is frozen (no
    /// insert, remove or node retirement until the last invalidation ends) and
    /// `snapshot` stays the current tree throughout. It still runs inside an RCU
    /// read-side section, as defence in depth: should the tree change anyway,
    /// the nodes the walk holds are not reused under it. Callbacks may sleep
    /// (memb RCU readers may block; it only delays grace periods) but must not
    /// wait for a grace period.
    func walk(_ snapshot: IntervalTreeSnapshot, range: InvalidationRange, sequence: UInt64) -> Bool {
        let previous = cnp_set_callback_context(Unmanaged.passUnretained(self).toOpaque())
        // Defence in depth for memb only: qsbr and the locked strategies rely on
        // the frozen tree alone (a qsbr walk could not go online around callbacks
        // that sleep without stalling grace periods).
        let memb = readers == .rcuMemb
        if memb { RCU.readLock() }
        defer {
            if memb { RCU.readUnlock() }
            _ = cnp_set_callback_context(previous)
        }
        var failures = 0
        let completed = snapshot.forEachOverlapping(start: range.start, last: range.last) { entry in
            let unmanaged = Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: entry.value)!)
            let accepted = unmanaged._withUnsafeGuaranteedRef { subscription in
                subscription.invalidate(subscription, range, sequence)
            }
            if accepted { return true }
            if !range.isBlockable { return false }
            failures += 1
            return true
        }
        if failures > 0 {
            lock.withLock { statisticsValue.blockableCallbackFailures += failures }
        }
        return completed
    }

    /// Ends an invalidation started by ``invalidateRangeStart(_:)``
    /// (`mmu_notifier_invalidate_range_end`).
    ///
    /// When it is the last invalidation in flight and the window is open, the
    /// sequence becomes even, the deferred list is applied (pending inserts enter
    /// the tree, pending removes leave it), and every waiter wakes.
    ///
    /// - Precondition: an invalidation is in flight (calls are balanced).
    public func invalidateRangeEnd(_ range: InvalidationRange) {
        lock.lock()
        precondition(active > 0, "invalidateRangeEnd(\(range)) without a matching invalidateRangeStart")
        active -= 1
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        let current = sequence.load(ordering: .relaxed)
        guard active == 0, current & 1 == 1 else {
            lock.unlock()
            return
        }
        // Releasing: lock-free readers that see the even value see the window closed.
        sequence.store(current &+ 1, ordering: .releasing)
        windowClosingHookForTesting?()
        applyDeferred()
        lock.unlock()
        wakeWaiters()
    }

    /// Applies the deferred list (lock held, window just closed).
    func applyDeferred() {
        // Most windows defer nothing: skip the array traffic (a retain and two
        // releases of the empty buffer, measured in EngineBenchmarks).
        guard !deferred.isEmpty else { return }
        for subscription in deferred {
            switch subscription.state {
            case .pendingInsert:
                tree.insertSerialized(subscription.treeEntry)
                subscription.state = .inTree
                statisticsValue.inserts += 1
            case .pendingRemove:
                _ = tree.removeSerialized(subscription.treeEntry)
                subscription.state = .removed
                statisticsValue.removes += 1
                let release = subscription.releaseCallback
                subscription.releaseCallback = nil
                if release != nil { statisticsValue.pendingReleases -= 1 }
                finishUnlink(subscription, release: release)
            default:
                preconditionFailure("deferred list holds a subscription in state \(subscription.state)")
            }
        }
        deferred.removeAll(keepingCapacity: true)
    }

    /// Tears the address space down (the kernel's `mn_itree_release` at
    /// `exit_mmap`): invalidates every subscription once with event
    /// ``InvalidationEvent/release`` over `[0, UInt64.max]`, blockable, then ends.
    ///
    /// Subscriptions stay registered (remove them as usual); later inserts throw
    /// ``NotifierError/addressSpaceReleased``. Idempotent: a second call delivers
    /// nothing. It waits for an open invalidation window to close first, so that
    /// every subscription accepted before it (also deferred ones) is in the tree
    /// and gets exactly one release event.
    ///
    /// - Throws: ``NotifierError/calledFromInvalidateCallback(operation:)``.
    public func release() throws(NotifierError) {
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: "release") }
        // The kernel's release range ends at ULONG_MAX exclusive and would miss a
        // subscription whose last address is the top one; this one does not.
        let range = InvalidationRange(uncheckedStart: 0, last: .max, event: .release, owner: nil, blockable: true)
        let first = lock.withLock {
            defer { isReleased = true }
            return !isReleased
        }
        guard first else { return }
        // Wait for an open window to close, then start the teardown's own
        // invalidation in the same locked section that saw it closed.
        lock.lock()
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        while sequence.load(ordering: .relaxed) & 1 == 1 {
            lock.unlock()
            // Relaxed: read under `lock` (in `waitUntil`).
            waitUntil { sequence.load(ordering: .relaxed) & 1 == 0 }
            lock.lock()
        }
        active += 1
        statisticsValue.invalidations += 1
        let snapshot = tree.snapshotProtected()
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        var current = sequence.load(ordering: .relaxed)
        if !snapshot.isEmpty {
            current |= 1
            // Releasing: as in `invalidateRangeStart`.
            sequence.store(current, ordering: .releasing)
        }
        lock.unlock()
        if current & 1 == 1 { _ = walk(snapshot, range: range, sequence: current) }
        invalidateRangeEnd(range)
    }

    /// Whether ``release()`` has run.
    public var isTornDown: Bool { lock.withLock { isReleased } }
}
