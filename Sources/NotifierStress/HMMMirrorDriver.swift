import Histogram
import IntervalNotifier
import Synchronization

/// The `hmm` protocol (see ``MirrorProtocol/hmm``) and its shared state: the
/// 2019 `struct hmm`'s `notifiers` count, lock and wait queue, the mirrors to
/// revalidate, and the quiescence epoch that closes the `valid` ABA.
///
/// Orderings of the two atomics (both written only under `lock`):
/// - `epoch`: the end step stores the increment releasing, *before* it sets any
///   `valid`; faulters load it acquiring before reading the page table, so a
///   faulter that sees the new epoch also sees the page-table writes of every
///   invalidation that ended before it.
/// - `SubscriptionContext.hmmValid`: cleared relaxed by callbacks under the
///   slot lock (the faulter's re-check holds that lock; the end step that sets
///   it again is ordered after the callback by `lock`, through the count);
///   set releasing under `lock`; loaded acquiring by faulters, so a faulter
///   that sees true from an end step also sees that step's epoch increment.
final class HMMMirrorDriver: MirrorDriver, @unchecked Sendable {
    /// `hmm->ranges_lock` and `hmm->wq`: guards the fields below.
    let lock = PThreadMutex()
    /// Invalidations in flight (`hmm->notifiers`).
    private var notifiers = 0
    /// Mirrors invalidated (or registered invalid) since the count was last zero.
    private var invalidated: [SubscriptionContext] = []
    /// Faulters sleeping in ``waitUntilValid(_:timeoutNanoseconds:)``.
    private var waiters = 0
    /// Bumped by each end step that revalidates mirrors (see the type's doc).
    let epoch = Atomic<UInt64>(0)

    /// Broken variant: a new mirror starts valid even with invalidations in flight.
    let startValid: Bool
    /// Broken variant: the faulter does not re-check `valid` under the update lock.
    let recheckValid: Bool
    /// Broken variant: the faulter does not check the epoch.
    let checkEpoch: Bool
    let strategy: RegistryStrategy

    init(_ configuration: StressConfiguration) {
        startValid = configuration.brokenVariant == .hmmNewMirrorStartsValid
        recheckValid = configuration.brokenVariant != .hmmSkipsValidRecheck
        checkEpoch = configuration.brokenVariant != .hmmSkipsEpochCheck
        strategy = configuration.strategy
    }

    var usesRangeLocks: Bool { false }
    var needsInvalidatingThreadState: Bool { true }

    /// Sets the `valid` flag of a freshly inserted subscription: valid if no
    /// invalidation is in flight, else invalid until the count drops to zero
    /// (`hmm_range_register`).
    func didInsert(_ context: SubscriptionContext) {
        lock.withLock {
            if notifiers == 0 || startValid {
                // Releasing: as every store of true (see the type's doc).
                context.hmmValid.store(true, ordering: .releasing)
            } else {
                // Relaxed: published to faulters by the slot lock; the store of
                // true that ends the wait is ordered after it by `lock`.
                context.hmmValid.store(false, ordering: .relaxed)
                invalidated.append(context)
            }
        }
    }

    /// Counts an invalidation in (`hmm_invalidate_range_start`); call before
    /// `invalidateRangeStart`.
    func invalidationWillStart() {
        lock.withLock { notifiers += 1 }
    }

    /// Counts an invalidation out and lists the mirrors the thread's callbacks
    /// invalidated (see ``invalidationDidEnd(merging:)``).
    func invalidationDidEnd(_ state: InvalidatingThreadState?) {
        if let state {
            invalidationDidEnd(merging: &state.invalidatedMirrors)
        } else {
            var none: [SubscriptionContext] = []
            invalidationDidEnd(merging: &none)
        }
    }

    /// Counts an invalidation out (`hmm_invalidate_range_end`) and lists the
    /// mirrors its callbacks invalidated (taking them from `mirrors`); at zero,
    /// bumps the epoch, revalidates every listed mirror and wakes the waiters.
    /// Call after `invalidateRangeEnd` or after a refused start. Listing and
    /// counting out in one critical section keeps every invalid mirror listed
    /// whenever the count is zero, with one lock operation per invalidation
    /// rather than one per callback.
    func invalidationDidEnd(merging mirrors: inout [SubscriptionContext]) {
        lock.lock()
        if !mirrors.isEmpty {
            invalidated.append(contentsOf: mirrors)
            mirrors.removeAll(keepingCapacity: true)
        }
        notifiers -= 1
        var wake = false
        if notifiers == 0 && !invalidated.isEmpty {
            // Relaxed: only written under `lock`, which we hold.
            let next = epoch.load(ordering: .relaxed) &+ 1
            // Releasing: before any `valid` below; see the type's doc.
            epoch.store(next, ordering: .releasing)
            for context in invalidated {
                // Releasing: carries the epoch increment; see the type's doc.
                context.hmmValid.store(true, ordering: .releasing)
            }
            invalidated.removeAll(keepingCapacity: true)
            wake = waiters > 0
        }
        lock.unlock()
        if wake { lock.broadcast() }
    }

    /// Sleeps until `context` is valid or `timeoutNanoseconds` pass
    /// (`hmm_range_wait_until_valid`); returns whether it is valid.
    func waitUntilValid(_ context: SubscriptionContext, timeoutNanoseconds: UInt64) -> Bool {
        let deadline = StressClock.now() &+ timeoutNanoseconds
        lock.lock()
        waiters += 1
        // Relaxed: every store of true is made under `lock`, which we hold.
        while !context.hmmValid.load(ordering: .relaxed) {
            let now = StressClock.now()
            if now >= deadline { break }
            _ = lock.wait(timeoutNanoseconds: deadline - now)
        }
        waiters -= 1
        // Relaxed: as above.
        let valid = context.hmmValid.load(ordering: .relaxed)
        lock.unlock()
        return valid
    }

    /// With no invalidation in flight, the count is zero and every mirror is valid.
    func checkAtRest(run: StressRun) {
        let inFlight = lock.withLock { notifiers }
        if inFlight != 0 { run.violation("hmm: \(inFlight) invalidations counted in flight at rest") }
        // Acquiring: pairs with the releasing stores that make a mirror valid.
        run.checkEveryMirrorUsable("hmm") { $0.hmmValid.load(ordering: .acquiring) }
    }

    /// The `hmm` invalidate callback: under the mirror's update lock clear
    /// `valid` and the entries, then note the mirror in the invalidating
    /// thread's state (listed for revalidation when the invalidation ends).
    func makeCallback(run: StressRun, slot: MirrorSlot, context: SubscriptionContext,
                      firstPage: Int, pageCount: Int) -> InvalidateCallback {
        // Weak: a run that stopped early (a hang) leaves subscriptions in the
        // space, whose teardown calls this after the run itself is gone.
        return { [weak run] sub, range, sequence in
            guard let run else { return true }
            run.checkNotPoisoned(context, range: range, sequence: sequence)
            guard let state = InvalidatingThreadState.current else {
                run.violation("hmm callback for subscription \(context.id) on a thread with no invalidating-thread state (range \(range))")
                return true
            }
            if range.isBlockable {
                slot.lock.lock()
            } else if !slot.lock.tryLock() {
                return false
            }
            // Relaxed: see `HMMMirrorDriver` (the slot lock orders it for faulters).
            context.hmmValid.store(false, ordering: .relaxed)
            run.clearMirror(slot, context: context, subscription: sub, range: range, firstPage: firstPage, pageCount: pageCount)
            slot.lock.unlock()
            state.invalidatedMirrors.append(context)
            return true
        }
    }

    /// One `hmm` fault: wait until valid, note the epoch, read the page table,
    /// take the update lock, re-check `valid` and the epoch, install.
    func fault(_ target: FaultTarget, run: StressRun, tally: inout FaulterTally, retries: inout FaultRetries,
               readBeginLatency: inout Histogram<UInt64>) -> FaultOutcome {
        let context = target.context
        while true {
            // Acquiring: see `HMMMirrorDriver` (a true from an end step brings the
            // page-table writes of the ended invalidations with it).
            if !context.hmmValid.load(ordering: .acquiring) {
                tally.protocolWaits += 1
                strategy.readerThreadOffline()
                let valid = waitUntilValid(context, timeoutNanoseconds: retries.remainingNanoseconds())
                strategy.readerThreadOnline()
                if !valid {
                    // Relaxed: `stop` only needs to be seen eventually.
                    if run.signals.isStopped { return .aborted }
                    if retries.expired() { return .abandoned }
                    continue
                }
            }
            // Acquiring: see `HMMMirrorDriver`.
            let epoch = self.epoch.load(ordering: .acquiring)
            let value = run.table.read(target.page)
            target.slot.lock.lock()
            guard target.slot.context === context else {
                target.slot.lock.unlock()
                return .aborted
            }
            // Acquiring: a true stored by an end step (not under the slot lock)
            // must bring that step's epoch increment, read next.
            let valid = !recheckValid || context.hmmValid.load(ordering: .acquiring)
            // Relaxed: ordered after the acquiring load of `valid` above.
            let sameEpoch = !checkEpoch || self.epoch.load(ordering: .relaxed) == epoch
            if valid && sameEpoch {
                target.slot.mirror[target.page - target.firstPage] = value
                target.slot.lock.unlock()
                return .installed
            }
            target.slot.lock.unlock()
            if !retries.retry() { return .timedOut }
        }
    }
}
