import Synchronization

/// A pointer that writers publish and RCU readers dereference: liburcu's
/// `rcu_assign_pointer` / `rcu_dereference` as a Swift atomic.
///
/// Publishing is a release store, so every write to the pointee made before it is
/// visible to a reader that dereferences the new value. Dereferencing is an
/// acquiring load (on x86 and arm64 as cheap as the consume load liburcu uses;
/// ThreadSanitizer understands it, unlike liburcu's inline assembly).
@frozen
@usableFromInline package struct RCUPointer<Pointee>: ~Copyable, @unchecked Sendable {
    @usableFromInline
    let storage: Atomic<UnsafeMutablePointer<Pointee>?>

    /// Creates a pointer holding `initial` (nil by default).
    @inlinable
    package init(_ initial: UnsafeMutablePointer<Pointee>? = nil) {
        storage = Atomic(initial)
    }

    /// Reads the pointer for use inside a read-side section (`rcu_dereference`).
    @inlinable @inline(__always)
    package func dereference() -> UnsafeMutablePointer<Pointee>? {
        // Acquiring: pairs with the release in `publish` so the pointee's
        // initialisation is visible before any field is read through it.
        storage.load(ordering: .acquiring)
    }

    /// Reads the pointer on the update side, where the caller's update-side lock
    /// already orders it against other writers (`rcu_dereference_protected`).
    @inlinable @inline(__always)
    package func loadProtected() -> UnsafeMutablePointer<Pointee>? {
        // Relaxed: only the serialised writer stores, and it reads its own store.
        storage.load(ordering: .relaxed)
    }

    /// Publishes `pointer` to readers (`rcu_assign_pointer`).
    @inlinable @inline(__always)
    package func publish(_ pointer: UnsafeMutablePointer<Pointee>?) {
        // Releasing: every write that initialised the pointee happens before a
        // reader's acquiring dereference that returns it.
        storage.store(pointer, ordering: .releasing)
    }

    /// Publishes `pointer` and returns the previous value (`rcu_xchg_pointer`).
    @inlinable @inline(__always)
    package func exchange(_ pointer: UnsafeMutablePointer<Pointee>?) -> UnsafeMutablePointer<Pointee>? {
        // Acquiring-and-releasing: publishes like `publish` and lets the caller
        // retire the old value knowing every write to it happened before.
        storage.exchange(pointer, ordering: .acquiringAndReleasing)
    }
}
