#if canImport(Glibc)
import Glibc
#endif
import NotifierHarness
import Synchronization
import Testing

/// The thread-team runner both harnesses share: the window opens only once
/// every thread is ready, the stop flag reaches every loop, a thread that does
/// not stop is reported by the timed join.
@Suite("Thread team", .serialized)
struct ThreadTeamTests {
    /// Counts until the stop flag.
    static let count: ThreadTeam.Body = { member in
        member.waitForStart()
        var operations: UInt64 = 0
        while member.isRunning { operations &+= 1 }
        return ThreadTeam.Output(operations: operations)
    }

    /// A thread that takes 0.2 s to get ready still runs inside a 0.05 s
    /// window: the window opens only when every thread is at the barrier.
    @Test("the window opens after every thread is ready, and every worker counts inside it")
    func windowWaitsForEveryThread() {
        let result = ThreadTeam.run(workers: 3, Self.count, helpers: [Self.count], duration: 0.05, cpus: 64) { index in
            if index == 1 { usleep(200_000) }
        }
        #expect(result.workers.count == 3 && result.helpers.count == 1)
        for (index, worker) in result.workers.enumerated() {
            #expect(worker.output.operations > 0, "worker \(index) counted nothing: the window opened without it")
            #expect(worker.seconds <= result.windowSeconds + 1e-3, "worker \(index)")
        }
        #expect(result.wallSeconds >= 0.05 && result.windowSeconds >= result.wallSeconds)
        #expect(result.windowSeconds < 0.2, "the slow thread's preparation is not in the window: \(result.windowSeconds) s")
        #expect(!result.oversubscribed)
        #expect(ThreadTeam.run(workers: 3, Self.count, duration: 0.01, cpus: 2).oversubscribed)
    }

    /// Shared signals: a thread raises the stop flag, every loop ends; a thread
    /// that ignores it is named by the timed join.
    @Test("shared signals stop every loop; the timed join names a thread that does not stop")
    func signalsAndTimedJoin() {
        let signals = ThreadTeam.Signals()
        let stopper: ThreadTeam.Body = { member in
            member.waitForStart()
            usleep(20_000)
            signals.requestStop()
            return ThreadTeam.Output(operations: 1)
        }
        let team = ThreadTeam(workers: 2, Self.count, helpers: [stopper], signals: signals)
        team.open()
        #expect(team.join(timeoutSeconds: 5).isEmpty, "the helper's stop ended every loop")
        #expect(team.isStopped)

        final class Flag: Sendable { let raised = Atomic<Bool>(false) }
        let release = Flag()
        let stubborn = ThreadTeam(workers: 1, { member in
            member.waitForStart()
            // Acquiring: the test's release.
            while !release.raised.load(ordering: .acquiring) { usleep(1000) }
            return ThreadTeam.Output(operations: 0)
        }, helpers: [Self.count])
        stubborn.open()
        stubborn.stop()
        #expect(stubborn.join(timeoutSeconds: 0.05) == [0])
        // Releasing: lets the detached thread end.
        release.raised.store(true, ordering: .releasing)
    }
}
