/// The userspace RCU flavour that protects lock-free readers of an ``AddressSpace``
/// using the ``RegistryStrategy/rcu(_:)`` strategy.
public enum RCUFlavor: String, Sendable, Hashable, CaseIterable {
    /// liburcu's memb flavour (the default): any thread may read at any time; a
    /// read-side section costs about 1 ns; grace periods use `membarrier(2)`.
    case memb
    /// liburcu's qsbr flavour: read-side sections are free, but reader threads
    /// must announce quiescent states. A thread that has not gone online with
    /// ``RegistryStrategy/readerThreadOnline()`` pays an online/offline pair (two
    /// full barriers) per lookup instead; see "The qsbr contract" in <doc:ChoosingAStrategy>.
    case qsbr
    /// liburcu's bp ("bulletproof") flavour: memb's read side, and no thread
    /// ever needs registering (liburcu-bp registers a thread at its first read
    /// and unregisters it at exit), for code embedded in someone else's process;
    /// see <doc:ChoosingAStrategy>.
    case bp
    /// liburcu's mb flavour: a full memory barrier at each end of a read-side
    /// section, so grace periods need no `membarrier(2)`.
    case mb
}

/// How an ``AddressSpace`` keeps its lock-free (or locked) readers and its
/// updaters apart. Every strategy implements the same `mmu_interval_notifier`
/// semantics and passes the same tests; they differ in what the read paths
/// (subscription lookups and ``IntervalSubscription/readBegin()``) cost and in how
/// they scale.
///
/// | strategy | update-side lock | lookups | `readBegin` | tree memory |
/// |---|---|---|---|---|
/// | `rcu(memb)`, `rcu(qsbr)`, `rcu(bp)`, `rcu(mb)` | `Mutex` | RCU read-side section, no lock | lock-free | reused after a grace period |
/// | `kernel` | spinlock | take the spinlock | takes the spinlock (as the kernel) | reused at once |
/// | `rwlock` | `pthread_rwlock` for writing | read lock | read lock | reused at once |
/// | `mutex` | one `Synchronization.Mutex` | the mutex | the mutex | reused at once |
///
/// In every strategy the invalidation walk runs without the lock, on the tree
/// frozen by the odd sequence, as the kernel's does, so invalidate callbacks may
/// sleep and take user locks that fault paths hold around lookups.
public enum RegistryStrategy: Sendable, Hashable, CustomStringConvertible {
    /// Lookups and `readBegin` under userspace RCU: no lock on any read path.
    case rcu(RCUFlavor)
    /// A port of the kernel's scheme: one spinlock guards the sequence, the
    /// in-flight count, the deferred list and tree changes; without RCU, lookups
    /// take the spinlock too.
    case kernel
    /// A `pthread_rwlock`: readers share it, updaters take it for writing.
    case rwlock
    /// One `Mutex` for everything: the baseline a newcomer writes first.
    case mutex

    /// The default strategy: `rcu(.memb)`.
    public static let `default` = RegistryStrategy.rcu(.memb)

    /// Every strategy, default first.
    public static let allCases: [RegistryStrategy] = [.rcu(.memb), .rcu(.qsbr), .rcu(.bp), .rcu(.mb), .kernel, .rwlock, .mutex]

    /// Short name used by the command-line tools and in results: `rcu`,
    /// `rcu-qsbr`, `rcu-bp`, `rcu-mb`, `kernel`, `rwlock`, `mutex`.
    public var name: String { plan.name.description }

    /// The strategy called `name` (as printed by ``name``; `rcu-memb` is accepted
    /// for `rcu`), or nil.
    public init?(name: String) {
        guard let strategy = name == "rcu-memb" ? .rcu(.memb) : Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = strategy
    }

    /// The strategy's ``name``.
    public var description: String { name }
}

// MARK: Reader threads (the qsbr contract)

extension RegistryStrategy {
    /// Declares the calling thread a long-lived reader of address spaces using this
    /// strategy. For `rcu(.qsbr)` the thread goes online: its lookups are then free,
    /// and it must call ``readerQuiescentState()`` regularly (between operations,
    /// never inside a lookup) and ``readerThreadOffline()`` before it blocks for long
    /// or exits, or every grace period (and so every remove, put and tree update
    /// that waits for memory) waits for it. For every other strategy it does nothing.
    /// The engine's own blocking calls (`remove`, a sleeping `readBegin`,
    /// `synchronize`) take an online thread offline while they sleep.
    @inlinable
    public func readerThreadOnline() {
        plan.readers.threadOnline()
    }

    /// Announces that the calling thread holds no reference obtained from a lookup
    /// (qsbr); a no-op for other strategies. About 0.3 ns.
    @inlinable @inline(__always)
    public func readerQuiescentState() {
        plan.readers.quiescentState()
    }

    /// Ends ``readerThreadOnline()``: the thread no longer delays grace periods.
    @inlinable
    public func readerThreadOffline() {
        plan.readers.threadOffline()
    }
}
