/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP responder's core in one process with a real token: a repeated
 * request is served from the cache without a signature; a revocation made
 * visible through hsmca_ocsp_cache_invalidate is answered at once (the
 * revoke path's contract); an answer read before an invalidation is never
 * cached after it; a delegated signer's rollover issues a new certificate
 * and key and destroys the old key. env: HSMCA_TEST_MODULE,
 * HSMCA_TEST_TOKEN, HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <sqlite3.h>
#include <openssl/ocsp.h>

#include "hsmca/ocsp.h"
#include "hsmca/provider.h"
#include "hsmca/serial.h"
#include "unit_util.h"
#include "ocsp_internal.h"

#define MOUNT "ocsp"

static unit_ca_env env;
static hsmca_store *st; /* env's, for brevity */
static hsmca_ca *ca;
static hsmca_ca_result root, leaf;

static int setup(void **state)
{
    hsmca_ca_params p;
    hsmca_issue_request req;

    (void)state;
    if (unit_ca_open(&env, MOUNT) != 0)
        return -1;
    st = env.st;
    ca = env.ca;
    hsmca_ca_params_init(&p);
    p.key_type = "ec";
    p.key_bits = 256;
    p.common_name = "OCSP unit root";
    p.issuer_name = "root";
    p.ttl = 365 * 86400LL;
    if (hsmca_ca_generate_root(ca, MOUNT, &p, &root) != HSMCA_OK)
        return -1;
    hsmca_ca_params_clear(&p);
    if (hsmca_ca_role_put(ca, MOUNT, "leaf", "{\"allow_any_name\":true,\"key_type\":\"ec\"}", false, NULL) !=
        HSMCA_OK)
        return -1;
    memset(&req, 0, sizeof(req));
    req.common_name = "leaf.example.com";
    return hsmca_ca_issue(ca, MOUNT, "leaf", NULL, &req, &leaf) == HSMCA_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hsmca_ca_result_clear(&leaf);
    hsmca_ca_result_clear(&root);
    unit_ca_close(&env);
    return 0;
}

/* A DER request about leaf (SHA-1 CertID), with a nonce when asked. */
static size_t make_request(bool nonce, unsigned char **der)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf.certificate, root.certificate);
    int len;

    assert_non_null(req);
    assert_non_null(id);
    assert_non_null(OCSP_request_add0_id(req, id));
    if (nonce)
        assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
    *der = NULL;
    len = i2d_OCSP_REQUEST(req, der);
    assert_true(len > 0);
    OCSP_REQUEST_free(req);
    return (size_t)len;
}

/* The single answer's certificate status in a successful response. */
static int answer_status(const hsmca_ocsp_response *r)
{
    const unsigned char *p = r->der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r->der_len);
    OCSP_BASICRESP *bs;
    int status, reason;

    assert_non_null(resp);
    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    bs = OCSP_response_get1_basic(resp);
    assert_non_null(bs);
    assert_int_equal(OCSP_resp_count(bs), 1);
    status = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, NULL, NULL, NULL);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return status;
}

/* Marks leaf revoked in the database, as the revoke path will (the store
 * has no revocation write yet: issue #5's other half). */
static void revoke_in_store(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char *der = NULL;
    int len = i2d_X509(leaf.certificate, &der);

    assert_int_equal(sqlite3_open(getenv("HSMCA_TEST_DB"), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE certs SET revoked_at = strftime('%s','now') - 60, "
                                        "revocation_reason = 1 WHERE mount = ?1 AND der = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, MOUNT, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, der, len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
    OPENSSL_free(der);
}

static void leaf_serial(unsigned char serial[HSMCA_SERIAL_MAX], size_t *len)
{
    assert_int_equal(hsmca_serial_from_asn1(X509_get0_serialNumber(leaf.certificate), serial, len), HSMCA_OK);
}

static void cache_serves_and_revocation_invalidates(void **state)
{
    unsigned char *req = NULL, *nreq = NULL, serial[HSMCA_SERIAL_MAX];
    size_t len = make_request(false, &req), nlen = make_request(true, &nreq), serial_len = 0;
    hsmca_ocsp_response r;
    hsmca_ocsp_stats s0, s1;

    (void)state;
    /* first: signed; second: the same bytes from the cache, no signature */
    hsmca_ocsp_get_stats(ca, &s0);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.cached, 0);
    assert_int_equal(answer_status(&r), V_OCSP_CERTSTATUS_GOOD);
    hsmca_ocsp_response_clear(&r);
    for (int k = 0; k < 100; k++) {
        assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
        assert_int_equal(r.cached, 1);
        hsmca_ocsp_response_clear(&r);
    }
    hsmca_ocsp_get_stats(ca, &s1);
    assert_int_equal(s1.signed_responses - s0.signed_responses, 1);
    assert_int_equal(s1.cache_hits - s0.cache_hits, 100);

    /* revoked in the store: a nonce request (never cached) sees it; the
     * cached answer is still the old one until the revoke path says so */
    revoke_in_store();
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, nreq, nlen, &r), HSMCA_OK);
    assert_int_equal(answer_status(&r), V_OCSP_CERTSTATUS_REVOKED);
    hsmca_ocsp_response_clear(&r);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.cached, 1);
    hsmca_ocsp_response_clear(&r);

    /* the revoke path's call: the next answer is revoked, signed afresh */
    leaf_serial(serial, &serial_len);
    hsmca_ocsp_cache_invalidate(ca, MOUNT, serial, serial_len);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.cached, 0);
    assert_int_equal(answer_status(&r), V_OCSP_CERTSTATUS_REVOKED);
    hsmca_ocsp_response_clear(&r);
    /* another mount's invalidation of the same serial changes nothing */
    hsmca_ocsp_cache_invalidate(ca, "other", serial, serial_len);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.cached, 1);
    hsmca_ocsp_response_clear(&r);
    OPENSSL_free(req);
    OPENSSL_free(nreq);
}

/* The race the set epoch closes: status read, then a revocation and its
 * invalidation, then the (old) answer offered to the cache -- refused. */
static void answer_read_before_invalidation_is_not_cached(void **state)
{
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf.certificate, root.certificate);
    unsigned char serial[HSMCA_SERIAL_MAX], *der = NULL;
    const unsigned char fake[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
    size_t serial_len = 0, len = 0;
    int cs = -1;
    int64_t tu = 0, nu = 0;
    ocsp_cache_key key;

    (void)state;
    leaf_serial(serial, &serial_len);
    assert_true(ocsp_cache_key_init(ca->ocsp, "race", id, serial, serial_len, &key));
    hsmca_ocsp_cache_invalidate(ca, "race", serial, serial_len);
    ocsp_cache_store(ca->ocsp, &key, 1, 60, ca_now() + 60, fake, sizeof(fake), 0, 0, 0);
    assert_false(ocsp_cache_lookup(ca->ocsp, &key, 1, 60, ca_now(), &der, &len, &cs, &tu, &nu));
    /* without the invalidation in between it is cached */
    assert_true(ocsp_cache_key_init(ca->ocsp, "race", id, serial, serial_len, &key));
    ocsp_cache_store(ca->ocsp, &key, 1, 60, ca_now() + 60, fake, sizeof(fake), 0, 0, 0);
    assert_true(ocsp_cache_lookup(ca->ocsp, &key, 1, 60, ca_now(), &der, &len, &cs, &tu, &nu));
    assert_int_equal(len, sizeof(fake));
    OPENSSL_free(der);
    /* and it is not served once due, nor at another generation */
    assert_false(ocsp_cache_lookup(ca->ocsp, &key, 1, 60, ca_now() + 61, &der, &len, &cs, &tu, &nu));
    ocsp_cache_store(ca->ocsp, &key, 1, 60, ca_now() + 60, fake, sizeof(fake), 0, 0, 0);
    assert_false(ocsp_cache_lookup(ca->ocsp, &key, 2, 60, ca_now(), &der, &len, &cs, &tu, &nu));
    OCSP_CERTID_free(id);
}

/* Rollover: issuing the signer again (what a due renew_at triggers)
 * replaces certificate and key; the old key leaves the token. */
static void delegated_signer_rolls_over(void **state)
{
    hsmca_ocsp_config cfg = {1, 48 * 3600};
    unsigned char *req = NULL;
    size_t len = make_request(true, &req);
    hsmca_ocsp_response r;
    hsmca_ocsp_stats s0, s1;
    ocsp_settings set;
    ocsp_mount *m = NULL;
    ocsp_issuer *iss;
    hsmca_keyslot_info *keys = NULL;
    size_t n0 = 0, n1 = 0;
    X509 *first = NULL;

    (void)state;
    hsmca_ocsp_get_stats(ca, &s0);
    assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&r);
    hsmca_ocsp_get_stats(ca, &s1);
    assert_int_equal(s1.delegated_certs - s0.delegated_certs, 1);

    assert_int_equal(ocsp_settings_load(ca, MOUNT, &set), HSMCA_OK);
    assert_int_equal(ocsp_mount_get(ca, MOUNT, &set, &m), HSMCA_OK);
    iss = &m->issuers[0];
    assert_non_null(iss->signer_cert);
    assert_true(iss->signer_renew_at > ca_now() + 24 * 3600); /* 2/3 of 48h */
    assert_true(iss->signer_renew_at < ca_now() + 48 * 3600);
    first = iss->signer_cert;
    X509_up_ref(first);
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n0), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(ocsp_signer_issue(ca, MOUNT, iss, 48 * 3600), HSMCA_OK);
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n1), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(n1, n0 + 1); /* one made; the old one kept one rollover longer */
    assert_int_equal(ocsp_signer_issue(ca, MOUNT, iss, 48 * 3600), HSMCA_OK);
    ocsp_mount_unref(m);
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n1), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(n1, n0 + 1); /* one made, the one from two rollovers ago destroyed */

    /* the next request uses the new signer, and verifies */
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&r);
    assert_int_equal(ocsp_mount_get(ca, MOUNT, &set, &m), HSMCA_OK);
    assert_non_null(m->issuers[0].signer_cert);
    assert_int_not_equal(X509_cmp(first, m->issuers[0].signer_cert), 0);
    assert_int_equal(X509_check_issued(root.certificate, m->issuers[0].signer_cert), X509_V_OK);
    ocsp_mount_unref(m);
    X509_free(first);
    cfg.delegated_signing = 0;
    assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    OPENSSL_free(req);
}

/* Writes config/crl's document as the revocation module stores it. */
static void write_crl_config(const char *body)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;

    assert_int_equal(sqlite3_open(getenv("HSMCA_TEST_DB"), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT OR REPLACE INTO docs (mount, kind, id, name, body, blob, created, "
                                        "updated) VALUES (?1, 'config', 'crl', NULL, ?2, NULL, 0, 0)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, MOUNT, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, body, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* ocsp_disable applies to the next request once the config/crl writer
 * says so (the settings copy would otherwise live up to a second). */
static void config_change_applies_at_once(void **state)
{
    unsigned char *req = NULL;
    size_t len = make_request(true, &req);
    hsmca_ocsp_response r;

    (void)state;
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&r);
    write_crl_config("{\"ocsp_disable\":true,\"ocsp_expiry\":43200}");
    hsmca_ocsp_config_changed(ca, MOUNT);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_UNAUTHORIZED);
    hsmca_ocsp_response_clear(&r);
    write_crl_config("{\"ocsp_disable\":false,\"ocsp_expiry\":43200}");
    hsmca_ocsp_config_changed(ca, MOUNT);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&r);
    OPENSSL_free(req);
}

/* The nextUpdate of a successful single answer (unix seconds). */
static int64_t answer_next_update(const hsmca_ocsp_response *r)
{
    const unsigned char *p = r->der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r->der_len);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    ASN1_GENERALIZEDTIME *next = NULL;
    int64_t t;

    assert_non_null(bs);
    OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, NULL, &next);
    assert_non_null(next);
    t = ca_asn1_time_to_unix(next);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return t;
}

/* A quiet CA (nothing changes the generation) still rolls its signer over
 * when the rollover time comes; and no answer outlives its signer. */
static void signer_rolls_over_on_time(void **state)
{
    hsmca_ocsp_config cfg = {1, 48 * 3600};
    unsigned char *req = NULL;
    size_t len = make_request(true, &req);
    hsmca_ocsp_response r;
    hsmca_ocsp_stats s0, s1;
    ocsp_settings set;
    ocsp_mount *m = NULL;

    (void)state;
    assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    hsmca_ocsp_response_clear(&r);
    /* a signer living 18 s (+30 s backdating): due in 2 s */
    assert_int_equal(ocsp_settings_load(ca, MOUNT, &set), HSMCA_OK);
    assert_int_equal(ocsp_mount_get(ca, MOUNT, &set, &m), HSMCA_OK);
    assert_int_equal(ocsp_signer_issue(ca, MOUNT, &m->issuers[0], 18), HSMCA_OK);
    ocsp_mount_unref(m);
    hsmca_ocsp_get_stats(ca, &s0);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    assert_true(answer_next_update(&r) <= ca_now() + 18); /* not the 12h of ocsp_expiry */
    hsmca_ocsp_response_clear(&r);
    hsmca_ocsp_get_stats(ca, &s1);
    assert_int_equal(s1.delegated_certs, s0.delegated_certs); /* not due yet */
    sleep(3);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    assert_true(answer_next_update(&r) > ca_now() + 11 * 3600);
    hsmca_ocsp_response_clear(&r);
    hsmca_ocsp_get_stats(ca, &s1);
    assert_int_equal(s1.delegated_certs - s0.delegated_certs, 1);
    cfg.delegated_signing = 0;
    assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
    OPENSSL_free(req);
}

/* Many threads asking while another revokes-and-invalidates and flips
 * delegation: every answer is a successful response whose status is
 * good or revoked, nothing crashes (and TSan, in its stage, sees no race). */
#define STRESS_THREADS 6
#define STRESS_REQUESTS 150

typedef struct {
    unsigned char *req, *nreq;
    size_t len, nlen;
    int failures;
} stress_arg;

static void *stress_asker(void *p)
{
    stress_arg *a = p;

    for (int k = 0; k < STRESS_REQUESTS; k++) {
        hsmca_ocsp_response r;
        bool nonce = (k % 3) == 0;
        if (hsmca_ocsp_respond(ca, MOUNT, nonce ? a->nreq : a->req, nonce ? a->nlen : a->len, &r) != HSMCA_OK ||
            r.status != HSMCA_OCSP_SUCCESSFUL)
            a->failures++;
        hsmca_ocsp_response_clear(&r);
    }
    return NULL;
}

static void concurrent_answers_and_invalidations(void **state)
{
    pthread_t th[STRESS_THREADS];
    stress_arg args[STRESS_THREADS];
    unsigned char serial[HSMCA_SERIAL_MAX];
    size_t serial_len = 0;
    hsmca_ocsp_config cfg = {0, 48 * 3600};

    (void)state;
    leaf_serial(serial, &serial_len);
    for (int i = 0; i < STRESS_THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].len = make_request(false, &args[i].req);
        args[i].nlen = make_request(true, &args[i].nreq);
        assert_int_equal(pthread_create(&th[i], NULL, stress_asker, &args[i]), 0);
    }
    for (int k = 0; k < 20; k++) {
        hsmca_ocsp_cache_invalidate(ca, MOUNT, serial, serial_len);
        if (k % 5 == 0) {
            cfg.delegated_signing = !cfg.delegated_signing;
            assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
        }
        hsmca_ocsp_config_changed(ca, MOUNT);
        usleep(5000);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
        OPENSSL_free(args[i].req);
        OPENSSL_free(args[i].nreq);
    }
    cfg.delegated_signing = 0;
    assert_int_equal(hsmca_ocsp_config_set(ca, MOUNT, &cfg), HSMCA_OK);
}

static size_t token_keys(void)
{
    hsmca_keyslot_info *keys = NULL;
    size_t n = 0;

    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n), HSMCA_OK);
    OPENSSL_free(keys);
    return n;
}

/* A root of mount m with a delegated signer made by one request. */
static void root_with_signer(const char *m, const char *name, hsmca_ca_result *r)
{
    hsmca_ocsp_config cfg = {1, 48 * 3600};
    hsmca_ca_params p;
    hsmca_ocsp_response resp;
    unsigned char *req = NULL;
    OCSP_REQUEST *oreq = OCSP_REQUEST_new();
    int len;

    hsmca_ca_params_init(&p);
    p.key_type = "ec";
    p.common_name = name;
    p.issuer_name = name;
    p.ttl = 86400;
    memset(r, 0, sizeof(*r));
    assert_int_equal(hsmca_ca_generate_root(ca, m, &p, r), HSMCA_OK);
    hsmca_ca_params_clear(&p);
    assert_int_equal(hsmca_ocsp_config_set(ca, m, &cfg), HSMCA_OK);
    assert_non_null(OCSP_request_add0_id(oreq, OCSP_cert_to_id(NULL, r->certificate, r->certificate)));
    len = i2d_OCSP_REQUEST(oreq, &req);
    assert_true(len > 0);
    assert_int_equal(hsmca_ocsp_respond(ca, m, req, (size_t)len, &resp), HSMCA_OK);
    assert_int_equal(resp.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&resp);
    OCSP_REQUEST_free(oreq);
    OPENSSL_free(req);
}

/* Deleting an issuer destroys its signer's key (not its own); DELETE root
 * destroys every issuer key and every signer key of the mount. */
static void issuer_deletion_destroys_signer_keys(void **state)
{
    hsmca_ca_result a, b;
    size_t n0, n1;

    (void)state;
    assert_int_equal(hsmca_ca_mount_enable(ca, "del"), HSMCA_OK);
    n0 = token_keys();
    root_with_signer("del", "del-a", &a);
    root_with_signer("del", "del-b", &b);
    n1 = token_keys();
    assert_int_equal(n1, n0 + 4);
    assert_int_equal(hsmca_ca_issuer_delete(ca, "del", "del-a"), HSMCA_OK);
    assert_int_equal(token_keys(), n1 - 1);
    assert_int_equal(hsmca_ca_delete_all(ca, "del"), HSMCA_OK);
    assert_int_equal(token_keys(), n0);
    assert_int_equal(hsmca_ca_mount_disable(ca, "del"), HSMCA_OK);
    hsmca_ca_result_clear(&a);
    hsmca_ca_result_clear(&b);
}

/* Removing a mount destroys its delegated signers' keys with its own
 * (no key document lists them). */
static void mount_removal_destroys_signer_keys(void **state)
{
    hsmca_ocsp_config cfg = {1, 48 * 3600};
    hsmca_ca_params p;
    hsmca_ca_result r;
    hsmca_ocsp_response resp;
    hsmca_keyslot_info *keys = NULL;
    unsigned char *req = NULL;
    size_t len, n0 = 0, n1 = 0, n2 = 0;
    OCSP_REQUEST *oreq = OCSP_REQUEST_new();
    OCSP_CERTID *id;

    (void)state;
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n0), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(hsmca_ca_mount_enable(ca, "gone"), HSMCA_OK);
    hsmca_ca_params_init(&p);
    p.key_type = "ec";
    p.common_name = "Gone root";
    p.ttl = 86400;
    memset(&r, 0, sizeof(r));
    assert_int_equal(hsmca_ca_generate_root(ca, "gone", &p, &r), HSMCA_OK);
    hsmca_ca_params_clear(&p);
    assert_int_equal(hsmca_ocsp_config_set(ca, "gone", &cfg), HSMCA_OK);
    id = OCSP_cert_to_id(NULL, r.certificate, r.certificate);
    assert_non_null(OCSP_request_add0_id(oreq, id));
    len = (size_t)i2d_OCSP_REQUEST(oreq, &req);
    assert_int_equal(hsmca_ocsp_respond(ca, "gone", req, len, &resp), HSMCA_OK);
    assert_int_equal(resp.status, HSMCA_OCSP_SUCCESSFUL);
    hsmca_ocsp_response_clear(&resp);
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n1), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(n1, n0 + 2); /* the root's key and its signer's */
    assert_int_equal(hsmca_ca_mount_disable(ca, "gone"), HSMCA_OK);
    assert_int_equal(hsmca_keyslot_list(env.ks, &keys, &n2), HSMCA_OK);
    OPENSSL_free(keys);
    assert_int_equal(n2, n0);
    hsmca_ca_result_clear(&r);
    OCSP_REQUEST_free(oreq);
    OPENSSL_free(req);
}

/* Run with the fault module corrupting the third C_Sign (the root and the
 * leaf took the first two): the first answer's signature is bad and must
 * be refused, not cached; the next is good and is cached. */
static void corrupted_signature_is_not_cached(void **state)
{
    unsigned char *req = NULL;
    size_t len = make_request(false, &req);
    hsmca_ocsp_response r;

    (void)state;
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_INTERNAL_ERROR);
    hsmca_ocsp_response_clear(&r);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.status, HSMCA_OCSP_SUCCESSFUL);
    assert_int_equal(r.cached, 0);
    hsmca_ocsp_response_clear(&r);
    assert_int_equal(hsmca_ocsp_respond(ca, MOUNT, req, len, &r), HSMCA_OK);
    assert_int_equal(r.cached, 1);
    assert_int_equal(answer_status(&r), V_OCSP_CERTSTATUS_GOOD);
    hsmca_ocsp_response_clear(&r);
    OPENSSL_free(req);
}

int main(void)
{
    const struct CMUnitTest corrupt[] = {
        cmocka_unit_test(corrupted_signature_is_not_cached),
    };
    if (getenv("HSMCA_OCSP_CORRUPT_TEST") != NULL)
        return cmocka_run_group_tests(corrupt, setup, teardown);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_serves_and_revocation_invalidates),
        cmocka_unit_test(answer_read_before_invalidation_is_not_cached),
        cmocka_unit_test(delegated_signer_rolls_over),
        cmocka_unit_test(signer_rolls_over_on_time),
        cmocka_unit_test(config_change_applies_at_once),
        cmocka_unit_test(concurrent_answers_and_invalidations),
        cmocka_unit_test(mount_removal_destroys_signer_keys),
        cmocka_unit_test(issuer_deletion_destroys_signer_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
