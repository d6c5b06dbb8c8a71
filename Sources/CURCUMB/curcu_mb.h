// The liburcu mb flavour surface used by `RCU.MB`.
//
// mb readers issue a full memory barrier on entering and on leaving an
// outermost read-side section, so writers need no membarrier(2) (kernels or
// sandboxes without it). Threads must be registered, as with memb; `RCU.MB`
// registers them lazily. `_LGPL_SOURCE` makes the fast paths `static inline`;
// the wrappers let Swift inline them. Names are prefixed `cmb_` (C names share
// one name space across modules; the flavour headers define the same
// unprefixed macros, so each flavour has a module of its own).
#ifndef CURCU_MB_H
#define CURCU_MB_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-mb.h>

// ThreadSanitizer hooks, as in CURCU/curcu.h.
#if !defined(CURCU_TSAN_ANNOTATIONS) && defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define CURCU_TSAN_ANNOTATIONS 1
#  endif
#endif
#ifdef CURCU_TSAN_ANNOTATIONS
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

/// Enters a read-side critical section (nestable). The thread must be registered.
static inline void cmb_read_lock(void) { _urcu_mb_read_lock(); }

/// Leaves a read-side critical section.
static inline void cmb_read_unlock(void) {
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_release(&urcu_mb_gp);
#endif
    _urcu_mb_read_unlock();
}

/// Non-zero while the calling thread is inside a read-side critical section.
static inline int cmb_read_ongoing(void) { return _urcu_mb_read_ongoing(); }

/// Non-zero once the calling thread is registered as an mb reader.
static inline int cmb_reader_registered(void) { return URCU_TLS(urcu_mb_reader).registered; }

/// Registers the calling thread as a reader (exported symbol).
static inline void cmb_register_thread(void) { urcu_mb_register_thread(); }

/// Unregisters the calling thread (exported symbol).
static inline void cmb_unregister_thread(void) { urcu_mb_unregister_thread(); }

/// Waits for a grace period: every read-side section that was running on entry has ended.
static inline void cmb_synchronize(void) {
    urcu_mb_synchronize_rcu();
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_acquire(&urcu_mb_gp);
#endif
}

#endif
