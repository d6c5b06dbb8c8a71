import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

@Suite("Engine: ownership and lifetime")
struct EngineLifetimeTests {
    @Test("dropping a space frees it and its subscriptions in every pattern (a)-(e), for every strategy (child process: counters and RSS)",
          .timeLimit(.minutes(5)), arguments: RegistryStrategy.allCases)
    func leakPatterns(strategy: RegistryStrategy) async throws {
        // 100 000 spaces per pattern in CI's release run (.ci/run); fewer here,
        // where the build is unoptimised and the suites run side by side.
        let result = try await runChild(notifierCheckPath, ["leaks", "5000", strategy.name])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.components(separatedBy: "\n").filter { $0.hasSuffix(": ok") || $0.contains(", ok") }.count == 5,
                "\(result.standardOutput)")
    }

    @Test("a subscription that outlives its space is detached: its calls throw, never touch freed memory", arguments: RegistryStrategy.allCases)
    func subscriptionOutlivesSpace(strategy: RegistryStrategy) throws {
        let recorder = CallbackRecorder()
        var space: AddressSpace? = AddressSpace(strategy: strategy)
        let sub = try space!.subscribe(0x1000, 0x1000, recorder)
        let kept = try space!.subscribe(0x8000, 0x1000, recorder)
        let begun = try kept.readBegin()
        weak let weakSpace = space
        space = nil
        #expect(weakSpace == nil, "the space must not be kept alive by its subscriptions")
        // Teardown delivered one release event to each.
        #expect(recorder.calls.map(\.range.event) == [.release, .release])
        #expect(throws: NotifierError.addressSpaceReleased) { _ = try sub.readBegin() }
        #expect(kept.readRetry(begun), "a region begun before the teardown must retry")
        #expect(sub.addressSpace == nil)
        #expect(!sub.isRegistered)
        let other = AddressSpace(strategy: strategy)
        #expect(throws: NotifierError.foreignSubscription) { try other.remove(sub) }
        #expect(throws: NotifierError.foreignSubscription) { try other.update(sub, start: 0, length: 1) }
    }

    @Test("a space dropped after release() delivers no second release event", arguments: RegistryStrategy.allCases)
    func dropAfterRelease(strategy: RegistryStrategy) throws {
        let recorder = CallbackRecorder()
        var space: AddressSpace? = AddressSpace(strategy: strategy)
        _ = try space!.subscribe(0x1000, 0x1000, recorder)
        try space!.release()
        #expect(recorder.calls.count == 1)
        space = nil
        #expect(recorder.calls.count == 1)
    }

    @Test("a space dropped with a window still open wakes a reader sleeping in readBegin", arguments: RegistryStrategy.allCases)
    func dropWithOpenWindowWakesReaders(strategy: RegistryStrategy) throws {
        let recorder = CallbackRecorder()
        var space: AddressSpace? = AddressSpace(strategy: strategy)
        let sub = try space!.subscribe(0x1000, 0x1000, recorder)
        try space!.invalidateRangeStart(range(0x1000, 0x2000))
        let outcome = TestMutex<NotifierError?>(nil)
        let reader = JoinableThread {
            // Sleeps in the window; once woken, begins again until the teardown
            // has detached the subscription.
            do throws(NotifierError) { while true { _ = try sub.readBegin(); usleep(100) } } catch { outcome.withLock { $0 = error } }
        }
        sleepMilliseconds(50)
        #expect(!reader.isFinished, "the reader must sleep in the open window")
        space = nil   // the window's opener drops the space without ending it
        #expect(reader.join(timeoutSeconds: 5), "the reader must not be left blocked")
        #expect(outcome.withLock { $0 } == .addressSpaceReleased)
    }

    @Test("put release callbacks run exactly once, also when the space is dropped right after", arguments: RegistryStrategy.allCases)
    func putThenDrop(strategy: RegistryStrategy) throws {
        let released = Atomic<Int>(0)
        var space: AddressSpace? = AddressSpace(strategy: strategy)
        for index in 0..<64 {
            let sub = try space!.insert(start: UInt64(index) << 12, length: 0x1000) { s, _, q in s.setSequence(q); return true }
            try space!.put(sub) { _ in released.add(1, ordering: .relaxed) }
        }
        space = nil
        LiveObjectCounters.waitForDeferredFrees()
        #expect(released.load(ordering: .relaxed) == 64)
    }
}

@Suite("Engine: misuse traps survive release builds")
struct MisuseTrapTests {
    @Test("an odd initial sequence traps with its message (child process)", .timeLimit(.minutes(1)))
    func oddInitialSequence() async throws {
        let result = try await runChild(notifierCheckPath, ["trap", "odd-initial-sequence"])
        #expect(result.trapped, "status \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("AddressSpace(initialSequence: 3): the initial sequence must be even"), "\(result.standardError)")
    }
}
