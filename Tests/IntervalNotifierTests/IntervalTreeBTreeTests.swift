@testable import IntervalNotifier
import NotifierHarness
import Synchronization
import Testing

/// The B+tree's own shapes: splits and merges at every level, duplicates that
/// span leaves, a million entries and a million random operations.
@Suite("RCUIntervalTree as a B+tree")
struct IntervalTreeBTreeTests {
    /// Entries that grow the tree to four levels (and back) at any fan-out measured.
    static func levelsTarget() -> (entries: Int, height: Int) {
        let fanout = IntervalTreeLayout.fanout
        // Ascending inserts leave nodes half full: (fanout / 2)^3 leaves' worth
        // reach height 4.
        return (entries: 2 * fanout * (fanout / 2) * (fanout / 2) + 1, height: 4)
    }

    @Test("splits and merges at every level: the tree grows to four levels and shrinks back to none")
    func splitsAndMergesAtEveryLevel() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 16, poisonReclaimedNodes: true)
        let (entries, targetHeight) = Self.levelsTarget()
        var heights: [Int] = [0]
        var rng = Xorshift64(seed: 0xB7EE_0001)
        var live: [IntervalTreeEntry] = []
        for index in 0..<entries {
            let start = UInt64(index) * 16
            let entry = IntervalTreeEntry(start: start, last: start + rng.below(1 << 12), value: UInt(index))
            tree.insert(entry)
            live.append(entry)
            let height = tree.storage.heightSerialized
            if height != heights.last! {
                heights.append(height)
                try tree.validate()
            }
            if index % 509 == 0 { try tree.validate() }
        }
        #expect(heights == Array(0...targetHeight), "heights while growing: \(heights)")
        try tree.validate()
        #expect(tree.allEntries() == live)
        // Remove in random order: merges and refills from siblings at every level.
        var shrinking: [Int] = [heights.last!]
        while !live.isEmpty {
            let index = Int(rng.below(UInt64(live.count)))
            let entry = live.remove(at: index)
            #expect(tree.remove(entry))
            let height = tree.storage.heightSerialized
            if height != shrinking.last! {
                shrinking.append(height)
                try tree.validate()
                #expect(tree.count == live.count)
            }
            if live.count % 509 == 0 { try tree.validate() }
            if live.count % 2048 == 0 {
                let sample = live.prefix(64)
                for probe in sample { #expect(tree.countContaining(probe.last) >= 1, "lost \(probe)") }
            }
        }
        #expect(shrinking == Array((0...targetHeight).reversed()), "heights while shrinking: \(shrinking)")
        #expect(tree.isEmpty)
        tree.waitForReclamation()
        let statistics = tree.memoryStatistics
        #expect(statistics.reclaimedNodes == statistics.retiredNodes)
    }

    @Test("duplicates and equal starts spanning several leaves are kept in key order and removed one by one")
    func duplicatesSpanLeaves() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true)
        var model = BruteForceIntervals()
        var rng = Xorshift64(seed: 0xB7EE_0002)
        let fanout = IntervalTreeLayout.fanout
        // Five leaves' worth of one exact duplicate, the same start with other
        // lasts and values, and neighbours on both sides; in random order.
        var pending: [IntervalTreeEntry] = []
        for _ in 0..<(5 * fanout) { pending.append(IntervalTreeEntry(start: 1000, last: 2000, value: 7)) }
        for index in 0..<(5 * fanout) {
            pending.append(IntervalTreeEntry(start: 1000, last: 1000 + rng.below(3000), value: UInt(index % 5)))
        }
        for index in 0..<(3 * fanout) {
            let start = 900 + rng.below(200)
            pending.append(IntervalTreeEntry(start: start, last: start + rng.below(50), value: UInt(index)))
        }
        while !pending.isEmpty {
            let entry = pending.remove(at: Int(rng.below(UInt64(pending.count))))
            tree.insert(entry)
            model.insert(entry)
        }
        try tree.validate()
        #expect(tree.storage.heightSerialized >= 2, "the duplicates fit one leaf: nothing spans leaves")
        #expect(tree.allEntries() == model.sorted())
        // Absent entries next to the duplicates are not found.
        #expect(!tree.remove(IntervalTreeEntry(start: 1000, last: 2000, value: 8)))
        #expect(!tree.remove(IntervalTreeEntry(start: 1000, last: 1999, value: 7)))
        // Remove present ones in random order, checking queries on the way.
        var remaining = model.entries
        while !remaining.isEmpty {
            let entry = remaining.remove(at: Int(rng.below(UInt64(remaining.count))))
            #expect(tree.remove(entry), "remove(\(entry)) of a present entry")
            model.remove(entry)
            if remaining.count % 7 == 0 {
                try tree.validate()
                #expect(tree.countContaining(1000) == model.countContaining(1000))
                #expect(tree.countContaining(2000) == model.countContaining(2000))
                #expect(tree.firstOverlapping(start: 1500, last: 1500) == model.overlapping(start: 1500, last: 1500).first)
            }
        }
        #expect(tree.isEmpty)
    }

    @Test("a million entries: grown, queried and drained to empty")
    func growToAMillionAndDrain() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 4096)
        let size = 1_000_000
        var rng = Xorshift64(seed: 0xB7EE_0003)
        var entries: [IntervalTreeEntry] = []
        entries.reserveCapacity(size)
        for index in 0..<size { entries.append(WorkloadL.interval(&rng, value: UInt(index))) }
        for entry in entries { tree.insert(entry) }
        #expect(tree.count == size)
        try tree.validate()
        // Every hundredth entry is found by a stab at each of its ends.
        RCU.read {
            let snapshot = tree.snapshot()
            for entry in stride(from: 0, to: size, by: 100).map({ entries[$0] }) {
                var found = 0
                snapshot.forEachContaining(entry.last) { found += $0 == entry ? 1 : 0; return true }
                #expect(found >= 1, "\(entry) not found at its last address")
                #expect(snapshot.firstOverlapping(start: entry.start, last: entry.start) != nil)
            }
        }
        // Drain in an order unrelated to the keys.
        for (index, entry) in entries.enumerated() {
            #expect(tree.remove(entry))
            if index == size / 2 { try tree.validate() }
        }
        #expect(tree.isEmpty)
        try tree.validate()
        tree.waitForReclamation()
        let statistics = tree.memoryStatistics
        #expect(statistics.reclaimedNodes == statistics.retiredNodes)
    }

    @Test("a million random operations agree with a multiset model")
    func aMillionRandomOperations() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 256, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 0xB7EE_0004)
        // A multiset model: counts by entry, and the entries in an array for
        // picking one at random (swap-remove).
        var counts: [IntervalTreeEntry: Int] = [:]
        var present: [IntervalTreeEntry] = []
        let operations = 1_000_000
        for step in 0..<operations {
            let size = present.count
            // The size wanders between about 0 and 3000: the tree keeps growing
            // new levels and losing them.
            let phase = step % 160_000
            let target = (phase < 80_000 ? phase : 160_000 - phase) / 27
            if size == 0 || (size < target && rng.chance(60)) || (size >= target && rng.chance(40)) {
                let start = rng.below(1 << 16)
                let entry = IntervalTreeEntry(start: start, last: start + rng.below(1 << 10), value: UInt(rng.below(4)))
                tree.insert(entry)
                present.append(entry)
                counts[entry, default: 0] += 1
            } else if rng.chance(90) {
                let index = Int(rng.below(UInt64(size)))
                let entry = present[index]
                present.swapAt(index, size - 1)
                present.removeLast()
                counts[entry]! -= 1
                guard tree.remove(entry) else {
                    Issue.record("step \(step): remove(\(entry)) of a present entry returned false")
                    return
                }
            } else {
                let start = rng.below(1 << 16)
                let entry = IntervalTreeEntry(start: start, last: start + rng.below(1 << 10), value: UInt(rng.below(4)))
                let expected = counts[entry, default: 0] > 0
                if expected {
                    counts[entry]! -= 1
                    present.remove(at: present.firstIndex(of: entry)!)
                }
                guard tree.remove(entry) == expected else {
                    Issue.record("step \(step): remove(\(entry)) disagrees with the model (\(expected))")
                    return
                }
            }
            if step % 1024 == 0 {
                let point = rng.below(1 << 16)
                let expected = present.reduce(0) { $0 + ($1.start <= point && point <= $1.last ? 1 : 0) }
                guard tree.countContaining(point) == expected else {
                    Issue.record("step \(step): countContaining(\(point)) = \(tree.countContaining(point)), expected \(expected)")
                    return
                }
            }
            if step % 65_536 == 0 { try tree.validate() }
        }
        try tree.validate()
        #expect(tree.allEntries() == present.sorted(by: entryPrecedes))
    }

    @Test("immediate reclamation updates leaves in place and agrees with a multiset model")
    func inPlaceUpdatesUnderImmediateReclamation() throws {
        // The locked strategies' tree: readers hold the writers' lock, so an
        // update that keeps a leaf's smallest start and fill changes it in place.
        let tree = RCUIntervalTree(reclamation: .immediate)
        var rng = Xorshift64(seed: 0x1_0CED_0001)
        var present: [IntervalTreeEntry] = []
        let operations = 60_000
        for step in 0..<operations {
            // The size wanders between 0 and about 2 000 (splits and merges too);
            // few distinct starts and values make duplicates spanning leaves.
            let target = (step % 20_000 < 10_000 ? step % 20_000 : 20_000 - step % 20_000) / 5
            if present.isEmpty || (present.count < target ? rng.chance(60) : rng.chance(40)) {
                let start = rng.below(1 << 12)
                let entry = IntervalTreeEntry(start: start, last: start + rng.below(1 << 8), value: UInt(rng.below(3)))
                tree.insert(entry)
                present.append(entry)
            } else {
                let index = Int(rng.below(UInt64(present.count)))
                let entry = present[index]
                present.swapAt(index, present.count - 1)
                present.removeLast()
                guard tree.remove(entry) else {
                    Issue.record("step \(step): remove(\(entry)) of a present entry returned false")
                    return
                }
            }
            if step % 64 == 0 {
                // Exact max-lasts, keys, fill and count on every node.
                try tree.validate()
                let point = rng.below(1 << 12)
                let expected = present.reduce(0) { $0 + ($1.start <= point && point <= $1.last ? 1 : 0) }
                let counted = tree.writerLock.withLock { tree.snapshotProtected().countOverlapping(start: point, last: point) }
                guard counted == expected else {
                    Issue.record("step \(step): \(counted) entries contain \(point), expected \(expected)")
                    return
                }
            }
            if step % 4096 == 0 { #expect(tree.allEntries() == present.sorted(by: entryPrecedes), "step \(step)") }
        }
        try tree.validate()
        #expect(tree.allEntries() == present.sorted(by: entryPrecedes))
        // Most updates changed their leaf in place: a copy-on-write tree retires
        // at least one node per update (about 1.07 on average).
        let retired = tree.memoryStatistics.retiredNodes
        #expect(retired < operations / 4, "\(retired) nodes retired in \(operations) updates: not in place")
    }
}
