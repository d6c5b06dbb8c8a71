import CNotifierCore
import Synchronization

/// The tests' lock: a `Synchronization.Mutex` that ThreadSanitizer can see.
///
/// `Mutex` sleeps in an uninstrumented futex path, so TSan does not see the
/// order that an unlock and the next lock give, and reports the value it guards
/// as a race: 12 reports in the full suite on 2026-12-01, every one on state
/// that only `withLock` touched. The library's own `Mutex` registry lock is
/// annotated the same way (`MutexRegistryLock`); the hooks are empty unless
/// built with `-DCURCU_TSAN_ANNOTATIONS=1`.
final class TestMutex<Value>: @unchecked Sendable {
    private let mutex: Mutex<Value>

    /// A lock guarding `value`.
    init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` on the guarded value with the lock held.
    func withLock<Result, Failure: Error>(_ body: (inout sending Value) throws(Failure) -> sending Result) throws(Failure) -> sending Result {
        let address = Unmanaged.passUnretained(self).toOpaque()
        return try mutex.withLock { (value: inout sending Value) throws(Failure) -> sending Result in
            cnp_tsan_acquire(address)
            defer { cnp_tsan_release(address) }
            return try body(&value)
        }
    }
}
