import CURCU
import Synchronization

/// The part of a tree's memory management that call_rcu worker threads touch:
/// a lock-free stack of batches of nodes that finished their grace period, and
/// a counter.
///
/// Allocated manually by the tree and freed only after every callback of the
/// tree has run, so a callback never reaches a Swift object and never sees
/// freed memory.
struct IntervalTreeReclaimQueue: ~Copyable {
    /// Batches whose grace period has ended, linked through `next`: their
    /// nodes are free for the writer to reuse, and the records too once empty.
    let reusable = Atomic<UnsafeMutablePointer<IntervalTreeRetiredBatch>?>(nil)
    /// Nodes that finished their grace period, in total (monotonic).
    let reclaimedNodes = Atomic<Int>(0)
    /// When set, reclaimed nodes are overwritten with a poison pattern first, so a
    /// reader that still saw one would notice (tests only; costs a write per node).
    let poisonReclaimedNodes: Bool

    init(poisonReclaimedNodes: Bool) {
        self.poisonReclaimedNodes = poisonReclaimedNodes
    }

    /// The value a poisoned node carries in every `start` (and every `last` is
    /// 0, so `start > last`, and every max-last 0: a walk with a query start
    /// above 0 prunes the node's children).
    static let poisonStart: UInt64 = 0xDEAD_BEEF_DEAD_BEEF

    /// Pushes a batch whose grace period has ended.
    func pushReusable(_ batch: UnsafeMutablePointer<IntervalTreeRetiredBatch>) {
        // Relaxed: only a first guess; the compare-exchange below decides.
        var head = reusable.load(ordering: .relaxed)
        while true {
            batch.pointee.next = head
            // Releasing: the record's link, any poisoning and the callback's
            // last reads of the record happen before the writer's acquiring
            // `takeAllReusable` hands its nodes out and rewrites it.
            let (exchanged, current) = reusable.compareExchange(
                expected: head, desired: batch, successOrdering: .releasing, failureOrdering: .relaxed)
            if exchanged { return }
            head = current
        }
    }

    /// Takes every reusable batch at once (single consumer: the serialised
    /// writer, or the tree's cleanup once every callback has run, so popping
    /// everything with one exchange has no ABA problem).
    func takeAllReusable() -> UnsafeMutablePointer<IntervalTreeRetiredBatch>? {
        // Acquiring: pairs with the releasing push, see above.
        reusable.exchange(nil, ordering: .acquiring)
    }
}

/// A batch of retired nodes travelling through one grace period: a record
/// followed by an array of ``capacity`` node addresses.
///
/// The nodes are listed in an array, not linked through the nodes: they come
/// back from their grace period cold, and a list threaded through them made
/// every allocation wait for the miss on the node it took before it knew the
/// next one (a fifth of an update pair's time at 1 000 entries in a profile).
/// From an array the writer knows the next nodes without touching them, and
/// prefetches them ahead of their use. The same record carries the nodes to
/// the callback and back, and is reused once its nodes are handed out.
struct IntervalTreeRetiredBatch {
    /// Must stay the first stored property: the callback casts its address back.
    var head = rcu_head()
    /// Nodes listed.
    var count = 0
    /// Nodes the record can list.
    let capacity: Int
    let queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    /// Link of the lists of batches (waiting for their grace period's
    /// callback, reusable, spare).
    var next: UnsafeMutablePointer<IntervalTreeRetiredBatch>? = nil

    /// Bytes before the node array (a multiple of the pointer size).
    static var headerBytes: Int {
        (MemoryLayout<IntervalTreeRetiredBatch>.stride + 15) & ~15
    }

    /// A new empty record able to list `capacity` nodes.
    static func allocate(capacity: Int, queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>)
        -> UnsafeMutablePointer<IntervalTreeRetiredBatch> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: headerBytes + capacity * MemoryLayout<IntervalTreeNodePointer>.stride, alignment: 16)
        (raw + headerBytes).bindMemory(to: IntervalTreeNodePointer.self, capacity: capacity)
        let batch = raw.bindMemory(to: IntervalTreeRetiredBatch.self, capacity: 1)
        batch.initialize(to: IntervalTreeRetiredBatch(capacity: capacity, queue: queue))
        return batch
    }

    /// Frees every record of the list starting at `first` (not the nodes).
    static func deallocateList(_ first: UnsafeMutablePointer<IntervalTreeRetiredBatch>?) {
        var record = first
        while let current = record {
            record = current.pointee.next
            current.deinitialize(count: 1)
            UnsafeMutableRawPointer(current).deallocate()
        }
    }
}

extension UnsafeMutablePointer where Pointee == IntervalTreeRetiredBatch {
    /// The batch's node array (``IntervalTreeRetiredBatch/count`` in use).
    @inline(__always)
    var nodes: UnsafeMutablePointer<IntervalTreeNodePointer> {
        (UnsafeMutableRawPointer(self) + IntervalTreeRetiredBatch.headerBytes)
            .assumingMemoryBound(to: IntervalTreeNodePointer.self)
    }
}

/// call_rcu callback: the batch's grace period has ended, so no reader can still
/// hold any of its nodes; make them reusable.
let intervalTreeReclaimBatch: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void = { head in
    let batch = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: IntervalTreeRetiredBatch.self)
    let queue = batch.pointee.queue
    let count = batch.pointee.count
    if queue.pointee.poisonReclaimedNodes {
        let fanout = IntervalTreeLayout.fanout
        for index in 0..<count {
            let node = batch.nodes[index]
            node.starts.update(repeating: IntervalTreeReclaimQueue.poisonStart, count: fanout)
            node.lasts.update(repeating: 0, count: fanout)
            node.slots.update(repeating: 0xDEAD, count: fanout)
        }
    }
    // Relaxed: a statistic; `RCU.barrier()` orders it for readers of the total.
    queue.pointee.reclaimedNodes.add(count, ordering: .relaxed)
    // Last: once pushed, the writer may reuse the record at any moment.
    queue.pointee.pushReusable(batch)
}
