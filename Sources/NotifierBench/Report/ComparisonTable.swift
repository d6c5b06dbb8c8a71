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
