#if canImport(Glibc)
import Glibc
#endif

/// One resident-set-size sample of the stress process.
public struct RSSSample: Sendable, Equatable, Codable {
    /// Seconds since the generators started.
    public var seconds: Double
    /// Resident bytes (`/proc/self/statm`, second field, times the page size).
    public var bytes: Int

    /// A sample taken at `seconds` with `bytes` resident.
    public init(seconds: Double, bytes: Int) {
        self.seconds = seconds
        self.bytes = bytes
    }

    /// The resident bytes of this process now (0 if `/proc/self/statm` cannot be read).
    public static func currentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        guard readStatm(file, &size, &resident) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func readStatm(_ file: UnsafeMutablePointer<FILE>, _ size: inout Int, _ resident: inout Int) -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
        let line = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let fields = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let s = Int(fields[0]), let r = Int(fields[1]) else { return false }
        size = s
        resident = r
        return true
    }
}

/// The RSS figures of a run, from its samples (the first taken ``warmUp``
/// seconds after the generators start, or at a quarter of a shorter run, then
/// every ``interval`` seconds from the start, and one when they stop).
public struct RSSSummary: Sendable, Equatable {
    /// Seconds between samples.
    public static let interval: Double = 10
    /// Seconds from the generators' start to the first sample: their threads'
    /// stacks, allocator arenas and RCU state are touched in the first moments.
    public static let warmUp: Double = 1
    /// Every sample, in time order.
    public var samples: [RSSSample]

    /// A summary of `samples` (in time order).
    public init(samples: [RSSSample]) { self.samples = samples }

    /// The first sample's bytes (0 when there is none).
    public var first: Int { samples.first?.bytes ?? 0 }
    /// The largest sample's bytes.
    public var peak: Int { samples.map(\.bytes).max() ?? 0 }
    /// The largest sample after the first (the first's bytes if there is only one).
    public var peakAfterFirst: Int { samples.dropFirst().map(\.bytes).max() ?? first }
    /// The sample at one minute (the last at or before 60 s), or the last
    /// sample for runs shorter than a minute.
    public var atOneMinute: RSSSample? {
        guard let last = samples.last else { return nil }
        if last.seconds < 60 { return last }
        return samples.last { $0.seconds <= 60.5 } ?? last
    }
    /// `peakAfterFirst / first` (1 when there is no sample).
    public var growth: Double { first > 0 ? Double(peakAfterFirst) / Double(first) : 1 }

    /// One line for the summary: first, at 1 minute (or at the end), peak, growth.
    public var line: String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        guard let at = atOneMinute else { return "rss: no samples" }
        let label = at.seconds < 60 ? "at end (\(String(format: "%.0f", at.seconds)) s)" : "at 1 min"
        return "rss: first \(mib(first)), \(label) \(mib(at.bytes)), peak \(mib(peak)), peak after first / first \(String(format: "%.2f", growth)) (\(samples.count) samples, every \(Int(Self.interval)) s)"
    }
}
