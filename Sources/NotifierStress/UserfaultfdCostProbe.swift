#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier

/// What the userfaultfd monitor costs an unmapping thread, measured in one
/// process with interleaved repetitions (A B A B ...), printed by
/// `notifier-stress --source uffd` before its churn.
public enum UserfaultfdCostProbe {
    /// Median, min and max of one measured operation, in microseconds.
    public struct Figure: Sendable {
        public var median, min, max: Double
        init(_ nanoseconds: [UInt64]) {
            let sorted = nanoseconds.sorted()
            median = Double(sorted[sorted.count / 2]) / 1e3
            min = Double(sorted.first!) / 1e3
            max = Double(sorted.last!) / 1e3
        }
        var text: String { String(format: "%.2f us (min %.2f, max %.1f)", median, min, max) }
    }

    /// The probe's results.
    public struct Costs: Sendable {
        /// Repetitions of each single-page measurement.
        public var repetitions: Int
        /// `munmap` of a touched 4 KiB page nobody registered.
        public var munmapUnregistered: Figure
        /// `munmap` of a touched, registered 4 KiB page that a subscription covers.
        public var munmapRegistered: Figure
        /// The same, until ``UserfaultfdMonitor/flush()`` returned (the invalidation has ended).
        public var munmapUntilInvalidated: Figure
        /// Pages per back-to-back `munmap` run, and the runs of each kind.
        public var throughputPages: Int, throughputRuns: Int
        /// munmaps per second, registered (each one an event) and not (median run).
        public var eventsPerSecond: Double, unregisteredPerSecond: Double
        /// Messages per `read()` during the registered runs.
        public var messagesPerRead: Double

        /// Three lines for the run's output.
        public var summary: String {
            let ratio = munmapRegistered.median / max(munmapUnregistered.median, 1e-9)
            return """
                costs (one process, \(repetitions) interleaved repetitions each, median with min and max; this machine is shared and noisy):
                  munmap 4 KiB: not registered \(munmapUnregistered.text); registered \(munmapRegistered.text), \(String(format: "%.1f", ratio))x; until invalidated (munmap + flush) \(munmapUntilInvalidated.text)
                  back-to-back munmap of \(throughputPages) pages, \(throughputRuns) runs each: \(String(format: "%.0f", eventsPerSecond)) events/s registered (\(String(format: "%.2f", messagesPerRead)) messages per read) vs \(String(format: "%.0f", unregisteredPerSecond)) munmaps/s unregistered
                """
        }
    }

    /// Runs the probe (about a second); fails when userfaultfd is unavailable.
    public static func run(repetitions: Int = 300, throughputPages: Int = 4096, throughputRuns: Int = 3) -> Result<Costs, MemoryMonitorError> {
        let space = AddressSpace()
        let monitor: UserfaultfdMonitor
        do { monitor = try UserfaultfdMonitor(addressSpace: space) } catch { return .failure(error) }
        defer { try? monitor.shutdown() }
        let page = Int(UserfaultfdMonitor.pageSize)
        // One subscription over the whole user address range: every event
        // invalidates something (a callback that only sets the sequence).
        let everything = try! space.insert(start: 0, last: UInt64(1) << 47) { subscription, _, sequence in
            subscription.setSequence(sequence)
            return true
        }
        defer { try? space.remove(everything) }
        func touchedPage() -> UnsafeMutableRawPointer {
            let memory = mmap(nil, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            precondition(memory != MAP_FAILED, "mmap failed: errno \(errno)")
            memory.storeBytes(of: 1, as: UInt64.self)
            return memory
        }
        var plain: [UInt64] = [], registered: [UInt64] = [], invalidated: [UInt64] = []
        for repetition in 0..<repetitions {
            for registeredFirst in repetition % 2 == 0 ? [true, false] : [false, true] {
                let memory = touchedPage()
                let address = UInt64(UInt(bitPattern: memory))
                if registeredFirst {
                    try! monitor.register(start: address, length: UInt64(page))
                    let started = MonotonicClock.nanoseconds()
                    munmap(memory, page)
                    let returned = MonotonicClock.nanoseconds()
                    try! monitor.flush()
                    let done = MonotonicClock.nanoseconds()
                    registered.append(returned - started)
                    invalidated.append(done - started)
                    // Its kernel registration went with the memory: fix the count.
                    try! monitor.unregister(start: address, length: UInt64(page))
                } else {
                    let started = MonotonicClock.nanoseconds()
                    munmap(memory, page)
                    plain.append(MonotonicClock.nanoseconds() - started)
                }
            }
        }
        var registeredRates: [Double] = [], plainRates: [Double] = []
        var messages = 0, reads = 0
        for run in 0..<(2 * throughputRuns) {
            let withMonitor = run % 2 == 0
            let bytes = page * throughputPages
            let region = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            precondition(region != MAP_FAILED, "mmap failed: errno \(errno)")
            for index in 0..<throughputPages { (region + index * page).storeBytes(of: 1, as: UInt64.self) }
            let base = UInt64(UInt(bitPattern: region))
            if withMonitor { try! monitor.register(start: base, length: UInt64(bytes)) }
            let before = monitor.statistics
            let started = MonotonicClock.nanoseconds()
            for index in 0..<throughputPages { munmap(region + index * page, page) }
            let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
            if withMonitor {
                try! monitor.flush()
                let after = monitor.statistics
                messages += after.messages - before.messages
                reads += after.reads - before.reads
                try! monitor.unregister(start: base, length: UInt64(bytes))
                registeredRates.append(Double(throughputPages) / seconds)
            } else {
                plainRates.append(Double(throughputPages) / seconds)
            }
        }
        return .success(Costs(
            repetitions: repetitions,
            munmapUnregistered: Figure(plain), munmapRegistered: Figure(registered), munmapUntilInvalidated: Figure(invalidated),
            throughputPages: throughputPages, throughputRuns: throughputRuns,
            eventsPerSecond: registeredRates.sorted()[registeredRates.count / 2],
            unregisteredPerSecond: plainRates.sorted()[plainRates.count / 2],
            messagesPerRead: reads > 0 ? Double(messages) / Double(reads) : 0))
    }
}
