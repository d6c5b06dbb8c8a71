import IntervalNotifier
import NotifierHarness

/// `storm`: invalidation throughput and latency when each invalidation hits
/// exactly 1, 16 or 256 subscriptions, while a faulter runs.
///
/// Layout: 4096 subscriptions, subscription j covering page j
/// (`[j * 4096, j * 4096 + 4095]`); an invalidation of `hits` pages starting at
/// a random page boundary hits exactly `hits` subscriptions. Each subscription
/// has its own user lock; its callback takes the lock and calls `setSequence`.
/// The measured threads are invalidators (`invalidateRangeStart` then
/// `invalidateRangeEnd`, blockable, event `clear`); one helper faulter loops
/// `readBegin`, lock, `readRetry`, unlock on random subscriptions. One
/// invalidation in 32 is timed, start call to end return, into a per-thread
/// ring of samples allocated before the start.
///
/// Measurements: parameters `hits=H`, metric `ops/s` (invalidations per second,
/// all invalidators together), extras `ns-p50`, `ns-p99` (latency of one
/// invalidation, start to end).
public enum StormWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.storm
    /// Subscriptions laid out, one per page.
    static let subscriptions = 4096
    /// Bytes per page.
    static let page: UInt64 = 4096
    /// Invalidations between two checks of the stop flag.
    static let batch = 16
    /// One invalidation in this many is timed.
    static let samplePeriod: UInt64 = 32
    /// Samples kept per thread (a ring: the latest ones).
    static let sampleCapacity = 1 << 16
    /// The default hit counts.
    public static let defaultHits = [1, 16, 256]

    /// Points and time of ``run(_:hits:progress:)``.
    public static func plan(_ sweep: BenchSweep, hits: [Int] = defaultHits) -> BenchPlan {
        .points(sweep.strategies.count * hits.count * sweep.threads.count, duration: sweep.duration)
    }

    /// Runs each strategy, each hit count, each thread count (invalidators).
    public static func run(_ sweep: BenchSweep, hits: [Int] = defaultHits, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        precondition(hits.allSatisfy { $0 >= 1 && $0 <= subscriptions })
        var measurements: [BenchMeasurement] = []
        for strategy in sweep.strategies {
            let population = BenchPopulation(space: AddressSpace(strategy: strategy), capacity: subscriptions)
            let locks = (0..<subscriptions).map { _ in PThreadMutex() }
            for j in 0..<subscriptions {
                let lock = locks[j]
                population.append(start: UInt64(j) * page, last: UInt64(j + 1) * page - 1) { subscription, _, sequence in
                    lock.lock()
                    subscription.setSequence(sequence)
                    lock.unlock()
                    return true
                }
            }
            for h in hits {
                let parameters = BenchParameters(hits: h)
                for threads in sweep.threads {
                    progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: threads)
                    let result = BenchRunner.run(placement: sweep.placement, duration: sweep.duration, workers: threads, { worker in
                        invalidatorLoop(population.space, hits: h, strategy: strategy, worker: worker)
                    }, helpers: [{ worker in
                        faulterLoop(population, locks: locks, strategy: strategy, worker: worker)
                    }])
                    let samples = result.allSamples.sorted()
                    let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy), threads: threads,
                                             metric: .opsPerSecond, value: result.aggregateRate,
                                             extra: [.nanosecondsP50: benchPercentile(samples, 0.50),
                                                     .nanosecondsP99: benchPercentile(samples, 0.99)],
                                             oversubscribed: result.oversubscribed)
                    progress?.end(m)
                    measurements.append(m)
                }
            }
            population.removeAll()
        }
        return measurements
    }

    @inline(never)
    static func invalidatorLoop(_ space: AddressSpace, hits: Int, strategy: RegistryStrategy, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0x5702))
        var samples = [UInt64](repeating: 0, count: sampleCapacity)
        var taken = 0
        let starts = subscriptions - hits + 1
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let first = UInt64(benchRandom(&rng, below: starts))
                let range = try! InvalidationRange(start: first * page, last: (first + UInt64(hits)) * page - 1, event: .clear)
                if operations % samplePeriod == 0 {
                    let begin = MonotonicClock.nanoseconds()
                    try! space.invalidateRangeStart(range)
                    try! space.invalidateRangeEnd(range)
                    samples[taken & (sampleCapacity - 1)] = MonotonicClock.nanoseconds() &- begin
                    taken &+= 1
                } else {
                    try! space.invalidateRangeStart(range)
                    try! space.invalidateRangeEnd(range)
                }
                operations &+= 1
            }
            strategy.readerQuiescentState()
        }
        strategy.readerThreadOffline()
        if taken < sampleCapacity { samples.removeLast(sampleCapacity - taken) }
        return BenchThreadOutput(operations: operations, samples: samples)
    }

    /// The helper faulter: the collision-retry read side on random subscriptions.
    @inline(never)
    static func faulterLoop(_ population: BenchPopulation, locks: [PThreadMutex], strategy: RegistryStrategy,
                            worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0xFA17))
        let count = population.count
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        var retries: UInt64 = 0
        while worker.isRunning {
            let j = benchRandom(&rng, below: count)
            let subscription = population.slots[j].takeUnretainedValue()
            let sequence = try! subscription.readBegin()
            locks[j].lock()
            if subscription.readRetry(sequence) { retries &+= 1 }
            locks[j].unlock()
            operations &+= 1
            strategy.readerQuiescentState()
        }
        strategy.readerThreadOffline()
        return BenchThreadOutput(operations: operations, counters: [retries])
    }
}
