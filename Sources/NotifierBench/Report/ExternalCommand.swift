import Foundation
import Subprocess
import SystemPackage

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
