import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

@Suite("Engine: insert")
struct EngineInsertTests {
    @Test("idle insert: odd sequence one below the even current one, in the tree at once", arguments: RegistryStrategy.allCases)
    func idleInsert(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x1000, recorder)
        #expect(space.state.sequence == 2)
        #expect(sub.currentSequence == 1)
        #expect(sub.currentSequence & 1 == 1)
        #expect(space.subscriptionCount == 1)
        #expect(try sub.readBegin() == 1)
        #expect(!sub.readRetry(1))
        try space.checkInvariants()
    }

    @Test("rule 12: zero length and overflowing ranges are rejected, edges accepted", arguments: RegistryStrategy.allCases)
    func rejectsBadRanges(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        #expect(throws: NotifierError.emptyRange(start: 5)) { try space.subscribe(5, 0, recorder) }
        #expect(throws: NotifierError.rangeOverflow(start: .max, length: 2)) { try space.subscribe(.max, 2, recorder) }
        #expect(throws: NotifierError.rangeOverflow(start: 2, length: .max)) { try space.subscribe(2, .max, recorder) }
        #expect(throws: NotifierError.emptyRange(start: 9)) { try space.insert(start: 9, last: 8, invalidate: recorder.callback) }
        #expect(space.subscriptionCount == 0)
        let top = try space.subscribe(.max, 1, recorder)
        #expect(top.last == .max)
        let whole = try space.insert(start: 0, last: .max, invalidate: recorder.callback)
        #expect(whole.length == nil)
        let almost = try space.subscribe(0, .max, recorder)
        #expect(almost.last == UInt64.max - 1)
        #expect(space.subscriptionCount == 3)
        try space.checkInvariants()
    }

    @Test("partially excluded insert: the sequence turns odd and readBegin waits for the end", arguments: RegistryStrategy.allCases)
    func partiallyExcludedInsert(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let r = range(0x10_0000, 0x20_0000)
        try space.invalidateRangeStart(r)          // touches nothing: partially excluded
        #expect(space.state.sequence == 2)
        #expect(space.state.active == 1)
        let sub = try space.subscribe(0x10_0000, 0x1000, recorder)
        let state = space.state
        #expect(state.sequence == 3, "the new subscription must be assumed covered")
        #expect(sub.currentSequence == state.sequence)
        #expect(state.subscriptionsInTree == 1, "partially excluded: the tree changes at once")
        let returned = Atomic<UInt64>(0)
        let reader = JoinableThread { returned.store(try! sub.readBegin(), ordering: .releasing) }
        sleepMilliseconds(50)
        #expect(!reader.isFinished, "readBegin must sleep while the window is open")
        try space.invalidateRangeEnd(r)
        reader.join()
        let returnedValue = returned.load(ordering: .acquiring)
        #expect(returnedValue == 3)
        #expect(space.state.sequence == 4)
        try space.checkInvariants()
    }

    @Test("insert during an invalidation window is deferred until the last end", arguments: RegistryStrategy.allCases)
    func deferredInsert(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0, 0x1000, recorder)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        let window = space.state.sequence
        #expect(window & 1 == 1)
        let late = try space.subscribe(0x800, 0x1000, recorder)
        var state = space.state
        #expect(state.pendingInserts == 1)
        #expect(state.subscriptionsInTree == 1, "rule 3: the tree is frozen while the sequence is odd")
        #expect(late.currentSequence == window)
        // readBegin sleeps until the window closes and the insert is applied.
        let reader = JoinableThread { _ = try! late.readBegin() }
        sleepMilliseconds(50)
        #expect(!reader.isFinished)
        #expect(space.forEachSubscription(overlapping: 0x1000, last: 0x1000) { _ in false }, "not visible to lookups yet")
        try space.invalidateRangeEnd(r)
        reader.join()
        state = space.state
        #expect(state.pendingInserts == 0)
        #expect(state.subscriptionsInTree == 2)
        recorder.reset()
        try space.invalidateRangeStart(range(0x1500, 0x1600))
        try space.invalidateRangeEnd(range(0x1500, 0x1600))
        #expect(recorder.calls.map(\.start) == [0x800], "the deferred subscription now gets callbacks")
        try space.checkInvariants()
    }

    @Test("insert after release is refused", arguments: RegistryStrategy.allCases)
    func insertAfterRelease(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        try space.release()
        #expect(throws: NotifierError.addressSpaceReleased) { try space.subscribe(0, 10, recorder) }
        #expect(space.subscriptionCount == 0)
    }
}
