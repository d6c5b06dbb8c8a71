import Foundation
import IntervalNotifier
import Synchronization
import NotifierHarness

// Shared helpers of the test suites: the brute-force model of the tree, random
// intervals, and threads that tests can join with a timeout.

// MARK: Ordering and the brute-force model

/// The tree's key order: `(start, last, value)` lexicographically.
func entryPrecedes(_ a: IntervalTreeEntry, _ b: IntervalTreeEntry) -> Bool {
    (a.start, a.last, a.value) < (b.start, b.last, b.value)
}

/// Whether `entries` is sorted in key order (duplicates adjacent are fine).
func isInKeyOrder(_ entries: [IntervalTreeEntry]) -> Bool {
    zip(entries, entries.dropFirst()).allSatisfy { !entryPrecedes($1, $0) }
}

/// The tree as an unordered array of entries (a multiset): every query is a scan.
struct BruteForceIntervals {
    private(set) var entries: [IntervalTreeEntry] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func insert(_ entry: IntervalTreeEntry) { entries.append(entry) }

    /// Removes one entry equal to `entry`; false if there is none.
    @discardableResult
    mutating func remove(_ entry: IntervalTreeEntry) -> Bool {
        guard let index = entries.firstIndex(of: entry) else { return false }
        entries.swapAt(index, entries.count - 1)
        entries.removeLast()
        return true
    }

    mutating func removeAll() { entries.removeAll() }

    func contains(_ entry: IntervalTreeEntry) -> Bool { entries.contains(entry) }

    /// Every entry, in key order.
    func sorted() -> [IntervalTreeEntry] { entries.sorted(by: entryPrecedes) }

    /// The entries overlapping `[start, last]`, in key order.
    func overlapping(start: UInt64, last: UInt64) -> [IntervalTreeEntry] {
        entries.filter { $0.overlaps(start: start, last: last) }.sorted(by: entryPrecedes)
    }

    /// The overlapping entry with the lowest key.
    func firstOverlapping(start: UInt64, last: UInt64) -> IntervalTreeEntry? {
        entries.filter { $0.overlaps(start: start, last: last) }.min(by: entryPrecedes)
    }

    func countOverlapping(start: UInt64, last: UInt64) -> Int {
        entries.reduce(0) { $0 + ($1.overlaps(start: start, last: last) ? 1 : 0) }
    }

    func countContaining(_ point: UInt64) -> Int { countOverlapping(start: point, last: point) }
}

// MARK: Random numbers

extension Xorshift64 {
    /// Uniform-ish in `0..<bound` (modulo bias is irrelevant here). `bound > 0`.
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// Uniform-ish in `range` (closed), including the full `0...UInt64.max`.
    mutating func inRange(_ range: ClosedRange<UInt64>) -> UInt64 {
        let width = range.upperBound &- range.lowerBound
        if width == .max { return next() }
        return range.lowerBound + next() % (width + 1)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }

    /// A random element of a non-empty array.
    mutating func element<T>(of array: [T]) -> T { array[Int(next() % UInt64(array.count))] }
}

// MARK: Threads

/// A Foundation thread that a test can join with a timeout, so that a hang shows
/// up as a failed expectation rather than a stuck test run.
final class JoinableThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let done = Atomic<Bool>(false)

    /// Starts `body` on a new thread at once.
    init(name: String = "test", _ body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        let thread = Thread { [self] in
            body()
            done.store(true, ordering: .releasing)
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Whether the thread's body has returned.
    var isFinished: Bool { done.load(ordering: .acquiring) }

    /// Waits for the thread's body to return; false if it did not within `seconds`.
    @discardableResult
    func join(timeoutSeconds seconds: Double = 60) -> Bool {
        finished.wait(timeout: .now() + seconds) == .success
    }
}

/// Runs `body` on a fresh thread and waits for it; false if it did not finish
/// within `seconds` (the thread is then abandoned).
func completes(withinSeconds seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    JoinableThread(name: "completes-within", body).join(timeoutSeconds: seconds)
}

/// Failures found on threads other than the test's: recorded there, asserted on
/// the test's thread (Swift Testing attributes issues to the test's task).
final class FailureLog: Sendable {
    private let messages = TestMutex<[String]>([])
    private let total = Atomic<Int>(0)

    func record(_ message: String) {
        total.add(1, ordering: .relaxed)
        messages.withLock { if $0.count < 10 { $0.append(message) } }
    }

    /// Number of failures recorded.
    var count: Int { total.load(ordering: .relaxed) }

    /// The first few messages.
    var firstMessages: [String] { messages.withLock { $0 } }
}

/// A monotonically increasing counter shared between threads.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    @discardableResult
    func increment(by amount: Int = 1) -> Int { value.add(amount, ordering: .sequentiallyConsistent).newValue }

    var current: Int { value.load(ordering: .sequentiallyConsistent) }
}

/// A flag shared between threads.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }

    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// Monotonic time in seconds, for run-time budgets (never for assertions on speed).
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Sleeps the calling thread.
func sleep(milliseconds: Int) {
    usleep(UInt32(milliseconds * 1000))
}

// MARK: Sanitizers

/// Whether this test process runs under ThreadSanitizer (its runtime exports
/// `__tsan_init`): some tests cannot run there, and say so when they skip.
let runningUnderThreadSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil

/// Whether this test process runs under AddressSanitizer (its runtime exports
/// `__asan_init`).
let runningUnderAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
