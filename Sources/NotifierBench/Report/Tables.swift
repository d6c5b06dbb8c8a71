// The comparison tables: measurements indexed by key, one table per (workload,
// metric) with ratios to rcu, rendered as Markdown in human units.

import Foundation
import NotifierStress

/// The figures of one (workload, metric) arranged for comparison: one row per
/// (parameters, mirror protocol, threads), one column per side, each cell
/// compared with the `rcu` cell of its row.
struct ComparisonTable {
    /// A row's identity.
    struct Row: Hashable, Comparable {
        var parameters: BenchParameters
        var mirrorProtocol: MirrorProtocol?
        var threads: Int

        /// Parameters, then protocol, then thread count.
        static func < (a: Row, b: Row) -> Bool {
            if a.parameters != b.parameters { return a.parameters < b.parameters }
            if a.mirrorProtocol != b.mirrorProtocol { return protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol) }
            return a.threads < b.threads
        }
    }

    /// The reference column of the ratios.
    static let reference = BenchSide.reference

    /// Workload of every figure of the table.
    let workload: BenchWorkload
    /// Metric of every figure of the table.
    let metric: BenchMetric
    /// Side columns, in report order.
    let strategies: [BenchSide]
    /// Rows, in ``Row`` order.
    let rows: [Row]
    /// Values by row and side.
    let cells: [Row: [BenchSide: Double]]
    /// Sides by row whose figure is oversubscribed (more threads than CPUs).
    var oversubscribed: [Row: Set<BenchSide>] = [:]

    /// Whether the figure of `strategy` in `row` is oversubscribed.
    func isOversubscribed(_ row: Row, _ strategy: BenchSide) -> Bool { oversubscribed[row]?.contains(strategy) ?? false }

    /// Whether any figure of the table is oversubscribed.
    var hasOversubscribed: Bool { oversubscribed.values.contains { !$0.isEmpty } }

    /// The value of `strategy` in `row`, if measured.
    func value(_ row: Row, _ strategy: BenchSide) -> Double? { cells[row]?[strategy] }

    /// The value of `strategy` divided by the `rcu` value of the same row; nil
    /// for the `rcu` column itself, when either is missing, or when the `rcu`
    /// value is zero or not finite.
    func ratio(_ row: Row, _ strategy: BenchSide) -> Double? {
        guard strategy != Self.reference, let figure = value(row, strategy),
              let reference = value(row, Self.reference), reference != 0, reference.isFinite, figure.isFinite
        else { return nil }
        return figure / reference
    }

    /// One table per (workload, metric) present, workloads and metrics in
    /// report order; a repeated measurement replaces the earlier one.
    static func build(_ measurements: [BenchMeasurement]) -> [ComparisonTable] {
        let index = MeasurementIndex(measurements)
        let workloads = Set(index.values.keys.map(\.workload)).sorted()
        return workloads.flatMap { workload in
            let metrics = Set(index.values.keys.filter { $0.workload == workload }.map(\.metric)).sorted()
            return metrics.map { metric in
                let keys = index.keys(workload: workload, metric: metric)
                var cells: [Row: [BenchSide: Double]] = [:]
                var oversubscribed: [Row: Set<BenchSide>] = [:]
                for key in keys {
                    let row = Row(parameters: key.parameters, mirrorProtocol: key.mirrorProtocol, threads: key.threads)
                    cells[row, default: [:]][key.strategy] = index[key]
                    if index.isOversubscribed(key) { oversubscribed[row, default: []].insert(key.strategy) }
                }
                return ComparisonTable(workload: workload, metric: metric,
                                       strategies: Set(keys.map(\.strategy)).sorted(),
                                       rows: cells.keys.sorted(), cells: cells, oversubscribed: oversubscribed)
            }
        }
    }
}

/// Writes comparison tables as Markdown: a heading per table, then the rows;
/// each cell shows the value in human units and, outside the `rcu` column,
/// its ratio to the `rcu` value of the row. An oversubscribed figure (more
/// threads than CPUs) carries ``BenchMeasurement/oversubscribedMark`` after it,
/// explained by ``legend`` under the table.
enum ComparisonTableRenderer {
    /// Marks a strategy not measured in a row.
    static let missing = "—"
    /// The line under a table that has oversubscribed figures.
    static let legend = "\\\(BenchMeasurement.oversubscribedMark) oversubscribed: more threads than the CPUs the run may use "
        + "(the threads share CPUs; no target reads this figure).\n"

    /// All `tables`, separated by blank lines.
    static func render(_ tables: [ComparisonTable]) -> String {
        tables.map(render).joined(separator: "\n")
    }

    /// One table with its `### workload — metric` heading. The protocol column
    /// is left out when no row has one.
    static func render(_ table: ComparisonTable) -> String {
        let showProtocol = table.rows.contains { $0.mirrorProtocol != nil }
        var header = ["variant"]
        var alignments: [Markdown.Alignment] = [.left]
        if showProtocol {
            header.append("protocol")
            alignments.append(.left)
        }
        header += ["threads"] + table.strategies.map(\.name)
        alignments += Array(repeating: .right, count: 1 + table.strategies.count)
        let rows = table.rows.map { row in
            var cells = [row.parameters.count == 0 ? "-" : row.parameters.label]
            if showProtocol { cells.append(row.mirrorProtocol.label) }
            cells.append(String(row.threads))
            for strategy in table.strategies { cells.append(cell(table, row, strategy)) }
            return cells
        }
        return "### \(table.workload.rawValue) — \(table.metric.rawValue)\n\n"
            + Markdown.table(header: header, alignments: alignments, rows: rows)
            + (table.hasOversubscribed ? "\n" + legend : "")
    }

    /// `1.20 M/s (x0.36)`, `3.33 M/s` in the `rcu` column, `6.10 G/s*` when
    /// oversubscribed, or `—`.
    static func cell(_ table: ComparisonTable, _ row: ComparisonTable.Row, _ strategy: BenchSide) -> String {
        guard let value = table.value(row, strategy) else { return missing }
        let text = UnitFormat.value(value, metric: table.metric)
            + (table.isOversubscribed(row, strategy) ? BenchMeasurement.oversubscribedMark : "")
        guard let ratio = table.ratio(row, strategy) else { return text }
        return "\(text) (\(UnitFormat.ratio(ratio)))"
    }
}

/// The identity of one measured figure: everything but its value.
struct MeasurementKey: Hashable {
    var workload: BenchWorkload
    var parameters: BenchParameters
    var mirrorProtocol: MirrorProtocol?
    var strategy: BenchSide
    var threads: Int
    var metric: BenchMetric

    init(_ measurement: BenchMeasurement) {
        self.init(workload: measurement.workload, parameters: measurement.parameters,
                  mirrorProtocol: measurement.mirrorProtocol, strategy: measurement.strategy,
                  threads: measurement.threads, metric: measurement.metric)
    }

    init(workload: BenchWorkload, parameters: BenchParameters, mirrorProtocol: MirrorProtocol?, strategy: BenchSide,
         threads: Int, metric: BenchMetric) {
        self.workload = workload
        self.parameters = parameters
        self.mirrorProtocol = mirrorProtocol
        self.strategy = strategy
        self.threads = threads
        self.metric = metric
    }
}

/// The measurements of a run by key. When a key was measured more than once,
/// the last measurement wins (a rerun replaces an earlier figure).
struct MeasurementIndex {
    /// Values by key.
    private(set) var values: [MeasurementKey: Double] = [:]
    /// Keys whose (last) measurement is ``BenchMeasurement/oversubscribed``.
    private(set) var oversubscribed: Set<MeasurementKey> = []

    /// Indexes `measurements`.
    init(_ measurements: [BenchMeasurement]) {
        for measurement in measurements {
            let key = MeasurementKey(measurement)
            values[key] = measurement.value
            if measurement.oversubscribed { oversubscribed.insert(key) } else { oversubscribed.remove(key) }
        }
    }

    /// Whether the figure of `key` was measured with more threads than CPUs.
    func isOversubscribed(_ key: MeasurementKey) -> Bool { oversubscribed.contains(key) }

    /// The value of `key`, if measured.
    subscript(key: MeasurementKey) -> Double? { values[key] }

    /// Keys of `workload` and `metric` (unordered).
    func keys(workload: BenchWorkload, metric: BenchMetric) -> [MeasurementKey] {
        values.keys.filter { $0.workload == workload && $0.metric == metric }
    }
}

/// Human-readable numbers for tables and README: throughputs in K/M/G per
/// second, times in ns/us/ms, sizes in B/KiB/MiB/GiB, ratios as `x0.12`.
enum UnitFormat {
    /// `value` of `metric` with its unit.
    static func value(_ value: Double, metric: BenchMetric) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        switch metric {
        case .opsPerSecond:
            return scaled(value, steps: [(1e9, "G/s"), (1e6, "M/s"), (1e3, "K/s"), (1, "/s")])
        case .bytes, .bytesPerSubscription, .bytesPerInterval:
            return scaled(value, steps: [(1_073_741_824, "GiB"), (1_048_576, "MiB"), (1024, "KiB"), (1, "B")])
        case .nanosecondsPerOperation, .cpuNanosecondsPerOperation:
            return scaled(value, steps: [(1e6, "ms"), (1e3, "us"), (1, "ns")])
        }
    }

    /// A ratio as `x0.12`, `x3.40`, `x12.5`, `x140`.
    static func ratio(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "x\(ratio)" }
        let magnitude = abs(ratio)
        if magnitude >= 100 { return String(format: "x%.0f", ratio) }
        if magnitude >= 10 { return String(format: "x%.1f", ratio) }
        if magnitude >= 0.1 || magnitude == 0 { return String(format: "x%.2f", ratio) }
        return String(format: "x%.2g", ratio)
    }

    /// A value in `unit` as the report writes target values: ratios with
    /// `ratio(_:)`, known metrics with `value(_:metric:)`.
    static func measured(_ value: Double, unit: String) -> String {
        switch unit {
        case "x": ratio(value)
        case "ns": self.value(value, metric: .nanosecondsPerOperation)
        case "ops/s": self.value(value, metric: .opsPerSecond)
        default: "\(significant(value)) \(unit)"
        }
    }

    /// Three significant digits without exponent for ordinary magnitudes.
    static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100 || magnitude == 0 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        if magnitude >= 0.01 { return String(format: "%.2f", value) }
        return String(format: "%.2g", value)
    }

    /// `value` divided by the largest step it reaches (the last step otherwise).
    private static func scaled(_ value: Double, steps: [(Double, String)]) -> String {
        let step = steps.first { abs(value) >= $0.0 } ?? steps[steps.count - 1]
        return "\(significant(value / step.0)) \(step.1)"
    }
}

/// Small helpers for the Markdown the report writes.
enum Markdown {
    /// Column alignment of a table.
    enum Alignment {
        case left, right
    }

    /// `text` made safe inside a table cell (pipes escaped, newlines as spaces).
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
            .split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// `text` as inline code (backticks inside are avoided by a longer fence).
    static func code(_ text: String) -> String {
        let fence = text.contains("`") ? "``" : "`"
        let padding = text.hasPrefix("`") || text.hasSuffix("`") ? " " : ""
        return "\(fence)\(padding)\(text)\(padding)\(fence)"
    }

    /// A table; cells are escaped here.
    static func table(header: [String], alignments: [Alignment], rows: [[String]]) -> String {
        var lines = ["| " + header.map(cell).joined(separator: " | ") + " |"]
        lines.append("|" + alignments.map { $0 == .right ? "---:|" : "---|" }.joined())
        for row in rows { lines.append("| " + row.map(cell).joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n") + "\n"
    }
}
