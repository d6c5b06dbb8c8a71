#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier
import Synchronization

/// A joinable pthread running a closure: the stress generators and benchmark
/// threads must be real threads that can be pinned to CPUs (not Dispatch or
/// Swift concurrency workers).
package final class NativeThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void
    private let done = Atomic<Bool>(false)

    /// Starts `body` on a new thread at once.
    package init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let me = Unmanaged<NativeThread>.fromOpaque(context!).takeRetainedValue()
            me.body()
            // Releasing: whoever sees `done` also sees everything the body wrote.
            me.done.store(true, ordering: .releasing)
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// Whether the body has returned.
    package var isFinished: Bool {
        // Acquiring: pairs with the releasing store at the end of the body.
        done.load(ordering: .acquiring)
    }

    /// Waits for the thread to end.
    package func join() {
        pthread_join(thread, nil)
    }

    /// Joins if the thread ends within `seconds`; returns false (and detaches
    /// it) otherwise, so that a hung thread is reported instead of hanging.
    package func join(timeoutSeconds seconds: Double) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        while !isFinished {
            if MonotonicClock.nanoseconds() > deadline {
                pthread_detach(thread)
                return false
            }
            usleep(1000)
        }
        pthread_join(thread, nil)
        return true
    }
}
