#if canImport(Glibc)
import Glibc
#endif

/// What an invalidating thread's callbacks leave for the thread to finish after
/// `invalidateRangeEnd`: the `odp` range read locks they took (released by the
/// same thread, as POSIX requires) and the `hmm` mirrors they invalidated
/// (merged into the shared list in one critical section with the count's
/// decrement). Callbacks run on the thread that invalidates, and reach its
/// state through a thread-specific key.
final class InvalidatingThreadState {
    /// `odp`: range locks read-locked by this thread's callbacks.
    var heldReadLocks: [RangeRWLock] = []
    /// `hmm`: mirrors whose `valid` this thread's callbacks cleared.
    var invalidatedMirrors: [SubscriptionContext] = []

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()

    init() {
        heldReadLocks.reserveCapacity(256)
        invalidatedMirrors.reserveCapacity(256)
    }

    /// The state of the calling thread, if it installed one.
    static var current: InvalidatingThreadState? {
        pthread_getspecific(key).map { Unmanaged<InvalidatingThreadState>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Makes this the calling thread's state (the thread keeps a reference
    /// until ``uninstall()``).
    func install() { _ = pthread_setspecific(Self.key, Unmanaged.passUnretained(self).toOpaque()) }

    /// Removes the calling thread's state.
    func uninstall() { _ = pthread_setspecific(Self.key, nil) }

    /// Read-unlocks every recorded range lock, on the thread that locked it.
    func releaseReadLocks() {
        for lock in heldReadLocks { lock.unlock() }
        heldReadLocks.removeAll(keepingCapacity: true)
    }
}
