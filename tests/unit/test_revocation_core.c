/* SPDX-License-Identifier: Apache-2.0 */
/* The revocation core against a real token (run by
 * tests/integration/test_revocation_core.sh): a revocation is committed
 * once (the counter steps once; revoking again keeps the first time), a
 * no_store certificate revoked by PEM is stored with its revocation, a
 * wrong key revokes nothing, and a revocation whose CRL a newer build
 * already covers does not build again. env: HSMCA_TEST_MODULE,
 * HSMCA_TEST_TOKEN, HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "hsmca/ca.h"
#include "hsmca/provider.h"
#include "hsmca/revocation.h"
#include "hsmca/serial.h"
#include "unit_util.h"

#define MOUNT "rev"

static unit_ca_env env;
static hsmca_store *st; /* env's, for brevity */
static hsmca_ca *ca;

static int setup(void **state)
{
    hsmca_ca_params p;
    hsmca_ca_result r;
    hsmca_strlist warnings = {0};

    (void)state;
    if (unit_ca_open(&env, MOUNT) != 0)
        return -1;
    st = env.st;
    ca = env.ca;
    hsmca_ca_params_init(&p);
    p.key_type = "ec";
    p.key_bits = 256;
    p.common_name = "Revocation Root";
    p.issuer_name = "root";
    memset(&r, 0, sizeof(r));
    if (hsmca_ca_generate_root(ca, MOUNT, &p, &r) != HSMCA_OK)
        return -1;
    hsmca_ca_result_clear(&r);
    hsmca_ca_params_clear(&p);
    if (hsmca_ca_role_put(ca, MOUNT, "web", "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true}",
                          false, &warnings) != HSMCA_OK ||
        hsmca_ca_role_put(ca, MOUNT, "nostore",
                          "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,\"no_store\":true}",
                          false, &warnings) != HSMCA_OK)
        return -1;
    hsmca_strlist_clear(&warnings);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_ca_close(&env);
    return 0;
}

static int count_row(const hsmca_store_revoked *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return 1;
}

/* The mount's revocation counter (one step per revocation committed) and
 * how many revoked rows it holds, read from the store. */
static int64_t revocations(int *rows)
{
    hsmca_store_revoked_query q;
    int64_t seq = -1;
    int n = 0;

    memset(&q, 0, sizeof(q));
    q.since_seq = -1;
    assert_int_equal(hsmca_store_revoked_list(st, MOUNT, &q, &seq, count_row, &n), HSMCA_OK);
    if (rows != NULL)
        *rows = n;
    return seq;
}

static void issue(const char *role, hsmca_ca_result *r)
{
    hsmca_issue_request req;

    memset(&req, 0, sizeof(req));
    req.common_name = "x.example.com";
    req.ttl = 3600;
    memset(r, 0, sizeof(*r));
    assert_int_equal(hsmca_ca_issue(ca, MOUNT, role, NULL, &req, r), HSMCA_OK);
}

static char *pem_of_cert(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    n = BIO_get_mem_data(b, &data);
    out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

static char *pem_of_key(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    long n;

    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(b, &data);
    out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

static void test_revoke_twice(void **state)
{
    hsmca_ca_result a;
    hsmca_revoke_result rr;
    int64_t seq0, seq1, first;
    int rows0 = 0, rows1 = 0;

    (void)state;
    seq0 = revocations(&rows0);
    issue("web", &a);
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, NULL, &rr), HSMCA_OK);
    assert_false(rr.already_revoked);
    assert_true(rr.crl_rebuilt);
    assert_string_equal(rr.serial_number, a.serial_number);
    first = rr.revocation_time;
    seq1 = revocations(&rows1);
    assert_int_equal(seq1, seq0 + 1);
    assert_int_equal(rows1, rows0 + 1);
    /* Twice: the first time, and nothing committed again. */
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, NULL, &rr), HSMCA_OK);
    assert_true(rr.already_revoked);
    assert_int_equal(rr.revocation_time, first);
    assert_int_equal(revocations(&rows1), seq1);
    assert_int_equal(rows1, rows0 + 1);
    hsmca_ca_result_clear(&a);
}

static void test_no_store_by_pem(void **state)
{
    hsmca_ca_result n;
    hsmca_revoke_result rr;
    hsmca_store_cert c;
    unsigned char s[HSMCA_SERIAL_MAX];
    size_t len = 0;
    char *pem;

    (void)state;
    issue("nostore", &n);
    assert_int_equal(hsmca_serial_parse(n.serial_number, s, &len), HSMCA_OK);
    assert_int_equal(hsmca_store_cert_get(st, MOUNT, s, len, &c), HSMCA_ERR_NOT_FOUND);
    /* By serial it cannot be found; by PEM it is stored with its revocation. */
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, n.serial_number, NULL, NULL, &rr),
                     HSMCA_ERR_NOT_FOUND);
    pem = pem_of_cert(n.certificate);
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, NULL, pem, NULL, &rr), HSMCA_OK);
    assert_int_equal(hsmca_store_cert_get(st, MOUNT, s, len, &c), HSMCA_OK);
    assert_int_equal(c.revoked_at, rr.revocation_time);
    assert_string_equal(c.issuer_id, n.issuer_id);
    hsmca_store_cert_clear(&c);
    free(pem);
    hsmca_ca_result_clear(&n);
}

static void test_wrong_key(void **state)
{
    hsmca_ca_result a, b;
    hsmca_revoke_result rr;
    hsmca_store_cert c;
    unsigned char s[HSMCA_SERIAL_MAX];
    size_t len = 0;
    char *wrong, *right;
    int64_t seq0;

    (void)state;
    issue("web", &a);
    issue("web", &b);
    wrong = pem_of_key(b.private_key);
    right = pem_of_key(a.private_key);
    seq0 = revocations(NULL);
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, wrong, &rr),
                     HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "private_key"));
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, "", &rr),
                     HSMCA_ERR_INVALID_ARG);
    assert_int_equal(revocations(NULL), seq0);
    assert_int_equal(hsmca_serial_parse(a.serial_number, s, &len), HSMCA_OK);
    assert_int_equal(hsmca_store_cert_get(st, MOUNT, s, len, &c), HSMCA_OK);
    assert_int_equal(c.revoked_at, 0);
    hsmca_store_cert_clear(&c);
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, right, &rr), HSMCA_OK);
    assert_int_equal(revocations(NULL), seq0 + 1);
    assert_int_equal(hsmca_store_cert_get(st, MOUNT, s, len, &c), HSMCA_OK);
    assert_int_equal(c.revoked_at, rr.revocation_time);
    hsmca_store_cert_clear(&c);
    free(wrong);
    free(right);
    hsmca_ca_result_clear(&a);
    hsmca_ca_result_clear(&b);
}

static void test_auto_rebuild_records_only(void **state)
{
    hsmca_ca_result a;
    hsmca_revoke_result rr;
    hsmca_crl_config cfg;
    unsigned char *before = NULL, *after = NULL;
    size_t lb = 0, la = 0;
    int64_t t;

    (void)state;
    hsmca_crl_config_defaults(&cfg);
    cfg.auto_rebuild = true;
    assert_int_equal(hsmca_revocation_crl_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    assert_int_equal(hsmca_revocation_crl_get(ca, MOUNT, "default", HSMCA_CRL_COMPLETE, &before, &lb, &t),
                     HSMCA_OK);
    issue("web", &a);
    assert_int_equal(hsmca_revocation_revoke(ca, MOUNT, a.serial_number, NULL, NULL, &rr), HSMCA_OK);
    assert_false(rr.crl_rebuilt);
    assert_int_equal(hsmca_revocation_crl_get(ca, MOUNT, "default", HSMCA_CRL_COMPLETE, &after, &la, &t),
                     HSMCA_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(after, before, la);
    free(before);
    free(after);
    hsmca_crl_config_defaults(&cfg);
    assert_int_equal(hsmca_revocation_crl_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    hsmca_ca_result_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_twice),
        cmocka_unit_test(test_no_store_by_pem),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_auto_rebuild_records_only),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
