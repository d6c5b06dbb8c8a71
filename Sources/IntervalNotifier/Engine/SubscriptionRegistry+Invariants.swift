extension SubscriptionRegistry {
    /// The first violated invariant of the notifier state machine (items 1 to 5
    /// of the reference semantics) or of the tree's structure, or nil.
    func invariantViolation() -> String? {
        withLock { state in
            do throws(IntervalTreeStorage.InvariantViolation) { try tree.validateSerialized() } catch { return error.description }
            // Relaxed: read under `lock`, which every write holds.
            let seq = sequence.load(ordering: .relaxed)
            if state.active == 0 && seq & 1 == 1 { return "sequence \(seq) is odd with no invalidation in flight" }
            if state.active < 0 { return "active is negative (\(state.active))" }
            if state.active != state.openWindows.count { return "active is \(state.active) but \(state.openWindows.count) starts are recorded" }
            if seq & 1 == 0 && !state.deferred.isEmpty { return "sequence \(seq) is even but \(state.deferred.count) deferred entries wait" }
            var seen = Set<ObjectIdentifier>()
            let inTree = tree.snapshotProtected().allEntries()
            let valuesInTree = Set(inTree.map(\.value))
            for subscription in state.deferred {
                if !seen.insert(ObjectIdentifier(subscription)).inserted { return "a subscription is on the deferred list twice" }
                let present = valuesInTree.contains(subscription.treeEntry.value)
                switch subscription.state {
                case .pendingInsert where present: return "a pending insert is already in the tree"
                case .pendingRemove where !present, .pendingUpdate where !present: return "a pending \(subscription.state) is not in the tree"
                case .pendingInsert, .pendingRemove, .pendingUpdate: break
                default: return "deferred entry in state \(subscription.state)"
                }
            }
            for entry in inTree {
                let subscription = IntervalSubscription.unmanaged(treeValue: entry.value).takeUnretainedValue()
                let (start, last) = subscription.lockedBounds
                if subscription.state != .pendingUpdate && (start, last) != (entry.start, entry.last) {
                    return "subscription [\(start), \(last)] is in the tree as [\(entry.start), \(entry.last)]"
                }
                if subscription.currentSequence & 1 == 0 { return "subscription [\(start), \(last)] has an even sequence" }
            }
            return nil
        }
    }
}

extension AddressSpace {
    /// Checks the invariants of the notifier state machine under the lock
    /// (items 1 to 5 of the reference semantics) and the tree's structure.
    /// - Throws: a description of the first violation.
    package func checkInvariants() throws(IntervalTreeStorage.InvariantViolation) {
        if let problem = registry.invariantViolation() { throw IntervalTreeStorage.InvariantViolation(description: problem) }
    }

    /// Test hook: `hook` runs under the lock in the end step after the sequence
    /// turned even and before the deferred list is applied.
    package func setWindowClosingHookForTesting(_ hook: (@Sendable () -> Void)?) {
        registry.setWindowClosingHook(hook)
    }
}
