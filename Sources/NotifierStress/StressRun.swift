import Foundation
import Histogram
import IntervalNotifier
import NotifierHarness
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One stress run: fault, invalidate and churn generators on pinned threads
/// against one ``AddressSpace``, a checker thread with the no-stale-mirror
/// oracle, and final checks. Create, call ``run(report:)``, read the result.
public final class StressRun: @unchecked Sendable {
    /// The configuration given to ``init(_:)``.
    public let configuration: StressConfiguration
    /// The CPUs and NUMA nodes the worker threads are pinned to, discovered by ``init(_:)``.
    public let topology: StressTopology
    let space: AddressSpace
    let table: SimulatedPageTable
    let slots: [MirrorSlot]
    static let pageSize: UInt64 = 4096

    /// The generators' team's start and stop flags: the loops leave at
    /// ``ThreadTeam/Signals/isStopped``; the controller stops the run, the
    /// checker on a hang.
    let signals = ThreadTeam.Signals()
    /// 0 before teardown, 1 while `release()` runs, 2 after. Stores and the
    /// churners' loads are sequentially consistent (ordered against removals);
    /// the controller's own relaxed load reads its own store.
    let teardownPhase = Atomic<Int>(0)
    /// Source of fresh primary generations. Relaxed: only uniqueness matters.
    let generation = Atomic<UInt64>(1 << 32)
    /// Source of subscription ids. Relaxed: only uniqueness matters.
    let nextContextID = Atomic<Int>(0)
    let counters = StressCounters()
    let violationLog = Locked<[String]>([])
    /// Contexts of subscriptions removed with `put` whose release callback has
    /// not run yet (by id). Every other context is checked and dropped as soon
    /// as its subscription's removal returns (see ``retire(_:)``), so memory
    /// stays bounded however long the run.
    let pendingPuts = Locked<[Int: SubscriptionContext]>([:])
    /// RSS samples taken by the controller.
    let rssSamples = Locked<[RSSSample]>([])
    let histograms = Locked<StressHistograms>(StressHistograms())
    /// Last progress of each worker (ns), for the hang watchdog.
    let heartbeats: [Heartbeat]
    let workerNames: [String]
    /// Placement lines printed at start.
    let placements = Locked<[String]>([])
    /// The mirror protocol's callbacks, fault path and bookkeeping.
    let driver: any MirrorDriver

    /// Prepares a run without starting a thread: discovers the topology and
    /// creates the address space (with `configuration.strategy` and the
    /// engine-side fault of `configuration.brokenVariant`, if any), the simulated
    /// page table (at least 16 pages; on the node when one real node is used,
    /// else interleaved) and `max(1, configuration.subscriptions)` empty mirror
    /// slots.
    public init(_ configuration: StressConfiguration) {
        self.configuration = configuration
        topology = StressTopology.discover(configuration)
        var faults: AddressSpace.InjectedFaults = []
        switch configuration.brokenVariant {
        case .removeDoesNotWait: faults.insert(.removeDoesNotWait)
        case .insertsAppliedDuringWindow: faults.insert(.applyInsertsDuringWindow)
        default: break
        }
        space = faults.isEmpty
            ? AddressSpace(strategy: configuration.strategy)
            : AddressSpace(injectedFaults: faults, strategy: configuration.strategy)
        let node = topology.nodes.count == 1 && !topology.fake ? topology.nodes[0].realNode : nil
        table = SimulatedPageTable(pages: max(16, configuration.pages), node: node)
        let driver = configuration.mirrorProtocol.makeDriver(configuration)
        self.driver = driver
        slots = (0..<max(1, configuration.subscriptions)).map { MirrorSlot(index: $0, rangeLock: driver.usesRangeLocks) }
        var names: [String] = []
        for i in 0..<configuration.faulters { names.append("faulter \(i)") }
        for i in 0..<configuration.invalidators { names.append("invalidator \(i)") }
        for i in 0..<configuration.churners { names.append("churner \(i)") }
        workerNames = names
        heartbeats = names.map { _ in Heartbeat() }
    }

    /// Breaks the cycle each mirror slot forms with its subscription (the slot
    /// holds the subscription, whose callback holds the slot), which the final
    /// checks break by removing everything: a run that stopped early (a hang)
    /// or was never run would leak its slots, subscriptions and tree otherwise.
    deinit {
        for slot in slots {
            slot.lock.withLock {
                slot.subscription = nil
                slot.context = nil
            }
        }
    }

    /// Records a violation of the oracle.
    func violation(_ message: String) {
        violationLog.withLock { log in
            if log.count < 1000 { log.append(message) }
        }
        counters.violations.add(1, ordering: .relaxed)
    }

    // MARK: Running

    /// Runs the configured workload; `report` receives the start-up report and,
    /// with `configuration.progress`, a progress line every second.
    public func run(report: (String) -> Void = { print($0) }) -> StressResult {
        report(topology.description)
        report("page table: \(table.pageCount) pages, \(table.placement)")
        report("mirror protocol \(configuration.mirrorProtocol), registry strategy \(configuration.strategy)")
        let populateStarted = StressClock.now()
        populate(report: report)
        let populateSeconds = Double(StressClock.now() - populateStarted) / 1e9
        if populateSeconds >= 1 { report(String(format: "populated %d subscriptions in %.1f s", slots.count, populateSeconds)) }
        // One team: the generators (faulters, invalidators, churners, each
        // pinned) as workers, the oracle's checker as a helper (not pinned).
        let generators = configuration.faulters + configuration.invalidators + configuration.churners
        let seed = configuration.seed
        let faulters = configuration.faulters, invalidators = configuration.invalidators
        let generator: ThreadTeam.Body = { [self] member in
            let i = member.index
            var rng = Xorshift64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0x1234_5678_9ABC_DEF1)
            member.waitForStart()
            if i < faulters {
                faulterLoop(worker: i, rng: &rng)
            } else if i < faulters + invalidators {
                invalidatorLoop(worker: i, rng: &rng)
            } else {
                churnerLoop(worker: i, rng: &rng)
            }
            return ThreadTeam.Output(operations: 0)
        }
        let checker: ThreadTeam.Body = { [self] member in
            var rng = Xorshift64(seed: seed ^ 0xC4EC)
            member.waitForStart()
            checkerLoop(rng: &rng)
            return ThreadTeam.Output(operations: 0)
        }
        let team = ThreadTeam(workers: generators, generator, helpers: configuration.oracleChecks ? [checker] : [],
                              signals: signals) { [self] threadIndex in
            guard threadIndex < generators else { return }
            let placement = topology.pinCurrentThread(index: threadIndex)
            placements.withLock { $0.append("  \(workerNames[threadIndex]): \(placement)") }
        }
        team.waitUntilReady()
        report(placements.withLock { ["threads:"] + $0.sorted() }.joined(separator: "\n"))
        let started = StressClock.now()
        // Relaxed: the watchdog only needs an eventually visible timestamp (a
        // long population must not look like a hang).
        for beat in heartbeats { beat.time.store(started, ordering: .relaxed) }
        // The set-up above happens before the generators run (the team's
        // releasing start signal).
        team.open()
        func sampleRSS(_ now: UInt64) {
            let sample = RSSSample(seconds: Double(now - started) / 1e9, bytes: RSSSample.currentBytes())
            rssSamples.withLock { $0.append(sample) }
        }
        // The first sample after a warm-up (thread stacks, per-thread allocator
        // arenas and RCU state are touched in the first moments), then every
        // interval from the start, and one when the generators stop.
        let warmUp = min(RSSSummary.warmUp, configuration.duration / 4)
        var nextSample = started + UInt64(warmUp * 1e9)
        var samplesTaken = 0

        let end = started + UInt64(configuration.duration * 1e9)
        let teardownTime = configuration.teardownAt.map { started + UInt64(configuration.duration * $0 * 1e9) }
        var lastReport = started
        var previous = counters.snapshot()
        while StressClock.now() < end && !signals.isStopped {
            usleep(10_000)
            let now = StressClock.now()
            if let t = teardownTime, now >= t, teardownPhase.load(ordering: .relaxed) == 0 {
                tearDown()
                report("teardown done at \(String(format: "%.1f", Double(now - started) / 1e9)) s")
            }
            if now >= nextSample {
                sampleRSS(now)
                samplesTaken += 1
                nextSample = started + UInt64(Double(samplesTaken) * RSSSummary.interval * 1e9)
            }
            if configuration.progress && now - lastReport >= 1_000_000_000 {
                let current = counters.snapshot()
                report(progressLine(current: current, previous: previous, seconds: Double(now - lastReport) / 1e9, elapsed: Double(now - started) / 1e9))
                previous = current
                lastReport = now
            }
        }
        team.stop()
        let stopped = StressClock.now()
        let measuredSeconds = Double(stopped - started) / 1e9
        sampleRSS(stopped)
        let hung = team.join(timeoutSeconds: configuration.hangBound).map { $0 < generators ? workerNames[$0] : "checker" }
        if !hung.isEmpty {
            violation("hang: \(hung.joined(separator: ", ")) did not finish within \(configuration.hangBound) s; state \(space.state)")
            return result(started: started, measuredSeconds: measuredSeconds, finalChecksDone: false)
        }
        if configuration.oracleChecks {
            finalChecks(report: report)
        } else {
            removeAll()
        }
        return result(started: started, measuredSeconds: measuredSeconds, finalChecksDone: configuration.oracleChecks)
    }

    /// Fills every slot with a subscription before the generators start; a
    /// population that takes more than a second reports its progress every second.
    func populate(report: (String) -> Void = { _ in }) {
        var rng = Xorshift64(seed: configuration.seed ^ 0x5EED)
        let started = StressClock.now()
        var nextReport = started + 1_000_000_000
        for (i, slot) in slots.enumerated() {
            subscribe(slot, rng: &rng)
            if i & 1023 == 1023 {
                let now = StressClock.now()
                if now >= nextReport {
                    let done = i + 1
                    let seconds = Double(now - started) / 1e9
                    let left = Double(slots.count - done) * seconds / Double(done)
                    report(String(format: "populating: %d of %d subscriptions (%.0f %%), %.0f s, about %.0f s left",
                                  done, slots.count, 100 * Double(done) / Double(slots.count), seconds, left))
                    nextReport = now + 1_000_000_000
                }
            }
        }
    }

    func progressLine(current: StressCounters.Snapshot, previous: StressCounters.Snapshot, seconds: Double, elapsed: Double) -> String {
        func rate(_ a: Int, _ b: Int) -> String { String(format: "%.0f/s", Double(a - b) / seconds) }
        let stats = space.statistics
        var line = String(format: "[%5.1fs] ", elapsed)
        line += "faults \(current.faults) (\(rate(current.faults, previous.faults))), retries \(current.faultRetries), "
        line += "invalidations \(current.invalidations) (\(rate(current.invalidations, previous.invalidations))), "
        line += "would-block \(current.wouldBlock), churn \(current.inserts)+\(current.removes) "
        line += "(deferred ins \(stats.deferredInserts), rm \(stats.deferredRemoves)), "
        line += "waits readBegin \(stats.readBeginWaits) remove \(stats.removeWaits), "
        line += "checks \(current.checks), violations \(current.violations)"
        return line
    }

    // MARK: Teardown

    func tearDown() {
        for slot in slots {
            slot.lock.withLock { slot.context?.registeredAtTeardown.store(true, ordering: .relaxed) }
        }
        teardownPhase.store(1, ordering: .sequentiallyConsistent)
        // Teardown is an invalidation of everything: the mirror protocols count
        // it in and out like the invalidators' own.
        let held = installInvalidatingThreadState()
        driver.invalidationWillStart()
        do { try space.release() } catch { violation("release() threw \(error)") }
        driver.invalidationDidEnd(held)
        held?.uninstall()
        teardownPhase.store(2, ordering: .sequentiallyConsistent)
    }

    // MARK: Final checks

    /// The checks at rest (see the README's oracle rules); with many
    /// subscriptions they take long, so a progress line is reported every second.
    func finalChecks(report: (String) -> Void = { _ in }) {
        // Rules 1, 2, 6: nothing in flight.
        let state = space.state
        if state.active != 0 || state.sequence & 1 == 1 || state.pendingInserts != 0 || state.pendingRemoves != 0 {
            violation("final state not idle: \(state)")
        }
        do { try space.checkInvariants() } catch { violation("invariant: \(error)") }
        driver.checkAtRest(run: self)
        // No stale mirror at rest; every registered subscription is in the tree.
        // The lookups follow the strategy's reader-thread contract.
        configuration.strategy.readerThreadOnline()
        let checksStarted = StressClock.now()
        var nextReport = checksStarted + 1_000_000_000
        for slot in slots {
            configuration.strategy.readerQuiescentState()
            if slot.index & 255 == 255 {
                let now = StressClock.now()
                if now >= nextReport {
                    report(String(format: "final checks: %d of %d mirrors, %.0f s", slot.index + 1, slots.count,
                                  Double(now - checksStarted) / 1e9))
                    nextReport = now + 1_000_000_000
                }
            }
            slot.lock.withLock {
                guard let sub = slot.subscription else { return }
                for (offset, value) in slot.mirror.enumerated() where value != 0 {
                    let primary = table.read(slot.firstPage + offset)
                    if value != primary {
                        violation("stale mirror at rest: slot \(slot.index) page \(slot.firstPage + offset) mirror \(value) primary \(primary) (seed \(configuration.seed))")
                    }
                }
                var found = false
                space.forEachSubscription(overlapping: sub.start, last: sub.last) { found = found || $0 === sub; return !found }
                if !found { violation("subscription of slot \(slot.index) is registered but not in the tree (a deferred insert was lost)") }
            }
        }
        configuration.strategy.readerThreadOffline()
        // Teardown: exactly one release event for every subscription registered
        // across it; at most one for any.
        if teardownPhase.load(ordering: .relaxed) == 0 { tearDown() }
        // Remove everything, then every put's release callback must run exactly once.
        // (Each removal's own checks ran in `retire` when it returned.)
        removeAll()
        for (id, context) in pendingPuts.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            let calls = context.releaseCallbacks.load(ordering: .relaxed)
            violation("put of subscription \(id): release callback ran \(calls) times")
        }
        if space.subscriptionCount != 0 { violation("\(space.subscriptionCount) subscriptions left in the tree after removing all") }
    }

    /// Removes every slot's subscription and waits for pending release callbacks.
    func removeAll() {
        for slot in slots {
            let (sub, context) = slot.lock.withLock { () -> (IntervalSubscription?, SubscriptionContext?) in
                defer { slot.subscription = nil; slot.context = nil }
                return (slot.subscription, slot.context)
            }
            guard let sub, let context else { continue }
            do { try space.remove(sub) } catch { violation("final remove threw \(error)") }
            // Releasing: pairs with the callbacks' acquiring load (rule 7).
            context.poisoned.store(true, ordering: .releasing)
            retire(context)
        }
        do { try space.synchronize() } catch { violation("synchronize threw \(error)") }
    }

    /// The release-event checks of a subscription whose removal has returned
    /// (`remove` returned, or `put`'s release callback ran): no callback may run
    /// for it any more, so its counts are final and the context can be dropped
    /// (a late callback still finds the poisoned flag through its own reference).
    func retire(_ context: SubscriptionContext) {
        let events = context.releaseEvents.load(ordering: .relaxed)
        if events > 1 { violation("subscription \(context.id) got \(events) release events") }
        if context.registeredAtTeardown.load(ordering: .relaxed)
            && !context.removalOverlappedTeardown.load(ordering: .relaxed) && events != 1 {
            violation("subscription \(context.id) was registered across teardown but got \(events) release events")
        }
    }

    func result(started: UInt64, measuredSeconds: Double, finalChecksDone: Bool) -> StressResult {
        var result = StressResult(
            configuration: configuration, seconds: Double(StressClock.now() - started) / 1e9,
            measuredSeconds: measuredSeconds,
            counters: counters.snapshot(), statistics: space.statistics,
            histograms: histograms.withLock { $0 }, violations: violationLog.withLock { $0 },
            finalChecksDone: finalChecksDone)
        result.rss = RSSSummary(samples: rssSamples.withLock { $0 })
        return result
    }
}

/// A worker's last progress time, for the hang watchdog. Padded so that two
/// workers' beats never share a cache line (faulters beat on every fault).
final class Heartbeat: Sendable {
    let time = Atomic<UInt64>(StressClock.now())
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}
