// A device mirror: per-page entries mirror a primary "page table"; invalidations drop them.
import Glibc
import IntervalNotifier
import Synchronization

final class Device: @unchecked Sendable {
    static let pageSize: UInt64 = 4096, pageCount = 64, rounds = 2_000
    let space = AddressSpace()
    let primary = Atomic<UInt64>(1)                                 // the CPU page table
    let mirror = Mutex([UInt64?](repeating: nil, count: pageCount)) // user lock + device entries
    var subscriptions: [IntervalSubscription] = []
    init() throws {  // four subscriptions of 16 pages each
        for index in 0..<4 {
            subscriptions.append(try space.insert(start: UInt64(index * 16) * Self.pageSize, length: 16 * Self.pageSize) {
                [unowned self] sub, range, sequence in
                let drop = { (pages: inout [UInt64?]) in
                    sub.setSequence(sequence)  // under the user lock, as the protocol requires
                    for page in Int(max(range.start, sub.start) / Self.pageSize)...Int(min(range.last, sub.last) / Self.pageSize) { pages[page] = nil }
                }
                if range.isBlockable { mirror.withLock { drop(&$0) }; return true }
                return mirror.withLockIfAvailable { drop(&$0) } != nil
            })
        }
    }
    // Fault: read the primary, install it unless an invalidation collided; returns the retries.
    func fault(_ page: Int) throws -> Int {
        let sub = subscriptions[page / 16]
        var retries = 0
        while true {
            let sequence = try sub.readBegin(), value = primary.load(ordering: .acquiring)
            if mirror.withLock({ pages in sub.readRetry(sequence) ? false : { pages[page] = value; return true }() }) { return retries }
            retries += 1
        }
    }
    // The invalidating thread: change the primary inside invalidation windows.
    func invalidate() throws {
        let range = try InvalidationRange(start: 0, end: UInt64(Self.pageCount) * Self.pageSize, event: .unmap)
        for _ in 0..<Self.rounds { try space.invalidateRangeStart(range); primary.add(1, ordering: .releasing); try space.invalidateRangeEnd(range) }
    }
}

@main enum DeviceMirror {
    static func main() throws {
        let device = try Device()
        var thread = pthread_t(), faults = 0, retries = 0
        pthread_create(&thread, nil, { @Sendable context in  // @Sendable: not main-actor code
            do { try Unmanaged<Device>.fromOpaque(context!).takeRetainedValue().invalidate() } catch { fatalError("\(error)") }
            return nil
        }, Unmanaged.passRetained(device).toOpaque())
        while device.primary.load(ordering: .acquiring) <= UInt64(Device.rounds) {  // fault while it invalidates
            retries += try device.fault(faults % Device.pageCount); faults += 1
        }
        pthread_join(thread, nil)
        let final = device.primary.load(ordering: .acquiring), stale = device.mirror.withLock { $0.filter { $0 != nil && $0 != final }.count }
        for sub in device.subscriptions { try device.space.remove(sub) }
        print("device-mirror: \(faults) faults, \(retries) retries, \(Device.rounds) invalidations, \(stale) stale entries")
        if stale != 0 || final != UInt64(Device.rounds) + 1 || device.space.subscriptionCount != 0 { exit(1) }
    }
}
