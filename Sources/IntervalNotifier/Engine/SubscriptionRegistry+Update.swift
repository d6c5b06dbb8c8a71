extension SubscriptionRegistry {
    /// Changes the range of `subscription` to `[start, last]`; see
    /// ``AddressSpace/update(_:start:length:)``.
    func update(_ subscription: IntervalSubscription, start: UInt64, last: UInt64) throws(NotifierError) {
        guard subscription.registry === self else { throw .foreignSubscription }
        guard last >= start else { throw .emptyRange(start: start) }
        try refuseInsideLockedLookup(.update)
        try withLock { (state) throws(NotifierError) in
            if let error = subscription.state.unregisteredError { throw error }
            switch subscription.state {
            case .unlinked, .removed, .pendingRemove, .detached:
                return   // thrown above
            case .pendingInsert:
                // Not in the tree yet: it enters with the new range when the
                // window closes; its sequence already makes readers wait.
                subscription.setBounds(start: start, last: last)
                state.statistics.updates += 1
            case .pendingUpdate:
                // A second update during the same window: the last one wins.
                subscription.pendingRange = (start, last)
                state.statistics.deferredUpdates += 1
            case .inTree:
                // Relaxed: `sequence` is only written under `lock`, which we hold.
                if sequence.load(ordering: .relaxed) & 1 == 1 {
                    // The tree is frozen for the walk in flight: move it when
                    // the window closes (like a deferred insert and remove).
                    subscription.state = .pendingUpdate
                    subscription.pendingRange = (start, last)
                    state.deferred.append(subscription)
                    state.statistics.deferredUpdates += 1
                } else {
                    moveInTree(subscription, start: start, last: last, &state)
                }
            }
        }
    }

    /// Moves `subscription` to `[start, last]` in one tree publication and
    /// gives it a sequence that no reader holds (lock held, sequence even).
    ///
    /// The sequence: a reader that began before the move must retry, since its
    /// address may have left the range. Idle, the registry's sequence skips one
    /// window (E → E + 2) and the subscription takes the skipped odd value E + 1,
    /// which no invalidation has handed out and none ever will (readers hold
    /// older values), and which is not current (`readBegin` does not wait).
    /// Partially excluded (invalidations in flight that covered nothing when
    /// they started), it is treated like an insert: the ranges in flight may
    /// cover the new range, so the sequence turns odd and `readBegin` waits
    /// for them to end.
    func moveInTree(_ subscription: IntervalSubscription, start: UInt64, last: UInt64, _ state: inout RegistryState) {
        moveInTree(subscription, start: start, last: last)
        finishMove(subscription, &state)
    }

    /// The tree half of ``moveInTree(_:start:last:_:)``: the new bounds and the
    /// tree's replacement (published at once, or with the caller's batch).
    func moveInTree(_ subscription: IntervalSubscription, start: UInt64, last: UInt64) {
        assertLocked()
        let old = subscription.treeEntry
        subscription.setBounds(start: start, last: last)
        guard tree.replaceSerialized(old, with: subscription.treeEntry) else {
            fatalError("interval-notifier internal error: subscription [\(old.start), \(old.last)] missing from its tree")
        }
    }

    /// The sequence half of ``moveInTree(_:start:last:_:)``, after the tree's
    /// replacement is published.
    func finishMove(_ subscription: IntervalSubscription, _ state: inout RegistryState) {
        assertLocked()
        // Relaxed: `sequence` is only written under `lock`, which we hold.
        let current = sequence.load(ordering: .relaxed)
        if state.active > 0 {
            // Releasing: publishes the odd sequence to lock-free readers.
            sequence.store(current | 1, ordering: .releasing)
            // Releasing: a reader that sees it also sees the window open.
            subscription.sequence.store(current | 1, ordering: .releasing)
        } else {
            // Releasing: as above; the subscription's store comes second, so a
            // reader that sees the new value compares it with E + 2, not E.
            sequence.store(current &+ 2, ordering: .releasing)
            // Releasing: pairs with the acquiring load in `readBegin`.
            subscription.sequence.store(current &+ 1, ordering: .releasing)
        }
        state.statistics.updates += 1
    }
}
