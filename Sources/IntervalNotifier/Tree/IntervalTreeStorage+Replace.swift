extension IntervalTreeStorage {
    /// Replaces one entry equal to `old` with `new` in a single publication:
    /// a reader walking the tree meanwhile sees either the tree with `old` or
    /// the tree with `new`, never one with neither (``AddressSpace/update(_:start:length:)``).
    /// Without the writer lock: the caller serialises all writers.
    /// - Returns: false (and changes nothing) if no entry equals `old`.
    /// - Complexity: O(log_B n): both updates copy their paths to the root, and
    ///   the root is published once. The remove's descent prefetches the
    ///   insert's path.
    package func replaceSerialized(_ old: IntervalTreeEntry, with new: IntervalTreeEntry) -> Bool {
        let opened = beginBatchSerialized()
        defer { if opened { endBatchSerialized() } }
        return removeThenInsertSerialized(old, new)
    }

    /// Removes one entry equal to `old` and publishes that, then inserts `new`
    /// and publishes that (inside a batch, the batch publishes both): two updates, exactly as ``removeSerialized(_:prefetchingPathOf:)``
    /// and ``insertSerialized(_:prefetchingPathOf:)`` one after the other (a
    /// reader in between sees neither entry), except that the remove's
    /// descent walks `new`'s path beside its own, so that the insert finds its
    /// nodes in cache. The caller serialises all writers.
    /// - Returns: false (and inserts nothing) if no entry equals `old`.
    package func removeThenInsertSerialized(_ old: IntervalTreeEntry, _ new: IntervalTreeEntry) -> Bool {
        guard removeSerialized(old, prefetchingPathOf: new) else { return false }
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
