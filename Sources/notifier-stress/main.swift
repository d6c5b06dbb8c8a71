import NotifierCommands

// Parses, validates (exit 64, one line), checks the output paths (exit 73), runs.
await CommandEntry.main(NotifierStressCommand.self)
