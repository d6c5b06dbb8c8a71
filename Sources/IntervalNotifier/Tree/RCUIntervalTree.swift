import CURCU
import Synchronization

/// An interval tree of closed intervals `[start, last]` over `UInt64` that
/// readers query without a lock, under userspace RCU.
///
/// Overlapping intervals and exact duplicates are allowed. Each node carries the
/// largest `last` of its subtree, so queries prune whole subtrees.
///
/// ## Design
/// A persistent (path-copying) AVL tree in the style of the Bonsai tree: an update
/// copies the O(log n) nodes on its path, rebalances the copies, and publishes the
/// new root with one release store. Readers load the root with an acquiring load
/// inside an RCU read-side section and walk immutable nodes, so they always see a
/// complete tree as of one instant. Replaced nodes are retired in batches through
/// `call_rcu` and reused once a grace period has passed. See the README's design
/// note for the costs.
///
/// - Readers: ``snapshot()`` inside ``RCU/read(_:)``, or the convenience queries
///   that open their own read-side section. No lock, no allocation, no ARC.
/// - Writers: ``insert(_:)`` and ``remove(_:)`` are serialised by an internal lock.
public final class RCUIntervalTree: @unchecked Sendable {
    @usableFromInline let root = RCUPointer<IntervalTreeNode>()
    /// Entry count, readable without the writer lock.
    let entryCount = Atomic<Int>(0)
    let writer: UnsafeMutablePointer<IntervalTreeWriter>
    let reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    let writerLock = PThreadMutex()
    /// When replaced nodes are reused, and so how readers must be protected.
    public let reclamation: IntervalTreeReclamation

    /// Creates an empty tree.
    ///
    /// - Parameters:
    ///   - reclaimBatchSize: retired nodes gathered before one `call_rcu` batch is
    ///     queued (more: fewer grace-period callbacks, more memory in flight).
    ///   - poisonReclaimedNodes: overwrite nodes when their grace period ends, so
    ///     tests can detect a reader that still sees one. Costs a write per node.
    ///   - reclamation: `.rcu(.memb)` (default) for readers in ``RCU`` read-side
    ///     sections; `.rcu(.qsbr)` for ``RCU/QSBR`` readers; `.immediate` when every
    ///     reader holds a lock that excludes updates (then the convenience queries
    ///     of this class must not be used: query ``snapshotProtected()`` under that lock).
    public init(reclaimBatchSize: Int = 1024, poisonReclaimedNodes: Bool = false,
                reclamation: IntervalTreeReclamation = .rcu(.memb)) {
        self.reclamation = reclamation
        reclaimQueue = .allocate(capacity: 1)
        reclaimQueue.initialize(to: IntervalTreeReclaimQueue(poisonReclaimedNodes: poisonReclaimedNodes))
        writer = .allocate(capacity: 1)
        writer.initialize(to: IntervalTreeWriter(queue: reclaimQueue, batchThreshold: reclaimBatchSize, reclamation: reclamation))
    }

    deinit {
        // No reader can hold a snapshot of a tree nobody references. Hand the last
        // retired nodes over, then free the slabs from one more RCU callback,
        // which runs after every callback queued before it (so after every
        // batch of this tree). Not a barrier: the last reference may be dropped
        // by an RCU callback (an engine release callback, say), where a barrier
        // would wait for itself, and a barrier per destroyed tree would make
        // dropping an address space cost a grace period.
        writer.pointee.flushRetired()
        let writer = self.writer, reclaimQueue = self.reclaimQueue
        guard case .rcu(let flavor) = reclamation else {
            // Nothing in flight: every replaced node went back to the free list.
            IntervalTreeCleanup.free(writer: writer, reclaimQueue: reclaimQueue)
            return
        }
        let cleanup = UnsafeMutablePointer<IntervalTreeCleanup>.allocate(capacity: 1)
        cleanup.initialize(to: IntervalTreeCleanup(writer: writer, reclaimQueue: reclaimQueue))
        RCUCallbackQueue.queue(for: flavor).enqueue(UnsafeMutableRawPointer(cleanup).assumingMemoryBound(to: rcu_head.self), intervalTreeCleanup)
    }

    // MARK: Reading

    /// The tree as of now. - Precondition: the caller is inside an RCU read-side
    /// section, and uses the snapshot only until that section ends.
    @inlinable @inline(__always)
    public func snapshot() -> IntervalTreeSnapshot {
        IntervalTreeSnapshot(root: root.dereference())
    }

    /// The tree as of now, read on the update side: valid while the caller keeps
    /// writers out (holds the serialisation that `insertSerialized` needs, or
    /// otherwise knows that no update retires nodes) (`rcu_dereference_protected`).
    package func snapshotProtected() -> IntervalTreeSnapshot {
        IntervalTreeSnapshot(root: root.loadProtected())
    }

    /// The overlapping entry with the lowest key (opens its own read-side section).
    /// - Complexity: O(log n).
    @inlinable
    public func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        withReadSection { snapshot().firstOverlapping(start: start, last: last) }
    }

    /// Runs `body` in a read-side section of the tree's flavour.
    /// - Precondition: the tree is not `.immediate` (its readers need the
    ///   updaters' lock, which this class does not know).
    @inlinable @inline(__always)
    func withReadSection<Result>(_ body: () throws -> Result) rethrows -> Result {
        switch reclamation {
        case .rcu(.memb):
            RCU.readLock()
            defer { RCU.readUnlock() }
            return try body()
        case .rcu(.qsbr):
            let wentOnline = RCU.QSBR.enterReadSection()
            defer { RCU.QSBR.exitReadSection(wentOnline) }
            return try body()
        case .immediate:
            preconditionFailure("lock-free queries on a tree with immediate reclamation: query snapshotProtected() under the updaters' lock")
        }
    }

    /// Calls `body` for every entry overlapping `[start, last]` until it returns
    /// false, inside one read-side section; returns false if `body` stopped.
    /// `body` must not wait for a grace period.
    /// - Complexity: O(log n + k).
    @inlinable
    @discardableResult
    public func forEachOverlapping(start: UInt64, last: UInt64, _ body: (IntervalTreeEntry) throws -> Bool) rethrows -> Bool {
        try withReadSection { try snapshot().forEachOverlapping(start: start, last: last, body) }
    }

    /// Number of entries containing `point` (opens its own read-side section).
    @inlinable
    public func countContaining(_ point: UInt64) -> Int {
        withReadSection { snapshot().countOverlapping(start: point, last: point) }
    }

    /// Every entry in key order (allocates; for tests and diagnostics).
    public func allEntries() -> [IntervalTreeEntry] {
        if case .immediate = reclamation { return writerLock.withLock { snapshotProtected().allEntries() } }
        return withReadSection { snapshot().allEntries() }
    }

    /// Number of entries.
    public var count: Int {
        // Relaxed: a statistic that may be stale by the time it is used.
        entryCount.load(ordering: .relaxed)
    }

    /// Whether the tree holds no entry.
    public var isEmpty: Bool { count == 0 }

    // MARK: Writing

    /// Inserts `entry` (duplicates allowed).
    /// - Complexity: O(log n): copies the nodes on one root-to-leaf path.
    public func insert(_ entry: IntervalTreeEntry) {
        writerLock.withLock { insertSerialized(entry) }
    }

    /// Removes one entry equal to `entry`; returns false if there is none.
    /// - Complexity: O(log n).
    @discardableResult
    public func remove(_ entry: IntervalTreeEntry) -> Bool {
        writerLock.withLock { removeSerialized(entry) }
    }

    /// Inserts without taking the writer lock: the caller serialises all writers.
    package func insertSerialized(_ entry: IntervalTreeEntry) {
        let w = writer
        let leaf = w.pointee.makeLeaf(entry)
        let newRoot = w.pointee.insert(leaf, into: root.loadProtected())
        root.publish(newRoot)
        w.pointee.count += 1
        // Relaxed: see `count`.
        entryCount.store(w.pointee.count, ordering: .relaxed)
        w.pointee.finishUpdate()
    }

    /// Removes without taking the writer lock: the caller serialises all writers.
    package func removeSerialized(_ entry: IntervalTreeEntry) -> Bool {
        let w = writer
        var found = false
        let newRoot = w.pointee.remove(entry, from: root.loadProtected(), found: &found)
        guard found else { return false }
        root.publish(newRoot)
        w.pointee.count -= 1
        // Relaxed: see `count`.
        entryCount.store(w.pointee.count, ordering: .relaxed)
        w.pointee.finishUpdate()
        return true
    }

    // MARK: Reclamation

    /// Memory statistics of the tree.
    public struct MemoryStatistics: Sendable, Equatable {
        /// Nodes retired by updates so far.
        public var retiredNodes: Int
        /// Retired nodes whose grace period has ended and that are reusable.
        public var reclaimedNodes: Int
        /// Nodes allocated from the system (64 bytes each).
        public var allocatedNodes: Int
        /// Entries in the tree.
        public var entries: Int
    }

    /// Current memory statistics (takes the writer lock).
    public var memoryStatistics: MemoryStatistics {
        writerLock.withLock {
            MemoryStatistics(
                retiredNodes: writer.pointee.retiredTotal,
                // Relaxed: callers that need an exact figure call
                // `waitForReclamation()` first, whose barrier orders it.
                reclaimedNodes: reclaimQueue.pointee.reclaimedNodes.load(ordering: .relaxed),
                allocatedNodes: writer.pointee.capacity,
                entries: writer.pointee.count)
        }
    }

    /// Queues every retired node for reclamation now instead of waiting for a
    /// full batch.
    public func flushRetired() {
        writerLock.withLock { writer.pointee.flushRetired() }
    }

    /// Flushes retired nodes and waits until every grace period they need has
    /// ended (an `rcu_barrier`). - Precondition: not inside a read-side section.
    public func waitForReclamation() {
        flushRetired()
        if case .rcu(let flavor) = reclamation { RCUCallbackQueue.queue(for: flavor).barrier() }
    }
}

/// The memory of a destroyed tree, freed by a last RCU callback when the tree
/// was destroyed on the callback thread (see `RCUIntervalTree.deinit`).
struct IntervalTreeCleanup {
    /// Must stay the first stored property: the callback casts its address back.
    var head = rcu_head()
    var writer: UnsafeMutablePointer<IntervalTreeWriter>
    var reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>

    /// Frees every slab and the writer and reclaimer records.
    static func free(writer: UnsafeMutablePointer<IntervalTreeWriter>, reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>) {
        for slab in writer.pointee.slabs { slab.deallocate() }
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.treeSlabs.subtract(writer.pointee.slabs.count, ordering: .relaxed)
        writer.deinitialize(count: 1)
        writer.deallocate()
        reclaimQueue.deinitialize(count: 1)
        reclaimQueue.deallocate()
    }
}

/// RCU callback freeing a destroyed tree's memory.
let intervalTreeCleanup: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void = { head in
    let cleanup = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: IntervalTreeCleanup.self)
    IntervalTreeCleanup.free(writer: cleanup.pointee.writer, reclaimQueue: cleanup.pointee.reclaimQueue)
    cleanup.deinitialize(count: 1)
    cleanup.deallocate()
}
