/// Why a range is being invalidated (the kernel's `enum mmu_notifier_event`).
public enum InvalidationEvent: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// The range is unmapped (`MMU_NOTIFY_UNMAP`).
    case unmap
    /// The pages are cleared or replaced (`MMU_NOTIFY_CLEAR`).
    case clear
    /// Protection of a whole mapping changes (`MMU_NOTIFY_PROTECTION_VMA`).
    case protectionVMA
    /// Protection of some pages changes (`MMU_NOTIFY_PROTECTION_PAGE`).
    case protectionPage
    /// Soft-dirty tracking clears bits (`MMU_NOTIFY_SOFT_DIRTY`).
    case softDirty
    /// The address space is torn down (`MMU_NOTIFY_RELEASE`): see ``AddressSpace/release()``.
    case release
    /// Pages migrate (`MMU_NOTIFY_MIGRATE`); `owner` identifies the migrating device.
    case migrate
    /// A device takes exclusive access (`MMU_NOTIFY_EXCLUSIVE`); `owner` identifies it.
    case exclusive

    /// A short name for logs (e.g. `protection-page`).
    public var description: String {
        switch self {
        case .unmap: return "unmap"
        case .clear: return "clear"
        case .protectionVMA: return "protection-vma"
        case .protectionPage: return "protection-page"
        case .softDirty: return "soft-dirty"
        case .release: return "release"
        case .migrate: return "migrate"
        case .exclusive: return "exclusive"
        }
    }
}

/// A range being invalidated (the kernel's `struct mmu_notifier_range`).
///
/// Stored as the closed interval `[start, last]` so that a range can reach the
/// top of the address space (teardown covers `[0, UInt64.max]`); ``end`` gives
/// the kernel's exclusive end.
@frozen
public struct InvalidationRange: Sendable, Equatable, CustomStringConvertible {
    /// First address of the range.
    public let start: UInt64
    /// Last address of the range (inclusive).
    public let last: UInt64
    /// Why the range is invalidated.
    public let event: InvalidationEvent
    /// Optional token of the agent causing the invalidation (the kernel's `owner`,
    /// used with ``InvalidationEvent/migrate`` and ``InvalidationEvent/exclusive``
    /// so a device can skip its own invalidations).
    public let owner: UInt?
    /// Whether callbacks may sleep. When false, a callback that would have to
    /// sleep returns false and ``AddressSpace/invalidateRangeStart(_:)`` throws
    /// ``NotifierError/wouldBlock``.
    public let isBlockable: Bool

    /// Creates the range `[start, end)` (kernel convention: `end` is exclusive).
    /// - Throws: ``NotifierError/emptyRange(start:)`` when `end <= start`.
    @inlinable
    public init(start: UInt64, end: UInt64, event: InvalidationEvent = .unmap, owner: UInt? = nil, blockable: Bool = true) throws(NotifierError) {
        guard end > start else { throw .emptyRange(start: start) }
        self.init(uncheckedStart: start, last: end - 1, event: event, owner: owner, blockable: blockable)
    }

    /// Creates the closed range `[start, last]`.
    /// - Throws: ``NotifierError/emptyRange(start:)`` when `last < start`.
    @inlinable
    public init(start: UInt64, last: UInt64, event: InvalidationEvent = .unmap, owner: UInt? = nil, blockable: Bool = true) throws(NotifierError) {
        guard last >= start else { throw .emptyRange(start: start) }
        self.init(uncheckedStart: start, last: last, event: event, owner: owner, blockable: blockable)
    }

    @inlinable
    init(uncheckedStart start: UInt64, last: UInt64, event: InvalidationEvent, owner: UInt?, blockable: Bool) {
        self.start = start
        self.last = last
        self.event = event
        self.owner = owner
        self.isBlockable = blockable
    }

    /// Exclusive end (`last + 1`), saturating at `UInt64.max` for a range that
    /// reaches the top of the address space.
    @inlinable
    public var end: UInt64 { last == .max ? .max : last + 1 }

    /// Whether the range overlaps the closed interval `[start, last]`.
    @inlinable
    public func overlaps(start otherStart: UInt64, last otherLast: UInt64) -> Bool {
        start <= otherLast && otherStart <= last
    }

    /// A one-line description for logs: `[start, last] event`, then
    /// `non-blockable` and `owner N` when they apply.
    public var description: String {
        "[\(start), \(last)] \(event)\(isBlockable ? "" : " non-blockable")\(owner.map { " owner \($0)" } ?? "")"
    }
}
