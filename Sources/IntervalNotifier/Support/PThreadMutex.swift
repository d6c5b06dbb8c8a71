#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `pthread_mutex_t` with a condition variable, in manually allocated memory.
///
/// The engine needs a lock that a condition variable can wait on (waiters in
/// `readBegin` and `remove` sleep until the sequence changes), which
/// `Synchronization.Mutex` does not offer. Like NIOLock, the pthread objects live
/// in memory allocated once, whose address never changes. ThreadSanitizer
/// intercepts pthread calls, so it sees every ordering this lock provides.
@usableFromInline package final class PThreadMutex: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let condition: UnsafeMutablePointer<pthread_cond_t>

    /// Creates an unlocked mutex and its condition variable.
    package init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if DEBUG
        // Error checking in debug builds: relocking or unlocking a mutex the
        // thread does not own fails loudly instead of deadlocking.
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        #endif
        let rc = pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        if _slowPath(rc != 0) { fatalError("pthread_mutex_init failed: \(rc)") }
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)
        let crc = pthread_cond_init(condition, &conditionAttributes)
        pthread_condattr_destroy(&conditionAttributes)
        if _slowPath(crc != 0) { fatalError("pthread_cond_init failed: \(crc)") }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Acquires the mutex.
    @inlinable @inline(__always)
    package func lock() {
        let rc = pthread_mutex_lock(mutex)
        if _slowPath(rc != 0) { fatalError("pthread_mutex_lock failed: \(rc)") }
    }

    /// Acquires the mutex if it is free; returns whether it did.
    @inlinable @inline(__always)
    package func tryLock() -> Bool {
        pthread_mutex_trylock(mutex) == 0
    }

    /// Releases the mutex.
    @inlinable @inline(__always)
    package func unlock() {
        let rc = pthread_mutex_unlock(mutex)
        if _slowPath(rc != 0) { fatalError("pthread_mutex_unlock failed: \(rc)") }
    }

    /// Runs `body` with the mutex held.
    @inlinable @inline(__always)
    package func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Sleeps until signalled. Precondition: the caller holds the mutex; it holds
    /// it again on return. Spurious wake-ups happen: re-check the condition.
    package func wait() {
        let rc = pthread_cond_wait(condition, mutex)
        if _slowPath(rc != 0) { fatalError("pthread_cond_wait failed: \(rc)") }
    }

    /// Sleeps until signalled or until `nanoseconds` have passed; returns false
    /// on timeout. Precondition: the caller holds the mutex.
    package func wait(timeoutNanoseconds nanoseconds: UInt64) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds % 1_000_000_000
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        return pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT
    }

    /// Wakes every waiter. The caller may or may not hold the mutex.
    package func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
