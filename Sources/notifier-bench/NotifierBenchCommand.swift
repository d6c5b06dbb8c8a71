import ArgumentParser

/// `notifier-bench`: the strategy comparison suite (placeholder until the suite lands).
@main
struct NotifierBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "notifier-bench",
        abstract: "Compare locking strategies of the interval-notifier engine.")
    func run() throws {}
}
