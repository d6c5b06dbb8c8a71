#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import NotifierHarness

/// Keeps `value` alive as far as the optimiser can tell, so that a measured
/// loop whose results are only summed is not removed.
@_optimize(none) @inline(never)
public func benchBlackHole<T>(_ value: T) {}

/// Fixed seeds: every run of the suite draws the same intervals and points.
public enum BenchSeed {
    /// Workload L intervals (the trees of `lookup`, `churn`, `insert-remove`).
    public static let workloadL: UInt64 = 0x0123_4567_89AB_CDEF
    /// A per-thread generator seed derived from `base`.
    public static func thread(_ index: Int, _ base: UInt64 = 0x5EED_0000_0000_0001) -> UInt64 {
        (base &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15) | 1
    }
}

/// Uniform value in `0..<bound` (multiply-shift; 0 < `bound` <= 2^32).
@inline(__always)
func benchRandom(_ rng: inout Xorshift64, below bound: Int) -> Int {
    // Parenthesised: in Swift `>>` binds tighter than `&*`.
    Int(((rng.next() >> 32) &* UInt64(bound)) >> 32)
}

/// The invalidate callback of subscriptions nobody mirrors.
let benchNoOpInvalidate: InvalidateCallback = { _, _, _ in true }

/// Subscriptions of one address space built for a benchmark, kept as unretained
/// references in a fixed buffer (the registry holds each one until it is
/// removed), so that threads may replace distinct slots concurrently without
/// reference counting. Call ``removeAll()`` when done.
final class BenchPopulation: @unchecked Sendable {
    let space: AddressSpace
    let slots: UnsafeMutableBufferPointer<Unmanaged<IntervalSubscription>>
    private(set) var count = 0

    /// An empty population of room for `capacity` subscriptions (the buffer is
    /// allocated and touched now, so that it does not count in later RSS deltas).
    init(space: AddressSpace, capacity: Int) {
        self.space = space
        slots = .allocate(capacity: max(1, capacity))
        // Touch every page of the buffer now.
        UnsafeMutableRawBufferPointer(slots).initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { slots.deallocate() }

    /// Inserts `[start, last]` with `invalidate` into the next slot.
    func append(start: UInt64, last: UInt64, invalidate: @escaping InvalidateCallback = benchNoOpInvalidate) {
        let subscription = try! space.insert(start: start, last: last, invalidate: invalidate)
        slots[count] = Unmanaged.passUnretained(subscription)
        count += 1
    }

    /// An address space of `strategy` holding the `count` intervals of
    /// workload L drawn from `seed`, with no-op callbacks.
    static func workloadL(strategy: RegistryStrategy, count: Int, seed: UInt64 = BenchSeed.workloadL) -> BenchPopulation {
        let population = BenchPopulation(space: AddressSpace(strategy: strategy), capacity: count)
        population.appendWorkloadL(count: count, seed: seed)
        return population
    }

    /// Appends `count` workload L intervals drawn from `seed` (no-op callbacks).
    func appendWorkloadL(count: Int, seed: UInt64 = BenchSeed.workloadL) {
        var rng = Xorshift64(seed: seed)
        for index in 0..<count {
            let entry = WorkloadL.interval(&rng, value: UInt(index))
            append(start: entry.start, last: entry.last)
        }
    }

    /// The update pair of workload L on slot `index`: removes its subscription
    /// and inserts a new random interval in its place. Only one thread may work
    /// on a given slot at a time.
    @inline(__always)
    func replace(at index: Int, _ rng: inout Xorshift64) {
        try! space.remove(slots[index].takeUnretainedValue())
        let entry = WorkloadL.interval(&rng, value: 0)
        let subscription = try! space.insert(start: entry.start, last: entry.last, invalidate: benchNoOpInvalidate)
        slots[index] = Unmanaged.passUnretained(subscription)
    }

    /// Removes every subscription, in address order (consecutive removes then
    /// copy mostly the same, cache-hot tree paths: much faster than random order).
    func removeAll() {
        var ordered = slots.prefix(count).map { ($0.takeUnretainedValue().start, $0) }
        ordered.sort { $0.0 < $1.0 }
        for (_, subscription) in ordered { try? space.remove(subscription.takeUnretainedValue()) }
        count = 0
        RCU.barrier()
    }
}

/// The workload L intervals drawn from `seed` (the same ones
/// ``BenchPopulation/workloadL(strategy:count:seed:)`` inserts).
func workloadLEntries(count: Int, seed: UInt64 = BenchSeed.workloadL) -> [IntervalTreeEntry] {
    var rng = Xorshift64(seed: seed)
    return (0..<count).map { WorkloadL.interval(&rng, value: UInt($0) + 1) }
}

/// Resident set size of this process in bytes (`/proc/self/statm`, second field), or 0.
public func benchResidentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 256)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let residentPages = Int(fields[1]) else { return 0 }
    return residentPages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Returns freed heap memory to the system, after pending RCU callbacks ran.
func benchSettleMemory() {
    RCU.barrier()
    RCU.barrier()
    _ = mallocTrim?(0)
}

/// glibc's `malloc_trim` (not exported by the Glibc module), looked up once.
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
}()

/// The `q` quantile (0...1) of `samples`, nearest rank; 0 when empty.
func benchPercentile(_ sorted: [UInt64], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
    return Double(sorted[rank])
}
