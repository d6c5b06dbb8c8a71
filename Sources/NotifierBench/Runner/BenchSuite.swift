import IntervalNotifier
import NotifierStress

/// Everything `notifier-bench` was asked to run.
public struct BenchOptions: Sendable {
    /// Strategies.
    public var strategies: [RegistryStrategy] = RegistryStrategy.allCases
    /// Whether the strategies were named on the command line (`--strategy` or
    /// `--flavor`). When not, the bp and mb flavours run only in the workloads
    /// that show what a flavour costs (``flavourWorkloads``): elsewhere they
    /// behave as memb does and would only lengthen the suite.
    public var strategiesNamed = false
    /// The workloads the bp and mb flavours run in by default.
    public static let flavourWorkloads: Set<BenchWorkload> = [.readPrimitive, .faultPath, .lookup]
    /// The flavours that run only in ``flavourWorkloads`` unless named.
    public static let flavourOnlyStrategies: Set<RegistryStrategy> = [.rcu(.bp), .rcu(.mb)]

    /// The strategies `workload` runs with.
    public func strategies(for workload: BenchWorkload) -> [RegistryStrategy] {
        if strategiesNamed || Self.flavourWorkloads.contains(workload) { return strategies }
        return strategies.filter { !Self.flavourOnlyStrategies.contains($0) }
    }
    /// Mirror protocols of the fault-path workload.
    public var protocols: [MirrorProtocol] = MirrorProtocol.allCases
    /// Workloads, among ``BenchWorkload/runnable`` (run in ``BenchWorkload/runOrder``).
    public var workloads: [BenchWorkload] = BenchWorkload.runnable
    /// Thread counts given with `--threads` (nil: the placement's default sweep).
    public var threads: [Int]? = nil
    /// Measured seconds per point (nil: 2, or 0.3 with ``quick``).
    public var duration: Double? = nil
    /// NUMA nodes to place threads on (nil: all allowed CPUs).
    public var nodes: [Int]? = nil
    /// The short suite: fewer sizes, shorter points.
    public var quick = false
    /// Where threads run.
    public var placement: BenchPlacement

    /// Options with defaults over `placement`.
    public init(placement: BenchPlacement) {
        self.placement = placement
    }

    /// Paired repetitions of the ratio targets (``PairedRepetitions/quick``
    /// with ``quick``, else ``PairedRepetitions/full``).
    public var pairing: PairedRepetitions { quick ? .quick : .full }
    /// Measured seconds per point.
    public var effectiveDuration: Double { duration ?? (quick ? 0.3 : 2) }
    /// The thread sweep.
    public var sweepThreads: [Int] { threads ?? placement.defaultSweep }
    /// Thread counts of `lookup`: 1 and the core count (or the given list).
    public var lookupThreads: [Int] { threads ?? Array(Set([1, placement.cores])).sorted() }
    /// Registry sizes of `lookup`.
    public var lookupSizes: [Int] { quick ? [1000, 100_000, 1_000_000] : [1000, 10_000, 100_000, 1_000_000] }
    /// Region counts of `cache` (given with `--cache-sizes`, else 1e3, 1e5, 1e6; `--quick` drops 1e6).
    public var cacheSizes: [Int]? = nil
    /// Region counts `cache` runs.
    public var effectiveCacheSizes: [Int] { cacheSizes ?? (quick ? [1000, 100_000] : [1000, 100_000, 1_000_000]) }
    /// Subscriptions of `memory`.
    public var memorySize: Int { 1_000_000 }
    /// Sizes and paired repetitions of `tree` (it ignores strategies, threads and duration).
    public var treeSettings: TreeWorkload.Settings { TreeWorkload.Settings.suite(quick: quick) }

    /// The sweep over the options' strategies, threads and duration.
    public var sweep: BenchSweep {
        BenchSweep(strategies: strategies, threads: sweepThreads, duration: effectiveDuration, placement: placement)
    }
}

/// What one workload of a suite produced: its figures, and the paired
/// repetitions of ratio targets it measured itself (`tree`; the others leave
/// theirs to ``PairedRunner`` after the sweep).
public struct BenchItemOutput: Sendable {
    /// The figures.
    public var measurements: [BenchMeasurement]
    /// Paired repetitions already taken.
    public var pairs: [PairedRatio]

    /// Creates an output.
    public init(measurements: [BenchMeasurement], pairs: [PairedRatio] = []) {
        self.measurements = measurements
        self.pairs = pairs
    }
}

/// One workload of a suite, with its plan and how to run it.
public struct BenchSuiteItem: Sendable {
    /// Which workload.
    public var workload: BenchWorkload
    /// Its points and estimated time.
    public var plan: BenchPlan
    /// Runs it.
    public var run: @Sendable (BenchProgress?) -> BenchItemOutput

    /// An item whose workload produces figures only.
    public init(workload: BenchWorkload, plan: BenchPlan, run: @escaping @Sendable (BenchProgress?) -> [BenchMeasurement]) {
        self.workload = workload
        self.plan = plan
        self.run = { BenchItemOutput(measurements: run($0)) }
    }

    /// An item whose workload also takes paired repetitions.
    public init(workload: BenchWorkload, plan: BenchPlan, runPaired: @escaping @Sendable (BenchProgress?) -> BenchItemOutput) {
        self.workload = workload
        self.plan = plan
        self.run = runPaired
    }
}

/// The suite: the selected workloads with the parameters the options imply.
public enum BenchSuite {
    /// The items to run, in ``BenchWorkload/runOrder`` (a workload that is not
    /// ``BenchWorkload/isRunnable`` gives none).
    public static func items(_ options: BenchOptions) -> [BenchSuiteItem] {
        let sweep = options.sweep
        let lookupSweep = sweep.with(threads: options.lookupThreads)
        let sizes = options.lookupSizes
        let protocols = options.protocols
        let large = !options.quick
        let nodes = options.nodes
        let memorySize = options.memorySize
        let treeSettings = options.treeSettings
        let placement = options.placement
        let cacheSizes = options.effectiveCacheSizes
        let cacheDuration = min(options.effectiveDuration, 0.3)
        return BenchWorkload.runOrder.filter(options.workloads.contains).compactMap { workload in
            let sweep = sweep.with(strategies: options.strategies(for: workload))
            let lookupSweep = lookupSweep.with(strategies: options.strategies(for: workload))
            return switch workload {
            case .readPrimitive:
                BenchSuiteItem(workload: workload, plan: ReadPrimitiveWorkload.plan(sweep)) { ReadPrimitiveWorkload.run(sweep, progress: $0) }
            case .faultPath:
                BenchSuiteItem(workload: workload, plan: FaultPathSuite.plan(sweep, protocols: protocols, includeLarge: large)) {
                    FaultPathSuite.run(sweep, protocols: protocols, includeLarge: large, nodes: nodes, progress: $0)
                }
            case .lookup:
                BenchSuiteItem(workload: workload, plan: LookupWorkload.plan(lookupSweep, sizes: sizes)) {
                    LookupWorkload.run(lookupSweep, sizes: sizes, progress: $0)
                }
            case .storm:
                BenchSuiteItem(workload: workload, plan: StormWorkload.plan(sweep)) { StormWorkload.run(sweep, progress: $0) }
            case .churn:
                BenchSuiteItem(workload: workload, plan: ChurnWorkload.plan(sweep)) { ChurnWorkload.run(sweep, progress: $0) }
            case .mixed:
                BenchSuiteItem(workload: workload, plan: MixedWorkload.plan(sweep)) { MixedWorkload.run(sweep, progress: $0) }
            case .memory:
                BenchSuiteItem(workload: workload, plan: MemoryWorkload.plan(strategies: sweep.strategies, size: memorySize)) {
                    MemoryWorkload.run(strategies: sweep.strategies, size: memorySize, progress: $0)
                }
            case .insertRemove:
                BenchSuiteItem(workload: workload, plan: InsertRemoveWorkload.plan(sweep)) { InsertRemoveWorkload.run(sweep, progress: $0) }
            case .tree:
                BenchSuiteItem(workload: workload, plan: TreeWorkload.plan(treeSettings), runPaired: { progress in
                    let output = TreeWorkload.run(treeSettings, placement: placement, progress: progress)
                    return BenchItemOutput(measurements: output.measurements, pairs: output.pairs)
                })
            case .cache:
                BenchSuiteItem(workload: workload, plan: CacheWorkload.plan(sizes: cacheSizes, duration: cacheDuration), runPaired: {
                    CacheWorkload.run(sizes: cacheSizes, duration: cacheDuration, placement: placement, progress: $0)
                })
            case .faultPathHarness:
                nil  // runs within fault-path (FaultPathSuite)
            }
        }
    }
}
