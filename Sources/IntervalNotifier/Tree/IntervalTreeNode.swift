/// One closed interval `[start, last]` with the caller's value, as stored in and
/// returned by ``RCUIntervalTree``.
@frozen
@usableFromInline package struct IntervalTreeEntry: Hashable, Sendable, CustomStringConvertible {
    /// First address of the interval.
    @usableFromInline package var start: UInt64
    /// Last address of the interval (inclusive), `>= start`.
    @usableFromInline package var last: UInt64
    /// The caller's value (an id, or a pointer's bit pattern).
    @usableFromInline package var value: UInt

    /// Creates an entry. - Precondition: `start <= last`.
    @inlinable
    package init(start: UInt64, last: UInt64, value: UInt) {
        precondition(start <= last, "interval start \(start) is after its last \(last)")
        self.start = start
        self.last = last
        self.value = value
    }

    /// Whether `[start, last]` overlaps `[queryStart, queryLast]`.
    @inlinable
    package func overlaps(start queryStart: UInt64, last queryLast: UInt64) -> Bool {
        start <= queryLast && queryStart <= last
    }

    /// A compact form for logs: `[start, last]#value`.
    @usableFromInline package var description: String { "[\(start), \(last)]#\(value)" }
}

/// A tree node: 64 bytes, one cache line, in manually managed memory.
///
/// Published nodes are immutable: readers walk them under an RCU read-side
/// section with plain loads, and a writer that needs a different node makes a
/// fresh copy (path copying) and retires the old one, which is reused only after a
/// grace period. `link` is the only field written after publication, by the
/// writer and the reclaimer, and readers never read it.
@usableFromInline
struct IntervalTreeNode {
    @usableFromInline var start: UInt64
    @usableFromInline var last: UInt64
    /// Largest `last` in this node's subtree: queries prune subtrees that end too early.
    @usableFromInline var subtreeLast: UInt64
    @usableFromInline var value: UInt
    @usableFromInline var left: UnsafeMutablePointer<IntervalTreeNode>?
    @usableFromInline var right: UnsafeMutablePointer<IntervalTreeNode>?
    /// Writer-side list link (free list, retired list); never read by readers.
    var link: UnsafeMutablePointer<IntervalTreeNode>?
    /// `generation << 8 | height`: the update that created the node (a node of the
    /// current update is private to the writer and may be changed in place) and
    /// its AVL height (at most 92 for 2^64 nodes, so 8 bits suffice).
    var meta: UInt64

    @inline(__always) var height: Int { Int(truncatingIfNeeded: meta & 0xFF) }
    @inline(__always) var generation: UInt64 { meta >> 8 }
}

@usableFromInline
typealias IntervalTreeNodePointer = UnsafeMutablePointer<IntervalTreeNode>

extension Optional where Wrapped == IntervalTreeNodePointer {
    /// Height of a possibly empty subtree.
    @inline(__always) var height: Int {
        switch self {
        case .none: return 0
        case .some(let node): return node.pointee.height
        }
    }

    /// Largest `last` of a possibly empty subtree, or nil.
    @inline(__always) var subtreeLast: UInt64? {
        switch self {
        case .none: return nil
        case .some(let node): return node.pointee.subtreeLast
        }
    }
}
