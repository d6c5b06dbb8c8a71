/// The monitor's reference counts of registered memory: disjoint, sorted,
/// page-aligned segments `[start, end)`, each with the number of
/// ``UserfaultfdMonitor/register(start:length:)`` calls covering it.
///
/// The kernel keeps one bit per mapping (registered or not), so its first
/// `UFFDIO_UNREGISTER` would drop every overlapping registration; this table
/// tells the monitor which parts of an unregistered range no other
/// registration still covers, and only those go to the kernel.
///
/// Counts are changed only by register and unregister, never by events: after
/// a `munmap` the monitor cannot tell a late unregister of the old memory from
/// one of a new mapping at the same address, so every registration is
/// unregistered by its owner, also when its memory is gone (the kernel dropped
/// it already; the unregister then only fixes the counts). Guarded by the
/// monitor's registration lock; the event thread never reads it.
///
/// Both buffers are allocated once (`capacity` segments each), so a full table
/// refuses instead of growing. Segment is a trivial type: moving memory
/// around needs no deinitialisation.
final class RegisteredRangeTable {
    /// One segment: `[start, end)` registered `count` times (count >= 1).
    struct Segment: Equatable {
        var start: UInt64
        var end: UInt64
        var count: Int
    }

    let capacity: Int
    private let segments: UnsafeMutablePointer<Segment>
    /// The rewritten window of one change, before it is spliced in.
    private let scratch: UnsafeMutablePointer<Segment>
    /// Segments in use.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        segments = .allocate(capacity: capacity)
        scratch = .allocate(capacity: capacity)
    }

    deinit {
        segments.deallocate()
        scratch.deallocate()
    }

    /// The segments, in address order (tests and shutdown).
    var allSegments: [Segment] { Array(UnsafeBufferPointer(start: segments, count: count)) }

    /// Total bytes covered at least once.
    var coveredBytes: UInt64 {
        var total: UInt64 = 0
        for index in 0..<count { total += segments[index].end - segments[index].start }
        return total
    }

    /// Whether every byte of `[start, end)` is covered at least once.
    func covers(start: UInt64, end: UInt64) -> Bool {
        var position = start
        for index in 0..<count {
            let segment = segments[index]
            if segment.end <= position { continue }
            if segment.start > position { return false }
            position = segment.end
            if position >= end { return true }
        }
        return position >= end
    }

    /// Adds one to the count of every byte of `[start, end)`.
    /// - Returns: false (nothing changed) when the result needs more than `capacity` segments.
    func add(start: UInt64, end: UInt64) -> Bool {
        rebuild(start: start, end: end, delta: 1) { _, _ in }
    }

    /// Subtracts one from the count of every byte of `[start, end)`, which the
    /// caller checked is covered (``covers(start:end:)``), and calls `released`
    /// with each maximal part whose count reached zero.
    /// - Returns: false (nothing changed) when the result needs more than `capacity` segments.
    func remove(start: UInt64, end: UInt64, released: (UInt64, UInt64) -> Void) -> Bool {
        rebuild(start: start, end: end, delta: -1, released: released)
    }

    /// Applies `delta` to `[start, end)`: finds the segments it touches (binary
    /// search) plus one neighbour on each side, rewrites that window into
    /// `scratch` (splitting at `start` and `end`, filling the gaps inside the
    /// range when adding, dropping zero counts, merging equal neighbours), and
    /// splices it back, moving the tail once: O(log n + k + tail). `released`
    /// sees the parts that reached zero, merged, and only when the result fits.
    private func rebuild(start: UInt64, end: UInt64, delta: Int, released: (UInt64, UInt64) -> Void) -> Bool {
        // First segment ending after `start`, first starting at or after `end`.
        let first = firstIndex(where: { segments[$0].end > start })
        let after = firstIndex(where: { segments[$0].start >= end })
        let windowStart = max(0, first - 1)
        let windowEnd = min(count, after + 1)
        var output = 0
        var overflow = false
        var zeroed: [(UInt64, UInt64)] = []
        func emit(_ lower: UInt64, _ upper: UInt64, _ pieceCount: Int) {
            guard upper > lower else { return }
            guard pieceCount > 0 else {
                if let previous = zeroed.last, previous.1 == lower { zeroed[zeroed.count - 1].1 = upper } else { zeroed.append((lower, upper)) }
                return
            }
            if output > 0, scratch[output - 1].end == lower, scratch[output - 1].count == pieceCount {
                scratch[output - 1].end = upper
                return
            }
            guard output < capacity else { overflow = true; return }
            scratch[output] = Segment(start: lower, end: upper, count: pieceCount)
            output += 1
        }
        func emitGap(_ lower: UInt64, _ upper: UInt64) {
            emit(max(lower, start), min(upper, end), 1)
        }
        var previousEnd: UInt64 = windowStart > 0 ? segments[windowStart - 1].end : 0
        for index in windowStart..<windowEnd {
            let segment = segments[index]
            if delta > 0 { emitGap(previousEnd, segment.start) }
            let middleStart = min(max(segment.start, start), segment.end)
            let middleEnd = max(min(segment.end, end), middleStart)
            emit(segment.start, middleStart, segment.count)
            emit(middleStart, middleEnd, segment.count + delta)
            emit(middleEnd, segment.end, segment.count)
            previousEnd = segment.end
        }
        if delta > 0 { emitGap(previousEnd, windowEnd < count ? segments[windowEnd].start : .max) }
        let tail = count - windowEnd
        let newCount = windowStart + output + tail
        if overflow || newCount > capacity { return false }
        // Move the tail, then copy the rewritten window in.
        (segments + windowStart + output).moveInitialize(from: segments + windowEnd, count: tail)
        (segments + windowStart).update(from: scratch, count: output)
        count = newCount
        for (lower, upper) in zeroed { released(lower, upper) }
        return true
    }

    /// The first index in `0..<count` for which `predicate` holds (it must be
    /// false then true along the sorted segments), or `count`.
    private func firstIndex(where predicate: (Int) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(middle) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Empties the table; calls `body` with each segment first.
    func removeAll(_ body: (Segment) -> Void) {
        for index in 0..<count { body(segments[index]) }
        count = 0
    }
}
