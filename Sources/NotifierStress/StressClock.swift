#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import Synchronization

/// A joinable pthread running a closure (generators need real, pinnable threads).
final class StressThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void
    private let done = Atomic<Bool>(false)

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let me = Unmanaged<StressThread>.fromOpaque(context!).takeRetainedValue()
            me.body()
            me.done.store(true, ordering: .releasing)
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    var isFinished: Bool { done.load(ordering: .acquiring) }

    /// Joins if the thread ends within `seconds`; returns false (and detaches) otherwise.
    func join(timeoutSeconds seconds: Double) -> Bool {
        let deadline = StressClock.now() + UInt64(seconds * 1e9)
        while !isFinished {
            if StressClock.now() > deadline {
                pthread_detach(thread)
                return false
            }
            usleep(1000)
        }
        pthread_join(thread, nil)
        return true
    }
}

/// Monotonic time in nanoseconds (the package's one clock).
enum StressClock {
    @inline(__always) static func now() -> UInt64 { MonotonicClock.nanoseconds() }
}
