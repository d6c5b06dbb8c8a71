import CNotifierHarness

/// The CPUs and NUMA nodes a run uses, and where each thread goes.
public struct StressTopology: Sendable, CustomStringConvertible {
    /// One (possibly pretend) node: its id, the real node it lives on, its CPUs.
    public struct Node: Sendable {
        /// The node's id: the real NUMA node number, or 0, 1, ... for pretend nodes.
        public var id: Int
        /// The real NUMA node of its CPUs (for a pretend node, that of its first CPU).
        public var realNode: Int
        /// The allowed CPU numbers that threads placed on this node are pinned to.
        public var cpus: [Int]
    }
    /// The nodes threads are placed on, round robin (after the configuration's
    /// `nodes` filter; all nodes when the filter matches none).
    public var nodes: [Node]
    /// Whether libnuma reported a NUMA system.
    public var numaAvailable: Bool
    /// Whether nodes are pretend (split of the allowed CPUs).
    public var fake: Bool
    /// Every thread pinned to this CPU, if set.
    public var singleCPU: Int?

    /// The CPUs this process may run on (`sched_getaffinity`), ascending.
    public static func allowedCPUs() -> [Int] {
        var buffer = [Int32](repeating: 0, count: 4096)
        let total = Int(cnp_allowed_cpus(&buffer, Int32(buffer.count)))
        return buffer.prefix(max(0, min(total, buffer.count))).map(Int.init)
    }

    /// The real NUMA nodes that have allowed CPUs, ascending.
    public static func realNodes() -> [Int] {
        Set(allowedCPUs().map { Int(cnp_numa_node_of_cpu(Int32($0))) }).sorted()
    }

    /// Reads the machine and applies the configuration's node choice.
    public static func discover(_ configuration: StressConfiguration) -> StressTopology {
        let cpus = allowedCPUs()
        let numa = cnp_numa_available() != 0
        var nodes: [Node]
        var fake = false
        if let k = configuration.fakeNodes, k > 0 {
            fake = true
            let count = max(1, min(k, cpus.count))
            nodes = (0..<count).map { i in
                let share = cpus.enumerated().filter { $0.offset % count == i }.map(\.element)
                return Node(id: i, realNode: Int(cnp_numa_node_of_cpu(Int32(share[0]))), cpus: share)
            }
        } else {
            var byNode: [Int: [Int]] = [:]
            for cpu in cpus { byNode[Int(cnp_numa_node_of_cpu(Int32(cpu))), default: []].append(cpu) }
            nodes = byNode.keys.sorted().map { Node(id: $0, realNode: $0, cpus: byNode[$0]!) }
        }
        if let wanted = configuration.nodes {
            let chosen = nodes.filter { wanted.contains($0.id) }
            if !chosen.isEmpty { nodes = chosen }
        }
        return StressTopology(nodes: nodes, numaAvailable: numa, fake: fake, singleCPU: configuration.singleCPU)
    }

    /// The node of the `index`-th thread (round robin).
    public func node(forThread index: Int) -> Node { nodes[index % nodes.count] }

    /// Pins the calling thread to its node's CPUs (or the single CPU); returns
    /// a description of the placement.
    public func pinCurrentThread(index: Int) -> String {
        if let cpu = singleCPU {
            let rc = cnp_pin_current_thread_to_cpu(Int32(cpu))
            return rc == 0 ? "cpu \(cpu)" : "cpu \(cpu) (pinning failed: \(rc))"
        }
        let node = node(forThread: index)
        let list = node.cpus.map(Int32.init)
        let rc = list.withUnsafeBufferPointer { cnp_pin_current_thread_to_cpus($0.baseAddress, Int32($0.count)) }
        let where_ = "node \(node.id)\(fake ? " (pretend; real node \(node.realNode))" : "") cpus \(node.cpus)"
        return rc == 0 ? where_ : "\(where_) (pinning failed: \(rc))"
    }

    /// A multi-line description for logs: NUMA availability, each node's CPUs, single-CPU pinning.
    public var description: String {
        var lines = ["topology: \(numaAvailable ? "NUMA available" : "NUMA not available (one node assumed)"), \(nodes.count) \(fake ? "pretend " : "")node(s)"]
        for node in nodes { lines.append("  node \(node.id)\(fake ? " -> real node \(node.realNode)" : ""): cpus \(node.cpus)") }
        if let cpu = singleCPU { lines.append("  every thread pinned to cpu \(cpu)") }
        return lines.joined(separator: "\n")
    }
}
