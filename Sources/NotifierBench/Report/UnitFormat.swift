import Foundation

/// Human-readable numbers for tables and README: throughputs in K/M/G per
/// second, times in ns/us/ms, sizes in B/KiB/MiB/GiB, ratios as `x0.12`.
enum UnitFormat {
    /// `value` of `metric` with its unit.
    static func value(_ value: Double, metric: BenchMetric) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        switch metric {
        case .opsPerSecond:
            return scaled(value, steps: [(1e9, "G/s"), (1e6, "M/s"), (1e3, "K/s"), (1, "/s")])
        case .bytes, .bytesPerSubscription, .bytesPerInterval:
            return scaled(value, steps: [(1_073_741_824, "GiB"), (1_048_576, "MiB"), (1024, "KiB"), (1, "B")])
        case .nanosecondsPerOperation, .cpuNanosecondsPerOperation:
            return scaled(value, steps: [(1e6, "ms"), (1e3, "us"), (1, "ns")])
        }
    }

    /// A ratio as `x0.12`, `x3.40`, `x12.5`, `x140`.
    static func ratio(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "x\(ratio)" }
        let magnitude = abs(ratio)
        if magnitude >= 100 { return String(format: "x%.0f", ratio) }
        if magnitude >= 10 { return String(format: "x%.1f", ratio) }
        if magnitude >= 0.1 || magnitude == 0 { return String(format: "x%.2f", ratio) }
        return String(format: "x%.2g", ratio)
    }

    /// A value in `unit` as the report writes target values: ratios with
    /// `ratio(_:)`, known metrics with `value(_:metric:)`.
    static func measured(_ value: Double, unit: String) -> String {
        switch unit {
        case "x": ratio(value)
        case "ns": self.value(value, metric: .nanosecondsPerOperation)
        case "ops/s": self.value(value, metric: .opsPerSecond)
        default: "\(significant(value)) \(unit)"
        }
    }

    /// Three significant digits without exponent for ordinary magnitudes.
    static func significant(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100 || magnitude == 0 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        if magnitude >= 0.01 { return String(format: "%.2f", value) }
        return String(format: "%.2g", value)
    }

    /// `value` divided by the largest step it reaches (the last step otherwise).
    private static func scaled(_ value: Double, steps: [(Double, String)]) -> String {
        let step = steps.first { abs(value) >= $0.0 } ?? steps[steps.count - 1]
        return "\(significant(value / step.0)) \(step.1)"
    }
}
