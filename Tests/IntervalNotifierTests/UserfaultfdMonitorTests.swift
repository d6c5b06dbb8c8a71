import CNotifierHarness
import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier
import NotifierHarness
import NotifierStress

/// Real memory under a ``UserfaultfdMonitor``. Where userfaultfd is unavailable
/// (an unprivileged container) each test prints why it skips; the explicit
/// source is tested everywhere.
enum UffdTestSupport {
    /// Why userfaultfd cannot be used here, or nil.
    static let unavailableReason: String? = {
        do {
            let monitor = try UserfaultfdMonitor(addressSpace: AddressSpace())
            try monitor.shutdown()
            return nil
        } catch {
            return "\(error)"
        }
    }()

    /// A monitor on `space`, or nil (after printing why) when userfaultfd is unavailable.
    static func monitor(_ space: AddressSpace, _ test: String, options: UserfaultfdMonitor.Options = .init()) throws -> UserfaultfdMonitor? {
        if let reason = unavailableReason {
            print("skipping \(test): userfaultfd is unavailable here: \(reason)")
            return nil
        }
        return try UserfaultfdMonitor(addressSpace: space, options: options)
    }

    static let page = Int(UserfaultfdMonitor.pageSize)
}

/// `pages` touched pages of anonymous memory. The test unmaps pages through
/// ``unmap(_:count:)`` (or tells ``forget(_:count:)`` about pages it moved
/// away), and the end unmaps only the pages still here: a hole the test opened
/// may hold someone else's mapping by then (a thread stack), which a blanket
/// `munmap` of the whole region would destroy.
final class TestPages: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    private let owned: TestMutex<[Bool]>

    init(_ count: Int, touch: Bool = true, shared: Bool = false) {
        self.count = count
        owned = TestMutex([Bool](repeating: true, count: count))
        base = mmap(nil, count * UffdTestSupport.page, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0)!
        precondition(base != MAP_FAILED)
        if touch { for index in 0..<count { (base + index * UffdTestSupport.page).storeBytes(of: UInt64(index + 1), as: UInt64.self) } }
    }

    deinit {
        let still = owned.withLock { $0 }
        for index in 0..<count where still[index] { munmap(pointer(index), UffdTestSupport.page) }
    }

    /// Unmaps pages `[index, index + count)`; returns munmap's result.
    @discardableResult
    func unmap(_ index: Int, count: Int = 1) -> Int32 {
        forget(index, count: count)
        return munmap(pointer(index), count * UffdTestSupport.page)
    }

    /// Records that pages `[index, index + count)` are not this region's any more.
    func forget(_ index: Int, count: Int = 1) {
        owned.withLock { for page in index..<(index + count) { $0[page] = false } }
    }

    func address(_ index: Int) -> UInt64 { UInt64(UInt(bitPattern: base)) + UInt64(index * UffdTestSupport.page) }
    func pointer(_ index: Int) -> UnsafeMutableRawPointer { base + index * UffdTestSupport.page }
    var length: UInt64 { UInt64(count * UffdTestSupport.page) }
}

/// One subscription per page of `pages`, recording each callback.
func subscribePages(_ space: AddressSpace, _ pages: TestPages, _ recorder: CallbackRecorder) throws -> [IntervalSubscription] {
    try (0..<pages.count).map { try space.subscribe(pages.address($0), UInt64(UffdTestSupport.page), recorder) }
}

// Serialized: its threads and child processes would otherwise add bursts of load
// to the timing-sensitive suites that share the 2 cores.
@Suite("Memory: userfaultfd monitor", .serialized)
struct UserfaultfdMonitorTests {
    let page = UInt64(UffdTestSupport.page)

    @Test("the registration table counts like a per-page model (random add/remove, released parts exact)")
    func tableMatchesModel() {
        let table = RegisteredRangeTable(capacity: 256)
        var model = [Int](repeating: 0, count: 64)
        var rng = Xorshift64(seed: 7)
        for _ in 0..<4000 {
            let start = Int(rng.next() % 60), length = 1 + Int(rng.next() % UInt64(64 - start))
            let s = UInt64(start) * 4096, e = UInt64(start + length) * 4096
            if rng.next() % 2 == 0 {
                #expect(table.add(start: s, end: e))
                for index in start..<(start + length) { model[index] += 1 }
            } else if table.covers(start: s, end: e) {
                #expect((start..<(start + length)).allSatisfy { model[$0] > 0 })
                var released: [Int] = []
                #expect(table.remove(start: s, end: e) { lower, upper in released += Array(Int(lower / 4096)..<Int(upper / 4096)) })
                for index in start..<(start + length) { model[index] -= 1 }
                #expect(released == (start..<(start + length)).filter { model[$0] == 0 })
            } else {
                #expect((start..<(start + length)).contains { model[$0] == 0 })
            }
            // The table's segments say exactly what the model says, merged.
            var expanded = [Int](repeating: 0, count: 64)
            for segment in table.allSegments {
                #expect(segment.count > 0)
                for index in Int(segment.start / 4096)..<Int(segment.end / 4096) { expanded[index] = segment.count }
            }
            #expect(expanded == model)
            if expanded != model { break } // one report, not thousands
            let segments = table.allSegments
            for (a, b) in zip(segments, segments.dropFirst()) { #expect(a.end < b.start || a.count != b.count) }
        }
        // A full table refuses and stays as it was.
        let small = RegisteredRangeTable(capacity: 2)
        #expect(small.add(start: 0, end: 4096) && small.add(start: 8192, end: 12288))
        #expect(!small.add(start: 16384, end: 20480))
        #expect(small.allSegments.count == 2)
    }

    @Test("the explicit source delivers start and end on the caller's thread (works without userfaultfd)")
    func explicitSource() throws {
        let space = AddressSpace()
        let recorder = CallbackRecorder()
        let inside = try space.subscribe(0x10000, 0x1000, recorder)
        _ = try space.subscribe(0x20000, 0x1000, recorder)
        let source = ExplicitInvalidationSource(addressSpace: space)
        try source.invalidate(range(0x10800, 0x10900, .clear))
        #expect(recorder.calls.map(\.start) == [inside.start])
        #expect(recorder.calls.first?.range.event == .clear)
        #expect(space.state.active == 0 && space.state.sequence & 1 == 0)
        try source.shutdown()
    }

    @Test("munmap, madvise(MADV_DONTNEED) and mremap invalidate exactly the subscriptions they cover")
    func eventsInvalidateCoveredOnly() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "eventsInvalidateCoveredOnly") else { return }
        let pages = TestPages(16)
        // Mapped before any hole opens, so that they cannot land in one.
        let target = TestPages(2)
        let other = TestPages(2)
        let recorder = CallbackRecorder()
        _ = try subscribePages(space, pages, recorder)
        try monitor.register(start: pages.address(0), length: pages.length)
        func invalidatedPages() -> [Int] {
            recorder.calls.map { Int(($0.start - pages.address(0)) / page) }.sorted()
        }
        // munmap of pages 4-5: UNMAP of exactly [4, 6).
        #expect(pages.unmap(4, count: 2) == 0)
        try monitor.flush()
        #expect(invalidatedPages() == [4, 5])
        #expect(recorder.calls.allSatisfy { $0.range.event == .unmap && $0.range.start == pages.address(4) && $0.range.end == pages.address(6) })
        recorder.reset()
        // madvise(MADV_DONTNEED) of pages 8-9: REMOVE, event clear.
        #expect(madvise(pages.pointer(8), 2 * UffdTestSupport.page, MADV_DONTNEED) == 0)
        try monitor.flush()
        #expect(invalidatedPages() == [8, 9])
        #expect(recorder.calls.allSatisfy { $0.range.event == .clear && $0.range.start == pages.address(8) && $0.range.end == pages.address(10) })
        recorder.reset()
        // mremap moving pages 12-13 elsewhere: REMAP (old range), then UNMAP of it.
        pages.forget(12, count: 2)
        let moved = cnp_mremap(pages.pointer(12), 2 * UffdTestSupport.page, 2 * UffdTestSupport.page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, target.base)
        #expect(moved == target.base)
        try monitor.flush()
        #expect(Set(invalidatedPages()) == [12, 13])
        #expect(recorder.calls.allSatisfy { $0.range.event == .unmap && $0.range.start == pages.address(12) })
        // The registration moved with the mapping: unmapping it at its new
        // address raises an event (it covers no subscription).
        let before = monitor.statistics.unmapEvents
        recorder.reset()
        #expect(target.unmap(0, count: 2) == 0)
        try monitor.flush()
        #expect(monitor.statistics.unmapEvents == before + 1)
        #expect(recorder.calls.isEmpty)
        // Memory nobody registered raises nothing.
        _ = try space.subscribe(other.address(0), 2 * page, recorder)
        let messages = monitor.statistics.messages
        #expect(other.unmap(0, count: 2) == 0)
        try monitor.flush()
        #expect(monitor.statistics.messages == messages)
        #expect(recorder.calls.isEmpty)
        let statistics = monitor.statistics
        #expect(statistics.unmapEvents >= 2 && statistics.removeEvents == 1 && statistics.remapEvents == 1)
        #expect(statistics.unexpectedFaults == 0 && statistics.failedInvalidations == 0)
        try monitor.unregister(start: pages.address(0), length: pages.length)
        try monitor.shutdown()
    }

    @Test("overlapping registrations are counted: a partial unregister keeps what another registration covers")
    func overlappingRegistrations() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "overlappingRegistrations") else { return }
        let pages = TestPages(16)
        let recorder = CallbackRecorder()
        _ = try subscribePages(space, pages, recorder)
        // A = pages [0, 8), B = pages [4, 12).
        try monitor.register(start: pages.address(0), length: 8 * page)
        try monitor.register(start: pages.address(4), length: 8 * page)
        #expect(monitor.registeredBytes == 12 * page)
        try monitor.unregister(start: pages.address(0), length: 8 * page)
        #expect(monitor.registeredBytes == 8 * page)
        func unmapSeen(_ index: Int) throws -> Bool {
            recorder.reset()
            #expect(pages.unmap(index) == 0)
            try monitor.flush()
            return recorder.calls.map(\.start) == [pages.address(index)]
        }
        #expect(try unmapSeen(6), "page 6 is still covered by B")
        #expect(try !unmapSeen(2), "page 2 was only A's")
        // A partial unregister of B: pages [8, 10) go, [10, 12) stay.
        try monitor.unregister(start: pages.address(8), length: 2 * page)
        #expect(try !unmapSeen(9))
        #expect(try unmapSeen(11))
        // Unregistering what is not (entirely) registered throws and changes nothing.
        #expect(throws: MemoryMonitorError.notRegistered(start: pages.address(3), length: 2 * page)) {
            try monitor.unregister(start: pages.address(3), length: 2 * page)
        }
        #expect(monitor.registeredBytes == 6 * page, "counts change only by register and unregister (pages 6 and 11 were unmapped, still counted)")
        #expect(try unmapSeen(5))
        try monitor.shutdown()
        #expect(monitor.statistics.failedUnregisters == 0)
    }

    @Test("a never-touched page raises no fault: touching registered untouched memory does not wait for the monitor")
    func untouchedPagesRaiseNoFault() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "untouchedPagesRaiseNoFault") else { return }
        let pages = TestPages(8, touch: false)
        let shared = TestPages(4, touch: false, shared: true)
        try monitor.register(start: pages.address(0), length: pages.length)
        try monitor.register(start: shared.address(0), length: shared.length)
        let touched = completes(withinSeconds: 10) {
            for index in 0..<8 { _ = pages.pointer(index).load(as: UInt64.self) }
            for index in 0..<8 { pages.pointer(index).storeBytes(of: 42, as: UInt64.self) }
            for index in 0..<4 { shared.pointer(index).storeBytes(of: 42, as: UInt64.self) }
        }
        #expect(touched)
        try monitor.flush()
        #expect(monitor.statistics.unexpectedFaults == 0)
        #expect(madvise(pages.pointer(0), UffdTestSupport.page, MADV_DONTNEED) == 0)
        #expect(completes(withinSeconds: 10) { pages.pointer(0).storeBytes(of: 1, as: UInt64.self) })
        try monitor.flush()
        #expect(monitor.statistics.unexpectedFaults == 0)
        try monitor.shutdown()
    }

    @Test("clear errors: misaligned, unsupported mappings (EINVAL, EPERM), another userfaultfd (EBUSY), after shutdown")
    func errors() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "errors", options: .init(fileMappings: false)) else { return }
        let pages = TestPages(4)
        #expect(throws: MemoryMonitorError.misalignedRange(start: pages.address(0) + 1, length: page)) {
            try monitor.register(start: pages.address(0) + 1, length: page)
        }
        #expect(throws: MemoryMonitorError.misalignedRange(start: pages.address(0), length: 0)) {
            try monitor.register(start: pages.address(0), length: 0)
        }
        #expect(throws: MemoryMonitorError.misalignedRange(start: UInt64.max - page + 1, length: 2 * page)) {
            try monitor.register(start: UInt64.max - page + 1, length: 2 * page)
        }
        // A file-backed mapping, with file mappings off: EINVAL.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uffd-test-\(getpid())").path
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        defer { close(fd); unlink(path) }
        #expect(ftruncate(fd, off_t(4 * page)) == 0)
        let file = mmap(nil, 4 * UffdTestSupport.page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
        defer { munmap(file, 4 * UffdTestSupport.page) }
        let fileAddress = UInt64(UInt(bitPattern: file))
        #expect(throws: MemoryMonitorError.unsupportedMapping(start: fileAddress, length: 4 * page, errno: EINVAL)) {
            try monitor.register(start: fileAddress, length: 4 * page)
        }
        // Nothing mapped: EINVAL.
        let hole = TestPages(1)
        let holeAddress = hole.address(0)
        hole.unmap(0)
        #expect(throws: MemoryMonitorError.unsupportedMapping(start: holeAddress, length: page, errno: EINVAL)) {
            try monitor.register(start: holeAddress, length: page)
        }
        // Another userfaultfd holds the range: EBUSY, and the first keeps it.
        let other = try UserfaultfdMonitor(addressSpace: AddressSpace())
        try other.register(start: pages.address(0), length: 2 * page)
        #expect(throws: MemoryMonitorError.heldByAnotherUserfaultfd(start: pages.address(1), length: 2 * page)) {
            try monitor.register(start: pages.address(1), length: 2 * page)
        }
        #expect(monitor.registeredBytes == 0)
        try other.shutdown()
        try monitor.register(start: pages.address(1), length: 2 * page)
        // The descriptions name the cause.
        #expect(MemoryMonitorError.userfaultfdUnavailable(errno: EPERM).description.contains("vm.unprivileged_userfaultfd"))
        #expect(MemoryMonitorError.mapCountExhausted(start: 0, length: 4096).description.contains("vm.max_map_count"))
        #expect(MemoryMonitorError.unsupportedMapping(start: 0, length: 4096, errno: EINVAL).description.contains("file-backed"))
        try monitor.shutdown()
        try monitor.shutdown()
        #expect(throws: MemoryMonitorError.shutDown) { try monitor.register(start: pages.address(0), length: page) }
        #expect(throws: MemoryMonitorError.shutDown) { try monitor.unregister(start: pages.address(1), length: page) }
        try monitor.flush()
    }

    @Test("file-backed mappings: watched with UFFD_FEATURE_WP_ASYNC where the kernel has it; a read-only shared file is EPERM")
    func fileMappings() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "fileMappings") else { return }
        defer { try? monitor.shutdown() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uffd-file-\(getpid())").path
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        defer { close(fd); unlink(path) }
        #expect(ftruncate(fd, off_t(4 * page)) == 0)
        let file = mmap(nil, 4 * UffdTestSupport.page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
        let address = UInt64(UInt(bitPattern: file))
        guard monitor.watchesFileMappings else {
            print("fileMappings: this kernel has no UFFD_FEATURE_WP_ASYNC; file mappings cannot be watched")
            #expect(throws: MemoryMonitorError.unsupportedMapping(start: address, length: 4 * page, errno: EINVAL)) {
                try monitor.register(start: address, length: 4 * page)
            }
            munmap(file, 4 * UffdTestSupport.page)
            return
        }
        let recorder = CallbackRecorder()
        _ = try space.subscribe(address, 4 * page, recorder)
        try monitor.register(start: address, length: 4 * page)
        file.storeBytes(of: 7, as: UInt64.self)
        #expect(munmap(file, 4 * UffdTestSupport.page) == 0)
        try monitor.flush()
        #expect(recorder.calls.count == 1 && recorder.calls.first?.range.event == .unmap)
        try monitor.unregister(start: address, length: 4 * page)
        let readOnly = open(path, O_RDONLY)
        defer { close(readOnly) }
        let shared = mmap(nil, UffdTestSupport.page, PROT_READ, MAP_SHARED, readOnly, 0)!
        defer { munmap(shared, UffdTestSupport.page) }
        let sharedAddress = UInt64(UInt(bitPattern: shared))
        #expect(throws: MemoryMonitorError.unsupportedMapping(start: sharedAddress, length: page, errno: EPERM)) {
            try monitor.register(start: sharedAddress, length: page)
        }
    }

    @Test("a busy-polling monitor (spinMicroseconds) delivers every event, reads later ones without sleeping, and shuts down at once")
    func spinningMonitor() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "spinningMonitor", options: .init(spinMicroseconds: 5_000)) else { return }
        let pages = TestPages(16)
        let recorder = CallbackRecorder()
        _ = try subscribePages(space, pages, recorder)
        try monitor.register(start: pages.address(0), length: pages.length)
        // Back to back: each munmap after the first arrives well within the
        // 5 ms window that follows the handling of the one before.
        for index in 0..<16 { #expect(pages.unmap(index) == 0) }
        try monitor.flush()
        #expect(Set(recorder.calls.map { Int(($0.start - pages.address(0)) / page) }) == Set(0..<16))
        let statistics = monitor.statistics
        #expect(statistics.spinWakeups >= 1, "no message was read in a busy-poll window: \(statistics)")
        #expect(statistics.unmapEvents == 16 && statistics.failedInvalidations == 0)
        // The stop request ends a busy-poll window at once.
        let began = MonotonicClock.nanoseconds()
        try monitor.shutdown()
        #expect(MonotonicClock.nanoseconds() - began < 1_000_000_000)
        // A monitor that never spins never counts a spin wake-up.
        guard let plain = try UffdTestSupport.monitor(AddressSpace(), "spinningMonitor", options: .init(spinMicroseconds: 0)) else { return }
        let more = TestPages(4)
        try plain.register(start: more.address(0), length: more.length)
        for index in 0..<4 { #expect(more.unmap(index) == 0) }
        try plain.flush()
        #expect(plain.statistics.spinWakeups == 0 && plain.statistics.unmapEvents == 4)
        try plain.shutdown()
    }

    @Test("shutdown: every munmap that returned before it was delivered, no caller stays blocked, calls from the monitor thread are refused")
    func shutdownDeliversEverything() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "shutdownDeliversEverything") else { return }
        let pages = TestPages(256)
        let recorder = CallbackRecorder()
        _ = try subscribePages(space, pages, recorder)
        try monitor.register(start: pages.address(0), length: pages.length)
        // Four threads unmap 48 pages each; shutdown follows at once (no flush).
        let threads = (0..<4).map { worker in
            JoinableThread { for index in stride(from: worker, to: 192, by: 4) { pages.unmap(index) } }
        }
        for thread in threads { #expect(thread.join(timeoutSeconds: 20)) }
        // Threads that race the shutdown must all come back.
        let racing = JoinableThread { for index in 192..<256 { pages.unmap(index) } }
        try monitor.shutdown()
        #expect(racing.join(timeoutSeconds: 20))
        let invalidated = Set(recorder.calls.map { Int(($0.start - pages.address(0)) / page) })
        #expect(invalidated.isSuperset(of: 0..<192), "missing: \(Set(0..<192).subtracting(invalidated).sorted().prefix(10))")
        // Calls that would wait for the monitor's own thread are refused there.
        let space2 = AddressSpace()
        guard let monitor2 = try UffdTestSupport.monitor(space2, "shutdownDeliversEverything") else { return }
        let errors = TestMutex<[MemoryMonitorError]>([])
        let box = TestMutex<UserfaultfdMonitor?>(monitor2)
        let more = TestPages(1)
        _ = try space2.insert(start: more.address(0), length: page) { subscription, _, sequence in
            subscription.setSequence(sequence)
            if let m = box.withLock({ $0 }) {
                do throws(MemoryMonitorError) { try m.flush() } catch { errors.withLock { $0.append(error) } }
                do throws(MemoryMonitorError) { try m.shutdown() } catch { errors.withLock { $0.append(error) } }
            }
            return true
        }
        try monitor2.register(start: more.address(0), length: page)
        more.unmap(0)
        try monitor2.flush()
        #expect(errors.withLock { $0 } == [.calledOnMonitorThread, .calledOnMonitorThread])
        box.withLock { $0 = nil }
        try monitor2.shutdown()
    }

    @Test("hitters, unmappers and re-mappers on real pages: no get returns a value of memory changed before it began (seqlock oracle; child process)", .timeLimit(.minutes(1)))
    func concurrentChurnOracle() async throws {
        if let reason = UffdTestSupport.unavailableReason {
            print("skipping concurrentChurnOracle: userfaultfd is unavailable here: \(reason)")
            return
        }
        // ThreadSanitizer's runtime refuses the child's fixed low mappings
        // (32 TiB up, MemoryChurnRun.mapLow: "mmap at bad address", exit 66).
        if runningUnderThreadSanitizer {
            print("skipping concurrentChurnOracle: under ThreadSanitizer, whose runtime refuses the child's fixed mappings at 32 TiB")
            return
        }
        // In a process of its own: the churn unmaps and moves pages, and the
        // holes it opens for a moment can be taken by another test's mapping in
        // this process (a 4 KiB page table of a stress run was, and the churn's
        // refill then replaced it: a crash in that test). One spinning hitter,
        // briefly: the suite shares 2 cores with timing-sensitive tests.
        let stress = notifierCheckPath.replacingOccurrences(of: "notifier-check", with: "notifier-stress")
        let result = try await runChild(stress, ["--source", "uffd", "--duration", "1.5", "--faulters", "1", "--invalidators", "2",
                                                 "--subscriptions", "32", "--seed", "11", "--hang-bound", "20", "--quiet"])
        let output = result.standardOutput
        #expect(result.status == 0 && !result.trapped, "status \(result.status): \(output) \(result.standardError)")
        #expect(output.contains("source uffd, strategy rcu: CLEAN"), "\(output)")
        // Under the full suite's load on 2 cores a mutator may get few turns:
        // require work, not a rate (notifier-stress covers every kind at length).
        #expect(output.contains("page faults 0,") && output.contains("monitor: ") && output.contains("mutations: "), "\(output)")
    }

    @Test("after fork() the child's calls throw forkedChild, and the parent's shutdown leaves nothing registered for a child holding the descriptor (child process)", .timeLimit(.minutes(1)))
    func forkedChild() async throws {
        if let reason = UffdTestSupport.unavailableReason {
            print("skipping forkedChild: userfaultfd is unavailable here: \(reason)")
            return
        }
        let result = try await runChild(notifierCheckPath, ["uffd", "fork"])
        #expect(result.status == 0 && !result.trapped, "\(result.standardOutput) \(result.standardError)")
        #expect(result.standardOutput.contains("child: forkedChild"))
    }

    @Test("vm.max_map_count exhaustion is a clear error, and the process recovers after unregistering (child process)", .timeLimit(.minutes(1)))
    func mapCountExhaustion() async throws {
        if let reason = UffdTestSupport.unavailableReason {
            print("skipping mapCountExhaustion: userfaultfd is unavailable here: \(reason)")
            return
        }
        // AddressSanitizer's runtime needs new mappings of its own all the
        // time; at vm.max_map_count it fails ("out of memory") before the
        // monitor can report anything.
        if dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil {
            print("skipping mapCountExhaustion: under AddressSanitizer, whose runtime cannot run at vm.max_map_count")
            return
        }
        // ThreadSanitizer's likewise (the child exits with no output).
        if runningUnderThreadSanitizer {
            print("skipping mapCountExhaustion: under ThreadSanitizer, whose runtime cannot run at vm.max_map_count")
            return
        }
        let result = try await runChild(notifierCheckPath, ["uffd", "map-count"])
        #expect(result.status == 0 && !result.trapped, "\(result.standardOutput) \(result.standardError)")
        #expect(result.standardOutput.contains("mapCountExhausted"))
    }
}
