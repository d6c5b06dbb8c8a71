import Foundation
import Histogram
import IntervalNotifier
import Synchronization

/// Shared operation counters of a run (relaxed atomics: statistics only).
public final class StressCounters: Sendable {
    let faults = Atomic<Int>(0)
    let faultRetries = Atomic<Int>(0)
    let faultAborts = Atomic<Int>(0)
    let invalidations = Atomic<Int>(0)
    let wouldBlock = Atomic<Int>(0)
    let inserts = Atomic<Int>(0)
    let insertsRefused = Atomic<Int>(0)
    let removes = Atomic<Int>(0)
    let checks = Atomic<Int>(0)
    let violations = Atomic<Int>(0)
    let lookupMisses = Atomic<Int>(0)
    let protocolWaits = Atomic<Int>(0)
    let faultsAbandoned = Atomic<Int>(0)

    /// A copy of the counters.
    public struct Snapshot: Sendable, Codable {
        /// Counter values when the snapshot was taken (totals since the run began):
        /// - `faults`: faults completed (mirror entry installed), by faulters.
        /// - `faultRetries`: fault attempts restarted because `checkRetry` or
        ///   `readRetry` reported a collision, summed over all faults.
        /// - `faultAborts`: faults given up because a churner replaced the slot's
        ///   subscription before the entry could be installed.
        /// - `invalidations`: invalidations started and ended, by invalidators.
        /// - `wouldBlock`: non-blockable invalidations refused with
        ///   `NotifierError.wouldBlock` (not counted in `invalidations`).
        /// - `inserts`: subscriptions inserted (initial population and churners).
        /// - `insertsRefused`: inserts refused because the address space was torn down.
        /// - `removes`: subscriptions removed by churners with `remove` or `put`
        ///   (the final checks' removals are not counted).
        /// - `checks`: pages the checker thread sampled for the no-stale-mirror oracle
        ///   with no invalidation open at the first look.
        /// - `violations`: oracle violations recorded, including any beyond the 1000
        ///   messages kept in ``StressResult/violations``.
        /// - `lookupMisses`: faults whose registry lookup of the faulting address
        ///   did not find the slot's subscription (a pending insert, or one being
        ///   removed); the fault goes on and its protocol decides.
        /// - `protocolWaits`: faults that waited for their mirror to become usable
        ///   (`hmm`: `valid`; `odp`: activation); `seq` waits are counted by the
        ///   engine (`readBeginWaits`).
        /// - `faultsAbandoned`: faults that gave up after waiting the whole fault
        ///   timeout for their mirror to become usable (`hmm`, `odp`; the kernel's
        ///   -EBUSY): a liveness figure under heavy invalidation, not a violation.
        public var faults, faultRetries, faultAborts, invalidations, wouldBlock, inserts, insertsRefused, removes, checks, violations: Int
        public var lookupMisses, protocolWaits, faultsAbandoned: Int
    }

    func snapshot() -> Snapshot {
        Snapshot(
            faults: faults.load(ordering: .relaxed), faultRetries: faultRetries.load(ordering: .relaxed),
            faultAborts: faultAborts.load(ordering: .relaxed), invalidations: invalidations.load(ordering: .relaxed),
            wouldBlock: wouldBlock.load(ordering: .relaxed), inserts: inserts.load(ordering: .relaxed),
            insertsRefused: insertsRefused.load(ordering: .relaxed), removes: removes.load(ordering: .relaxed),
            checks: checks.load(ordering: .relaxed), violations: violations.load(ordering: .relaxed),
            lookupMisses: lookupMisses.load(ordering: .relaxed), protocolWaits: protocolWaits.load(ordering: .relaxed),
            faultsAbandoned: faultsAbandoned.load(ordering: .relaxed))
    }
}

/// Latency histograms (nanoseconds, HdrHistogram, 3 significant digits).
public struct StressHistograms: Sendable {
    /// Fault completion: from the first `readBegin` to the mirror install.
    public var fault = make()
    /// Each `readBegin` call (mostly ~0; long when it waited for a window).
    public var readBegin = make()
    /// Each blocking `remove`.
    public var remove = make()
    /// Invalidation start to end (including the primary update).
    public var invalidation = make()

    static func make() -> Histogram<UInt64> {
        var h = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        h.autoResize = true
        return h
    }
}

/// What a stress run did and found.
public struct StressResult: Sendable {
    /// The configuration the run used.
    public var configuration: StressConfiguration
    /// Wall-clock seconds from the generators' start (after the initial
    /// population) until the result was made, including joining the threads and
    /// the final checks; the rates in ``summary`` divide by it.
    public var seconds: Double
    /// Seconds the generators ran: from the moment every one of them was started
    /// and pinned until they were told to stop. Rates of a benchmark divide by it.
    public var measuredSeconds: Double
    /// The harness's operation counters when the result was made.
    public var counters: StressCounters.Snapshot
    /// The address space's own counters (`AddressSpace.statistics`) when the result was made.
    public var statistics: AddressSpaceStatistics
    /// Latency histograms, merged from each generator thread as it finished
    /// (a hung thread's samples are missing).
    public var histograms: StressHistograms
    /// Every violation found (at most 1000 kept); empty means a clean run.
    public var violations: [String]
    /// False when a hang prevented the final checks.
    public var finalChecksDone: Bool
    /// Resident-set-size samples of the process: 1 s after the generators
    /// started (a quarter of the run if shorter), every 10 s, and when they stopped.
    public var rss = RSSSummary(samples: [])

    /// Whether the run found no violation.
    public var isClean: Bool { violations.isEmpty && counters.violations == 0 }

    /// The final table: throughput and latency percentiles.
    public var summary: String {
        func rate(_ n: Int) -> String { String(format: "%.0f", Double(n) / max(seconds, 1e-9)) }
        func row(_ name: String, _ h: Histogram<UInt64>) -> String {
            guard h.totalCount > 0 else { return pad(name, 22) + "  (none)" }
            func us(_ value: UInt64) -> String { pad(String(format: "%.2f", Double(value) / 1000), 10) }
            let count = pad("\(h.totalCount)", 10)
            return pad(name, 22) + count + us(h.valueAtPercentile(50)) + us(h.valueAtPercentile(99)) + us(h.valueAtPercentile(99.9)) + us(h.max)
        }
        var lines: [String] = []
        let verdict = isClean ? "CLEAN" : "\(max(violations.count, counters.violations)) VIOLATION(S)"
        lines.append("ran " + String(format: "%.1f", seconds) + " s, seed \(configuration.seed), protocol \(configuration.mirrorProtocol), strategy \(configuration.strategy): " + verdict)
        let churn = counters.inserts + counters.removes
        var throughput = "throughput: faults \(counters.faults) (\(rate(counters.faults))/s), "
        throughput += "invalidations \(counters.invalidations) (\(rate(counters.invalidations))/s), "
        throughput += "churn \(counters.inserts) inserts + \(counters.removes) removes (\(rate(churn))/s), oracle checks \(counters.checks)"
        lines.append(throughput)
        var protocolLine = "protocol: fault retries \(counters.faultRetries), aborted faults \(counters.faultAborts), "
        protocolLine += "would-block \(counters.wouldBlock), deferred inserts \(statistics.deferredInserts) "
        protocolLine += "(cancelled \(statistics.deferredInsertsCancelled)), deferred removes \(statistics.deferredRemoves), "
        protocolLine += "readBegin waits \(statistics.readBeginWaits), remove waits \(statistics.removeWaits), "
        protocolLine += "inserts refused after teardown \(counters.insertsRefused), "
        protocolLine += "lookup misses \(counters.lookupMisses), protocol waits \(counters.protocolWaits), "
        protocolLine += "faults abandoned \(counters.faultsAbandoned)"
        lines.append(protocolLine)
        lines.append(pad("latency (us)", 22) + pad("count", 10) + pad("p50", 10) + pad("p99", 10) + pad("p99.9", 10) + pad("max", 10))
        lines.append(row("fault completion", histograms.fault))
        lines.append(row("readBegin", histograms.readBegin))
        lines.append(row("remove (blocking)", histograms.remove))
        lines.append(row("invalidation", histograms.invalidation))
        lines.append(rss.line)
        for v in violations.prefix(20) { lines.append("VIOLATION: \(v)") }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}

extension StressHistograms {
    /// (count, p50, p99, p99.9, max) in nanoseconds.
    public typealias Summary = (count: UInt64, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64)

    static func summarize(_ h: Histogram<UInt64>) -> Summary {
        guard h.totalCount > 0 else { return (0, 0, 0, 0, 0) }
        return (h.totalCount, h.valueAtPercentile(50), h.valueAtPercentile(99), h.valueAtPercentile(99.9), h.max)
    }
    /// ``fault`` summarised: count and latencies in nanoseconds (all zero when empty).
    public var faultSummary: Summary { Self.summarize(fault) }
    /// ``readBegin`` summarised: count and latencies in nanoseconds (all zero when empty).
    public var readBeginSummary: Summary { Self.summarize(readBegin) }
    /// ``remove`` summarised: count and latencies in nanoseconds (all zero when empty).
    public var removeSummary: Summary { Self.summarize(remove) }
    /// ``invalidation`` summarised: count and latencies in nanoseconds (all zero when empty).
    public var invalidationSummary: Summary { Self.summarize(invalidation) }
}
