import NotifierStress

/// How many paired repetitions a ratio target gets and how long each side of
/// a repetition runs: `--quick` 3 × 0.2 s, the full run 5 × 0.5 s.
public struct PairedRepetitions: Codable, Sendable, Hashable {
    /// Pairs (A B) per target; each side runs this many times.
    public var count: Int
    /// Measured seconds of one side of one repetition.
    public var seconds: Double

    /// Creates the setting; at least one repetition of positive length.
    public init(count: Int, seconds: Double) {
        precondition(count >= 1 && seconds > 0)
        self.count = count
        self.seconds = seconds
    }

    /// The `--quick` setting: 3 pairs of about 0.2 s per side.
    public static let quick = PairedRepetitions(count: 3, seconds: 0.2)
    /// The full run's setting: 5 pairs of about 0.5 s per side.
    public static let full = PairedRepetitions(count: 5, seconds: 0.5)
}

/// One side of a paired ratio: a strategy (or a baseline) at a thread count.
public struct PairedSide: Codable, Sendable, Hashable {
    /// The side, as in ``BenchMeasurement/strategy``.
    public var strategy: BenchSide
    /// Worker threads.
    public var threads: Int

    /// Creates a side.
    public init(strategy: BenchSide, threads: Int) {
        self.strategy = strategy
        self.threads = threads
    }
}

/// What a ratio target asks to be measured in pairs: the point (workload,
/// parameters, protocol, metric) and its two sides; each pair's ratio is
/// `numerator / (scale × denominator)` (scale is N for a scaling target, else 1).
public struct PairRequest: Codable, Sendable, Hashable {
    /// Name of the target, such as `lookup-overhead size=1000`.
    public var target: String
    /// Workload of the point.
    public var workload: BenchWorkload
    /// Parameters of the point.
    public var parameters: BenchParameters
    /// Mirror protocol of the point (nil where none applies).
    public var mirrorProtocol: MirrorProtocol?
    /// Metric both sides measure.
    public var metric: BenchMetric
    /// The side above the fraction bar.
    public var numerator: PairedSide
    /// The side below it.
    public var denominator: PairedSide
    /// Factor applied to the denominator.
    public var scale: Double

    /// Creates a request.
    public init(target: String, workload: BenchWorkload, parameters: BenchParameters, mirrorProtocol: MirrorProtocol? = nil,
                metric: BenchMetric, numerator: PairedSide, denominator: PairedSide, scale: Double = 1) {
        self.target = target
        self.workload = workload
        self.parameters = parameters
        self.mirrorProtocol = mirrorProtocol
        self.metric = metric
        self.numerator = numerator
        self.denominator = denominator
        self.scale = scale
    }

    /// `threads=N parameters, protocol`: the point, as target summaries name it.
    public var pointDescription: String {
        let threads = numerator.threads == denominator.threads
            ? "threads=\(numerator.threads)" : "threads=\(numerator.threads) vs \(denominator.threads)"
        let label = parameters.label
        let parts = [threads + (label.isEmpty ? "" : " \(label)"), mirrorProtocol.label]
        return parts.filter { $0 != "-" }.joined(separator: ", ")
    }
}

/// The figures of a ratio target's paired, interleaved repetitions (A B A B …
/// in one process), and the ratio of each pair. Stored in `bench.json`.
public struct PairedRatio: Codable, Sendable, Hashable {
    /// What was paired.
    public var request: PairRequest
    /// The numerator side's figure in each repetition, in run order.
    public var numeratorValues: [Double]
    /// The denominator side's figure in each repetition, in run order.
    public var denominatorValues: [Double]

    /// Creates the record of `numeratorValues[i]` paired with `denominatorValues[i]`.
    public init(request: PairRequest, numeratorValues: [Double], denominatorValues: [Double]) {
        precondition(numeratorValues.count == denominatorValues.count)
        self.request = request
        self.numeratorValues = numeratorValues
        self.denominatorValues = denominatorValues
    }

    /// The ratio of each pair, `numerator / (scale × denominator)`; pairs with
    /// a figure that is not finite and positive are left out.
    public var ratios: [Double] {
        zip(numeratorValues, denominatorValues).compactMap { top, bottom in
            guard top.isFinite, top > 0, bottom.isFinite, bottom > 0 else { return nil }
            return top / (request.scale * bottom)
        }
    }

    /// Median, min and max of ``ratios``; nil with no usable pair.
    public var statistics: RatioStatistics? { RatioStatistics(ratios) }
}

/// Median, minimum and maximum of per-pair ratios.
public struct RatioStatistics: Sendable, Hashable {
    /// The median (the mean of the two middle values for an even count).
    public var median: Double
    /// The smallest ratio.
    public var min: Double
    /// The largest ratio.
    public var max: Double
    /// How many ratios.
    public var count: Int

    /// The statistics of `ratios`; nil when empty.
    public init?(_ ratios: [Double]) {
        guard !ratios.isEmpty else { return nil }
        let sorted = ratios.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        count = sorted.count
    }

    /// `median 1.02 (min 0.97, max 1.10, 3 pairs; point: POINT)`.
    public func summary(point: String) -> String {
        let f = { (x: Double) in String(format: "%.2f", x) }
        return "median \(f(median)) (min \(f(min)), max \(f(max)), \(count) pair\(count == 1 ? "" : "s"); point: \(point))"
    }
}
