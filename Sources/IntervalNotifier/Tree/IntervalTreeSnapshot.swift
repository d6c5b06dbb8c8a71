/// A view of an ``RCUIntervalTree`` for one RCU read-side section, valid only
/// inside the section in which ``RCUIntervalTree/snapshot()`` returned it.
///
/// Every query walks the B+tree's nodes with plain loads (and atomic loads of
/// the words a writer may change in place: a child's address and max-last, a
/// leaf entry's last): no lock, no allocation, no
/// reference counting. An interval that stays in the tree during the whole walk
/// is seen exactly once; one inserted or removed meanwhile may or may not be
/// (see the TreeDesign article for the ordering that guarantees this).
///
/// Using a snapshot after the section ended is a use-after-free.
@frozen
@usableFromInline package struct IntervalTreeSnapshot {
    @usableFromInline let root: IntervalTreeNodePointer?
    /// Whether the queries scan nodes with vector compares (``IntervalTreeNodeScan``);
    /// both scans give the same answers.
    @usableFromInline let vectorScan: Bool

    @inlinable
    init(root: IntervalTreeNodePointer?, vectorScan: Bool) {
        self.root = root
        self.vectorScan = vectorScan
    }

    /// Whether the tree is empty.
    @inlinable package var isEmpty: Bool { root == nil }

    /// The overlapping entry with the lowest `(start, last, value)`, or nil.
    ///
    /// - Complexity: O(log_B n) node visits (plus the leaves whose max-last
    ///   reaches the query but whose entries do not overlap it).
    @inlinable
    package func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        guard let root else { return nil }
        if vectorScan { return Self.firstHitScanningVectors(root, start: start, last: last) }
        return Self.firstHit(root, start: start, last: last)
    }

    /// The lowest entry below `node` overlapping `[start, last]`. Children are
    /// in key order, so the first child whose subtree holds an overlapping
    /// entry holds the answer; a child whose smallest start is after `last`
    /// ends the search, and one whose max-last is before `start` is skipped.
    /// In a leaf, an entry removed in place (its last 0, below its start) fails
    /// `entryLast >= start` for a query that starts above 0. A query that
    /// starts at 0 overlaps every entry that starts at or below its last, so
    /// its answer is the tree's first entry, the first entry of the leftmost
    /// leaf, which is never removed in place; it never reaches a removed one.
    @inlinable
    static func firstHit(_ node: IntervalTreeNodePointer, start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        let count = node.count
        let starts = node.starts
        if node.isLeaf {
            var index = 0
            while index < count && starts[index] <= last {
                let entryLast = node.entryLast(index)
                if entryLast >= start {
                    return IntervalTreeEntry(storedStart: starts[index], last: entryLast,
                                             value: UInt(truncatingIfNeeded: node.slots[index]))
                }
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
        if vectorScan { return try Self.visitScanningVectors(root, start: start, last: last, body) }
        return try Self.visit(root, start: start, last: last, body)
    }

    @inlinable
    static func visit(
        _ node: IntervalTreeNodePointer, start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        let count = node.count
        let starts = node.starts
        if node.isLeaf {
            let slots = node.slots
            var index = 0
            while index < count && starts[index] <= last {
                let entryLast = node.entryLast(index)
                // Skips an entry removed in place (see `firstHit`).
                if entryLast >= start && (start != 0 || entryLast >= starts[index]) {
                    let entry = IntervalTreeEntry(
                        storedStart: starts[index], last: entryLast, value: UInt(truncatingIfNeeded: slots[index]))
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
        // A query from 0 counts entries removed in place in the vector mask.
        if vectorScan && start != 0 { return Self.countScanningVectors(root, start: start, last: last) }
        return Self.count(root, start: start, last: last)
    }

    @inlinable
    static func count(_ node: IntervalTreeNodePointer, start: UInt64, last: UInt64) -> Int {
        let count = node.count
        let starts = node.starts
        var hits = 0
        var index = 0
        if node.isLeaf {
            // Two loops, not one test of `start != 0` inside: the compiler did not
            // hoist it, and count-all lost 10-20 % in alternated runs.
            if _slowPath(start == 0) {
                // Skips entries removed in place (see `firstHit`).
                while index < count && starts[index] <= last {
                    hits &+= node.entryLast(index) >= starts[index] ? 1 : 0
                    index &+= 1
                }
                return hits
            }
            while index < count && starts[index] <= last {
                hits &+= node.entryLast(index) >= start ? 1 : 0
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
