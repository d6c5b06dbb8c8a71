#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import Synchronization

/// The lock of an ``AddressSpace``'s registry (the kernel's
/// `subscriptions->lock`): exclusive for every change of the sequence, the
/// in-flight count, the deferred list and the tree; shared (where the strategy
/// has a shared mode) for the locked read paths.
///
/// Conformers are trivially copyable handles to manually allocated lock memory,
/// so that taking the lock on a read path costs no reference counting;
/// ``destroy()`` frees that memory once.
@usableFromInline
protocol RegistryLock {
    /// Takes the lock exclusively.
    func lock()
    /// Releases an exclusive hold.
    func unlock()
    /// Takes the lock for a reader (exclusively where there is no shared mode).
    func lockShared()
    /// Releases a reader's hold.
    func unlockShared()
    /// Frees the lock's memory. - Precondition: nobody holds or waits for it.
    func destroy()
}

/// A test-and-test-and-set spinlock: the `kernel` strategy's stand-in for the
/// kernel's `spinlock_t`.
///
/// Kernel spinlock holders cannot be preempted; userspace ones can, so after
/// 128 spins a waiter yields the CPU, which keeps an oversubscribed run (more
/// threads than cores) from burning whole time slices on a preempted holder.
@usableFromInline
struct SpinRegistryLock: RegistryLock {
    @usableFromInline let word: UnsafeMutablePointer<Atomic<UInt32>>

    init() {
        // Lock memory on a line of its own (see `CacheLineAllocation`).
        word = CacheLineAllocation.allocate(Atomic<UInt32>.self)
        word.initialize(to: Atomic(0))
    }

    @inlinable @inline(__always)
    func lock() {
        // Acquiring: the critical section sees everything the previous holder
        // wrote before its releasing unlock.
        if _fastPath(word.pointee.exchange(1, ordering: .acquiring) == 0) { return }
        lockSlow()
    }

    @usableFromInline @inline(never)
    func lockSlow() {
        while true {
            var spins = 0
            // Relaxed: only a hint to retry the acquiring exchange below.
            while word.pointee.load(ordering: .relaxed) != 0 {
                cnp_cpu_relax()
                spins += 1
                if spins == 128 {
                    sched_yield()
                    spins = 0
                }
            }
            // Acquiring: as in `lock()`.
            if word.pointee.exchange(1, ordering: .acquiring) == 0 { return }
        }
    }

    @inlinable @inline(__always)
    func unlock() {
        // Releasing: publishes the critical section's writes to the next holder.
        word.pointee.store(0, ordering: .releasing)
    }

    @inlinable @inline(__always) func lockShared() { lock() }
    @inlinable @inline(__always) func unlockShared() { unlock() }

    @usableFromInline func destroy() {
        word.deinitialize(count: 1)
        word.deallocate()
    }
}

/// `pthread_rwlock_t`: readers share it, updaters take it for writing.
@usableFromInline
struct RWLockRegistryLock: RegistryLock {
    @usableFromInline let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rwlock = CacheLineAllocation.allocate(pthread_rwlock_t.self)
        rwlock.initialize(to: pthread_rwlock_t())
        let rc = pthread_rwlock_init(rwlock, nil)
        if _slowPath(rc != 0) { fatalError("pthread_rwlock_init failed: \(rc)") }
    }

    @inlinable @inline(__always) func lock() { pthread_rwlock_wrlock(rwlock) }
    @inlinable @inline(__always) func unlock() { pthread_rwlock_unlock(rwlock) }
    @inlinable @inline(__always) func lockShared() { pthread_rwlock_rdlock(rwlock) }
    @inlinable @inline(__always) func unlockShared() { pthread_rwlock_unlock(rwlock) }

    @usableFromInline func destroy() {
        pthread_rwlock_destroy(rwlock)
        rwlock.deinitialize(count: 1)
        rwlock.deallocate()
    }
}

/// `Synchronization.Mutex`: the `mutex` strategy's one lock for everything, and
/// the update-side lock of the RCU strategies (whose readers never take it).
///
/// It spins briefly before it sleeps, which matters to the RCU strategies'
/// invalidators: with two of them contending on 2 vCPUs, `notifier-bench
/// --workload storm` measured 2.3-2.9 M invalidations/s with a plain
/// `pthread_mutex_t` as the update-side lock and 3.9 M/s with this one.
@usableFromInline
struct MutexRegistryLock: RegistryLock {
    @usableFromInline let mutex: UnsafeMutablePointer<Mutex<Void>>

    init() {
        mutex = CacheLineAllocation.allocate(Mutex<Void>.self)
        mutex.initialize(to: Mutex(()))
    }

    // The TSan hooks are empty in normal builds; under TSan they make the
    // mutex's uninstrumented slow paths visible as acquire/release.
    @inlinable @inline(__always)
    func lock() {
        mutex.pointee._unsafeLock()
        cnp_tsan_acquire(mutex)
    }

    @inlinable @inline(__always)
    func unlock() {
        cnp_tsan_release(mutex)
        mutex.pointee._unsafeUnlock()
    }

    @inlinable @inline(__always) func lockShared() { lock() }
    @inlinable @inline(__always) func unlockShared() { unlock() }

    @usableFromInline func destroy() {
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }
}

/// The registry lock of one strategy, dispatched by a switch rather than an
/// existential, so that the read paths of the locked strategies pay for their
/// lock and nothing else (no witness-table call, no reference counting).
@usableFromInline
enum AnyRegistryLock: RegistryLock {
    case spin(SpinRegistryLock)
    case rwlock(RWLockRegistryLock)
    case mutex(MutexRegistryLock)

    /// A new lock of `kind`.
    init(_ kind: RegistryLockKind) {
        switch kind {
        case .spin: self = .spin(SpinRegistryLock())
        case .rwlock: self = .rwlock(RWLockRegistryLock())
        case .mutex: self = .mutex(MutexRegistryLock())
        }
    }

    @inlinable @inline(__always)
    func lock() {
        switch self {
        case .spin(let l): l.lock()
        case .rwlock(let l): l.lock()
        case .mutex(let l): l.lock()
        }
    }

    @inlinable @inline(__always)
    func unlock() {
        switch self {
        case .spin(let l): l.unlock()
        case .rwlock(let l): l.unlock()
        case .mutex(let l): l.unlock()
        }
    }

    @inlinable @inline(__always)
    func lockShared() {
        switch self {
        case .spin(let l): l.lockShared()
        case .rwlock(let l): l.lockShared()
        case .mutex(let l): l.lockShared()
        }
    }

    @inlinable @inline(__always)
    func unlockShared() {
        switch self {
        case .spin(let l): l.unlockShared()
        case .rwlock(let l): l.unlockShared()
        case .mutex(let l): l.unlockShared()
        }
    }

    @usableFromInline func destroy() {
        switch self {
        case .spin(let l): l.destroy()
        case .rwlock(let l): l.destroy()
        case .mutex(let l): l.destroy()
        }
    }

    /// Runs `body` holding the lock exclusively.
    @inline(__always)
    func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// The kinds of registry lock a ``StrategyPlan`` can name.
@usableFromInline
enum RegistryLockKind: Sendable {
    /// ``SpinRegistryLock`` (the kernel's spinlock).
    case spin
    /// ``RWLockRegistryLock`` (`pthread_rwlock_t`).
    case rwlock
    /// ``MutexRegistryLock`` (`Synchronization.Mutex`).
    case mutex
}
