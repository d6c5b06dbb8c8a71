import NotifierCommands

// Parses, validates (exit 64, one line), checks the output folder (exit 73), runs.
CommandEntry.main(NotifierBenchCommand.self)
