import CURCU

/// The registry's references to removed subscriptions, dropped after a grace
/// period in batches (RCU strategies): one record and one RCU callback per
/// ``capacity`` removals instead of one each, and the references (and with them
/// the subscriptions' references to their registry) released together on
/// the callback thread, so the cache lines involved cross cores once per batch.
struct SubscriptionDropBatch {
    /// Must stay the first stored property: the callback casts its address back.
    var head = rcu_head()
    /// References gathered so far.
    var count = 0
    /// The references, each a `+1` of the registry on an `IntervalSubscription`.
    let references: UnsafeMutablePointer<UnsafeMutableRawPointer>

    /// References per batch.
    static let capacity = 64

    /// A new, empty batch in manually allocated memory.
    static func make() -> UnsafeMutablePointer<SubscriptionDropBatch> {
        let batch = UnsafeMutablePointer<SubscriptionDropBatch>.allocate(capacity: 1)
        batch.initialize(to: SubscriptionDropBatch(references: .allocate(capacity: capacity)))
        return batch
    }
}

/// RCU callback: no lookup can still see the batch's subscriptions; drop the
/// registry's references and free the batch.
let dropSubscriptionReferences: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void = { head in
    let batch = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: SubscriptionDropBatch.self)
    let references = batch.pointee.references
    let count = batch.pointee.count
    batch.deinitialize(count: 1)
    batch.deallocate()
    for index in 0..<count {
        Unmanaged<IntervalSubscription>.fromOpaque(references[index]).release()
    }
    references.deallocate()
}

extension SubscriptionRegistry {
    /// Adds the registry's reference to `subscription`, which just left the
    /// tree (or the deferred list), to the current batch (lock held). The batch
    /// goes to RCU when it is full or when the tree is empty, so that an idle
    /// registry holds no removed subscription (and their memory) back.
    func queueReferenceDrop(_ subscription: Unmanaged<IntervalSubscription>, _ state: inout RegistryState) {
        assertLocked()
        let batch = state.pendingDrops ?? SubscriptionDropBatch.make()
        state.pendingDrops = batch
        batch.pointee.references[batch.pointee.count] = subscription.toOpaque()
        batch.pointee.count += 1
        if batch.pointee.count == SubscriptionDropBatch.capacity || tree.isEmpty { flushReferenceDrops(&state) }
    }

    /// Hands the current batch to RCU (lock held); see ``queueReferenceDrop(_:_:)``,
    /// and ``synchronize()``, which flushes a partial batch.
    func flushReferenceDrops(_ state: inout RegistryState) {
        assertLocked()
        guard let batch = state.pendingDrops else { return }
        state.pendingDrops = nil
        callbackQueue.enqueue(UnsafeMutableRawPointer(batch).assumingMemoryBound(to: rcu_head.self),
                              dropSubscriptionReferences)
    }
}
