/// Structural checks of an ``IntervalTreeStorage`` for tests and the stress oracle.
extension IntervalTreeStorage {
    /// A broken invariant found by ``validateSerialized()``.
    package struct InvariantViolation: Error, CustomStringConvertible, Sendable {
        /// What is wrong, with the node's interval.
        package var description: String
    }

    /// Checks every structural invariant on a snapshot: key order, AVL balance and
    /// heights, the subtree maximum of every node, and the entry count.
    /// Throws the first violation found. The caller serialises the writers, so
    /// that the count and the nodes agree.
    /// - Complexity: O(n); opens one read-side section.
    package func validateSerialized() throws(InvariantViolation) {
        let failure: String? = RCU.read {
            var visited = 0
            var previous: IntervalTreeEntry?
            let message = Self.check(root.dereference(), visited: &visited, previous: &previous).failure
            if let message { return message }
            let expected = count
            if visited != expected { return "tree holds \(visited) nodes but count says \(expected)" }
            return nil
        }
        if let failure { throw InvariantViolation(description: failure) }
    }

    private static func check(
        _ node: IntervalTreeNodePointer?, visited: inout Int, previous: inout IntervalTreeEntry?
    ) -> (height: Int, subtreeLast: UInt64?, failure: String?) {
        guard let node else { return (0, nil, nil) }
        let n = node.pointee
        let here = "node [\(n.start), \(n.last)]#\(n.value)"
        if n.start > n.last { return (0, nil, "\(here): start after last (poisoned or corrupt node)") }
        let left = check(n.left, visited: &visited, previous: &previous)
        if left.failure != nil { return left }
        let entry = IntervalTreeEntry(start: n.start, last: n.last, value: n.value)
        if let previous, IntervalTreeWriter.compare(previous, node) > 0 {
            return (0, nil, "\(here): out of order after \(previous)")
        }
        previous = entry
        visited += 1
        let right = check(n.right, visited: &visited, previous: &previous)
        if right.failure != nil { return right }
        let height = 1 + max(left.height, right.height)
        if abs(left.height - right.height) > 1 { return (0, nil, "\(here): unbalanced (\(left.height) vs \(right.height))") }
        if n.height != height { return (0, nil, "\(here): height \(n.height), expected \(height)") }
        let subtreeLast = max(n.last, left.subtreeLast ?? 0, right.subtreeLast ?? 0)
        if n.subtreeLast != subtreeLast { return (0, nil, "\(here): subtree last \(n.subtreeLast), expected \(subtreeLast)") }
        return (height, subtreeLast, nil)
    }
}
