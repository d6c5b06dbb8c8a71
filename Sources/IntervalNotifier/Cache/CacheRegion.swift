import Synchronization

/// One cached registration: the region `[start, last]`, the user's payload,
/// and its subscription, whose ``IntervalSubscription/cacheState`` word hits,
/// puts, invalidations and eviction agree on.
///
/// The state word lives in the subscription, not here: a hit's lookup lands on
/// the subscription (the tree's entries hold its address), so a hit decides
/// without loading the region (one dependent cache miss fewer at large N). The
/// region lives in manually managed memory (``CacheRegionPointer``), reached
/// from its subscription's `context` word. It is freed when both its
/// subscription has left the tree and a grace period has passed (no lookup
/// can still reach it) and its registration is deregistered (or was never
/// made): `lifetime` counts those two events down. It holds a reference on its
/// subscription until then, so that the state word outlives every handle.
@usableFromInline
struct CacheRegion: ~Copyable {
    /// Events still due before the memory is freed (starts at 2: the engine's
    /// release callback, and the end of the registration).
    let lifetime: Atomic<UInt64>
    /// First address of the region.
    @usableFromInline let start: UInt64
    /// Last address of the region (inclusive).
    @usableFromInline let last: UInt64
    /// The user's registration; written once by the miss path before the
    /// releasing publication of ``CacheRegionState/ready``, read only after an
    /// acquiring load that saw it.
    @usableFromInline var payload: UInt = 0
    /// Link of the invalidated-region stack (written before the releasing push).
    var nextInvalidated: UInt = 0
    /// Its subscription, retained (+1) from the insert until the region is
    /// freed; set by the miss path under the cache mutex before the region is
    /// published: read it under that mutex, or after seeing `ready`.
    var subscription: Unmanaged<IntervalSubscription>?
    /// Whether its subscription was put (cache mutex).
    var isRetired = false
    /// Index in the cache's clock ring, or -1 when not in it (cache mutex).
    var slot = -1

    init(start: UInt64, last: UInt64) {
        lifetime = Atomic(2)
        self.start = start
        self.last = last
    }

    /// Number of bytes covered (regions never span the whole 2^64 space).
    var byteCount: UInt64 { last - start + 1 }

    /// Its subscription (set: see ``subscription``), for the books' slow paths.
    var entry: IntervalSubscription { subscription.unsafelyUnwrapped.takeUnretainedValue() }

    /// The subscription's address, as the front index holds it.
    var subscriptionWord: UInt { subscription.unsafelyUnwrapped.toOpaqueWord }
}

/// The bits of ``IntervalSubscription/cacheState``.
///
/// - `references` (low 32 bits): handles out. Hits add one (CAS, only while
///   `ready` and not `invalid`); puts take one away.
/// - `referenced`: set by every hit, cleared by the clock hand (eviction).
/// - `ready`: the registration is made (set once by the miss path).
/// - `invalid`: invalidated or evicted; never cleared. Its first setter owns
///   the region's removal from the cache's books.
/// - `deregistering`: the one caller that deregisters has claimed it.
@usableFromInline
enum CacheRegionState {
    @usableFromInline static let referenceMask: UInt64 = 0xFFFF_FFFF
    @usableFromInline static let referenced: UInt64 = 1 << 32
    @usableFromInline static let ready: UInt64 = 1 << 33
    @usableFromInline static let invalid: UInt64 = 1 << 34
    @usableFromInline static let deregistering: UInt64 = 1 << 35
}

/// The address of a ``CacheRegion``: the word its subscription's `context` holds.
@usableFromInline
typealias CacheRegionPointer = UnsafeMutablePointer<CacheRegion>

extension UnsafeMutablePointer where Pointee == CacheRegion {
    /// Allocates an unpublished region (no subscription yet, lifetime 2).
    static func makeRegion(start: UInt64, last: UInt64) -> CacheRegionPointer {
        let region = CacheRegionPointer.allocate(capacity: 1)
        region.initialize(to: CacheRegion(start: start, last: last))
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.cacheRegions.add(1, ordering: .relaxed)
        return region
    }

    /// The region a subscription's context word names.
    @inlinable @inline(__always)
    init(contextWord: UInt) { self = CacheRegionPointer(bitPattern: contextWord).unsafelyUnwrapped }

    /// The word stored in a subscription's context.
    var contextWord: UInt { UInt(bitPattern: self) }

    /// Counts one of the two events the memory waits for down; frees the region
    /// (and drops its reference on its subscription) after the second.
    func dropLifetime() {
        // Acquiring and releasing: the last dropper frees memory the other
        // event's thread wrote.
        guard pointee.lifetime.subtract(1, ordering: .acquiringAndReleasing).oldValue == 1 else { return }
        let subscription = pointee.subscription
        deinitialize(count: 1)
        deallocate()
        subscription?.release()
        // Relaxed: a counter for leak tests.
        LiveObjectCounters.cacheRegions.subtract(1, ordering: .relaxed)
    }
}

/// The cache state word's transitions (see ``CacheRegionState``); the word
/// lives in the region's subscription.
extension IntervalSubscription {
    /// The hit: takes a reference if the region is registered and valid, and
    /// marks it recently used. One CAS on the subscription's line, which the
    /// lookup loaded anyway; no lock.
    @inline(__always)
    func tryAcquireCacheReference() -> Bool {
        // Relaxed: only a guess for the CAS below, which decides.
        var observed = cacheState.load(ordering: .relaxed)
        while true {
            guard observed & (CacheRegionState.ready | CacheRegionState.invalid) == CacheRegionState.ready else { return false }
            // Acquiring on success: the payload written before the releasing
            // publication of `ready` is visible to the caller. A success orders
            // this hit before any later `invalid` (one word: the invalidation
            // either came first and we fail, or it comes after the hit).
            let (exchanged, original) = cacheState.compareExchange(
                expected: observed, desired: (observed &+ 1) | CacheRegionState.referenced,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if exchanged { return true }
            observed = original
        }
    }

    /// Drops a reference and, when it is the last one on an invalid,
    /// registered region that nobody deregisters yet, claims the
    /// deregistration in the same atomic step: the caller then deregisters
    /// (``RegistrationCacheCore/deregisterClaimed(_:)``, with the region its `context` names). Returns the state
    /// before the drop and whether it claimed; with no reference out it
    /// changes nothing (the caller traps).
    ///
    /// One step, not a drop then a claim: between the two, another thread
    /// could claim, deregister and (its subscription's release having come)
    /// free the region (and with it the last reference on this subscription),
    /// and the claim would read freed memory.
    @inline(__always)
    func dropCacheReferenceClaimingDeregistration() -> (old: UInt64, claimed: Bool) {
        // Relaxed: a guess for the CAS below, which decides.
        var observed = cacheState.load(ordering: .relaxed)
        while true {
            guard observed & CacheRegionState.referenceMask != 0 else { return (observed, false) }
            let wanted = CacheRegionState.invalid | CacheRegionState.ready
            let claims = observed & CacheRegionState.referenceMask == 1
                && observed & (wanted | CacheRegionState.deregistering) == wanted
            let desired = (observed &- 1) | (claims ? CacheRegionState.deregistering : 0)
            // Releasing: the holder's use of the registration happens before a
            // deregistration by whoever claims it. Acquiring: a claimer here
            // deregisters after every other holder's use.
            let (exchanged, original) = cacheState.compareExchange(
                expected: observed, desired: desired, successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if exchanged { return (observed, claims) }
            observed = original
        }
    }

    /// Claims the deregistration of an invalid, registered region that no
    /// handle holds; true for exactly one caller per region.
    func claimCacheDeregistration() -> Bool {
        // Relaxed: a guess for the CAS below.
        var observed = cacheState.load(ordering: .relaxed)
        while true {
            let wanted = CacheRegionState.invalid | CacheRegionState.ready
            guard observed & (wanted | CacheRegionState.deregistering) == wanted,
                  observed & CacheRegionState.referenceMask == 0 else { return false }
            // Acquiring: the deregistration follows every holder's use (their
            // releasing drops) and the payload's publication.
            let (exchanged, original) = cacheState.compareExchange(
                expected: observed, desired: observed | CacheRegionState.deregistering,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if exchanged { return true }
            observed = original
        }
    }
}

extension LiveObjectCounters {
    /// Cache regions allocated and not yet freed (``RegistrationCache``).
    package static let cacheRegions = Atomic<Int>(0)
}
