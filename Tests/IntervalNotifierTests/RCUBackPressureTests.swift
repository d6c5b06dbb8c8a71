import Foundation
import Testing
@testable import IntervalNotifier

/// Back-pressure of the RCU callback queues: a producer that queues callbacks
/// faster than grace periods complete is held back, so memory waiting for a
/// grace period stays bounded.
@Suite("RCU callback queue back-pressure")
struct RCUBackPressureTests {
    @Test("a backlogged queue holds the producer back until the worker catches up; an idle one does not")
    func throttles() {
        // A queue of its own, so that blocking its worker stalls no other test.
        let queue = RCUCallbackQueue(flavor: .memb, minimumIntervalNanoseconds: 100_000)
        #expect(completes(withinSeconds: 1) { queue.throttleIfBacklogged() }, "an idle queue must not wait")
        let gate = DispatchSemaphore(value: 0)
        queue.callAfterGracePeriod { gate.wait() }   // blocks the worker
        for _ in 0..<(RCUCallbackQueue.backlogLimit + 100) { queue.callAfterGracePeriod {} }
        let producer = JoinableThread { queue.throttleIfBacklogged() }
        sleepMilliseconds(100)
        #expect(!producer.isFinished, "a producer facing a backlog above the limit must wait")
        gate.signal()
        #expect(producer.join(timeoutSeconds: 10), "the producer must go on once the worker has caught up")
    }

    @Test("the throttle never waits where it could wait for its caller: an online qsbr thread, an RCU read section")
    func neverWaitsForItself() {
        let queue = RCUCallbackQueue(flavor: .memb, minimumIntervalNanoseconds: 100_000)
        let gate = DispatchSemaphore(value: 0)
        queue.callAfterGracePeriod { gate.wait() }
        for _ in 0..<(RCUCallbackQueue.backlogLimit + 100) { queue.callAfterGracePeriod {} }
        #expect(completes(withinSeconds: 1) { RCU.read { queue.throttleIfBacklogged() } })
        #expect(completes(withinSeconds: 1) {
            RCU.QSBR.online()
            queue.throttleIfBacklogged()
            RCU.QSBR.offline()
        })
        gate.signal()
    }
}
