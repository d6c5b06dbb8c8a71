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
