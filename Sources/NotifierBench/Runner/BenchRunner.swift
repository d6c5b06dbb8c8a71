#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import Synchronization
import NotifierHarness

/// Start and stop flags shared by the threads of one run.
final class BenchControl: Sendable {
    /// Threads that reached the start barrier.
    let ready = Atomic<Int>(0)
    /// Set once every thread is ready: the measured interval begins.
    let go = Atomic<Bool>(false)
    /// Set when the run's duration has passed.
    let stop = Atomic<Bool>(false)
}

/// One benchmark thread's view of its run: its index, the start barrier, the
/// stop flag, and its own start and end times.
///
/// A thread body does its setup (generators, buffers, `readerThreadOnline`),
/// calls ``waitForStart()``, then loops `while worker.isRunning { batch }`, and
/// returns its operation count. The measured interval of the thread runs from
/// the barrier to the moment ``isRunning`` first returns false, so per-thread
/// rates need no clock read inside the loop.
public final class BenchWorker: @unchecked Sendable {
    /// Index among the threads of the same role (workers 0..<n; helpers 0..<m).
    public let index: Int
    /// Index among all threads of the run (decides the CPU).
    public let threadIndex: Int
    /// Whether this thread is a measured worker (false: a helper).
    public let isMeasured: Bool
    let control: BenchControl
    var startNanoseconds: UInt64 = 0
    var endNanoseconds: UInt64 = 0
    var output = BenchThreadOutput(operations: 0)

    init(index: Int, threadIndex: Int, isMeasured: Bool, control: BenchControl) {
        self.index = index
        self.threadIndex = threadIndex
        self.isMeasured = isMeasured
        self.control = control
    }

    /// Waits until every thread of the run is ready, then starts this thread's clock.
    public func waitForStart() {
        // Releasing: the thread's set-up happens before the runner sees it ready.
        control.ready.add(1, ordering: .releasing)
        // Acquiring: pairs with the runner's releasing start signal.
        // Yielding: a sweep point may have more threads than CPUs.
        while !control.go.load(ordering: .acquiring) { sched_yield() }
        startNanoseconds = MonotonicClock.nanoseconds()
    }

    /// Whether the run goes on; call it between batches of operations. The first
    /// false stops this thread's clock.
    @inline(__always)
    public var isRunning: Bool {
        // Relaxed: a late stop only lengthens the interval the clock measures.
        if _fastPath(!control.stop.load(ordering: .relaxed)) { return true }
        markEnd()
        return false
    }

    @inline(never)
    func markEnd() {
        if endNanoseconds == 0 { endNanoseconds = MonotonicClock.nanoseconds() }
    }

    /// Seconds measured so far (start barrier to the first false ``isRunning``).
    var seconds: Double {
        guard startNanoseconds != 0 else { return 0 }
        let end = endNanoseconds != 0 ? endNanoseconds : MonotonicClock.nanoseconds()
        return Double(end &- startNanoseconds) / 1e9
    }
}

/// What one thread hands back.
public struct BenchThreadOutput: Sendable {
    /// Operations completed in the measured interval.
    public var operations: UInt64
    /// Latency samples (nanoseconds), if the workload takes any.
    public var samples: [UInt64]
    /// Workload-specific counters (retries, misses, ...).
    public var counters: [UInt64]

    /// Creates an output.
    public init(operations: UInt64, samples: [UInt64] = [], counters: [UInt64] = []) {
        self.operations = operations
        self.samples = samples
        self.counters = counters
    }
}

/// One thread's output and the length of its measured interval.
public struct BenchThreadResult: Sendable {
    /// What the thread returned.
    public var output: BenchThreadOutput
    /// Its measured interval, in seconds.
    public var seconds: Double

    /// Operations per second of this thread.
    public var rate: Double { seconds > 0 ? Double(output.operations) / seconds : 0 }
    /// Mean nanoseconds per operation of this thread (0 with no operation).
    public var nanosecondsPerOperation: Double { output.operations > 0 ? seconds * 1e9 / Double(output.operations) : 0 }
}

/// The result of one run: measured workers and helpers.
public struct BenchRunResult: Sendable {
    /// Measured threads, by index.
    public var workers: [BenchThreadResult]
    /// Helper threads (writers, invalidators, faulters), by index.
    public var helpers: [BenchThreadResult]
    /// Wall-clock seconds from the start signal to the stop signal.
    public var wallSeconds: Double
    /// Wall-clock seconds of the run's one common measured window: from the
    /// start signal (every thread already started, pinned and waiting at the
    /// barrier) to the moment the last worker saw the stop flag. Every
    /// operation a worker counts lies inside it.
    public var windowSeconds: Double
    /// Whether the run had more measured threads (workers) than the CPUs its
    /// placement may use: its figures then measure time sharing. Helpers are
    /// part of the point's shape (its parameters) and are not counted, as in the
    /// measurement's `threads`.
    public var oversubscribed: Bool

    /// Creates a result; `windowSeconds` defaults to `wallSeconds`.
    public init(workers: [BenchThreadResult], helpers: [BenchThreadResult], wallSeconds: Double,
                windowSeconds: Double? = nil, oversubscribed: Bool = false) {
        self.workers = workers
        self.helpers = helpers
        self.wallSeconds = wallSeconds
        self.windowSeconds = windowSeconds ?? wallSeconds
        self.oversubscribed = oversubscribed
    }

    /// Aggregate operations per second of the workers: their total operations
    /// over the common measured window (``windowSeconds``), never a sum of
    /// per-thread rates (those windows need not overlap when threads share CPUs).
    public var aggregateRate: Double { windowSeconds > 0 ? Double(totalOperations) / windowSeconds : 0 }
    /// Mean over the workers of their nanoseconds per operation.
    public var meanNanosecondsPerOperation: Double {
        let measured = workers.filter { $0.output.operations > 0 }
        guard !measured.isEmpty else { return 0 }
        return measured.reduce(0) { $0 + $1.nanosecondsPerOperation } / Double(measured.count)
    }
    /// Total operations of the workers.
    public var totalOperations: UInt64 { workers.reduce(0) { $0 + $1.output.operations } }
    /// Every worker's latency samples together.
    public var allSamples: [UInt64] { workers.flatMap(\.output.samples) }
}

/// The body of a benchmark thread (see ``BenchWorker``).
public typealias BenchThreadBody = @Sendable (BenchWorker) -> BenchThreadOutput

/// Runs benchmark threads: starts `workers` measured threads and the helpers,
/// each pinned by ``BenchPlacement`` (workers first, then helpers) and
/// registered with RCU, releases them together from a barrier, lets them run for
/// `duration` seconds, raises the stop flag, joins them and collects what they
/// returned; then waits for pending RCU callbacks (`RCU.barrier()`), so that
/// one point's deferred frees do not run during the next. Nothing in the runner
/// allocates, locks or reads a clock while the threads run.
///
/// Rates are computed here, once for every workload: the measured window opens
/// at the start signal, after every thread has been started, pinned and has
/// reached the barrier, and closes when the last worker has seen the stop flag;
/// ``BenchRunResult/aggregateRate`` is the workers' total operations over that
/// one window. A run with more workers than the placement's CPUs is marked
/// ``BenchRunResult/oversubscribed``.
public enum BenchRunner {
    /// Runs one point; see ``BenchRunner``.
    public static func run(placement: BenchPlacement, duration: Double, workers: Int,
                           _ worker: @escaping BenchThreadBody,
                           helpers: [BenchThreadBody] = []) -> BenchRunResult {
        precondition(workers >= 0 && duration > 0)
        let control = BenchControl()
        var states: [BenchWorker] = []
        var threads: [NativeThread] = []
        let total = workers + helpers.count
        for threadIndex in 0..<total {
            let measured = threadIndex < workers
            let state = BenchWorker(index: measured ? threadIndex : threadIndex - workers, threadIndex: threadIndex,
                                    isMeasured: measured, control: control)
            let body = measured ? worker : helpers[threadIndex - workers]
            states.append(state)
            threads.append(NativeThread {
                placement.pinCurrentThread(index: threadIndex)
                RCU.registerCurrentThread()
                state.output = body(state)
                state.markEnd()
            })
        }
        // Acquiring: pairs with each thread's releasing arrival.
        while control.ready.load(ordering: .acquiring) < total { usleep(100) }
        let begin = MonotonicClock.nanoseconds()
        // Releasing: everything set up before the start is visible to the threads.
        control.go.store(true, ordering: .releasing)
        MonotonicClock.sleep(nanoseconds: UInt64(duration * 1e9))
        // Releasing: a stop flag; the join, not this store, orders the results.
        control.stop.store(true, ordering: .releasing)
        let end = MonotonicClock.nanoseconds()
        for thread in threads { thread.join() }
        // Let RCU callbacks queued by this point (frees of removed
        // subscriptions and retired tree nodes) run now, not during the next one.
        RCU.barrier()
        let results = states.map { BenchThreadResult(output: $0.output, seconds: $0.seconds) }
        // The window closes when the last worker stopped counting (after the join
        // every end time is set), and never before the stop signal.
        let close = states.prefix(workers).reduce(end) { max($0, $1.endNanoseconds) }
        return BenchRunResult(workers: Array(results.prefix(workers)), helpers: Array(results.dropFirst(workers)),
                              wallSeconds: Double(end - begin) / 1e9, windowSeconds: Double(close - begin) / 1e9,
                              oversubscribed: workers > placement.cores)
    }
}
