import IntervalNotifier
import Synchronization

/// One device mirror: a subscription over a page range, the user lock of the
/// protocol, and the mirrored entries (written by faults, cleared by callbacks).
final class MirrorSlot: @unchecked Sendable {
    let index: Int
    /// The user (update) lock: guards the fields below in every protocol.
    let lock = PThreadMutex()
    /// `odp` only: the range lock, read-locked by invalidations from their
    /// callback to their end, write-locked by faulters (nil for other protocols).
    let rangeLock: RangeRWLock?
    // Protected by `lock`.
    var firstPage = 0
    var pageCount = 0
    var mirror: [UInt64] = []
    var subscription: IntervalSubscription?
    var context: SubscriptionContext?

    init(index: Int, rangeLock: Bool) {
        self.index = index
        self.rangeLock = rangeLock ? RangeRWLock() : nil
    }
}

/// Per-subscription bookkeeping for the oracle.
final class SubscriptionContext: @unchecked Sendable {
    let id: Int
    /// Set once `remove` returned or the release callback ran: no callback may run
    /// after. Stored releasing, loaded acquiring by callbacks, so a callback that
    /// runs after the store is guaranteed to see it. The counters and flags below
    /// are relaxed: they are read after the threads are joined.
    let poisoned = Atomic<Bool>(false)
    let releaseEvents = Atomic<Int>(0)
    let releaseCallbacks = Atomic<Int>(0)
    let usedPut = Atomic<Bool>(false)
    /// Whether the subscription was registered when teardown began.
    let registeredAtTeardown = Atomic<Bool>(false)
    /// Whether its removal began before teardown had finished (then 0 release
    /// events is legitimate: it may have left the tree before the walk).
    let removalOverlappedTeardown = Atomic<Bool>(false)
    /// `odp`: set once no invalidation that was in flight at insert time can
    /// still change the page table (ODP's `mn_counters_active`); faulters wait
    /// for it. Stored releasing by the activation, loaded acquiring by faulters.
    let odpActive = Atomic<Bool>(false)
    /// `hmm`: the mirror's `valid` flag. Cleared by callbacks under the slot lock,
    /// set under the HMM lock by registration and by the end step that brings
    /// the notifier count to zero; see ``HMMMirrorDriver`` for each ordering.
    let hmmValid = Atomic<Bool>(false)
    init(id: Int) { self.id = id }
}
