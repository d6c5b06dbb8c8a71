import CNotifierHarness
import Histogram
import IntervalNotifier
import NotifierHarness
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension StressRun {
    @inline(__always) func beat(_ worker: Int) {
        // Relaxed: the watchdog only needs an eventually visible timestamp.
        heartbeats[worker].time.store(StressClock.now(), ordering: .relaxed)
    }

    @inline(__always) func pages(of sub: IntervalSubscription) -> ClosedRange<Int> {
        Int(sub.start / Self.pageSize)...Int(sub.last / Self.pageSize)
    }

    // MARK: Subscriptions and their callbacks

    /// Inserts a fresh subscription over a random range into `slot`.
    func subscribe(_ slot: MirrorSlot, rng: inout Xorshift64) {
        let count = 1 + Int(rng.next() % UInt64(max(1, min(configuration.maxSubscriptionPages, table.pageCount))))
        let first = Int(rng.next() % UInt64(table.pageCount - count + 1))
        let context = SubscriptionContext(id: nextContextID.add(1, ordering: .relaxed).newValue)
        let callback = driver.makeCallback(run: self, slot: slot, context: context, firstPage: first, pageCount: count)
        let sub: IntervalSubscription
        do {
            sub = try space.insert(start: UInt64(first) * Self.pageSize, length: UInt64(count) * Self.pageSize, invalidate: callback)
        } catch .addressSpaceReleased {
            counters.insertsRefused.add(1, ordering: .relaxed)
            return
        } catch {
            violation("insert threw \(error)")
            return
        }
        counters.inserts.add(1, ordering: .relaxed)
        driver.didInsert(context)
        let installed = slot.lock.withLock { () -> Bool in
            // Another churner may have filled the slot meanwhile: keep its one.
            guard slot.subscription == nil else { return false }
            slot.firstPage = first
            slot.pageCount = count
            slot.mirror = Array(repeating: 0, count: count)
            slot.subscription = sub
            slot.context = context
            return true
        }
        if !installed {
            do { try space.remove(sub) } catch { violation("remove threw \(error)") }
            context.poisoned.store(true, ordering: .releasing)
            retire(context)
            counters.removes.add(1, ordering: .relaxed)
        }
    }

    /// Records whether a removal starts before teardown has finished.
    func noteRemoval(_ context: SubscriptionContext) {
        // Sequentially consistent: ordered against the phase stores around `release()`.
        if teardownPhase.load(ordering: .sequentiallyConsistent) != 2 {
            context.removalOverlappedTeardown.store(true, ordering: .relaxed)
        }
    }

    // MARK: Invalidators

    /// The calling thread's invalidating-thread state, installed for its
    /// callbacks to find (nil when the protocol's callbacks need none).
    func installInvalidatingThreadState() -> InvalidatingThreadState? {
        guard driver.needsInvalidatingThreadState else { return nil }
        let state = InvalidatingThreadState()
        state.install()
        return state
    }

    func invalidatorLoop(worker: Int, rng: inout Xorshift64) {
        var latency = StressHistograms.make()
        let pageCount = table.pageCount
        let held = installInvalidatingThreadState()
        defer { held?.uninstall() }
        while !signals.isStopped {
            beat(worker)
            let size: Int
            if let limit = configuration.maxInvalidationPages {
                size = 1 + Int(rng.next() % UInt64(max(1, min(limit, pageCount))))
            } else {
                let roll = rng.next() % 100
                size = roll < 60 ? 1 + Int(rng.next() % 16) : roll < 95 ? 1 + Int(rng.next() % UInt64(max(1, pageCount / 8))) : pageCount
            }
            let first = Int(rng.next() % UInt64(pageCount - size + 1))
            let pages = first...(first + size - 1)
            let blockable = Double(rng.next() % 1_000_000) / 1e6 >= configuration.nonBlockableFraction
            let event = configuration.events[Int(rng.next() % UInt64(configuration.events.count))]
            let range = try! InvalidationRange(
                start: UInt64(first) * Self.pageSize, end: UInt64(first + size) * Self.pageSize, event: event, blockable: blockable)
            let t0 = StressClock.now()
            table.cover(pages)
            driver.invalidationWillStart()
            do {
                try space.invalidateRangeStart(range)
            } catch .wouldBlock {
                driver.invalidationDidEnd(held)
                table.uncover(pages)
                counters.wouldBlock.add(1, ordering: .relaxed)
                continue
            } catch {
                violation("invalidateRangeStart threw \(error)")
                driver.invalidationDidEnd(held)
                table.uncover(pages)
                continue
            }
            for page in pages {
                table.write(page, rng.next() % 4 == 0 ? 0 : generation.add(1, ordering: .relaxed).newValue)
            }
            if rng.next() % 8 == 0 { usleep(UInt32(rng.next() % 32)) }   // hmm-tests: delay < 32 us
            do { try space.invalidateRangeEnd(range) } catch { violation("invalidateRangeEnd threw \(error)") }
            driver.invalidationDidEnd(held)
            table.uncover(pages)
            counters.invalidations.add(1, ordering: .relaxed)
            _ = latency.record(StressClock.now() - t0)
        }
        histograms.withLock { $0.invalidation.add(latency) }
    }

    // MARK: Churners

    func churnerLoop(worker: Int, rng: inout Xorshift64) {
        var removeLatency = StressHistograms.make()
        while !signals.isStopped {
            beat(worker)
            let slot = slots[Int(rng.next() % UInt64(slots.count))]
            let detached = slot.lock.withLock { () -> (IntervalSubscription, SubscriptionContext)? in
                guard let sub = slot.subscription, let context = slot.context else { return nil }
                slot.subscription = nil
                slot.context = nil
                return (sub, context)
            }
            if let (sub, context) = detached {
                noteRemoval(context)
                if Double(rng.next() % 1_000_000) / 1e6 < configuration.putFraction {
                    context.usedPut.store(true, ordering: .relaxed)
                    // Listed until its release callback runs; the final checks
                    // report any left (a callback that never ran).
                    pendingPuts.withLock { $0[context.id] = context }
                    do {
                        try space.put(sub) { [self] _ in
                            let calls = context.releaseCallbacks.add(1, ordering: .relaxed).newValue
                            context.poisoned.store(true, ordering: .releasing)
                            if calls != 1 { violation("put of subscription \(context.id): release callback ran \(calls) times") }
                            pendingPuts.withLock { _ = $0.removeValue(forKey: context.id) }
                            retire(context)
                        }
                    } catch { violation("put threw \(error)") }
                } else {
                    let t0 = StressClock.now()
                    do { try space.remove(sub) } catch { violation("remove threw \(error)") }
                    _ = removeLatency.record(StressClock.now() - t0)
                    context.poisoned.store(true, ordering: .releasing)
                    retire(context)
                }
                counters.removes.add(1, ordering: .relaxed)
            }
            subscribe(slot, rng: &rng)
        }
        histograms.withLock { $0.remove.add(removeLatency) }
    }

    // MARK: Checker

    func checkerLoop(rng: inout Xorshift64) {
        var previousState = space.state
        var lastInvariantCheck = StressClock.now()
        let hangBound = UInt64(configuration.hangBound * 1e9)
        while !signals.isStopped {
            for _ in 0..<64 { checkOnePage(rng: &rng) }
            // Rules 1-3 from outside: each `state` is taken under the lock.
            let state = space.state
            if state.active == 0 && state.sequence & 1 == 1 { violation("odd sequence \(state.sequence) with nothing in flight") }
            if state.sequence & 1 == 0 && (state.pendingInserts + state.pendingRemoves) > 0 { violation("even sequence with a non-empty deferred list: \(state)") }
            if state.sequence == previousState.sequence && state.sequence & 1 == 1
                && state.subscriptionsInTree != previousState.subscriptionsInTree {
                violation("tree changed during invalidation window \(state.sequence): \(previousState.subscriptionsInTree) -> \(state.subscriptionsInTree) subscriptions")
            }
            previousState = state
            let now = StressClock.now()
            if now - lastInvariantCheck > 200_000_000 {
                do { try space.checkInvariants() } catch { violation("invariant: \(error)") }
                lastInvariantCheck = now
            }
            for (i, beat) in heartbeats.enumerated() where now > beat.time.load(ordering: .relaxed) + hangBound {
                violation("hang: \(workerNames[i]) made no progress for \(configuration.hangBound) s; state \(space.state)")
                signals.requestStop()
            }
        }
    }

    /// Rule 9: with no invalidation open over a page for the whole check, its
    /// mirror entry is empty or equals the primary entry.
    func checkOnePage(rng: inout Xorshift64) {
        let slot = slots[Int(rng.next() % UInt64(slots.count))]
        guard let (context, first, count) = slot.lock.withLock({ () -> (SubscriptionContext, Int, Int)? in
            guard let context = slot.context else { return nil }
            return (context, slot.firstPage, slot.pageCount)
        }) else { return }
        let page = first + Int(rng.next() % UInt64(count))
        let before = table.coverState(page)
        guard before.open == 0 else { return }
        let mirrored: UInt64? = slot.lock.withLock { slot.context === context ? slot.mirror[page - first] : nil }
        let primary = table.read(page)
        let after = table.coverState(page)
        counters.checks.add(1, ordering: .relaxed)
        guard let mirrored, after.open == 0, after.version == before.version else { return }
        if mirrored != 0 && mirrored != primary {
            violation("stale mirror: slot \(slot.index) subscription \(context.id) page \(page) holds generation \(mirrored) but primary is \(primary), no invalidation open (seed \(configuration.seed), seq \(space.state.sequence))")
        }
    }
}
