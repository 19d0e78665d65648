/* SPDX-License-Identifier: Apache-2.0 */
/* Concurrency tests for src/store: group commit really groups, a failing
 * batch leaves the rest of its group stored, reads run while the writer is
 * blocked, bounded write waits, and nested and parallel reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hsmca/rv.h"
#include "hsmca/store.h"

#define THREADS 16

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
} fixture;

#define assert_rv(expr, want)                                                                        \
    do {                                                                                             \
        hsmca_rv got_ = (expr);                                                                      \
        if (got_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #expr, hsmca_rv_name(got_), hsmca_err_message(),    \
                     hsmca_rv_name(want));                                                           \
    } while (0)

static const unsigned char DIGEST[32] = {9, 9, 9};
static unsigned char DER[1024];

/* Sanitizer builds run slower: waits that let threads line up scale. */
static unsigned scaled_ms(unsigned ms)
{
    const char *s = getenv("HSMCA_TEST_TIME_SCALE");
    long k = s ? strtol(s, NULL, 10) : 1;

    return ms * (unsigned)(k >= 1 && k <= 10 ? k : 1);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static hsmca_rv open_store(fixture *f, unsigned readers, unsigned timeout_ms)
{
    hsmca_store_config cfg = {.path = f->path, .readers = readers, .write_timeout_ms = timeout_ms};

    return hsmca_store_open(&cfg, &f->st);
}

/* mkdir -p: the base directory may not exist yet in a fresh build tree. */
static void mkdir_p(const char *path)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0700);
        *p = '/';
    }
    mkdir(buf, 0700);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("HSMCA_STORE_TEST_DIR");

    if (f == NULL)
        return -1;
    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    mkdir_p(base);
    snprintf(f->dir, sizeof(f->dir), "%s/test_store_concurrency.XXXXXX", base);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    for (size_t i = 0; i < sizeof(DER); i++)
        DER[i] = (unsigned char)(i * 7);
    if (open_store(f, 0, 0) != HSMCA_OK || hsmca_store_mount_create(f->st, "pki", "pki", NULL) != HSMCA_OK) {
        print_error("store setup: %s\n", hsmca_err_message());
        hsmca_store_close(f->st);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[600];

    hsmca_store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        print_error("could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Holds the database's write lock from an independent connection, as
 * another process would: the store's writer blocks in BEGIN IMMEDIATE. */
static sqlite3 *raw_lock(const fixture *f)
{
    sqlite3 *db = NULL;

    if (sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        fail_msg("could not take the write lock of %s", f->path);
        return NULL;
    }
    return db;
}

static void raw_unlock(sqlite3 *db, const char *how)
{
    assert_int_equal(sqlite3_exec(db, how, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int count_cert(const hsmca_store_cert *c, void *arg)
{
    (void)c;
    (*(size_t *)arg)++;
    return 1;
}

static int count_intent(const hsmca_store_intent *i, void *arg)
{
    (void)i;
    (*(size_t *)arg)++;
    return 1;
}

static void make_serial(unsigned char serial[4], unsigned thread, unsigned k)
{
    serial[0] = (unsigned char)(0x40 + thread);
    serial[1] = (unsigned char)(k >> 16);
    serial[2] = (unsigned char)(k >> 8);
    serial[3] = (unsigned char)k;
}

/* One issuance as the CA stores it when it needs one batch: intent,
 * certificate and a document. */
static hsmca_rv commit_issue(hsmca_store *st, unsigned thread, unsigned k, bool with_doc)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    unsigned char serial[4];
    char id[32];
    hsmca_rv rv;

    make_serial(serial, thread, k);
    snprintf(id, sizeof(id), "t%u-%u", thread, k);
    hsmca_store_batch_intent(b, "pki", serial, sizeof(serial), "issuer", "role", DIGEST);
    hsmca_store_batch_cert(b, "pki", serial, sizeof(serial), "issuer", "role", DER, sizeof(DER), 1, 2);
    if (with_doc)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "note", id, NULL, "{}", NULL, 0);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* ---- group commit groups ---- */

#define PER_THREAD 40

typedef struct {
    hsmca_store *st;
    unsigned thread;
    unsigned n;
    unsigned failures;
    hsmca_rv rv;          /* single-shot threads: the result */
    int mode;             /* single-shot: 0 issue, 1 duplicate intent, 2 doc */
    char detail[256];
    atomic_bool finished;
} worker;

static void *issue_loop(void *arg)
{
    worker *w = arg;

    for (unsigned k = 0; k < w->n; k++) {
        if (commit_issue(w->st, w->thread, k, false) != HSMCA_OK) {
            if (w->failures++ == 0)
                snprintf(w->detail, sizeof(w->detail), "%s", hsmca_err_message());
        }
    }
    atomic_store(&w->finished, true);
    return NULL;
}

static void test_group_commit_groups(void **state)
{
    fixture *f = *state;
    pthread_t th[THREADS];
    worker w[THREADS];
    hsmca_store_stats before, after;
    size_t certs = 0, orphans = 0;

    hsmca_store_get_stats(f->st, &before);
    for (unsigned t = 0; t < THREADS; t++) {
        w[t] = (worker){.st = f->st, .thread = t, .n = PER_THREAD};
        assert_int_equal(pthread_create(&th[t], NULL, issue_loop, &w[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        if (w[t].failures)
            fail_msg("thread %u: %u failures, first: %s", t, w[t].failures, w[t].detail);
    }
    hsmca_store_get_stats(f->st, &after);
    print_message("%llu batches in %llu transactions (%.1f per fsync)\n",
                  (unsigned long long)(after.batches - before.batches),
                  (unsigned long long)(after.transactions - before.transactions),
                  (double)(after.batches - before.batches) /
                      (double)(after.transactions - before.transactions));
    assert_int_equal(after.batches - before.batches, THREADS * PER_THREAD);
    assert_int_equal(after.failed, before.failed);
    assert_true(after.transactions - before.transactions < after.batches - before.batches);
    assert_rv(hsmca_store_cert_list(f->st, "pki", NULL, 0, 0, count_cert, &certs), HSMCA_OK);
    assert_int_equal(certs, THREADS * PER_THREAD);
    assert_rv(hsmca_store_intent_list(f->st, "pki", true, count_intent, &orphans), HSMCA_OK);
    assert_int_equal(orphans, 0);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

/* ---- one failing batch in a group ---- */

static const unsigned char DUP_SERIAL[] = {0x0d, 0x0d};

static void *single_shot(void *arg)
{
    worker *w = arg;
    hsmca_store_batch *b = hsmca_store_batch_new(w->st);
    char id[32];

    snprintf(id, sizeof(id), "t%u", w->thread);
    switch (w->mode) {
    case 1:
        /* A document, then an intent for a serial that is taken. */
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "note", id, NULL, "{}", NULL, 0);
        hsmca_store_batch_intent(b, "pki", DUP_SERIAL, sizeof(DUP_SERIAL), "issuer", "role", DIGEST);
        w->rv = hsmca_store_batch_commit(b);
        break;
    default:
        hsmca_store_batch_free(b);
        b = NULL;
        w->rv = commit_issue(w->st, w->thread, 0, true);
        break;
    }
    snprintf(w->detail, sizeof(w->detail), "%s", hsmca_err_message());
    hsmca_store_batch_free(b);
    atomic_store(&w->finished, true);
    return NULL;
}

static void test_failing_batch_in_group(void **state)
{
    fixture *f = *state;
    pthread_t th[THREADS];
    worker w[THREADS];
    hsmca_store_stats before, after;
    hsmca_store_batch *b = hsmca_store_batch_new(f->st);
    hsmca_store_doc d;
    sqlite3 *lock;

    hsmca_store_batch_intent(b, "pki", DUP_SERIAL, sizeof(DUP_SERIAL), "issuer", "role", DIGEST);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_free(b);

    hsmca_store_get_stats(f->st, &before);
    /* The writer takes batch 0 and blocks on the lock; meanwhile the other
     * fifteen queue up and must become one group when it is released. */
    lock = raw_lock(f);
    w[0] = (worker){.st = f->st, .thread = 0};
    assert_int_equal(pthread_create(&th[0], NULL, single_shot, &w[0]), 0);
    sleep_ms(scaled_ms(200));
    for (unsigned t = 1; t < THREADS; t++) {
        w[t] = (worker){.st = f->st, .thread = t, .mode = t == 7 ? 1 : 0};
        assert_int_equal(pthread_create(&th[t], NULL, single_shot, &w[t]), 0);
    }
    sleep_ms(scaled_ms(500));
    for (unsigned t = 0; t < THREADS; t++)
        assert_false(atomic_load(&w[t].finished)); /* nothing answered before its commit */
    raw_unlock(lock, "COMMIT");
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    hsmca_store_get_stats(f->st, &after);

    for (unsigned t = 0; t < THREADS; t++) {
        if (t == 7) {
            assert_int_equal(w[t].rv, HSMCA_ERR_EXISTS);
            if (strstr(w[t].detail, "0d:0d") == NULL)
                fail_msg("detail '%s' does not name the serial", w[t].detail);
        } else if (w[t].rv != HSMCA_OK) {
            fail_msg("thread %u: %s (%s)", t, hsmca_rv_name(w[t].rv), w[t].detail);
        }
    }
    /* Two transactions: batch 0 alone, then fifteen batches with the
     * failing one rolled back to its savepoint. */
    assert_int_equal(after.transactions - before.transactions, 2);
    assert_int_equal(after.batches - before.batches, THREADS - 1);
    assert_int_equal(after.failed - before.failed, 1);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "note", "t7", &d), HSMCA_ERR_NOT_FOUND);
    for (unsigned t = 0; t < THREADS; t++) {
        char id[16];
        if (t == 7)
            continue;
        snprintf(id, sizeof(id), "t%u-0", t);
        assert_rv(hsmca_store_doc_get(f->st, "pki", "note", id, &d), HSMCA_OK);
        hsmca_store_doc_clear(&d);
    }
}

/* ---- reads never wait for the writer ---- */

static void test_reads_beside_blocked_writer(void **state)
{
    fixture *f = *state;
    worker w = {.st = f->st, .thread = 1};
    hsmca_store_doc d;
    size_t certs = 0;
    pthread_t th;
    sqlite3 *lock;
    double t0;

    assert_rv(commit_issue(f->st, 0, 0, true), HSMCA_OK);
    lock = raw_lock(f);
    assert_int_equal(sqlite3_exec(lock, "INSERT INTO docs (mount, kind, id, body, created, updated) "
                                        "VALUES ('pki', 'note', 'uncommitted', '{}', 0, 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(pthread_create(&th, NULL, single_shot, &w), 0);
    sleep_ms(scaled_ms(100));
    t0 = now_s();
    assert_rv(hsmca_store_doc_get(f->st, "pki", "note", "t0-0", &d), HSMCA_OK);
    hsmca_store_doc_clear(&d);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "note", "uncommitted", &d), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_cert_list(f->st, "pki", NULL, 0, 0, count_cert, &certs), HSMCA_OK);
    assert_int_equal(certs, 1);
    /* The reads were answered while the writer was still stuck. */
    assert_false(atomic_load(&w.finished));
    assert_true(now_s() - t0 < 2.0);
    raw_unlock(lock, "ROLLBACK");
    pthread_join(th, NULL);
    assert_rv(w.rv, HSMCA_OK);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "note", "t1-0", &d), HSMCA_OK);
    hsmca_store_doc_clear(&d);
}

/* ---- bounded waits ---- */

static void test_write_timeout(void **state)
{
    fixture *f = *state;
    pthread_t th[4];
    worker w[4];
    size_t intents = 0;
    sqlite3 *lock;
    double t0;

    hsmca_store_close(f->st);
    f->st = NULL;
    assert_rv(open_store(f, 0, 200), HSMCA_OK);
    lock = raw_lock(f);
    t0 = now_s();
    for (unsigned t = 0; t < 4; t++) {
        w[t] = (worker){.st = f->st, .thread = t};
        assert_int_equal(pthread_create(&th[t], NULL, single_shot, &w[t]), 0);
    }
    for (unsigned t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    for (unsigned t = 0; t < 4; t++) {
        assert_int_equal(w[t].rv, HSMCA_ERR_TIMEOUT);
        if (strstr(w[t].detail, "write_timeout_ms") == NULL && strstr(w[t].detail, "locked") == NULL)
            fail_msg("thread %u: detail '%s' does not say why", t, w[t].detail);
    }
    /* Bounded: 200 ms each, with room for a slow machine. */
    assert_true(now_s() - t0 < 0.2 + scaled_ms(1500) / 1000.0);
    /* Keep the lock until the writer has given up on every attempt. */
    sleep_ms(scaled_ms(1000));
    raw_unlock(lock, "ROLLBACK");
    assert_rv(hsmca_store_intent_list(f->st, "pki", false, count_intent, &intents), HSMCA_OK);
    assert_int_equal(intents, 0);
    /* The store works again afterwards. */
    assert_rv(commit_issue(f->st, 9, 9, true), HSMCA_OK);
}

/* ---- submit now, wait later (hsmca_store_batch_submit / _wait) ---- */

static hsmca_rv submit_intent(hsmca_store *st, const unsigned char *serial, size_t len, hsmca_store_ticket **t)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_intent(b, "pki", serial, len, "issuer", "role", DIGEST);
    rv = hsmca_store_batch_submit(b, t);
    hsmca_store_batch_free(b);
    return rv;
}

static hsmca_rv submit_cert(hsmca_store *st, const unsigned char *serial, size_t len, hsmca_store_ticket **t)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_cert(b, "pki", serial, len, "issuer", "role", DER, sizeof(DER), 1, 2);
    rv = hsmca_store_batch_submit(b, t);
    hsmca_store_batch_free(b);
    return rv;
}

/* Submit returns while the writer cannot commit; nothing is visible until
 * the commit; a certificate submitted right behind its own (not yet
 * durable) intent is applied after it, and both are stored. */
static void test_submit_returns_before_commit(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x5a, 0x01};
    hsmca_store_ticket *ti = NULL, *tc = NULL;
    hsmca_store_intent in;
    hsmca_store_cert c;
    sqlite3 *lock;
    double t0;

    lock = raw_lock(f);
    t0 = now_s();
    assert_rv(submit_intent(f->st, serial, sizeof(serial), &ti), HSMCA_OK);
    assert_rv(submit_cert(f->st, serial, sizeof(serial), &tc), HSMCA_OK);
    assert_non_null(ti);
    assert_non_null(tc);
    /* Neither call waited for the lock (the writer is stuck behind it). */
    assert_true(now_s() - t0 < scaled_ms(100) / 1000.0);
    sleep_ms(scaled_ms(50));
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_ERR_NOT_FOUND);
    raw_unlock(lock, "ROLLBACK");
    assert_rv(hsmca_store_batch_wait(ti), HSMCA_OK);
    assert_rv(hsmca_store_batch_wait(tc), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
    assert_true(in.has_certificate);
    assert_rv(hsmca_store_cert_get(f->st, "pki", serial, sizeof(serial), &c), HSMCA_OK);
    assert_int_equal(c.der_len, sizeof(DER));
    hsmca_store_cert_clear(&c);
}

/* A failing intent commit reaches its waiter with the storage's reason,
 * stores nothing, and the batch queued behind it that relied on it fails
 * on its own rule; an unrelated batch beside them is stored. */
static void test_submit_failure_reaches_waiter(void **state)
{
    fixture *f = *state;
    static const unsigned char bad[] = {0x5b, 0x02};
    static const unsigned char good[] = {0x5b, 0x03};
    hsmca_store_ticket *tb = NULL, *tg = NULL, *tc = NULL;
    hsmca_store_intent in;
    hsmca_store_cert c;
    sqlite3 *db = NULL;
    sqlite3 *lock;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER fail_intent BEFORE INSERT ON intents "
                                  "WHEN NEW.serial = x'0000000000000000000000000000000000005b02' "
                                  "BEGIN SELECT RAISE(ABORT, 'injected intent storage failure'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    /* All three in one group: the writer is held until they are queued. */
    lock = raw_lock(f);
    assert_rv(submit_intent(f->st, bad, sizeof(bad), &tb), HSMCA_OK);
    assert_rv(submit_cert(f->st, bad, sizeof(bad), &tc), HSMCA_OK);
    assert_rv(submit_intent(f->st, good, sizeof(good), &tg), HSMCA_OK);
    raw_unlock(lock, "ROLLBACK");
    assert_rv(hsmca_store_batch_wait(tb), HSMCA_ERR_IO);
    if (strstr(hsmca_err_message(), "injected intent storage failure") == NULL)
        fail_msg("detail '%s' does not give the storage's reason", hsmca_err_message());
    if (hsmca_store_batch_wait(tc) == HSMCA_OK)
        fail_msg("a certificate was stored although its intent failed");
    assert_rv(hsmca_store_batch_wait(tg), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", bad, sizeof(bad), &in), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_cert_get(f->st, "pki", bad, sizeof(bad), &c), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_intent_get(f->st, "pki", good, sizeof(good), &in), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

/* Bad input is refused by submit itself (no ticket, nothing queued), as
 * commit refuses it; a NULL ticket is an error, not a crash. */
static void test_submit_refuses_bad_batch(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x5c, 0x01};
    hsmca_store_ticket *t = (hsmca_store_ticket *)&t; /* must be reset */
    hsmca_store_stats before, after;
    hsmca_store_batch *b;

    hsmca_store_get_stats(f->st, &before);
    b = hsmca_store_batch_new(f->st);
    hsmca_store_batch_intent(b, "pki", serial, 0, "issuer", "role", DIGEST); /* no serial octets */
    assert_rv(hsmca_store_batch_submit(b, &t), HSMCA_ERR_INVALID_ARG);
    assert_null(t);
    assert_rv(hsmca_store_batch_submit(b, NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_store_batch_free(b);
    assert_rv(hsmca_store_batch_wait(NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_store_get_stats(f->st, &after);
    assert_int_equal(after.batches, before.batches);
    assert_int_equal(after.failed, before.failed);
}

/* write_timeout_ms runs from the submit: a ticket waited for after its
 * deadline gives up at once, and says whether anything may be stored. The
 * first batch holds the writer in BEGIN (busy until write_timeout_ms); the
 * second, queued behind it, is still pending when it is waited for. */
static void test_submit_deadline_runs_from_submit(void **state)
{
    fixture *f = *state;
    static const unsigned char s1[] = {0x5d, 0x01};
    static const unsigned char s2[] = {0x5d, 0x02};
    hsmca_store_ticket *t1 = NULL, *t2 = NULL;
    size_t intents = 0;
    sqlite3 *lock;
    double t0;

    hsmca_store_close(f->st);
    f->st = NULL;
    assert_rv(open_store(f, 0, 200), HSMCA_OK);
    lock = raw_lock(f);
    assert_rv(submit_intent(f->st, s1, sizeof(s1), &t1), HSMCA_OK);
    sleep_ms(50); /* the writer takes the first one alone */
    assert_rv(submit_intent(f->st, s2, sizeof(s2), &t2), HSMCA_OK);
    sleep_ms(250);
    t0 = now_s();
    assert_rv(hsmca_store_batch_wait(t2), HSMCA_ERR_TIMEOUT);
    if (now_s() - t0 > scaled_ms(100) / 1000.0)
        fail_msg("waiting past the deadline took %.3f s", now_s() - t0);
    if (strstr(hsmca_err_message(), "write_timeout_ms 200") == NULL && strstr(hsmca_err_message(), "locked") == NULL)
        fail_msg("detail '%s' does not say why", hsmca_err_message());
    assert_rv(hsmca_store_batch_wait(t1), HSMCA_ERR_TIMEOUT);
    sleep_ms(scaled_ms(1000)); /* let the writer give up its BEGIN */
    raw_unlock(lock, "ROLLBACK");
    assert_rv(hsmca_store_intent_list(f->st, "pki", false, count_intent, &intents), HSMCA_OK);
    assert_int_equal(intents, 0);
    assert_rv(commit_issue(f->st, 9, 10, false), HSMCA_OK);
}

/* ---- nested and parallel reads ---- */

typedef struct {
    hsmca_store *st;
    hsmca_rv rv;
    size_t seen;
} nested_arg;

static int nested_cb(const hsmca_store_doc *d, void *arg)
{
    nested_arg *n = arg;
    hsmca_store_doc inner;
    size_t certs = 0;

    /* Reading again from inside a list callback, with a pool of one. */
    n->rv = hsmca_store_doc_get(n->st, "pki", "note", d->id, &inner);
    if (n->rv == HSMCA_OK)
        n->rv = hsmca_store_cert_list(n->st, "pki", NULL, 0, 0, count_cert, &certs);
    hsmca_store_doc_clear(&inner);
    n->seen++;
    return n->rv == HSMCA_OK;
}

typedef struct {
    hsmca_store *st;
    atomic_bool *stop;
    unsigned scans;
    unsigned errors;
    unsigned went_back; /* a later scan saw fewer rows than an earlier one */
    char detail[256];
} scanner;

static void *scan_loop(void *arg)
{
    scanner *s = arg;
    size_t last = 0;

    while (!atomic_load(s->stop) && s->scans < 100000) {
        size_t n = 0;
        if (hsmca_store_cert_list(s->st, "pki", NULL, 0, 0, count_cert, &n) != HSMCA_OK) {
            if (s->errors++ == 0)
                snprintf(s->detail, sizeof(s->detail), "%s", hsmca_err_message());
            continue;
        }
        if (n < last)
            s->went_back++;
        last = n;
        s->scans++;
    }
    return NULL;
}

static void test_nested_and_parallel_reads(void **state)
{
    fixture *f = *state;
    nested_arg n = {0};
    pthread_t wt[4], rt[4];
    worker w[4];
    scanner sc[4];
    atomic_bool stop = false;
    size_t certs = 0;

    hsmca_store_close(f->st);
    f->st = NULL;
    assert_rv(open_store(f, 1, 0), HSMCA_OK);
    for (unsigned k = 0; k < 3; k++)
        assert_rv(commit_issue(f->st, 0, k, true), HSMCA_OK);
    n.st = f->st;
    assert_rv(hsmca_store_doc_list(f->st, "pki", "note", NULL, 0, nested_cb, &n), HSMCA_OK);
    assert_rv(n.rv, HSMCA_OK);
    assert_int_equal(n.seen, 3);

    /* Writers and readers (more readers than pooled connections). */
    for (unsigned t = 0; t < 4; t++) {
        sc[t] = (scanner){.st = f->st, .stop = &stop};
        assert_int_equal(pthread_create(&rt[t], NULL, scan_loop, &sc[t]), 0);
    }
    for (unsigned t = 0; t < 4; t++) {
        w[t] = (worker){.st = f->st, .thread = 1 + t, .n = 25};
        assert_int_equal(pthread_create(&wt[t], NULL, issue_loop, &w[t]), 0);
    }
    for (unsigned t = 0; t < 4; t++) {
        pthread_join(wt[t], NULL);
        if (w[t].failures)
            fail_msg("writer %u: %u failures, first: %s", t, w[t].failures, w[t].detail);
    }
    atomic_store(&stop, true);
    for (unsigned t = 0; t < 4; t++) {
        pthread_join(rt[t], NULL);
        if (sc[t].errors)
            fail_msg("reader %u: %u errors, first: %s", t, sc[t].errors, sc[t].detail);
        assert_int_equal(sc[t].went_back, 0);
        assert_true(sc[t].scans > 0);
    }
    assert_rv(hsmca_store_cert_list(f->st, "pki", NULL, 0, 0, count_cert, &certs), HSMCA_OK);
    assert_int_equal(certs, 3 + 4 * 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_batch_in_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_beside_blocked_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_and_parallel_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_returns_before_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_failure_reaches_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_refuses_bad_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_deadline_runs_from_submit, setup, teardown),
    };

    return cmocka_run_group_tests_name("store_concurrency", tests, NULL, NULL);
}
