import IntervalNotifier
import NotifierStress

/// Parameters of the fault-path workload.
public struct FaultPathParameters: Sendable {
    /// Registry strategy of the address space.
    public var strategy: RegistryStrategy
    /// Mirror-side protocol of the fault path.
    public var mirrorProtocol: MirrorProtocol
    /// Faulting threads.
    public var threads: Int
    /// Concurrent invalidator threads (0, 1, 4 in the suite).
    public var invalidators: Int
    /// Subscriptions registered (1 000 or 1 000 000).
    public var subscriptions: Int
    /// Measured seconds.
    public var duration: Double
    /// NUMA nodes to pin threads to (nil: all).
    public var nodes: [Int]?

    /// Creates the parameters.
    public init(strategy: RegistryStrategy, mirrorProtocol: MirrorProtocol = .seq, threads: Int,
                invalidators: Int, subscriptions: Int, duration: Double, nodes: [Int]? = nil) {
        self.strategy = strategy
        self.mirrorProtocol = mirrorProtocol
        self.threads = threads
        self.invalidators = invalidators
        self.subscriptions = subscriptions
        self.duration = duration
        self.nodes = nodes
    }
}

/// The fault path: look up the subscription of an address, then run the full
/// mirror protocol (collision-retry for `seq`, range locks for `odp`, the
/// `valid` flag for `hmm`), with concurrent invalidators. It is a stress run
/// (``StressRun``) without churn, latency recording or oracle thread.
public enum FaultPathWorkload {
    /// Pages per subscription on average: subscriptions cover 1 to
    /// `2 * pagesPerSubscription` pages at random places of a page table of
    /// `pagesPerSubscription * subscriptions` pages, so about one subscription
    /// covers each page (24 bytes of page table per page: 96 MB at 1 million).
    public static let pagesPerSubscription = 4
    /// Largest invalidation, in pages: invalidations are small unmaps (1 to 16
    /// pages, hmm-tests style), so that the rate measures the fault path rather
    /// than windows opened over a large share of a million subscriptions.
    public static let maxInvalidationPages = 16

    /// The stress configuration one point of the workload runs.
    public static func configuration(_ parameters: FaultPathParameters) -> StressConfiguration {
        var c = StressConfiguration()
        c.duration = parameters.duration
        c.seed = 1
        c.faulters = max(1, parameters.threads)
        c.invalidators = max(0, parameters.invalidators)
        c.churners = 0
        c.subscriptions = max(1, parameters.subscriptions)
        c.pages = max(16, c.subscriptions * pagesPerSubscription)
        c.maxSubscriptionPages = 2 * pagesPerSubscription
        c.maxInvalidationPages = maxInvalidationPages
        c.teardownAt = nil
        c.nodes = parameters.nodes
        c.strategy = parameters.strategy
        c.mirrorProtocol = parameters.mirrorProtocol
        c.recordLatencies = false
        c.oracleChecks = false
        c.progress = false
        return c
    }

    /// The workload's name in measurements.
    public static let name = BenchWorkload.faultPathHarness

    /// Runs one point of the workload; returns a `fault-path-harness` measurement with
    /// parameters `invalidators=N size=S`, metric `ops/s` (faults per second, all
    /// faulters together, over the time the generators ran; set-up and clean-up
    /// excluded) and extras `retries` (fault retries in the run, all faulters)
    /// and `violations` (per-fault checks that failed: poisoned callbacks, fault
    /// timeouts; 0 in a correct run); oversubscribed when the faulters
    /// outnumber the CPUs of the chosen nodes.
    public static func run(_ parameters: FaultPathParameters) -> BenchMeasurement {
        let result = StressRun(configuration(parameters)).run { _ in }
        let seconds = max(result.measuredSeconds, 1e-9)
        return BenchMeasurement(workload: name,
                                parameters: BenchParameters(invalidators: parameters.invalidators,
                                                            size: parameters.subscriptions),
                                strategy: .registry(parameters.strategy), mirrorProtocol: parameters.mirrorProtocol,
                                threads: parameters.threads, metric: .opsPerSecond,
                                value: Double(result.counters.faults) / seconds,
                                extra: [.retries: Double(result.counters.faultRetries),
                                        .violations: Double(result.counters.violations)],
                                oversubscribed: parameters.threads > BenchPlacement.discover(nodes: parameters.nodes).cores)
    }
}
