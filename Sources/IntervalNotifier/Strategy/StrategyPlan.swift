import CNotifierCore

/// Everything the engine asks of a ``RegistryStrategy``, decided in one place
/// (``RegistryStrategy/plan``): how readers are protected, which lock guards the
/// registry, when replaced tree nodes may be reused, and the strategy's name.
///
/// Adding a strategy: one case in ``RegistryStrategy`` (and `allCases`), one row
/// in ``RegistryStrategy/plan``, and, for a new kind of lock, one file with a
/// ``RegistryLock`` conformer and its case in ``RegistryLockKind``.
@usableFromInline
struct StrategyPlan: Sendable {
    /// The name used by the command-line tools and in results.
    @usableFromInline let name: StaticString
    /// What protects lookups and `readBegin`.
    @usableFromInline let readers: ReaderProtection
    /// The registry lock (the kernel's `subscriptions->lock`).
    @usableFromInline let lock: RegistryLockKind
    /// When replaced tree nodes may be reused.
    @usableFromInline let reclamation: IntervalTreeReclamation

    @usableFromInline
    init(name: StaticString, readers: ReaderProtection, lock: RegistryLockKind, reclamation: IntervalTreeReclamation) {
        self.name = name
        self.readers = readers
        self.lock = lock
        self.reclamation = reclamation
    }
}

extension RegistryStrategy {
    /// The one switch over strategies.
    @inlinable
    var plan: StrategyPlan {
        switch self {
        case .rcu(.memb): StrategyPlan(name: "rcu", readers: .rcu(.memb), lock: .mutex, reclamation: .rcu(.memb))
        case .rcu(.qsbr): StrategyPlan(name: "rcu-qsbr", readers: .rcu(.qsbr), lock: .mutex, reclamation: .rcu(.qsbr))
        case .rcu(.bp): StrategyPlan(name: "rcu-bp", readers: .rcu(.bp), lock: .mutex, reclamation: .rcu(.bp))
        case .rcu(.mb): StrategyPlan(name: "rcu-mb", readers: .rcu(.mb), lock: .mutex, reclamation: .rcu(.mb))
        case .kernel: StrategyPlan(name: "kernel", readers: .registryLock, lock: .spin, reclamation: .immediate)
        case .rwlock: StrategyPlan(name: "rwlock", readers: .registryLock, lock: .rwlock, reclamation: .immediate)
        case .mutex: StrategyPlan(name: "mutex", readers: .registryLock, lock: .mutex, reclamation: .immediate)
        }
    }
}

/// What protects an address space's lookups and `readBegin` (from its
/// strategy's ``StrategyPlan``); the read side's behaviour per strategy lives
/// here and nowhere else.
@usableFromInline
enum ReaderProtection: Sendable, Equatable {
    /// RCU read-side sections of the flavour: no lock. memb: a section costs
    /// about 1 ns; qsbr: a thread-local section count for an online thread, an online/offline pair
    /// (two full barriers) otherwise; bp: memb's plus a registration test; mb:
    /// two full barriers (see ``RCUFlavor``).
    case rcu(RCUFlavor)
    /// The registry lock, taken shared (exclusively where it has no shared mode).
    case registryLock

    /// Whether `readBegin`'s fast path reads the sequences without a lock.
    @inlinable @inline(__always)
    var readBeginIsLockFree: Bool { self != .registryLock }

    /// Enters the protection a lookup needs. The locked strategies also mark
    /// the thread as inside a lookup of `registry`, so that a call from the
    /// lookup's body that would take the same lock is refused, not deadlocked.
    @inlinable @inline(__always)
    func enterLookup(lock: AnyRegistryLock, registry: UnsafeMutableRawPointer) -> LookupToken {
        switch self {
        case .rcu(let flavor):
            return LookupToken(wentOnline: flavor.enterReadSection(), previousMarker: nil)
        case .registryLock:
            lock.lockShared()
            return LookupToken(wentOnline: false, previousMarker: cnp_swap_lookup_context(registry))
        }
    }

    /// Leaves what ``enterLookup(lock:registry:)`` entered.
    @inlinable @inline(__always)
    func exitLookup(_ token: LookupToken, lock: AnyRegistryLock) {
        switch self {
        case .rcu(let flavor): flavor.exitReadSection(token.wentOnline)
        case .registryLock:
            _ = cnp_swap_lookup_context(token.previousMarker)
            lock.unlockShared()
        }
    }

    /// The flavour whose read-side section an invalidation walk also enters, as
    /// defence in depth where it costs next to nothing: memb and bp. The others
    /// rely on the frozen tree alone: a qsbr walk could not go online around
    /// callbacks that sleep without stalling grace periods, an mb section costs
    /// two full barriers per walk, and the locked strategies have no RCU readers.
    var walkReadSection: RCUFlavor? {
        switch self {
        case .rcu(.memb): .memb
        case .rcu(.bp): .bp
        case .rcu(.qsbr), .rcu(.mb), .registryLock: nil
        }
    }

    /// Whether a lookup can still hold a subscription after the registry lock
    /// is released (RCU: yes, until a grace period; locked: no).
    var lookupsOutliveTheLock: Bool { self != .registryLock }

    /// The queue that defers reference drops and release callbacks: the grace
    /// periods of the flavour (memb for the locked strategies, where it only
    /// serves to run `put` releases outside the caller).
    var callbackQueue: RCUCallbackQueue {
        if case .rcu(let flavor) = self { return .queue(for: flavor) }
        return .shared
    }

    /// The qsbr contract: the calling thread becomes a long-lived reader.
    @inlinable func threadOnline() { if self == .rcu(.qsbr) { RCU.QSBR.online() } }
    /// The qsbr contract: the calling thread holds nothing from a lookup.
    @inlinable @inline(__always) func quiescentState() { if self == .rcu(.qsbr) { RCU.QSBR.quiescentState() } }
    /// The qsbr contract: the calling thread stops delaying grace periods.
    @inlinable func threadOffline() { if self == .rcu(.qsbr) { RCU.QSBR.offline() } }
}

/// What ``ReaderProtection/enterLookup(lock:registry:)`` hands to the matching exit.
@frozen @usableFromInline
struct LookupToken {
    /// qsbr: the thread went online for this lookup only (see ``RCUFlavor/enterReadSection()``).
    @usableFromInline let wentOnline: Bool
    /// Locked strategies: the lookup marker to restore (lookups may nest).
    @usableFromInline let previousMarker: UnsafeMutableRawPointer?

    @inlinable
    init(wentOnline: Bool, previousMarker: UnsafeMutableRawPointer?) {
        self.wentOnline = wentOnline
        self.previousMarker = previousMarker
    }
}
