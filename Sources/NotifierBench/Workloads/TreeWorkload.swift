import CNotifierCore
#if canImport(Glibc)
import Glibc
#endif
@_spi(Benchmarking) import IntervalNotifier
import NotifierHarness

/// `tree`: the engine's interval tree against a C augmented red-black tree
/// (``CBaselineTree``), on workload L, in the same process.
///
/// For each size N the same N workload L intervals go into both trees (their
/// resident memory is measured as they are built, from 100 000 on), a
/// cross-check compares both trees' answers on 1 000 points, and then each
/// operation runs in paired repetitions, alternating the two trees (engine,
/// C, engine, C, …, after a warm-up pair that is not recorded, see
/// ``PairedRunner/run(_:count:numerator:denominator:)``; every repetition a fresh thread pinned by
/// ``BenchRunner``, one thread only, so never oversubscribed), both sides of a
/// pair drawing the same points from the same seed:
/// - `first-hit`: stab a point, keep the overlapping interval with the lowest
///   start; each point is xored with the previous hit's start, so each query
///   waits for the previous one's result (latency, not overlapped misses);
/// - `count-all`: count every interval containing a point (independent points);
/// - `update-pair`: remove a random existing interval and insert a new random
///   one; the engine's tree through its RCU update path (path copy, retired
///   nodes freed by `call_rcu` on the callback thread) with
///   `removeAsOnlyWriter(_:thenInsert:)`: two updates, each published on its
///   own, whose descents overlap (the remove's walks the insert's path beside
///   its own, prefetching it), without the self-locking tree's writer lock (the
///   engine serialises its writers with the registry lock; the C tree takes
///   none either); the C tree in place (erase the node it is handed, which
///   walks no tree, and reinsert it). Both loops draw the next pair's slot one
///   pair ahead and prefetch its handle (the engine's copy of the interval to
///   remove, the C tree's node), as a caller that holds the subscription it
///   removes has it in cache: the C loop's next handle is within reach of the
///   core's out-of-order window anyway, the engine's (a pair runs about 1 600
///   instructions) is not, and without the prefetch its pair waited for that
///   miss before its descent could start.
///
/// The engine's tree is read the way the engine reads it: one RCU read-side
/// section per query around `snapshot()`; the C tree through a direct call
/// (no lock: nothing else runs). Both loops are the same Swift code.
///
/// Measurements (strategy `rcu` = the engine's tree, `c-rbtree` = the C tree,
/// threads 1): parameters `op=OP size=N`, metric `ns/op` (median of the
/// repetitions of wall-clock time; extras `min`, `max`, `ops/s` = 1e9 /
/// median) and metric `cpu-ns/op` (the same of the thread's CPU time); parameters
/// `size=N`, metric `bytes/interval` (the index's nodes over N, counted
/// exactly; extras `rss-bytes/interval`, the RSS growth while building, and
/// `node-bytes`). Each
/// (operation, size) also gives a ``PairedRatio`` (engine / C, per pair)
/// whose target name is ``Operation/targetName(size:)``, and one of thread CPU
/// time (metric `cpu-ns/op`, target name with ` (thread CPU time)`: no target
/// reads it; it shows what the wall-clock ratio looks like without the time
/// the thread waited for a CPU on a loaded host).
public enum TreeWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.tree
    /// The side of the engine's tree (the ratio's numerator).
    public static let engineSide = BenchSide.registry(.default)
    /// The side of the C red-black tree (the denominator).
    public static let baselineSide = BenchSide.cRedBlackTree
    /// The sizes of workload L.
    public static let sizes = [1000, 100_000, 1_000_000]
    /// The smallest size whose memory per interval is recorded (RSS moves by pages).
    public static let memoryMinimumSize = 100_000
    /// Queries or updates between two checks of the stop flag.
    static let batch = 64
    /// Points of the cross-check after building.
    static let crossCheckPoints = 1000

    /// What one repetition does.
    public enum Operation: String, CaseIterable, Sendable {
        /// First hit, each query depending on the previous result.
        case firstHit = "first-hit"
        /// Count all hits.
        case countAll = "count-all"
        /// Remove a random interval, insert a new random one.
        case updatePair = "update-pair"

        /// The name of its ratio targets, before ` size=N`.
        public var targetPrefix: String {
            switch self {
            case .firstHit: "tree-lookup-vs-c"
            case .countAll: "tree-count-vs-c"
            case .updatePair: "tree-update-vs-c"
            }
        }

        /// The measurements' parameters at `size`.
        public func parameters(size: Int) -> BenchParameters { BenchParameters(treeOperation: self, size: size) }

        /// The ratio target's name at `size`.
        public func targetName(size: Int) -> String { "\(targetPrefix) size=\(size)" }
    }

    /// Sizes and repetitions of a run.
    public struct Settings: Sendable, Hashable {
        /// Workload L sizes.
        public var sizes: [Int]
        /// Pairs per (operation, size) and seconds per side.
        public var repetitions: PairedRepetitions

        /// Creates settings.
        public init(sizes: [Int], repetitions: PairedRepetitions) {
            self.sizes = sizes
            self.repetitions = repetitions
        }

        /// The suite's settings: every size; 5 pairs of 0.25 s per side, or 3 of 0.1 s with `quick`.
        public static func suite(quick: Bool) -> Settings {
            Settings(sizes: TreeWorkload.sizes,
                     repetitions: quick ? PairedRepetitions(count: 3, seconds: 0.1) : PairedRepetitions(count: 5, seconds: 0.25))
        }
    }

    /// What a run produced: the figures and the paired repetitions.
    public struct Output: Sendable {
        /// Medians per side, memory per interval.
        public var measurements: [BenchMeasurement]
        /// One per (operation, size).
        public var pairs: [PairedRatio]
    }

    /// The pair request of `operation` at `size` (the one ``TargetEvaluator`` asks for).
    public static func pairRequest(_ operation: Operation, size: Int) -> PairRequest {
        PairRequest(target: operation.targetName(size: size), workload: name, parameters: operation.parameters(size: size),
                    metric: .nanosecondsPerOperation, numerator: PairedSide(strategy: engineSide, threads: 1),
                    denominator: PairedSide(strategy: baselineSide, threads: 1))
    }

    /// Points (one per operation and size) and time of ``run(_:placement:progress:)``.
    public static func plan(_ settings: Settings) -> BenchPlan {
        let points = settings.sizes.count * Operation.allCases.count
        // Both sides of every pair, the warm-up pair too.
        let sides = Double(points * 2 * (settings.repetitions.count + 1))
        // Building both trees, the memory readings' RCU barriers, tearing down.
        let setup = settings.sizes.reduce(0.0) { $0 + Double($1) * BenchPlan.secondsPerSubscription + 0.2 }
        return BenchPlan(points: points,
                         seconds: sides * (settings.repetitions.seconds + BenchPlan.perPointOverhead) + setup)
    }

    /// Runs every size of `settings` (see ``TreeWorkload``).
    public static func run(_ settings: Settings, placement: BenchPlacement, progress: BenchProgress? = nil) -> Output {
        var output = Output(measurements: [], pairs: [])
        let repetitions = settings.repetitions
        progress?.note("tree: one thread (never oversubscribed); engine's tree then C tree, \(repetitions.count) pairs "
                       + "of \(repetitions.seconds) s per side at each point after a warm-up pair; ratios from wall-clock "
                       + "time, thread CPU time alongside")
        for size in settings.sizes {
            let fixture = Fixture(size: size, measureMemory: size >= memoryMinimumSize)
            output.measurements += fixture.memory
            fixture.crossCheck()
            for operation in Operation.allCases {
                let request = pairRequest(operation, size: size)
                progress?.begin(workload: name, parameters: request.parameters, strategy: "\(engineSide) vs \(baselineSide)",
                                threads: 1)
                var cpu: (engine: [Double], baseline: [Double]) = ([], [])
                // Each pair's seed: the warm-up pair's is the first recorded one's.
                func seedIndex(_ repetition: PairedRunner.Repetition) -> Int {
                    if case .recorded(let index) = repetition { return index }
                    return 0
                }
                let pair = PairedRunner.run(request, count: repetitions.count, numerator: { repetition in
                    let cost = fixture.measure(operation, side: .engine, repetition: seedIndex(repetition),
                                               placement: placement, seconds: repetitions.seconds)
                    if repetition != .warmUp { cpu.engine.append(cost.cpu) }
                    return cost.wall
                }, denominator: { repetition in
                    let cost = fixture.measure(operation, side: .baseline, repetition: seedIndex(repetition),
                                               placement: placement, seconds: repetitions.seconds)
                    if repetition != .warmUp { cpu.baseline.append(cost.cpu) }
                    return cost.wall
                })
                var cpuRequest = request
                cpuRequest.target += " (thread CPU time)"
                cpuRequest.metric = .cpuNanosecondsPerOperation
                let cpuPair = PairedRatio(request: cpuRequest, numeratorValues: cpu.engine, denominatorValues: cpu.baseline)
                output.pairs += [pair, cpuPair]
                let engine = measurement(request.parameters, engineSide, .nanosecondsPerOperation, pair.numeratorValues)
                let baseline = measurement(request.parameters, baselineSide, .nanosecondsPerOperation, pair.denominatorValues)
                output.measurements += [engine, baseline,
                                        measurement(request.parameters, engineSide, .cpuNanosecondsPerOperation, cpu.engine),
                                        measurement(request.parameters, baselineSide, .cpuNanosecondsPerOperation, cpu.baseline)]
                let ratio = { (pair: PairedRatio) in pair.statistics.map { String(format: "%.2f (%.2f-%.2f)", $0.median, $0.min, $0.max) } ?? "-" }
                progress?.end(text: "\(BenchProgress.format(engine.value, metric: .nanosecondsPerOperation)) vs "
                              + "\(BenchProgress.format(baseline.value, metric: .nanosecondsPerOperation)): ratio \(ratio(pair)); "
                              + "thread CPU time ratio \(ratio(cpuPair))")
            }
        }
        return output
    }

    /// The median of `values` (nanoseconds per operation, of `metric`) with
    /// their range and the rate the median gives; repetitions without an
    /// operation (0) are left out.
    static func measurement(_ parameters: BenchParameters, _ strategy: BenchSide, _ metric: BenchMetric,
                            _ values: [Double]) -> BenchMeasurement {
        let sorted = values.filter { $0.isFinite && $0 > 0 }.sorted()
        let middle = sorted.count / 2
        let median = sorted.isEmpty ? 0
            : sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return BenchMeasurement(workload: name, parameters: parameters, strategy: strategy, threads: 1, metric: metric,
                                value: median, extra: [.min: sorted.first ?? 0, .max: sorted.last ?? 0,
                                                       .opsPerSecond: median > 0 ? 1e9 / median : 0])
    }

    /// What one repetition of one side cost per operation.
    struct Cost {
        /// Wall-clock nanoseconds (the figure the targets use).
        var wall: Double
        /// The thread's CPU nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): leaves out
        /// the time the thread waited for a CPU on a loaded host.
        var cpu: Double
    }

    /// Which tree a repetition measures.
    enum Side {
        case engine
        case baseline
    }

    /// Both trees of one size, holding the same workload L intervals (slot
    /// `i` of each is interval `i`), and the memory they took.
    final class Fixture: @unchecked Sendable {
        let size: Int
        let engine = BenchmarkTree()
        /// The engine tree's entries by slot (the update pair removes one by value).
        let entries: UnsafeMutableBufferPointer<BenchmarkTree.Entry>
        let baseline: CBaselineTree
        /// `bytes/interval` of both trees (empty below ``TreeWorkload/memoryMinimumSize``).
        private(set) var memory: [BenchMeasurement] = []

        init(size: Int, measureMemory: Bool) {
            self.size = size
            entries = .allocate(capacity: size)
            baseline = CBaselineTree(capacity: size)
            // Touched now, so that only the trees count in the RSS deltas.
            var rng = Xorshift64(seed: BenchSeed.workloadL)
            for slot in 0..<size {
                let (start, last) = WorkloadL.bounds(&rng)
                entries[slot] = BenchmarkTree.Entry(start: start, last: last, value: UInt(slot))
            }
            let engineBytes = Self.residentGrowth(measureMemory) {
                for entry in entries { engine.insert(entry) }
            }
            let baselineBytes = Self.residentGrowth(measureMemory) {
                for (slot, entry) in entries.enumerated() { baseline.insert(slot: slot, start: entry.start, last: entry.last) }
            }
            if let engineBytes, let baselineBytes {
                // The figure is what each index holds, counted exactly: the
                // engine's nodes taken from the system (its slabs; free nodes
                // included), and the C tree's intrusive nodes (one per
                // interval, in one array). The RSS growth while building is an
                // extra: the C array can land in memory the process already
                // had resident, and then shows no growth at all.
                let parameters = BenchParameters(size: size)
                let engineNodes = Double(engine.memoryStatistics.allocatedNodes * BenchmarkTree.nodeBytes)
                memory = [
                    BenchMeasurement(workload: TreeWorkload.name, parameters: parameters, strategy: TreeWorkload.engineSide,
                                     threads: 1, metric: .bytesPerInterval, value: engineNodes / Double(size),
                                     extra: [.residentBytesPerInterval: Double(engineBytes) / Double(size),
                                             .nodeBytes: Double(BenchmarkTree.nodeBytes)]),
                    BenchMeasurement(workload: TreeWorkload.name, parameters: parameters, strategy: TreeWorkload.baselineSide,
                                     threads: 1, metric: .bytesPerInterval, value: Double(CBaselineTree.nodeBytes),
                                     extra: [.residentBytesPerInterval: Double(baselineBytes) / Double(size),
                                             .nodeBytes: Double(CBaselineTree.nodeBytes)]),
                ]
            }
        }

        deinit { entries.deallocate() }

        /// RSS growth over `body`, settled before and after; nil (and no
        /// settling) when not measuring.
        private static func residentGrowth(_ measuring: Bool, _ body: () -> Void) -> Int? {
            guard measuring else {
                body()
                return nil
            }
            benchSettleMemory()
            let before = benchResidentBytes()
            body()
            benchSettleMemory()
            return benchResidentBytes() - before
        }

        /// Both trees must give the same answers on the same intervals: first
        /// hit (its start) and count, at workload L points. Traps otherwise.
        func crossCheck() {
            var rng = Xorshift64(seed: 0xC4EC_0000_0000_0001)
            for _ in 0..<TreeWorkload.crossCheckPoints {
                let point = WorkloadL.point(&rng)
                let (first, count) = BenchmarkRCU.read {
                    let snapshot = engine.snapshot()
                    return (snapshot.firstOverlapping(start: point, last: point)?.start,
                            snapshot.countOverlapping(start: point, last: point))
                }
                guard first == baseline.firstOverlappingStart(point), count == baseline.countOverlapping(point) else {
                    fatalError("tree workload: the engine's tree and the C tree disagree at point \(point) (size \(size))")
                }
            }
        }

        /// One repetition of `operation` on `side`: wall-clock and thread CPU
        /// nanoseconds per operation.
        func measure(_ operation: Operation, side: Side, repetition: Int, placement: BenchPlacement,
                     seconds: Double) -> Cost {
            let seed = BenchSeed.thread(repetition, 0x7EE0_0000_0000_0001)
            let result = BenchRunner.run(placement: placement, duration: seconds, workers: 1) { worker in
                switch (operation, side) {
                case (.firstHit, .engine): TreeLoops.engineFirstHit(self.engine, seed: seed, worker: worker)
                case (.firstHit, .baseline): TreeLoops.baselineFirstHit(self.baseline, seed: seed, worker: worker)
                case (.countAll, .engine): TreeLoops.engineCount(self.engine, seed: seed, worker: worker)
                case (.countAll, .baseline): TreeLoops.baselineCount(self.baseline, seed: seed, worker: worker)
                case (.updatePair, .engine):
                    TreeLoops.engineUpdate(self.engine, self.entries, seed: seed, worker: worker)
                case (.updatePair, .baseline): TreeLoops.baselineUpdate(self.baseline, seed: seed, worker: worker)
                }
            }
            // No operation (the thread got no CPU before the stop flag): both 0,
            // and the pair is left out of the ratios.
            let output = result.workers[0].output
            let cpu = output.operations > 0 ? Double(output.counters[0]) / Double(output.operations) : 0
            return Cost(wall: result.meanNanosecondsPerOperation, cpu: cpu)
        }
    }
}

/// The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), nanoseconds.
enum ThreadCPUClock {
    static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// The measured loops of ``TreeWorkload``, the same shape for both trees; each
/// runs at least one batch (a repetition never measures nothing, even when a
/// loaded host gives the thread no CPU before the stop flag) and returns its
/// thread CPU time over the measured loop as `counters[0]`.
enum TreeLoops {
    static let batch = TreeWorkload.batch

    /// The next first-hit query point: a workload L point xored with the
    /// previous hit's start, so that the query cannot start before the
    /// previous one has finished (still uniform in [0, 2^32)).
    @inline(__always)
    static func dependentPoint(_ rng: inout Xorshift64, after previous: UInt64) -> UInt64 {
        WorkloadL.point(&rng) ^ (previous & 0xFFFF_FFFF)
    }

    @inline(never)
    static func engineFirstHit(_ tree: BenchmarkTree, seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        var previous: UInt64 = 0
        var hits: UInt64 = 0
        var operations: UInt64 = 0
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                let point = dependentPoint(&rng, after: previous)
                BenchmarkRCU.readLock()
                let hit = tree.snapshot().firstOverlapping(start: point, last: point)
                BenchmarkRCU.readUnlock()
                previous = hit?.start ?? 0
                hits &+= hit == nil ? 0 : 1
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        benchBlackHole(previous)
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu, hits])
    }

    @inline(never)
    static func baselineFirstHit(_ tree: CBaselineTree, seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        var previous: UInt64 = 0
        var hits: UInt64 = 0
        var operations: UInt64 = 0
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                let point = dependentPoint(&rng, after: previous)
                let hit = tree.firstOverlappingStart(point)
                previous = hit ?? 0
                hits &+= hit == nil ? 0 : 1
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        benchBlackHole(previous)
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu, hits])
    }

    @inline(never)
    static func engineCount(_ tree: BenchmarkTree, seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        var hits = 0
        var operations: UInt64 = 0
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                let point = WorkloadL.point(&rng)
                BenchmarkRCU.readLock()
                hits &+= tree.snapshot().countOverlapping(start: point, last: point)
                BenchmarkRCU.readUnlock()
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        benchBlackHole(hits)
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu, UInt64(hits)])
    }

    @inline(never)
    static func baselineCount(_ tree: CBaselineTree, seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        var hits = 0
        var operations: UInt64 = 0
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                hits &+= tree.countOverlapping(WorkloadL.point(&rng))
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        benchBlackHole(hits)
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu, UInt64(hits)])
    }

    @inline(never)
    static func engineUpdate(_ tree: BenchmarkTree, _ entries: UnsafeMutableBufferPointer<BenchmarkTree.Entry>,
                             seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        let count = entries.count
        var operations: UInt64 = 0
        var next = benchRandom(&rng, below: count)
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                let slot = next
                // The next pair's handle, fetched while this pair runs (see the type's comment).
                next = benchRandom(&rng, below: count)
                cnp_prefetch_for_read(entries.baseAddress! + next)
                let (start, last) = WorkloadL.bounds(&rng)
                let entry = BenchmarkTree.Entry(start: start, last: last, value: UInt(slot))
                guard tree.removeAsOnlyWriter(entries[slot], thenInsert: entry) else {
                    fatalError("tree workload: slot \(slot)'s interval is missing from the engine's tree")
                }
                entries[slot] = entry
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu])
    }

    @inline(never)
    static func baselineUpdate(_ tree: CBaselineTree, seed: UInt64, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: seed)
        let count = tree.capacity
        var operations: UInt64 = 0
        var next = benchRandom(&rng, below: count)
        worker.waitForStart()
        let cpu = ThreadCPUClock.nanoseconds()
        repeat {
            for _ in 0..<batch {
                let slot = next
                // The next pair's handle, as in `engineUpdate`.
                next = benchRandom(&rng, below: count)
                cnp_prefetch_for_read(tree.nodes + next)
                tree.erase(slot: slot)
                let (start, last) = WorkloadL.bounds(&rng)
                tree.insert(slot: slot, start: start, last: last)
            }
            operations &+= UInt64(batch)
        } while worker.isRunning
        return BenchThreadOutput(operations: operations, counters: [ThreadCPUClock.nanoseconds() - cpu])
    }
}
