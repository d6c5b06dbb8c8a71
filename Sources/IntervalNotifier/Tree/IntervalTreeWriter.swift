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
    /// Nodes ready for reuse, linked through `link`.
    var freeList: IntervalTreeNodePointer?
    /// Nodes retired by updates but not yet handed to call_rcu.
    var retiredFirst: IntervalTreeNodePointer?
    var retiredLast: IntervalTreeNodePointer?
    var retiredCount = 0
    /// Batch records ready for reuse, linked through `nextSpare` (taken from
    /// the reclaim queue's spare stack when this list runs out).
    var spareBatches: UnsafeMutablePointer<IntervalTreeRetiredBatch>?
    /// Nodes ever retired (monotonic).
    var retiredTotal = 0
    /// Retired nodes accumulated before one call_rcu batch is queued.
    let batchThreshold: Int
    /// Every slab of nodes ever allocated (freed when the tree is destroyed).
    var slabs: [UnsafeMutableRawPointer] = []
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
    /// Scratch arrays (two nodes' worth) in which a changed node's words are
    /// gathered before they are written into fresh nodes.
    let scratchStarts: UnsafeMutablePointer<UInt64>
    let scratchLasts: UnsafeMutablePointer<UInt64>
    let scratchSlots: UnsafeMutablePointer<UInt64>
    var scratchCount = 0
    /// Tests only: called around every publication of a single update.
    var publicationHook: ((IntervalTreePublicationPhase) -> Void)?

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
        let scratch = 2 * IntervalTreeLayout.fanout + 2
        scratchStarts = .allocate(capacity: scratch)
        scratchLasts = .allocate(capacity: scratch)
        scratchSlots = .allocate(capacity: scratch)
    }

    /// Frees the path and scratch arrays and the spare batch records (the slabs
    /// are freed by the storage). - Precondition: no batch is in flight.
    func deallocateBuffers() {
        IntervalTreeRetiredBatch.deallocateList(spareBatches)
        IntervalTreeRetiredBatch.deallocateList(queue.pointee.takeAllSpare())
        pathNodes.deallocate()
        pathSlots.deallocate()
        scratchStarts.deallocate()
        scratchLasts.deallocate()
        scratchSlots.deallocate()
    }

    // MARK: Node memory

    /// A private node of the current update at `level`, with no entries.
    @inline(__always)
    mutating func allocateNode(level: Int) -> IntervalTreeNodePointer {
        if _slowPath(freeList == nil) { refill() }
        let node = freeList!
        freeList = node.pointee.link
        node.pointee = IntervalTreeNode(count: 0, level: Int32(level), generation: generation, link: nil, reserved: 0)
        prefetchNextFreeNode()
        return node
    }

    /// Asks for the cache lines of the two nodes that ``allocateNode(level:)``
    /// hands out next. Free nodes come back from their grace period cold;
    /// without the prefetch every copy stalled on their misses (half the
    /// update's time at 100 000 entries in a profile), and one node ahead was
    /// not enough at 1 000 (the next update comes before the lines do). Issued
    /// at every allocation and at the start of every update; reading the next
    /// node's link is a hit, its lines having been asked for one allocation earlier.
    @inline(__always)
    func prefetchNextFreeNode() {
        guard let node = freeList else { return }
        Self.prefetchForWrite(node)
        if let following = node.pointee.link { Self.prefetchForWrite(following) }
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

    @inline(never)
    mutating func refill() {
        if let reusable = queue.pointee.takeAllReusable() {
            freeList = reusable
            return
        }
        let count = min(Self.maximumSlabNodes, max(Self.firstSlabNodes, capacity))
        let nodeBytes = IntervalTreeLayout.nodeBytes
        let slab = UnsafeMutableRawPointer.allocate(byteCount: nodeBytes * count, alignment: 64)
        slab.initializeMemory(as: UInt8.self, repeating: 0, count: nodeBytes * count)
        slabs.append(slab)
        capacity += count
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.treeSlabs.add(1, ordering: .relaxed)
        var next: IntervalTreeNodePointer?
        for index in stride(from: count - 1, through: 0, by: -1) {
            let raw = slab + index * nodeBytes
            // The arrays are plain words; the header is an `IntervalTreeNode`.
            (raw + IntervalTreeLayout.startsOffset).bindMemory(to: UInt64.self, capacity: 3 * IntervalTreeLayout.fanout)
            let node = raw.bindMemory(to: IntervalTreeNode.self, capacity: 1)
            node.initialize(to: IntervalTreeNode(count: 0, level: 0, generation: 0, link: next, reserved: 0))
            next = node
        }
        freeList = next
    }

    /// Retires a node that readers may still see: it is reused after a grace
    /// period. A node of the current update was never published: reused at once.
    @inline(__always)
    mutating func retire(_ node: IntervalTreeNodePointer) {
        if node.pointee.generation == generation {
            node.pointee.link = freeList
            freeList = node
            return
        }
        node.pointee.link = nil
        if let last = retiredLast { last.pointee.link = node } else { retiredFirst = node }
        retiredLast = node
        retiredCount += 1
        retiredTotal += 1
    }

    /// Ends an update: advances the generation (all its nodes are now published)
    /// and queues a reclamation batch when enough nodes wait.
    @inline(__always)
    mutating func finishUpdate() {
        generation &+= 1
        if case .immediate = reclamation {
            // Readers are locked out: the replaced nodes are free once published.
            if let first = retiredFirst, let last = retiredLast {
                last.pointee.link = freeList
                freeList = first
                retiredFirst = nil
                retiredLast = nil
                retiredCount = 0
            }
            return
        }
        if retiredCount >= batchThreshold { flushRetired() }
    }

    /// Hands every retired node to call_rcu as one batch.
    mutating func flushRetired() {
        guard let callbackQueue else { return }
        guard let first = retiredFirst, let last = retiredLast else { return }
        if spareBatches == nil { spareBatches = queue.pointee.takeAllSpare() }
        let batch: UnsafeMutablePointer<IntervalTreeRetiredBatch>
        if let spare = spareBatches {
            spareBatches = spare.pointee.nextSpare
            spare.pointee = IntervalTreeRetiredBatch(first: first, last: last, count: retiredCount, queue: queue)
            batch = spare
        } else {
            batch = .allocate(capacity: 1)
            batch.initialize(to: IntervalTreeRetiredBatch(first: first, last: last, count: retiredCount, queue: queue))
        }
        retiredFirst = nil
        retiredLast = nil
        retiredCount = 0
        callbackQueue._withUnsafeGuaranteedRef {
            $0.enqueue(UnsafeMutableRawPointer(batch).assumingMemoryBound(to: rcu_head.self), intervalTreeReclaimBatch)
        }
    }
}
