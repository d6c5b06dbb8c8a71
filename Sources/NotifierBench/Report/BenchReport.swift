import Foundation

/// The report of one `notifier-bench` run: comparison tables with ratios to
/// `rcu`, the project's targets, and the files under `results/` (JSON, CSV,
/// gnuplot charts, README).
public struct BenchReport: Sendable {
    /// Where and how the run was made.
    public let environment: BenchEnvironment
    /// Every figure of the run, in run order.
    public let measurements: [BenchMeasurement]
    /// The paired, interleaved repetitions the ratio targets take their values from.
    public let pairs: [PairedRatio]

    /// Creates the report of `measurements` and `pairs` taken in `environment`.
    public init(environment: BenchEnvironment, measurements: [BenchMeasurement], pairs: [PairedRatio] = []) {
        self.environment = environment
        self.measurements = measurements
        self.pairs = pairs
    }

    /// The paired repetitions the ratio targets of `measurements` need on a
    /// machine of `cores` cores (call it after the sweep, before the report).
    public static func pairRequests(measurements: [BenchMeasurement], cores: Int) -> [PairRequest] {
        TargetEvaluator(index: MeasurementIndex(measurements), cores: cores).pairRequests()
    }

    /// One Markdown table per (workload, metric): rows are (parameters, mirror
    /// protocol, threads), columns the sides present in ``BenchSide/all`` order
    /// (`rcu`, `rcu-qsbr`, `rcu-bp`, `rcu-mb`, `kernel`, `rwlock`, `mutex`,
    /// `unsynchronized`, `c-rbtree`, then the cache's sides); each cell
    /// is the value in human units and, outside the `rcu` column, its ratio to
    /// the `rcu` value of the same row (`x0.12`).
    public func tables() -> String {
        ComparisonTableRenderer.render(ComparisonTable.build(measurements))
    }

    /// The project's performance targets evaluated on this run (the core count
    /// is the environment's `onlineCores`); absent figures give `notMeasured`,
    /// and so does a ratio target without paired repetitions in ``pairs``.
    public func targets() -> [BenchTarget] {
        TargetEvaluator(index: MeasurementIndex(measurements), cores: environment.onlineCores, pairs: pairs).evaluate()
    }

    /// Writes into `directory` (created if needed), replacing an earlier
    /// report: `bench.json` (environment, measurements, targets, paired repetitions), `bench.csv`
    /// (one row per measurement, extras as `extra:NAME` columns), `plots/`
    /// (gnuplot scripts, data and PNGs; without gnuplot on `PATH` a note is
    /// printed and no PNG is made) and `README.md`, which quotes the notes in
    /// `notesFrom/notes/` (default: `directory/notes/`) for missed targets (see
    /// ``MissNotes``). Returns the paths written.
    public func write(to directory: String, notesFrom: String? = nil) async throws(BenchReportError) -> [String] {
        try ReportFiles.createDirectory(directory)
        let path = { (name: String) in (directory as NSString).appendingPathComponent(name) }
        let targets = targets()
        var written: [String] = []

        let json = try ReportFiles.json(BenchResults(environment: environment, measurements: measurements,
                                                     targets: targets, pairs: pairs))
        try ReportFiles.write(json, to: path("bench.json"))
        written.append(path("bench.json"))
        try ReportFiles.write(MeasurementCSV.encode(measurements), to: path("bench.csv"))
        written.append(path("bench.csv"))

        let plots = try await PlotRenderer.render(PlotPlanner.plan(measurements), reportDirectory: directory)
        written += plots.written
        if let skipped = plots.skipped { printNote("plots not rendered: \(skipped)") }
        for failure in plots.failures { printNote("plot failed: \(failure)") }

        var writer = ReadmeWriter(environment: environment, measurementCount: measurements.count,
                                  targets: targets, tables: tables(), plots: plots)
        writer.notes = MissNotes(reportDirectory: notesFrom ?? directory)
        let readme = writer.render()
        try ReportFiles.write(readme, to: path("README.md"))
        written.append(path("README.md"))
        return written
    }

    private func printNote(_ text: String) {
        FileHandle.standardError.write(Data("notifier-bench: \(text)\n".utf8))
    }
}
