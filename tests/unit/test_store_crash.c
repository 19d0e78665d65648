/* SPDX-License-Identifier: Apache-2.0 */
/* Crash and storage-failure tests for src/store: a child process committing
 * issuance batches is killed with SIGKILL at random moments, and a child
 * runs into a full disk (RLIMIT_FSIZE). After each, the reopened store must
 * pass its integrity check and hold every batch the child was told was
 * committed, and no half batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsmca/rv.h"
#include "hsmca/store.h"

typedef struct {
    char dir[512];
    char path[600];
    char log[600];
} fixture;

#define assert_rv(expr, want)                                                                        \
    do {                                                                                             \
        hsmca_rv got_ = (expr);                                                                      \
        if (got_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #expr, hsmca_rv_name(got_), hsmca_err_message(),    \
                     hsmca_rv_name(want));                                                           \
    } while (0)

static const unsigned char DIGEST[32] = {7};

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
    snprintf(f->dir, sizeof(f->dir), "%s/test_store_crash.XXXXXX", base);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/committed.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        print_error("could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Batch number id -> serial (8 octets, big-endian, 0x01 first so it is
 * positive and the same length for all) and document id. */
static void id_serial(uint64_t id, unsigned char serial[8])
{
    serial[0] = 0x01;
    for (int i = 7; i >= 1; i--) {
        serial[i] = (unsigned char)id;
        id >>= 8;
    }
}

static uint64_t serial_id(const unsigned char serial[8])
{
    uint64_t id = 0;

    for (int i = 1; i < 8; i++)
        id = (id << 8) | serial[i];
    return id;
}

/* The batch of the test: intent + certificate + document, all or none. */
static hsmca_rv commit_id(hsmca_store *st, uint64_t id, const unsigned char *der, size_t der_len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    unsigned char serial[8];
    char doc_id[32];
    hsmca_rv rv;

    id_serial(id, serial);
    snprintf(doc_id, sizeof(doc_id), "%llu", (unsigned long long)id);
    hsmca_store_batch_intent(b, "pki", serial, sizeof(serial), "issuer", "role", DIGEST);
    hsmca_store_batch_cert(b, "pki", serial, sizeof(serial), "issuer", "role", der, der_len, 1, 2);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "note", doc_id, NULL, "{\"batch\":true}", NULL, 0);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* ---- kill -9 ---- */

#define CHILD_THREADS 4
#define ROUNDS 6

typedef struct {
    hsmca_store *st;
    int log_fd;
    uint64_t first;
} child_worker;

static void *child_loop(void *arg)
{
    child_worker *w = arg;
    unsigned char der[1024];

    memset(der, 0x5a, sizeof(der));
    /* Bounded; the parent kills the process long before. */
    for (uint64_t k = 0; k < 1000000; k++) {
        uint64_t id = w->first + k;
        if (commit_id(w->st, id, der, sizeof(der)) != HSMCA_OK) {
            fprintf(stderr, "child: commit %llu failed: %s\n", (unsigned long long)id, hsmca_err_message());
            _exit(3);
        }
        /* Only after commit returned OK: this is what a client was told. */
        if (write(w->log_fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
            _exit(4);
    }
    return NULL;
}

/* Never returns: runs until killed. */
static void child_main(const fixture *f, unsigned round)
{
    hsmca_store_config cfg = {.path = f->path};
    child_worker w[CHILD_THREADS];
    pthread_t th[CHILD_THREADS];
    hsmca_store *st = NULL;
    int fd = open(f->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    hsmca_rv rv;

    if (fd < 0)
        _exit(5);
    if (hsmca_store_open(&cfg, &st) != HSMCA_OK) {
        fprintf(stderr, "child: open: %s\n", hsmca_err_message());
        _exit(6);
    }
    rv = hsmca_store_mount_create(st, "pki", "pki", NULL);
    if (rv != HSMCA_OK && rv != HSMCA_ERR_EXISTS)
        _exit(7);
    for (unsigned t = 0; t < CHILD_THREADS; t++) {
        w[t] = (child_worker){.st = st, .log_fd = fd, .first = (uint64_t)round * 10000000u + t * 1000000u};
        if (pthread_create(&th[t], NULL, child_loop, &w[t]) != 0)
            _exit(8);
    }
    for (unsigned t = 0; t < CHILD_THREADS; t++)
        pthread_join(th[t], NULL);
    _exit(9);
}

typedef struct {
    size_t n;
    bool bad_shape;
    uint64_t first_bad;
} tally;

static int tally_intent(const hsmca_store_intent *i, void *arg)
{
    (void)i;
    ((tally *)arg)->n++;
    return 1;
}

static int tally_cert(const hsmca_store_cert *c, void *arg)
{
    tally *t = arg;

    t->n++;
    if (c->serial_len != 8 || c->der_len != 1024) {
        t->bad_shape = true;
        t->first_bad = serial_id(c->serial);
    }
    return 1;
}

static int tally_doc(const hsmca_store_doc *d, void *arg)
{
    (void)d;
    ((tally *)arg)->n++;
    return 1;
}

/* Reads the ids the child logged (whole records only). */
static uint64_t *read_log(const fixture *f, size_t *n)
{
    struct stat sb;
    uint64_t *ids = NULL;
    int fd = open(f->log, O_RDONLY | O_CLOEXEC);

    *n = 0;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &sb) == 0 && sb.st_size >= (off_t)sizeof(uint64_t)) {
        size_t count = (size_t)sb.st_size / sizeof(uint64_t);
        ids = malloc(count * sizeof(*ids));
        if (ids != NULL && read(fd, ids, count * sizeof(*ids)) == (ssize_t)(count * sizeof(*ids)))
            *n = count;
    }
    close(fd);
    return ids;
}

/* After a crash: integrity, every logged batch whole, no half batch. */
static void verify_store(const fixture *f, size_t *logged_out)
{
    hsmca_store_config cfg = {.path = f->path};
    hsmca_store *st = NULL;
    tally intents = {0}, orphans = {0}, certs = {0}, docs = {0};
    size_t logged = 0;
    uint64_t *ids = read_log(f, &logged);

    assert_rv(hsmca_store_open(&cfg, &st), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(st), HSMCA_OK);
    for (size_t i = 0; i < logged; i++) {
        unsigned char serial[8];
        char doc_id[32];
        hsmca_store_cert c;
        hsmca_store_intent in;
        hsmca_store_doc d;
        hsmca_rv rv;

        id_serial(ids[i], serial);
        snprintf(doc_id, sizeof(doc_id), "%llu", (unsigned long long)ids[i]);
        rv = hsmca_store_cert_get(st, "pki", serial, sizeof(serial), &c);
        if (rv != HSMCA_OK)
            fail_msg("batch %llu was reported committed but its certificate is missing: %s",
                     (unsigned long long)ids[i], hsmca_err_message());
        hsmca_store_cert_clear(&c);
        assert_rv(hsmca_store_intent_get(st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
        assert_true(in.has_certificate);
        assert_rv(hsmca_store_doc_get(st, "pki", "note", doc_id, &d), HSMCA_OK);
        hsmca_store_doc_clear(&d);
    }
    /* No half batch anywhere, logged or not: as many intents as
     * certificates as documents, and no intent without its certificate. */
    assert_rv(hsmca_store_intent_list(st, "pki", false, tally_intent, &intents), HSMCA_OK);
    assert_rv(hsmca_store_intent_list(st, "pki", true, tally_intent, &orphans), HSMCA_OK);
    assert_rv(hsmca_store_cert_list(st, "pki", NULL, 0, 0, tally_cert, &certs), HSMCA_OK);
    assert_rv(hsmca_store_doc_list(st, "pki", "note", NULL, 0, tally_doc, &docs), HSMCA_OK);
    assert_int_equal(orphans.n, 0);
    assert_int_equal(intents.n, certs.n);
    assert_int_equal(docs.n, certs.n);
    if (certs.bad_shape)
        fail_msg("certificate of batch %llu is damaged", (unsigned long long)certs.first_bad);
    /* Batches may be stored without being logged (killed between commit and
     * write), never the other way round. */
    assert_true(certs.n >= logged);
    hsmca_store_close(st);
    free(ids);
    *logged_out = logged;
}

static void test_kill9_rounds(void **state)
{
    fixture *f = *state;
    size_t logged = 0, last = 0;
    unsigned kills_with_progress = 0;

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (unsigned round = 0; round < ROUNDS; round++) {
        /* Random moments, including (round 0) during creation and migration. */
        unsigned delay = round == 0 ? (unsigned)(rand() % 20) : 50 + (unsigned)(rand() % 250);
        int status = 0;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
            child_main(f, round);
        sleep_ms(scaled_ms(delay));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %u: child ended by itself (status 0x%x) before the kill", round, status);
        verify_store(f, &logged);
        print_message("round %u: killed after %u ms, %zu batches reported committed so far\n", round,
                      delay * (unsigned)(scaled_ms(1)), logged);
        if (logged > last)
            kills_with_progress++;
        last = logged;
    }
    /* The test proves nothing unless the child was committing when killed. */
    assert_true(kills_with_progress >= ROUNDS / 2);
}

/* ---- full disk ---- */

#define FULL_DISK_LIMIT (512 * 1024) /* bytes any file of the child may reach */
#define FULL_DISK_BLOB (48 * 1024)

typedef struct {
    uint64_t id;
    int32_t rv;
    int32_t phase; /* 0 with the limit, 1 after lifting it */
} full_record;

static void full_disk_child(const fixture *f, int out_fd)
{
    hsmca_store_config cfg = {.path = f->path};
    hsmca_store *st = NULL;
    unsigned char *blob = malloc(FULL_DISK_BLOB);
    struct rlimit rl;
    int failures = 0;

    if (blob == NULL || hsmca_store_open(&cfg, &st) != HSMCA_OK ||
        hsmca_store_mount_create(st, "pki", "pki", NULL) != HSMCA_OK)
        _exit(5);
    memset(blob, 0xa5, FULL_DISK_BLOB);
    /* No file may grow past the limit; a write past it fails with EFBIG
     * instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(6);
    rl.rlim_cur = FULL_DISK_LIMIT;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(6);
    for (uint64_t id = 1; id < 200 && failures < 3; id++) {
        full_record r = {.id = id, .phase = 0};
        r.rv = (int32_t)commit_id(st, id, blob, FULL_DISK_BLOB);
        if (r.rv != HSMCA_OK) {
            failures++;
            fprintf(stderr, "child: batch %llu: %s: %s\n", (unsigned long long)id,
                    hsmca_rv_name((hsmca_rv)r.rv), hsmca_err_message());
        }
        if (write(out_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(7);
    }
    /* Space comes back: the same store, without reopening, works again. */
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(6);
    for (uint64_t id = 1000; id < 1003; id++) {
        full_record r = {.id = id, .phase = 1};
        r.rv = (int32_t)commit_id(st, id, blob, 100);
        if (write(out_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(7);
    }
    hsmca_store_close(st);
    free(blob);
    _exit(0);
}

static void test_full_disk(void **state)
{
    fixture *f = *state;
    full_record recs[256];
    size_t n = 0, ok = 0, failed = 0, recovered = 0;
    hsmca_store_config cfg = {.path = f->path};
    hsmca_store *st = NULL;
    int pipefd[2];
    int status = 0;
    pid_t pid;

    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        full_disk_child(f, pipefd[1]);
    }
    close(pipefd[1]);
    for (;;) {
        ssize_t got = read(pipefd[0], &recs[n], sizeof(recs[0]));
        if (got == 0 || n + 1 >= sizeof(recs) / sizeof(recs[0]))
            break;
        if (got < 0 && errno == EINTR)
            continue;
        assert_int_equal(got, sizeof(recs[0]));
        n++;
    }
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_rv(hsmca_store_open(&cfg, &st), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(st), HSMCA_OK);
    for (size_t i = 0; i < n; i++) {
        unsigned char serial[8];
        hsmca_store_intent in;
        hsmca_rv rv;

        id_serial(recs[i].id, serial);
        rv = hsmca_store_intent_get(st, "pki", serial, sizeof(serial), &in);
        if (recs[i].rv == HSMCA_OK) {
            if (rv != HSMCA_OK || !in.has_certificate)
                fail_msg("batch %llu reported committed is missing", (unsigned long long)recs[i].id);
            if (recs[i].phase == 0)
                ok++;
            else
                recovered++;
        } else {
            /* A full disk is an I/O error, never success, and leaves
             * nothing of the batch. */
            assert_int_equal(recs[i].rv, HSMCA_ERR_IO);
            if (rv != HSMCA_ERR_NOT_FOUND)
                fail_msg("failed batch %llu left its intent", (unsigned long long)recs[i].id);
            failed++;
        }
    }
    print_message("full disk: %zu batches stored, %zu refused, %zu after space came back\n", ok, failed,
                  recovered);
    assert_true(ok > 0);
    assert_true(failed > 0);
    assert_int_equal(recovered, 3);
    hsmca_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill9_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
    };

    return cmocka_run_group_tests_name("store_crash", tests, NULL, NULL);
}
