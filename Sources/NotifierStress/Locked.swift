import IntervalNotifier

/// A value behind a `PThreadMutex`. The harness uses it rather than
/// `Synchronization.Mutex`, whose slow unlock path ThreadSanitizer cannot see
/// (a known false positive, see shared/swift-notes.md), so TSan runs stay clean.
final class Locked<Value>: @unchecked Sendable {
    private let mutex = PThreadMutex()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
    }
}
