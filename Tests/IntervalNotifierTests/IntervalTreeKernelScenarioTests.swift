import IntervalNotifier
import Testing
import NotifierHarness

/// The Linux kernel's `lib/interval_tree_test.c`, with loop counts reduced so
/// that it runs quickly in debug builds, and with every answer checked against
/// brute force (the kernel only times its loops).
///
/// Kernel parameters and defaults: `nnodes` 100, `perf_loops` 1000, `nsearches`
/// 100, `search_loops` 1000, `max_endpoint` ~0U (UInt32.max). Intervals are
/// `b = rand % max_endpoint; a = rand % b; [a, b]`.
@Suite("Kernel lib/interval_tree_test.c scenario")
struct IntervalTreeKernelScenarioTests {
    static let nnodes = 100
    static let perfLoops = 100
    static let nsearches = 100
    static let searchLoops = 10
    static let intersectionLoops = 200

    /// The kernel's `init()`: `nnodes` random intervals and `nsearches` query points.
    /// Each node's value is its index, so visits can be marked in a bitmap.
    static func makeNodes(maxEndpoint: UInt64, seed: UInt64) -> (nodes: [IntervalTreeEntry], queries: [UInt64]) {
        var rng = Xorshift64(seed: seed)
        var nodes: [IntervalTreeEntry] = []
        for i in 0..<nnodes {
            let b = rng.next() % maxEndpoint
            // The kernel divides by b unguarded; b == 0 makes the interval [0, 0].
            let a = b == 0 ? 0 : rng.next() % b
            nodes.append(IntervalTreeEntry(start: a, last: b, value: UInt(i)))
        }
        let queries = (0..<nsearches).map { _ in rng.next() % maxEndpoint }
        return (nodes, queries)
    }

    @Test("insert all, remove all (perf_loops)", arguments: [UInt64(UInt32.max), 1000])
    func insertRemoveLoops(maxEndpoint: UInt64) throws {
        let (nodes, _) = Self.makeNodes(maxEndpoint: maxEndpoint, seed: 3141592653 ^ maxEndpoint)
        let tree = RCUIntervalTree(reclaimBatchSize: 64, poisonReclaimedNodes: true)
        var rng = Xorshift64(seed: 42)
        let sortedNodes = nodes.sorted(by: entryPrecedes)
        for loop in 0..<Self.perfLoops {
            for node in nodes { tree.insert(node) }
            #expect(tree.count == Self.nnodes)
            if loop % 10 == 0 {
                try tree.validate()
                try #require(tree.allEntries() == sortedNodes, "loop \(loop): contents after inserting all nodes")
            }
            // The kernel removes in insertion order; odd loops use a random order
            // so that deletions hit every shape of subtree.
            var order = nodes
            if loop % 2 == 1 { order.shuffle(using: &rng) }
            for (index, node) in order.enumerated() {
                try #require(tree.remove(node), "loop \(loop): remove(\(node)) returned false")
                if loop % 10 == 0 && index % 10 == 0 { try tree.validate() }
            }
            #expect(tree.isEmpty, "loop \(loop): not empty after removing every node")
            try #require(tree.allEntries().isEmpty)
        }
        try tree.validate()
        tree.waitForReclamation()
        let statistics = tree.memoryStatistics
        #expect(statistics.reclaimedNodes == statistics.retiredNodes)
        #expect(statistics.entries == 0)
    }

    @Test("point searches (search_loops x nsearches) count like brute force", arguments: [UInt64(UInt32.max), 1000])
    func pointSearches(maxEndpoint: UInt64) throws {
        let (nodes, queries) = Self.makeNodes(maxEndpoint: maxEndpoint, seed: 2718281828 ^ maxEndpoint)
        let tree = RCUIntervalTree()
        for node in nodes { tree.insert(node) }
        try tree.validate()
        let expected = queries.map { point in nodes.filter { $0.overlaps(start: point, last: point) }.count }
        var totalResults = 0
        for loop in 0..<Self.searchLoops {
            for (j, point) in queries.enumerated() {
                // The kernel's search(): iterate from the first hit with iter_next.
                let results = RCU.read { tree.snapshot().countOverlapping(start: point, last: point) }
                try #require(results == expected[j], "loop \(loop), query \(point): \(results) hits, expected \(expected[j])")
                totalResults += results
            }
        }
        #expect(totalResults == Self.searchLoops * expected.reduce(0, +))
        // With 100 intervals of mean length maxEndpoint / 4 some queries must hit;
        // a tree that finds nothing would pass the loop above only if brute force did too.
        #expect(expected.contains { $0 > 0 })
    }

    @Test("range iteration visits exactly the intersecting nodes (bitmap check)", arguments: [UInt64(UInt32.max), 1000])
    func rangeIterationBitmap(maxEndpoint: UInt64) throws {
        let (nodes, _) = Self.makeNodes(maxEndpoint: maxEndpoint, seed: 1414213562 ^ maxEndpoint)
        let tree = RCUIntervalTree()
        for node in nodes { tree.insert(node) }
        try tree.validate()
        var rng = Xorshift64(seed: 1732050807 ^ maxEndpoint)
        var nonEmptyRanges = 0
        for loop in 0..<Self.intersectionLoops {
            let x = rng.next() % maxEndpoint, y = rng.next() % maxEndpoint
            let (start, last) = (min(x, y), max(x, y))
            var expected = [Bool](repeating: false, count: Self.nnodes)
            for node in nodes where node.overlaps(start: start, last: last) { expected[Int(node.value)] = true }

            var visited = [Bool](repeating: false, count: Self.nnodes)
            var visitedTwice: [UInt] = []
            var previous: IntervalTreeEntry?
            var outOfOrder = false
            tree.forEachOverlapping(start: start, last: last) { entry in
                if visited[Int(entry.value)] { visitedTwice.append(entry.value) }
                visited[Int(entry.value)] = true
                if let previous, entryPrecedes(entry, previous) { outOfOrder = true }
                previous = entry
                return true
            }
            try #require(visitedTwice.isEmpty, "loop \(loop), range [\(start), \(last)]: nodes visited twice: \(visitedTwice)")
            try #require(!outOfOrder, "loop \(loop), range [\(start), \(last)]: visits out of key order")
            let missing = (0..<Self.nnodes).filter { expected[$0] && !visited[$0] }
            let extra = (0..<Self.nnodes).filter { !expected[$0] && visited[$0] }
            try #require(missing.isEmpty && extra.isEmpty,
                         "loop \(loop), range [\(start), \(last)]: missing nodes \(missing), extra nodes \(extra)")
            if expected.contains(true) { nonEmptyRanges += 1 }
            // The kernel's first-hit check: iter_first is the lowest intersecting node.
            let first = tree.firstOverlapping(start: start, last: last)
            let expectedFirst = nodes.filter { $0.overlaps(start: start, last: last) }.min(by: entryPrecedes)
            try #require(first == expectedFirst, "loop \(loop), range [\(start), \(last)]: first \(String(describing: first))")
        }
        #expect(nonEmptyRanges > Self.intersectionLoops / 2)
    }
}
