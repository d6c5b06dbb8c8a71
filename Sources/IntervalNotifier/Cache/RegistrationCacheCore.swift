import Synchronization

/// What a cache's invalidate callbacks need, kept apart from the
/// ``RegistrationCache`` object so that a callback still running when the cache
/// is dropped finds it alive (each subscription's callback holds it).
///
/// Everything here is lock-free: an invalidation never waits for the cache's
/// mutex, so non-blockable invalidations always succeed and a getter that
/// holds the mutex (miss path) never blocks an invalidator.
final class RegistrationCacheCore: @unchecked Sendable {
    /// The user's deregister callback.
    let deregister: RegistrationCache.DeregisterCallback
    /// Head of the stack of regions invalidated since the last drain (a region
    /// address, 0 when empty). Pushed by invalidate callbacks, emptied whole by
    /// the miss path under the cache mutex (`exchange`, so no ABA).
    let invalidatedHead = Atomic<UInt>(0)
    /// Regions marked invalid by invalidations (not by eviction).
    let invalidatedRegions = Atomic<Int>(0)
    /// Deregister callbacks run.
    let deregistrations = Atomic<Int>(0)

    init(deregister: @escaping RegistrationCache.DeregisterCallback) {
        self.deregister = deregister
    }

    /// The invalidate callback of every region's subscription: records the
    /// window's sequence, marks the region invalid (hits fail from here on),
    /// and queues it for the cache's books. A blockable invalidation also
    /// deregisters it at once when no handle holds it; otherwise the last
    /// ``RegistrationCache/put(_:)`` or the next miss does. Never sleeps, so it
    /// never refuses a non-blockable range.
    func invalidate(regionWord: UInt, subscription: IntervalSubscription, range: InvalidationRange, sequence: UInt64) -> Bool {
        subscription.setSequence(sequence)
        let region = CacheRegionPointer(contextWord: regionWord)
        // Acquiring and releasing: one total order with every hit's CAS on this
        // word: a hit after this store fails; one before it counted itself in.
        // (The subscription, not `region.pointee.subscription`: this callback
        // can run before the miss path has stored that.)
        let old = subscription.cacheState.bitwiseOr(CacheRegionState.invalid, ordering: .acquiringAndReleasing).oldValue
        if old & CacheRegionState.invalid == 0 {
            push(region)
            // Relaxed: a statistic.
            invalidatedRegions.add(1, ordering: .relaxed)
        }
        if range.isBlockable { finishDeregistration(region, subscription) }
        return true
    }

    /// Pushes a region whose `invalid` bit this thread set first.
    private func push(_ region: CacheRegionPointer) {
        // Relaxed: a guess for the CAS.
        var head = invalidatedHead.load(ordering: .relaxed)
        while true {
            region.pointee.nextInvalidated = head
            // Releasing: the link written above is visible to the drain's
            // acquiring exchange.
            let (exchanged, original) = invalidatedHead.compareExchange(
                expected: head, desired: region.contextWord, successOrdering: .releasing, failureOrdering: .relaxed)
            if exchanged { return }
            head = original
        }
    }

    /// Takes every queued region (cache mutex held), newest first.
    func takeInvalidated() -> UInt {
        // Acquiring: pairs with the releasing pushes (their links).
        invalidatedHead.exchange(0, ordering: .acquiring)
    }

    /// Deregisters `region` (whose subscription is `subscription`) if it is
    /// invalid, registered, held by no handle and not deregistered yet;
    /// exactly one caller does it.
    func finishDeregistration(_ region: CacheRegionPointer, _ subscription: IntervalSubscription) {
        guard subscription.claimCacheDeregistration() else { return }
        deregisterClaimed(region)
    }

    /// Deregisters `region`, whose deregistration the caller claimed, and
    /// counts the end of its registration (the region may be freed here).
    func deregisterClaimed(_ region: CacheRegionPointer) {
        deregister(region.pointee.payload, region.pointee.start, region.pointee.byteCount)
        // Relaxed: a statistic.
        deregistrations.add(1, ordering: .relaxed)
        region.dropLifetime()
    }
}
