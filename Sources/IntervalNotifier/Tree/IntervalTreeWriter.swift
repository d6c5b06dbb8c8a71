import CNotifierCore
import CURCU

/// When a test's publication hook runs (see ``IntervalTreeStorage/setPublicationHookForTesting(_:)``).
package enum IntervalTreePublicationPhase: Sendable {
    /// Just before the store that publishes an update (max-lasts already raised).
    case beforePublication
    /// Just after it (max-lasts not yet lowered).
    case afterPublication
}

/// The update side of the interval B+tree: node memory (slabs, free list,
/// retirement through call_rcu) and the state the copy-on-write algorithms share
/// (see `IntervalTreeWriter+Update.swift`). Lives in manually allocated memory
/// owned by the storage; every method requires the writers' serialisation.
struct IntervalTreeWriter {
    /// Number of the update in progress; nodes stamped with it are private.
    var generation: UInt64 = 1
    /// Entries in the tree.
    var count = 0
    /// The root as the writer sees it: the published one, or inside a batch the
    /// private one that ``IntervalTreeStorage`` publishes at the batch's end.
    var root: IntervalTreeNodePointer?
    /// Whether a batch is open: every update copies its whole path and nothing
    /// is published until the batch ends (one release store for all of it).
    var inBatch = false
    /// Free nodes that are already warm, linked through `link`, handed out
    /// first: nodes of the current update freed before it was published, nodes
    /// retired under `.immediate` reclamation, and fresh slab nodes.
    var freeList: IntervalTreeNodePointer?
    /// Batches back from their grace period whose nodes are being handed out,
    /// linked through `next`, the batches back last first (see ``refill()``);
    /// nodes are taken from the end of the first one's array (`reusingCount`
    /// of them left, the nodes retired last first), without touching them.
    var reusing: UnsafeMutablePointer<IntervalTreeRetiredBatch>?
    var reusingCount = 0
    /// The batch that the current update's replaced nodes are listed in
    /// (`.rcu` reclamation); queued for its grace period once full.
    var retiring: UnsafeMutablePointer<IntervalTreeRetiredBatch>?
    /// Full batches waiting for the end of the update to be queued (a batch
    /// must not start its grace period before the nodes it lists are unlinked),
    /// linked through `next`.
    var retiredFull: UnsafeMutablePointer<IntervalTreeRetiredBatch>?
    /// Empty batch records, linked through `next`: after the first few batches
    /// no update allocates.
    var spareBatches: UnsafeMutablePointer<IntervalTreeRetiredBatch>?
    /// Nodes replaced by the current update under `.immediate` reclamation,
    /// linked through `link`: free once the update is published.
    var retiredFirst: IntervalTreeNodePointer?
    var retiredLast: IntervalTreeNodePointer?
    /// Nodes ever retired (monotonic).
    var retiredTotal = 0
    /// Retired nodes accumulated before one call_rcu batch is queued (the
    /// capacity of every batch record).
    let batchThreshold: Int
    /// Every slab of nodes ever allocated (freed when the tree is destroyed).
    var slabs: [IntervalTreeSlab] = []
    let queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    /// When replaced nodes may be reused.
    let reclamation: IntervalTreeReclamation
    /// The call_rcu queue of `reclamation`'s flavour (nil for `.immediate`),
    /// unretained: the queues are process-wide constants, and a retained
    /// reference cost a retain and a release per batch.
    let callbackQueue: Unmanaged<RCUCallbackQueue>?
    /// The root-to-leaf path of the update in progress: nodes and child slots.
    let pathNodes: UnsafeMutablePointer<IntervalTreeNodePointer>
    let pathSlots: UnsafeMutablePointer<Int>
    /// The path that the last descent walked beside its own for the writer's
    /// next update (`descend(to:prefetchingPathOf:)`): nodes and the child
    /// slots routed there, for `shadowEntry`, valid for the descent of update
    /// `shadowGeneration` (0: none).
    let shadowNodes: UnsafeMutablePointer<IntervalTreeNodePointer>
    let shadowSlots: UnsafeMutablePointer<Int>
    var shadowEntry = IntervalTreeEntry(storedStart: 0, last: 0, value: 0)
    var shadowGeneration: UInt64 = 0
    /// Scratch arrays (two nodes' worth) in which a changed node's words are
    /// gathered before they are written into fresh nodes.
    let scratchStarts: UnsafeMutablePointer<UInt64>
    let scratchLasts: UnsafeMutablePointer<UInt64>
    let scratchSlots: UnsafeMutablePointer<UInt64>
    var scratchCount = 0
    /// Tests only: called around every publication of a single update.
    var publicationHook: ((IntervalTreePublicationPhase) -> Void)?
    /// Tests only: called by ``refill()`` with the addresses of the nodes it
    /// lines up to be handed out next.
    var refillHook: (([UInt]) -> Void)?

    /// Deepest path possible: with at least fanout / 4 >= 2 children per inner
    /// node, 64 levels hold more than 2^64 entries.
    static let maximumDepth = 64
    /// Nodes in the first slab: small, so that a small tree (an address space
    /// with a few subscriptions) costs about two kilobytes.
    static let firstSlabNodes = 4
    /// Nodes in the largest slab; each slab doubles the previous one up to it.
    static let maximumSlabNodes = 256
    /// Nodes allocated from the system so far.
    private(set) var capacity = 0

    init(queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>, batchThreshold: Int, reclamation: IntervalTreeReclamation) {
        self.queue = queue
        self.batchThreshold = max(1, batchThreshold)
        self.reclamation = reclamation
        if case .rcu(let flavor) = reclamation {
            callbackQueue = Unmanaged.passUnretained(RCUCallbackQueue.queue(for: flavor))
        } else {
            callbackQueue = nil
        }
        pathNodes = .allocate(capacity: Self.maximumDepth)
        pathSlots = .allocate(capacity: Self.maximumDepth)
        shadowNodes = .allocate(capacity: Self.maximumDepth)
        shadowSlots = .allocate(capacity: Self.maximumDepth)
        let scratch = 2 * IntervalTreeLayout.fanout + 2
        scratchStarts = .allocate(capacity: scratch)
        scratchLasts = .allocate(capacity: scratch)
        scratchSlots = .allocate(capacity: scratch)
    }

    /// Frees the path and scratch arrays and every batch record (the slabs
    /// are freed by the storage). - Precondition: no batch is in flight.
    func deallocateBuffers() {
        IntervalTreeRetiredBatch.deallocateList(spareBatches)
        IntervalTreeRetiredBatch.deallocateList(reusing)
        IntervalTreeRetiredBatch.deallocateList(retiring)
        IntervalTreeRetiredBatch.deallocateList(retiredFull)
        IntervalTreeRetiredBatch.deallocateList(queue.pointee.takeAllReusable())
        pathNodes.deallocate()
        pathSlots.deallocate()
        shadowNodes.deallocate()
        shadowSlots.deallocate()
        scratchStarts.deallocate()
        scratchLasts.deallocate()
        scratchSlots.deallocate()
    }

    // MARK: Node memory

    /// A private node of the current update at `level`, with no entries.
    @inline(__always)
    mutating func allocateNode(level: Int) -> IntervalTreeNodePointer {
        if _slowPath(freeList == nil && reusingCount == 0) { refill() }
        let node: IntervalTreeNodePointer
        if let free = freeList {
            freeList = free.pointee.link
            node = free
        } else {
            reusingCount &-= 1
            node = reusing.unsafelyUnwrapped.nodes[reusingCount]
        }
        node.pointee = IntervalTreeNode(count: 0, level: Int32(level), generation: generation, link: nil, removedCount: 0)
        // Unused starts hold the largest value (see `firstStart(atLeast:in:)`);
        // a fixed-size fill compiles to a few vector stores.
        let starts = node.starts
        for index in 0..<IntervalTreeLayout.fanout { starts[index] = .max }
        prefetchNextFreeNode()
        return node
    }

    /// Asks for the cache lines of the nodes that ``allocateNode(level:)``
    /// hands out next. Nodes come back from their grace period cold; without
    /// the prefetch every copy stalled on their misses (half the update's
    /// time at 100 000 entries in a profile), and one node ahead was not
    /// enough at 1 000 (the next update comes before the lines do). Issued at
    /// every allocation and at the start of every update. The addresses come
    /// from the batch's array, not from the nodes, so asking waits for no
    /// node (a warm node of the free list needs no prefetch).
    @inline(__always)
    func prefetchNextFreeNode() {
        guard freeList == nil, reusingCount > 0 else { return }
        let nodes = reusing.unsafelyUnwrapped.nodes
        Self.prefetchForWrite(nodes[reusingCount &- 1])
        if reusingCount > 1 { Self.prefetchForWrite(nodes[reusingCount &- 2]) }
        // The array too, two lines ahead: read where it is used, its line
        // missed at every eighth node (a quarter of the insert's samples at
        // 100 000 entries in a profile; 0.96-1.01 of the pair's time with it,
        // median 0.98, six alternated runs).
        if reusingCount > 16 { cnp_prefetch_for_read(nodes + (reusingCount &- 17)) }
    }

    /// Asks for every cache line of `node`, to be written.
    @inline(__always)
    static func prefetchForWrite(_ node: IntervalTreeNodePointer) {
        let raw = UnsafeRawPointer(node)
        var offset = 0
        while offset < IntervalTreeLayout.nodeBytes {
            cnp_prefetch_for_write(raw + offset)
            offset += 64
        }
    }

    /// Finds free nodes (the exhausted batch's record becomes spare): the
    /// batches back from their grace period since the last refill, newest
    /// first, ahead of those already listed; else a new slab.
    ///
    /// Newest first because those nodes were retired last, so they are the
    /// warmest, and because the pool of free nodes only grows: it holds as
    /// many nodes as were ever in flight at once (a slow grace period, the
    /// callback thread descheduled for a few milliseconds, a reader holding
    /// its section), often several times what the update rate needs. Handed
    /// out oldest first, every node of that pool took its turn: at 1 000
    /// entries the writer cycled through 22 500-31 500 distinct nodes
    /// (10-14 MB) per 100 000 update pairs, against 4 900-9 200 newest first;
    /// the batches beyond what the updates need stay at the end of the list,
    /// untouched until a burst needs them. Measured at 100 000 entries, two
    /// trees in one process, their repetitions alternated: newest first took
    /// 0.85-1.08 of the update pair's time (median 0.90 over twelve runs); at
    /// 1 000 and 1 000 000, 0.97-1.05 (TreeDesign, "Newest first").
    @inline(never)
    mutating func refill() {
        if let exhausted = reusing {
            reusing = exhausted.pointee.next
            exhausted.pointee.count = 0
            exhausted.pointee.next = spareBatches
            spareBatches = exhausted
        }
        // The reusable stack is newest first: it goes ahead as it is.
        if let returned = queue.pointee.takeAllReusable() {
            var last = returned
            while let next = last.pointee.next { last = next }
            last.pointee.next = reusing
            reusing = returned
        }
        if let batch = reusing {
            reusingCount = batch.pointee.count
            if let refillHook { refillHook((0..<reusingCount).map { UInt(bitPattern: batch.nodes[$0]) }) }
            return
        }
        let nodeBytes = IntervalTreeLayout.nodeBytes
        // Mapped 2 MiB slabs once the tree's nodes fill 2 MiB (see `IntervalTreeSlab`).
        let mapped = capacity * nodeBytes >= IntervalTreeSlab.mappedBytes ? IntervalTreeSlab.map() : nil
        let block = mapped ?? .allocate(nodes: min(Self.maximumSlabNodes, max(Self.firstSlabNodes, capacity)))
        let count = block.nodes
        let slab = block.address
        slab.initializeMemory(as: UInt8.self, repeating: 0, count: nodeBytes * count)
        slabs.append(block)
        capacity += count
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.treeSlabs.add(1, ordering: .relaxed)
        var next: IntervalTreeNodePointer?
        for index in stride(from: count - 1, through: 0, by: -1) {
            let raw = slab + index * nodeBytes
            // The arrays are plain words; the header is an `IntervalTreeNode`.
            (raw + IntervalTreeLayout.startsOffset).bindMemory(to: UInt64.self, capacity: 3 * IntervalTreeLayout.fanout)
            let node = raw.bindMemory(to: IntervalTreeNode.self, capacity: 1)
            node.initialize(to: IntervalTreeNode(count: 0, level: 0, generation: 0, link: next, removedCount: 0))
            next = node
        }
        freeList = next
        if let refillHook {
            refillHook((0..<count).map { UInt(bitPattern: slab + $0 * nodeBytes) })
        }
    }

    /// Retires a node that readers may still see: it is reused after a grace
    /// period (under `.immediate` reclamation, once the update is published).
    /// A node of the current update was never published: reused at once.
    @inline(__always)
    mutating func retire(_ node: IntervalTreeNodePointer) {
        if node.pointee.generation == generation {
            node.pointee.link = freeList
            freeList = node
            return
        }
        retiredTotal += 1
        guard callbackQueue != nil else {
            node.pointee.link = retiredFirst
            if retiredFirst == nil { retiredLast = node }
            retiredFirst = node
            return
        }
        if _slowPath(retiring == nil || retiring!.pointee.count == batchThreshold) { startBatch() }
        let batch = retiring!
        batch.nodes[batch.pointee.count] = node
        batch.pointee.count &+= 1
    }

    /// Sets a full batch aside for the end of the update, and starts another.
    @inline(never)
    mutating func startBatch() {
        setAsideRetiring()
        if let spare = spareBatches {
            spareBatches = spare.pointee.next
            spare.pointee.next = nil
            retiring = spare
        } else {
            retiring = IntervalTreeRetiredBatch.allocate(capacity: batchThreshold, queue: queue)
        }
    }

    /// Ends an update: advances the generation (all its nodes are now published)
    /// and queues the batches that are full.
    @inline(__always)
    mutating func finishUpdate() {
        generation &+= 1
        guard callbackQueue != nil else {
            // Readers are locked out: the replaced nodes are free once published.
            if let first = retiredFirst, let last = retiredLast {
                last.pointee.link = freeList
                freeList = first
                retiredFirst = nil
                retiredLast = nil
            }
            return
        }
        if let batch = retiring, batch.pointee.count == batchThreshold { setAsideRetiring() }
        if _slowPath(retiredFull != nil) { queueFullBatches() }
    }

    /// Moves the batch being filled, if any, to those waiting to be queued.
    @inline(__always)
    mutating func setAsideRetiring() {
        guard let batch = retiring else { return }
        batch.pointee.next = retiredFull
        retiredFull = batch
        retiring = nil
    }

    /// Hands every retired node to call_rcu, the batch being filled too.
    mutating func flushRetired() {
        guard callbackQueue != nil else { return }
        if let batch = retiring, batch.pointee.count > 0 { setAsideRetiring() }
        queueFullBatches()
    }

    /// Queues each batch set aside for its grace period. Only between updates:
    /// every node a batch lists is unlinked from the published tree.
    @inline(never)
    mutating func queueFullBatches() {
        guard let callbackQueue else { return }
        while let batch = retiredFull {
            retiredFull = batch.pointee.next
            batch.pointee.next = nil
            callbackQueue._withUnsafeGuaranteedRef {
                $0.enqueue(UnsafeMutableRawPointer(batch).assumingMemoryBound(to: rcu_head.self), intervalTreeReclaimBatch)
            }
        }
    }
}
