import Foundation

/// Hand-written explanations of missed targets, kept next to the report: the
/// file `notes/NAME.md` of the output directory explains every missed target
/// whose name starts with `NAME` (`fault-path-vs-rwlock size=1000` uses
/// `notes/fault-path-vs-rwlock.md`). The notes say why a target is missed, with
/// the profile or experiment that shows it; the figures of the run stay in the
/// generated tables, so a note never has to be edited to match a new run.
struct MissNotes {
    /// Note text by base name.
    let notes: [String: String]

    /// Reads every `*.md` under `directory/notes` (none if it does not exist).
    init(reportDirectory directory: String) {
        let folder = (directory as NSString).appendingPathComponent("notes")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var notes: [String: String] = [:]
        for name in names where name.hasSuffix(".md") {
            let path = (folder as NSString).appendingPathComponent(name)
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                notes[String(name.dropLast(3))] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        self.notes = notes
    }

    /// Creates notes from a dictionary (tests).
    init(notes: [String: String]) { self.notes = notes }

    /// The base name of a target (its name up to the first space).
    static func baseName(_ target: String) -> String {
        String(target.prefix { $0 != " " })
    }

    /// The note for `target`, if one was written.
    func note(for target: String) -> String? { notes[Self.baseName(target)] }
}
