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
    /// Range updates applied (at once, or when their window closed).
    public var updates = 0
    /// Updates deferred to the end of an invalidation window.
    public var deferredUpdates = 0
    /// Deferred updates superseded by a `put` or `remove` before their window closed.
    public var deferredUpdatesCancelled = 0
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
    /// Pending updates on the deferred list.
    public var pendingUpdates: Int
    /// Subscriptions in the tree.
    public var subscriptionsInTree: Int
    /// Whether ``AddressSpace/release()`` has run.
    public var isReleased: Bool
}

