import IntervalNotifier
import Synchronization
import Testing

// The README's example, compiled and run here so that it stays true.
// BEGIN README EXAMPLE
/// A device mirror of one range: `pages[i]` mirrors the primary entry of page i.
final class Mirror: @unchecked Sendable {
    let lock = PThreadMutex()          // the "user lock" of the protocol
    var pages: [UInt64?]               // protected by `lock`
    let base: UInt64, pageSize: UInt64 = 4096
    var subscription: IntervalSubscription!

    init(space: AddressSpace, base: UInt64, pageCount: Int) throws {
        self.base = base
        pages = Array(repeating: nil, count: pageCount)
        subscription = try space.insert(start: base, length: UInt64(pageCount) * pageSize) {
            [unowned self] sub, range, sequence in
            // Invalidate side: under the user lock, record the sequence, then drop
            // the mirrored entries in the range.
            if range.isBlockable { lock.lock() } else if !lock.tryLock() { return false }
            sub.setSequence(sequence)
            let first = max(range.start, base), last = min(range.last, sub.last)
            if first <= last {
                for page in Int((first - base) / pageSize)...Int((last - base) / pageSize) { pages[page] = nil }
            }
            lock.unlock()
            return true
        }
    }

    /// Fault side: snapshot the primary, then install it unless an invalidation
    /// collided; `primary` reads the CPU page table.
    func fault(page: Int, primary: (Int) -> UInt64) throws {
        while true {
            let sequence = try subscription.readBegin()
            let value = primary(page)                      // may race with invalidations
            lock.lock()
            if subscription.readRetry(sequence) { lock.unlock(); continue }
            pages[page] = value                            // safe: no invalidation since readBegin
            lock.unlock()
            return
        }
    }
}
// END README EXAMPLE

@Suite("README example")
struct ReadmeExampleTests {
    @Test("the example mirrors, and an invalidation clears the mirror")
    func example() throws {
        let space = AddressSpace()
        let mirror = try Mirror(space: space, base: 0x10000, pageCount: 4)
        try mirror.fault(page: 1) { UInt64($0) * 10 }
        #expect(mirror.lock.withLock { mirror.pages[1] } == 10)
        let range = try InvalidationRange(start: 0x11000, end: 0x12000, event: .unmap)
        try space.invalidateRangeStart(range)
        #expect(mirror.lock.withLock { mirror.pages[1] } == nil)
        try space.invalidateRangeEnd(range)
        try space.remove(mirror.subscription)
    }
}
