import ArgumentParser
import IntervalNotifier
import NotifierStress

#if canImport(Glibc)
import Glibc
#endif

/// The main job for now: fill RCU interval trees with workload L and print
/// lookup and update rates measured in this run.
@main
struct NotifierDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier-demo",
        abstract: "Tree lookup/update rates (workload L), then faulters and an invalidator on the engine.")

    @Option(help: "Tree sizes (comma separated).")
    var sizes: String = "1000,100000,1000000"

    @Option(help: "Queries per measurement.")
    var queries: Int = 1_000_000

    @Option(help: "Seed of the xorshift generator.")
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15

    @Flag(help: "A short run (CI): smaller trees, fewer queries, a 1-second engine workload.")
    var quick = false

    @Option(help: "Seconds of the engine demonstration workload.")
    var engineSeconds: Double = 5

    mutating func run() throws {
        if quick {
            sizes = "1000,100000"
            queries = min(queries, 200_000)
        }
        print("notifier-demo: RCU interval tree, workload L (start < 2^32, length 1...2^16)")
        print(String(repeating: "-", count: 78))
        print(pad("N", 10), pad("ns/count-all", 14), pad("ns/first-hit", 14), pad("ns/update pair", 16), pad("hits/query", 12))
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let r = DemoWorkload.measure(size: size, queries: queries, seed: seed)
            print(pad("\(size)", 10), pad(fmt(r.countAll), 14), pad(fmt(r.firstHit), 14), pad(fmt(r.updatePair), 16), pad(fmt(r.meanHits, 3), 12))
        }
        print("")
        print("engine: 2 faulters, 1 invalidator, 1 churner on one AddressSpace with 64 device mirrors,")
        print("the no-stale-mirror oracle checking, teardown at the end")
        print(String(repeating: "-", count: 78))
        var c = StressConfiguration()
        c.duration = quick ? 1 : engineSeconds
        c.seed = seed
        c.progress = !quick
        let result = StressRun(c).run()
        print(result.summary)
        if !result.isClean { throw ExitCode(1) }
    }

    func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    func fmt(_ value: Double, _ digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}

/// Workload L of shared/perf-anchors.md, measured single-threaded.
enum DemoWorkload {
    struct Result { var countAll: Double; var firstHit: Double; var updatePair: Double; var meanHits: Double }

    static func now() -> UInt64 { MonotonicClock.nanoseconds() }

    static func measure(size: Int, queries: Int, seed: UInt64) -> Result {
        var rng = Xorshift64(seed: seed)
        let tree = RCUIntervalTree()
        var live: [IntervalTreeEntry] = []
        live.reserveCapacity(size)
        for i in 0..<size {
            let e = WorkloadL.interval(&rng, value: UInt(i))
            tree.insert(e)
            live.append(e)
        }
        var hits = 0
        // Fresh random points each query (a 64-bit xorshift costs about 1 ns), so
        // that the cache is not warmed by repeated points.
        var queryRNG = Xorshift64(seed: seed ^ 0x5555)
        var t0 = now()
        RCU.read {
            let snap = tree.snapshot()
            for _ in 0..<queries {
                let p = WorkloadL.point(&queryRNG)
                hits &+= snap.countOverlapping(start: p, last: p)
            }
        }
        let countAll = Double(now() - t0) / Double(queries)
        var found = 0
        t0 = now()
        RCU.read {
            let snap = tree.snapshot()
            for _ in 0..<queries {
                let p = WorkloadL.point(&queryRNG)
                if snap.firstOverlapping(start: p, last: p) != nil { found &+= 1 }
            }
        }
        let firstHit = Double(now() - t0) / Double(queries)
        let updates = min(queries, 200_000)
        t0 = now()
        for i in 0..<updates {
            let index = Int(rng.next() % UInt64(live.count))
            tree.remove(live[index])
            let e = WorkloadL.interval(&rng, value: UInt(size + i))
            tree.insert(e)
            live[index] = e
        }
        let updatePair = Double(now() - t0) / Double(updates)
        let stats = tree.memoryStatistics
        print("    [N=\(size)] nodes allocated \(stats.allocatedNodes), retired \(stats.retiredNodes), reclaimed \(stats.reclaimedNodes)")
        return Result(countAll: countAll, firstHit: firstHit, updatePair: updatePair, meanHits: Double(hits) / Double(queries))
    }
}
