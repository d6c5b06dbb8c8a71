import CNotifierCore
import IntervalNotifier

/// `read-primitive`: the cost of the collision-retry read side alone. Each
/// thread loops `readBegin` + `readRetry` on its own subscription; nothing
/// invalidates. Batches of 1024 pairs between stop-flag checks, no clock read
/// in the loop; the sequences are summed and kept alive so the loop stays.
///
/// Measurements: parameters `pairs`, metric `ops/s` (pairs per second, all threads
/// together), extra `ns/op` (mean nanoseconds per pair on one thread). The side
/// ``BenchSide/loadLoop`` (same parameters and metric) measures the machine
/// instead: per operation the loads of a `readBegin` + `readRetry` pair and
/// their compares, from a line of the thread's own, so its scaling with
/// threads is what the machine gives code of this kind when nothing is
/// shared: the ceiling of `read-primitive-scaling` in the same run.
public enum ReadPrimitiveWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.readPrimitive
    /// Pairs between two checks of the stop flag.
    static let batch = 1024

    /// Points and time of ``run(_:progress:)``.
    public static func plan(_ sweep: BenchSweep) -> BenchPlan {
        .points((sweep.strategies.count + 1) * sweep.threads.count, duration: sweep.duration)
    }

    /// Runs every strategy of `sweep` at every thread count.
    public static func run(_ sweep: BenchSweep, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        var measurements: [BenchMeasurement] = []
        let maxThreads = sweep.threads.max() ?? 1
        let parameters = BenchParameters(readOperation: .pairs)
        for strategy in sweep.strategies {
            let population = self.population(strategy: strategy, threads: maxThreads)
            for threads in sweep.threads {
                progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: threads)
                let result = point(population, strategy: strategy, threads: threads, placement: sweep.placement,
                                   duration: sweep.duration)
                let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy),
                                         threads: threads, metric: .opsPerSecond, value: result.aggregateRate,
                                         extra: [.nanosecondsPerOperation: result.meanNanosecondsPerOperation],
                                         oversubscribed: result.oversubscribed)
                progress?.end(m)
                measurements.append(m)
            }
            population.removeAll()
        }
        for threads in sweep.threads {
            progress?.begin(workload: name, parameters: parameters, strategy: BenchSide.loadLoop.name, threads: threads)
            let result = loadLoopPoint(threads: threads, placement: sweep.placement, duration: sweep.duration)
            let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .loadLoop,
                                     threads: threads, metric: .opsPerSecond, value: result.aggregateRate,
                                     extra: [.nanosecondsPerOperation: result.meanNanosecondsPerOperation],
                                     oversubscribed: result.oversubscribed)
            progress?.end(m)
            measurements.append(m)
        }
        return measurements
    }

    /// One run of `threads` load loops (the sweep's point and one side of a
    /// paired repetition).
    static func loadLoopPoint(threads: Int, placement: BenchPlacement, duration: Double) -> BenchRunResult {
        BenchRunner.run(placement: placement, duration: duration, workers: threads) { worker in
            loadLoop(worker: worker)
        }
    }

    /// The loads of a lock-free `readBegin` + `readRetry` pair (the kind byte
    /// and the global sequence of the registry, the sequence twice, a
    /// thread-local word; see ``readLoop(_:strategy:worker:)``) with their
    /// compares, from one cache line that only this thread touches.
    @inline(never)
    static func loadLoop(worker: BenchWorker) -> BenchThreadOutput {
        let line = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { line.deallocate() }
        let words = line.initializeMemory(as: UInt64.self, repeating: 0, count: 8)
        words[0] = 4
        words[1] = 3
        worker.waitForStart()
        var operations: UInt64 = 0
        var sum: UInt64 = 0
        var odd: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                // Relaxed atomic loads, so that the compiler loads every time.
                let kind = cnp_load_relaxed_u64(words)
                let observed = cnp_load_relaxed_u64(words + 1)
                let global = cnp_load_relaxed_u64(words + 2)
                let local = cnp_load_relaxed_u64(words + 3)
                if _slowPath(kind != 4 || global == observed || local != 0) { odd &+= 1 }
                if cnp_load_relaxed_u64(words + 1) != observed { odd &+= 1 }
                sum &+= observed
            }
            operations &+= UInt64(batch)
        }
        benchBlackHole(sum &+ odd)
        return BenchThreadOutput(operations: operations)
    }

    /// An address space of `strategy` with one disjoint subscription per thread, 1 MiB apart.
    static func population(strategy: RegistryStrategy, threads: Int) -> BenchPopulation {
        let population = BenchPopulation(space: AddressSpace(strategy: strategy), capacity: threads)
        for i in 0..<threads { population.append(start: UInt64(i) << 20, last: UInt64(i) << 20 + 0xFFFF) }
        return population
    }

    /// One run of `threads` readers over `population` (the sweep's point and
    /// one side of a paired repetition).
    static func point(_ population: BenchPopulation, strategy: RegistryStrategy, threads: Int,
                      placement: BenchPlacement, duration: Double) -> BenchRunResult {
        BenchRunner.run(placement: placement, duration: duration, workers: threads) { worker in
            readLoop(population.slots[worker.index].takeUnretainedValue(), strategy: strategy, worker: worker)
        }
    }

    @inline(never)
    static func readLoop(_ subscription: IntervalSubscription, strategy: RegistryStrategy, worker: BenchWorker) -> BenchThreadOutput {
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        var sum: UInt64 = 0
        var retries: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let sequence = try! subscription.readBegin()
                if subscription.readRetry(sequence) { retries &+= 1 }
                sum &+= sequence
            }
            operations &+= UInt64(batch)
            strategy.readerQuiescentState()
        }
        strategy.readerThreadOffline()
        benchBlackHole(sum)
        return BenchThreadOutput(operations: operations, counters: [retries])
    }
}
