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
/// mirror protocol (collision-retry for `seq`), with concurrent invalidators.
public enum FaultPathWorkload {
    /// Runs one point of the workload; returns `fault-path` measurement with
    /// variant `invalidators=N size=S`, metric `ops/s` (faults per second, all
    /// faulters together) and extras `retries` and `violations`.
    public static func run(_ parameters: FaultPathParameters) -> BenchMeasurement {
        // Placeholder until the mirror-protocol work lands.
        BenchMeasurement(workload: "fault-path",
                         variant: "invalidators=\(parameters.invalidators) size=\(parameters.subscriptions)",
                         strategy: parameters.strategy.name, mirrorProtocol: parameters.mirrorProtocol.rawValue,
                         threads: parameters.threads, metric: "ops/s", value: 0)
    }
}
