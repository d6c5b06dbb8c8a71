/// A secondary figure of a measurement (``BenchMeasurement/extra``): what it
/// is and its unit. The raw value is its name in `bench.json` (the key of
/// `extra`) and in `bench.csv` (the column `extra:NAME`).
///
/// ``Comparable`` follows the name, so that CSV columns keep the order they
/// had when extras were keyed by their names.
public enum BenchExtra: String, Codable, CodingKeyRepresentable, Sendable, Hashable, CaseIterable, Comparable {
    /// `tree`: the smallest of the repetitions' figures, in the metric's unit
    /// (`ns/op` or `cpu-ns/op`).
    case min
    /// `tree`: the largest of the repetitions' figures, in the metric's unit
    /// (`ns/op` or `cpu-ns/op`).
    case max
    /// Operations per second: `lookup`, all threads together; `tree`, 1e9
    /// over the median `ns/op`.
    case opsPerSecond = "ops/s"
    /// `read-primitive`, `insert-remove`: mean wall-clock nanoseconds of one
    /// operation on one thread.
    case nanosecondsPerOperation = "ns/op"
    /// `fault-path`, `fault-path-harness`: fault retries in the point, all
    /// faulters together (a count).
    case retries
    /// `fault-path`, `fault-path-harness`: failed checks in the point (stale
    /// mirror entries; poisoned callbacks, fault timeouts); 0 in a correct run.
    case violations
    /// `mixed`: L_N / (N × L_1), the per-thread rate relative to the smallest
    /// thread count of the sweep (a ratio; 1 at that count).
    case normalizedScalability = "normalized-scalability"
    /// `churn`: inserts deferred to the end of an invalidation window during
    /// the point (a count).
    case deferredInserts = "deferred-inserts"
    /// `churn`: removes deferred to the end of an invalidation window during
    /// the point (a count).
    case deferredRemoves = "deferred-removes"
    /// `storm`: median latency of one invalidation, start to end, in nanoseconds.
    case nanosecondsP50 = "ns-p50"
    /// `storm`: 99th-percentile latency of one invalidation, start to end, in nanoseconds.
    case nanosecondsP99 = "ns-p99"
    /// `memory`: resident size of the process with the subscriptions in, in bytes.
    case residentBytes = "rss-bytes"
    /// `tree` (`bytes/interval`): the RSS growth while building the tree,
    /// over its intervals, in bytes per interval.
    case residentBytesPerInterval = "rss-bytes/interval"
    /// `tree` (`bytes/interval`): bytes of one node of the tree.
    case nodeBytes = "node-bytes"

    /// Whether `lhs`'s name sorts before `rhs`'s.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The extra named `name` in `bench.json`, or a decoding error naming it
    /// (an unknown extra is refused, not dropped).
    static func named(_ name: String, codingPath: [any CodingKey]) throws -> BenchExtra {
        guard let extra = BenchExtra(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "unknown extra \(name)"))
        }
        return extra
    }
}
