/// Structural checks of an ``IntervalTreeStorage`` for tests and the stress oracle.
extension IntervalTreeStorage {
    /// A broken invariant found by ``validateSerialized()``.
    package struct InvariantViolation: Error, CustomStringConvertible, Sendable {
        /// What is wrong, with the node's interval.
        package var description: String
    }

    /// Checks every structural invariant: key order across leaves, every leaf at
    /// the same depth, node fill (at most the fan-out; at least a quarter of it
    /// below the root; an inner root with two children at least), each inner
    /// node's smallest start and max-last of every child exact, no poisoned
    /// node, and the entry count. Throws the first violation found. The caller
    /// serialises the writers, so that the count and the nodes agree.
    /// - Complexity: O(n); opens one read-side section.
    package func validateSerialized() throws(InvariantViolation) {
        let failure: String? = RCU.read {
            guard let top = root.dereference() else {
                return count == 0 ? nil : "empty tree but count says \(count)"
            }
            if top.isLeaf && top.count == 0 { return "the root is an empty leaf" }
            if !top.isLeaf && top.count < 2 { return "inner root with \(top.count) child" }
            var visited = 0
            var previous: IntervalTreeEntry?
            if let message = Self.check(top, isRoot: true, visited: &visited, previous: &previous).failure { return message }
            let expected = count
            if visited != expected { return "tree holds \(visited) entries but count says \(expected)" }
            return nil
        }
        if let failure { throw InvariantViolation(description: failure) }
    }

    private static func check(
        _ node: IntervalTreeNodePointer, isRoot: Bool, visited: inout Int, previous: inout IntervalTreeEntry?
    ) -> (minimumStart: UInt64, maximumLast: UInt64, failure: String?) {
        let count = node.count, level = Int(node.pointee.level)
        // Built only on failure: a validation of a million entries in a debug build stays quick.
        var here: String { "node at level \(level) with \(count) entries" }
        if count > IntervalTreeLayout.fanout { return (0, 0, "\(here): more than the fan-out") }
        // A leaf's fill counts the entries not removed in place.
        if !isRoot && node.liveCount < IntervalTreeLayout.minimumFill { return (0, 0, "\(here): below the minimum fill") }
        if count == 0 { return (0, 0, "\(here): empty") }
        // The writer counts the starts below a key over the whole array (`firstStart`):
        // sorted, entries removed in place included, and the unused ones padded.
        for index in 0..<IntervalTreeLayout.fanout {
            let start = node.starts[index]
            if index >= count ? start != .max : index > 0 && start < node.starts[index - 1] {
                return (0, 0, "\(here): start \(index) is \(start) (not sorted, or an unused one not padded)")
            }
        }
        var maximum: UInt64 = 0
        if node.isLeaf {
            var removed = 0
            for index in 0..<count {
                let start = node.starts[index], last = node.lasts[index], value = node.slots[index]
                if start == IntervalTreeReclaimQueue.poisonStart {
                    return (0, 0, "\(here): entry \(index) [\(start), \(last)] poisoned")
                }
                if start > last {
                    // Removed in place: last 0, never the first entry, never one starting at 0.
                    if last != 0 || index == 0 || node.pointee.removedCount == 0 {
                        return (0, 0, "\(here): entry \(index) [\(start), \(last)] corrupt (not a removal in place)")
                    }
                    removed += 1
                    continue
                }
                if let previous, IntervalTreeWriter.compare(previous, start: start, last: last, value: value) > 0 {
                    return (0, 0, "\(here): [\(start), \(last)]#\(value) out of order after \(previous)")
                }
                previous = IntervalTreeEntry(start: start, last: last, value: UInt(truncatingIfNeeded: value))
                visited += 1
                maximum = max(maximum, last)
            }
            if removed != node.pointee.removedCount {
                return (0, 0, "\(here): \(removed) entries removed in place, but its count says \(node.pointee.removedCount)")
            }
            return (node.starts[0], maximum, nil)
        }
        for index in 0..<count {
            let child = IntervalTreeWriter.childProtected(node, index)
            if Int(child.pointee.level) != level - 1 {
                return (0, 0, "\(here): child \(index) at level \(child.pointee.level), leaves at different depths")
            }
            let result = check(child, isRoot: false, visited: &visited, previous: &previous)
            if result.failure != nil { return result }
            if node.starts[index] != result.minimumStart {
                return (0, 0, "\(here): child \(index) smallest start \(node.starts[index]), expected \(result.minimumStart)")
            }
            if node.lasts[index] != result.maximumLast {
                return (0, 0, "\(here): child \(index) max-last \(node.lasts[index]), expected \(result.maximumLast)")
            }
            maximum = max(maximum, result.maximumLast)
        }
        return (node.starts[0], maximum, nil)
    }
}

extension IntervalTreeStorage {
    /// Levels of the tree (0 when empty, 1 for a lone leaf); the caller
    /// serialises the writers. For tests and diagnostics.
    package var heightSerialized: Int {
        guard let top = writer.pointee.root else { return 0 }
        return Int(top.pointee.level) + 1
    }
}
