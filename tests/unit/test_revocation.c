/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/revocation without a token: DER primitives, the
 * streaming CRL encoder judged by OpenSSL's own CRL parser, and the
 * config/crl rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* ---- DER primitives ---- */

static void test_der_time(void **state)
{
    unsigned char out[17];
    size_t n;

    (void)state;
    /* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
    n = rev_der_time(2524607999, out); /* 2049-12-31T23:59:59Z */
    assert_int_equal(n, 15);
    assert_int_equal(out[0], 0x17);
    assert_memory_equal(out + 2, "491231235959Z", 13);
    n = rev_der_time(2524608000, out); /* 2050-01-01T00:00:00Z */
    assert_int_equal(n, 17);
    assert_int_equal(out[0], 0x18);
    assert_memory_equal(out + 2, "20500101000000Z", 15);
    assert_int_equal(rev_der_time(-2000000000, out), 0); /* 1906: before UTCTime's range */
}

static void test_der_integers(void **state)
{
    unsigned char out[24];
    const unsigned char high[] = {0x80, 0x01}, padded[] = {0x00, 0x00, 0x7f}, zero[] = {0x00};

    (void)state;
    /* Positive and minimal (X.690 8.3.2): a leading 00 only before a set top bit. */
    assert_int_equal(rev_der_uint(high, sizeof(high), out), 3);
    assert_memory_equal(out, "\x00\x80\x01", 3);
    assert_int_equal(rev_der_uint(padded, sizeof(padded), out), 1);
    assert_int_equal(out[0], 0x7f);
    assert_int_equal(rev_der_uint(zero, sizeof(zero), out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(rev_der_int64(0, out), 1);
    assert_int_equal(rev_der_int64(128, out), 2);
    assert_memory_equal(out, "\x00\x80", 2);
    assert_int_equal(rev_der_int64(INT64_MAX, out), 8);
}

static void test_der_buffer(void **state)
{
    rev_der b;
    unsigned char h[6];

    (void)state;
    assert_int_equal(rev_der_header(h, 0x30, 0x7f), 2);
    assert_int_equal(rev_der_header(h, 0x30, 0x80), 3);
    assert_memory_equal(h, "\x30\x81\x80", 3);
    assert_int_equal(rev_der_header(h, 0x30, 0x10000), 5);
    assert_memory_equal(h, "\x30\x83\x01\x00\x00", 5);
    /* Headers go in front without moving the content. */
    rev_der_init(&b, 8, 1024);
    rev_der_put(&b, "abc", 3);
    rev_der_prepend_header(&b, 0x04, 3);
    assert_false(b.failed);
    assert_int_equal(rev_der_size(&b), 5);
    assert_memory_equal(b.p + b.start,
                        "\x04\x03"
                        "abc",
                        5);
    /* Bounded: past max the buffer fails and stays failed. */
    for (int i = 0; i < 400; i++)
        rev_der_put(&b, "abc", 3);
    assert_true(b.failed);
    rev_der_free(&b);
}

/* ---- the encoder, with a software issuer ---- */

typedef struct {
    EVP_PKEY *key;
    hsmca_ca_issuer iss;
} issuer_fixture;

static int setup_issuer(void **state)
{
    issuer_fixture *f = calloc(1, sizeof(*f));
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX ctx;
    X509_EXTENSION *skid;

    if (f == NULL || x == NULL || name == NULL)
        return -1;
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Unit Root", -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, f->key);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    skid = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, skid, -1);
    X509_EXTENSION_free(skid);
    if (f->key == NULL || X509_sign(x, f->key, EVP_sha256()) <= 0)
        return -1;
    X509_NAME_free(name);
    f->iss.certificate = x;
    strcpy(f->iss.issuer_id, "00000000-0000-4000-8000-000000000001");
    *state = f;
    return 0;
}

static int teardown_issuer(void **state)
{
    issuer_fixture *f = *state;

    X509_free(f->iss.certificate);
    EVP_PKEY_free(f->key);
    free(f);
    return 0;
}

static X509_CRL *build(issuer_fixture *f, int64_t number, int64_t delta_base, size_t n_entries)
{
    rev_crl_params prm;
    rev_crl_builder *b = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    X509_CRL *crl;

    memset(&prm, 0, sizeof(prm));
    prm.issuer = &f->iss;
    prm.key = f->key;
    prm.this_update = 1700000000;
    prm.next_update = 1700000000 + 72 * 3600;
    prm.crl_number = number;
    prm.delta_base = delta_base;
    assert_int_equal(rev_crl_begin(&prm, &b), HSMCA_OK);
    for (size_t i = 0; i < n_entries; i++) {
        unsigned char serial[3] = {(unsigned char)(0x80 | (i >> 16)), (unsigned char)(i >> 8),
                                   (unsigned char)i};
        assert_int_equal(
            rev_crl_add(b, serial, sizeof(serial), 1690000000 + (int64_t)i, i == 0 ? 1 : 0, NULL, 0),
            HSMCA_OK);
    }
    assert_int_equal(rev_crl_finish(b, &der, &len), HSMCA_OK);
    p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)len);
    assert_non_null(crl);
    assert_ptr_equal(p, der + len); /* nothing trailing */
    free(der);
    return crl;
}

static void test_crl_contents(void **state)
{
    issuer_fixture *f = *state;
    X509_CRL *crl = build(f, 7, -1, 3);
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    AUTHORITY_KEYID *aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    ASN1_ENUMERATED *reason;
    int crit = -1;

    assert_int_equal(X509_CRL_verify(crl, f->key), 1);
    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(f->iss.certificate)), 0);
    assert_int_equal(sk_X509_REVOKED_num(rev), 3);
    assert_non_null(num);
    assert_int_equal(ASN1_INTEGER_get(num), 7);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(f->iss.certificate)), 0);
    assert_null(X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL));
    /* The first entry has reason keyCompromise (1); "unspecified" is left out. */
    reason = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rev, 0), NID_crl_reason, NULL, NULL);
    assert_non_null(reason);
    assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
    ASN1_ENUMERATED_free(reason);
    assert_null(X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rev, 1), NID_crl_reason, NULL, NULL));
    /* A serial with its top bit set stays positive. */
    assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, 0))),
                     0x800000);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID_free(aki);
    X509_CRL_free(crl);
}

static void test_crl_delta_and_empty(void **state)
{
    issuer_fixture *f = *state;
    X509_CRL *crl = build(f, 9, 8, 0);
    ASN1_INTEGER *base;
    int crit = -1;

    assert_int_equal(X509_CRL_verify(crl, f->key), 1);
    /* RFC 5280 5.1.2.6: no revokedCertificates when there are none. */
    assert_null(X509_CRL_get_REVOKED(crl));
    base = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
    assert_non_null(base);
    assert_int_equal(ASN1_INTEGER_get(base), 8);
    assert_int_equal(crit, 1); /* RFC 5280 5.2.4: critical */
    ASN1_INTEGER_free(base);
    X509_CRL_free(crl);
}

static void test_crl_many_entries(void **state)
{
    issuer_fixture *f = *state;
    X509_CRL *crl = build(f, 1, -1, 50000);

    /* Long-form lengths at every level. */
    assert_int_equal(X509_CRL_verify(crl, f->key), 1);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 50000);
    X509_CRL_free(crl);
}

static void test_crl_algorithm_misfit(void **state)
{
    issuer_fixture *f = *state;
    rev_crl_params prm;
    rev_crl_builder *b = NULL;

    memset(&prm, 0, sizeof(prm));
    prm.issuer = &f->iss;
    prm.key = f->key;
    prm.this_update = 1700000000;
    prm.next_update = 1700003600;
    prm.delta_base = -1;
    strcpy(f->iss.revocation_signature_algorithm, "SHA256WithRSA");
    assert_int_equal(rev_crl_begin(&prm, &b), HSMCA_ERR_INVALID_ARG);
    assert_null(b);
    assert_non_null(strstr(hsmca_err_message(), "revocation_signature_algorithm"));
    strcpy(f->iss.revocation_signature_algorithm, "ECDSAWithSHA512");
    assert_int_equal(rev_crl_begin(&prm, &b), HSMCA_OK);
    rev_crl_abort(b);
    f->iss.revocation_signature_algorithm[0] = '\0';
}

/* ---- config/crl ---- */

static void test_config_rules(void **state)
{
    hsmca_crl_config c;
    char text[32];

    (void)state;
    hsmca_crl_config_defaults(&c);
    assert_int_equal(c.expiry, 72 * 3600);
    assert_int_equal(c.ocsp_expiry, 12 * 3600);
    assert_int_equal(c.auto_rebuild_grace_period, 12 * 3600);
    assert_int_equal(c.delta_rebuild_interval, 15 * 60);
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_OK);
    c.enable_delta = true;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "enable_delta"));
    c.auto_rebuild = true;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_OK);
    c.auto_rebuild_grace_period = c.expiry;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "auto_rebuild_grace_period"));
    c.auto_rebuild_grace_period = 3600;
    c.delta_rebuild_interval = c.expiry;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "delta_rebuild_interval"));
    hsmca_crl_config_defaults(&c);
    c.expiry = 0;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_ERR_INVALID_ARG);
    hsmca_crl_config_defaults(&c);
    c.ocsp_expiry = -1;
    assert_int_equal(hsmca_crl_config_check(&c), HSMCA_ERR_INVALID_ARG);
    hsmca_crl_duration_text(72 * 3600, text);
    assert_string_equal(text, "72h");
    hsmca_crl_duration_text(5400, text);
    assert_string_equal(text, "1h30m");
    hsmca_crl_duration_text(90061, text);
    assert_string_equal(text, "25h1m1s");
    hsmca_crl_duration_text(0, text);
    assert_string_equal(text, "0s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_time),
        cmocka_unit_test(test_der_integers),
        cmocka_unit_test(test_der_buffer),
        cmocka_unit_test_setup_teardown(test_crl_contents, setup_issuer, teardown_issuer),
        cmocka_unit_test_setup_teardown(test_crl_delta_and_empty, setup_issuer, teardown_issuer),
        cmocka_unit_test_setup_teardown(test_crl_many_entries, setup_issuer, teardown_issuer),
        cmocka_unit_test_setup_teardown(test_crl_algorithm_misfit, setup_issuer, teardown_issuer),
        cmocka_unit_test(test_config_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
