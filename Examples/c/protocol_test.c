// The C API's test: the whole protocol and every error, over every strategy this
// build has, with threads created here that Swift and liburcu have never seen.
// Built and run by `make -C Examples/c test` under -fsanitize=address,undefined.
#include <interval_notifier.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,    \
                    strategy_name, #cond);                                           \
            failures++;                                                              \
        }                                                                            \
    } while (0)
#define CHECK_RC(call, want)                                                         \
    do {                                                                             \
        int rc_ = (call);                                                            \
        if (rc_ != (want)) {                                                         \
            fprintf(stderr, "%s:%d: %s: %s returned %d (%s), want %d\n", __FILE__,   \
                    __LINE__, strategy_name, #call, rc_, umn_strerror(rc_), (want)); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static const char *strategy_name = "-";

// ---- one subscription's user side: a user lock and what the callback saw ----

enum callback_action {
    ACT_NONE,            // set_seq and return true
    ACT_REFUSE_NONBLOCK, // return false when the range is not blockable
    ACT_SELF_WAITS,      // try every call that would wait for itself
    ACT_PUT_OTHER,       // put `other` from inside the callback
};

struct mirror {
    pthread_mutex_t lock;
    atomic_int calls;
    uint64_t last_seq;
    struct umn_notifier_range last_range;
    enum callback_action action;
    struct umn_interval_notifier *other;
    struct umn_mm *mm;
    // results of ACT_SELF_WAITS
    int remove_rc, synchronize_rc, release_rc, read_begin_rc, update_rc;
};

static void mirror_init(struct mirror *m, struct umn_mm *mm) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    m->mm = mm;
}

static atomic_int released;
static int release_synchronize_rc;
static void on_release(struct umn_interval_notifier *sub, void *context) {
    (void)context;
    release_synchronize_rc = umn_notifier_synchronize(NULL); // -EINVAL: NULL
    struct umn_mm *mm = context;
    if (mm) release_synchronize_rc = umn_notifier_synchronize(mm);
    // The release function may free the handle (ops->free_notifier).
    if (umn_interval_notifier_free(sub) != 0) failures++;
    atomic_fetch_add(&released, 1);
}

static bool on_invalidate(struct umn_interval_notifier *sub, const struct umn_notifier_range *range,
                          uint64_t cur_seq, void *context) {
    struct mirror *m = context;
    if (m->action == ACT_REFUSE_NONBLOCK && !(range->flags & UMN_NOTIFIER_RANGE_BLOCKABLE)) {
        if (pthread_mutex_trylock(&m->lock) != 0) return false; // would sleep
        pthread_mutex_unlock(&m->lock);
        return false; // the test holds no lock; refuse anyway to exercise -EAGAIN
    }
    pthread_mutex_lock(&m->lock);
    umn_interval_set_seq(sub, cur_seq);
    m->last_seq = cur_seq;
    m->last_range = *range;
    pthread_mutex_unlock(&m->lock);
    if (m->action == ACT_SELF_WAITS) {
        uint64_t seq;
        m->remove_rc = umn_interval_notifier_remove(sub);
        m->synchronize_rc = umn_notifier_synchronize(m->mm);
        m->release_rc = umn_notifier_release(m->mm);
        m->read_begin_rc = umn_interval_read_begin(sub, &seq);
        m->update_rc = umn_interval_notifier_update(sub, 0x10000, 0x4000); // deferred: allowed
        m->action = ACT_NONE;
    } else if (m->action == ACT_PUT_OTHER) {
        m->remove_rc = umn_interval_notifier_put(m->other, on_release, NULL);
        m->action = ACT_NONE;
    }
    atomic_fetch_add(&m->calls, 1);
    return true;
}

static struct umn_notifier_range make_range(uint64_t start, uint64_t last, uint32_t event, uint32_t flags) {
    struct umn_notifier_range r = {.start = start, .last = last, .owner = NULL, .event = event, .flags = flags};
    return r;
}

// ---- lookups ----

struct visit_state {
    struct umn_interval_notifier *found;
    int count;
    int stop_after;
    struct umn_mm *mm;
    int synchronize_rc, insert_rc;
    bool try_self_waits;
};

static bool visit(struct umn_interval_notifier *sub, void *context) {
    struct visit_state *v = context;
    v->found = sub;
    v->count++;
    if (v->try_self_waits) {
        struct umn_interval_notifier *extra = NULL;
        v->synchronize_rc = umn_notifier_synchronize(v->mm);
        v->insert_rc = umn_interval_notifier_insert(v->mm, 0x900000, 0x1000, on_invalidate, NULL, &extra);
        if (v->insert_rc == 0) { // RCU lookups may insert: undo it
            umn_interval_notifier_put(extra, on_release, NULL);
        }
        v->try_self_waits = false;
    }
    return v->stop_after == 0 || v->count < v->stop_after;
}

// ---- threads the library has never seen ----

struct waiter {
    struct umn_interval_notifier *sub;
    atomic_int done;
    int rc;
    uint64_t seq;
};

static void *read_begin_thread(void *arg) {
    struct waiter *w = arg;
    w->rc = umn_interval_read_begin(w->sub, &w->seq);
    atomic_store(&w->done, 1);
    return NULL;
}

static void *remove_thread(void *arg) {
    struct waiter *w = arg;
    w->rc = umn_interval_notifier_remove(w->sub);
    atomic_store(&w->done, 1);
    return NULL;
}

struct lookup_thread_arg {
    struct umn_mm *mm;
    uint64_t address;
    int result;
};

static void *lookup_thread(void *arg) {
    struct lookup_thread_arg *a = arg;
    struct visit_state v = {0};
    a->result = umn_interval_notifier_find(a->mm, a->address, visit, &v);
    if (a->result == 1) {
        uint64_t seq;
        if (umn_interval_read_begin(v.found, &seq) != 0) a->result = -1;
    }
    return NULL;
}

static void run_thread(void *(*fn)(void *), void *arg) {
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) abort();
    pthread_join(t, NULL);
}

static void short_sleep(void) {
    struct timespec t = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    nanosleep(&t, NULL);
}

// ---- the protocol over one strategy ----

static void test_strategy(int strategy, const char *name) {
    strategy_name = name;
    struct umn_mm *mm = NULL;
    CHECK_RC(umn_mm_create(strategy, &mm), 0);
    CHECK(umn_mm_strategy(mm) == strategy);

    struct mirror ma, mb;
    mirror_init(&ma, mm);
    mirror_init(&mb, mm);
    struct umn_interval_notifier *a = NULL, *b = NULL, *c = NULL;

    // insert and its errors
    CHECK_RC(umn_interval_notifier_insert(mm, 0x10000, 0, on_invalidate, &ma, &a), -EINVAL);
    CHECK_RC(umn_interval_notifier_insert(mm, UINT64_MAX - 10, 12, on_invalidate, &ma, &a), -EOVERFLOW);
    CHECK_RC(umn_interval_notifier_insert(mm, 0x10000, 0x4000, NULL, &ma, &a), -EINVAL);
    CHECK_RC(umn_interval_notifier_insert(NULL, 0x10000, 0x4000, on_invalidate, &ma, &a), -EINVAL);
    CHECK_RC(umn_interval_notifier_insert(mm, 0x10000, 0x4000, on_invalidate, &ma, NULL), -EINVAL);
    CHECK(a == NULL);
    CHECK_RC(umn_interval_notifier_insert(mm, 0x10000, 0x4000, on_invalidate, &ma, &a), 0);
    CHECK_RC(umn_interval_notifier_insert(mm, 0x20000, 0x1000, on_invalidate, &mb, &b), 0);
    CHECK(umn_interval_notifier_context(a) == &ma);
    CHECK(umn_interval_notifier_context(NULL) == NULL);
    uint64_t start = 0, last = 0;
    CHECK_RC(umn_interval_notifier_range(a, &start, &last), 0);
    CHECK(start == 0x10000 && last == 0x13fff);
    CHECK_RC(umn_interval_notifier_range(a, NULL, &last), -EINVAL);
    CHECK_RC(umn_interval_notifier_free(a), -EBUSY);

    // read side, idle
    uint64_t seq = 0;
    CHECK_RC(umn_interval_read_begin(a, &seq), 0);
    CHECK(seq & 1);
    CHECK(!umn_interval_check_retry(a, seq));
    CHECK(!umn_interval_read_retry(a, seq));
    CHECK_RC(umn_interval_read_begin(NULL, &seq), -EINVAL);
    CHECK_RC(umn_interval_read_begin(a, NULL), -EINVAL);
    CHECK(umn_interval_read_retry(NULL, seq));
    CHECK(umn_interval_check_retry(NULL, seq));

    // lookups
    struct visit_state v = {0};
    CHECK_RC(umn_interval_notifier_find(mm, 0x11000, visit, &v), 1);
    CHECK(v.found == a && umn_interval_notifier_context(v.found) == &ma);
    memset(&v, 0, sizeof v);
    CHECK_RC(umn_interval_notifier_find(mm, 0x18000, visit, &v), 0);
    CHECK(v.count == 0);
    CHECK_RC(umn_interval_notifier_for_each(mm, 0, UINT64_MAX, visit, &v), 0);
    CHECK(v.count == 2);
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    CHECK_RC(umn_interval_notifier_for_each(mm, 0, UINT64_MAX, visit, &v), 1);
    CHECK(v.count == 1 && v.found == a);
    CHECK_RC(umn_interval_notifier_find(NULL, 0, visit, &v), -EINVAL);
    CHECK_RC(umn_interval_notifier_for_each(mm, 2, 1, visit, &v), -EINVAL);
    // self-waits inside a lookup: synchronize (every strategy); insert with the locked strategies
    memset(&v, 0, sizeof v);
    v.mm = mm;
    v.try_self_waits = true;
    CHECK_RC(umn_interval_notifier_find(mm, 0x11000, visit, &v), 1);
    // qsbr too: its wait would take the thread offline and return after freeing what
    // the lookup still holds.
    CHECK_RC(v.synchronize_rc, -EDEADLK);
    bool locked = strategy == UMN_STRATEGY_KERNEL || strategy == UMN_STRATEGY_RWLOCK || strategy == UMN_STRATEGY_MUTEX;
    CHECK_RC(v.insert_rc, locked ? -EDEADLK : 0);
    CHECK_RC(umn_notifier_synchronize(mm), 0);

    // a lookup from a thread nobody has seen, many times (registration and its undoing)
    for (int i = 0; i < 50; i++) {
        struct lookup_thread_arg la = {.mm = mm, .address = 0x20800};
        run_thread(lookup_thread, &la);
        CHECK(la.result == 1);
    }

    // a blockable invalidation: callback, set_seq, read_retry, end; errors of ranges
    struct umn_notifier_range r = make_range(0x11000, 0x11fff, UMN_NOTIFY_CLEAR, UMN_NOTIFIER_RANGE_BLOCKABLE);
    r.owner = &mb;
    struct umn_notifier_range bad = make_range(0x2000, 0x1000, UMN_NOTIFY_UNMAP, UMN_NOTIFIER_RANGE_BLOCKABLE);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &bad), -EINVAL);
    bad = make_range(0x1000, 0x2000, 99, UMN_NOTIFIER_RANGE_BLOCKABLE);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &bad), -EINVAL);
    bad = make_range(0x1000, 0x2000, UMN_NOTIFY_UNMAP, 0x80);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &bad), -EINVAL);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, NULL), -EINVAL);
    CHECK_RC(umn_notifier_invalidate_range_start(NULL, &r), -EINVAL);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &r), 0);
    CHECK(atomic_load(&ma.calls) == 1 && atomic_load(&mb.calls) == 0);
    CHECK(ma.last_seq & 1);
    CHECK(ma.last_range.start == 0x11000 && ma.last_range.last == 0x11fff);
    CHECK(ma.last_range.event == UMN_NOTIFY_CLEAR && ma.last_range.owner == &mb);
    CHECK(ma.last_range.flags == UMN_NOTIFIER_RANGE_BLOCKABLE);
    pthread_mutex_lock(&ma.lock);
    CHECK(umn_interval_read_retry(a, seq)); // collided
    pthread_mutex_unlock(&ma.lock);
    CHECK(umn_interval_check_retry(a, seq));
    // in the own window: read_begin (would sleep), remove, synchronize, release wait for this thread
    uint64_t seq2;
    CHECK_RC(umn_interval_read_begin(a, &seq2), -EDEADLK);
    CHECK_RC(umn_interval_notifier_remove(a), -EDEADLK);
    CHECK_RC(umn_notifier_synchronize(mm), -EDEADLK);
    CHECK_RC(umn_notifier_release(mm), -EDEADLK);
    // b is not in the window: read_begin does not wait
    CHECK_RC(umn_interval_read_begin(b, &seq2), 0);
    // an insert in the window is deferred; read_begin on it from another thread waits for the end
    CHECK_RC(umn_interval_notifier_insert(mm, 0x30000, 0x1000, on_invalidate, &mb, &c), 0);
    struct waiter w = {.sub = a};
    pthread_t t;
    pthread_create(&t, NULL, read_begin_thread, &w);
    short_sleep();
    CHECK(atomic_load(&w.done) == 0); // sleeping in read_begin
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &r), 0);
    pthread_join(t, NULL);
    CHECK_RC(w.rc, 0);
    CHECK(w.seq == ma.last_seq);
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &r), -EPROTO); // ended twice
    CHECK_RC(umn_notifier_invalidate_range_end(mm, NULL), -EINVAL);
    CHECK_RC(umn_interval_read_begin(a, &seq), 0);
    CHECK(!umn_interval_read_retry(a, seq));

    // a remove during another thread's window waits for the window's end
    struct umn_notifier_range rc_range = make_range(0x30000, 0x30fff, UMN_NOTIFY_UNMAP, UMN_NOTIFIER_RANGE_BLOCKABLE);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &rc_range), 0);
    struct waiter wr = {.sub = c};
    pthread_create(&t, NULL, remove_thread, &wr);
    short_sleep();
    CHECK(atomic_load(&wr.done) == 0);
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &rc_range), 0);
    pthread_join(t, NULL);
    CHECK_RC(wr.rc, 0);
    CHECK_RC(umn_interval_notifier_free(c), 0);

    // non-blockable: a refusing callback gives -EAGAIN and ends the range
    ma.action = ACT_REFUSE_NONBLOCK;
    struct umn_notifier_range nb = make_range(0x10000, 0x10fff, UMN_NOTIFY_UNMAP, 0);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &nb), -EAGAIN);
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &nb), -EPROTO);
    nb.flags = UMN_NOTIFIER_RANGE_BLOCKABLE; // the nonblock call clears it
    CHECK_RC(umn_notifier_invalidate_range_start_nonblock(mm, &nb), -EAGAIN);
    ma.action = ACT_NONE;
    CHECK_RC(umn_notifier_invalidate_range_start_nonblock(mm, &nb), 0);
    CHECK(ma.last_range.flags == 0);
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &nb), 0);

    // self-waits inside a callback; update inside it is deferred
    ma.action = ACT_SELF_WAITS;
    r = make_range(0x12000, 0x12fff, UMN_NOTIFY_UNMAP, UMN_NOTIFIER_RANGE_BLOCKABLE);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &r), 0);
    CHECK_RC(ma.remove_rc, -EDEADLK);
    CHECK_RC(ma.synchronize_rc, -EDEADLK);
    CHECK_RC(ma.release_rc, -EDEADLK);
    CHECK_RC(ma.read_begin_rc, -EDEADLK);
    CHECK_RC(ma.update_rc, 0);
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &r), 0);

    // update: moves the range, every region begun before retries; its errors
    CHECK_RC(umn_interval_read_begin(a, &seq), 0);
    CHECK_RC(umn_interval_notifier_update(a, 0x40000, 0x2000), 0);
    CHECK(umn_interval_read_retry(a, seq));
    CHECK_RC(umn_interval_notifier_range(a, &start, &last), 0);
    CHECK(start == 0x40000 && last == 0x41fff);
    CHECK_RC(umn_interval_notifier_update(a, 0x40000, 0), -EINVAL);
    CHECK_RC(umn_interval_notifier_update(a, UINT64_MAX, 2), -EOVERFLOW);
    CHECK_RC(umn_interval_notifier_update(NULL, 0, 1), -EINVAL);

    // put from inside a callback (of another subscription), then synchronize
    ma.action = ACT_PUT_OTHER;
    ma.other = b;
    atomic_store(&released, 0);
    r = make_range(0x40000, 0x40fff, UMN_NOTIFY_UNMAP, UMN_NOTIFIER_RANGE_BLOCKABLE);
    CHECK_RC(umn_notifier_invalidate_range_start(mm, &r), 0);
    CHECK_RC(ma.remove_rc, 0); // the put
    CHECK_RC(umn_notifier_invalidate_range_end(mm, &r), 0);
    CHECK_RC(umn_notifier_synchronize(mm), 0);
    CHECK(atomic_load(&released) == 1);
    // b's handle was freed by on_release; put its twin to see the release function's synchronize
    struct umn_interval_notifier *d = NULL;
    CHECK_RC(umn_interval_notifier_insert(mm, 0x50000, 0x1000, on_invalidate, &mb, &d), 0);
    CHECK_RC(umn_interval_notifier_put(d, NULL, NULL), -EINVAL);
    CHECK_RC(umn_interval_notifier_put(d, on_release, mm), 0);
    CHECK_RC(umn_notifier_synchronize(mm), 0);
    CHECK(atomic_load(&released) == 2);
    CHECK_RC(release_synchronize_rc, -EDEADLK);

    // remove and everything after it
    CHECK_RC(umn_interval_notifier_remove(a), 0);
    CHECK_RC(umn_interval_notifier_remove(a), -ENOENT);
    CHECK_RC(umn_interval_read_begin(a, &seq), -ENOENT);
    CHECK(umn_interval_read_retry(a, seq));
    CHECK_RC(umn_interval_notifier_put(a, on_release, NULL), -ENOENT);
    CHECK_RC(umn_interval_notifier_update(a, 0x1000, 0x1000), -ENOENT);
    CHECK_RC(umn_interval_notifier_remove(NULL), -EINVAL);
    CHECK_RC(umn_interval_notifier_free(a), 0);
    CHECK_RC(umn_interval_notifier_free(NULL), -EINVAL);

    // release: one UMN_NOTIFY_RELEASE over [0, UINT64_MAX] per subscription, then -ESRCH
    struct mirror me;
    mirror_init(&me, mm);
    struct umn_interval_notifier *e = NULL, *f = NULL;
    CHECK_RC(umn_interval_notifier_insert(mm, UINT64_MAX, 1, on_invalidate, &me, &e), 0);
    CHECK_RC(umn_notifier_release(mm), 0);
    CHECK(atomic_load(&me.calls) == 1);
    CHECK(me.last_range.event == UMN_NOTIFY_RELEASE && me.last_range.start == 0 && me.last_range.last == UINT64_MAX);
    CHECK_RC(umn_notifier_release(mm), 0);
    CHECK(atomic_load(&me.calls) == 1);
    CHECK_RC(umn_interval_notifier_insert(mm, 0x1000, 0x1000, on_invalidate, &me, &f), -ESRCH);
    CHECK_RC(umn_notifier_release(NULL), -EINVAL);
    CHECK_RC(umn_notifier_synchronize(NULL), -EINVAL);

    // destroy with e still registered: e is detached, its handle stays valid
    umn_mm_destroy(mm);
    CHECK_RC(umn_interval_read_begin(e, &seq), -ESRCH);
    CHECK(umn_interval_read_retry(e, seq));
    CHECK_RC(umn_interval_notifier_remove(e), -ESRCH);
    CHECK_RC(umn_interval_notifier_put(e, on_release, NULL), -ESRCH);
    CHECK_RC(umn_interval_notifier_free(e), 0);
    umn_mm_destroy(NULL);
    pthread_mutex_destroy(&ma.lock);
    pthread_mutex_destroy(&mb.lock);
    pthread_mutex_destroy(&me.lock);
}

int main(void) {
    static const struct { int strategy; const char *name; } strategies[] = {
        {UMN_STRATEGY_RCU_MEMB, "rcu"}, {UMN_STRATEGY_RCU_QSBR, "rcu-qsbr"}, {UMN_STRATEGY_KERNEL, "kernel"},
        {UMN_STRATEGY_RWLOCK, "rwlock"}, {UMN_STRATEGY_MUTEX, "mutex"},     {UMN_STRATEGY_RCU_BP, "rcu-bp"},
        {UMN_STRATEGY_RCU_MB, "rcu-mb"},
    };
    struct umn_mm *mm = NULL;
    CHECK_RC(umn_mm_create(42, &mm), -EINVAL);
    CHECK_RC(umn_mm_create(-1, &mm), -EINVAL);
    CHECK_RC(umn_mm_create(UMN_STRATEGY_DEFAULT, NULL), -EINVAL);
    CHECK(umn_mm_strategy(NULL) == -EINVAL);
    CHECK_RC(umn_mm_create(UMN_STRATEGY_DEFAULT, &mm), 0);
    int chosen = umn_mm_strategy(mm);
    CHECK(chosen == UMN_STRATEGY_RCU_BP || chosen == UMN_STRATEGY_RCU_MEMB);
    printf("UMN_STRATEGY_DEFAULT is strategy %d (%s)\n", chosen, chosen == UMN_STRATEGY_RCU_BP ? "rcu-bp" : "rcu");
    umn_mm_destroy(mm);
    // strerror knows every value the API returns
    const int errors[] = {-EINVAL, -EOVERFLOW, -ENOENT, -ESRCH, -EXDEV, -EAGAIN, -EDEADLK, -EPROTO, -EBUSY, -EOPNOTSUPP};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        CHECK(strcmp(umn_strerror(errors[i]), umn_strerror(-12345)) != 0);
    }
    int tested = 0;
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
        struct umn_mm *probe = NULL;
        int rc = umn_mm_create(strategies[i].strategy, &probe);
        if (rc == -EOPNOTSUPP) {
            printf("strategy %s: not in this build (-EOPNOTSUPP)\n", strategies[i].name);
            continue;
        }
        CHECK_RC(rc, 0);
        umn_mm_destroy(probe);
        int before = failures;
        test_strategy(strategies[i].strategy, strategies[i].name);
        printf("strategy %s: %s\n", strategies[i].name, failures == before ? "ok" : "FAILED");
        tested++;
    }
    strategy_name = "-";
    CHECK(tested >= 5);
    if (failures) {
        printf("protocol_test: %d failed checks\n", failures);
        return 1;
    }
    printf("protocol_test: all checks passed over %d strategies\n", tested);
    return 0;
}
