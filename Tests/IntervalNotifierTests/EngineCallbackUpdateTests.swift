import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

/// `put` and `update` from inside `invalidate()`, and `update` racing
/// invalidations and lookups (the programming model of the 2019 LKML series
/// "make interval notifier updates safe").
@Suite("Engine: put and update inside callbacks")
struct EngineCallbackUpdateTests {
    /// Counts callbacks per subscription start and lets a test choose what the
    /// callback does.
    final class Driver: @unchecked Sendable {
        let space: AddressSpace
        let calls = TestMutex<[UInt64: Int]>([:])
        let released = Atomic<Int>(0)
        let action = TestMutex<(@Sendable (IntervalSubscription) throws(NotifierError) -> Void)?>(nil)
        let errors = TestMutex<[NotifierError]>([])

        init(_ strategy: RegistryStrategy) { space = AddressSpace(strategy: strategy) }

        func subscribe(_ start: UInt64, _ length: UInt64) throws -> IntervalSubscription {
            // Weak: the driver owns the space, which owns this callback.
            try space.insert(start: start, length: length) { [weak self] sub, _, seq in
                sub.setSequence(seq)
                guard let self else { return true }
                calls.withLock { $0[sub.start, default: 0] += 1 }
                if let body = action.withLock({ $0 }) {
                    do throws(NotifierError) { try body(sub) } catch { errors.withLock { $0.append(error) } }
                }
                return true
            }
        }
        func callCount(_ start: UInt64) -> Int { calls.withLock { $0[start, default: 0] } }
        func invalidate(_ start: UInt64, _ end: UInt64) throws {
            let r = range(start, end)
            try space.invalidateRangeStart(r)
            try space.invalidateRangeEnd(r)
        }
    }

    @Test("put of the running subscription from its own callback: unlinked when the window ends, released once, never called after", arguments: RegistryStrategy.allCases)
    func putSelfFromCallback(strategy: RegistryStrategy) throws {
        let d = Driver(strategy)
        let sub = try d.subscribe(0x1000, 0x1000)
        d.action.withLock { $0 = { [weak d] s throws(NotifierError) in
            guard let d else { return }
            try d.space.put(s) { _ in d.released.add(1, ordering: .relaxed) } } }
        let r = range(0x1000, 0x2000)
        try d.space.invalidateRangeStart(r)
        #expect(d.space.subscriptionCount == 1, "still in the frozen tree until the window closes")
        #expect(d.space.state.pendingRemoves == 1)
        d.action.withLock { $0 = nil }
        try d.space.invalidateRangeEnd(r)
        #expect(d.space.subscriptionCount == 0)
        try d.space.synchronize()
        #expect(d.released.load(ordering: .relaxed) == 1)
        try d.invalidate(0, 0x10000)
        #expect(d.callCount(0x1000) == 1, "no callback after its window ended")
        #expect(throws: NotifierError.notRegistered) { _ = try sub.readBegin() }
        #expect(d.errors.withLock { $0 }.isEmpty)
        try d.space.checkInvariants()
    }

    @Test("put of another subscription from a callback; a second put is refused", arguments: RegistryStrategy.allCases)
    func putOtherFromCallback(strategy: RegistryStrategy) throws {
        let d = Driver(strategy)
        let trigger = try d.subscribe(0x1000, 0x1000)
        let victim = try d.subscribe(0x100000, 0x1000)
        d.action.withLock { $0 = { [weak d] s throws(NotifierError) in
            guard let d else { return }
            guard s === trigger else { return }
            try d.space.put(victim) { _ in d.released.add(1, ordering: .relaxed) }
            try d.space.put(victim) { _ in d.released.add(1, ordering: .relaxed) }
        } }
        try d.invalidate(0x1000, 0x2000)
        #expect(d.errors.withLock { $0 } == [.notRegistered])
        #expect(d.space.subscriptionCount == 1)
        try d.space.synchronize()
        #expect(d.released.load(ordering: .relaxed) == 1)
        d.action.withLock { $0 = nil }
        try d.invalidate(0, 0x200000)
        #expect(d.callCount(0x100000) == 0)
        _ = try trigger.readBegin()
        try d.space.checkInvariants()
    }

    @Test("update from a callback is deferred to the window's end; readers that began before retry; the last update wins; a put cancels it",
          arguments: RegistryStrategy.allCases)
    func updateFromCallback(strategy: RegistryStrategy) throws {
        let d = Driver(strategy)
        let sub = try d.subscribe(0x10000, 0x4000)
        let other = try d.subscribe(0x40000, 0x1000)
        let begun = try other.readBegin()
        d.action.withLock { $0 = { [weak d] s throws(NotifierError) in
            guard let d else { return }
            if s === sub {
                // Shrink to the part that was not invalidated, then change our mind.
                try d.space.update(s, start: 0x12000, length: 0x2000)
                try d.space.update(s, start: 0x13000, length: 0x1000)
                // Update another subscription the window does not cover.
                try d.space.update(other, start: 0x50000, length: 0x1000)
            }
        } }
        let r = range(0x10000, 0x12000)
        try d.space.invalidateRangeStart(r)
        #expect(sub.start == 0x10000, "deferred: the range changes when the window closes")
        #expect(d.space.state.pendingUpdates == 2)
        d.action.withLock { $0 = nil }
        try d.space.invalidateRangeEnd(r)
        #expect(sub.bounds == 0x13000...0x13fff)
        #expect(other.bounds == 0x50000...0x50fff)
        #expect(other.readRetry(begun), "a region begun before the update must retry")
        #expect(d.space.withSubscription(containing: 0x13800) { $0 === sub })
        #expect(d.space.withSubscription(containing: 0x10000) { $0 == nil })
        #expect(d.space.withSubscription(containing: 0x40000) { $0 == nil })
        #expect(d.space.withSubscription(containing: 0x50000) { $0 === other })
        let fresh = try other.readBegin()
        #expect(!other.readRetry(fresh))
        // A put in the same window cancels a pending update.
        d.action.withLock { $0 = { [weak d] s throws(NotifierError) in
            guard let d else { return }
            try d.space.update(s, start: 0x90000, length: 0x1000)
            try d.space.put(s) { _ in d.released.add(1, ordering: .relaxed) }
        } }
        try d.invalidate(0x13000, 0x14000)
        #expect(d.space.subscriptionCount == 1)
        #expect(d.space.withSubscription(containing: 0x90000) { $0 == nil })
        #expect(d.space.statistics.deferredUpdatesCancelled == 1)
        try d.space.synchronize()
        #expect(d.released.load(ordering: .relaxed) == 1)
        #expect(d.errors.withLock { $0 }.isEmpty)
        try d.space.checkInvariants()
    }

    enum Move: String, CaseIterable { case shrink, grow, move }

    @Test("update that shrinks, grows or moves a range while invalidations and lookups race it: lookups see the old or the new range, never neither",
          arguments: RegistryStrategy.allCases, Move.allCases)
    func updateRacingInvalidations(strategy: RegistryStrategy, move: Move) throws {
        let d = Driver(strategy)
        let small: ClosedRange<UInt64> = 0x20000...0x21fff, large: ClosedRange<UInt64> = 0x1f000...0x23fff
        let elsewhere: ClosedRange<UInt64> = 0x80000...0x81fff
        let (from, to): (ClosedRange<UInt64>, ClosedRange<UInt64>) = switch move {
        case .shrink: (large, small)
        case .grow: (small, large)
        case .move: (small, elsewhere)
        }
        let sub = try d.subscribe(from.lowerBound, from.upperBound - from.lowerBound + 1)
        _ = try d.subscribe(0x70000, 0x1000)
        let stop = Atomic<Bool>(false)
        let failures = FailureLog()
        let invalidator = JoinableThread {
            while !stop.load(ordering: .relaxed) { try! d.invalidate(0x1f000, 0x82000) }
        }
        let reader = JoinableThread {
            while !stop.load(ordering: .relaxed) {
                var seen = 0
                d.space.forEachSubscription(overlapping: 0x1f000, last: 0x81fff) { s in
                    if s === sub { seen += 1 }
                    return true
                }
                if seen != 1 { failures.record("a lookup saw the subscription \(seen) times") }
                let bounds = sub.bounds
                if bounds != from && bounds != to { failures.record("torn range \(bounds)") }
            }
        }
        for round in 0..<2000 {
            let target = round % 2 == 0 ? to : from
            try d.space.update(sub, start: target.lowerBound, last: target.upperBound)
        }
        stop.store(true, ordering: .relaxed)
        #expect(invalidator.join(timeoutSeconds: 30) && reader.join(timeoutSeconds: 30))
        #expect(failures.count == 0, "\(failures.firstMessages)")
        #expect(d.space.statistics.updates + d.space.statistics.deferredUpdates >= 400)
        #expect(sub.bounds == from)
        try d.space.checkInvariants()
    }

    @Test("parallel updates of one subscription are applied one after the other, each whole", arguments: RegistryStrategy.allCases)
    func parallelUpdates(strategy: RegistryStrategy) throws {
        let d = Driver(strategy)
        let sub = try d.subscribe(0x1000, 0x1000)
        let ranges: [ClosedRange<UInt64>] = [0x1000...0x1fff, 0x5000...0x8fff]
        let failures = FailureLog()
        let updaters = ranges.map { target in
            JoinableThread {
                for _ in 0..<2000 { try! d.space.update(sub, start: target.lowerBound, last: target.upperBound) }
            }
        }
        let stop = Atomic<Bool>(false)
        let checker = JoinableThread {
            while !stop.load(ordering: .relaxed) {
                let bounds = sub.bounds
                if !ranges.contains(bounds) { failures.record("torn range \(bounds)") }
                var seen = 0
                d.space.forEachSubscription(overlapping: 0x1000, last: 0x8fff) { s in
                    if s === sub { seen += 1 }
                    return true
                }
                if seen != 1 { failures.record("a lookup saw the subscription \(seen) times") }
            }
        }
        for updater in updaters { #expect(updater.join(timeoutSeconds: 60)) }
        stop.store(true, ordering: .relaxed)
        #expect(checker.join(timeoutSeconds: 30))
        #expect(failures.count == 0, "\(failures.firstMessages)")
        #expect(d.space.statistics.updates == 4000)
        #expect(d.space.subscriptionCount == 1)
        try d.space.checkInvariants()
    }
}
