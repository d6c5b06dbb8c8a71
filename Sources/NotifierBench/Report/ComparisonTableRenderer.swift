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
