import CURCU
import Synchronization

/// The part of a tree's memory management that call_rcu worker threads touch:
/// a lock-free stack of node chains that finished their grace period, and counters.
///
/// Allocated manually by the tree and freed only after `RCU.barrier()`, so a
/// callback never reaches a Swift object and never sees freed memory.
struct IntervalTreeReclaimQueue: ~Copyable {
    /// Chains of nodes whose grace period has ended, linked through `link`.
    let reusable = Atomic<IntervalTreeNodePointer?>(nil)
    /// Batch records whose grace period has ended, linked through `nextSpare`,
    /// for the writer to reuse: after the first few batches no update allocates.
    let spareBatches = Atomic<UnsafeMutablePointer<IntervalTreeRetiredBatch>?>(nil)
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

    /// Pushes the chain `first ... last` (linked through `link`) for reuse.
    func pushReusable(first: IntervalTreeNodePointer, last: IntervalTreeNodePointer) {
        // Relaxed: only a first guess; the compare-exchange below decides.
        var head = reusable.load(ordering: .relaxed)
        while true {
            last.pointee.link = head
            // Releasing: the link writes and any poisoning happen before the
            // writer's acquiring `takeAllReusable` hands these nodes out again.
            let (exchanged, current) = reusable.compareExchange(
                expected: head, desired: first, successOrdering: .releasing, failureOrdering: .relaxed)
            if exchanged { return }
            head = current
        }
    }

    /// Pushes a batch record whose nodes have been made reusable.
    func pushSpare(_ batch: UnsafeMutablePointer<IntervalTreeRetiredBatch>) {
        // Relaxed: only a first guess; the compare-exchange below decides.
        var head = spareBatches.load(ordering: .relaxed)
        while true {
            batch.pointee.nextSpare = head
            // Releasing: the callback's last reads of the record happen before
            // the writer's acquiring `takeAllSpare` rewrites it.
            let (exchanged, current) = spareBatches.compareExchange(
                expected: head, desired: batch, successOrdering: .releasing, failureOrdering: .relaxed)
            if exchanged { return }
            head = current
        }
    }

    /// Takes every spare batch record at once (single consumer: the serialised
    /// writer, or the tree's cleanup once every callback has run).
    func takeAllSpare() -> UnsafeMutablePointer<IntervalTreeRetiredBatch>? {
        // Acquiring: pairs with the releasing push, see above.
        spareBatches.exchange(nil, ordering: .acquiring)
    }

    /// Takes every reusable node at once (single consumer: the serialised writer,
    /// so popping everything with one exchange has no ABA problem).
    func takeAllReusable() -> IntervalTreeNodePointer? {
        // Acquiring: pairs with the releasing push, see above.
        reusable.exchange(nil, ordering: .acquiring)
    }
}

/// A batch of retired nodes travelling through one grace period.
struct IntervalTreeRetiredBatch {
    /// Must stay the first stored property: the callback casts its address back.
    var head = rcu_head()
    var first: IntervalTreeNodePointer
    var last: IntervalTreeNodePointer
    var count: Int
    var queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    /// Link of the spare-record lists (the queue's and the writer's).
    var nextSpare: UnsafeMutablePointer<IntervalTreeRetiredBatch>? = nil

    /// Frees every record of the list starting at `first`.
    static func deallocateList(_ first: UnsafeMutablePointer<IntervalTreeRetiredBatch>?) {
        var record = first
        while let current = record {
            record = current.pointee.nextSpare
            current.deinitialize(count: 1)
            current.deallocate()
        }
    }
}

/// call_rcu callback: the batch's grace period has ended, so no reader can still
/// hold any of its nodes; make them reusable.
let intervalTreeReclaimBatch: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void = { head in
    let batch = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: IntervalTreeRetiredBatch.self)
    let queue = batch.pointee.queue
    if queue.pointee.poisonReclaimedNodes {
        var node: IntervalTreeNodePointer? = batch.pointee.first
        let fanout = IntervalTreeLayout.fanout
        while let current = node {
            current.starts.update(repeating: IntervalTreeReclaimQueue.poisonStart, count: fanout)
            current.lasts.update(repeating: 0, count: fanout)
            current.slots.update(repeating: 0xDEAD, count: fanout)
            node = current.pointee.link
        }
    }
    queue.pointee.pushReusable(first: batch.pointee.first, last: batch.pointee.last)
    // Relaxed: a statistic; `RCU.barrier()` orders it for readers of the total.
    queue.pointee.reclaimedNodes.add(batch.pointee.count, ordering: .relaxed)
    // The record goes back to the writer (freed with the tree), not to malloc.
    queue.pointee.pushSpare(batch)
}
