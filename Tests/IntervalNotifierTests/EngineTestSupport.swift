import Foundation
import Synchronization
@testable import IntervalNotifier

/// Sleeps the calling thread.
func sleepMilliseconds(_ ms: Int) { usleep(useconds_t(ms * 1000)) }

/// Waits (polling) until `condition` holds or `seconds` pass; returns whether it held.
func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// Records every invalidate callback of the subscriptions it creates, and can
/// hold callbacks on a semaphore to build deterministic interleavings.
final class CallbackRecorder: @unchecked Sendable {
    struct Call: Sendable { var start: UInt64; var last: UInt64; var range: InvalidationRange; var sequence: UInt64 }
    private let mutex = TestMutex<[Call]>([])
    /// When set, callbacks signal `entered` and then wait on `gate`.
    let holdCallbacks = Atomic<Bool>(false)
    let entered = DispatchSemaphore(value: 0)
    let gate = DispatchSemaphore(value: 0)
    /// The value callbacks return (false simulates "would block").
    let answer = Atomic<Bool>(true)
    /// Subscriptions (by start) whose callback returns false.
    let refuseStarts = TestMutex<Set<UInt64>>([])

    var calls: [Call] { mutex.withLock { $0 } }
    func reset() { mutex.withLock { $0.removeAll() } }

    var callback: InvalidateCallback {
        { [self] subscription, range, sequence in
            subscription.setSequence(sequence)
            mutex.withLock { $0.append(Call(start: subscription.start, last: subscription.last, range: range, sequence: sequence)) }
            if holdCallbacks.load(ordering: .acquiring) {
                entered.signal()
                gate.wait()
            }
            if refuseStarts.withLock({ $0.contains(subscription.start) }) { return false }
            return answer.load(ordering: .relaxed)
        }
    }
}

extension AddressSpace {
    func subscribe(_ start: UInt64, _ length: UInt64, _ recorder: CallbackRecorder) throws -> IntervalSubscription {
        try insert(start: start, length: length, invalidate: recorder.callback)
    }
}

func range(_ start: UInt64, _ end: UInt64, _ event: InvalidationEvent = .unmap, blockable: Bool = true) -> InvalidationRange {
    try! InvalidationRange(start: start, end: end, event: event, blockable: blockable)
}
