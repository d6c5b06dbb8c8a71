import CNotifierHarness
import NotifierStress

/// Where benchmark threads run: an ordered list of CPUs, thread `i` pinned to
/// `cpus[i % cpus.count]`.
///
/// The list interleaves the CPUs of the chosen NUMA nodes round robin (node 0's
/// first CPU, node 1's first CPU, node 0's second CPU, ...), so that a sweep
/// spreads its threads over the nodes; without a node choice it covers every
/// allowed CPU (`sched_getaffinity`). Node discovery is ``StressTopology``'s.
public struct BenchPlacement: Sendable, CustomStringConvertible {
    /// CPUs in pinning order.
    public var cpus: [Int]
    /// NUMA node ids the CPUs belong to.
    public var nodes: [Int]
    /// Whether libnuma reported a NUMA system.
    public var numaAvailable: Bool

    /// Creates a placement over explicit CPUs (tests).
    public init(cpus: [Int], nodes: [Int] = [0], numaAvailable: Bool = false) {
        precondition(!cpus.isEmpty, "a placement needs at least one CPU")
        self.cpus = cpus
        self.nodes = nodes
        self.numaAvailable = numaAvailable
    }

    /// NUMA node ids of this machine that have allowed CPUs.
    public static func availableNodes() -> [Int] {
        StressTopology.discover(StressConfiguration()).nodes.map(\.id)
    }

    /// The allowed CPUs of `nodes` (nil: every node), interleaved node by node.
    /// Node ids that do not exist are ignored (check with ``availableNodes()``).
    public static func discover(nodes: [Int]? = nil) -> BenchPlacement {
        var configuration = StressConfiguration()
        configuration.nodes = nodes
        let topology = StressTopology.discover(configuration)
        var order: [Int] = []
        let longest = topology.nodes.map(\.cpus.count).max() ?? 0
        for i in 0..<longest {
            for node in topology.nodes where i < node.cpus.count { order.append(node.cpus[i]) }
        }
        if order.isEmpty { order = [0] }
        return BenchPlacement(cpus: order, nodes: topology.nodes.map(\.id), numaAvailable: topology.numaAvailable)
    }

    /// CPUs available to the benchmark.
    public var cores: Int { cpus.count }

    /// The default thread sweep: 1, 2, 4, ... below the core count, the core
    /// count, and one point above it (2 cores: 1, 2, 3; 16 cores: 1, 2, 4, 8, 16, 17).
    public var defaultSweep: [Int] {
        var sweep: [Int] = []
        var n = 1
        while n < cores { sweep.append(n); n *= 2 }
        sweep.append(cores)
        sweep.append(cores + 1)
        return sweep
    }

    /// Pins the calling thread to the CPU of the `index`-th benchmark thread;
    /// returns that CPU (or -1 if pinning failed).
    @discardableResult
    public func pinCurrentThread(index: Int) -> Int {
        let cpu = cpus[index % cpus.count]
        return cnp_pin_current_thread_to_cpu(Int32(cpu)) == 0 ? cpu : -1
    }

    /// One line for logs.
    public var description: String {
        "\(cores) CPU(s) \(cpus) on node(s) \(nodes)\(numaAvailable ? "" : " (NUMA not available)")"
    }
}
