import Foundation

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

/// Runs `executable` with `arguments`, killing it after `timeoutSeconds`
/// (then `status` is -1). Backtraces are switched off so a trap prints its
/// message only.
func runChild(_ executable: String, _ arguments: [String], timeoutSeconds: Double) throws -> ChildResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Drain both pipes while the child runs, so a chatty child never blocks.
    let outputData = DataCollector(output.fileHandleForReading), errorData = DataCollector(error.fileHandleForReading)
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        return ChildResult(status: -1, standardOutput: outputData.text(), standardError: errorData.text() + "\n(killed after \(timeoutSeconds) s)", trapped: false)
    }
    process.waitUntilExit()
    return ChildResult(status: process.terminationStatus, standardOutput: outputData.text(), standardError: errorData.text(),
                       trapped: process.terminationReason == .uncaughtSignal)
}

/// Reads a pipe to its end on a thread of its own.
final class DataCollector: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    /// Everything read, once the writer closed the pipe.
    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
