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
    /// Secondary figures of the same run (``BenchExtra/retries``,
    /// ``BenchExtra/nanosecondsP99``, ...); JSON keys them by name.
    public var extra: [BenchExtra: Double]
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
                extra: [BenchExtra: Double] = [:], oversubscribed: Bool = false) {
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


extension BenchMeasurement {
    /// Decodes a measurement as the synthesized decoder would (fields in
    /// declaration order), except that an extra this notifier-bench does not
    /// know is a `dataCorrupted` error that names it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let workload = try c.decode(BenchWorkload.self, forKey: .workload)
        let parameters = try c.decode(BenchParameters.self, forKey: .parameters)
        let strategy = try c.decode(BenchSide.self, forKey: .strategy)
        let mirrorProtocol = try c.decodeIfPresent(MirrorProtocol.self, forKey: .mirrorProtocol)
        let threads = try c.decode(Int.self, forKey: .threads)
        let metric = try c.decode(BenchMetric.self, forKey: .metric)
        let value = try c.decode(Double.self, forKey: .value)
        var extra: [BenchExtra: Double] = [:]
        for (name, figure) in try c.decode([String: Double].self, forKey: .extra) {
            extra[try BenchExtra.named(name, codingPath: c.codingPath + [CodingKeys.extra])] = figure
        }
        self.init(workload: workload, parameters: parameters, strategy: strategy, mirrorProtocol: mirrorProtocol,
                  threads: threads, metric: metric, value: value, extra: extra,
                  oversubscribed: try c.decode(Bool.self, forKey: .oversubscribed))
    }
}
