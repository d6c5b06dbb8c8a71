import Foundation
import ArgumentParser
import IntervalNotifier
import NotifierBench
import NotifierStress

/// `notifier-bench`: runs the strategy comparison suite and writes its report.
@main
struct NotifierBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier-bench",
        abstract: "Compare locking strategies of the interval-notifier engine.",
        discussion: """
            Workloads: \(BenchWorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")). \
            Each runs for the selected strategies over a thread sweep (1, 2, 4, ... up to the \
            available cores, plus one point above; --threads overrides). Prints a progress line \
            per point, then the report's tables and targets, and writes the report under --out.
            """)

    @Option(help: "Strategies, comma separated, or all: \(RegistryStrategy.allCases.map(\.name).joined(separator: ", ")).")
    var strategy = "all"
    @Option(help: "RCU flavours, comma separated (memb, qsbr): the rcu strategies run are exactly these (qsbr adds rcu-qsbr). Default: as --strategy says.")
    var flavor: String?
    @Option(name: .customLong("protocol"), help: "Mirror protocols of the fault-path workload, comma separated: seq, odp, hmm (odp and hmm run with rcu only).")
    var protocols = "seq,odp,hmm"
    @Option(help: "Workloads, comma separated, or all: \(BenchWorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload = "all"
    @Option(help: "Thread counts, comma separated (default: 1, 2, 4, ... up to the cores, plus one above).")
    var threads: String?
    @Option(parsing: .unconditional, help: "Measured seconds per point (default 2; 0.3 with --quick).")
    var duration: Double?
    @Option(help: "NUMA nodes to pin threads to, comma separated (default: every allowed CPU).")
    var nodes: String?
    @Flag(help: "The whole suite in about 3 minutes on 2 cores: fewer sizes, short points.")
    var quick = false
    @Option(help: "Directory the report is written to.")
    var out = "results"
    @Option(name: .customLong("report-from"), help: ArgumentHelp(
        "Measure nothing: regenerate the report (tables, plots, README with the notes of --out/notes) from a bench.json written earlier.",
        valueName: "bench.json"))
    var reportFrom: String?

    static func list(_ text: String, _ what: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard items != [""] else { throw ValidationError("empty \(what) list") }
        guard !items.contains(where: \.isEmpty) else { throw ValidationError("empty item in \(what) list '\(text)'") }
        return items
    }

    static func integers(_ text: String, _ what: String) throws -> [Int] {
        try list(text, what).map {
            guard let n = Int($0) else { throw ValidationError("bad \(what) '\($0)' (expected an integer)") }
            return n
        }
    }

    func options() throws -> BenchOptions {
        // Strategies.
        var strategies: [RegistryStrategy]
        let names = try Self.list(strategy, "strategy")
        if names == ["all"] {
            strategies = RegistryStrategy.allCases
        } else {
            strategies = try names.map {
                guard let s = RegistryStrategy(name: $0) else {
                    throw ValidationError("unknown strategy '\($0)' (known: \(RegistryStrategy.allCases.map(\.name).joined(separator: ", ")), all)")
                }
                return s
            }
        }
        if let flavor {
            let flavors = try Self.list(flavor, "flavor").map {
                guard let f = RCUFlavor(rawValue: $0) else { throw ValidationError("unknown RCU flavour '\($0)' (known: memb, qsbr)") }
                return f
            }
            strategies.removeAll { if case .rcu = $0 { true } else { false } }
            strategies += flavors.map { .rcu($0) }
        }
        // Dedupe, in the canonical order.
        strategies = RegistryStrategy.allCases.filter(strategies.contains)
        guard !strategies.isEmpty else { throw ValidationError("no strategy selected") }

        let protocolList = try Self.list(protocols, "protocol").map {
            guard let p = MirrorProtocol(rawValue: $0) else {
                throw ValidationError("unknown protocol '\($0)' (known: \(MirrorProtocol.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return p
        }
        let workloadNames = try Self.list(workload, "workload")
        let workloads: [BenchWorkloadKind] = workloadNames == ["all"] ? BenchWorkloadKind.allCases : try workloadNames.map {
            guard let w = BenchWorkloadKind(rawValue: $0) else {
                throw ValidationError("unknown workload '\($0)' (known: \(BenchWorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")), all)")
            }
            return w
        }
        var threadList: [Int]?
        if let threads {
            let list = try Self.integers(threads, "thread count")
            guard list.allSatisfy({ $0 >= 1 }) else { throw ValidationError("thread counts must be at least 1 (got \(threads))") }
            threadList = Array(Set(list)).sorted()
        }
        if let duration { guard duration > 0, duration.isFinite else { throw ValidationError("--duration must be a positive number of seconds (got \(duration))") } }
        var nodeList: [Int]?
        if let nodes {
            let list = try Self.integers(nodes, "NUMA node")
            let available = BenchPlacement.availableNodes()
            let missing = list.filter { !available.contains($0) }
            guard missing.isEmpty else { throw ValidationError("no allowed CPUs on NUMA node(s) \(missing) (available: \(available))") }
            nodeList = list
        }
        var options = BenchOptions(placement: BenchPlacement.discover(nodes: nodeList))
        options.strategies = strategies
        options.protocols = protocolList
        options.workloads = workloads
        options.threads = threadList
        options.duration = duration
        options.nodes = nodeList
        options.quick = quick
        return options
    }

    func validate() throws { _ = try options() }

    func run() throws {
        if let reportFrom {
            let data = try Data(contentsOf: URL(fileURLWithPath: reportFrom))
            let results = try JSONDecoder().decode(BenchResults.self, from: data)
            let report = BenchReport(environment: results.environment, measurements: results.measurements)
            print("targets (ratios from the run of \(results.environment.date)):")
            for target in report.targets() { print("  " + target.summary) }
            // Read before writing: `reportFrom` may be `out/bench.json` itself.
            let paths = try report.write(to: out)
            print("wrote:")
            for path in paths { print("  \(path)") }
            return
        }
        let options = try options()
        let items = BenchSuite.items(options)
        let points = items.reduce(0) { $0 + $1.plan.points }
        let estimate = items.reduce(0.0) { $0 + $1.plan.seconds }
        print("notifier-bench\(options.quick ? " --quick" : ""): \(options.placement)")
        print("strategies: \(options.strategies.map(\.name).joined(separator: ", ")); workloads: \(items.map(\.kind.rawValue).joined(separator: ", "))")
        print("threads: \(options.sweepThreads.map(String.init).joined(separator: ",")) (lookup: \(options.lookupThreads.map(String.init).joined(separator: ","))); \(options.effectiveDuration) s per point")
        for item in items { print("  \(item.kind.rawValue): \(item.plan.points) points, ~\(Int(item.plan.seconds.rounded(.up))) s") }
        print("planned: \(points) points, estimated \(Self.minutes(estimate))")
        let progress = BenchProgress(totalPoints: points)
        var measurements: [BenchMeasurement] = []
        for item in items { measurements += item.run(progress) }
        print("finished \(measurements.count) measurements in \(Self.minutes(progress.elapsedSeconds))\n")

        var flags: [String: String] = ["strategy": strategy, "protocol": protocols, "workload": workload,
                                       "out": out, "quick": String(quick), "duration": String(options.effectiveDuration),
                                       "threads": options.sweepThreads.map(String.init).joined(separator: ",")]
        if let flavor { flags["flavor"] = flavor }
        if let nodes { flags["nodes"] = nodes }
        let report = BenchReport(environment: BenchEnvironment.capture(commandLine: CommandLine.arguments, flags: flags),
                                 measurements: measurements)
        print(report.tables())
        print("targets (ratios from this run):")
        for target in report.targets() { print("  " + target.summary) }
        let paths = try report.write(to: out)
        print("wrote:")
        for path in paths { print("  \(path)") }
    }

    static func minutes(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
