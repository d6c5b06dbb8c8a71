// The per-flavour RCU primitives, in one place: every switch over
// `RCUFlavor` that enters, leaves or waits for a read-side section is here.

extension RCUFlavor {
    /// Enters a read-side section of this flavour; hand the result to
    /// ``exitReadSection(_:)``. memb, bp, mb: a (nestable) read lock, result
    /// false. qsbr: nothing for an online thread; otherwise the thread goes
    /// online for the section and the result is true.
    @inlinable @inline(__always)
    func enterReadSection() -> Bool {
        switch self {
        case .memb: RCU.readLock(); return false
        case .qsbr: return RCU.QSBR.enterReadSection()
        case .bp: RCU.BP.readLock(); return false
        case .mb: RCU.MB.readLock(); return false
        }
    }

    /// Leaves the section entered by ``enterReadSection()``, passing its result.
    @inlinable @inline(__always)
    func exitReadSection(_ wentOnline: Bool) {
        switch self {
        case .memb: RCU.readUnlock()
        case .qsbr: RCU.QSBR.exitReadSection(wentOnline)
        case .bp: RCU.BP.readUnlock()
        case .mb: RCU.MB.readUnlock()
        }
    }

    /// Waits for a grace period of this flavour (the callback worker's wait;
    /// the caller is in no read-side section of it).
    func synchronize() {
        switch self {
        case .memb: RCU.synchronize()
        case .qsbr: RCU.QSBR.synchronize()
        case .bp: RCU.BP.synchronize()
        case .mb: RCU.MB.synchronize()
        }
    }
}

extension RCU {
    /// Whether the calling thread is inside a read-side section of any flavour,
    /// where waiting for a grace period or for RCU callbacks would wait for the
    /// caller itself (memb, bp, mb) or, for qsbr, whose waits take an online
    /// thread offline, return after freeing what the section still holds. An
    /// online qsbr thread outside a lookup is not inside a section (see ``RCU/QSBR``).
    package static var isInAnyReadSection: Bool {
        RCU.isInReadSection || RCU.QSBR.isInReadSection || RCU.BP.isInReadSection || RCU.MB.isInReadSection
    }
}
