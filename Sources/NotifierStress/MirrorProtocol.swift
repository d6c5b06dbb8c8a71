/// How a device mirror's fault path synchronises with invalidations: the three
/// schemes the kernel went through.
///
/// The stress harness's invalidators do what the kernel does: start the
/// invalidation (callbacks clear the mirrors), change the primary page table,
/// end it. The oracle holds each protocol to the same rule: once no
/// invalidation is open over a page, its mirror entry is empty or current.
public enum MirrorProtocol: String, Codable, Sendable, Hashable, CaseIterable {
    /// The sequence-count collision-retry of `mmu_interval_notifier` (today's
    /// kernel): `readBegin`, fault, take the user lock, `readRetry`, install.
    case seq
    /// RDMA ODP before Linux 5.5: a per-range reader-writer lock taken for read
    /// from invalidate start to invalidate end, and for write by faulters.
    ///
    /// The invalidate callback read-locks its mirror's range lock (`tryrdlock`
    /// when the range is not blockable) and clears the mirror; the invalidating
    /// thread read-unlocks every range it locked right after
    /// `invalidateRangeEnd`. A faulter write-locks the range, reads the page
    /// table, installs and unlocks: the page table cannot change under it,
    /// because every invalidation that reaches this mirror holds the read lock
    /// while it changes the page table. The locks are reader-preferring
    /// (glibc's default): an invalidation holds read locks on several ranges
    /// while it takes more, so with writer preference two invalidations and two
    /// waiting faulters could deadlock.
    ///
    /// Extra step (ODP's `mn_counters_active`): the lock only covers
    /// invalidations that call this mirror's callback, and an invalidation that
    /// was in flight when the subscription was inserted never does (its walk ran
    /// on a tree without it, or the insert was deferred), yet it may still change
    /// the page table under the new mirror. So invalidators count themselves in a
    /// shared "notifiers in flight" count around start and end (ODP's
    /// `ib_ucontext.notifier_count`), a subscription inserted while the count is
    /// not zero waits on a pending list, and the invalidator whose end brings the
    /// count to zero activates the pending ones (re-checking zero under the
    /// list's lock). Faulters do not fault a subscription before it is active.
    case odp
    /// HMM of 2019: a `valid` flag cleared at invalidate start and set when the
    /// last invalidation ends; faulters wait until valid and re-check it under
    /// the update lock.
    ///
    /// Invalidators count themselves in `notifiers` (under the HMM lock, the
    /// kernel's `hmm->ranges_lock`) before start; the callback clears the
    /// mirror's `valid` and its entries under the mirror's update lock and lists
    /// the mirror; after end the count drops and, at zero, every listed mirror
    /// becomes valid again and waiters wake (`hmm_invalidate_range_end`,
    /// `wake_up_all(&hmm->wq)`). A faulter waits (bounded) until valid, reads the
    /// page table, takes the update lock, re-checks, installs.
    ///
    /// Two extra steps:
    /// - A mirror registered while `notifiers` is not zero starts invalid and is
    ///   listed (`hmm_range_register`: `valid = !hmm->notifiers`), for the same
    ///   reason as ODP's activation: invalidations in flight at insert time do
    ///   not call its callback.
    /// - The flag alone is not enough, and the 2019 HMM was wrong here: a whole
    ///   invalidation can start (valid = false), change the page table, end and
    ///   reset valid = true between a faulter's page-table read and its re-check,
    ///   which then passes with a stale snapshot (the race Jason Gunthorpe listed
    ///   when he replaced `hmm_mirror` with `mmu_interval_notifier` in 5.5;
    ///   drivers then held `mmap_sem` for read across fault and install, which
    ///   only excluded the invalidations made under `mmap_sem` for write). The
    ///   "required sequence count" he named is added here at its smallest: an
    ///   epoch bumped whenever the count drops to zero with mirrors to
    ///   revalidate; the faulter reads it before the page table and re-checks it
    ///   with `valid` under the update lock.
    case hmm
}
