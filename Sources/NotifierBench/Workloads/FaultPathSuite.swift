import IntervalNotifier
import NotifierStress

/// The points of the `fault-path` workload that the suite runs (the workload
/// itself is ``FaultPathWorkload``): for every strategy, protocol `seq` with 0,
/// 1 and 4 invalidators over 1 000 subscriptions (plus 1 000 000 subscriptions
/// with 1 invalidator in the full suite); for strategy `rcu` also protocols
/// `odp` and `hmm` with 1 invalidator over 1 000 subscriptions. Each at every
/// thread count (faulters) of the sweep.
public enum FaultPathSuite {
    /// The workload's name in measurements.
    public static let name = "fault-path"

    /// One point: protocol, strategy, invalidators, subscriptions, faulters.
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

    /// The points, in run order. `protocols` filters the protocols; `odp` and
    /// `hmm` run only when `rcu` is among the strategies.
    public static func points(_ sweep: BenchSweep, protocols: [MirrorProtocol], includeLarge: Bool) -> [Point] {
        var points: [Point] = []
        if protocols.contains(.seq) {
            var shapes = [(0, 1000), (1, 1000), (4, 1000)]
            if includeLarge { shapes.append((1, 1_000_000)) }
            for (invalidators, size) in shapes {
                for strategy in sweep.strategies {
                    for threads in sweep.threads {
                        points.append(Point(mirrorProtocol: .seq, strategy: strategy, invalidators: invalidators,
                                            subscriptions: size, threads: threads))
                    }
                }
            }
        }
        let rcu = RegistryStrategy.rcu(.memb)
        if sweep.strategies.contains(rcu) {
            for mirrorProtocol in [MirrorProtocol.odp, .hmm] where protocols.contains(mirrorProtocol) {
                for threads in sweep.threads {
                    points.append(Point(mirrorProtocol: mirrorProtocol, strategy: rcu, invalidators: 1,
                                        subscriptions: 1000, threads: threads))
                }
            }
        }
        return points
    }

    /// Points and time of ``run(_:protocols:includeLarge:progress:)``.
    public static func plan(_ sweep: BenchSweep, protocols: [MirrorProtocol], includeLarge: Bool) -> BenchPlan {
        let points = points(sweep, protocols: protocols, includeLarge: includeLarge)
        let setup = points.reduce(0.0) { $0 + Double($1.subscriptions) * BenchPlan.secondsPerSubscription }
        return .points(points.count, duration: sweep.duration, setupSeconds: setup)
    }

    /// Runs every point through ``FaultPathWorkload/run(_:)``.
    public static func run(_ sweep: BenchSweep, protocols: [MirrorProtocol], includeLarge: Bool, nodes: [Int]?,
                           progress: BenchProgress? = nil) -> [BenchMeasurement] {
        points(sweep, protocols: protocols, includeLarge: includeLarge).map { point in
            progress?.begin(workload: name,
                            variant: "invalidators=\(point.invalidators) size=\(point.subscriptions)",
                            strategy: point.strategy.name, protocol: point.mirrorProtocol.rawValue, threads: point.threads)
            let m = FaultPathWorkload.run(FaultPathParameters(
                strategy: point.strategy, mirrorProtocol: point.mirrorProtocol, threads: point.threads,
                invalidators: point.invalidators, subscriptions: point.subscriptions,
                duration: sweep.duration, nodes: nodes))
            progress?.end(m)
            return m
        }
    }
}
