import Foundation

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
/// `dpkg-query`, `pkg-config`, `gnuplot`), through `Foundation.Process`.
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

    /// Runs `name` (looked up on `PATH`) with `arguments` in `directory` (the
    /// current one when nil), standard input empty; the program is terminated
    /// after `timeout` seconds.
    static func run(_ name: String, _ arguments: [String], in directory: String? = nil,
                    timeout: Double = 30) throws(ExternalCommandError) -> CommandOutput {
        guard let executable = locate(name) else { throw .notFound(name) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw .launchFailed(name, "\(error)")
        }
        let errorReader = PipeReader(errors.fileHandleForReading)
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errorReader.wait()
        process.waitUntilExit()
        watchdog.cancel()
        return CommandOutput(status: process.terminationStatus,
                             signalled: process.terminationReason == .uncaughtSignal,
                             standardOutput: String(decoding: outputData, as: UTF8.self),
                             standardError: String(decoding: errorData, as: UTF8.self))
    }
}

/// Reads a pipe to its end on another thread, so that a program filling
/// standard error cannot block while standard output is being read.
private final class PipeReader: @unchecked Sendable {
    // Written once on the reading thread before `group.leave()`; read only
    // after `group.wait()`, which orders the two.
    private var data = Data()
    private let group = DispatchGroup()

    init(_ handle: FileHandle) {
        group.enter()
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.group.leave()
        }
    }

    /// Waits for the end of the pipe; returns everything read.
    func wait() -> Data {
        group.wait()
        return data
    }
}
