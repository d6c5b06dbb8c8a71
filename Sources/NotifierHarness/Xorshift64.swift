import IntervalNotifier

/// The 64-bit xorshift generator of the project's workloads (Marsaglia's
/// 13/7/17 triple), so that every benchmark and test draws the same sequences
/// from the same seed.
@frozen
public struct Xorshift64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    /// Creates a generator; a zero seed is replaced (xorshift would stay at 0).
    @inlinable
    public init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    /// The next value.
    @inlinable
    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Workload L of `shared/perf-anchors.md`: start uniform in [0, 2^32), length
/// uniform in [1, 2^16].
public enum WorkloadL {
    /// The bounds `[start, last]` of one random interval of workload L.
    @inlinable
    public static func bounds(_ rng: inout Xorshift64) -> (start: UInt64, last: UInt64) {
        let start = rng.next() & 0xFFFF_FFFF
        let length = (rng.next() & 0xFFFF) + 1
        return (start, start + length - 1)
    }

    /// One random interval of workload L carrying `value` (the same draws as ``bounds(_:)``).
    @inlinable
    package static func interval(_ rng: inout Xorshift64, value: UInt) -> IntervalTreeEntry {
        let (start, last) = bounds(&rng)
        return IntervalTreeEntry(start: start, last: last, value: value)
    }

    /// One random query point of workload L.
    @inlinable
    public static func point(_ rng: inout Xorshift64) -> UInt64 { rng.next() & 0xFFFF_FFFF }
}
