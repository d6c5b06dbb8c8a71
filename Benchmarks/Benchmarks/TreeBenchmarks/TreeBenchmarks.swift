// Benchmarks of RCUIntervalTree (through its SPI view BenchmarkTree) on workload L (shared/perf-anchors.md):
// point lookups, lookups with a read-side section each, the bare RCU read
// section, and update pairs (remove a random entry, insert a new random one).
//
// package-benchmark runs every benchmark in its own process, so each one builds
// the tree it needs in its `setup` hook, outside the measurement. Every
// benchmark does `benchmark.scaledIterations` operations per iteration, and the
// scaling factor divides the figures back to one operation.

import Benchmark
import BenchmarkSupport
// SPI: the tree and the RCU read side are below the library's public surface.
@_spi(Benchmarking) import IntervalNotifier
import NotifierHarness

// MARK: Fixtures

/// A tree of workload-L intervals and the entries in it (for the update pairs).
///
/// The live entries live in manually allocated memory: no copy-on-write, no
/// exclusivity checks and no reference counting inside the measured loops.
final class TreeFixture: @unchecked Sendable {
    let tree: BenchmarkTree
    let live: UnsafeMutableBufferPointer<BenchmarkTree.Entry>
    /// Generator state carried across iterations of the update benchmark.
    let rng: UnsafeMutablePointer<Xorshift64>
    /// Next value for an inserted entry.
    var nextValue: UInt

    init(size: Int, seed: UInt64) {
        tree = BenchmarkTree()
        live = .allocate(capacity: size)
        var generator = Xorshift64(seed: seed)
        for index in 0..<size {
            let (start, last) = WorkloadL.bounds(&generator)
            let entry = BenchmarkTree.Entry(start: start, last: last, value: UInt(index))
            live[index] = entry
            tree.insert(entry)
        }
        rng = .allocate(capacity: 1)
        rng.initialize(to: Xorshift64(seed: seed ^ 0xA5A5_A5A5_A5A5_A5A5))
        nextValue = UInt(size)
    }
}

// Swift globals are initialised lazily, once: a benchmark process builds only
// the sizes its benchmark touches (in `setup`, outside the measurement).
let fixture1K = TreeFixture(size: 1_000, seed: 0x5EED_0000_0000_1000)
let fixture100K = TreeFixture(size: 100_000, seed: 0x5EED_0000_0010_0000)
let fixture1M = TreeFixture(size: 1_000_000, seed: 0x5EED_0000_0100_0000)

func fixture(size: Int) -> TreeFixture {
    switch size {
    case 1_000: fixture1K
    case 100_000: fixture100K
    case 1_000_000: fixture1M
    default: fatalError("no fixture of size \(size)")
    }
}

/// `n` stabbing queries counting every hit, all in one read-side section.
@inline(never)
func countAllHits(_ tree: BenchmarkTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    BenchmarkRCU.read {
        let snapshot = tree.snapshot()
        var hits = 0
        for _ in 0..<n {
            let point = WorkloadL.point(&rng)
            hits &+= snapshot.countOverlapping(start: point, last: point)
        }
        return hits
    }
}

/// `n` stabbing queries stopping at the first hit, all in one read-side section.
@inline(never)
func firstHits(_ tree: BenchmarkTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    BenchmarkRCU.read {
        let snapshot = tree.snapshot()
        var found = 0
        for _ in 0..<n {
            let point = WorkloadL.point(&rng)
            if snapshot.firstOverlapping(start: point, last: point) != nil { found &+= 1 }
        }
        return found
    }
}

/// `n` first-hit queries, each in its own read-side section.
@inline(never)
func firstHitsOwnSection(_ tree: BenchmarkTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    var found = 0
    for _ in 0..<n {
        let point = WorkloadL.point(&rng)
        let hit = BenchmarkRCU.read { tree.snapshot().firstOverlapping(start: point, last: point) }
        if hit != nil { found &+= 1 }
    }
    return found
}

/// `n` empty read-side sections.
@inline(never)
func bareReadSections(_ n: Int) {
    for _ in 0..<n {
        BenchmarkRCU.readLock()
        BenchmarkRCU.readUnlock()
    }
}

/// `n` update pairs: remove a random live entry, insert a new random one in its place.
@inline(never)
func updatePairs(_ fixture: TreeFixture, _ n: Int) {
    let tree = fixture.tree
    let live = fixture.live
    let count = UInt64(live.count)
    var rng = fixture.rng.pointee
    var value = fixture.nextValue
    for _ in 0..<n {
        let index = Int(rng.next() % count)
        let removed = tree.remove(live[index])
        precondition(removed, "a live entry was missing from the tree")
        let (start, last) = WorkloadL.bounds(&rng)
        let entry = BenchmarkTree.Entry(start: start, last: last, value: value)
        value &+= 1
        tree.insert(entry)
        live[index] = entry
    }
    fixture.rng.pointee = rng
    fixture.nextValue = value
}

// MARK: Measurement

let sizes = [1_000, 100_000, 1_000_000]

/// `N` (for names that sort by size): 0001K, 0100K, 1000K.
func sizeLabel(_ size: Int) -> String {
    let thousands = String(size / 1_000)
    return String(repeating: "0", count: 4 - thousands.count) + thousands + "K"
}

let benchmarks: @Sendable () -> Void = {
    // No `.instructions`: where perf counters are unsupported (this project's VMs)
    // reading them costs 16 mallocs inside every measured iteration.
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal] + ARCMetrics.metrics
    #if os(Linux)
    precondition(arcCounterWorks(), "CARCCounter does not see swift_retain calls: retain counts would be wrong")
    #endif
    Benchmark.defaultConfiguration = .init(
        metrics: metrics,
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 2_000,
        thresholds: thresholds([.wallClock], readPath: true)
    )
    // Updates: no allocation, retain or release either (p90 of the iterations of
    // 1000 pairs: the free nodes and the retired-batch records are reused; a
    // slab or a batch record is allocated only when the grace periods fall
    // behind, which a loaded machine shows in the p99, not in the p90).
    var updates = Benchmark.defaultConfiguration
    updates.thresholds = thresholds([.wallClock], readPath: false, allocationFree: true)

    for size in sizes {
        let label = sizeLabel(size)

        Benchmark(benchmarkName("Lookup count all hits N=\(label)")) { benchmark in
            let tree = fixture(size: size).tree
            var rng = pointGenerator(benchmark)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { blackHole(countAllHits(tree, n, &rng)) }
            withExtendedLifetime(tree) {}
        } setup: {
            _ = fixture(size: size)
        }

        Benchmark(benchmarkName("Lookup first hit N=\(label)")) { benchmark in
            let tree = fixture(size: size).tree
            var rng = pointGenerator(benchmark)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { blackHole(firstHits(tree, n, &rng)) }
            withExtendedLifetime(tree) {}
        } setup: {
            _ = fixture(size: size)
        }

        Benchmark(benchmarkName("Update pair N=\(label)"), configuration: updates) { benchmark in
            let fixture = fixture(size: size)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { updatePairs(fixture, n) }
            withExtendedLifetime(fixture) {}
        } setup: {
            _ = fixture(size: size)
        }
    }

    Benchmark(benchmarkName("Lookup first hit, own read section per query N=0001K")) { benchmark in
        let tree = fixture1K.tree
        var rng = pointGenerator(benchmark)
        let n = benchmark.scaledIterations.count
        measure(benchmark) { blackHole(firstHitsOwnSection(tree, n, &rng)) }
        withExtendedLifetime(tree) {}
    } setup: {
        _ = fixture1K
    }

    Benchmark(benchmarkName("RCU read section (readLock + readUnlock)"),
        configuration: .init(
            metrics: metrics + [picoseconds],
            timeUnits: .nanoseconds,
            warmupIterations: 10,
            scalingFactor: .mega,
            maxDuration: .seconds(2),
            maxIterations: 1_000,
            thresholds: thresholds([.wallClock, picoseconds], readPath: true)
        )
    ) { benchmark in
        let n = benchmark.scaledIterations.count
        measurePicoseconds(benchmark) { bareReadSections(n) }
    }
}

