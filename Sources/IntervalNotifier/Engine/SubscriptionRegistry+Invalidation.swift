import CNotifierCore
import Synchronization

extension SubscriptionRegistry {
    /// `mmu_notifier_invalidate_range_start`; see ``AddressSpace/invalidateRangeStart(_:)``.
    func invalidateRangeStart(_ range: InvalidationRange) throws(NotifierError) {
        try refuseInsideLockedLookup(.invalidateRangeStart)
        let (snapshot, sequence) = withLock { state in openWindow(range, &state) }
        guard sequence & 1 == 1 else { return }
        if !walk(snapshot, range: range, sequence: sequence) {
            withLock { $0.statistics.wouldBlock += 1 }
            // The refused start ends its own range: the caller must not.
            try invalidateRangeEnd(range)
            throw .wouldBlock
        }
    }

    /// Opens an invalidation of `range` (lock held): one more range in flight,
    /// started by the calling thread; if a subscription overlaps it, the
    /// sequence turns odd: the window opens and the tree freezes. Returns the
    /// tree to walk and the sequence to hand the callbacks (even: nothing to
    /// walk). Shared by ``invalidateRangeStart(_:)`` and ``release()``.
    private func openWindow(_ range: InvalidationRange, _ state: inout RegistryState) -> (IntervalTreeSnapshot, UInt64) {
        assertLocked()
        state.active += 1
        state.openWindows.open(start: range.start, last: range.last)
        state.statistics.invalidations += 1
        let snapshot = tree.snapshotProtected()
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        var current = sequence.load(ordering: .relaxed)
        if snapshot.firstOverlapping(start: range.start, last: range.last) != nil {
            current |= 1
            // Releasing: lock-free `readBegin` must see the window open before
            // any callback stores this value into a subscription.
            sequence.store(current, ordering: .releasing)
        }
        return (snapshot, current)
    }

    /// Calls the callbacks of the subscriptions in `snapshot` overlapping `range`;
    /// returns false if a non-blockable walk was refused.
    ///
    /// The walk takes no lock: the sequence is odd, so the tree is frozen (no
    /// insert, remove, update or node retirement until the last invalidation
    /// ends) and `snapshot` stays the current tree throughout. It still runs
    /// inside an RCU read-side section where that is nearly free (memb, bp), as
    /// defence in depth: should the tree change anyway, the nodes the walk holds
    /// are not reused under it. Callbacks may sleep (memb and bp RCU readers may
    /// block; it only delays grace periods) but must not wait for a grace period.
    func walk(_ snapshot: IntervalTreeSnapshot, range: InvalidationRange, sequence: UInt64) -> Bool {
        let previous = cnp_set_callback_context(markerAddress)
        // Defence in depth where it is cheap (see `walkReadSection`).
        let section = readers.walkReadSection
        let wentOnline = section?.enterReadSection()
        defer {
            if let section, let wentOnline { section.exitReadSection(wentOnline) }
            _ = cnp_set_callback_context(previous)
        }
        var failures = 0
        let completed = snapshot.forEachOverlapping(start: range.start, last: range.last) { entry in
            let accepted = IntervalSubscription.borrowing(treeValue: entry.value) { subscription in
                subscription.invalidate(subscription, range, sequence)
            }
            if accepted { return true }
            if !range.isBlockable { return false }
            failures += 1
            return true
        }
        if failures > 0 {
            withLock { $0.statistics.blockableCallbackFailures += failures }
        }
        return completed
    }

    /// `mmu_notifier_invalidate_range_end`; see ``AddressSpace/invalidateRangeEnd(_:)``.
    func invalidateRangeEnd(_ range: InvalidationRange) throws(NotifierError) {
        try refuseInsideLockedLookup(.invalidateRangeEnd)
        let closed = try withLock { (state) throws(NotifierError) -> Bool in
            guard state.openWindows.close(start: range.start, last: range.last) else {
                throw .unbalancedInvalidateEnd(start: range.start, last: range.last)
            }
            state.active -= 1
            // Relaxed: `sequence` is only written under `lock`, which we hold.
            let current = sequence.load(ordering: .relaxed)
            guard state.active == 0, current & 1 == 1 else { return false }
            closeWindow(current, &state)
            return true
        }
        if closed { wakeWaiters() }
    }

    /// Closes the window `current` (lock held, no invalidation in flight): the
    /// sequence turns even and the deferred list is applied. Wake the waiters
    /// after unlocking.
    private func closeWindow(_ current: UInt64, _ state: inout RegistryState) {
        assertLocked()
        // Releasing: lock-free readers that see the even value see the window closed.
        sequence.store(current &+ 1, ordering: .releasing)
        state.windowClosingHookForTesting?()
        applyDeferred(&state)
    }

    /// Applies the deferred list (lock held, window just closed): pending inserts
    /// enter the tree, pending removes and puts leave it, pending updates move.
    ///
    /// In two passes: every tree change first, in one batch that the tree
    /// publishes with a single store; then the subscriptions' new states, their
    /// sequences and the reference drops, whose grace periods must start after
    /// the removals are published.
    private func applyDeferred(_ state: inout RegistryState) {
        assertLocked()
        // Most windows defer nothing: skip the array traffic (a retain and two
        // releases of the empty buffer, measured in EngineBenchmarks).
        guard !state.deferred.isEmpty else { return }
        let batched = state.deferred.count > 1 && tree.beginBatchSerialized()
        for index in state.deferred.indices {
            let subscription = state.deferred[index]
            // The next change's path is walked beside this one's and prefetched
            // (its current entry: the one an insert adds or a remove or move takes out).
            let next = index + 1 < state.deferred.count ? state.deferred[index + 1].treeEntry : nil
            switch subscription.state {
            case .pendingInsert:
                tree.insertSerialized(subscription.treeEntry, prefetchingPathOf: next)
            case .pendingRemove:
                _ = tree.removeSerialized(subscription.treeEntry, prefetchingPathOf: next)
            case .pendingUpdate:
                let target = subscription.pendingRange!
                moveInTree(subscription, start: target.start, last: target.last)
            default:
                fatalError("interval-notifier internal error: deferred list holds a subscription in state \(subscription.state)")
            }
        }
        if batched { tree.endBatchSerialized() }
        for subscription in state.deferred {
            switch subscription.state {
            case .pendingInsert:
                subscription.state = .inTree
                state.statistics.inserts += 1
            case .pendingRemove:
                subscription.state = .removed
                state.statistics.removes += 1
                let release = subscription.releaseCallback
                subscription.releaseCallback = nil
                if release != nil { state.statistics.pendingReleases -= 1 }
                finishUnlink(subscription, release: release, &state)
            case .pendingUpdate:
                subscription.pendingRange = nil
                subscription.state = .inTree
                finishMove(subscription, &state)
            default:
                fatalError("interval-notifier internal error: deferred list holds a subscription in state \(subscription.state)")
            }
        }
        state.deferred.removeAll(keepingCapacity: true)
    }

    // MARK: Teardown

    /// `mn_itree_release`; see ``AddressSpace/release()``.
    func release() throws(NotifierError) {
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: .release) }
        try refuseInsideLockedLookup(.release)
        let first = try withLock { (state) throws(NotifierError) -> Bool in
            if state.callerHoldsWindow() { throw .calledInsideOwnWindow(operation: .release) }
            defer { state.isReleased = true }
            return !state.isReleased
        }
        guard first else { return }
        tearDownWalk()
    }

    /// Invalidates every subscription once with event ``InvalidationEvent/release``
    /// over `[0, UInt64.max]`, blockable, after any open window has closed.
    private func tearDownWalk() {
        // The kernel's release range ends at ULONG_MAX exclusive and would miss a
        // subscription whose last address is the top one; this one does not.
        let range = InvalidationRange(uncheckedStart: 0, last: .max, event: .release, owner: nil, blockable: true)
        // Wait for an open window to close, then open the teardown's own window
        // in the same locked section that saw it closed, so that every
        // subscription accepted before (deferred ones too) is in the tree.
        let (snapshot, sequence) = waitUntil(
            // Relaxed: read under `lock` (in `waitUntil`).
            { _ in self.sequence.load(ordering: .relaxed) & 1 == 0 },
            thenLocked: { state in openWindow(range, &state) })
        if sequence & 1 == 1 { _ = walk(snapshot, range: range, sequence: sequence) }
        do { try invalidateRangeEnd(range) } catch {
            fatalError("interval-notifier internal error: the teardown's own invalidation was not in flight")
        }
    }

    /// Tears the registry down when its ``AddressSpace`` object is dropped:
    /// nobody else can use the space any more, so nobody can end a window still
    /// open (its opener dropped the space without ending it): close it; deliver
    /// the release invalidation unless ``release()`` ran; then unlink every
    /// subscription, mark it detached (its `readBegin` throws
    /// ``NotifierError/addressSpaceReleased``) and drop the registry's
    /// references to it. No lookup can be running (lookups need the space), so
    /// the references go without a grace period.
    func detachAll() {
        let reopened = withLock { state -> Bool in
            guard state.active > 0 else { return false }
            state.active = 0
            state.openWindows.removeAll()
            // Relaxed: `sequence` is only written under `lock`, which we hold.
            let current = sequence.load(ordering: .relaxed)
            if current & 1 == 1 { closeWindow(current, &state) }
            return true
        }
        if reopened { wakeWaiters() }
        let first = withLock { state -> Bool in
            defer { state.isReleased = true }
            return !state.isReleased
        }
        if first { tearDownWalk() }
        let references: [Unmanaged<IntervalSubscription>] = withLock { state in
            var references: [Unmanaged<IntervalSubscription>] = []
            references.reserveCapacity(tree.count)
            for entry in tree.snapshotProtected().allEntries() {
                _ = tree.removeSerialized(entry)
                let subscription = IntervalSubscription.unmanaged(treeValue: entry.value)
                subscription._withUnsafeGuaranteedRef {
                    $0.state = .detached
                    // Releasing: as in `finishUnlink`.
                    $0.sequence.store(Self.unregisteredSequence, ordering: .releasing)
                }
                references.append(subscription)
            }
            flushReferenceDrops(&state)
            tree.flushRetiredSerialized()
            return references
        }
        // Outside the lock: a subscription's deinit runs user code (its callback's captures).
        for reference in references { reference.release() }
        wakeWaiters()
    }
}
