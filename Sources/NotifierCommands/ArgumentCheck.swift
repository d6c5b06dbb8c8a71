import ArgumentParser
import Foundation

/// The checks both commands run in `validate()`, before any work. Each failure
/// is a `ValidationError` whose message is one line: the flag, the value given
/// and what is allowed (``CommandEntry`` prints it and exits 64).
public enum ArgumentCheck {
    /// The longest run or point accepted: one week, in seconds.
    public static let maxSeconds: Double = 7 * 24 * 3600
    /// The most threads accepted (per flag and in total).
    public static let maxThreads = 4096

    /// The error for `flag` given `value`, with what is allowed.
    public static func error(_ flag: String, _ value: String, _ allowed: String) -> ValidationError {
        ValidationError("\(flag) \(value.isEmpty ? "''" : value): \(allowed)")
    }

    /// A duration in seconds: finite, above zero, at most `max` (a week).
    public static func seconds(_ value: Double, flag: String, max: Double = maxSeconds) throws {
        guard value.isFinite, value > 0, value <= max else {
            throw error(flag, "\(value)", "must be a number of seconds in (0, \(Int(max))] (at most a week)")
        }
    }

    /// A fraction: finite, in [0, 1].
    public static func fraction(_ value: Double, flag: String) throws {
        guard value.isFinite, value >= 0, value <= 1 else { throw error(flag, "\(value)", "must be a fraction in [0, 1]") }
    }

    /// An integer in `range`.
    public static func integer(_ value: Int, flag: String, in range: ClosedRange<Int>, what: String = "") throws {
        guard range.contains(value) else {
            throw error(flag, "\(value)", "must be \(what.isEmpty ? "" : what + " ")in [\(range.lowerBound), \(range.upperBound)]")
        }
    }

    /// The items of a comma-separated list (spaces around items ignored); no
    /// empty list, no empty item.
    public static func list(_ text: String, flag: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard items != [""] else { throw error(flag, text, "must be a non-empty comma-separated list") }
        guard !items.contains(where: \.isEmpty) else { throw error(flag, text, "has an empty item") }
        return items
    }

    /// The values named by a comma-separated list of `known` names; an unknown
    /// name is an error that lists the known ones.
    public static func names<T>(_ text: String, flag: String, known: [(String, T)]) throws -> [T] {
        try list(text, flag: flag).map { try name($0, flag: flag, known: known) }
    }

    /// The value named `text` among `known`; an unknown name is an error that
    /// lists the known ones.
    public static func name<T>(_ text: String, flag: String, known: [(String, T)]) throws -> T {
        guard let value = known.first(where: { $0.0 == text })?.1 else {
            throw error(flag, text, "unknown; valid: \(known.map(\.0).joined(separator: ", "))")
        }
        return value
    }

    /// A comma-separated list of integers, each in `allowed` (listed in the error).
    public static func members(_ text: String, flag: String, allowed: [Int], what: String) throws -> [Int] {
        try list(text, flag: flag).map {
            guard let n = Int($0), allowed.contains(n) else {
                throw error(flag, $0, "no such \(what) on this machine; available: \(allowed.map(String.init).joined(separator: ","))")
            }
            return n
        }
    }

    /// `MemTotal` of /proc/meminfo in bytes (nil if unreadable).
    public static func memTotalBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Double(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// Fails when `bytes` (computed by the caller from `flag`'s value) would not
    /// fit in `MemTotal`; the message gives both.
    public static func memory(_ bytes: Double, flag: String, value: String, what: String, memTotal: Double? = memTotalBytes()) throws {
        guard let memTotal else { return }
        guard bytes.isFinite, bytes <= memTotal else {
            throw error(flag, value, "\(what) would need \(byteText(bytes)), more than MemTotal \(byteText(memTotal))")
        }
    }

    /// Bytes in the largest binary unit that keeps the value at least 1.
    public static func byteText(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "\(bytes) B" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
