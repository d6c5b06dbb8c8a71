#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one monotonic clock of the package (`CLOCK_MONOTONIC`, nanoseconds):
/// grace-period pacing, the stress harness and the demo all read it.
package enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point; never goes back.
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}
