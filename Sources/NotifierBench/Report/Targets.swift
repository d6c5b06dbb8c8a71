// The project's performance targets: their results, their evaluation on a
// run's measurements and paired repetitions, and the notes that explain misses.

import Foundation
import IntervalNotifier
import NotifierStress

/// Evaluates the project's performance targets on one run's measurements.
/// Every figure comes from the same run; a target whose figures are
/// absent (or zero, or not finite) is `notMeasured`, never a miss. Only points
/// with threads at most `cores` and not marked
/// ``BenchMeasurement/oversubscribed`` count; a target whose only points are
/// oversubscribed is not measured "at a point with threads <= cores".
///
/// Ratio targets (strategy against strategy, rcu against `unsynchronized`,
/// N threads against 1) pick their point from the sweep's figures, but take
/// their value only from paired, interleaved repetitions at that point
/// (``PairedRatio``): the median of the per-pair ratios. Without them the
/// target is not measured (no paired repetitions). The `tree` workload takes
/// its pairs itself, during its run (``TreeWorkload``); ``PairedRunner`` takes
/// the others after the sweep.
struct TargetEvaluator {
    /// The run's figures.
    let index: MeasurementIndex
    /// Online cores of the machine the run was made on.
    let cores: Int
    /// Paired repetitions of the run's ratio targets.
    var pairs: [PairedRatio] = []
    /// Pair requests of the ratio targets evaluated so far (see ``pairRequests()``).
    private var requests: [PairRequest] = []

    /// Creates an evaluator of `index` on a machine of `cores` cores, with the
    /// run's paired repetitions.
    init(index: MeasurementIndex, cores: Int, pairs: [PairedRatio] = []) {
        self.index = index
        self.cores = cores
        self.pairs = pairs
    }

    /// Machines with at least this many cores get the many-core fault-path targets.
    static let manyCores = 16

    /// All targets, in a fixed order.
    func evaluate() -> [BenchTarget] {
        var copy = self
        return copy.all()
    }

    /// The paired repetitions the ratio targets need: one request per ratio
    /// target whose point the sweep measured (threads <= cores, not oversubscribed).
    func pairRequests() -> [PairRequest] {
        var copy = self
        _ = copy.all()
        return copy.requests
    }

    private mutating func all() -> [BenchTarget] {
        requests = []
        return [readPrimitiveCost(), readPrimitiveScaling()] + lookupOverhead() + faultPath() + [insertRemoveRate()]
            + treeVersusC() + [treeUpdateRate()]
            + cacheTargets()
    }

    // MARK: - The targets

    /// `read-primitive`, rcu, 1 thread: 1e9 / ops/s ≤ 2 ns per read section.
    func readPrimitiveCost() -> BenchTarget {
        absolute(name: "read-primitive-cost", goal: "rcu readBegin + readRetry pair ≤ 2 ns (1 thread)",
                 query: Query(workload: .readPrimitive, metric: .opsPerSecond), strategy: .reference,
                 unit: "ns", threshold: 2, comparison: .atMost) { 1e9 / $0 }
    }

    /// `read-primitive`, rcu: ops/s(N) ≥ 0.9 × N × ops/s(1) at the highest N ≤ cores.
    mutating func readPrimitiveScaling() -> BenchTarget {
        let name = "read-primitive-scaling"
        let goal = "rcu ops/s(N) ≥ 0.9 × N × ops/s(1), N = highest thread count ≤ \(cores) cores"
        guard cores > 1 else {
            return notMeasured(name, goal, 0.9, .atLeast, "x", "the machine has 1 online core: nothing to scale to")
        }
        let cores = self.cores
        let query = Query(workload: .readPrimitive, metric: .opsPerSecond)
        var target = scaling(name: name, goal: goal, query: query, strategy: .reference, factor: 0.9) { counts in
            counts.filter { $0 > 1 && $0 <= cores }.max()
        }
        if let ceiling = machineCeiling(of: name, query: query) { target.detail += "; " + ceiling }
        return target
    }

    /// The machine's own scaling at the point of the scaling target `name`
    /// (the last pair request made): the load loop (``BenchSide/loadLoop``)
    /// at the same thread counts, in paired repetitions of its own. A target
    /// can reach at most this; nil when the run has no such figures.
    private mutating func machineCeiling(of name: String, query: Query) -> String? {
        guard let request = requests.last, request.target == name, request.numerator.threads > 1 else { return nil }
        let threads = request.numerator.threads
        for series in series(query) where series.parameters == request.parameters {
            guard value(query, series, .loadLoop, threads: 1) != nil,
                  value(query, series, .loadLoop, threads: threads) != nil else { continue }
            let ceiling = PairRequest(target: "\(name) (machine ceiling)", workload: query.workload,
                                      parameters: series.parameters, metric: query.metric,
                                      numerator: PairedSide(strategy: .loadLoop, threads: threads),
                                      denominator: PairedSide(strategy: .loadLoop, threads: 1), scale: Double(threads))
            requests.append(ceiling)
            guard let stats = pairs.first(where: { $0.request == ceiling })?.statistics else { return nil }
            return "the machine itself, load-loop at \(threads) threads / (\(threads) × at 1 thread), paired: "
                + stats.summary(point: ceiling.pointDescription)
        }
        return nil
    }

    /// `lookup`, ns/op, writer=no, 1 thread: rcu ≤ 1.1 × unsynchronized, one target per size.
    /// The goal is issue #12's ("stays ≤ 1.1x"), which tightened #5's 1.2x.
    mutating func lookupOverhead() -> [BenchTarget] {
        let sizes = Set(index.keys(workload: .lookup, metric: .nanosecondsPerOperation).compactMap { key -> Int? in
            guard key.threads == 1, key.parameters.writer == false, [.reference, .unsynchronized].contains(key.strategy)
            else { return nil }
            return key.parameters.size
        }).sorted()
        let goal = { (size: String) in "rcu ns/op ≤ 1.1 × unsynchronized (size=\(size) writer=no, 1 thread)" }
        guard !sizes.isEmpty else {
            return [notMeasured("lookup-overhead", goal("S"), 1.1, .atMost, "x",
                                "no lookup ns/op figure at 1 thread with writer=no")]
        }
        return sizes.map { size in
            let query = Query(workload: .lookup, metric: .nanosecondsPerOperation,
                              required: BenchParameters(size: size, writer: false))
            var target = ratio(name: "lookup-overhead size=\(size)", goal: goal(String(size)), query: query,
                               numerator: .reference, denominator: .unsynchronized, factor: 1.1,
                               comparison: .atMost) { counts in
                counts.contains(1) ? 1 : nil
            }
            if let floor = readSectionFloor(of: target.name, query: query) { target.detail += "; " + floor }
            return target
        }
    }

    /// The read side's own price at the point of the `lookup-overhead` target
    /// `name` (the last pair request made): the `read-section-only` walks
    /// against the `unsynchronized` ones, in paired repetitions of their own.
    /// No memb lookup costs less than this over the bare walk, whatever the
    /// engine does around its section (one run's pairs scatter around it:
    /// the `lookup-overhead` note); nil when the run has no such figures.
    private mutating func readSectionFloor(of name: String, query: Query) -> String? {
        guard let request = requests.last, request.target == name else { return nil }
        let threads = request.numerator.threads
        for series in series(query) where series.parameters == request.parameters {
            guard value(query, series, .readSectionOnly, threads: threads) != nil else { continue }
            let floor = PairRequest(target: "\(name) (read-section floor)", workload: query.workload,
                                    parameters: series.parameters, metric: query.metric,
                                    numerator: PairedSide(strategy: .readSectionOnly, threads: threads),
                                    denominator: PairedSide(strategy: .unsynchronized, threads: threads))
            requests.append(floor)
            guard let stats = pairs.first(where: { $0.request == floor })?.statistics else { return nil }
            return "the read-side section alone (liburcu's memb lock and unlock around the same walk, no engine), "
                + "read-section-only / unsynchronized, paired: " + stats.summary(point: floor.pointDescription)
        }
        return nil
    }

    /// `fault-path`, ops/s, invalidators=1, seq, highest common thread count:
    /// rcu against rwlock and mutex (fewer than 16 cores), or against rwlock
    /// at two sizes plus 16-thread scaling (16 cores or more).
    mutating func faultPath() -> [BenchTarget] {
        func query(_ size: Int) -> Query {
            Query(workload: .faultPath, metric: .opsPerSecond, required: BenchParameters(invalidators: 1, size: size),
                  mirrorProtocol: .seq)
        }
        func versus(_ other: RegistryStrategy, size: Int, factor: Double) -> BenchTarget {
            ratio(name: "fault-path-vs-\(other) size=\(size)",
                  goal: "rcu ≥ \(Self.factor(factor)) × \(other) ops/s (invalidators=1 size=\(size), seq, highest thread count)",
                  query: query(size), numerator: .reference, denominator: .registry(other), factor: factor,
                  comparison: .atLeast) { $0.max() }
        }
        guard cores >= Self.manyCores else {
            return [versus(.rwlock, size: 1000, factor: 5), versus(.mutex, size: 1000, factor: 10)]
        }
        let threads = Self.manyCores
        return [versus(.rwlock, size: 1000, factor: 30), versus(.rwlock, size: 1_000_000, factor: 4),
                scaling(name: "fault-path-scaling size=1000",
                        goal: "rcu ops/s(\(threads)) ≥ 0.8 × \(threads) × ops/s(1) (invalidators=1 size=1000, seq)",
                        query: query(1000), strategy: .reference, factor: 0.8) { $0.contains(threads) ? threads : nil }]
    }

    /// `insert-remove`, ops/s, size=100000, rcu, 1 thread: ≥ 1 000 000 pairs/s.
    func insertRemoveRate() -> BenchTarget {
        absolute(name: "insert-remove-rate", goal: "rcu ≥ 1 000 000 insert+remove pairs/s (size=100000, 1 thread)",
                 query: Query(workload: .insertRemove, metric: .opsPerSecond, required: BenchParameters(size: 100_000)),
                 strategy: .reference, unit: "ops/s", threshold: 1_000_000, comparison: .atLeast) { $0 }
    }

    /// The `tree` ratio targets (issue 12): the engine's tree (`rcu`) against
    /// the C red-black tree (`c-rbtree`), ns/op at 1 thread, paired
    /// repetitions taken by the workload itself (``TreeWorkload``).
    static let treeRatioGoals: [(operation: TreeWorkload.Operation, size: Int, factor: Double)] = [
        (.firstHit, 1000, 1.0), (.firstHit, 100_000, 0.5), (.firstHit, 1_000_000, 0.4),
        (.countAll, 1_000_000, 0.25),
        (.updatePair, 100_000, 1.2), (.updatePair, 1_000_000, 1.0),
    ]

    /// `tree`, ns/op, 1 thread: engine ≤ factor × C, one target per row of ``treeRatioGoals``.
    mutating func treeVersusC() -> [BenchTarget] {
        Self.treeRatioGoals.map { goal in
            let what = switch goal.operation {
            case .firstHit: "first hit (each query depends on the previous result)"
            case .countAll: "count all hits"
            case .updatePair: "update pair (engine: RCU update path, removeAsOnlyWriter(_:thenInsert:) with overlapped descents, no lock; C: in place, erase handed its node, no lock; both loops prefetch the next pair's handle)"
            }
            return ratio(name: goal.operation.targetName(size: goal.size),
                         goal: "engine's tree ns/op ≤ \(Self.factor(goal.factor)) × C red-black tree, \(what) "
                            + "(workload L size=\(goal.size), 1 thread)",
                         query: Query(workload: TreeWorkload.name, metric: .nanosecondsPerOperation,
                                      required: BenchParameters(treeOperation: goal.operation, size: goal.size)),
                         numerator: TreeWorkload.engineSide, denominator: TreeWorkload.baselineSide,
                         factor: goal.factor, comparison: .atMost) { $0.contains(1) ? 1 : nil }
        }
    }

    /// `tree`, update pair at 1 000 000, engine's tree: 1e9 / ns per pair ≥ 1 000 000 pairs/s.
    func treeUpdateRate() -> BenchTarget {
        let size = 1_000_000
        return absolute(name: "tree-update-rate size=\(size)",
                        goal: "engine's tree ≥ 1 000 000 RCU update pairs/s (workload L size=\(size), 1 thread)",
                        query: Query(workload: TreeWorkload.name, metric: .nanosecondsPerOperation,
                                     required: BenchParameters(treeOperation: .updatePair, size: size)),
                        strategy: TreeWorkload.engineSide, unit: "ops/s", threshold: 1_000_000,
                        comparison: .atLeast) { 1e9 / $0 }
    }

    /// `cache` (issue 13), only in runs that measured it: ours against UCX's
    /// `ucs_rcache` (hits at 1 and 2 threads), ours under mmap/munmap churn
    /// against ours without, and munmap-to-invalid against the userfaultfd floor.
    mutating func cacheTargets() -> [BenchTarget] {
        let sizes = Set(index.keys(workload: .cache, metric: .nanosecondsPerOperation).compactMap(\.parameters.size)).sorted()
        guard !sizes.isEmpty else { return [] }
        func hits(_ size: Int, _ metric: BenchMetric) -> Query {
            Query(workload: .cache, metric: metric, required: BenchParameters(size: size, cacheOperation: .hit))
        }
        let top = 1_000_000
        var targets = [ratio(name: "cache-hit-vs-ucx size=\(top)",
                             goal: "notifier hit (get + put) ns ≤ 1.0 × ucx (size=\(top), 1 thread)",
                             query: hits(top, .nanosecondsPerOperation), numerator: .notifier, denominator: .ucx, factor: 1,
                             comparison: .atMost) { $0.contains(1) ? 1 : nil }]
        for size in sizes {
            targets.append(ratio(name: "cache-hit-2t-vs-ucx size=\(size)",
                                 goal: "notifier hits/s ≥ 4 × ucx, aggregate at 2 threads (size=\(size))",
                                 query: hits(size, .opsPerSecond), numerator: .notifier, denominator: .ucx, factor: 4,
                                 comparison: .atLeast) { $0.contains(2) ? 2 : nil })
        }
        for size in sizes {
            targets.append(ratio(name: "cache-hit-under-churn size=\(size)",
                                 goal: "notifier hit ns during 64 KiB mmap/munmap churn ≤ 1.2 × without (size=\(size), 1 thread)",
                                 query: hits(size, .nanosecondsPerOperation), numerator: .notifierChurn, denominator: .notifier,
                                 factor: 1.2,
                                 comparison: .atMost) { $0.contains(1) ? 1 : nil })
        }
        let floorGoal = "munmap of a cached 4 KiB page until its region is invalid, with the userfaultfd monitor, ≤ 1.3 × the C userfaultfd round trip"
        let unmaps = index.keys(workload: .cache, metric: .nanosecondsPerOperation).filter { $0.parameters.cacheOperation == .munmap }
        if unmaps.contains(where: { $0.strategy == .notifierUffd }) {
            targets.append(ratio(name: "cache-invalidate-vs-uffd-floor", goal: floorGoal,
                                 query: Query(workload: .cache, metric: .nanosecondsPerOperation,
                                              required: BenchParameters(cacheOperation: .munmap)),
                                 numerator: .notifierUffd, denominator: .uffdFloor, factor: 1.3,
                                 comparison: .atMost) { $0.contains(1) ? 1 : nil })
        } else {
            let floor = unmaps.first { $0.strategy == .uffdFloor }.flatMap { index[$0] }
            targets.append(notMeasured("cache-invalidate-vs-uffd-floor", floorGoal, 1.3, .atMost, "x",
                                       "not measured: userfaultfd was unavailable to this run; "
                                       + (floor.map { "floor measured: \(UnitFormat.value($0, metric: .nanosecondsPerOperation))" } ?? "floor not measured")))
        }
        return targets
    }

    /// A factor as written in a goal: `5`, `0.8`.
    static func factor(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    // MARK: - Kinds of targets

    /// Which figures a target reads: the parameters set in `required` (the
    /// others may be anything), and one protocol (any when nil).
    struct Query {
        var workload: BenchWorkload
        var metric: BenchMetric
        var required = BenchParameters()
        var mirrorProtocol: MirrorProtocol? = nil

        /// Whether the figure of `key` is one this query reads.
        func matches(_ key: MeasurementKey) -> Bool {
            key.workload == workload && key.metric == metric && key.parameters.matches(required)
                && (mirrorProtocol.map { $0 == key.mirrorProtocol } ?? true)
        }

        var description: String {
            var parts = [workload.rawValue, metric.rawValue]
            if required.count > 0 {
                parts.append(BenchParameters.label(required.tokens.sorted { $0.key < $1.key }))
            }
            if let mirrorProtocol { parts.append(mirrorProtocol.rawValue) }
            return parts.joined(separator: ", ")
        }
    }

    /// One measured curve: the parameters and protocol of a workload and metric.
    struct Series: Hashable {
        var parameters: BenchParameters
        var mirrorProtocol: MirrorProtocol?

        /// ` (parameters, protocol)`, or nothing when neither is set.
        var suffix: String {
            let parts = [parameters.label, mirrorProtocol.label].filter { !$0.isEmpty && $0 != "-" }
            return parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
        }
    }

    /// A transformed single figure of `strategy` at 1 thread against a threshold.
    private func absolute(name: String, goal: String, query: Query, strategy: BenchSide, unit: String,
                          threshold: Double, comparison: BenchTarget.Comparison,
                          transform: (Double) -> Double) -> BenchTarget {
        for series in series(query) {
            guard let value = value(query, series, strategy, threads: 1) else { continue }
            let figure = "\(strategy) \(UnitFormat.value(value, metric: query.metric)) at 1 thread"
            guard usable(value) else {
                return notMeasured(name, goal, threshold, comparison, unit, "unusable figure: \(figure)")
            }
            return BenchTarget(name: name, goal: goal, measured: transform(value), threshold: threshold,
                               comparison: comparison, unit: unit, detail: figure + series.suffix)
        }
        return notMeasured(name, goal, threshold, comparison, unit, oversubscribedOnly(query, [strategy])
                           ?? "no \(strategy) figure at 1 thread (\(query.description))")
    }

    /// `numerator / denominator` at the thread count `pick` chooses among those
    /// both measured, against `factor`.
    private mutating func ratio(name: String, goal: String, query: Query, numerator: BenchSide, denominator: BenchSide,
                                factor: Double, comparison: BenchTarget.Comparison,
                                pick: ([Int]) -> Int?) -> BenchTarget {
        for series in series(query) {
            let common = Set(threadCounts(query, series, numerator))
                .intersection(threadCounts(query, series, denominator)).sorted()
            guard let threads = pick(common), let top = value(query, series, numerator, threads: threads),
                  let bottom = value(query, series, denominator, threads: threads) else { continue }
            let figures = "\(numerator) \(UnitFormat.value(top, metric: query.metric)) vs \(denominator) "
                + "\(UnitFormat.value(bottom, metric: query.metric)) at \(threads) thread\(threads == 1 ? "" : "s")"
            guard usable(top), usable(bottom) else {
                return notMeasured(name, goal, factor, comparison, "x", "unusable figures: \(figures)")
            }
            let request = PairRequest(target: name, workload: query.workload, parameters: series.parameters,
                                      mirrorProtocol: series.mirrorProtocol, metric: query.metric,
                                      numerator: PairedSide(strategy: numerator, threads: threads),
                                      denominator: PairedSide(strategy: denominator, threads: threads))
            return paired(request, goal: goal, factor: factor, comparison: comparison,
                          sides: "\(numerator) / \(denominator)")
        }
        return notMeasured(name, goal, factor, comparison, "x", oversubscribedOnly(query, [numerator, denominator])
                           ?? "no \(numerator) and \(denominator) figures at a common thread count (\(query.description))")
    }

    /// `value(N) / (N × value(1))` of `strategy` at the N that `pick` chooses,
    /// against `factor` (at least).
    private mutating func scaling(name: String, goal: String, query: Query, strategy: BenchSide, factor: Double,
                                  pick: ([Int]) -> Int?) -> BenchTarget {
        for series in series(query) {
            guard let one = value(query, series, strategy, threads: 1),
                  let threads = pick(threadCounts(query, series, strategy)),
                  let many = value(query, series, strategy, threads: threads) else { continue }
            let figures = "\(strategy) \(UnitFormat.value(many, metric: query.metric)) at \(threads) threads vs "
                + "\(threads) × \(UnitFormat.value(one, metric: query.metric)) at 1 thread"
            guard usable(one), usable(many) else {
                return notMeasured(name, goal, factor, .atLeast, "x", "unusable figures: \(figures)")
            }
            let request = PairRequest(target: name, workload: query.workload, parameters: series.parameters,
                                      mirrorProtocol: series.mirrorProtocol, metric: query.metric,
                                      numerator: PairedSide(strategy: strategy, threads: threads),
                                      denominator: PairedSide(strategy: strategy, threads: 1), scale: Double(threads))
            return paired(request, goal: goal, factor: factor, comparison: .atLeast,
                          sides: "\(strategy) at \(threads) threads / (\(threads) × at 1 thread)")
        }
        return notMeasured(name, goal, factor, .atLeast, "x", oversubscribedOnly(query, [strategy])
                           ?? "no \(strategy) figures at 1 thread and at the thread count required (\(query.description))")
    }

    /// The target of `request` from its paired repetitions: the median ratio
    /// against `factor`, or not measured when the run has none at that point.
    private mutating func paired(_ request: PairRequest, goal: String, factor: Double,
                                 comparison: BenchTarget.Comparison, sides: String) -> BenchTarget {
        requests.append(request)
        guard let pair = pairs.first(where: { $0.request == request }) else {
            return notMeasured(request.target, goal, factor, comparison, "x",
                               "not measured (no paired repetitions; point: \(request.pointDescription))")
        }
        guard let stats = pair.statistics else {
            return notMeasured(request.target, goal, factor, comparison, "x",
                               "unusable paired figures (point: \(request.pointDescription))")
        }
        return BenchTarget(name: request.target, goal: goal, measured: stats.median, threshold: factor,
                           comparison: comparison, unit: "x",
                           detail: "\(sides), paired: " + stats.summary(point: request.pointDescription))
    }

    private func notMeasured(_ name: String, _ goal: String, _ threshold: Double,
                             _ comparison: BenchTarget.Comparison, _ unit: String, _ why: String) -> BenchTarget {
        BenchTarget(name: name, goal: goal, measured: nil, threshold: threshold, comparison: comparison, unit: unit,
                    status: .notMeasured, detail: why)
    }

    // MARK: - Reading figures

    /// A figure a target can use: finite and positive.
    private func usable(_ value: Double) -> Bool { value.isFinite && value > 0 }

    /// The series matching `query`, preferred first: the parameters with the
    /// fewest fields set (the plainest match), then parameter order.
    private func series(_ query: Query) -> [Series] {
        let found = Set(index.keys(workload: query.workload, metric: query.metric).filter(query.matches).map { key in
            Series(parameters: key.parameters, mirrorProtocol: key.mirrorProtocol)
        })
        return found.sorted { a, b in
            if a.parameters.count != b.parameters.count { return a.parameters.count < b.parameters.count }
            if a.parameters != b.parameters { return a.parameters < b.parameters }
            return protocolPrecedes(a.mirrorProtocol, b.mirrorProtocol)
        }
    }

    /// Whether a target may read the figure of `key`: threads at most the
    /// cores, and not oversubscribed.
    private func eligible(_ key: MeasurementKey) -> Bool { key.threads <= cores && !index.isOversubscribed(key) }

    /// The reason a target is not measured when `strategies` have figures for
    /// `query` only at points a target may not read; nil otherwise.
    private func oversubscribedOnly(_ query: Query, _ strategies: [BenchSide]) -> String? {
        let keys = index.keys(workload: query.workload, metric: query.metric).filter { key in
            strategies.contains(key.strategy) && query.matches(key)
        }
        guard !keys.isEmpty, !keys.contains(where: eligible) else { return nil }
        return "not measured at a point with threads <= cores (\(cores) cores; \(query.description))"
    }

    private func value(_ query: Query, _ series: Series, _ strategy: BenchSide, threads: Int) -> Double? {
        let key = MeasurementKey(workload: query.workload, parameters: series.parameters, mirrorProtocol: series.mirrorProtocol,
                                 strategy: strategy, threads: threads, metric: query.metric)
        return eligible(key) ? index[key] : nil
    }

    /// Thread counts at which `strategy` has a figure in `series`, ascending.
    private func threadCounts(_ query: Query, _ series: Series, _ strategy: BenchSide) -> [Int] {
        index.keys(workload: query.workload, metric: query.metric)
            .filter { $0.parameters == series.parameters && $0.mirrorProtocol == series.mirrorProtocol
                && $0.strategy == strategy && eligible($0) }
            .map(\.threads).sorted()
    }
}

/// One performance goal of the project evaluated on a run's measurements.
public struct BenchTarget: Codable, Sendable, Hashable {
    /// Outcome of a target.
    public enum Status: String, Codable, Sendable, Hashable {
        /// The measured value meets the goal.
        case pass
        /// The measured value misses the goal.
        case miss
        /// The run lacks the measurements the target needs (not a failure).
        case notMeasured
    }

    /// Which side of `threshold` passes.
    public enum Comparison: String, Codable, Sendable, Hashable {
        /// Passes when `measured <= threshold` (costs).
        case atMost
        /// Passes when `measured >= threshold` (throughputs, speed-ups).
        case atLeast
    }

    /// Stable identifier, such as `fault-path-vs-rwlock size=1000`.
    public var name: String
    /// The goal in words, such as `rcu ≥ 5 × rwlock`.
    public var goal: String
    /// The measured value or ratio (in `unit`); nil when not measured.
    public var measured: Double?
    /// The bound `measured` is compared with (in `unit`).
    public var threshold: Double
    /// Which side of the threshold passes.
    public var comparison: Comparison
    /// Unit of `measured` and `threshold`: `ns`, `ops/s`, or `x` for ratios.
    public var unit: String
    /// Outcome.
    public var status: Status
    /// Which measurements were compared, or why the target is not measured.
    public var detail: String

    /// Creates a target result; `status` is derived from `measured` when not given.
    public init(name: String, goal: String, measured: Double?, threshold: Double, comparison: Comparison,
                unit: String, status: Status? = nil, detail: String) {
        self.name = name
        self.goal = goal
        self.measured = measured
        self.threshold = threshold
        self.comparison = comparison
        self.unit = unit
        self.detail = detail
        if let status {
            self.status = status
        } else if let measured, measured.isFinite {
            switch comparison {
            case .atMost: self.status = measured <= threshold ? .pass : .miss
            case .atLeast: self.status = measured >= threshold ? .pass : .miss
            }
        } else {
            self.status = .notMeasured
        }
    }
}

extension BenchTarget {
    /// One line for the terminal: status, name, measured against goal, detail.
    public var summary: String {
        let status = switch self.status {
        case .pass: "PASS"
        case .miss: "MISS"
        case .notMeasured: "n/a "
        }
        let measured = self.measured.map { value in
            // As many digits as it takes to tell the figure from its goal (1.1026 against 1.1).
            let short = String(format: "%.3g", value)
            return value != threshold && Double(short) == threshold ? String(format: "%.6g", value) : short
        } ?? "-"
        let bound = comparison == .atMost ? "≤" : "≥"
        return "\(status) \(name): \(measured) \(unit) (goal \(bound) \(String(format: "%g", threshold)) \(unit)) \(detail)"
    }
}

extension BenchTarget {
    /// The measured figure in the report's units (`x1.12`, `2.24 ns`), or `—`;
    /// with more digits where the usual ones would print the goal itself for
    /// a figure on either side of it (`x1.1026` for a miss of `≤ 1.1`).
    var measuredText: String {
        guard let measured else { return "—" }
        let text = UnitFormat.measured(measured, unit: unit)
        guard measured != threshold, text == UnitFormat.measured(threshold, unit: unit) else { return text }
        return unit == "x" ? String(format: "x%.4f", measured) : "\(String(format: "%.6g", measured)) \(unit)"
    }
}

/// Hand-written explanations of missed targets, kept next to the report: the
/// file `notes/NAME.md` of the output directory explains every missed target
/// whose name starts with `NAME` (`fault-path-vs-rwlock size=1000` uses
/// `notes/fault-path-vs-rwlock.md`). The notes say why a target is missed, with
/// the profile or experiment that shows it; the figures of the run stay in the
/// generated tables, so a note never has to be edited to match a new run.
struct MissNotes {
    /// Note text by base name.
    let notes: [String: String]

    /// Reads every `*.md` under `directory/notes` (none if it does not exist).
    init(reportDirectory directory: String) {
        let folder = (directory as NSString).appendingPathComponent("notes")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var notes: [String: String] = [:]
        for name in names where name.hasSuffix(".md") {
            let path = (folder as NSString).appendingPathComponent(name)
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                notes[String(name.dropLast(3))] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        self.notes = notes
    }

    /// Creates notes from a dictionary (tests).
    init(notes: [String: String]) { self.notes = notes }

    /// The base name of a target (its name up to the first space).
    static func baseName(_ target: String) -> String {
        String(target.prefix { $0 != " " })
    }

    /// The note for `target`, if one was written.
    func note(for target: String) -> String? { notes[Self.baseName(target)] }
}
