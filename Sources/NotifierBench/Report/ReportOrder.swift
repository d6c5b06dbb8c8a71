/// The order in which the report lists strategies (table columns, plot
/// lines), workloads and metrics: the known ones first, in a fixed order,
/// then any others alphabetically.
enum ReportOrder {
    /// Strategy columns: the reference `rcu` first, the unsynchronised baseline last.
    static let strategies = ["rcu", "rcu-qsbr", "rcu-bp", "rcu-mb", "kernel", "rwlock", "mutex", "unsynchronized", "c-rbtree"]
    /// Workloads, in the order of the suite.
    static let workloads = ["read-primitive", "fault-path", "fault-path-harness", "lookup", "storm", "churn", "mixed", "memory",
                            "insert-remove", "tree"]
    /// Metrics: throughput, costs, latencies, memory.
    static let metrics = ["ops/s", "ns/op", "cpu-ns/op", "ns-p50", "ns-p99", "bytes/subscription", "bytes/interval", "bytes"]

    /// `names` deduplicated and sorted by `known` order, unknown ones after, alphabetically.
    static func sorted<S: Sequence>(_ names: S, by known: [String]) -> [String] where S.Element == String {
        Set(names).sorted { a, b in
            switch (known.firstIndex(of: a), known.firstIndex(of: b)) {
            case let (x?, y?): x < y
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): NaturalOrder.less(a, b)
            }
        }
    }
}
