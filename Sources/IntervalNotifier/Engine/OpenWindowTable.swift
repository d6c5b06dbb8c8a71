#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The invalidations in flight of one registry, with the thread that started
/// each (registry lock held for every access).
///
/// Two jobs, both off the fast paths: ``AddressSpace/invalidateRangeEnd(_:)``
/// finds the start it ends (an end without a start, a second end, or an end
/// after a start that threw ``NotifierError/wouldBlock`` finds none and throws);
/// and calls that would wait for a window ask whether the calling thread opened
/// one itself (it would wait for itself forever: the kernel relies on lockdep,
/// this checks at run time).
///
/// Manually allocated and grown by doubling, so that the invalidation path
/// allocates nothing once the table has room for the invalidators in flight.
struct OpenWindowTable: ~Copyable {
    /// One started, not yet ended invalidation.
    struct Entry {
        var thread: pthread_t
        var start: UInt64
        var last: UInt64
    }

    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    /// Number of entries (equals the registry's `active`).
    private(set) var count = 0

    init() {
        capacity = 4
        entries = .allocate(capacity: capacity)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
    }

    /// Records that the calling thread started invalidating `[start, last]`.
    mutating func open(start: UInt64, last: UInt64) {
        if _slowPath(count == capacity) { grow() }
        (entries + count).initialize(to: Entry(thread: pthread_self(), start: start, last: last))
        count += 1
    }

    /// Forgets the start that an end of `[start, last]` closes: one started by
    /// the calling thread if there is one, else one started by another thread
    /// (starting and ending on different threads is allowed).
    /// - Returns: false when no invalidation of that range is in flight.
    mutating func close(start: UInt64, last: UInt64) -> Bool {
        let me = pthread_self()
        var match = -1
        for index in 0..<count where entries[index].start == start && entries[index].last == last {
            match = index
            if pthread_equal(entries[index].thread, me) != 0 { break }
        }
        guard match >= 0 else { return false }
        count -= 1
        entries[match] = entries[count]
        (entries + count).deinitialize(count: 1)
        return true
    }

    /// Whether the calling thread has started an invalidation that has not ended.
    func isOpenedByCurrentThread() -> Bool {
        let me = pthread_self()
        for index in 0..<count where pthread_equal(entries[index].thread, me) != 0 { return true }
        return false
    }

    /// Forgets every entry (teardown of a dropped address space).
    mutating func removeAll() {
        entries.deinitialize(count: count)
        count = 0
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: entries, count: count)
        entries.deallocate()
        entries = bigger
        capacity *= 2
    }
}
