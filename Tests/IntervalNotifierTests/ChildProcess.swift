import Foundation
import Subprocess
import SystemPackage

/// What a child process did.
struct ChildResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
    /// Whether the child ended by a signal (a trap), not by `exit`.
    var trapped: Bool
}

/// The `notifier-check` executable built next to the test bundle (the same
/// configuration as the tests).
var notifierCheckPath: String {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let beside = bundleDirectory.appendingPathComponent("notifier-check").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    // `swift test` runs the bundle from `.build/<triple>/<configuration>/`.
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/notifier-check").path
}

/// Runs `executable` with `arguments` (swift-subprocess) and collects its
/// output. Backtraces are switched off so that a trap prints its message only.
/// The calling test bounds the time with `.timeLimit`.
func runChild(_ executable: String, _ arguments: [String]) async throws -> ChildResult {
    let result = try await run(
        .path(FilePath(executable)), arguments: Arguments(arguments),
        environment: .inherit.updating(["SWIFT_BACKTRACE": "enable=no"]),
        output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
    let (status, trapped): (Int32, Bool) = switch result.terminationStatus {
    case .exited(let code): (code, false)
    case .signaled(let signal): (signal, true)
    }
    return ChildResult(status: status, standardOutput: result.standardOutput, standardError: result.standardError, trapped: trapped)
}
