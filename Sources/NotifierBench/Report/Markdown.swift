import Foundation

/// Small helpers for the Markdown the report writes.
enum Markdown {
    /// Column alignment of a table.
    enum Alignment {
        case left, right
    }

    /// `text` made safe inside a table cell (pipes escaped, newlines as spaces).
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
            .split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// `text` as inline code (backticks inside are avoided by a longer fence).
    static func code(_ text: String) -> String {
        let fence = text.contains("`") ? "``" : "`"
        let padding = text.hasPrefix("`") || text.hasSuffix("`") ? " " : ""
        return "\(fence)\(padding)\(text)\(padding)\(fence)"
    }

    /// A table; cells are escaped here.
    static func table(header: [String], alignments: [Alignment], rows: [[String]]) -> String {
        var lines = ["| " + header.map(cell).joined(separator: " | ") + " |"]
        lines.append("|" + alignments.map { $0 == .right ? "---:|" : "---|" }.joined())
        for row in rows { lines.append("| " + row.map(cell).joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n") + "\n"
    }
}
