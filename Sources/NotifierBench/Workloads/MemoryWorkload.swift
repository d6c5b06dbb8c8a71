import IntervalNotifier
import NotifierHarness

/// `memory`: resident bytes per subscription with 1 000 000 subscriptions.
///
/// Method, per strategy, on the calling thread: settle (two RCU barriers so
/// that pending frees ran, then `malloc_trim(0)` so that freed heap pages go
/// back to the system), read VmRSS (`/proc/self/statm`), insert the workload L
/// intervals (no-op callbacks) into a fresh ``AddressSpace``, settle again (so
/// that tree nodes retired by path copying are reclaimed into the tree's pool),
/// read VmRSS again. The figure is the difference divided by the count: the
/// subscription objects, the tree nodes and allocator overhead. The buffer
/// that keeps the references is allocated and touched before the first
/// reading, so it does not count. Then every subscription is removed and the
/// memory settled before the next strategy. The suite runs this workload first,
/// before other workloads have grown the heap.
///
/// Measurements: parameters `size=N`, metric `bytes/subscription`, extra
/// `rss-bytes` (resident size of the process with the subscriptions in).
public enum MemoryWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.memory

    /// Points and time of ``run(strategies:size:progress:)``.
    public static func plan(strategies: [RegistryStrategy], size: Int = 1_000_000) -> BenchPlan {
        BenchPlan(points: strategies.count,
                  seconds: Double(strategies.count) * (Double(size) * BenchPlan.secondsPerSubscription + 0.1))
    }

    /// Measures each strategy in turn.
    public static func run(strategies: [RegistryStrategy], size: Int = 1_000_000, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        let parameters = BenchParameters(size: size)
        return strategies.map { strategy in
            progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: 1)
            let population = BenchPopulation(space: AddressSpace(strategy: strategy), capacity: size)
            benchSettleMemory()
            let before = benchResidentBytes()
            population.appendWorkloadL(count: size)
            benchSettleMemory()
            let after = benchResidentBytes()
            population.removeAll()
            benchSettleMemory()
            let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy), threads: 1,
                                     metric: .bytesPerSubscription, value: Double(after - before) / Double(size),
                                     extra: [.residentBytes: Double(after)])
            progress?.end(m)
            return m
        }
    }
}
