import Foundation
import IntervalNotifier
import Synchronization
import Testing

/// The RCU layer: nesting, lazy thread registration, grace periods, deferred
/// callbacks and the barrier.
@Suite("RCU layer")
struct RCUTests {
    @Test("read-side sections nest; isInReadSection follows the outermost one")
    func nestedSections() {
        #expect(!RCU.isInReadSection)
        RCU.readLock()
        #expect(RCU.isInReadSection)
        RCU.readLock()
        #expect(RCU.isInReadSection)
        RCU.readUnlock()
        #expect(RCU.isInReadSection, "leaving the inner section left the outer one too")
        RCU.readUnlock()
        #expect(!RCU.isInReadSection)

        let value = RCU.read { RCU.read { RCU.isInReadSection ? 42 : 0 } }
        #expect(value == 42)
        #expect(!RCU.isInReadSection)
    }

    struct Thrown: Error {}

    @Test("a section left by a thrown error is closed")
    func throwingSectionIsClosed() {
        #expect(throws: Thrown.self) {
            try RCU.read { () throws(Thrown) -> Int in
                #expect(RCU.isInReadSection)
                throw Thrown()
            }
        }
        #expect(!RCU.isInReadSection)
        // And a grace period still completes (no section was left open).
        #expect(completes(withinSeconds: 30) { RCU.synchronize() })
    }

    @Test("an unregistered thread enters a section lazily and exits cleanly")
    func lazyRegistration() {
        let failures = FailureLog()
        let threads = (0..<8).map { index in
            JoinableThread(name: "lazy-\(index)") {
                // A brand-new thread: not registered, not in a section.
                if RCU.isInReadSection { failures.record("thread \(index): in a section before entering one") }
                let inside = RCU.read { RCU.isInReadSection }
                if !inside { failures.record("thread \(index): not in a section inside RCU.read") }
                if RCU.isInReadSection { failures.record("thread \(index): still in a section after RCU.read") }
                // Half the threads unregister explicitly; the rest rely on the
                // thread-exit destructor.
                if index % 2 == 0 {
                    RCU.unregisterCurrentThread()
                    RCU.unregisterCurrentThread()  // idempotent
                    // And may register again lazily.
                    RCU.read { if !RCU.isInReadSection { failures.record("thread \(index): re-registration failed") } }
                }
            }
        }
        for thread in threads { #expect(thread.join()) }
        #expect(failures.count == 0, "\(failures.firstMessages)")
        // Grace periods must not wait for (or crash on) the exited readers.
        #expect(completes(withinSeconds: 30) {
            RCU.synchronize()
            RCU.synchronize()
        }, "a grace period did not complete after registered threads exited")
    }

    @Test("synchronize waits for a reader inside its section on another thread", arguments: [false, true])
    func synchronizeWaitsForReader(nested: Bool) {
        let entered = DispatchSemaphore(value: 0)
        let readerLeaving = SharedFlag()
        let reader = JoinableThread(name: "reader") {
            RCU.readLock()
            if nested {
                // An inner section that ends must leave the outer one in force.
                RCU.readLock()
                RCU.readUnlock()
            }
            entered.signal()
            sleep(milliseconds: 150)
            readerLeaving.set()
            RCU.readUnlock()
        }
        #expect(entered.wait(timeout: .now() + 30) == .success)
        RCU.synchronize()
        // The reader sets the flag before its unlock; a grace period that began
        // while it was inside cannot end before that unlock.
        #expect(readerLeaving.isSet, "synchronize returned while a reader was still inside its section")
        #expect(reader.join())
    }

    @Test("callAfterGracePeriod runs every body; barrier waits for all of them, in order")
    func callbacksAndBarrier() {
        final class Order: Sendable {
            let values = TestMutex<[Int]>([])
        }
        let counter = SharedCounter()
        let order = Order()
        let total = 200
        for i in 0..<total {
            RCU.callAfterGracePeriod {
                counter.increment()
                order.values.withLock { $0.append(i) }
            }
        }
        RCU.barrier()
        #expect(counter.current == total)
        #expect(order.values.withLock { $0 } == Array(0..<total), "callbacks ran out of the order queued")

        // From several threads at once.
        let threads = (0..<4).map { index in
            JoinableThread(name: "caller-\(index)") {
                for _ in 0..<250 { RCU.callAfterGracePeriod { counter.increment() } }
                RCU.barrier()
            }
        }
        for thread in threads { #expect(thread.join()) }
        #expect(counter.current == total + 1000)
    }

    @Test("a deferred body waits for readers that were inside their sections")
    func callbackWaitsForReader() {
        let counter = SharedCounter()
        let entered = DispatchSemaphore(value: 0)
        let leave = DispatchSemaphore(value: 0)
        let ranBeforeReaderLeft = SharedFlag()
        let readerLeft = SharedFlag()
        let reader = JoinableThread(name: "reader") {
            RCU.read {
                entered.signal()
                _ = leave.wait(timeout: .now() + 30)
                readerLeft.set()
            }
        }
        #expect(entered.wait(timeout: .now() + 30) == .success)
        RCU.callAfterGracePeriod {
            if !readerLeft.isSet { ranBeforeReaderLeft.set() }
            counter.increment()
        }
        sleep(milliseconds: 50)
        #expect(counter.current == 0, "the body ran while a reader was inside its section")
        leave.signal()
        RCU.barrier()
        #expect(counter.current == 1)
        #expect(!ranBeforeReaderLeft.isSet)
        #expect(reader.join())
    }

    @Test("RCUPointer publishes, dereferences and exchanges")
    func rcuPointer() {
        let first = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        let second = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { first.deallocate(); second.deallocate() }
        first.initialize(to: 1)
        second.initialize(to: 2)
        let pointer = RCUPointer<Int>()
        #expect(RCU.read { pointer.dereference() } == nil)
        pointer.publish(first)
        #expect(RCU.read { pointer.dereference()?.pointee } == 1)
        #expect(pointer.loadProtected() == first)
        #expect(pointer.exchange(second) == first)
        #expect(RCU.read { pointer.dereference()?.pointee } == 2)
    }
}
