// The library's own small C helpers: the per-thread callback-context marker, the
// calling thread's id, the spin-wait hint and the ThreadSanitizer hooks. Nothing
// here links anything beyond libc. Names are prefixed `cnp_` (C names share one
// name space across modules). The harness's platform calls (affinity, libnuma)
// live in CNotifierHarness, which the library does not link.
#ifndef CNOTIFIER_CORE_H
#define CNOTIFIER_CORE_H

/// The per-thread "inside an invalidate callback of this registry" marker.
/// The engine sets it around callbacks to detect re-entrant calls that would
/// deadlock. `cnp_set_callback_context` returns the previous value.
void *cnp_set_callback_context(void *context);

/// The TLS model of the markers: initial-exec, so that code in a shared object
/// (libinterval_notifier.so, the C API) reads them with one %fs-relative load
/// instead of a `__tls_get_addr` call on `readBegin`'s fast path (measured:
/// about 22 ns per read_begin/read_retry pair through the C API with the default
/// model, see Examples/c/overhead.c). Executables use local-exec either way. The
/// three words fit glibc's static TLS surplus, so dlopen still works.
#define CNP_TLS_MODEL __attribute__((tls_model("initial-exec")))

/// Storage of the per-thread callback marker (use the functions).
extern __thread void *cnp_callback_marker CNP_TLS_MODEL;

/// The current value of the per-thread callback marker (inlined into Swift).
static inline void *cnp_callback_context(void) { return cnp_callback_marker; }

/// The per-thread "inside a lookup that holds this registry's lock" marker
/// (locked strategies only): a call that would take the same lock from the
/// lookup's body would deadlock, and is refused instead.
extern __thread void *cnp_lookup_marker CNP_TLS_MODEL;

/// Sets the lookup marker; returns the previous value (inlined into Swift).
static inline void *cnp_swap_lookup_context(void *context) {
    void *previous = cnp_lookup_marker;
    cnp_lookup_marker = context;
    return previous;
}

/// The current value of the per-thread lookup marker (inlined into Swift).
static inline void *cnp_lookup_context(void) { return cnp_lookup_marker; }

/// How many qsbr read-side sections (lookups of qsbr address spaces and trees)
/// the calling thread is inside. liburcu's qsbr sections leave no trace of their
/// own, and its `synchronize_rcu` takes an online caller offline while it waits:
/// called from inside a section, it would return after freeing what the section
/// still holds. This count is how a waiting call sees that and refuses.
extern __thread unsigned long cnp_qsbr_section_depth CNP_TLS_MODEL;

/// Notes entry into a qsbr read-side section (inlined into Swift).
static inline void cnp_qsbr_section_enter(void) { cnp_qsbr_section_depth += 1; }

/// Notes exit from a qsbr read-side section (inlined into Swift).
static inline void cnp_qsbr_section_exit(void) { cnp_qsbr_section_depth -= 1; }

/// Whether the calling thread is inside a qsbr read-side section (inlined into Swift).
static inline int cnp_qsbr_in_section(void) { return cnp_qsbr_section_depth != 0; }

/// Stable small integer id of the calling thread (gettid).
int cnp_thread_id(void);

// ThreadSanitizer annotations for locks whose slow paths it cannot see
// (`Synchronization.Mutex` parks in an uninstrumented library). Empty unless
// the TSan build passes `-Xcc -DCURCU_TSAN_ANNOTATIONS=1` (see CURCU/curcu.h).
#ifdef CURCU_TSAN_ANNOTATIONS
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static inline void cnp_tsan_acquire(void *addr) { __tsan_acquire(addr); }
static inline void cnp_tsan_release(void *addr) { __tsan_release(addr); }
#else
static inline void cnp_tsan_acquire(void *addr) { (void)addr; }
static inline void cnp_tsan_release(void *addr) { (void)addr; }
#endif

/// Tells the CPU the caller is spinning (x86 `pause`, arm64 `yield`).
static inline void cnp_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
// userfaultfd (the memory monitor). Swift imports the constants and structs of
// <linux/userfaultfd.h> but not the `_IOWR` ioctl numbers, and cannot call the
// variadic `syscall()` or `ioctl()`: these wrappers are the only C the monitor
// needs. Swift reaches them through `Memory/Syscalls.swift` only.
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>

/// `syscall(SYS_userfaultfd, flags)`: a new userfaultfd, or -1 with `errno` set.
int cnp_userfaultfd_open(int flags);

/// `ioctl(fd, request, argument)`: 0 (or the ioctl's result), or -1 with `errno` set.
int cnp_ioctl(int fd, unsigned long request, void *argument);

/// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`: the monitor's wake-up descriptor.
int cnp_eventfd_open(void);

static inline unsigned long cnp_uffdio_api(void) { return UFFDIO_API; }
static inline unsigned long cnp_uffdio_register(void) { return UFFDIO_REGISTER; }
static inline unsigned long cnp_uffdio_unregister(void) { return UFFDIO_UNREGISTER; }
static inline unsigned long cnp_uffdio_zeropage(void) { return UFFDIO_ZEROPAGE; }
static inline unsigned long cnp_uffdio_wake(void) { return UFFDIO_WAKE; }

#include <stdint.h>

// Atomic access to plain 64-bit words of the interval tree's manually managed
// nodes (Swift has no atomics on raw memory). Each compiles to one `mov` on
// x86-64; they exist so that the compiler keeps the order and so that
// ThreadSanitizer sees the words that a writer changes in a published node.

/// Relaxed load: a word that a writer may change in place (an inner node's max-last).
static inline uint64_t cnp_load_relaxed_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }
/// Acquiring load: a child pointer that a writer may replace in place; pairs
/// with `cnp_store_release_u64`, so the child's contents are visible.
static inline uint64_t cnp_load_acquire_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
/// Relaxed store: a max-last changed in place (ordered by the stores around it).
static inline void cnp_store_relaxed_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELAXED); }
/// Releasing store: publishes a child pointer (and orders every earlier store before it).
static inline void cnp_store_release_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }

/// Prefetch for writing (a hint, no effect on memory): the interval tree's
/// writer asks for the next free node's cache lines while it descends, so that
/// the copy into that node does not stall on misses (Swift has no prefetch).
static inline void cnp_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }
/// Prefetch for reading (a hint): the writer's descent asks for all of a
/// node's lines at once instead of missing on them one after another.
static inline void cnp_prefetch_for_read(const void *address) { __builtin_prefetch(address, 0, 3); }

/// The number of the `fanout` words at `words` (16 or 32; 8 otherwise) that are
/// below `key`: the interval tree writer's route through an inner node, whose
/// starts are sorted and whose unused words hold UINT64_MAX. Scalar on purpose:
/// one compare and one add-with-carry per word. Left to the vectoriser, the
/// loop became SSE2 code emulating unsigned 64-bit compares (about four times
/// the instructions), because the baseline x86-64 target has no `pcmpgtq`.
static inline long cnp_count_below(const uint64_t *words, long fanout, uint64_t key) {
    long below = 0;
    if (fanout == 16) {
        _Pragma("clang loop vectorize(disable) interleave(disable) unroll(full)")
        for (int i = 0; i < 16; i++) below += words[i] < key;
    } else if (fanout == 32) {
        _Pragma("clang loop vectorize(disable) interleave(disable) unroll(full)")
        for (int i = 0; i < 32; i++) below += words[i] < key;
    } else {
        _Pragma("clang loop vectorize(disable) interleave(disable) unroll(full)")
        for (int i = 0; i < 8; i++) below += words[i] < key;
    }
    return below;
}
#include <stddef.h>

/// `mmap` of `bytes` (a multiple of 2 MiB) of private anonymous memory at a 2 MiB
/// boundary, advised `MADV_HUGEPAGE` (the interval tree's large slabs), or NULL.
void *cnp_map_huge_region(size_t bytes);

/// `munmap(address, bytes)`: 0, or -1 with `errno` set.
int cnp_unmap_region(void *address, size_t bytes);

// The interval tree's vector node scan (node_scan.c).

/// Set in ThreadSanitizer builds: the scan then loads each `last` word on its
/// own with the same atomic load as the Swift scan (TSan does not model vector
/// loads of words that a writer stores atomically), so the sanitizer checks
/// the vector walk's logic and ordering, not its instructions.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CNP_NODE_SCAN_PORTABLE_ONLY 1
#endif
#endif
#if !defined(CNP_NODE_SCAN_PORTABLE_ONLY) && defined(__SANITIZE_THREAD__)
#define CNP_NODE_SCAN_PORTABLE_ONLY 1
#endif
#ifndef CNP_NODE_SCAN_PORTABLE_ONLY
#define CNP_NODE_SCAN_PORTABLE_ONLY 0
#endif

/// The instruction sets of the node scan.
enum {
    /// No vector scan on this CPU (readers scan word by word in Swift).
    CNP_NODE_SCAN_NONE = 0,
    /// x86-64 AVX2: four words a compare.
    CNP_NODE_SCAN_AVX2 = 1,
    /// x86-64 AVX-512F: eight words a compare.
    CNP_NODE_SCAN_AVX512 = 2,
    /// One atomic load a word (ThreadSanitizer builds, and the tests' reference).
    CNP_NODE_SCAN_PORTABLE = 3,
};

/// The instruction set `cnp_node_overlap_mask` uses: the widest this CPU and
/// OS run (x86-64 only; the OS must save the registers), CNP_NODE_SCAN_PORTABLE
/// in ThreadSanitizer builds, CNP_NODE_SCAN_NONE without a vector unit.
int cnp_node_scan_isa_in_use(void);

/// Whether this build on this CPU can run `isa`'s code (tests).
int cnp_node_scan_runs(int isa);

/// Bit `i` set for each of the first `count` words with `starts[i] <= last &&
/// lasts[i] >= start`: which entries of a leaf, or children of an inner node,
/// may overlap `[start, last]`. `fanout` (8, 16 or 32) is the arrays' length,
/// `count <= fanout`. Reads all `fanout` words of both arrays, each `lasts`
/// word as one relaxed load would. - Precondition: `cnp_node_scan_isa_in_use()`
/// is not CNP_NODE_SCAN_NONE.
uint32_t cnp_node_overlap_mask(const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                               uint64_t start, uint64_t last);

/// `cnp_node_overlap_mask` with instruction set `isa` (tests: each set against
/// the portable one). - Precondition: `cnp_node_scan_runs(isa)`.
uint32_t cnp_node_overlap_mask_using(int isa, const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                                     uint64_t start, uint64_t last);

/// Bytes of CPU 0's data or unified cache of `level` (1, 2, 3) as Linux's sysfs
/// gives them, or 0 where they are unknown.
long cnp_cache_bytes(int level);
#endif
