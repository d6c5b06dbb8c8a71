/// Every conversion between the engine's objects and the raw words that stand
/// for them, in one place: a subscription in a tree entry's `value` or in a
/// drop batch, a registry in the per-thread callback and lookup markers.
///
/// The registry holds one counted reference (`+1`) on each subscription it has
/// registered (``SubscriptionRegistry/retainForTree(_:)``) and drops it after
/// the subscription left the tree (``SubscriptionRegistry/finishUnlink(_:release:_:)``,
/// a drop batch, or ``SubscriptionRegistry/detachAll()``). In between, tree
/// values are borrowed, never retained: the read paths touch no reference count.
extension IntervalSubscription {
    /// The word a tree entry holds for this subscription (its address).
    var treeValue: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// The subscription a tree value stands for, as an unmanaged reference.
    @inlinable @inline(__always)
    static func unmanaged(treeValue: UInt) -> Unmanaged<IntervalSubscription> {
        Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: treeValue)!)
    }

    /// Calls `body` with the subscription a tree value stands for, borrowed
    /// without reference counting (the registry's `+1` keeps it alive).
    @inlinable @inline(__always)
    static func borrowing<Result>(treeValue: UInt, _ body: (IntervalSubscription) throws -> Result) rethrows -> Result {
        try unmanaged(treeValue: treeValue)._withUnsafeGuaranteedRef(body)
    }
}

extension SubscriptionRegistry {
    /// This registry's address, as the per-thread markers hold it.
    @inlinable @inline(__always)
    var markerAddress: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Takes the registry's own reference on a subscription it registers.
    func retainForTree(_ subscription: IntervalSubscription) {
        _ = Unmanaged.passRetained(subscription)
    }
}
