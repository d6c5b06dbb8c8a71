/// Why an address-space operation was refused. Nothing is changed when one is thrown.
public enum NotifierError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A range of length zero (`start` is its start).
    case emptyRange(start: UInt64)
    /// `start + length - 1` does not fit in 64 bits (the kernel's `-EOVERFLOW`).
    case rangeOverflow(start: UInt64, length: UInt64)
    /// The address space was torn down: by ``AddressSpace/release()`` (no new
    /// subscriptions), or because the ``AddressSpace`` object is gone (the
    /// subscription is detached: nothing can be done with it any more).
    case addressSpaceReleased
    /// The subscription is not registered any more: it was removed, or its
    /// removal is already under way (double remove, remove after `put`,
    /// `readBegin` or `update` after either).
    case notRegistered
    /// The subscription belongs to another address space.
    case foreignSubscription
    /// The operation was called from inside an invalidate callback of the same
    /// address space on the same thread, where it would wait for the window the
    /// callback runs in: for itself.
    case calledFromInvalidateCallback(operation: Operation)
    /// The operation would wait for an invalidation window that the calling
    /// thread opened itself (``AddressSpace/invalidateRangeStart(_:)`` returned,
    /// ``AddressSpace/invalidateRangeEnd(_:)`` not yet called): for itself.
    case calledInsideOwnWindow(operation: Operation)
    /// The operation would wait for RCU callbacks, and it runs on the RCU
    /// callback thread (in a ``ReleaseCallback``): for itself.
    case calledFromReleaseCallback(operation: Operation)
    /// The calling thread is inside the body of a lookup of the same address
    /// space (``AddressSpace/forEachSubscription(overlapping:last:_:)``,
    /// ``AddressSpace/withSubscription(containing:_:)``), and the operation would
    /// wait for that lookup: ``AddressSpace/synchronize()`` for its grace period
    /// (RCU strategies); with the locked strategies, every call that takes the
    /// registry lock, which the lookup holds.
    case calledInsideLookup(operation: Operation)
    /// ``AddressSpace/invalidateRangeEnd(_:)`` of `[start, last]` found no
    /// invalidation of that range in flight: it was never started, it was ended
    /// already, or its start threw ``wouldBlock`` (which ends it).
    case unbalancedInvalidateEnd(start: UInt64, last: UInt64)
    /// A non-blockable invalidation met a callback that would have to sleep
    /// (the kernel's `-EAGAIN`); the range was ended already, do not end it again.
    case wouldBlock
    /// The register callback of a ``RegistrationCache`` refused the region
    /// `[start, start + length - 1]` (it returned nil, for example because the
    /// memory is not mapped); nothing was cached.
    case registrationFailed(start: UInt64, length: UInt64)

    /// The address-space operations an error can name.
    public enum Operation: String, Sendable, Equatable, CustomStringConvertible {
        /// ``AddressSpace/insert(start:length:invalidate:)``.
        case insert
        /// ``AddressSpace/remove(_:)``.
        case remove
        /// ``AddressSpace/put(_:release:)``.
        case put
        /// ``AddressSpace/update(_:start:length:)``.
        case update
        /// ``AddressSpace/release()``.
        case release
        /// ``AddressSpace/synchronize()``.
        case synchronize
        /// ``IntervalSubscription/readBegin()``.
        case readBegin
        /// ``AddressSpace/invalidateRangeStart(_:)``.
        case invalidateRangeStart
        /// ``AddressSpace/invalidateRangeEnd(_:)``.
        case invalidateRangeEnd

        /// The operation's name, as in the API.
        public var description: String { rawValue }
    }

    /// A one-line explanation for logs and error messages.
    public var description: String {
        switch self {
        case .emptyRange(let start): return "empty range at \(start): length must be at least 1"
        case .rangeOverflow(let start, let length): return "range overflows: start \(start) + length \(length) - 1 exceeds UInt64.max"
        case .addressSpaceReleased: return "the address space was released (torn down or dropped)"
        case .notRegistered: return "the subscription is not registered (already removed, or its removal is under way)"
        case .foreignSubscription: return "the subscription belongs to another address space"
        case .calledFromInvalidateCallback(let operation): return "\(operation) called from inside an invalidate callback of the same address space: it would wait for itself"
        case .calledInsideOwnWindow(let operation): return "\(operation) called by a thread that has an invalidation of the same address space in flight (invalidateRangeStart without invalidateRangeEnd): it would wait for itself"
        case .calledFromReleaseCallback(let operation): return "\(operation) called from a release callback (the RCU callback thread): it would wait for itself"
        case .calledInsideLookup(let operation): return "\(operation) called inside the body of a lookup of the same address space: it would wait for that lookup"
        case .unbalancedInvalidateEnd(let start, let last): return "invalidateRangeEnd of [\(start), \(last)] without a matching invalidateRangeStart (never started, ended twice, or its start threw wouldBlock)"
        case .wouldBlock: return "a callback would block during a non-blockable invalidation"
        case .registrationFailed(let start, let length): return "the register callback refused the region at \(start) of length \(length)"
        }
    }
}
