// The liburcu qsbr flavour surface used by `RCU.QSBR`.
//
// qsbr read-side sections are empty: a reader thread is either online (it may
// hold references, and grace periods wait until it announces a quiescent
// state) or offline (it holds none). `_LGPL_SOURCE` makes the fast paths
// `static inline`; the wrappers let Swift inline them. Names are prefixed
// `cqsbr_` (C names share one name space across modules).
#ifndef CURCU_QSBR_H
#define CURCU_QSBR_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-qsbr.h>

#if !defined(CURCU_TSAN_ANNOTATIONS) && defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CURCU_TSAN_ANNOTATIONS 1
#  endif
#endif
#ifdef CURCU_TSAN_ANNOTATIONS
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

/// Non-zero while the calling thread is online (its counter is non-zero).
static inline int cqsbr_online(void) { return _urcu_qsbr_read_ongoing() != 0; }

/// Non-zero once the calling thread is registered as a qsbr reader.
static inline int cqsbr_registered(void) { return URCU_TLS(urcu_qsbr_reader).registered; }

/// Registers the calling thread; it is online on return.
static inline void cqsbr_register_thread(void) { urcu_qsbr_register_thread(); }

/// Unregisters the calling thread (it must be online, as liburcu requires).
static inline void cqsbr_unregister_thread(void) { urcu_qsbr_unregister_thread(); }

/// Announces a quiescent state: the thread holds no RCU-protected reference.
static inline void cqsbr_quiescent_state(void) {
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_release(&urcu_qsbr_gp);
#endif
    _urcu_qsbr_quiescent_state();
}

/// Takes the calling thread offline (grace periods stop waiting for it).
static inline void cqsbr_thread_offline(void) {
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_release(&urcu_qsbr_gp);
#endif
    _urcu_qsbr_thread_offline();
}

/// Brings the calling thread back online.
static inline void cqsbr_thread_online(void) { _urcu_qsbr_thread_online(); }

/// Waits for a grace period (goes offline meanwhile if the caller is online).
static inline void cqsbr_synchronize(void) {
    urcu_qsbr_synchronize_rcu();
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_acquire(&urcu_qsbr_gp);
#endif
}

#endif
