/// Decides which charts a run deserves:
/// (a) for each (workload, variant, protocol) with `ops/s` figures at more than
/// one thread count: throughput against threads, a line per strategy;
/// (b) `lookup` `ns/op` against tree size (log x) at 1 thread and at the
/// highest thread count, per writer setting (and any other variant tokens);
/// (c) `tree` `ns/op` against N (log x), one chart per operation, a line
/// for the engine's tree and one for the C red-black tree.
enum PlotPlanner {
    /// All charts, throughput first, each family in table order.
    static func plan(_ measurements: [BenchMeasurement]) -> [PlotSpec] {
        let index = MeasurementIndex(measurements)
        return throughput(index) + lookupCost(index) + treeCost(index)
    }

    /// Family (c).
    static func treeCost(_ index: MeasurementIndex) -> [PlotSpec] {
        var groups: [String: [MeasurementKey]] = [:]
        for key in index.keys(workload: TreeWorkload.name, metric: "ns/op") where key.threads == 1 {
            let label = VariantLabel(key.variant)
            guard let size = label.value("size"), Double(size) != nil else { continue }
            groups[label.removing("size"), default: []].append(key)
        }
        return groups.keys.sorted(by: NaturalOrder.less).compactMap { rest -> PlotSpec? in
            let keys = groups[rest] ?? []
            guard Set(keys.map(\.variant)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double(VariantLabel($0.variant).value("size") ?? "") ?? 0 }
            let operation = VariantLabel(rest).value("op") ?? rest
            return PlotSpec(kind: .lookupCost, baseName: PlotSpec.baseName([TreeWorkload.name, rest, "threads=1"]),
                            title: "tree: \(operation) cost vs N, engine's tree (rcu) and C red-black tree "
                                + "(workload L, 1 thread, median of paired repetitions)",
                            xLabel: "intervals in the tree (N)", yLabel: "ns per operation", logX: true, lines: lines)
        }
    }

    /// Family (a).
    static func throughput(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable {
            var workload: String
            var variant: String
            var mirrorProtocol: String
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.values.keys where key.metric == "ops/s" {
            groups[Group(workload: key.workload, variant: key.variant, mirrorProtocol: key.mirrorProtocol),
                   default: []].append(key)
        }
        let workloadOrder = ReportOrder.sorted(groups.keys.map(\.workload), by: ReportOrder.workloads)
        let ordered = groups.keys.sorted { a, b in
            if a.workload != b.workload {
                return (workloadOrder.firstIndex(of: a.workload) ?? 0) < (workloadOrder.firstIndex(of: b.workload) ?? 0)
            }
            if a.variant != b.variant { return NaturalOrder.less(a.variant, b.variant) }
            return NaturalOrder.less(a.mirrorProtocol, b.mirrorProtocol)
        }
        return ordered.compactMap { group in
            let keys = groups[group] ?? []
            guard Set(keys.map(\.threads)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double($0.threads) }
            let context = [group.variant, group.mirrorProtocol].filter { !$0.isEmpty && $0 != "-" }
                .joined(separator: ", ")
            return PlotSpec(kind: .throughput,
                            baseName: PlotSpec.baseName([group.workload, group.variant, group.mirrorProtocol]),
                            title: (context.isEmpty ? "\(group.workload): throughput"
                                : "\(group.workload): throughput (\(context))") + oversubscribedNote(keys, index),
                            xLabel: "threads", yLabel: "operations/s (all threads)", logX: false, lines: lines)
        }
    }

    /// Family (b).
    static func lookupCost(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable {
            var rest: String
            var mirrorProtocol: String
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.keys(workload: "lookup", metric: "ns/op") {
            let label = VariantLabel(key.variant)
            guard let size = label.value("size"), Double(size) != nil else { continue }
            groups[Group(rest: label.removing("size"), mirrorProtocol: key.mirrorProtocol), default: []].append(key)
        }
        let ordered = groups.keys.sorted { a, b in
            a.rest != b.rest ? NaturalOrder.less(a.rest, b.rest) : NaturalOrder.less(a.mirrorProtocol, b.mirrorProtocol)
        }
        return ordered.flatMap { group -> [PlotSpec] in
            let keys = groups[group] ?? []
            let maxThreads = keys.map(\.threads).max() ?? 1
            return Set([1, maxThreads]).sorted().compactMap { threads -> PlotSpec? in
                let chosen = keys.filter { $0.threads == threads }
                guard Set(chosen.map(\.variant)).count > 1 else { return nil }
                let lines = lines(chosen, index) { Double(VariantLabel($0.variant).value("size") ?? "") ?? 0 }
                let context = ([group.rest, group.mirrorProtocol].filter { !$0.isEmpty && $0 != "-" }
                    + ["\(threads) thread\(threads == 1 ? "" : "s")"]).joined(separator: ", ")
                return PlotSpec(kind: .lookupCost,
                                baseName: PlotSpec.baseName(["lookup", group.rest, group.mirrorProtocol,
                                                             "threads=\(threads)"]),
                                title: "lookup: cost vs tree size (\(context))",
                                xLabel: "subscriptions in the tree", yLabel: "ns per lookup", logX: true, lines: lines)
            }
        }
    }

    /// `, oversubscribed at threads 3, 4` when some of `keys` ran more threads
    /// than CPUs (their points measure time sharing), else nothing.
    static func oversubscribedNote(_ keys: [MeasurementKey], _ index: MeasurementIndex) -> String {
        let threads = Set(keys.filter(index.isOversubscribed).map(\.threads)).sorted()
        guard !threads.isEmpty else { return "" }
        return ", oversubscribed at threads \(threads.map(String.init).joined(separator: ", "))"
    }

    /// One line per strategy of `keys`, x chosen by `x`, points ascending.
    private static func lines(_ keys: [MeasurementKey], _ index: MeasurementIndex,
                              x: (MeasurementKey) -> Double) -> [PlotSpec.Line] {
        ReportOrder.sorted(keys.map(\.strategy), by: ReportOrder.strategies).map { strategy in
            let points = keys.filter { $0.strategy == strategy }
                .compactMap { key in index[key].map { PlotSpec.Point(x: x(key), y: $0) } }
                .filter { $0.y.isFinite }
                .sorted { $0.x < $1.x }
            return PlotSpec.Line(title: strategy, points: points)
        }.filter { !$0.points.isEmpty }
    }
}
