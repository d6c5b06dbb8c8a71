extension SubscriptionRegistry {
    /// Sleeps until `condition`, evaluated with the registry lock held
    /// exclusively, is true (the kernel's `wait_event(subscriptions->wq, ...)`
    /// whose condition takes `subscriptions->lock`).
    ///
    /// The wait queue has a lock of its own, so that the registry lock can be a
    /// spinlock, an rwlock or a `Mutex` (none of which has a condition variable).
    /// Lock order: wait queue, then registry. No wakeup is lost: a waiter counts
    /// itself and evaluates the condition while holding the wait-queue lock; a
    /// waker changes the state under the registry lock, releases it, and then
    /// reads the count (see ``wakeWaiters()``); either the waiter's registry
    /// section comes after the change (it sees the new state) or before it (the
    /// registry lock orders the count's increment before the waker's read, and
    /// the waker's broadcast needs the wait-queue lock, which the waiter releases
    /// only by sleeping).
    ///
    /// An online qsbr reader stays online: it may be inside a lookup's body and
    /// hold a subscription that only the read-side protection keeps alive, and
    /// nothing that closes a window waits for a grace period, so sleeping online
    /// only delays reclamation.
    func waitUntil(_ condition: (inout RegistryState) -> Bool) {
        waitUntil(condition, thenLocked: { _ in })
    }

    /// ``waitUntil(_:)``, then `body` in the same locked section in which
    /// `condition` was found true; returns what `body` returns.
    func waitUntil<Result>(_ condition: (inout RegistryState) -> Bool, thenLocked body: (inout RegistryState) -> Result) -> Result {
        waitQueue.lock()
        // Sequentially consistent: see above; pairs with the load in `wakeWaiters`.
        waiterCount.add(1, ordering: .sequentiallyConsistent)
        var result: Result?
        while true {
            result = withLock { state in condition(&state) ? body(&state) : nil }
            if result != nil { break }
            waitQueue.wait()
        }
        // Relaxed: only a hint that a broadcast may be needed.
        waiterCount.subtract(1, ordering: .relaxed)
        waitQueue.unlock()
        return result!
    }

    /// Wakes every waiter of ``waitUntil(_:)`` (the kernel's `wake_up_all`).
    /// Call after releasing the registry lock, once the state they wait for changed.
    func wakeWaiters() {
        // Sequentially consistent: pairs with the increment in `waitUntil`.
        guard waiterCount.load(ordering: .sequentiallyConsistent) > 0 else { return }
        waitQueue.lock()
        waitQueue.broadcast()
        waitQueue.unlock()
    }
}
