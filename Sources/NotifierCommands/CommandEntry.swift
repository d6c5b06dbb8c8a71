import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The entry point both executables share: parse, validate, run, and turn
/// every error into an exit status and one line on standard error.
///
/// - Usage errors (argument-parser's own, and every ``ArgumentCheck`` failure
///   thrown from `validate()`): exit 64 (`EX_USAGE`), one line naming the flag,
///   the value and the allowed range, no usage text.
/// - An output path that cannot be created or written (``OutputPathError``):
///   exit 73 (`EX_CANTCREAT`), one line with the path and the `strerror` text.
/// - `ExitCode` thrown by `run()`: that status, nothing printed.
/// - `--help`: the help text on standard output, exit 0.
public enum CommandEntry {
    /// `EX_USAGE` of `<sysexits.h>`.
    public static let usageStatus: Int32 = 64
    /// `EX_CANTCREAT` of `<sysexits.h>`.
    public static let cannotCreateStatus: Int32 = 73

    /// Runs `command` on `arguments` (default: the process's) and exits.
    public static func main<C: ParsableCommand>(_ command: C.Type, arguments: [String]? = nil) async -> Never {
        let name = C.configuration.commandName ?? "command"
        do {
            // `parseAsRoot` returns argument-parser's own help command for
            // `--help` and `help`; its `run()` throws the help request, which
            // `report` prints like any other request (exit 0).
            var parsed = try C.parseAsRoot(arguments ?? Array(CommandLine.arguments.dropFirst()))
            if var asyncCommand = parsed as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try parsed.run()
            }
            exit(0)
        } catch {
            report(C.self, name: name, error)
        }
    }

    /// Turns an error from parsing, validation or the run into an exit status
    /// and what is printed: output-path failures exit 73; `ExitCode` exits with
    /// its status; help and version requests print to standard output and exit
    /// 0; everything else gets the status argument-parser gives it (64 for
    /// usage and validation errors, 1 otherwise) and one line on standard error.
    static func report<C: ParsableCommand>(_ command: C.Type, name: String, _ error: Error) -> Never {
        if let error = error as? OutputPathError { fail(name, error.description, status: cannotCreateStatus) }
        if let error = error as? ExitCode { exit(error.rawValue) }
        let status = C.exitCode(for: error)
        if status == .success {
            print(C.fullMessage(for: error))
            exit(0)
        }
        fail(name, C.message(for: error), status: status.rawValue)
    }

    /// One line for a parse or validation error, without usage text: what
    /// `main` prints after the command name (exposed for the tests).
    public static func usageLine<C: ParsableCommand>(_ command: C.Type, for error: Error) -> String {
        oneLine(C.message(for: error))
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func fail(_ name: String, _ message: String, status: Int32) -> Never {
        var line = oneLine(message)
        if line.hasPrefix("Error: ") { line.removeFirst("Error: ".count) }
        FileHandle.standardError.write(Data("\(name): \(line)\n".utf8))
        exit(status)
    }
}
