#if canImport(Glibc)
import Glibc
#endif

/// A joinable pthread running a closure: benchmark threads must be real,
/// pinnable threads (not Dispatch or Swift concurrency workers).
final class BenchThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let me = Unmanaged<BenchThread>.fromOpaque(context!).takeRetainedValue()
            me.body()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// Waits for the thread to end.
    func join() {
        pthread_join(thread, nil)
    }
}
