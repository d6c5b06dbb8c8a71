/// The figures of one (workload, metric) arranged for comparison: one row per
/// (variant, mirror protocol, threads), one column per strategy, each cell
/// compared with the `rcu` cell of its row.
struct ComparisonTable {
    /// A row's identity.
    struct Row: Hashable {
        var variant: String
        var mirrorProtocol: String
        var threads: Int
    }

    /// The reference column of the ratios.
    static let reference = "rcu"

    /// Workload of every figure of the table.
    let workload: String
    /// Metric of every figure of the table.
    let metric: String
    /// Strategy columns, in `ReportOrder.strategies` order.
    let strategies: [String]
    /// Rows: variants in natural order, then protocol, then thread count.
    let rows: [Row]
    /// Values by row and strategy.
    let cells: [Row: [String: Double]]
    /// Strategies by row whose figure is oversubscribed (more threads than CPUs).
    var oversubscribed: [Row: Set<String>] = [:]

    /// Whether the figure of `strategy` in `row` is oversubscribed.
    func isOversubscribed(_ row: Row, _ strategy: String) -> Bool { oversubscribed[row]?.contains(strategy) ?? false }

    /// Whether any figure of the table is oversubscribed.
    var hasOversubscribed: Bool { oversubscribed.values.contains { !$0.isEmpty } }

    /// The value of `strategy` in `row`, if measured.
    func value(_ row: Row, _ strategy: String) -> Double? { cells[row]?[strategy] }

    /// The value of `strategy` divided by the `rcu` value of the same row; nil
    /// for the `rcu` column itself, when either is missing, or when the `rcu`
    /// value is zero or not finite.
    func ratio(_ row: Row, _ strategy: String) -> Double? {
        guard strategy != Self.reference, let figure = value(row, strategy),
              let reference = value(row, Self.reference), reference != 0, reference.isFinite, figure.isFinite
        else { return nil }
        return figure / reference
    }

    /// One table per (workload, metric) present, workloads and metrics in
    /// `ReportOrder`; a repeated measurement replaces the earlier one.
    static func build(_ measurements: [BenchMeasurement]) -> [ComparisonTable] {
        let index = MeasurementIndex(measurements)
        let workloads = ReportOrder.sorted(index.values.keys.map(\.workload), by: ReportOrder.workloads)
        return workloads.flatMap { workload in
            let metrics = ReportOrder.sorted(index.values.keys.filter { $0.workload == workload }.map(\.metric),
                                             by: ReportOrder.metrics)
            return metrics.map { metric in
                let keys = index.keys(workload: workload, metric: metric)
                var cells: [Row: [String: Double]] = [:]
                var oversubscribed: [Row: Set<String>] = [:]
                for key in keys {
                    let row = Row(variant: key.variant, mirrorProtocol: key.mirrorProtocol, threads: key.threads)
                    cells[row, default: [:]][key.strategy] = index[key]
                    if index.isOversubscribed(key) { oversubscribed[row, default: []].insert(key.strategy) }
                }
                let rows = cells.keys.sorted { a, b in
                    if a.variant != b.variant { return NaturalOrder.less(a.variant, b.variant) }
                    if a.mirrorProtocol != b.mirrorProtocol { return NaturalOrder.less(a.mirrorProtocol, b.mirrorProtocol) }
                    return a.threads < b.threads
                }
                return ComparisonTable(workload: workload, metric: metric,
                                       strategies: ReportOrder.sorted(keys.map(\.strategy), by: ReportOrder.strategies),
                                       rows: rows, cells: cells, oversubscribed: oversubscribed)
            }
        }
    }
}
