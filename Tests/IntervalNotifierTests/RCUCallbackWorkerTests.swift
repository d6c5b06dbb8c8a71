import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

/// The RCU callback worker's pacing: while callbacks keep coming it looks for
/// them once per minimum interval, so pushers do not wake it; once quiet it
/// sleeps, and a pusher's wake-up is never lost.
@Suite("RCU callback worker")
struct RCUCallbackWorkerTests {
    @Test("a steady stream of callbacks wakes the worker a few times, not once per callback")
    func pollsWhileBusy() {
        // A queue of its own: no other test's callbacks reach its worker. It
        // polls for 10 ms before it sleeps (the shared queues: 1 ms), so that
        // a loaded host's late wake-ups of this thread do not let it sleep.
        let queue = RCUCallbackQueue(flavor: .memb, minimumIntervalNanoseconds: 100_000, idlePollsBeforeSleeping: 100)
        let ran = Atomic<Int>(0)
        let pushes = 200
        for _ in 0..<pushes {
            // Relaxed: a count read after the barrier below.
            queue.callAfterGracePeriod { ran.add(1, ordering: .relaxed) }
            usleep(100)
        }
        queue.barrier()
        #expect(ran.load(ordering: .relaxed) == pushes)
        // One wake-up per quiet spell of 10 ms or more: a few at most on a
        // loaded host. A worker that slept after every grace period was woken
        // for nearly every push.
        let wakeups = queue.wakeupsSentForTesting
        #expect(wakeups < pushes / 4, "\(wakeups) wake-ups for \(pushes) callbacks pushed 100 us apart")
    }

    @Test("a quiet worker goes to sleep, and a callback pushed then still runs")
    func sleepsWhenQuietAndWakes() {
        let queue = RCUCallbackQueue(flavor: .memb, minimumIntervalNanoseconds: 100_000)
        let ran = Atomic<Int>(0)
        queue.callAfterGracePeriod { ran.add(1, ordering: .relaxed) }
        #expect(eventually(seconds: 5) { ran.load(ordering: .relaxed) == 1 })
        // Ten empty looks of 100 us (the default), then the condition variable.
        #expect(eventually(seconds: 5) { queue.workerIsAsleepForTesting }, "the worker must stop polling when quiet")
        let before = queue.wakeupsSentForTesting
        queue.callAfterGracePeriod { ran.add(1, ordering: .relaxed) }
        #expect(eventually(seconds: 5) { ran.load(ordering: .relaxed) == 2 }, "a callback pushed to a sleeping worker must run")
        #expect(queue.wakeupsSentForTesting == before + 1)
    }
}
