/// A view of an ``RCUIntervalTree`` for one RCU read-side section, valid only
/// inside the section in which ``RCUIntervalTree/snapshot()`` returned it.
///
/// Every query walks the B+tree's nodes with plain loads (and the two atomic
/// loads of words a writer may change in place): no lock, no allocation, no
/// reference counting. An interval that stays in the tree during the whole walk
/// is seen exactly once; one inserted or removed meanwhile may or may not be
/// (see the TreeDesign article for the ordering that guarantees this).
///
/// Using a snapshot after the section ended is a use-after-free.
@frozen
@usableFromInline package struct IntervalTreeSnapshot {
    @usableFromInline let root: IntervalTreeNodePointer?

    @inlinable
    init(root: IntervalTreeNodePointer?) { self.root = root }

    /// Whether the tree is empty.
    @inlinable package var isEmpty: Bool { root == nil }

    /// The overlapping entry with the lowest `(start, last, value)`, or nil.
    ///
    /// - Complexity: O(log_B n) node visits (plus the leaves whose max-last
    ///   reaches the query but whose entries do not overlap it).
    @inlinable
    package func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        guard let root, let (leaf, index) = Self.firstHit(root, start: start, last: last) else { return nil }
        return IntervalTreeEntry(storedStart: leaf.starts[index], last: leaf.lasts[index],
                                 value: UInt(truncatingIfNeeded: leaf.slots[index]))
    }

    /// The leaf and index of the lowest entry below `node` overlapping
    /// `[start, last]`. Children are in key order, so the first child whose
    /// subtree holds an overlapping entry holds the answer; a child whose
    /// smallest start is after `last` ends the search, and one whose max-last
    /// is before `start` is skipped.
    @inlinable
    static func firstHit(_ node: IntervalTreeNodePointer, start: UInt64, last: UInt64) -> (IntervalTreeNodePointer, Int)? {
        let count = node.count
        let starts = node.starts
        if node.isLeaf {
            let lasts = node.lasts
            var index = 0
            while index < count && starts[index] <= last {
                if lasts[index] >= start { return (node, index) }
                index &+= 1
            }
            return nil
        }
        var index = 0
        while index < count && starts[index] <= last {
            if node.childLast(index) >= start, let hit = firstHit(node.child(index), start: start, last: last) {
                return hit
            }
            index &+= 1
        }
        return nil
    }

    /// Calls `body` with every entry overlapping `[start, last]`, in key order,
    /// until it returns false. Returns false if `body` stopped the walk.
    ///
    /// - Complexity: O(log_B n + k) for k overlapping entries.
    @inlinable
    @discardableResult
    package func forEachOverlapping(
        start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        guard let root else { return true }
        return try Self.visit(root, start: start, last: last, body)
    }

    @inlinable
    static func visit(
        _ node: IntervalTreeNodePointer, start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        let count = node.count
        let starts = node.starts
        if node.isLeaf {
            let lasts = node.lasts, slots = node.slots
            var index = 0
            while index < count && starts[index] <= last {
                if lasts[index] >= start {
                    let entry = IntervalTreeEntry(
                        storedStart: starts[index], last: lasts[index], value: UInt(truncatingIfNeeded: slots[index]))
                    guard try body(entry) else { return false }
                }
                index &+= 1
            }
            return true
        }
        var index = 0
        while index < count && starts[index] <= last {
            if node.childLast(index) >= start {
                guard try visit(node.child(index), start: start, last: last, body) else { return false }
            }
            index &+= 1
        }
        return true
    }

    /// Number of entries overlapping `[start, last]`.
    ///
    /// - Complexity: O(log_B n + k).
    @inlinable
    package func countOverlapping(start: UInt64, last: UInt64) -> Int {
        guard let root else { return 0 }
        return Self.count(root, start: start, last: last)
    }

    @inlinable
    static func count(_ node: IntervalTreeNodePointer, start: UInt64, last: UInt64) -> Int {
        let count = node.count
        let starts = node.starts
        var hits = 0
        var index = 0
        if node.isLeaf {
            let lasts = node.lasts
            while index < count && starts[index] <= last {
                hits &+= lasts[index] >= start ? 1 : 0
                index &+= 1
            }
            return hits
        }
        while index < count && starts[index] <= last {
            if node.childLast(index) >= start { hits &+= Self.count(node.child(index), start: start, last: last) }
            index &+= 1
        }
        return hits
    }

    /// Calls `body` with every entry containing `point` (stabbing query).
    @inlinable
    @discardableResult
    package func forEachContaining(_ point: UInt64, _ body: (IntervalTreeEntry) throws -> Bool) rethrows -> Bool {
        try forEachOverlapping(start: point, last: point, body)
    }

    /// Every entry, in key order (allocates: for tests and diagnostics).
    package func allEntries() -> [IntervalTreeEntry] {
        var result: [IntervalTreeEntry] = []
        forEachOverlapping(start: 0, last: .max) { result.append($0); return true }
        return result
    }
}
