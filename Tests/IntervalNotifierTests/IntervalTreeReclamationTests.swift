import Foundation
import IntervalNotifier
import Testing
import NotifierHarness

/// Retired nodes travel through a grace period before reuse: they are all
/// reclaimed eventually, never while a reader that could see them is inside its
/// section, and a tree can be destroyed with entries and batches in flight.
@Suite("RCUIntervalTree node reclamation")
struct IntervalTreeReclamationTests {
    /// `count` random updates (about 60% inserts) applied to `tree` and `live`.
    /// Returns a lower bound of the nodes they retire: every insert into a
    /// non-empty tree retires at least the leaf it copies. (A remove mostly
    /// retires nothing: it takes its entry out of the published leaf in place.)
    @discardableResult
    static func churn(_ tree: RCUIntervalTree, live: inout [IntervalTreeEntry], count: Int, rng: inout Xorshift64) -> Int {
        var minimumRetired = 0
        for step in 0..<count {
            if live.isEmpty || rng.chance(60) {
                let start = rng.below(1 << 24)
                let entry = IntervalTreeEntry(start: start, last: start + rng.below(1 << 16), value: UInt(step))
                if !tree.isEmpty { minimumRetired += 1 }
                tree.insert(entry)
                live.append(entry)
            } else {
                let entry = live.remove(at: Int(rng.below(UInt64(live.count))))
                _ = tree.remove(entry)
            }
        }
        return minimumRetired
    }

    @Test("waitForReclamation reclaims every retired node", arguments: [1, 8, 1024])
    func waitForReclamationReclaimsEverything(batchSize: Int) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: batchSize, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 0xEC1A_0001 ^ UInt64(batchSize))
        var live: [IntervalTreeEntry] = []
        let minimumRetired = Self.churn(tree, live: &live, count: 4000, rng: &rng)
        let before = tree.memoryStatistics
        #expect(minimumRetired > 2000)
        #expect(before.retiredNodes >= minimumRetired)
        #expect(before.reclaimedNodes <= before.retiredNodes)
        tree.waitForReclamation()
        let after = tree.memoryStatistics
        #expect(after.retiredNodes == before.retiredNodes, "waiting retired nodes by itself")
        #expect(after.reclaimedNodes == after.retiredNodes)
        #expect(after.entries == live.count)
        // The poisoned, reclaimed nodes were not still in the tree.
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("below the batch size nothing is queued until flushRetired")
    func flushRetiredQueuesAPartialBatch() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 1_000_000, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 0xEC1A_0002)
        var live: [IntervalTreeEntry] = []
        Self.churn(tree, live: &live, count: 2000, rng: &rng)
        RCU.barrier()
        let unflushed = tree.memoryStatistics
        #expect(unflushed.retiredNodes > 1000)
        #expect(unflushed.reclaimedNodes == 0, "nodes reclaimed although no batch was full")
        tree.flushRetired()
        RCU.barrier()
        let flushed = tree.memoryStatistics
        #expect(flushed.reclaimedNodes == flushed.retiredNodes)
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("a reader inside its section holds back reclamation until it leaves")
    func readerHoldsBackReclamation() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 0xEC1A_0003)
        var live: [IntervalTreeEntry] = []
        Self.churn(tree, live: &live, count: 500, rng: &rng)
        tree.waitForReclamation()
        let baseline = tree.memoryStatistics
        #expect(baseline.reclaimedNodes == baseline.retiredNodes)

        let entered = DispatchSemaphore(value: 0)
        let leave = DispatchSemaphore(value: 0)
        let left = SharedFlag()
        let reader = JoinableThread(name: "section-holder") {
            RCU.readLock()
            entered.signal()
            _ = leave.wait(timeout: .now() + 30)
            left.set()
            RCU.readUnlock()
        }
        #expect(entered.wait(timeout: .now() + 30) == .success)

        Self.churn(tree, live: &live, count: 2000, rng: &rng)
        tree.flushRetired()
        sleep(milliseconds: 50)
        let held = tree.memoryStatistics
        #expect(held.retiredNodes > baseline.retiredNodes + 1000)
        #expect(held.reclaimedNodes == baseline.reclaimedNodes,
                "\(held.reclaimedNodes - baseline.reclaimedNodes) nodes reclaimed while a reader was inside its section")
        #expect(held.reclaimedNodes < held.retiredNodes)
        #expect(!left.isSet)

        leave.signal()
        #expect(reader.join())
        tree.waitForReclamation()
        let released = tree.memoryStatistics
        #expect(released.reclaimedNodes == released.retiredNodes)
        try tree.validate()
    }

    @Test("reclaimed nodes are reused: memory stays bounded under churn")
    func nodesAreReused() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 64)
        var rng = Xorshift64(seed: 0xEC1A_0004)
        var live: [IntervalTreeEntry] = []
        Self.churn(tree, live: &live, count: 1000, rng: &rng)
        for _ in 0..<20 {
            // Keep the size near 400 entries while updating.
            for _ in 0..<500 {
                if live.count < 400 || rng.chance(50) {
                    let start = rng.below(1 << 24)
                    let entry = IntervalTreeEntry(start: start, last: start + 100, value: 7)
                    tree.insert(entry)
                    live.append(entry)
                } else {
                    #expect(tree.remove(live.remove(at: Int(rng.below(UInt64(live.count))))))
                }
            }
            tree.waitForReclamation()
        }
        let statistics = tree.memoryStatistics
        // About 6 000 inserts retire at least their leaf each (the removes
        // mostly take their entry out in place); without reuse each would have
        // needed a fresh node. With it, the nodes in use are the tree's (about
        // 60) and at most one round's retired nodes (about 300, reclaimed at
        // the round's end), in slabs of up to 256.
        #expect(statistics.retiredNodes > 5_000)
        #expect(statistics.allocatedNodes <= 3 * 1024, "\(statistics)")
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("a tree past 2 MiB of nodes takes mapped 2 MiB slabs, answers from them and frees them")
    func largeTreesMapTheirSlabs() throws {
        var mappedSlabs = 0
        do {
            let tree = RCUIntervalTree()
            var rng = Xorshift64(seed: 0x5AB_0001)
            var entries: [IntervalTreeEntry] = []
            // About 9 000 nodes of 448 bytes: 4 MiB, so the slabs after the first
            // 2 MiB are mapped ones.
            for index in 0..<80_000 {
                let entry = WorkloadL.interval(&rng, value: UInt(index))
                tree.insert(entry)
                entries.append(entry)
            }
            let statistics = tree.memoryStatistics
            mappedSlabs = statistics.mappedSlabs
            #expect(statistics.mappedSlabs >= 1, "\(statistics)")
            // Small trees stay in malloc'd slabs.
            let small = RCUIntervalTree()
            for entry in entries.prefix(3000) { small.insert(entry) }
            #expect(small.memoryStatistics.mappedSlabs == 0)
            try tree.validate()
            for entry in entries.prefix(2000) { #expect(tree.countContaining(entry.last) >= 1, "lost \(entry)") }
            for entry in entries.shuffled(using: &rng) { #expect(tree.remove(entry)) }
            #expect(tree.isEmpty)
            tree.waitForReclamation()
        }
        // The trees are gone: their mapped slabs were unmapped (a failed munmap
        // traps) once the last callback ran.
        RCU.barrier()
        #expect(mappedSlabs >= 1)
    }

    @Test("after a backlog, churn reuses the nodes back last and leaves the surplus alone")
    func reuseTakesTheNewestBatchesFirst() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 16)
        var rng = Xorshift64(seed: 0xEC1A_0007)
        var live: [IntervalTreeEntry] = []
        Self.churn(tree, live: &live, count: 1000, rng: &rng)
        tree.waitForReclamation()
        // A reader inside its section holds every retired node back while
        // 3 000 updates run: the free pool grows by their nodes for good.
        let entered = DispatchSemaphore(value: 0)
        let leave = DispatchSemaphore(value: 0)
        let reader = JoinableThread(name: "section-holder") {
            RCU.readLock()
            entered.signal()
            _ = leave.wait(timeout: .now() + 30)
            RCU.readUnlock()
        }
        #expect(entered.wait(timeout: .now() + 30) == .success)
        let heldBack = Self.churn(tree, live: &live, count: 3000, rng: &rng)
        leave.signal()
        #expect(reader.join())
        tree.waitForReclamation()
        #expect(heldBack > 1500)
        // Steady churn now, each round's retired nodes back before the next
        // round: the nodes back last cover each round's needs, so the writer
        // lines up few distinct nodes (176 when written). Oldest first, it
        // went through the surplus instead (1 133).
        var linedUp = Set<UInt>()
        tree.storage.setRefillHookForTesting { linedUp.formUnion($0) }
        defer { tree.storage.setRefillHookForTesting(nil) }
        var retired = 0
        for _ in 0..<40 {
            retired += Self.churn(tree, live: &live, count: 40, rng: &rng)
            tree.waitForReclamation()
        }
        #expect(retired > 800)
        #expect(linedUp.count < 400, "\(linedUp.count) distinct free nodes lined up for \(retired)+ retired")
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("a tree with live entries and batches in flight deinitialises cleanly")
    func deinitWithLiveEntries() throws {
        weak var released: RCUIntervalTree?
        do {
            let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true)
            var rng = Xorshift64(seed: 0xEC1A_0005)
            var live: [IntervalTreeEntry] = []
            Self.churn(tree, live: &live, count: 3000, rng: &rng)
            #expect(tree.count > 0)
            released = tree
        }
        #expect(released == nil, "the tree outlived its last reference")
        // Several trees at once, one never flushed, one with nothing retired.
        do {
            var trees: [RCUIntervalTree] = []
            for batch in [1, 1_000_000] {
                let tree = RCUIntervalTree(reclaimBatchSize: batch)
                var rng = Xorshift64(seed: UInt64(batch))
                var live: [IntervalTreeEntry] = []
                Self.churn(tree, live: &live, count: 1500, rng: &rng)
                trees.append(tree)
            }
            let fresh = RCUIntervalTree()
            fresh.insert(IntervalTreeEntry(start: 1, last: 2, value: 3))
            trees.append(fresh)
            trees.append(RCUIntervalTree())
            trees.removeAll()
        }
        // RCU keeps working afterwards (the reclaimer did not touch freed memory).
        let later = RCUIntervalTree(reclaimBatchSize: 1, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 0xEC1A_0006)
        var live: [IntervalTreeEntry] = []
        Self.churn(later, live: &live, count: 500, rng: &rng)
        later.waitForReclamation()
        try later.validate()
        #expect(later.allEntries() == live.sorted(by: entryPrecedes))
    }

    /// A tree whose last reference is dropped on the RCU callback thread (for
    /// example by a release callback of the engine) must not wait for itself:
    /// its deinit frees the memory from one more callback instead of a barrier.
    /// Runs in a child process: a wedged callback thread would hang every later
    /// `RCU.barrier()` of the process.
    @Test("dropping the last reference to a tree inside an RCU callback does not wedge the callback thread")
    func lastReferenceDroppedInCallback() async {
        await #expect(processExitsWith: .success) {
            let mainDropped = SharedFlag()
            do {
                let tree = RCUIntervalTree(reclaimBatchSize: 1)
                for i in 0..<100 { tree.insert(IntervalTreeEntry(start: UInt64(i), last: UInt64(i) + 10, value: 0)) }
                RCU.callAfterGracePeriod { [tree] in
                    // Hold on until the test has dropped its reference, so the
                    // closure's is the last one.
                    let deadline = monotonicSeconds() + 5
                    while !mainDropped.isSet && monotonicSeconds() < deadline { sleep(milliseconds: 1) }
                    _ = tree.count
                }
            }
            mainDropped.set()
            // The closure, and with it the tree, is released on the callback
            // thread after the body returns. A later barrier must still finish.
            if !completes(withinSeconds: 5, { RCU.barrier() }) { exit(1) }
        }
    }
}
