import CURCU

/// Userspace RCU (liburcu, memb flavour) for Swift: read-side critical sections,
/// grace periods, deferred callbacks and thread registration.
///
/// Read-side sections are cheap (about 1 ns for a lock/unlock pair once inlined),
/// nest freely and never block. A writer that unlinks memory readers may still
/// see calls ``synchronize()`` or ``callAfterGracePeriod(_:)`` before reusing it.
///
/// Thread registration cannot be forgotten: ``readLock()`` registers the calling
/// thread on its first use and a thread-exit destructor unregisters it, so a
/// thread created by any means (Foundation, Dispatch, pthreads, a call_rcu worker)
/// is always a registered reader when it enters a read-side section.
@usableFromInline package enum RCU {
    /// Enters a read-side critical section; sections nest.
    ///
    /// Until the matching ``readUnlock()``, memory reached through a pointer that
    /// was published with release ordering (``RCUPointer``) stays valid.
    /// Do not call ``synchronize()`` or ``barrier()`` inside a section: they wait
    /// for the section itself.
    /// - Complexity: O(1), no lock, no allocation, no reference counting.
    @inlinable @inline(__always)
    package static func readLock() {
        // The registration check reads a flag in the same thread-local reader
        // record the lock writes, so it costs one predictable branch.
        if _slowPath(curcu_reader_registered() == 0) {
            RCUThreadRegistration.registerCurrentThread()
        }
        curcu_read_lock()
    }

    /// Leaves the read-side critical section entered by the matching ``readLock()``.
    @inlinable @inline(__always)
    package static func readUnlock() {
        curcu_read_unlock()
    }

    /// Runs `body` inside a read-side critical section.
    ///
    /// Pointers dereferenced inside `body` must not be used after it returns.
    @inlinable @inline(__always)
    package static func read<Result: ~Copyable, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        readLock()
        defer { readUnlock() }
        return try body()
    }

    /// Whether the calling thread is inside a read-side critical section.
    @inlinable
    package static var isInReadSection: Bool {
        curcu_reader_registered() != 0 && curcu_read_ongoing() != 0
    }

    /// Waits for a grace period: on return, every read-side section that was
    /// running when the call began has ended.
    ///
    /// - Precondition: the caller is not inside a read-side section (it would
    ///   wait for itself forever).
    package static func synchronize() {
        if _slowPath(isInReadSection) { fatalError("RCU.synchronize() called inside an RCU read-side section: it would wait for itself") }
        RCUThreadRegistration.ensureRegistered()
        curcu_synchronize()
    }

    /// Waits until every callback queued with ``call(_:_:)`` or
    /// ``callAfterGracePeriod(_:)`` before this call has run (`rcu_barrier`).
    ///
    /// - Precondition: the caller is not inside a read-side section and is not an
    ///   RCU callback itself.
    package static func barrier() {
        if _slowPath(isInReadSection) { fatalError("RCU.barrier() called inside an RCU read-side section") }
        RCUThreadRegistration.ensureRegistered()
        RCUCallbackQueue.shared.barrier()
    }

    /// Queues `callback(head)` to run on the RCU callback thread after a grace
    /// period (liburcu's `call_rcu` protocol; see ``RCUCallbackQueue`` for why the
    /// worker is ours). `head` must stay valid until the callback runs; it is
    /// typically the first field of a manually allocated record that the callback
    /// frees or recycles. Callbacks run one at a time, in the order queued.
    ///
    /// - Complexity: O(1), lock-free; no allocation.
    package static func call(
        _ head: UnsafeMutablePointer<rcu_head>,
        _ callback: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void
    ) {
        RCUCallbackQueue.shared.enqueue(head, callback)
    }

    /// Runs `body` on the RCU callback thread after a grace period.
    ///
    /// Convenience for slow paths: it allocates one small record per call. Hot
    /// paths batch their frees and use ``call(_:_:)`` with an embedded `rcu_head`.
    package static func callAfterGracePeriod(_ body: @escaping @Sendable () -> Void) {
        RCUCallbackQueue.shared.callAfterGracePeriod(body)
    }

    /// Registers the calling thread as a reader now (optional: ``readLock()``
    /// registers lazily). Idempotent.
    package static func registerCurrentThread() {
        RCUThreadRegistration.ensureRegistered()
    }

    /// Unregisters the calling thread before it exits (optional: registration is
    /// undone automatically at thread exit). Idempotent.
    ///
    /// - Precondition: the caller is not inside a read-side section.
    package static func unregisterCurrentThread() {
        RCUThreadRegistration.unregisterCurrentThread()
    }
}

/// A manually allocated closure record for ``RCU/callAfterGracePeriod(_:)``.
@usableFromInline
struct DeferredCallRecord {
    /// Must stay the first stored property: the callback casts its address back.
    var head: rcu_head
    var body: @Sendable () -> Void
}
