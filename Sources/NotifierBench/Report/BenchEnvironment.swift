import Foundation

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

    /// Creates an environment from known values (tests, or results read back).
    public init(cpuModel: String, onlineCores: Int, numaNodes: Int, kernel: String, swiftVersion: String,
                liburcuVersion: String, gitCommit: String, hostname: String, date: String,
                buildConfiguration: String, commandLine: [String], flags: [String: String]) {
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
                         commandLine: commandLine, flags: flags)
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
