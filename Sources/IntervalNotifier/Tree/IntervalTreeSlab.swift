import CNotifierCore

/// One block of node memory of an interval tree, freed when the tree is destroyed.
///
/// A tree's first slabs come from `malloc` and double from 4 nodes up to 256
/// (114 KiB), so that a small tree costs little. Once its nodes fill 2 MiB, each
/// new slab is a 2 MiB region of its own, mapped at a 2 MiB boundary and advised
/// `MADV_HUGEPAGE`: the nodes of a large tree then lie together, on huge pages
/// where the kernel grants them, instead of among whatever else the process
/// allocates meanwhile (an address space's subscriptions, say), and a lookup
/// that misses in the caches misses less in the TLB (see the TreeDesign article,
/// "Layout", for the measurements).
struct IntervalTreeSlab {
    /// The first node's address (64-byte aligned).
    let address: UnsafeMutableRawPointer
    /// Bytes of the block.
    let bytes: Int
    /// Whether the block is a mapped region (freed with `munmap`) rather than a `malloc` block.
    let isMapped: Bool

    /// Bytes of a mapped slab: one huge page.
    static var mappedBytes: Int { 2 << 20 }

    /// A slab of `nodes` nodes from `malloc`.
    static func allocate(nodes: Int) -> IntervalTreeSlab {
        let bytes = nodes * IntervalTreeLayout.nodeBytes
        return IntervalTreeSlab(address: .allocate(byteCount: bytes, alignment: 64), bytes: bytes, isMapped: false)
    }

    /// A mapped 2 MiB slab, or nil if the system refused the mapping.
    static func map() -> IntervalTreeSlab? {
        guard let region = cnp_map_huge_region(mappedBytes) else { return nil }
        return IntervalTreeSlab(address: region, bytes: mappedBytes, isMapped: true)
    }

    /// Nodes the slab holds.
    var nodes: Int { bytes / IntervalTreeLayout.nodeBytes }

    /// Gives the block back to the system.
    func free() {
        guard isMapped else { return address.deallocate() }
        if cnp_unmap_region(address, bytes) != 0 {
            fatalError("interval tree: munmap of a 2 MiB slab at \(address) failed")
        }
    }
}
