/// Something that tells an ``AddressSpace`` when memory changes: it turns each
/// change into ``AddressSpace/invalidateRangeStart(_:)`` and
/// ``AddressSpace/invalidateRangeEnd(_:)`` of the range, on its own thread or
/// the caller's.
///
/// In the kernel the mm itself does this; in userspace something has to find
/// out. Two sources exist: ``ExplicitInvalidationSource`` (the program says
/// what it unmaps, as it always could by calling the address space directly)
/// and ``UserfaultfdMonitor`` (the kernel reports unmaps, `MADV_DONTNEED` and
/// `mremap` of registered memory through userfaultfd). A cache or a device
/// mirror subscribes to the address space and does not care which one drives it.
public protocol InvalidationSource: AnyObject, Sendable {
    /// The address space this source invalidates.
    var addressSpace: AddressSpace { get }

    /// Stops the source. On return no invalidation of this source is running
    /// and none will start; every event it accepted before was delivered.
    /// Idempotent.
    func shutdown() throws(MemoryMonitorError)
}

extension InvalidationSource {
    /// Delivers one event: start and end of `range` on the calling thread.
    /// Every source delivers through here.
    /// - Throws: ``NotifierError/wouldBlock`` (a non-blockable range that a
    ///   callback refused; it ended itself), and the errors of
    ///   ``AddressSpace/invalidateRangeStart(_:)``.
    func deliver(_ range: InvalidationRange) throws(NotifierError) {
        try addressSpace.deliverInvalidation(range)
    }
}

extension AddressSpace {
    /// One source event as the kernel's mm delivers it: start, then end of
    /// `range`, on the calling thread (every ``InvalidationSource`` and the
    /// userfaultfd monitor's thread deliver through here).
    func deliverInvalidation(_ range: InvalidationRange) throws(NotifierError) {
        try invalidateRangeStart(range)
        // The start above succeeded on this thread, so this end has its start.
        try invalidateRangeEnd(range)
    }
}

/// The source of today: the program reports each change itself with
/// ``invalidate(_:)`` (for instance next to its own `munmap`), or calls the
/// address space directly. It sees exactly what the program tells it, also
/// changes userfaultfd cannot see (file-backed memory, hole punching).
public final class ExplicitInvalidationSource: InvalidationSource {
    /// The address space this source invalidates.
    public let addressSpace: AddressSpace

    /// A source that invalidates `addressSpace`.
    public init(addressSpace: AddressSpace) {
        self.addressSpace = addressSpace
    }

    /// Invalidates `range` now, on the calling thread: every overlapping
    /// subscription's callback runs before this returns.
    /// - Throws: ``NotifierError/wouldBlock`` (a non-blockable range a callback
    ///   refused; already ended), and the errors of
    ///   ``AddressSpace/invalidateRangeStart(_:)``.
    public func invalidate(_ range: InvalidationRange) throws(NotifierError) {
        try deliver(range)
    }

    /// Nothing to stop: calls after it still work (they run on the caller's thread).
    public func shutdown() throws(MemoryMonitorError) {}
}
