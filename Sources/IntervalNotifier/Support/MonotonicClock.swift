#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one monotonic clock of the package (`CLOCK_MONOTONIC`, nanoseconds):
/// grace-period pacing, the stress harness and the benchmarks all read it.
package enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point; never goes back.
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Sleeps at least `nanoseconds` (`nanosleep`, resumed after a signal).
    package static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
