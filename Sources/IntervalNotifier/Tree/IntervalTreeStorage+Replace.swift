extension IntervalTreeStorage {
    /// Replaces one entry equal to `old` with `new` in a single publication:
    /// a reader walking the tree meanwhile sees either the tree with `old` or
    /// the tree with `new`, never one with neither (``AddressSpace/update(_:start:length:)``).
    /// Without the writer lock: the caller serialises all writers.
    /// - Returns: false (and changes nothing) if no entry equals `old`.
    /// - Complexity: O(log n): the remove and the insert share one generation,
    ///   so nodes the remove copied are changed in place by the insert.
    package func replaceSerialized(_ old: IntervalTreeEntry, with new: IntervalTreeEntry) -> Bool {
        let w = writer
        var found = false
        let withoutOld = w.pointee.remove(old, from: root.loadProtected(), found: &found)
        guard found else { return false }
        let leaf = w.pointee.makeLeaf(new)
        root.publish(w.pointee.insert(leaf, into: withoutOld))
        w.pointee.finishUpdate()
        return true
    }
}
