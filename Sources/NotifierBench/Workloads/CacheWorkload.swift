#if canImport(Glibc)
import Glibc
#endif
import CCachePeers
import IntervalNotifier
import NotifierHarness

/// `cache`: ``RegistrationCache`` against UCX's `ucs_rcache` on the same
/// workload (issue 13): N regions of one 4 KiB page each, registered in
/// shuffled order; hits (get + put) on uniformly random pages at 1 and 2
/// threads; miss and register; munmap of a cached page until the invalidation
/// is done; hits while a helper thread churns 64 KiB mmap/munmap.
///
/// Sides (the measurements' `strategy`): `notifier`, `ucx`; `notifier-churn`
/// and `ucx-churn` (hits during the churn: for ours the churn thread also
/// invalidates each unmapped range explicitly, as a monitor that saw every
/// munmap would; UCX's hooks see every munmap); for `op=munmap` also
/// `uffd-floor` (a C monitor thread that only reads and discards, munmap of a
/// registered page), `munmap` (a page nothing registered), `notifier` (ours
/// with the explicit source: munmap, then invalidateRangeStart/End) and
/// `notifier-uffd` (ours driven by the ``UserfaultfdMonitor``: munmap until the
/// monitor's invalidation deregistered the region; see ``UffdCacheSide``). The
/// munmap sides alternate in rounds. Once UCX is loaded its UCM hooks stay in
/// the process: every munmap of every side pays them.
///
/// Parameters `size=N op=hit|miss|munmap`; metrics `ns/op` (every op) and `ops/s`
/// (hits: aggregate).
public enum CacheWorkload {
    /// The workload's name in reports.
    public static let name = BenchWorkload.cache
    static let batch = 256
    /// Page spacing of the munmap measurement's pages, and how many per round.
    static let unmapsPerPoint = 64
    /// Rounds of the munmap measurement (each side once per round, alternating).
    static let munmapRounds = 5
    /// Misses per repetition.
    static let missesPerPoint = 1024

    /// Points and time of ``run(sizes:duration:placement:progress:)``.
    public static func plan(sizes: [Int], duration: Double) -> BenchPlan {
        // Both peers (planning does not load UCX to find out).
        let sides = 2
        let perSize = 3 * sides + 2 * sides + 2
        let setup = sizes.reduce(0.0) { $0 + Double($1) * Double(sides) * 2 * BenchPlan.secondsPerSubscription }
        return .points(perSize * sizes.count, duration: duration, setupSeconds: setup)
    }

    /// Runs every point at each size; prints why UCX is left out when it is.
    /// The munmap rounds give the `cache-invalidate-vs-uffd-floor` pairs
    /// (`notifier-uffd` against `uffd-floor`, one pair per round).
    public static func run(sizes: [Int], duration: Double, placement: BenchPlacement,
                           progress: BenchProgress? = nil) -> BenchItemOutput {
        var pairs: [PairedRatio] = []
        var peers: [CachePeer] = [.notifier]
        if let why = CacheFixture.ucxUnavailableReason {
            print("cache: UCX unavailable, measuring only ours: \(why)")
        } else {
            peers.append(.ucx)
        }
        var out: [BenchMeasurement] = []
        for size in sizes {
            let fixtures = peers.map { CacheFixture.shared($0, size: size) }
            let hit = BenchParameters(size: size, cacheOperation: .hit)
            for fixture in fixtures {
                for (threads, churn) in [(1, false), (1, true), (2, false)] {
                    let side = fixture.peer.side(churn: churn)
                    progress?.begin(workload: name, parameters: hit, strategy: side.name, threads: threads)
                    let result = hitPoint(fixture, threads: threads, churn: churn, placement: placement, duration: duration)
                    let perOp = measurement(hit, side, threads, .nanosecondsPerOperation, result.meanNanosecondsPerOperation,
                                            result.oversubscribed)
                    progress?.end(perOp)
                    out += [perOp, measurement(hit, side, threads, .opsPerSecond, result.aggregateRate, result.oversubscribed)]
                }
            }
            let miss = BenchParameters(size: size, cacheOperation: .miss)
            for fixture in fixtures {
                let side = fixture.peer.side(churn: false)
                progress?.begin(workload: name, parameters: miss, strategy: side.name, threads: 1)
                let m = measurement(miss, side, 1, .nanosecondsPerOperation, missPoint(fixture), false)
                progress?.end(m)
                out.append(m)
            }
            // The munmap sides alternate in rounds (A B C A B C ...), each
            // round a batch per side; a side's figure is its median round.
            let unmap = BenchParameters(size: size, cacheOperation: .munmap)
            let sides = munmapSides(fixtures)
            var rounds = [[Double]](repeating: [], count: sides.count)
            progress?.begin(workload: name, parameters: unmap, strategy: sides.map(\.side.name).joined(separator: "/"), threads: 1)
            for _ in 0..<munmapRounds {
                for (index, side) in sides.enumerated() { rounds[index].append(side.measure()) }
            }
            for (index, side) in sides.enumerated() {
                let sorted = rounds[index].sorted()
                let m = measurement(unmap, side.side, 1, .nanosecondsPerOperation, sorted[sorted.count / 2], false)
                out.append(m)
            }
            if let last = out.last { progress?.end(last) }
            if let ours = sides.firstIndex(where: { $0.side == .notifierUffd }),
               let floor = sides.firstIndex(where: { $0.side == .uffdFloor }) {
                let request = PairRequest(target: invalidateTarget, workload: name, parameters: unmap,
                                          metric: .nanosecondsPerOperation,
                                          numerator: PairedSide(strategy: .notifierUffd, threads: 1),
                                          denominator: PairedSide(strategy: .uffdFloor, threads: 1))
                pairs.append(PairedRatio(request: request, numeratorValues: rounds[ours], denominatorValues: rounds[floor]))
            }
        }
        printUntargetedRatios(out)
        return BenchItemOutput(measurements: out, pairs: pairs)
    }

    /// The target the munmap rounds pair (see ``TargetEvaluator``).
    static let invalidateTarget = "cache-invalidate-vs-uffd-floor"

    static func measurement(_ parameters: BenchParameters, _ side: BenchSide, _ threads: Int, _ metric: BenchMetric,
                            _ value: Double, _ oversubscribed: Bool) -> BenchMeasurement {
        BenchMeasurement(workload: name, parameters: parameters, strategy: side, threads: threads, metric: metric,
                         value: value, oversubscribed: oversubscribed)
    }

    /// The ratios the issue asks to see without a target: ours (explicit
    /// source) and the userfaultfd floor against UCX's hooked munmap, and UCX's
    /// own hits under churn.
    static func printUntargetedRatios(_ measurements: [BenchMeasurement]) {
        func value(_ parameters: BenchParameters, _ side: BenchSide) -> Double? {
            measurements.first {
                $0.parameters == parameters && $0.strategy == side && $0.threads == 1 && $0.metric == .nanosecondsPerOperation
            }?.value
        }
        let sizes = Set(measurements.compactMap(\.parameters.size)).sorted()
        for size in sizes {
            let unmap = BenchParameters(size: size, cacheOperation: .munmap)
            let hit = BenchParameters(size: size, cacheOperation: .hit)
            guard let ucx = value(unmap, .ucx) else { continue }
            for side in [BenchSide.notifier, .notifierUffd, .uffdFloor, .munmap] {
                guard let ours = value(unmap, side) else { continue }
                print("cache: munmap of a cached page, \(side) / ucx (hooked munmap) = \(String(format: "%.2f", ours / ucx))x at size=\(size) (no target)")
            }
            if let churn = value(hit, .ucxChurn), let calm = value(hit, .ucx) {
                print("cache: ucx hits under churn / without = \(String(format: "%.2f", churn / calm))x at size=\(size) (no target)")
            }
        }
    }

    // MARK: Hits

    /// Hits on uniformly random pages of `fixture` by `threads` workers, with
    /// a churn helper when `churn` is set.
    static func hitPoint(_ fixture: CacheFixture, threads: Int, churn: Bool, placement: BenchPlacement,
                         duration: Double) -> BenchRunResult {
        let helpers: [BenchThreadBody] = churn ? [{ churnLoop(fixture, worker: $0) }] : []
        return BenchRunner.run(placement: placement, duration: duration, workers: threads, { worker in
            switch fixture.peer {
            case .notifier: notifierHits(fixture.cache!, fixture.pages, fixture.size, worker: worker)
            case .ucx: ucxHits(fixture.rcache!, fixture.pages, fixture.size, worker: worker)
            }
        }, helpers: helpers)
    }

    @inline(never)
    static func notifierHits(_ cache: RegistrationCache, _ pages: UnsafeMutablePointer<UInt64>, _ count: Int,
                             worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index))
        worker.waitForStart()
        var operations: UInt64 = 0
        var sum: UInt = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let handle = try! cache.get(address: pages[benchRandom(&rng, below: count)], length: CacheFixture.pageSize)
                sum &+= handle.registration
                cache.put(handle)
            }
            operations &+= UInt64(batch)
        }
        benchBlackHole(sum)
        return BenchThreadOutput(operations: operations)
    }

    @inline(never)
    static func ucxHits(_ rcache: UnsafeMutableRawPointer, _ pages: UnsafeMutablePointer<UInt64>, _ count: Int,
                        worker: BenchWorker) -> BenchThreadOutput {
        var seed = BenchSeed.thread(worker.index)
        worker.waitForStart()
        var operations: UInt64 = 0
        var failed: UInt64 = 0
        while worker.isRunning {
            failed &+= ccp_ucx_hits(rcache, pages, count, UInt64(batch), &seed)
            operations &+= UInt64(batch)
        }
        if failed != 0 { fatalError("cache workload: \(failed) UCX gets failed") }
        return BenchThreadOutput(operations: operations)
    }

    /// 64 KiB mmap + munmap in a loop; for ours each unmapped range is also
    /// invalidated on the cache's address space (the monitor's job).
    static func churnLoop(_ fixture: CacheFixture, worker: BenchWorker) -> BenchThreadOutput {
        let length = 64 * 1024
        worker.waitForStart()
        var operations: UInt64 = 0
        while worker.isRunning {
            guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  mapped != MAP_FAILED else { fatalError("cache workload: churn mmap failed") }
            mapped.storeBytes(of: 1, as: UInt8.self)
            munmap(mapped, length)
            if let space = fixture.space {
                let start = UInt64(UInt(bitPattern: mapped))
                let range = try! InvalidationRange(start: start, end: start + UInt64(length))
                try! space.invalidateRangeStart(range)
                try! space.invalidateRangeEnd(range)
            }
            operations &+= 1
        }
        return BenchThreadOutput(operations: operations)
    }

    // MARK: Misses

    /// Mean ns of a get that misses and registers (fresh pages), then the
    /// pages are invalidated (untimed).
    static func missPoint(_ fixture: CacheFixture) -> Double {
        var total: UInt64 = 0
        var done = 0
        while done < missesPerPoint {
            let begin = MonotonicClock.nanoseconds()
            for _ in 0..<min(CacheFixture.missPages, missesPerPoint - done) { fixture.hitOnce(fixture.takeMissPage()) }
            total += MonotonicClock.nanoseconds() - begin
            done += min(CacheFixture.missPages, missesPerPoint - done)
        }
        fixture.forgetMisses()
        return Double(total) / Double(done)
    }

    // MARK: munmap

    /// One side of the munmap measurement.
    struct MunmapSide {
        var side: BenchSide
        var measure: () -> Double
    }

    static func munmapSides(_ fixtures: [CacheFixture]) -> [MunmapSide] {
        var sides = fixtures.map { fixture in MunmapSide(side: fixture.peer.side(churn: false)) { unmapCached(fixture) } }
        if UffdFloor.shared != nil { sides.append(MunmapSide(side: .uffdFloor) { unmapFloor() }) }
        if let uffd = UffdCacheSide.shared {
            sides.append(MunmapSide(side: .notifierUffd) { uffd.measure(count: unmapsPerPoint) })
        }
        sides.append(MunmapSide(side: .munmap) { unmapPlain() })
        return sides
    }

    /// Mean ns from munmap of a cached (mapped, populated) page to the region
    /// invalid: ours munmap + explicit invalidation; UCX's hooked munmap.
    static func unmapCached(_ fixture: CacheFixture) -> Double {
        var total: UInt64 = 0
        let stride = max(1, fixture.size / unmapsPerPoint)
        let count = min(unmapsPerPoint, fixture.size)
        for index in 0..<count {
            let address = fixture.pages[(index * stride) % fixture.size]
            guard ccp_map(address, CacheFixture.pageSize) == address else { fatalError("cache workload: mmap MAP_FIXED failed") }
            fixture.hitOnce(address)
            switch fixture.peer {
            case .notifier:
                let begin = MonotonicClock.nanoseconds()
                _ = ccp_unmap(address, CacheFixture.pageSize)
                let range = try! InvalidationRange(start: address, end: address + CacheFixture.pageSize)
                try! fixture.space!.invalidateRangeStart(range)
                try! fixture.space!.invalidateRangeEnd(range)
                total += MonotonicClock.nanoseconds() - begin
            case .ucx:
                total += ccp_timed_munmap(address, CacheFixture.pageSize)
            }
            // Back as it was: mapped (unpopulated) and cached.
            let again = mmap(UnsafeMutableRawPointer(bitPattern: UInt(address)), Int(CacheFixture.pageSize),
                             PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
            if again == MAP_FAILED { fatalError("cache workload: remap failed") }
            fixture.hitOnce(address)
        }
        return Double(total) / Double(count)
    }

    static func unmapFloor() -> Double {
        guard let floor = UffdFloor.shared else { return 0 }
        var total: UInt64 = 0
        for _ in 0..<unmapsPerPoint {
            let page = ccp_uffd_floor_map(floor.handle)
            guard page != 0 else { fatalError("cache workload: uffd floor mmap/register failed") }
            total += ccp_timed_munmap(page, CacheFixture.pageSize)
        }
        return Double(total) / Double(unmapsPerPoint)
    }

    static func unmapPlain() -> Double {
        var total: UInt64 = 0
        for _ in 0..<unmapsPerPoint {
            let page = ccp_map(0, CacheFixture.pageSize)
            guard page != 0 else { fatalError("cache workload: mmap failed") }
            total += ccp_timed_munmap(page, CacheFixture.pageSize)
        }
        return Double(total) / Double(unmapsPerPoint)
    }

    // MARK: Paired repetitions

    /// One side of a paired repetition at `parameters` (a `size=N op=hit` point).
    static func pairedMeasure(side: BenchSide, parameters: BenchParameters, metric: BenchMetric, threads: Int,
                              placement: BenchPlacement, seconds: Double) -> (() -> Double)? {
        guard let size = parameters.size, let hitSide = CachePeer.of(side) else { return nil }
        let (peer, churn) = hitSide
        if peer == .ucx && CacheFixture.ucxUnavailableReason != nil { return nil }
        switch parameters.cacheOperation {
        case .hit?:
            let fixture = CacheFixture.shared(peer, size: size)
            return {
                let result = hitPoint(fixture, threads: threads, churn: churn, placement: placement, duration: seconds)
                return metric == .opsPerSecond ? result.aggregateRate : result.meanNanosecondsPerOperation
            }
        default:
            return nil
        }
    }
}

extension CachePeer {
    /// The measurements' side of this peer, hits during churn or not.
    func side(churn: Bool) -> BenchSide {
        switch self {
        case .notifier: churn ? .notifierChurn : .notifier
        case .ucx: churn ? .ucxChurn : .ucx
        }
    }

    /// The peer and churn setting of a hit side; nil for the other sides.
    static func of(_ side: BenchSide) -> (peer: CachePeer, churn: Bool)? {
        switch side {
        case .notifier: (.notifier, false)
        case .notifierChurn: (.notifier, true)
        case .ucx: (.ucx, false)
        case .ucxChurn: (.ucx, true)
        default: nil
        }
    }
}

/// The userfaultfd floor's monitor (C), started once per process, or nil
/// where userfaultfd is unavailable (the reason is printed once).
final class UffdFloor: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private init(handle: UnsafeMutableRawPointer) { self.handle = handle }

    static let shared: UffdFloor? = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard let handle = ccp_uffd_floor_start(&buffer, buffer.count) else {
            print("cache: userfaultfd floor unavailable: " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            return nil
        }
        return UffdFloor(handle: handle)
    }()
}
