#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import Synchronization

/// What the registry lock guards (the kernel's fields of `struct
/// mmu_notifier_subscriptions` other than `invalidate_seq`). Reached only
/// through ``SubscriptionRegistry/withLock(_:)``, so that a function that needs
/// the lock says so in its signature by taking `inout RegistryState`.
struct RegistryState: ~Copyable {
    /// Invalidations in flight (`active_invalidate_ranges`).
    var active = 0
    /// Who started each of them (end matching, self-wait detection).
    var openWindows = OpenWindowTable()
    /// Inserts, removes and updates waiting for the window to close
    /// (`deferred_list`).
    var deferred: [IntervalSubscription] = []
    /// Whether ``AddressSpace/release()`` (or the teardown of a dropped address
    /// space) has run: no new subscriptions.
    var isReleased = false
    /// Counters.
    var statistics = AddressSpaceStatistics()
    /// References of removed subscriptions waiting to be handed to RCU.
    var pendingDrops: UnsafeMutablePointer<SubscriptionDropBatch>?
    /// Test hook: runs under the lock in the end step after the sequence turned
    /// even and before the deferred list is applied (stretches that instant).
    var windowClosingHookForTesting: (@Sendable () -> Void)?

    /// Whether the calling thread must not wait for the window: it opened one.
    func callerHoldsWindow() -> Bool { openWindows.isOpenedByCurrentThread() }
}

/// The engine behind an ``AddressSpace`` (the kernel's `struct
/// mmu_notifier_subscriptions`): the sequence, the registry lock and its state,
/// the interval tree of subscriptions, and the wait queue.
///
/// Subscriptions hold it strongly; it holds its subscriptions (one registry
/// reference each while they are registered); the ``AddressSpace`` object holds
/// it and, when dropped, detaches every subscription (``detachAll()``), which
/// breaks that cycle. See ``AddressSpace`` for the ownership model.
///
/// ## Locking
/// One registry lock (the kernel's `subscriptions->lock`; its kind depends on the
/// ``RegistryStrategy``) guards ``RegistryState``, tree changes, subscription
/// states and every write of `sequence`. A separate wait queue (mutex and
/// condition variable) is the kernel's `subscriptions->wq`. Invalidate callbacks
/// run without either lock, on the frozen tree.
@usableFromInline
final class SubscriptionRegistry: @unchecked Sendable {
    /// The kernel's `invalidate_seq`: even while idle, odd during a window.
    @usableFromInline let sequence: Atomic<UInt64>
    /// Guards `state`, tree changes and every write of `sequence`.
    @usableFromInline let lock: AnyRegistryLock
    /// How lookups are protected (derived from the strategy).
    @usableFromInline let readers: ReaderProtection
    /// Whether `readers` is memb RCU, the default strategy's: lookups test this
    /// flag alone, while the switch over `readers` is a jump table, twice per lookup.
    /// Stored, not derived: a test of `readers` itself was compiled back into
    /// that jump table.
    @usableFromInline let readersAreMembRCU: Bool
    /// Subscriptions, keyed by `[start, last]`, valued by their object address.
    @usableFromInline let tree: IntervalTreeStorage
    /// The state `lock` guards; see ``withLock(_:)``.
    private let state: UnsafeMutablePointer<RegistryState>
    /// The wait queue (the kernel's `subscriptions->wq`); see ``waitUntil(_:)``.
    let waitQueue = PThreadMutex()
    /// Threads in ``waitUntil(_:)``, so that wakers skip an empty queue.
    let waiterCount = Atomic<Int>(0)
    /// The strategy it was built with.
    let strategy: RegistryStrategy
    /// Deliberate bugs for oracle tests (empty in production).
    let injectedFaults: AddressSpace.InjectedFaults
    /// The address space object, while it lives.
    weak var owner: AddressSpace?
    #if DEBUG
    /// The thread inside ``withLock(_:)`` (debug builds: ``assertLocked()``).
    private let holder = Atomic<UInt>(0)
    #endif

    /// The sequence a removed or detached subscription carries: even, so that
    /// ``IntervalSubscription/readBegin()`` leaves its fast path, and different
    /// from every odd value a reader may hold, so that ``IntervalSubscription/readRetry(_:)``
    /// returns true.
    @usableFromInline static let unregisteredSequence: UInt64 = 0

    init(strategy: RegistryStrategy, initialSequence: UInt64, injectedFaults: AddressSpace.InjectedFaults) {
        self.strategy = strategy
        self.injectedFaults = injectedFaults
        sequence = Atomic(initialSequence)
        // Written at every update under the lock: a line of its own (see `CacheLineAllocation`).
        state = CacheLineAllocation.allocate(RegistryState.self)
        state.initialize(to: RegistryState())
        let plan = strategy.plan
        readers = plan.readers
        readersAreMembRCU = plan.readers == .rcu(.memb)
        lock = AnyRegistryLock(plan.lock)
        tree = IntervalTreeStorage(reclaimBatchSize: 256, reclamation: plan.reclamation)
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.registries.add(1, ordering: .relaxed)
    }

    deinit {
        // Nothing can reach the registry any more: no subscription, no address
        // space, no queued release. Its tree frees itself (after the grace
        // periods its retired nodes still wait for).
        state.deinitialize(count: 1)
        state.deallocate()
        lock.destroy()
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.registries.subtract(1, ordering: .relaxed)
    }

    // MARK: The lock

    /// Runs `body` with the registry lock held exclusively and the state it guards.
    @inline(__always)
    func withLock<Result, Failure: Error>(_ body: (inout RegistryState) throws(Failure) -> Result) throws(Failure) -> Result {
        // The throwing entry points refuse this case with an error first; this
        // is the net under the rest (statistics, state): trap, never hang.
        if _slowPath(isInsideLockedLookup) {
            fatalError("interval-notifier: an AddressSpace call from inside the body of one of its own lookups (locked strategy \(strategy.name)): it would deadlock on the registry lock the lookup holds")
        }
        lock.lock()
        defer { lock.unlock() }
        #if DEBUG
        // Relaxed: debug bookkeeping read only by the holder itself.
        holder.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        // Runs before the unlock above (defers run in reverse order).
        defer { holder.store(0, ordering: .relaxed) }
        #endif
        return try body(&state.pointee)
    }

    /// Debug builds: traps unless the calling thread is inside ``withLock(_:)``.
    @inline(__always)
    func assertLocked(_ function: StaticString = #function) {
        #if DEBUG
        // Relaxed: only the holder itself can have stored its own id.
        if holder.load(ordering: .relaxed) != UInt(bitPattern: Int(bitPattern: pthread_self())) {
            fatalError("SubscriptionRegistry.\(function) requires the registry lock")
        }
        #endif
    }

    /// The current sequence (acquiring load, no lock).
    @inlinable @inline(__always)
    var currentSequence: UInt64 {
        // Acquiring: see AddressSpace's "Memory ordering".
        sequence.load(ordering: .acquiring)
    }

    /// Whether the calling thread is inside a lookup of this registry that holds
    /// the registry lock (locked strategies).
    var isInsideLockedLookup: Bool {
        cnp_lookup_context() == markerAddress
    }

    /// Throws ``NotifierError/calledInsideLookup(operation:)`` when the calling
    /// thread is inside a lookup of this registry that holds its lock: the
    /// operation would take the same lock and deadlock.
    func refuseInsideLockedLookup(_ operation: NotifierError.Operation) throws(NotifierError) {
        if _slowPath(isInsideLockedLookup) { throw .calledInsideLookup(operation: operation) }
    }

    /// Whether the calling thread is inside an invalidate callback of this registry.
    @inlinable @inline(__always)
    var isCallbackThread: Bool {
        cnp_callback_context() == markerAddress
    }

    // MARK: Insert

    /// `mmu_interval_notifier_insert` of `[start, last]`; see
    /// ``AddressSpace/insert(start:last:invalidate:)``.
    func insert(start: UInt64, last: UInt64, context: UInt = 0, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        guard last >= start else { throw .emptyRange(start: start) }
        try refuseInsideLockedLookup(.insert)
        let subscription = IntervalSubscription(start: start, last: last, registry: self, context: context, invalidate: invalidate)
        return try withLock { (state) throws(NotifierError) -> IntervalSubscription in
            guard !state.isReleased else { throw .addressSpaceReleased }
            // The registry's own reference: lock-free lookups may see the object
            // until a grace period after it leaves the tree.
            retainForTree(subscription)
            // Relaxed: under `lock`, which orders every write of the sequences.
            let current = sequence.load(ordering: .relaxed)
            if state.active > 0 {
                if current & 1 == 1 && !injectedFaults.contains(.applyInsertsDuringWindow) {
                    // Invalidating: the tree is frozen. Equal odd sequence: readBegin
                    // waits until the window closes and the subscription is in the tree.
                    // Relaxed: no other thread has the subscription yet; returning it
                    // (or the end step's publication of the tree) orders this store.
                    subscription.sequence.store(current, ordering: .relaxed)
                    subscription.state = .pendingInsert
                    state.deferred.append(subscription)
                    state.statistics.deferredInserts += 1
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
            state.statistics.inserts += 1
            return subscription
        }
    }

    // MARK: Remove and put

    /// `mmu_interval_notifier_remove` (`release == nil`) or `mmu_notifier_put`.
    func unlink(_ subscription: IntervalSubscription, operation: NotifierError.Operation, release: ReleaseCallback?) throws(NotifierError) {
        guard subscription.registry === self else { throw .foreignSubscription }
        try refuseInsideLockedLookup(operation)
        // `remove` waits for the window; `put` never waits, so it is allowed
        // inside callbacks and windows (it takes effect when the window closes).
        let waits = release == nil
        if waits && isCallbackThread { throw .calledFromInvalidateCallback(operation: operation) }
        let windowToWaitFor = try withLock { (state) throws(NotifierError) -> UInt64? in
            try unlinkLocked(subscription, operation: operation, release: release, &state)
        }
        // Like the kernel, sleep after dropping the lock; `waitUntilSequenceChanges`
        // re-reads the sequence under the lock (the 2022 fix).
        if let window = windowToWaitFor { waitUntilSequenceChanges(from: window) }
        callbackQueue.throttleIfBacklogged()
    }

    /// Unlinks under the lock; returns the window's sequence when a blocking
    /// remove must wait for that window to close.
    private func unlinkLocked(_ subscription: IntervalSubscription, operation: NotifierError.Operation, release: ReleaseCallback?,
                              _ state: inout RegistryState) throws(NotifierError) -> UInt64? {
        assertLocked()
        if let error = subscription.state.unregisteredError { throw error }
        switch subscription.state {
        case .unlinked, .removed, .pendingRemove, .detached:
            return nil   // thrown above
        case .pendingInsert:
            // Never reached the tree, so no callback can run for it: drop it.
            state.deferred.removeAll { $0 === subscription }
            subscription.state = .removed
            state.statistics.deferredInsertsCancelled += 1
            finishUnlink(subscription, release: release, &state)
            return nil
        case .inTree, .pendingUpdate:
            // Relaxed: under `lock`, which orders every write of the sequences.
            let current = sequence.load(ordering: .relaxed)
            if current & 1 == 0 {
                // No walk can be running (the sequence is even): unlink now. (A
                // pending update exists only while the sequence is odd.)
                _ = tree.removeSerialized(subscription.treeEntry)
                subscription.state = .removed
                state.statistics.removes += 1
                finishUnlink(subscription, release: release, &state)
                return nil
            }
            // A blocking remove would sleep until the window closes: refuse it
            // (before changing anything) if the caller keeps the window open.
            if release == nil && state.callerHoldsWindow() { throw .calledInsideOwnWindow(operation: operation) }
            if subscription.state == .pendingUpdate {
                // Already on the deferred list: the removal supersedes the update.
                subscription.pendingRange = nil
                state.statistics.deferredUpdatesCancelled += 1
            } else {
                state.deferred.append(subscription)
            }
            subscription.state = .pendingRemove
            subscription.releaseCallback = release
            state.statistics.deferredRemoves += 1
            if release != nil {
                state.statistics.pendingReleases += 1
                return nil
            }
            state.statistics.removeWaits += 1
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
        waitUntil { _ in sequence.load(ordering: .relaxed) != window }
    }

    /// Completes an unlink once the subscription is out of the tree (lock held):
    /// marks it unregistered for the read side, runs a pending release callback
    /// and drops the registry's reference once no lookup can still see the
    /// object: after a grace period for the RCU strategies (batched: the object
    /// may live until 63 more removals, the registry becoming empty, or
    /// ``AddressSpace/synchronize()``); at once for the locked ones, whose
    /// lookups hold the lock that the unlink holds (a `put` release still runs
    /// later, on the RCU callback thread, never inside the caller).
    func finishUnlink(_ subscription: IntervalSubscription, release: ReleaseCallback?, _ state: inout RegistryState) {
        assertLocked()
        // Releasing: a reader that sees the even value (and leaves its fast
        // path) sees the subscription's new state through the lock anyway; the
        // ordering only keeps `readRetry` callers from an older value.
        subscription.sequence.store(Self.unregisteredSequence, ordering: .releasing)
        let retained = Unmanaged.passUnretained(subscription)
        if !readers.lookupsOutliveTheLock && release == nil {
            // The caller of `remove` still holds its own reference: not the last.
            retained.release()
            return
        }
        if release == nil {
            // The common case: batched (see `SubscriptionDropBatch`).
            queueReferenceDrop(retained, &state)
            return
        }
        let reference = subscription.treeValue
        callbackQueue.callAfterGracePeriod {
            let subscription = IntervalSubscription.unmanaged(treeValue: reference)
            if let release { release(subscription.takeUnretainedValue()) }
            subscription.release()
        }
    }

    /// The queue that defers reference drops and release callbacks (see
    /// ``ReaderProtection/callbackQueue``).
    var callbackQueue: RCUCallbackQueue { readers.callbackQueue }

    /// `mmu_notifier_synchronize`; see ``AddressSpace/synchronize()``.
    func synchronize() throws(NotifierError) {
        if isCallbackThread { throw .calledFromInvalidateCallback(operation: .synchronize) }
        if RCUCallbackQueue.isAnyWorkerThread { throw .calledFromReleaseCallback(operation: .synchronize) }
        if RCU.isInAnyReadSection { throw .calledInsideLookup(operation: .synchronize) }
        try refuseInsideLockedLookup(.synchronize)
        try withLock { (state) throws(NotifierError) in
            if state.callerHoldsWindow() { throw .calledInsideOwnWindow(operation: .synchronize) }
        }
        // Releases queued on the deferred list are handed to RCU by the end step.
        waitUntil { state in !state.deferred.contains(where: { $0.state == .pendingRemove && $0.releaseCallback != nil }) }
        withLock { state in flushReferenceDrops(&state) }
        callbackQueue.barrier()
    }

    // MARK: Observing

    /// The counters so far (taken under the lock).
    var statistics: AddressSpaceStatistics { withLock { $0.statistics } }

    /// The current state (taken under the lock).
    var stateSummary: AddressSpaceState {
        withLock { state in
            AddressSpaceState(
                // Relaxed: read under `lock`, which every write holds.
                sequence: sequence.load(ordering: .relaxed), active: state.active,
                pendingInserts: state.deferred.count { $0.state == .pendingInsert },
                pendingRemoves: state.deferred.count { $0.state == .pendingRemove },
                pendingUpdates: state.deferred.count { $0.state == .pendingUpdate },
                subscriptionsInTree: tree.count, isReleased: state.isReleased)
        }
    }

    /// Sets the test hook of the end step (see ``RegistryState/windowClosingHookForTesting``).
    func setWindowClosingHook(_ hook: (@Sendable () -> Void)?) {
        withLock { $0.windowClosingHookForTesting = hook }
    }
}

/// Process-wide counts of live engine objects, for leak tests: they return to
/// zero once every address space and subscription is gone and the RCU
/// callbacks queued until then have run.
package enum LiveObjectCounters {
    /// Live ``SubscriptionRegistry`` objects (one per address space, alive
    /// while the space or any of its subscriptions is).
    package static let registries = Atomic<Int>(0)
    /// Live ``IntervalSubscription`` objects.
    package static let subscriptions = Atomic<Int>(0)
    /// Tree node slabs allocated and not yet freed.
    package static let treeSlabs = Atomic<Int>(0)
}

extension LiveObjectCounters {
    /// Waits until every RCU callback queued before the call (reference drops,
    /// `put` releases, retired tree nodes, tree cleanups) has run, on every
    /// flavour's callback queue (leak checks).
    package static func waitForDeferredFrees() {
        for flavor in RCUFlavor.allCases { RCUCallbackQueue.queue(for: flavor).barrier() }
    }
}
