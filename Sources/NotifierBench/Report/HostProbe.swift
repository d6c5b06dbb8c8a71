import CNotifierHarness
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Facts about the machine read from the operating system (no external programs).
enum HostProbe {
    /// The CPU model named by `/proc/cpuinfo`, or "unknown".
    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        return cpuModel(fromCPUInfo: text) ?? "unknown"
    }

    /// The first `model name` (x86), `Model`, `Hardware` or `cpu model` entry of
    /// a `/proc/cpuinfo` text.
    static func cpuModel(fromCPUInfo text: String) -> String? {
        let keys = ["model name", "Model", "Hardware", "cpu model", "cpu"]
        var found: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if keys.contains(key), !value.isEmpty, found[key] == nil { found[key] = value }
        }
        return keys.lazy.compactMap { found[$0] }.first
    }

    /// Online CPUs (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    static func onlineCores() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Online NUMA nodes: `/sys/devices/system/node/online`, else libnuma's
    /// highest node + 1, else 1.
    static func numaNodes() -> Int {
        if let text = try? String(contentsOfFile: "/sys/devices/system/node/online", encoding: .utf8),
           let count = countOfIDList(text), count > 0 {
            return count
        }
        if cnp_numa_available() != 0 { return Int(cnp_numa_max_node()) + 1 }
        return 1
    }

    /// Number of ids in a kernel list such as `0`, `0-3` or `0,2-3`; nil when malformed.
    static func countOfIDList(_ text: String) -> Int? {
        var count = 0
        for range in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = range.split(separator: "-")
            switch bounds.count {
            case 1 where Int(bounds[0]) != nil:
                count += 1
            case 2:
                guard let low = Int(bounds[0]), let high = Int(bounds[1]), high >= low else { return nil }
                count += high - low + 1
            default:
                return nil
            }
        }
        return count
    }

    /// The kernel release (`uname -r`), or "unknown".
    static func kernelRelease() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        let release = withUnsafeBytes(of: &names.release) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return release.isEmpty ? "unknown" : release
    }

    /// The host name (`gethostname`), or "unknown".
    static func hostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress else { return -1 }
            return gethostname(base.assumingMemoryBound(to: CChar.self), bytes.count - 1)
        }
        guard rc == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name
    }
}
