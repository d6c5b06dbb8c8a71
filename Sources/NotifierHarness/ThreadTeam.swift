#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier
import Synchronization

/// A team of pinned threads measured over one common window: the runner both
/// harnesses share (`notifier-bench`'s workloads, `notifier-stress`'s
/// generators).
///
/// The team starts every thread at once (``init(workers:helpers:prepare:)``);
/// each runs `prepare` (pinning, RCU registration), its own set-up, then waits
/// at the start barrier (``Member/waitForStart()``). ``open()`` waits until every
/// thread is there and releases them together: the measured window opens.
/// Bodies loop `while member.isRunning { batch }`. ``stop()`` raises the stop
/// flag; ``join()`` (or ``join(timeoutSeconds:)``) collects what the threads
/// returned, and ``result(oversubscribed:)`` computes the rates: the window closes
/// when the last worker saw the stop flag, and the aggregate rate is the
/// workers' total operations over that one window, never a sum of per-thread
/// rates. Nothing in the team allocates, locks or reads a clock while the
/// threads run.
public final class ThreadTeam: @unchecked Sendable {
    /// Start and stop flags shared by the threads of one team. A harness that
    /// needs the stop flag before its team exists (its generators' loops read
    /// it, its checker may raise it) creates the signals and hands them to
    /// ``ThreadTeam/init(workers:_:helpers:signals:prepare:)``.
    public final class Signals: Sendable {
        /// Threads that reached the start barrier.
        let ready = Atomic<Int>(0)
        /// Set once every thread is ready: the measured window opens.
        let go = Atomic<Bool>(false)
        /// Set when the run is over.
        let stop = Atomic<Bool>(false)

        /// Creates lowered flags.
        public init() {}

        /// Whether the stop flag is raised; loops read it between batches.
        @inline(__always)
        public var isStopped: Bool {
            // Relaxed: threads only need to see the flag eventually; joining
            // them orders everything they did.
            stop.load(ordering: .relaxed)
        }

        /// Raises the stop flag from any thread (a checker that found a hang);
        /// ``ThreadTeam/stop()`` also records the time.
        public func requestStop() {
            // Relaxed: as in ``isStopped``.
            stop.store(true, ordering: .relaxed)
        }
    }

    /// One thread's view of its team: its index, the start barrier, the stop
    /// flag, and its own start and end times.
    ///
    /// A body does its set-up, calls ``waitForStart()``, then loops
    /// `while member.isRunning { batch }`, and returns its counters. The
    /// thread's own interval runs from the barrier to the moment ``isRunning``
    /// first returns false, so per-thread figures need no clock read inside the loop.
    public final class Member: @unchecked Sendable {
        /// Index among the threads of the same role (workers 0..<n; helpers 0..<m).
        public let index: Int
        /// Index among all threads of the team (workers first; decides the CPU).
        public let threadIndex: Int
        /// Whether this thread is a measured worker (false: a helper).
        public let isMeasured: Bool
        let control: Signals
        var startNanoseconds: UInt64 = 0
        var endNanoseconds: UInt64 = 0
        var output = Output(operations: 0)

        init(index: Int, threadIndex: Int, isMeasured: Bool, control: Signals) {
            self.index = index
            self.threadIndex = threadIndex
            self.isMeasured = isMeasured
            self.control = control
        }

        /// Waits until every thread of the team is ready and the window opens,
        /// then starts this thread's clock.
        public func waitForStart() {
            // Releasing: the thread's set-up happens before the team sees it ready.
            control.ready.add(1, ordering: .releasing)
            // Acquiring: pairs with the releasing start signal of `open()`.
            // Yielding: a team may have more threads than CPUs.
            while !control.go.load(ordering: .acquiring) { sched_yield() }
            startNanoseconds = MonotonicClock.nanoseconds()
        }

        /// Whether the run goes on; call it between batches of operations. The
        /// first false stops this thread's clock.
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

    /// What one thread hands back: its per-thread counters.
    public struct Output: Sendable {
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

    /// One thread's output and the length of its own measured interval.
    public struct MemberResult: Sendable {
        /// What the thread returned.
        public var output: Output
        /// Its measured interval, in seconds.
        public var seconds: Double

        /// Creates a result.
        public init(output: Output, seconds: Double) {
            self.output = output
            self.seconds = seconds
        }

        /// Operations per second of this thread.
        public var rate: Double { seconds > 0 ? Double(output.operations) / seconds : 0 }
        /// Mean nanoseconds per operation of this thread (0 with no operation).
        public var nanosecondsPerOperation: Double {
            output.operations > 0 ? seconds * 1e9 / Double(output.operations) : 0
        }
    }

    /// The result of one team's run: measured workers and helpers.
    public struct Result: Sendable {
        /// Measured threads, by index.
        public var workers: [MemberResult]
        /// Helper threads (writers, invalidators, faulters), by index.
        public var helpers: [MemberResult]
        /// Wall-clock seconds from the start signal to the stop signal.
        public var wallSeconds: Double
        /// Wall-clock seconds of the one common measured window: from the start
        /// signal (every thread already started, pinned and waiting at the
        /// barrier) to the moment the last worker saw the stop flag. Every
        /// operation a worker counts lies inside it.
        public var windowSeconds: Double
        /// Whether the team had more measured threads (workers) than the CPUs
        /// it may use: its figures then measure time sharing. Helpers are part
        /// of the point's shape and are not counted.
        public var oversubscribed: Bool

        /// Creates a result; `windowSeconds` defaults to `wallSeconds`.
        public init(workers: [MemberResult], helpers: [MemberResult], wallSeconds: Double,
                    windowSeconds: Double? = nil, oversubscribed: Bool = false) {
            self.workers = workers
            self.helpers = helpers
            self.wallSeconds = wallSeconds
            self.windowSeconds = windowSeconds ?? wallSeconds
            self.oversubscribed = oversubscribed
        }

        /// Aggregate operations per second of the workers: their total
        /// operations over the common window (``windowSeconds``), never a sum
        /// of per-thread rates (those intervals need not overlap when threads
        /// share CPUs).
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

    /// The body of a team thread (see ``Member``).
    public typealias Body = @Sendable (Member) -> Output

    private let control: Signals
    private let members: [Member]
    private let threads: [NativeThread]
    private let workerCount: Int
    private var openedNanoseconds: UInt64 = 0
    private var stoppedNanoseconds: UInt64 = 0

    /// Starts `workers` measured threads running `worker` and one thread per
    /// helper body; each runs `prepare(threadIndex)` first (pin it, register it
    /// with RCU; workers have indices 0..<workers, helpers the ones after), then
    /// its body, which waits at the start barrier. `signals` (fresh ones by
    /// default) are the team's start and stop flags.
    public init(workers: Int, _ worker: @escaping Body, helpers: [Body] = [], signals: Signals = Signals(),
                prepare: @escaping @Sendable (Int) -> Void = { _ in }) {
        precondition(workers >= 0)
        let control = signals
        self.control = signals
        var members: [Member] = []
        var threads: [NativeThread] = []
        for threadIndex in 0..<(workers + helpers.count) {
            let measured = threadIndex < workers
            let member = Member(index: measured ? threadIndex : threadIndex - workers, threadIndex: threadIndex,
                                isMeasured: measured, control: control)
            let body = measured ? worker : helpers[threadIndex - workers]
            members.append(member)
            threads.append(NativeThread {
                prepare(threadIndex)
                member.output = body(member)
                member.markEnd()
            })
        }
        self.members = members
        self.threads = threads
        workerCount = workers
    }

    /// Threads in the team.
    public var count: Int { members.count }

    /// Waits until every thread has run `prepare` and its set-up and reached
    /// the start barrier.
    public func waitUntilReady() {
        // Acquiring: pairs with each thread's releasing arrival.
        while control.ready.load(ordering: .acquiring) < members.count { usleep(100) }
    }

    /// Waits until every thread reached the start barrier, then opens the
    /// common window: releases them together. Returns the opening time.
    @discardableResult
    public func open() -> UInt64 {
        waitUntilReady()
        openedNanoseconds = MonotonicClock.nanoseconds()
        // Releasing: everything set up before the start is visible to the threads.
        control.go.store(true, ordering: .releasing)
        return openedNanoseconds
    }

    /// Whether the stop flag is raised.
    public var isStopped: Bool { control.isStopped }

    /// Raises the stop flag (the threads leave their loops at their next
    /// check). Returns the stop time.
    @discardableResult
    public func stop() -> UInt64 {
        // Releasing: a stop flag; the join, not this store, orders the results.
        control.stop.store(true, ordering: .releasing)
        stoppedNanoseconds = MonotonicClock.nanoseconds()
        return stoppedNanoseconds
    }

    /// Waits for every thread to end.
    public func join() {
        for thread in threads { thread.join() }
    }

    /// Waits for every thread to end, at most `seconds` each; returns the
    /// thread indices that did not (they are detached and keep running).
    public func join(timeoutSeconds seconds: Double) -> [Int] {
        threads.indices.filter { !threads[$0].join(timeoutSeconds: seconds) }
    }

    /// The figures of a joined team; `oversubscribed` says whether the workers
    /// outnumbered the CPUs they may use.
    public func result(oversubscribed: Bool) -> Result {
        let results = members.map { MemberResult(output: $0.output, seconds: $0.seconds) }
        // The window closes when the last worker stopped counting (after the
        // join every end time is set), and never before the stop signal.
        let close = members.prefix(workerCount).reduce(stoppedNanoseconds) { max($0, $1.endNanoseconds) }
        return Result(workers: Array(results.prefix(workerCount)), helpers: Array(results.dropFirst(workerCount)),
                      wallSeconds: Double(stoppedNanoseconds - openedNanoseconds) / 1e9,
                      windowSeconds: Double(close - openedNanoseconds) / 1e9, oversubscribed: oversubscribed)
    }

    /// Runs a team for `duration` seconds: starts it, opens the window once
    /// every thread is ready, sleeps, stops, joins and computes the result.
    /// `cpus` is how many CPUs the team may use (more workers: oversubscribed).
    public static func run(workers: Int, _ worker: @escaping Body, helpers: [Body] = [], duration: Double,
                           cpus: Int, prepare: @escaping @Sendable (Int) -> Void = { _ in }) -> Result {
        precondition(duration > 0)
        let team = ThreadTeam(workers: workers, worker, helpers: helpers, prepare: prepare)
        team.open()
        MonotonicClock.sleep(nanoseconds: UInt64(duration * 1e9))
        team.stop()
        team.join()
        return team.result(oversubscribed: workers > cpus)
    }
}
