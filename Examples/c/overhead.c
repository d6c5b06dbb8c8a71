// What the C API costs over the Swift calls it wraps, measured in one process:
// the same loop written in C (through libinterval_notifier.so) and in Swift (the
// library's own inlined calls, umn__bench_* below), run alternately A B A B ...
// on one thread; per-pair ratios C / Swift, median with min and max.
//   read pair: umn_interval_read_begin + umn_interval_read_retry on one subscription
//   lookup:    umn_interval_notifier_find at a random address of a tree of N subscriptions
// Usage: overhead [repetitions]   (make -C Examples/c overhead)
#include <interval_notifier.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

// Measurement loops in Swift, exported by the library but not part of its header.
int64_t umn__bench_swift_read_pairs(struct umn_interval_notifier *sub, uint64_t count);
int64_t umn__bench_swift_lookups(struct umn_mm *mm, uint64_t count, uint64_t span, uint64_t seed);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static bool on_invalidate(struct umn_interval_notifier *sub, const struct umn_notifier_range *range,
                          uint64_t cur_seq, void *context) {
    (void)range; (void)context;
    umn_interval_set_seq(sub, cur_seq);
    return true;
}
static bool visit(struct umn_interval_notifier *sub, void *context) {
    *(struct umn_interval_notifier **)context = sub;
    return true;
}

static int64_t c_read_pairs(struct umn_interval_notifier *sub, uint64_t count) {
    int64_t retries = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t seq;
        if (umn_interval_read_begin(sub, &seq) != 0) return -1;
        if (umn_interval_read_retry(sub, seq)) retries++;
    }
    return retries;
}

static int64_t c_lookups(struct umn_mm *mm, uint64_t count, uint64_t span, uint64_t seed) {
    uint64_t x = seed;
    int64_t hits = 0;
    for (uint64_t i = 0; i < count; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        struct umn_interval_notifier *found = NULL;
        hits += umn_interval_notifier_find(mm, (x >> 16) % span, visit, &found);
    }
    return hits;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *c_ns, double *swift_ns, int reps) {
    double ratio[64], cs[64], ss[64];
    for (int i = 0; i < reps; i++) { ratio[i] = c_ns[i] / swift_ns[i]; cs[i] = c_ns[i]; ss[i] = swift_ns[i]; }
    qsort(ratio, reps, sizeof ratio[0], compare);
    qsort(cs, reps, sizeof cs[0], compare);
    qsort(ss, reps, sizeof ss[0], compare);
    printf("%-34s C %6.2f ns (min %6.2f)  Swift %6.2f ns (min %6.2f)  C-Swift %+6.2f ns  ratio median %.2f (min %.2f, max %.2f, %d pairs)\n",
           what, cs[reps / 2], cs[0], ss[reps / 2], ss[0], cs[reps / 2] - ss[reps / 2], ratio[reps / 2], ratio[0], ratio[reps - 1], reps);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 3 || reps > 64) reps = 7;
    static const struct { int strategy; const char *name; } strategies[] = {
        {UMN_STRATEGY_DEFAULT, "default"}, {UMN_STRATEGY_RCU_QSBR, "rcu-qsbr"}};
    for (size_t s = 0; s < 2; s++) {
        struct umn_mm *mm;
        if (umn_mm_create(strategies[s].strategy, &mm) != 0) return 2;
        int chosen = umn_mm_strategy(mm);
        // read pair
        struct umn_interval_notifier *sub;
        if (umn_interval_notifier_insert(mm, 1u << 30, 4096, on_invalidate, NULL, &sub) != 0) return 2;
        const uint64_t pairs = 20000000;
        double c_ns[64], swift_ns[64];
        c_read_pairs(sub, pairs / 10); umn__bench_swift_read_pairs(sub, pairs / 10); // warm up
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            if (c_read_pairs(sub, pairs) != 0) return 3;
            double t1 = now();
            if (umn__bench_swift_read_pairs(sub, pairs) != 0) return 3;
            double t2 = now();
            c_ns[r] = (t1 - t0) * 1e9 / pairs;
            swift_ns[r] = (t2 - t1) * 1e9 / pairs;
        }
        char label[80];
        snprintf(label, sizeof label, "read pair, strategy %d (%s)", chosen, strategies[s].name);
        report(label, c_ns, swift_ns, reps);
        // lookups in trees of 1 000 and 100 000 subscriptions of 4 KiB, every other 4 KiB
        static const uint64_t sizes[] = {1000, 100000};
        struct umn_interval_notifier **subs = malloc(sizeof *subs * 100000);
        uint64_t inserted = 0;
        for (size_t z = 0; z < 2; z++) {
            for (; inserted < sizes[z]; inserted++)
                if (umn_interval_notifier_insert(mm, inserted * 8192, 4096, on_invalidate, NULL, &subs[inserted]) != 0) return 2;
            const uint64_t lookups = 2000000, span = sizes[z] * 8192;
            c_lookups(mm, lookups / 10, span, 1); umn__bench_swift_lookups(mm, lookups / 10, span, 1);
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                int64_t hc = c_lookups(mm, lookups, span, 88172645463325252ull + r);
                double t1 = now();
                int64_t hs = umn__bench_swift_lookups(mm, lookups, span, 88172645463325252ull + r);
                double t2 = now();
                if (hc != hs) { fprintf(stderr, "lookup hits differ: C %lld, Swift %lld\n", (long long)hc, (long long)hs); return 3; }
                c_ns[r] = (t1 - t0) * 1e9 / lookups;
                swift_ns[r] = (t2 - t1) * 1e9 / lookups;
            }
            snprintf(label, sizeof label, "lookup, %llu subs, strategy %d", (unsigned long long)sizes[z], chosen);
            report(label, c_ns, swift_ns, reps);
        }
        for (uint64_t i = 0; i < inserted; i++) { umn_interval_notifier_remove(subs[i]); umn_interval_notifier_free(subs[i]); }
        free(subs);
        umn_interval_notifier_remove(sub);
        umn_interval_notifier_free(sub);
        umn_mm_destroy(mm);
    }
    return 0;
}
