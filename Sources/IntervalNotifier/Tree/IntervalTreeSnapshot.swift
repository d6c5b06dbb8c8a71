/// A consistent view of an ``RCUIntervalTree``, valid only inside the RCU
/// read-side section in which ``RCUIntervalTree/snapshot()`` returned it.
///
/// Every query walks immutable nodes with plain loads: no lock, no allocation, no
/// reference counting. Because updates copy the path they change and publish a
/// new root, a snapshot never shows a half-done update: an interval that stayed in
/// the tree during the whole section is seen exactly once, and the rest are seen
/// as of one instant.
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
    /// - Complexity: O(log n).
    @inlinable
    package func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        guard let node = Self.firstOverlappingNode(root, start: start, last: last) else { return nil }
        return IntervalTreeEntry(start: node.pointee.start, last: node.pointee.last, value: node.pointee.value)
    }

    /// The overlapping entry with the lowest key, as a node (kernel
    /// `interval_tree_subtree_search`): descend left while the left subtree has an
    /// interval ending at or after `start`; the leftmost such node either overlaps
    /// or nothing to its right can.
    @inlinable
    static func firstOverlappingNode(_ root: IntervalTreeNodePointer?, start: UInt64, last: UInt64) -> IntervalTreeNodePointer? {
        guard var node = root, node.pointee.subtreeLast >= start else { return nil }
        while true {
            if let left = node.pointee.left, left.pointee.subtreeLast >= start {
                node = left
                continue
            }
            if node.pointee.start <= last {
                if start <= node.pointee.last { return node }
                if let right = node.pointee.right, right.pointee.subtreeLast >= start {
                    node = right
                    continue
                }
            }
            return nil
        }
    }

    /// Calls `body` with every entry overlapping `[start, last]`, in key order,
    /// until it returns false. Returns false if `body` stopped the walk.
    ///
    /// - Complexity: O(log n + k) for k overlapping entries.
    @inlinable
    @discardableResult
    package func forEachOverlapping(
        start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        try Self.visit(root, start: start, last: last, body)
    }

    @inlinable
    static func visit(
        _ root: IntervalTreeNodePointer?, start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        var node = root
        // Loop on the right spine, recurse on the left: depth is bounded by the
        // tree height (at most 1.44 log2 n) and the loop saves half the calls.
        while let current = node, current.pointee.subtreeLast >= start {
            if let left = current.pointee.left, left.pointee.subtreeLast >= start {
                guard try visit(left, start: start, last: last, body) else { return false }
            }
            if current.pointee.start > last { return true }
            if current.pointee.last >= start {
                let entry = IntervalTreeEntry(
                    start: current.pointee.start, last: current.pointee.last, value: current.pointee.value)
                guard try body(entry) else { return false }
            }
            node = current.pointee.right
        }
        return true
    }

    /// Number of entries overlapping `[start, last]`.
    ///
    /// - Complexity: O(log n + k).
    @inlinable
    package func countOverlapping(start: UInt64, last: UInt64) -> Int {
        var hits = 0
        forEachOverlapping(start: start, last: last) { _ in
            hits &+= 1
            return true
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
