#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import Synchronization

/// The monitor's thread and what it alone touches: it reads the userfaultfd,
/// turns every message into an invalidation of the address space, answers
/// ``UserfaultfdMonitor/flush()`` requests, and stops when asked.
///
/// What an unmapping thread waits for, and why nothing here can wait for it:
/// the kernel holds a thread in `munmap`, `madvise` or `mremap` of registered
/// memory until this thread has *read* its message. So this thread must never
/// wait for anything such a thread can hold:
/// - it allocates nothing (the message buffer and the poll set are allocated
///   once; an allocator might take a lock that a thread in `free` holds while
///   it unmaps),
/// - it takes no lock of the monitor's registration side (the table of
///   registered ranges is not read here at all),
/// - it never unmaps, discards or moves memory itself (if the memory is
///   registered, it would wait for itself: a deadlock only a fatal signal ends),
/// - the only locks it takes are the address space's registry lock (held
///   briefly, never across a system call) and the flush lock (held by
///   ``UserfaultfdMonitor/flush()`` callers only while they sleep on its
///   condition), plus whatever the invalidate callbacks take: a thread that
///   holds a callback's lock must not unmap registered memory.
///
/// The queue is bounded by the kernel: pending messages wait in the
/// userfaultfd and each unmapping thread waits with its own; this thread reads
/// them in batches of ``batchCapacity`` until none is left.
final class UserfaultfdEventLoop: @unchecked Sendable {
    /// Messages per `read()`.
    static let batchCapacity = 64

    let addressSpace: AddressSpace
    /// How long the thread busy-polls its descriptors before it sleeps in
    /// `poll` (``UserfaultfdMonitor/Options/spinMicroseconds``), in nanoseconds.
    let spinNanoseconds: UInt64
    /// The userfaultfd (non-blocking, close-on-exec); closed by the thread when it exits.
    let descriptor: Int32
    /// The eventfd that wakes the thread for a flush or a stop; closed with `descriptor`.
    let wakeDescriptor: Int32
    private let messages: UnsafeMutablePointer<uffd_msg>
    private let pollSet: UnsafeMutablePointer<pollfd>

    /// Set by shutdown before it wakes the thread; the thread drains and exits.
    // Releasing/acquiring: pairs the unregister-all before the store with the
    // final drain after the load (a message queued before it is read).
    let stopRequested = Atomic<Bool>(false)

    /// Flush handshake (see ``UserfaultfdMonitor/flush()``).
    let flushLock = PThreadMutex()
    /// Flush requests made (flush lock held).
    nonisolated(unsafe) var flushRequested: UInt64 = 0
    /// Flush requests answered (flush lock held).
    nonisolated(unsafe) var flushCompleted: UInt64 = 0
    /// Whether the thread has exited (flush lock held): waiters stop waiting.
    nonisolated(unsafe) var exited = false

    // Counters: written by this thread only, read by anyone. Relaxed: each is
    // a count with no data published through it (flush orders the reads).
    let reads = Atomic<Int>(0)
    let messageCount = Atomic<Int>(0)
    let largestBatch = Atomic<Int>(0)
    let unmapEvents = Atomic<Int>(0)
    let removeEvents = Atomic<Int>(0)
    let remapEvents = Atomic<Int>(0)
    let unexpectedFaults = Atomic<Int>(0)
    let unknownEvents = Atomic<Int>(0)
    let failedInvalidations = Atomic<Int>(0)
    let spinWakeups = Atomic<Int>(0)

    init(addressSpace: AddressSpace, descriptor: Int32, wakeDescriptor: Int32, spinNanoseconds: UInt64) {
        self.addressSpace = addressSpace
        self.spinNanoseconds = spinNanoseconds
        self.descriptor = descriptor
        self.wakeDescriptor = wakeDescriptor
        messages = .allocate(capacity: Self.batchCapacity)
        pollSet = .allocate(capacity: 2)
    }

    deinit {
        messages.deallocate()
        pollSet.deallocate()
    }

    /// The thread's body: poll, take the flush requests made so far, drain
    /// every pending message, answer those requests, and exit after a stop.
    func run() {
        while true {
            pollSet[0] = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            pollSet[1] = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
            do {
                if spinNanoseconds > 0 && spinUntilReady() { spinWakeups.add(1, ordering: .relaxed) }
                try MonitorSystemCalls.pollForever(pollSet, count: 2)
                // Only when it was signalled: an unmapping thread waits until
                // its message is read below, and a read of an empty eventfd
                // was one more system call in front of that, at every event.
                if pollSet[1].revents != 0 { _ = try MonitorSystemCalls.drainEventfd(wakeDescriptor) }
            } catch {
                fatalError("userfaultfd monitor: \(error.call) failed: \(MemoryMonitorError.errnoName(error.errno))")
            }
            // Acquiring: see `stopRequested`.
            let stopping = stopRequested.load(ordering: .acquiring)
            // Requests made before this point are answered after the drain
            // below: a munmap that returned before its flush call had its
            // message read by an earlier drain, which was handled in full.
            let answering = flushLock.withLock { flushRequested }
            drain()
            if answering > 0 {
                flushLock.withLock {
                    if flushCompleted < answering { flushCompleted = answering }
                    flushLock.broadcast()
                }
            }
            if stopping { break }
        }
        // Closing the userfaultfd releases any thread that queued a message
        // after the final drain (it raced the shutdown); closing the eventfd
        // under the flush lock keeps flush() from signalling a closed (or
        // reused) descriptor: it checks `exited` under the same lock.
        flushLock.withLock {
            exited = true
            MonitorSystemCalls.close(descriptor)
            MonitorSystemCalls.close(wakeDescriptor)
            flushLock.broadcast()
        }
    }

    /// Busy-polls both descriptors (`poll` with a zero timeout) for up to
    /// ``spinNanoseconds``; true as soon as one is ready (the blocking `poll`
    /// after it then returns at once), false when the time is up. Bounded:
    /// the thread burns at most that much CPU per wake-up before it sleeps.
    private func spinUntilReady() -> Bool {
        let deadline = MonotonicClock.nanoseconds() &+ spinNanoseconds
        repeat {
            do {
                if try MonitorSystemCalls.pollNow(pollSet, count: 2) > 0 { return true }
            } catch {
                fatalError("userfaultfd monitor: \(error.call) failed: \(MemoryMonitorError.errnoName(error.errno))")
            }
        } while MonotonicClock.nanoseconds() < deadline
        return false
    }

    /// Reads and handles messages until the userfaultfd has none left.
    private func drain() {
        let size = MemoryLayout<uffd_msg>.size
        while true {
            let bytes: Int
            do {
                bytes = try MonitorSystemCalls.readNonBlocking(descriptor, into: messages, count: size * Self.batchCapacity)
            } catch {
                fatalError("userfaultfd monitor: \(error.call) failed: \(MemoryMonitorError.errnoName(error.errno))")
            }
            if bytes == 0 { return }
            // The kernel returns whole messages only; a remainder would be a
            // kernel bug, not something to resynchronise from.
            guard bytes % size == 0 else { fatalError("userfaultfd monitor: read returned \(bytes) bytes, not a multiple of uffd_msg (\(size))") }
            let count = bytes / size
            reads.add(1, ordering: .relaxed)
            messageCount.add(count, ordering: .relaxed)
            if count > largestBatch.load(ordering: .relaxed) { largestBatch.store(count, ordering: .relaxed) }
            for index in 0..<count { handle(messages[index]) }
        }
    }

    /// One message: an invalidation for UNMAP, REMOVE and REMAP; a fault is
    /// resolved (it should not happen); anything else is counted.
    private func handle(_ message: uffd_msg) {
        switch Int32(message.event) {
        case Int32(UFFD_EVENT_UNMAP):
            unmapEvents.add(1, ordering: .relaxed)
            invalidate(start: message.arg.remove.start, end: message.arg.remove.end, event: .unmap)
        case Int32(UFFD_EVENT_REMOVE):
            removeEvents.add(1, ordering: .relaxed)
            invalidate(start: message.arg.remove.start, end: message.arg.remove.end, event: .clear)
        case Int32(UFFD_EVENT_REMAP):
            // The kernel's own mremap notifies MMU_NOTIFY_UNMAP for the old range.
            remapEvents.add(1, ordering: .relaxed)
            let from = message.arg.remap.from
            let (end, overflow) = from.addingReportingOverflow(message.arg.remap.len)
            invalidate(start: from, end: overflow ? .max : end, event: .unmap)
        case Int32(UFFD_EVENT_PAGEFAULT):
            unexpectedFaults.add(1, ordering: .relaxed)
            resolveFault(address: message.arg.pagefault.address)
        default:
            unknownEvents.add(1, ordering: .relaxed)
        }
    }

    /// Invalidates `[start, end)` on this thread (blockable: this thread may sleep).
    private func invalidate(start: UInt64, end: UInt64, event: InvalidationEvent) {
        guard end > start else { return }
        let range = InvalidationRange(uncheckedStart: start, last: end - 1, event: event, owner: nil, blockable: true)
        do {
            try addressSpace.deliverInvalidation(range)
        } catch {
            failedInvalidations.add(1, ordering: .relaxed)
        }
    }

    /// A MISSING fault (only if memory were registered in MISSING mode):
    /// map a zero page and wake the faulter; if the page appeared meanwhile
    /// (`EEXIST`) or an event is pending (`EAGAIN`), wake it to retry.
    private func resolveFault(address: UInt64) {
        let page = address & ~(MonitorSystemCalls.pageSize - 1)
        do {
            try MonitorSystemCalls.uffdZeroPage(descriptor, start: page, length: MonitorSystemCalls.pageSize)
        } catch {
            try? MonitorSystemCalls.uffdWake(descriptor, start: page, length: MonitorSystemCalls.pageSize)
        }
    }

    /// The counters now.
    var statistics: UserfaultfdMonitorStatistics {
        var result = UserfaultfdMonitorStatistics()
        result.reads = reads.load(ordering: .relaxed)
        result.messages = messageCount.load(ordering: .relaxed)
        result.largestBatch = largestBatch.load(ordering: .relaxed)
        result.unmapEvents = unmapEvents.load(ordering: .relaxed)
        result.removeEvents = removeEvents.load(ordering: .relaxed)
        result.remapEvents = remapEvents.load(ordering: .relaxed)
        result.unexpectedFaults = unexpectedFaults.load(ordering: .relaxed)
        result.unknownEvents = unknownEvents.load(ordering: .relaxed)
        result.failedInvalidations = failedInvalidations.load(ordering: .relaxed)
        result.spinWakeups = spinWakeups.load(ordering: .relaxed)
        return result
    }
}
