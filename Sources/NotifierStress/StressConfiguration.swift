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

    /// Creates the default configuration (the values above); set properties to vary it.
    public init() {}
}

/// Deliberately broken variants of the protocol, to prove the oracle bites.
public enum BrokenVariant: String, Sendable, CaseIterable {
    /// The invalidate callback does not call `setSequence`.
    case callbackSkipsSetSequence
    /// The fault path never retries (`readRetry` treated as always false).
    case readRetryAlwaysFalse
    /// `remove` returns at once during an invalidation window.
    case removeDoesNotWait
    /// Inserts during an invalidation window enter the tree at once.
    case insertsAppliedDuringWindow
}
