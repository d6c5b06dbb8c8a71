// Platform calls of the harness (stress, bench, tests) that Swift cannot make
// directly: the GNU extensions of <sched.h> (CPU sets, affinity), libnuma, the
// reader-preferring rwlock, and 64-bit atomics on plain (NUMA-placed) memory.
// The library does not link this target (nor libnuma); its own C helpers are in
// CNotifierCore. Names are prefixed `cnp_` (C names share one name space).
#ifndef CNOTIFIER_HARNESS_H
#define CNOTIFIER_HARNESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/// Writes up to `capacity` CPU ids from the calling thread's affinity mask into
/// `cpus`, lowest first; returns how many there are in total.
int cnp_allowed_cpus(int *cpus, int capacity);

/// Pins the calling thread to one CPU. Returns 0 or an errno value.
int cnp_pin_current_thread_to_cpu(int cpu);

/// Pins the calling thread to a set of CPUs. Returns 0 or an errno value.
int cnp_pin_current_thread_to_cpus(const int *cpus, int count);

/// Non-zero when libnuma reports a usable NUMA system.
int cnp_numa_available(void);

/// Highest NUMA node id (0 when NUMA is not available).
int cnp_numa_max_node(void);

/// NUMA node of a CPU, or 0 when NUMA is not available.
int cnp_numa_node_of_cpu(int cpu);

/// Allocates `size` bytes on `node` (numa_alloc_onnode), or with plain mmap when
/// NUMA is not available or `node` < 0. Free with `cnp_numa_free`.
void *cnp_numa_alloc_onnode(size_t size, int node);

/// Allocates `size` bytes interleaved over all nodes (or plain mmap without NUMA).
void *cnp_numa_alloc_interleaved(size_t size);

/// Frees memory from `cnp_numa_alloc_onnode` / `cnp_numa_alloc_interleaved`.
void cnp_numa_free(void *memory, size_t size);

/// Node on which the page holding `address` lives, or -1 (get_mempolicy).
int cnp_numa_node_of_address(void *address);

/// Initialises `lock` as a reader-preferring rwlock (glibc's
/// PTHREAD_RWLOCK_PREFER_READER_NP, a GNU extension Swift cannot see): a read
/// lock is granted while writers wait, so read locks may be taken in any order.
/// Returns 0 or an errno value.
int cnp_rwlock_init_reader_preferring(pthread_rwlock_t *lock);

/// Atomic 64-bit accesses on plain memory (page tables of the stress harness live
/// in NUMA-placed memory, where Swift's `Atomic` cannot be placed).
static inline uint64_t cnp_atomic_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void cnp_atomic_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t cnp_atomic_load_u64_seq_cst(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint64_t cnp_atomic_add_u64(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }

/// `mremap(old, oldSize, newSize, flags, newAddress)` (variadic in C, so Swift
/// cannot call it). `flags` takes `CNP_MREMAP_MAYMOVE` and `CNP_MREMAP_FIXED`.
/// Returns the new address, or MAP_FAILED with `errno` set.
void *cnp_mremap(void *old, size_t old_size, size_t new_size, int flags, void *new_address);
#define CNP_MREMAP_MAYMOVE 1
#define CNP_MREMAP_FIXED 2

/// Copies `length` bytes at `address` of this process into `out` with
/// `process_vm_readv` on itself: unmapped memory fails with -1 (`errno`
/// EFAULT) instead of a segmentation fault. Returns the bytes copied or -1.
long cnp_read_own_memory(const void *address, void *out, size_t length);

#endif
