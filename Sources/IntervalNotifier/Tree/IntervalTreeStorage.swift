import CURCU
import Synchronization

/// The storage of an RCU interval tree of closed intervals `[start, last]` over
/// `UInt64`: readers query it without a lock, under userspace RCU; writers must be
/// serialised by the caller (the engine's registry lock, or the lock of the
/// self-locking ``RCUIntervalTree``). It holds no lock of its own.
///
/// Overlapping intervals and exact duplicates are allowed. Each node carries the
/// largest `last` of its subtree, so queries prune whole subtrees.
///
/// ## Design
/// A wide-node B+tree (see ``IntervalTreeLayout`` and the TreeDesign article):
/// leaves hold entries in key order, inner nodes each child's smallest start and
/// largest last, so a query prunes whole subtrees. A remove inside a leaf sets
/// the entry's `last` to 0 in the published leaf (one atomic store; readers
/// skip it, the leaf's next copy drops it). Any other update copies the leaf it
/// changes and only those ancestors whose words for it change other than its
/// address and max-last, publishes with one releasing store (a child address
/// in place, or the root), and raises or lowers max-lasts in place in the order
/// that keeps every reader's pruning safe. Replaced nodes are retired in
/// batches through `call_rcu` and reused once a grace period has passed.
///
/// - Readers: ``snapshot()`` inside an RCU read-side section, or
///   ``snapshotProtected()`` while holding the writers' serialisation.
/// - Writers: ``insertSerialized(_:)`` and ``removeSerialized(_:)``, one at a time.
@usableFromInline
package final class IntervalTreeStorage: @unchecked Sendable {
    @usableFromInline let root = RCUPointer<IntervalTreeNode>()
    /// 1 while readers scan nodes with vector compares, 0 while word by word
    /// (``IntervalTreeNodeScan``). Next to `root`, whose line every lookup
    /// reads anyway: the writer stores it only when the scan changes.
    @usableFromInline let vectorScan: Atomic<UInt8>
    /// When readers use the vector scan.
    let scanPolicy: IntervalTreeScanPolicy
    /// Entry count, readable without the writers' serialisation. On a line
    /// of its own: the writer stores it at every update, and next to `root`,
    /// which every lookup reads, it cost lookups with a concurrent writer
    /// about a fifth of their time (see ``CacheLineAllocation``).
    let entryCount: UnsafeMutablePointer<Atomic<Int>>
    let writer: UnsafeMutablePointer<IntervalTreeWriter>
    let reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    /// When replaced nodes are reused, and so how readers must be protected.
    @usableFromInline package let reclamation: IntervalTreeReclamation

    /// Creates an empty tree.
    ///
    /// - Parameters:
    ///   - reclaimBatchSize: retired nodes gathered before one `call_rcu` batch is
    ///     queued (more: fewer grace-period callbacks, more memory in flight).
    ///   - poisonReclaimedNodes: overwrite nodes when their grace period ends, so
    ///     tests can detect a reader that still sees one. Costs a write per node.
    ///   - reclamation: `.rcu(.memb)` (default) for readers in ``RCU`` read-side
    ///     sections; `.rcu(.qsbr)` for ``RCU/QSBR`` readers; `.immediate` when every
    ///     reader holds a lock that excludes updates (then query
    ///     ``snapshotProtected()`` under that lock).
    ///   - scanPolicy: when readers scan nodes with vector compares.
    package init(reclaimBatchSize: Int = 1024, poisonReclaimedNodes: Bool = false,
                reclamation: IntervalTreeReclamation = .rcu(.memb), scanPolicy: IntervalTreeScanPolicy = .automatic) {
        self.reclamation = reclamation
        self.scanPolicy = scanPolicy
        vectorScan = Atomic(scanPolicy.usesVectorScan(count: 0, vector: true) ? 1 : 0)
        entryCount = CacheLineAllocation.allocate(Atomic<Int>.self)
        entryCount.initialize(to: Atomic(0))
        // The writer's state and the reclaim queue change at every update and
        // every grace period: lines of their own, away from what readers read.
        reclaimQueue = CacheLineAllocation.allocate(IntervalTreeReclaimQueue.self)
        reclaimQueue.initialize(to: IntervalTreeReclaimQueue(poisonReclaimedNodes: poisonReclaimedNodes))
        writer = CacheLineAllocation.allocate(IntervalTreeWriter.self)
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
        // Read by `count` only, which nobody can call any more.
        entryCount.deinitialize(count: 1)
        entryCount.deallocate()
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
    package func snapshot() -> IntervalTreeSnapshot {
        // Relaxed: either scan answers the same, so a stale choice is harmless.
        IntervalTreeSnapshot(root: root.dereference(), vectorScan: vectorScan.load(ordering: .relaxed) != 0)
    }

    /// The tree as of now, read on the update side: valid while the caller keeps
    /// writers out (holds the serialisation that `insertSerialized` needs, or
    /// otherwise knows that no update retires nodes) (`rcu_dereference_protected`).
    package func snapshotProtected() -> IntervalTreeSnapshot {
        // Relaxed: see `snapshot()`.
        IntervalTreeSnapshot(root: root.loadProtected(), vectorScan: vectorScan.load(ordering: .relaxed) != 0)
    }

    /// Number of entries.
    package var count: Int {
        // Relaxed: a statistic that may be stale by the time it is used.
        entryCount.pointee.load(ordering: .relaxed)
    }

    /// Whether the tree holds no entry.
    package var isEmpty: Bool { count == 0 }

    // MARK: Writing

    /// Inserts `entry` (duplicates allowed); the caller serialises all writers.
    /// - Complexity: O(log_B n); copies one leaf, plus its ancestors only when
    ///   their keys change or a node splits.
    ///
    /// With `next`, the descent also walks the path of the caller's next
    /// update, `next`, and prefetches it: that update's descent then finds
    /// its nodes in cache instead of waiting for one miss per level.
    package func insertSerialized(_ entry: IntervalTreeEntry, prefetchingPathOf next: IntervalTreeEntry? = nil) {
        let w = writer
        if w.pointee.insert(entry, prefetchingPathOf: next) { publishRoot() }
        finishUpdate()
    }

    /// Removes one entry equal to `entry`; returns false if there is none. The
    /// caller serialises all writers. `next`: as for ``insertSerialized(_:prefetchingPathOf:)``.
    /// - Complexity: O(log n).
    package func removeSerialized(_ entry: IntervalTreeEntry, prefetchingPathOf next: IntervalTreeEntry? = nil) -> Bool {
        guard let rootChanged = writer.pointee.remove(entry, prefetchingPathOf: next) else { return false }
        if rootChanged { publishRoot() }
        finishUpdate()
        return true
    }

    /// Publishes the writer's root (outside a batch), with the test hook around it.
    func publishRoot() {
        let w = writer
        guard !w.pointee.inBatch else { return }
        w.pointee.publicationHook?(.beforePublication)
        root.publish(w.pointee.root)
        w.pointee.publicationHook?(.afterPublication)
    }

    /// Ends an update (outside a batch): the count readers see, the generation,
    /// the reclamation batch.
    func finishUpdate() {
        let w = writer
        guard !w.pointee.inBatch else { return }
        let count = w.pointee.count
        // Relaxed: see `count`.
        entryCount.pointee.store(count, ordering: .relaxed)
        w.pointee.finishUpdate()
        // Relaxed, load and store: only this serialised writer stores it, and
        // readers may use either scan (see `snapshot()`).
        let vector = vectorScan.load(ordering: .relaxed) != 0
        if scanPolicy.usesVectorScan(count: count, vector: vector) != vector {
            vectorScan.store(vector ? 0 : 1, ordering: .relaxed)
        }
    }

    /// Whether readers now scan nodes with vector compares (``IntervalTreeNodeScan``).
    package var scansWithVectors: Bool { vectorScan.load(ordering: .relaxed) != 0 }

    /// Tests only: `hook` runs around every publication of an update outside a
    /// batch, on the writer's thread with the writers' serialisation held (nil
    /// removes it). The caller serialises the writers.
    package func setPublicationHookForTesting(_ hook: ((IntervalTreePublicationPhase) -> Void)?) {
        writer.pointee.publicationHook = hook
    }

    /// Tests only: `hook` runs whenever the writer lines up free nodes to hand
    /// out (a batch back from its grace period, or a new slab), with their
    /// addresses, on the writer's thread with the writers' serialisation held
    /// (nil removes it). The caller serialises the writers.
    package func setRefillHookForTesting(_ hook: (([UInt]) -> Void)?) {
        writer.pointee.refillHook = hook
    }

    // MARK: Reclamation

    /// Memory statistics of the tree.
    package struct MemoryStatistics: Sendable, Equatable {
        /// Nodes retired by updates so far.
        package var retiredNodes: Int
        /// Retired nodes whose grace period has ended and that are reusable.
        package var reclaimedNodes: Int
        /// Nodes allocated from the system (``nodeBytes`` each).
        package var allocatedNodes: Int
        /// Entries in the tree.
        package var entries: Int
        /// Slabs that are 2 MiB mapped regions (see ``IntervalTreeSlab``).
        package var mappedSlabs: Int = 0
        /// Bytes per node.
        package var nodeBytes: Int { IntervalTreeLayout.nodeBytes }
    }

    /// Current memory statistics; the caller serialises the writers.
    package var memoryStatisticsSerialized: MemoryStatistics {
        MemoryStatistics(
            retiredNodes: writer.pointee.retiredTotal,
            // Relaxed: callers that need an exact figure call
            // `waitForReclamation()` first, whose barrier orders it.
            reclaimedNodes: reclaimQueue.pointee.reclaimedNodes.load(ordering: .relaxed),
            allocatedNodes: writer.pointee.capacity,
            entries: writer.pointee.count,
            mappedSlabs: writer.pointee.slabs.reduce(0) { $0 + ($1.isMapped ? 1 : 0) })
    }

    /// Queues every retired node for reclamation now instead of waiting for a
    /// full batch; the caller serialises the writers.
    package func flushRetiredSerialized() {
        writer.pointee.flushRetired()
    }

    /// Waits until every grace period that the batches queued so far need has
    /// ended (an `rcu_barrier`); flushes nothing (see ``flushRetiredSerialized()``).
    /// - Precondition: not inside a read-side section.
    package func waitForQueuedReclamation() {
        if case .rcu(let flavor) = reclamation { RCUCallbackQueue.queue(for: flavor).barrier() }
    }
}

/// The memory of a destroyed tree, freed by a last RCU callback when the tree
/// was destroyed on the callback thread (see `IntervalTreeStorage.deinit`).
struct IntervalTreeCleanup {
    /// Must stay the first stored property: the callback casts its address back.
    var head = rcu_head()
    var writer: UnsafeMutablePointer<IntervalTreeWriter>
    var reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>

    /// Frees every slab and the writer and reclaimer records.
    static func free(writer: UnsafeMutablePointer<IntervalTreeWriter>, reclaimQueue: UnsafeMutablePointer<IntervalTreeReclaimQueue>) {
        for slab in writer.pointee.slabs { slab.free() }
        writer.pointee.deallocateBuffers()
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
