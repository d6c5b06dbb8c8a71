import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

/// Every call that would wait for the calling thread itself throws within a
/// second instead of hanging (each runs on a watched thread).
@Suite("Engine: no silent self-deadlock")
struct EngineSelfWaitTests {
    /// Runs `body` on a fresh thread; fails the test if it hangs for a second.
    func withinASecond(_ what: String, _ body: @escaping @Sendable () -> Void) {
        #expect(completes(withinSeconds: 1, body), "\(what) hung instead of throwing")
    }

    @Test("inside its own open window a thread's remove, release, synchronize and waiting readBegin throw", arguments: RegistryStrategy.allCases)
    func callsInsideOwnWindow(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x1000, recorder)
        let outside = try space.subscribe(0x100000, 0x1000, recorder)
        let errors = TestMutex<[NotifierError]>([])
        withinASecond("calls inside an own window") {
            func record(_ body: () throws(NotifierError) -> Void) {
                do { try body() } catch { errors.withLock { $0.append(error) } }
            }
            let r = range(0x1000, 0x2000)
            try! space.invalidateRangeStart(r)
            record { () throws(NotifierError) in _ = try sub.readBegin() }
            record { () throws(NotifierError) in try space.remove(sub) }
            record { () throws(NotifierError) in try space.release() }
            record { () throws(NotifierError) in try space.synchronize() }
            // Calls that do not wait are fine: a readBegin outside the window,
            // an insert (deferred), a put (deferred).
            record { () throws(NotifierError) in _ = try outside.readBegin() }
            record { () throws(NotifierError) in try space.put(try space.insert(start: 0x1800, length: 0x10) { _, _, _ in true }) { _ in } }
            try! space.invalidateRangeEnd(r)
        }
        #expect(errors.withLock { $0 } == [
            .calledInsideOwnWindow(operation: .readBegin),
            .calledInsideOwnWindow(operation: .remove),
            .calledInsideOwnWindow(operation: .release),
            .calledInsideOwnWindow(operation: .synchronize),
        ])
        // Nothing was half-done: the subscription is still registered and works.
        #expect(sub.isRegistered && !space.isTornDown)
        _ = try sub.readBegin()
        try space.remove(sub)
        try space.checkInvariants()
    }

    @Test("another thread's window is waited for, not refused", arguments: RegistryStrategy.allCases)
    func otherThreadsWindowIsWaitedFor(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x1000, recorder)
        let r = range(0x1000, 0x2000)
        try space.invalidateRangeStart(r)
        let remover = JoinableThread { try! space.remove(sub) }
        sleepMilliseconds(50)
        #expect(!remover.isFinished, "remove must wait for the window another thread holds")
        try space.invalidateRangeEnd(r)
        #expect(remover.join(timeoutSeconds: 5))
    }

    @Test("synchronize from a release callback and inside a lookup throws", arguments: RegistryStrategy.allCases)
    func synchronizeFromReleaseCallbackAndLookup(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let sub = try space.subscribe(0x1000, 0x1000, recorder)
        let fromRelease = TestMutex<NotifierError?>(nil)
        try space.put(sub) { [weak space] _ in
            do throws(NotifierError) { try space?.synchronize() } catch { fromRelease.withLock { $0 = error } }
        }
        withinASecond("synchronize waiting for the release callback") { try! space.synchronize() }
        #expect(fromRelease.withLock { $0 } == .calledFromReleaseCallback(operation: .synchronize))
        // memb, bp, mb: synchronize would wait for itself. qsbr: it would take the
        // thread offline and return after freeing what the lookup holds; both for a
        // thread that went online only for the lookup and for a long-lived online one.
        guard case .rcu(let flavor) = strategy else { return }
        _ = try space.subscribe(0x1000, 0x1000, recorder)
        for online in flavor == .qsbr ? [false, true] : [false] {
            let inLookup = TestMutex<NotifierError?>(nil)
            // The body runs on a watched thread: that thread goes online, if at all.
            withinASecond("synchronize inside a lookup") {
                if online { strategy.readerThreadOnline() }
                defer { if online { strategy.readerThreadOffline() } }
                space.withSubscription(containing: 0x1000) { _ in
                    do throws(NotifierError) { try space.synchronize() } catch { inLookup.withLock { $0 = error } }
                }
                _ = space.forEachSubscription(overlapping: 0x1000, last: 0x1000) { _ in
                    do throws(NotifierError) { try space.synchronize() } catch { inLookup.withLock { $0 = $0 ?? error } }
                    return true
                }
                // Outside the lookup it works (an online qsbr thread goes offline to wait).
                try! space.synchronize()
            }
            #expect(inLookup.withLock { $0 } == .calledInsideLookup(operation: .synchronize), "online: \(online)")
        }
    }

    @Test("unbalanced invalidateRangeEnd throws and changes nothing: never started, twice, after wouldBlock", arguments: RegistryStrategy.allCases)
    func unbalancedEnd(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0x1000, 0x1000, recorder)
        let r = range(0x1000, 0x2000)
        #expect(throws: NotifierError.unbalancedInvalidateEnd(start: 0x1000, last: 0x1fff)) { try space.invalidateRangeEnd(r) }
        try space.invalidateRangeStart(r)
        try space.invalidateRangeEnd(r)
        #expect(throws: NotifierError.unbalancedInvalidateEnd(start: 0x1000, last: 0x1fff)) { try space.invalidateRangeEnd(r) }
        recorder.answer.store(false, ordering: .relaxed)
        let nonBlocking = range(0x1000, 0x2000, blockable: false)
        #expect(throws: NotifierError.wouldBlock) { try space.invalidateRangeStart(nonBlocking) }
        #expect(throws: NotifierError.unbalancedInvalidateEnd(start: 0x1000, last: 0x1fff)) { try space.invalidateRangeEnd(nonBlocking) }
        // A window another thread holds is not closed by a stray end of another range.
        recorder.answer.store(true, ordering: .relaxed)
        try space.invalidateRangeStart(r)
        #expect(throws: NotifierError.unbalancedInvalidateEnd(start: 0, last: 0xfff)) { try space.invalidateRangeEnd(range(0, 0x1000)) }
        #expect(space.state.active == 1 && space.state.sequence & 1 == 1)
        // Ending on another thread than the start is allowed.
        #expect(completes(withinSeconds: 5) { try! space.invalidateRangeEnd(r) })
        #expect(space.state.active == 0)
        try space.checkInvariants()
    }

    @Test("readBegin on a removed or put subscription throws notRegistered; a region begun before must retry", arguments: RegistryStrategy.allCases)
    func readBeginAfterRemove(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        let removed = try space.subscribe(0x1000, 0x1000, recorder)
        let put = try space.subscribe(0x3000, 0x1000, recorder)
        let begun = try removed.readBegin()
        try space.remove(removed)
        try space.put(put) { _ in }
        #expect(removed.readRetry(begun))
        #expect(throws: NotifierError.notRegistered) { _ = try removed.readBegin() }
        #expect(throws: NotifierError.notRegistered) { _ = try put.readBegin() }
        #expect(throws: NotifierError.notRegistered) { try space.update(removed, start: 0, length: 1) }
        try space.synchronize()
    }

    @Test("with a locked strategy, calls from a lookup's body that take the registry lock throw instead of deadlocking",
          arguments: [RegistryStrategy.kernel, .rwlock, .mutex])
    func callsInsideLockedLookup(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0x1000, 0x1000, recorder)
        let errors = TestMutex<[NotifierError]>([])
        withinASecond("calls inside a locked lookup") {
            space.withSubscription(containing: 0x1000) { sub in
                func record(_ body: () throws(NotifierError) -> Void) {
                    do { try body() } catch { errors.withLock { $0.append(error) } }
                }
                let r = range(0x1000, 0x2000)
                record { () throws(NotifierError) in _ = try sub!.readBegin() }
                record { () throws(NotifierError) in _ = try space.insert(start: 0, length: 1) { _, _, _ in true } }
                record { () throws(NotifierError) in try space.update(sub!, start: 0, length: 1) }
                record { () throws(NotifierError) in try space.remove(sub!) }
                record { () throws(NotifierError) in try space.put(sub!) { _ in } }
                record { () throws(NotifierError) in try space.invalidateRangeStart(r) }
                record { () throws(NotifierError) in try space.invalidateRangeEnd(r) }
                record { () throws(NotifierError) in try space.release() }
                record { () throws(NotifierError) in try space.synchronize() }
            }
        }
        #expect(errors.withLock { $0 } == [.readBegin, .insert, .update, .remove, .put, .invalidateRangeStart,
                                            .invalidateRangeEnd, .release, .synchronize].map { .calledInsideLookup(operation: $0) })
        // Outside the lookup everything works again.
        #expect(space.subscriptionCount == 1 && !space.isTornDown)
        try space.checkInvariants()
    }

    @Test("with RCU, a lookup's body may update the registry (it holds no lock)", arguments: RCUFlavor.allCases.map { RegistryStrategy.rcu($0) })
    func updatesInsideRCULookup(strategy: RegistryStrategy) throws {
        let space = AddressSpace(strategy: strategy)
        let recorder = CallbackRecorder()
        _ = try space.subscribe(0x1000, 0x1000, recorder)
        let ok = completes(withinSeconds: 1) {
            space.withSubscription(containing: 0x1000) { sub in
                _ = try! sub!.readBegin()
                let extra = try! space.insert(start: 0x8000, length: 0x1000) { _, _, _ in true }
                try! space.update(extra, start: 0x9000, length: 0x1000)
                try! space.put(extra) { _ in }
            }
        }
        #expect(ok)
        try space.synchronize()
        #expect(space.subscriptionCount == 1)
    }
}
