import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier
import NotifierHarness

/// What differs between the strategies: lookups racing with updates, the qsbr
/// reader contract, and names.
@Suite("Registry strategies")
struct StrategyTests {
    @Test("names round-trip and every strategy is listed once")
    func names() {
        #expect(RegistryStrategy.allCases.map(\.name) == ["rcu", "rcu-qsbr", "rcu-bp", "rcu-mb", "kernel", "rwlock", "mutex"])
        for strategy in RegistryStrategy.allCases { #expect(RegistryStrategy(name: strategy.name) == strategy) }
        #expect(RegistryStrategy(name: "rcu-memb") == .rcu(.memb))
        #expect(RegistryStrategy(name: "spinlock") == nil)
        #expect(RegistryStrategy.default == .rcu(.memb))
    }

    @Test("lookups racing with inserts and removes only ever see live, overlapping subscriptions",
          arguments: RegistryStrategy.allCases)
    func lookupsRaceWithChurn(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let noop: InvalidateCallback = { sub, _, seq in sub.setSequence(seq); return true }
        var rng = Xorshift64(seed: 0x5747_0001)
        var live: [IntervalSubscription] = []
        for _ in 0..<2000 {
            let start = rng.next() % (1 << 24)
            live.append(try space.insert(start: start, length: 1 + rng.next() % 4096, invalidate: noop))
        }
        let stop = Atomic<Bool>(false)
        let bad = Atomic<Int>(0)
        let hits = Atomic<Int>(0)
        let readers = (0..<2).map { index in
            JoinableThread(name: "reader-\(index)") {
                // Half the readers follow the qsbr contract, half do not (they
                // pay an online/offline pair per lookup instead).
                if index == 0 { strategy.readerThreadOnline() }
                defer { if index == 0 { strategy.readerThreadOffline() } }
                var rng = Xorshift64(seed: 0x5747_0100 + UInt64(index))
                var found = 0, wrong = 0
                // Relaxed: a stop flag; nothing is published through it.
                while !stop.load(ordering: .relaxed) {
                    let point = rng.next() % (1 << 24)
                    space.withSubscription(containing: point) { sub in
                        guard let sub else { return }
                        found += 1
                        if !(sub.start <= point && point <= sub.last) || sub.addressSpace !== space { wrong += 1 }
                    }
                    space.forEachSubscription(overlapping: point, last: point &+ 4096) { sub in
                        if sub.last < point || sub.start > point &+ 4096 { wrong += 1 }
                        return true
                    }
                    if index == 0 { strategy.readerQuiescentState() }
                }
                // Relaxed: read after the join.
                hits.add(found, ordering: .relaxed)
                bad.add(wrong, ordering: .relaxed)
            }
        }
        // At least 6000 pairs and one second of racing (the readers need time).
        let deadline = Date().addingTimeInterval(1)
        var pairs = 0
        while pairs < 6_000 || Date() < deadline {
            pairs += 1
            let victim = Int(rng.next() % UInt64(live.count))
            try space.remove(live[victim])
            let start = rng.next() % (1 << 24)
            live[victim] = try space.insert(start: start, length: 1 + rng.next() % 4096, invalidate: noop)
        }
        stop.store(true, ordering: .relaxed)
        for reader in readers { #expect(reader.join()) }
        let wrong = bad.load(ordering: .relaxed)
        let found = hits.load(ordering: .relaxed)
        #expect(wrong == 0)
        #expect(found > 0)
        try space.checkInvariants()
        for sub in live { try space.remove(sub) }
        #expect(space.subscriptionCount == 0)
    }

    @Test("removed subscriptions and the address space are freed: none leaks through the registry",
          arguments: RegistryStrategy.allCases)
    func nothingLeaks(strategy: RegistryStrategy) throws {
        final class WeakBox: @unchecked Sendable { weak var subscription: IntervalSubscription? }
        weak var weakSpace: AddressSpace?
        var boxes: [WeakBox] = []
        do {
            let space = AddressSpace(strategy: strategy)
            weakSpace = space
            var subs: [IntervalSubscription] = []
            for index in 0..<100 {
                subs.append(try space.insert(start: UInt64(index) << 12, length: 4096) { s, _, q in s.setSequence(q); return true })
            }
            boxes = subs.map { sub in
                let box = WeakBox()
                box.subscription = sub
                return box
            }
            // A few removals, fewer than one batch: synchronize still drops them.
            for index in 0..<10 { try space.remove(subs[index]) }
            subs.removeFirst(10)
            try space.synchronize()
            #expect(boxes.prefix(10).allSatisfy { $0.subscription == nil }, "removed subscriptions still alive after synchronize")
            #expect(boxes.dropFirst(10).allSatisfy { $0.subscription != nil })
            // Remove the rest: the registry becomes empty, its last batch goes to RCU.
            for sub in subs { try space.remove(sub) }
            subs.removeAll()
        }
        RCU.QSBR.offline()
        LiveObjectCounters.waitForDeferredFrees()
        #expect(boxes.allSatisfy { $0.subscription == nil }, "subscriptions leaked")
        #expect(weakSpace == nil, "the address space leaked")
    }

    @Test("qsbr: an online reader holds back a put's release until it announces a quiescent state")
    func qsbrOnlineReaderHoldsBackRelease() throws {
        let space = AddressSpace(strategy: .rcu(.qsbr))
        let sub = try space.insert(start: 0, length: 4096) { s, _, q in s.setSequence(q); return true }
        let online = DispatchSemaphore(value: 0)
        let announce = DispatchSemaphore(value: 0)
        let reader = JoinableThread(name: "qsbr-reader") {
            RCU.QSBR.online()
            _ = space.withSubscription(containing: 10) { $0 != nil }
            online.signal()
            _ = announce.wait(timeout: .now() + 30)
            RCU.QSBR.quiescentState()
            RCU.QSBR.offline()
        }
        #expect(online.wait(timeout: .now() + 30) == .success)
        let released = SharedFlag()
        try space.put(sub) { _ in released.set() }
        sleep(milliseconds: 50)
        #expect(!released.isSet, "release ran while an online reader had not passed a quiescent state")
        announce.signal()
        #expect(reader.join())
        #expect(eventually { released.isSet })
        try space.synchronize()
    }

    @Test("qsbr: an online thread may remove, put and synchronize without stalling itself")
    func qsbrOnlineThreadCanWaitForGracePeriods() throws {
        let space = AddressSpace(strategy: .rcu(.qsbr))
        let done = SharedFlag()
        let worker = JoinableThread(name: "qsbr-updater") {
            RCU.QSBR.online()
            defer { RCU.QSBR.offline() }
            for index in 0..<200 {
                let sub = try! space.insert(start: UInt64(index) * 4096, length: 4096) { s, _, q in s.setSequence(q); return true }
                if index % 2 == 0 { try! space.remove(sub) } else { try! space.put(sub) { _ in } }
            }
            try! space.synchronize()
            #expect(RCU.QSBR.isOnline, "synchronize must bring the thread back online")
            done.set()
        }
        #expect(worker.join(timeoutSeconds: 30), "an online thread deadlocked on its own grace period")
        #expect(done.isSet)
    }

    @Test("a qsbr tree reclaims nodes only after online readers pass a quiescent state")
    func qsbrTreeReclamation() throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, reclamation: .rcu(.qsbr))
        var rng = Xorshift64(seed: 0x5747_0002)
        var live: [IntervalTreeEntry] = []
        IntervalTreeReclamationTests.churn(tree, live: &live, count: 500, rng: &rng)
        tree.waitForReclamation()
        let baseline = tree.memoryStatistics
        let online = DispatchSemaphore(value: 0)
        let announce = DispatchSemaphore(value: 0)
        let reader = JoinableThread(name: "qsbr-tree-reader") {
            RCU.QSBR.online()
            online.signal()
            _ = announce.wait(timeout: .now() + 30)
            RCU.QSBR.offline()
        }
        #expect(online.wait(timeout: .now() + 30) == .success)
        IntervalTreeReclamationTests.churn(tree, live: &live, count: 2000, rng: &rng)
        tree.flushRetired()
        sleep(milliseconds: 50)
        let held = tree.memoryStatistics
        #expect(held.reclaimedNodes == baseline.reclaimedNodes, "nodes reclaimed while a qsbr reader was online")
        announce.signal()
        #expect(reader.join())
        tree.waitForReclamation()
        let after = tree.memoryStatistics
        #expect(after.reclaimedNodes == after.retiredNodes)
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("immediate reclamation reuses replaced nodes at once", arguments: [RegistryStrategy.kernel, .rwlock, .mutex])
    func immediateReclamation(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let noop: InvalidateCallback = { s, _, q in s.setSequence(q); return true }
        var subs: [IntervalSubscription] = []
        for index in 0..<1000 { subs.append(try space.insert(start: UInt64(index) << 16, length: 4096, invalidate: noop)) }
        for round in 0..<20 {
            for index in stride(from: round % 2, to: subs.count, by: 2) {
                try space.remove(subs[index])
                subs[index] = try space.insert(start: UInt64(index) << 16, length: 4096, invalidate: noop)
            }
        }
        let memory = space.registry.tree.memoryStatisticsSerialized  // idle space: no writer runs
        // 1000 entries need 1000 nodes; path copying needs one path more at most
        // per update, so reuse keeps the slabs near the entry count.
        #expect(memory.allocatedNodes <= 2048, "\(memory.allocatedNodes) nodes allocated for 1000 entries")
        try space.checkInvariants()
    }
}
