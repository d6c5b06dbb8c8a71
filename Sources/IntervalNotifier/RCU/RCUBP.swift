import CURCUBP

extension RCU {
    /// liburcu's bp ("bulletproof") flavour: read-side sections like memb's,
    /// but no thread ever needs registering. The first read lock of a thread
    /// registers it and liburcu-bp unregisters it when the thread exits, so
    /// threads the engine never saw (a C library's, a runtime's) just work.
    ///
    /// The read side is memb's plus one thread-local pointer load and a
    /// registration test; grace periods use `membarrier(2)` when the kernel has
    /// it (full barriers in the readers otherwise).
    @usableFromInline package enum BP {
        /// Enters a read-side critical section (nestable; registers on first use).
        /// - Complexity: O(1), no lock, no allocation (after the first call of a thread).
        @inlinable @inline(__always)
        package static func readLock() { cbp_read_lock() }

        /// Leaves the section entered by the matching ``readLock()``.
        @inlinable @inline(__always)
        package static func readUnlock() { cbp_read_unlock() }

        /// Whether the calling thread is inside a bp read-side section (never
        /// registers the thread).
        @inlinable
        package static var isInReadSection: Bool { cbp_read_ongoing() != 0 }

        /// Waits for a bp grace period.
        /// - Precondition: the caller is not inside a bp read-side section.
        package static func synchronize() {
            if isInReadSection { fatalError("RCU.BP.synchronize() called inside a bp read-side section: it would wait for itself") }
            cbp_synchronize()
        }
    }
}
