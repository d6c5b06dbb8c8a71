#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier
import Synchronization

/// Creates and drops `spaces` address spaces with 8 subscriptions each, in
/// every lifetime pattern of the ownership model, and checks that every
/// engine object is freed (live registry, subscription and tree-slab counters
/// back to zero once the RCU callbacks queued until then have run), that
/// every `put` release callback ran exactly once, and that RSS grew by less
/// than 32 MiB over the measured run.
struct LeakCheck {
    let spaces: Int
    let strategy: RegistryStrategy

    /// The lifetime patterns.
    enum Pattern: String, CaseIterable {
        /// (a) insert, then drop the space and the subscriptions without calling anything.
        case dropWithSubscriptions = "a: drop with subscriptions"
        /// (b) remove every subscription, then drop.
        case removeAll = "b: remove all, then drop"
        /// (c) `release()`, then drop.
        case releaseThenDrop = "c: release, then drop"
        /// (d) `put` every subscription with a release callback, then drop.
        case putThenDrop = "d: put with release callbacks, then drop"
        /// (e) the subscriptions outlive their space: detached, their calls throw.
        case subscriptionsOutliveSpace = "e: subscriptions outlive the space"
    }

    static let subscriptionsPerSpace = 8

    /// Whether this process runs under AddressSanitizer, whose quarantine keeps
    /// freed memory resident: the RSS bound is not checked then (the counters
    /// and LeakSanitizer still are).
    static let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
    static let rssLimitBytes = 32 << 20

    func run() -> Bool {
        var passed = true
        for pattern in Pattern.allCases {
            // Warm-up: allocator arenas, slabs, the RCU threads.
            let warmUp = Tally()
            for _ in 0..<min(spaces, 2_000) { once(pattern, warmUp) }
            drain()
            let before = Self.residentBytes()
            let tally = Tally()
            for _ in 0..<spaces { once(pattern, tally) }
            drain()
            let growth = Self.residentBytes() - before
            let live = (registries: LiveObjectCounters.registries.load(ordering: .relaxed),
                        subscriptions: LiveObjectCounters.subscriptions.load(ordering: .relaxed),
                        slabs: LiveObjectCounters.treeSlabs.load(ordering: .relaxed))
            let expectedReleases = pattern == .putThenDrop ? spaces * Self.subscriptionsPerSpace : 0
            var problems: [String] = []
            if live != (0, 0, 0) { problems.append("live registries \(live.registries), subscriptions \(live.subscriptions), tree slabs \(live.slabs)") }
            if growth >= Self.rssLimitBytes && !Self.underAddressSanitizer { problems.append("RSS grew by \(growth >> 20) MiB (limit \(Self.rssLimitBytes >> 20) MiB)") }
            let releases = tally.releases.load(ordering: .relaxed)
            if releases != expectedReleases { problems.append("\(releases) release callbacks ran, expected \(expectedReleases)") }
            let misbehaved = tally.problems.load(ordering: .relaxed)
            if misbehaved > 0 { problems.append("\(misbehaved) calls on detached subscriptions did not throw addressSpaceReleased") }
            print("\(strategy.name) \(pattern.rawValue): \(spaces) spaces x \(Self.subscriptionsPerSpace) subscriptions, RSS +\(max(0, growth) >> 10) KiB"
                  + (Self.underAddressSanitizer ? " (not checked under AddressSanitizer), " : ", ")
                  + (problems.isEmpty ? "ok" : "FAILED: " + problems.joined(separator: "; ")))
            if !problems.isEmpty { passed = false }
        }
        return passed
    }

    /// Counts release callbacks and misbehaving detached subscriptions.
    final class Tally: Sendable {
        let releases = Atomic<Int>(0)
        let problems = Atomic<Int>(0)
    }

    /// One address space's life in `pattern`.
    func once(_ pattern: Pattern, _ tally: Tally) {
        var space: AddressSpace? = AddressSpace(strategy: strategy)
        var subscriptions: [IntervalSubscription] = []
        subscriptions.reserveCapacity(Self.subscriptionsPerSpace)
        for index in 0..<Self.subscriptionsPerSpace {
            subscriptions.append(try! space!.insert(start: UInt64(index) << 16, length: 0x1000) { sub, _, sequence in
                sub.setSequence(sequence)
                return true
            })
        }
        switch pattern {
        case .dropWithSubscriptions:
            break
        case .removeAll:
            for subscription in subscriptions { try! space!.remove(subscription) }
        case .releaseThenDrop:
            try! space!.release()
        case .putThenDrop:
            for subscription in subscriptions {
                try! space!.put(subscription) { _ in tally.releases.add(1, ordering: .relaxed) }
            }
        case .subscriptionsOutliveSpace:
            space = nil
            for subscription in subscriptions {
                let threw: Bool
                do { _ = try subscription.readBegin(); threw = false } catch { threw = error == .addressSpaceReleased }
                if !threw || !subscription.readRetry(1) || subscription.addressSpace != nil {
                    tally.problems.add(1, ordering: .relaxed)
                }
            }
        }
        space = nil
        subscriptions.removeAll()
    }

    /// Waits until the frees queued on the RCU callback threads have run
    /// (callbacks may queue more, such as a tree's final cleanup: a few rounds).
    func drain() {
        for _ in 0..<4 { LiveObjectCounters.waitForDeferredFrees() }
    }

    /// Resident set size, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in
            withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
        } }) == 2 else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
