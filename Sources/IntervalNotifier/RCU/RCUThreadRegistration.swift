#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CURCU

/// Lazy, self-undoing registration of threads as liburcu readers.
///
/// liburcu's memb flavour requires every reader thread to be registered, and an
/// unregistered reader silently breaks grace periods in release builds. Here the
/// first read-side section of a thread registers it, and a pthread-key destructor
/// unregisters it when the thread exits, so no thread can get this wrong.
@usableFromInline
enum RCUThreadRegistration {
    /// A pthread key whose destructor unregisters the exiting thread. The value
    /// stored under it is only a non-nil marker (destructors run for non-nil values).
    private static let exitKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { _ in
            if curcu_reader_registered() != 0 { curcu_unregister_thread() }
        }
        if _slowPath(rc != 0) { fatalError("pthread_key_create failed (\(rc)): cannot track RCU reader threads") }
        return key
    }()

    /// Registers the calling thread (slow path of ``RCU/readLock()``).
    @usableFromInline @inline(never)
    static func registerCurrentThread() {
        guard curcu_reader_registered() == 0 else { return }
        curcu_register_thread()
        _ = pthread_setspecific(exitKey, UnsafeRawPointer(bitPattern: 1))
    }

    /// Registers the calling thread unless it already is.
    @usableFromInline @inline(__always)
    static func ensureRegistered() {
        if _slowPath(curcu_reader_registered() == 0) { registerCurrentThread() }
    }

    /// Unregisters the calling thread unless it is not registered.
    static func unregisterCurrentThread() {
        guard curcu_reader_registered() != 0 else { return }
        if _slowPath(curcu_read_ongoing() != 0) { fatalError("RCU.unregisterCurrentThread() called inside a read-side section") }
        curcu_unregister_thread()
        _ = pthread_setspecific(exitKey, nil)
    }
}
