// UCX's ucs_rcache through dlopen (see ccache_peers.h for why).

#include "ccache_peers.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

// CCP_NO_UCX forces the stubs (to check that build without libucx-dev).
#if defined(__has_include) && !defined(CCP_NO_UCX)
#if __has_include(<ucs/memory/rcache.h>) && __has_include(<ucm/api/ucm.h>)
#define CCP_HAVE_UCX 1
#endif
#endif

static uint64_t ccp_registrations;

#ifdef CCP_HAVE_UCX
#include <ucs/memory/rcache.h>
#include <ucm/api/ucm.h>

// Every UCX call goes through these pointers, resolved once by ccp_ucx_open.
static struct {
    ucs_status_t (*create)(const ucs_rcache_params_t *, const char *, ucs_stats_node_t *, ucs_rcache_t **);
    void (*destroy)(ucs_rcache_t *);
    ucs_status_t (*get)(ucs_rcache_t *, void *, size_t, int, void *, ucs_rcache_region_t **);
    void (*put)(ucs_rcache_t *, ucs_rcache_region_t *);
} ucx;
static pthread_once_t ucx_once = PTHREAD_ONCE_INIT;
static char ucx_error[256];

static void ucx_load(void) {
    void *library = dlopen("libucs.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (!library) { snprintf(ucx_error, sizeof ucx_error, "dlopen libucs.so.0: %s", dlerror()); return; }
    ucx.create = (ucs_status_t (*)(const ucs_rcache_params_t *, const char *, ucs_stats_node_t *, ucs_rcache_t **))dlsym(library, "ucs_rcache_create");
    ucx.destroy = (void (*)(ucs_rcache_t *))dlsym(library, "ucs_rcache_destroy");
    ucx.get = (ucs_status_t (*)(ucs_rcache_t *, void *, size_t, int, void *, ucs_rcache_region_t **))dlsym(library, "ucs_rcache_get");
    ucx.put = (void (*)(ucs_rcache_t *, ucs_rcache_region_t *))dlsym(library, "ucs_rcache_region_put");
    if (!ucx.create || !ucx.destroy || !ucx.get || !ucx.put) {
        snprintf(ucx_error, sizeof ucx_error, "libucs.so.0 lacks the ucs_rcache_* symbols");
        ucx.create = NULL;
    }
}

int ccp_ucx_open(char *why, size_t capacity) {
    pthread_once(&ucx_once, ucx_load);
    if (ucx.create) return 1;
    snprintf(why, capacity, "%s", ucx_error);
    return 0;
}

static ucs_status_t ccp_mem_reg(void *context, ucs_rcache_t *rcache, void *arg, ucs_rcache_region_t *region, uint16_t flags) {
    (void)context; (void)rcache; (void)arg; (void)region; (void)flags;
    __atomic_add_fetch(&ccp_registrations, 1, __ATOMIC_RELAXED);
    return UCS_OK;
}

static void ccp_mem_dereg(void *context, ucs_rcache_t *rcache, ucs_rcache_region_t *region) {
    (void)context; (void)rcache; (void)region;
}

static void ccp_dump(void *context, ucs_rcache_t *rcache, ucs_rcache_region_t *region, char *buf, size_t max) {
    (void)context; (void)rcache; (void)region;
    if (max > 0) buf[0] = 0;
}

static const ucs_rcache_ops_t ccp_ops = { ccp_mem_reg, ccp_mem_dereg, ccp_dump };

void *ccp_ucx_rcache_create(void) {
    pthread_once(&ucx_once, ucx_load);
    if (!ucx.create) return NULL;
    ucs_rcache_params_t params;
    memset(&params, 0, sizeof params);
    params.region_struct_size = sizeof(ucs_rcache_region_t);
    params.alignment = UCS_PGT_ADDR_ALIGN;
    params.max_alignment = 4096;
    params.ucm_events = UCM_EVENT_VM_UNMAPPED;
    params.ucm_event_priority = 1000;
    params.ops = &ccp_ops;
    params.context = NULL;
    params.flags = 0;
    params.max_regions = (unsigned long)-1;
    params.max_size = (size_t)-1;
    params.max_unreleased = (size_t)-1;
    ucs_rcache_t *rcache = NULL;
    if (ucx.create(&params, "notifier-bench", NULL, &rcache) != UCS_OK) return NULL;
    return rcache;
}

void ccp_ucx_rcache_destroy(void *rcache) { ucx.destroy((ucs_rcache_t *)rcache); }

int ccp_ucx_get(void *rcache, uint64_t address, uint64_t length, void **region) {
    ucs_rcache_region_t *found = NULL;
    ucs_status_t status = ucx.get((ucs_rcache_t *)rcache, (void *)(uintptr_t)address, length,
                                  PROT_READ | PROT_WRITE, NULL, &found);
    *region = found;
    return status == UCS_OK ? 0 : -1;
}

void ccp_ucx_put(void *rcache, void *region) { ucx.put((ucs_rcache_t *)rcache, (ucs_rcache_region_t *)region); }

uint64_t ccp_ucx_hits(void *rcache, const uint64_t *pages, size_t n, uint64_t count, uint64_t *seed) {
    uint64_t x = *seed, failed = 0;
    for (uint64_t i = 0; i < count; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        ucs_rcache_region_t *region;
        if (ucx.get((ucs_rcache_t *)rcache, (void *)(uintptr_t)pages[x % n], 4096, PROT_READ | PROT_WRITE, NULL, &region) != UCS_OK) {
            failed++;
            continue;
        }
        ucx.put((ucs_rcache_t *)rcache, region);
    }
    *seed = x;
    return failed;
}

#else  // no UCX headers at build time: stubs

int ccp_ucx_open(char *why, size_t capacity) {
    snprintf(why, capacity, "built without UCX headers (install libucx-dev: ./scripts/setup.sh, then rebuild)");
    return 0;
}
void *ccp_ucx_rcache_create(void) { return NULL; }
void ccp_ucx_rcache_destroy(void *rcache) { (void)rcache; }
int ccp_ucx_get(void *rcache, uint64_t address, uint64_t length, void **region) {
    (void)rcache; (void)address; (void)length; *region = NULL; return -1;
}
void ccp_ucx_put(void *rcache, void *region) { (void)rcache; (void)region; }
uint64_t ccp_ucx_hits(void *rcache, const uint64_t *pages, size_t n, uint64_t count, uint64_t *seed) {
    (void)rcache; (void)pages; (void)n; (void)seed; return count;
}
#endif

uint64_t ccp_ucx_registrations(void) { return __atomic_load_n(&ccp_registrations, __ATOMIC_RELAXED); }
