// The liburcu bp ("bulletproof") flavour surface used by `RCU.BP`.
//
// bp readers need no registration: the first read lock of a thread registers
// it, and liburcu-bp unregisters it at thread exit. The read side is memb's
// (a compiler barrier when the kernel has membarrier(2), a full barrier
// otherwise), reached through a thread-local pointer instead of a thread-local
// record. `_LGPL_SOURCE` makes the fast paths `static inline`; the wrappers let
// Swift inline them. Names are prefixed `cbp_` (C names share one name space
// across modules; the flavour headers define the same unprefixed macros, so
// each flavour has a module of its own).
#ifndef CURCU_BP_H
#define CURCU_BP_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-bp.h>

// ThreadSanitizer hooks, as in CURCU/curcu.h: each read-side unlock releases,
// each completed grace period acquires, one sync object (bp's grace-period
// counter), so TSan sees that readers' accesses happen before reuse.
#if !defined(CURCU_TSAN_ANNOTATIONS) && defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CURCU_TSAN_ANNOTATIONS 1
#  endif
#endif
#ifdef CURCU_TSAN_ANNOTATIONS
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

/// Enters a read-side critical section (nestable); registers the thread on first use.
static inline void cbp_read_lock(void) { _urcu_bp_read_lock(); }

/// Leaves a read-side critical section.
static inline void cbp_read_unlock(void) {
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_release(&urcu_bp_gp);
#endif
    _urcu_bp_read_unlock();
}

/// Non-zero while the calling thread is inside a read-side critical section.
/// Unlike liburcu's `read_ongoing`, never registers the thread.
static inline int cbp_read_ongoing(void) {
    struct urcu_bp_reader *reader = URCU_TLS(urcu_bp_reader);
    return reader != NULL && (reader->ctr & URCU_BP_GP_CTR_NEST_MASK) != 0;
}

/// Waits for a grace period: every read-side section that was running on entry has ended.
static inline void cbp_synchronize(void) {
    urcu_bp_synchronize_rcu();
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_acquire(&urcu_bp_gp);
#endif
}

#endif
