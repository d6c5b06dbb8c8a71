import IntervalNotifier
import Testing
import NotifierHarness

/// The tree against a brute-force model (an unordered array of entries) over long
/// random sequences of inserts, removes and every kind of query.
@Suite("RCUIntervalTree against a brute-force model")
struct IntervalTreeModelTests {
    /// Where random intervals come from.
    enum KeySpace: Sendable, CustomStringConvertible {
        /// Endpoints below the bound: overlaps, nesting and duplicates are frequent.
        case small(UInt64)
        /// Endpoints clustered at 0 and `UInt64.max` and a few values near them.
        case edges
        /// Endpoints anywhere in 64 bits, lengths spread over all magnitudes.
        case wide

        var description: String {
            switch self {
            case .small(let bound): return "small(\(bound))"
            case .edges: return "edges"
            case .wide: return "wide"
            }
        }
    }

    struct Scenario: Sendable, CustomStringConvertible {
        var seed: UInt64
        var keys: KeySpace
        /// Values are drawn below this bound: small bounds make exact duplicates.
        var valueBound: UInt64
        var operations: Int
        /// The size around which inserts and removes balance.
        var targetSize: Int
        var reclaimBatchSize: Int = 1024
        var poison = false

        var description: String {
            "seed \(seed), keys \(keys), values < \(valueBound), \(operations) ops, ~\(targetSize) entries, batch \(reclaimBatchSize)\(poison ? ", poisoned" : "")"
        }
    }

    static let scenarios: [Scenario] = [
        Scenario(seed: 1, keys: .small(16), valueBound: 2, operations: 3000, targetSize: 40),
        Scenario(seed: 2, keys: .small(100), valueBound: 3, operations: 4000, targetSize: 150, reclaimBatchSize: 1, poison: true),
        Scenario(seed: 3, keys: .small(1000), valueBound: 4, operations: 4000, targetSize: 250, reclaimBatchSize: 8, poison: true),
        Scenario(seed: 4, keys: .edges, valueBound: 3, operations: 3000, targetSize: 120, reclaimBatchSize: 8, poison: true),
        Scenario(seed: 5, keys: .wide, valueBound: 1 << 40, operations: 4000, targetSize: 300),
        Scenario(seed: 0xC0FFEE, keys: .small(64), valueBound: 1, operations: 4000, targetSize: 200, reclaimBatchSize: 16, poison: true),
    ]

    // MARK: The random walk

    @Test("random operations agree with the model", arguments: scenarios, IntervalTreeScanPolicy.bothScans)
    func randomOperationsAgreeWithModel(_ scenario: Scenario, scan: IntervalTreeScanPolicy) throws {
        var rng = Xorshift64(seed: scenario.seed)
        let tree = RCUIntervalTree(
            reclaimBatchSize: scenario.reclaimBatchSize, poisonReclaimedNodes: scenario.poison, scanPolicy: scan)
        var model = BruteForceIntervals()
        var drains = 0

        try checkEverything(tree, model, rng: &rng, scenario: scenario, step: -1)
        for step in 0..<scenario.operations {
            let context = "\(scenario), step \(step)"
            let growing = model.count < scenario.targetSize
            switch rng.below(100) {
            case 0..<(growing ? 55 : 35):
                let entry = randomEntry(&rng, scenario: scenario, model: model)
                tree.insert(entry)
                model.insert(entry)
            case 0..<75:
                // Remove an entry that is present (possibly one of several duplicates).
                if model.isEmpty { continue }
                let entry = rng.element(of: model.entries)
                let removed = tree.remove(entry)
                try #require(removed, "remove(\(entry)) of a present entry returned false; \(context)")
                model.remove(entry)
            case 0..<85:
                // Remove an entry that is usually absent: a near miss of a present
                // one (same interval, other value; or an endpoint moved by one).
                let entry = nearMiss(&rng, scenario: scenario, model: model)
                let expected = model.remove(entry)
                let removed = tree.remove(entry)
                try #require(removed == expected, "remove(\(entry)) returned \(removed), model says \(expected); \(context)")
            default:
                break
            }
            try checkQueries(tree, model, rng: &rng, scenario: scenario, context: context)
            if step % 50 == 0 || step == scenario.operations - 1 {
                try checkEverything(tree, model, rng: &rng, scenario: scenario, step: step)
            }
            // Now and then empty the tree completely, in random order.
            if step % 1000 == 999 {
                drains += 1
                var remaining = model.entries
                while !remaining.isEmpty {
                    let index = Int(rng.below(UInt64(remaining.count)))
                    let entry = remaining.remove(at: index)
                    try #require(tree.remove(entry), "draining: remove(\(entry)) returned false; \(context)")
                    model.remove(entry)
                    if remaining.count % 16 == 0 { try tree.validate() }
                }
                try checkEverything(tree, model, rng: &rng, scenario: scenario, step: step)
                #expect(tree.isEmpty)
            }
        }
        #expect(drains == scenario.operations / 1000)
    }

    /// Queries after one operation: random ranges, points at and next to the
    /// endpoints of present entries, and the whole key space.
    func checkQueries(
        _ tree: RCUIntervalTree, _ model: BruteForceIntervals, rng: inout Xorshift64, scenario: Scenario, context: String
    ) throws {
        for _ in 0..<3 {
            let (start, last) = randomQuery(&rng, scenario: scenario, model: model)
            try checkRange(tree, model, start: start, last: last, rng: &rng, context: context)
        }
        // Stabbing queries exactly at and one past the endpoints of an entry.
        if !model.isEmpty {
            let entry = rng.element(of: model.entries)
            var points = [entry.start, entry.last]
            if entry.start > 0 { points.append(entry.start - 1) }
            if entry.last < .max { points.append(entry.last + 1) }
            for point in points {
                let count = tree.countContaining(point)
                let expected = model.countContaining(point)
                try #require(count == expected, "countContaining(\(point)) = \(count), expected \(expected); \(context)")
            }
        }
    }

    /// Every query on one range, through a snapshot and through the tree's own
    /// read-side wrappers, compared with the model.
    func checkRange(
        _ tree: RCUIntervalTree, _ model: BruteForceIntervals, start: UInt64, last: UInt64, rng: inout Xorshift64, context: String
    ) throws {
        let expected = model.overlapping(start: start, last: last)
        let where_ = "query [\(start), \(last)]; \(context)"

        // firstOverlapping: the minimum by (start, last, value).
        let first = tree.firstOverlapping(start: start, last: last)
        try #require(first == expected.first, "firstOverlapping: got \(String(describing: first)), expected \(String(describing: expected.first)); \(where_)")

        // forEachOverlapping: exactly the overlapping multiset, in key order.
        var visited: [IntervalTreeEntry] = []
        let completed = tree.forEachOverlapping(start: start, last: last) { visited.append($0); return true }
        try #require(completed, "forEachOverlapping returned false although body never stopped; \(where_)")
        try #require(visited == expected, "forEachOverlapping visited \(visited), expected \(expected); \(where_)")

        // Early stop: returning false after k + 1 entries stops the walk there.
        if !expected.isEmpty {
            let stopAfter = Int(rng.below(UInt64(expected.count)))
            var prefix: [IntervalTreeEntry] = []
            let result = RCU.read {
                tree.snapshot().forEachOverlapping(start: start, last: last) { entry in
                    prefix.append(entry)
                    return prefix.count <= stopAfter
                }
            }
            try #require(!result, "forEachOverlapping did not report the early stop; \(where_)")
            try #require(prefix == Array(expected.prefix(stopAfter + 1)),
                         "early stop after \(stopAfter + 1): visited \(prefix); \(where_)")
        }

        // The counting queries and the snapshot's own first-hit search.
        let (snapshotCount, snapshotFirst, snapshotEmpty) = RCU.read {
            let snapshot = tree.snapshot()
            return (snapshot.countOverlapping(start: start, last: last),
                    snapshot.firstOverlapping(start: start, last: last),
                    snapshot.isEmpty)
        }
        try #require(snapshotCount == expected.count, "countOverlapping = \(snapshotCount), expected \(expected.count); \(where_)")
        try #require(snapshotFirst == expected.first, "snapshot firstOverlapping = \(String(describing: snapshotFirst)); \(where_)")
        try #require(snapshotEmpty == model.isEmpty, "snapshot isEmpty = \(snapshotEmpty) with \(model.count) entries; \(where_)")
        if start == last {
            let containing = tree.countContaining(start)
            try #require(containing == expected.count, "countContaining(\(start)) = \(containing), expected \(expected.count); \(where_)")
        }
    }

    /// Structure, full contents, counts and whole-key-space queries.
    func checkEverything(
        _ tree: RCUIntervalTree, _ model: BruteForceIntervals, rng: inout Xorshift64, scenario: Scenario, step: Int
    ) throws {
        let context = "\(scenario), step \(step)"
        do {
            try tree.validate()
        } catch {
            Issue.record("validate() failed: \(error); \(context)")
            throw error
        }
        let all = tree.allEntries()
        let expected = model.sorted()
        try #require(all == expected, "allEntries differs from the model; \(context)")
        let snapshotAll = RCU.read { tree.snapshot().allEntries() }
        try #require(snapshotAll == expected, "snapshot allEntries differs from the model; \(context)")
        #expect(tree.count == model.count, "count; \(context)")
        #expect(tree.isEmpty == model.isEmpty, "isEmpty; \(context)")
        #expect(tree.memoryStatistics.entries == model.count, "memoryStatistics.entries; \(context)")
        try checkRange(tree, model, start: 0, last: .max, rng: &rng, context: context)
        try checkRange(tree, model, start: 0, last: 0, rng: &rng, context: context)
        try checkRange(tree, model, start: .max, last: .max, rng: &rng, context: context)
    }

    // MARK: Random intervals

    func randomEndpoints(_ rng: inout Xorshift64, keys: KeySpace) -> (UInt64, UInt64) {
        let a: UInt64, b: UInt64
        switch keys {
        case .small(let bound):
            a = rng.below(bound)
            b = rng.chance(50) ? min(bound - 1, a + rng.below(bound / 4 + 1)) : rng.below(bound)
        case .edges:
            let special: [UInt64] = [0, 1, 2, 3, .max - 3, .max - 2, .max - 1, .max]
            a = rng.chance(70) ? rng.element(of: special) : rng.next()
            b = rng.chance(70) ? rng.element(of: special) : rng.next()
        case .wide:
            a = rng.next()
            let length = rng.next() >> rng.below(64)
            b = a.addingReportingOverflow(length).overflow ? .max : a + length
        }
        return (min(a, b), max(a, b))
    }

    /// A random entry, often related to one present: a duplicate, an interval
    /// nested in it or around it; or a point, or one touching 0 or `UInt64.max`.
    func randomEntry(_ rng: inout Xorshift64, scenario: Scenario, model: BruteForceIntervals) -> IntervalTreeEntry {
        let value = UInt(rng.below(scenario.valueBound))
        var (start, last) = randomEndpoints(&rng, keys: scenario.keys)
        let existing = model.isEmpty ? nil : rng.element(of: model.entries)
        switch rng.below(100) {
        case 0..<10:
            if let existing { return existing }  // exact duplicate
        case 10..<20:
            if let existing {  // nested inside
                start = rng.inRange(existing.start...existing.last)
                last = rng.inRange(start...existing.last)
            }
        case 20..<25:
            if let existing {  // around
                start = rng.inRange(0...existing.start)
                last = rng.inRange(existing.last...UInt64.max)
            }
        case 25..<32:
            last = start  // point
        case 32..<37:
            last = .max
        case 37..<42:
            start = 0
        case 42..<44:
            (start, last) = (0, .max)
        default:
            break
        }
        return IntervalTreeEntry(start: start, last: last, value: value)
    }

    /// An entry that is usually absent but close to a present one in key order.
    func nearMiss(_ rng: inout Xorshift64, scenario: Scenario, model: BruteForceIntervals) -> IntervalTreeEntry {
        guard !model.isEmpty, rng.chance(80) else { return randomEntry(&rng, scenario: scenario, model: model) }
        var entry = rng.element(of: model.entries)
        switch rng.below(5) {
        case 0: entry.value &+= 1
        case 1: if entry.value > 0 { entry.value -= 1 } else { entry.value = 7 }
        case 2: if entry.start < entry.last { entry.start += 1 } else { entry.value &+= 1 }
        case 3: if entry.last < .max { entry.last += 1 } else { entry.value &+= 1 }
        default: if entry.start > 0 { entry.start -= 1 } else { entry.value &+= 1 }
        }
        return entry
    }

    func randomQuery(_ rng: inout Xorshift64, scenario: Scenario, model: BruteForceIntervals) -> (UInt64, UInt64) {
        switch rng.below(10) {
        case 0:
            return (0, .max)
        case 1:
            let point = randomEndpoints(&rng, keys: scenario.keys).0
            return (point, point)
        case 2:
            // Exactly an entry's interval.
            if let entry = model.isEmpty ? nil : rng.element(of: model.entries) { return (entry.start, entry.last) }
            return (0, .max)
        default:
            return randomEndpoints(&rng, keys: scenario.keys)
        }
    }

    // MARK: Fixed cases

    @Test("the empty tree answers every query with nothing")
    func emptyTree() throws {
        let tree = RCUIntervalTree()
        try tree.validate()
        #expect(tree.isEmpty)
        #expect(tree.count == 0)
        #expect(tree.allEntries().isEmpty)
        #expect(tree.firstOverlapping(start: 0, last: .max) == nil)
        #expect(tree.countContaining(0) == 0)
        #expect(tree.countContaining(.max) == 0)
        var calls = 0
        #expect(tree.forEachOverlapping(start: 0, last: .max) { _ in calls += 1; return false })
        #expect(calls == 0)
        #expect(!tree.remove(IntervalTreeEntry(start: 0, last: 0, value: 0)))
        RCU.read {
            let snapshot = tree.snapshot()
            #expect(snapshot.isEmpty)
            #expect(snapshot.countOverlapping(start: 0, last: .max) == 0)
            // Nothing to visit: the walk completes even though the body would stop.
            #expect(snapshot.forEachContaining(5) { _ in false })
        }
        // Fill and empty again: the tree is empty as before.
        let entry = IntervalTreeEntry(start: 3, last: 9, value: 1)
        tree.insert(entry)
        #expect(!tree.isEmpty)
        #expect(tree.remove(entry))
        #expect(!tree.remove(entry))
        #expect(tree.isEmpty)
        #expect(tree.allEntries().isEmpty)
        try tree.validate()
    }

    @Test("extreme intervals, duplicates and nesting, by hand")
    func handPickedIntervals() throws {
        let tree = RCUIntervalTree()
        let everything = IntervalTreeEntry(start: 0, last: .max, value: 9)
        let top = IntervalTreeEntry(start: .max, last: .max, value: 1)
        let bottom = IntervalTreeEntry(start: 0, last: 0, value: 1)
        let middle = IntervalTreeEntry(start: 100, last: 200, value: 5)
        let nested = IntervalTreeEntry(start: 150, last: 160, value: 5)
        let tail = IntervalTreeEntry(start: 1 << 63, last: .max, value: 2)
        let entries = [everything, top, bottom, middle, nested, middle, tail, middle]
        for entry in entries { tree.insert(entry) }
        try tree.validate()
        #expect(tree.allEntries() == entries.sorted(by: entryPrecedes))

        #expect(tree.countContaining(0) == 2)
        #expect(tree.countContaining(.max) == 3)
        #expect(tree.countContaining(155) == 5)
        #expect(tree.countContaining(201) == 1)
        #expect(tree.countContaining(99) == 1)
        #expect(tree.firstOverlapping(start: 0, last: .max) == bottom)
        #expect(tree.firstOverlapping(start: 1, last: 150) == everything)
        #expect(tree.firstOverlapping(start: 1 << 63, last: .max) == everything)
        RCU.read {
            let snapshot = tree.snapshot()
            #expect(snapshot.countOverlapping(start: 0, last: .max) == entries.count)
            #expect(snapshot.countOverlapping(start: 201, last: (1 << 63) - 1) == 1)
            #expect(snapshot.countOverlapping(start: 160, last: 160) == 5)
            #expect(snapshot.countOverlapping(start: 161, last: 161) == 4)
        }

        // Removing one of three duplicates leaves two.
        #expect(tree.remove(middle))
        #expect(tree.countContaining(100) == 3)
        #expect(tree.remove(middle))
        #expect(tree.remove(middle))
        #expect(!tree.remove(middle))
        #expect(!tree.remove(IntervalTreeEntry(start: 150, last: 160, value: 6)))
        #expect(tree.countContaining(100) == 1)
        try tree.validate()
        for entry in [everything, top, bottom, nested, tail] { #expect(tree.remove(entry)) }
        #expect(tree.isEmpty)
        try tree.validate()
    }

    @Test("ascending, descending and interleaved inserts keep the tree balanced")
    func sortedInsertOrders() throws {
        // Sorted input is the classic worst case for rotations and for the
        // subtree maximum carried through them.
        for order in 0..<3 {
            let tree = RCUIntervalTree(reclaimBatchSize: 4, poisonReclaimedNodes: true)
            var model = BruteForceIntervals()
            let n: UInt64 = 600
            for i in 0..<n {
                let k: UInt64
                switch order {
                case 0: k = i
                case 1: k = n - 1 - i
                default: k = i % 2 == 0 ? i / 2 : n - 1 - i / 2
                }
                // Lengths scattered by a multiplicative hash, so that the subtree
                // maximum comes from the left child, the right child or the node
                // itself, and moves with every rotation.
                let entry = IntervalTreeEntry(start: k, last: k + (k * 7919 % n) * 3, value: UInt(k % 3))
                tree.insert(entry)
                model.insert(entry)
            }
            try tree.validate()
            #expect(tree.allEntries() == model.sorted())
            for point in stride(from: UInt64(0), through: 4 * n, by: 37) {
                #expect(tree.countContaining(point) == model.countContaining(point), "order \(order), point \(point)")
            }
            // Remove every other entry in ascending key order, then the rest descending.
            let sorted = model.sorted()
            for (index, entry) in sorted.enumerated() where index % 2 == 0 {
                #expect(tree.remove(entry))
                model.remove(entry)
            }
            try tree.validate()
            #expect(tree.allEntries() == model.sorted())
            for entry in model.sorted().reversed() {
                #expect(tree.remove(entry))
                model.remove(entry)
            }
            try tree.validate()
            #expect(tree.isEmpty)
            tree.waitForReclamation()
        }
    }
}
