import Histogram
import IntervalNotifier

/// What a mirror protocol does in the stress run, in one conformance per
/// ``MirrorProtocol`` case: its invalidate callback, its fault path, and its
/// bookkeeping around each invalidation and at rest. ``StressRun`` calls these
/// and never asks which protocol it runs.
///
/// The run keeps one driver for its whole life; a driver keeps no reference to
/// the run (each call is handed the run), so there is no cycle.
protocol MirrorDriver: AnyObject, Sendable {
    /// Whether each mirror slot needs a range lock (``MirrorSlot/rangeLock``).
    var usesRangeLocks: Bool { get }
    /// Whether invalidating threads install an ``InvalidatingThreadState`` for
    /// their callbacks to leave work in.
    var needsInvalidatingThreadState: Bool { get }

    /// The invalidate callback of a subscription mirrored in `slot` over
    /// `pageCount` pages from `firstPage`.
    func makeCallback(run: StressRun, slot: MirrorSlot, context: SubscriptionContext,
                      firstPage: Int, pageCount: Int) -> InvalidateCallback

    /// Called after `insert` returned and before any faulter can see `context`.
    func didInsert(_ context: SubscriptionContext)

    /// Called before `invalidateRangeStart` (the part of the kernel's
    /// `invalidate_range_start` outside the interval notifiers).
    func invalidationWillStart()

    /// Called after `invalidateRangeEnd` (or a refused start), on the
    /// invalidating thread, with the state its callbacks filled.
    func invalidationDidEnd(_ state: InvalidatingThreadState?)

    /// One fault on `target`: make the mirror entry current, or give up.
    func fault(_ target: FaultTarget, run: StressRun, tally: inout FaulterTally, retries: inout FaultRetries,
               readBeginLatency: inout Histogram<UInt64>) -> FaultOutcome

    /// The checks at rest (no invalidation in flight): the protocol's own
    /// counts are back to zero and every mirror is usable.
    func checkAtRest(run: StressRun)
}

extension MirrorProtocol {
    /// The driver of this protocol, with the broken variant of `configuration`
    /// (if it belongs to this protocol) built in.
    func makeDriver(_ configuration: StressConfiguration) -> any MirrorDriver {
        switch self {
        case .seq: SeqMirrorDriver(configuration)
        case .odp: ODPMirrorDriver(configuration)
        case .hmm: HMMMirrorDriver(configuration)
        }
    }
}

extension StressRun {
    /// Reports every mirror slot whose subscription `isUsable` says is not
    /// usable at rest (for the protocols whose mirrors can be unusable).
    func checkEveryMirrorUsable(_ protocolName: String, _ isUsable: (SubscriptionContext) -> Bool) {
        for slot in slots {
            guard let context = slot.lock.withLock({ slot.context }) else { continue }
            if !isUsable(context) {
                violation("\(protocolName): mirror of slot \(slot.index) (subscription \(context.id)) is not usable at rest")
            }
        }
    }
}
