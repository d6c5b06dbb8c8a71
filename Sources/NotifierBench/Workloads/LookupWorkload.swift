import IntervalNotifier
import NotifierHarness

/// `lookup`: stabbing lookups ("first hit") of workload L points in a registry
/// of workload L subscriptions, with and without a concurrent writer.
///
/// For each size the subscriptions (no-op callbacks) are inserted into an
/// ``AddressSpace`` of each strategy; each thread calls
/// `withSubscription(containing: point)` at xorshift points in [0, 2^32), 64
/// per stop-flag check. `writer=yes` adds one helper thread that churns the
/// registry (remove a random subscription, insert a new random one) throughout.
/// The `unsynchronized` baseline builds an ``RCUIntervalTree`` of the same
/// entries and queries `tree.snapshot().firstOverlapping(start: p, last: p)`
/// with no read-side section at all (writer=no only). The `read-section-only`
/// side walks that tree the same way, each walk inside a memb read-side
/// section of its own and nothing else (writer=no only): the read side's own
/// price, with none of the engine's, so that `lookup-overhead` has its floor
/// measured beside it.
///
/// Measurements: parameters `size=S writer=no|yes`, metric `ns/op` (mean
/// nanoseconds per lookup on one thread), extra `ops/s` (all threads together).
public enum LookupWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.lookup
    /// Lookups between two checks of the stop flag.
    static let batch = 64

    /// Points and time of ``run(_:sizes:progress:)``.
    public static func plan(_ sweep: BenchSweep, sizes: [Int]) -> BenchPlan {
        let perSize = sweep.threads.count * (2 + 2 * sweep.strategies.count)
        let setup = sizes.reduce(0.0) { $0 + Double($1) * Double(1 + sweep.strategies.count) * BenchPlan.secondsPerSubscription }
        return .points(perSize * sizes.count, duration: sweep.duration, setupSeconds: setup)
    }

    /// Runs, for each size: the baseline, then each strategy with writer=no and writer=yes,
    /// at each thread count of `sweep`.
    public static func run(_ sweep: BenchSweep, sizes: [Int], progress: BenchProgress? = nil) -> [BenchMeasurement] {
        var measurements: [BenchMeasurement] = []
        for size in sizes {
            // Baselines: the same entries, with no synchronisation and with
            // the read-side section alone.
            do {
                let tree = baselineTree(size: size)
                let parameters = BenchParameters(size: size, writer: false)
                for side in [BenchSide.unsynchronized, .readSectionOnly] {
                    for threads in sweep.threads {
                        progress?.begin(workload: name, parameters: parameters, strategy: side.name, threads: threads)
                        let result = baselinePoint(tree, side: side, threads: threads, placement: sweep.placement,
                                                   duration: sweep.duration)
                        let m = measurement(parameters, strategy: side, threads: threads, result)
                        progress?.end(m)
                        measurements.append(m)
                    }
                }
            }
            for strategy in sweep.strategies {
                let population = BenchPopulation.workloadL(strategy: strategy, count: size)
                for writer in [false, true] {
                    let parameters = BenchParameters(size: size, writer: writer)
                    for threads in sweep.threads {
                        progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: threads)
                        let result = point(population, strategy: strategy, writer: writer, threads: threads,
                                           placement: sweep.placement, duration: sweep.duration)
                        let m = measurement(parameters, strategy: .registry(strategy), threads: threads, result)
                        progress?.end(m)
                        measurements.append(m)
                    }
                }
                population.removeAll()
            }
        }
        return measurements
    }

    /// One run of `threads` lookups in `population`, with a writer or not (the
    /// sweep's point and one side of a paired repetition).
    static func point(_ population: BenchPopulation, strategy: RegistryStrategy, writer: Bool, threads: Int,
                      placement: BenchPlacement, duration: Double) -> BenchRunResult {
        let helpers: [BenchThreadBody] = writer ? [{ worker in writerLoop(population, worker: worker) }] : []
        return BenchRunner.run(placement: placement, duration: duration, workers: threads, { worker in
            lookupLoop(population.space, strategy: strategy, worker: worker)
        }, helpers: helpers)
    }

    /// One run of `threads` lookups in `tree` by a baseline side:
    /// ``BenchSide/unsynchronized`` or ``BenchSide/readSectionOnly``.
    static func baselinePoint(_ tree: RCUIntervalTree, side: BenchSide, threads: Int, placement: BenchPlacement,
                              duration: Double) -> BenchRunResult {
        guard side == .unsynchronized || side == .readSectionOnly else {
            fatalError("lookup: \(side) is not a baseline side (unsynchronized, read-section-only)")
        }
        return BenchRunner.run(placement: placement, duration: duration, workers: threads) { worker in
            side == .unsynchronized ? unsynchronizedLoop(tree, worker: worker) : readSectionLoop(tree, worker: worker)
        }
    }

    /// The baseline's tree: the workload L entries of `size`.
    static func baselineTree(size: Int) -> RCUIntervalTree {
        let tree = RCUIntervalTree()
        for entry in workloadLEntries(count: size) { tree.insert(entry) }
        return tree
    }

    static func measurement(_ parameters: BenchParameters, strategy: BenchSide, threads: Int,
                            _ result: BenchRunResult) -> BenchMeasurement {
        BenchMeasurement(workload: name, parameters: parameters, strategy: strategy, threads: threads,
                         metric: .nanosecondsPerOperation, value: result.meanNanosecondsPerOperation,
                         extra: [.opsPerSecond: result.aggregateRate], oversubscribed: result.oversubscribed)
    }

    @inline(never)
    static func lookupLoop(_ space: AddressSpace, strategy: RegistryStrategy, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index))
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        var hits: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let point = WorkloadL.point(&rng)
                hits &+= space.withSubscription(containing: point) { $0 == nil ? 0 : 1 }
            }
            operations &+= UInt64(batch)
            strategy.readerQuiescentState()
        }
        strategy.readerThreadOffline()
        benchBlackHole(hits)
        return BenchThreadOutput(operations: operations, counters: [hits])
    }

    @inline(never)
    static func unsynchronizedLoop(_ tree: RCUIntervalTree, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index))
        worker.waitForStart()
        var operations: UInt64 = 0
        var hits: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let point = WorkloadL.point(&rng)
                // No read-side section: nothing changes the tree during the run.
                hits &+= tree.snapshot().firstOverlapping(start: point, last: point) == nil ? 0 : 1
            }
            operations &+= UInt64(batch)
        }
        benchBlackHole(hits)
        return BenchThreadOutput(operations: operations, counters: [hits])
    }

    /// The `read-section-only` loop: `unsynchronizedLoop` with each walk in a
    /// memb read-side section of its own, entered and left as the engine's
    /// lookups do (``RCU/readLock()`` registers the thread on first use).
    @inline(never)
    static func readSectionLoop(_ tree: RCUIntervalTree, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index))
        worker.waitForStart()
        var operations: UInt64 = 0
        var hits: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let point = WorkloadL.point(&rng)
                RCU.readLock()
                hits &+= tree.snapshot().firstOverlapping(start: point, last: point) == nil ? 0 : 1
                RCU.readUnlock()
            }
            operations &+= UInt64(batch)
        }
        benchBlackHole(hits)
        return BenchThreadOutput(operations: operations, counters: [hits])
    }

    /// The writer of `writer=yes`: workload L update pairs, continuously.
    @inline(never)
    static func writerLoop(_ population: BenchPopulation, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0xC0FFEE))
        let count = population.count
        worker.waitForStart()
        var operations: UInt64 = 0
        while worker.isRunning {
            population.replace(at: benchRandom(&rng, below: count), &rng)
            operations &+= 1
        }
        return BenchThreadOutput(operations: operations)
    }
}
