/// The miss path and the cache's books: everything that runs under the cache's
/// mutex (registration, draining invalidated regions, eviction).
extension RegistrationCache {
    /// The miss path (see ``RegistrationCache`` "Miss").
    @inline(never)
    func miss(address: UInt64, last: UInt64) throws(NotifierError) -> RegistrationHandle {
        mutex.lock()
        defer { mutex.unlock() }
        while true {
            drainInvalidated()
            // Another getter may have registered it while we waited.
            if let subscription = hit(address: address, last: last) { return RegistrationHandle(subscription: subscription) }
            let start = address & ~(limits.alignment - 1)
            let regionLast = last | (limits.alignment - 1)
            if let region = try registerRegion(start: start, last: regionLast) {
                books.pointee.misses += 1
                add(region)
                books.pointee.frontIndexEntries += frontIndex.pagesEntered(start: start, last: regionLast)
                frontIndex.insert(region.pointee.subscriptionWord, start: start, last: regionLast,
                                  entries: books.pointee.frontIndexEntries) { [books] in
                    books.pointee.ring.map { ($0.pointee.subscriptionWord, $0.pointee.start, $0.pointee.last) }
                }
                evictToLimits()
                return RegistrationHandle(subscription: region.pointee.subscription.unsafelyUnwrapped)
            }
            books.pointee.registrationRetries += 1
        }
    }

    /// Inserts, waits out a covering window, registers and publishes one region
    /// with one reference for the caller; nil when an invalidation hit it
    /// meanwhile (it is deregistered then, and the caller tries again).
    private func registerRegion(start: UInt64, last: UInt64) throws(NotifierError) -> CacheRegionPointer? {
        let region = CacheRegionPointer.makeRegion(start: start, last: last)
        let regionWord = region.contextWord
        let subscription: IntervalSubscription
        do {
            subscription = try registry.insert(start: start, last: last, context: regionWord) { [core] subscription, range, sequence in
                core.invalidate(regionWord: regionWord, subscription: subscription, range: range, sequence: sequence)
            }
        } catch {
            // Never reachable by anyone: free it now.
            region.dropLifetime()
            region.dropLifetime()
            throw error
        }
        // The region's reference: its subscription (and the state word in it)
        // lives as long as the region does.
        region.pointee.subscription = Unmanaged.passRetained(subscription)
        // Relaxed: hits only compare it, and decide by the CAS on `cacheState`,
        // which the releasing publication of `ready` below orders after it.
        subscription.cacheOwner.store(ownerWord, ordering: .relaxed)
        do {
            // An insert while invalidations are in flight assumes they cover the
            // region: registering now could capture memory being unmapped.
            _ = try subscription.readBegin()
        } catch {
            abandon(region)
            throw error
        }
        guard let payload = register(start, last - start + 1) else {
            abandon(region)
            throw .registrationFailed(start: start, length: last - start + 1)
        }
        region.pointee.payload = payload
        // Relaxed: as `cacheOwner`; a handle reads it only after the acquiring
        // CAS that saw `ready`, which the releasing publication below orders.
        subscription.cacheRegistration.store(payload, ordering: .relaxed)
        // Releasing: hitters that see `ready` see the payload. Acquiring: if an
        // invalidation set `invalid` first, we see it.
        let old = subscription.cacheState.bitwiseOr(CacheRegionState.ready | CacheRegionState.referenced | 1,
                                                  ordering: .acquiringAndReleasing).oldValue
        guard old & CacheRegionState.invalid != 0 else { return region }
        // Invalidated while we registered: the invalidation queued it for the
        // books; deregister it now (we hold its only reference).
        if subscription.dropCacheReferenceClaimingDeregistration().claimed { core.deregisterClaimed(region) }
        return nil
    }

    /// Gives up a region that was never registered.
    private func abandon(_ region: CacheRegionPointer) {
        // Acquiring and releasing: one order with the invalidate callback's bit.
        // `deregistering` too: there is nothing to deregister.
        let old = region.pointee.entry.cacheState.bitwiseOr(
            CacheRegionState.invalid | CacheRegionState.ready | CacheRegionState.deregistering,
            ordering: .acquiringAndReleasing).oldValue
        // First to set `invalid`: we own its removal; otherwise an invalidation
        // queued it and the next drain removes it.
        if old & CacheRegionState.invalid == 0 { retire(region) }
        region.dropLifetime()
    }

    /// Adds a published region to the books.
    private func add(_ region: CacheRegionPointer) {
        region.pointee.slot = books.pointee.ring.count
        books.pointee.ring.append(region)
        books.pointee.bytes += region.pointee.byteCount
    }

    /// Takes every region invalidations queued off the books (mutex held) and
    /// deregisters those no handle holds.
    func drainInvalidated() {
        var word = core.takeInvalidated()
        while word != 0 {
            let region = CacheRegionPointer(contextWord: word)
            word = region.pointee.nextInvalidated
            // Deregister before `retire`: once its subscription is put, the
            // release callback may free the region at any time (a grace
            // period can end before the next line runs).
            core.finishDeregistration(region, region.pointee.entry)
            retire(region)
        }
    }

    /// Takes `region` off the books and puts its subscription; the engine's
    /// release callback (after the window closes and a grace period) counts
    /// one of the two events its memory waits for. Mutex held; the caller set
    /// its `invalid` bit first.
    func retire(_ region: CacheRegionPointer) {
        let slot = region.pointee.slot
        if slot >= 0 {
            let moved = books.pointee.ring.removeLast()
            if slot < books.pointee.ring.count {
                books.pointee.ring[slot] = moved
                moved.pointee.slot = slot
            }
            region.pointee.slot = -1
            books.pointee.bytes -= region.pointee.byteCount
            // On the books means entered in the front index (taken out below).
            books.pointee.frontIndexEntries -= frontIndex.pagesEntered(start: region.pointee.start, last: region.pointee.last)
        }
        guard !region.pointee.isRetired, let subscription = region.pointee.subscription?.takeUnretainedValue() else { return }
        region.pointee.isRetired = true
        // Out of the front index before the put (see `CacheFrontIndex`, "Writers and lifetime").
        frontIndex.remove(region.pointee.subscriptionWord, start: region.pointee.start, last: region.pointee.last)
        let regionWord = region.contextWord
        do {
            try addressSpace.put(subscription) { _ in CacheRegionPointer(contextWord: regionWord).dropLifetime() }
        } catch {
            // The cache holds the address space, and only the cache puts its
            // subscriptions: unreachable unless the engine's books are broken.
            fatalError("RegistrationCache: put of the subscription of [\(region.pointee.start), \(region.pointee.last)] failed: \(error)")
        }
    }

    /// Evicts unused regions with a clock hand until both limits hold or no
    /// region can go (every one is held, or invalid and waiting for a drain).
    func evictToLimits() {
        var scanned = 0
        while books.pointee.ring.count > limits.maxRegions || books.pointee.bytes > limits.maxBytes {
            let count = books.pointee.ring.count
            guard count > 0, scanned < 2 * count else { return }
            if books.pointee.hand >= count { books.pointee.hand = 0 }
            let region = books.pointee.ring[books.pointee.hand]
            scanned += 1
            // Relaxed: a guess; the CAS in `evict` decides, and clearing the
            // `referenced` hint needs no order.
            let observed = region.pointee.entry.cacheState.load(ordering: .relaxed)
            if observed & CacheRegionState.referenced != 0 {
                // Second chance. Relaxed: `referenced` is a hint for the clock.
                _ = region.pointee.entry.cacheState.compareExchange(expected: observed, desired: observed & ~CacheRegionState.referenced, ordering: .relaxed)
                books.pointee.hand += 1
                continue
            }
            // Evicted: the ring's last region moved into this slot; stay.
            if !evict(region, counted: true) { books.pointee.hand += 1 }
        }
    }

    /// Invalidates and drops `region` if no handle holds it and it is valid.
    func evict(_ region: CacheRegionPointer, counted: Bool) -> Bool {
        // Relaxed: a guess for the CAS.
        let subscription = region.pointee.entry
        var observed = subscription.cacheState.load(ordering: .relaxed)
        while observed & (CacheRegionState.referenceMask | CacheRegionState.invalid) == 0 {
            // Acquiring and releasing: one order with hits' CAS on this word (a
            // hit after this fails) and with invalidations.
            let (exchanged, original) = subscription.cacheState.compareExchange(
                expected: observed, desired: observed | CacheRegionState.invalid,
                successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if exchanged {
                // Deregister before `retire` (see `drainInvalidated`).
                core.finishDeregistration(region, subscription)
                retire(region)
                if counted { books.pointee.evictions += 1 }
                return true
            }
            observed = original
        }
        return false
    }
}
