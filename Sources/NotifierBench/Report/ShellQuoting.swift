/// Command lines written so that they can be pasted into a POSIX shell.
enum ShellQuoting {
    /// The arguments joined by spaces, each quoted when needed.
    static func commandLine(_ arguments: [String]) -> String {
        arguments.map(argument).joined(separator: " ")
    }

    /// `text` unchanged when it holds only safe characters, else single-quoted.
    static func argument(_ text: String) -> String {
        let safe = !text.isEmpty && text.allSatisfy { character in
            character.isASCII && (character.isLetter || character.isNumber || "-_./=:,+@%".contains(character))
        }
        return safe ? text : "'" + text.replacing("'", with: "'\\''") + "'"
    }
}
