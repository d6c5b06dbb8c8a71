import IntervalNotifier
import NotifierStress

/// What a figure measures. Cases are in report order: throughput, costs, memory.
public enum BenchMetric: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    /// Aggregate operations per second of all worker threads over one common window.
    case opsPerSecond = "ops/s"
    /// Mean wall-clock nanoseconds of one operation on one thread.
    case nanosecondsPerOperation = "ns/op"
    /// Mean thread CPU nanoseconds of one operation.
    case cpuNanosecondsPerOperation = "cpu-ns/op"
    /// Bytes per subscription.
    case bytesPerSubscription = "bytes/subscription"
    /// Bytes per interval of a tree.
    case bytesPerInterval = "bytes/interval"
    /// Bytes.
    case bytes

    /// Whether `lhs` comes before `rhs` in the report.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }

    private var order: Int { Self.allCases.firstIndex(of: self)! }
}

/// The side a figure was measured on (a table column, a plot line): a
/// registry strategy of the library, or one of the baselines and peers the
/// workloads compare it with. Encoded as its ``name``.
public enum BenchSide: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// An address space with this locking strategy (the engine).
    case registry(RegistryStrategy)
    /// `lookup`: the same tree walked with no synchronisation at all.
    case unsynchronized
    /// `lookup`: the `unsynchronized` side's tree, each walk inside a memb
    /// read-side section of its own (liburcu's `rcu_read_lock` and
    /// `rcu_read_unlock`) and nothing of the engine: what the read side alone
    /// adds to a walk, the floor of the `lookup-overhead` target.
    case readSectionOnly
    /// `read-primitive`: the read side's loads without the engine: each thread
    /// loads from a cache line of its own, nothing shared, nothing stored. How
    /// the machine's throughput of such code grows with threads (what the
    /// vCPUs of a shared host deliver to it), measured beside the read side.
    case loadLoop
    /// `tree`: the C augmented red-black tree (``CBaselineTree``).
    case cRedBlackTree
    /// `cache`: munmap of a page nothing registered.
    case munmap
    /// `cache`: ``RegistrationCache`` (the explicit invalidation source).
    case notifier
    /// `cache`: ours, hits while a helper churns mmap/munmap.
    case notifierChurn
    /// `cache`: ours driven by the userfaultfd monitor (``UffdCacheSide``).
    case notifierUffd
    /// `cache`: UCX's `ucs_rcache`.
    case ucx
    /// `cache`: UCX, hits while a helper churns mmap/munmap.
    case ucxChurn
    /// `cache`: a C userfaultfd monitor that only reads and discards (the floor).
    case uffdFloor

    /// Every side in report order: the reference `rcu` first, the library's
    /// strategies, the baselines, then the cache's sides by name.
    public static let all: [BenchSide] = RegistryStrategy.allCases.map(BenchSide.registry)
        + [.unsynchronized, .readSectionOnly, .loadLoop, .cRedBlackTree, .munmap, .notifier, .notifierChurn, .notifierUffd, .ucx, .ucxChurn, .uffdFloor]

    /// The name in tables, CSV and JSON: ``RegistryStrategy/name``, `unsynchronized`, `c-rbtree`, `notifier-uffd`, ...
    public var name: String {
        switch self {
        case .registry(let strategy): strategy.name
        case .unsynchronized: "unsynchronized"
        case .readSectionOnly: "read-section-only"
        case .loadLoop: "load-loop"
        case .cRedBlackTree: "c-rbtree"
        case .munmap: "munmap"
        case .notifier: "notifier"
        case .notifierChurn: "notifier-churn"
        case .notifierUffd: "notifier-uffd"
        case .ucx: "ucx"
        case .ucxChurn: "ucx-churn"
        case .uffdFloor: "uffd-floor"
        }
    }

    /// The side called `name` (as ``name`` prints it).
    public init?(name: String) {
        guard let side = Self.all.first(where: { $0.name == name }) else { return nil }
        self = side
    }

    /// The library strategy of a ``registry(_:)`` side.
    public var strategy: RegistryStrategy? {
        if case .registry(let strategy) = self { return strategy }
        return nil
    }

    /// The side's ``name``.
    public var description: String { name }

    /// The reference column of every ratio in the tables.
    public static let reference = BenchSide.registry(.default)

    /// Whether `lhs` comes before `rhs` in the report.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }

    private var order: Int { Self.all.firstIndex(of: self)! }
}

extension BenchSide: Codable {
    /// Decodes a side from its ``name``.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let side = BenchSide(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown side \(name)"))
        }
        self = side
    }

    /// Encodes the side as its ``name``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// What one `read-primitive` operation is.
public enum ReadOperation: String, Codable, Sendable, Hashable {
    /// One `readBegin` + `readRetry` pair.
    case pairs
}

/// What one `cache` operation is.
public enum CacheOperation: String, Codable, Sendable, Hashable, CaseIterable {
    /// A get + put that hits.
    case hit
    /// A get that misses and registers.
    case miss
    /// munmap of a cached page until its region is invalid.
    case munmap
}

/// A workload's parameters other than side, protocol and threads: rows of a
/// table share them. Every field is optional; a workload sets the ones it
/// has. ``label`` renders them (tables, CSV, plot titles, target points); JSON
/// keeps the fields.
public struct BenchParameters: Codable, Sendable, Hashable, Comparable {
    /// `tree`: the operation (`op=first-hit`), written before the size.
    public var treeOperation: TreeWorkload.Operation?
    /// `read-primitive`: what an operation counts (`pairs`).
    public var readOperation: ReadOperation?
    /// `fault-path`: invalidator threads beside the faulters.
    public var invalidators: Int?
    /// Subscriptions, intervals or regions in the structure.
    public var size: Int?
    /// `lookup`: whether a writer thread inserts and removes during the lookups.
    public var writer: Bool?
    /// `cache`: the operation (`op=hit`), written after the size.
    public var cacheOperation: CacheOperation?
    /// `storm`: subscriptions each invalidation hits.
    public var hits: Int?
    /// `mixed`: percent of operations that are updates.
    public var updatesPercent: Int?

    /// Creates parameters; leave out the ones a workload does not have.
    public init(treeOperation: TreeWorkload.Operation? = nil, readOperation: ReadOperation? = nil,
                invalidators: Int? = nil, size: Int? = nil, writer: Bool? = nil,
                cacheOperation: CacheOperation? = nil, hits: Int? = nil, updatesPercent: Int? = nil) {
        self.treeOperation = treeOperation
        self.readOperation = readOperation
        self.invalidators = invalidators
        self.size = size
        self.writer = writer
        self.cacheOperation = cacheOperation
        self.hits = hits
        self.updatesPercent = updatesPercent
    }

    /// The set fields as `key=value` tokens in label order (`pairs` has no value).
    public var tokens: [(key: String, value: String?)] {
        var tokens: [(key: String, value: String?)] = []
        if let treeOperation { tokens.append(("op", treeOperation.rawValue)) }
        if readOperation != nil { tokens.append(("pairs", nil)) }
        if let invalidators { tokens.append(("invalidators", String(invalidators))) }
        if let size { tokens.append(("size", String(size))) }
        if let writer { tokens.append(("writer", writer ? "yes" : "no")) }
        if let cacheOperation { tokens.append(("op", cacheOperation.rawValue)) }
        if let hits { tokens.append(("hits", String(hits))) }
        if let updatesPercent { tokens.append(("updates", "\(updatesPercent)%")) }
        return tokens
    }

    /// The one rendering of the parameters: `size=100000 writer=no`,
    /// `op=first-hit size=1000`, `pairs`; empty when none is set.
    public var label: String { Self.label(tokens) }

    /// `tokens` joined as ``label`` writes them.
    static func label(_ tokens: [(key: String, value: String?)]) -> String {
        tokens.map { token in token.value.map { "\(token.key)=\($0)" } ?? token.key }.joined(separator: " ")
    }

    /// How many fields are set.
    public var count: Int { tokens.count }

    /// Whether every field set in `required` has the same value here.
    public func matches(_ required: BenchParameters) -> Bool {
        func same<T: Equatable>(_ field: KeyPath<BenchParameters, T?>) -> Bool {
            required[keyPath: field].map { $0 == self[keyPath: field] } ?? true
        }
        return same(\.treeOperation) && same(\.readOperation) && same(\.invalidators) && same(\.size)
            && same(\.writer) && same(\.cacheOperation) && same(\.hits) && same(\.updatesPercent)
    }

    /// These parameters without `size` (the x axis of the cost-against-size charts).
    public var withoutSize: BenchParameters {
        var copy = self
        copy.size = nil
        return copy
    }

    /// Field by field in label order, numbers as numbers, operations by name;
    /// an unset field sorts before a set one.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        func order<T: Comparable>(_ a: T?, _ b: T?) -> Bool? {
            switch (a, b) {
            case (nil, nil): nil
            case (nil, _): true
            case (_, nil): false
            case let (a?, b?): a == b ? nil : a < b
            }
        }
        return order(lhs.treeOperation?.rawValue, rhs.treeOperation?.rawValue)
            ?? order(lhs.readOperation?.rawValue, rhs.readOperation?.rawValue)
            ?? order(lhs.invalidators, rhs.invalidators)
            ?? order(lhs.size, rhs.size)
            ?? order(lhs.writer.map { $0 ? 1 : 0 }, rhs.writer.map { $0 ? 1 : 0 })
            ?? order(lhs.cacheOperation?.rawValue, rhs.cacheOperation?.rawValue)
            ?? order(lhs.hits, rhs.hits)
            ?? order(lhs.updatesPercent, rhs.updatesPercent)
            ?? false
    }
}

extension TreeWorkload.Operation: Codable {}

/// The order of mirror protocols in the report: none first, then by name.
func protocolPrecedes(_ lhs: MirrorProtocol?, _ rhs: MirrorProtocol?) -> Bool {
    switch (lhs, rhs) {
    case (nil, nil): false
    case (nil, _): true
    case (_, nil): false
    case let (a?, b?): a.rawValue < b.rawValue
    }
}

extension Optional where Wrapped == MirrorProtocol {
    /// The protocol's name, or `-` where none applies (tables, CSV, progress).
    var label: String { self?.rawValue ?? "-" }
}
