/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-audit-testtool: writes audit logs through src/audit for the shell
 * tests (tests/integration/test_audit_verify.sh), which then judge them with
 * the real `hsmca audit verify`, and measures the logging rate. The token
 * comes from HSMCA_TEST_MODULE / HSMCA_TEST_TOKEN / HSMCA_TEST_PIN_FILE.
 *
 *   write FILE N               N request entries (after the start entry)
 *   rotate FILE N M            N entries, rename FILE to FILE.1, reopen, M more
 *   bench FILE THREADS SECONDS [nosync]   entries/s from THREADS threads
 *
 * Each prints "last_seq=S last_hmac=HEX" (bench: its figures). */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmca/audit.h"
#include "hsmca/p11.h"

static hsmca_p11_token *tok;

static int fail(const char *what)
{
    fprintf(stderr, "audit-testtool: %s: %s (%s)\n", what, hsmca_err_message(), hsmca_rv_name(hsmca_err_last()));
    return 1;
}

static hsmca_rv log_one(hsmca_audit *log, long i, long thread)
{
    static const char *const pols[] = {"default", "pki-issuer"};
    char rid[64], serial[32];
    json_t *d;
    hsmca_audit_entry e;
    hsmca_rv rv;

    snprintf(rid, sizeof(rid), "00000000-0000-4000-8000-%012ld", i);
    snprintf(serial, sizeof(serial), "%02lx:%02lx:%02lx", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    d = json_pack("{s:s, s:s, s:i, s:i}", "serial_number", serial, "role", "web", "i", (json_int_t)i, "thread",
                  (json_int_t)thread);
    memset(&e, 0, sizeof(e));
    e.request_id = rid;
    e.remote_address = "192.0.2.7";
    e.accessor = "accessor-77";
    e.policies = pols;
    e.n_policies = 2;
    e.operation = "update";
    e.mount = "pki";
    e.path = "pki/issue/web";
    e.status = 200;
    e.outcome = HSMCA_AUDIT_SUCCESS;
    e.details = d;
    rv = hsmca_audit_log(log, &e);
    json_decref(d);
    return rv;
}

static int print_last(hsmca_audit *log)
{
    hsmca_audit_stats st;

    hsmca_audit_get_stats(log, &st);
    printf("last_seq=%" PRIu64 " last_hmac=%s\n", st.last_seq, st.last_hmac);
    return 0;
}

static int cmd_write(const char *path, long n, long m, bool rotate)
{
    hsmca_audit_config cfg = {.path = path};
    hsmca_audit *log = NULL;
    char old[4096];
    int rc = 1;

    if (hsmca_audit_open(tok, &cfg, &log) != HSMCA_OK)
        return fail("open");
    for (long i = 0; i < n; i++) {
        if (log_one(log, i, 0) != HSMCA_OK) {
            rc = fail("log");
            goto done;
        }
    }
    if (rotate) {
        snprintf(old, sizeof(old), "%s.1", path);
        if (rename(path, old) != 0) {
            perror("rename");
            goto done;
        }
        if (hsmca_audit_reopen(log) != HSMCA_OK) {
            rc = fail("reopen");
            goto done;
        }
        for (long i = 0; i < m; i++) {
            if (log_one(log, n + i, 0) != HSMCA_OK) {
                rc = fail("log");
                goto done;
            }
        }
    }
    rc = print_last(log);
done:
    hsmca_audit_free(log);
    return rc;
}

typedef struct {
    hsmca_audit *log;
    long thread;
    atomic_bool *stop;
    long done;
    int failed;
} bench_arg;

static void *bench_worker(void *p)
{
    bench_arg *b = p;

    while (!atomic_load(b->stop)) {
        if (log_one(b->log, b->done, b->thread) != HSMCA_OK) {
            b->failed = 1;
            fprintf(stderr, "audit-testtool: log: %s\n", hsmca_err_message());
            break;
        }
        b->done++;
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_bench(const char *path, long threads, double seconds, bool no_sync)
{
    hsmca_audit_config cfg = {.path = path, .no_sync = no_sync};
    hsmca_audit *log = NULL;
    pthread_t th[64];
    bench_arg args[64];
    atomic_bool stop;
    hsmca_audit_stats st;
    long total = 0;
    double t0, t1;
    int failed = 0;

    if (threads < 1 || threads > 64)
        return fprintf(stderr, "audit-testtool: THREADS must be 1..64\n"), 2;
    if (hsmca_audit_open(tok, &cfg, &log) != HSMCA_OK)
        return fail("open");
    atomic_init(&stop, false);
    t0 = now_s();
    for (long t = 0; t < threads; t++) {
        args[t] = (bench_arg){log, t, &stop, 0, 0};
        pthread_create(&th[t], NULL, bench_worker, &args[t]);
    }
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, true);
    for (long t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        total += args[t].done;
        failed |= args[t].failed;
    }
    t1 = now_s();
    hsmca_audit_get_stats(log, &st);
    printf("threads=%ld sync=%s entries=%ld seconds=%.2f rate=%.0f/s syncs=%" PRIu64 " lines_per_sync=%.1f\n",
           threads, no_sync ? "off" : "on", total, t1 - t0, (double)total / (t1 - t0), st.syncs,
           st.syncs ? (double)st.entries / (double)st.syncs : 0.0);
    hsmca_audit_free(log);
    return failed;
}

int main(int argc, char **argv)
{
    hsmca_p11_config cfg;
    int rc = 2;

    if (argc < 3) {
        fprintf(stderr, "usage: audit-testtool write FILE N | rotate FILE N M | bench FILE THREADS SECONDS [nosync]\n");
        return 2;
    }
    signal(SIGXFSZ, SIG_IGN);
    CRYPTO_secure_malloc_init(32 * 1024, 32);
    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = getenv("HSMCA_TEST_MODULE");
    cfg.token_label = getenv("HSMCA_TEST_TOKEN");
    cfg.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if (hsmca_p11_token_open(&cfg, &tok) != HSMCA_OK)
        return fail("opening the token");
    if (strcmp(argv[1], "write") == 0 && argc == 4)
        rc = cmd_write(argv[2], atol(argv[3]), 0, false);
    else if (strcmp(argv[1], "rotate") == 0 && argc == 5)
        rc = cmd_write(argv[2], atol(argv[3]), atol(argv[4]), true);
    else if (strcmp(argv[1], "bench") == 0 && (argc == 5 || argc == 6))
        rc = cmd_bench(argv[2], atol(argv[3]), atof(argv[4]), argc == 6 && strcmp(argv[5], "nosync") == 0);
    else
        fprintf(stderr, "audit-testtool: bad arguments\n");
    hsmca_p11_token_free(tok);
    return rc;
}
