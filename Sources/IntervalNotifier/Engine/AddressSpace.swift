import CNotifierCore
import Synchronization

/// A registry of interval subscriptions over a 64-bit address space, with the
/// semantics of the Linux kernel's `mmu_interval_notifier` (the kernel's
/// `struct mmu_notifier_subscriptions` of one `mm`).
///
/// ## State
/// - `sequence` (the kernel's `invalidate_seq`): starts at 2; even while no
///   subscription is being invalidated, odd during an invalidation window.
/// - `active` (`active_invalidate_ranges`): invalidations in flight.
/// - the interval tree of subscriptions (an ``IntervalTreeStorage``), and the
///   deferred list of inserts and removes that arrive while the tree is frozen.
///
/// | state | active | sequence | tree |
/// |---|---|---|---|
/// | idle | 0 | even | changes at once |
/// | partially excluded | > 0 | even | changes at once (no range in flight touches a subscription) |
/// | invalidating | > 0 | odd | frozen: inserts and removes are deferred |
///
/// ## Locking
/// One registry lock (the kernel's `subscriptions->lock`; its kind depends on the
/// ``RegistryStrategy``) guards `active`, the deferred list, tree changes and
/// every write of `sequence`. A separate wait queue (mutex and condition
/// variable) is the kernel's `subscriptions->wq`. Invalidate callbacks run
/// without either lock, on the frozen tree. With the RCU strategies, readers
/// (the ``IntervalSubscription/readBegin()`` fast path and lookups) take no
/// lock; the other strategies take the registry lock (shared where it has a
/// shared mode) on those paths.
///
/// ## Memory ordering
/// `sequence` is written only under the mutex and read without it with acquiring
/// loads. ``IntervalSubscription/readBegin()`` reads the subscription's sequence
/// (acquiring) and then the address space's. If it sees the odd value X that an
/// invalidate callback stored with ``IntervalSubscription/setSequence(_:)``
/// (releasing), the address space's sequence was X before that store, so the
/// second load returns X (window still open: wait) or a later value (window
/// closed). Any other interleaving is caught later by
/// ``IntervalSubscription/readRetry(_:)`` under the user lock, as in the kernel.
public final class AddressSpace: @unchecked Sendable {
    /// The kernel's `invalidate_seq`.
    @usableFromInline let sequence: Atomic<UInt64>
    /// Guards everything below and every write of `sequence` (the kernel's
    /// `subscriptions->lock`); a spinlock, rwlock or mutex, depending on the
    /// strategy.
    @usableFromInline let lock: AnyRegistryLock
    /// How lookups are protected (derived from the strategy).
    @usableFromInline let readers: ReaderProtection
    /// The wait queue (the kernel's `subscriptions->wq`); see ``waitUntil(_:)``.
    let waitQueue = PThreadMutex()
    /// Threads in ``waitUntil(_:)``, so that wakers skip an empty queue.
    let waiterCount = Atomic<Int>(0)
    /// Subscriptions, keyed by `[start, last]`, valued by their object address.
    @usableFromInline let tree: IntervalTreeStorage

    // Protected by `lock`.
    var active = 0
    var deferred: [IntervalSubscription] = []
    var isReleased = false
    var statisticsValue = AddressSpaceStatistics()
    /// References of removed subscriptions waiting to be handed to RCU.
    var pendingDrops: UnsafeMutablePointer<SubscriptionDropBatch>?
    /// Test hook: runs under the lock in the end step after the sequence turned
    /// even and before the deferred list is applied (stretches that instant).
    var windowClosingHookForTesting: (@Sendable () -> Void)?

    /// Creates an empty address space.
    ///
    /// - Parameter initialSequence: the starting sequence, which must be even
    ///   (default 2, as in the kernel). Tests start it near `UInt64.max` to
    ///   exercise wraparound.
    public init(strategy: RegistryStrategy = .default, initialSequence: UInt64 = 2) {
        precondition(initialSequence & 1 == 0, "the initial sequence must be even (idle)")
        self.strategy = strategy
        sequence = Atomic(initialSequence)
        injectedFaults = []
        (lock, readers, tree) = Self.makeRegistry(strategy)
    }

    deinit {
        lock.destroy()
    }

    /// The registry lock, reader protection and tree of `strategy`.
    private static func makeRegistry(_ strategy: RegistryStrategy) -> (AnyRegistryLock, ReaderProtection, IntervalTreeStorage) {
        let readers: ReaderProtection
        let reclamation: IntervalTreeReclamation
        switch strategy {
        case .rcu(.memb): (readers, reclamation) = (.rcuMemb, .rcu(.memb))
        case .rcu(.qsbr): (readers, reclamation) = (.rcuQSBR, .rcu(.qsbr))
        case .kernel, .rwlock, .mutex: (readers, reclamation) = (.registryLock, .immediate)
        }
        return (AnyRegistryLock(for: strategy), readers, IntervalTreeStorage(reclaimBatchSize: 256, reclamation: reclamation))
    }

    /// How this address space synchronises readers and updaters.
    public let strategy: RegistryStrategy

    /// Creates an address space with deliberate protocol bugs, so that tests can
    /// prove the stress oracle catches them. Never use outside tests.
    package init(injectedFaults: InjectedFaults, strategy: RegistryStrategy = .default, initialSequence: UInt64 = 2) {
        self.strategy = strategy
        sequence = Atomic(initialSequence)
        self.injectedFaults = injectedFaults
        (lock, readers, tree) = Self.makeRegistry(strategy)
    }

    /// Deliberate bugs for oracle tests (see `init(injectedFaults:)`).
    package struct InjectedFaults: OptionSet, Sendable {
        /// The bits of the set (one per injected fault).
        package let rawValue: Int
        /// Creates the set from its bits.
        package init(rawValue: Int) { self.rawValue = rawValue }
        /// `remove` returns at once during a window instead of waiting for it.
        package static let removeDoesNotWait = InjectedFaults(rawValue: 1)
        /// Inserts during a window enter the tree at once instead of being deferred.
        package static let applyInsertsDuringWindow = InjectedFaults(rawValue: 2)
    }

    /// The bugs this instance was built with (empty in production).
    let injectedFaults: InjectedFaults

    /// The current sequence (acquiring load, no lock).
    @inlinable @inline(__always)
    var currentSequence: UInt64 {
        // Acquiring: see "Memory ordering" above.
        sequence.load(ordering: .acquiring)
    }

    /// Whether the calling thread is inside an invalidate callback of this space.
    @inlinable @inline(__always)
    var isCallbackThread: Bool {
        cnp_callback_context() == Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: Insert

    /// Registers a subscription to invalidations of `[start, start + length - 1]`
    /// (`mmu_interval_notifier_insert`).
    ///
    /// On return the subscription is registered: idle, it is in the tree with an
    /// odd sequence that is not current; during a partial exclusion it is in the
    /// tree and the address space's sequence is made odd (the ranges in flight may
    /// cover it); during an invalidation window it waits on the deferred list and
    /// enters the tree when the window closes, and ``IntervalSubscription/readBegin()``
    /// on it sleeps until then.
    ///
    /// - Throws: ``NotifierError/emptyRange(start:)`` for `length == 0`,
    ///   ``NotifierError/rangeOverflow(start:length:)`` when the last address does
    ///   not fit, ``NotifierError/addressSpaceReleased`` after ``release()``,
    ///   ``NotifierError/calledFromInvalidateCallback(operation:)`` from a callback.
    /// - Complexity: O(log n).
    public func insert(start: UInt64, length: UInt64, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        guard length > 0 else { throw .emptyRange(start: start) }
        let (last, overflow) = start.addingReportingOverflow(length - 1)
        guard !overflow else { throw .rangeOverflow(start: start, length: length) }
        return try insert(start: start, last: last, invalidate: invalidate)
    }

    /// Registers a subscription to invalidations of the closed interval
    /// `[start, last]`; see ``insert(start:length:invalidate:)``.
    public func insert(start: UInt64, last: UInt64, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        guard last >= start else { throw .emptyRange(start: start) }
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: "insert") }
        let subscription = IntervalSubscription(start: start, last: last, addressSpace: self, invalidate: invalidate)
        lock.lock()
        defer { lock.unlock() }
        guard !isReleased else { throw .addressSpaceReleased }
        // The registry's own reference: lock-free lookups may see the object
        // until a grace period after it leaves the tree.
        _ = Unmanaged.passRetained(subscription)
        // Relaxed: under `lock`, which orders every write of the sequences.
        let current = sequence.load(ordering: .relaxed)
        if active > 0 {
            if current & 1 == 1 && !injectedFaults.contains(.applyInsertsDuringWindow) {
                // Invalidating: the tree is frozen. Equal odd sequence: readBegin
                // waits until the window closes and the subscription is in the tree.
                // Relaxed: no other thread has the subscription yet; returning it
                // (or the end step's publication of the tree) orders this store.
                subscription.sequence.store(current, ordering: .relaxed)
                subscription.state = .pendingInsert
                deferred.append(subscription)
                statisticsValue.deferredInserts += 1
                return subscription
            }
            // Partially excluded: the ranges in flight are unknown, assume they
            // cover the new subscription.
            // Releasing: publishes the odd sequence to lock-free readers.
            sequence.store(current | 1, ordering: .releasing)
            // Relaxed: under `lock`, which orders every write of the sequences.
            subscription.sequence.store(current | 1, ordering: .relaxed)
        } else {
            // Idle: odd and as far as possible from being reached again.
            // Relaxed: no other thread has the subscription yet; the tree's
            // releasing publication below orders this store for lookups.
            subscription.sequence.store(current &- 1, ordering: .relaxed)
        }
        tree.insertSerialized(subscription.treeEntry)
        subscription.state = .inTree
        statisticsValue.inserts += 1
        return subscription
    }

    // MARK: Remove

    /// Unregisters `subscription` and waits until no callback for it runs
    /// (`mmu_interval_notifier_remove`). On return no invalidate callback for it
    /// is running and none will start.
    ///
    /// During an invalidation window a subscription in the tree is queued for
    /// removal and the call sleeps until the window closes, re-reading the
    /// sequence under the same lock as the end-of-window step (the kernel's 2022
    /// fix: a lockless re-read could return before the deferred list is applied).
    /// Call it without holding any lock an invalidate callback takes.
    ///
    /// - Throws: ``NotifierError/notRegistered`` (double remove, or after
    ///   ``put(_:release:)``), ``NotifierError/foreignSubscription``,
    ///   ``NotifierError/calledFromInvalidateCallback(operation:)``.
    public func remove(_ subscription: IntervalSubscription) throws(NotifierError) {
        try unlink(subscription, operation: "remove", release: nil)
    }

    /// Unregisters `subscription` without waiting, and calls `release` once no
    /// callback for it can run any more: after the current invalidation window
    /// closes and an RCU grace period passes (the kernel's `mmu_notifier_put`,
    /// for interval subscriptions). ``synchronize()`` waits for pending releases.
    ///
    /// `release` runs on the RCU callback thread; it must not wait for a grace
    /// period (``RCU/synchronize()``, ``RCU/barrier()``, ``synchronize()``).
    /// - Throws: as ``remove(_:)``.
    public func put(_ subscription: IntervalSubscription, release: @escaping @Sendable (IntervalSubscription) -> Void) throws(NotifierError) {
        try unlink(subscription, operation: "put", release: release)
    }

    private func unlink(_ subscription: IntervalSubscription, operation: String, release: (@Sendable (IntervalSubscription) -> Void)?) throws(NotifierError) {
        guard subscription.addressSpace === self else { throw .foreignSubscription }
        guard !isCallbackThread else { throw .calledFromInvalidateCallback(operation: operation) }
        let windowToWaitFor = try unlinkLocked(subscription, release: release)
        // Like the kernel, sleep after dropping the lock; `waitUntilSequenceChanges`
        // re-reads the sequence under the lock (the 2022 fix).
        if let window = windowToWaitFor { waitUntilSequenceChanges(from: window) }
    }

    /// Unlinks under the lock; returns the window's sequence when a blocking
    /// remove must wait for that window to close.
    private func unlinkLocked(_ subscription: IntervalSubscription, release: (@Sendable (IntervalSubscription) -> Void)?) throws(NotifierError) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        switch subscription.state {
        case .unlinked, .removed, .pendingRemove:
            throw .notRegistered
        case .pendingInsert:
            // Never reached the tree, so no callback can run for it: drop it.
            deferred.removeAll { $0 === subscription }
            subscription.state = .removed
            statisticsValue.deferredInsertsCancelled += 1
            finishUnlink(subscription, release: release)
            return nil
        case .inTree:
            // Relaxed: under `lock`, which orders every write of the sequences.
            let current = sequence.load(ordering: .relaxed)
            if current & 1 == 0 {
                // No walk can be running (the sequence is even): unlink now.
                _ = tree.removeSerialized(subscription.treeEntry)
                subscription.state = .removed
                statisticsValue.removes += 1
                finishUnlink(subscription, release: release)
                return nil
            }
            subscription.state = .pendingRemove
            subscription.releaseCallback = release
            deferred.append(subscription)
            statisticsValue.deferredRemoves += 1
            if release != nil {
                statisticsValue.pendingReleases += 1
                return nil
            }
            statisticsValue.removeWaits += 1
            return injectedFaults.contains(.removeDoesNotWait) ? nil : current
        }
    }

    /// Sleeps until the sequence differs from `window` (the kernel's
    /// `wait_event(..., mmu_interval_seq_released(...))`). The sequence is re-read
    /// under `lock`, the lock the end step holds from the moment it makes the
    /// sequence even until it has applied the deferred list: so on return every
    /// pending remove of that window is out of the tree. A lockless re-read could
    /// return in between (the use-after-free the kernel fixed in 2022).
    func waitUntilSequenceChanges(from window: UInt64) {
        // Relaxed: under `lock`, which orders every write of the sequences.
        waitUntil { sequence.load(ordering: .relaxed) != window }
    }

    /// Completes an unlink once the subscription is out of the tree (lock held):
    /// runs a pending release callback and drops the registry's reference once
    /// no lookup can still see the object: after a grace period for the RCU
    /// strategies (batched: the object may live until 63 more removals, the
    /// registry becoming empty, or ``synchronize()``); at once for the locked
    /// ones, whose lookups hold the lock that the unlink holds (a `put` release
    /// still runs later, on the RCU callback thread, never inside the caller).
    func finishUnlink(_ subscription: IntervalSubscription, release: (@Sendable (IntervalSubscription) -> Void)?) {
        let retained = Unmanaged.passUnretained(subscription)
        if readers == .registryLock && release == nil {
            // The caller of `remove` still holds its own reference: not the last.
            retained.release()
            return
        }
        if release == nil {
            // The common case: batched (see `SubscriptionDropBatch`).
            queueReferenceDrop(retained)
            return
        }
        let reference = UInt(bitPattern: retained.toOpaque())
        callbackQueue.callAfterGracePeriod {
            let subscription = Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: reference)!)
            if let release { release(subscription.takeUnretainedValue()) }
            subscription.release()
        }
    }

    /// The queue that defers reference drops and release callbacks: the grace
    /// periods of the strategy's flavour (memb for the locked strategies, where
    /// it only serves to run `put` releases outside the caller).
    var callbackQueue: RCUCallbackQueue {
        readers == .rcuQSBR ? .qsbr : .shared
    }

    /// Waits until every release callback of an earlier ``put(_:release:)`` has
    /// run (the kernel's `mmu_notifier_synchronize`), and until the registry has
    /// dropped its references to every subscription removed before the call.
    /// Call it before freeing what release callbacks use.
    ///
    /// - Precondition: not inside an RCU read-side section or a release callback.
    public func synchronize() {
        precondition(!RCU.isInReadSection, "AddressSpace.synchronize() called inside an RCU read-side section")
        // Releases queued on the deferred list are handed to RCU by the end step.
        waitUntil { !deferred.contains(where: { $0.state == .pendingRemove && $0.releaseCallback != nil }) }
        lock.withLock { flushReferenceDrops() }
        callbackQueue.barrier()
    }
}
