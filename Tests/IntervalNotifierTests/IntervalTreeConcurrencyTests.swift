import CNotifierCore
import Foundation
@testable import IntervalNotifier
import Synchronization
import Testing
import NotifierHarness

/// Readers on their own threads walk the tree under RCU while a writer churns it.
///
/// Trees here poison nodes when their grace period ends and reclaim in small
/// batches, so nodes are recycled constantly: a reader that could reach a node
/// after its grace period would see the poison pattern (or a node reused for
/// another interval) instead of the entries it expects.
@Suite("RCUIntervalTree under concurrent readers and writers")
struct IntervalTreeConcurrencyTests {
    /// Values of stable entries start here; churn values stay below.
    static let stableValueBase: UInt = 1_000_000

    /// Every entry of these tests lies in `[1, 2^21)`, inside `wholeKeySpace`.
    static func randomInterval(_ rng: inout Xorshift64, value: UInt) -> IntervalTreeEntry {
        let start = 1 + rng.below(1 << 20)
        let length = rng.chance(10) ? rng.below(1 << 19) : rng.below(1 << 12)
        return IntervalTreeEntry(start: start, last: start + length, value: value)
    }

    /// A query range that holds every entry of these tests but starts above 0
    /// and ends far below the poison pattern: a public walk over it prunes a
    /// poisoned node (its subtree last is 0) instead of turning it into an entry,
    /// whose initialiser would trap. So a broken reclamation shows up as a test
    /// failure, not as a crash of the test process.
    static let wholeKeySpace: (start: UInt64, last: UInt64) = (1, 1 << 40)

    // MARK: Raw walk

    /// Outcome of walking a snapshot's nodes directly.
    enum RawWalk {
        case entries([IntervalTreeEntry])
        case broken(String)
    }

    /// Walks every node reachable from `snapshot` in order, checking each for the
    /// poison pattern before turning it into an entry (the public entry
    /// initialiser would trap on a poisoned node, whose start is after its last).
    /// Must run inside the read-side section that produced the snapshot.
    static func rawWalk(_ snapshot: IntervalTreeSnapshot, limit: Int) -> RawWalk {
        var result: [IntervalTreeEntry] = []
        guard let root = snapshot.root else { return .entries(result) }
        // Depth-first, children in order; every word checked for poison before use.
        var stack: [(node: IntervalTreeNodePointer, next: Int)] = [(root, 0)]
        while let (node, next) = stack.last {
            if stack.count > 64 { return .broken("path deeper than 64 nodes: a cycle through a reused node?") }
            let count = node.count
            if count < 0 || count > IntervalTreeLayout.fanout { return .broken("node with \(count) entries: corrupt") }
            if next >= count {
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].next = next + 1
            // An inner node's max-last and child address, and a leaf entry's
            // last, are the words a writer changes in a published node: read
            // them as readers do (atomically), or ThreadSanitizer reports the
            // walk itself.
            let start = node.starts[next]
            let last = node.isLeaf ? node.entryLast(next) : node.childLast(next)
            let slot = node.isLeaf ? node.slots[next] : cnp_load_acquire_u64(node.slots + next)
            // An entry removed in place: its last is 0, below its start (never
            // the leaf's first entry); readers skip it.
            if node.isLeaf && last == 0 && start > 0 && next > 0 && start != IntervalTreeReclaimQueue.poisonStart { continue }
            if start == IntervalTreeReclaimQueue.poisonStart || start > last {
                return .broken("poisoned node reached: start \(start), last \(last), slot \(slot), level \(node.pointee.level)")
            }
            if node.isLeaf {
                result.append(IntervalTreeEntry(start: start, last: last, value: UInt(truncatingIfNeeded: slot)))
                if result.count > limit { return .broken("more than \(limit) entries: a cycle through a reused node?") }
            } else {
                stack.append((node.child(next), 0))
            }
        }
        return .entries(result)
    }

    // MARK: Readers against a churning writer

    @Test("readers see every stable entry exactly once, stable ones in order, never a reclaimed node",
          arguments: IntervalTreeScanPolicy.bothScans)
    func readersWalkWhileWriterChurns(scan: IntervalTreeScanPolicy) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, scanPolicy: scan)
        var rng = Xorshift64(seed: 0x5EED_0001)
        let stableCount = 300
        let stable = (0..<stableCount).map { Self.randomInterval(&rng, value: Self.stableValueBase + UInt($0)) }
        for entry in stable { tree.insert(entry) }
        var initialChurn: [IntervalTreeEntry] = []
        for i in 0..<300 {
            let entry = Self.randomInterval(&rng, value: UInt(i))
            tree.insert(entry)
            initialChurn.append(entry)
        }
        try tree.validate()

        let stop = SharedFlag()
        let failures = FailureLog()
        let walks = SharedCounter()
        let updates = SharedCounter()
        let readerCount = 2
        let durationSeconds = 1.5

        let writer = JoinableThread(name: "churn-writer") { [initialChurn] in
            Self.churn(tree, live: initialChurn, seed: 0x5EED_0002, stop: stop, updates: updates, failures: failures)
        }
        let readers = (0..<readerCount).map { index in
            JoinableThread(name: "walker-\(index)") {
                Self.walkRepeatedly(tree, stable: stable, seed: 0x5EED_0100 + UInt64(index),
                                    stop: stop, walks: walks, failures: failures)
            }
        }
        // At least `durationSeconds`, and on until the writer has retired more
        // nodes than it ever allocated (so reclaimed nodes were reused under the
        // walks; removes mostly retire nothing, and a sanitizer build runs
        // slowly), at most 30 s.
        let begin = monotonicSeconds()
        while failures.count == 0 {
            let elapsed = monotonicSeconds() - begin
            if elapsed >= durationSeconds {
                let statistics = tree.memoryStatistics
                if statistics.retiredNodes > statistics.allocatedNodes || elapsed >= 30 { break }
            }
            sleep(milliseconds: 20)
        }
        stop.set()
        #expect(writer.join(), "the writer thread did not finish")
        for reader in readers { #expect(reader.join(), "a reader thread did not finish") }

        #expect(failures.count == 0, "\(failures.count) failures: \(failures.firstMessages)")
        // The run must have exercised something: many updates, many walks, and
        // node reuse (more nodes retired than ever allocated).
        #expect(updates.current >= 1000, "only \(updates.current) updates")
        #expect(walks.current >= 2 * readerCount, "only \(walks.current) walks")
        try tree.validate()
        tree.waitForReclamation()
        let statistics = tree.memoryStatistics
        #expect(statistics.retiredNodes > statistics.allocatedNodes,
                "nodes were not recycled during the run: \(statistics)")
        #expect(statistics.reclaimedNodes == statistics.retiredNodes)
        let remaining = tree.allEntries().filter { $0.value >= Self.stableValueBase }
        #expect(remaining == stable.sorted(by: entryPrecedes))
    }

    /// The writer's loop: insert new churn entries and remove live ones at random.
    nonisolated static func churn(
        _ tree: RCUIntervalTree, live initial: [IntervalTreeEntry], seed: UInt64,
        stop: SharedFlag, updates: SharedCounter, failures: FailureLog
    ) {
        var rng = Xorshift64(seed: seed)
        var live = initial
        var nextValue = UInt(initial.count)
        while !stop.isSet {
            for _ in 0..<64 {
                if live.isEmpty || (live.count < 400 && rng.chance(50)) {
                    let entry = randomInterval(&rng, value: nextValue % stableValueBase)
                    nextValue += 1
                    tree.insert(entry)
                    live.append(entry)
                } else {
                    let index = Int(rng.below(UInt64(live.count)))
                    let entry = live.remove(at: index)
                    if !tree.remove(entry) { failures.record("writer: remove(\(entry)) of a live churn entry returned false") }
                }
            }
            updates.increment(by: 64)
        }
    }

    /// A reader's loop: whole-tree walks (raw and public) and range queries, each
    /// in its own read-side section.
    nonisolated static func walkRepeatedly(
        _ tree: RCUIntervalTree, stable: [IntervalTreeEntry], seed: UInt64,
        stop: SharedFlag, walks: SharedCounter, failures: FailureLog
    ) {
        var rng = Xorshift64(seed: seed)
        var seen = [Int](repeating: 0, count: stable.count)
        while !stop.isSet {
            let (queryStart, queryLast): (UInt64, UInt64) = {
                let a = rng.below(1 << 20), b = rng.below(1 << 20)
                return (min(a, b), max(a, b))
            }()
            let problem: String? = RCU.read {
                let snapshot = tree.snapshot()
                // 1. Every node, checked for poison before anything else reads it.
                let raw: [IntervalTreeEntry]
                switch rawWalk(snapshot, limit: 10_000) {
                case .broken(let message): return message
                case .entries(let entries): raw = entries
                }
                if !isInKeyOrder(raw.filter { $0.value >= stableValueBase }) { return "raw walk: stable entries out of key order" }

                // 2. The public whole-tree walk of the same snapshot: every
                // stable entry exactly once, the stable ones in key order. (A
                // second walk of a live tree is not the first one again: updates
                // publish copied nodes in place, so entries inserted or removed
                // in between may or may not show.)
                for index in seen.indices { seen[index] = 0 }
                var stableInPublicWalk: [IntervalTreeEntry] = []
                let completed = snapshot.forEachOverlapping(start: wholeKeySpace.start, last: wholeKeySpace.last) { entry in
                    if entry.value >= stableValueBase {
                        seen[Int(entry.value - stableValueBase)] += 1
                        stableInPublicWalk.append(entry)
                    }
                    return true
                }
                if !completed { return "whole-tree walk reported an early stop" }
                if !isInKeyOrder(stableInPublicWalk) { return "public walk: stable entries out of key order" }
                if let index = seen.firstIndex(where: { $0 != 1 }) {
                    return "stable entry \(stable[index]) seen \(seen[index]) times in one walk"
                }
                for index in seen.indices { seen[index] = 0 }
                for entry in raw where entry.value >= stableValueBase { seen[Int(entry.value - stableValueBase)] += 1 }
                if let index = seen.firstIndex(where: { $0 != 1 }) {
                    return "stable entry \(stable[index]) seen \(seen[index]) times in the raw walk"
                }
                for entry in raw where entry.value >= stableValueBase {
                    if entry != stable[Int(entry.value - stableValueBase)] { return "stable entry changed: \(entry)" }
                }

                // 3. A range query: each stable entry in range exactly once, in order.
                let expectedStable = stable.filter { $0.overlaps(start: queryStart, last: queryLast) }
                var stableHits: [IntervalTreeEntry] = []
                var previous: IntervalTreeEntry?
                var rangeProblem: String?
                snapshot.forEachOverlapping(start: queryStart, last: queryLast) { entry in
                    if !entry.overlaps(start: queryStart, last: queryLast) { rangeProblem = "\(entry) does not overlap the query" }
                    if entry.value >= stableValueBase {
                        if let previous, entryPrecedes(entry, previous) { rangeProblem = "range walk: stable entries out of order" }
                        previous = entry
                        stableHits.append(entry)
                    }
                    return true
                }
                if let rangeProblem { return "range [\(queryStart), \(queryLast)]: \(rangeProblem)" }
                if stableHits.sorted(by: entryPrecedes) != expectedStable.sorted(by: entryPrecedes) {
                    return "range [\(queryStart), \(queryLast)]: stable hits \(stableHits.count), expected \(expectedStable.count)"
                }
                // 4. The first hit overlaps, and if it is a stable entry, it is the
                // lowest stable one (a churn entry may come first).
                let first = snapshot.firstOverlapping(start: queryStart, last: queryLast)
                if let lowestStable = expectedStable.min(by: entryPrecedes) {
                    guard let first else { return "firstOverlapping found nothing, stable \(lowestStable) overlaps" }
                    if first.value >= stableValueBase && first != lowestStable {
                        return "firstOverlapping \(first) skipped stable \(lowestStable)"
                    }
                }
                if let first, !first.overlaps(start: queryStart, last: queryLast) { return "firstOverlapping \(first) does not overlap" }
                return nil
            }
            if let problem { failures.record(problem) }
            walks.increment()
        }
    }

    // MARK: A reader holding one snapshot

    @Test("a reader holding its section sees every entry that stays, never a reclaimed node, while the writer moves on",
          arguments: IntervalTreeScanPolicy.bothScans)
    func longReaderKeepsItsSnapshot(scan: IntervalTreeScanPolicy) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, scanPolicy: scan)
        var rng = Xorshift64(seed: 0x5EED_0200)
        var model = BruteForceIntervals()
        for i in 0..<400 {
            let entry = Self.randomInterval(&rng, value: UInt(i % 50))
            tree.insert(entry)
            model.insert(entry)
        }
        // Start from a state where every earlier retired node is reclaimed, so
        // that any reclamation seen later belongs to the reader's section.
        tree.waitForReclamation()
        let baseline = tree.memoryStatistics
        #expect(baseline.reclaimedNodes == baseline.retiredNodes)

        // The first 200 entries stay throughout; the writer replaces the rest.
        let staying = Array(model.entries.prefix(200))
        let expected = model.sorted()
        let inSection = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        let failures = FailureLog()
        let reader = JoinableThread(name: "long-reader") {
            RCU.read {
                let snapshot = tree.snapshot()
                let before = Self.rawWalk(snapshot, limit: 10_000)
                inSection.signal()
                // Stay inside the section until the writer has finished all its
                // updates (bounded, so a writer blocked by this reader fails).
                if writerDone.wait(timeout: .now() + 30) == .timedOut {
                    failures.record("the writer did not finish while the reader held its section: blocked by the reader?")
                }
                let after = Self.rawWalk(snapshot, limit: 100_000)
                switch before {
                case .broken(let message): failures.record("at the start of the section: \(message)")
                case .entries(let entries):
                    if entries != expected { failures.record("at the start of the section: \(entries.count) entries differ from the \(expected.count) of the tree") }
                }
                switch after {
                case .broken(let message):
                    failures.record("at the end of the section: \(message)")
                    return
                case .entries(let entries):
                    if !Self.containsAll(staying, in: entries) {
                        failures.record("at the end of the section: an entry that stayed is missing from the raw walk")
                    }
                }
                // The public queries too (only over intact nodes: see wholeKeySpace).
                var viaPublicWalk: [IntervalTreeEntry] = []
                snapshot.forEachOverlapping(start: Self.wholeKeySpace.start, last: Self.wholeKeySpace.last) { viaPublicWalk.append($0); return true }
                if !Self.containsAll(staying, in: viaPublicWalk) {
                    failures.record("a public walk at the end of the section misses an entry that stayed")
                }
            }
        }
        #expect(inSection.wait(timeout: .now() + 30) == .success, "the reader never entered its section")

        // Thousands of updates: replace every original entry, then churn. None may
        // wait for the reader (the writer never waits for grace periods).
        var live = Array(model.entries.dropFirst(200))
        var retiredDuringSection = 0
        for step in 0..<6000 {
            if step % 2 == 0 || live.isEmpty {
                let entry = Self.randomInterval(&rng, value: UInt(1000 + step))
                tree.insert(entry)
                live.append(entry)
            } else {
                let entry = live.remove(at: Int(rng.below(UInt64(live.count))))
                #expect(tree.remove(entry))
            }
            if step % 500 == 0 { tree.flushRetired() }
        }
        tree.flushRetired()
        sleep(milliseconds: 50)
        let during = tree.memoryStatistics
        retiredDuringSection = during.retiredNodes - baseline.retiredNodes
        // Nothing retired after the reader entered may be reclaimed while it stays.
        #expect(during.reclaimedNodes == baseline.reclaimedNodes,
                "\(during.reclaimedNodes - baseline.reclaimedNodes) nodes reclaimed while a reader held its section")
        #expect(retiredDuringSection > 1000)
        writerDone.signal()
        #expect(reader.join(), "the reader did not finish")
        #expect(failures.count == 0, "\(failures.count) failures: \(failures.firstMessages)")

        // Once the reader has left, everything is reclaimed, and the tree is intact.
        tree.waitForReclamation()
        let after = tree.memoryStatistics
        #expect(after.reclaimedNodes == after.retiredNodes)
        try tree.validate()
        #expect(tree.allEntries() == (live + staying).sorted(by: entryPrecedes))
    }

    /// Whether `entries` holds every entry of `required` (with multiplicity).
    static func containsAll(_ required: [IntervalTreeEntry], in entries: [IntervalTreeEntry]) -> Bool {
        var counts: [IntervalTreeEntry: Int] = [:]
        for entry in entries { counts[entry, default: 0] += 1 }
        for entry in required {
            guard let count = counts[entry], count > 0 else { return false }
            counts[entry] = count - 1
        }
        return true
    }

    // MARK: Writers on several threads

    @Test("writers on several threads are serialised: no update is lost")
    func concurrentWriters() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true)
        let writerCount = 3
        let finalSets = TestMutex<[[IntervalTreeEntry]]>([])
        let failures = FailureLog()
        let writers = (0..<writerCount).map { index in
            JoinableThread(name: "writer-\(index)") {
                var rng = Xorshift64(seed: 0x5EED_0300 + UInt64(index))
                var live: [IntervalTreeEntry] = []
                for step in 0..<3000 {
                    if live.isEmpty || rng.chance(60) {
                        // Values tagged with the writer, so sets never collide.
                        let entry = Self.randomInterval(&rng, value: UInt(index) << 32 | UInt(step))
                        tree.insert(entry)
                        live.append(entry)
                    } else {
                        let entry = live.remove(at: Int(rng.below(UInt64(live.count))))
                        if !tree.remove(entry) { failures.record("writer \(index): remove(\(entry)) returned false") }
                    }
                }
                finalSets.withLock { $0.append(live) }
            }
        }
        for writer in writers { #expect(writer.join()) }
        #expect(failures.count == 0, "\(failures.firstMessages)")
        try tree.validate()
        let expected = finalSets.withLock { $0.flatMap { $0 } }.sorted(by: entryPrecedes)
        #expect(tree.allEntries() == expected)
        #expect(tree.count == expected.count)
    }
}
