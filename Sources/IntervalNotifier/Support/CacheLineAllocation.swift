/// Allocation on cache lines of its own, for memory that one side writes often
/// while others read their own memory nearby.
///
/// A small `allocate(capacity:)` block shares its 64-byte line with whatever
/// `malloc` put next to it. When that is a word every lookup reads (a tree's
/// root pointer, an address space's fields) and the block is written on every
/// update (an entry count, a lock word, the writer's state), each update takes
/// the line away from every reader: measured, a tree's entry count next to its
/// root made lookups at 1 000 subscriptions with a concurrent writer about a
/// fifth slower. The kernel puts such fields `____cacheline_aligned_in_smp`.
enum CacheLineAllocation {
    /// Bytes per cache line on the machines this targets (x86-64, arm64).
    static let lineBytes = 64

    /// Uninitialised memory for one `T`, starting on a cache line and filling
    /// whole lines; release it with the pointer's `deallocate()`.
    static func allocate<T: ~Copyable>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        let bytes = (MemoryLayout<T>.stride + lineBytes - 1) / lineBytes * lineBytes
        return UnsafeMutableRawPointer.allocate(byteCount: max(bytes, lineBytes),
                                                alignment: max(lineBytes, MemoryLayout<T>.alignment))
            .bindMemory(to: T.self, capacity: 1)
    }
}
