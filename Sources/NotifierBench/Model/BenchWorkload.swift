/// A workload of `notifier-bench`: what a figure belongs to, what
/// `--workload` selects and what the suite runs. Every case but
/// `fault-path-harness` is a workload of its own (``isRunnable``); the
/// fault-path points the stress harness's faulters drive (odp and hmm) run as
/// part of `fault-path` (``FaultPathSuite``). Cases are in report order
/// (tables, plots, `--help`): ``Comparable`` follows it.
public enum BenchWorkload: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    /// ``ReadPrimitiveWorkload``: `readBegin` + `readRetry` pairs.
    case readPrimitive = "read-primitive"
    /// ``FaultLoopWorkload``: the bare fault path with the `seq` protocol.
    case faultPath = "fault-path"
    /// ``FaultPathWorkload``: the fault path driven by the stress harness (odp, hmm).
    case faultPathHarness = "fault-path-harness"
    /// ``LookupWorkload``: tree lookups, with and without a writer.
    case lookup
    /// ``StormWorkload``: invalidations hitting many subscriptions.
    case storm
    /// ``ChurnWorkload``: inserts and removes during invalidations.
    case churn
    /// ``MixedWorkload``: lookups and updates in a given proportion.
    case mixed
    /// ``MemoryWorkload``: bytes per subscription.
    case memory
    /// ``InsertRemoveWorkload``: insert + remove pairs.
    case insertRemove = "insert-remove"
    /// ``TreeWorkload``: the engine's tree against a C red-black tree.
    case tree
    /// ``CacheWorkload``: the registration cache against UCX.
    case cache

    /// Whether the suite runs it as a workload of its own, and so whether
    /// `--workload` accepts its name: all but `fault-path-harness`.
    public var isRunnable: Bool { self != .faultPathHarness }

    /// The workloads `--workload` accepts and the suite runs, in report order
    /// (as `--help` lists them).
    public static let runnable: [BenchWorkload] = allCases.filter(\.isRunnable)

    /// The order the suite runs ``runnable`` in: `memory` first, while the heap is
    /// still small (its RSS deltas are then meaningful), then in report order; `cache` last, because UCX's hooks stay in
    /// the process once loaded.
    public static let runOrder: [BenchWorkload] = [.memory] + runnable.filter { $0 != .memory && $0 != .cache } + [.cache]

    /// Whether `lhs` comes before `rhs` in the report.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }

    private var order: Int { Self.allCases.firstIndex(of: self)! }
}
