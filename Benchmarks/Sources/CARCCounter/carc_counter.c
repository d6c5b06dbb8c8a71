// A minimal retain/release counter for the benchmarks.
//
// Why: package-benchmark's own `.retainCount` / `.releaseCount` metrics crash
// with Swift 6.3 on Linux unless the swift-runtime-interposer package is
// available (ordo-one/benchmark issue #349), and that package is not in this
// project's offline mirror. These definitions of the runtime's public entry
// points are linked into the benchmark executable, so the static linker binds
// every retain/release that Swift code in the executable emits (this project's
// inlined library code and the benchmark bodies included) to them; they count
// on the calling thread and forward to the runtime's implementation. Retains
// made inside libswiftCore itself (unspecialised generic code) are not seen.

#if defined(__linux__)
#define _GNU_SOURCE 1 // RTLD_NEXT
#endif

#include "CARCCounter.h"

#if defined(__linux__)
#include <dlfcn.h>
#include <stdlib.h>

static __thread uint64_t carc_retains;
static __thread uint64_t carc_releases;

typedef void *(*carc_retain_t)(void *);
typedef void *(*carc_retain_n_t)(void *, uint32_t);
typedef void (*carc_release_t)(void *);
typedef void (*carc_release_n_t)(void *, uint32_t);
typedef void *(*carc_bridge_retain_n_t)(void *, int);
typedef void (*carc_bridge_release_n_t)(void *, int);

// Resolved on first use (a constructor could run after other constructors
// that already retain); dlsym is idempotent, so a racing first use is benign.
#define CARC_REAL(type, name)                                                  \
    static type carc_real_##name(void) {                                       \
        static type cached;                                                    \
        type fn = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);                  \
        if (__builtin_expect(fn == NULL, 0)) {                                 \
            fn = (type)dlsym(RTLD_NEXT, #name);                                \
            if (fn == NULL) abort();                                           \
            __atomic_store_n(&cached, fn, __ATOMIC_RELEASE);                   \
        }                                                                      \
        return fn;                                                             \
    }

CARC_REAL(carc_retain_t, swift_retain)
CARC_REAL(carc_retain_n_t, swift_retain_n)
CARC_REAL(carc_release_t, swift_release)
CARC_REAL(carc_release_n_t, swift_release_n)
CARC_REAL(carc_retain_t, swift_bridgeObjectRetain)
CARC_REAL(carc_bridge_retain_n_t, swift_bridgeObjectRetain_n)
CARC_REAL(carc_release_t, swift_bridgeObjectRelease)
CARC_REAL(carc_bridge_release_n_t, swift_bridgeObjectRelease_n)

void *swift_retain(void *object) {
    carc_retains += 1;
    return carc_real_swift_retain()(object);
}

void *swift_retain_n(void *object, uint32_t n) {
    carc_retains += n;
    return carc_real_swift_retain_n()(object, n);
}

void swift_release(void *object) {
    carc_releases += 1;
    carc_real_swift_release()(object);
}

void swift_release_n(void *object, uint32_t n) {
    carc_releases += n;
    carc_real_swift_release_n()(object, n);
}

void *swift_bridgeObjectRetain(void *object) {
    carc_retains += 1;
    return carc_real_swift_bridgeObjectRetain()(object);
}

void *swift_bridgeObjectRetain_n(void *object, int n) {
    carc_retains += (uint64_t)n;
    return carc_real_swift_bridgeObjectRetain_n()(object, n);
}

void swift_bridgeObjectRelease(void *object) {
    carc_releases += 1;
    carc_real_swift_bridgeObjectRelease()(object);
}

void swift_bridgeObjectRelease_n(void *object, int n) {
    carc_releases += (uint64_t)n;
    carc_real_swift_bridgeObjectRelease_n()(object, n);
}

uint64_t carc_counter_retains(void) { return carc_retains; }
uint64_t carc_counter_releases(void) { return carc_releases; }
int carc_counter_available(void) { return 1; }

#else

uint64_t carc_counter_retains(void) { return 0; }
uint64_t carc_counter_releases(void) { return 0; }
int carc_counter_available(void) { return 0; }

#endif
