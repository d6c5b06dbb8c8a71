// The fan-out probe: first hit and update pair at one tree size, against an
// in-process reference (a dependent binary search over the same starts), in
// alternating repetitions (tree, reference, tree, reference, ...).
//
// The fan-out is a compile-time constant of the library; build one binary per
// fan-out and run them in turn (scripts/tree-fanout-probe.sh):
//     swift build -c release --product TreeFanoutProbe -Xswiftc -DINTERVAL_TREE_FANOUT_32
// Prints one line per figure: median with min-max over the repetitions.

@_spi(Benchmarking) import IntervalNotifier
import NotifierHarness
import Glibc

nonisolated func nowNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// `n` first-hit stabs, each point depending on the previous answer.
@inline(never)
nonisolated func dependentFirstHits(_ tree: BenchmarkTree, _ n: Int, _ rng: inout Xorshift64) -> UInt64 {
    BenchmarkRCU.read {
        let snapshot = tree.snapshot()
        var salt: UInt64 = 0
        for _ in 0..<n {
            let point = (WorkloadL.point(&rng) &+ salt) & 0xFFFF_FFFF
            salt = snapshot.firstOverlapping(start: point, last: point).map { $0.start & 1 } ?? 0
        }
        return salt
    }
}

/// `n` lower-bound searches over sorted `starts`, each point depending on the previous answer.
@inline(never)
nonisolated func dependentBinarySearches(_ starts: UnsafeBufferPointer<UInt64>, _ n: Int, _ rng: inout Xorshift64) -> UInt64 {
    var salt: UInt64 = 0
    for _ in 0..<n {
        let point = (WorkloadL.point(&rng) &+ salt) & 0xFFFF_FFFF
        var low = 0, high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] < point { low = middle + 1 } else { high = middle }
        }
        salt = low < starts.count ? starts[low] & 1 : 0
    }
    return salt
}

/// `n` update pairs: remove a random live entry, insert a new random one in its place.
@inline(never)
nonisolated func updatePairs(_ tree: BenchmarkTree, _ live: UnsafeMutableBufferPointer<BenchmarkTree.Entry>,
                             _ n: Int, _ rng: inout Xorshift64, _ value: inout UInt, overlapped: Bool = false) {
    for _ in 0..<n {
        let index = Int(rng.next() % UInt64(live.count))
        let (start, last) = WorkloadL.bounds(&rng)
        let entry = BenchmarkTree.Entry(start: start, last: last, value: value)
        value &+= 1
        if overlapped {
            guard tree.remove(live[index], thenInsert: entry) else { fatalError("live entry missing") }
        } else {
            guard tree.remove(live[index]) else { fatalError("live entry missing") }
            tree.insert(entry)
        }
        live[index] = entry
    }
}

nonisolated func summary(_ values: [Double]) -> String {
    let sorted = values.sorted()
    let median = sorted[sorted.count / 2]
    func f(_ x: Double) -> String { String(Int((x * 100).rounded())).withDecimal }
    return "\(f(median)) (\(f(sorted.first!))-\(f(sorted.last!)))"
}

extension String {
    /// "12345" (hundredths) as "123.45".
    var withDecimal: String {
        let padded = count < 3 ? String(repeating: "0", count: 3 - count) + self : self
        return String(padded.dropLast(2)) + "." + String(padded.suffix(2))
    }
}

nonisolated func run() {
    let arguments = CommandLine.arguments
    let size = arguments.count > 1 ? Int(arguments[1])! : 1_000_000
    let repetitions = arguments.count > 2 ? Int(arguments[2])! : 5
    let lookups = 200_000, updates = 50_000
    var rng = Xorshift64(seed: 0x5EED_0000_0100_0000)
    let tree = BenchmarkTree()
    let live = UnsafeMutableBufferPointer<BenchmarkTree.Entry>.allocate(capacity: size)
    var starts = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: size)
    for index in 0..<size {
        let (start, last) = WorkloadL.bounds(&rng)
        live[index] = BenchmarkTree.Entry(start: start, last: last, value: UInt(index))
        tree.insert(live[index])
        starts[index] = start
    }
    starts.sort()
    var value = UInt(size)
    var treeLookup: [Double] = [], referenceLookup: [Double] = [], ratioLookup: [Double] = []
    var treeUpdate: [Double] = [], ratioUpdate: [Double] = [], overlappedUpdate: [Double] = []
    var sink: UInt64 = 0
    let retiredBefore = tree.memoryStatistics.retiredNodes
    var queryRNG = Xorshift64(seed: 0xFEED)
    // Warm-up round, not recorded.
    sink &+= dependentFirstHits(tree, lookups / 4, &queryRNG)
    sink &+= dependentBinarySearches(UnsafeBufferPointer(starts), lookups / 4, &queryRNG)
    for _ in 0..<repetitions {
        var t0 = nowNanoseconds()
        sink &+= dependentFirstHits(tree, lookups, &queryRNG)
        let a = Double(nowNanoseconds() - t0) / Double(lookups)
        t0 = nowNanoseconds()
        sink &+= dependentBinarySearches(UnsafeBufferPointer(starts), lookups, &queryRNG)
        let b = Double(nowNanoseconds() - t0) / Double(lookups)
        t0 = nowNanoseconds()
        updatePairs(tree, live, updates, &rng, &value)
        let u = Double(nowNanoseconds() - t0) / Double(updates)
        t0 = nowNanoseconds()
        updatePairs(tree, live, updates, &rng, &value, overlapped: true)
        overlappedUpdate.append(Double(nowNanoseconds() - t0) / Double(updates))
        treeLookup.append(a)
        referenceLookup.append(b)
        ratioLookup.append(a / b)
        treeUpdate.append(u)
        ratioUpdate.append(u / b)
    }
    let statistics = tree.memoryStatistics
    print("fanout \(BenchmarkTree.fanout) node \(BenchmarkTree.nodeBytes) B, N=\(size), \(repetitions) reps, median (min-max):")
    print("  first hit (dependent)          ns  \(summary(treeLookup))")
    print("  binary search reference        ns  \(summary(referenceLookup))")
    print("  first hit / reference              \(summary(ratioLookup))")
    print("  update pair                    ns  \(summary(treeUpdate))")
    print("  update pair, overlapped     ns  \(summary(overlappedUpdate))")
    print("  overlapped / plain                 \(summary(zip(overlappedUpdate, treeUpdate).map { $0 / $1 }))")
    print("  update pair / reference            \(summary(ratioUpdate))")
    let copies = Double(statistics.retiredNodes - retiredBefore) / Double(2 * repetitions * updates)
    print("  nodes copied per update pair       \(summary([copies]))")
    print("  nodes allocated \(statistics.allocatedNodes), bytes per interval \(statistics.allocatedNodes * BenchmarkTree.nodeBytes / size), height \(statistics.height) (sink \(sink & 1))")
}

run()
