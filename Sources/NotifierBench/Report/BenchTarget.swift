import Foundation

/// One performance goal of the project evaluated on a run's measurements.
public struct BenchTarget: Codable, Sendable, Hashable {
    /// Outcome of a target.
    public enum Status: String, Codable, Sendable, Hashable {
        /// The measured value meets the goal.
        case pass
        /// The measured value misses the goal.
        case miss
        /// The run lacks the measurements the target needs (not a failure).
        case notMeasured
    }

    /// Which side of `threshold` passes.
    public enum Comparison: String, Codable, Sendable, Hashable {
        /// Passes when `measured <= threshold` (costs).
        case atMost
        /// Passes when `measured >= threshold` (throughputs, speed-ups).
        case atLeast
    }

    /// Stable identifier, such as `fault-path-vs-rwlock size=1000`.
    public var name: String
    /// The goal in words, such as `rcu ≥ 5 × rwlock`.
    public var goal: String
    /// The measured value or ratio (in `unit`); nil when not measured.
    public var measured: Double?
    /// The bound `measured` is compared with (in `unit`).
    public var threshold: Double
    /// Which side of the threshold passes.
    public var comparison: Comparison
    /// Unit of `measured` and `threshold`: `ns`, `ops/s`, or `x` for ratios.
    public var unit: String
    /// Outcome.
    public var status: Status
    /// Which measurements were compared, or why the target is not measured.
    public var detail: String

    /// Creates a target result; `status` is derived from `measured` when not given.
    public init(name: String, goal: String, measured: Double?, threshold: Double, comparison: Comparison,
                unit: String, status: Status? = nil, detail: String) {
        self.name = name
        self.goal = goal
        self.measured = measured
        self.threshold = threshold
        self.comparison = comparison
        self.unit = unit
        self.detail = detail
        if let status {
            self.status = status
        } else if let measured, measured.isFinite {
            switch comparison {
            case .atMost: self.status = measured <= threshold ? .pass : .miss
            case .atLeast: self.status = measured >= threshold ? .pass : .miss
            }
        } else {
            self.status = .notMeasured
        }
    }
}

extension BenchTarget {
    /// One line for the terminal: status, name, measured against goal, detail.
    public var summary: String {
        let status = switch self.status {
        case .pass: "PASS"
        case .miss: "MISS"
        case .notMeasured: "n/a "
        }
        let measured = self.measured.map { String(format: "%.3g", $0) } ?? "-"
        let bound = comparison == .atMost ? "≤" : "≥"
        return "\(status) \(name): \(measured) \(unit) (goal \(bound) \(String(format: "%g", threshold)) \(unit)) \(detail)"
    }
}
