#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier
import Synchronization

/// Userfaultfd checks that need a process of their own (run by the tests).
enum UffdCheck: String, CaseIterable {
    /// After fork(): the child's calls throw `forkedChild`, its munmap of
    /// registered memory does not wait, and the parent's shutdown unregisters
    /// everything, so a parent munmap does not wait for the child that still
    /// holds the inherited descriptor.
    case fork
    /// Registering every other page until `vm.max_map_count` is exhausted
    /// throws `mapCountExhausted`; unregistering recovers.
    case mapCount = "map-count"

    static let page = Int(UserfaultfdMonitor.pageSize)

    func run() -> Bool {
        switch self {
        case .fork: return Self.forkCheck()
        case .mapCount: return Self.mapCountCheck()
        }
    }

    /// Writes a line with write(2) (no stdio buffer shared with a fork).
    static func say(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func forkCheck() -> Bool {
        let space = AddressSpace()
        let monitor: UserfaultfdMonitor
        do { monitor = try UserfaultfdMonitor(addressSpace: space) } catch {
            say("skipped: \(error)")
            return true
        }
        let memory = mmap(nil, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        for index in 0..<4 { (memory + index * page).storeBytes(of: 1, as: UInt64.self) }
        let base = UInt64(UInt(bitPattern: memory))
        let invalidations = Atomic<Int>(0)
        let subscription = try! space.insert(start: base, length: UInt64(4 * page)) { subscription, _, sequence in
            subscription.setSequence(sequence)
            invalidations.add(1, ordering: .relaxed)
            return true
        }
        try! monitor.register(start: base, length: UInt64(4 * page))
        let child = Glibc.fork()
        if child == 0 {
            // The child: every call throws, and its memory is not watched.
            var errors: [String] = []
            do throws(MemoryMonitorError) { try monitor.register(start: base, length: UInt64(page)) } catch { errors.append("\(error)") }
            do throws(MemoryMonitorError) { try monitor.flush() } catch { errors.append("\(error)") }
            do throws(MemoryMonitorError) { try monitor.shutdown() } catch { errors.append("\(error)") }
            let started = now()
            munmap(memory, page)
            let took = now() - started
            guard errors.count == 3, errors.allSatisfy({ $0.contains("child after fork()") }), took < 1 else {
                say("child: FAILED: errors \(errors), munmap took \(took) s")
                _exit(1)
            }
            say("child: forkedChild from register, flush and shutdown; munmap of registered memory took \(String(Int(took * 1e6))) us")
            // Keep the inherited descriptor open while the parent shuts down.
            usleep(3_000_000)
            _exit(0)
        }
        guard child > 0 else { say("fork failed: errno \(errno)"); return false }
        var ok = true
        munmap(memory + page, page)
        try! monitor.flush()
        if invalidations.load(ordering: .relaxed) != 1 { say("parent: munmap after fork not invalidated"); ok = false }
        usleep(200_000) // let the child run its checks first
        try! monitor.shutdown()
        let started = now()
        munmap(memory + 2 * page, page)
        let took = now() - started
        if took > 0.5 { say("parent: munmap after shutdown waited \(took) s for the child's descriptor"); ok = false }
        say("parent: munmap after shutdown took \(String(Int(took * 1e6))) us with the child still holding the descriptor")
        var status: Int32 = 0
        waitpid(child, &status, 0)
        if status != 0 { say("parent: child exited with status \(status)"); ok = false }
        munmap(memory + 3 * page, page)
        try! space.remove(subscription)
        return ok
    }

    static func mapCountCheck() -> Bool {
        let space = AddressSpace()
        let limit = 70_000
        let monitor: UserfaultfdMonitor
        do { monitor = try UserfaultfdMonitor(addressSpace: space, options: .init(capacity: limit)) } catch {
            say("skipped: \(error)")
            return true
        }
        let pages = 2 * limit
        let memory = mmap(nil, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)!
        let base = UInt64(UInt(bitPattern: memory))
        var registered = 0
        var failure: MemoryMonitorError?
        let started = now()
        while registered < limit {
            do throws(MemoryMonitorError) {
                try monitor.register(start: base + UInt64(2 * registered * page), length: UInt64(page))
                registered += 1
            } catch {
                failure = error
                break
            }
        }
        let seconds = now() - started
        guard case .mapCountExhausted = failure else {
            say("no mapCountExhausted after \(registered) registrations (\(failure.map { "\($0)" } ?? "none"))")
            return false
        }
        say("mapCountExhausted after \(registered) registrations in \(String(Double(Int(seconds * 100)) / 100)) s: \(failure!)")
        for index in 0..<registered { try! monitor.unregister(start: base + UInt64(2 * index * page), length: UInt64(page)) }
        // Recovered: splitting a mapping works again.
        let split = munmap(memory + page, page)
        say("after unregistering: munmap inside the region \(split == 0 ? "works" : "fails (errno \(errno))"); refused unregisters \(monitor.statistics.failedUnregisters)")
        try! monitor.shutdown()
        // Not page 1: it is a hole now (someone else's mapping may be there).
        munmap(memory, page)
        munmap(memory + 2 * page, (pages - 2) * page)
        return split == 0
    }
}
