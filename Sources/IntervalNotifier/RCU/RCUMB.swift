#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CURCUMB

extension RCU {
    /// liburcu's mb flavour: the outermost read-side section issues full memory
    /// barriers on entry and exit, so grace periods need no `membarrier(2)`
    /// (kernels or seccomp sandboxes without it), at the price of those
    /// barriers (about 70 ns per section on an EPYC VM, against 1.7 ns memb).
    ///
    /// Registration is lazy and undone at thread exit, as for the memb flavour.
    @usableFromInline package enum MB {
        /// Enters a read-side critical section (nestable), registering the
        /// calling thread on its first use.
        /// - Complexity: O(1), no lock, no allocation.
        @inlinable @inline(__always)
        package static func readLock() {
            if _slowPath(cmb_reader_registered() == 0) {
                MBThreadRegistration.registerCurrentThread()
            }
            cmb_read_lock()
        }

        /// Leaves the section entered by the matching ``readLock()``.
        @inlinable @inline(__always)
        package static func readUnlock() { cmb_read_unlock() }

        /// Whether the calling thread is inside an mb read-side section.
        @inlinable
        package static var isInReadSection: Bool {
            cmb_reader_registered() != 0 && cmb_read_ongoing() != 0
        }

        /// Waits for an mb grace period.
        /// - Precondition: the caller is not inside an mb read-side section.
        package static func synchronize() {
            if isInReadSection { fatalError("RCU.MB.synchronize() called inside an mb read-side section: it would wait for itself") }
            cmb_synchronize()
        }
    }
}

/// Lazy, self-undoing registration of mb reader threads (see
/// `RCUThreadRegistration` for the memb flavour).
@usableFromInline
enum MBThreadRegistration {
    /// A pthread key whose destructor unregisters the exiting thread (the
    /// value is only a non-nil marker: destructors run for non-nil values).
    private static let exitKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { _ in
            if cmb_reader_registered() != 0 { cmb_unregister_thread() }
        }
        if rc != 0 { fatalError("pthread_key_create failed (\(rc)): cannot track mb reader threads") }
        return key
    }()

    /// Registers the calling thread (slow path of ``RCU/MB/readLock()``).
    @usableFromInline @inline(never)
    static func registerCurrentThread() {
        guard cmb_reader_registered() == 0 else { return }
        cmb_register_thread()
        _ = pthread_setspecific(exitKey, UnsafeRawPointer(bitPattern: 1))
    }
}
