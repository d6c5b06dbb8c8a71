import IntervalNotifier
import NotifierHarness

/// `churn`: update pairs (remove a random subscription, insert a new random
/// one) on a registry of 100 000 workload L subscriptions while one faulter and
/// one invalidator run, so that inserts and removes land inside invalidation
/// windows and take the deferred paths.
///
/// Each measured churner owns the slots `i` with `i % threads == index`, so
/// churners never touch the same subscription. The helper invalidator loops
/// `invalidateRangeStart`/`End` over workload L ranges (start uniform in
/// [0, 2^32), length in [1, 2^16]); the helper faulter runs the
/// collision-retry read side on 64 extra subscriptions (workload L ranges,
/// never churned) whose callbacks take a per-subscription lock and call
/// `setSequence`.
///
/// Measurements: parameters `size=100000`, metric `ops/s` (update pairs per
/// second, all churners together), extras `deferred-inserts` and
/// `deferred-removes`: inserts and removes deferred to the end of a window
/// during the point (differences of ``AddressSpace/statistics``).
public enum ChurnWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.churn
    /// Subscriptions the faulter works on.
    static let faulterSubscriptions = 64

    /// Points and time of ``run(_:size:progress:)``.
    public static func plan(_ sweep: BenchSweep, size: Int = 100_000) -> BenchPlan {
        .points(sweep.strategies.count * sweep.threads.count, duration: sweep.duration,
                setupSeconds: Double(sweep.strategies.count * size) * BenchPlan.secondsPerSubscription)
    }

    /// Runs each strategy at each thread count (churners).
    public static func run(_ sweep: BenchSweep, size: Int = 100_000, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        var measurements: [BenchMeasurement] = []
        let parameters = BenchParameters(size: size)
        for strategy in sweep.strategies {
            let population = BenchPopulation.workloadL(strategy: strategy, count: size)
            let mirrored = BenchPopulation(space: population.space, capacity: faulterSubscriptions)
            let locks = (0..<faulterSubscriptions).map { _ in PThreadMutex() }
            var rng = Xorshift64(seed: 0x0F00_D000)
            for j in 0..<faulterSubscriptions {
                let lock = locks[j]
                let entry = WorkloadL.interval(&rng, value: 0)
                mirrored.append(start: entry.start, last: entry.last) { subscription, _, sequence in
                    lock.lock()
                    subscription.setSequence(sequence)
                    lock.unlock()
                    return true
                }
            }
            for threads in sweep.threads {
                progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: threads)
                let before = population.space.statistics
                let result = BenchRunner.run(placement: sweep.placement, duration: sweep.duration, workers: threads, { worker in
                    churnLoop(population, threads: threads, worker: worker)
                }, helpers: [
                    { worker in StormWorkload.faulterLoop(mirrored, locks: locks, strategy: strategy, worker: worker) },
                    { worker in invalidatorLoop(population.space, worker: worker) },
                ])
                let after = population.space.statistics
                let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy), threads: threads,
                                         metric: .opsPerSecond, value: result.aggregateRate,
                                         extra: [.deferredInserts: Double(after.deferredInserts - before.deferredInserts),
                                                 .deferredRemoves: Double(after.deferredRemoves - before.deferredRemoves)],
                                         oversubscribed: result.oversubscribed)
                progress?.end(m)
                measurements.append(m)
            }
            mirrored.removeAll()
            population.removeAll()
        }
        return measurements
    }

    @inline(never)
    static func churnLoop(_ population: BenchPopulation, threads: Int, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0xC4A2))
        // This thread's slots: index, index + threads, index + 2 * threads, ...
        let owned = (population.count - worker.index + threads - 1) / threads
        worker.waitForStart()
        var operations: UInt64 = 0
        while worker.isRunning {
            population.replace(at: worker.index + threads * benchRandom(&rng, below: owned), &rng)
            operations &+= 1
        }
        return BenchThreadOutput(operations: operations)
    }

    /// The helper invalidator: workload L ranges, back to back. It does no
    /// lookup of its own and stays a qsbr offline thread: it may wait for the
    /// registry's lock while a churner holds it.
    @inline(never)
    static func invalidatorLoop(_ space: AddressSpace, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0x1A7A))
        worker.waitForStart()
        var operations: UInt64 = 0
        while worker.isRunning {
            let entry = WorkloadL.interval(&rng, value: 0)
            let range = try! InvalidationRange(start: entry.start, last: entry.last, event: .clear)
            try! space.invalidateRangeStart(range)
            try! space.invalidateRangeEnd(range)
            operations &+= 1
        }
        return BenchThreadOutput(operations: operations)
    }
}
