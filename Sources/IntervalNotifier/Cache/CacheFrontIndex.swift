#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore
import Synchronization

/// The registration cache's front index: a direct-mapped table from a page
/// (an `alignment`-sized block of addresses) to the subscription of a region
/// that covers it, in front of the engine's tree, as UCX's page table is in
/// front of its regions.
///
/// A hit at a million regions through the tree waits for one miss per tree
/// level below what the cache holds, then for the region's line; through this
/// table it waits for one slot and that line. The table is only a hint: a slot
/// may be empty, may hold a region that does not cover the whole request, or
/// one that an invalidation has marked; the hit checks the region's bounds and
/// swaps its state word exactly as after a tree lookup, and goes to the tree
/// when anything does not match. So what the table holds never decides
/// correctness, only where a hit looks first.
///
/// ## Writers and lifetime
/// Only the cache's miss path writes it, under the cache's mutex: a region is
/// entered once it is published, for each of its first
/// ``maximumPagesIndexed`` pages, and taken out in `retire` before its
/// subscription is put. A hit reads a slot inside the engine's lookup section
/// (`enterLookup`), the same section a tree lookup uses; the put comes after
/// the slot was cleared, and the engine frees a put subscription only once
/// every lookup section that could have seen it has ended (a grace period, or
/// the registry lock that the put takes), so a subscription read from a slot
/// is alive until the hit's section ends, as one read from the tree is.
///
/// ## Growth
/// The table starts small and doubles when the pages entered (a region's
/// first ``maximumPagesIndexed`` pages each) pass half its slots (up to
/// ``maximumSlotCount``). A table that is replaced is emptied
/// first and kept, empty, until the cache is destroyed: a hit that loaded its
/// address before the switch finds nothing there and falls back to the tree,
/// and no slot of an old table can name a subscription that is put later.
struct CacheFrontIndex: ~Copyable {
    /// Pages of one region entered in the table, at most; a get elsewhere in a
    /// larger region goes through the tree.
    static let maximumPagesIndexed: UInt64 = 16
    /// Slots of the first table.
    static let initialSlotCount = 64
    /// Slots of the largest table (8 bytes each: 32 MiB).
    static let maximumSlotCount = 1 << 22

    /// The current table (``CacheFrontIndexTable``'s address).
    let current: Atomic<UInt>
    /// log2 of the cache's alignment: a page is `address >> pageShift`.
    let pageShift: UInt64

    init(alignment: UInt64) {
        pageShift = UInt64(alignment.trailingZeroBitCount)
        current = Atomic(CacheFrontIndexTable.allocate(slotCount: Self.initialSlotCount).address)
    }

    deinit {
        // Relaxed: the cache is being destroyed; no hit runs.
        var address = current.load(ordering: .relaxed)
        while address != 0 {
            let table = CacheFrontIndexTable(address: address)
            address = table.previous
            table.deallocate()
        }
    }

    // MARK: Reading (any thread)

    /// The current table. A hit may load it before its lookup section: a
    /// replaced table stays allocated (and empty) until the index is destroyed.
    @inline(__always)
    var table: CacheFrontIndexTable {
        // Acquiring: the table's mask and its slots were written before the
        // releasing store that published it.
        CacheFrontIndexTable(address: current.load(ordering: .acquiring))
    }

    // MARK: Writing (cache mutex held)

    /// Enters `subscription`'s region `[start, last]` (published and valid)
    /// into the slots of its first pages, replacing what they held; grows the
    /// table first if `entries` (the pages of every region entered, this one's
    /// included; see ``pagesEntered(start:last:)``) passes half of its slots.
    func insert(_ subscription: UInt, start: UInt64, last: UInt64, entries: Int,
                allRegions: () -> [(subscription: UInt, start: UInt64, last: UInt64)]) {
        // Relaxed: only the mutex holder stores it.
        var table = CacheFrontIndexTable(address: current.load(ordering: .relaxed))
        if entries > table.slotCount / 2 && table.slotCount < Self.maximumSlotCount {
            table = grow(from: table, entries: entries, allRegions())
        }
        forEachPage(start: start, last: last) { table.store(subscription, page: $0) }
    }

    /// Takes `subscription`'s region `[start, last]` out of the slots that
    /// still name it. Before its subscription is put (see "Writers and lifetime").
    func remove(_ subscription: UInt, start: UInt64, last: UInt64) {
        // Relaxed: only the mutex holder stores it.
        let table = CacheFrontIndexTable(address: current.load(ordering: .relaxed))
        forEachPage(start: start, last: last) { page in
            if table.load(page: page) == subscription { table.store(0, page: page) }
        }
    }

    /// The pages of `[start, last]` that ``insert(_:start:last:entries:allRegions:)`` enters.
    func pagesEntered(start: UInt64, last: UInt64) -> Int {
        Int(truncatingIfNeeded: min((last >> pageShift) &- (start >> pageShift), Self.maximumPagesIndexed - 1) &+ 1)
    }

    @inline(__always)
    private func forEachPage(start: UInt64, last: UInt64, _ body: (UInt64) -> Void) {
        let first = start >> pageShift
        for offset in 0..<pagesEntered(start: start, last: last) { body(first &+ UInt64(offset)) }
    }

    /// Replaces `table` by one with twice `entries` slots or more, filled
    /// from `regions`; empties the old one and links it from the new one.
    private func grow(from table: CacheFrontIndexTable, entries count: Int,
                      _ regions: [(subscription: UInt, start: UInt64, last: UInt64)]) -> CacheFrontIndexTable {
        var slots = table.slotCount
        while slots / 2 < count && slots < Self.maximumSlotCount { slots *= 2 }
        let grown = CacheFrontIndexTable.allocate(slotCount: slots, previous: table.address)
        for region in regions {
            forEachPage(start: region.start, last: region.last) { grown.store(region.subscription, page: $0) }
        }
        // Releasing: a hit that loads the new address (acquiring) sees its
        // mask and every slot written above.
        current.store(grown.address, ordering: .releasing)
        table.clear()
        return grown
    }
}

/// One table of the front index: a word holding the slot mask, one holding the
/// address of the table it replaced (0 for the first), then the slots, each a
/// subscription's address or 0. Plain memory from `calloc`
/// (zeroed pages of a large table are only made resident when written);
/// slots are read and written with single atomic word accesses.
struct CacheFrontIndexTable {
    /// The allocation's address.
    let address: UInt

    init(address: UInt) { self.address = address }

    private var words: UnsafeMutablePointer<UInt64> { UnsafeMutablePointer(bitPattern: address).unsafelyUnwrapped }

    /// Slots in the table (a power of two).
    var slotCount: Int { Int(truncatingIfNeeded: words.pointee) + 1 }

    /// The table this one replaced (0 for the first).
    var previous: UInt { UInt(truncatingIfNeeded: words[1]) }

    /// A table of `slotCount` empty slots (a power of two) that replaces `previous`.
    static func allocate(slotCount: Int, previous: UInt = 0) -> CacheFrontIndexTable {
        guard let memory = calloc(slotCount + headerWords, MemoryLayout<UInt64>.stride) else {
            fatalError("RegistrationCache: out of memory for a front index of \(slotCount) slots")
        }
        let words = memory.assumingMemoryBound(to: UInt64.self)
        words[0] = UInt64(slotCount - 1)
        words[1] = UInt64(previous)
        return CacheFrontIndexTable(address: UInt(bitPattern: memory))
    }

    /// Words before the first slot: the mask and the previous table.
    private static let headerWords = 2

    /// Frees the table (no hit may read it any more).
    func deallocate() { free(UnsafeMutableRawPointer(bitPattern: address)) }

    /// The slot of `page`: a multiplicative hash, so that neighbouring pages
    /// land in different slots and lines.
    @inline(__always)
    private func slot(_ page: UInt64) -> UnsafeMutablePointer<UInt64> {
        // Plain: the mask is written before the table is published and never again.
        let mask = words.pointee
        let hashed = (page &* 0x9E37_79B9_7F4A_7C15) >> 20
        return words + Self.headerWords + Int(truncatingIfNeeded: hashed & mask)
    }

    /// The subscription word in the slot of `page`, or 0. Inside a lookup
    /// section: the subscription stays alive until the section ends.
    @inline(__always)
    func load(page: UInt64) -> UInt {
        // Acquiring: the subscription's words the hit reads next (owner,
        // bounds) were written before the releasing store of this slot.
        UInt(truncatingIfNeeded: cnp_load_acquire_u64(slot(page)))
    }

    /// Stores `subscription` (or 0) into the slot of `page` (mutex held).
    func store(_ subscription: UInt, page: UInt64) {
        // Releasing: a hit that loads the entry sees the subscription's owner
        // and bounds (a clearing store needs no order of its own: the put that
        // follows it orders it, through the registry lock or a grace period).
        cnp_store_release_u64(slot(page), UInt64(subscription))
    }

    /// Calls `body` with every non-empty slot's subscription word (mutex held;
    /// for checks).
    func forEachEntry(_ body: (UInt) -> Void) {
        for index in 0..<slotCount {
            // Relaxed: the caller holds the mutex, which orders every store.
            let word = cnp_load_relaxed_u64(words + Self.headerWords + index)
            if word != 0 { body(UInt(truncatingIfNeeded: word)) }
        }
    }

    /// Empties every slot (mutex held).
    func clear() {
        // Relaxed: see `store`.
        for index in 0..<slotCount { cnp_store_relaxed_u64(words + Self.headerWords + index, 0) }
    }
}

extension Unmanaged where Instance == IntervalSubscription {
    /// The subscription's address as a word (what a front index slot holds).
    var toOpaqueWord: UInt { UInt(bitPattern: toOpaque()) }
}
