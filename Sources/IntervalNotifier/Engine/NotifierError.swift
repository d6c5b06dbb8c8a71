/// Why an address-space operation was refused. Nothing is changed when one is thrown.
public enum NotifierError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A range of length zero (`start` is its start).
    case emptyRange(start: UInt64)
    /// `start + length - 1` does not fit in 64 bits (the kernel's `-EOVERFLOW`).
    case rangeOverflow(start: UInt64, length: UInt64)
    /// The address space was torn down by ``AddressSpace/release()``: no new subscriptions.
    case addressSpaceReleased
    /// The subscription is not registered any more: it was removed, or its
    /// removal is already under way (double remove, remove after `put`).
    case notRegistered
    /// The subscription belongs to another address space.
    case foreignSubscription
    /// The operation was called from inside an invalidate callback of the same
    /// address space on the same thread, where it would wait for itself.
    case calledFromInvalidateCallback(operation: String)
    /// A non-blockable invalidation met a callback that would have to sleep
    /// (the kernel's `-EAGAIN`); the range was ended already, do not end it again.
    case wouldBlock

    /// A one-line explanation for logs and error messages.
    public var description: String {
        switch self {
        case .emptyRange(let start): return "empty range at \(start): length must be at least 1"
        case .rangeOverflow(let start, let length): return "range overflows: start \(start) + length \(length) - 1 exceeds UInt64.max"
        case .addressSpaceReleased: return "the address space was released (torn down): no new subscriptions"
        case .notRegistered: return "the subscription is not registered (already removed, or its removal is under way)"
        case .foreignSubscription: return "the subscription belongs to another address space"
        case .calledFromInvalidateCallback(let operation): return "\(operation) called from inside an invalidate callback of the same address space: it would deadlock"
        case .wouldBlock: return "a callback would block during a non-blockable invalidation"
        }
    }
}
