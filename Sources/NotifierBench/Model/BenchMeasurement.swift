/// One figure measured by `notifier-bench`: a workload, run with one strategy,
/// mirror protocol and thread count, produced `value` of `metric`.
///
/// This is the only currency between the workloads (which produce
/// measurements) and the report (which prints tables with ratios to `rcu`,
/// writes CSV and JSON, draws plots and generates `results/README.md`).
public struct BenchMeasurement: Codable, Sendable, Hashable {
    /// Workload identifier: `read-primitive`, `fault-path`, `lookup`, `storm`,
    /// `churn`, `mixed`, `memory`, or `insert-remove`.
    public var workload: String
    /// The workload's parameters other than strategy, protocol and threads, as a
    /// short stable label (`invalidators=1`, `size=100000 writer=no`,
    /// `hits=16`, `updates=10%`); rows of a table share workload and variant.
    public var variant: String
    /// ``RegistryStrategy/name`` of the address space (`rcu`, `rcu-qsbr`,
    /// `rcu-bp`, `rcu-mb`, `kernel`, `rwlock`, `mutex`), or `unsynchronized` for the baseline that
    /// walks the same tree with no synchronisation at all.
    public var strategy: String
    /// Mirror-side protocol (`seq`, `odp`, `hmm`) or `-` where none applies.
    public var mirrorProtocol: String
    /// Worker threads (faulters, readers or updaters; helpers such as
    /// invalidators are described by `variant`).
    public var threads: Int
    /// What `value` is: `ops/s` (aggregate throughput), `ns/op` (mean cost of
    /// one operation on one thread), `ns-p50`, `ns-p99` (latency percentiles),
    /// `bytes/subscription`, `bytes`.
    public var metric: String
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
    public init(workload: String, variant: String, strategy: String, mirrorProtocol: String = "-",
                threads: Int, metric: String, value: Double, extra: [String: Double] = [:],
                oversubscribed: Bool = false) {
        self.workload = workload
        self.variant = variant
        self.strategy = strategy
        self.mirrorProtocol = mirrorProtocol
        self.threads = threads
        self.metric = metric
        self.value = value
        self.extra = extra
        self.oversubscribed = oversubscribed
    }

    private enum CodingKeys: String, CodingKey {
        case workload, variant, strategy, mirrorProtocol, threads, metric, value, extra, oversubscribed
    }

    /// Decodes a measurement; reports written before `oversubscribed` existed
    /// decode with it false.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(workload: try c.decode(String.self, forKey: .workload),
                  variant: try c.decode(String.self, forKey: .variant),
                  strategy: try c.decode(String.self, forKey: .strategy),
                  mirrorProtocol: try c.decode(String.self, forKey: .mirrorProtocol),
                  threads: try c.decode(Int.self, forKey: .threads),
                  metric: try c.decode(String.self, forKey: .metric),
                  value: try c.decode(Double.self, forKey: .value),
                  extra: try c.decode([String: Double].self, forKey: .extra),
                  oversubscribed: try c.decodeIfPresent(Bool.self, forKey: .oversubscribed) ?? false)
    }
}
