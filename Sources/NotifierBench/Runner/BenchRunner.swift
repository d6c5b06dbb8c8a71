#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import NotifierHarness

/// One benchmark thread's view of its run (``ThreadTeam/Member``): its index,
/// the start barrier, the stop flag, its own start and end times.
public typealias BenchWorker = ThreadTeam.Member
/// What one benchmark thread hands back (``ThreadTeam/Output``).
public typealias BenchThreadOutput = ThreadTeam.Output
/// One thread's output and measured interval (``ThreadTeam/MemberResult``).
public typealias BenchThreadResult = ThreadTeam.MemberResult
/// The result of one run (``ThreadTeam/Result``): workers, helpers, the common window.
public typealias BenchRunResult = ThreadTeam.Result
/// The body of a benchmark thread (``ThreadTeam/Body``).
public typealias BenchThreadBody = ThreadTeam.Body

/// Runs benchmark threads as one ``ThreadTeam``: `workers` measured threads
/// and the helpers, each pinned by ``BenchPlacement`` (workers first, then
/// helpers) and registered with RCU, released together from the barrier, run
/// for `duration` seconds, stopped and joined; then waits for pending RCU
/// callbacks (`RCU.barrier()`), so that one point's deferred frees do not run
/// during the next.
///
/// Rates come from the team, once for every workload: the measured window opens
/// at the start signal, after every thread has been started, pinned and has
/// reached the barrier, and closes when the last worker has seen the stop flag;
/// ``ThreadTeam/Result/aggregateRate`` is the workers' total operations over that
/// one window. A run with more workers than the placement's CPUs is marked
/// ``ThreadTeam/Result/oversubscribed``.
public enum BenchRunner {
    /// Runs one point; see ``BenchRunner``.
    public static func run(placement: BenchPlacement, duration: Double, workers: Int,
                           _ worker: @escaping BenchThreadBody,
                           helpers: [BenchThreadBody] = []) -> BenchRunResult {
        precondition(workers >= 0 && duration > 0)
        let result = ThreadTeam.run(workers: workers, worker, helpers: helpers, duration: duration,
                                    cpus: placement.cores) { threadIndex in
            _ = placement.pinCurrentThread(index: threadIndex)
            RCU.registerCurrentThread()
        }
        // Let RCU callbacks queued by this point (frees of removed
        // subscriptions and retired tree nodes) run now, not during the next one.
        RCU.barrier()
        return result
    }
}
