import CNotifierCore

/// How readers find which entries or children of a node overlap a query: word
/// by word, leaving the loop at the first start past the query (branches the
/// CPU predicts and runs ahead of), or with vector compares of the whole node
/// at once (no branch per word, but each level waits for all of its node's
/// lines). Which wins depends on where the nodes are: see the TreeDesign
/// article, "Node scan".
///
/// The vector scan runs on x86-64 with AVX2 or AVX-512F (``isAvailable``); a
/// tree whose policy asks for it elsewhere scans word by word.
package enum IntervalTreeNodeScan {
    /// Whether this CPU runs the vector scan.
    package static let isAvailable: Bool = Int(cnp_node_scan_isa_in_use()) != CNP_NODE_SCAN_NONE

    /// The instruction set of the vector scan: "avx512", "avx2", "portable"
    /// (ThreadSanitizer builds: one atomic load per word) or "none".
    package static var instructionSet: String {
        switch Int(cnp_node_scan_isa_in_use()) {
        case CNP_NODE_SCAN_AVX512: "avx512"
        case CNP_NODE_SCAN_AVX2: "avx2"
        case CNP_NODE_SCAN_PORTABLE: "portable"
        default: "none"
        }
    }

    /// Estimated index bytes per entry: nodes three quarters full on average
    /// leaves plus inner nodes (40-47 bytes measured at fan-out 16).
    package static var estimatedBytesPerEntry: Int { IntervalTreeLayout.nodeBytes * 3 / (2 * IntervalTreeLayout.fanout) }

    /// The largest tree, in entries, that scans with vector compares by default:
    /// a tree whose nodes fit in a core's L2 cache (of 1 MiB where its size is
    /// unknown). While lookups find their nodes in cache, the word-by-word
    /// scan's mispredicted loop exits cost more than the vector scan's wait for
    /// whole nodes. Once most nodes come from L3 or memory, the word-by-word
    /// scan gains: the CPU follows its predicted branches into the next level
    /// and starts that level's misses early, where the vector scan must wait
    /// for each node before it knows which child to load. Measured on the
    /// 2-vCPU EPYC guest (TreeDesign, "Node scan").
    package static let defaultEntryLimit: Int = {
        let cacheBytes = Int(cnp_cache_bytes(2))
        return (cacheBytes > 0 ? cacheBytes : 1 << 20) / estimatedBytesPerEntry
    }()
}

/// Which node scan a tree's readers use (see ``IntervalTreeNodeScan``).
package struct IntervalTreeScanPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Readers use the vector scan while the tree holds at most this many
    /// entries. After it grows past the limit, they switch back only below
    /// seven eighths of it, so that a tree at the limit does not flip at every
    /// update (each flip is a store to the line every lookup reads).
    package var vectorEntryLimit: Int

    /// Vector scan up to ``IntervalTreeNodeScan/defaultEntryLimit`` entries.
    package static var automatic: Self { Self(vectorEntryLimit: IntervalTreeNodeScan.defaultEntryLimit) }
    /// Word by word always.
    package static var scalar: Self { Self(vectorEntryLimit: -1) }
    /// Vector scan always (where the CPU has it).
    package static var vector: Self { Self(vectorEntryLimit: .max) }
    /// Vector scan up to `limit` entries.
    package static func vector(upTo limit: Int) -> Self { Self(vectorEntryLimit: limit) }

    /// "word by word", "vector" or "vector up to N entries".
    package var description: String {
        switch vectorEntryLimit {
        case ..<0: "word by word"
        case .max: "vector"
        default: "vector up to \(vectorEntryLimit) entries"
        }
    }

    /// Whether readers of a tree of `count` entries, who used the vector scan
    /// (`vector`) so far, should use it from now on.
    func usesVectorScan(count: Int, vector: Bool) -> Bool {
        guard IntervalTreeNodeScan.isAvailable else { return false }
        if vector { return count <= vectorEntryLimit }
        return count <= vectorEntryLimit - vectorEntryLimit / 8
    }
}

extension UnsafeMutablePointer where Pointee == IntervalTreeNode {
    /// Bit `i` set for each entry (leaf) or child (inner node) `i` whose start
    /// is at or before `last` and whose `last` (max-last) is at or after
    /// `start`, with the vector scan: each `last` word read once, as by
    /// ``entryLast(_:)`` and ``childLast(_:)`` (see `cnp_node_overlap_mask`).
    /// An entry removed in place (last 0) is in the mask of a query that
    /// starts at 0. - Precondition: ``IntervalTreeNodeScan/isAvailable``.
    @inlinable @inline(__always)
    func overlapMask(start: UInt64, last: UInt64) -> UInt32 {
        cnp_node_overlap_mask(starts, lasts, IntervalTreeLayout.fanout, count, start, last)
    }
}
