#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import CURCU
import Synchronization

/// The process-wide queue of RCU callbacks behind ``RCU/call(_:_:)``: the
/// protocol of liburcu's `call_rcu` (enqueue an `rcu_head`, run its function on a
/// worker thread after a grace period), tuned for memory that is reused at once.
///
/// Why not liburcu's own `call_rcu` thread: after every batch it sleeps 10 ms
/// (`poll(NULL, 0, 10)` in urcu-call-rcu-impl.h). A path-copying tree retires
/// about 40 nodes per insert+remove, so at a million updates per second 10 ms
/// parks 25 MB of nodes in flight and every allocation becomes a cache miss
/// (measured: 6.4 us per insert+remove pair at 100 000 entries, against 0.7 us
/// with this queue). This worker waits for a grace period as soon as work is
/// queued, but never starts two grace periods less than `minimumInterval` apart,
/// so that a storm of updates costs at most one `membarrier` per interval; and
/// while callbacks keep coming it looks for them once per interval rather than
/// sleeping, so that pushers do not pay a wake-up per batch.
final class RCUCallbackQueue: @unchecked Sendable {
    /// The queue used by ``RCU/call(_:_:)`` (memb grace periods).
    static let shared = RCUCallbackQueue(flavor: .memb, minimumIntervalNanoseconds: 100_000)
    /// The queue of qsbr grace periods (``RCUFlavor/qsbr`` address spaces and trees).
    static let qsbr = RCUCallbackQueue(flavor: .qsbr, minimumIntervalNanoseconds: 100_000)
    /// The queue of bp grace periods (``RCUFlavor/bp``); its thread starts on first use.
    static let bp = RCUCallbackQueue(flavor: .bp, minimumIntervalNanoseconds: 100_000)
    /// The queue of mb grace periods (``RCUFlavor/mb``); its thread starts on first use.
    static let mb = RCUCallbackQueue(flavor: .mb, minimumIntervalNanoseconds: 100_000)

    /// The queue whose grace periods protect readers of `flavor`.
    static func queue(for flavor: RCUFlavor) -> RCUCallbackQueue {
        switch flavor {
        case .memb: shared
        case .qsbr: qsbr
        case .bp: bp
        case .mb: mb
        }
    }

    /// Whose grace periods this queue waits for.
    let flavor: RCUFlavor

    /// Pushed callbacks (a Treiber stack linked through `rcu_head.next`).
    private let pending = Atomic<UnsafeMutablePointer<rcu_head>?>(nil)
    /// Callbacks queued and not yet run (see ``throttleIfBacklogged()``).
    private let backlog = Atomic<Int>(0)
    /// The backlog above which update-side callers wait for the worker.
    static let backlogLimit = 1024
    /// Whether the worker is asleep (or about to sleep) on `wakeup`.
    private let sleeping = Atomic<Bool>(false)
    /// Wake-ups pushers have sent the sleeping worker (tests: see ``wakeupsSentForTesting``).
    private let wakeupsSent = Atomic<Int>(0)
    private let wakeup = PThreadMutex()
    private let minimumIntervalNanoseconds: UInt64
    /// Empty looks, one per minimum interval, before the worker sleeps on
    /// `wakeup`.
    private let idlePollsBeforeSleeping: Int
    /// The shared queues' ``idlePollsBeforeSleeping``: about a millisecond of
    /// quiet at their interval.
    static let defaultIdlePollsBeforeSleeping = 10

    /// A queue with a worker thread of its own that lives as long as the process
    /// (the two shared queues above; tests make private ones). Its worker looks
    /// for callbacks `idlePollsBeforeSleeping` times, once per minimum interval,
    /// after the last ones before it sleeps until a pusher wakes it.
    init(flavor: RCUFlavor, minimumIntervalNanoseconds: UInt64,
         idlePollsBeforeSleeping: Int = RCUCallbackQueue.defaultIdlePollsBeforeSleeping) {
        self.flavor = flavor
        self.minimumIntervalNanoseconds = minimumIntervalNanoseconds
        self.idlePollsBeforeSleeping = idlePollsBeforeSleeping
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let queue = Unmanaged<RCUCallbackQueue>.fromOpaque(context!).takeRetainedValue()
            queue.runWorker()
            return nil
        }, context)
        if _slowPath(rc != 0) { fatalError("cannot start the RCU callback thread: pthread_create returned \(rc)") }
        pthread_detach(thread)
    }

    /// Queues `callback(head)` to run after a grace period. Lock-free; never blocks.
    func enqueue(_ head: UnsafeMutablePointer<rcu_head>, _ callback: @convention(c) (UnsafeMutablePointer<rcu_head>?) -> Void) {
        head.pointee.func = callback
        // Relaxed: a count for back-pressure only; the queue's own ordering is below.
        backlog.add(1, ordering: .relaxed)
        // Relaxed: only a first guess; the compare-exchange below decides.
        var top = pending.load(ordering: .relaxed)
        while true {
            head.pointee.next.next = top.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: cds_wfcq_node.self) }
            // Sequentially consistent: with the worker's store to `sleeping` and
            // load of `pending` (also seq_cst), one of the two sides sees the
            // other, so a push is never left with the worker asleep (Dekker).
            let (done, current) = pending.compareExchange(expected: top, desired: head, ordering: .sequentiallyConsistent)
            if done { break }
            top = current
        }
        // Sequentially consistent: see above.
        if sleeping.load(ordering: .sequentiallyConsistent) {
            // Relaxed: a statistic for tests.
            wakeupsSent.add(1, ordering: .relaxed)
            wakeup.withLock { wakeup.broadcast() }
        }
    }

    /// Runs `body` on this queue's thread after a grace period (allocates one
    /// record; for slow paths).
    func callAfterGracePeriod(_ body: @escaping @Sendable () -> Void) {
        let record = UnsafeMutablePointer<DeferredCallRecord>.allocate(capacity: 1)
        record.initialize(to: DeferredCallRecord(head: rcu_head(), body: body))
        // `head` is the first stored property, so its address is the record's.
        let head = UnsafeMutableRawPointer(record).assumingMemoryBound(to: rcu_head.self)
        enqueue(head) { head in
            let record = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: DeferredCallRecord.self)
            let body = record.pointee.body
            record.deinitialize(count: 1)
            record.deallocate()
            body()
        }
    }

    /// The worker's thread id (gettid), so callers can tell they run on it.
    private let workerThreadID = Atomic<Int32>(0)

    /// Whether the calling thread is the worker that runs callbacks (where waiting
    /// for callbacks, as `barrier()` does, would wait for itself).
    var isCallbackThread: Bool {
        // Relaxed: the worker sets it once, before running any callback; on any
        // other thread the value is either 0 or another thread's id.
        workerThreadID.load(ordering: .relaxed) == cnp_thread_id()
    }

    /// Whether the calling thread is the worker of any callback queue (where
    /// waiting for RCU callbacks would wait for itself). Asks a thread-specific
    /// marker, so that it starts no queue's thread.
    static var isAnyWorkerThread: Bool { pthread_getspecific(workerMarkerKey) != nil }

    /// The key of the marker every worker sets on its own thread.
    private static let workerMarkerKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        if rc != 0 { fatalError("pthread_key_create failed (\(rc)): cannot mark RCU callback threads") }
        return key
    }()

    private func runWorker() {
        // Relaxed: see `isCallbackThread`.
        workerThreadID.store(cnp_thread_id(), ordering: .relaxed)
        _ = pthread_setspecific(Self.workerMarkerKey, UnsafeRawPointer(bitPattern: 1))
        // The memb worker registers as a memb reader (callbacks may read); the
        // qsbr worker stays unregistered with qsbr, so it never stalls its own
        // grace periods; bp and mb threads register at their first read.
        if flavor == .memb { RCU.registerCurrentThread() }
        var lastGracePeriod: UInt64 = 0
        while true {
            // While callbacks keep coming, look for them once per minimum
            // interval instead of sleeping on `wakeup`: `sleeping` stays false,
            // so a pusher never pays for a wake-up (a futex call and, on an idle
            // CPU, an interrupt; 5 % of a tree update pair's time at 1 000
            // entries in a profile). Only after `idlePollsBeforeSleeping` empty
            // looks does the worker sleep until a pusher wakes it.
            var idlePolls = 0
            // Relaxed: a hint; the exchange below (acquiring) takes the callbacks.
            while pending.load(ordering: .relaxed) == nil && idlePolls < idlePollsBeforeSleeping {
                MonotonicClock.sleep(nanoseconds: minimumIntervalNanoseconds)
                idlePolls += 1
            }
            wakeup.lock()
            // Sequentially consistent: the Dekker pair with `enqueue`.
            sleeping.store(true, ordering: .sequentiallyConsistent)
            // Sequentially consistent: the other half of the Dekker pair.
            while pending.load(ordering: .sequentiallyConsistent) == nil {
                wakeup.wait()
            }
            // Relaxed: a stale `true` only costs a pusher one needless broadcast.
            sleeping.store(false, ordering: .relaxed)
            wakeup.unlock()

            let now = MonotonicClock.nanoseconds()
            if now < lastGracePeriod + minimumIntervalNanoseconds {
                MonotonicClock.sleep(nanoseconds: lastGracePeriod + minimumIntervalNanoseconds - now)
            }
            // Acquiring: the pushers' writes to the queued records (and to the
            // memory they retire) happen before the callbacks run.
            var stack = pending.exchange(nil, ordering: .acquiring)
            flavor.synchronize()
            lastGracePeriod = MonotonicClock.nanoseconds()
            // The stack is newest first: reverse it so callbacks run in the order
            // they were queued (the barrier marker relies on it).
            var ordered: UnsafeMutablePointer<rcu_head>?
            while let head = stack {
                stack = head.pointee.next.next.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: rcu_head.self) }
                head.pointee.next.next = ordered.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: cds_wfcq_node.self) }
                ordered = head
            }
            var ran = 0
            while let head = ordered {
                ordered = head.pointee.next.next.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: rcu_head.self) }
                head.pointee.func(head)
                ran += 1
            }
            // Relaxed: a count for back-pressure only.
            backlog.subtract(ran, ordering: .relaxed)
        }
    }

    /// Tests only: how many times a pusher found the worker asleep and woke it.
    var wakeupsSentForTesting: Int {
        // Relaxed: a statistic.
        wakeupsSent.load(ordering: .relaxed)
    }

    /// Tests only: whether the worker sleeps on its condition variable now
    /// (rather than looking for callbacks once per minimum interval, or working).
    var workerIsAsleepForTesting: Bool {
        // Sequentially consistent, as the pushers read it.
        sleeping.load(ordering: .sequentiallyConsistent)
    }

    /// Back-pressure: when more than ``backlogLimit`` callbacks wait (a thread
    /// that creates and drops address spaces, or removes subscriptions, faster
    /// than grace periods complete), waits until the worker has brought the
    /// backlog down to half, so that memory waiting for a grace period stays
    /// bounded. Call it on update paths with no lock held. It does nothing
    /// where waiting for callbacks could wait for the caller itself: on a
    /// callback thread, inside a memb, bp or mb read-side section, on an online qsbr
    /// thread (which may hold a subscription from a lookup), or inside an
    /// invalidate callback.
    /// - Complexity: one relaxed load unless backlogged.
    @inline(__always)
    func throttleIfBacklogged() {
        // Relaxed: a hint; the slow path re-reads it while it waits.
        if _fastPath(backlog.load(ordering: .relaxed) <= Self.backlogLimit) { return }
        throttleSlow()
    }

    @inline(never)
    private func throttleSlow() {
        if isCallbackThread || Self.isAnyWorkerThread { return }
        if RCU.isInAnyReadSection || RCU.QSBR.isOnline || cnp_callback_context() != nil { return }
        // Relaxed: progress is re-read every 20 us; nothing is published through it.
        while backlog.load(ordering: .relaxed) > Self.backlogLimit / 2 {
            MonotonicClock.sleep(nanoseconds: 20_000)
        }
    }

    /// Waits until every callback queued before the call has run.
    /// - Precondition: not called from a callback of this queue (it would wait
    ///   for itself).
    func barrier() {
        if _slowPath(isCallbackThread) { fatalError("RCU.barrier() called from an RCU callback: it would wait for itself forever") }
        let marker = UnsafeMutablePointer<BarrierMarker>.allocate(capacity: 1)
        marker.initialize(to: BarrierMarker())
        enqueue(UnsafeMutableRawPointer(marker).assumingMemoryBound(to: rcu_head.self)) { head in
            let marker = UnsafeMutableRawPointer(head!).assumingMemoryBound(to: BarrierMarker.self)
            // Releasing: everything the earlier callbacks did happens before the
            // waiter's acquiring load sees the flag.
            marker.pointee.done.store(true, ordering: .releasing)
        }
        // Callbacks run within about one grace period plus `minimumInterval`:
        // polling every 20 us is cheaper than a second condition variable. An
        // online qsbr caller goes offline meanwhile, or a qsbr grace period
        // would wait for it while it waits for the grace period.
        RCU.QSBR.whileOffline {
            // Acquiring: pairs with the marker's releasing store.
            while !marker.pointee.done.load(ordering: .acquiring) {
                MonotonicClock.sleep(nanoseconds: 20_000)
            }
        }
        marker.deinitialize(count: 1)
        marker.deallocate()
    }

    private struct BarrierMarker: ~Copyable {
        var head = rcu_head()
        let done = Atomic<Bool>(false)
    }
}
