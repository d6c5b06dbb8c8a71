import CNotifierCore

/// The shape of every node of the interval B+tree: its fan-out and where its
/// three arrays lie.
///
/// A node is one block of manually managed, cache-line-aligned memory: a
/// 32-byte ``IntervalTreeNode`` header, then three arrays of ``fanout`` words:
///
/// | offset | leaf (level 0) | inner node |
/// |---|---|---|
/// | 32 | `start` of each entry | smallest `start` in each child's subtree |
/// | 32 + 8B | `last` of each entry | largest `last` in each child's subtree |
/// | 32 + 16B | the entry's value | the child's address |
///
/// Fan-out 16 makes a node 416 bytes, rounded to 448 (seven cache lines). The
/// fan-out was chosen by measurement (see the TreeDesign article); building
/// with `-Xswiftc -DINTERVAL_TREE_FANOUT_8` or `_32` gives the other sizes measured.
@usableFromInline
enum IntervalTreeLayout {
    #if INTERVAL_TREE_FANOUT_8
    /// Entries of a leaf, children of an inner node, at most.
    @inlinable @inline(__always) static var fanout: Int { 8 }
    #elseif INTERVAL_TREE_FANOUT_32
    /// Entries of a leaf, children of an inner node, at most.
    @inlinable @inline(__always) static var fanout: Int { 32 }
    #else
    /// Entries of a leaf, children of an inner node, at most.
    @inlinable @inline(__always) static var fanout: Int { 16 }
    #endif

    /// A node below this many entries or children is merged with or refilled from a sibling.
    @inlinable @inline(__always) static var minimumFill: Int { fanout / 4 }

    /// Byte offset of the header's writer-side `removedCount` (``IntervalTreeNode/removedCount``).
    static var removedCountOffset: Int { 24 }
    /// Byte offset of the `start` array.
    @inlinable @inline(__always) static var startsOffset: Int { 32 }
    /// Byte offset of the `last` array.
    @inlinable @inline(__always) static var lastsOffset: Int { 32 + 8 * fanout }
    /// Byte offset of the value / child array.
    @inlinable @inline(__always) static var slotsOffset: Int { 32 + 16 * fanout }
    /// Bytes per node, a whole number of cache lines.
    @inlinable @inline(__always) static var nodeBytes: Int { (32 + 24 * fanout + 63) & ~63 }
}

/// The header of a B+tree node (the arrays follow it; see ``IntervalTreeLayout``).
///
/// `count` and `level` never change once a node is published. In a published
/// inner node only two kinds of word ever change, each with one atomic store:
/// a child's max-last (raised before the entry that needs it is published,
/// lowered after the entry that needed it is gone) and a child's address (the
/// releasing store that publishes a copied child). In a published leaf only
/// one kind of word changes: the `last` of an entry removed in place, set to 0
/// with one atomic store (see ``IntervalTreeNode/removedCount``). Every other
/// word is written while the node is private to the writer. `generation`,
/// `link` and `removedCount` are the writer's and the reclaimer's; readers
/// never read them.
@usableFromInline
struct IntervalTreeNode {
    /// Entries (leaf) or children (inner node) in use.
    @usableFromInline var count: Int32
    /// 0 for a leaf; an inner node's children are one level lower.
    @usableFromInline var level: Int32
    /// The update that created the node: a node of the current update is
    /// private to the writer and may be changed or freed at once.
    var generation: UInt64
    /// Writer-side list link (free list, retired list).
    var link: UnsafeMutablePointer<IntervalTreeNode>?
    /// Leaves under RCU: entries removed in place. Such an entry keeps its
    /// start and value and its place in the arrays until the leaf is next
    /// copied, and its `last` becomes 0: below its start (only entries that
    /// start above 0 are removed in place), so it overlaps no query that
    /// starts above 0, and readers of a query starting at 0 skip an entry whose
    /// last is below its start. Never the leaf's first entry (its key in the
    /// parent). Keeps the arrays at offset 32.
    var removedCount: Int
}

@usableFromInline
typealias IntervalTreeNodePointer = UnsafeMutablePointer<IntervalTreeNode>

extension UnsafeMutablePointer where Pointee == IntervalTreeNode {
    /// The node's `start` array (entries' starts, or children's smallest starts).
    @inlinable @inline(__always)
    var starts: UnsafeMutablePointer<UInt64> {
        (UnsafeMutableRawPointer(self) + IntervalTreeLayout.startsOffset).assumingMemoryBound(to: UInt64.self)
    }

    /// The node's `last` array (entries' lasts, or children's largest lasts).
    @inlinable @inline(__always)
    var lasts: UnsafeMutablePointer<UInt64> {
        (UnsafeMutableRawPointer(self) + IntervalTreeLayout.lastsOffset).assumingMemoryBound(to: UInt64.self)
    }

    /// The node's value / child array.
    @inlinable @inline(__always)
    var slots: UnsafeMutablePointer<UInt64> {
        (UnsafeMutableRawPointer(self) + IntervalTreeLayout.slotsOffset).assumingMemoryBound(to: UInt64.self)
    }

    /// Number of entries or children.
    @inlinable @inline(__always)
    var count: Int { Int(truncatingIfNeeded: pointee.count) }

    /// Whether the node is a leaf.
    @inlinable @inline(__always)
    var isLeaf: Bool { pointee.level == 0 }

    /// Child `index` of an inner node, read by an RCU reader: an acquiring load,
    /// because the writer may replace it in place with a releasing store (the
    /// copy's contents must be visible).
    @inlinable @inline(__always)
    func child(_ index: Int) -> IntervalTreeNodePointer {
        IntervalTreeNodePointer(bitPattern: UInt(truncatingIfNeeded: cnp_load_acquire_u64(slots + index)))!
    }

    /// Max-last of child `index` of an inner node, read by an RCU reader: the
    /// writer may change it in place (relaxed: see TreeDesign's ordering argument).
    @inlinable @inline(__always)
    func childLast(_ index: Int) -> UInt64 {
        cnp_load_relaxed_u64(lasts + index)
    }

    /// The `last` of entry `index` of a leaf, read by an RCU reader: an atomic
    /// load, because a removal in place stores 0 there. Relaxed: that store
    /// publishes nothing (the entry's other words never change while the leaf
    /// is in the tree); a reader that reads the old value sees an entry being
    /// removed during its walk, which is allowed. Read it once per entry.
    @inlinable @inline(__always)
    func entryLast(_ index: Int) -> UInt64 {
        cnp_load_relaxed_u64(lasts + index)
    }

    /// Entries of a leaf that were not removed in place (writer side); for an
    /// inner node, its children.
    var liveCount: Int { count &- pointee.removedCount }

    /// Largest `last` among the node's entries or children (writer side).
    func maximumLast() -> UInt64 {
        var result: UInt64 = 0
        for index in 0..<count where lasts[index] > result { result = lasts[index] }
        return result
    }
}
