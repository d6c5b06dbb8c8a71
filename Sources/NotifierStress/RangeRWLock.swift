import CNotifierHarness

#if canImport(Glibc)
import Glibc
#endif

/// A reader-preferring `pthread_rwlock_t` in manually allocated memory: the
/// per-range lock of the `odp` protocol (see ``MirrorProtocol/odp``).
///
/// Read locks are taken by invalidate callbacks and released by the same
/// thread after `invalidateRangeEnd` (POSIX leaves unlocking on another thread
/// undefined); write locks by faulters.
final class RangeRWLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        let rc = cnp_rwlock_init_reader_preferring(lock)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Takes a read lock, sleeping while a writer holds the lock.
    @inline(__always) func readLock() {
        let rc = pthread_rwlock_rdlock(lock)
        precondition(rc == 0, "pthread_rwlock_rdlock failed: \(rc)")
    }

    /// Takes a read lock if no writer holds the lock; returns whether it did.
    @inline(__always) func tryReadLock() -> Bool { pthread_rwlock_tryrdlock(lock) == 0 }

    /// Takes the write lock, sleeping while anyone holds the lock.
    @inline(__always) func writeLock() {
        let rc = pthread_rwlock_wrlock(lock)
        precondition(rc == 0, "pthread_rwlock_wrlock failed: \(rc)")
    }

    /// Takes the write lock if the lock is free; returns whether it did.
    @inline(__always) func tryWriteLock() -> Bool { pthread_rwlock_trywrlock(lock) == 0 }

    /// Releases a read or the write lock held by the calling thread.
    @inline(__always) func unlock() {
        let rc = pthread_rwlock_unlock(lock)
        precondition(rc == 0, "pthread_rwlock_unlock failed: \(rc)")
    }
}
