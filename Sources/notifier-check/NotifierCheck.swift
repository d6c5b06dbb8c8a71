#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier
import Synchronization

/// `notifier-check`: checks that need a process of their own, run by the tests
/// (as a child process) and by CI in debug and release builds.
///
///     notifier-check leaks [SPACES] [STRATEGY]   lifetime patterns (a)-(d), counters and RSS
///     notifier-check trap odd-initial-sequence    a misuse that must trap with its message
///     notifier-check uffd fork|map-count          userfaultfd monitor after fork(), at vm.max_map_count
///
/// Exit 0 when the check passes, 1 when it fails (one line on stderr says
/// why), 64 for a bad command line.
@main
struct NotifierCheck {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "leaks":
            let spaces = arguments.count > 1 ? Int(arguments[1]) : 100_000
            let strategy = arguments.count > 2 ? RegistryStrategy(name: arguments[2]) : .default
            guard let spaces, spaces > 0, spaces <= 10_000_000, let strategy else {
                usage("leaks: SPACES must be 1...10000000, STRATEGY one of \(RegistryStrategy.allCases.map(\.name).joined(separator: ", "))")
            }
            exit(LeakCheck(spaces: spaces, strategy: strategy).run() ? 0 : 1)
        case "trap":
            guard arguments.count == 2, let scenario = TrapScenario(rawValue: arguments[1]) else {
                usage("trap: SCENARIO must be one of \(TrapScenario.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scenario.run()
            printError("notifier-check: \(scenario.rawValue) did not trap")
            exit(1)
        case "uffd":
            guard arguments.count == 2, let check = UffdCheck(rawValue: arguments[1]) else {
                usage("uffd: CHECK must be one of \(UffdCheck.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            exit(check.run() ? 0 : 1)
        default:
            usage("usage: notifier-check leaks [SPACES] [STRATEGY] | trap SCENARIO | uffd CHECK")
        }
    }

    static func usage(_ line: String) -> Never {
        printError("notifier-check: \(line)")
        exit(64)
    }
}

/// Misuses that must trap with a message that survives `-c release`.
enum TrapScenario: String, CaseIterable {
    /// `AddressSpace(initialSequence:)` with an odd value.
    case oddInitialSequence = "odd-initial-sequence"

    func run() {
        switch self {
        case .oddInitialSequence:
            _ = AddressSpace(initialSequence: 3)
        }
    }
}

/// Writes `line` and a newline to standard error (file descriptor 2).
func printError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
