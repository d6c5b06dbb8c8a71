/// The snapshot's queries with the vector node scan (``IntervalTreeNodeScan``):
/// the same walks as the word-by-word ones, over the bits of each node's
/// ``IntervalTreeNodePointer/overlapMask(start:last:)`` in key order.
///
/// A leaf's `last` is read again before an entry is returned: a removal in
/// place may have set it to 0 since the mask was computed, and an entry
/// removed during the walk may be missed but must not be returned with a last
/// that is not its own.
extension IntervalTreeSnapshot {
    @inlinable
    static func firstHitScanningVectors(
        _ node: IntervalTreeNodePointer, start: UInt64, last: UInt64
    ) -> IntervalTreeEntry? {
        var candidates = node.overlapMask(start: start, last: last)
        if node.isLeaf {
            // A query from 0 finds the leftmost leaf's first entry first, which is
            // never removed in place (see `firstHit`), so it needs no other test.
            while candidates != 0 {
                let index = candidates.trailingZeroBitCount
                let entryLast = node.entryLast(index)
                if entryLast >= start {
                    return IntervalTreeEntry(storedStart: node.starts[index], last: entryLast,
                                             value: UInt(truncatingIfNeeded: node.slots[index]))
                }
                candidates &= candidates &- 1
            }
            return nil
        }
        while candidates != 0 {
            if let hit = firstHitScanningVectors(node.child(candidates.trailingZeroBitCount), start: start, last: last) {
                return hit
            }
            candidates &= candidates &- 1
        }
        return nil
    }

    @inlinable
    static func visitScanningVectors(
        _ node: IntervalTreeNodePointer, start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool
    ) rethrows -> Bool {
        var candidates = node.overlapMask(start: start, last: last)
        if node.isLeaf {
            while candidates != 0 {
                let index = candidates.trailingZeroBitCount
                let entryStart = node.starts[index]
                let entryLast = node.entryLast(index)
                // Skips an entry removed in place (see `firstHit`).
                if entryLast >= start && (start != 0 || entryLast >= entryStart) {
                    let entry = IntervalTreeEntry(
                        storedStart: entryStart, last: entryLast, value: UInt(truncatingIfNeeded: node.slots[index]))
                    guard try body(entry) else { return false }
                }
                candidates &= candidates &- 1
            }
            return true
        }
        while candidates != 0 {
            guard try visitScanningVectors(node.child(candidates.trailingZeroBitCount), start: start, last: last, body) else {
                return false
            }
            candidates &= candidates &- 1
        }
        return true
    }

    /// - Precondition: `start != 0` (the mask counts entries removed in place
    ///   for a query from 0).
    @inlinable
    static func countScanningVectors(_ node: IntervalTreeNodePointer, start: UInt64, last: UInt64) -> Int {
        var candidates = node.overlapMask(start: start, last: last)
        if node.isLeaf { return candidates.nonzeroBitCount }
        var hits = 0
        while candidates != 0 {
            hits &+= countScanningVectors(node.child(candidates.trailingZeroBitCount), start: start, last: last)
            candidates &= candidates &- 1
        }
        return hits
    }
}
