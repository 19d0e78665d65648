/* SPDX-License-Identifier: Apache-2.0 */
/* The lint gate (issue #3): every case of the negative lint corpus is pushed
 * through the CA's real signing pipeline with a real token key, and the token
 * must not be asked for a single signature. C_Sign is counted by the
 * fault-injecting module in front of SoftHSM2; a baseline that passes lint
 * proves the count moves when the token does sign. A failed intent commit
 * gets no signature either.
 * env: HSMCA_TEST_MODULE (the fault module), HSMCA_FAULT_CONFIG (with
 * counters and count_flush = C_Sign), HSMCA_TEST_COUNTERS (that file),
 * HSMCA_TEST_TOKEN, HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <sqlite3.h>

#include "internal.h"
#include "hsmca/provider.h"
#include "lint_corpus.h"

static hsmca_p11_token *tok;
static hsmca_keyslot *ks;
static OSSL_PROVIDER *prov;
static hsmca_store *st;
static hsmca_ca *ca;
static EVP_PKEY *token_key;

static long c_sign_count(void)
{
    FILE *f = fopen(getenv("HSMCA_TEST_COUNTERS"), "r");
    char name[64];
    long n, found = 0;

    if (f == NULL)
        return 0; /* not written yet: no counted call happened */
    while (fscanf(f, "%63s %ld", name, &n) == 2) {
        if (strcmp(name, "C_Sign") == 0)
            found = n;
    }
    fclose(f);
    return found;
}

static int setup(void **state)
{
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    hsmca_keyslot_info info;

    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if (hsmca_p11_token_open(&pc, &tok) != HSMCA_OK || hsmca_keyslot_new(tok, &ks) != HSMCA_OK ||
        hsmca_provider_load(NULL, &prov) != HSMCA_OK) {
        fprintf(stderr, "setup: %s\n", hsmca_err_message());
        return -1;
    }
    memset(&sc, 0, sizeof(sc));
    sc.path = getenv("HSMCA_TEST_DB");
    memset(&cc, 0, sizeof(cc));
    if (hsmca_store_open(&sc, &st) != HSMCA_OK)
        return -1;
    cc.store = st;
    cc.keyslot = ks;
    if (hsmca_ca_new(&cc, &ca) != HSMCA_OK || hsmca_ca_mount_enable(ca, "gate") != HSMCA_OK)
        return -1;
    /* Unnamed: reruns on the same token must not collide. */
    if (hsmca_keyslot_generate(ks, "", HSMCA_KEY_EC, 256, &info) != HSMCA_OK ||
        hsmca_keyslot_get1_pkey(ks, info.key_id, NULL, &token_key) != HSMCA_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    EVP_PKEY_free(token_key);
    hsmca_ca_free(ca);
    hsmca_store_close(st);
    OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    return 0;
}

static hsmca_rv run_case(const lint_case *c, bool serial_from_tbs, X509 **out)
{
    ca_sign_job job;
    hsmca_rv rv;

    memset(&job, 0, sizeof(job));
    job.mount = "gate";
    job.key = token_key;
    job.issuer_cert = c->issuer;
    job.issuer_id = "gate-issuer";
    job.role = "";
    job.lint = c->opts;
    job.serial_from_tbs = serial_from_tbs;
    /* The pipeline writes the serial and signature algorithm into the TBS
     * (an unsigned TBS cannot be X509_dup'ed); each case is used once. */
    rv = ca_sign_certificate(ca, &job, c->tbs, out);
    ERR_clear_error();
    return rv;
}

static void negative_corpus_gets_no_signature(void **state)
{
    lint_case *cases = NULL;
    size_t n = lint_corpus_build(&cases);
    long before = c_sign_count();

    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        X509 *signed_cert = NULL;
        /* Serial cases keep their bad serial; every other case would get a
         * good one from the pipeline, which must not matter to the outcome. */
        bool serial_case = strncmp(cases[i].rule, "serial.", 7) == 0;
        hsmca_rv rv = run_case(&cases[i], serial_case, &signed_cert);
        if (rv == HSMCA_OK)
            fail_msg("corpus case '%s' (rule %s) was signed", cases[i].name, cases[i].rule);
        if (strstr(hsmca_err_message(), cases[i].rule) == NULL && !serial_case)
            fail_msg("corpus case '%s' was refused, but not by rule %s: %s", cases[i].name, cases[i].rule,
                     hsmca_err_message());
        X509_free(signed_cert);
    }
    assert_int_equal(c_sign_count(), before);
    lint_corpus_free(cases, n);
}

static void baseline_is_signed_and_counted(void **state)
{
    lint_case *cases = NULL;
    size_t n = lint_corpus_build_baselines(&cases);
    long before = c_sign_count();
    bool signed_one = false;

    assert_true(n > 0);
    for (size_t i = 0; i < n && !signed_one; i++) {
        X509 *signed_cert = NULL;
        /* The baseline's issuer is a software CA, so the pipeline's final
         * X509_verify must fail: the token signed, the result is refused. */
        if (cases[i].opts.role != HSMCA_LINT_LEAF)
            continue;
        hsmca_rv rv = run_case(&cases[i], false, &signed_cert);
        assert_int_not_equal(rv, HSMCA_OK);
        assert_int_equal(rv, HSMCA_ERR_BAD_SIGNATURE);
        signed_one = true;
        X509_free(signed_cert);
    }
    assert_true(signed_one);
    assert_true(c_sign_count() > before);
    lint_corpus_free(cases, n);
}

static void raw_exec(const char *sql)
{
    sqlite3 *db = NULL;

    if (sqlite3_open_v2(getenv("HSMCA_TEST_DB"), &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
}

/* The intent is submitted before the TBS is linted and encoded and waited
 * for only before the token signs (docs/performance.md, third round): when
 * its commit fails, the issuance fails with the storage's reason and the
 * token is never asked for a signature. A SQLite trigger, added from an
 * independent connection as tests/reliability does, fails the insert. */
static void intent_failure_gets_no_signature(void **state)
{
    lint_case *cases = NULL;
    size_t n = lint_corpus_build_baselines(&cases);
    long before = c_sign_count();
    bool ran = false;

    assert_true(n > 0);
    raw_exec("CREATE TRIGGER fail_intent BEFORE INSERT ON intents "
             "BEGIN SELECT RAISE(ABORT, 'injected intent storage failure'); END");
    for (size_t i = 0; i < n && !ran; i++) {
        X509 *signed_cert = NULL;
        hsmca_rv rv;

        if (cases[i].opts.role != HSMCA_LINT_LEAF)
            continue;
        rv = run_case(&cases[i], false, &signed_cert);
        ran = true;
        if (rv != HSMCA_ERR_IO || strstr(hsmca_err_message(), "injected intent storage failure") == NULL)
            fail_msg("a failed intent commit gave %s: %s", hsmca_rv_name(rv), hsmca_err_message());
        assert_null(signed_cert);
    }
    raw_exec("DROP TRIGGER fail_intent");
    assert_true(ran);
    assert_int_equal(c_sign_count(), before);
    lint_corpus_free(cases, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negative_corpus_gets_no_signature),
        cmocka_unit_test(baseline_is_signed_and_counted),
        cmocka_unit_test(intent_failure_gets_no_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
