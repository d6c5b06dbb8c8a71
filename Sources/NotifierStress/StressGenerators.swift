import CNotifierPlatform
import Histogram
import IntervalNotifier
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
        let callback = makeCallback(slot: slot, context: context, firstPage: first, pageCount: count)
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
        contexts.withLock { $0.append(context) }
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
            counters.removes.add(1, ordering: .relaxed)
        }
    }

    func makeCallback(slot: MirrorSlot, context: SubscriptionContext, firstPage: Int, pageCount: Int) -> InvalidateCallback {
        let skipSetSequence = configuration.brokenVariant == .callbackSkipsSetSequence
        return { [unowned self] sub, range, sequence in
            if context.poisoned.load(ordering: .acquiring) {
                violation("callback ran for subscription \(context.id) after its removal returned (range \(range), seq \(sequence), seed \(configuration.seed))")
            }
            if range.isBlockable {
                slot.lock.lock()
            } else if !slot.lock.tryLock() {
                return false
            }
            if range.event == .release { context.releaseEvents.add(1, ordering: .relaxed) }
            if !skipSetSequence { sub.setSequence(sequence) }
            if slot.context === context {
                let first = max(Int(range.start / Self.pageSize), firstPage)
                let last = min(Int(min(range.last, sub.last) / Self.pageSize), firstPage + pageCount - 1)
                if first <= last { for page in first...last { slot.mirror[page - firstPage] = 0 } }
            }
            slot.lock.unlock()
            return true
        }
    }

    /// Records whether a removal starts before teardown has finished.
    func noteRemoval(_ context: SubscriptionContext) {
        // Sequentially consistent: ordered against the phase stores around `release()`.
        if teardownPhase.load(ordering: .sequentiallyConsistent) != 2 {
            context.removalOverlappedTeardown.store(true, ordering: .relaxed)
        }
    }

    // MARK: Faulters

    func faulterLoop(worker: Int, rng: inout Xorshift64) {
        var faultLatency = StressHistograms.make()
        var readBeginLatency = StressHistograms.make()
        let retryAlwaysFalse = configuration.brokenVariant == .readRetryAlwaysFalse
        let timeout = UInt64(configuration.faultTimeout * 1e9)
        while !stop.load(ordering: .relaxed) {
            beat(worker)
            let slot = slots[Int(rng.next() % UInt64(slots.count))]
            let picked = slot.lock.withLock { () -> (IntervalSubscription, SubscriptionContext, Int, Int)? in
                guard let sub = slot.subscription, let context = slot.context else { return nil }
                return (sub, context, slot.firstPage, slot.pageCount)
            }
            guard let (sub, context, first, count) = picked else { continue }
            let page = first + Int(rng.next() % UInt64(count))
            let began = StressClock.now()
            var retries = 0
            while true {
                let t0 = StressClock.now()
                let sequence: UInt64
                do { sequence = try sub.readBegin() } catch { violation("readBegin threw \(error)"); break }
                _ = readBeginLatency.record(StressClock.now() - t0)
                let value = table.read(page)
                if !retryAlwaysFalse && sub.checkRetry(sequence) { retries += 1; continue }
                slot.lock.lock()
                guard slot.context === context else {
                    slot.lock.unlock()
                    counters.faultAborts.add(1, ordering: .relaxed)
                    break
                }
                if !retryAlwaysFalse && sub.readRetry(sequence) {
                    slot.lock.unlock()
                    retries += 1
                    if StressClock.now() - began > timeout {
                        violation("fault timeout: slot \(slot.index) page \(page) retried \(retries) times in \(configuration.faultTimeout) s; state \(space.state)")
                        break
                    }
                    continue
                }
                slot.mirror[page - first] = value
                slot.lock.unlock()
                counters.faults.add(1, ordering: .relaxed)
                _ = faultLatency.record(StressClock.now() - began)
                break
            }
            if retries > 0 { counters.faultRetries.add(retries, ordering: .relaxed) }
        }
        histograms.withLock {
            $0.fault.add(faultLatency)
            $0.readBegin.add(readBeginLatency)
        }
    }

    // MARK: Invalidators

    func invalidatorLoop(worker: Int, rng: inout Xorshift64) {
        var latency = StressHistograms.make()
        let pageCount = table.pageCount
        while !stop.load(ordering: .relaxed) {
            beat(worker)
            let roll = rng.next() % 100
            let size = roll < 60 ? 1 + Int(rng.next() % 16) : roll < 95 ? 1 + Int(rng.next() % UInt64(max(1, pageCount / 8))) : pageCount
            let first = Int(rng.next() % UInt64(pageCount - size + 1))
            let pages = first...(first + size - 1)
            let blockable = Double(rng.next() % 1_000_000) / 1e6 >= configuration.nonBlockableFraction
            let event = configuration.events[Int(rng.next() % UInt64(configuration.events.count))]
            let range = try! InvalidationRange(
                start: UInt64(first) * Self.pageSize, end: UInt64(first + size) * Self.pageSize, event: event, blockable: blockable)
            let t0 = StressClock.now()
            table.cover(pages)
            do {
                try space.invalidateRangeStart(range)
            } catch .wouldBlock {
                table.uncover(pages)
                counters.wouldBlock.add(1, ordering: .relaxed)
                continue
            } catch {
                violation("invalidateRangeStart threw \(error)")
                table.uncover(pages)
                continue
            }
            for page in pages {
                table.write(page, rng.next() % 4 == 0 ? 0 : generation.add(1, ordering: .relaxed).newValue)
            }
            if rng.next() % 8 == 0 { usleep(UInt32(rng.next() % 32)) }   // hmm-tests: delay < 32 us
            space.invalidateRangeEnd(range)
            table.uncover(pages)
            counters.invalidations.add(1, ordering: .relaxed)
            _ = latency.record(StressClock.now() - t0)
        }
        histograms.withLock { $0.invalidation.add(latency) }
    }

    // MARK: Churners

    func churnerLoop(worker: Int, rng: inout Xorshift64) {
        var removeLatency = StressHistograms.make()
        while !stop.load(ordering: .relaxed) {
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
                    do {
                        try space.put(sub) { _ in
                            context.releaseCallbacks.add(1, ordering: .relaxed)
                            context.poisoned.store(true, ordering: .releasing)
                        }
                    } catch { violation("put threw \(error)") }
                } else {
                    let t0 = StressClock.now()
                    do { try space.remove(sub) } catch { violation("remove threw \(error)") }
                    _ = removeLatency.record(StressClock.now() - t0)
                    context.poisoned.store(true, ordering: .releasing)
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
        while !stop.load(ordering: .relaxed) {
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
                stop.store(true, ordering: .relaxed)
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
