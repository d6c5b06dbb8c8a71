#if canImport(Glibc)
import Glibc
#endif
import CNotifierHarness
import IntervalNotifier
import NotifierHarness
import Synchronization

/// `notifier-stress --source uffd`: real `munmap`, `madvise(MADV_DONTNEED)`
/// and `mremap` churn on pinned threads against subscribed pages that a
/// ``UserfaultfdMonitor`` watches, under a seqlock oracle.
///
/// Roles (from ``StressConfiguration``): `faulters` hitters get random slots
/// (the mirror if valid, else a fill under readBegin/readRetry) and check
/// every get that overlapped no mutation against the slot's published value;
/// `invalidators` mutators each own every `invalidators`-th slot and change
/// its page in one of four ways:
/// - discard: `madvise(MADV_DONTNEED)` (the page reads 0): REMOVE, which the
///   kernel sends before it drops the pages, so the mutator follows the call
///   with an explicit invalidation (the README's remedy);
/// - replace: a new page with a new value `mremap`ed over it: UNMAP;
/// - unmap: `munmap`, a pause with the page absent, then a new page moved in: UNMAP;
/// - move: `mremap` away and back (same value): two REMAPs; the registration
///   travels with the mapping.
/// Each mutation is followed by ``UserfaultfdMonitor/flush()`` before the new
/// value is published; the mutator also records whether the invalidation had
/// already run when its system call returned (userfaultfd releases the caller
/// when the monitor has read the message, not when it has handled it).
public final class MemoryChurnRun: @unchecked Sendable {
    let configuration: StressConfiguration
    let topology: StressTopology
    let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    /// The hitters' and mutators' team's start and stop flags.
    private let signals = ThreadTeam.Signals()
    private let gets = Atomic<Int>(0)
    private let hits = Atomic<Int>(0)
    private let fills = Atomic<Int>(0)
    private let absents = Atomic<Int>(0)
    private let retries = Atomic<Int>(0)
    private let checks = Atomic<Int>(0)
    private let mutations = Atomic<Int>(0)
    private let kinds = Locked<[Int]>([0, 0, 0, 0])
    /// Values of new pages (unique; the slots start at (index + 1) << 32, below these).
    private let values = Atomic<UInt64>(1 << 56)
    private let returnedBeforeInvalidation = Atomic<Int>(0)
    private let violationCount = Atomic<Int>(0)
    private let violationLog = Locked<[String]>([])
    private let placements = Locked<[String]>([])
    private let flushNanoseconds = Locked<[UInt64]>([])

    /// A run of `configuration` (hitters = `faulters`, mutators = `invalidators`,
    /// slots = `subscriptions`).
    public init(_ configuration: StressConfiguration) {
        self.configuration = configuration
        topology = StressTopology.discover(configuration)
    }

    /// The kinds of mutation, in the order of `kinds`.
    enum Mutation: Int, CaseIterable {
        case discard, replace, unmap, move
        var name: String { ["discard (madvise DONTNEED)", "replace (mremap over)", "unmap (munmap, then refill)", "move (mremap away and back)"][rawValue] }
    }

    /// Runs; returns nil with the reason when userfaultfd is unavailable.
    public func run(report: (String) -> Void) -> Result<MemoryChurnResult, MemoryMonitorError> {
        let space = AddressSpace(strategy: configuration.strategy)
        let monitor: UserfaultfdMonitor
        do {
            monitor = try UserfaultfdMonitor(addressSpace: space, options: .init(capacity: max(1024, 4 * configuration.subscriptions)))
        } catch {
            return .failure(error)
        }
        report(topology.description)
        let slotCount = configuration.subscriptions
        let mutatorCount = max(1, configuration.invalidators)
        let hitterCount = configuration.faulters
        let page = Int(pageSize)
        // The slots' pages, and two scratch pages per mutator (a new page is
        // prepared at the first, a page moves through the second). Every
        // address a mutation vacates is claimed again at once with a
        // placeholder (``claim(_:)``): a hole left open could be taken by any
        // other mapping of this process (a thread stack, a small page table),
        // which the next fixed mmap or mremap would then destroy. Both areas
        // also sit far below the process's other mappings (``mapLow(_:protection:)``),
        // where the kernel's top-down placement of new mappings does not look
        // while there is room higher up: under AddressSanitizer, whose runtime
        // maps small pages all the time, a hole next to the other mappings was
        // taken within microseconds.
        let slotBase = Self.mapLow(page * slotCount, protection: PROT_READ | PROT_WRITE)
        let scratchBase = Self.mapLow(page * 2 * mutatorCount, protection: PROT_NONE)
        var slots: [MemoryChurnSlot] = []
        for index in 0..<slotCount {
            let address = UInt64(UInt(bitPattern: slotBase)) + UInt64(index) * pageSize
            let slot = MemoryChurnSlot(address: address)
            let value = UInt64(index + 1) << 32
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee = value
            slot.published.store(value, ordering: .relaxed)
            slot.subscription = try! space.insert(start: address, length: pageSize) { [unowned slot] subscription, _, sequence in
                slot.invalidate(subscription, sequence)
            }
            slots.append(slot)
        }
        do {
            try monitor.register(start: UInt64(UInt(bitPattern: slotBase)), length: UInt64(slotCount) * pageSize)
        } catch {
            fatalError("notifier-stress: registering the slots failed: \(error)")
        }
        report("slots: \(slotCount) pages registered with userfaultfd (file mappings \(monitor.watchesFileMappings ? "watchable" : "not watchable") on this kernel), registry strategy \(configuration.strategy)")
        // One team of pinned threads: the hitters, then the mutators.
        let names = (0..<hitterCount).map { "hitter \($0)" } + (0..<mutatorCount).map { "mutator \($0)" }
        let slotsForThreads = slots
        let seed = configuration.seed
        let scratchStart = UInt64(UInt(bitPattern: scratchBase))
        let hitters = hitterCount, mutators = mutatorCount, slotTotal = slotCount
        let team = ThreadTeam(workers: names.count, { [self] member in
            let index = member.index
            var rng = Xorshift64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0x1234_5678_9ABC_DEF1)
            member.waitForStart()
            if index < hitters {
                hitterLoop(slots: slotsForThreads, rng: &rng)
            } else {
                let mutator = index - hitters
                let owned = stride(from: mutator, to: slotTotal, by: mutators).map { slotsForThreads[$0] }
                mutatorLoop(owned: owned, scratch: scratchStart + UInt64(2 * mutator) * pageSize, monitor: monitor, rng: &rng)
            }
            return ThreadTeam.Output(operations: 0)
        }, signals: signals) { [self] index in
            let placement = topology.pinCurrentThread(index: index)
            placements.withLock { $0.append("  \(names[index]): \(placement)") }
        }
        team.waitUntilReady()
        report(placements.withLock { ["threads:"] + $0.sorted() }.joined(separator: "\n"))
        let started = StressClock.now()
        // The set-up above happens before the threads run (the team's
        // releasing start signal).
        team.open()
        let end = started + UInt64(configuration.duration * 1e9)
        var nextReport = started + 1_000_000_000
        while StressClock.now() < end {
            usleep(20_000)
            if configuration.progress, StressClock.now() >= nextReport {
                nextReport += 1_000_000_000
                let s = monitor.statistics
                report(String(format: "  %.0f s: gets %d, mutations %d, events %d (unmap %d, remove %d, remap %d), violations %d",
                              Double(StressClock.now() - started) / 1e9, gets.load(ordering: .relaxed), mutations.load(ordering: .relaxed),
                              s.messages, s.unmapEvents, s.removeEvents, s.remapEvents, violationCount.load(ordering: .relaxed)))
            }
        }
        team.stop()
        let seconds = Double(StressClock.now() - started) / 1e9
        let hung = team.join(timeoutSeconds: configuration.hangBound).map { names[$0] }
        for name in hung { record("HANG: \(name) did not stop within \(configuration.hangBound) s (a caller blocked on the monitor?)") }
        let shutdownStarted = StressClock.now()
        do { try monitor.shutdown() } catch { record("shutdown failed: \(error)") }
        let shutdownMicroseconds = Double(StressClock.now() - shutdownStarted) / 1e3
        let statistics = monitor.statistics
        if statistics.unexpectedFaults > 0 { record("the monitor received \(statistics.unexpectedFaults) page faults (write-protect mode must raise none)") }
        if statistics.failedInvalidations > 0 { record("\(statistics.failedInvalidations) invalidations refused by the address space") }
        if statistics.unknownEvents > 0 { record("\(statistics.unknownEvents) messages of unknown kinds") }
        if hung.isEmpty {
            for slot in slots { if let subscription = slot.subscription { try? space.remove(subscription) } }
            munmap(slotBase, page * slotCount)
            // Every scratch page is this run's (a page or a placeholder, see ``claim(_:)``).
            munmap(scratchBase, page * 2 * mutatorCount)
        }
        let flushes = flushNanoseconds.withLock { $0.sorted() }
        return .success(MemoryChurnResult(
            seconds: seconds, seed: configuration.seed, strategy: configuration.strategy.name,
            hitters: hitterCount, mutators: mutatorCount, slots: slotCount,
            gets: gets.load(ordering: .relaxed), hits: hits.load(ordering: .relaxed), fills: fills.load(ordering: .relaxed),
            absents: absents.load(ordering: .relaxed), retries: retries.load(ordering: .relaxed), checks: checks.load(ordering: .relaxed),
            mutations: mutations.load(ordering: .relaxed),
            mutationsByKind: kinds.withLock { counts in Mutation.allCases.map { ($0.name, counts[$0.rawValue]) } },
            returnedBeforeInvalidation: returnedBeforeInvalidation.load(ordering: .relaxed),
            flushMedianMicroseconds: flushes.isEmpty ? 0 : Double(flushes[flushes.count / 2]) / 1e3,
            flushP99Microseconds: flushes.isEmpty ? 0 : Double(flushes[min(flushes.count - 1, flushes.count * 99 / 100)]) / 1e3,
            shutdownMicroseconds: shutdownMicroseconds,
            monitor: statistics, violationCount: violationCount.load(ordering: .relaxed),
            violations: violationLog.withLock { $0 }))
    }

    private func record(_ message: String) {
        violationCount.add(1, ordering: .relaxed)
        violationLog.withLock { if $0.count < 1000 { $0.append(message) } }
    }

    /// Hitters: get a random slot; when the get overlapped no mutation, its
    /// value must be the published one.
    private func hitterLoop(slots: [MemoryChurnSlot], rng: inout Xorshift64) {
        var localGets = 0, localHits = 0, localFills = 0, localAbsent = 0, localRetries = 0, localChecks = 0
        while !signals.isStopped {
            let slot = slots[Int(rng.next() % UInt64(slots.count))]
            // Acquiring: the published value stored before this even version is visible.
            let before = slot.version.load(ordering: .acquiring)
            let lookup = slot.get(retries: &localRetries)
            let after = slot.version.load(ordering: .acquiring)
            localGets += 1
            let value: UInt64?
            switch lookup {
            case .hit(let v): localHits += 1; value = v
            case .filled(let v): localFills += 1; value = v
            case .absent: localAbsent += 1; value = nil
            }
            // The published value, then the version again: a mutation that
            // began and ended after `after` (a preempted hitter) must not pass
            // for the truth of this get.
            let expected = slot.published.load(ordering: .acquiring)
            let confirmed = slot.version.load(ordering: .acquiring)
            if before & 1 == 0, before == after, confirmed == before {
                localChecks += 1
                if value != expected {
                    record("stale get: slot 0x\(String(slot.address, radix: 16)) returned \(value.map { "0x" + String($0, radix: 16) } ?? "absent") (\(lookup)) with no mutation in flight; the page holds 0x\(String(expected, radix: 16)) since version \(before); last mutations, newest first: \(Self.describe(history: slot.history.load(ordering: .relaxed)))")
                }
            }
        }
        gets.add(localGets, ordering: .relaxed)
        hits.add(localHits, ordering: .relaxed)
        fills.add(localFills, ordering: .relaxed)
        absents.add(localAbsent, ordering: .relaxed)
        retries.add(localRetries, ordering: .relaxed)
        checks.add(localChecks, ordering: .relaxed)
    }

    /// The kinds packed in a slot's history, newest first.
    static func describe(history: UInt64) -> String {
        (0..<8).compactMap { index -> String? in
            let code = Int((history >> (4 * UInt64(index))) & 0xF)
            return code == 0 ? nil : "\(Mutation(rawValue: code - 1)!)"
        }.joined(separator: ", ")
    }

    /// Maps `bytes` of private anonymous memory at the lowest free address of
    /// a few fixed candidates from 32 TiB up (`MAP_FIXED_NOREPLACE`: nothing
    /// there is replaced), or wherever the kernel puts it if none is free.
    static func mapLow(_ bytes: Int, protection: Int32) -> UnsafeMutableRawPointer {
        for candidate in 0..<64 {
            let hint = UnsafeMutableRawPointer(bitPattern: UInt(0x2000_0000_0000) + UInt(candidate) << 32)
            let placed = mmap(hint, bytes, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
            if placed == hint { return placed! }
            if let placed, placed != MAP_FAILED { munmap(placed, bytes) }   // a kernel that ignored the flag
        }
        let anywhere = mmap(nil, bytes, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let anywhere, anywhere != MAP_FAILED else { fatalError("notifier-stress: mmap of \(bytes) bytes failed: errno \(errno)") }
        return anywhere
    }

    /// Maps an inaccessible placeholder page at `address`, which this run has
    /// just vacated, without replacing anything (`MAP_FIXED_NOREPLACE`): the
    /// hole stays this run's, and the next fixed mmap or mremap there replaces
    /// only the placeholder. Traps with a message if another mapping of the
    /// process took the hole in the microseconds it was open (then a fixed
    /// mapping would destroy it).
    private func claim(_ address: UnsafeMutableRawPointer) {
        let page = Int(pageSize)
        let placed = mmap(address, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        if placed == address { return }
        let reason = placed == MAP_FAILED ? String(cString: strerror(errno)) : "the kernel placed it elsewhere"
        if let placed, placed != MAP_FAILED { munmap(placed, page) }
        fatalError("notifier-stress: the page at \(address) that a mutation vacated was taken by another mapping of this process before it could be claimed again (\(reason)); the churn stops rather than replace it")
    }

    /// Mutators: change one owned page, flush, publish.
    private func mutatorLoop(owned: [MemoryChurnSlot], scratch: UInt64, monitor: UserfaultfdMonitor, rng: inout Xorshift64) {
        guard !owned.isEmpty else { return }
        let explicit = ExplicitInvalidationSource(addressSpace: monitor.addressSpace)
        let page = Int(pageSize)
        let prepare = UnsafeMutableRawPointer(bitPattern: UInt(scratch))!
        let transit = UnsafeMutableRawPointer(bitPattern: UInt(scratch + pageSize))!
        var flushTimes: [UInt64] = []
        flushTimes.reserveCapacity(1 << 16)
        var localMutations = 0
        var localKinds = [0, 0, 0, 0]
        var early = 0
        while !signals.isStopped {
            let slot = owned[Int(rng.next() % UInt64(owned.count))]
            let address = UnsafeMutableRawPointer(bitPattern: UInt(slot.address))!
            let roll = rng.next() % 100
            let kind: Mutation = roll < 30 ? .discard : roll < 60 ? .replace : roll < 85 ? .unmap : .move
            // Relaxed + releasing: only this thread writes `version`; the
            // releasing add makes "in flight" visible before the page changes.
            slot.version.add(1, ordering: .releasing)
            let invalidationsBefore = slot.invalidations.load(ordering: .acquiring)
            var newValue = slot.published.load(ordering: .relaxed)
            func freshPage() -> UInt64 {
                let value = values.add(1, ordering: .relaxed).newValue
                let made = mmap(prepare, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                precondition(made == prepare, "notifier-stress: mmap of the scratch page failed: errno \(errno)")
                prepare.storeBytes(of: value, as: UInt64.self)
                return value
            }
            func moveIn() {
                let moved = cnp_mremap(prepare, page, page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, address)
                precondition(moved == address, "notifier-stress: mremap onto the slot failed: errno \(errno)")
                claim(prepare)
                // The new mapping is not registered: register it, then drop the
                // count of the old one (its kernel registration went with it).
                do {
                    try monitor.register(start: slot.address, length: pageSize)
                    try monitor.unregister(start: slot.address, length: pageSize)
                } catch {
                    record("re-registering 0x\(String(slot.address, radix: 16)) failed: \(error)")
                }
            }
            var probeAfterCall = true
            switch kind {
            case .discard:
                precondition(madvise(address, page, MADV_DONTNEED) == 0, "notifier-stress: madvise failed: errno \(errno)")
                if slot.invalidations.load(ordering: .acquiring) == invalidationsBefore { early += 1 }
                probeAfterCall = false
                // userfaultfd reports a discard before the kernel drops the
                // pages (REMOVE is read, then the zap runs): a fill between the
                // two caches the old content. The remedy the README gives: an
                // explicit invalidation after madvise returns brackets the zap.
                try! explicit.invalidate(InvalidationRange(start: slot.address, end: slot.address + pageSize, event: .clear))
                newValue = 0
            case .replace:
                newValue = freshPage()
                let moved = cnp_mremap(prepare, page, page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, address)
                precondition(moved == address, "notifier-stress: mremap over the slot failed: errno \(errno)")
                claim(prepare)
                if slot.invalidations.load(ordering: .acquiring) == invalidationsBefore { early += 1 }
                probeAfterCall = false
                do {
                    try monitor.register(start: slot.address, length: pageSize)
                    try monitor.unregister(start: slot.address, length: pageSize)
                } catch {
                    record("re-registering 0x\(String(slot.address, radix: 16)) failed: \(error)")
                }
            case .unmap:
                precondition(munmap(address, page) == 0, "notifier-stress: munmap failed: errno \(errno)")
                // Absent to hitters as unmapped memory is (their reads fail), but held.
                claim(address)
                if slot.invalidations.load(ordering: .acquiring) == invalidationsBefore { early += 1 }
                probeAfterCall = false
                // Hitters see the page absent for a while.
                for _ in 0..<(rng.next() % 64) { sched_yield() }
                newValue = freshPage()
                moveIn()
            case .move:
                let away = cnp_mremap(address, page, page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, transit)
                precondition(away == transit, "notifier-stress: mremap away failed: errno \(errno)")
                claim(address)
                if slot.invalidations.load(ordering: .acquiring) == invalidationsBefore { early += 1 }
                probeAfterCall = false
                sched_yield()
                let back = cnp_mremap(transit, page, page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, address)
                precondition(back == address, "notifier-stress: mremap back failed: errno \(errno)")
                claim(transit)
            }
            if probeAfterCall, slot.invalidations.load(ordering: .acquiring) == invalidationsBefore { early += 1 }
            let flushStarted = StressClock.now()
            do { try monitor.flush() } catch { record("flush failed: \(error)") }
            if flushTimes.count < flushTimes.capacity { flushTimes.append(StressClock.now() - flushStarted) }
            if slot.invalidations.load(ordering: .acquiring) == invalidationsBefore {
                record("\(kind.name) of slot 0x\(String(slot.address, radix: 16)) was not invalidated after flush()")
            }
            slot.history.store((slot.history.load(ordering: .relaxed) << 4) | UInt64(kind.rawValue + 1), ordering: .relaxed)
            // Releasing: a hitter that sees this value also sees the odd version above.
            slot.published.store(newValue, ordering: .releasing)
            // Releasing: the published value (and the page) before the even version.
            slot.version.add(1, ordering: .releasing)
            localKinds[kind.rawValue] += 1
            localMutations += 1
        }
        mutations.add(localMutations, ordering: .relaxed)
        kinds.withLock { for index in 0..<4 { $0[index] += localKinds[index] } }
        returnedBeforeInvalidation.add(early, ordering: .relaxed)
        flushNanoseconds.withLock { $0.append(contentsOf: flushTimes) }
    }
}

/// What a ``MemoryChurnRun`` measured and found.
public struct MemoryChurnResult: Sendable {
    public var seconds: Double
    public var seed: UInt64
    public var strategy: String
    public var hitters, mutators, slots: Int
    /// Gets, of which hits (mirror valid), fills and absent (page unmapped).
    public var gets, hits, fills, absents: Int
    /// Fills restarted by readRetry.
    public var retries: Int
    /// Gets that overlapped no mutation and were checked against the published value.
    public var checks: Int
    public var mutations: Int
    public var mutationsByKind: [(String, Int)]
    /// Mutations whose invalidation had not run yet when the system call returned.
    public var returnedBeforeInvalidation: Int
    public var flushMedianMicroseconds: Double
    public var flushP99Microseconds: Double
    public var shutdownMicroseconds: Double
    public var monitor: UserfaultfdMonitorStatistics
    public var violationCount: Int
    /// The first 1000 violations.
    public var violations: [String]

    /// Whether the run found no violation.
    public var isClean: Bool { violationCount == 0 }

    /// The report printed at the end of a run.
    public var summary: String {
        func rate(_ n: Int) -> String { String(format: "%.0f", Double(n) / max(seconds, 1e-9)) }
        var lines: [String] = []
        lines.append("ran " + String(format: "%.1f", seconds) + " s, seed \(seed), source uffd, strategy \(strategy): " + (isClean ? "CLEAN" : "\(violationCount) VIOLATION(S)"))
        lines.append("gets: \(gets) (\(rate(gets))/s): hits \(hits), fills \(fills), absent \(absents), fill retries \(retries), oracle checks \(checks)")
        lines.append("mutations: \(mutations) (\(rate(mutations))/s): " + mutationsByKind.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        lines.append("monitor: \(monitor.messages) messages in \(monitor.reads) reads (largest batch \(monitor.largestBatch)): unmap \(monitor.unmapEvents), remove \(monitor.removeEvents), remap \(monitor.remapEvents); page faults \(monitor.unexpectedFaults), unknown \(monitor.unknownEvents), refused invalidations \(monitor.failedInvalidations), refused unregisters \(monitor.failedUnregisters)")
        let share = mutations > 0 ? 100 * Double(returnedBeforeInvalidation) / Double(mutations) : 0
        lines.append(String(format: "lag: %d of %d mutations (%.1f%%) returned from the system call before their invalidation ran; flush() median %.1f us, p99 %.1f us; shutdown %.0f us",
                            returnedBeforeInvalidation, mutations, share, flushMedianMicroseconds, flushP99Microseconds, shutdownMicroseconds))
        for violation in violations.prefix(20) { lines.append("VIOLATION: \(violation)") }
        return lines.joined(separator: "\n")
    }
}
