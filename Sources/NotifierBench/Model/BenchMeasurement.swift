import NotifierStress

/// One figure measured by `notifier-bench`: a workload, run with one side,
/// parameters, mirror protocol and thread count, produced `value` of `metric`.
///
/// This is the only currency between the workloads (which produce
/// measurements) and the report (which prints tables with ratios to `rcu`,
/// writes CSV and JSON, draws plots and evaluates the targets). Every field is
/// typed; ``BenchParameters/label`` renders the parameters for people, and
/// nothing reads a rendered label back.
public struct BenchMeasurement: Codable, Sendable, Hashable {
    /// The workload.
    public var workload: BenchWorkload
    /// The workload's parameters other than side, protocol and threads; rows
    /// of a table share workload and parameters.
    public var parameters: BenchParameters
    /// The side: a library strategy (`rcu`, `rcu-qsbr`, `rcu-bp`, `rcu-mb`,
    /// `kernel`, `rwlock`, `mutex`) or a baseline or peer.
    public var strategy: BenchSide
    /// Mirror-side protocol (`seq`, `odp`, `hmm`), nil where none applies.
    public var mirrorProtocol: MirrorProtocol?
    /// Worker threads (faulters, readers or updaters; helpers such as
    /// invalidators are parameters).
    public var threads: Int
    /// What `value` is.
    public var metric: BenchMetric
    /// The measured value.
    public var value: Double
    /// Secondary figures of the same run (`retries`, `p99-ns`,
    /// `normalized-scalability`, ...), keyed by name.
    public var extra: [String: Double]
    /// Whether the point ran more worker threads (`threads`; helpers are not
    /// counted) than the CPUs the run may use: its figure measures time
    /// sharing, and no target reads it.
    /// Tables print such a figure with ``oversubscribedMark`` after it.
    public var oversubscribed: Bool

    /// The mark printed after an oversubscribed figure in tables.
    public static let oversubscribedMark = "*"

    /// Creates a measurement.
    public init(workload: BenchWorkload, parameters: BenchParameters, strategy: BenchSide,
                mirrorProtocol: MirrorProtocol? = nil, threads: Int, metric: BenchMetric, value: Double,
                extra: [String: Double] = [:], oversubscribed: Bool = false) {
        self.workload = workload
        self.parameters = parameters
        self.strategy = strategy
        self.mirrorProtocol = mirrorProtocol
        self.threads = threads
        self.metric = metric
        self.value = value
        self.extra = extra
        self.oversubscribed = oversubscribed
    }
}

