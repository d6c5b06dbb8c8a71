/// Counters of an ``AddressSpace``, read with ``AddressSpace/statistics``.
public struct AddressSpaceStatistics: Sendable, Equatable {
    /// Invalidations started (including teardown).
    public var invalidations = 0
    /// Non-blockable invalidations refused (``NotifierError/wouldBlock``).
    public var wouldBlock = 0
    /// False returns from callbacks on blockable ranges (callback bugs).
    public var blockableCallbackFailures = 0
    /// Subscriptions that entered the tree.
    public var inserts = 0
    /// Subscriptions that left the tree.
    public var removes = 0
    /// Inserts deferred to the end of an invalidation window.
    public var deferredInserts = 0
    /// Deferred inserts removed before they reached the tree.
    public var deferredInsertsCancelled = 0
    /// Removes deferred to the end of an invalidation window.
    public var deferredRemoves = 0
    /// `put` releases waiting for a window to close.
    public var pendingReleases = 0
    /// `readBegin` calls that slept.
    public var readBeginWaits = 0
    /// Blocking removes that slept.
    public var removeWaits = 0
}

/// A consistent picture of an address space's state, taken under its lock.
public struct AddressSpaceState: Sendable, Equatable {
    /// The sequence (`invalidate_seq`).
    public var sequence: UInt64
    /// Invalidations in flight.
    public var active: Int
    /// Pending inserts on the deferred list.
    public var pendingInserts: Int
    /// Pending removes on the deferred list.
    public var pendingRemoves: Int
    /// Subscriptions in the tree.
    public var subscriptionsInTree: Int
    /// Whether ``AddressSpace/release()`` has run.
    public var isReleased: Bool
}

extension AddressSpace {
    /// The counters so far (taken under the lock).
    public var statistics: AddressSpaceStatistics { lock.withLock { statisticsValue } }

    /// The current state (taken under the lock).
    public var state: AddressSpaceState {
        lock.withLock {
            AddressSpaceState(
                // Relaxed: read under `lock`, which every write holds.
                sequence: sequence.load(ordering: .relaxed), active: active,
                pendingInserts: deferred.count { $0.state == .pendingInsert },
                pendingRemoves: deferred.count { $0.state == .pendingRemove },
                subscriptionsInTree: tree.count, isReleased: isReleased)
        }
    }

    /// Checks the invariants of the notifier state machine under the lock
    /// (items 1 to 5 of the reference semantics) and the tree's structure.
    /// - Throws: a description of the first violation.
    package func checkInvariants() throws(IntervalTreeStorage.InvariantViolation) {
        let problem: String? = lock.withLock {
            do throws(IntervalTreeStorage.InvariantViolation) { try tree.validateSerialized() } catch { return error.description }
            // Relaxed: read under `lock`, which every write holds.
            let seq = sequence.load(ordering: .relaxed)
            if active == 0 && seq & 1 == 1 { return "sequence \(seq) is odd with no invalidation in flight" }
            if active < 0 { return "active is negative (\(active))" }
            if seq & 1 == 0 && !deferred.isEmpty { return "sequence \(seq) is even but \(deferred.count) deferred entries wait" }
            var seen = Set<ObjectIdentifier>()
            let inTree = Set(tree.snapshotProtected().allEntries().map(\.value))
            for subscription in deferred {
                if !seen.insert(ObjectIdentifier(subscription)).inserted { return "a subscription is on the deferred list twice" }
                let present = inTree.contains(subscription.treeEntry.value)
                switch subscription.state {
                case .pendingInsert where present: return "a pending insert is already in the tree"
                case .pendingRemove where !present: return "a pending remove is not in the tree"
                case .pendingInsert, .pendingRemove: break
                default: return "deferred entry in state \(subscription.state)"
                }
            }
            for value in inTree {
                let subscription = Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: value)!).takeUnretainedValue()
                if subscription.currentSequence & 1 == 0 { return "subscription [\(subscription.start), \(subscription.last)] has an even sequence" }
            }
            return nil
        }
        if let problem { throw IntervalTreeStorage.InvariantViolation(description: problem) }
    }
}
