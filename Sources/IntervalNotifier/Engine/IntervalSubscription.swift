import Synchronization

/// The callback an address space calls when a range overlapping a subscription
/// is invalidated (the kernel's `mmu_interval_notifier_ops.invalidate`).
///
/// It must call ``IntervalSubscription/setSequence(_:)`` with `sequence` under the
/// user lock that the fault path holds around ``IntervalSubscription/readRetry(_:)``,
/// then drop whatever it mirrors in the range, and return true. It returns false
/// only when the range is not blockable (``InvalidationRange/isBlockable``) and it
/// would have to sleep (for example, `tryLock` of the user lock failed).
///
/// It must not call ``AddressSpace/insert(start:length:invalidate:)``,
/// ``AddressSpace/remove(_:)``, ``AddressSpace/put(_:release:)``,
/// ``AddressSpace/release()`` or ``IntervalSubscription/readBegin()`` on the same
/// address space: they throw ``NotifierError/calledFromInvalidateCallback(operation:)``.
public typealias InvalidateCallback = @Sendable (_ subscription: IntervalSubscription, _ range: InvalidationRange, _ sequence: UInt64) -> Bool

/// A subscription to invalidations of the interval `[start, last]` of an
/// ``AddressSpace`` (the kernel's `struct mmu_interval_notifier`).
///
/// Create one with ``AddressSpace/insert(start:length:invalidate:)``; end it with
/// ``AddressSpace/remove(_:)`` (blocking) or ``AddressSpace/put(_:release:)``
/// (non-blocking). The read side (``readBegin()``, ``readRetry(_:)``,
/// ``checkRetry(_:)``) takes no lock and touches no reference count.
public final class IntervalSubscription: @unchecked Sendable {
    /// First address covered.
    public let start: UInt64
    /// Last address covered (inclusive).
    public let last: UInt64
    /// The address space this subscription belongs to.
    public let addressSpace: AddressSpace
    /// The user's invalidate callback.
    public let invalidate: InvalidateCallback

    /// The kernel's `invalidate_seq`: always odd. Written by the address space
    /// under its lock (insert) and by ``setSequence(_:)`` under the user lock.
    @usableFromInline let sequence: Atomic<UInt64>

    // State below is protected by the address space's lock.
    /// Where the subscription is in its life.
    var state: SubscriptionState = .unlinked
    /// The release callback of a pending ``AddressSpace/put(_:release:)``.
    var releaseCallback: (@Sendable (IntervalSubscription) -> Void)?

    init(start: UInt64, last: UInt64, addressSpace: AddressSpace, invalidate: @escaping InvalidateCallback) {
        self.start = start
        self.last = last
        self.addressSpace = addressSpace
        self.invalidate = invalidate
        self.sequence = Atomic(1)
    }

    /// The tree entry that stands for this subscription (its address is the value).
    var treeEntry: IntervalTreeEntry {
        IntervalTreeEntry(start: start, last: last, value: UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()))
    }

    /// Number of addresses covered, or nil for the whole 2^64 space.
    public var length: UInt64? { last - start == .max ? nil : last - start + 1 }

    // MARK: Read side (the collision-retry protocol)

    /// Begins a read-side critical region (`mmu_interval_read_begin`): returns
    /// the sequence to pass to ``readRetry(_:)`` once the user lock is held.
    ///
    /// If this subscription is in the current invalidation window (an
    /// invalidation that covers it has started and not every invalidation has
    /// ended yet), it sleeps until the window closes. It does not loop: a retry
    /// may already be due when it returns. Call it without holding the user lock.
    ///
    /// Lock-free on the fast path: two acquiring loads and a compare. The kernel
    /// takes its spinlock here only to read both sequences; reading them in this
    /// order is enough (see ``AddressSpace`` "Memory ordering").
    /// - Throws: ``NotifierError/calledFromInvalidateCallback(operation:)`` when
    ///   called from an invalidate callback of the same address space.
    /// - Complexity: O(1); no lock, no allocation, no reference counting unless it waits.
    @inlinable @inline(__always)
    public func readBegin() throws(NotifierError) -> UInt64 {
        // The locked strategies read both sequences under the registry lock.
        guard _fastPath(addressSpace.readers != .registryLock) else {
            return try addressSpace.lockedReadBegin(self)
        }
        // Acquiring: if this load returns a value set by `setSequence` in an
        // invalidate callback, the address space's odd sequence published before
        // that callback ran is visible to the next load.
        let observed = sequence.load(ordering: .acquiring)
        if _slowPath(addressSpace.currentSequence == observed) || _slowPath(addressSpace.isCallbackThread) {
            return try addressSpace.waitForReadBegin(self)
        }
        return observed
    }

    /// Whether the region begun by ``readBegin()`` returning `sequence` collided
    /// with an invalidation (`mmu_interval_read_retry`).
    ///
    /// - Precondition: the caller holds the user lock under which the invalidate
    ///   callback calls ``setSequence(_:)``; that lock orders the two.
    @inlinable @inline(__always)
    public func readRetry(_ sequence: UInt64) -> Bool {
        // Relaxed: the user lock orders this load against `setSequence`.
        self.sequence.load(ordering: .relaxed) != sequence
    }

    /// The same test as ``readRetry(_:)`` without the user lock
    /// (`mmu_interval_check_retry`): a true result means give up early; a false
    /// result proves nothing.
    @inlinable @inline(__always)
    public func checkRetry(_ sequence: UInt64) -> Bool {
        // Relaxed: a hint only; `readRetry` under the user lock decides.
        self.sequence.load(ordering: .relaxed) != sequence
    }

    /// Records that an invalidation with `sequence` covers this subscription
    /// (`mmu_interval_set_seq`). Call it from the invalidate callback,
    /// unconditionally, under the user lock, with the sequence it was given.
    @inlinable @inline(__always)
    public func setSequence(_ sequence: UInt64) {
        // Releasing: pairs with the acquiring load in `readBegin` (see there).
        self.sequence.store(sequence, ordering: .releasing)
    }

    /// The current sequence of the subscription (for diagnostics and the oracle).
    public var currentSequence: UInt64 {
        // Relaxed: diagnostics only.
        sequence.load(ordering: .relaxed)
    }
}

/// Where a subscription is in its life (protected by the address space's lock).
enum SubscriptionState: Equatable {
    /// Created, not yet linked (only inside `insert`).
    case unlinked
    /// In the tree: invalidations reach it.
    case inTree
    /// Inserted during an invalidation window: on the deferred list, enters the
    /// tree when the window closes.
    case pendingInsert
    /// Removed during an invalidation window: still in the tree, on the deferred
    /// list, leaves the tree when the window closes.
    case pendingRemove
    /// Out of the tree for good.
    case removed
}
