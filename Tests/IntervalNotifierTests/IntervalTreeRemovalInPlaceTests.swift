@testable import IntervalNotifier
import NotifierHarness
import Testing

/// Removal in place under RCU: a remove that leaves its leaf at or above the
/// minimum fill sets the entry's `last` to 0 in the published leaf instead of
/// copying the leaf, and the leaf's next copy leaves the entry out.
@Suite("RCUIntervalTree removal in place")
struct IntervalTreeRemovalInPlaceTests {
    /// Every leaf of the tree, left to right (writer side: call with no writer running).
    static func leaves(_ tree: RCUIntervalTree) -> [IntervalTreeNodePointer] {
        guard let root = tree.storage.writer.pointee.root else { return [] }
        var result: [IntervalTreeNodePointer] = []
        func walk(_ node: IntervalTreeNodePointer) {
            if node.isLeaf { result.append(node); return }
            for index in 0..<node.count { walk(IntervalTreeWriter.childProtected(node, index)) }
        }
        walk(root)
        return result
    }

    /// Entries removed in place still in the leaves.
    static func removedInPlace(_ tree: RCUIntervalTree) -> Int {
        leaves(tree).reduce(0) { $0 + $1.pointee.removedCount }
    }

    /// Entries overlapping `[start, last]`, counted by a reader.
    static func count(_ tree: RCUIntervalTree, _ start: UInt64, _ last: UInt64) -> Int {
        RCU.read { tree.snapshot().countOverlapping(start: start, last: last) }
    }

    /// A tree of `count` entries with distinct starts 1000, 2000, ... (none at 0).
    static func tree(count: Int, scan: IntervalTreeScanPolicy = .automatic) -> (RCUIntervalTree, [IntervalTreeEntry]) {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, scanPolicy: scan)
        var entries: [IntervalTreeEntry] = []
        for index in 1...count {
            let start = UInt64(index) * 1000
            let entry = IntervalTreeEntry(start: start, last: start + 500 + UInt64(index % 7) * 100, value: UInt(index))
            tree.insert(entry)
            entries.append(entry)
        }
        return (tree, entries)
    }

    @Test("the removed count lies where the writer updates it by address, apart from what readers read")
    func headerLayout() {
        #expect(MemoryLayout<IntervalTreeNode>.offset(of: \IntervalTreeNode.removedCount) == IntervalTreeLayout.removedCountOffset)
        #expect(MemoryLayout<IntervalTreeNode>.offset(of: \IntervalTreeNode.count) == 0)
        #expect(MemoryLayout<IntervalTreeNode>.size == IntervalTreeLayout.startsOffset)
    }

    @Test("a remove inside a leaf copies nothing; readers skip the entry at once and keep every other",
          arguments: IntervalTreeScanPolicy.bothScans)
    func removalCopiesNothing(scan: IntervalTreeScanPolicy) throws {
        let (tree, entries) = Self.tree(count: 200, scan: scan)
        try tree.validate()
        // The second entry of the second leaf: not a leaf's first entry.
        let leaf = Self.leaves(tree)[1]
        let victim = entries.first { $0.start == leaf.starts[1] }!
        let before = tree.memoryStatistics
        let root = tree.storage.writer.pointee.root
        #expect(tree.remove(victim))
        let after = tree.memoryStatistics
        #expect(after.retiredNodes == before.retiredNodes, "the remove copied \(after.retiredNodes - before.retiredNodes) nodes")
        #expect(tree.storage.writer.pointee.root == root, "the remove published a new root")
        // The entry's start and value stay where they were, for a reader inside the leaf.
        #expect(leaf.starts[1] == victim.start && leaf.slots[1] == UInt64(victim.value) && leaf.lasts[1] == 0)
        #expect(Self.removedInPlace(tree) == 1)
        try tree.validate()
        let others = entries.filter { $0 != victim }
        #expect(tree.allEntries() == others)
        #expect(tree.countContaining(victim.start) == 0)
        #expect(tree.firstOverlapping(start: victim.start, last: victim.last)?.value != victim.value)
        for entry in others.prefix(50) { #expect(tree.countContaining(entry.start) >= 1, "lost \(entry)") }
        tree.waitForReclamation()
    }

    @Test("queries that start at 0 skip entries removed in place (count, visit, first hit)",
          arguments: IntervalTreeScanPolicy.bothScans)
    func queriesFromZero(scan: IntervalTreeScanPolicy) throws {
        let (tree, entries) = Self.tree(count: 200, scan: scan)
        var removed: [IntervalTreeEntry] = []
        for leaf in Self.leaves(tree).prefix(4) {
            removed.append(entries.first { $0.start == leaf.starts[2] }!)
        }
        for entry in removed { #expect(tree.remove(entry)) }
        #expect(Self.removedInPlace(tree) == removed.count)
        let live = entries.filter { !removed.contains($0) }
        // Every entry overlaps [0, max]: only the test of last against start
        // tells a removed one from a live one.
        #expect(Self.count(tree, 0, .max) == live.count)
        var visited: [IntervalTreeEntry] = []
        _ = RCU.read {
            tree.snapshot().forEachOverlapping(start: 0, last: .max) { visited.append($0); return true }
        }
        #expect(visited == live)
        #expect(tree.firstOverlapping(start: 0, last: .max) == live.first)
        // [0, start of a removed entry]: the removed entry is last in key order among the candidates.
        let probe = removed[1]
        #expect(Self.count(tree, 0, probe.start) == live.filter { $0.start <= probe.start }.count)
        tree.waitForReclamation()
    }

    @Test("the next copy of a leaf leaves its removed entries out")
    func copiesCompact() throws {
        let (tree, entries) = Self.tree(count: 200)
        let leaf = Self.leaves(tree)[3]
        let count = leaf.count
        #expect(count > IntervalTreeLayout.minimumFill + 1)
        let victims = [1, count - 1].map { index in entries.first { $0.start == leaf.starts[index] }! }
        for entry in victims { #expect(tree.remove(entry)) }
        #expect(Self.removedInPlace(tree) == 2)
        // An insert into that leaf copies it, without the two.
        let added = IntervalTreeEntry(start: leaf.starts[1] + 1, last: leaf.starts[1] + 10, value: 999_999)
        tree.insert(added)
        #expect(Self.removedInPlace(tree) == 0)
        try tree.validate()
        var expected = entries.filter { !victims.contains($0) }
        expected.append(added)
        #expect(tree.allEntries() == expected.sorted(by: entryPrecedes))
        tree.waitForReclamation()
    }

    @Test("a leaf's first entry, an entry starting at 0 and one that would underfill the leaf are removed by a copy")
    func removalsThatCopy() throws {
        let (tree, entries) = Self.tree(count: 200)
        let zero = IntervalTreeEntry(start: 0, last: 700, value: 0)
        let zeroTwin = IntervalTreeEntry(start: 0, last: 800, value: 1)
        tree.insert(zero)
        tree.insert(zeroTwin)
        var live = [zero, zeroTwin] + entries
        func removeExpectingCopy(_ entry: IntervalTreeEntry) throws {
            let before = tree.memoryStatistics.retiredNodes
            #expect(tree.remove(entry))
            #expect(tree.memoryStatistics.retiredNodes > before, "removing \(entry) copied nothing")
            live.removeAll { $0 == entry }
            try tree.validate()
        }
        // [0, 800] sits second in the first leaf, but starts at 0.
        try removeExpectingCopy(zeroTwin)
        // The first entry of a leaf is its key in the parent.
        let second = Self.leaves(tree)[1]
        try removeExpectingCopy(entries.first { $0.start == second.starts[0] }!)
        // A leaf at the minimum fill.
        let third = Self.leaves(tree)[2]
        // Its first live entry after its key.
        func secondLive() -> IntervalTreeEntry {
            let index = (1..<third.count).first { third.lasts[$0] >= third.starts[$0] }!
            return live.first { $0.start == third.starts[index] }!
        }
        while third.count - third.pointee.removedCount > IntervalTreeLayout.minimumFill {
            let entry = secondLive()
            #expect(tree.remove(entry))
            live.removeAll { $0 == entry }
        }
        try removeExpectingCopy(secondLive())
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
        #expect(Self.count(tree, 0, .max) == live.count)
        tree.waitForReclamation()
    }

    @Test("validation rejects a leaf whose first entry is marked removed, or whose removed count is wrong")
    func validationCatchesBadMarks() throws {
        let (tree, entries) = Self.tree(count: 100)
        let leaf = Self.leaves(tree)[1]
        #expect(tree.remove(entries.first { $0.start == leaf.starts[1] }!))
        try tree.validate()
        // A wrong count.
        leaf.pointee.removedCount = 2
        #expect(throws: IntervalTreeStorage.InvariantViolation.self) { try tree.validate() }
        leaf.pointee.removedCount = 1
        try tree.validate()
        // The first entry marked removed (a removal in place must never do this).
        let savedLast = leaf.lasts[0]
        leaf.lasts[0] = 0
        leaf.pointee.removedCount = 2
        #expect(throws: IntervalTreeStorage.InvariantViolation.self) { try tree.validate() }
        leaf.lasts[0] = savedLast
        leaf.pointee.removedCount = 1
        try tree.validate()
        tree.waitForReclamation()
    }
}
