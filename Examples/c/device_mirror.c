// A device mirror in C: four subscriptions mirror pages of a primary page table;
// a fault loop (two threads) looks each address up, reads the primary with the
// collision-retry protocol and installs it in the mirror; an invalidating thread
// changes primary pages between invalidate_range_start and _end. After every
// invalidation and at the end, no mirrored entry may differ from the primary.
// Exits 0 when nothing stale was ever seen. Usage: device_mirror [faults per thread]
#include <interval_notifier.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define PAGES 256u
#define MIRRORS 4u
#define BASE 0x100000u

static _Atomic uint64_t primary[PAGES]; // generation of each page, 0 = unmapped

struct mirror {
    pthread_mutex_t lock;        // the user lock: set_seq and read_retry under it
    uint64_t first_page;
    uint64_t entries[PAGES / MIRRORS]; // mirrored generations, 0 = not mirrored
    struct umn_interval_notifier *sub;
};
static struct mirror mirrors[MIRRORS];
static struct umn_mm *mm;
static atomic_long stale, retries, faults;

static bool invalidate(struct umn_interval_notifier *sub, const struct umn_notifier_range *range,
                       uint64_t cur_seq, void *context) {
    struct mirror *m = context;
    if (range->flags & UMN_NOTIFIER_RANGE_BLOCKABLE)
        pthread_mutex_lock(&m->lock);
    else if (pthread_mutex_trylock(&m->lock) != 0)
        return false;
    umn_interval_set_seq(sub, cur_seq);
    for (uint64_t i = 0; i < PAGES / MIRRORS; i++) {
        uint64_t address = BASE + (m->first_page + i) * PAGE;
        if (address <= range->last && address + PAGE - 1 >= range->start) m->entries[i] = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return true;
}

static bool found(struct umn_interval_notifier *sub, void *context) {
    *(struct umn_interval_notifier **)context = sub;
    return false;
}

static uint64_t next(uint64_t *x) {
    *x ^= *x << 13; *x ^= *x >> 7; *x ^= *x << 17;
    return *x;
}

static long faults_per_thread = 200000;

static void *fault_loop(void *arg) {
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    for (long n = 0; n < faults_per_thread; n++) {
        uint64_t page = next(&x) % PAGES;
        struct umn_interval_notifier *sub = NULL;
        if (umn_interval_notifier_find(mm, BASE + page * PAGE, found, &sub) != 1) abort();
        struct mirror *m = umn_interval_notifier_context(sub);
        for (;;) {
            uint64_t seq;
            if (umn_interval_read_begin(sub, &seq) != 0) abort();
            uint64_t value = atomic_load_explicit(&primary[page], memory_order_acquire);
            if (umn_interval_check_retry(sub, seq)) { atomic_fetch_add(&retries, 1); continue; }
            pthread_mutex_lock(&m->lock);
            if (umn_interval_read_retry(sub, seq)) {
                pthread_mutex_unlock(&m->lock);
                atomic_fetch_add(&retries, 1);
                continue;
            }
            m->entries[page - m->first_page] = value;
            pthread_mutex_unlock(&m->lock);
            break;
        }
        atomic_fetch_add_explicit(&faults, 1, memory_order_relaxed);
    }
    return NULL;
}

static void check_mirrors(uint64_t first, uint64_t last) {
    for (unsigned i = 0; i < MIRRORS; i++) {
        pthread_mutex_lock(&mirrors[i].lock);
        for (uint64_t j = 0; j < PAGES / MIRRORS; j++) {
            uint64_t page = mirrors[i].first_page + j;
            if (page < first || page > last) continue;
            uint64_t mirrored = mirrors[i].entries[j];
            if (mirrored != 0 && mirrored != atomic_load(&primary[page])) atomic_fetch_add(&stale, 1);
        }
        pthread_mutex_unlock(&mirrors[i].lock);
    }
}

static atomic_int stop;
static long invalidations;

static void *invalidator(void *arg) {
    (void)arg;
    uint64_t x = 7, generation = PAGES + 1;
    while (!atomic_load(&stop)) {
        uint64_t first = next(&x) % PAGES, count = 1 + next(&x) % 8;
        if (first + count > PAGES) count = PAGES - first;
        struct umn_notifier_range range = {
            .start = BASE + first * PAGE, .last = BASE + (first + count) * PAGE - 1,
            .event = UMN_NOTIFY_CLEAR, .flags = UMN_NOTIFIER_RANGE_BLOCKABLE};
        if (umn_notifier_invalidate_range_start(mm, &range) != 0) abort();
        for (uint64_t p = first; p < first + count; p++)
            atomic_store_explicit(&primary[p], generation++, memory_order_release);
        if (umn_notifier_invalidate_range_end(mm, &range) != 0) abort();
        check_mirrors(first, first + count - 1);
        invalidations++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) faults_per_thread = strtol(argv[1], NULL, 10);
    for (uint64_t p = 0; p < PAGES; p++) atomic_store(&primary[p], p + 1);
    if (umn_mm_create(UMN_STRATEGY_DEFAULT, &mm) != 0) return 2;
    for (unsigned i = 0; i < MIRRORS; i++) {
        pthread_mutex_init(&mirrors[i].lock, NULL);
        mirrors[i].first_page = i * (PAGES / MIRRORS);
        int rc = umn_interval_notifier_insert(mm, BASE + mirrors[i].first_page * PAGE, (PAGES / MIRRORS) * PAGE,
                                              invalidate, &mirrors[i], &mirrors[i].sub);
        if (rc != 0) { fprintf(stderr, "insert: %s\n", umn_strerror(rc)); return 2; }
    }
    pthread_t faulters[2], inv;
    pthread_create(&inv, NULL, invalidator, NULL);
    for (uintptr_t i = 0; i < 2; i++) pthread_create(&faulters[i], NULL, fault_loop, (void *)(i + 1));
    for (int i = 0; i < 2; i++) pthread_join(faulters[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(inv, NULL);
    check_mirrors(0, PAGES - 1);
    for (unsigned i = 0; i < MIRRORS; i++) {
        if (umn_interval_notifier_remove(mirrors[i].sub) != 0 || umn_interval_notifier_free(mirrors[i].sub) != 0) return 2;
        pthread_mutex_destroy(&mirrors[i].lock);
    }
    umn_mm_destroy(mm);
    printf("device_mirror: %ld faults, %ld retries, %ld invalidations, %ld stale entries\n",
           atomic_load(&faults), atomic_load(&retries), invalidations, atomic_load(&stale));
    return atomic_load(&stale) == 0 ? 0 : 1;
}
