#if canImport(Glibc)
import Glibc
#endif
import CNotifierHarness
import IntervalNotifier
import NotifierHarness

/// `fault-path`: the fault path of a device mirror as the kernel's drivers run
/// it, and nothing else: look up the subscription of the faulting address in
/// the registry, `readBegin`, read the primary (CPU) page table, take the
/// mirror's user lock, `readRetry` (retry on a collision), install the entry,
/// unlock, with 0, 1 or 4 invalidator threads running.
///
/// Layout: `size` subscriptions of 4 pages each, back to back; a primary page
/// table of generation numbers and a mirror table, one word per page, in
/// manually allocated memory; one `pthread_mutex_t` per subscription as its
/// user lock. Invalidators pick 1 to 16 pages at random and run
/// `invalidateRangeStart` (the callbacks take the user lock, `setSequence`,
/// clear the mirror's pages in the range), bump the primary's generation of
/// those pages, then `invalidateRangeEnd`: the order of `zap_page_range`.
///
/// Two cheap checks count in the extra `violations`: inside each window, after
/// changing the primary, the invalidator finds the range's mirror entries still
/// cleared (a fault that installed there skipped or lost its retry); and after
/// each point, with every thread stopped, each mirror entry is 0 or equal to
/// the primary. The stress harness
/// (`notifier-stress`, and the `fault-path-harness` workload) checks far more;
/// this check only guards the benchmark itself.
///
/// Measurements: parameters `invalidators=N size=S`, protocol `seq`, metric
/// `ops/s` (faults per second, all faulters together), extras `retries` and
/// `violations` (both totals of the point).
public enum FaultLoopWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.faultPath
    /// Bytes per page.
    static let page: UInt64 = 4096
    /// Pages per subscription.
    static let pagesPerSubscription = 4
    /// Largest invalidation, in pages.
    static let maxInvalidationPages = 16

    /// The address space, its mirrors and their locks for one strategy and size.
    final class Fixture: @unchecked Sendable {
        let population: BenchPopulation
        let pages: Int
        let primary: UnsafeMutablePointer<UInt64>
        let mirror: UnsafeMutablePointer<UInt64>
        let locks: UnsafeMutablePointer<pthread_mutex_t>

        init(strategy: RegistryStrategy, size: Int) {
            pages = size * FaultLoopWorkload.pagesPerSubscription
            primary = .allocate(capacity: pages)
            primary.initialize(repeating: 1, count: pages)
            mirror = .allocate(capacity: pages)
            mirror.initialize(repeating: 0, count: pages)
            locks = .allocate(capacity: size)
            for index in 0..<size {
                (locks + index).initialize(to: pthread_mutex_t())
                pthread_mutex_init(locks + index, nil)
            }
            population = BenchPopulation(space: AddressSpace(strategy: strategy), capacity: size)
            let perSubscription = UInt64(FaultLoopWorkload.pagesPerSubscription)
            for index in 0..<size {
                let firstPage = UInt64(index) * perSubscription
                // Plain memory shared with the invalidators' callbacks; the lock guards it.
                nonisolated(unsafe) let lock = locks + index
                nonisolated(unsafe) let mirror = self.mirror
                population.append(start: firstPage * FaultLoopWorkload.page,
                                  last: (firstPage + perSubscription) * FaultLoopWorkload.page - 1) { sub, range, sequence in
                    pthread_mutex_lock(lock)
                    sub.setSequence(sequence)
                    let first = max(range.start / FaultLoopWorkload.page, firstPage)
                    let last = min(range.last / FaultLoopWorkload.page, firstPage + perSubscription - 1)
                    if first <= last { for p in first...last { mirror[Int(p)] = 0 } }
                    pthread_mutex_unlock(lock)
                    return true
                }
            }
        }

        /// Mirror entries that are neither 0 nor the primary's value (threads stopped).
        func staleEntries() -> UInt64 {
            var stale: UInt64 = 0
            for p in 0..<pages where mirror[p] != 0 && mirror[p] != primary[p] { stale += 1 }
            return stale
        }

        /// Removes every subscription, then frees the tables and locks.
        func tearDown() {
            population.removeAll()
            for index in 0..<pages / FaultLoopWorkload.pagesPerSubscription { pthread_mutex_destroy(locks + index) }
            locks.deallocate()
            primary.deallocate()
            mirror.deallocate()
        }
    }

    /// The suite's shapes: (invalidators, size).
    public static func shapes(includeLarge: Bool) -> [(invalidators: Int, size: Int)] {
        var shapes = [(invalidators: 0, size: 1000), (1, 1000), (4, 1000)]
        if includeLarge { shapes.append((1, 1_000_000)) }
        return shapes
    }

    /// Points and time of ``run(_:includeLarge:progress:)``.
    public static func plan(_ sweep: BenchSweep, includeLarge: Bool) -> BenchPlan {
        let shapes = shapes(includeLarge: includeLarge)
        let setup = shapes.reduce(0.0) { $0 + Double($1.size) } * Double(sweep.strategies.count) * BenchPlan.secondsPerSubscription
        return .points(shapes.count * sweep.strategies.count * sweep.threads.count, duration: sweep.duration,
                       setupSeconds: setup)
    }

    /// Runs every strategy, shape and thread count (faulters).
    public static func run(_ sweep: BenchSweep, includeLarge: Bool, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        run(sweep, shapes: shapes(includeLarge: includeLarge), progress: progress)
    }

    /// Runs the given shapes (tests use small registries, where collisions are frequent).
    static func run(_ sweep: BenchSweep, shapes: [(invalidators: Int, size: Int)],
                    progress: BenchProgress? = nil) -> [BenchMeasurement] {
        var measurements: [BenchMeasurement] = []
        for (invalidators, size) in shapes {
            let parameters = BenchParameters(invalidators: invalidators, size: size)
            for strategy in sweep.strategies {
                let fixture = Fixture(strategy: strategy, size: size)
                for threads in sweep.threads {
                    progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, protocol: .seq, threads: threads)
                    let result = point(fixture, strategy: strategy, invalidators: invalidators, threads: threads,
                                       placement: sweep.placement, duration: sweep.duration)
                    let retries = result.workers.reduce(0) { $0 + ($1.output.counters.first ?? 0) }
                    let staleInWindows = result.helpers.reduce(0) { $0 + ($1.output.counters.first ?? 0) }
                    let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy),
                                             mirrorProtocol: .seq, threads: threads, metric: .opsPerSecond,
                                             value: result.aggregateRate,
                                             extra: [.retries: Double(retries), .violations: Double(staleInWindows + fixture.staleEntries())],
                                             oversubscribed: result.oversubscribed)
                    progress?.end(m)
                    measurements.append(m)
                }
                fixture.tearDown()
            }
        }
        return measurements
    }

    /// One run of `threads` faulters and `invalidators` invalidators over
    /// `fixture` (the sweep's point and one side of a paired repetition).
    static func point(_ fixture: Fixture, strategy: RegistryStrategy, invalidators: Int, threads: Int,
                      placement: BenchPlacement, duration: Double) -> BenchRunResult {
        let invalidator: BenchThreadBody = { worker in invalidatorLoop(fixture, worker: worker) }
        return BenchRunner.run(placement: placement, duration: duration, workers: threads,
                               { worker in faulterLoop(fixture, strategy: strategy, worker: worker) },
                               helpers: Array(repeating: invalidator, count: invalidators))
    }

    /// A faulter: random page, registry lookup, collision-retry, install.
    @inline(never)
    static func faulterLoop(_ fixture: Fixture, strategy: RegistryStrategy, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0xFA_0017))
        let space = fixture.population.space
        let primary = fixture.primary, mirror = fixture.mirror, locks = fixture.locks
        let pages = fixture.pages
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        var retries: UInt64 = 0
        while worker.isRunning {
            let p = benchRandom(&rng, below: pages)
            // The lookup; the subscription outlives it because the population
            // keeps every subscription registered for the whole point.
            let found = space.withSubscription(containing: UInt64(p) * page) { $0.map { Unmanaged.passUnretained($0) } }
            guard let found else { continue }
            let lock = locks + p / pagesPerSubscription
            found._withUnsafeGuaranteedRef { sub in
                while true {
                    let sequence = try! sub.readBegin()
                    // Acquiring: pairs with the invalidator's releasing store of a new generation.
                    let value = cnp_atomic_load_u64(primary + p)
                    pthread_mutex_lock(lock)
                    if sub.readRetry(sequence) {
                        pthread_mutex_unlock(lock)
                        retries &+= 1
                        continue
                    }
                    mirror[p] = value
                    pthread_mutex_unlock(lock)
                    return
                }
            }
            operations &+= 1
            strategy.readerQuiescentState()
        }
        strategy.readerThreadOffline()
        return BenchThreadOutput(operations: operations, counters: [retries])
    }

    /// An invalidator: start, change the primary, end, as fast as it can.
    @inline(never)
    static func invalidatorLoop(_ fixture: Fixture, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0x1_4A11D))
        let space = fixture.population.space
        let primary = fixture.primary, mirror = fixture.mirror, locks = fixture.locks
        let pages = fixture.pages
        worker.waitForStart()
        var operations: UInt64 = 0
        var stale: UInt64 = 0
        while worker.isRunning {
            let first = benchRandom(&rng, below: pages)
            let last = min(pages - 1, first + benchRandom(&rng, below: maxInvalidationPages))
            let range = try! InvalidationRange(start: UInt64(first) * page, last: UInt64(last + 1) * page - 1, event: .clear)
            try! space.invalidateRangeStart(range)
            for p in first...last {
                // An atomic increment (sequentially consistent, so also
                // releasing for the faulter's acquiring load): two invalidators
                // may bump the same page at once.
                _ = cnp_atomic_add_u64(primary + p, 1)
            }
            // Inside the window no fault can install into the range: the
            // callbacks cleared it, and a faulter either retries (its sequence
            // changed) or waits in `readBegin` until the end.
            for p in first...last {
                let lock = locks + p / pagesPerSubscription
                pthread_mutex_lock(lock)
                if mirror[p] != 0 { stale &+= 1 }
                pthread_mutex_unlock(lock)
            }
            try! space.invalidateRangeEnd(range)
            operations &+= 1
        }
        return BenchThreadOutput(operations: operations, counters: [stale])
    }
}
