// The liburcu (memb flavour) surface that the Swift RCU layer uses.
//
// `_LGPL_SOURCE` makes liburcu's read-side fast paths `static inline`; wrapping
// them in `static inline` functions here lets the Swift optimiser inline them
// (about 1 ns per read lock/unlock pair instead of about 9 ns through the
// exported symbols, see shared/swift-notes.md). Everything that is a macro in
// liburcu and therefore invisible to Swift gets a wrapper here. All names are
// prefixed `curcu_` because C names share one name space across modules.
#ifndef CURCU_H
#define CURCU_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>
#include <urcu/call-rcu.h>

// The reader's thread-local state, redeclared with the initial-exec TLS model: code
// in a shared object (libinterval_notifier.so, the C API) then reaches it with one
// %fs-relative load instead of a `__tls_get_addr` call per read lock, unlock and
// registration check (three per lookup). liburcu-memb is a DT_NEEDED of every
// object that includes this, so its TLS is in the static block.
extern __thread struct urcu_reader urcu_memb_reader __attribute__((tls_model("initial-exec")));

// ThreadSanitizer cannot see a grace period (liburcu orders readers and the
// updater with membarrier(2) and compiler barriers), so under TSan each read-side
// unlock releases, and each completed grace period acquires, one sync object:
// every read-side access before the unlock then happens-before what the updater
// does after `synchronize` (reuse of the memory). Swift's clang importer does not
// report `__has_feature(thread_sanitizer)`, so TSan builds pass the switch:
//     swift test --sanitize=thread -Xcc -DCURCU_TSAN_ANNOTATIONS=1
// Without it (every normal build) there is no code at all.
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
static inline void curcu_read_lock(void) { _urcu_memb_read_lock(); }

/// Leaves a read-side critical section.
static inline void curcu_read_unlock(void) {
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_release(&urcu_memb_gp);
#endif
    _urcu_memb_read_unlock();
}

/// Non-zero while the calling thread is inside a read-side critical section.
static inline int curcu_read_ongoing(void) { return _urcu_memb_read_ongoing(); }

/// Non-zero once the calling thread is registered as an RCU reader.
static inline int curcu_reader_registered(void) {
    return URCU_TLS(urcu_memb_reader).registered;
}

/// Registers the calling thread as a reader (exported symbol).
static inline void curcu_register_thread(void) { urcu_memb_register_thread(); }

/// Unregisters the calling thread (exported symbol).
static inline void curcu_unregister_thread(void) { urcu_memb_unregister_thread(); }

/// Waits for a grace period: every read-side section that was running on entry has ended.
static inline void curcu_synchronize(void) {
    urcu_memb_synchronize_rcu();
#ifdef CURCU_TSAN_ANNOTATIONS
    __tsan_acquire(&urcu_memb_gp);
#endif
}

/// Queues `func(head)` to run on a call_rcu worker thread after a grace period.
static inline void curcu_call(struct rcu_head *head, void (*func)(struct rcu_head *)) {
    urcu_memb_call_rcu(head, func);
}

/// Waits until every callback queued by `curcu_call` before this call has run.
static inline void curcu_barrier(void) { urcu_memb_barrier(); }

#endif
