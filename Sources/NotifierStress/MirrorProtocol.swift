/// How a device mirror's fault path synchronises with invalidations: the three
/// schemes the kernel went through.
public enum MirrorProtocol: String, Sendable, Hashable, CaseIterable {
    /// The sequence-count collision-retry of `mmu_interval_notifier` (today's
    /// kernel): `readBegin`, fault, take the user lock, `readRetry`, install.
    case seq
    /// RDMA ODP before Linux 5.5: a per-range reader-writer lock taken for read
    /// from invalidate start to invalidate end, and for write by faulters.
    case odp
    /// HMM of 2019: a `valid` flag cleared at invalidate start and set when the
    /// last invalidation ends; faulters wait until valid and re-check it under
    /// the update lock.
    case hmm
}
