extension IntervalTreeStorage {
    /// Replaces one entry equal to `old` with `new` in a single publication:
    /// a reader walking the tree meanwhile sees either the tree with `old` or
    /// the tree with `new`, never one with neither (``AddressSpace/update(_:start:length:)``).
    /// Without the writer lock: the caller serialises all writers.
    /// - Returns: false (and changes nothing) if no entry equals `old`.
    /// - Complexity: O(log_B n): both updates copy their paths to the root, and
    ///   the root is published once.
    package func replaceSerialized(_ old: IntervalTreeEntry, with new: IntervalTreeEntry) -> Bool {
        let opened = beginBatchSerialized()
        defer { if opened { endBatchSerialized() } }
        guard removeSerialized(old) else { return false }
        insertSerialized(new)
        return true
    }

    /// Opens a batch: the inserts and removes until ``endBatchSerialized()``
    /// are published together, with one releasing store of the root, so a
    /// reader sees the tree before all of them or after all of them. Returns
    /// false (and the caller must not end it) if a batch is already open.
    /// The caller serialises the writers.
    @discardableResult
    package func beginBatchSerialized() -> Bool {
        guard !writer.pointee.inBatch else { return false }
        writer.pointee.inBatch = true
        return true
    }

    /// Publishes the batch opened by ``beginBatchSerialized()``.
    package func endBatchSerialized() {
        let w = writer
        if _slowPath(!w.pointee.inBatch) { fatalError("endBatchSerialized without beginBatchSerialized") }
        w.pointee.inBatch = false
        if w.pointee.root != root.loadProtected() { publishRoot() }
        finishUpdate()
    }
}
