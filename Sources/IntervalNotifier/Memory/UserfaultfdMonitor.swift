#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore

/// An ``InvalidationSource`` that learns from the kernel when registered
/// memory is unmapped, discarded or moved, through userfaultfd, and
/// invalidates the address space on a thread of its own.
///
/// ```swift
/// let space = AddressSpace()
/// let monitor = try UserfaultfdMonitor(addressSpace: space)
/// try monitor.register(start: address, length: length)   // page-aligned
/// // ... subscriptions on `space` now see munmap, madvise(MADV_DONTNEED),
/// // mremap and mmap(MAP_FIXED) of that memory as invalidations ...
/// try monitor.unregister(start: address, length: length)
/// try monitor.shutdown()
/// ```
///
/// ## What it delivers
/// | userfaultfd message | caused by | invalidation |
/// |---|---|---|
/// | `UFFD_EVENT_UNMAP` | `munmap`, `mmap(MAP_FIXED)` over it, `mremap` shrinking it | ``InvalidationEvent/unmap`` of the unmapped range |
/// | `UFFD_EVENT_REMOVE` | `madvise(MADV_DONTNEED / MADV_FREE / MADV_REMOVE)` | ``InvalidationEvent/clear`` of the range, clipped per mapping |
/// | `UFFD_EVENT_REMAP` | `mremap` moving it | ``InvalidationEvent/unmap`` of the old range (the kernel's own mremap notifies UNMAP); an UNMAP of it usually follows |
/// Every invalidation is blockable and runs on the monitor's thread.
///
/// ## When it runs: after the kernel, before the caller returns
/// userfaultfd reports a change after the kernel made it, and holds the
/// calling thread in `munmap` (or `madvise`, `mremap`) until the monitor has
/// *read* the message, not until it has handled it. So when `munmap` returns,
/// the invalidation may still be running for a few microseconds. A thread that
/// needs it finished (before it maps something new at the address, or to
/// check a cache) calls ``flush()``.
///
/// ## `madvise`: the event comes before the discard
/// The kernel sends `UFFD_EVENT_REMOVE`, waits for the monitor to read it, and
/// only then drops the pages. A refill between the invalidation and the drop
/// caches pages the drop then removes, and no event follows. After your own
/// `madvise(MADV_DONTNEED)` of registered memory returns, invalidate the range
/// once more with ``ExplicitInvalidationSource/invalidate(_:)``: the two
/// invalidations bracket the drop.
///
/// ## What it cannot see
/// - memory it was not asked to watch, and memory another userfaultfd holds
///   (``MemoryMonitorError/heldByAnotherUserfaultfd(start:length:)``);
/// - file-backed memory on kernels without `UFFD_FEATURE_WP_ASYNC` (before
///   6.7), or with ``Options/fileMappings`` off; hugetlbfs; device memory;
/// - hole punching (`fallocate(PUNCH_HOLE)`) and truncation of shared memory
///   or files: they raise no event at all;
/// - protection changes (`mprotect`): no event;
/// - the child after `fork()`: its memory is not watched, and every call on
///   the parent's monitor there throws ``MemoryMonitorError/forkedChild(owner:)``.
///
/// ## Rules for callers (each avoids a deadlock the kernel cannot break)
/// - Never unmap, discard or move registered memory from an invalidate
///   callback (it runs on the monitor's thread: it would wait for itself), nor
///   while holding a lock that a callback takes, nor inside a lookup body of a
///   locked strategy.
/// - Register memory from `mmap`, not the `malloc` heap: the monitor's thread
///   may allocate in callbacks and in the address space's deferred updates,
///   and an allocator that trims registered heap memory under its lock would
///   wait for the monitor while the monitor waits for that lock.
///
/// ## Registrations
/// Ranges are page-aligned. Overlapping registrations are counted: a range is
/// unregistered in the kernel only where no other registration covers it.
/// Counts change only through ``register(start:length:)`` and
/// ``unregister(start:length:)``: unregister what you registered also when
/// its memory is gone (the monitor cannot tell the old memory from a new
/// mapping at the same address; the kernel dropped the old registration).
///
/// ## Costs (measured: see the README)
/// Nothing on unregistered memory. A `munmap` of a registered page costs the
/// kernel's round trip to this thread: several microseconds when the monitor
/// runs on the same CPU, tens when it runs on another.
public final class UserfaultfdMonitor: InvalidationSource, @unchecked Sendable {
    /// How the monitor opens userfaultfd.
    public struct Options: Sendable, Equatable {
        /// Most disjoint registered ranges (segments of equal count) the
        /// monitor tracks; its table is allocated once, at this size.
        public var capacity: Int
        /// Watch file-backed mappings too, with `UFFD_FEATURE_WP_ASYNC`
        /// (kernel 6.7 and later; on older kernels registering a file mapping
        /// throws). Write-protect mode with nothing write-protected raises no
        /// fault either way; on shared file mappings the kernel then tracks
        /// the first write to each page (a write-notify fault).
        public var fileMappings: Bool
        /// How long, in microseconds, the monitor's thread busy-polls its
        /// descriptor after each wake-up before it sleeps in `poll` (0: it
        /// sleeps at once). A message that arrives within the window is read
        /// without the scheduler's wake-up of a sleeping thread, so the
        /// unmapping thread waits less; the price is up to this much CPU time
        /// of the monitor's thread per wake-up (per burst of events, not per
        /// event; nothing while no event comes). Bounded: at most
        /// ``maxSpinMicroseconds``. The default is 0: on the 2-vCPU machine
        /// this was measured on, shared with other work, a 50 us window made
        /// the munmap-until-invalid round trip slower, not faster (the
        /// spinning thread took the CPU the unmapping thread needed; see
        /// <doc:CachingRegistrations>). Turn it on where the monitor's thread
        /// has a core to itself.
        public var spinMicroseconds: Int

        /// The most ``spinMicroseconds`` accepts (10 ms).
        public static let maxSpinMicroseconds = 10_000

        /// Options with `capacity` ranges, `fileMappings` and a spin window of
        /// `spinMicroseconds` (0 to ``maxSpinMicroseconds``, else a trap).
        public init(capacity: Int = 16_384, fileMappings: Bool = true, spinMicroseconds: Int = 0) {
            if spinMicroseconds < 0 || spinMicroseconds > Self.maxSpinMicroseconds {
                fatalError("UserfaultfdMonitor.Options(spinMicroseconds: \(spinMicroseconds)): 0 to \(Self.maxSpinMicroseconds)")
            }
            self.capacity = capacity
            self.fileMappings = fileMappings
            self.spinMicroseconds = spinMicroseconds
        }
    }

    /// The address space the monitor invalidates.
    public let addressSpace: AddressSpace
    /// The options the monitor was created with.
    public let options: Options
    /// Whether file-backed mappings can be registered (the kernel offered
    /// `UFFD_FEATURE_WP_ASYNC` and ``Options/fileMappings`` asked for it).
    public let watchesFileMappings: Bool
    /// The page size registrations are aligned to.
    public static var pageSize: UInt64 { MonitorSystemCalls.pageSize }

    private let loop: UserfaultfdEventLoop
    private let thread: pthread_t
    /// The process that created the monitor (the child after fork is another).
    private let owner: Int32
    /// Guards `table`, `isShutDown` and `failedUnregisters`. Taken by
    /// register, unregister and shutdown, never by the monitor's thread
    /// (except inside a callback that calls them), and never held across
    /// anything that waits for the monitor.
    private let registrationLock = PThreadMutex()
    private let table: RegisteredRangeTable
    nonisolated(unsafe) private var isShutDown = false
    nonisolated(unsafe) private var failedUnregisters = 0

    /// `UFFD_FEATURE_WP_ASYNC` (kernel 6.7; newer than the system header).
    static let featureWriteProtectAsync: UInt64 = 1 << 15
    /// The events the monitor needs.
    static let requiredFeatures = UInt64(UFFD_FEATURE_EVENT_UNMAP) | UInt64(UFFD_FEATURE_EVENT_REMOVE) | UInt64(UFFD_FEATURE_EVENT_REMAP)

    /// Opens a userfaultfd (`UFFD_USER_MODE_ONLY`, close-on-exec) for the
    /// UNMAP, REMOVE and REMAP events, and starts the monitor's thread.
    /// - Throws: ``MemoryMonitorError/userfaultfdUnavailable(errno:)`` (`EPERM`:
    ///   see its description for `vm.unprivileged_userfaultfd`),
    ///   ``MemoryMonitorError/missingFeatures(missing:)``,
    ///   ``MemoryMonitorError/systemCall(call:errno:)``.
    public init(addressSpace: AddressSpace, options: Options = Options()) throws(MemoryMonitorError) {
        guard options.capacity > 0 else { fatalError("UserfaultfdMonitor.Options.capacity must be positive (got \(options.capacity))") }
        self.addressSpace = addressSpace
        self.options = options
        let (descriptor, fileMappings) = try Self.openUserfaultfd(fileMappings: options.fileMappings)
        let wakeDescriptor: Int32
        do {
            wakeDescriptor = try MonitorSystemCalls.eventfd()
        } catch {
            MonitorSystemCalls.close(descriptor)
            throw .systemCall(call: error.call, errno: error.errno)
        }
        watchesFileMappings = fileMappings
        table = RegisteredRangeTable(capacity: options.capacity)
        owner = MonitorSystemCalls.processID()
        // The property is settable: check it again (an init check alone can be bypassed).
        guard (0...Options.maxSpinMicroseconds).contains(options.spinMicroseconds) else {
            fatalError("UserfaultfdMonitor.Options.spinMicroseconds must be 0 to \(Options.maxSpinMicroseconds) (got \(options.spinMicroseconds))")
        }
        let loop = UserfaultfdEventLoop(addressSpace: addressSpace, descriptor: descriptor, wakeDescriptor: wakeDescriptor,
                                        spinNanoseconds: UInt64(options.spinMicroseconds) * 1000)
        self.loop = loop
        var thread = pthread_t()
        let context = Unmanaged.passRetained(loop).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let loop = Unmanaged<UserfaultfdEventLoop>.fromOpaque(context!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<UserfaultfdEventLoop>.fromOpaque(context).release()
            MonitorSystemCalls.close(descriptor)
            MonitorSystemCalls.close(wakeDescriptor)
            throw .systemCall(call: "pthread_create", errno: rc)
        }
        self.thread = thread
    }

    /// Shuts the monitor down (see ``shutdown()``); in a child after `fork()`
    /// it only closes the child's copies of the descriptors.
    deinit {
        if MonitorSystemCalls.processID() != owner {
            MonitorSystemCalls.close(loop.descriptor)
            MonitorSystemCalls.close(loop.wakeDescriptor)
            return
        }
        if stopThread() {
            // The last reference went on the monitor's own thread (inside a
            // callback): it cannot join itself; it exits after this event.
            if isMonitorThread { pthread_detach(thread) } else { pthread_join(thread, nil) }
        } else {
            // A shutdown() joined it already.
        }
    }

    /// Opens the userfaultfd and negotiates the events (with
    /// `UFFD_FEATURE_WP_ASYNC` when file mappings are wanted and offered).
    private static func openUserfaultfd(fileMappings: Bool) throws(MemoryMonitorError) -> (Int32, Bool) {
        func open() throws(MemoryMonitorError) -> Int32 {
            let flags = O_CLOEXEC | O_NONBLOCK
            do {
                return try MonitorSystemCalls.userfaultfd(flags: flags | Int32(UFFD_USER_MODE_ONLY))
            } catch where error.errno == EINVAL {
                // A kernel before 5.11 does not know UFFD_USER_MODE_ONLY.
                do { return try MonitorSystemCalls.userfaultfd(flags: flags) } catch { throw .userfaultfdUnavailable(errno: error.errno) }
            } catch {
                throw .userfaultfdUnavailable(errno: error.errno)
            }
        }
        for withFileMappings in fileMappings ? [true, false] : [false] {
            let descriptor = try open()
            let wanted = requiredFeatures | (withFileMappings ? featureWriteProtectAsync : 0)
            do {
                let offered = try MonitorSystemCalls.uffdAPI(descriptor, features: wanted)
                if offered & requiredFeatures == requiredFeatures { return (descriptor, withFileMappings) }
                MonitorSystemCalls.close(descriptor)
                throw MemoryMonitorError.missingFeatures(missing: requiredFeatures & ~offered)
            } catch let failure as SystemCallFailure {
                MonitorSystemCalls.close(descriptor)
                // EINVAL: a requested feature is unknown; try without WP_ASYNC.
                if failure.errno == EINVAL, withFileMappings { continue }
                if failure.errno == EINVAL { throw .missingFeatures(missing: requiredFeatures) }
                throw .systemCall(call: failure.call, errno: failure.errno)
            } catch let error as MemoryMonitorError {
                throw error
            } catch {
                fatalError("unreachable: \(error)")
            }
        }
        throw .missingFeatures(missing: requiredFeatures)
    }

    // MARK: Registrations

    /// Watches `[start, start + length)`: from now on its unmaps, discards
    /// and moves invalidate the address space. Registering a range that is
    /// already registered (in whole or part) adds one to its count.
    ///
    /// Registers in write-protect mode and never write-protects: no page
    /// fault ever reaches the monitor (in MISSING mode the first touch of
    /// every page would wait for it).
    /// - Throws: ``MemoryMonitorError/misalignedRange(start:length:)``,
    ///   ``MemoryMonitorError/unsupportedMapping(start:length:errno:)``,
    ///   ``MemoryMonitorError/heldByAnotherUserfaultfd(start:length:)``,
    ///   ``MemoryMonitorError/mapCountExhausted(start:length:)``,
    ///   ``MemoryMonitorError/registrationLimitReached(capacity:)``,
    ///   ``MemoryMonitorError/shutDown``, ``MemoryMonitorError/forkedChild(owner:)``.
    public func register(start: UInt64, length: UInt64) throws(MemoryMonitorError) {
        try checkOwner()
        let end = try Self.checkedEnd(start: start, length: length)
        try registrationLock.withLock { () throws(MemoryMonitorError) in
            guard !isShutDown else { throw .shutDown }
            guard table.add(start: start, end: end) else { throw .registrationLimitReached(capacity: table.capacity) }
            do throws(SystemCallFailure) {
                try MonitorSystemCalls.uffdRegister(loop.descriptor, start: start, length: length, mode: UInt64(UFFDIO_REGISTER_MODE_WP))
            } catch {
                // Undo the count: the table returns to its state before, which fitted.
                _ = table.remove(start: start, end: end) { _, _ in }
                switch error.errno {
                case EINVAL, EPERM: throw .unsupportedMapping(start: start, length: length, errno: error.errno)
                case EBUSY: throw .heldByAnotherUserfaultfd(start: start, length: length)
                case ENOMEM: throw .mapCountExhausted(start: start, length: length)
                default: throw .systemCall(call: error.call, errno: error.errno)
                }
            }
        }
    }

    /// Drops one registration of `[start, start + length)`; the parts no
    /// other registration covers are unregistered in the kernel (their events
    /// stop). Allowed from invalidate callbacks.
    ///
    /// If the kernel refuses an unregister (it can at `vm.max_map_count`),
    /// the count still drops, the memory stays registered until it is
    /// unmapped (its events still invalidate, harmlessly), and
    /// ``UserfaultfdMonitorStatistics/failedUnregisters`` counts it.
    /// - Throws: ``MemoryMonitorError/misalignedRange(start:length:)``,
    ///   ``MemoryMonitorError/notRegistered(start:length:)``,
    ///   ``MemoryMonitorError/registrationLimitReached(capacity:)`` (splitting a
    ///   counted range needs one more table entry than there is),
    ///   ``MemoryMonitorError/shutDown``, ``MemoryMonitorError/forkedChild(owner:)``.
    public func unregister(start: UInt64, length: UInt64) throws(MemoryMonitorError) {
        try checkOwner()
        let end = try Self.checkedEnd(start: start, length: length)
        try registrationLock.withLock { () throws(MemoryMonitorError) in
            guard !isShutDown else { throw .shutDown }
            guard table.covers(start: start, end: end) else { throw .notRegistered(start: start, length: length) }
            let fitted = table.remove(start: start, end: end) { lower, upper in
                unregisterInKernel(start: lower, end: upper)
            }
            guard fitted else { throw .registrationLimitReached(capacity: table.capacity) }
        }
    }

    /// Bytes registered at least once.
    public var registeredBytes: UInt64 { registrationLock.withLock { table.coveredBytes } }

    /// `UFFDIO_UNREGISTER` of `[start, end)`; a refusal is counted (registration lock held).
    private func unregisterInKernel(start: UInt64, end: UInt64) {
        do throws(SystemCallFailure) {
            try MonitorSystemCalls.uffdUnregister(loop.descriptor, start: start, length: end - start)
        } catch {
            failedUnregisters += 1
        }
    }

    /// `start + length` for a page-aligned, non-empty, non-overflowing range.
    private static func checkedEnd(start: UInt64, length: UInt64) throws(MemoryMonitorError) -> UInt64 {
        let mask = pageSize - 1
        let (end, overflow) = start.addingReportingOverflow(length)
        guard length > 0, !overflow, start & mask == 0, length & mask == 0 else { throw .misalignedRange(start: start, length: length) }
        return end
    }

    // MARK: Flush and shutdown

    /// Waits until every message the monitor had read when the call began
    /// was handled: after your `munmap` (or `madvise`, `mremap`) of registered
    /// memory returns, `flush()` returns once its invalidation has ended.
    /// Returns at once after shutdown (everything was delivered then).
    /// - Throws: ``MemoryMonitorError/calledOnMonitorThread`` (from a
    ///   callback: it would wait for itself), ``MemoryMonitorError/forkedChild(owner:)``.
    public func flush() throws(MemoryMonitorError) {
        try checkOwner()
        guard !isMonitorThread else { throw .calledOnMonitorThread }
        let lock = loop.flushLock
        lock.withLock {
            guard !loop.exited else { return }
            loop.flushRequested += 1
            let target = loop.flushRequested
            // Under the flush lock: the thread closes the eventfd only after
            // setting `exited` under this lock, so it is still open here.
            do throws(SystemCallFailure) { try MonitorSystemCalls.signalEventfd(loop.wakeDescriptor) } catch {
                fatalError("userfaultfd monitor: \(error.call) failed: \(MemoryMonitorError.errnoName(error.errno))")
            }
            while loop.flushCompleted < target && !loop.exited { lock.wait() }
        }
    }

    /// Stops the monitor: unregisters every range in the kernel (so that a
    /// child process that inherited the descriptor keeps nothing registered),
    /// wakes the thread, which handles every message still pending and
    /// exits, and waits for it. No caller stays blocked: a `munmap` racing
    /// the shutdown is released when the descriptor closes (its event may be
    /// delivered or not: it overlapped the shutdown). Idempotent; later
    /// register and unregister calls throw ``MemoryMonitorError/shutDown``.
    /// - Throws: ``MemoryMonitorError/calledOnMonitorThread`` (from a
    ///   callback: it would wait for itself), ``MemoryMonitorError/forkedChild(owner:)``.
    public func shutdown() throws(MemoryMonitorError) {
        try checkOwner()
        guard !isMonitorThread else { throw .calledOnMonitorThread }
        if stopThread() {
            pthread_join(thread, nil)
        } else {
            // Another shutdown stops it: wait until the thread has exited.
            loop.flushLock.withLock { while !loop.exited { loop.flushLock.wait() } }
        }
    }

    /// Marks the monitor shut down, unregisters everything and asks the
    /// thread to stop; returns false when that was done already.
    private func stopThread() -> Bool {
        let first = registrationLock.withLock { () -> Bool in
            guard !isShutDown else { return false }
            isShutDown = true
            table.removeAll { segment in unregisterInKernel(start: segment.start, end: segment.end) }
            return true
        }
        guard first else { return false }
        // Releasing: see `UserfaultfdEventLoop.stopRequested`.
        loop.stopRequested.store(true, ordering: .releasing)
        do throws(SystemCallFailure) { try MonitorSystemCalls.signalEventfd(loop.wakeDescriptor) } catch {
            fatalError("userfaultfd monitor: \(error.call) failed: \(MemoryMonitorError.errnoName(error.errno))")
        }
        return true
    }

    /// Whether the calling thread is the monitor's.
    private var isMonitorThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Throws in a child process after `fork()` (checked before any lock: a
    /// lock held by another thread at the fork stays held in the child).
    private func checkOwner() throws(MemoryMonitorError) {
        guard MonitorSystemCalls.processID() == owner else { throw .forkedChild(owner: owner) }
    }

    // MARK: Observing

    /// The counters so far.
    public var statistics: UserfaultfdMonitorStatistics {
        var result = loop.statistics
        result.failedUnregisters = registrationLock.withLock { failedUnregisters }
        return result
    }

    /// Whether ``shutdown()`` ran (or began).
    public var hasShutDown: Bool { registrationLock.withLock { isShutDown } }
}
