import Synchronization

/// The callback an address space calls when a range overlapping a subscription
/// is invalidated (the kernel's `mmu_interval_notifier_ops.invalidate`).
///
/// It must call ``IntervalSubscription/setSequence(_:)`` with `sequence` under the
/// user lock that the fault path holds around ``IntervalSubscription/readRetry(_:)``,
/// then drop whatever it mirrors in the range, and return true. It returns false
/// only when the range is not blockable (``InvalidationRange/isBlockable``) and it
/// would have to sleep (for example, `tryLock` of the user lock failed).
///
/// From inside the callback it may call, on the same address space,
/// ``AddressSpace/put(_:release:)`` and ``AddressSpace/update(_:start:length:)``
/// for any subscription (this one included): both take effect when the current
/// invalidation window closes. ``AddressSpace/insert(start:length:invalidate:)``
/// is deferred the same way. Calls that would wait for the window the callback
/// runs in (``AddressSpace/remove(_:)``, ``AddressSpace/release()``,
/// ``AddressSpace/synchronize()``, ``IntervalSubscription/readBegin()``) throw
/// ``NotifierError/calledFromInvalidateCallback(operation:)``.
///
/// A callback that captures its own ``AddressSpace`` strongly makes a cycle
/// (space → subscription → callback → space) that keeps both alive until the
/// subscription is removed: capture it `weak` or `unowned`, or capture only what
/// the callback needs.
public typealias InvalidateCallback = @Sendable (_ subscription: IntervalSubscription, _ range: InvalidationRange, _ sequence: UInt64) -> Bool

/// The callback ``AddressSpace/put(_:release:)`` runs once no invalidate callback
/// for the subscription can run any more (the kernel's `free_notifier`).
public typealias ReleaseCallback = @Sendable (_ subscription: IntervalSubscription) -> Void

/// A subscription to invalidations of the interval `[start, last]` of an
/// ``AddressSpace`` (the kernel's `struct mmu_interval_notifier`).
///
/// Create one with ``AddressSpace/insert(start:length:invalidate:)``; end it with
/// ``AddressSpace/remove(_:)`` (blocking) or ``AddressSpace/put(_:release:)``
/// (non-blocking); change its range with ``AddressSpace/update(_:start:length:)``.
/// The read side (``readBegin()``, ``readRetry(_:)``, ``checkRetry(_:)``) takes no
/// lock and touches no reference count.
///
/// ## Lifetime
/// A subscription keeps its address space's registry alive (as the kernel's
/// subscription pins its `mm`), never the ``AddressSpace`` object: when the last
/// reference to the address space goes, the space is torn down (every
/// subscription gets one ``InvalidationEvent/release`` invalidation, unless
/// ``AddressSpace/release()`` ran already) and every subscription is detached.
/// A detached subscription is safe to keep: ``readBegin()`` throws
/// ``NotifierError/addressSpaceReleased`` and ``readRetry(_:)`` returns true.
public final class IntervalSubscription: @unchecked Sendable {
    /// The registry of the address space this subscription belongs to (strong:
    /// it outlives the ``AddressSpace`` object while subscriptions need it).
    @usableFromInline let registry: SubscriptionRegistry
    /// The user's invalidate callback.
    public let invalidate: InvalidateCallback
    /// A word its creator attached (0 unless set), never read by the engine: the
    /// registration cache keeps its region's address here, so that a lookup
    /// reaches the region with one load and no reference counting; the C API
    /// keeps the caller's `void *` context (`umn_interval_notifier_context`).
    @usableFromInline package let context: UInt
    /// The ``RegistrationCache`` that owns this subscription's region (the
    /// address of its core), 0 for every other subscription; written once by
    /// the cache's miss path, never read by the engine.
    ///
    /// This word and `cacheState` sit right after `context` so that a cache
    /// hit finds everything it decides on in the object its lookup lands on:
    /// the region behind `context` is not touched by a hit (one dependent
    /// cache miss fewer per hit at a million regions).
    package let cacheOwner = Atomic<UInt>(0)
    /// The registration cache's state word for its region (`CacheRegionState`
    /// bits: references, `ready`, `invalid`, ...); 0 and unused for every
    /// other subscription. Never read by the engine.
    package let cacheState = Atomic<UInt64>(0)
    /// The registration cache's registration for its region (what the user's
    /// register callback returned), 0 for every other subscription; written
    /// once by the cache's miss path before it publishes `ready` in
    /// `cacheState`, never read by the engine. A copy of the region's own:
    /// kept here so that a handle's ``RegistrationHandle/registration`` is
    /// read from the line its hit just loaded, not from the region (one
    /// dependent cache miss fewer per hit at a million regions).
    package let cacheRegistration = Atomic<UInt>(0)

    /// The range `[rangeStart, rangeLast]`, written under the registry lock (a
    /// seqlock: `rangeVersion` is odd while a write is in progress), read by
    /// anyone without a lock; see ``bounds``. Declared right after the cache's
    /// words (the class keeps declaration order), so that a registration
    /// cache's hit through its front index finds the bounds it checks on the
    /// line of the state word it swaps (a cache never moves its subscriptions,
    /// so it reads them without the seqlock).
    let rangeStart: Atomic<UInt64>
    /// See `rangeStart`.
    let rangeLast: Atomic<UInt64>
    /// See `rangeStart`.
    let rangeVersion = Atomic<UInt64>(0)

    /// The kernel's `invalidate_seq`: odd while registered, ``SubscriptionRegistry/unregisteredSequence``
    /// (even) once removed or detached, so that ``readBegin()`` leaves its fast
    /// path. Written by the registry under its lock (insert, update, unlink) and
    /// by ``setSequence(_:)`` under the user lock.
    @usableFromInline let sequence: Atomic<UInt64>

    // State below is protected by the registry's lock.
    /// Where the subscription is in its life.
    var state: SubscriptionState = .unlinked
    /// The release callback of a pending ``AddressSpace/put(_:release:)``.
    var releaseCallback: ReleaseCallback?
    /// The range a deferred ``AddressSpace/update(_:start:length:)`` will give it.
    var pendingRange: (start: UInt64, last: UInt64)?

    init(start: UInt64, last: UInt64, registry: SubscriptionRegistry, context: UInt = 0, invalidate: @escaping InvalidateCallback) {
        self.registry = registry
        self.invalidate = invalidate
        self.context = context
        self.sequence = Atomic(1)
        self.rangeStart = Atomic(start)
        self.rangeLast = Atomic(last)
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.subscriptions.add(1, ordering: .relaxed)
    }

    deinit {
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.subscriptions.subtract(1, ordering: .relaxed)
    }

    // MARK: Range

    /// The interval `[start, last]` as of one instant: never the start of one
    /// ``AddressSpace/update(_:start:length:)`` and the last of another.
    /// No lock: a seqlock read (about three loads).
    public var bounds: ClosedRange<UInt64> {
        while true {
            // Acquiring: the range loads below see the writes of every update
            // whose closing version store this load observed.
            let before = rangeVersion.load(ordering: .acquiring)
            // Relaxed: validated by the version re-read after the fence.
            let start = rangeStart.load(ordering: .relaxed)
            // Relaxed: as above.
            let last = rangeLast.load(ordering: .relaxed)
            // Acquiring fence: the two range loads complete before the re-read.
            atomicMemoryFence(ordering: .acquiring)
            // Relaxed: ordered after the range loads by the fence above.
            if before & 1 == 0 && rangeVersion.load(ordering: .relaxed) == before { return start...last }
        }
    }

    /// First address covered.
    public var start: UInt64 { bounds.lowerBound }
    /// Last address covered (inclusive).
    public var last: UInt64 { bounds.upperBound }

    /// Number of addresses covered, or nil for the whole 2^64 space.
    public var length: UInt64? {
        let range = bounds
        return range.upperBound - range.lowerBound == .max ? nil : range.upperBound - range.lowerBound + 1
    }

    /// Changes the range (registry lock held; the only writer).
    func setBounds(start: UInt64, last: UInt64) {
        // Relaxed: only writer (registry lock); the fence below orders it.
        let version = rangeVersion.load(ordering: .relaxed)
        // Relaxed: the releasing fence below orders it before the range stores.
        rangeVersion.store(version &+ 1, ordering: .relaxed)
        // Releasing fence: a reader that sees a new range value also sees the odd version.
        atomicMemoryFence(ordering: .releasing)
        // Relaxed: published by the releasing version store below.
        rangeStart.store(start, ordering: .relaxed)
        // Relaxed: as above.
        rangeLast.store(last, ordering: .relaxed)
        // Releasing: a reader that sees the even version sees the range writes.
        rangeVersion.store(version &+ 2, ordering: .releasing)
    }

    /// The range as the registry sees it (registry lock held: no concurrent write).
    var lockedBounds: (start: UInt64, last: UInt64) {
        // Relaxed: only written under the registry lock, which the caller holds.
        (rangeStart.load(ordering: .relaxed), rangeLast.load(ordering: .relaxed))
    }

    /// The tree entry that stands for this subscription as registered now
    /// (its address is the value); registry lock held.
    var treeEntry: IntervalTreeEntry {
        let (start, last) = lockedBounds
        return IntervalTreeEntry(start: start, last: last, value: treeValue)
    }

    /// The address space this subscription belongs to, or nil once it is gone.
    public var addressSpace: AddressSpace? { registry.owner }

    // MARK: Read side (the collision-retry protocol)

    /// Begins a read-side critical region (`mmu_interval_read_begin`): returns
    /// the sequence to pass to ``readRetry(_:)`` once the user lock is held.
    ///
    /// If this subscription is in the current invalidation window (an
    /// invalidation that covers it has started and not every invalidation has
    /// ended yet), it sleeps until the window closes. It does not loop: a retry
    /// may already be due when it returns. Call it without holding the user lock.
    ///
    /// Lock-free on the fast path: two acquiring loads and a compare. The kernel
    /// takes its spinlock here only to read both sequences; reading them in this
    /// order is enough (see ``AddressSpace`` "Memory ordering").
    /// - Throws: ``NotifierError/notRegistered`` after the subscription was
    ///   removed or put; ``NotifierError/addressSpaceReleased`` once its address
    ///   space is gone; ``NotifierError/calledFromInvalidateCallback(operation:)``
    ///   from an invalidate callback of the same address space;
    ///   ``NotifierError/calledInsideOwnWindow(operation:)`` when it would have to
    ///   wait for an invalidation window that the calling thread itself opened.
    /// - Complexity: O(1); no lock, no allocation, no reference counting unless it waits.
    @inlinable @inline(__always)
    public func readBegin() throws(NotifierError) -> UInt64 {
        // The locked strategies read both sequences under the registry lock.
        guard _fastPath(registry.readers.readBeginIsLockFree) else {
            return try registry.lockedReadBegin(self)
        }
        // Acquiring: if this load returns a value set by `setSequence` in an
        // invalidate callback, the address space's odd sequence published before
        // that callback ran is visible to the next load.
        let observed = sequence.load(ordering: .acquiring)
        // An even value: removed or detached (the slow path says which).
        if _slowPath(registry.currentSequence == observed) || _slowPath(observed & 1 == 0) || _slowPath(registry.isCallbackThread) {
            return try registry.waitForReadBegin(self)
        }
        return observed
    }

    /// Whether the region begun by ``readBegin()`` returning `sequence` collided
    /// with an invalidation, an update of the range, or the end of the
    /// subscription (`mmu_interval_read_retry`).
    ///
    /// - Precondition: the caller holds the user lock under which the invalidate
    ///   callback calls ``setSequence(_:)``; that lock orders the two.
    @inlinable @inline(__always)
    public func readRetry(_ sequence: UInt64) -> Bool {
        // Relaxed: the user lock orders this load against `setSequence`.
        self.sequence.load(ordering: .relaxed) != sequence
    }

    /// The same test as ``readRetry(_:)`` without the user lock
    /// (`mmu_interval_check_retry`): a true result means give up early; a false
    /// result proves nothing.
    @inlinable @inline(__always)
    public func checkRetry(_ sequence: UInt64) -> Bool {
        // Relaxed: a hint only; `readRetry` under the user lock decides.
        self.sequence.load(ordering: .relaxed) != sequence
    }

    /// Records that an invalidation with `sequence` covers this subscription
    /// (`mmu_interval_set_seq`). Call it from the invalidate callback,
    /// unconditionally, under the user lock, with the sequence it was given.
    @inlinable @inline(__always)
    public func setSequence(_ sequence: UInt64) {
        // Releasing: pairs with the acquiring load in `readBegin` (see there).
        self.sequence.store(sequence, ordering: .releasing)
    }

    /// The current sequence of the subscription (for diagnostics and the oracle).
    public var currentSequence: UInt64 {
        // Relaxed: diagnostics only.
        sequence.load(ordering: .relaxed)
    }

    /// Whether the subscription is registered (in the tree, or about to enter
    /// or leave it when the current window closes). Takes the registry lock.
    public var isRegistered: Bool {
        // A pending remove is still in the tree until its window closes.
        registry.lock.withLock { state.unregisteredError == nil || state == .pendingRemove }
    }
}

/// Where a subscription is in its life (protected by the registry's lock).
enum SubscriptionState: Equatable {
    /// Created, not yet linked (only inside `insert`).
    case unlinked
    /// In the tree: invalidations reach it.
    case inTree
    /// Inserted during an invalidation window: on the deferred list, enters the
    /// tree when the window closes.
    case pendingInsert
    /// Removed or put during an invalidation window: still in the tree, on the
    /// deferred list, leaves the tree when the window closes.
    case pendingRemove
    /// In the tree with its old range, on the deferred list: takes
    /// `pendingRange` when the window closes.
    case pendingUpdate
    /// Out of the tree for good (removed or put).
    case removed
    /// Out of the tree because its address space was dropped.
    case detached

    /// The error a call that needs a registered subscription throws in this
    /// state, or nil while the subscription is registered (a pending remove
    /// counts as unregistered: its removal is under way).
    var unregisteredError: NotifierError? {
        switch self {
        case .unlinked, .removed, .pendingRemove: .notRegistered
        case .detached: .addressSpaceReleased
        case .inTree, .pendingInsert, .pendingUpdate: nil
        }
    }
}
