import ArgumentParser
import Foundation
import NotifierBench
import NotifierCommands
import NotifierStress
import Testing

/// The two commands' command lines: every bad input is refused in validation
/// (exit 64, one line naming the flag), before any work; unwritable output
/// paths exit 73; good command lines parse.
@Suite("Command-line validation")
struct CommandLineValidationTests {
    /// A bad command line and a piece of the one-line message it must give.
    struct Bad: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var expected: String
        init(_ arguments: [String], _ expected: String) {
            self.arguments = arguments
            self.expected = expected
        }
        var testDescription: String { arguments.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ") }
    }

    static let badStress: [Bad] = [
        // Found by the issue's new user: each used to trap.
        Bad(["--duration", "nan"], "--duration nan"),
        Bad(["--duration", "inf"], "--duration inf"),
        Bad(["--duration", "1e300"], "--duration 1e+300"),
        Bad(["--duration=-1"], "--duration -1"),
        Bad(["--teardown-at=-0.5"], "--teardown-at -0.5"),
        Bad(["--faulters=-1"], "--faulters -1"),
        Bad(["--pages=1000000000000"], "MemTotal"),
        Bad(["--events", ""], "--events ''"),
        // ... and each used to be accepted silently.
        Bad(["--nodes", "99"], "--nodes 99"),
        Bad(["--cpu", "99999"], "--cpu 99999"),
        Bad(["--teardown-at", "1.5"], "--teardown-at 1.5"),
        Bad(["--non-blockable", "2"], "--non-blockable 2"),
        Bad(["--pages", "0"], "--pages 0"),
        Bad(["--subscriptions", "0"], "--subscriptions 0"),
        Bad(["--fake-nodes", "99999"], "--fake-nodes 99999"),
        Bad(["--subscriptions", "100000000"], "MemTotal"),
        // More of the same kinds.
        Bad(["--duration", "0"], "--duration 0"),
        Bad(["--duration", "604801"], "--duration 604801"),
        Bad(["--hang-bound", "0"], "--hang-bound 0"),
        Bad(["--hang-bound", "nan"], "--hang-bound nan"),
        Bad(["--faulters", "0"], "--faulters 0"),
        Bad(["--faulters", "5000"], "--faulters 5000"),
        Bad(["--invalidators", "-1"], "--invalidators -1"),
        Bad(["--churners", "99999"], "--churners 99999"),
        Bad(["--faulters", "3000", "--invalidators", "1000", "--churners", "100"], "4100"),
        Bad(["--put-fraction", "-0.1"], "--put-fraction -0.1"),
        Bad(["--put-fraction", "nan"], "--put-fraction nan"),
        Bad(["--non-blockable", "inf"], "--non-blockable inf"),
        Bad(["--events", "unmap,bogus"], "--events bogus: unknown; valid: unmap"),
        Bad(["--events", "unmap,,clear"], "empty item"),
        Bad(["--events", "release"], "--events release: unknown"),
        Bad(["--strategy", "bogus"], "--strategy bogus: unknown; valid: rcu"),
        Bad(["--protocol", "bogus"], "--protocol bogus: unknown; valid: seq, odp, hmm"),
        Bad(["--broken", "bogus"], "--broken bogus: unknown"),
        Bad(["--broken", "hmmSkipsEpochCheck", "--protocol", "seq"], "--protocol hmm"),
        Bad(["--broken", "callbackSkipsSetSequence", "--no-oracle"], "--no-oracle"),
        Bad(["--max-subscription-pages", "0"], "--max-subscription-pages 0"),
        Bad(["--max-subscription-pages", "5000"], "--max-subscription-pages 5000"),
        Bad(["--max-invalidation-pages", "0"], "--max-invalidation-pages 0"),
        Bad(["--nodes", ""], "--nodes ''"),
        Bad(["--nodes", "0,x"], "--nodes x"),
        Bad(["--fake-nodes", "0"], "--fake-nodes 0"),
        Bad(["--fake-nodes", "1", "--nodes", "1"], "pretend node"),
        Bad(["--cpu", "0", "--nodes", "0"], "do not combine"),
        Bad(["--cpu", "-1"], "--cpu -1"),
        Bad(["--max-rss-growth", "0.5"], "--max-rss-growth 0.5"),
        Bad(["--max-rss-growth", "nan"], "--max-rss-growth nan"),
        Bad(["--faulters", "abc"], "--faulters"),
        Bad(["--seed", "-1"], "--seed"),
        // --source uffd: the real-memory churn.
        Bad(["--source", "bogus"], "--source bogus: unknown; valid: explicit, uffd"),
        Bad(["--source", "uffd", "--invalidators", "0"], "--invalidators 0"),
        Bad(["--source", "uffd", "--subscriptions", "2000000"], "--subscriptions 2000000"),
        Bad(["--source", "uffd", "--broken", "callbackSkipsSetSequence"], "applies to --source explicit only"),
        Bad(["--source", "uffd", "--protocol", "hmm"], "applies to --source explicit only"),
        Bad(["--source", "uffd", "--teardown-at", "0.5"], "applies to --source explicit only"),
    ]

    static let badBench: [Bad] = [
        Bad(["--duration", "1e300"], "--duration 1e+300"),
        Bad(["--threads", "99999999999"], "--threads 99999999999"),
        Bad(["--threads", "5000"], "--threads 5000"),
        Bad(["--threads", "0"], "--threads 0"),
        Bad(["--threads", ""], "--threads ''"),
        Bad(["--threads", "1,,2"], "empty item"),
        Bad(["--duration", "nan"], "--duration nan"),
        Bad(["--duration", "-1"], "--duration -1"),
        Bad(["--duration", "0"], "--duration 0"),
        Bad(["--strategy", "bogus"], "--strategy bogus: unknown; valid: rcu"),
        Bad(["--strategy", ""], "--strategy ''"),
        Bad(["--flavor", "bogus"], "--flavor bogus: unknown; valid: memb, qsbr, bp, mb"),
        Bad(["--protocol", "bogus"], "--protocol bogus: unknown"),
        Bad(["--workload", "bogus"], "--workload bogus: unknown; valid: read-primitive"),
        Bad(["--workload", ""], "--workload ''"),
        // A workload that runs only within another one is not a name --workload accepts.
        Bad(["--workload", "fault-path-harness"], "--workload fault-path-harness: unknown; valid: read-primitive, fault-path, lookup, storm, churn, mixed, memory, insert-remove, tree, cache"),
        Bad(["--nodes", "99"], "--nodes 99"),
        Bad(["--cache-sizes", "0"], "--cache-sizes 0"),
        Bad(["--cache-sizes", "1000,2000000"], "--cache-sizes 2000000"),
        Bad(["--cache-sizes", "1e3"], "--cache-sizes 1e3"),
        Bad(["--cache-sizes", "1000,"], "empty item"),
        Bad(["--protocol", "odp", "--strategy", "kernel", "--workload", "fault-path"], "measures no point"),
        Bad(["--report-from", "/nonexistent/bench.json"], "--report-from /nonexistent/bench.json"),
        // `tree` alone runs one thread with its own repetition lengths.
        Bad(["--workload", "tree", "--threads", "2"], "--threads 2: the tree workload runs one thread"),
        Bad(["--workload", "tree", "--threads", "1,2"], "--threads 1,2: the tree workload runs one thread"),
        Bad(["--workload", "tree", "--duration", "1"], "--duration 1.0: the tree workload sets its own"),
        Bad(["--workload", "tree,bogus"], "--workload bogus: unknown"),
        Bad(["--workload", "tree", "--threads", "0"], "--threads 0"),
    ]

    static func check<C: ParsableCommand>(_ command: C.Type, _ bad: Bad) {
        do {
            _ = try C.parseAsRoot(bad.arguments)
            Issue.record("\(bad.testDescription) was accepted")
        } catch {
            #expect(C.exitCode(for: error).rawValue == 64, "\(error)")
            let line = CommandEntry.usageLine(C.self, for: error)
            #expect(line.contains(bad.expected), "message: \(line)")
            #expect(!C.message(for: error).contains("Usage:"), "no usage text: \(C.message(for: error))")
        }
    }

    @Test("notifier-stress refuses a bad input in validation with one line naming it", arguments: badStress)
    func badStressInput(_ bad: Bad) { Self.check(NotifierStressCommand.self, bad) }

    @Test("notifier-bench refuses a bad input in validation with one line naming it", arguments: badBench)
    func badBenchInput(_ bad: Bad) { Self.check(NotifierBenchCommand.self, bad) }

    @Test("good command lines parse")
    func goodInputs() throws {
        for arguments in [[], ["--duration", "3"], ["--source", "uffd"], ["--source", "explicit", "--duration", "2"], ["--teardown-at", "0.5", "--fake-nodes", "2"], ["--teardown-at", "0"],
                          ["--protocol", "hmm", "--strategy", "rcu-qsbr"], ["--cpu", "0"], ["--nodes", "0"],
                          ["--broken", "hmmSkipsEpochCheck"], ["--events", "unmap, clear"], ["--max-rss-growth", "1.2"],
                          ["--invalidators", "0", "--churners", "0"], ["--json", "/tmp/x.json"]] as [[String]] {
            let command = try #require(try NotifierStressCommand.parseAsRoot(arguments) as? NotifierStressCommand, "\(arguments)")
            _ = try command.stressConfiguration()
        }
        for arguments in [[], ["--quick"], ["--workload", "lookup", "--threads", "1,2"], ["--strategy", "rcu,kernel", "--protocol", "seq"],
                          ["--out", "results"], ["--flavor", "qsbr"], ["--nodes", "0"], ["--duration", "0.1"],
                          ["--workload", "tree"], ["--workload", "tree", "--quick", "--out", "/tmp/tree-run"],
                          ["--workload", "tree", "--threads", "1"], ["--workload", "tree,lookup", "--threads", "1,2"],
                          ["--workload", "tree", "--strategy", "kernel"]] as [[String]] {
            _ = try NotifierBenchCommand.parseAsRoot(arguments)
        }
        let tree = try #require(try NotifierBenchCommand.parseAsRoot(["--workload", "tree", "--quick"]) as? NotifierBenchCommand)
        #expect(try tree.options().workloads == [.tree])
        #expect(try tree.options().treeSettings.repetitions.count == 3)
    }

    @Test("the bp and mb flavours run in read-primitive, fault-path and lookup by default, everywhere when named")
    func flavourWorkloads() throws {
        func strategies(_ arguments: [String]) throws -> [BenchWorkload: [String]] {
            let command = try #require(try NotifierBenchCommand.parseAsRoot(arguments) as? NotifierBenchCommand)
            let options = try command.options()
            return Dictionary(uniqueKeysWithValues: BenchWorkload.runnable.map { ($0, options.strategies(for: $0).map(\.name)) })
        }
        let defaults = try strategies([])
        #expect(defaults[.lookup]!.contains("rcu-bp") && defaults[.readPrimitive]!.contains("rcu-mb") && defaults[.faultPath]!.contains("rcu-bp"))
        #expect(defaults[.storm] == ["rcu", "rcu-qsbr", "kernel", "rwlock", "mutex"])
        #expect(try strategies(["--strategy", "rcu-bp", "--workload", "storm"])[.storm] == ["rcu-bp"])
        #expect(try strategies(["--flavor", "bp,mb"])[.churn] == ["rcu-bp", "rcu-mb", "kernel", "rwlock", "mutex"])
    }

    @Test("notifier-bench writes into a new untracked results/runs/<UTC timestamp>/ unless --out says otherwise")
    func benchDefaultOutput() throws {
        let command = try #require(try NotifierBenchCommand.parseAsRoot([]) as? NotifierBenchCommand)
        let directory = command.outputDirectory(now: Date(timeIntervalSince1970: 0))
        #expect(directory == "results/runs/1970-01-01T00-00-00Z")
        let explicit = try #require(try NotifierBenchCommand.parseAsRoot(["--out", "results"]) as? NotifierBenchCommand)
        #expect(explicit.outputDirectory() == "results")
    }

    @Test("output paths are created and write-tested; failures name the path and strerror")
    func outputProbe() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        try OutputProbe.prepareDirectory(base + "/a/b", flag: "--out")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/a/b").isEmpty, "the probe file is deleted")
        _ = FileManager.default.createFile(atPath: base + "/file", contents: Data())
        #expect(throws: OutputPathError(flag: "--out", path: base + "/file", reason: "Not a directory")) {
            try OutputProbe.prepareDirectory(base + "/file/sub", flag: "--out")
        }
        #expect(throws: OutputPathError(flag: "--json", path: base + "/a", reason: "Is a directory")) {
            try OutputProbe.prepareFile(base + "/a", flag: "--json")
        }
    }

    @Test("RSS summary: first, peak after the first, value at one minute or at the end")
    func rssSummary() {
        let short = RSSSummary(samples: [RSSSample(seconds: 0, bytes: 100), RSSSample(seconds: 3, bytes: 110)])
        #expect(short.peakAfterFirst == 110 && short.atOneMinute?.bytes == 110 && abs(short.growth - 1.1) < 1e-9)
        let long = RSSSummary(samples: (0...9).map { RSSSample(seconds: Double($0) * 10, bytes: 100 + $0) })
        #expect(long.atOneMinute?.seconds == 60 && long.peak == 109)
    }

    // MARK: End to end (the debug binaries, as a user runs them)

    /// A guard against a hang, not a speed bound: under ThreadSanitizer, with the
    /// other suites running on two loaded CPUs, the four launches of the bad-input
    /// test took 143 s (CI of 2026-12-02 05:55 UTC; 31 s in the plain run).
    static let launchTimeLimit = TimeLimitTrait.Duration.minutes(3)

    static func binary(_ name: String) -> String {
        notifierCheckPath.replacingOccurrences(of: "notifier-check", with: name)
    }

    static func expectOneLine(_ result: ChildResult, status: Int32, containing text: String) {
        #expect(result.status == status && !result.trapped, "status \(result.status): \(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "one line on stderr: \(result.standardError)")
        #expect(result.standardError.contains(text), "\(result.standardError)")
    }

    @Test("end to end: bad inputs exit 64 with one line, at once", .timeLimit(Self.launchTimeLimit))
    func endToEndUsage() async throws {
        let cases: [(String, [String], String)] = [
            ("notifier-stress", ["--duration", "nan"], "notifier-stress: --duration nan: must be a number of seconds in (0, 604800]"),
            ("notifier-stress", ["--faulters", "abc"], "--faulters"),
            ("notifier-bench", ["--threads", "99999999999"],
             "notifier-bench: --threads 99999999999: each thread count must be an integer in [1, 4096]"),
            ("notifier-bench", ["--protocol", "odp", "--strategy", "kernel", "--workload", "fault-path"], "measures no point"),
        ]
        for (name, arguments, message) in cases {
            let result = try await runChild(Self.binary(name), arguments)
            Self.expectOneLine(result, status: 64, containing: message)
            // Refused before any work: a run prints its plan and progress on stdout
            // first (a wall-clock bound here failed on a loaded machine, not on a bug).
            #expect(result.standardOutput.isEmpty, "\(name) \(arguments): started work: \(result.standardOutput.prefix(200))")
        }
    }

    @Test("end to end: --help prints the usage on standard output and exits 0", .timeLimit(Self.launchTimeLimit))
    func endToEndHelp() async throws {
        for name in ["notifier-stress", "notifier-bench"] {
            let result = try await runChild(Self.binary(name), ["--help"])
            #expect(result.status == 0 && !result.trapped, "\(name) --help: status \(result.status): \(result.standardError)")
            #expect(result.standardOutput.contains("USAGE: \(name)"), "\(name) --help printed: \(result.standardOutput.prefix(200))")
            #expect(result.standardError.isEmpty, "\(name) --help wrote to stderr: \(result.standardError)")
        }
    }

    @Test("end to end: unwritable output paths exit 73 before the run, with the path and strerror", .timeLimit(Self.launchTimeLimit))
    func endToEndOutput() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-folder-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: file) }
        // A long duration: the check must come before the run.
        Self.expectOneLine(try await runChild(Self.binary("notifier-stress"), ["--duration", "600", "--json", file + "/sub/out.json"]),
                           status: 73, containing: "--json \(file): cannot write: Not a directory")
        Self.expectOneLine(try await runChild(Self.binary("notifier-bench"), ["--out", file + "/report"]),
                           status: 73, containing: "--out \(file): cannot write: Not a directory")
    }

    /// A bench.json written before typed measurements (a `variant` label, no
    /// `parameters`) is refused with one line, not decoded by parsing the label.
    @Test("end to end: --report-from an old-format bench.json exits 64 with one line", .timeLimit(Self.launchTimeLimit))
    func endToEndOldReport() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("old-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = String(decoding: try JSONEncoder().encode(BenchReportTests.environment(cores: 2)), as: UTF8.self)
        let old = #"{"environment":"# + environment + #","targets":[],"measurements":[{"workload":"lookup","variant":"size=1000 writer=no","strategy":"rcu","mirrorProtocol":"-","threads":1,"metric":"ns/op","value":40,"extra":{},"oversubscribed":false}]}"#
        try old.write(toFile: folder + "/bench.json", atomically: true, encoding: .utf8)
        Self.expectOneLine(try await runChild(Self.binary("notifier-bench"),
                                              ["--report-from", folder + "/bench.json", "--out", folder + "/out"]),
                           status: 64, containing: "is not a bench.json of this notifier-bench (no parameters at measurements.Index 0)")
    }

    /// An extra this notifier-bench does not know is refused with one line
    /// naming it, not dropped.
    @Test("end to end: --report-from a bench.json with an unknown extra exits 64 with one line naming it", .timeLimit(Self.launchTimeLimit))
    func endToEndUnknownExtra() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bogus-extra-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = String(decoding: try JSONEncoder().encode(BenchReportTests.environment(cores: 2)), as: UTF8.self)
        let results = #"{"environment":"# + environment + #","targets":[],"measurements":["#
            + BenchReportTests.measurementWithBogusExtra + "]}"
        try results.write(toFile: folder + "/bench.json", atomically: true, encoding: .utf8)
        Self.expectOneLine(try await runChild(Self.binary("notifier-bench"),
                                              ["--report-from", folder + "/bench.json", "--out", folder + "/out"]),
                           status: 64, containing: "unknown extra bogus")
    }
}
