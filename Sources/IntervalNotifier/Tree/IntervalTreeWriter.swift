import CURCU

/// The update side of an ``RCUIntervalTree``: node allocation, retirement and
/// the persistent (path-copying) AVL algorithms. Lives in manually allocated
/// memory owned by the tree; every method requires the tree's writer
/// serialisation (its writer lock, or the engine's lock).
struct IntervalTreeWriter {
    /// Number of the update in progress; nodes stamped with it are private.
    var generation: UInt64 = 1
    /// Entries in the tree.
    var count = 0
    /// Nodes ready for reuse, linked through `link`.
    var freeList: IntervalTreeNodePointer?
    /// Nodes retired by updates but not yet handed to call_rcu.
    var retiredFirst: IntervalTreeNodePointer?
    var retiredLast: IntervalTreeNodePointer?
    var retiredCount = 0
    /// Nodes ever retired (monotonic).
    var retiredTotal = 0
    /// Retired nodes accumulated before one call_rcu batch is queued.
    let batchThreshold: Int
    /// Every slab of nodes ever allocated (freed when the tree is destroyed).
    var slabs: [UnsafeMutableRawPointer] = []
    let queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>
    /// When replaced nodes may be reused.
    let reclamation: IntervalTreeReclamation

    /// Nodes in the first slab: small, so that a small tree (an address space
    /// with a few subscriptions) costs about a kilobyte, not a full slab.
    static let firstSlabNodes = 16
    /// Nodes in the largest slab; each slab doubles the previous one up to it.
    static let maximumSlabNodes = 1024
    /// Nodes allocated from the system so far.
    private(set) var capacity = 0

    init(queue: UnsafeMutablePointer<IntervalTreeReclaimQueue>, batchThreshold: Int, reclamation: IntervalTreeReclamation) {
        self.queue = queue
        self.batchThreshold = max(1, batchThreshold)
        self.reclamation = reclamation
    }


    // MARK: Node memory

    /// A node for the current update (uninitialised fields).
    @inline(__always)
    mutating func allocateNode() -> IntervalTreeNodePointer {
        if _slowPath(freeList == nil) { refill() }
        let node = freeList!
        freeList = node.pointee.link
        return node
    }

    @inline(never)
    mutating func refill() {
        if let reusable = queue.pointee.takeAllReusable() {
            freeList = reusable
            return
        }
        let count = min(Self.maximumSlabNodes, max(Self.firstSlabNodes, capacity))
        let bytes = MemoryLayout<IntervalTreeNode>.stride * count
        let slab = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        slabs.append(slab)
        capacity += count
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.treeSlabs.add(1, ordering: .relaxed)
        let nodes = slab.bindMemory(to: IntervalTreeNode.self, capacity: count)
        for index in 0..<count {
            let next: IntervalTreeNodePointer? = index + 1 < count ? nodes + index + 1 : nil
            (nodes + index).initialize(to: IntervalTreeNode(
                start: 0, last: 0, subtreeLast: 0, value: 0, left: nil, right: nil, link: next, meta: 0))
        }
        freeList = nodes
    }

    /// Retires a node that readers may still see: it is reused after a grace period.
    @inline(__always)
    mutating func retire(_ node: IntervalTreeNodePointer) {
        if _slowPath(node.pointee.generation == generation) {
            // Created by this update, never published: reuse at once.
            node.pointee.link = freeList
            freeList = node
            return
        }
        node.pointee.link = nil
        if let last = retiredLast { last.pointee.link = node } else { retiredFirst = node }
        retiredLast = node
        retiredCount += 1
        retiredTotal += 1
    }

    /// Ends an update: advances the generation (all its nodes are now published
    /// or about to be) and queues a reclamation batch when enough nodes wait.
    @inline(__always)
    mutating func finishUpdate() {
        generation &+= 1
        if case .immediate = reclamation {
            // Readers are locked out: the replaced nodes are free once published.
            if let first = retiredFirst, let last = retiredLast {
                last.pointee.link = freeList
                freeList = first
                retiredFirst = nil
                retiredLast = nil
                retiredCount = 0
            }
            return
        }
        if retiredCount >= batchThreshold { flushRetired() }
    }

    /// Hands every retired node to call_rcu as one batch.
    mutating func flushRetired() {
        guard case .rcu(let flavor) = reclamation else { return }
        guard let first = retiredFirst, let last = retiredLast else { return }
        let batch = UnsafeMutablePointer<IntervalTreeRetiredBatch>.allocate(capacity: 1)
        batch.initialize(to: IntervalTreeRetiredBatch(first: first, last: last, count: retiredCount, queue: queue))
        retiredFirst = nil
        retiredLast = nil
        retiredCount = 0
        RCUCallbackQueue.queue(for: flavor).enqueue(
            UnsafeMutableRawPointer(batch).assumingMemoryBound(to: rcu_head.self), intervalTreeReclaimBatch)
    }

    /// A private, changeable version of `node`: itself when the current update
    /// created it, otherwise a copy (and the original is retired).
    @inline(__always)
    mutating func privateCopy(_ node: IntervalTreeNodePointer) -> IntervalTreeNodePointer {
        if node.pointee.generation == generation { return node }
        let copy = allocateNode()
        copy.initialize(to: node.pointee)
        copy.pointee.meta = generation << 8 | UInt64(node.pointee.height)
        retire(node)
        return copy
    }

    /// A fresh leaf holding `entry`.
    mutating func makeLeaf(_ entry: IntervalTreeEntry) -> IntervalTreeNodePointer {
        let node = allocateNode()
        node.initialize(to: IntervalTreeNode(
            start: entry.start, last: entry.last, subtreeLast: entry.last, value: entry.value,
            left: nil, right: nil, link: nil, meta: generation << 8 | 1))
        return node
    }

    // MARK: Persistent AVL

    /// Total order of entries: by start, then last, then value. Equal entries
    /// (duplicates) are allowed; they sit next to each other in order.
    @inline(__always)
    static func compare(_ entry: IntervalTreeEntry, _ node: IntervalTreeNodePointer) -> Int {
        let n = node.pointee
        if entry.start != n.start { return entry.start < n.start ? -1 : 1 }
        if entry.last != n.last { return entry.last < n.last ? -1 : 1 }
        if entry.value != n.value { return entry.value < n.value ? -1 : 1 }
        return 0
    }

    /// Recomputes height and subtree maximum of a private node from its children.
    @inline(__always)
    func update(_ node: IntervalTreeNodePointer) {
        let left = node.pointee.left, right = node.pointee.right
        let height = 1 + Swift.max(left.height, right.height)
        var subtreeLast = node.pointee.last
        if let l = left.subtreeLast, l > subtreeLast { subtreeLast = l }
        if let r = right.subtreeLast, r > subtreeLast { subtreeLast = r }
        node.pointee.subtreeLast = subtreeLast
        node.pointee.meta = generation << 8 | UInt64(height)
    }

    /// Rotates right around private `node`; returns the new subtree root.
    mutating func rotateRight(_ node: IntervalTreeNodePointer) -> IntervalTreeNodePointer {
        let pivot = privateCopy(node.pointee.left!)
        node.pointee.left = pivot.pointee.right
        update(node)
        pivot.pointee.right = node
        update(pivot)
        return pivot
    }

    /// Rotates left around private `node`; returns the new subtree root.
    mutating func rotateLeft(_ node: IntervalTreeNodePointer) -> IntervalTreeNodePointer {
        let pivot = privateCopy(node.pointee.right!)
        node.pointee.right = pivot.pointee.left
        update(node)
        pivot.pointee.left = node
        update(pivot)
        return pivot
    }

    /// Restores the AVL balance of private `node`, whose subtrees are balanced and
    /// differ in height by at most 2; returns the new subtree root.
    mutating func rebalance(_ node: IntervalTreeNodePointer) -> IntervalTreeNodePointer {
        let leftHeight = node.pointee.left.height, rightHeight = node.pointee.right.height
        if leftHeight > rightHeight + 1 {
            let left = node.pointee.left!
            if left.pointee.left.height < left.pointee.right.height {
                node.pointee.left = rotateLeft(privateCopy(left))
            }
            return rotateRight(node)
        }
        if rightHeight > leftHeight + 1 {
            let right = node.pointee.right!
            if right.pointee.right.height < right.pointee.left.height {
                node.pointee.right = rotateRight(privateCopy(right))
            }
            return rotateLeft(node)
        }
        update(node)
        return node
    }

    /// Inserts `leaf` below `node`; returns the new subtree root.
    mutating func insert(_ leaf: IntervalTreeNodePointer, into node: IntervalTreeNodePointer?) -> IntervalTreeNodePointer {
        guard let node else { return leaf }
        let copy = privateCopy(node)
        let entry = IntervalTreeEntry(start: leaf.pointee.start, last: leaf.pointee.last, value: leaf.pointee.value)
        if Self.compare(entry, copy) < 0 {
            copy.pointee.left = insert(leaf, into: copy.pointee.left)
        } else {
            copy.pointee.right = insert(leaf, into: copy.pointee.right)
        }
        return rebalance(copy)
    }

    /// Removes one node equal to `entry` below `node`; returns the new subtree
    /// root. Nothing is copied unless `found` becomes true.
    mutating func remove(_ entry: IntervalTreeEntry, from node: IntervalTreeNodePointer?, found: inout Bool) -> IntervalTreeNodePointer? {
        guard let node else { return nil }
        let order = Self.compare(entry, node)
        if order < 0 {
            let left = remove(entry, from: node.pointee.left, found: &found)
            guard found else { return node }
            let copy = privateCopy(node)
            copy.pointee.left = left
            return rebalance(copy)
        }
        if order > 0 {
            let right = remove(entry, from: node.pointee.right, found: &found)
            guard found else { return node }
            let copy = privateCopy(node)
            copy.pointee.right = right
            return rebalance(copy)
        }
        found = true
        let left = node.pointee.left, right = node.pointee.right
        retire(node)
        guard let left else { return right }
        guard let right else { return left }
        var successor: IntervalTreeNodePointer?
        let newRight = removeMinimum(from: right, minimum: &successor)
        let replacement = privateCopy(successor!)
        replacement.pointee.left = left
        replacement.pointee.right = newRight
        return rebalance(replacement)
    }

    /// Unlinks the leftmost node below `node` (returned in `minimum`, not yet
    /// retired); returns the new subtree root.
    mutating func removeMinimum(from node: IntervalTreeNodePointer, minimum: inout IntervalTreeNodePointer?) -> IntervalTreeNodePointer? {
        guard let left = node.pointee.left else {
            minimum = node
            return node.pointee.right
        }
        let newLeft = removeMinimum(from: left, minimum: &minimum)
        let copy = privateCopy(node)
        copy.pointee.left = newLeft
        return rebalance(copy)
    }
}
