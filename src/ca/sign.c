/* SPDX-License-Identifier: Apache-2.0 */
/* The issuance cycle every certificate goes through, modelled on Let's
 * Encrypt's: reserve serial + intent, lint, sign in the token, verify, check
 * the TBS, store, return. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "hsmca/provider.h"
#include "hsmca/serial.h"
#include "internal.h"

#define SERIAL_ATTEMPTS 4 /* a collision of 127-bit serials is 2^-63-rare; a
                             second collision in a row means a broken RNG */

int64_t ca_now(void)
{
    return (int64_t)time(NULL);
}

int64_t ca_asn1_time_to_unix(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

hsmca_rv ca_set_time(ASN1_TIME *t, int64_t when)
{
    return ASN1_TIME_set(t, (time_t)when) ? HSMCA_OK : hsmca_err(HSMCA_ERR_INVALID_ARG, "time out of range");
}

hsmca_rv ca_result_set(hsmca_ca_result *out, X509 **cert, hsmca_ca_issuer *iss)
{
    unsigned char serial[HSMCA_SERIAL_MAX];
    size_t len = 0;
    hsmca_rv rv = hsmca_serial_from_asn1(X509_get0_serialNumber(*cert), serial, &len);

    if (rv != HSMCA_OK)
        return rv;
    hsmca_serial_format(serial, len, out->serial_number);
    out->expiration = ca_asn1_time_to_unix(X509_get0_notAfter(*cert));
    out->certificate = *cert;
    *cert = NULL;
    if (iss != NULL) {
        out->ca_chain = iss->ca_chain;
        iss->ca_chain = NULL;
        snprintf(out->issuer_id, sizeof(out->issuer_id), "%s", iss->issuer_id);
        snprintf(out->issuer_name, sizeof(out->issuer_name), "%s", iss->issuer_name);
    }
    return HSMCA_OK;
}

const char *ca_sign_digest(EVP_PKEY *key, int signature_bits)
{
    if (EVP_PKEY_is_a(key, "ED25519"))
        return NULL;
    if (EVP_PKEY_is_a(key, "EC") && signature_bits == 0) {
        /* OpenBao: match the curve size for NIST curves. */
        int bits = EVP_PKEY_get_bits(key);
        return bits > 384 ? "SHA512" : bits > 256 ? "SHA384" : "SHA256";
    }
    switch (signature_bits) {
    case 384:
        return "SHA384";
    case 512:
        return "SHA512";
    default:
        return "SHA256";
    }
}

/* Draws a serial of at least 64 random bits from the token. */
static hsmca_rv draw_serial(hsmca_ca *ca, unsigned char serial[HSMCA_SERIAL_MAX], size_t *len)
{
    hsmca_rv rv = HSMCA_ERR_INTERNAL;

    for (int attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
        rv = hsmca_serial_generate(ca->tok, serial, len);
        if (rv != HSMCA_OK)
            return rv;
        if (*len >= 8)
            return HSMCA_OK;
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "random serial has fewer than 64 bits"); /* 2^-63: again */
    }
    return rv;
}

/* Hands the serial's intent to the store's writer without waiting for it:
 * the caller builds, lints and encodes the TBS while the group commits, and
 * waits (intent_wait) before anything is signed. */
static hsmca_rv intent_submit(hsmca_ca *ca, const ca_sign_job *job, const unsigned char *serial, size_t len,
                              hsmca_store_ticket **ticket)
{
    hsmca_store_batch *b = hsmca_store_batch_new(ca->store);
    hsmca_rv rv;

    hsmca_store_batch_intent(b, job->mount, serial, len, job->issuer_id ? job->issuer_id : "",
                             job->role ? job->role : "", job->request_digest);
    rv = hsmca_store_batch_submit(b, ticket); /* reports a failed _new too */
    hsmca_store_batch_free(b);
    return rv;
}

/* Waits for a submitted intent on a path that has already failed: the
 * ticket must be settled, and the first failure is the one reported. */
static void intent_settle(hsmca_store_ticket **ticket)
{
    char why[512];
    hsmca_rv rv = hsmca_err_last();

    if (*ticket == NULL)
        return;
    snprintf(why, sizeof(why), "%s", hsmca_err_message());
    if (hsmca_store_batch_wait(*ticket) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "intent of a refused issuance: %s", hsmca_err_message());
    *ticket = NULL;
    hsmca_err(rv, "%s", why);
}

void ca_sign_job_init(ca_sign_job *job, const char *mount, EVP_PKEY *key, const hsmca_ca_issuer *iss,
                      hsmca_lint_role role, int64_t now)
{
    memset(job, 0, sizeof(*job));
    job->mount = mount;
    job->key = key;
    job->role = "";
    job->issuer_cert = iss ? iss->certificate : NULL;
    job->issuer_id = iss ? iss->issuer_id : "";
    job->lint.role = role;
    job->lint.issuer = job->issuer_cert;
    job->lint.permit_beyond_issuer = iss != NULL && iss->leaf_not_after_behavior == HSMCA_NOT_AFTER_PERMIT;
    job->lint.now = now;
}

hsmca_rv ca_sign_certificate(hsmca_ca *ca, const ca_sign_job *job, X509 *tbs, X509 **out)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    unsigned char serial[HSMCA_SERIAL_MAX];
    char serial_text[HSMCA_SERIAL_TEXT_MAX + 1];
    size_t serial_len = 0;
    unsigned char *linted = NULL, *der = NULL;
    size_t linted_len = 0;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY *verify_key = NULL; /* borrowed */
    hsmca_lint_finding finding;
    hsmca_store_ticket *ticket = NULL; /* the intent, submitted and not yet waited for */
    int der_len;

    *out = NULL;
    /* The signature algorithm is part of the TBS and does not depend on the
     * serial: fix it first. */
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    rv = hsmca_provider_sign_init(mctx, ca->libctx, ca_sign_digest(job->key, job->signature_bits), job->key,
                                  job->use_pss && EVP_PKEY_is_a(job->key, "RSA"));
    if (rv != HSMCA_OK)
        goto done;
    rv = ca_tbs_set_sigalg(tbs, mctx);
    if (rv != HSMCA_OK)
        goto done;

    for (int attempt = 0;; attempt++) {
        /* 1. serial and intent: submitted now, durable before step 3 */
        if (job->serial_from_tbs) {
            /* The test's serial may be malformed on purpose; lint judges it
             * and no intent is recorded. */
            snprintf(serial_text, sizeof(serial_text), "(from the request)");
        } else {
            rv = draw_serial(ca, serial, &serial_len);
            if (rv != HSMCA_OK)
                goto done;
            hsmca_serial_format(serial, serial_len, serial_text);
            rv = hsmca_serial_to_asn1(serial, serial_len, X509_get_serialNumber(tbs));
            if (rv != HSMCA_OK)
                goto done;
            if (!job->no_store) {
                rv = intent_submit(ca, job, serial, serial_len, &ticket);
                if (rv != HSMCA_OK) {
                    hsmca_err_prefix("reserving serial %s (nothing signed)", serial_text);
                    goto done;
                }
            }
        }

        /* 2. lint and encode the TBS while the intent commits */
        rv = hsmca_lint_certificate(tbs, &job->lint, &finding);
        if (rv != HSMCA_OK) {
            hsmca_log(HSMCA_LOG_WARNING, "mount '%s': serial %s refused by lint %s: %s (nothing signed)",
                      job->mount, serial_text, finding.rule, finding.message);
            goto done;
        }
        OPENSSL_free(linted);
        linted = NULL;
        rv = ca_tbs_encode(tbs, &linted, &linted_len);
        if (rv != HSMCA_OK)
            goto done;

        /* The intent must be durable before the token is asked to sign. */
        if (ticket == NULL)
            break;
        rv = hsmca_store_batch_wait(ticket);
        ticket = NULL;
        if (rv == HSMCA_OK)
            break;
        if (rv != HSMCA_ERR_EXISTS || attempt + 1 >= SERIAL_ATTEMPTS) {
            hsmca_err_prefix("reserving serial %s (nothing signed)", serial_text);
            goto done;
        }
        /* The database refuses a duplicate serial: draw another, and lint
         * the TBS that carries it. */
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': serial collision; drawing another", job->mount);
    }

    /* 3. sign in the token */
    if (X509_sign_ctx(tbs, mctx) <= 0) {
        unsigned long e = ERR_peek_last_error();
        /* The provider put the HSM layer's detail on the error stack and in
         * the thread's detail; keep its class (HSM unavailable -> 503). */
        rv = hsmca_err_last() != HSMCA_OK && hsmca_err_last() != HSMCA_ERR_INVALID_ARG
                 ? hsmca_err_last()
                 : HSMCA_ERR_CRYPTO;
        if (rv == HSMCA_ERR_CRYPTO)
            hsmca_err(rv, "signing serial %s failed: %s", serial_text,
                      e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        goto done;
    }

    /* 4. verify what came back with the issuer's public key (OpenSSL's
     * signing call does not check the token's signature), and check that
     * the TBS in the DER we hand out is the one lint passed. The object is
     * verified over its own encoding, which is that DER. */
    der_len = i2d_X509(tbs, &der);
    if (der_len <= 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the signed certificate");
        goto done;
    }
    verify_key = job->issuer_cert ? X509_get0_pubkey(job->issuer_cert) : X509_get0_pubkey(tbs);
    if (verify_key == NULL || X509_verify(tbs, verify_key) != 1) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_BAD_SIGNATURE,
                       "the token's signature on serial %s does not verify with the issuer key; discarded",
                       serial_text);
        hsmca_log(HSMCA_LOG_ERR, "mount '%s': %s", job->mount, hsmca_err_message());
        goto done;
    }
    rv = ca_tbs_matches(der, (size_t)der_len, linted, linted_len);
    if (rv != HSMCA_OK)
        goto done;

    /* 5. store, 6. only then return */
    if (!job->no_store && !job->serial_from_tbs) {
        hsmca_store_batch *b = hsmca_store_batch_new(ca->store);
        if (b == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
        hsmca_store_batch_cert(b, job->mount, serial, serial_len, job->issuer_id ? job->issuer_id : "",
                               job->role ? job->role : "", der, (size_t)der_len,
                               ca_asn1_time_to_unix(X509_get0_notBefore(tbs)),
                               ca_asn1_time_to_unix(X509_get0_notAfter(tbs)));
        rv = hsmca_store_batch_commit(b);
        hsmca_store_batch_free(b);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("storing certificate %s (intent kept; nothing returned)", serial_text);
            hsmca_log(HSMCA_LOG_ERR, "mount '%s': %s", job->mount, hsmca_err_message());
            goto done;
        }
    }
    if (!X509_up_ref(tbs)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference the certificate");
        goto done;
    }
    *out = tbs; /* the caller's TBS object, now signed */
    rv = HSMCA_OK;
done:
    intent_settle(&ticket); /* only on failures before the wait */
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(linted);
    OPENSSL_free(der);
    return rv;
}
