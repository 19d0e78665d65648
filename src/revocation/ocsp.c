/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp_respond: one DER OCSPRequest in, one DER OCSPResponse out (RFC
 * 6960). Each CertID is matched to a mount issuer by its issuer name and
 * key hashes and answered from the store: good, revoked (time and reason)
 * or unknown. All answers of a request share one signature, made in the
 * token by the issuer's key or its delegated OCSP signer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "hsmca/log.h"
#include "hsmca/provider.h"
#include "hsmca/serial.h"
#include "ocsp_internal.h"

/* CRLReason values (RFC 5280 5.3.1) an answer may carry; 0 (unspecified)
 * is left out, as RFC 5280 asks of CRL entries and OpenBao does. */
#define REASON_MAX 10
#define REASON_UNUSED 7

hsmca_rv hsmca_ocsp_state_new(hsmca_ocsp_state **out)
{
    hsmca_ocsp_state *st = OPENSSL_zalloc(sizeof(*st));

    *out = NULL;
    if (st == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    st->sets = OPENSSL_zalloc(sizeof(*st->sets) * OCSP_CACHE_SETS);
    if (st->sets == NULL) {
        OPENSSL_free(st);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->issue_lock, NULL);
    *out = st;
    return HSMCA_OK;
}

void hsmca_ocsp_state_free(hsmca_ocsp_state *st)
{
    if (st == NULL)
        return;
    for (size_t k = 0; k < st->n_mounts; k++)
        ocsp_mount_unref(st->mounts[k]);
    ocsp_cache_free(st);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->issue_lock);
    OPENSSL_free(st);
}

void hsmca_ocsp_get_stats(hsmca_ca *ca, hsmca_ocsp_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (ca == NULL || ca->ocsp == NULL)
        return;
    out->signed_responses = atomic_load(&ca->ocsp->signed_responses);
    out->cache_hits = atomic_load(&ca->ocsp->cache_hits);
    out->delegated_certs = atomic_load(&ca->ocsp->delegated_certs);
    out->cache_misses = atomic_load(&ca->ocsp->cache_misses);
    for (size_t i = 0; i < 7; i++)
        out->responses[i] = atomic_load(&ca->ocsp->responses[i]);
    for (size_t i = 0; i < 3; i++)
        out->cert_status[i] = atomic_load(&ca->ocsp->cert_status[i]);
}

void hsmca_ocsp_response_clear(hsmca_ocsp_response *r)
{
    if (r == NULL)
        return;
    OPENSSL_free(r->der);
    memset(r, 0, sizeof(*r));
}

/* An unsigned response carrying only an error status (RFC 6960 4.2.1: no
 * responseBytes for anything but successful). */
static hsmca_rv error_response(hsmca_ocsp_status status, hsmca_ocsp_response *out)
{
    OCSP_RESPONSE *resp = OCSP_response_create((int)status, NULL);
    unsigned char *der = NULL;
    int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;

    OCSP_RESPONSE_free(resp);
    if (len <= 0) {
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_NOMEM, "cannot encode an OCSP error response");
    }
    out->status = status;
    out->der = der;
    out->der_len = (size_t)len;
    return HSMCA_OK;
}

/* The error status for a failed core call: the token being away is worth a
 * retry (tryLater), anything else is ours (internalError). */
static hsmca_ocsp_status status_for_rv(hsmca_rv rv)
{
    return rv == HSMCA_ERR_HSM_UNAVAILABLE || rv == HSMCA_ERR_TIMEOUT ? HSMCA_OCSP_TRY_LATER
                                                                       : HSMCA_OCSP_INTERNAL_ERROR;
}

/* The certificate status of one CertID answered by signer. unknown when the
 * CertID names another issuer (or none), when the serial was never issued
 * by the signer, or cannot be one of ours. */
static hsmca_rv cert_status(hsmca_ca *ca, const char *mount, const ocsp_issuer *signer, const ocsp_issuer *named,
                            const unsigned char *serial, size_t serial_len, int *status, int *reason,
                            int64_t *revoked_at)
{
    hsmca_store_cert c;
    hsmca_rv rv;

    *status = V_OCSP_CERTSTATUS_UNKNOWN;
    *reason = OCSP_REVOKED_STATUS_NOSTATUS;
    *revoked_at = 0;
    if (named == NULL || named != signer || serial_len == 0)
        return HSMCA_OK;
    memset(&c, 0, sizeof(c));
    rv = hsmca_store_cert_get(ca->store, mount, serial, serial_len, &c);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        /* No certificate row. A serial that was reserved but whose
         * certificate was never stored (the insert failed after the token
         * signed) is revoked once an operator revoked it, and unknown
         * until then: never good, because no certificate with that serial
         * was ever handed out by us (CA/B BR 4.9.10), yet a signed one may
         * exist, so it is not "never issued" either. */
        hsmca_store_intent in;

        hsmca_err_clear();
        rv = hsmca_store_intent_get(ca->store, mount, serial, serial_len, &in);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            hsmca_err_clear();
            return HSMCA_OK;
        }
        if (rv != HSMCA_OK)
            return rv;
        if (in.revoked_at != 0 && !in.has_certificate && strcmp(in.issuer_id, signer->issuer_id) == 0) {
            *status = V_OCSP_CERTSTATUS_REVOKED;
            *revoked_at = in.revoked_at;
            if (in.revocation_reason > 0 && in.revocation_reason <= REASON_MAX &&
                in.revocation_reason != REASON_UNUSED)
                *reason = in.revocation_reason;
        }
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    if (strcmp(c.issuer_id, signer->issuer_id) == 0) {
        if (c.revoked_at != 0) {
            *status = V_OCSP_CERTSTATUS_REVOKED;
            *revoked_at = c.revoked_at;
            if (c.revocation_reason > 0 && c.revocation_reason <= REASON_MAX &&
                c.revocation_reason != REASON_UNUSED)
                *reason = c.revocation_reason;
        } else {
            *status = V_OCSP_CERTSTATUS_GOOD;
        }
    }
    hsmca_store_cert_clear(&c);
    return HSMCA_OK;
}

/* The serial a CertID asks about in the store's form; len 0 for a serial
 * that cannot be ours (negative, zero, longer than 20 octets). */
static void certid_serial(const OCSP_CERTID *id, unsigned char serial[HSMCA_STORE_SERIAL_MAX], size_t *len)
{
    ASN1_INTEGER *sn = NULL;

    *len = 0;
    if (!OCSP_id_get0_info(NULL, NULL, NULL, &sn, (OCSP_CERTID *)(uintptr_t)id) || sn == NULL ||
        hsmca_serial_from_asn1(sn, serial, len) != HSMCA_OK) {
        hsmca_err_clear();
        *len = 0;
    }
}

/* Signs bs as signer: by its delegated certificate and key when it has
 * one (the certificate travels in the response so clients can check it
 * chains to the issuer), else by the issuer's key with no certificates
 * (the client has the issuer; Go's parser rejects an issuer certificate
 * in the response, golang/go#59641). ResponderID by key hash. */
static hsmca_rv sign_basic(hsmca_ca *ca, OCSP_BASICRESP *bs, const ocsp_issuer *signer)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    bool delegated = signer->signer_cert != NULL && signer->signer_key != NULL;
    EVP_PKEY *key = delegated ? signer->signer_key : signer->key;
    X509 *cert = delegated ? signer->signer_cert : signer->cert;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (mctx == NULL) {
        hsmca_err(rv, "out of memory");
        goto done;
    }
    rv = hsmca_provider_sign_init(mctx, ca->libctx, signer->md, key, signer->pss && EVP_PKEY_is_a(key, "RSA"));
    if (rv != HSMCA_OK)
        goto done;
    if (OCSP_basic_sign_ctx(bs, cert, mctx, NULL, OCSP_RESPID_KEY | (delegated ? 0 : OCSP_NOCERTS)) <= 0) {
        unsigned long e = ERR_peek_last_error();
        /* The provider put the token's failure class in the thread's
         * detail (HSM unavailable -> tryLater). */
        rv = hsmca_err_last() == HSMCA_ERR_HSM_UNAVAILABLE ? HSMCA_ERR_HSM_UNAVAILABLE : HSMCA_ERR_CRYPTO;
        if (rv == HSMCA_ERR_CRYPTO)
            hsmca_err(rv, "signing the OCSP response of issuer '%s' failed: %s", signer->issuer_id,
                      e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        goto done;
    }
    rv = HSMCA_OK;
done:
    EVP_MD_CTX_free(mctx);
    return rv;
}

/* Checks the token's signature with the signer certificate's public key.
 * OpenSSL does not check what the token returned, and the hsm layer checks
 * only RSA signatures by default: an answer that will be served for hours
 * from the cache is checked before it is cached, so a corrupted signature
 * costs one failed request instead of every client's answer until the
 * refresh. */
static hsmca_rv verify_basic(OCSP_BASICRESP *bs, const ocsp_issuer *signer)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *cert = signer->signer_cert != NULL ? signer->signer_cert : signer->cert;
    int ok = certs != NULL && sk_X509_push(certs, cert) > 0 &&
             OCSP_basic_verify(bs, certs, NULL, OCSP_NOVERIFY | OCSP_TRUSTOTHER) == 1;

    ERR_clear_error();
    sk_X509_free(certs);
    if (!ok) {
        hsmca_err(HSMCA_ERR_BAD_SIGNATURE,
                  "the token's signature on an OCSP response of issuer '%s' does not verify; discarded",
                  signer->issuer_id);
        hsmca_log(HSMCA_LOG_ERR, "%s", hsmca_err_message());
        return HSMCA_ERR_BAD_SIGNATURE;
    }
    return HSMCA_OK;
}

/* The signer: the first issuer a CertID names that has a key, else (only
 * unknown answers then) the mount's default issuer, as OpenBao does. NULL
 * when nobody can sign. */
static const ocsp_issuer *pick_signer(const ocsp_mount *m, OCSP_REQUEST *req, int n)
{
    for (int k = 0; k < n; k++) {
        const ocsp_issuer *i = ocsp_mount_find(m, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, k)));
        if (i != NULL && i->key != NULL)
            return i;
    }
    return ocsp_mount_default(m);
}

/* thisUpdate + ocsp_expiry, but never past the delegated signer's
 * certificate: a response is only as good as the certificate that
 * vouches for its signature. */
static int64_t next_update_time(const ocsp_issuer *signer, int64_t now, const ocsp_settings *set)
{
    int64_t next = now + set->expiry;

    if (signer->signer_cert != NULL && signer->signer_not_after > now && next > signer->signer_not_after)
        next = signer->signer_not_after;
    return next;
}

/* The answers for every CertID, nonce, signature: the successful response. */
static hsmca_rv build_response(hsmca_ca *ca, const char *mount, const ocsp_settings *set, const ocsp_mount *m,
                               const ocsp_issuer *signer, OCSP_REQUEST *req, int n, bool verify, unsigned char **der,
                               size_t *der_len, int *last_status, int64_t *tu, int64_t *nu)
{
    uint64_t counts[3] = {0, 0, 0};
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *this_update = ASN1_TIME_new(), *next_update = NULL, *rev_time = ASN1_TIME_new();
    int64_t now = ca_now();
    int len;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *der = NULL;
    if (bs == NULL || this_update == NULL || rev_time == NULL) {
        hsmca_err(rv, "out of memory");
        goto done;
    }
    if ((rv = ca_set_time(this_update, now)) != HSMCA_OK)
        goto done;
    *tu = now;
    *nu = 0;
    /* ocsp_expiry 0: no nextUpdate, "newer information is always
     * available" (RFC 6960 4.2.2.1). */
    if (set->expiry > 0) {
        next_update = ASN1_TIME_new();
        *nu = next_update_time(signer, now, set);
        if (next_update == NULL || (rv = ca_set_time(next_update, *nu)) != HSMCA_OK) {
            rv = next_update == NULL ? hsmca_err(HSMCA_ERR_NOMEM, "out of memory") : rv;
            goto done;
        }
    }
    for (int k = 0; k < n; k++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, k));
        unsigned char serial[HSMCA_STORE_SERIAL_MAX];
        size_t serial_len = 0;
        int status, reason;
        int64_t revoked_at;

        certid_serial(id, serial, &serial_len);
        rv = cert_status(ca, mount, signer, ocsp_mount_find(m, id), serial, serial_len, &status, &reason,
                         &revoked_at);
        if (rv != HSMCA_OK)
            goto done;
        if (status == V_OCSP_CERTSTATUS_REVOKED && (rv = ca_set_time(rev_time, revoked_at)) != HSMCA_OK)
            goto done;
        if (status >= 0 && status < 3)
            counts[status]++;
        *last_status = status;
        if (OCSP_basic_add1_status(bs, id, status, reason, status == V_OCSP_CERTSTATUS_REVOKED ? rev_time : NULL,
                                   this_update, next_update) == NULL) {
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot add the answer for CertID %d", k);
            goto done;
        }
    }
    /* The nonce extension is echoed unchanged (RFC 6960 4.4.1); 2 = the
     * request had none. */
    if (OCSP_copy_nonce(bs, req) <= 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot copy the request nonce");
        goto done;
    }
    if ((rv = sign_basic(ca, bs, signer)) != HSMCA_OK || (verify && (rv = verify_basic(bs, signer)) != HSMCA_OK))
        goto done;
    atomic_fetch_add(&ca->ocsp->signed_responses, 1);
    for (size_t i = 0; i < 3; i++)
        atomic_fetch_add(&ca->ocsp->cert_status[i], counts[i]);
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    len = resp ? i2d_OCSP_RESPONSE(resp, der) : -1;
    if (len <= 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the OCSP response");
        goto done;
    }
    *der_len = (size_t)len;
    rv = HSMCA_OK;
done:
    ERR_clear_error();
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(rev_time);
    return rv;
}

hsmca_rv hsmca_ocsp_respond(hsmca_ca *ca, const char *mount, const unsigned char *req_der, size_t req_len,
                            hsmca_ocsp_response *out)
{
    const unsigned char *p = req_der;
    OCSP_REQUEST *req = NULL;
    ocsp_mount *m = NULL;
    const ocsp_issuer *signer;
    ocsp_settings set;
    ocsp_cache_key key;
    bool cacheable = false;
    unsigned long gen;
    int n = 0, cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
    hsmca_ocsp_status status = HSMCA_OCSP_MALFORMED_REQUEST;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && mount != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    /* Parsed only within the bound, and only if the DER is exactly one
     * request: trailing bytes are as malformed as missing ones. */
    if (req_der == NULL || req_len == 0 || req_len > HSMCA_OCSP_REQUEST_MAX)
        goto done;
    req = d2i_OCSP_REQUEST(NULL, &p, (long)req_len);
    if (req == NULL || p != req_der + req_len)
        goto done;
    n = OCSP_request_onereq_count(req);
    if (n <= 0 || n > HSMCA_OCSP_CERTIDS_MAX)
        goto done;

    gen = atomic_load(&ca->gen);
    rv = ocsp_settings_get(ca, mount, &set);
    if (rv == HSMCA_OK && set.disable) {
        status = HSMCA_OCSP_UNAUTHORIZED;
        goto done;
    }
    if (rv == HSMCA_OK)
        rv = ocsp_mount_get(ca, mount, &set, &m);
    if (rv != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': OCSP: %s", mount, hsmca_err_message());
        status = status_for_rv(rv);
        goto done;
    }
    signer = pick_signer(m, req, n);
    /* Nobody to sign, or the issuer may not sign OCSP (usage without
     * ocsp-signing): unauthorized, RFC 5019 2.2.3 and OpenBao. */
    if (signer == NULL || signer->key == NULL || !(signer->usage & HSMCA_USAGE_OCSP)) {
        status = HSMCA_OCSP_UNAUTHORIZED;
        goto done;
    }

    /* One CertID without a nonce (RFC 5019's profile, what browsers and
     * stapling servers send) is answered from the cache; a nonce makes
     * every answer unique, and ocsp_expiry 0 asks for fresh ones. */
    if (n == 1 && set.expiry > 0 && OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) < 0) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
        unsigned char serial[HSMCA_STORE_SERIAL_MAX];
        size_t serial_len = 0;
        certid_serial(id, serial, &serial_len);
        cacheable = serial_len > 0 && ocsp_cache_key_init(ca->ocsp, mount, id, serial, serial_len, &key);
        if (cacheable && ocsp_cache_lookup(ca->ocsp, &key, gen, set.expiry, ca_now(), &out->der, &out->der_len,
                                           &cert_status, &out->this_update, &out->next_update)) {
            atomic_fetch_add(&ca->ocsp->cache_hits, 1);
            if (cert_status >= 0 && cert_status < 3)
                atomic_fetch_add(&ca->ocsp->cert_status[cert_status], 1);
            out->cached = 1;
            status = HSMCA_OCSP_SUCCESSFUL;
            goto done;
        }
    }

    if (cacheable)
        atomic_fetch_add(&ca->ocsp->cache_misses, 1);
    rv = build_response(ca, mount, &set, m, signer, req, n, cacheable, &out->der, &out->der_len, &cert_status,
                        &out->this_update, &out->next_update);
    if (rv != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': OCSP: %s", mount, hsmca_err_message());
        status = status_for_rv(rv);
        goto done;
    }
    status = HSMCA_OCSP_SUCCESSFUL;
    /* Reused for the first three quarters of its validity: a relying party
     * or a stapling server always gets at least a quarter of ocsp_expiry. */
    if (cacheable) {
        int64_t now = ca_now(), refresh = now + set.expiry - set.expiry / 4;
        /* and not past a delegated signer's rollover */
        if (signer->signer_cert != NULL && signer->signer_renew_at > 0 && refresh > signer->signer_renew_at)
            refresh = signer->signer_renew_at;
        ocsp_cache_store(ca->ocsp, &key, gen, set.expiry, refresh, out->der, out->der_len, cert_status,
                         out->this_update, out->next_update);
    }
done:
    /* Whatever went wrong, the client gets an OCSP response saying so. */
    if (status == HSMCA_OCSP_SUCCESSFUL) {
        out->status = status;
        rv = HSMCA_OK;
    } else {
        rv = error_response(status, out);
    }
    if ((unsigned)status < 7)
        atomic_fetch_add(&ca->ocsp->responses[status], 1);
    ERR_clear_error();
    ocsp_mount_unref(m);
    OCSP_REQUEST_free(req);
    return rv;
}
