/// When the nodes that an update of an ``RCUIntervalTree`` replaced may be reused.
@usableFromInline package enum IntervalTreeReclamation: Sendable, Hashable {
    /// After a grace period of the given RCU flavour: readers walk the tree
    /// without a lock inside read-side sections of that flavour.
    case rcu(RCUFlavor)
    /// At the end of the update: every reader is excluded from updates by a lock
    /// the caller holds (the `kernel`, `rwlock` and `mutex` strategies), so no
    /// reader can hold a replaced node once the update has published its root.
    case immediate
}
