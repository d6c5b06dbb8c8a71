import Testing
@testable import IntervalNotifier
import NotifierHarness

/// `RCUIntervalTree.remove(_:thenInsert:)`: the remove's descent walks the
/// insert's path beside its own (a prefetch); the pair must behave exactly as
/// `remove` then `insert`, on both kinds of tree.
@Suite("Interval tree: remove then insert")
struct IntervalTreeRemoveThenInsertTests {
    @Test("remove-then-insert pairs agree with a multiset model, copy-on-write and in place",
          arguments: [IntervalTreeReclamation.rcu(.memb), .immediate])
    func pairsAgreeWithTheModel(reclamation: IntervalTreeReclamation) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 64, poisonReclaimedNodes: true, reclamation: reclamation)
        var rng = Xorshift64(seed: 0x2E40_0001)
        var present: [IntervalTreeEntry] = []
        func randomEntry() -> IntervalTreeEntry {
            // Few distinct starts and values: duplicates spanning leaves.
            let start = rng.below(1 << 12)
            return IntervalTreeEntry(start: start, last: start + rng.below(1 << 8), value: UInt(rng.below(3)))
        }
        var pairs = 0, refused = 0
        for step in 0..<120_000 {
            // The size wanders between 0 and about 2 000 by plain inserts and
            // removes; in between, pairs keep it (their own splits and merges
            // come from the entries moving between leaves).
            let phase = step % 40_000
            let target = (phase < 20_000 ? phase : 40_000 - phase) / 10
            if present.count < target && rng.chance(30) {
                let entry = randomEntry()
                tree.insert(entry)
                present.append(entry)
            } else if present.count > target && rng.chance(30) {
                let index = Int(rng.below(UInt64(present.count)))
                #expect(tree.remove(present.swapRemove(at: index)))
            } else if present.isEmpty || rng.chance(10) {
                // An `old` that may be absent: then nothing is inserted.
                let old = randomEntry(), new = randomEntry()
                let expected = present.firstIndex(of: old)
                guard tree.remove(old, thenInsert: new) == (expected != nil) else {
                    Issue.record("step \(step): remove(\(old), thenInsert:) disagrees with the model (present: \(expected != nil))")
                    return
                }
                if let expected {
                    _ = present.swapRemove(at: expected)
                    present.append(new)
                } else {
                    refused += 1
                }
            } else {
                let index = Int(rng.below(UInt64(present.count)))
                let old = present[index], new = randomEntry()
                guard tree.remove(old, thenInsert: new) else {
                    Issue.record("step \(step): remove(\(old), thenInsert:) of a present entry returned false")
                    return
                }
                present[index] = new
                pairs += 1
            }
            if step % 64 == 0 {
                try tree.validate()
                #expect(tree.count == present.count, "step \(step)")
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
        #expect(pairs > 50_000 && refused > 1_000, "pairs \(pairs), refused \(refused)")
    }

    @Test("a pair whose entry is missing changes nothing; a pair on a one-entry tree replaces its root leaf")
    func edges() throws {
        let tree = RCUIntervalTree()
        let a = IntervalTreeEntry(start: 10, last: 20, value: 1)
        let b = IntervalTreeEntry(start: 0, last: UInt64.max, value: 2)
        #expect(!tree.remove(a, thenInsert: b))
        #expect(tree.count == 0 && tree.allEntries().isEmpty)
        tree.insert(a)
        #expect(tree.remove(a, thenInsert: b))
        #expect(tree.allEntries() == [b])
        #expect(!tree.remove(a, thenInsert: a))
        #expect(tree.allEntries() == [b])
        #expect(tree.remove(b, thenInsert: b))
        #expect(tree.allEntries() == [b])
        try tree.validate()
    }
}

extension Array {
    /// Removes and returns element `index`, moving the last element into its place.
    fileprivate mutating func swapRemove(at index: Int) -> Element {
        swapAt(index, count - 1)
        return removeLast()
    }
}
