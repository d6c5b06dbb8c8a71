/*
 * interval_notifier.h: the C API of interval-notifier, the userspace counterpart
 * of the Linux kernel's mmu_interval_notifier (include/linux/mmu_notifier.h).
 *
 * Names follow the kernel's with the prefix mmu_ replaced by umn_ ("userspace mmu
 * notifier"): mmu_interval_read_begin -> umn_interval_read_begin, and so on. An
 * address space (the kernel's mm and its mmu_notifier_subscriptions) is a
 * struct umn_mm; a subscription (struct mmu_interval_notifier) is a
 * struct umn_interval_notifier. Both are opaque handles.
 *
 * Link: pkg-config --cflags --libs interval-notifier   (library libinterval_notifier.so)
 *
 * Errors are negative errno values, as in the kernel:
 *   -EINVAL     bad argument: NULL handle or pointer, empty range, unknown strategy or event
 *   -EOVERFLOW  start + length - 1 does not fit in 64 bits
 *   -ENOENT     the subscription is not registered (removed, put, or its removal under way)
 *   -ESRCH      the address space was released (umn_notifier_release) or destroyed
 *   -EXDEV      the subscription belongs to another address space (not reachable
 *               through this API, whose calls take the space from the subscription)
 *   -EAGAIN     a non-blockable invalidation met a callback that would block
 *               (the range was ended already: do not end it again)
 *   -EDEADLK    the call would wait for the calling thread itself: from an invalidate
 *               callback of the same space, on a thread with an invalidation of the
 *               same space in flight, from a release function, or inside a lookup
 *   -EPROTO     invalidate_range_end without a matching start of the same range
 *   -EBUSY      umn_interval_notifier_free of a subscription that is still registered
 *   -EOPNOTSUPP a strategy this build does not have
 * umn_strerror(err) gives a one-line explanation.
 *
 * Threads: any thread may call any function; threads created by C and never seen
 * by Swift or liburcu need no setup (RCU reader registration is automatic and
 * undone when the thread exits). Only the qsbr strategy asks more of frequent
 * readers: see umn_reader_thread_online.
 */
#ifndef INTERVAL_NOTIFIER_H
#define INTERVAL_NOTIFIER_H

#include <stdbool.h>
#include <stdint.h>

/* The version of this API (also the pkg-config file's Version). */
#define UMN_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* An address space: one registry of subscriptions (the kernel's mm). */
struct umn_mm;
/* A subscription to invalidations of [start, last] (struct mmu_interval_notifier). */
struct umn_interval_notifier;

/* How readers and updaters are kept apart (see the documentation's "Choosing a
 * strategy"). UMN_STRATEGY_DEFAULT is the first available of rcu-bp and rcu (memb);
 * umn_mm_strategy tells which one a space got. */
enum umn_strategy {
    UMN_STRATEGY_DEFAULT = 0,
    UMN_STRATEGY_RCU_MEMB = 1, /* "rcu": liburcu memb, lock-free readers */
    UMN_STRATEGY_RCU_QSBR = 2, /* "rcu-qsbr": free read sections, readers announce quiescent states */
    UMN_STRATEGY_KERNEL = 3,   /* "kernel": the kernel's spinlock scheme */
    UMN_STRATEGY_RWLOCK = 4,   /* "rwlock": pthread_rwlock */
    UMN_STRATEGY_MUTEX = 5,    /* "mutex": one mutex */
    UMN_STRATEGY_RCU_BP = 6,   /* "rcu-bp": liburcu bp (-EOPNOTSUPP where not built in) */
    UMN_STRATEGY_RCU_MB = 7,   /* "rcu-mb": liburcu mb (-EOPNOTSUPP where not built in) */
};

/* Why a range is invalidated (enum mmu_notifier_event). */
enum umn_notifier_event {
    UMN_NOTIFY_UNMAP = 0,
    UMN_NOTIFY_CLEAR = 1,
    UMN_NOTIFY_PROTECTION_VMA = 2,
    UMN_NOTIFY_PROTECTION_PAGE = 3,
    UMN_NOTIFY_SOFT_DIRTY = 4,
    UMN_NOTIFY_RELEASE = 5,
    UMN_NOTIFY_MIGRATE = 6,
    UMN_NOTIFY_EXCLUSIVE = 7,
};

/* umn_notifier_range.flags: callbacks may sleep (MMU_NOTIFIER_RANGE_BLOCKABLE). */
#define UMN_NOTIFIER_RANGE_BLOCKABLE 1u

/* A range being invalidated (struct mmu_notifier_range). Unlike the kernel's, the
 * end is inclusive, so that a range can reach the top address: last = end - 1. */
struct umn_notifier_range {
    uint64_t start;     /* first address */
    uint64_t last;      /* last address (inclusive) */
    const void *owner;  /* the invalidating agent (migrate, exclusive), or NULL */
    uint32_t event;     /* enum umn_notifier_event */
    uint32_t flags;     /* UMN_NOTIFIER_RANGE_BLOCKABLE or 0 */
};

/* mmu_interval_notifier_ops.invalidate: call umn_interval_set_seq(sub, cur_seq)
 * under the user lock that the fault path holds around umn_interval_read_retry,
 * drop what is mirrored in range, return true. Return false only when range is
 * not blockable and the callback would have to sleep. From inside it, on the same
 * space: put, update and insert are deferred to the window's end; remove,
 * release, synchronize and read_begin return -EDEADLK. */
typedef bool (*umn_invalidate_fn)(struct umn_interval_notifier *sub,
                                  const struct umn_notifier_range *range,
                                  uint64_t cur_seq, void *context);
/* The release function of umn_interval_notifier_put (ops->free_notifier): runs
 * once no invalidate callback for sub can run any more, on liburcu's callback
 * thread; it may call umn_interval_notifier_free(sub). */
typedef void (*umn_release_fn)(struct umn_interval_notifier *sub, void *context);
/* A lookup's visitor: runs inside the lookup (an RCU read-side section, or under
 * the registry lock for the locked strategies); must not block or keep sub after
 * returning unless it knows sub stays registered. Return false to stop a walk. */
typedef bool (*umn_visit_fn)(struct umn_interval_notifier *sub, void *context);

/* ---- address spaces ---- */

/* Creates an empty address space with `strategy` (enum umn_strategy); *mm on success.
 * Returns 0, -EINVAL (NULL mm, unknown strategy) or -EOPNOTSUPP. */
int umn_mm_create(int strategy, struct umn_mm **mm);
/* Drops the space (the kernel's exit_mmap): closes an open window, invalidates every
 * subscription once with UMN_NOTIFY_RELEASE unless umn_notifier_release ran, and
 * detaches them (their handles stay valid until umn_interval_notifier_free). Pending
 * release functions still run. Not from a callback of the same space. NULL: no-op. */
void umn_mm_destroy(struct umn_mm *mm);
/* The enum umn_strategy the space uses (never UMN_STRATEGY_DEFAULT), or -EINVAL. */
int umn_mm_strategy(const struct umn_mm *mm);

/* ---- subscriptions ---- */

/* mmu_interval_notifier_insert: subscribes to [start, start + length - 1]; *sub on
 * success. `context` is passed to `invalidate` and returned by
 * umn_interval_notifier_context. During an invalidation window the subscription
 * enters the tree when the window closes (read_begin on it waits until then).
 * Returns 0, -EINVAL (NULL argument, length 0), -EOVERFLOW, -ESRCH (released),
 * -EDEADLK (inside a lookup, locked strategies). */
int umn_interval_notifier_insert(struct umn_mm *mm, uint64_t start, uint64_t length,
                                 umn_invalidate_fn invalidate, void *context,
                                 struct umn_interval_notifier **sub);
/* mmu_interval_notifier_remove: unregisters sub and waits until no callback for it
 * runs. Returns 0, -EINVAL, -ENOENT, -ESRCH, -EDEADLK. The handle stays valid:
 * free it with umn_interval_notifier_free. */
int umn_interval_notifier_remove(struct umn_interval_notifier *sub);
/* mmu_notifier_put for an interval subscription: unregisters sub without waiting;
 * release(sub, context) runs once after the current window closes and a grace
 * period passes. Allowed inside invalidate callbacks and own windows.
 * Returns 0, -EINVAL, -ENOENT, -ESRCH, -EDEADLK (inside a locked lookup). */
int umn_interval_notifier_put(struct umn_interval_notifier *sub, umn_release_fn release,
                              void *context);
/* Moves sub to [start, start + length - 1] (deferred to the window's end inside one).
 * Returns 0, -EINVAL, -EOVERFLOW, -ENOENT, -ESRCH, -EDEADLK (inside a locked lookup). */
int umn_interval_notifier_update(struct umn_interval_notifier *sub, uint64_t start,
                                 uint64_t length);
/* Frees the handle of a subscription that is not registered any more (after
 * remove, put, or its space's destruction). Returns 0, -EINVAL, or -EBUSY while
 * it is registered (the handle stays valid then). */
int umn_interval_notifier_free(struct umn_interval_notifier *sub);
/* The context given at insert (NULL for a NULL sub). */
void *umn_interval_notifier_context(const struct umn_interval_notifier *sub);
/* The range [*start, *last] of sub as of one instant. Returns 0 or -EINVAL. */
int umn_interval_notifier_range(const struct umn_interval_notifier *sub, uint64_t *start,
                                uint64_t *last);

/* ---- the collision-retry protocol (read side) ---- */

/* mmu_interval_read_begin: *seq for umn_interval_read_retry; sleeps while sub is in
 * the current invalidation window. Lock-free on its fast path with the rcu
 * strategies. Returns 0, -EINVAL, -ENOENT, -ESRCH, -EDEADLK. */
int umn_interval_read_begin(struct umn_interval_notifier *sub, uint64_t *seq);
/* mmu_interval_read_retry: true if the region begun with seq collided with an
 * invalidation (or an update, or the end of sub). Call under the user lock. */
bool umn_interval_read_retry(struct umn_interval_notifier *sub, uint64_t seq);
/* mmu_interval_check_retry: the same test without the user lock; a hint only. */
bool umn_interval_check_retry(struct umn_interval_notifier *sub, uint64_t seq);
/* mmu_interval_set_seq: from the invalidate callback, under the user lock. */
void umn_interval_set_seq(struct umn_interval_notifier *sub, uint64_t cur_seq);

/* ---- invalidation (write side) ---- */

/* mmu_notifier_invalidate_range_start (blockable when range->flags has
 * UMN_NOTIFIER_RANGE_BLOCKABLE): calls every overlapping subscription's callback on
 * this thread. Pair each 0 return with umn_notifier_invalidate_range_end of the same
 * range. Returns 0, -EINVAL (NULL, last < start, unknown event), -EAGAIN
 * (non-blockable, a callback returned false: already ended), -EDEADLK. */
int umn_notifier_invalidate_range_start(struct umn_mm *mm, const struct umn_notifier_range *range);
/* mmu_notifier_invalidate_range_start_nonblock: the same, never blockable. */
int umn_notifier_invalidate_range_start_nonblock(struct umn_mm *mm,
                                                 const struct umn_notifier_range *range);
/* mmu_notifier_invalidate_range_end: ends a started range (any thread).
 * Returns 0, -EINVAL, -EPROTO (no start of this range in flight), -EDEADLK. */
int umn_notifier_invalidate_range_end(struct umn_mm *mm, const struct umn_notifier_range *range);
/* mmu_notifier_release (mn_itree_release at exit_mmap): invalidates every
 * subscription once with UMN_NOTIFY_RELEASE over [0, UINT64_MAX]; later inserts
 * return -ESRCH. Idempotent. Returns 0, -EINVAL, -EDEADLK. */
int umn_notifier_release(struct umn_mm *mm);
/* mmu_notifier_synchronize: waits until every earlier put's release function ran.
 * Returns 0, -EINVAL, -EDEADLK (in a callback, own window, release function, lookup). */
int umn_notifier_synchronize(struct umn_mm *mm);

/* ---- lookups (interval_tree_iter_first/next, without a lock under RCU) ---- */

/* Calls visit(sub, context) with the lowest subscription containing address.
 * Returns 1 if one was found (and visited), 0 if none, -EINVAL. */
int umn_interval_notifier_find(struct umn_mm *mm, uint64_t address, umn_visit_fn visit,
                               void *context);
/* Calls visit with each subscription overlapping [start, last] in address order
 * until it returns false. Returns 0 (walked all), 1 (stopped by visit), -EINVAL. */
int umn_interval_notifier_for_each(struct umn_mm *mm, uint64_t start, uint64_t last,
                                   umn_visit_fn visit, void *context);

/* ---- qsbr reader threads (no-ops for every other strategy) ---- */

/* A thread that looks up often in a qsbr space goes online once, announces
 * quiescent states between lookups, and goes offline before blocking or exiting.
 * A thread that never goes online still reads correctly (each lookup goes online
 * and offline: two full barriers). */
void umn_reader_thread_online(const struct umn_mm *mm);
void umn_reader_quiescent_state(const struct umn_mm *mm);
void umn_reader_thread_offline(const struct umn_mm *mm);

/* A one-line explanation of a value returned by this API. */
const char *umn_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* INTERVAL_NOTIFIER_H */
