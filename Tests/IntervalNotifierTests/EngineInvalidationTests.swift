import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier
import NotifierHarness

@Suite("Engine: invalidation")
struct EngineInvalidationTests {
    @Test("start calls exactly the overlapping subscriptions with the odd window sequence (rule 11 on the engine)", arguments: RegistryStrategy.allCases)
    func callsOverlapping(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        var rng = Xorshift64(seed: 42)
        var subs: [IntervalSubscription] = []
        for _ in 0..<200 {
            let start = rng.next() % 100_000
            subs.append(try space.subscribe(start, 1 + rng.next() % 5_000, recorder))
        }
        for _ in 0..<100 {
            let start = rng.next() % 100_000
            let r = range(start, start + 1 + rng.next() % 10_000)
            recorder.reset()
            let before = space.state.sequence
            try space.invalidateRangeStart(r)
            let expected = subs.filter { r.overlaps(start: $0.start, last: $0.last) }
            let window = space.state.sequence
            #expect(window == (expected.isEmpty ? before : before | 1))
            let calls = recorder.calls
            #expect(calls.count == expected.count)
            #expect(Set(calls.map { "\($0.start)-\($0.last)" }).count == Set(expected.map { "\($0.start)-\($0.last)" }).count)
            #expect(calls.allSatisfy { $0.sequence == window && $0.range == r })
            for sub in expected { #expect(sub.currentSequence == window) }
            try space.invalidateRangeEnd(r)
            #expect(space.state.sequence & 1 == 0)
        }
        try space.checkInvariants()
    }

    @Test("collision-retry: readRetry and checkRetry turn true when an invalidation hits the subscription", arguments: RegistryStrategy.allCases)
    func readRetryProtocol(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x1000, recorder)
        let other = try space.subscribe(0x10_0000, 0x1000, recorder)
        let seq = try sub.readBegin()
        #expect(!sub.readRetry(seq) && !sub.checkRetry(seq))
        let r = range(0x1800, 0x1801)
        try space.invalidateRangeStart(r)
        #expect(sub.readRetry(seq) && sub.checkRetry(seq))
        // A subscription outside the range does not wait and does not collide.
        let otherSeq = try other.readBegin()
        #expect(!other.readRetry(otherSeq))
        try space.invalidateRangeEnd(r)
        let again = try sub.readBegin()
        #expect(again == space.state.sequence - 1, "the window's value, now stale")
        #expect(!sub.readRetry(again))
    }

    @Test("the window stays open until every concurrent invalidation ends, also those that touched nothing", arguments: RegistryStrategy.allCases)
    func windowSpansAllInvalidations(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0, 0x1000, recorder)
        let hit = range(0, 0x10), miss = range(0x10_0000, 0x20_0000)
        try space.invalidateRangeStart(miss)
        try space.invalidateRangeStart(hit)
        #expect(space.state.active == 2)
        try space.invalidateRangeEnd(hit)
        #expect(space.state.sequence & 1 == 1, "still open: another invalidation is in flight")
        let late = try space.subscribe(0x5000, 0x10, recorder)
        #expect(space.state.pendingInserts == 1)
        try space.invalidateRangeEnd(miss)
        let state = space.state
        #expect(state.sequence & 1 == 0 && state.active == 0 && state.pendingInserts == 0)
        #expect(state.subscriptionsInTree == 2)
        _ = late
        try space.checkInvariants()
    }

    @Test("non-blockable: stops at the first refusal, ends the range, rolls active back (rule 6)", arguments: RegistryStrategy.allCases)
    func nonBlockableRefusal(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        for i in 0..<4 { _ = try space.subscribe(UInt64(i) * 0x1000, 0x1000, recorder) }
        recorder.refuseStarts.withLock { $0 = [0x1000] }
        let r = range(0, 0x4000, blockable: false)
        #expect(throws: NotifierError.wouldBlock) { try space.invalidateRangeStart(r) }
        #expect(recorder.calls.map(\.start) == [0, 0x1000], "walk stops at the first false")
        let state = space.state
        #expect(state.active == 0)
        #expect(state.sequence & 1 == 0, "the window closed")
        #expect(space.statistics.wouldBlock == 1)
        // Blockable: a false answer is a callback bug; the walk goes on.
        recorder.reset()
        let b = range(0, 0x4000)
        try space.invalidateRangeStart(b)
        #expect(recorder.calls.count == 4)
        try space.invalidateRangeEnd(b)
        #expect(space.statistics.blockableCallbackFailures == 1)
        try space.checkInvariants()
    }

    @Test("rule 8: waits end across sequence wraparound", arguments: RegistryStrategy.allCases)
    func wraparound(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy, initialSequence: UInt64.max - 1)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0, 0x1000, recorder)
        #expect(sub.currentSequence == UInt64.max - 2)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        #expect(space.state.sequence == UInt64.max)
        let waiter = JoinableThread { _ = try! sub.readBegin() }
        sleepMilliseconds(30)
        #expect(!waiter.isFinished)
        try space.invalidateRangeEnd(r)
        waiter.join()
        #expect(space.state.sequence == 0, "wrapped to an even value")
        let fresh = try space.subscribe(0x2000, 0x10, recorder)
        #expect(fresh.currentSequence == UInt64.max, "idle insert at 0: odd, one below, wrapped")
        // A second window after the wrap: waits still end.
        try space.invalidateRangeStart(r)
        #expect(space.state.sequence == 1)
        let remove = JoinableThread { try! space.remove(sub) }
        sleepMilliseconds(30)
        #expect(!remove.isFinished)
        try space.invalidateRangeEnd(r)
        remove.join()
        #expect(try fresh.readBegin() == UInt64.max)
        try space.checkInvariants()
    }

    @Test("calls that would wait for the callback's own window fail clearly instead of deadlocking", arguments: RegistryStrategy.allCases)
    func reentrantCallsFail(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let errors = TestMutex<[NotifierError]>([])
        let victim = try space.insert(start: 0x9000, length: 0x10) { s, _, q in s.setSequence(q); return true }
        // Weak: a callback that holds its own space strongly is a cycle.
        _ = try space.insert(start: 0, length: 0x1000) { [weak space] sub, _, seq in
            sub.setSequence(seq)
            guard let space else { return true }
            func record(_ body: () throws(NotifierError) -> Void) {
                do { try body() } catch { errors.withLock { $0.append(error) } }
            }
            record { () throws(NotifierError) in try space.remove(sub) }
            record { () throws(NotifierError) in try space.remove(victim) }
            record { () throws(NotifierError) in _ = try sub.readBegin() }
            record { () throws(NotifierError) in try space.release() }
            record { () throws(NotifierError) in try space.synchronize() }
            return true
        }
        let r = range(0, 0x10)
        // Watchdog: a call that waited for its own window would hang here.
        #expect(completes(withinSeconds: 1) {
            try! space.invalidateRangeStart(r)
            try! space.invalidateRangeEnd(r)
        }, "a call from inside the callback waited for its own window")
        let got = errors.withLock { $0 }
        #expect(got == [
            .calledFromInvalidateCallback(operation: .remove),
            .calledFromInvalidateCallback(operation: .remove),
            .calledFromInvalidateCallback(operation: .readBegin),
            .calledFromInvalidateCallback(operation: .release),
            .calledFromInvalidateCallback(operation: .synchronize),
        ])
        #expect(space.subscriptionCount == 2, "nothing half-done")
        #expect(!space.isTornDown)
        try space.checkInvariants()
    }

    @Test("RCU lookups find the subscriptions overlapping an address or range", arguments: RegistryStrategy.allCases)
    func lookups(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let a = try space.subscribe(0x1000, 0x1000, recorder)
        let b = try space.subscribe(0x1800, 0x1000, recorder)
        #expect(space.withSubscription(containing: 0x1900) { $0 === a })
        #expect(space.withSubscription(containing: 0x2700) { $0 === b })
        #expect(space.withSubscription(containing: 0x5000) { $0 == nil })
        var found: [UInt64] = []
        space.forEachSubscription(overlapping: 0, last: .max) { found.append($0.start); return true }
        #expect(found == [0x1000, 0x1800])
    }
}
