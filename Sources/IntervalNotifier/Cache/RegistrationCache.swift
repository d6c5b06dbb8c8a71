import Synchronization

/// A registration cache on an ``AddressSpace``: the userspace counterpart of
/// the caches RDMA and GPU stacks keep of memory registrations (UCX's
/// `ucs_rcache`, libfabric's `ofi_mr_cache`), with lock-free hits.
///
/// ``get(address:length:)`` returns a handle on a registration covering the
/// range; ``put(_:)`` gives it back. Each cached region is a subscription of the
/// address space, so any source of invalidations on that space (explicit
/// ``AddressSpace/invalidateRangeStart(_:)`` calls, a memory monitor) reaches
/// the cache.
///
/// - **Hit**: inside an RCU read section, one slot of the front index (page
///   to region; the engine's tree when that slot names no region covering the
///   request), then one CAS on the region's state word that takes a reference
///   only if the region is registered and not invalid. The word lives in the
///   region's subscription, which the lookup lands on, so a hit loads nothing
///   beyond the slot (or the tree) and that one object. No lock, no
///   allocation, no reference counting. The CAS is the
///   sequence check: an invalidation stores the window's sequence
///   (``IntervalSubscription/setSequence(_:)``) and sets the region's `invalid`
///   bit in the same word, so a hit either counted itself in before the
///   invalidation or fails. Hits never look at the address space's sequence:
///   an invalidation in flight forces no miss on unrelated ranges.
/// - **Miss**: under the cache's mutex, the region (the range aligned out to
///   ``Limits/alignment``) is inserted as a subscription first, then the miss
///   waits out an invalidation window that may cover it
///   (``IntervalSubscription/readBegin()``), then calls your register callback,
///   then publishes the region. An invalidation that hits it in between makes
///   the miss deregister it and start again, so a stale registration is never
///   handed out. Regions are not merged: overlapping gets may cache overlapping
///   regions.
/// - **Invalidation**: marks every region it overlaps invalid (whole regions)
///   and never waits, so non-blockable ranges are never refused. A region is
///   deregistered (your deregister callback, exactly once) when no handle holds
///   it: at once by a blockable invalidation, otherwise by the last ``put(_:)``
///   or the next miss. Its memory is freed after its subscription has left the
///   tree and an RCU grace period has passed.
/// - **Eviction**: lazy, bounded by ``Limits/maxRegions`` and
///   ``Limits/maxBytes``: after a miss adds a region, a clock hand (second
///   chance: hits set a `referenced` bit in the same CAS) deregisters regions
///   no handle holds until both bounds hold. Regions in use are never evicted,
///   so the bounds can be exceeded while that many are held.
///
/// Callbacks: the register callback runs on the getter's thread with the
/// cache's mutex held; the deregister callback on whichever thread drops the
/// region (a putter, an invalidating thread, a getter that misses). Neither may
/// call back into the cache.
public final class RegistrationCache: @unchecked Sendable {
    /// Registers `[start, start + length - 1]` and returns the registration (an
    /// id, a key, a pointer's bits), or nil if it cannot.
    public typealias RegisterCallback = @Sendable (_ start: UInt64, _ length: UInt64) -> UInt?
    /// Deregisters a registration the register callback returned for the region.
    public typealias DeregisterCallback = @Sendable (_ registration: UInt, _ start: UInt64, _ length: UInt64) -> Void

    /// Bounds on what the cache keeps registered while no handle holds it.
    public struct Limits: Sendable, Equatable {
        /// Most regions kept (default 1 << 20).
        public var maxRegions: Int
        /// Most bytes covered by kept regions (default 1 TiB).
        public var maxBytes: UInt64
        /// Regions are aligned out to this power of two (default 4096, a page).
        public var alignment: UInt64

        /// Creates limits; `alignment` must be a power of two (else a trap) and
        /// `maxRegions` at least 1.
        public init(maxRegions: Int = 1 << 20, maxBytes: UInt64 = 1 << 40, alignment: UInt64 = 4096) {
            if alignment == 0 || alignment & (alignment - 1) != 0 {
                fatalError("RegistrationCache.Limits(alignment: \(alignment)): the alignment must be a power of two")
            }
            if maxRegions < 1 { fatalError("RegistrationCache.Limits(maxRegions: \(maxRegions)): at least 1") }
            self.maxRegions = maxRegions
            self.maxBytes = maxBytes
            self.alignment = alignment
        }
    }

    /// The address space whose invalidations reach the cache.
    public let addressSpace: AddressSpace
    /// Its engine (the miss path's inserts).
    @usableFromInline let registry: SubscriptionRegistry
    /// The same, unretained: the hit path borrows it (`registry` keeps it
    /// alive), so that a hit touches no reference count: loading the strong
    /// property retained the registry and its lock on every hit (2 retains and
    /// 2 releases per hit in package-benchmark, and a shared cache line
    /// between hitting threads).
    @usableFromInline let borrowedRegistry: Unmanaged<SubscriptionRegistry>
    /// What invalidate callbacks need.
    let core: RegistrationCacheCore
    /// The word regions of this cache carry in ``CacheRegion/owner``.
    @usableFromInline let ownerWord: UInt
    /// The bounds.
    public let limits: Limits
    /// The user's register callback.
    let register: RegisterCallback
    /// Guards `books` (the miss path, eviction, drains).
    let mutex = PThreadMutex()
    /// Regions, the clock hand and counters (mutex).
    let books: UnsafeMutablePointer<CacheBooks>
    /// Page to region, in front of the tree (hits look there first).
    let frontIndex: CacheFrontIndex

    /// Creates an empty cache on `addressSpace`.
    public init(addressSpace: AddressSpace, limits: Limits = Limits(),
                register: @escaping RegisterCallback, deregister: @escaping DeregisterCallback) {
        self.addressSpace = addressSpace
        self.registry = addressSpace.registry
        self.borrowedRegistry = Unmanaged.passUnretained(addressSpace.registry)
        self.core = RegistrationCacheCore(deregister: deregister)
        self.ownerWord = UInt(bitPattern: Unmanaged.passUnretained(core).toOpaque())
        self.limits = limits
        self.register = register
        books = .allocate(capacity: 1)
        books.initialize(to: CacheBooks())
        frontIndex = CacheFrontIndex(alignment: limits.alignment)
    }

    /// Drops every region. Handles still held are a programming error (they
    /// could never be put): a trap.
    deinit {
        mutex.withLock {
            drainInvalidated()
            while let region = books.pointee.ring.last {
                // Acquiring and releasing: as an eviction (see `evictOne`).
                let old = region.pointee.entry.cacheState.bitwiseOr(CacheRegionState.invalid, ordering: .acquiringAndReleasing).oldValue
                if old & CacheRegionState.referenceMask != 0 {
                    fatalError("RegistrationCache dropped while \(old & CacheRegionState.referenceMask) handle(s) on [\(region.pointee.start), \(region.pointee.last)] are held: put every handle first")
                }
                if old & CacheRegionState.invalid == 0 {
                    // Deregister before `retire`: once its subscription is put,
                    // the release callback may free the region at any time.
                    core.finishDeregistration(region, region.pointee.entry)
                    retire(region)
                } else {
                    drainInvalidated()
                }
            }
            drainInvalidated()
        }
        books.deinitialize(count: 1)
        books.deallocate()
    }

    // MARK: Get and put

    /// Returns a handle on a registration covering `[address, address + length - 1]`,
    /// registering the aligned region on a miss. Put it back with ``put(_:)``.
    ///
    /// - Throws: ``NotifierError/emptyRange(start:)``,
    ///   ``NotifierError/rangeOverflow(start:length:)``,
    ///   ``NotifierError/registrationFailed(start:length:)`` (the register
    ///   callback returned nil), ``NotifierError/addressSpaceReleased`` (a miss
    ///   after ``AddressSpace/release()``),
    ///   ``NotifierError/calledFromInvalidateCallback(operation:)`` and
    ///   ``NotifierError/calledInsideOwnWindow(operation:)`` (a miss that would
    ///   wait for an invalidation window the caller itself holds open).
    /// - Complexity: a hit is O(1) through the front index (O(log n) through
    ///   the tree when the index does not name a covering region), with no
    ///   lock, no allocation and no reference counting; a miss adds the
    ///   register callback, an insert and, now and then, the growth of the
    ///   front index.
    public func get(address: UInt64, length: UInt64) throws(NotifierError) -> RegistrationHandle {
        guard length > 0 else { throw .emptyRange(start: address) }
        let (last, overflow) = address.addingReportingOverflow(length - 1)
        guard !overflow else { throw .rangeOverflow(start: address, length: length) }
        if let subscription = hit(address: address, last: last) { return RegistrationHandle(subscription: subscription) }
        return try miss(address: address, last: last)
    }

    /// Gives back a handle from ``get(address:length:)`` (one atomic on the
    /// region). If the region was invalidated meanwhile and this was its last
    /// handle, it is deregistered here, on the calling thread.
    public func put(_ handle: consuming RegistrationHandle) {
        let owner = ownerWord
        // Borrowed: the handle's reference keeps the region, and with it the
        // subscription, alive until the drop below.
        let (isOwner, old, claimed) = handle.subscription._withUnsafeGuaranteedRef { subscription -> (Bool, UInt64, Bool) in
            // Relaxed: written once before the region was published, and this
            // thread got the handle after that.
            guard subscription.cacheOwner.load(ordering: .relaxed) == owner else { return (false, 0, false) }
            let (old, claimed) = subscription.dropCacheReferenceClaimingDeregistration()
            return (true, old, claimed)
        }
        if _slowPath(!isOwner) {
            fatalError("RegistrationCache.put: the handle belongs to another cache")
        }
        if _slowPath(old & CacheRegionState.referenceMask == 0) {
            // Not its address: with no handle out, the region may be freed.
            fatalError("RegistrationCache.put: the handle's region has no handle out (put twice?)")
        }
        // Claimed: this thread deregisters, so the region is still alive here.
        if _slowPath(claimed) { core.deregisterClaimed(handle.region) }
    }

    /// The hit path: the subscription of a valid region of this cache that
    /// covers `[address, last]`, with a reference taken, or nil. First the
    /// region the front index names for `address`'s page; if that one does not
    /// do, the lowest region containing `address` (the tree's iterative
    /// descent: with regions that do not overlap, the only candidate); only if
    /// that one does not do either, a walk over every region containing `address`.
    ///
    /// Loads: one front index slot, then the subscription it names (owner,
    /// state and bounds, usually one line); never the region itself.
    @inline(__always)
    func hit(address: UInt64, last: UInt64) -> Unmanaged<IntervalSubscription>? {
        // No object reference is alive across the CAS and the closures capture
        // only plain words: otherwise the compiler retains and releases the
        // cache or the subscription around it (two more atomics per hit, on
        // lines that hitting threads share).
        let owner = ownerWord
        let table = frontIndex.table, page = address >> frontIndex.pageShift
        let (first, walk) = borrowedRegistry._withUnsafeGuaranteedRef { registry -> (Unmanaged<IntervalSubscription>?, Bool) in
            let token = registry.enterLookup()
            defer { registry.exitLookup(token) }
            // The front index first: one slot instead of the tree's levels.
            let word = table.load(page: page)
            if word != 0 {
                let candidate = Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: word).unsafelyUnwrapped)
                if Self.covers(candidate, address: address, last: last), Self.acquire(candidate, owner: owner) {
                    return (candidate, false)
                }
            }
            guard let entry = registry.tree.snapshot().firstOverlapping(start: address, last: address) else { return (nil, false) }
            let subscription = IntervalSubscription.unmanaged(treeValue: entry.value)
            // The entry's bounds are its region's: a cache never updates the
            // range of its subscriptions (others fail the owner check).
            if last <= entry.last, Self.acquire(subscription, owner: owner) { return (subscription, false) }
            return (nil, true)
        }
        guard _slowPath(walk) else { return first }
        var found: Unmanaged<IntervalSubscription>?
        _ = registry.forEachSubscription(overlapping: address, last: address) { subscription in
            let bounds = subscription.bounds
            let candidate = Unmanaged.passUnretained(subscription)
            if bounds.lowerBound <= address, last <= bounds.upperBound, Self.acquire(candidate, owner: owner) { found = candidate }
            return found == nil
        }
        return found
    }

    /// Whether the region of `subscription` (a cache's: its bounds never
    /// change) covers `[address, last]`.
    @inline(__always)
    static func covers(_ subscription: Unmanaged<IntervalSubscription>, address: UInt64, last: UInt64) -> Bool {
        subscription._withUnsafeGuaranteedRef { subscription in
            // Relaxed: written before the subscription was published, never
            // again for a cache's subscription; the front index slot's
            // acquiring load ordered them.
            subscription.rangeStart.load(ordering: .relaxed) <= address && last <= subscription.rangeLast.load(ordering: .relaxed)
        }
    }

    /// Takes a reference on the region of `subscription` if it belongs to the
    /// cache `owner` and is registered and valid (the caller checked that it
    /// covers the range). Call it inside a lookup: the subscription is freed
    /// only after it left the tree (and the front index), a grace period
    /// passed and its region (which holds a reference on it) was freed.
    @inline(__always)
    static func acquire(_ subscription: Unmanaged<IntervalSubscription>, owner: UInt) -> Bool {
        subscription._withUnsafeGuaranteedRef { subscription in
            // Relaxed: a filter; the CAS in `tryAcquireCacheReference` decides
            // (the owner is stored before the releasing publication of `ready`).
            subscription.cacheOwner.load(ordering: .relaxed) == owner && subscription.tryAcquireCacheReference()
        }
    }

    // MARK: Maintenance

    /// Applies pending invalidations to the books and deregisters every region
    /// no handle holds (the cache is empty afterwards except for held regions).
    public func purge() {
        mutex.withLock {
            drainInvalidated()
            var index = books.pointee.ring.count - 1
            while index >= 0 {
                if index < books.pointee.ring.count { _ = evict(books.pointee.ring[index], counted: false) }
                index -= 1
            }
        }
    }

    /// The counters so far (taken under the cache's mutex). Hits are not
    /// counted: a shared counter would cost every hit a contended atomic.
    public var statistics: RegistrationCacheStatistics {
        mutex.withLock {
            RegistrationCacheStatistics(
                regions: books.pointee.ring.count, bytes: books.pointee.bytes,
                misses: books.pointee.misses, evictions: books.pointee.evictions,
                // Relaxed: statistics.
                invalidatedRegions: core.invalidatedRegions.load(ordering: .relaxed),
                // Relaxed: statistics.
                deregistrations: core.deregistrations.load(ordering: .relaxed),
                registrationRetries: books.pointee.registrationRetries)
        }
    }
}

/// A reference on one cached registration, from ``RegistrationCache/get(address:length:)``.
/// It cannot be copied; give it back with ``RegistrationCache/put(_:)`` exactly
/// once (a handle dropped without a put keeps its region registered for good).
public struct RegistrationHandle: ~Copyable, @unchecked Sendable {
    /// The region's subscription (its state word holds this handle's
    /// reference); borrowed: the region holds a reference on it while any
    /// handle is out.
    @usableFromInline let subscription: Unmanaged<IntervalSubscription>

    @usableFromInline init(subscription: Unmanaged<IntervalSubscription>) { self.subscription = subscription }

    /// The region (its subscription's context word).
    @usableFromInline var region: CacheRegionPointer {
        CacheRegionPointer(contextWord: subscription._withUnsafeGuaranteedRef { $0.context })
    }

    /// What the register callback returned for the region.
    public var registration: UInt {
        // Relaxed: the acquiring CAS that took this handle saw `ready`, whose
        // releasing publication came after the registration was stored.
        subscription._withUnsafeGuaranteedRef { $0.cacheRegistration.load(ordering: .relaxed) }
    }
    /// First address of the registered region (the requested start, aligned down).
    public var start: UInt64 { region.pointee.start }
    /// Bytes in the registered region (covers the requested range).
    public var length: UInt64 { region.pointee.byteCount }
}

/// Counters of a ``RegistrationCache``.
public struct RegistrationCacheStatistics: Sendable, Equatable {
    /// Regions in the cache (valid, or invalid and not yet dropped from its books).
    public var regions: Int
    /// Bytes those regions cover.
    public var bytes: UInt64
    /// Gets that called the register callback.
    public var misses: Int
    /// Regions evicted to keep the limits.
    public var evictions: Int
    /// Regions marked invalid by invalidations.
    public var invalidatedRegions: Int
    /// Deregister callbacks run.
    public var deregistrations: Int
    /// Registrations invalidated while being made, and made again.
    public var registrationRetries: Int
}

/// The cache's books (guarded by its mutex).
struct CacheBooks {
    /// Regions in the cache, in no order (the clock walks it).
    var ring: [CacheRegionPointer] = []
    /// The clock hand (an index into `ring`).
    var hand = 0
    /// Bytes covered by `ring`.
    var bytes: UInt64 = 0
    /// Counters.
    var misses = 0
    var evictions = 0
    var registrationRetries = 0
    /// Pages the regions on the books have in the front index (its growth follows them).
    var frontIndexEntries = 0
}
