// Benchmarks of the engine (AddressSpace, IntervalSubscription), single-threaded:
// the read side of the collision-retry protocol (readBegin + readRetry,
// checkRetry, setSequence), invalidations hitting 0, 1 and 16 subscriptions,
// insert + remove of one subscription among 100 000, and the RCU lookup
// `withSubscription(containing:)` among 100 000, and a RegistrationCache hit
// (get + put) among 100 000 cached pages.
//
// package-benchmark runs every benchmark in its own process, so each one builds
// the address space it needs in its `setup` hook, outside the measurement. Every
// benchmark does `benchmark.scaledIterations` operations per iteration, and the
// scaling factor divides the figures back to one operation.

import Benchmark
import BenchmarkSupport
import IntervalNotifier
import NotifierHarness

// MARK: Fixtures

/// The invalidate callback of every subscription here: what a well-behaved user
/// does under its lock, minus the lock (`sub.setSequence(seq); return true`).
let acceptAndSetSequence: InvalidateCallback = { subscription, _, sequence in
    subscription.setSequence(sequence)
    return true
}

/// An address space with one idle subscription (for the read-side benchmarks).
final class IdleFixture: @unchecked Sendable {
    let space: AddressSpace
    let subscription: IntervalSubscription

    init(strategy: RegistryStrategy = .default) {
        space = AddressSpace(strategy: strategy)
        subscription = try! space.insert(start: 0x10_0000, length: 0x4000, invalidate: acceptAndSetSequence)
    }
}

/// An address space with 1000 disjoint subscriptions that no invalidation here
/// touches, plus `targets` adjacent ones that `range` covers exactly (with no
/// target, `range` lies in a gap between the others).
///
/// Layout: other `i` is `[i * 0x10000, i * 0x10000 + 0xFFF]`; the targets are
/// `0x100` bytes each, back to back from `500 * 0x10000 + 0x4000`, in the gap
/// after other 500 (so the walk goes through the middle of a populated tree).
final class InvalidationFixture: @unchecked Sendable {
    static let others = 1_000
    static let targetBase: UInt64 = 500 * 0x10000 + 0x4000
    static let targetLength: UInt64 = 0x100

    let space = AddressSpace()
    let targets: [IntervalSubscription]
    let range: InvalidationRange

    init(targets count: Int) {
        for index in 0..<Self.others {
            _ = try! space.insert(start: UInt64(index) * 0x10000, length: 0x1000, invalidate: acceptAndSetSequence)
        }
        targets = (0..<count).map { [space] index in
            try! space.insert(
                start: Self.targetBase + UInt64(index) * Self.targetLength,
                length: Self.targetLength,
                invalidate: acceptAndSetSequence
            )
        }
        let length = Self.targetLength * UInt64(max(count, 1))
        range = try! InvalidationRange(start: Self.targetBase, end: Self.targetBase + length, event: .unmap, blockable: true)
        // Check the layout once: exactly `count` subscriptions in the range.
        var hits = 0
        space.forEachSubscription(overlapping: range.start, last: range.last) { _ in
            hits += 1
            return true
        }
        precondition(hits == count, "invalidation fixture: \(hits) subscriptions in range, expected \(count)")
        precondition(space.subscriptionCount == Self.others + count)
    }
}

/// An address space with `size` subscriptions on workload-L intervals
/// (`WorkloadL`, shared/perf-anchors.md), for insert + remove and lookups.
final class PopulatedFixture: @unchecked Sendable {
    let space: AddressSpace
    /// Generator state carried across iterations of the insert + remove benchmark.
    let rng: UnsafeMutablePointer<Xorshift64>

    init(size: Int, seed: UInt64, strategy: RegistryStrategy = .default) {
        space = AddressSpace(strategy: strategy)
        var generator = Xorshift64(seed: seed)
        for index in 0..<size {
            let entry = WorkloadL.bounds(&generator)
            _ = try! space.insert(start: entry.start, last: entry.last, invalidate: acceptAndSetSequence)
        }
        precondition(space.subscriptionCount == size)
        rng = .allocate(capacity: 1)
        rng.initialize(to: Xorshift64(seed: seed ^ 0xA5A5_A5A5_A5A5_A5A5))
    }
}

// Swift globals are initialised lazily, once: a benchmark process builds only
// the fixture its benchmark touches (in `setup`, outside the measurement).
let idleFixture = IdleFixture()
let invalidationNoHit = InvalidationFixture(targets: 0)
let invalidationOneHit = InvalidationFixture(targets: 1)
let invalidationSixteenHits = InvalidationFixture(targets: 16)
let populated100K = PopulatedFixture(size: 100_000, seed: 0x5EED_0000_0010_0000)

/// The fixtures of the non-default strategies, built on first use (each
/// benchmark process builds only the one its benchmark touches, in `setup`).
nonisolated(unsafe) var strategyIdleFixtures: [RegistryStrategy: IdleFixture] = [:]
nonisolated(unsafe) var strategyPopulatedFixtures: [RegistryStrategy: PopulatedFixture] = [:]

func idleFixture(_ strategy: RegistryStrategy) -> IdleFixture {
    if strategy == .default { return idleFixture }
    if let fixture = strategyIdleFixtures[strategy] { return fixture }
    let fixture = IdleFixture(strategy: strategy)
    strategyIdleFixtures[strategy] = fixture
    return fixture
}

func populated100K(_ strategy: RegistryStrategy) -> PopulatedFixture {
    if strategy == .default { return populated100K }
    if let fixture = strategyPopulatedFixtures[strategy] { return fixture }
    let fixture = PopulatedFixture(size: 100_000, seed: 0x5EED_0000_0010_0000, strategy: strategy)
    strategyPopulatedFixtures[strategy] = fixture
    return fixture
}

/// Benchmark-name suffix of a strategy: none for the default (names stay
/// stable), ` [kernel]` and so on for the others.
func suffix(_ strategy: RegistryStrategy) -> String {
    strategy == .default ? "" : " [\(strategy.name)]"
}

func invalidationFixture(hits: Int) -> InvalidationFixture {
    switch hits {
    case 0: invalidationNoHit
    case 1: invalidationOneHit
    case 16: invalidationSixteenHits
    default: fatalError("no invalidation fixture with \(hits) hits")
    }
}

// MARK: Measured loops
//
// Kept as separate @inline(never) functions so the loop bodies are what they
// claim to be (and easy to find in a disassembly: `nm` the executable for
// `EngineBenchmarks.readPairs` etc.), and measured by `measure(_:_:)` so that
// fetching the fixture is not counted.

/// `n` `readBegin` + `readRetry` pairs on an idle subscription (no user lock:
/// single-threaded, nothing to order against). Returns the retries (always 0).
@inline(never)
func readPairs(_ subscription: IntervalSubscription, _ n: Int) throws(NotifierError) -> Int {
    var retries = 0
    for _ in 0..<n {
        let sequence = try subscription.readBegin()
        if subscription.readRetry(sequence) { retries &+= 1 }
    }
    return retries
}

/// `n` `checkRetry` calls with the subscription's current sequence (always false).
@inline(never)
func checkRetries(_ subscription: IntervalSubscription, _ sequence: UInt64, _ n: Int) -> Int {
    var retries = 0
    for _ in 0..<n {
        if subscription.checkRetry(sequence) { retries &+= 1 }
    }
    return retries
}

/// `n` `setSequence` calls, storing odd values (a subscription's sequence is
/// always odd; the address space's is even while idle, so the stored values
/// never make `readBegin` wait).
@inline(never)
func setSequences(_ subscription: IntervalSubscription, _ first: UInt64, _ n: Int) -> UInt64 {
    var sequence = first | 1
    for _ in 0..<n {
        subscription.setSequence(sequence)
        sequence &+= 2
    }
    return sequence
}

/// `n` invalidations of `range`: `invalidateRangeStart` (runs the callbacks of
/// the subscriptions it hits) + `invalidateRangeEnd`.
@inline(never)
func invalidations(_ space: AddressSpace, _ range: InvalidationRange, _ n: Int) throws(NotifierError) {
    for _ in 0..<n {
        try space.invalidateRangeStart(range)
        try space.invalidateRangeEnd(range)
    }
}

/// `n` pairs: insert a subscription on a new random workload-L interval, then
/// remove it (idle address space: neither waits).
@inline(never)
func insertRemovePairs(_ fixture: PopulatedFixture, _ n: Int) throws(NotifierError) {
    let space = fixture.space
    var rng = fixture.rng.pointee
    let strategy = space.strategy
    for _ in 0..<n {
        let entry = WorkloadL.bounds(&rng)
        let subscription = try space.insert(start: entry.start, length: entry.last - entry.start + 1, invalidate: acceptAndSetSequence)
        try space.remove(subscription)
        strategy.readerQuiescentState()
    }
    fixture.rng.pointee = rng
}

/// `n` lookups `withSubscription(containing:)` at random workload-L points, each
/// in its own read-side section (the lookup opens one); the body reads the
/// `start` of the subscription found, as a fault path would touch it.
@inline(never)
func lookups(_ space: AddressSpace, _ n: Int, _ rng: inout Xorshift64) -> UInt64 {
    var sum: UInt64 = 0
    let strategy = space.strategy
    for _ in 0..<n {
        let point = WorkloadL.point(&rng)
        sum &+= space.withSubscription(containing: point) { subscription in
            subscription.map { $0.start | 1 } ?? 0
        }
        // qsbr readers announce between lookups (0.3 ns; a no-op test otherwise).
        strategy.readerQuiescentState()
    }
    return sum
}

// MARK: Registration cache

/// A ``RegistrationCache`` holding 100 000 regions of one 4 KiB page each
/// (addresses only: a hit needs no memory behind them), registered in shuffled order.
final class CacheFixture: @unchecked Sendable {
    static let count = 100_000
    let space = AddressSpace()
    let cache: RegistrationCache
    let pages: [UInt64]

    init() {
        cache = RegistrationCache(addressSpace: space, register: { start, _ in UInt(start) }, deregister: { _, _, _ in })
        pages = (0..<Self.count).map { 0x1000_0000 + UInt64($0) * 4096 }
        var rng = Xorshift64(seed: 0xCAC4E)
        for page in pages.shuffled(using: &rng) {
            let handle = try! cache.get(address: page, length: 4096)
            cache.put(handle)
        }
    }
}

let cacheFixture = CacheFixture()

/// `n` hits (get + put) on uniformly random cached pages.
@inline(never)
func cacheHits(_ fixture: CacheFixture, _ n: Int, _ rng: inout Xorshift64) -> UInt {
    var sum: UInt = 0
    let cache = fixture.cache
    fixture.pages.withUnsafeBufferPointer { pages in
        for _ in 0..<n {
            let handle = try! cache.get(address: pages[Int(rng.next() % UInt64(pages.count))], length: 4096)
            sum &+= handle.registration
            cache.put(handle)
        }
    }
    return sum
}

// MARK: Registration

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
    // Sub-nanosecond operations: 1 000 000 per iteration, and picoseconds.
    let readSide = Benchmark.Configuration(
        metrics: metrics + [picoseconds],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 1_000,
        thresholds: thresholds([.wallClock, picoseconds], readPath: true)
    )

    for strategy in RegistryStrategy.allCases {
        Benchmark(benchmarkName("Read side readBegin + readRetry (idle subscription)\(suffix(strategy))"), configuration: readSide) { benchmark in
            let subscription = idleFixture(strategy).subscription
            let n = benchmark.scaledIterations.count
            measurePicoseconds(benchmark) { blackHole(try! readPairs(subscription, n)) }
            withExtendedLifetime(subscription) {}
        } setup: {
            _ = idleFixture(strategy)
        }
    }

    Benchmark(benchmarkName("Read side checkRetry"), configuration: readSide) { benchmark in
        let subscription = idleFixture.subscription
        let sequence = subscription.currentSequence
        let n = benchmark.scaledIterations.count
        measurePicoseconds(benchmark) { blackHole(checkRetries(subscription, sequence, n)) }
        withExtendedLifetime(subscription) {}
    } setup: {
        _ = idleFixture
    }

    Benchmark(benchmarkName("Read side setSequence"), configuration: readSide) { benchmark in
        let subscription = idleFixture.subscription
        let first = subscription.currentSequence
        let n = benchmark.scaledIterations.count
        measurePicoseconds(benchmark) { blackHole(setSequences(subscription, first, n)) }
        // Back to a value no window can reach soon (as insert leaves it: odd, just
        // below the address space's current sequence), for the next iteration.
        subscription.setSequence(first)
        withExtendedLifetime(subscription) {}
    } setup: {
        _ = idleFixture
    }

    for hits in [0, 1, 16] {
        // "00 hits", "01 hit", "16 hits": names that sort by the number of hits.
        let label = (hits < 10 ? "0" : "") + "\(hits) hit" + (hits == 1 ? "" : "s")
        Benchmark(benchmarkName("Invalidation start + end, \(label) (1000 others)")) { benchmark in
            let fixture = invalidationFixture(hits: hits)
            let space = fixture.space
            let range = fixture.range
            let n = benchmark.scaledIterations.count
            measure(benchmark) { try! invalidations(space, range, n) }
            withExtendedLifetime(fixture) {}
        } setup: {
            _ = invalidationFixture(hits: hits)
        }
    }

    // The registration cache's hit path: no allocation, no retain, no release.
    Benchmark(benchmarkName("Cache hit get + put N=0100K")) { benchmark in
        let fixture = cacheFixture
        var rng = pointGenerator(benchmark)
        let n = benchmark.scaledIterations.count
        measure(benchmark) { blackHole(cacheHits(fixture, n, &rng)) }
        withExtendedLifetime(fixture) {}
    } setup: {
        _ = cacheFixture
    }

    for strategy in RegistryStrategy.allCases {
        Benchmark(benchmarkName("Insert + remove one subscription N=0100K\(suffix(strategy))"), configuration: updates) { benchmark in
            let fixture = populated100K(strategy)
            strategy.readerThreadOnline()
            let n = benchmark.scaledIterations.count
            measure(benchmark) { try! insertRemovePairs(fixture, n) }
            withExtendedLifetime(fixture) {}
        } setup: {
            _ = populated100K(strategy)
        }

        Benchmark(benchmarkName("Lookup withSubscription(containing:) N=0100K\(suffix(strategy))")) { benchmark in
            let space = populated100K(strategy).space
            // qsbr: the benchmark thread is a long-lived online reader.
            strategy.readerThreadOnline()
            var rng = pointGenerator(benchmark)
            let n = benchmark.scaledIterations.count
            measure(benchmark) { blackHole(lookups(space, n, &rng)) }
            withExtendedLifetime(space) {}
        } setup: {
            _ = populated100K(strategy)
        }
    }
}

