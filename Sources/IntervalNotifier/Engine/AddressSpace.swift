/// A registry of interval subscriptions over a 64-bit address space, with the
/// semantics of the Linux kernel's `mmu_interval_notifier` (the kernel's `mm`
/// and its `struct mmu_notifier_subscriptions`).
///
/// ## Ownership
/// As in the kernel, a subscription pins what it needs of its address space
/// (the registry: sequence, lock, tree), and teardown releases everything; as a
/// Swift user expects, dropping the last reference frees the memory:
/// - The ``AddressSpace`` object is yours. While it lives, it keeps every
///   registered subscription alive (you may drop your references to them).
/// - When the last reference to it goes, it is torn down, as the kernel's
///   `exit_mmap` does: an invalidation window still open (started and never
///   ended) is closed, every subscription gets one ``InvalidationEvent/release``
///   invalidation unless ``release()`` ran already, and then every subscription
///   is detached and the registry's references to them dropped. Subscriptions
///   you still hold stay valid objects: ``IntervalSubscription/readBegin()``
///   throws ``NotifierError/addressSpaceReleased``, ``IntervalSubscription/readRetry(_:)``
///   returns true, ``IntervalSubscription/addressSpace`` is nil.
/// - Pending ``put(_:release:)`` release callbacks still run, exactly once,
///   before the memory they hold goes.
/// - Tree nodes retired by updates are freed after their grace period, also
///   after the address space is gone.
/// - Your cycle: an invalidate callback that captures its own address space
///   strongly keeps the space alive for as long as the subscription is
///   registered, and the subscription registered for as long as the space is
///   alive. Capture it `weak` (or capture only what the callback needs).
///
/// ## State
/// - `sequence` (the kernel's `invalidate_seq`): starts at 2; even while no
///   subscription is being invalidated, odd during an invalidation window.
/// - `active` (`active_invalidate_ranges`): invalidations in flight.
/// - the interval tree of subscriptions, and the deferred list of inserts,
///   removes and updates that arrive while the tree is frozen.
///
/// | state | active | sequence | tree |
/// |---|---|---|---|
/// | idle | 0 | even | changes at once |
/// | partially excluded | > 0 | even | changes at once (no range in flight touches a subscription) |
/// | invalidating | > 0 | odd | frozen: inserts, removes and updates are deferred |
///
/// ## Calls that would wait for themselves
/// The kernel relies on lockdep to find a thread that waits for its own
/// invalidation; here they are refused at run time with an error:
/// - inside an invalidate callback of this space: ``remove(_:)``, ``release()``,
///   ``synchronize()``, ``IntervalSubscription/readBegin()`` throw
///   ``NotifierError/calledFromInvalidateCallback(operation:)``;
/// - on a thread with an invalidation of this space in flight (start returned,
///   end not called): ``remove(_:)``, ``release()``, ``synchronize()``, and a
///   ``IntervalSubscription/readBegin()`` that would have to wait, throw
///   ``NotifierError/calledInsideOwnWindow(operation:)``;
/// - ``synchronize()`` in a release callback or inside a lookup throws
///   ``NotifierError/calledFromReleaseCallback(operation:)`` or
///   ``NotifierError/calledInsideLookup(operation:)``.
/// ``insert(start:length:invalidate:)``, ``put(_:release:)`` and
/// ``update(_:start:length:)`` never wait: inside a window (or a callback)
/// they are deferred to the end of the window, as the kernel defers inserts.
///
/// ## Locking
/// One registry lock (the kernel's `subscriptions->lock`; its kind depends on the
/// ``RegistryStrategy``) guards `active`, the deferred list, tree changes and
/// every write of `sequence`. A separate wait queue (mutex and condition
/// variable) is the kernel's `subscriptions->wq`. Invalidate callbacks run
/// without either lock, on the frozen tree. With the RCU strategies, readers
/// (the ``IntervalSubscription/readBegin()`` fast path and lookups) take no
/// lock; the other strategies take the registry lock (shared where it has a
/// shared mode) on those paths.
///
/// ## Memory ordering
/// `sequence` is written only under the lock and read without it with acquiring
/// loads. ``IntervalSubscription/readBegin()`` reads the subscription's sequence
/// (acquiring) and then the address space's. If it sees the odd value X that an
/// invalidate callback stored with ``IntervalSubscription/setSequence(_:)``
/// (releasing), the address space's sequence was X before that store, so the
/// second load returns X (window still open: wait) or a later value (window
/// closed). Any other interleaving is caught later by
/// ``IntervalSubscription/readRetry(_:)`` under the user lock, as in the kernel.
public final class AddressSpace: @unchecked Sendable {
    /// The engine: what subscriptions keep alive after this object is gone.
    @usableFromInline let registry: SubscriptionRegistry

    /// How this address space synchronises readers and updaters.
    public var strategy: RegistryStrategy { registry.strategy }

    /// Creates an empty address space.
    ///
    /// - Parameters:
    ///   - strategy: how readers and updaters are kept apart (default `rcu(.memb)`).
    ///   - initialSequence: the starting sequence, which must be even
    ///     (default 2, as in the kernel). Tests start it near `UInt64.max` to
    ///     exercise wraparound. An odd value is a programming error: it traps
    ///     with a message, in release builds too.
    public init(strategy: RegistryStrategy = .default, initialSequence: UInt64 = 2) {
        if initialSequence & 1 == 1 {
            fatalError("AddressSpace(initialSequence: \(initialSequence)): the initial sequence must be even (an odd sequence means an invalidation window is open)")
        }
        registry = SubscriptionRegistry(strategy: strategy, initialSequence: initialSequence, injectedFaults: [])
        registry.owner = self
    }

    /// Creates an address space with deliberate protocol bugs, so that tests can
    /// prove the stress oracle catches them. Never use outside tests.
    package init(injectedFaults: InjectedFaults, strategy: RegistryStrategy = .default, initialSequence: UInt64 = 2) {
        registry = SubscriptionRegistry(strategy: strategy, initialSequence: initialSequence, injectedFaults: injectedFaults)
        registry.owner = self
    }

    deinit {
        registry.detachAll()
        // Bounded memory for programs that create and drop spaces faster than
        // grace periods complete (see `RCUCallbackQueue.throttleIfBacklogged`).
        registry.callbackQueue.throttleIfBacklogged()
    }

    /// Deliberate bugs for oracle tests (see `init(injectedFaults:)`).
    package struct InjectedFaults: OptionSet, Sendable {
        /// The bits of the set (one per injected fault).
        package let rawValue: Int
        /// Creates the set from its bits.
        package init(rawValue: Int) { self.rawValue = rawValue }
        /// `remove` returns at once during a window instead of waiting for it.
        package static let removeDoesNotWait = InjectedFaults(rawValue: 1)
        /// Inserts during a window enter the tree at once instead of being deferred.
        package static let applyInsertsDuringWindow = InjectedFaults(rawValue: 2)
    }

    // MARK: Insert

    /// Registers a subscription to invalidations of `[start, start + length - 1]`
    /// (`mmu_interval_notifier_insert`).
    ///
    /// On return the subscription is registered: idle, it is in the tree with an
    /// odd sequence that is not current; during a partial exclusion it is in the
    /// tree and the address space's sequence is made odd (the ranges in flight may
    /// cover it); during an invalidation window (also from an invalidate
    /// callback, or on a thread with an invalidation in flight) it waits on the
    /// deferred list and enters the tree when the window closes, and
    /// ``IntervalSubscription/readBegin()`` on it sleeps until then. Insert never
    /// waits, so it is never refused as a self-wait.
    ///
    /// - Throws: ``NotifierError/emptyRange(start:)`` for `length == 0`,
    ///   ``NotifierError/rangeOverflow(start:length:)`` when the last address does
    ///   not fit, ``NotifierError/addressSpaceReleased`` after ``release()``.
    /// - Complexity: O(log n).
    public func insert(start: UInt64, length: UInt64, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        let last = try Self.lastAddress(start: start, length: length)
        return try registry.insert(start: start, last: last, invalidate: invalidate)
    }

    /// Registers a subscription to invalidations of the closed interval
    /// `[start, last]`; see ``insert(start:length:invalidate:)``.
    public func insert(start: UInt64, last: UInt64, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        try registry.insert(start: start, last: last, invalidate: invalidate)
    }

    /// ``insert(start:length:invalidate:)`` for the C API: the subscription also
    /// carries the caller's `void *` context as its context word
    /// (``IntervalSubscription/context``), so that a lookup can return it.
    package func insert(start: UInt64, length: UInt64, foreignContext: UnsafeMutableRawPointer?, invalidate: @escaping InvalidateCallback) throws(NotifierError) -> IntervalSubscription {
        let last = try Self.lastAddress(start: start, length: length)
        return try registry.insert(start: start, last: last, context: UInt(bitPattern: foreignContext), invalidate: invalidate)
    }

    /// `start + length - 1`, or the error for an empty or overflowing range.
    private static func lastAddress(start: UInt64, length: UInt64) throws(NotifierError) -> UInt64 {
        guard length > 0 else { throw .emptyRange(start: start) }
        let (last, overflow) = start.addingReportingOverflow(length - 1)
        guard !overflow else { throw .rangeOverflow(start: start, length: length) }
        return last
    }

    // MARK: Remove, put, update

    /// Unregisters `subscription` and waits until no callback for it runs
    /// (`mmu_interval_notifier_remove`). On return no invalidate callback for it
    /// is running and none will start.
    ///
    /// During an invalidation window a subscription in the tree is queued for
    /// removal and the call sleeps until the window closes, re-reading the
    /// sequence under the same lock as the end-of-window step (the kernel's 2022
    /// fix: a lockless re-read could return before the deferred list is applied).
    /// Call it without holding any lock an invalidate callback takes.
    ///
    /// - Throws: ``NotifierError/notRegistered`` (double remove, or after
    ///   ``put(_:release:)``), ``NotifierError/foreignSubscription``,
    ///   ``NotifierError/calledFromInvalidateCallback(operation:)``,
    ///   ``NotifierError/calledInsideOwnWindow(operation:)``.
    public func remove(_ subscription: IntervalSubscription) throws(NotifierError) {
        try registry.unlink(subscription, operation: .remove, release: nil)
    }

    /// Unregisters `subscription` without waiting, and calls `release` once no
    /// callback for it can run any more: after the current invalidation window
    /// closes and an RCU grace period passes (the kernel's `mmu_notifier_put`,
    /// for interval subscriptions). ``synchronize()`` waits for pending releases.
    ///
    /// Allowed from any invalidate callback of this space, for any subscription
    /// (the one being called included), and on a thread with an invalidation in
    /// flight: the subscription leaves the tree when the current window closes
    /// (until then its callback may still be called for ranges of that window;
    /// never after), then `release` runs. A `put` supersedes an
    /// ``update(_:start:length:)`` still pending in the same window.
    ///
    /// `release` runs on the RCU callback thread; it must not wait for a grace
    /// period (``synchronize()`` there throws).
    /// - Throws: ``NotifierError/notRegistered``, ``NotifierError/foreignSubscription``.
    public func put(_ subscription: IntervalSubscription, release: @escaping ReleaseCallback) throws(NotifierError) {
        try registry.unlink(subscription, operation: .put, release: release)
    }

    /// Changes the range of `subscription` to `[start, start + length - 1]`
    /// (what the 2019 LKML series "make interval notifier updates safe" asked
    /// for: a device or cache that learns inside its callback that part of a
    /// region is gone shrinks or moves it there).
    ///
    /// - Outside a window it takes effect at once, in one tree publication:
    ///   a concurrent lookup finds the subscription at its old range or at its
    ///   new one, never at neither.
    /// - During a window (from an invalidate callback, or any thread while the
    ///   sequence is odd) the tree is frozen: the update is applied when the
    ///   window closes, like a deferred insert. A second update in the same
    ///   window replaces the first (the last one wins); a ``put(_:release:)`` or
    ///   ``remove(_:)`` cancels it.
    /// - The sequence: the subscription gets a sequence that no reader holds, so
    ///   every read-side region begun before the update retries
    ///   (``IntervalSubscription/readRetry(_:)`` returns true), whether or not
    ///   its address left the range; one begun after sees the new range.
    ///
    /// Parallel updates: every update (and every insert, remove and put) runs
    /// under the registry lock, and an update changes the tree and the sequence
    /// in one locked section, so concurrent updates of one subscription are
    /// applied one after the other, each whole; the last to take the lock wins.
    /// An invalidation in flight sees the tree as frozen when its window opened.
    ///
    /// - Throws: ``NotifierError/emptyRange(start:)``,
    ///   ``NotifierError/rangeOverflow(start:length:)``,
    ///   ``NotifierError/notRegistered`` (removed, put, or removal pending),
    ///   ``NotifierError/foreignSubscription``, ``NotifierError/addressSpaceReleased``.
    /// - Complexity: O(log n).
    public func update(_ subscription: IntervalSubscription, start: UInt64, length: UInt64) throws(NotifierError) {
        let last = try Self.lastAddress(start: start, length: length)
        try registry.update(subscription, start: start, last: last)
    }

    /// Changes the range of `subscription` to the closed interval `[start, last]`;
    /// see ``update(_:start:length:)``.
    public func update(_ subscription: IntervalSubscription, start: UInt64, last: UInt64) throws(NotifierError) {
        try registry.update(subscription, start: start, last: last)
    }

    /// Waits until every release callback of an earlier ``put(_:release:)`` has
    /// run (the kernel's `mmu_notifier_synchronize`), and until the registry has
    /// dropped its references to every subscription removed before the call.
    /// Call it before freeing what release callbacks use.
    ///
    /// - Throws: ``NotifierError/calledFromInvalidateCallback(operation:)``,
    ///   ``NotifierError/calledInsideOwnWindow(operation:)``,
    ///   ``NotifierError/calledFromReleaseCallback(operation:)``,
    ///   ``NotifierError/calledInsideLookup(operation:)``: each would wait for itself.
    public func synchronize() throws(NotifierError) {
        try registry.synchronize()
    }

    // MARK: Invalidation

    /// Starts invalidating `range` (`mmu_notifier_invalidate_range_start` for
    /// interval subscriptions) and calls the invalidate callback of every
    /// subscription that overlaps it, on the calling thread.
    ///
    /// Under the lock: `active += 1`; if a subscription overlaps, the sequence is
    /// made odd (the window opens and the tree freezes). Then, without the lock,
    /// each overlapping subscription's callback gets the window's sequence.
    /// Pair every successful call with ``invalidateRangeEnd(_:)`` of the same
    /// range (on any thread); the window closes when every invalidation in
    /// flight has ended.
    ///
    /// - Throws: ``NotifierError/wouldBlock`` when `range` is not blockable and a
    ///   callback returned false: the walk stopped there and the range was ended
    ///   already (`active` is back to its value before): do not call end.
    ///   A false return on a blockable range is a callback bug: it is counted in
    ///   ``AddressSpaceStatistics/blockableCallbackFailures`` and the walk goes on.
    /// - Complexity: O(log n + k) for k overlapping subscriptions, plus the callbacks.
    public func invalidateRangeStart(_ range: InvalidationRange) throws(NotifierError) {
        try registry.invalidateRangeStart(range)
    }

    /// Ends an invalidation started by ``invalidateRangeStart(_:)``
    /// (`mmu_notifier_invalidate_range_end`).
    ///
    /// When it is the last invalidation in flight and the window is open, the
    /// sequence becomes even, the deferred list is applied (pending inserts enter
    /// the tree, pending removes and puts leave it, pending updates move), and
    /// every waiter wakes.
    ///
    /// - Throws: ``NotifierError/unbalancedInvalidateEnd(start:last:)`` when no
    ///   invalidation of this range is in flight (never started, ended twice, or
    ///   its start threw ``NotifierError/wouldBlock``); nothing changes then.
    public func invalidateRangeEnd(_ range: InvalidationRange) throws(NotifierError) {
        try registry.invalidateRangeEnd(range)
    }

    /// Tears the address space down (the kernel's `mn_itree_release` at
    /// `exit_mmap`): invalidates every subscription once with event
    /// ``InvalidationEvent/release`` over `[0, UInt64.max]`, blockable, then ends.
    ///
    /// Subscriptions stay registered (remove them as usual); later inserts throw
    /// ``NotifierError/addressSpaceReleased``. Idempotent: a second call delivers
    /// nothing. It waits for an open invalidation window to close first, so that
    /// every subscription accepted before it (also deferred ones) is in the tree
    /// and gets exactly one release event. Dropping the address space does the
    /// same (see "Ownership").
    ///
    /// - Throws: ``NotifierError/calledFromInvalidateCallback(operation:)``,
    ///   ``NotifierError/calledInsideOwnWindow(operation:)``.
    public func release() throws(NotifierError) {
        try registry.release()
    }

    /// Whether ``release()`` has run.
    public var isTornDown: Bool { registry.withLock { $0.isReleased } }

    // MARK: Lookups

    /// Calls `body` with each subscription overlapping `[start, last]`, in
    /// address order, until it returns false; no lock is taken with the RCU
    /// strategies (RCU read-side section). This is the fault path's lookup.
    ///
    /// `body` must not block, wait for a grace period, or keep the subscription
    /// beyond the call without its own strong reference; it may call
    /// ``IntervalSubscription/readBegin()`` only if that cannot sleep for long.
    /// - Returns: false if `body` stopped the walk.
    /// - Complexity: O(log n + k); no allocation, no reference counting.
    @inlinable
    @discardableResult
    public func forEachSubscription(overlapping start: UInt64, last: UInt64, _ body: (IntervalSubscription) throws -> Bool) rethrows -> Bool {
        try registry.forEachSubscription(overlapping: start, last: last, body)
    }

    /// Calls `body` with the lowest subscription containing `address` (or nil),
    /// inside an RCU read-side section, without a lock (RCU strategies).
    /// - Complexity: O(log n); no allocation, no reference counting.
    @inlinable
    public func withSubscription<Result>(containing address: UInt64, _ body: (IntervalSubscription?) throws -> Result) rethrows -> Result {
        try registry.withSubscription(containing: address, body)
    }

    /// Number of subscriptions in the tree (excluding pending inserts).
    public var subscriptionCount: Int { registry.tree.count }

    // MARK: Observing

    /// The counters so far (taken under the lock).
    public var statistics: AddressSpaceStatistics { registry.statistics }

    /// The current state (taken under the lock).
    public var state: AddressSpaceState { registry.stateSummary }
}
