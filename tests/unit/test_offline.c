/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the offline CA operations of key ceremonies
 * (src/ca/offline.c) and the CRL lint (src/ca/lint_crl.c), with software
 * keys: a root, an intermediate and an OCSP signer are built, linted and
 * signed; a lint failure leaves nothing to sign; every crl.* rule fails on
 * a CRL broken in its way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/lint.h"
#include "hsmca/offline.h"

#define DAY 86400

typedef struct {
    EVP_PKEY *root_key, *int_key, *other_key;
    X509 *root;
    X509_NAME *root_name, *int_name;
    int64_t now;
} fixture;

static void fresh_serial(hsmca_offline_cert_profile *p)
{
    assert_int_equal(RAND_bytes(p->serial, 16), 1);
    p->serial[0] = (unsigned char)((p->serial[0] & 0x7f) | 0x40); /* positive, 16 octets */
    p->serial_len = 16;
}

static X509_NAME *name(const char *cn)
{
    hsmca_offline_name n = {.common_name = cn, .organization = "hsmca tests", .country = "NL"};
    X509_NAME *out = NULL;

    assert_int_equal(hsmca_offline_name_build(&n, &out), HSMCA_OK);
    return out;
}

/* A signed certificate of kind below issuer (NULL: a root of key). */
static X509 *make_cert(fixture *f, hsmca_offline_kind kind, X509_NAME *subject, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *signer, int64_t not_after, hsmca_lint_finding *finding, hsmca_rv *rv_out)
{
    hsmca_offline_cert_profile p;
    X509 *tbs = NULL, *cert = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.subject = subject;
    p.subject_key = key;
    p.issuer = issuer;
    p.signing_key = signer;
    p.not_before = f->now;
    p.not_after = not_after;
    p.path_len = kind == HSMCA_OFFLINE_ROOT ? 1 : 0;
    fresh_serial(&p);
    rv = hsmca_offline_cert_prepare(NULL, &p, &tbs, finding);
    if (rv_out != NULL)
        *rv_out = rv;
    if (rv != HSMCA_OK) {
        assert_null(tbs);
        return NULL;
    }
    assert_int_equal(hsmca_offline_cert_sign(NULL, &p, tbs, &cert), HSMCA_OK);
    X509_free(tbs); /* cert holds its own reference */
    return cert;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->now = (int64_t)time(NULL);
    f->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    f->int_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->root_name = name("offline test root");
    f->int_name = name("offline test intermediate");
    f->root = make_cert(f, HSMCA_OFFLINE_ROOT, f->root_name, f->root_key, NULL, f->root_key, f->now + 3650 * DAY,
                        NULL, NULL);
    *state = f;
    return f->root_key && f->int_key && f->other_key && f->root ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;

    EVP_PKEY_free(f->root_key);
    EVP_PKEY_free(f->int_key);
    EVP_PKEY_free(f->other_key);
    X509_free(f->root);
    X509_NAME_free(f->root_name);
    X509_NAME_free(f->int_name);
    free(f);
    return 0;
}

static void test_chain(void **state)
{
    fixture *f = *state;
    X509 *in, *ocsp;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    EXTENDED_KEY_USAGE *eku;

    in = make_cert(f, HSMCA_OFFLINE_CA, f->int_name, f->int_key, f->root, f->root_key, f->now + 365 * DAY, NULL,
                   NULL);
    ocsp = make_cert(f, HSMCA_OFFLINE_OCSP_SIGNER, f->int_name, f->other_key, f->root, f->root_key,
                     f->now + 30 * DAY, NULL, NULL);
    assert_non_null(in);
    assert_non_null(ocsp);
    assert_int_equal(X509_verify(in, X509_get0_pubkey(f->root)), 1);
    /* The intermediate chains to the root as OpenSSL's verifier sees it. */
    assert_int_equal(X509_STORE_add_cert(store, f->root), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, in, untrusted), 1);
    assert_int_equal(X509_verify_cert(ctx), 1);
    /* RFC 6960 4.2.2.2: id-kp-OCSPSigning, and id-pkix-ocsp-nocheck. */
    eku = X509_get_ext_d2i(ocsp, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_OCSP_sign);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    assert_true(X509_get_ext_by_NID(ocsp, NID_id_pkix_OCSP_noCheck, -1) >= 0);
    assert_int_equal(hsmca_offline_key_matches(in, f->int_key), 1);
    assert_int_equal(hsmca_offline_key_matches(in, f->other_key), 0);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
    X509_free(in);
    X509_free(ocsp);
}

static void test_lint_stops_signing(void **state)
{
    fixture *f = *state;
    hsmca_lint_finding finding;
    hsmca_rv rv = HSMCA_OK;
    X509 *in;

    /* An intermediate that outlives its root is refused before signing. */
    in = make_cert(f, HSMCA_OFFLINE_CA, f->int_name, f->int_key, f->root, f->root_key, f->now + 5000 * DAY,
                   &finding, &rv);
    assert_null(in);
    assert_int_equal(rv, HSMCA_ERR_INVALID_ARG);
    assert_string_equal(finding.rule, "validity.beyond_issuer");
}

static void test_policies_are_oids(void **state)
{
    fixture *f = *state;
    hsmca_offline_cert_profile p;
    hsmca_strlist pol = {0};
    X509 *tbs = NULL;

    memset(&p, 0, sizeof(p));
    p.kind = HSMCA_OFFLINE_CA;
    p.subject = f->int_name;
    p.subject_key = f->int_key;
    p.issuer = f->root;
    p.signing_key = f->root_key;
    p.not_before = f->now;
    p.not_after = f->now + DAY;
    p.path_len = 0;
    p.policies = &pol;
    fresh_serial(&p);
    /* A name or an OpenSSL config section must not reach the config parser. */
    assert_int_equal(hsmca_strlist_add(&pol, "@section", 8), HSMCA_OK);
    assert_int_equal(hsmca_offline_cert_prepare(NULL, &p, &tbs, NULL), HSMCA_ERR_INVALID_ARG);
    assert_null(tbs);
    assert_non_null(strstr(hsmca_err_message(), "policies[0]"));
    hsmca_strlist_clear(&pol);
    assert_int_equal(hsmca_strlist_add(&pol, "2.23.140.1.2.1", 14), HSMCA_OK);
    assert_int_equal(hsmca_offline_cert_prepare(NULL, &p, &tbs, NULL), HSMCA_OK);
    assert_true(X509_get_ext_by_NID(tbs, NID_certificate_policies, -1) >= 0);
    X509_free(tbs);
    hsmca_strlist_clear(&pol);
}

/* ---- CRLs ---- */

static X509_CRL *prepared_crl(fixture *f, const hsmca_offline_revoked *rev, size_t n_rev, hsmca_lint_finding *fd,
                              hsmca_rv *rv)
{
    hsmca_offline_crl_profile p;
    X509_CRL *crl = NULL;

    memset(&p, 0, sizeof(p));
    p.issuer = f->root;
    p.signing_key = f->root_key;
    p.this_update = f->now;
    p.next_update = f->now + 30 * DAY;
    p.number[0] = 7;
    p.number_len = 1;
    p.revoked = rev;
    p.n_revoked = n_rev;
    *rv = hsmca_offline_crl_prepare(&p, &crl, fd);
    return crl;
}

static void test_crl_signs_and_verifies(void **state)
{
    fixture *f = *state;
    hsmca_offline_revoked rev = {.serial = {0x12, 0x34}, .serial_len = 2, .reason = 1};
    hsmca_offline_crl_profile p;
    hsmca_lint_finding fd;
    X509_CRL *tbs, *crl = NULL;
    hsmca_rv rv;

    rev.revoked_at = f->now - DAY;
    tbs = prepared_crl(f, &rev, 1, &fd, &rv);
    assert_int_equal(rv, HSMCA_OK);
    memset(&p, 0, sizeof(p));
    p.issuer = f->root;
    p.signing_key = f->root_key;
    assert_int_equal(hsmca_offline_crl_sign(NULL, &p, tbs, &crl), HSMCA_OK);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(f->root)), 1);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    X509_CRL_free(tbs);
    X509_CRL_free(crl);
}

/* Each crl.* rule, broken on purpose in an otherwise good CRL. */
static void expect_rule(X509_CRL *crl, X509 *issuer, const char *rule)
{
    hsmca_lint_finding fd;

    assert_int_equal(hsmca_lint_crl(crl, issuer, &fd), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(fd.rule, rule);
}

static void test_crl_rules(void **state)
{
    fixture *f = *state;
    hsmca_lint_finding fd;
    hsmca_rv rv;
    X509_CRL *crl;
    ASN1_TIME *t;
    X509_NAME *other;
    int i;

    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    assert_int_equal(rv, HSMCA_OK);
    assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_OK);

    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_1), 1);
    expect_rule(crl, f->root, "crl.version");
    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);

    other = name("someone else");
    assert_int_equal(X509_CRL_set_issuer_name(crl, other), 1);
    expect_rule(crl, f->root, "crl.issuer_match");
    assert_int_equal(X509_CRL_set_issuer_name(crl, f->root_name), 1);
    X509_NAME_free(other);

    /* A GeneralizedTime before 2050 (RFC 5280 5.1.2.4). */
    t = ASN1_GENERALIZEDTIME_set(NULL, (time_t)f->now);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    expect_rule(crl, f->root, "crl.time_type");
    ASN1_TIME_free(t);
    t = ASN1_TIME_set(NULL, (time_t)(f->now + 60 * DAY));
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    expect_rule(crl, f->root, "crl.next_update");
    ASN1_TIME_free(t);
    t = ASN1_TIME_set(NULL, (time_t)f->now);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
    ASN1_TIME_free(t);
    assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_OK);

    /* cRLNumber twice, then none. */
    i = X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1);
    assert_true(i >= 0);
    assert_int_equal(X509_CRL_add_ext(crl, X509_CRL_get_ext(crl, i), -1), 1);
    expect_rule(crl, f->root, "crl.ext.duplicate");
    X509_EXTENSION_free(X509_CRL_delete_ext(crl, X509_CRL_get_ext_count(crl) - 1));
    X509_EXTENSION_free(X509_CRL_delete_ext(crl, X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1)));
    expect_rule(crl, f->root, "crl.number.present");
    X509_CRL_free(crl);

    /* The AKI missing, critical, or another CA's. */
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    X509_EXTENSION_free(X509_CRL_delete_ext(crl, X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1)));
    expect_rule(crl, f->root, "crl.aki.present");
    {
        AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
        assert_non_null(aki);
        aki->keyid = ASN1_OCTET_STRING_new();
        assert_int_equal(ASN1_OCTET_STRING_set(aki->keyid, (const unsigned char *)"\x01\x02\x03\x04", 4), 1);
        assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 1, 0), 1);
        expect_rule(crl, f->root, "crl.aki.critical");
        assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, X509V3_ADD_REPLACE), 1);
        expect_rule(crl, f->root, "crl.aki.match");
        AUTHORITY_KEYID_free(aki);
    }
    X509_CRL_free(crl);

    /* A critical cRLNumber; an extension with an empty value. */
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    {
        ASN1_INTEGER *num = ASN1_INTEGER_new();
        ASN1_OCTET_STRING *empty = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e;
        assert_int_equal(ASN1_INTEGER_set(num, 9), 1);
        assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 1, X509V3_ADD_REPLACE), 1);
        expect_rule(crl, f->root, "crl.number.range");
        assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_REPLACE), 1);
        assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_OK);
        e = X509_EXTENSION_create_by_NID(NULL, NID_delta_crl, 0, empty);
        assert_non_null(e);
        assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
        expect_rule(crl, f->root, "crl.ext.empty");
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(empty);
        ASN1_INTEGER_free(num);
    }
    X509_CRL_free(crl);
}

static void test_crl_rules_from_profile(void **state)
{
    fixture *f = *state;
    hsmca_offline_revoked rev[2] = {{.serial = {0x55}, .serial_len = 1, .reason = -1},
                                    {.serial = {0x55}, .serial_len = 1, .reason = -1}};
    hsmca_lint_finding fd;
    hsmca_rv rv;
    X509_CRL *crl;
    X509 *in;

    rev[0].revoked_at = rev[1].revoked_at = f->now - DAY;
    crl = prepared_crl(f, rev, 2, &fd, &rv);
    assert_null(crl);
    assert_string_equal(fd.rule, "crl.revoked.duplicate");
    rev[0].revoked_at = f->now + DAY;
    crl = prepared_crl(f, rev, 1, &fd, &rv);
    assert_null(crl);
    assert_string_equal(fd.rule, "crl.revoked.date");

    /* A CA whose keyUsage lacks cRLSign (an OCSP signer here) cannot sign one. */
    in = make_cert(f, HSMCA_OFFLINE_OCSP_SIGNER, f->int_name, f->other_key, f->root, f->root_key, f->now + DAY, NULL,
                   NULL);
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    expect_rule(crl, in, "crl.issuer_match");
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(in)), 1);
    expect_rule(crl, in, "crl.issuer_crl_sign");
    X509_CRL_free(crl);
    X509_free(in);
}

/* The three rules the profile builder cannot break, broken by editing the
 * CRL object: a malformed time, more than 32 extensions, a serial that is
 * not positive (negative, and zero, which is not negative either). */
static void add_revoked(X509_CRL *crl, int64_t serial, int64_t when)
{
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *s = ASN1_INTEGER_new();
    ASN1_TIME *t = ASN1_TIME_new();

    assert_non_null(r);
    assert_int_equal(ASN1_INTEGER_set_int64(s, serial), 1);
    assert_non_null(ASN1_TIME_set(t, (time_t)when));
    assert_int_equal(X509_REVOKED_set_serialNumber(r, s), 1);
    assert_int_equal(X509_REVOKED_set_revocationDate(r, t), 1);
    assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
    ASN1_INTEGER_free(s);
    ASN1_TIME_free(t);
}

static void test_crl_rules_by_hand(void **state)
{
    fixture *f = *state;
    hsmca_lint_finding fd;
    hsmca_rv rv;
    X509_CRL *crl;

    /* thisUpdate, then nextUpdate, as a UTCTime that is not a time. */
    for (int which = 0; which < 2; which++) {
        ASN1_TIME *bad = ASN1_STRING_type_new(V_ASN1_UTCTIME);
        crl = prepared_crl(f, NULL, 0, &fd, &rv);
        assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_OK);
        assert_int_equal(ASN1_STRING_set(bad, "99ab3161zz5959Z", -1), 1);
        assert_int_equal(which == 0 ? X509_CRL_set1_lastUpdate(crl, bad) : X509_CRL_set1_nextUpdate(crl, bad), 1);
        assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_ERR_INVALID_ARG);
        assert_string_equal(fd.rule, "crl.time_format");
        assert_non_null(strstr(fd.message, which == 0 ? "thisUpdate" : "nextUpdate"));
        ASN1_TIME_free(bad);
        X509_CRL_free(crl);
    }

    /* 33 extensions (32 pass). A private OID with a non-empty value, so no
     * other rule is what fails. */
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
        ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
        assert_non_null(oid);
        assert_int_equal(ASN1_OCTET_STRING_set(val, (const unsigned char *)"\x04\x02hi", 4), 1);
        while (X509_CRL_get_ext_count(crl) < 32) {
            X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val);
            assert_non_null(e);
            assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
            X509_EXTENSION_free(e);
        }
        /* 32 is allowed: what fails is the duplicate, not the count */
        assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_ERR_INVALID_ARG);
        assert_string_equal(fd.rule, "crl.ext.duplicate");
        {
            X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val);
            assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
            X509_EXTENSION_free(e);
        }
        assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_ERR_INVALID_ARG);
        assert_string_equal(fd.rule, "crl.ext.count");
        assert_non_null(strstr(fd.message, "33 extensions"));
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(val);
    }
    X509_CRL_free(crl);

    /* Revoked serials: a good one passes; a negative one and zero (not
     * negative, but not positive either: RFC 5280 4.1.2.2) fail. */
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    add_revoked(crl, 0x1234, f->now - DAY);
    assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_OK);
    X509_CRL_free(crl);
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    add_revoked(crl, -5, f->now - DAY);
    expect_rule(crl, f->root, "crl.revoked.serial");
    X509_CRL_free(crl);
    crl = prepared_crl(f, NULL, 0, &fd, &rv);
    add_revoked(crl, 0, f->now - DAY);
    assert_int_equal(hsmca_lint_crl(crl, f->root, &fd), HSMCA_ERR_INVALID_ARG); /* zero serial */
    assert_string_equal(fd.rule, "crl.revoked.serial");
    X509_CRL_free(crl);
}

/* The rules these tests make fail are all in the table, and the table has
 * no other rules. */
static void test_crl_rule_table(void **state)
{
    static const char *const exercised[] = {
        "crl.version",       "crl.issuer_match", "crl.issuer_crl_sign", "crl.time_type",         "crl.next_update",
        "crl.ext.duplicate", "crl.aki.present",  "crl.number.present",  "crl.revoked.duplicate", "crl.revoked.date",
        "crl.aki.critical",  "crl.aki.match",    "crl.number.range",    "crl.ext.empty",
        "crl.time_format",   "crl.ext.count",    "crl.revoked.serial"};
    size_t n = 0, hit = 0;
    const hsmca_lint_rule *rules = hsmca_lint_crl_rules(&n);

    (void)state;
    assert_int_equal(n, sizeof(exercised) / sizeof(exercised[0]));
    for (size_t i = 0; i < sizeof(exercised) / sizeof(exercised[0]); i++) {
        for (size_t j = 0; j < n; j++)
            hit += strcmp(rules[j].id, exercised[i]) == 0;
    }
    assert_int_equal(hit, sizeof(exercised) / sizeof(exercised[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_lint_stops_signing),
        cmocka_unit_test(test_policies_are_oids),
        cmocka_unit_test(test_crl_signs_and_verifies),
        cmocka_unit_test(test_crl_rules),
        cmocka_unit_test(test_crl_rules_from_profile),
        cmocka_unit_test(test_crl_rules_by_hand),
        cmocka_unit_test(test_crl_rule_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
