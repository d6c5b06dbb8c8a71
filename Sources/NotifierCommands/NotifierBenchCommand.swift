import Foundation
import ArgumentParser
import IntervalNotifier
import NotifierBench
import NotifierStress

/// `notifier-bench`: runs the strategy comparison suite and writes its report
/// (by default into a fresh, untracked `results/runs/<UTC timestamp>/`).
public struct NotifierBenchCommand: AsyncParsableCommand {
    /// The command's name, abstract and discussion for `--help`.
    public static let configuration = CommandConfiguration(
        commandName: "notifier-bench",
        abstract: "Compare locking strategies of the interval-notifier engine.",
        discussion: """
            Workloads: \(BenchWorkload.runnable.map(\.rawValue).joined(separator: ", ")). \
            tree compares the engine's tree with a C red-black tree on one thread (paired \
            repetitions; it ignores --strategy and --protocol). \
            Each runs for the selected strategies over a thread sweep (1, 2, 4, ... up to the \
            available cores, plus one point above; --threads overrides). Prints a progress line \
            per point, then the report's tables and targets, and writes the report into a new \
            folder results/runs/<UTC timestamp>/ (untracked), or into --out (--out results \
            regenerates the committed report). Exit status: 64 bad command line (one line on \
            stderr naming the flag), 73 output folder not writable (checked before the run).
            """)

    /// The folder the default report goes under (one subfolder per run).
    public static let runsFolder = "results/runs"

    @Option(help: "Strategies, comma separated, or all: \(RegistryStrategy.allCases.map(\.name).joined(separator: ", ")).")
    var strategy = "all"
    @Option(help: "RCU flavours, comma separated (\(RCUFlavor.allCases.map(\.rawValue).joined(separator: ", "))): the rcu strategies run are exactly these (qsbr adds rcu-qsbr, bp rcu-bp, mb rcu-mb). Default: as --strategy says.")
    var flavor: String?
    @Option(name: .customLong("protocol"), help: "Mirror protocols of the fault-path workload, comma separated: seq, odp, hmm (odp and hmm run with rcu only).")
    var protocols = "seq,odp,hmm"
    @Option(help: "Workloads, comma separated, or all: \(BenchWorkload.runnable.map(\.rawValue).joined(separator: ", ")).")
    var workload = "all"
    @Option(parsing: .unconditional, help: "Thread counts, comma separated, each 1 to 4096 (default: 1, 2, 4, ... up to the cores, plus one above).")
    var threads: String?
    @Option(parsing: .unconditional, help: "Measured seconds per point, in (0, 604800] (default 2; 0.3 with --quick).")
    var duration: Double?
    @Option(help: "NUMA nodes to pin threads to, comma separated, among those with allowed CPUs (default: every allowed CPU).")
    var nodes: String?
    @Option(name: .customLong("cache-sizes"), parsing: .unconditional, help: "Region counts of the cache workload, comma separated, each 1 to 1000000 (default 1000,100000,1000000; --quick: 1000,100000).")
    var cacheSizes: String?
    @Flag(help: "The whole suite in about 3 minutes on 2 cores: fewer sizes, short points.")
    var quick = false
    @Option(help: "Directory the report is written to, created and write-tested before the run (default: a new results/runs/<UTC timestamp>/; --out results regenerates the committed report).")
    var out: String?
    @Option(name: .customLong("report-from"), help: ArgumentHelp(
        "Measure nothing: regenerate the report (tables, plots, README with the notes of --out/notes) from a bench.json written earlier.",
        valueName: "bench.json"))
    var reportFrom: String?

    /// A command with every option at its default (argument-parser fills them in).
    public init() {}

    /// The run's options, after every check of the command line (each failure
    /// is a one-line `ValidationError` naming the flag, the value and what is allowed).
    public func options() throws -> BenchOptions {
        typealias Check = ArgumentCheck
        let strategyNames = RegistryStrategy.allCases.map { ($0.name, $0) }
        var strategies = strategy == "all"
            ? RegistryStrategy.allCases
            : try Check.names(strategy, flag: "--strategy", known: strategyNames)
        if let flavor {
            let flavors = try Check.names(flavor, flag: "--flavor", known: RCUFlavor.allCases.map { ($0.rawValue, $0) })
            strategies.removeAll { if case .rcu = $0 { true } else { false } }
            strategies += flavors.map { .rcu($0) }
        }
        // Dedupe, in the canonical order.
        strategies = RegistryStrategy.allCases.filter(strategies.contains)
        guard !strategies.isEmpty else { throw Check.error("--flavor", flavor ?? "", "no strategy left to run") }

        let protocolList = try Check.names(protocols, flag: "--protocol", known: MirrorProtocol.allCases.map { ($0.rawValue, $0) })
        let workloads = workload == "all"
            ? BenchWorkload.runnable
            : try Check.names(workload, flag: "--workload", known: BenchWorkload.runnable.map { ($0.rawValue, $0) })
        var threadList: [Int]?
        if let threads {
            let list = try Check.list(threads, flag: "--threads").map {
                guard let n = Int($0), (1...Check.maxThreads).contains(n) else {
                    throw Check.error("--threads", $0, "each thread count must be an integer in [1, \(Check.maxThreads)]")
                }
                return n
            }
            threadList = Array(Set(list)).sorted()
        }
        // `tree` runs one thread and sets its own repetition lengths: alone, it
        // refuses flags it would ignore.
        if workloads == [.tree] {
            if let threads, threadList != [1] {
                throw Check.error("--threads", threads, "the tree workload runs one thread (1 or leave --threads out)")
            }
            if let duration { throw Check.error("--duration", "\(duration)", "the tree workload sets its own repetition lengths (leave --duration out)") }
        }
        if let duration { try Check.seconds(duration, flag: "--duration") }
        var cacheSizeList: [Int]?
        if let cacheSizes {
            cacheSizeList = try Check.list(cacheSizes, flag: "--cache-sizes").map {
                guard let n = Int($0), (1...1_000_000).contains(n) else {
                    throw Check.error("--cache-sizes", $0, "each region count must be an integer in [1, 1000000]")
                }
                return n
            }
            cacheSizeList = Array(Set(cacheSizeList!)).sorted()
        }
        var nodeList: [Int]?
        if let nodes {
            nodeList = try Check.members(nodes, flag: "--nodes", allowed: BenchPlacement.availableNodes(), what: "NUMA node with allowed CPUs")
        }
        var options = BenchOptions(placement: BenchPlacement.discover(nodes: nodeList))
        options.strategies = strategies
        options.strategiesNamed = strategy != "all" || flavor != nil
        options.protocols = protocolList
        options.workloads = workloads
        options.threads = threadList
        options.duration = duration
        options.nodes = nodeList
        options.quick = quick
        options.cacheSizes = cacheSizeList
        if reportFrom == nil {
            let points = BenchSuite.items(options).reduce(0) { $0 + $1.plan.points }
            guard points > 0 else {
                throw Check.error("--workload", workload, "measures no point with --strategy \(strategy)\(flavor.map { " --flavor \($0)" } ?? "") --protocol \(protocols) (the fault path's odp and hmm run with strategy rcu only)")
            }
        }
        return options
    }

    /// Checks every option before any work (argument-parser calls it after parsing).
    public func validate() throws {
        if let reportFrom {
            guard FileManager.default.isReadableFile(atPath: reportFrom) else {
                throw ArgumentCheck.error("--report-from", reportFrom, "must be a readable bench.json: \(String(cString: strerror(access(reportFrom, R_OK) == 0 ? EISDIR : errno)))")
            }
        }
        _ = try options()
    }

    /// One line saying what a bench.json lacks or has wrong.
    static func describe(_ error: DecodingError) -> String {
        let path = { (context: DecodingError.Context) in context.codingPath.map(\.stringValue).joined(separator: ".") }
        return switch error {
        case .keyNotFound(let key, let context): "no \(key.stringValue) at \(path(context).isEmpty ? "the top" : path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(context.debugDescription) at \(path(context).isEmpty ? "the top" : path(context))"
        @unknown default: "\(error)"
        }
    }

    /// The report folder: `--out`, or a new `results/runs/<UTC timestamp>/`.
    public func outputDirectory(now: Date = Date()) -> String {
        if let out { return out }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss'Z'"
        return "\(Self.runsFolder)/\(formatter.string(from: now))"
    }

    /// Checks the output folder, then measures (or reads `--report-from`) and writes the report.
    public func run() async throws {
        let out = outputDirectory()
        try OutputProbe.prepareDirectory(out, flag: "--out")
        print("report folder: \(out)")
        if let reportFrom {
            let data = try Data(contentsOf: URL(fileURLWithPath: reportFrom))
            let results: BenchResults
            do {
                results = try JSONDecoder().decode(BenchResults.self, from: data)
            } catch let error as DecodingError {
                // A bench.json from before typed measurements (a `variant` label
                // instead of `parameters`) is not read: rerun to regenerate it.
                throw ArgumentCheck.error("--report-from", reportFrom, "is not a bench.json of this notifier-bench "
                                          + "(\(Self.describe(error))); rerun notifier-bench to regenerate it")
            }
            let report = BenchReport(environment: results.environment, measurements: results.measurements,
                                     pairs: results.pairs)
            print("targets (ratios from the run of \(results.environment.date)):")
            for target in report.targets() { print("  " + target.summary) }
            // Read before writing: `reportFrom` may be `out/bench.json` itself.
            let paths = try await report.write(to: out, notesFrom: self.out == nil ? "results" : nil)
            print("wrote:")
            for path in paths { print("  \(path)") }
            return
        }
        let options = try options()
        let items = BenchSuite.items(options)
        let points = items.reduce(0) { $0 + $1.plan.points }
        let estimate = items.reduce(0.0) { $0 + $1.plan.seconds }
        print("notifier-bench\(options.quick ? " --quick" : ""): \(options.placement)")
        print("strategies: \(options.strategies.map(\.name).joined(separator: ", ")); workloads: \(items.map(\.workload.rawValue).joined(separator: ", "))")
        print("threads: \(options.sweepThreads.map(String.init).joined(separator: ",")) (lookup: \(options.lookupThreads.map(String.init).joined(separator: ","))); \(options.effectiveDuration) s per point")
        for item in items { print("  \(item.workload.rawValue): \(item.plan.points) points, ~\(Int(item.plan.seconds.rounded(.up))) s") }
        print("planned: \(points) points, estimated \(Self.minutes(estimate))")
        var flags: [String: String] = ["strategy": strategy, "protocol": protocols, "workload": workload,
                                       "out": out, "quick": String(quick), "duration": String(options.effectiveDuration),
                                       "threads": options.sweepThreads.map(String.init).joined(separator: ",")]
        if let flavor { flags["flavor"] = flavor }
        if let nodes { flags["nodes"] = nodes }
        // Before the first measurement: the commit and its `-dirty` mark say
        // what the measured binary was built from, not what the work tree holds
        // by the end of a quarter-hour run (the full run of 2026-12-02 17:09 UTC
        // was recorded as `-dirty` for a README edited while it ran).
        let environment = await BenchEnvironment.capture(commandLine: CommandLine.arguments, flags: flags)
        let progress = BenchProgress(totalPoints: points)
        var measurements: [BenchMeasurement] = []
        var itemPairs: [PairedRatio] = []
        for item in items {
            let output = item.run(progress)
            measurements += output.measurements
            itemPairs += output.pairs
        }
        print("finished \(measurements.count) measurements in \(Self.minutes(progress.elapsedSeconds))")

        // Ratio targets: their two sides at the target's point, alternately (A B A B ...).
        let pairing = options.pairing
        // (`tree` took its pairs during its own run: they are not run again.)
        let requests = BenchReport.pairRequests(measurements: measurements, cores: environment.onlineCores)
            .filter { request in !itemPairs.contains { $0.request == request } }
        print("paired repetitions: \(requests.count) ratio targets, \(pairing.count) pairs of \(pairing.seconds) s per side"
              + " after a warm-up pair")
        let pairs = itemPairs + PairedRunner.run(requests, repetitions: pairing, placement: options.placement) { print("  " + $0) }
        print("")
        let report = BenchReport(environment: environment, measurements: measurements, pairs: pairs)
        print(report.tables())
        print("targets (ratios from this run):")
        for target in report.targets() { print("  " + target.summary) }
        let paths = try await report.write(to: out, notesFrom: self.out == nil ? "results" : nil)
        print("wrote:")
        for path in paths { print("  \(path)") }
    }

    static func minutes(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }
}
