/// Counters of a ``UserfaultfdMonitor``, read with ``UserfaultfdMonitor/statistics``.
/// Each counter is exact once the events it counts were handled (see
/// ``UserfaultfdMonitor/flush()``); taken while events arrive, the counters
/// are read one by one, not as one snapshot.
public struct UserfaultfdMonitorStatistics: Sendable, Equatable {
    /// `read()` calls on the userfaultfd that returned messages.
    public var reads = 0
    /// Messages read (each `read()` drains up to the monitor's batch size).
    public var messages = 0
    /// The most messages one `read()` returned.
    public var largestBatch = 0
    /// `UFFD_EVENT_UNMAP` messages (`munmap`, `mmap(MAP_FIXED)` over registered memory, `mremap` shrinking): ``InvalidationEvent/unmap``.
    public var unmapEvents = 0
    /// `UFFD_EVENT_REMOVE` messages (`madvise(MADV_DONTNEED)`, `MADV_FREE`, `MADV_REMOVE`): ``InvalidationEvent/clear``.
    public var removeEvents = 0
    /// `UFFD_EVENT_REMAP` messages (`mremap` moving a registered mapping): ``InvalidationEvent/unmap`` of the old range.
    public var remapEvents = 0
    /// Page faults that reached the monitor. Zero by design (write-protect mode,
    /// nothing write-protected); a fault is resolved with a zero page and counted.
    public var unexpectedFaults = 0
    /// Messages of kinds the monitor does not expect (counted, ignored).
    public var unknownEvents = 0
    /// Events whose invalidation the address space refused (never for the
    /// blockable ranges the monitor delivers; counted if it happens).
    public var failedInvalidations = 0
    /// `UFFDIO_UNREGISTER` calls the kernel refused during an unregister or
    /// shutdown (the memory stays registered until it is unmapped: its events
    /// still arrive and invalidate, harmlessly).
    public var failedUnregisters = 0
    /// Wake-ups whose busy-poll window (``UserfaultfdMonitor/Options/spinMicroseconds``)
    /// saw a descriptor become ready, so the thread did not sleep.
    public var spinWakeups = 0
}
