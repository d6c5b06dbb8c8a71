/// The content of `bench.json`: everything a run produced, enough to
/// regenerate the report.
public struct BenchResults: Codable, Sendable {
    /// Where and how the run was made.
    public var environment: BenchEnvironment
    /// Every figure, in run order.
    public var measurements: [BenchMeasurement]
    /// The targets evaluated on `measurements`.
    public var targets: [BenchTarget]

    /// Creates the document.
    public init(environment: BenchEnvironment, measurements: [BenchMeasurement], targets: [BenchTarget]) {
        self.environment = environment
        self.measurements = measurements
        self.targets = targets
    }
}
