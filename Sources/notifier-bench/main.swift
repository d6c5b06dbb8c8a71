import NotifierCommands

// Parses, validates (exit 64, one line), checks the output folder (exit 73), runs.
await CommandEntry.main(NotifierBenchCommand.self)
