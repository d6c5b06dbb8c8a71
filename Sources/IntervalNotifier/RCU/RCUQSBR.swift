#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import CURCUQSBR

extension RCU {
    /// liburcu's qsbr flavour: read-side sections cost nothing, because a reader
    /// thread is either *online* (it may hold RCU-protected references and grace
    /// periods wait until it announces a quiescent state) or *offline* (it holds
    /// none and grace periods ignore it).
    ///
    /// ## The contract
    /// A thread that reads often goes ``online()`` once, calls
    /// ``quiescentState()`` between operations (never while it holds a reference
    /// obtained from a lookup), and goes ``offline()`` before it blocks for long
    /// or exits. An online thread that does neither stalls every grace period:
    /// removals, `put` releases and tree memory reuse wait for it.
    ///
    /// A thread that never goes online can still read: ``enterReadSection()``
    /// brings it online for the duration of one section and takes it offline
    /// again (two full memory barriers, about 20 ns, instead of 0).
    ///
    /// Registration is lazy and undone at thread exit, as for the memb flavour.
    @usableFromInline package enum QSBR {
        /// Puts the calling thread online (registering it on first use).
        /// Idempotent.
        @usableFromInline package static func online() {
            if cqsbr_registered() == 0 {
                QSBRThreadRegistration.registerCurrentThread()
            } else if cqsbr_online() == 0 {
                cqsbr_thread_online()
            }
        }

        /// Takes the calling thread offline: grace periods stop waiting for it.
        /// Idempotent; a no-op for a thread that never went online.
        @usableFromInline package static func offline() {
            if cqsbr_registered() != 0 && cqsbr_online() != 0 { cqsbr_thread_offline() }
        }

        /// Announces a quiescent state: the calling thread holds no reference
        /// obtained in an earlier read. A no-op unless the thread is online.
        /// - Complexity: O(1); about 0.3 ns when no grace period waits.
        @inlinable @inline(__always)
        package static func quiescentState() {
            if cqsbr_online() != 0 { cqsbr_quiescent_state() }
        }

        /// Whether the calling thread is online.
        @inlinable
        package static var isOnline: Bool { cqsbr_online() != 0 }

        /// Enters a read-side section: for an online thread, only a per-thread
        /// count (``isInReadSection``); otherwise it also brings the thread online
        /// and returns true, and ``exitReadSection(_:)`` then takes it offline again.
        @inlinable @inline(__always)
        package static func enterReadSection() -> Bool {
            cnp_qsbr_section_enter()
            if _fastPath(cqsbr_online() != 0) { return false }
            online()
            return true
        }

        /// Leaves a section begun by ``enterReadSection()``, passing its result.
        @inlinable @inline(__always)
        package static func exitReadSection(_ wentOnline: Bool) {
            if _slowPath(wentOnline) { cqsbr_thread_offline() }
            cnp_qsbr_section_exit()
        }

        /// Whether the calling thread is inside a section begun by
        /// ``enterReadSection()`` (a lookup of a qsbr space or tree). liburcu keeps
        /// no such state for qsbr: an online thread between quiescent states is
        /// not necessarily inside a lookup.
        @inlinable
        package static var isInReadSection: Bool { cnp_qsbr_in_section() != 0 }

        /// Runs `body` offline (if the thread was online), then goes back online:
        /// for waits that must not stall grace periods.
        @inlinable
        package static func whileOffline<Result>(_ body: () throws -> Result) rethrows -> Result {
            guard cqsbr_online() != 0 else { return try body() }
            cqsbr_thread_offline()
            defer { cqsbr_thread_online() }
            return try body()
        }

        /// Waits for a qsbr grace period (an online caller goes offline meanwhile).
        ///
        /// Traps inside a read-side section: liburcu would take the thread
        /// offline, let the grace period end and free what the section still holds.
        package static func synchronize() {
            if isInReadSection { fatalError("RCU.QSBR.synchronize() called inside a qsbr read-side section: it would free what the section holds") }
            cqsbr_synchronize()
        }
    }
}

/// Lazy, self-undoing registration of qsbr reader threads (see
/// `RCUThreadRegistration` for the memb flavour).
enum QSBRThreadRegistration {
    private static let exitKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { _ in
            guard cqsbr_registered() != 0 else { return }
            // liburcu requires an online thread to unregister.
            if cqsbr_online() == 0 { cqsbr_thread_online() }
            cqsbr_unregister_thread()
        }
        if _slowPath(rc != 0) { fatalError("pthread_key_create failed (\(rc)): cannot track qsbr reader threads") }
        return key
    }()

    /// Registers the calling thread (it is online on return).
    static func registerCurrentThread() {
        guard cqsbr_registered() == 0 else { return }
        cqsbr_register_thread()
        _ = pthread_setspecific(exitKey, UnsafeRawPointer(bitPattern: 1))
    }
}
