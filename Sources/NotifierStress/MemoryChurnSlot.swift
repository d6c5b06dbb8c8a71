#if canImport(Glibc)
import Glibc
#endif
import CNotifierHarness
import IntervalNotifier
import Synchronization

/// One page of real memory under the userfaultfd stress: the subscription on
/// it, its mirror (the value a hitter caches, like a registration cache's
/// entry) and the seqlock-published truth the oracle compares against.
///
/// Only the slot's mutator changes the page. It makes `version` odd, changes
/// the page (munmap, madvise, mremap), waits for the monitor (`flush`), stores
/// the page's new value in `published` and makes `version` even again. A get
/// that saw the same even version before and after it began and ended
/// overlapped no change: the value it returns must equal `published`.
final class MemoryChurnSlot: @unchecked Sendable {
    /// The page's address.
    let address: UInt64
    /// The value the page holds when no mutation is in flight (0 after a discard).
    let published = Atomic<UInt64>(0)
    /// Odd while a mutation is in flight.
    let version = Atomic<UInt64>(0)
    /// The last mutations of the slot, 4 bits each, newest lowest (for violation reports).
    let history = Atomic<UInt64>(0)
    /// Invalidations delivered to this slot's subscription.
    let invalidations = Atomic<Int>(0)
    /// The user lock of the read-side protocol: orders `setSequence` in the
    /// callback against `readRetry` in the refill, and guards the mirror.
    let lock = PThreadMutex()
    /// The mirror (guarded by `lock`).
    nonisolated(unsafe) var mirrorValid = false
    nonisolated(unsafe) var mirrorValue: UInt64 = 0
    /// The subscription on `[address, address + page - 1]` (set once at start).
    nonisolated(unsafe) var subscription: IntervalSubscription?

    init(address: UInt64) {
        self.address = address
    }

    /// The invalidate callback: the mirror is dropped under the user lock.
    func invalidate(_ subscription: IntervalSubscription, _ sequence: UInt64) -> Bool {
        lock.lock()
        subscription.setSequence(sequence)
        mirrorValid = false
        lock.unlock()
        // Releasing: the mutator's "invalidated yet?" probe reads this after its call returns.
        invalidations.add(1, ordering: .releasing)
        return true
    }

    /// What a get found.
    enum Lookup: Equatable {
        /// A cached value (no work).
        case hit(UInt64)
        /// A value read from the page and cached now.
        case filled(UInt64)
        /// The page is not mapped right now (nothing cached).
        case absent
    }

    /// A get: the mirror if valid, else a fill under the read-side protocol
    /// (readBegin, read the page, lock, readRetry, install). `retries` counts
    /// collisions with invalidations.
    func get(retries: inout Int) -> Lookup {
        lock.lock()
        if mirrorValid {
            let value = mirrorValue
            lock.unlock()
            return .hit(value)
        }
        lock.unlock()
        guard let subscription else { return .absent }
        while true {
            guard let sequence = try? subscription.readBegin() else { return .absent }
            var value: UInt64 = 0
            let copied = cnp_read_own_memory(UnsafeRawPointer(bitPattern: UInt(address)), &value, 8)
            lock.lock()
            if subscription.readRetry(sequence) {
                lock.unlock()
                retries += 1
                continue
            }
            if copied != 8 {
                // Unmapped right now: a mirror never caches absence (mapping new
                // memory raises no invalidation).
                lock.unlock()
                return .absent
            }
            mirrorValue = value
            mirrorValid = true
            lock.unlock()
            return .filled(value)
        }
    }
}
