import CNotifierHarness

/// The primary (CPU) page table of the simulated address space: one atomic
/// entry per page holding a generation (0 = unmapped), plus per-page coverage
/// counters that say whether an invalidation is open over the page.
///
/// Placed with libnuma on one node (or interleaved when threads span nodes).
public final class SimulatedPageTable: @unchecked Sendable {
    /// Number of simulated pages (entries in each of the three per-page arrays).
    public let pageCount: Int
    /// Primary entries.
    let primary: UnsafeMutablePointer<UInt64>
    /// Invalidations open over each page.
    let coverage: UnsafeMutablePointer<UInt64>
    /// Invalidations ever opened over each page (a page's "cover version").
    let coverVersion: UnsafeMutablePointer<UInt64>
    private let bytes: Int
    private let memory: UnsafeMutableRawPointer
    /// Where the memory lives, for the start-up report.
    public let placement: String

    /// Allocates the table on `node` (nil: interleaved over all nodes).
    public init(pages: Int, node: Int?) {
        pageCount = pages
        let size = max(4096, pages * 3 * MemoryLayout<UInt64>.stride)
        bytes = size
        let raw = node.map { cnp_numa_alloc_onnode(size, Int32($0)) } ?? cnp_numa_alloc_interleaved(size)
        precondition(raw != nil, "cannot allocate the simulated page table (\(bytes) bytes)")
        memory = raw!
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: size)   // first touch
        primary = memory.bindMemory(to: UInt64.self, capacity: pages * 3)
        coverage = primary + pages
        coverVersion = primary + 2 * pages
        let actual = cnp_numa_node_of_address(memory)
        placement = "\(size) bytes \(node.map { "on node \($0)" } ?? "interleaved"), first page on node \(actual)"
        for page in 0..<pages { cnp_atomic_store_u64(primary + page, UInt64(page + 1)) }
    }

    deinit { cnp_numa_free(memory, bytes) }

    @inline(__always) func read(_ page: Int) -> UInt64 { cnp_atomic_load_u64_seq_cst(primary + page) }
    @inline(__always) func write(_ page: Int, _ value: UInt64) { cnp_atomic_store_u64(primary + page, value) }

    /// Marks pages as covered by an open invalidation (before its start).
    func cover(_ pages: ClosedRange<Int>) {
        for page in pages {
            _ = cnp_atomic_add_u64(coverVersion + page, 1)
            _ = cnp_atomic_add_u64(coverage + page, 1)
        }
    }

    /// Ends the coverage (after the invalidation's end).
    func uncover(_ pages: ClosedRange<Int>) {
        for page in pages { _ = cnp_atomic_add_u64(coverage + page, UInt64.max) }
    }

    @inline(__always) func coverState(_ page: Int) -> (open: UInt64, version: UInt64) {
        (cnp_atomic_load_u64_seq_cst(coverage + page), cnp_atomic_load_u64_seq_cst(coverVersion + page))
    }
}
