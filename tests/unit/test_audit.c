/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the audit log (src/audit) against a real SoftHSM2 token reached
 * through the fault-injecting module: concurrent writers, secrets kept out,
 * reopen and rotation, MAC and write failures that must leave the file
 * untouched, and what opening refuses. Started by
 * tests/integration/test_audit_unit.sh, which makes the token and sets
 * HSMCA_TEST_MODULE (the fault module), HSMCA_TEST_TOKEN,
 * HSMCA_TEST_PIN_FILE, HSMCA_FAULT_CONFIG and HSMCA_AUDIT_TEST_DIR. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <glob.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hsmca/audit.h"
#include "hsmca/p11.h"

#define assert_rv(expr, want)                                                                        \
    do {                                                                                             \
        hsmca_rv got_ = (expr);                                                                      \
        if (got_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #expr, hsmca_rv_name(got_), hsmca_err_message(),    \
                     hsmca_rv_name(want));                                                           \
    } while (0)

#define THREADS 8
#define PER_THREAD 250

static hsmca_p11_token *tok;
static char dir[512];
static const char *fault_config;
static const char *real_module;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Replaces the fault module's config atomically, then waits past its 20 ms
 * re-check interval (hsm/fault/README.md, "Changing faults mid-run"). */
static void set_faults(const char *lines)
{
    char tmp[600];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", fault_config);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "module = %s\n%s", real_module, lines);
    fclose(f);
    assert_int_equal(rename(tmp, fault_config), 0);
    sleep_ms(60);
}

static int group_setup(void **state)
{
    hsmca_p11_config pc;
    const char *base = getenv("HSMCA_AUDIT_TEST_DIR");

    fault_config = getenv("HSMCA_FAULT_CONFIG");
    real_module = getenv("HSMCA_REAL_MODULE");
    if (base == NULL || fault_config == NULL || real_module == NULL) {
        fprintf(stderr, "run through tests/integration/test_audit_unit.sh\n");
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", base);
    /* A file-size limit must be an error return, not death (audit.h). */
    signal(SIGXFSZ, SIG_IGN);
    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if (hsmca_p11_token_open(&pc, &tok) != HSMCA_OK) {
        fprintf(stderr, "token: %s\n", hsmca_err_message());
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    hsmca_p11_token_free(tok);
    return 0;
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
    unlink(out);
}

/* The whole file, NUL-terminated; *len its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void verify_ok(const char *path, const char *prev, uint64_t entries, hsmca_audit_verify_result *res)
{
    hsmca_audit_verify_result local;

    if (res == NULL)
        res = &local;
    assert_rv(hsmca_audit_verify(tok, path, prev, res), HSMCA_OK);
    assert_int_equal(res->bad_line, 0);
    if (entries > 0)
        assert_int_equal(res->entries, entries);
}

static hsmca_audit *open_log(const char *path, bool no_sync)
{
    hsmca_audit_config cfg = {.path = path, .no_sync = no_sync};
    hsmca_audit *log = NULL;

    assert_rv(hsmca_audit_open(tok, &cfg, &log), HSMCA_OK);
    return log;
}

/* A plain state-changing request entry with a details object {"i": i}. */
static hsmca_rv log_simple(hsmca_audit *log, int i)
{
    static const char *const pols[] = {"default", "pki-admin"};
    json_t *d = json_pack("{s:i, s:s}", "i", i, "serial_number", "39:dd:2e:90");
    hsmca_audit_entry e = {
        .request_id = "4e0c4b55-6a0a-4f57-9e1a-0000000000aa",
        .remote_address = "192.0.2.10",
        .accessor = "acc-0123456789",
        .policies = pols,
        .n_policies = 2,
        .operation = "update",
        .mount = "pki",
        .path = "pki/issue/web",
        .status = 200,
        .outcome = HSMCA_AUDIT_SUCCESS,
        .details = d,
    };
    hsmca_rv rv = hsmca_audit_log(log, &e);

    json_decref(d);
    return rv;
}

/* ---- concurrency ---- */

typedef struct {
    hsmca_audit *log;
    int thread;
    int failures;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;

    for (int i = 0; i < PER_THREAD; i++) {
        json_t *d = json_pack("{s:i, s:i}", "thread", w->thread, "i", i);
        hsmca_audit_entry e = {.operation = "update", .path = "pki/roles/r", .status = 204, .details = d};
        if (hsmca_audit_log(w->log, &e) != HSMCA_OK)
            w->failures++;
        json_decref(d);
    }
    return NULL;
}

/* 8 threads log at once: every entry is in the file once, whole, in one
 * chain (the verifier checks links and seq), and each thread's entries are
 * in the order it logged them (the total order respects program order). */
static void test_concurrent_writers(void **state)
{
    char path[600];
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    int next_i[THREADS] = {0};
    hsmca_audit_stats st;
    hsmca_audit *log;
    char *file, *save = NULL;
    size_t len, lines = 0;

    path_of(path, sizeof(path), "concurrent.log");
    log = open_log(path, false);
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){log, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, worker, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].failures, 0);
    }
    hsmca_audit_get_stats(log, &st);
    assert_int_equal(st.entries, 1 + THREADS * PER_THREAD);
    assert_int_equal(st.failures, 0);
    assert_int_equal(st.last_seq, 1 + THREADS * PER_THREAD);
    /* Group sync: at least one sync, never more than one per line. */
    assert_true(st.syncs >= 1 && st.syncs <= st.entries);
    print_message("    %d entries from %d threads, %llu fdatasync calls\n", THREADS * PER_THREAD, THREADS,
                  (unsigned long long)st.syncs);
    hsmca_audit_free(log);

    verify_ok(path, NULL, 1 + THREADS * PER_THREAD, NULL);
    file = slurp(path, &len);
    assert_true(len > 0 && file[len - 1] == '\n');
    for (char *line = strtok_r(file, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err), *d;
        lines++;
        if (o == NULL)
            fail_msg("line %zu is not JSON (torn?): %s", lines, err.text);
        d = json_object_get(o, "details");
        if (lines == 1) {
            assert_string_equal(json_string_value(json_object_get(o, "type")), "start");
        } else {
            int t = (int)json_integer_value(json_object_get(d, "thread"));
            int i = (int)json_integer_value(json_object_get(d, "i"));
            assert_true(t >= 0 && t < THREADS);
            if (i != next_i[t])
                fail_msg("line %zu: thread %d entry %d, expected %d (lost or reordered)", lines, t, i, next_i[t]);
            next_i[t]++;
        }
        json_decref(o);
    }
    assert_int_equal(lines, 1 + THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(next_i[t], PER_THREAD);
    free(file);
}

/* ---- secrets ---- */

static void test_secret_names(void **state)
{
    static const char *const secret[] = {"token",         "client_token", "X-Vault-Token", "private_key",
                                         "PRIVATE_KEY",   "pin",          "user_pin",      "so-pin",
                                         "password",      "passphrase",   "secret",        "client_secret",
                                         "secret_id",     "hmac_key",     "pem_bundle",    "authorization",
                                         "issuer_private_key"};
    static const char *const plain[] = {"serial_number", "private_key_type", "issuer_id",  "role",
                                        "token_ttl",     "secret_id_accessor", "tokens_x", "spin",
                                        "pinned",        "accessor",           "key_name", ""};

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!hsmca_audit_is_secret_name(secret[i]))
            fail_msg("'%s' should name a secret", secret[i]);
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (hsmca_audit_is_secret_name(plain[i]))
            fail_msg("'%s' should not name a secret", plain[i]);
}

/* Every secret value below contains "SECRET"; no non-secret one does. None
 * may reach the file; the correlatable ones appear as their value HMAC. */
static void test_secrets_never_written(void **state)
{
    char path[600], want[200], corr[HSMCA_AUDIT_VALUE_LEN + 1], h1[HSMCA_AUDIT_VALUE_LEN + 1];
    char h2[HSMCA_AUDIT_VALUE_LEN + 1];
    hsmca_audit *log;
    json_t *d, *d2;
    char *file;

    path_of(path, sizeof(path), "secrets.log");
    log = open_log(path, false);
    d = json_loads("{\"token\":\"s.SECRET-TOKEN-1111\","
                   "\"client_token\":\"hvs.SECRET-CLIENT-2222\","
                   "\"X-Vault-Token\":\"SECRET-HEADER-3333\","
                   "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nSECRET-KEY-4444\\n-----END PRIVATE KEY-----\\n\","
                   "\"pin\":\"SECRET-PIN-5555\","
                   "\"password\":\"SECRET-PASSWORD-6666\","
                   "\"secret\":{\"inner\":\"SECRET-OBJ-7777\"},"
                   "\"hmac_key\":\"SECRET-HMACKEY-8888\","
                   "\"nested\":{\"user_pin\":\"SECRET-USERPIN-9999\",\"list\":[{\"so_pin\":\"SECRET-SOPIN-AAAA\"},"
                   "\"-----BEGIN EC PRIVATE KEY-----SECRET-INLIST-BBBB\"]},"
                   "\"certificate_bundle\":\"-----BEGIN RSA PRIVATE KEY-----SECRET-BUNDLE-CCCC\","
                   "\"passphrase\":12345,"
                   "\"serial_number\":\"39:dd:2e:90\",\"private_key_type\":\"rsa\",\"role\":\"web\"}",
                   0, NULL);
    assert_non_null(d);
    {
        hsmca_audit_entry e = {
            .operation = "update",
            .path = "pki/issue/web",
            .status = 400,
            .outcome = HSMCA_AUDIT_ERROR,
            .error = "rejected -----BEGIN PRIVATE KEY----- SECRET-ERROR-EEEE",
            .details = d,
        };
        assert_rv(hsmca_audit_log(log, &e), HSMCA_OK);
    }
    /* A value the caller HMACed itself stays as it is, so it correlates. */
    assert_rv(hsmca_audit_hmac_value(log, "SECRET-CORR-DDDD", 16, corr), HSMCA_OK);
    assert_int_equal(strlen(corr), HSMCA_AUDIT_VALUE_LEN);
    assert_memory_equal(corr, "hmac-sha256:", 12);
    d2 = json_pack("{s:s}", "client_token", corr);
    {
        hsmca_audit_entry e = {.operation = "read", .status = 403, .outcome = HSMCA_AUDIT_DENIED, .details = d2};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_OK);
    }
    /* Value HMACs are deterministic and tell values apart. */
    assert_rv(hsmca_audit_hmac_value(log, "s.SECRET-TOKEN-1111", 19, h1), HSMCA_OK);
    assert_rv(hsmca_audit_hmac_value(log, "s.SECRET-TOKEN-1112", 19, h2), HSMCA_OK);
    assert_string_not_equal(h1, h2);
    hsmca_audit_free(log);
    json_decref(d);
    json_decref(d2);

    verify_ok(path, NULL, 3, NULL);
    file = slurp(path, NULL);
    if (strstr(file, "SECRET") != NULL)
        fail_msg("a secret value reached the file: ...%.80s", strstr(file, "SECRET"));
    assert_null(strstr(file, "PRIVATE KEY"));
    /* Non-secrets are logged as given. */
    assert_non_null(strstr(file, "\"serial_number\":\"39:dd:2e:90\""));
    assert_non_null(strstr(file, "\"private_key_type\":\"rsa\""));
    assert_non_null(strstr(file, "\"role\":\"web\""));
    /* The token's replacement is its value HMAC: the same token can be
     * found again with hsmca_audit_hmac_value. */
    snprintf(want, sizeof(want), "\"token\":\"%s\"", h1);
    assert_non_null(strstr(file, want));
    snprintf(want, sizeof(want), "\"client_token\":\"%s\"", corr);
    assert_non_null(strstr(file, want));
    assert_int_equal(count(file, "\"passphrase\":\"hmac-sha256:"), 1);
    assert_int_equal(count(file, "\"secret\":\"hmac-sha256:"), 1);
    assert_int_equal(count(file, "\"error\":\"hmac-sha256:"), 1);
    free(file);
}

/* ---- reopen and rotation ---- */

static void test_reopen_continues_chain(void **state)
{
    char path[600], rotated[600], genesis_prev[] = HSMCA_AUDIT_GENESIS;
    hsmca_audit_verify_result res, old;
    hsmca_audit_stats st;
    hsmca_audit *log;
    size_t len1, len2;
    char *file;

    path_of(path, sizeof(path), "reopen.log");
    path_of(rotated, sizeof(rotated), "reopen.log.1");
    log = open_log(path, false);
    for (int i = 0; i < 3; i++)
        assert_rv(log_simple(log, i), HSMCA_OK);
    hsmca_audit_free(log);
    /* A second open continues from the last line: no new start entry. */
    log = open_log(path, false);
    for (int i = 3; i < 6; i++)
        assert_rv(log_simple(log, i), HSMCA_OK);
    hsmca_audit_get_stats(log, &st);
    assert_int_equal(st.last_seq, 7);
    /* Reopening the same file changes nothing. */
    free(slurp(path, &len1));
    assert_rv(hsmca_audit_reopen(log), HSMCA_OK);
    free(slurp(path, &len2));
    assert_int_equal(len1, len2);
    assert_rv(log_simple(log, 6), HSMCA_OK);
    hsmca_audit_free(log);
    verify_ok(path, NULL, 8, &res);
    assert_string_equal(res.first_prev, genesis_prev);
    assert_int_equal(res.first_seq, 1);
    assert_int_equal(res.last_seq, 8);
    file = slurp(path, NULL);
    assert_int_equal(count(file, "\"type\":\"start\""), 1);
    free(file);

    /* Rotation: rename, reopen; the new file's start entry links to the
     * old file's last HMAC. */
    log = open_log(path, false);
    assert_rv(log_simple(log, 7), HSMCA_OK);
    assert_int_equal(rename(path, rotated), 0);
    assert_rv(log_simple(log, 8), HSMCA_OK); /* still into the renamed file */
    assert_rv(hsmca_audit_reopen(log), HSMCA_OK);
    assert_rv(log_simple(log, 9), HSMCA_OK);
    hsmca_audit_get_stats(log, &st);
    hsmca_audit_free(log);

    verify_ok(rotated, NULL, 10, &old);
    verify_ok(path, NULL, 2, &res);
    assert_string_equal(res.first_prev, old.last_hmac);
    assert_int_equal(res.first_seq, old.last_seq + 1);
    assert_string_equal(res.last_hmac, st.last_hmac);
    verify_ok(path, old.last_hmac, 2, NULL);
    file = slurp(path, NULL);
    assert_non_null(strstr(file, "\"type\":\"start\",\"reason\":\"reopen\""));
    free(file);
    /* A wrong anchor breaks line 1. */
    assert_rv(hsmca_audit_verify(tok, path, HSMCA_AUDIT_GENESIS, &res), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(res.bad_line, 1);
    /* The old file's first line is a start entry from genesis, so it also
     * verifies against an explicit genesis anchor. */
    verify_ok(rotated, HSMCA_AUDIT_GENESIS, 10, NULL);
}

/* ---- failures leave the file as it was ---- */

static void test_mac_failure_writes_nothing(void **state)
{
    char path[600], value[HSMCA_AUDIT_VALUE_LEN + 1];
    hsmca_audit_stats st;
    hsmca_audit *log;
    char *before, *after;
    json_t *d;

    path_of(path, sizeof(path), "macfail.log");
    log = open_log(path, false);
    assert_rv(log_simple(log, 0), HSMCA_OK);
    before = slurp(path, NULL);

    set_faults("fail = C_Sign every=1 rv=CKR_FUNCTION_FAILED\n");
    assert_rv(log_simple(log, 1), HSMCA_ERR_HSM);
    /* An entry whose secrets need value HMACs fails the same way. */
    d = json_pack("{s:s}", "token", "s.abc");
    {
        hsmca_audit_entry e = {.operation = "update", .details = d};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_ERR_HSM);
    }
    json_decref(d);
    assert_rv(hsmca_audit_hmac_value(log, "x", 1, value), HSMCA_ERR_HSM);
    /* A device error is retried after recovery, then reported unavailable. */
    set_faults("fail = C_Sign every=1 rv=CKR_DEVICE_ERROR\n");
    assert_rv(log_simple(log, 2), HSMCA_ERR_HSM_UNAVAILABLE);
    after = slurp(path, NULL);
    assert_string_equal(before, after);
    free(after);

    /* Back to health: the chain continues where the file ends. */
    set_faults("");
    assert_rv(log_simple(log, 3), HSMCA_OK);
    hsmca_audit_get_stats(log, &st);
    assert_int_equal(st.failures, 3);
    assert_int_equal(st.last_seq, 3);
    hsmca_audit_free(log);
    verify_ok(path, NULL, 3, NULL);
    free(before);
}

/* A write that stops part-way (here: a file-size limit) is cut back, so the
 * file never holds part of an entry, and the chain does not advance. */
static void test_short_write_rolled_back(void **state)
{
    char path[600];
    struct rlimit old, lim;
    hsmca_audit *log;
    char *before, *after;
    size_t len;

    path_of(path, sizeof(path), "short.log");
    log = open_log(path, false);
    assert_rv(log_simple(log, 0), HSMCA_OK);
    before = slurp(path, &len);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)len + 100; /* an entry is several hundred bytes */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_rv(log_simple(log, 1), HSMCA_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    after = slurp(path, NULL);
    assert_string_equal(before, after);
    assert_rv(log_simple(log, 2), HSMCA_OK);
    hsmca_audit_free(log);
    verify_ok(path, NULL, 3, NULL);
    free(before);
    free(after);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_open_refuses_bad_tail(void **state)
{
    char path[600], other[600];
    hsmca_audit_config cfg = {0};
    hsmca_audit *log, *second = NULL;
    char *good, *bad;
    size_t len;
    struct stat st;

    path_of(path, sizeof(path), "tail.log");
    path_of(other, sizeof(other), "tail-bad.log");
    log = open_log(path, false);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_rv(log_simple(log, 0), HSMCA_OK);
    /* One writer per file. */
    cfg.path = path;
    assert_rv(hsmca_audit_open(tok, &cfg, &second), HSMCA_ERR_IO);
    assert_non_null(strstr(hsmca_err_message(), "already open"));
    assert_null(second);
    hsmca_audit_free(log);
    good = slurp(path, &len);

    /* A torn last line (a kill during write(2)): never acknowledged, so it is
     * kept in a side file, cut off, and the chain continues after the last
     * complete line. */
    bad = malloc(len + 32);
    assert_non_null(bad);
    memcpy(bad, good, len);
    memcpy(bad + len, "{\"v\":1,\"seq\":3,\"ti", 18);
    write_file(other, bad, len + 18);
    cfg.path = other;
    assert_rv(hsmca_audit_open(tok, &cfg, &second), HSMCA_OK);
    hsmca_audit_free(second);
    second = NULL;
    {
        char pattern[700], *back;
        size_t blen = 0, flen = 0;
        glob_t g;
        snprintf(pattern, sizeof(pattern), "%s.torn-*", other);
        assert_int_equal(glob(pattern, 0, NULL, &g), 0);
        assert_int_equal(g.gl_pathc, 1);
        back = slurp(g.gl_pathv[0], &flen);
        assert_int_equal(flen, 18);
        assert_memory_equal(back, "{\"v\":1,\"seq\":3,\"ti", 18);
        free(back);
        unlink(g.gl_pathv[0]);
        globfree(&g);
        back = slurp(other, &blen);
        assert_int_equal(blen, len);
        assert_memory_equal(back, good, len);
        free(back);
    }
    /* The chain goes on from the last complete line. */
    second = open_log(other, false);
    assert_rv(log_simple(second, 0), HSMCA_OK);
    hsmca_audit_free(second);
    second = NULL;

    /* An edited last line. */
    memcpy(bad, good, len);
    bad[len - 90] = bad[len - 90] == 'a' ? 'b' : 'a';
    write_file(other, bad, len);
    assert_rv(hsmca_audit_open(tok, &cfg, &second), HSMCA_ERR_IO);
    assert_non_null(strstr(hsmca_err_message(), "not a valid entry"));
    /* Nothing was appended to either. */
    free(slurp(other, &len));
    assert_int_equal(len, strlen(good));
    free(good);
    free(bad);
}

static void test_bad_input_writes_nothing(void **state)
{
    char path[600], *big;
    hsmca_audit *log;
    json_t *d, *deep;
    size_t len1, len2;

    path_of(path, sizeof(path), "badinput.log");
    log = open_log(path, false);
    free(slurp(path, &len1));
    d = json_array();
    {
        hsmca_audit_entry e = {.details = d};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_ERR_INVALID_ARG);
    }
    json_decref(d);
    big = malloc(HSMCA_AUDIT_DETAILS_MAX + 10);
    assert_non_null(big);
    memset(big, 'x', HSMCA_AUDIT_DETAILS_MAX + 9);
    big[HSMCA_AUDIT_DETAILS_MAX + 9] = '\0';
    d = json_pack("{s:s}", "blob", big);
    {
        hsmca_audit_entry e = {.details = d};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_ERR_INVALID_ARG);
    }
    json_decref(d);
    free(big);
    deep = json_object();
    for (int i = 0; i < 20; i++)
        deep = json_pack("{s:o}", "a", deep);
    {
        hsmca_audit_entry e = {.details = deep};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_ERR_INVALID_ARG);
    }
    json_decref(deep);
    free(slurp(path, &len2));
    assert_int_equal(len1, len2);
    hsmca_audit_free(log);
    verify_ok(path, NULL, 1, NULL);
}

/* Client-supplied text that is not UTF-8, or too long, is cleaned and cut,
 * never a reason to fail the log call. */
static void test_strings_cleaned(void **state)
{
    char path[600], longpath[5001];
    const char *pols[70];
    hsmca_audit *log;
    json_t *o;
    char *file, *last;
    const char *p;

    path_of(path, sizeof(path), "strings.log");
    log = open_log(path, true);
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    for (int i = 0; i < 70; i++)
        pols[i] = "policy";
    {
        hsmca_audit_entry e = {.path = longpath, .error = "bad \xff\xfe byte\nnewline", .status = 400,
                               .outcome = HSMCA_AUDIT_ERROR, .policies = pols, .n_policies = 70};
        assert_rv(hsmca_audit_log(log, &e), HSMCA_OK);
    }
    hsmca_audit_free(log);
    verify_ok(path, NULL, 2, NULL);
    file = slurp(path, NULL);
    last = strchr(file, '\n') + 1;
    o = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(o);
    p = json_string_value(json_object_get(o, "path"));
    assert_int_equal(strlen(p), 2048 + 3);
    assert_string_equal(p + 2048, "...");
    assert_string_equal(json_string_value(json_object_get(o, "error")), "bad \xef\xbf\xbd\xef\xbf\xbd byte\nnewline");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "error");
    /* At most 64 policies, then a marker. */
    assert_int_equal(json_array_size(json_object_get(o, "policies")), 65);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "policies"), 64)), "...");
    json_decref(o);
    /* One entry per line, plain ASCII. */
    assert_int_equal(count(file, "\n"), 2);
    for (const char *c = file; *c; c++)
        assert_true((unsigned char)*c < 0x80);
    free(file);
}

static void test_no_sync_mode(void **state)
{
    char path[600];
    hsmca_audit_stats st;
    hsmca_audit *log;

    path_of(path, sizeof(path), "nosync.log");
    log = open_log(path, true);
    for (int i = 0; i < 10; i++)
        assert_rv(log_simple(log, i), HSMCA_OK);
    hsmca_audit_get_stats(log, &st);
    assert_int_equal(st.syncs, 0);
    assert_int_equal(st.entries, 11);
    hsmca_audit_free(log);
    log = open_log(path, false);
    assert_rv(log_simple(log, 10), HSMCA_OK);
    hsmca_audit_get_stats(log, &st);
    assert_int_equal(st.syncs, 1);
    hsmca_audit_free(log);
    verify_ok(path, NULL, 12, NULL);
}

/* The MAC key as hsmca reads it back (pkcs11-tool and p11raw judge it in
 * tests/integration/test_audit_verify.sh). */
static void test_key_attributes(void **state)
{
    hsmca_p11_hmac_key *key = NULL;
    hsmca_p11_key_attrs a;
    unsigned char m1[HSMCA_P11_HMAC_SHA256_LEN], m2[HSMCA_P11_HMAC_SHA256_LEN];

    assert_rv(hsmca_p11_hmac_key_open(tok, (const unsigned char *)HSMCA_AUDIT_KEY_LABEL,
                                      strlen(HSMCA_AUDIT_KEY_LABEL), HSMCA_AUDIT_KEY_LABEL, false, &key),
              HSMCA_OK);
    assert_rv(hsmca_p11_hmac_key_get_attrs(key, &a), HSMCA_OK);
    assert_true(a.token && a.private_ && a.sensitive && a.always_sensitive && !a.extractable &&
                a.never_extractable && a.local);
    assert_rv(hsmca_p11_hmac_sha256(key, (const unsigned char *)"abc", 3, m1), HSMCA_OK);
    assert_rv(hsmca_p11_hmac_sha256(key, (const unsigned char *)"abc", 3, m2), HSMCA_OK);
    assert_memory_equal(m1, m2, sizeof(m1));
    assert_rv(hsmca_p11_hmac_sha256(key, (const unsigned char *)"abd", 3, m2), HSMCA_OK);
    assert_memory_not_equal(m1, m2, sizeof(m1));
    hsmca_p11_hmac_key_free(key);
    /* Without create, another label is simply not there. */
    assert_rv(hsmca_p11_hmac_key_open(tok, (const unsigned char *)"nope", 4, "nope", false, &key),
              HSMCA_ERR_NOT_FOUND);
    assert_null(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_names),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_secrets_never_written),
        cmocka_unit_test(test_reopen_continues_chain),
        cmocka_unit_test(test_mac_failure_writes_nothing),
        cmocka_unit_test(test_short_write_rolled_back),
        cmocka_unit_test(test_open_refuses_bad_tail),
        cmocka_unit_test(test_bad_input_writes_nothing),
        cmocka_unit_test(test_strings_cleaned),
        cmocka_unit_test(test_no_sync_mode),
        cmocka_unit_test(test_key_attributes),
    };
    return cmocka_run_group_tests_name("audit", tests, group_setup, group_teardown);
}
