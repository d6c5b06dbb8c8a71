import Histogram
import IntervalNotifier

/// The `seq` protocol (``MirrorProtocol/seq``): `mmu_interval_notifier`'s
/// collision-retry. The callback bumps the sequence and clears the mirror under
/// the user lock; the fault is `readBegin`, page-table read, user lock,
/// `readRetry`, install. No bookkeeping around invalidations.
final class SeqMirrorDriver: MirrorDriver {
    /// Broken variant: the callback does not call `setSequence`.
    let skipSetSequence: Bool
    /// Broken variant: `readRetry` (and `checkRetry`) always answer false.
    let retryAlwaysFalse: Bool
    let recordLatencies: Bool

    init(_ configuration: StressConfiguration) {
        skipSetSequence = configuration.brokenVariant == .callbackSkipsSetSequence
        retryAlwaysFalse = configuration.brokenVariant == .readRetryAlwaysFalse
        recordLatencies = configuration.recordLatencies
    }

    var usesRangeLocks: Bool { false }
    var needsInvalidatingThreadState: Bool { false }
    func didInsert(_ context: SubscriptionContext) {}
    func invalidationWillStart() {}
    func invalidationDidEnd(_ state: InvalidatingThreadState?) {}
    func checkAtRest(run: StressRun) {}

    /// Under the user lock, `setSequence` and clear the mirror.
    func makeCallback(run: StressRun, slot: MirrorSlot, context: SubscriptionContext,
                      firstPage: Int, pageCount: Int) -> InvalidateCallback {
        let skipSetSequence = skipSetSequence
        // Weak: a run that stopped early (a hang) leaves subscriptions in the
        // space, whose teardown calls this after the run itself is gone.
        return { [weak run] sub, range, sequence in
            guard let run else { return true }
            run.checkNotPoisoned(context, range: range, sequence: sequence)
            if range.isBlockable {
                slot.lock.lock()
            } else if !slot.lock.tryLock() {
                return false
            }
            if !skipSetSequence { sub.setSequence(sequence) }
            run.clearMirror(slot, context: context, subscription: sub, range: range, firstPage: firstPage, pageCount: pageCount)
            slot.lock.unlock()
            return true
        }
    }

    /// `readBegin`, read the page table (give up early on `checkRetry`), take
    /// the user lock, `readRetry`, install.
    func fault(_ target: FaultTarget, run: StressRun, tally: inout FaulterTally, retries: inout FaultRetries,
               readBeginLatency: inout Histogram<UInt64>) -> FaultOutcome {
        let sub = target.subscription
        while true {
            let t0 = recordLatencies ? StressClock.now() : 0
            let sequence: UInt64
            do { sequence = try sub.readBegin() } catch .notRegistered {
                // A churner removed it between the lookup and here: the fault
                // targets a subscription that is gone, as the slot check below.
                return .aborted
            } catch {
                run.violation("readBegin threw \(error)")
                return .aborted
            }
            if recordLatencies { _ = readBeginLatency.record(StressClock.now() - t0) }
            let value = run.table.read(target.page)
            if !retryAlwaysFalse && sub.checkRetry(sequence) {
                if !retries.retry() { return .timedOut }
                continue
            }
            target.slot.lock.lock()
            guard target.slot.context === target.context else {
                target.slot.lock.unlock()
                return .aborted
            }
            if !retryAlwaysFalse && sub.readRetry(sequence) {
                target.slot.lock.unlock()
                if !retries.retry() { return .timedOut }
                continue
            }
            target.slot.mirror[target.page - target.firstPage] = value
            target.slot.lock.unlock()
            return .installed
        }
    }
}
