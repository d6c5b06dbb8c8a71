#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import NotifierStress

/// Prints one progress line per point: elapsed time since the suite began,
/// point number, workload, parameters, strategy, threads, and (once done) the
/// headline figure.
public final class BenchProgress: @unchecked Sendable {
    let startNanoseconds = MonotonicClock.nanoseconds()
    let totalPoints: Int
    let enabled: Bool
    private(set) var done = 0

    /// Creates a reporter for a run of `totalPoints` points; prints nothing unless `enabled`.
    public init(totalPoints: Int, enabled: Bool = true) {
        self.totalPoints = totalPoints
        self.enabled = enabled
    }

    /// Seconds since the reporter was created.
    public var elapsedSeconds: Double { Double(MonotonicClock.nanoseconds() - startNanoseconds) / 1e9 }

    /// Announces a point (`[  42s] 17/230 lookup size=100000 writer=yes rwlock threads=2 …`).
    /// `strategy` names the side or sides (`rcu`, `rcu vs c-rbtree`).
    public func begin(workload: BenchWorkload, parameters: BenchParameters, strategy: String,
                      protocol mirrorProtocol: MirrorProtocol? = nil, threads: Int) {
        done += 1
        guard enabled else { return }
        let seconds = String(Int(elapsedSeconds))
        let padded = String(repeating: " ", count: max(0, 4 - seconds.count)) + seconds
        let proto = mirrorProtocol.map { " \($0.rawValue)" } ?? ""
        print("[\(padded)s] \(done)/\(totalPoints) \(workload.rawValue) \(parameters.label) \(strategy)\(proto) threads=\(threads) … ",
              terminator: "")
        fflush(nil)
    }

    /// Ends the line of the point with its headline figure, and `(oversubscribed)`
    /// when the point had more threads than CPUs.
    public func end(_ measurement: BenchMeasurement?) {
        guard enabled else { return }
        if let m = measurement {
            print(Self.format(m.value, metric: m.metric) + (m.oversubscribed ? " (oversubscribed)" : ""))
        } else {
            print("done")
        }
        fflush(nil)
    }

    /// Prints a line of its own between points.
    public func note(_ text: String) {
        guard enabled else { return }
        print(text)
        fflush(nil)
    }

    /// Ends the line of the point with `text` (points whose headline is not one figure).
    public func end(text: String) {
        guard enabled else { return }
        print(text)
        fflush(nil)
    }

    /// A figure with its unit, scaled for reading (`12.3 M ops/s`, `45.1 ns/op`).
    public static func format(_ value: Double, metric: BenchMetric) -> String {
        if metric == .opsPerSecond {
            if value >= 1e6 { return "\(rounded(value / 1e6)) M ops/s" }
            if value >= 1e3 { return "\(rounded(value / 1e3)) k ops/s" }
            return "\(rounded(value)) ops/s"
        }
        return "\(rounded(value)) \(metric.rawValue)"
    }

    static func rounded(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
    }
}
