// Where a run was made: the machine, kernel, toolchain and commit, probed
// through /proc, /sys and external commands.

import CNotifierHarness
import Foundation
import IntervalNotifier
import Subprocess
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The machine, toolchain, revision and invocation a benchmark run was made
/// with; recorded next to the measurements so that results stay interpretable.
public struct BenchEnvironment: Codable, Sendable, Hashable {
    /// CPU model from `/proc/cpuinfo` ("unknown" when unreadable).
    public var cpuModel: String
    /// Online CPUs; the targets that depend on the core count use this.
    public var onlineCores: Int
    /// Online NUMA nodes (1 on a non-NUMA machine).
    public var numaNodes: Int
    /// Kernel release (`uname -r`).
    public var kernel: String
    /// First line of `swift --version` where `swift` is on `PATH`, else "unknown".
    public var swiftVersion: String
    /// liburcu version from dpkg or pkg-config, else "unknown".
    public var liburcuVersion: String
    /// Short commit hash, suffixed `-dirty` with modified tracked files, or "unknown".
    public var gitCommit: String
    /// Host name.
    public var hostname: String
    /// Start of the run, ISO 8601 in UTC (`2025-01-31T12:00:00Z`).
    public var date: String
    /// `debug` or `release` (how the benchmark binary was compiled).
    public var buildConfiguration: String
    /// The exact command line, program name first.
    public var commandLine: [String]
    /// The options in effect, by name (defaults included when the caller passes them).
    public var flags: [String: String]
    /// How the interval tree's readers scan a node on this machine: the vector
    /// scan's instruction set and the tree size up to which it is used (nil in
    /// runs recorded before it existed).
    public var treeNodeScan: String?

    /// Creates an environment from known values (tests, or results read back).
    public init(cpuModel: String, onlineCores: Int, numaNodes: Int, kernel: String, swiftVersion: String,
                liburcuVersion: String, gitCommit: String, hostname: String, date: String,
                buildConfiguration: String, commandLine: [String], flags: [String: String],
                treeNodeScan: String? = nil) {
        self.cpuModel = cpuModel
        self.onlineCores = onlineCores
        self.numaNodes = numaNodes
        self.kernel = kernel
        self.swiftVersion = swiftVersion
        self.liburcuVersion = liburcuVersion
        self.gitCommit = gitCommit
        self.hostname = hostname
        self.date = date
        self.buildConfiguration = buildConfiguration
        self.commandLine = commandLine
        self.flags = flags
        self.treeNodeScan = treeNodeScan
    }

    /// Captures the current machine and process: reads `/proc`, `/sys` and
    /// `uname`, and runs `swift --version`, `dpkg-query`/`pkg-config` and `git`
    /// (in the current directory) where available. Never fails: whatever
    /// cannot be learnt is "unknown".
    public static func capture(commandLine: [String], flags: [String: String]) async -> BenchEnvironment {
        let swiftVersion = await ToolProbe.swiftVersion(), liburcuVersion = await ToolProbe.liburcuVersion()
        let gitCommit = await ToolProbe.gitCommit()
        return BenchEnvironment(cpuModel: HostProbe.cpuModel(), onlineCores: HostProbe.onlineCores(),
                         numaNodes: HostProbe.numaNodes(), kernel: HostProbe.kernelRelease(),
                         swiftVersion: swiftVersion, liburcuVersion: liburcuVersion,
                         gitCommit: gitCommit, hostname: HostProbe.hostname(),
                         date: isoDate(Date()), buildConfiguration: buildConfiguration,
                         commandLine: commandLine, flags: flags, treeNodeScan: treeNodeScanDescription)
    }

    /// How readers scan tree nodes here, for the report (see ``treeNodeScan``).
    static var treeNodeScanDescription: String {
        guard IntervalTreeNodeScan.isAvailable else { return "word by word (no vector unit)" }
        return "\(IntervalTreeNodeScan.instructionSet) vector compares up to \(IntervalTreeNodeScan.defaultEntryLimit) entries, word by word above"
    }

    /// How this module was compiled.
    static var buildConfiguration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    /// `date` as ISO 8601 in UTC, whole seconds.
    static func isoDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// Facts about the machine read from the operating system (no external programs).
enum HostProbe {
    /// The CPU model named by `/proc/cpuinfo`, or "unknown".
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        return cpuModel(fromCPUInfo: text) ?? "unknown"
    }

    /// The first `model name` (x86), `Model`, `Hardware` or `cpu model` entry of
    /// a `/proc/cpuinfo` text.
    static func cpuModel(fromCPUInfo text: String) -> String? {
        let keys = ["model name", "Model", "Hardware", "cpu model", "cpu"]
        var found: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if keys.contains(key), !value.isEmpty, found[key] == nil { found[key] = value }
        }
        return keys.lazy.compactMap { found[$0] }.first
    }

    /// Online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    static func onlineCores() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Online NUMA nodes: `/sys/devices/system/node/online`, else libnuma's
    /// highest node + 1, else 1.
    static func numaNodes() -> Int {
        if let text = try? String(contentsOfFile: "/sys/devices/system/node/online", encoding: .utf8),
           let count = countOfIDList(text), count > 0 {
            return count
        }
        if cnp_numa_available() != 0 { return Int(cnp_numa_max_node()) + 1 }
        return 1
    }

    /// Number of ids in a kernel list such as `0`, `0-3` or `0,2-3`; nil when malformed.
    static func countOfIDList(_ text: String) -> Int? {
        var count = 0
        for range in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = range.split(separator: "-")
            switch bounds.count {
            case 1 where Int(bounds[0]) != nil:
                count += 1
            case 2:
                guard let low = Int(bounds[0]), let high = Int(bounds[1]), high >= low else { return nil }
                count += high - low + 1
            default:
                return nil
            }
        }
        return count
    }

    /// The kernel release (`uname -r`), or "unknown".
    static func kernelRelease() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        let release = withUnsafeBytes(of: &names.release) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return release.isEmpty ? "unknown" : release
    }

    /// The host name (`gethostname`), or "unknown".
    static func hostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress else { return -1 }
            return gethostname(base.assumingMemoryBound(to: CChar.self), bytes.count - 1)
        }
        guard rc == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }
}

/// Versions and revisions learnt by running external tools; each falls back
/// to "unknown" when the tool is missing or fails.
enum ToolProbe {
    /// First line of `swift --version` (a static binary cannot know the
    /// compiler that built it), or "unknown".
    static func swiftVersion() async -> String {
        guard let output = try? await ExternalCommand.run("swift", ["--version"], timeout: 20), output.succeeded,
              let line = output.firstLine else { return "unknown" }
        return line
    }

    /// The liburcu version (the `URCU_VERSION` macro is invisible to Swift):
    /// `dpkg-query -W liburcu-dev`, else `pkg-config --modversion liburcu`, else "unknown".
    static func liburcuVersion() async -> String {
        if let output = try? await ExternalCommand.run("dpkg-query", ["-W", "-f=${Version}", "liburcu-dev"]),
           output.succeeded, let version = output.firstLine {
            return version
        }
        if let output = try? await ExternalCommand.run("pkg-config", ["--modversion", "liburcu"]),
           output.succeeded, let version = output.firstLine {
            return version
        }
        return "unknown"
    }

    /// The checked-out commit of the current directory's repository
    /// (`git rev-parse --short HEAD`), suffixed `-dirty` when tracked files
    /// are modified; "unknown" outside a repository or without git.
    static func gitCommit() async -> String {
        guard let head = try? await ExternalCommand.run("git", ["rev-parse", "--short", "HEAD"]), head.succeeded,
              let commit = head.firstLine else { return "unknown" }
        guard let status = try? await ExternalCommand.run("git", ["status", "--porcelain", "--untracked-files=no"]),
              status.succeeded else { return commit }
        return status.firstLine == nil ? commit : "\(commit)-dirty"
    }
}

/// What an external program printed and how it ended.
struct CommandOutput: Sendable {
    /// Exit status (or the signal number when `signalled`).
    var status: Int32
    /// Whether the program was ended by a signal (for instance by the timeout).
    var signalled: Bool
    /// Everything written to standard output.
    var standardOutput: String
    /// Everything written to standard error.
    var standardError: String

    /// Whether the program exited normally with status 0.
    var succeeded: Bool { !signalled && status == 0 }

    /// The first non-empty line of standard output, trimmed, if any.
    var firstLine: String? {
        standardOutput.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty }
    }
}

/// Why an external program could not be run.
enum ExternalCommandError: Error, CustomStringConvertible {
    /// No executable of that name in any directory of `PATH`.
    case notFound(String)
    /// The program was found but could not be started.
    case launchFailed(String, String)

    var description: String {
        switch self {
        case .notFound(let name): "\(name): not found on PATH"
        case .launchFailed(let name, let reason): "\(name): could not be started: \(reason)"
        }
    }
}

/// The one place where the report starts other programs (`git`, `swift`,
/// `dpkg-query`, `pkg-config`, `gnuplot`), through swift-subprocess.
enum ExternalCommand {
    /// The absolute path of executable `name` found on `PATH`, or nil.
    static func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `name` (looked up on PATH) with `arguments`, in `directory` when
    /// given, with standard input closed, through swift-subprocess; the child
    /// is torn down (SIGKILL at the end of the sequence) after `timeout` seconds.
    static func run(_ name: String, _ arguments: [String], in directory: String? = nil,
                    timeout: Double = 30) async throws(ExternalCommandError) -> CommandOutput {
        guard let executable = locate(name) else { throw .notFound(name) }
        let outcome: CommandOutput?
        do {
            outcome = try await withThrowingTaskGroup(of: CommandOutput?.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        .path(FilePath(executable)), arguments: Arguments(arguments),
                        workingDirectory: directory.map { FilePath($0) },
                        input: .none, output: .string(limit: 1 << 24), error: .string(limit: 1 << 24))
                    let (status, signalled): (Int32, Bool) = switch result.terminationStatus {
                    case .exited(let code): (code, false)
                    case .signaled(let signal): (signal, true)
                    }
                    return CommandOutput(status: status, signalled: signalled,
                                         standardOutput: result.standardOutput, standardError: result.standardError)
                }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                    return nil
                }
                let first = try await group.next() ?? nil
                // Cancelling the run tears the child down.
                group.cancelAll()
                return first
            }
        } catch {
            throw .launchFailed(name, "\(error)")
        }
        guard let outcome else { throw .launchFailed(name, "timed out after \(timeout) s") }
        return outcome
    }
}

/// Command lines written so that they can be pasted into a POSIX shell.
enum ShellQuoting {
    /// The arguments joined by spaces, each quoted when needed.
    static func commandLine(_ arguments: [String]) -> String {
        arguments.map(argument).joined(separator: " ")
    }

    /// `text` unchanged when it holds only safe characters, else single-quoted.
    static func argument(_ text: String) -> String {
        let safe = !text.isEmpty && text.allSatisfy { character in
            character.isASCII && (character.isLetter || character.isNumber || "-_./=:,+@%".contains(character))
        }
        return safe ? text : "'" + text.replacing("'", with: "'\\''") + "'"
    }
}
