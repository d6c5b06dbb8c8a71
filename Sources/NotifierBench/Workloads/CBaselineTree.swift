import CTreeBaseline

/// The C baseline of the `tree` workload: a kernel-style intrusive augmented
/// red-black interval tree (`CTreeBaseline`, compiled by SwiftPM at -O2 in
/// release) over a fixed array of `capacity` nodes, slot `i` being node `i`.
/// Every C call of the benchmark goes through here. Updates are in place and
/// allocate nothing; there is no locking (one thread uses it).
final class CBaselineTree: @unchecked Sendable {
    /// The nodes; slot `i` holds the interval the caller put there.
    let nodes: UnsafeMutablePointer<ctb_node>
    /// How many slots.
    let capacity: Int
    /// The tree's root and leftmost node.
    private let root: UnsafeMutablePointer<ctb_root>

    /// Bytes of one node: the tree's whole index memory per interval (intrusive).
    static let nodeBytes = MemoryLayout<ctb_node>.stride

    /// An empty tree with room for `capacity` intervals (the node array is
    /// allocated now; its pages are touched as slots are inserted).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        nodes = .allocate(capacity: self.capacity)
        root = .allocate(capacity: 1)
        root.initialize(to: ctb_root_empty())
    }

    deinit {
        nodes.deallocate()
        root.deallocate()
    }

    /// Puts `[start, last]` into slot `index` and inserts it. - Precondition: the slot is not in the tree.
    @inline(__always)
    func insert(slot index: Int, start: UInt64, last: UInt64) {
        let node = nodes + index
        node.pointee.start = start
        node.pointee.last = last
        ctb_insert(node, root)
    }

    /// Removes the interval of slot `index`. - Precondition: it is in the tree.
    @inline(__always)
    func erase(slot index: Int) { ctb_erase(nodes + index, root) }

    /// Start of the overlapping interval with the lowest start at `point`, or nil.
    @inline(__always)
    func firstOverlappingStart(_ point: UInt64) -> UInt64? {
        ctb_iter_first(root, point, point)?.pointee.start
    }

    /// Number of intervals containing `point`.
    @inline(__always)
    func countOverlapping(_ point: UInt64) -> Int { ctb_count_overlapping(root, point, point) }

    /// The number of intervals, or a negative code naming a broken invariant (see `ctb_validate`).
    func validate() -> Int { ctb_validate(root) }
}
