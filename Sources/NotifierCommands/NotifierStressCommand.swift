import ArgumentParser
import Foundation
import IntervalNotifier
import NotifierStress

/// `notifier-stress`: torture the engine with pinned fault, invalidate and churn
/// generators under the no-stale-mirror oracle; exit status 1 on any violation,
/// 2 when `--max-rss-growth` is exceeded, 64 on a bad command line, 73 when the
/// `--json` file cannot be written.
public struct NotifierStressCommand: ParsableCommand {
    /// The command's name, abstract and exit statuses for `--help`.
    public static let configuration = CommandConfiguration(
        commandName: "notifier-stress",
        abstract: "Stress the interval-notifier engine under a no-stale-mirror oracle.",
        discussion: """
            Exit status: 0 clean, 1 oracle violation, 2 RSS grew past --max-rss-growth, \
            64 bad command line (one line on stderr naming the flag), 73 --json not writable.
            """)

    /// Bytes per simulated page (primary entry, coverage count, cover version).
    static let pageTableBytesPerPage = 24.0
    /// Estimated bytes per subscription besides its mirror entries, on the safe
    /// side: the engine's 160 B measured by `notifier-bench --workload memory`,
    /// plus the harness's slot, locks, context and callback (about 500 B in
    /// all), doubled for allocator overhead and deferred frees.
    static let bytesPerSubscription = 1024.0

    @Option(parsing: .unconditional, help: "Run length in seconds, in (0, 604800].") var duration: Double = 10
    @Option(help: "Seed of all random choices.") var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Fault generator threads, 1 to 4096.") var faulters: Int = 2
    @Option(parsing: .unconditional, help: "Invalidate generator threads, 0 to 4096.") var invalidators: Int = 1
    @Option(parsing: .unconditional, help: "Subscription churn threads, 0 to 4096.") var churners: Int = 1
    @Option(help: "NUMA nodes to use, comma separated (default: all); with --fake-nodes K, pretend nodes 0 to K-1.") var nodes: String?
    @Option(parsing: .unconditional, help: "Split the allowed CPUs into K pretend NUMA nodes, 1 to the allowed CPU count.") var fakeNodes: Int?
    @Option(parsing: .unconditional, help: "Pin every thread to this one allowed CPU (not with --nodes or --fake-nodes).") var cpu: Int?
    @Option(parsing: .unconditional, help: "Pages of the simulated address space, at least 16 (24 bytes each).") var pages: Int = 4096
    @Option(parsing: .unconditional, help: "Subscription slots (device mirrors), at least 1.") var subscriptions: Int = 64
    @Option(parsing: .unconditional, help: "Largest subscription, in pages (1 to --pages).") var maxSubscriptionPages: Int = 64
    @Option(parsing: .unconditional, help: "Largest invalidation, in pages, 1 to --pages (default: a mix of small, large and whole-space ones).") var maxInvalidationPages: Int?
    @Option(parsing: .unconditional, help: "Fraction of non-blockable invalidations, in [0, 1].") var nonBlockable: Double = 0.2
    @Option(parsing: .unconditional, help: "Fraction of removals done with put (release callback), in [0, 1].") var putFraction: Double = 0.3
    @Option(help: "Invalidation events, comma separated: \(Self.eventNames.joined(separator: ", ")).")
    var events: String = "unmap,clear,protection-page,migrate"
    @Option(parsing: .unconditional, help: "Tear the address space down at this fraction of the run, in [0, 1]; default: at the end.") var teardownAt: Double?
    @Option(parsing: .unconditional, help: "A wait longer than this many seconds is reported as a hang, in (0, 604800].") var hangBound: Double = 10
    @Option(help: "Write the summary as JSON to this file (its folder is created and write-tested first).") var json: String?
    @Option(help: "Run a deliberately broken protocol variant (oracle self-test): \(BrokenVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var broken: String?
    @Option(name: .customLong("protocol"), help: "Mirror-side protocol: \(MirrorProtocol.allCases.map(\.rawValue).joined(separator: ", ")) (default: seq, or the one --broken needs).")
    var mirrorProtocol: String?
    @Option(help: "Registry strategy: \(RegistryStrategy.allCases.map(\.name).joined(separator: ", ")).")
    var strategy: String = RegistryStrategy.default.name
    @Option(parsing: .unconditional, help: ArgumentHelp("Exit 2 when the peak RSS after the first sample exceeds this factor times the first sample (RSS is sampled 1 s after the start, every 10 s and at the end); at least 1.", valueName: "factor"))
    var maxRssGrowth: Double?
    @Option(help: ArgumentHelp("Invalidation source: explicit (invalidator threads call the engine on simulated pages) or uffd (real munmap/madvise/mremap churn seen by a userfaultfd monitor: --faulters hitters, --invalidators mutators, --subscriptions pages; the mirror protocol, event and churn options do not apply).", valueName: "explicit|uffd"))
    var source: String = InvalidationSourceKind.explicit.rawValue
    @Flag(help: "No progress line every second.") var quiet = false
    @Flag(help: "No checker thread, final checks or teardown (benchmark mode); per-fault checks stay.") var noOracle = false
    @Flag(help: "Faulters record no latencies (benchmark mode).") var noLatencies = false

    /// A command with every option at its default (argument-parser fills them in).
    public init() {}

    /// Event names accepted by `--events` (every event but `release`, which only teardown sends).
    static var eventNames: [String] { InvalidationEvent.allCases.filter { $0 != .release }.map(\.description) }

    /// The run's configuration, after every check of the command line (each
    /// failure is a one-line `ValidationError`).
    public func stressConfiguration() throws -> StressConfiguration {
        typealias Check = ArgumentCheck
        try Check.seconds(duration, flag: "--duration")
        try Check.seconds(hangBound, flag: "--hang-bound")
        try Check.integer(faulters, flag: "--faulters", in: 1...Check.maxThreads, what: "a thread count")
        try Check.integer(invalidators, flag: "--invalidators", in: 0...Check.maxThreads, what: "a thread count")
        try Check.integer(churners, flag: "--churners", in: 0...Check.maxThreads, what: "a thread count")
        let threads = faulters + invalidators + churners
        guard threads <= Check.maxThreads else {
            throw Check.error("--faulters + --invalidators + --churners", "\(threads)", "must be at most \(Check.maxThreads) threads in all")
        }
        try Check.fraction(nonBlockable, flag: "--non-blockable")
        try Check.fraction(putFraction, flag: "--put-fraction")
        if let teardownAt { try Check.fraction(teardownAt, flag: "--teardown-at") }
        if let maxRssGrowth {
            guard maxRssGrowth.isFinite, maxRssGrowth >= 1, maxRssGrowth <= 1000 else {
                throw Check.error("--max-rss-growth", "\(maxRssGrowth)", "must be a factor in [1, 1000]")
            }
        }
        // Sizes: bounds first (so the products below cannot overflow), then memory.
        try Check.integer(pages, flag: "--pages", in: 16...(1 << 40), what: "a page count")
        try Check.integer(subscriptions, flag: "--subscriptions", in: 1...(1 << 40), what: "a subscription count")
        try Check.integer(maxSubscriptionPages, flag: "--max-subscription-pages", in: 1...pages, what: "a page count (at most --pages)")
        if let maxInvalidationPages {
            try Check.integer(maxInvalidationPages, flag: "--max-invalidation-pages", in: 1...pages, what: "a page count (at most --pages)")
        }
        let memTotal = Check.memTotalBytes()
        let tableBytes = Double(pages) * Self.pageTableBytesPerPage
        try Check.memory(tableBytes, flag: "--pages", value: "\(pages)", what: "the page table", memTotal: memTotal)
        let subscriptionBytes = Double(subscriptions) * (Self.bytesPerSubscription + 8 * Double(maxSubscriptionPages))
        try Check.memory(tableBytes + subscriptionBytes, flag: "--subscriptions", value: "\(subscriptions)",
                         what: "the subscriptions and mirrors (with --pages \(pages))", memTotal: memTotal)
        // Names.
        let eventList = try Check.names(events, flag: "--events",
                                        known: InvalidationEvent.allCases.filter { $0 != .release }.map { ($0.description, $0) })
        let registryStrategy = try Check.name(strategy, flag: "--strategy", known: RegistryStrategy.allCases.map { ($0.name, $0) })
        var c = StressConfiguration()
        if let mirrorProtocol {
            guard let chosen = MirrorProtocol(rawValue: mirrorProtocol) else {
                throw Check.error("--protocol", mirrorProtocol, "unknown; valid: \(MirrorProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.mirrorProtocol = chosen
        }
        if let broken {
            guard let variant = BrokenVariant(rawValue: broken) else {
                throw Check.error("--broken", broken, "unknown; valid: \(BrokenVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !noOracle else { throw Check.error("--broken", broken, "needs the oracle: drop --no-oracle (the self-test would check nothing)") }
            c.brokenVariant = variant
            if let needed = variant.requiredProtocol {
                if mirrorProtocol == nil {
                    c.mirrorProtocol = needed
                } else if c.mirrorProtocol != needed {
                    throw Check.error("--broken", broken, "breaks the \(needed) protocol: use --protocol \(needed)")
                }
            }
        }
        // Placement: only nodes and CPUs this machine has.
        let cpus = StressTopology.allowedCPUs()
        if let fakeNodes {
            try Check.integer(fakeNodes, flag: "--fake-nodes", in: 1...max(1, cpus.count), what: "a node count (at most the \(cpus.count) allowed CPUs)")
        }
        if let nodes {
            let available = fakeNodes.map { Array(0..<$0) } ?? StressTopology.realNodes()
            c.nodes = try Check.members(nodes, flag: "--nodes", allowed: available,
                                        what: fakeNodes == nil ? "NUMA node with allowed CPUs" : "pretend node (--fake-nodes \(fakeNodes!))")
        }
        if let cpu {
            guard cpus.contains(cpu) else {
                throw Check.error("--cpu", "\(cpu)", "not an allowed CPU on this machine; available: \(cpus.map(String.init).joined(separator: ","))")
            }
            guard nodes == nil && fakeNodes == nil else {
                throw Check.error("--cpu", "\(cpu)", "pins every thread to one CPU: do not combine with --nodes or --fake-nodes")
            }
        }
        c.source = try Check.name(source, flag: "--source", known: InvalidationSourceKind.allCases.map { ($0.rawValue, $0) })
        if c.source == .uffd {
            if broken != nil { throw Check.error("--broken", broken!, "applies to --source explicit only (the uffd run has its own oracle)") }
            if mirrorProtocol != nil { throw Check.error("--protocol", mirrorProtocol!, "applies to --source explicit only") }
            if teardownAt != nil { throw Check.error("--teardown-at", "\(teardownAt!)", "applies to --source explicit only") }
            try Check.integer(invalidators, flag: "--invalidators", in: 1...Check.maxThreads, what: "a mutator thread count (at least 1 with --source uffd)")
            try Check.integer(subscriptions, flag: "--subscriptions", in: invalidators...(1 << 20), what: "a page count with --source uffd (at least one per mutator, at most 1048576)")
        }
        c.duration = duration
        c.seed = seed
        c.faulters = faulters
        c.invalidators = invalidators
        c.churners = churners
        c.fakeNodes = fakeNodes
        c.singleCPU = cpu
        c.pages = pages
        c.subscriptions = subscriptions
        c.maxSubscriptionPages = maxSubscriptionPages
        c.maxInvalidationPages = maxInvalidationPages
        c.nonBlockableFraction = nonBlockable
        c.putFraction = putFraction
        c.events = eventList
        c.teardownAt = teardownAt
        c.hangBound = hangBound
        c.strategy = registryStrategy
        c.progress = !quiet
        c.oracleChecks = !noOracle
        c.recordLatencies = !noLatencies
        return c
    }

    /// Checks every option before any work (argument-parser calls it after parsing).
    public func validate() throws { _ = try stressConfiguration() }

    /// Checks the output path, runs, prints the summary, writes the JSON.
    public func run() throws {
        let c = try stressConfiguration()
        if let json { try OutputProbe.prepareFile(json, flag: "--json") }
        if c.source == .uffd { return try runMemoryChurn(c) }
        var header = "notifier-stress: \(duration) s, seed \(seed), protocol \(c.mirrorProtocol), strategy \(c.strategy), "
        header += "\(faulters) faulters, \(invalidators) invalidators, \(churners) churners, \(pages) pages, \(subscriptions) subscriptions"
        // Each line flushed at once: progress must show even when stdout is a
        // pipe or a file (block-buffered) and the run is stopped early.
        let say: (String) -> Void = { line in
            print(line)
            fflush(nil)
        }
        say(header)
        let result = StressRun(c).run(report: say)
        say(result.summary)
        if let json { try writeJSON(result, to: json) }
        if !result.isClean { throw ExitCode(1) }
        if let maxRssGrowth, result.rss.growth > maxRssGrowth {
            FileHandle.standardError.write(Data("notifier-stress: RSS grew from \(result.rss.first) to \(result.rss.peakAfterFirst) bytes, \(String(format: "%.2f", result.rss.growth))x > --max-rss-growth \(maxRssGrowth)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// `--source uffd`: the monitor's costs, then the churn under its oracle.
    /// Where userfaultfd is unavailable it prints why and exits 0 (skipped).
    func runMemoryChurn(_ c: StressConfiguration) throws {
        let say: (String) -> Void = { line in
            print(line)
            fflush(nil)
        }
        say("notifier-stress: \(duration) s, seed \(seed), source uffd, strategy \(c.strategy), \(faulters) hitters, \(invalidators) mutators, \(subscriptions) pages")
        switch UserfaultfdCostProbe.run() {
        case .success(let costs): say(costs.summary)
        case .failure(let error):
            say("SKIPPED: userfaultfd is unavailable here: \(error)")
            return
        }
        switch MemoryChurnRun(c).run(report: c.progress ? say : { _ in }) {
        case .failure(let error):
            say("SKIPPED: userfaultfd is unavailable here: \(error)")
        case .success(let result):
            say(result.summary)
            if let json {
                let object: [String: Any] = [
                    "source": "uffd", "seconds": result.seconds, "seed": result.seed, "clean": result.isClean,
                    "gets": result.gets, "checks": result.checks, "mutations": result.mutations,
                    "monitor_messages": result.monitor.messages, "returned_before_invalidation": result.returnedBeforeInvalidation,
                    "flush_median_us": result.flushMedianMicroseconds, "violations": result.violations,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                do { try data.write(to: URL(fileURLWithPath: json)) } catch {
                    throw OutputPathError(flag: "--json", path: json, reason: "\(error)")
                }
            }
            if !result.isClean { throw ExitCode(1) }
        }
    }

    func writeJSON(_ r: StressResult, to path: String) throws {
        func latency(_ h: (count: UInt64, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64)) -> [String: UInt64] {
            ["count": h.count, "p50_ns": h.p50, "p99_ns": h.p99, "p999_ns": h.p999, "max_ns": h.max]
        }
        var rss: [String: Any] = [
            "first_bytes": r.rss.first, "peak_bytes": r.rss.peak, "peak_after_first_bytes": r.rss.peakAfterFirst,
            "growth": r.rss.growth, "interval_seconds": RSSSummary.interval,
            "samples": r.rss.samples.map { ["seconds": $0.seconds, "bytes": $0.bytes] as [String: Any] },
        ]
        if let at = r.rss.atOneMinute {
            rss[at.seconds < 60 ? "at_end_bytes" : "at_1min_bytes"] = at.bytes
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
            "rss": rss,
            "latency": [
                "fault": latency(r.histograms.faultSummary), "read_begin": latency(r.histograms.readBeginSummary),
                "remove": latency(r.histograms.removeSummary), "invalidation": latency(r.histograms.invalidationSummary),
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) } ?? "\(error)"
            throw OutputPathError(flag: "--json", path: path, reason: reason)
        }
    }
}
