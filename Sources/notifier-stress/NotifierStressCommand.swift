import ArgumentParser
import Foundation
import IntervalNotifier
import NotifierStress

/// `notifier-stress`: torture the engine with pinned fault, invalidate and churn
/// generators under the no-stale-mirror oracle; exit status 1 on any violation.
@main
struct NotifierStressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier-stress",
        abstract: "Stress the interval-notifier engine under a no-stale-mirror oracle.")

    @Option(help: "Run length in seconds.") var duration: Double = 10
    @Option(help: "Seed of all random choices.") var seed: UInt64 = 1
    @Option(help: "Fault generator threads.") var faulters: Int = 2
    @Option(help: "Invalidate generator threads.") var invalidators: Int = 1
    @Option(help: "Subscription churn threads.") var churners: Int = 1
    @Option(help: "NUMA nodes to use, comma separated (default: all).") var nodes: String?
    @Option(help: "Split the allowed CPUs into K pretend NUMA nodes.") var fakeNodes: Int?
    @Option(help: "Pin every thread to this one CPU.") var cpu: Int?
    @Option(help: "Pages of the simulated address space.") var pages: Int = 4096
    @Option(help: "Subscription slots (device mirrors).") var subscriptions: Int = 64
    @Option(help: "Largest subscription, in pages.") var maxSubscriptionPages: Int = 64
    @Option(help: "Largest invalidation, in pages (default: a mix of small, large and whole-space ones).") var maxInvalidationPages: Int?
    @Option(help: "Fraction of non-blockable invalidations.") var nonBlockable: Double = 0.2
    @Option(help: "Fraction of removals done with put (release callback).") var putFraction: Double = 0.3
    @Option(help: "Invalidation events, comma separated (unmap,clear,protection-vma,protection-page,soft-dirty,migrate,exclusive).")
    var events: String = "unmap,clear,protection-page,migrate"
    @Option(help: "Tear the address space down at this fraction of the run (0...1); default: at the end.") var teardownAt: Double?
    @Option(help: "A wait longer than this many seconds is reported as a hang.") var hangBound: Double = 10
    @Option(help: "Write the summary as JSON to this file.") var json: String?
    @Option(help: "Run a deliberately broken protocol variant (oracle self-test): \(BrokenVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var broken: String?
    @Option(name: .customLong("protocol"), help: "Mirror-side protocol: \(MirrorProtocol.allCases.map(\.rawValue).joined(separator: ", ")) (default: seq, or the one --broken needs).")
    var mirrorProtocol: String?
    @Option(help: "Registry strategy: \(RegistryStrategy.allCases.map(\.name).joined(separator: ", ")).")
    var strategy: String = RegistryStrategy.default.name
    @Flag(help: "No progress line every second.") var quiet = false
    @Flag(help: "No checker thread, final checks or teardown (benchmark mode); per-fault checks stay.") var noOracle = false
    @Flag(help: "Faulters record no latencies (benchmark mode).") var noLatencies = false

    mutating func run() throws {
        var c = StressConfiguration()
        c.duration = duration
        c.seed = seed
        c.faulters = faulters
        c.invalidators = invalidators
        c.churners = churners
        c.nodes = nodes.map { $0.split(separator: ",").compactMap { Int($0) } }
        c.fakeNodes = fakeNodes
        c.singleCPU = cpu
        c.pages = pages
        c.subscriptions = subscriptions
        guard maxSubscriptionPages >= 1 else { throw ValidationError("--max-subscription-pages must be at least 1") }
        c.maxSubscriptionPages = maxSubscriptionPages
        if let maxInvalidationPages, maxInvalidationPages < 1 { throw ValidationError("--max-invalidation-pages must be at least 1") }
        c.maxInvalidationPages = maxInvalidationPages
        c.nonBlockableFraction = nonBlockable
        c.putFraction = putFraction
        c.teardownAt = teardownAt
        c.hangBound = hangBound
        c.progress = !quiet
        c.oracleChecks = !noOracle
        c.recordLatencies = !noLatencies
        let eventsByName = Dictionary(uniqueKeysWithValues: InvalidationEvent.allCases.map { ($0.description, $0) })
        c.events = try events.split(separator: ",").map {
            guard let e = eventsByName[String($0)], e != .release else { throw ValidationError("unknown event \($0)") }
            return e
        }
        guard let registryStrategy = RegistryStrategy(name: strategy) else { throw ValidationError("unknown strategy \(strategy)") }
        c.strategy = registryStrategy
        if let mirrorProtocol {
            guard let chosen = MirrorProtocol(rawValue: mirrorProtocol) else { throw ValidationError("unknown protocol \(mirrorProtocol)") }
            c.mirrorProtocol = chosen
        }
        if let broken {
            guard let variant = BrokenVariant(rawValue: broken) else { throw ValidationError("unknown broken variant \(broken)") }
            c.brokenVariant = variant
            if let needed = variant.requiredProtocol {
                if mirrorProtocol == nil {
                    c.mirrorProtocol = needed
                } else if c.mirrorProtocol != needed {
                    throw ValidationError("broken variant \(broken) breaks the \(needed) protocol: use --protocol \(needed)")
                }
            }
        }
        var header = "notifier-stress: \(duration) s, seed \(seed), protocol \(c.mirrorProtocol), strategy \(c.strategy), "
        header += "\(faulters) faulters, \(invalidators) invalidators, \(churners) churners, \(pages) pages, \(subscriptions) subscriptions"
        print(header)
        let result = StressRun(c).run()
        print(result.summary)
        if let json { try writeJSON(result, to: json) }
        if !result.isClean { throw ExitCode(1) }
    }

    func writeJSON(_ r: StressResult, to path: String) throws {
        func latency(_ h: (count: UInt64, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64)) -> [String: UInt64] {
            ["count": h.count, "p50_ns": h.p50, "p99_ns": h.p99, "p999_ns": h.p999, "max_ns": h.max]
        }
        let object: [String: Any] = [
            "seconds": r.seconds, "measured_seconds": r.measuredSeconds, "seed": r.configuration.seed, "clean": r.isClean,
            "protocol": r.configuration.mirrorProtocol.rawValue, "strategy": r.configuration.strategy.name,
            "lookup_misses": r.counters.lookupMisses, "protocol_waits": r.counters.protocolWaits,
            "faults_abandoned": r.counters.faultsAbandoned,
            "faulters": r.configuration.faulters, "invalidators": r.configuration.invalidators, "churners": r.configuration.churners,
            "faults": r.counters.faults, "fault_retries": r.counters.faultRetries, "invalidations": r.counters.invalidations,
            "would_block": r.counters.wouldBlock, "inserts": r.counters.inserts, "removes": r.counters.removes,
            "deferred_inserts": r.statistics.deferredInserts, "deferred_removes": r.statistics.deferredRemoves,
            "read_begin_waits": r.statistics.readBeginWaits, "remove_waits": r.statistics.removeWaits,
            "oracle_checks": r.counters.checks, "violations": r.violations,
            "latency": [
                "fault": latency(r.histograms.faultSummary), "read_begin": latency(r.histograms.readBeginSummary),
                "remove": latency(r.histograms.removeSummary), "invalidation": latency(r.histograms.invalidationSummary),
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }
}
