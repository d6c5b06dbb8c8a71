import Foundation

/// File-system writes of the report, with errors that name the path.
enum ReportFiles {
    /// Creates `path` and its parents if needed.
    static func createDirectory(_ path: String) throws(BenchReportError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// Replaces the file at `path` with `text` (UTF-8, atomically).
    static func write(_ text: String, to path: String) throws(BenchReportError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// `results` as pretty JSON with sorted keys; non-finite numbers as strings.
    static func json(_ results: BenchResults) throws(BenchReportError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                      negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(results), as: UTF8.self) + "\n"
        } catch {
            throw .cannotEncode("\(error)")
        }
    }
}
