/// An ``IntervalTreeStorage`` with its own writer lock: the self-locking
/// convenience form of the tree, for tests and benchmarks (the engine holds the
/// storage and serialises writers with its registry lock).
///
/// - Readers: ``snapshot()`` inside an RCU read-side section, or the convenience
///   queries that open their own read-side section. No lock, no allocation, no ARC.
/// - Writers: ``insert(_:)`` and ``remove(_:)`` are serialised by the writer lock.
@usableFromInline
package final class RCUIntervalTree: @unchecked Sendable {
    /// The tree itself.
    @usableFromInline package let storage: IntervalTreeStorage
    /// Serialises writers (and the statistics that must agree with them).
    let writerLock = PThreadMutex()

    /// Creates an empty tree; see ``IntervalTreeStorage/init(reclaimBatchSize:poisonReclaimedNodes:reclamation:scanPolicy:)``.
    /// With `.immediate` reclamation the convenience queries must not be used:
    /// query ``snapshotProtected()`` under a lock that excludes updates.
    package init(reclaimBatchSize: Int = 1024, poisonReclaimedNodes: Bool = false,
                 reclamation: IntervalTreeReclamation = .rcu(.memb), scanPolicy: IntervalTreeScanPolicy = .automatic) {
        storage = IntervalTreeStorage(
            reclaimBatchSize: reclaimBatchSize, poisonReclaimedNodes: poisonReclaimedNodes, reclamation: reclamation,
            scanPolicy: scanPolicy)
    }

    /// When replaced nodes are reused, and so how readers must be protected.
    @inlinable package var reclamation: IntervalTreeReclamation { storage.reclamation }

    // MARK: Reading

    /// The tree as of now. - Precondition: the caller is inside an RCU read-side
    /// section, and uses the snapshot only until that section ends.
    @inlinable @inline(__always)
    package func snapshot() -> IntervalTreeSnapshot {
        storage.snapshot()
    }

    /// The tree as of now, read on the update side (see
    /// ``IntervalTreeStorage/snapshotProtected()``).
    package func snapshotProtected() -> IntervalTreeSnapshot {
        storage.snapshotProtected()
    }

    /// The overlapping entry with the lowest key (opens its own read-side section).
    /// - Complexity: O(log_B n).
    @inlinable
    package func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        withReadSection { snapshot().firstOverlapping(start: start, last: last) }
    }

    /// Runs `body` in a read-side section of the tree's flavour.
    /// - Precondition: the tree is not `.immediate` (its readers need the
    ///   updaters' lock, which this class does not know).
    @inlinable @inline(__always)
    func withReadSection<Result>(_ body: () throws -> Result) rethrows -> Result {
        switch reclamation {
        case .rcu(let flavor):
            let wentOnline = flavor.enterReadSection()
            defer { flavor.exitReadSection(wentOnline) }
            return try body()
        case .immediate:
            preconditionFailure("lock-free queries on a tree with immediate reclamation: query snapshotProtected() under the updaters' lock")
        }
    }

    /// Calls `body` for every entry overlapping `[start, last]` until it returns
    /// false, inside one read-side section; returns false if `body` stopped.
    /// `body` must not wait for a grace period.
    /// - Complexity: O(log_B n + k).
    @inlinable
    @discardableResult
    package func forEachOverlapping(start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool) rethrows -> Bool {
        try withReadSection { try snapshot().forEachOverlapping(start: start, last: last, body) }
    }

    /// Number of entries containing `point` (opens its own read-side section).
    @inlinable
    package func countContaining(_ point: UInt64) -> Int {
        withReadSection { snapshot().countOverlapping(start: point, last: point) }
    }

    /// Every entry in key order (allocates; for tests and diagnostics).
    package func allEntries() -> [IntervalTreeEntry] {
        if case .immediate = reclamation { return writerLock.withLock { snapshotProtected().allEntries() } }
        return withReadSection { snapshot().allEntries() }
    }

    /// Number of entries.
    package var count: Int { storage.count }

    /// Whether the tree holds no entry.
    package var isEmpty: Bool { storage.isEmpty }

    // MARK: Writing

    /// Inserts `entry` (duplicates allowed).
    /// - Complexity: O(log_B n): copies one leaf, and its ancestors only where
    ///   their keys change or a node splits.
    package func insert(_ entry: IntervalTreeEntry) {
        writerLock.withLock { storage.insertSerialized(entry) }
    }

    /// Removes one entry equal to `entry`; returns false if there is none.
    /// - Complexity: O(log_B n).
    @discardableResult
    package func remove(_ entry: IntervalTreeEntry) -> Bool {
        writerLock.withLock { storage.removeSerialized(entry) }
    }

    /// Removes one entry equal to `old`, then inserts `new`: two updates, each
    /// published on its own (a reader between them sees neither entry), as
    /// ``remove(_:)`` then ``insert(_:)`` under one hold of the writer lock;
    /// the remove's descent walks the insert's path beside its own, so the two
    /// descents' misses overlap (see `IntervalTreeWriter.descend(to:prefetchingPathOf:)`).
    /// - Returns: false (and inserts nothing) if no entry equals `old`.
    /// - Complexity: O(log_B n).
    @discardableResult
    package func remove(_ old: IntervalTreeEntry, thenInsert new: IntervalTreeEntry) -> Bool {
        writerLock.withLock { storage.removeThenInsertSerialized(old, new) }
    }

    /// ``remove(_:thenInsert:)`` without the writer lock, as the engine updates
    /// its storage (under its registry lock instead).
    /// - Precondition: no other thread updates the tree meanwhile.
    @discardableResult
    package func removeAsOnlyWriter(_ old: IntervalTreeEntry, thenInsert new: IntervalTreeEntry) -> Bool {
        storage.removeThenInsertSerialized(old, new)
    }

    // MARK: Reclamation and checks

    /// Memory statistics of a tree.
    package typealias MemoryStatistics = IntervalTreeStorage.MemoryStatistics

    /// Current memory statistics (takes the writer lock).
    package var memoryStatistics: MemoryStatistics {
        writerLock.withLock { storage.memoryStatisticsSerialized }
    }

    /// Queues every retired node for reclamation now instead of waiting for a
    /// full batch.
    package func flushRetired() {
        writerLock.withLock { storage.flushRetiredSerialized() }
    }

    /// Flushes retired nodes and waits until every grace period they need has
    /// ended (an `rcu_barrier`). - Precondition: not inside a read-side section.
    package func waitForReclamation() {
        flushRetired()
        storage.waitForQueuedReclamation()
    }

    /// A broken invariant found by ``validate()``.
    package typealias InvariantViolation = IntervalTreeStorage.InvariantViolation

    /// Checks every structural invariant (see
    /// ``IntervalTreeStorage/validateSerialized()``); takes the writer lock, so
    /// that the count and the nodes agree.
    package func validate() throws(InvariantViolation) {
        writerLock.lock()
        defer { writerLock.unlock() }
        try storage.validateSerialized()
    }
}
