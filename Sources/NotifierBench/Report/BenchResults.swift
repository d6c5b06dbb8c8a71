/// The content of `bench.json`: everything a run produced, enough to
/// regenerate the report.
public struct BenchResults: Codable, Sendable {
    /// Where and how the run was made.
    public var environment: BenchEnvironment
    /// Every figure, in run order.
    public var measurements: [BenchMeasurement]
    /// The targets evaluated on `measurements`.
    public var targets: [BenchTarget]
    /// The paired repetitions of the ratio targets; files written before they
    /// existed decode with none (those targets are then not measured).
    public var pairs: [PairedRatio]

    /// Creates the document.
    public init(environment: BenchEnvironment, measurements: [BenchMeasurement], targets: [BenchTarget],
                pairs: [PairedRatio] = []) {
        self.environment = environment
        self.measurements = measurements
        self.targets = targets
        self.pairs = pairs
    }

    private enum CodingKeys: String, CodingKey {
        case environment, measurements, targets, pairs
    }

    /// Decodes the document; `pairs` may be absent (older files).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(environment: try c.decode(BenchEnvironment.self, forKey: .environment),
                  measurements: try c.decode([BenchMeasurement].self, forKey: .measurements),
                  targets: try c.decode([BenchTarget].self, forKey: .targets),
                  pairs: try c.decodeIfPresent([PairedRatio].self, forKey: .pairs) ?? [])
    }
}
