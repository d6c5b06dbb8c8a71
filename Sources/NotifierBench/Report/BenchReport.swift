// The report of a run and the files it writes: bench.json, bench.csv and the
// README (plots: Plots.swift).

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
    /// `unsynchronized`, `read-section-only`, `c-rbtree`, then the cache's sides); each cell
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

/// File-system writes of the report, with errors that name the path.
enum ReportFiles {
    /// Creates `path` and its parents if needed.
    static func createDirectory(_ path: String) throws(BenchReportError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// Replaces the file at `path` with `text` (UTF-8, atomically).
    static func write(_ text: String, to path: String) throws(BenchReportError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// `results` as pretty JSON with sorted keys; non-finite numbers as strings.
    static func json(_ results: BenchResults) throws(BenchReportError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                      negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(results), as: UTF8.self) + "\n"
        } catch {
            throw .cannotEncode("\(error)")
        }
    }
}

/// Measurements as CSV (RFC 4180 quoting, `\n` line ends): one row per
/// measurement in run order; the fixed columns (`variant` is
/// ``BenchParameters/label``, `mirrorProtocol` `-` where none applies), then one `extra:NAME` column
/// per extra found in any measurement (in ``BenchExtra`` order: by name), empty where absent.
enum MeasurementCSV {
    /// The fixed columns, in order.
    static let fixedColumns = ["workload", "variant", "strategy", "mirrorProtocol", "threads", "metric", "value",
                               "oversubscribed"]

    /// The CSV text, header first.
    static func encode(_ measurements: [BenchMeasurement]) -> String {
        let extras = Set(measurements.flatMap(\.extra.keys)).sorted()
        var lines = [(fixedColumns + extras.map { "extra:\($0.rawValue)" }).map(field).joined(separator: ",")]
        for m in measurements {
            let fixed = [m.workload.rawValue, m.parameters.label, m.strategy.name, m.mirrorProtocol.label, String(m.threads),
                         m.metric.rawValue,
                         number(m.value), String(m.oversubscribed)]
            let extraFields = extras.map { m.extra[$0].map(number) ?? "" }
            lines.append((fixed + extraFields).map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` quoted when it holds a comma, a quote, a line break or edge spaces.
    static func field(_ text: String) -> String {
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0.isNewline }
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// A number in its shortest exact form; integers without `.0`.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Generates the report's `README.md` (committed as `results/README.md`):
/// how the run was made, the environment, the targets, the charts, the tables.
struct ReadmeWriter {
    let environment: BenchEnvironment
    let measurementCount: Int
    let targets: [BenchTarget]
    let tables: String
    let plots: PlotOutcome
    /// Explanations of missed targets (`notes/*.md` of the report directory).
    var notes = MissNotes(notes: [:])

    /// The whole document.
    func render() -> String {
        [header(), invocation(), environmentSection(), targetsSection(), missedSection(), plotsSection(),
         tablesSection()]
            .map { section in
                // Each section ends with exactly one newline; one blank line separates sections.
                var text = Substring(section)
                while text.last == "\n" { text.removeLast() }
                return text + "\n"
            }
            .joined(separator: "\n")
    }

    private func header() -> String {
        """
        # notifier-bench results

        Comparison of the registry locking strategies of the interval-notifier engine \
        (`rcu`, `rcu-qsbr`, `rcu-bp`, `rcu-mb`, `kernel`, `rwlock`, `mutex`, and the `unsynchronized` and \
        `read-section-only` baselines), \
        generated by `notifier-bench` on \(environment.date): \(measurementCount) measurements. \
        Every ratio below compares figures of this one run. Raw data: [`bench.json`](bench.json) \
        (environment, measurements, targets) and [`bench.csv`](bench.csv) (one row per measurement).

        """
    }

    private func invocation() -> String {
        var text = "## How these were produced\n\n"
        if environment.commandLine.isEmpty {
            text += "The command line was not recorded.\n"
        } else {
            text += "```sh\n\(ShellQuoting.commandLine(environment.commandLine))\n```\n"
        }
        if !environment.flags.isEmpty {
            let flags = environment.flags.sorted { $0.key < $1.key }
                .map { Markdown.code("\($0.key)=\($0.value)") }.joined(separator: ", ")
            text += "\nOptions in effect: \(flags).\n"
        }
        if environment.buildConfiguration != "release" {
            text += "\n> **Not a release build** (`\(environment.buildConfiguration)`): these figures do not represent the library; "
                + "rerun with `-c release`.\n"
        }
        return text
    }

    private func environmentSection() -> String {
        let rows = [
            ["CPU", environment.cpuModel],
            ["online cores", String(environment.onlineCores)],
            ["NUMA nodes", String(environment.numaNodes)],
            ["kernel", environment.kernel],
            ["Swift", environment.swiftVersion],
            ["liburcu", environment.liburcuVersion],
            ["commit", Markdown.code(environment.gitCommit)],
            ["build", environment.buildConfiguration],
            ["host", environment.hostname],
            ["date (UTC)", environment.date],
        ] + (environment.treeNodeScan.map { [["tree node scan", $0]] } ?? [])
        return "## Environment\n\n" + Markdown.table(header: ["", ""], alignments: [.left, .left], rows: rows)
    }

    private func targetsSection() -> String {
        let rows = targets.map { target in
            [Markdown.code(target.name), target.goal,
             target.measuredText,
             Self.status(target.status), target.detail]
        }
        return "## Targets\n\n"
            + "Goals of the project, evaluated on this run (ratios between strategies of the same run).\n\n"
            + Markdown.table(header: ["target", "goal", "measured", "status", "figures"],
                             alignments: [.left, .left, .right, .left, .left], rows: rows)
    }

    private func missedSection() -> String {
        var text = "### Where a target is missed\n\n"
        let missed = targets.filter { $0.status == .miss }
        if missed.isEmpty {
            text += "No target is missed in this run.\n"
        } else {
            for target in missed {
                let measured = target.measuredText
                text += "- \(Markdown.code(target.name)): measured \(measured), goal \(target.goal).\n"
                if let note = notes.note(for: target.name) {
                    // Indented under the bullet, so the note's own paragraphs and lists nest.
                    text += "\n" + note.split(separator: "\n", omittingEmptySubsequences: false)
                        .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n") + "\n\n"
                } else {
                    text += "  _No explanation written yet (`notes/\(MissNotes.baseName(target.name)).md`)._\n"
                }
            }
        }
        let absent = targets.filter { $0.status == .notMeasured }
        if !absent.isEmpty {
            text += "\nNot measured in this run (not failures): "
                + absent.map { Markdown.code($0.name) }.joined(separator: ", ") + ".\n"
        }
        return text
    }

    private func plotsSection() -> String {
        var text = "## Plots\n\n"
        if let skipped = plots.skipped {
            text += "Not rendered: \(skipped). The gnuplot scripts and data are in [`plots/`](plots/).\n\n"
        } else if plots.images.isEmpty && plots.failures.isEmpty {
            text += "No series of this run has more than one thread count or tree size.\n\n"
        }
        for (kind, heading) in [(PlotSpec.Kind.throughput, "Throughput vs threads"),
                                (.lookupCost, "Lookup and tree cost vs tree size")] {
            let images = plots.images.filter { $0.spec.kind == kind }
            guard !images.isEmpty else { continue }
            text += "### \(heading)\n\n"
            for image in images {
                text += "![\(image.spec.title.replacing("]", with: ")"))](\(image.relativePath))\n\n"
            }
        }
        if !plots.failures.isEmpty {
            text += "Charts gnuplot failed to render:\n\n"
                + plots.failures.map { "- \(Markdown.cell($0))\n" }.joined()
        }
        return text
    }

    private func tablesSection() -> String {
        """
        ## Tables

        Each cell is the figure in human units (`M/s`: million operations per second, all \
        threads together; `ns`: nanoseconds per operation on one thread; `KiB`: kibibytes). \
        Outside the `rcu` column, `(xR)` is the ratio of the cell to the `rcu` cell of the \
        same row: above x1 means more than `rcu` (better for throughput, worse for costs). \
        `—`: not measured. A figure measured twice shows the later measurement.

        \(tables.isEmpty ? "No measurements.\n" : tables)
        """
    }

    /// Status as shown in the targets table.
    static func status(_ status: BenchTarget.Status) -> String {
        switch status {
        case .pass: "pass"
        case .miss: "**miss**"
        case .notMeasured: "not measured"
        }
    }
}

/// Why the report could not be written.
public enum BenchReportError: Error, CustomStringConvertible {
    /// A file or directory could not be created or written; path and reason.
    case cannotWrite(String, String)
    /// The results could not be encoded as JSON; the reason.
    case cannotEncode(String)

    /// A message naming the path and the cause.
    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .cannotEncode(let reason): "cannot encode the results as JSON: \(reason)"
        }
    }
}
