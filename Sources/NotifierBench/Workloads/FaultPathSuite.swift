import IntervalNotifier
import NotifierStress

/// The points of the two fault-path workloads that the suite runs:
/// - `fault-path` (``FaultLoopWorkload``): the bare fault path, protocol `seq`,
///   for every strategy, with 0, 1 and 4 invalidators over 1 000 subscriptions
///   (plus 1 000 000 subscriptions with 1 invalidator in the full suite);
/// - `fault-path-harness` (``FaultPathWorkload``): the stress harness's fault
///   path (slot pick under its lock, reference counting, the oracle's
///   bookkeeping) for strategy `rcu`, each selected mirror protocol (`seq`,
///   `odp`, `hmm`), 1 invalidator over 1 000 subscriptions: the protocol
///   comparison, where the protocols' own costs show.
/// Each at every thread count (faulters) of the sweep.
public enum FaultPathSuite {
    /// One point of the harness workload: protocol, strategy, invalidators,
    /// subscriptions, faulters.
    public struct Point: Sendable, Equatable {
        /// Mirror protocol.
        public var mirrorProtocol: MirrorProtocol
        /// Registry strategy.
        public var strategy: RegistryStrategy
        /// Invalidator threads.
        public var invalidators: Int
        /// Subscriptions.
        public var subscriptions: Int
        /// Faulting threads.
        public var threads: Int
    }

    /// The harness points, in run order (strategy `rcu` only, when selected).
    public static func harnessPoints(_ sweep: BenchSweep, protocols: [MirrorProtocol]) -> [Point] {
        let rcu = RegistryStrategy.rcu(.memb)
        guard sweep.strategies.contains(rcu) else { return [] }
        return MirrorProtocol.allCases.filter(protocols.contains).flatMap { mirrorProtocol in
            sweep.threads.map { threads in
                Point(mirrorProtocol: mirrorProtocol, strategy: rcu, invalidators: 1, subscriptions: 1000, threads: threads)
            }
        }
    }

    /// Points and time of ``run(_:protocols:includeLarge:nodes:progress:)``.
    public static func plan(_ sweep: BenchSweep, protocols: [MirrorProtocol], includeLarge: Bool) -> BenchPlan {
        let harness = harnessPoints(sweep, protocols: protocols)
        let setup = harness.reduce(0.0) { $0 + Double($1.subscriptions) * BenchPlan.secondsPerSubscription }
        let loop = protocols.contains(.seq) ? FaultLoopWorkload.plan(sweep, includeLarge: includeLarge) : .points(0, duration: 0)
        return loop + .points(harness.count, duration: sweep.duration, setupSeconds: setup)
    }

    /// Runs the bare fault path (when `seq` is selected), then the harness points.
    public static func run(_ sweep: BenchSweep, protocols: [MirrorProtocol], includeLarge: Bool, nodes: [Int]?,
                           progress: BenchProgress? = nil) -> [BenchMeasurement] {
        var measurements: [BenchMeasurement] = []
        if protocols.contains(.seq) {
            measurements += FaultLoopWorkload.run(sweep, includeLarge: includeLarge, progress: progress)
        }
        for point in harnessPoints(sweep, protocols: protocols) {
            progress?.begin(workload: FaultPathWorkload.name,
                            parameters: BenchParameters(invalidators: point.invalidators, size: point.subscriptions),
                            strategy: point.strategy.name, protocol: point.mirrorProtocol, threads: point.threads)
            let m = FaultPathWorkload.run(FaultPathParameters(
                strategy: point.strategy, mirrorProtocol: point.mirrorProtocol, threads: point.threads,
                invalidators: point.invalidators, subscriptions: point.subscriptions,
                duration: sweep.duration, nodes: nodes))
            progress?.end(m)
            measurements.append(m)
        }
        return measurements
    }
}
