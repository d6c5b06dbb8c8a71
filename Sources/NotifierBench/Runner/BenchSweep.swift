import IntervalNotifier

/// What every workload is run over: strategies, thread counts, the measured
/// seconds of each point, and where threads go.
public struct BenchSweep: Sendable {
    /// Strategies, in the order they run.
    public var strategies: [RegistryStrategy]
    /// Thread counts of the sweep (workloads with fixed counts ignore it).
    public var threads: [Int]
    /// Measured seconds of each point.
    public var duration: Double
    /// CPU placement of the threads.
    public var placement: BenchPlacement

    /// Creates a sweep.
    public init(strategies: [RegistryStrategy], threads: [Int], duration: Double, placement: BenchPlacement) {
        self.strategies = strategies
        self.threads = threads
        self.duration = duration
        self.placement = placement
    }

    /// The same sweep over other strategies.
    public func with(strategies: [RegistryStrategy]) -> BenchSweep {
        var copy = self
        copy.strategies = strategies
        return copy
    }

    /// The same sweep over other thread counts.
    public func with(threads: [Int]) -> BenchSweep {
        var copy = self
        copy.threads = threads
        return copy
    }
}

/// How many points a workload will measure and about how long it will take.
public struct BenchPlan: Sendable {
    /// Measured points.
    public var points: Int
    /// Estimated seconds: measured time, thread start-up, and setup (building
    /// and tearing down registries).
    public var seconds: Double

    /// Creates a plan.
    public init(points: Int, seconds: Double) {
        self.points = points
        self.seconds = seconds
    }

    /// A plan of `points` points of `duration` seconds plus `setupSeconds`.
    static func points(_ points: Int, duration: Double, setupSeconds: Double = 0) -> BenchPlan {
        BenchPlan(points: points, seconds: Double(points) * (duration + perPointOverhead) + setupSeconds)
    }

    /// Thread start-up, barrier and join per point (seconds).
    static let perPointOverhead = 0.01
    /// Estimated seconds to insert and later remove one subscription (release
    /// build, 2 vCPUs: about 2 us to insert and 3 us to remove at 1 000 000).
    static let secondsPerSubscription = 5e-6
}

extension BenchPlan {
    /// Two plans run one after the other.
    static func + (lhs: BenchPlan, rhs: BenchPlan) -> BenchPlan {
        BenchPlan(points: lhs.points + rhs.points, seconds: lhs.seconds + rhs.seconds)
    }
}
