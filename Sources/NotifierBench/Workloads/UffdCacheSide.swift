#if canImport(Glibc)
import Glibc
#endif
import CCachePeers
import CNotifierCore
import IntervalNotifier
import Synchronization

/// The `notifier-uffd` side of the cache workload's munmap measurement: a
/// ``RegistrationCache`` whose address space a ``UserfaultfdMonitor`` drives.
/// One repetition maps a page, registers it with the monitor, caches it (get +
/// put), then times `munmap` until the region is invalid: the monitor read the
/// UNMAP message, the invalidation walked the tree, and the cache's callback
/// deregistered the region (its deregister callback sets a flag the timing
/// thread spins on).
final class UffdCacheSide: @unchecked Sendable {
    let space: AddressSpace
    let cache: RegistrationCache
    let monitor: UserfaultfdMonitor
    /// Set by the cache's deregister callback (see ``DeregisteredFlag``).
    let deregistered = DeregisteredFlag()

    /// The side, or nil when userfaultfd is unavailable here.
    static let shared: UffdCacheSide? = try? UffdCacheSide()

    private init() throws(MemoryMonitorError) {
        let space = AddressSpace(strategy: .rcu(.memb))
        self.space = space
        let flag = deregistered
        cache = RegistrationCache(addressSpace: space, limits: .init(maxRegions: 1024),
                                  register: { _, _ in 1 },
                                  deregister: { _, _, _ in flag.value.store(true, ordering: .releasing) })
        monitor = try UserfaultfdMonitor(addressSpace: space, options: .init(capacity: 1024))
    }

    /// Mean ns from `munmap` of a cached page to its region deregistered, over `count` pages.
    func measure(count: Int) -> Double {
        let page = CacheFixture.pageSize
        var total: UInt64 = 0
        for _ in 0..<count {
            let address = ccp_map(0, page)
            guard address != 0 else { fatalError("cache workload: mmap failed") }
            do {
                try monitor.register(start: address, length: page)
                let handle = try cache.get(address: address, length: page)
                cache.put(handle)
            } catch {
                fatalError("cache workload: caching a monitored page failed: \(error)")
            }
            // Relaxed: nothing else runs between the last measurement and this.
            deregistered.value.store(false, ordering: .relaxed)
            let begin = MonotonicClock.nanoseconds()
            _ = ccp_unmap(address, page)
            // Acquiring: pairs with the deregister callback's releasing store.
            var spins = 0
            while !deregistered.value.load(ordering: .acquiring) {
                // Spin briefly, then yield: the monitor may share this CPU.
                if spins < 1000 { cnp_cpu_relax() } else { sched_yield() }
                spins += 1
            }
            total += MonotonicClock.nanoseconds() - begin
            // The kernel dropped the registration with the mapping; the
            // monitor's count of it goes now.
            try? monitor.unregister(start: address, length: page)
        }
        return Double(total) / Double(count)
    }
}

/// The flag the deregister callback sets on the monitor's thread: releasing
/// store there, acquiring load by the timing thread, which then sees the
/// region's end.
final class DeregisteredFlag: Sendable {
    let value = Atomic<Bool>(false)
}
