/// Measurements as CSV (RFC 4180 quoting, `\n` line ends): one row per
/// measurement in run order; the fixed columns (`variant` is
/// ``BenchParameters/label``, `mirrorProtocol` `-` where none applies), then one `extra:NAME` column
/// per extra name found in any measurement (sorted), empty where absent.
enum MeasurementCSV {
    /// The fixed columns, in order.
    static let fixedColumns = ["workload", "variant", "strategy", "mirrorProtocol", "threads", "metric", "value",
                               "oversubscribed"]

    /// The CSV text, header first.
    static func encode(_ measurements: [BenchMeasurement]) -> String {
        let extras = Set(measurements.flatMap(\.extra.keys)).sorted()
        var lines = [(fixedColumns + extras.map { "extra:\($0)" }).map(field).joined(separator: ",")]
        for m in measurements {
            let fixed = [m.workload.rawValue, m.parameters.label, m.strategy.name, m.mirrorProtocol.label, String(m.threads),
                         m.metric.rawValue,
                         number(m.value), String(m.oversubscribed)]
            let extraFields = extras.map { m.extra[$0].map(number) ?? "" }
            lines.append((fixed + extraFields).map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` quoted when it holds a comma, a quote, a line break or edge spaces.
    static func field(_ text: String) -> String {
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0.isNewline }
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// A number in its shortest exact form; integers without `.0`.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
