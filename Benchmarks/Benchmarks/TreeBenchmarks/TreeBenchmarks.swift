// Benchmarks of RCUIntervalTree on workload L (shared/perf-anchors.md):
// point lookups, lookups with a read-side section each, the bare RCU read
// section, and update pairs (remove a random entry, insert a new random one).
//
// package-benchmark runs every benchmark in its own process, so each one builds
// the tree it needs in its `setup` hook, outside the measurement. Every
// benchmark does `benchmark.scaledIterations` operations per iteration, and the
// scaling factor divides the figures back to one operation.

import Benchmark
import CARCCounter
import IntervalNotifier

// MARK: Fixtures

/// A tree of workload-L intervals and the entries in it (for the update pairs).
///
/// The live entries live in manually allocated memory: no copy-on-write, no
/// exclusivity checks and no reference counting inside the measured loops.
final class TreeFixture: @unchecked Sendable {
    let tree: RCUIntervalTree
    let live: UnsafeMutableBufferPointer<IntervalTreeEntry>
    /// Generator state carried across iterations of the update benchmark.
    let rng: UnsafeMutablePointer<Xorshift64>
    /// Next value for an inserted entry.
    var nextValue: UInt

    init(size: Int, seed: UInt64) {
        tree = RCUIntervalTree()
        live = .allocate(capacity: size)
        var generator = Xorshift64(seed: seed)
        for index in 0..<size {
            let entry = WorkloadL.interval(&generator, value: UInt(index))
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

/// A point generator for one iteration, different in every iteration.
@inline(__always)
func pointGenerator(_ benchmark: Benchmark) -> Xorshift64 {
    Xorshift64(seed: 0x0123_4567_89AB_CDEF &+ UInt64(truncatingIfNeeded: benchmark.currentIteration) &* 0x9E37_79B9_7F4A_7C15)
}

// MARK: Measured loops
//
// Kept as separate functions so the loop bodies are what they claim to be (and
// easy to find in a disassembly), and measured by `measure(_:_:)` so that
// fetching the fixture is not counted.

/// `n` stabbing queries counting every hit, all in one read-side section.
@inline(never)
func countAllHits(_ tree: RCUIntervalTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    RCU.read {
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
func firstHits(_ tree: RCUIntervalTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    RCU.read {
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
func firstHitsOwnSection(_ tree: RCUIntervalTree, _ n: Int, _ rng: inout Xorshift64) -> Int {
    var found = 0
    for _ in 0..<n {
        let point = WorkloadL.point(&rng)
        let hit = RCU.read { tree.snapshot().firstOverlapping(start: point, last: point) }
        if hit != nil { found &+= 1 }
    }
    return found
}

/// `n` empty read-side sections.
@inline(never)
func bareReadSections(_ n: Int) {
    for _ in 0..<n {
        RCU.readLock()
        RCU.readUnlock()
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
        let entry = WorkloadL.interval(&rng, value: value)
        value &+= 1
        tree.insert(entry)
        live[index] = entry
    }
    fixture.rng.pointee = rng
    fixture.nextValue = value
}

// MARK: Measurement

/// Retain and release counts.
///
/// package-benchmark's `.retainCount` / `.releaseCount` crash with Swift 6.3 on
/// Linux unless its swift-runtime-interposer dependency is available (benchmark
/// issue #349; it is not in the offline mirror), so on Linux the counts come
/// from the counting `swift_retain` / `swift_release` of the CARCCounter target,
/// read around the measured call only (harness traffic excluded).
enum ARCMetrics {
    #if os(Linux)
    static let retains = BenchmarkMetric.custom("retains", polarity: .prefersSmaller, useScalingFactor: true)
    static let releases = BenchmarkMetric.custom("releases", polarity: .prefersSmaller, useScalingFactor: true)
    static let metrics: [BenchmarkMetric] = [retains, releases]
    #else
    static let metrics: [BenchmarkMetric] = [.retainCount, .releaseCount]
    #endif
}

#if os(Linux)
private final class ARCProbe {}

/// Whether the counting `swift_retain` sees this executable's retains; the
/// benchmarks refuse to run rather than report zeros from a dead counter.
@inline(never)
func arcCounterWorks() -> Bool {
    let object = ARCProbe()
    let before = carc_counter_retains()
    let unmanaged = Unmanaged.passUnretained(object)
    _ = unmanaged.retain()
    blackHole(object)
    unmanaged.release()
    return carc_counter_available() == 1 && carc_counter_retains() > before
}
#endif

/// Sub-nanosecond time per operation, for the bare read-side section (the
/// wall-clock metric is whole nanoseconds per operation once scaled).
let picoseconds = BenchmarkMetric.custom("Time (ps)", polarity: .prefersSmaller, useScalingFactor: true)

/// Measures `body` alone: `startMeasurement()` before, `stopMeasurement()` after,
/// and on Linux the retains and releases it made.
@inline(__always)
func measure(_ benchmark: Benchmark, _ body: () -> Void) {
    benchmark.startMeasurement()
    #if os(Linux)
    let retains = carc_counter_retains()
    let releases = carc_counter_releases()
    #endif
    body()
    #if os(Linux)
    let retainsAfter = carc_counter_retains()
    let releasesAfter = carc_counter_releases()
    #endif
    benchmark.stopMeasurement()
    #if os(Linux)
    benchmark.measurement(ARCMetrics.retains, Int(retainsAfter &- retains))
    benchmark.measurement(ARCMetrics.releases, Int(releasesAfter &- releases))
    #endif
}

// MARK: Registration

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
    // Updates: the same, with a little allocation slack (slabs, batch records).
    var updates = Benchmark.defaultConfiguration
    updates.thresholds = thresholds([.wallClock], readPath: false)

    for size in sizes {
        let label = sizeLabel(size)

        Benchmark("Lookup count all hits N=\(label)") { benchmark in
            let tree = fixture(size: size).tree
            var rng = pointGenerator(benchmark)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { blackHole(countAllHits(tree, n, &rng)) }
            withExtendedLifetime(tree) {}
        } setup: {
            _ = fixture(size: size)
        }

        Benchmark("Lookup first hit N=\(label)") { benchmark in
            let tree = fixture(size: size).tree
            var rng = pointGenerator(benchmark)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { blackHole(firstHits(tree, n, &rng)) }
            withExtendedLifetime(tree) {}
        } setup: {
            _ = fixture(size: size)
        }

        Benchmark("Update pair N=\(label)", configuration: updates) { benchmark in
            let fixture = fixture(size: size)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { updatePairs(fixture, n) }
            withExtendedLifetime(fixture) {}
        } setup: {
            _ = fixture(size: size)
        }
    }

    Benchmark("Lookup first hit, own read section per query N=0001K") { benchmark in
        let tree = fixture1K.tree
        var rng = pointGenerator(benchmark)
        let n = benchmark.scaledIterations.count
        measure(benchmark) { blackHole(firstHitsOwnSection(tree, n, &rng)) }
        withExtendedLifetime(tree) {}
    } setup: {
        _ = fixture1K
    }

    Benchmark(
        "RCU read section (readLock + readUnlock)",
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
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        measure(benchmark) {
            let start = clock.now
            bareReadSections(n)
            elapsed = start.duration(to: clock.now)
        }
        let (seconds, attoseconds) = elapsed.components
        benchmark.measurement(picoseconds, Int(seconds) * 1_000_000_000_000 + Int(attoseconds / 1_000_000))
    }
}

/// Tolerances for `swift package benchmark thresholds check` against the p90
/// values committed under `Thresholds/`. Time may vary 2x either way (shared,
/// noisy VMs: the check is for order-of-magnitude regressions); allocations and
/// retains on read paths must stay exactly as committed (zero), while update
/// paths may allocate a node slab or a batch record now and then.
func thresholds(_ timeMetrics: [BenchmarkMetric], readPath: Bool) -> [BenchmarkMetric: BenchmarkThresholds] {
    var result: [BenchmarkMetric: BenchmarkThresholds] = [:]
    for metric in timeMetrics + [.throughput] {
        result[metric] = .init(relative: [.p90: 100.0])
    }
    let counts = BenchmarkThresholds(absolute: [.p90: readPath ? 0 : 2])
    result[.mallocCountTotal] = counts
    for metric in ARCMetrics.metrics { result[metric] = counts }
    return result
}
