import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

@Suite("Engine: teardown")
struct EngineTeardownTests {
    @Test("rule 10: one blockable release event per subscription, top of the space included; idempotent", arguments: RegistryStrategy.allCases)
    func releaseOncePerSubscription(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let subs = [
            try space.subscribe(0, 1, recorder),
            try space.subscribe(0x1000, 0x1000, recorder),
            try space.subscribe(0x1000, 0x1000, recorder),
            try space.subscribe(.max, 1, recorder),
            try space.insert(start: 0, last: .max, invalidate: recorder.callback),
        ]
        try space.release()
        var calls = recorder.calls
        #expect(calls.count == subs.count)
        #expect(calls.allSatisfy { $0.range.event == .release && $0.range.isBlockable && $0.range.start == 0 && $0.range.last == .max })
        #expect(Set(calls.map(\.start)) == [0, 0x1000, .max])
        #expect(calls.contains { $0.last == .max && $0.start == .max })
        try space.release()
        calls = recorder.calls
        #expect(calls.count == subs.count, "a second release delivers nothing")
        #expect(space.isTornDown)
        // Still registered: users remove them.
        #expect(space.subscriptionCount == subs.count)
        for sub in subs { try space.remove(sub) }
        #expect(space.subscriptionCount == 0)
        try space.checkInvariants()
    }

    @Test("teardown during an open window waits for it and reaches the deferred subscriptions too", arguments: RegistryStrategy.allCases)
    func releaseWaitsForWindow(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0, 0x1000, recorder)
        let r = range(0, 0x1000)
        try space.invalidateRangeStart(r)
        _ = try space.subscribe(0x4000, 0x1000, recorder)       // deferred
        recorder.reset()
        let teardown = JoinableThread { try! space.release() }
        // The teardown marks the space released at once, then waits for the window.
        #expect(eventually { space.isTornDown })
        sleepMilliseconds(30)
        #expect(!teardown.isFinished)
        #expect(throws: NotifierError.addressSpaceReleased) { try space.subscribe(0x9000, 1, recorder) }
        try space.invalidateRangeEnd(r)
        teardown.join()
        let releases = recorder.calls.filter { $0.range.event == .release }
        #expect(releases.map(\.start).sorted() == [0, 0x4000])
        try space.checkInvariants()
    }
}
