import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier
import NotifierHarness

/// The registration cache's front index on its own: which pages name which
/// region, what removal and growth leave behind.
@Suite("Registration cache front index")
struct CacheFrontIndexTests {
    static let page: UInt64 = 4096

    /// Region `i` of `pages` pages at page `i * stride`, as (word, start, last).
    static func region(_ index: UInt64, pages: UInt64 = 1, stride: UInt64 = 1) -> (subscription: UInt, start: UInt64, last: UInt64) {
        let start = index * stride * page
        return (UInt(0x1000 + index * 64), start, start + pages * page - 1)
    }

    @Test("a region names each of its first 16 pages; a page outside it, or past the 16th, finds nothing of it")
    func regionPages() {
        let index = CacheFrontIndex(alignment: Self.page)
        let small = Self.region(1, pages: 3, stride: 100)
        let large = Self.region(2, pages: 40, stride: 100)
        // Sized for 1 000 regions (2 048 slots), so that these pages' slots do
        // not collide (the hash is fixed: this holds for every run).
        for region in [small, large] {
            index.insert(region.subscription, start: region.start, last: region.last, entries: 1000) { [small, large] }
        }
        #expect(index.table.slotCount == 2048)
        let table = index.table
        for offset in 0..<3 as Range<UInt64> { #expect(table.load(page: small.start / Self.page + offset) == small.subscription) }
        #expect(table.load(page: small.start / Self.page + 3) != small.subscription)
        for offset in 0..<16 as Range<UInt64> { #expect(table.load(page: large.start / Self.page + offset) == large.subscription) }
        for offset in 16..<40 as Range<UInt64> { #expect(table.load(page: large.start / Self.page + offset) != large.subscription) }
    }

    @Test("removal clears only the slots that still name the region")
    func removal() {
        let index = CacheFrontIndex(alignment: Self.page)
        let first = Self.region(7), second = (subscription: UInt(0xBEEF0), start: first.start, last: first.last)
        index.insert(first.subscription, start: first.start, last: first.last, entries: 1) { [first] }
        // A second region over the same page takes the slot; removing the first leaves it.
        index.insert(second.subscription, start: second.start, last: second.last, entries: 2) { [first, second] }
        index.remove(first.subscription, start: first.start, last: first.last)
        #expect(index.table.load(page: first.start / Self.page) == second.subscription)
        index.remove(second.subscription, start: second.start, last: second.last)
        #expect(index.table.load(page: first.start / Self.page) == 0)
    }

    @Test("in a cache under gets, evictions and invalidations, every slot names a region on the books, and its regions hit again")
    func cacheKeepsItsIndexOnTheBooks() throws {
        let registrar = FakeRegistrar()
        let space = AddressSpace()
        let cache = registrar.makeCache(space, limits: .init(maxRegions: 300))
        var rng = Xorshift64(seed: 0xF_0E1D_0001)
        func checkIndex(_ step: Int) {
            cache.mutex.withLock {
                let onBooks = Set(cache.books.pointee.ring.map { $0.pointee.subscriptionWord })
                var stale = 0
                cache.frontIndex.table.forEachEntry { if !onBooks.contains($0) { stale += 1 } }
                #expect(stale == 0, "step \(step): \(stale) slots name regions no longer on the books")
                // The count the table's growth follows: every page entered by a region on the books.
                let entered = cache.books.pointee.ring.reduce(0) {
                    $0 + cache.frontIndex.pagesEntered(start: $1.pointee.start, last: $1.pointee.last)
                }
                #expect(cache.books.pointee.frontIndexEntries == entered, "step \(step)")
            }
        }
        for step in 0..<20_000 {
            // 1 to 3 pages anywhere in 1 000 pages: overlapping regions, evictions past 300.
            let address = rng.below(1000) * Self.page + rng.below(Self.page)
            let handle = try cache.get(address: address, length: 1 + rng.below(2 * Self.page))
            cache.put(handle)
            if step % 97 == 0 {
                let start = rng.below(1000) * Self.page
                try space.invalidateRangeStart(range(start, start + 8 * Self.page, blockable: true))
                try space.invalidateRangeEnd(range(start, start + 8 * Self.page, blockable: true))
            }
            if step % 1000 == 0 { checkIndex(step) }
        }
        checkIndex(-1)
        // Every page of a region that is valid and on the books hits again: a
        // second get of each region's first page registers nothing.
        let misses = cache.statistics.misses
        let starts = cache.mutex.withLock { cache.books.pointee.ring.map { $0.pointee.start } }
        for start in starts.prefix(100) { cache.put(try cache.get(address: start, length: 1)) }
        #expect(cache.statistics.misses == misses)
        cache.purge()
        #expect(cache.mutex.withLock { cache.books.pointee.frontIndexEntries } == 0)
    }

    @Test("under every strategy, gets racing evictions and invalidations never hold a deregistered registration",
          .timeLimit(.minutes(2)), arguments: RegistryStrategy.allCases)
    func hitsRacingRetirement(strategy: RegistryStrategy) throws {
        // Two getters over 64 pages with room for 12 regions: most gets miss
        // and evict, so subscriptions named by front index slots are retired,
        // put and freed all the time while the other getter reads slots (a
        // slot read after its subscription was freed is a use after free, which
        // AddressSanitizer reports in CI's run of this test).
        let space = AddressSpace(strategy: strategy)
        let registrar = FakeRegistrar()
        let cache = registrar.makeCache(space, limits: .init(maxRegions: 12))
        let stop = Atomic<Bool>(false)
        let gets = Atomic<Int>(0)
        let violations = TestMutex<[String]>([])
        let getters = (0..<2).map { seed in
            JoinableThread {
                var rng = Xorshift64(seed: UInt64(seed) &+ 0x5EED)
                while !stop.load(ordering: .relaxed) {
                    let page = rng.below(64)
                    guard let handle = try? cache.get(address: page * Self.page + rng.below(Self.page), length: 1) else { continue }
                    let id = handle.registration
                    // Held: neither deregistered nor another page's registration.
                    let (region, deregistered) = registrar.books.withLock { ($0.regions[id], $0.deregistered[id] ?? 0) }
                    if deregistered != 0 || region?.start != page * Self.page {
                        violations.withLock { $0.append("a get of page \(page) holds registration \(id) of \(String(describing: region)), deregistered \(deregistered) time(s)") }
                    }
                    cache.put(handle)
                    gets.add(1, ordering: .relaxed)
                }
            }
        }
        let invalidator = JoinableThread {
            var rng = Xorshift64(seed: 0xDEAD)
            while !stop.load(ordering: .relaxed) {
                let first = rng.below(64)
                let covered = range(first * Self.page, (first + 1 + rng.below(4)) * Self.page, blockable: rng.chance(50))
                guard (try? space.invalidateRangeStart(covered)) != nil else { continue }
                try? space.invalidateRangeEnd(covered)
                usleep(200)
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while gets.load(ordering: .relaxed) < 20_000 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        stop.store(true, ordering: .relaxed)
        #expect(getters.allSatisfy { $0.join() } && invalidator.join())
        let found = violations.withLock { $0 }
        #expect(found.count == 0, "\(found.count) violations, the first: \(found.prefix(3))")
        #expect(gets.load(ordering: .relaxed) >= 1000, "too few gets to mean anything: \(gets.load(ordering: .relaxed))")
        #expect(cache.statistics.evictions > 100, "evictions: \(cache.statistics.evictions)")
        cache.purge()
        try space.invalidateRangeStart(range(0, 64 * Self.page))
        try space.invalidateRangeEnd(range(0, 64 * Self.page))
        cache.purge()
        #expect(registrar.wrongDeregistrations.isEmpty, "\(registrar.wrongDeregistrations.prefix(5))")
    }

    @Test("a region enters at most 16 pages, and the growth follows the pages entered")
    func growthFollowsPages() {
        let index = CacheFrontIndex(alignment: Self.page)
        #expect(index.pagesEntered(start: 0, last: Self.page - 1) == 1)
        #expect(index.pagesEntered(start: Self.page, last: 3 * Self.page - 1) == 2)
        #expect(index.pagesEntered(start: 0, last: 40 * Self.page - 1) == 16)
        #expect(index.pagesEntered(start: 0, last: UInt64.max) == 16)
        // 100 regions of 16 pages: 1 600 entries, so at least 3 200 slots.
        var regions: [(subscription: UInt, start: UInt64, last: UInt64)] = []
        var entries = 0
        for number in 0..<100 as Range<UInt64> {
            let region = Self.region(number, pages: 16, stride: 32)
            regions.append(region)
            entries += index.pagesEntered(start: region.start, last: region.last)
            index.insert(region.subscription, start: region.start, last: region.last, entries: entries) { regions }
        }
        #expect(index.table.slotCount >= 3200)
    }

    @Test("growth keeps every region, and empties the table it replaces")
    func growth() {
        let index = CacheFrontIndex(alignment: Self.page)
        let first = index.table
        #expect(first.slotCount == CacheFrontIndex.initialSlotCount)
        var regions: [(subscription: UInt, start: UInt64, last: UInt64)] = []
        for number in 0..<5000 as Range<UInt64> {
            let region = Self.region(number, stride: 3)
            regions.append(region)
            index.insert(region.subscription, start: region.start, last: region.last, entries: regions.count) { regions }
        }
        let table = index.table
        #expect(table.slotCount >= 2 * regions.count)
        #expect(table.previous != 0)
        // Direct-mapped: a later region may take an earlier one's slot, but
        // at most half the slots are used, so most regions keep theirs.
        let kept = regions.filter { table.load(page: $0.start / Self.page) == $0.subscription }.count
        #expect(kept > regions.count * 3 / 4, "\(kept) of \(regions.count) regions in the table")
        // Every slot of every replaced table is empty.
        var address = table.previous
        var replaced = 0
        while address != 0 {
            let old = CacheFrontIndexTable(address: address)
            for region in regions { #expect(old.load(page: region.start / Self.page) == 0) }
            address = old.previous
            replaced += 1
        }
        #expect(replaced >= 1 && first.address != table.address)
    }
}
