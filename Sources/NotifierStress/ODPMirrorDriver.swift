import Histogram
import IntervalNotifier
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `odp` protocol (see ``MirrorProtocol/odp``): per-range reader-writer
/// locks, and the shared state: the count of invalidations in flight and the
/// subscriptions waiting for a moment with none (ODP's `notifier_count` and
/// `no_private_counters` list).
final class ODPMirrorDriver: MirrorDriver, @unchecked Sendable {
    /// Invalidations in flight, counted by the harness around the engine's
    /// start and end (teardown included). Every access is sequentially
    /// consistent: `register` and `activatePending` conclude "every invalidation
    /// that could miss this subscription has ended" from reading zero, which
    /// needs the reads and the increments in one total order, and the
    /// decrement's release (part of seq_cst) makes the ended invalidations'
    /// page-table writes visible to whoever reads the zero it produced.
    let notifiers = Atomic<Int>(0)
    /// Contexts inserted while `notifiers` was not zero, not yet active.
    private let pending = Locked<[SubscriptionContext]>([])
    /// Broken variant: faulters do not wait for activation.
    let skipActivation: Bool
    /// Broken variant: faulters do not write-lock the range.
    let skipWriteLock: Bool
    let strategy: RegistryStrategy

    init(_ configuration: StressConfiguration) {
        skipActivation = configuration.brokenVariant == .odpSkipsActivationWait
        skipWriteLock = configuration.brokenVariant == .odpFaulterSkipsWriteLock
        strategy = configuration.strategy
    }

    var usesRangeLocks: Bool { true }
    var needsInvalidatingThreadState: Bool { true }

    /// Makes a freshly inserted subscription's context active at once if no
    /// invalidation is in flight, else queues it. Call after `insert` returned
    /// and before any faulter can see the context.
    func didInsert(_ context: SubscriptionContext) {
        pending.withLock { list in
            // Sequentially consistent: see `notifiers`.
            if notifiers.load(ordering: .sequentiallyConsistent) == 0 {
                // Releasing: pairs with the faulter's acquiring load.
                context.odpActive.store(true, ordering: .releasing)
            } else {
                list.append(context)
            }
        }
    }

    /// Counts an invalidation in; call before `invalidateRangeStart`.
    func invalidationWillStart() {
        // Sequentially consistent: see `notifiers`.
        notifiers.add(1, ordering: .sequentiallyConsistent)
    }

    /// Read-unlocks the ranges the thread's callbacks locked, then counts the
    /// invalidation out; call after `invalidateRangeEnd` (or after a refused start).
    func invalidationDidEnd(_ state: InvalidatingThreadState?) {
        state?.releaseReadLocks()
        // Sequentially consistent: see `notifiers`.
        if notifiers.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 { activatePending() }
    }

    /// Activates the pending contexts if the count is still zero under the
    /// list's lock (a context queued after the decrement saw a newer
    /// invalidation, which may not call its callback: only a later zero frees it).
    private func activatePending() {
        pending.withLock { list in
            // Sequentially consistent: see `notifiers`.
            guard !list.isEmpty, notifiers.load(ordering: .sequentiallyConsistent) == 0 else { return }
            for context in list {
                // Releasing: pairs with the faulter's acquiring load.
                context.odpActive.store(true, ordering: .releasing)
            }
            list.removeAll(keepingCapacity: true)
        }
    }

    /// With no invalidation in flight, the count is zero and every mirror is active.
    func checkAtRest(run: StressRun) {
        // Sequentially consistent: see `notifiers`.
        let inFlight = notifiers.load(ordering: .sequentiallyConsistent)
        if inFlight != 0 { run.violation("odp: \(inFlight) invalidations counted in flight at rest") }
        // Acquiring: pairs with the releasing stores that activate a mirror.
        run.checkEveryMirrorUsable("odp") { $0.odpActive.load(ordering: .acquiring) }
    }

    /// The `odp` invalidate callback: read-lock the range until the
    /// invalidation ends (the invalidating thread unlocks), clear the mirror.
    func makeCallback(run: StressRun, slot: MirrorSlot, context: SubscriptionContext,
                      firstPage: Int, pageCount: Int) -> InvalidateCallback {
        // Weak: a run that stopped early (a hang) leaves subscriptions in the
        // space, whose teardown calls this after the run itself is gone.
        return { [weak run] sub, range, sequence in
            guard let run else { return true }
            run.checkNotPoisoned(context, range: range, sequence: sequence)
            guard let rangeLock = slot.rangeLock, let state = InvalidatingThreadState.current else {
                run.violation("odp callback for subscription \(context.id) on a thread with no invalidating-thread state (range \(range))")
                return true
            }
            if range.isBlockable {
                rangeLock.readLock()
            } else if !rangeLock.tryReadLock() {
                return false
            }
            state.heldReadLocks.append(rangeLock)
            if range.isBlockable {
                slot.lock.lock()
            } else if !slot.lock.tryLock() {
                return false   // the read lock is released with the others at end
            }
            run.clearMirror(slot, context: context, subscription: sub, range: range, firstPage: firstPage, pageCount: pageCount)
            slot.lock.unlock()
            return true
        }
    }

    /// One `odp` fault: wait for the subscription to be active, then write-lock
    /// the range, read the page table, install, unlock.
    func fault(_ target: FaultTarget, run: StressRun, tally: inout FaulterTally, retries: inout FaultRetries,
               readBeginLatency: inout Histogram<UInt64>) -> FaultOutcome {
        guard let rangeLock = target.slot.rangeLock else {
            run.violation("odp fault on slot \(target.slot.index) without a range lock")
            return .aborted
        }
        // Acquiring (both loads): pairs with the activation's releasing store, so
        // the page-table writes of every invalidation that ended before it are
        // visible to the read below.
        if !skipActivation && !target.context.odpActive.load(ordering: .acquiring) {
            // ODP's fault on a umem without active counters fails and is replayed.
            tally.protocolWaits += 1
            var spins = 0
            repeat {
                // Relaxed: `stop` only needs to be seen eventually.
                if run.signals.isStopped { return .aborted }
                if retries.expired() { return .abandoned }
                strategy.readerQuiescentState()
                spins += 1
                if spins < 16 { sched_yield() } else { usleep(20) }
            } while !target.context.odpActive.load(ordering: .acquiring)
        }
        if !skipWriteLock && !rangeLock.tryWriteLock() {
            // Contended: an invalidation holds it; do not delay grace periods.
            strategy.readerThreadOffline()
            rangeLock.writeLock()
            strategy.readerThreadOnline()
        }
        defer { if !skipWriteLock { rangeLock.unlock() } }
        let value = run.table.read(target.page)
        target.slot.lock.lock()
        defer { target.slot.lock.unlock() }
        guard target.slot.context === target.context else { return .aborted }
        target.slot.mirror[target.page - target.firstPage] = value
        return .installed
    }
}
