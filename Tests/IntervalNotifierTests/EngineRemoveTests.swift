import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

@Suite("Engine: remove, put and synchronize")
struct EngineRemoveTests {
    @Test("idle remove unlinks at once; double remove and foreign remove are refused", arguments: RegistryStrategy.allCases)
    func idleRemoveAndErrors(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy), other = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x100, recorder)
        #expect(throws: NotifierError.foreignSubscription) { try other.remove(sub) }
        try space.remove(sub)
        #expect(space.subscriptionCount == 0)
        #expect(throws: NotifierError.notRegistered) { try space.remove(sub) }
        #expect(throws: NotifierError.notRegistered) { try space.put(sub) { _ in } }
        try space.invalidateRangeStart(range(0, 0x10000))
        try space.invalidateRangeEnd(range(0, 0x10000))
        #expect(recorder.calls.isEmpty)
        try space.checkInvariants()
    }

    @Test("remove during a window waits until the last invalidation ends", arguments: RegistryStrategy.allCases)
    func removeWaitsForWindow(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0, 0x1000, recorder)
        recorder.holdCallbacks.store(true, ordering: .releasing)
        let r = range(0, 0x1000)
        let invalidator = JoinableThread { try! space.invalidateRangeStart(r) }
        recorder.entered.wait()                        // the callback is running
        let removed = Atomic<Bool>(false)
        let remover = JoinableThread {
            try! space.remove(sub)
            removed.store(true, ordering: .releasing)
        }
        sleepMilliseconds(50)
        #expect(!remover.isFinished, "remove must wait while a callback for it runs")
        #expect(space.state.pendingRemoves == 1)
        #expect(space.state.subscriptionsInTree == 1, "rule 3: frozen tree")
        recorder.holdCallbacks.store(false, ordering: .releasing)
        recorder.gate.signal()
        invalidator.join()
        sleepMilliseconds(30)
        #expect(!remover.isFinished, "the window stays open until invalidateRangeEnd")
        try space.invalidateRangeEnd(r)
        remover.join()
        let removedValue = removed.load(ordering: .acquiring)
        #expect(removedValue)
        #expect(space.subscriptionCount == 0)
        try space.checkInvariants()
    }

    @Test("remove returns only after the end step applied the deferred list (locked re-read)", arguments: RegistryStrategy.allCases)
    func removeReturnsAfterDeferredListApplied(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0, 0x1000, recorder)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        // Stretch the instant between "sequence even" and "deferred list applied".
        space.setWindowClosingHookForTesting { usleep(100_000) }
        let stillInTree = Atomic<Int>(-1)
        let remover = JoinableThread {
            try! space.remove(sub)
            // Right after remove returns the subscription must be out of the tree.
            var found = 0
            space.forEachSubscription(overlapping: 0, last: 0x1000) { _ in found += 1; return true }
            stillInTree.store(found, ordering: .releasing)
        }
        sleepMilliseconds(30)
        try space.invalidateRangeEnd(r)
        remover.join()
        let stillInTreeValue = stillInTree.load(ordering: .acquiring)
        #expect(stillInTreeValue == 0)
    }

    @Test("removing a pending insert does not wait and it never reaches the tree", arguments: RegistryStrategy.allCases)
    func removePendingInsert(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0, 0x1000, recorder)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        let late = try space.subscribe(0x100, 0x10, recorder)
        #expect(space.state.pendingInserts == 1)
        try space.remove(late)                      // returns at once
        #expect(space.state.pendingInserts == 0)
        #expect(throws: NotifierError.notRegistered) { try space.remove(late) }
        try space.invalidateRangeEnd(r)
        #expect(space.subscriptionCount == 1)
        try space.checkInvariants()
    }

    @Test("rule 7: after remove returns no callback runs for it, under concurrent invalidations", arguments: RegistryStrategy.allCases)
    func noCallbackAfterRemove(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let violations = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let invalidators = (0..<2).map { _ in
            JoinableThread {
                while !stop.load(ordering: .relaxed) {
                    let r = range(0, 0x10_0000)
                    try! space.invalidateRangeStart(r)
                    try! space.invalidateRangeEnd(r)
                }
            }
        }
        for round in 0..<300 {
            let poisoned = Atomic<Bool>(false)
            let sub = try space.insert(start: UInt64(round % 16) * 0x1000, length: 0x1000) { sub, _, seq in
                if poisoned.load(ordering: .acquiring) { violations.add(1, ordering: .relaxed) }
                sub.setSequence(seq)
                return true
            }
            usleep(UInt32.random(in: 0...200))
            try space.remove(sub)
            poisoned.store(true, ordering: .releasing)
        }
        stop.store(true, ordering: .relaxed)
        invalidators.forEach { $0.join() }
        let violationsValue = violations.load(ordering: .relaxed)
        #expect(violationsValue == 0)
        try space.checkInvariants()
    }

    @Test("put: release runs once, after the window closes and a grace period; synchronize waits for it", arguments: RegistryStrategy.allCases)
    func putAndSynchronize(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let idle = try space.subscribe(0x10_0000, 0x1000, recorder)
        let busy = try space.subscribe(0, 0x1000, recorder)
        let released = TestMutex<[UInt64]>([])
        try space.put(idle) { sub in released.withLock { $0.append(sub.start) } }
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        try space.put(busy) { sub in released.withLock { $0.append(sub.start) } }   // does not wait
        #expect(space.state.pendingRemoves == 1)
        #expect(throws: NotifierError.notRegistered) { try space.remove(busy) }
        LiveObjectCounters.waitForDeferredFrees()   // every flavour's callback queue (each flavour's releases use its own)
        #expect(released.withLock { $0 } == [0x10_0000], "the busy one waits for the window")
        try space.invalidateRangeEnd(r)
        try space.synchronize()
        #expect(released.withLock { $0.sorted() } == [0, 0x10_0000])
        #expect(space.subscriptionCount == 0)
        try space.checkInvariants()
    }

    @Test("synchronize waits for a put queued in an open window", arguments: RegistryStrategy.allCases)
    func synchronizeWaitsForPendingPut(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0, 0x1000, recorder)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        let count = Atomic<Int>(0)
        try space.put(sub) { _ in count.add(1, ordering: .relaxed) }
        let syncer = JoinableThread { try! space.synchronize() }
        sleepMilliseconds(50)
        #expect(!syncer.isFinished)
        try space.invalidateRangeEnd(r)
        syncer.join()
        let countValue = count.load(ordering: .relaxed)
        #expect(countValue == 1)
    }
}
