import CNotifierHarness
import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier

/// A ``RegistrationCache`` driven by a ``UserfaultfdMonitor`` on real memory,
/// wired the way a user wires them: the register callback registers the region
/// with the monitor (counted, so overlapping regions share the kernel's
/// registration) and the deregister callback unregisters it.
final class MonitoredCache: @unchecked Sendable {
    let registrar = FakeRegistrar()
    let monitor: UserfaultfdMonitor
    let cache: RegistrationCache
    /// Monitor calls that failed in a callback (each a test failure).
    let failureLog = FailureLog()
    final class FailureLog: Sendable { let entries = TestMutex<[String]>([]) }
    var failures: [String] { failureLog.entries.withLock { $0 } }

    init(_ space: AddressSpace, _ monitor: UserfaultfdMonitor, limits: RegistrationCache.Limits = .init()) {
        self.monitor = monitor
        // The registrar's hook runs inside its register call, after the
        // monitor registered the region.
        let registrar = registrar, failures = failureLog
        cache = RegistrationCache(
            addressSpace: space, limits: limits,
            register: { start, length in
                // Watch first, then register: memory unmapped between the two
                // raises an event that invalidates the region (its
                // subscription is in the tree already). The other order loses
                // it: an unmap after the registration but before the watch
                // raises nothing, and the watch then covers the new mapping
                // (getRacingUnmap found that with the registrar first).
                do throws(MemoryMonitorError) {
                    try monitor.register(start: start, length: length)
                } catch {
                    failures.entries.withLock { $0.append("register [\(start), +\(length)): \(error)") }
                    return nil
                }
                guard let id = registrar.register(start, length) else {
                    try? monitor.unregister(start: start, length: length)
                    return nil
                }
                return id
            },
            deregister: { id, start, length in
                registrar.deregister(id)
                do throws(MemoryMonitorError) {
                    try monitor.unregister(start: start, length: length)
                } catch {
                    failures.entries.withLock { $0.append("unregister [\(start), +\(length)): \(error)") }
                }
            })
    }

    /// The registration a get of `[address, address + length)` returns (a hit
    /// or a new registration), put back at once.
    func registration(_ address: UInt64, length: UInt64 = UInt64(UffdTestSupport.page)) throws -> UInt {
        let handle = try cache.get(address: address, length: length)
        let id = handle.registration
        cache.put(handle)
        return id
    }
}

@Suite("Registration cache on real memory, invalidated by the userfaultfd monitor", .serialized)
struct CacheMonitorTests {
    let page = UInt64(UffdTestSupport.page)

    @Test("munmap, madvise(MADV_DONTNEED) and mremap invalidate exactly the cached regions they cover; neighbours stay hits")
    func eventsInvalidateCoveredRegionsOnly() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "eventsInvalidateCoveredRegionsOnly") else { return }
        defer { try? monitor.shutdown() }
        let pages = TestPages(24)
        // Mapped before any hole opens, so that it cannot land in one.
        let target = TestPages(2)
        let monitored = MonitoredCache(space, monitor)
        let cache = monitored.cache
        // One region per page, except one two-page region over pages 20 and 21
        // (its page 20 is a neighbour of the range unmapped last).
        var ids: [Int: UInt] = [:]
        for index in 0..<24 where index != 20 && index != 21 { ids[index] = try monitored.registration(pages.address(index)) }
        let pair = try monitored.registration(pages.address(20), length: 2 * page)
        ids[20] = pair
        ids[21] = pair
        #expect(Set(ids.values).count == 23 && cache.statistics.misses == 23)
        var mapped = Set(0..<24)
        var deregistered = 0

        /// After an event: exactly the regions of the pages in `covered` were
        /// invalidated and deregistered, once each; every other mapped page
        /// still hits its region; covered pages still mapped miss.
        func expectInvalidated(_ covered: Set<Int>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try monitor.flush()
            let regions = Set(covered.map { ids[$0]! })
            for id in regions {
                #expect(monitored.registrar.deregistrations(of: id) == 1, "\(what): registration \(id) deregistered once", sourceLocation: sourceLocation)
            }
            deregistered += regions.count
            #expect(monitored.registrar.totalDeregistrations == deregistered, "\(what): nothing else deregistered", sourceLocation: sourceLocation)
            #expect(cache.statistics.invalidatedRegions == deregistered, "\(what)", sourceLocation: sourceLocation)
            let misses = cache.statistics.misses
            for index in mapped.subtracting(covered).sorted() {
                #expect(try monitored.registration(pages.address(index)) == ids[index], "\(what): page \(index) must still hit", sourceLocation: sourceLocation)
            }
            #expect(cache.statistics.misses == misses, "\(what): neighbours hit", sourceLocation: sourceLocation)
            for index in mapped.intersection(covered).sorted() {
                let again = try monitored.registration(pages.address(index))
                #expect(again != ids[index], "\(what): page \(index) must miss", sourceLocation: sourceLocation)
                ids[index] = again
            }
        }

        // munmap of pages 4-5 (UNMAP).
        #expect(pages.unmap(4, count: 2) == 0)
        mapped.subtract([4, 5])
        try expectInvalidated([4, 5], "munmap [4, 6)")
        // madvise(MADV_DONTNEED) of pages 8-9 (REMOVE): the memory stays mapped.
        #expect(madvise(pages.pointer(8), 2 * UffdTestSupport.page, MADV_DONTNEED) == 0)
        try expectInvalidated([8, 9], "madvise [8, 10)")
        // mremap moving pages 12-13 onto `target` (REMAP, then UNMAP of the old range).
        pages.forget(12, count: 2)
        let moved = cnp_mremap(pages.pointer(12), 2 * UffdTestSupport.page, 2 * UffdTestSupport.page, CNP_MREMAP_MAYMOVE | CNP_MREMAP_FIXED, target.base)
        #expect(moved == target.base)
        mapped.subtract([12, 13])
        try expectInvalidated([12, 13], "mremap [12, 14)")
        // munmap of page 21: the pair region [20, 22) covers it and goes whole;
        // page 20 is still mapped and misses; page 22's region stays.
        #expect(pages.unmap(21) == 0)
        mapped.remove(21)
        try expectInvalidated([20, 21], "munmap [21, 22)")
        #expect(monitored.failures.isEmpty, "\(monitored.failures)")
        #expect(monitor.statistics.unexpectedFaults == 0 && monitor.statistics.failedInvalidations == 0)
        // The moved pages' registration moved with them: unmapping them
        // raises an event that covers no cached region.
        #expect(target.unmap(0, count: 2) == 0)
        cache.purge()
        try monitor.flush()
        #expect(monitored.registrar.wrongDeregistrations.isEmpty, "\(monitored.registrar.wrongDeregistrations)")
        #expect(monitor.registeredBytes == 0, "every region's monitor registration was dropped with it")
    }

    @Test("overlapping cached regions share the monitor's counted registration; a partial unregister keeps what the other covers")
    func overlappingRegionsAndPartialUnregister() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "overlappingRegionsAndPartialUnregister") else { return }
        defer { try? monitor.shutdown() }
        let pages = TestPages(16)
        let monitored = MonitoredCache(space, monitor)
        let cache = monitored.cache
        /// Unmaps page `index`; whether the monitor got a message for it.
        func unmapSeen(_ index: Int) throws -> Bool {
            let before = monitor.statistics.messages
            #expect(pages.unmap(index) == 0)
            try monitor.flush()
            return monitor.statistics.messages > before
        }
        // A = pages [0, 8), B = pages [4, 12): B misses (A does not cover it)
        // and both are registered with the monitor, [4, 8) twice.
        let a = try monitored.registration(pages.address(0), length: 8 * page)
        let b = try cache.get(address: pages.address(4), length: 8 * page)
        #expect(b.registration != a && b.start == pages.address(4) && cache.statistics.misses == 2)
        #expect(monitor.registeredBytes == 12 * page)
        // Evict A (B is held): A's unregister is partial in the kernel: only
        // [0, 4) goes; [4, 8) stays registered for B.
        cache.purge()
        #expect(monitored.registrar.deregistrations(of: a) == 1 && cache.statistics.regions == 1)
        #expect(monitor.registeredBytes == 8 * page)
        #expect(try !unmapSeen(2), "page 2 was only A's")
        #expect(try unmapSeen(6), "page 6 is B's too")
        // B is invalidated but held: deregistered at its put, not before.
        #expect(cache.statistics.invalidatedRegions == 1)
        #expect(monitored.registrar.deregistrations(of: b.registration) == 0)
        // Page 9, inside B, misses now: C = [9, 10) registers it again.
        let c = try monitored.registration(pages.address(9))
        #expect(c != b.registration && cache.statistics.misses == 3)
        let bID = b.registration
        cache.put(b)
        #expect(monitored.registrar.deregistrations(of: bID) == 1)
        // B's unregister dropped [4, 9) and [10, 12) in the kernel, not C's page.
        #expect(monitor.registeredBytes == page)
        #expect(try !unmapSeen(10), "page 10 was only B's")
        #expect(try unmapSeen(9), "page 9 is C's")
        #expect(monitored.registrar.deregistrations(of: c) == 1)
        #expect(try monitored.registration(pages.address(11)) != bID, "page 11 misses after B went")
        cache.purge()
        #expect(monitor.registeredBytes == 0)
        #expect(monitored.failures.isEmpty, "\(monitored.failures)")
        #expect(monitored.registrar.wrongDeregistrations.isEmpty, "\(monitored.registrar.wrongDeregistrations)")
    }

    @Test("a get racing the munmap of its page (mmap(MAP_FIXED) over it) never returns a registration of the unmapped memory",
          .timeLimit(.minutes(1)))
    func getRacingUnmap() throws {
        let space = AddressSpace()
        guard let monitor = try UffdTestSupport.monitor(space, "getRacingUnmap") else { return }
        defer { try? monitor.shutdown() }
        let count = 8
        // mmap(MAP_FIXED) over a registered page unmaps it in the kernel
        // (UFFD_EVENT_UNMAP) and maps a fresh page in the same step: no hole
        // opens that another test's mapping could take.
        let pages = TestPages(count)
        let monitored = MonitoredCache(space, monitor, limits: .init(maxRegions: count))
        let cache = monitored.cache
        // One clock for registrations, replacements and gets.
        let clock = Atomic<UInt64>(1)
        let registeredAt = TestMutex<[UInt: UInt64]>([:])
        monitored.registrar.onRegister.withLock {
            $0 = FakeRegistrar.Hook { id in
                let now = clock.add(1, ordering: .sequentiallyConsistent).newValue
                registeredAt.withLock { $0[id] = now }
            }
        }
        // Per page: when its latest replacement began, and when its
        // invalidation was done (munmap returned, then flush returned).
        let replaced = TestMutex([(began: UInt64, done: UInt64)](repeating: (0, 0), count: count))
        let stop = Atomic<Bool>(false)
        let violations = TestMutex<[String]>([])
        let gets = Atomic<Int>(0)
        let replacements = Atomic<Int>(0)
        let getters = (0..<2).map { seed in
            JoinableThread {
                var random = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
                while !stop.load(ordering: .relaxed) {
                    random ^= random << 13; random ^= random >> 7; random ^= random << 17
                    let index = Int(random % UInt64(count))
                    let began = clock.add(1, ordering: .sequentiallyConsistent).newValue
                    guard let handle = try? cache.get(address: pages.address(index), length: 8) else { continue }
                    let registered = registeredAt.withLock { $0[handle.registration] } ?? .max
                    let latest = replaced.withLock { $0[index] }
                    if registered < latest.began && latest.done < began {
                        violations.withLock { $0.append("page \(index): registration \(handle.registration) made at \(registered), its memory replaced from \(latest.began) (invalidation done at \(latest.done)), returned by a get begun at \(began)") }
                    }
                    cache.put(handle)
                    gets.add(1, ordering: .relaxed)
                }
            }
        }
        let replacer = JoinableThread {
            var random: UInt64 = 0xC0FF_EE11
            while !stop.load(ordering: .relaxed) {
                random ^= random << 13; random ^= random >> 7; random ^= random << 17
                let index = Int(random % UInt64(count))
                let began = clock.add(1, ordering: .sequentiallyConsistent).newValue
                let fresh = mmap(pages.pointer(index), UffdTestSupport.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                guard fresh == pages.pointer(index) else {
                    violations.withLock { $0.append("mmap(MAP_FIXED) failed: errno \(errno)") }
                    return
                }
                fresh!.storeBytes(of: began, as: UInt64.self)
                do { try monitor.flush() } catch {
                    violations.withLock { $0.append("flush: \(error)") }
                    return
                }
                let done = clock.add(1, ordering: .sequentiallyConsistent).newValue
                replaced.withLock { $0[index] = (began, done) }
                replacements.add(1, ordering: .relaxed)
            }
        }
        // Until 20 000 gets and 2 000 replacements, or 10 s (the rates depend
        // on the load on the machine's 2 cores: an idle one did both in 0.3 s).
        let deadline = Date().addingTimeInterval(10)
        while (gets.load(ordering: .relaxed) < 20_000 || replacements.load(ordering: .relaxed) < 2_000) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop.store(true, ordering: .relaxed)
        #expect(getters.allSatisfy { $0.join(timeoutSeconds: 20) } && replacer.join(timeoutSeconds: 20))
        #expect(violations.withLock { $0 }.isEmpty, "\(violations.withLock { $0.prefix(5) })")
        #expect(gets.load(ordering: .relaxed) >= 500 && replacements.load(ordering: .relaxed) >= 50,
                "too little work to mean anything: \(gets.load(ordering: .relaxed)) gets, \(replacements.load(ordering: .relaxed)) replacements")
        #expect(cache.statistics.invalidatedRegions > 10)
        #expect(monitored.failures.isEmpty, "\(monitored.failures.prefix(5))")
        cache.purge()
        try monitor.flush()
        #expect(monitored.registrar.wrongDeregistrations.isEmpty, "every registration deregistered exactly once: \(monitored.registrar.wrongDeregistrations.prefix(5))")
        #expect(monitor.registeredBytes == 0)
    }
}
