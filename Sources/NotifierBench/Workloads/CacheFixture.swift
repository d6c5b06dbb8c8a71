#if canImport(Glibc)
import Glibc
#endif
import CCachePeers
import IntervalNotifier
import NotifierHarness
import Synchronization

/// Which registration cache a side of the `cache` workload measures.
enum CachePeer: String, Sendable, CaseIterable {
    /// ``RegistrationCache`` on an rcu address space (explicit invalidations).
    case notifier
    /// UCX's `ucs_rcache` (UCM's munmap hooks invalidate it).
    case ucx
}

/// One cache holding N regions of one 4 KiB page each, registered in shuffled
/// order, over a mapping of its own (`MAP_NORESERVE`, untouched: hits need no
/// memory behind the pages; the munmap measurement maps the pages it unmaps).
/// Built once per peer and size and kept for the process (the sweep and the
/// paired repetitions share it).
final class CacheFixture: @unchecked Sendable {
    static let pageSize: UInt64 = 4096
    let peer: CachePeer
    let size: Int
    /// Page addresses, ascending (`pages[i] = base + i * 4096`).
    let pages: UnsafeMutablePointer<UInt64>
    let base: UInt64
    /// Pages past the cached ones, for misses (`missPages` of them).
    let missBase: UInt64
    static let missPages = 4096
    private(set) var nextMiss = 0
    /// Ours.
    let space: AddressSpace?
    let cache: RegistrationCache?
    /// UCX's.
    let rcache: UnsafeMutableRawPointer?

    private init(peer: CachePeer, size: Int) {
        self.peer = peer
        self.size = size
        let bytes = Int(Self.pageSize) * (size + Self.missPages)
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { fatalError("cache workload: mmap of \(bytes) bytes failed") }
        base = UInt64(UInt(bitPattern: mapped))
        missBase = base + UInt64(size) * Self.pageSize
        pages = .allocate(capacity: size)
        for index in 0..<size { pages[index] = base + UInt64(index) * Self.pageSize }
        switch peer {
        case .notifier:
            let space = AddressSpace(strategy: .rcu(.memb))
            self.space = space
            self.cache = RegistrationCache(addressSpace: space, limits: .init(maxRegions: size + Self.missPages + 16),
                                           register: { start, _ in UInt(start) }, deregister: { _, _, _ in })
            self.rcache = nil
        case .ucx:
            self.space = nil
            self.cache = nil
            self.rcache = ccp_ucx_rcache_create()
            if rcache == nil { fatalError("cache workload: ucs_rcache_create failed") }
        }
        // Registration in shuffled order (Fisher-Yates with a fixed seed).
        var order = Array(0..<size)
        var rng = Xorshift64(seed: BenchSeed.workloadL)
        for index in stride(from: size - 1, to: 0, by: -1) {
            order.swapAt(index, benchRandom(&rng, below: index + 1))
        }
        for index in order { hitOnce(pages[index]) }
    }

    /// One get + put (registers on a miss).
    @inline(__always)
    func hitOnce(_ address: UInt64) {
        switch peer {
        case .notifier:
            let handle = try! cache!.get(address: address, length: Self.pageSize)
            cache!.put(handle)
        case .ucx:
            var region: UnsafeMutableRawPointer?
            guard ccp_ucx_get(rcache, address, Self.pageSize, &region) == 0 else { fatalError("ucs_rcache_get failed") }
            ccp_ucx_put(rcache, region)
        }
    }

    /// The next page that no cache holds (cycles through `missPages`; each
    /// round's pages are invalidated before reuse: see ``forgetMisses()``).
    func takeMissPage() -> UInt64 {
        defer { nextMiss = (nextMiss + 1) % Self.missPages }
        return missBase + UInt64(nextMiss) * Self.pageSize
    }

    /// Drops the miss pages from the cache: an invalidation of their range (ours:
    /// explicit; UCX: an munmap, seen by its hooks, then the mapping back).
    func forgetMisses() {
        let length = UInt64(Self.missPages) * Self.pageSize
        switch peer {
        case .notifier:
            let range = try! InvalidationRange(start: missBase, end: missBase + length)
            try! space!.invalidateRangeStart(range)
            try! space!.invalidateRangeEnd(range)
        case .ucx:
            _ = ccp_unmap(missBase, length)
            let again = mmap(UnsafeMutableRawPointer(bitPattern: UInt(missBase)), Int(length), PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0)
            if again == MAP_FAILED { fatalError("cache workload: remapping the miss pages failed") }
        }
    }

    // MARK: The store

    private static let store = Mutex<[String: CacheFixture]>([:])

    /// The fixture of `peer` at `size`, built on first use.
    static func shared(_ peer: CachePeer, size: Int) -> CacheFixture {
        let key = "\(peer.rawValue)/\(size)"
        if let fixture = store.withLock({ $0[key] }) { return fixture }
        let fixture = CacheFixture(peer: peer, size: size)
        store.withLock { $0[key] = fixture }
        return fixture
    }

    /// Whether UCX can be used in this process, or why not.
    static let ucxUnavailableReason: String? = {
        var buffer = [CChar](repeating: 0, count: 512)
        if ccp_ucx_open(&buffer, buffer.count) == 1 { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
