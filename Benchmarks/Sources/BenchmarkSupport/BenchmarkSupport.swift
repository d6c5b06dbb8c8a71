// What both benchmark executables share: the point generator, retain and release
// counting (CARCCounter), the measurement wrappers and the threshold tolerances.

import Benchmark
import CARCCounter
import IntervalNotifier
import NotifierHarness

/// A point generator for one iteration, different in every iteration.
@inlinable @inline(__always)
public func pointGenerator(_ benchmark: Benchmark) -> Xorshift64 {
    Xorshift64(seed: 0x0123_4567_89AB_CDEF &+ UInt64(truncatingIfNeeded: benchmark.currentIteration) &* 0x9E37_79B9_7F4A_7C15)
}

/// Retain and release counts.
///
/// package-benchmark's `.retainCount` / `.releaseCount` crash with Swift 6.3 on
/// Linux unless its swift-runtime-interposer dependency is available (benchmark
/// issue #349; it is not in the offline mirror), so on Linux the counts come
/// from the counting `swift_retain` / `swift_release` of the CARCCounter target,
/// read around the measured call only (harness traffic excluded).
public enum ARCMetrics {
    #if os(Linux)
    /// Retains made by the measured call.
    public static let retains = BenchmarkMetric.custom("retains", polarity: .prefersSmaller, useScalingFactor: true)
    /// Releases made by the measured call.
    public static let releases = BenchmarkMetric.custom("releases", polarity: .prefersSmaller, useScalingFactor: true)
    /// Both.
    public static let metrics: [BenchmarkMetric] = [retains, releases]
    #else
    /// The built-in counts, where they work.
    public static let metrics: [BenchmarkMetric] = [.retainCount, .releaseCount]
    #endif
}

#if os(Linux)
private final class ARCProbe {}

/// Whether the counting `swift_retain` sees this executable's retains; the
/// benchmarks refuse to run rather than report zeros from a dead counter.
@inline(never)
public func arcCounterWorks() -> Bool {
    let object = ARCProbe()
    let before = carc_counter_retains()
    let unmanaged = Unmanaged.passUnretained(object)
    _ = unmanaged.retain()
    blackHole(object)
    unmanaged.release()
    return carc_counter_available() == 1 && carc_counter_retains() > before
}
#endif

/// Sub-nanosecond time per operation, for the read-side operations (the
/// wall-clock metric is whole nanoseconds per operation once scaled).
public let picoseconds = BenchmarkMetric.custom("Time (ps)", polarity: .prefersSmaller, useScalingFactor: true)

/// Measures `body` alone: `startMeasurement()` before, `stopMeasurement()` after,
/// and on Linux the retains and releases it made.
@inlinable @inline(__always)
public func measure(_ benchmark: Benchmark, _ body: () -> Void) {
    benchmark.startMeasurement()
    #if os(Linux)
    let retains = carc_counter_retains()
    let releases = carc_counter_releases()
    #endif
    body()
    #if os(Linux)
    let retainsAfter = carc_counter_retains()
    let releasesAfter = carc_counter_releases()
    #endif
    benchmark.stopMeasurement()
    #if os(Linux)
    benchmark.measurement(ARCMetrics.retains, Int(retainsAfter &- retains))
    benchmark.measurement(ARCMetrics.releases, Int(releasesAfter &- releases))
    #endif
}

/// Like `measure(_:_:)`, and also records the time of `body` in picoseconds.
@inlinable @inline(__always)
public func measurePicoseconds(_ benchmark: Benchmark, _ body: () -> Void) {
    let clock = ContinuousClock()
    var elapsed = Duration.zero
    measure(benchmark) {
        let start = clock.now
        body()
        elapsed = start.duration(to: clock.now)
    }
    let (seconds, attoseconds) = elapsed.components
    benchmark.measurement(picoseconds, Int(seconds) * 1_000_000_000_000 + Int(attoseconds / 1_000_000))
}

/// Tolerances for `swift package benchmark thresholds check` against the p90
/// values committed under `Thresholds/`. Time may vary 2x either way (shared,
/// noisy VMs: the check is for order-of-magnitude regressions); allocations and
/// retains on read paths, and on the tree's own update path
/// (`allocationFree: true`), must stay exactly as committed (zero), while on
/// the engine's update paths (a subscription object per insert) they may move by 5 %.
public func thresholds(_ timeMetrics: [BenchmarkMetric], readPath: Bool,
                       allocationFree: Bool = false) -> [BenchmarkMetric: BenchmarkThresholds] {
    var result: [BenchmarkMetric: BenchmarkThresholds] = [:]
    for metric in timeMetrics + [.throughput] {
        result[metric] = .init(relative: [.p90: 100.0])
    }
    let counts = readPath || allocationFree
        ? BenchmarkThresholds(absolute: [.p90: 0]) : BenchmarkThresholds(relative: [.p90: 5.0])
    result[.mallocCountTotal] = counts
    for metric in ARCMetrics.metrics { result[metric] = counts }
    return result
}

/// A benchmark's name as registered: `readable` with spaces and slashes turned
/// into underscores. package-benchmark 1.38.1 writes static thresholds under
/// such a cleaned-up file name (`thresholds update`) but looks them up under the
/// raw name (`thresholds check`), so a name with a space never finds its
/// thresholds; names without spaces make both agree.
public func benchmarkName(_ readable: String) -> String {
    String(readable.map { $0 == " " || $0 == "/" ? "_" : $0 })
}
