import Histogram
import IntervalNotifier
import Synchronization
import NotifierHarness

/// What one fault works on: a slot with the subscription, context and range it
/// held when picked (under its lock), and the faulting page.
struct FaultTarget {
    let slot: MirrorSlot
    let subscription: IntervalSubscription
    let context: SubscriptionContext
    let firstPage: Int
    let page: Int
}

/// How one fault ended.
enum FaultOutcome {
    /// The mirror entry was installed.
    case installed
    /// Given up: the slot changed subscription, or the run is stopping.
    case aborted
    /// The mirror did not become usable within the fault timeout (`hmm`: not
    /// valid again, `hmm_range_wait_until_valid` fails and the fault returns
    /// -EBUSY; `odp`: not activated, the fault fails and is replayed later).
    /// A liveness figure under heavy invalidation, not a violation: the final
    /// checks verify that every mirror is usable once no invalidation is in flight.
    case abandoned
    /// Retried past the fault timeout (reported as a violation).
    case timedOut
}

/// A fault's retries and its time budget (like RDMA ODP's 1000 ms fault
/// timeout). The clock starts when the fault starts if latencies are recorded
/// (`began` non-zero), else at the first retry or wait, so that a fault that
/// needs neither reads no clock.
struct FaultRetries {
    /// Retries so far.
    private(set) var count = 0
    /// The budget in nanoseconds.
    let timeout: UInt64
    private var began: UInt64

    init(began: UInt64, timeout: UInt64) {
        self.began = began
        self.timeout = timeout
    }

    /// Counts one retry; false once the fault has run past its budget.
    mutating func retry() -> Bool {
        count += 1
        return !expired()
    }

    /// Whether the fault has run past its budget (starts the clock if needed).
    mutating func expired() -> Bool { remainingNanoseconds() == 0 }

    /// Nanoseconds left of the budget (starts the clock if needed).
    mutating func remainingNanoseconds() -> UInt64 {
        let now = StressClock.now()
        if began == 0 { began = now }
        let spent = now - began
        return spent >= timeout ? 0 : timeout - spent
    }
}

/// A faulter's own counts, added to the shared counters in batches so that
/// faulters do not share a cache line on every fault.
struct FaulterTally {
    var faults = 0
    var retries = 0
    var aborts = 0
    var lookupMisses = 0
    var protocolWaits = 0
    var abandoned = 0

    /// Adds the counts to `counters` and zeroes them.
    mutating func flush(into counters: StressCounters) {
        // Relaxed (all six): statistics, read after the threads are joined.
        if faults > 0 { counters.faults.add(faults, ordering: .relaxed) }
        if retries > 0 { counters.faultRetries.add(retries, ordering: .relaxed) }
        if aborts > 0 { counters.faultAborts.add(aborts, ordering: .relaxed) }
        if lookupMisses > 0 { counters.lookupMisses.add(lookupMisses, ordering: .relaxed) }
        if protocolWaits > 0 { counters.protocolWaits.add(protocolWaits, ordering: .relaxed) }
        if abandoned > 0 { counters.faultsAbandoned.add(abandoned, ordering: .relaxed) }
        self = FaulterTally()
    }
}

extension StressRun {
    // MARK: Faulters

    /// A faulter: pick a mirror and a page, look the page's subscriptions up in
    /// the registry (the fault path's lookup, whose cost the strategies differ
    /// in), then fault with the configured protocol. No allocation per fault.
    func faulterLoop(worker: Int, rng: inout Xorshift64) {
        faulterLoop(driver, worker: worker, rng: &rng)
    }

    /// The faulter loop with the driver's type known (specialised per
    /// protocol: no dynamic dispatch per fault).
    func faulterLoop<Driver: MirrorDriver>(_ driver: Driver, worker: Int, rng: inout Xorshift64) {
        let strategy = configuration.strategy
        let record = configuration.recordLatencies
        let timeout = UInt64(configuration.faultTimeout * 1e9)
        var faultLatency = StressHistograms.make()
        var readBeginLatency = StressHistograms.make()
        var tally = FaulterTally()
        var iterations = 0
        strategy.readerThreadOnline()
        while !signals.isStopped {
            strategy.readerQuiescentState()
            beat(worker)
            iterations &+= 1
            if iterations & 1023 == 0 { tally.flush(into: counters) }
            guard let target = pickFaultTarget(rng: &rng) else { continue }
            if !lookUp(target) { tally.lookupMisses += 1 }
            let began = record ? StressClock.now() : 0
            var retries = FaultRetries(began: began, timeout: timeout)
            let outcome = driver.fault(target, run: self, tally: &tally, retries: &retries, readBeginLatency: &readBeginLatency)
            tally.retries += retries.count
            switch outcome {
            case .installed:
                tally.faults += 1
                if record { _ = faultLatency.record(StressClock.now() - began) }
            case .aborted:
                tally.aborts += 1
            case .abandoned:
                tally.abandoned += 1
            case .timedOut:
                violation("fault timeout (\(configuration.mirrorProtocol)): slot \(target.slot.index) page \(target.page) retried \(retries.count) times in \(configuration.faultTimeout) s; state \(space.state)")
            }
        }
        tally.flush(into: counters)
        strategy.readerThreadOffline()
        if record {
            histograms.withLock {
                $0.fault.add(faultLatency)
                $0.readBegin.add(readBeginLatency)
            }
        }
    }

    /// A random slot's subscription, context and range (under its lock) and a
    /// random page of it; nil when the slot is empty.
    @inline(__always)
    func pickFaultTarget(rng: inout Xorshift64) -> FaultTarget? {
        let slot = slots[Int(rng.next() % UInt64(slots.count))]
        slot.lock.lock()
        defer { slot.lock.unlock() }
        guard let sub = slot.subscription, let context = slot.context else { return nil }
        let page = slot.firstPage + Int(rng.next() % UInt64(slot.pageCount))
        return FaultTarget(slot: slot, subscription: sub, context: context, firstPage: slot.firstPage, page: page)
    }

    /// The registry lookup of the faulting address; whether it found the
    /// target's subscription (a miss: a pending insert, or one being removed).
    @inline(__always)
    func lookUp(_ target: FaultTarget) -> Bool {
        let address = UInt64(target.page) * Self.pageSize
        return !space.forEachSubscription(overlapping: address, last: address) { $0 !== target.subscription }
    }

    // MARK: Invalidate callbacks (the parts every protocol shares)

    /// Rule 7: no callback runs after `remove` returned or the release callback ran.
    @inline(__always)
    func checkNotPoisoned(_ context: SubscriptionContext, range: InvalidationRange, sequence: UInt64) {
        // Acquiring: pairs with the releasing store that poisons the context.
        if context.poisoned.load(ordering: .acquiring) {
            violation("callback ran for subscription \(context.id) after its removal returned (range \(range), seq \(sequence), seed \(configuration.seed))")
        }
    }

    /// The part of every protocol's callback under the slot lock: count a
    /// release event, and clear the slot's entries in `range` if the slot still
    /// mirrors this subscription.
    @inline(__always)
    func clearMirror(_ slot: MirrorSlot, context: SubscriptionContext, subscription sub: IntervalSubscription,
                     range: InvalidationRange, firstPage: Int, pageCount: Int) {
        // Relaxed: a statistic read after the threads are joined.
        if range.event == .release { context.releaseEvents.add(1, ordering: .relaxed) }
        guard slot.context === context else { return }
        let first = max(Int(range.start / Self.pageSize), firstPage)
        let last = min(Int(min(range.last, sub.last) / Self.pageSize), firstPage + pageCount - 1)
        if first <= last { for page in first...last { slot.mirror[page - firstPage] = 0 } }
    }
}
