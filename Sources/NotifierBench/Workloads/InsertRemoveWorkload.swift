import IntervalNotifier

/// `insert-remove`: the workload L update pair on one thread, nothing else
/// running: remove a random subscription of 100 000, insert a new random one.
///
/// Measurements: parameters `size=100000`, metric `ops/s` (pairs per second),
/// extra `ns/op` (nanoseconds per pair).
public enum InsertRemoveWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.insertRemove

    /// Points and time of ``run(_:size:progress:)`` (one thread per strategy).
    public static func plan(_ sweep: BenchSweep, size: Int = 100_000) -> BenchPlan {
        .points(sweep.strategies.count, duration: sweep.duration,
                setupSeconds: Double(sweep.strategies.count * size) * BenchPlan.secondsPerSubscription)
    }

    /// Runs each strategy on one thread (`sweep.threads` is not used).
    public static func run(_ sweep: BenchSweep, size: Int = 100_000, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        let parameters = BenchParameters(size: size)
        return sweep.strategies.map { strategy in
            let population = BenchPopulation.workloadL(strategy: strategy, count: size)
            defer { population.removeAll() }
            progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: 1)
            let result = BenchRunner.run(placement: sweep.placement, duration: sweep.duration, workers: 1) { worker in
                LookupWorkload.writerLoop(population, worker: worker)
            }
            let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy), threads: 1,
                                     metric: .opsPerSecond, value: result.aggregateRate,
                                     extra: [.nanosecondsPerOperation: result.meanNanosecondsPerOperation],
                                     oversubscribed: result.oversubscribed)
            progress?.end(m)
            return m
        }
    }
}
