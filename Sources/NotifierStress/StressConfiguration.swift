import IntervalNotifier

/// Everything a stress run can vary.
public struct StressConfiguration: Sendable {
    /// Run length in seconds.
    public var duration: Double = 5
    /// Seed of every random choice (each thread derives its own generator).
    public var seed: UInt64 = 1
    /// Fault generator threads.
    public var faulters = 2
    /// Invalidate generator threads.
    public var invalidators = 1
    /// Subscription churn threads.
    public var churners = 1
    /// Pages of the simulated address space.
    public var pages = 4096
    /// Subscription slots (each a mirror of one range).
    public var subscriptions = 64
    /// Largest subscription, in pages.
    public var maxSubscriptionPages = 64
    /// Fraction of invalidations that are non-blockable.
    public var nonBlockableFraction = 0.2
    /// Fraction of removals done with `put` (release callback) instead of `remove`.
    public var putFraction = 0.3
    /// Events invalidators draw from (uniformly).
    public var events: [InvalidationEvent] = [.unmap, .clear, .protectionPage, .migrate]
    /// Tear the address space down at this fraction of the run (nil: at the end only).
    public var teardownAt: Double? = nil
    /// NUMA nodes to use (nil: all); with `fakeNodes`, pretend nodes.
    public var nodes: [Int]? = nil
    /// Split the allowed CPUs into this many pretend NUMA nodes.
    public var fakeNodes: Int? = nil
    /// Pin every thread to this one CPU (overrides the node placement).
    public var singleCPU: Int? = nil
    /// A wait longer than this is a hang (seconds).
    public var hangBound: Double = 10
    /// Fault retry budget, like the RDMA ODP 1000 ms fault timeout (seconds).
    public var faultTimeout: Double = 1
    /// Deliberate protocol bugs (tests of the oracle only).
    public var brokenVariant: BrokenVariant? = nil
    /// Print a progress line every second.
    public var progress = false
    /// How the mirrors' fault paths synchronise with invalidations (see ``MirrorProtocol``).
    public var mirrorProtocol: MirrorProtocol = .seq
    /// Registry strategy of the address space. Faulters (the threads that look
    /// subscriptions up) follow its reader-thread contract.
    public var strategy: RegistryStrategy = .default
    /// Whether faulters take timestamps and record the fault and `readBegin`
    /// latency histograms. Benchmarks turn it off: the clock reads and histogram
    /// updates would be most of a fault's cost.
    public var recordLatencies = true
    /// Whether the checker thread (the sampling no-stale-mirror oracle, the
    /// invariant checks and the hang watchdog) runs and the final checks and
    /// teardown are done. When false, the run only cleans up (removes every
    /// subscription); per-fault checks (poisoned callbacks, fault timeouts) stay.
    public var oracleChecks = true
    /// When set, every invalidation covers 1 to this many pages (uniformly);
    /// when nil, the default mix: 60 % 1 to 16 pages, 35 % up to an eighth of
    /// the pages, 5 % all of them. Benchmarks with many subscriptions set it so
    /// that one invalidation does not call a large share of all callbacks.
    public var maxInvalidationPages: Int? = nil

    /// Creates the default configuration (the values above); set properties to vary it.
    /// Where invalidations come from: the invalidator threads' explicit calls,
    /// or real memory churn seen by a ``UserfaultfdMonitor`` (see ``MemoryChurnRun``).
    public var source: InvalidationSourceKind = .explicit

    public init() {}
}

/// Deliberately broken variants of the protocols, to prove the oracle bites.
public enum BrokenVariant: String, Sendable, CaseIterable {
    /// The invalidate callback does not call `setSequence`.
    case callbackSkipsSetSequence
    /// The fault path never retries (`readRetry` treated as always false).
    case readRetryAlwaysFalse
    /// `remove` returns at once during an invalidation window.
    case removeDoesNotWait
    /// Inserts during an invalidation window enter the tree at once.
    case insertsAppliedDuringWindow
    /// `odp`: the faulter installs without taking the range's write lock.
    case odpFaulterSkipsWriteLock
    /// `odp`: the faulter uses a subscription inserted while invalidations were
    /// in flight before a moment with none in flight (no `mn_counters_active` wait).
    case odpSkipsActivationWait
    /// `hmm`: the faulter does not re-check `valid` under the update lock.
    case hmmSkipsValidRecheck
    /// `hmm`: the faulter does not compare the quiescence epoch under the update
    /// lock: the `valid` flag ABA of the 2019 HMM (see ``MirrorProtocol/hmm``).
    case hmmSkipsEpochCheck
    /// `hmm`: a mirror registered while invalidations are in flight starts valid
    /// (`hmm_range_register` without its `!hmm->notifiers` test).
    case hmmNewMirrorStartsValid

    /// The protocol whose fault or invalidate path this variant breaks, or nil
    /// for the engine-side faults, which every protocol's oracle catches.
    public var requiredProtocol: MirrorProtocol? {
        switch self {
        case .callbackSkipsSetSequence, .readRetryAlwaysFalse: .seq
        case .removeDoesNotWait, .insertsAppliedDuringWindow: nil
        case .odpFaulterSkipsWriteLock, .odpSkipsActivationWait: .odp
        case .hmmSkipsValidRecheck, .hmmSkipsEpochCheck, .hmmNewMirrorStartsValid: .hmm
        }
    }
}

/// The invalidation source a stress run drives (`--source`).
public enum InvalidationSourceKind: String, Sendable, CaseIterable {
    /// Invalidator threads call `invalidateRangeStart`/`End` on simulated pages.
    case explicit
    /// Mutator threads `munmap`, `madvise` and `mremap` real pages that a
    /// ``UserfaultfdMonitor`` watches (``MemoryChurnRun``).
    case uffd
}
