import NotifierStress

/// Decides which charts a run deserves:
/// (a) for each (workload, parameters, protocol) with `ops/s` figures at more than
/// one thread count: throughput against threads, a line per strategy;
/// (b) `lookup` `ns/op` against tree size (log x) at 1 thread and at the
/// highest thread count, per writer setting (and any other parameters);
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
        var groups: [BenchParameters: [MeasurementKey]] = [:]
        for key in index.keys(workload: .tree, metric: .nanosecondsPerOperation) where key.threads == 1 {
            guard key.parameters.size != nil else { continue }
            groups[key.parameters.withoutSize, default: []].append(key)
        }
        return groups.keys.sorted().compactMap { rest -> PlotSpec? in
            let keys = groups[rest] ?? []
            guard Set(keys.map(\.parameters)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double($0.parameters.size ?? 0) }
            let operation = rest.treeOperation?.rawValue ?? rest.label
            return PlotSpec(kind: .lookupCost, baseName: PlotSpec.baseName([BenchWorkload.tree.rawValue, rest.label, "threads=1"]),
                            title: "tree: \(operation) cost vs N, engine's tree (rcu) and C red-black tree "
                                + "(workload L, 1 thread, median of paired repetitions)",
                            xLabel: "intervals in the tree (N)", yLabel: "ns per operation", logX: true, lines: lines)
        }
    }

    /// Family (a).
    static func throughput(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable, Comparable {
            var workload: BenchWorkload
            var parameters: BenchParameters
            var mirrorProtocol: MirrorProtocol?

            static func < (a: Group, b: Group) -> Bool {
                if a.workload != b.workload { return a.workload < b.workload }
                if a.parameters != b.parameters { return a.parameters < b.parameters }
                return protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol)
            }
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.values.keys where key.metric == .opsPerSecond {
            groups[Group(workload: key.workload, parameters: key.parameters, mirrorProtocol: key.mirrorProtocol),
                   default: []].append(key)
        }
        return groups.keys.sorted().compactMap { group in
            let keys = groups[group] ?? []
            guard Set(keys.map(\.threads)).count > 1 else { return nil }
            let lines = lines(keys, index) { Double($0.threads) }
            let context = [group.parameters.label, group.mirrorProtocol.label].filter { !$0.isEmpty && $0 != "-" }
                .joined(separator: ", ")
            let workload = group.workload.rawValue
            return PlotSpec(kind: .throughput,
                            baseName: PlotSpec.baseName([workload, group.parameters.label, group.mirrorProtocol.label]),
                            title: (context.isEmpty ? "\(workload): throughput"
                                : "\(workload): throughput (\(context))") + oversubscribedNote(keys, index),
                            xLabel: "threads", yLabel: "operations/s (all threads)", logX: false, lines: lines)
        }
    }

    /// Family (b).
    static func lookupCost(_ index: MeasurementIndex) -> [PlotSpec] {
        struct Group: Hashable, Comparable {
            var rest: BenchParameters
            var mirrorProtocol: MirrorProtocol?

            static func < (a: Group, b: Group) -> Bool {
                a.rest != b.rest ? a.rest < b.rest : protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol)
            }
        }
        var groups: [Group: [MeasurementKey]] = [:]
        for key in index.keys(workload: .lookup, metric: .nanosecondsPerOperation) {
            guard key.parameters.size != nil else { continue }
            groups[Group(rest: key.parameters.withoutSize, mirrorProtocol: key.mirrorProtocol), default: []].append(key)
        }
        return groups.keys.sorted().flatMap { group -> [PlotSpec] in
            let keys = groups[group] ?? []
            let maxThreads = keys.map(\.threads).max() ?? 1
            return Set([1, maxThreads]).sorted().compactMap { threads -> PlotSpec? in
                let chosen = keys.filter { $0.threads == threads }
                guard Set(chosen.map(\.parameters)).count > 1 else { return nil }
                let lines = lines(chosen, index) { Double($0.parameters.size ?? 0) }
                let context = ([group.rest.label, group.mirrorProtocol.label].filter { !$0.isEmpty && $0 != "-" }
                    + ["\(threads) thread\(threads == 1 ? "" : "s")"]).joined(separator: ", ")
                return PlotSpec(kind: .lookupCost,
                                baseName: PlotSpec.baseName([BenchWorkload.lookup.rawValue, group.rest.label,
                                                             group.mirrorProtocol.label, "threads=\(threads)"]),
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
        Set(keys.map(\.strategy)).sorted().map { strategy in
            let points = keys.filter { $0.strategy == strategy }
                .compactMap { key in index[key].map { PlotSpec.Point(x: x(key), y: $0) } }
                .filter { $0.y.isFinite }
                .sorted { $0.x < $1.x }
            return PlotSpec.Line(side: strategy, points: points)
        }.filter { !$0.points.isEmpty }
    }
}
