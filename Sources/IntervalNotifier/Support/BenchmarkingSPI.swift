// What the separate Benchmarks package measures below the engine: the RCU read
// side and the tree. `package` access does not cross packages, so it needs SPI;
// and the engine's public @inlinable code uses `RCU`, `IntervalTreeEntry` and
// `IntervalTreeSnapshot`, which it could not if they were SPI themselves. So they
// stay `package`, and these @inlinable SPI views forward to them (nothing is
// left of the views once inlined). Clients see none of this without
// `@_spi(Benchmarking) import IntervalNotifier`.

/// The memb RCU read side, for benchmarks.
@_spi(Benchmarking)
public enum BenchmarkRCU {
    /// Enters a read-side critical section (``RCU/readLock()``).
    @inlinable @inline(__always)
    public static func readLock() { RCU.readLock() }

    /// Leaves a read-side critical section (``RCU/readUnlock()``).
    @inlinable @inline(__always)
    public static func readUnlock() { RCU.readUnlock() }

    /// Runs `body` inside a read-side critical section (``RCU/read(_:)``).
    @inlinable @inline(__always)
    public static func read<Result>(_ body: () throws -> Result) rethrows -> Result {
        RCU.readLock()
        defer { RCU.readUnlock() }
        return try body()
    }
}

/// The self-locking RCU interval tree (``RCUIntervalTree``, memb flavour), for benchmarks.
@_spi(Benchmarking)
public final class BenchmarkTree: @unchecked Sendable {
    /// One closed interval `[start, last]` with its value (an ``IntervalTreeEntry``).
    @frozen
    public struct Entry: Hashable, Sendable {
        /// First address of the interval.
        public var start: UInt64
        /// Last address of the interval (inclusive), `>= start`.
        public var last: UInt64
        /// The caller's value.
        public var value: UInt

        /// Creates an entry. - Precondition: `start <= last`.
        @inlinable
        public init(start: UInt64, last: UInt64, value: UInt) {
            self.start = start
            self.last = last
            self.value = value
        }

        /// The tree's form of this entry.
        @inlinable
        var treeEntry: IntervalTreeEntry { IntervalTreeEntry(start: start, last: last, value: value) }
    }

    /// A consistent view of the tree (an ``IntervalTreeSnapshot``), valid only
    /// inside the read-side section in which ``BenchmarkTree/snapshot()`` returned it.
    @frozen
    public struct Snapshot {
        @usableFromInline let base: IntervalTreeSnapshot

        @inlinable
        init(_ base: IntervalTreeSnapshot) { self.base = base }

        /// The overlapping entry with the lowest key. - Complexity: O(log n).
        @inlinable
        public func firstOverlapping(start: UInt64, last: UInt64) -> Entry? {
            base.firstOverlapping(start: start, last: last).map { Entry(start: $0.start, last: $0.last, value: $0.value) }
        }

        /// Number of entries overlapping `[start, last]`. - Complexity: O(log n + k).
        @inlinable
        public func countOverlapping(start: UInt64, last: UInt64) -> Int {
            base.countOverlapping(start: start, last: last)
        }
    }

    @usableFromInline let tree = RCUIntervalTree()

    /// Creates an empty tree whose readers use memb RCU (``BenchmarkRCU``).
    public init() {}

    /// The tree as of now. - Precondition: inside a ``BenchmarkRCU`` read-side section.
    @inlinable @inline(__always)
    public func snapshot() -> Snapshot { Snapshot(tree.snapshot()) }

    /// Inserts `entry` (duplicates allowed); takes the writer lock.
    public func insert(_ entry: Entry) { tree.insert(entry.treeEntry) }

    /// Removes one entry equal to `entry`; returns false if there is none.
    @discardableResult
    public func remove(_ entry: Entry) -> Bool { tree.remove(entry.treeEntry) }

    /// Removes one entry equal to `old`, then inserts `new`: two updates, each
    /// published on its own, the remove's descent walking the insert's path
    /// beside its own so that their misses overlap. Returns false (and
    /// inserts nothing) if no entry equals `old`.
    @discardableResult
    public func remove(_ old: Entry, thenInsert new: Entry) -> Bool { tree.remove(old.treeEntry, thenInsert: new.treeEntry) }

    /// ``remove(_:thenInsert:)`` without the writer lock, as the engine runs its
    /// tree (the registry lock serialises the engine's writers): the C tree of
    /// the `tree` workload takes no lock either, so both sides measure the
    /// tree alone. - Precondition: no other thread updates the tree meanwhile.
    @discardableResult
    public func removeAsOnlyWriter(_ old: Entry, thenInsert new: Entry) -> Bool {
        // Through the tree, not `tree.storage` here: that retained and released
        // the storage around every pair.
        tree.removeAsOnlyWriter(old.treeEntry, thenInsert: new.treeEntry)
    }

    /// Number of entries.
    public var count: Int { tree.count }

    /// Entries of a leaf, children of an inner node, at most (a build-time constant).
    public static var fanout: Int { IntervalTreeLayout.fanout }

    /// Bytes per node.
    public static var nodeBytes: Int { IntervalTreeLayout.nodeBytes }

    /// The tree's memory: nodes allocated and retired so far, and its height.
    public struct MemoryStatistics: Sendable {
        /// Nodes allocated from the system (``BenchmarkTree/nodeBytes`` each).
        public var allocatedNodes: Int
        /// Nodes retired by updates so far.
        public var retiredNodes: Int
        /// Levels (0 when empty).
        public var height: Int
    }

    /// Current memory statistics (takes the writer lock).
    public var memoryStatistics: MemoryStatistics {
        let memory = tree.memoryStatistics
        return MemoryStatistics(allocatedNodes: memory.allocatedNodes, retiredNodes: memory.retiredNodes,
                                height: tree.writerLock.withLock { tree.storage.heightSerialized })
    }
}
