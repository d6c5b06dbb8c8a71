#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import Synchronization

/// Monotonic time in nanoseconds (the package's one clock).
enum StressClock {
    @inline(__always) static func now() -> UInt64 { MonotonicClock.nanoseconds() }
}
