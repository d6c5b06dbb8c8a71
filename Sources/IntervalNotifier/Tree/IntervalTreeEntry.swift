/// One closed interval `[start, last]` with the caller's value, as stored in and
/// returned by ``RCUIntervalTree``.
@frozen
@usableFromInline package struct IntervalTreeEntry: Hashable, Sendable, CustomStringConvertible {
    /// First address of the interval.
    @usableFromInline package var start: UInt64
    /// Last address of the interval (inclusive), `>= start`.
    @usableFromInline package var last: UInt64
    /// The caller's value (an id, or a pointer's bit pattern).
    @usableFromInline package var value: UInt

    /// Creates an entry. - Precondition: `start <= last`.
    @inlinable
    package init(start: UInt64, last: UInt64, value: UInt) {
        if _slowPath(start > last) { fatalError("interval start \(start) is after its last \(last)") }
        self.start = start
        self.last = last
        self.value = value
    }

    /// An entry read back from a tree node, whose `start <= last` was checked
    /// when it was inserted: the read side's form, without the check, whose
    /// trap message made the optimizer outline the whole initializer (a call
    /// per lookup, on every cache hit and invalidation walk).
    @inlinable @inline(__always)
    package init(storedStart start: UInt64, last: UInt64, value: UInt) {
        self.start = start
        self.last = last
        self.value = value
    }

    /// Whether `[start, last]` overlaps `[queryStart, queryLast]`.
    @inlinable
    package func overlaps(start queryStart: UInt64, last queryLast: UInt64) -> Bool {
        start <= queryLast && queryStart <= last
    }

    /// A compact form for logs: `[start, last]#value`.
    @usableFromInline package var description: String { "[\(start), \(last)]#\(value)" }
}
