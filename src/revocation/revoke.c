/* SPDX-License-Identifier: Apache-2.0 */
/* Revoking: by serial or by PEM certificate, with proof of possession of
 * the private key (revoke-with-key), and issuers (issuer/:ref/revoke);
 * LIST certs/revoked. A revocation is one store batch; the CRL follows at
 * once unless auto_rebuild leaves that to the periodic job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "hsmca/ocsp.h"
#include "hsmca/serial.h"
#include "internal.h"

#define PEM_MAX (64u * 1024u) /* one certificate or key in PEM */

/* The certificate being revoked, whichever way it was named. */
typedef struct {
    X509 *cert;
    unsigned char serial[HSMCA_SERIAL_MAX];
    size_t serial_len;
    hsmca_store_cert stored; /* der == NULL when not stored (no_store) */
    char issuer_id[37];      /* the issuer of the mount that signed it */
    /* The serial has an intent but no certificate row: the insert failed
     * after the token signed (no_store issuances reserve no intent). */
    bool has_intent;
    int64_t intent_revoked_at; /* > 0: that intent is already revoked */
} target;

static void target_clear(target *t)
{
    X509_free(t->cert);
    hsmca_store_cert_clear(&t->stored);
    memset(t, 0, sizeof(*t));
}

static int64_t unix_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static X509 *parse_pem_cert(const char *pem)
{
    size_t n = strnlen(pem, PEM_MAX + 1);
    BIO *b = n <= PEM_MAX ? BIO_new_mem_buf(pem, (int)n) : NULL;
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    ERR_clear_error();
    return x;
}

typedef struct {
    X509 *cert;
    char issuer_id[37]; /* the issuer that signed cert */
    bool is_issuer;     /* cert is one of the mount's issuer certificates */
} issuer_match;

static int match_issuer(const hsmca_ca_issuer *i, void *arg)
{
    issuer_match *m = arg;

    if (X509_cmp(i->certificate, m->cert) == 0) {
        m->is_issuer = true;
        return 0;
    }
    if (m->issuer_id[0] == '\0' && X509_check_issued(i->certificate, m->cert) == X509_V_OK &&
        X509_verify(m->cert, X509_get0_pubkey(i->certificate)) == 1)
        snprintf(m->issuer_id, sizeof(m->issuer_id), "%s", i->issuer_id);
    ERR_clear_error();
    return 1;
}

/* The serial's intent, when it has one and no certificate is stored:
 * t->has_intent, its issuer and whether it was revoked already. */
static hsmca_rv find_intent(hsmca_ca *ca, const char *mount, target *t)
{
    hsmca_store_intent in;
    hsmca_rv rv = hsmca_store_intent_get(hsmca_ca_get0_store(ca), mount, t->serial, t->serial_len, &in);

    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    if (in.has_certificate) /* stored meanwhile: the caller's read missed it */
        return hsmca_err(HSMCA_ERR_TIMEOUT,
                         "serial_number: its certificate was stored while the revocation looked it up; "
                         "try again");
    t->has_intent = true;
    t->intent_revoked_at = in.revoked_at;
    snprintf(t->issuer_id, sizeof(t->issuer_id), "%.36s", in.issuer_id);
    return HSMCA_OK;
}

/* Resolves serial or cert_pem to the certificate and its issuer in the
 * mount, refusing issuer certificates. By serial, a serial with an intent
 * but no certificate resolves to the intent (t->cert NULL). */
static hsmca_rv find_target(hsmca_ca *ca, const char *mount, const char *serial, const char *cert_pem,
                            target *t)
{
    issuer_match m;
    hsmca_rv rv;

    memset(t, 0, sizeof(*t));
    memset(&m, 0, sizeof(m));
    if (cert_pem != NULL) {
        t->cert = parse_pem_cert(cert_pem);
        if (t->cert == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate: not a PEM certificate");
        rv = hsmca_serial_from_asn1(X509_get0_serialNumber(t->cert), t->serial, &t->serial_len);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("certificate");
            return rv;
        }
        rv = hsmca_store_cert_get(hsmca_ca_get0_store(ca), mount, t->serial, t->serial_len, &t->stored);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            hsmca_err_clear(); /* no_store: stored with its revocation below */
            rv = find_intent(ca, mount, t);
        }
        if (rv != HSMCA_OK)
            return rv;
    } else {
        const unsigned char *p;

        rv = hsmca_serial_parse(serial, t->serial, &t->serial_len);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("serial_number");
            return rv;
        }
        rv = hsmca_store_cert_get(hsmca_ca_get0_store(ca), mount, t->serial, t->serial_len, &t->stored);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            /* No certificate row; an intent alone is still a serial this
             * mount reserved and the token may have signed (issue 9 item
             * 2): revocable, with the intent's issuer. */
            hsmca_err_clear();
            rv = find_intent(ca, mount, t);
            if (rv == HSMCA_OK && !t->has_intent)
                rv = hsmca_err(HSMCA_ERR_NOT_FOUND,
                               "serial_number %s: no certificate and no reserved serial with that number in "
                               "mount '%s'",
                               serial, mount);
            return rv;
        }
        if (rv != HSMCA_OK)
            return rv;
        p = t->stored.der;
        t->cert = d2i_X509(NULL, &p, (long)t->stored.der_len);
        if (t->cert == NULL)
            return hsmca_err(HSMCA_ERR_IO, "serial_number %s: the stored certificate cannot be read", serial);
    }
    m.cert = t->cert;
    rv = hsmca_ca_issuer_list(ca, mount, match_issuer, &m);
    if (rv != HSMCA_OK)
        return rv;
    /* OpenBao: "It is not possible to revoke issuers using this path." */
    if (m.is_issuer)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s: this is an issuer certificate of mount '%s'; issuers are "
                         "revoked with issuer/:issuer_ref/revoke, not revoke",
                         cert_pem != NULL ? "certificate" : "serial_number", mount);
    if (t->stored.der != NULL) {
        snprintf(t->issuer_id, sizeof(t->issuer_id), "%.36s", t->stored.issuer_id);
        /* A stored certificate is ours; a PEM must also be the stored one,
         * or anyone could revoke a serial with a look-alike. */
        if (cert_pem != NULL) {
            unsigned char *der = NULL;
            int n = i2d_X509(t->cert, &der);
            bool same = n > 0 && (size_t)n == t->stored.der_len && memcmp(der, t->stored.der, (size_t)n) == 0;

            OPENSSL_free(der);
            if (!same)
                return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                 "certificate: its serial is stored in mount '%s' for a "
                                 "different certificate",
                                 mount);
        }
        return HSMCA_OK;
    }
    if (m.issuer_id[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate: not signed by any issuer of mount '%s'", mount);
    /* The certificate of an intent whose insert failed: it must be the
     * intent's issuer's; it is then stored with its revocation. */
    if (t->has_intent && strcmp(t->issuer_id, m.issuer_id) != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "certificate: its serial is reserved in mount '%s' for issuer %s, but issuer %s "
                         "signed it",
                         mount, t->issuer_id, m.issuer_id);
    snprintf(t->issuer_id, sizeof(t->issuer_id), "%s", m.issuer_id);
    return HSMCA_OK;
}

/* revoke-with-key: the private key must be the certificate's. The PEM is
 * parsed from the caller's buffer (no copy); the EVP_PKEY cleanses its
 * private values when freed. Never asks for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static hsmca_rv check_possession(X509 *cert, const char *key_pem)
{
    size_t n = strnlen(key_pem, PEM_MAX + 1);
    BIO *b = NULL;
    EVP_PKEY *key = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (n == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "private_key: required");
        goto done;
    }
    if (n > PEM_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "private_key: longer than %u bytes", PEM_MAX);
        goto done;
    }
    b = BIO_new_mem_buf(key_pem, (int)n);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    if (key == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "private_key: not an unencrypted PEM private key");
        goto done;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "private_key: does not match the certificate's public key; nothing "
                       "was revoked");
        goto done;
    }
    rv = HSMCA_OK;
done:
    EVP_PKEY_free(key);
    BIO_free(b);
    ERR_clear_error();
    return rv;
}

static int stop_at_once(const hsmca_store_revoked *r, void *arg)
{
    (void)r;
    (void)arg;
    return 0;
}

/* Rebuilds the issuer's complete CRL after a revocation unless
 * auto_rebuild; a failure is a warning: the revocation itself stands. The
 * counter read after the commit bounds this revocation's number, so a
 * build that already covers it (another request's, started later) is
 * enough. */
static void rebuild_after(hsmca_ca *ca, const char *mount, const char *issuer_id, bool *rebuilt,
                          char *warning, size_t cap)
{
    hsmca_crl_config cfg;
    hsmca_store_revoked_query q;
    int64_t covered = 0;
    bool built = false;
    char target_id[37];
    hsmca_rv rv = hsmca_revocation_crl_config_get(ca, mount, &cfg);

    *rebuilt = false;
    if (rv == HSMCA_OK && cfg.auto_rebuild)
        return;
    /* A certificate of an issuer that is gone goes on the default
     * issuer's CRL (OpenBao's rule, see crl.c). */
    if (rv == HSMCA_OK) {
        hsmca_ca_issuer iss;

        if (hsmca_ca_issuer_get(ca, mount, issuer_id, &iss) == HSMCA_OK) {
            hsmca_ca_issuer_clear(&iss);
        } else if (hsmca_ca_issuer_get(ca, mount, "default", &iss) == HSMCA_OK) {
            snprintf(target_id, sizeof(target_id), "%s", iss.issuer_id);
            issuer_id = target_id;
            hsmca_ca_issuer_clear(&iss);
        }
        hsmca_err_clear();
    }
    memset(&q, 0, sizeof(q));
    q.since_seq = -1;
    q.limit = 1;
    if (rv == HSMCA_OK)
        rv = hsmca_store_revoked_list(hsmca_ca_get0_store(ca), mount, &q, &covered, stop_at_once, NULL);
    if (rv == HSMCA_OK) {
        rev_build_lock();
        rv = rev_crl_rebuild_after(ca, mount, issuer_id, &cfg, covered, &built);
        rev_build_unlock();
    }
    if (rv == HSMCA_OK) {
        *rebuilt = true; /* by this request or by one that started after it */
        return;
    }
    snprintf(warning, cap, "the certificate is revoked, but its CRL was not rebuilt: %s",
             hsmca_err_message());
    hsmca_log(HSMCA_LOG_WARNING, "mount '%s': %s", mount, warning);
}

hsmca_rv hsmca_revocation_revoke(hsmca_ca *ca, const char *mount, const char *serial, const char *cert_pem,
                                 const char *key_pem, hsmca_revoke_result *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_store_batch *b = NULL;
    bool has_serial = serial != NULL && serial[0] != '\0', has_cert = cert_pem != NULL && cert_pem[0] != '\0';
    unsigned char *der = NULL;
    target t;
    int64_t now = (int64_t)time(NULL);

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    memset(&t, 0, sizeof(t));
    if (has_serial == has_cert) {
        rv =
            hsmca_err(HSMCA_ERR_INVALID_ARG, "serial_number, certificate: exactly one of them must be given");
        goto done;
    }
    rv = find_target(ca, mount, has_serial ? serial : NULL, has_cert ? cert_pem : NULL, &t);
    if (rv != HSMCA_OK)
        goto done;
    if (key_pem != NULL && t.cert == NULL) {
        /* revoke-with-key names a certificate by PEM or serial; an intent
         * alone has no public key to prove possession against. */
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "serial_number %s: no certificate is stored for this reserved serial, so possession of "
                       "its key cannot be checked; revoke it with the revoke endpoint",
                       serial);
        goto done;
    }
    if (key_pem != NULL && (rv = check_possession(t.cert, key_pem)) != HSMCA_OK)
        goto done;
    hsmca_serial_format(t.serial, t.serial_len, out->serial_number);
    snprintf(out->issuer_id, sizeof(out->issuer_id), "%s", t.issuer_id);
    if (t.stored.revoked_at != 0 || t.intent_revoked_at != 0) {
        /* Revoking twice changes nothing and reports the first time. */
        out->already_revoked = true;
        out->revocation_time = t.stored.revoked_at != 0 ? t.stored.revoked_at : t.intent_revoked_at;
        rv = HSMCA_OK;
        goto done;
    }

    b = hsmca_store_batch_new(hsmca_ca_get0_store(ca));
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (t.cert == NULL) {
        /* An intent without a certificate, by serial: the revocation is
         * recorded against the intent (store migration 3), on the CRL and
         * OCSP like any other. */
        hsmca_store_batch_revoke_intent(b, mount, t.serial, t.serial_len, now, 0);
    } else if (t.stored.der == NULL) {
        /* Not stored (a no_store role, or an intent whose certificate
         * insert failed): store it with its revocation, so the CRL and
         * certs/revoked see it like any other. */
        unsigned char digest[32];
        int n = i2d_X509(t.cert, &der);

        if (n <= 0 || EVP_Digest(der, (size_t)n, digest, NULL, EVP_sha256(), NULL) != 1) {
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "certificate: cannot be encoded");
            goto done;
        }
        if (!t.has_intent)
            hsmca_store_batch_intent(b, mount, t.serial, t.serial_len, t.issuer_id, "", digest);
        hsmca_store_batch_cert(b, mount, t.serial, t.serial_len, t.issuer_id, "", der, (size_t)n,
                               unix_time(X509_get0_notBefore(t.cert)), unix_time(X509_get0_notAfter(t.cert)));
    }
    if (t.cert != NULL)
        hsmca_store_batch_revoke(b, mount, t.serial, t.serial_len, now, 0);
    rv = hsmca_store_batch_commit(b);
    /* A cached "good" OCSP answer must not outlive the revocation (also
     * when another request revoked it first). */
    if (rv == HSMCA_OK || rv == HSMCA_ERR_EXISTS)
        hsmca_ocsp_cache_invalidate(ca, mount, t.serial, t.serial_len);
    if (rv == HSMCA_ERR_EXISTS) {
        /* Revoked meanwhile by another request: report that one. */
        hsmca_store_cert again;
        hsmca_store_intent in;
        int64_t first = 0;

        memset(&again, 0, sizeof(again));
        if (hsmca_store_cert_get(hsmca_ca_get0_store(ca), mount, t.serial, t.serial_len, &again) == HSMCA_OK)
            first = again.revoked_at;
        else if (hsmca_store_intent_get(hsmca_ca_get0_store(ca), mount, t.serial, t.serial_len, &in) == HSMCA_OK)
            first = in.revoked_at;
        if (first != 0) {
            out->already_revoked = true;
            out->revocation_time = first;
            rv = HSMCA_OK;
            hsmca_err_clear();
        }
        hsmca_store_cert_clear(&again);
        goto done;
    }
    if (rv != HSMCA_OK)
        goto done;
    out->revocation_time = now;
    hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': certificate %s revoked", mount, out->serial_number);
    rebuild_after(ca, mount, t.issuer_id, &out->crl_rebuilt, out->crl_warning, sizeof(out->crl_warning));
done:
    OPENSSL_free(der);
    hsmca_store_batch_free(b);
    target_clear(&t);
    return rv;
}

hsmca_rv hsmca_revocation_revoke_issuer(hsmca_ca *ca, const char *mount, const char *ref,
                                        hsmca_ca_issuer *out)
{
    hsmca_rv rv;
    hsmca_store_cert c;
    unsigned char serial[HSMCA_SERIAL_MAX];
    size_t serial_len = 0;
    hsmca_crl_config cfg;

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&c, 0, sizeof(c));
    rv = hsmca_ca_issuer_revoke(ca, mount, ref, out);
    if (rv != HSMCA_OK)
        return rv;
    /* Its certificate joins the CRL of the parent that issued it in this
     * mount; OpenBao: "Revoked issuers will not appear on their own CRLs". */
    if (hsmca_serial_from_asn1(X509_get0_serialNumber(out->certificate), serial, &serial_len) == HSMCA_OK &&
        hsmca_store_cert_get(hsmca_ca_get0_store(ca), mount, serial, serial_len, &c) == HSMCA_OK &&
        c.revoked_at == 0 && strcmp(c.issuer_id, out->issuer_id) != 0 && c.issuer_id[0] != '\0') {
        hsmca_store_batch *b = hsmca_store_batch_new(hsmca_ca_get0_store(ca));

        hsmca_store_batch_revoke(b, mount, serial, serial_len,
                                 out->revocation_time > 0 ? out->revocation_time : (int64_t)time(NULL), 0);
        rv = hsmca_store_batch_commit(b);
        hsmca_store_batch_free(b);
        if (rv == HSMCA_ERR_EXISTS)
            rv = HSMCA_OK;
        if (rv == HSMCA_OK)
            hsmca_ocsp_cache_invalidate(ca, mount, serial, serial_len);
    }
    hsmca_err_clear();
    hsmca_store_cert_clear(&c);
    if (rv != HSMCA_OK) {
        hsmca_ca_issuer_clear(out);
        return rv;
    }
    /* OpenBao: "This will cause all CRLs to be rebuilt." */
    if (hsmca_revocation_crl_config_get(ca, mount, &cfg) == HSMCA_OK && !cfg.auto_rebuild &&
        hsmca_revocation_crl_rotate(ca, mount, false) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': issuer %s revoked, but rebuilding CRLs failed: %s", mount,
                  out->issuer_id, hsmca_err_message());
    return HSMCA_OK;
}

typedef struct {
    int (*cb)(const char *serial_text, void *arg);
    void *arg;
} list_walk;

static int list_cb(const hsmca_store_revoked *r, void *arg)
{
    list_walk *w = arg;
    char text[HSMCA_SERIAL_TEXT_MAX + 1];

    hsmca_serial_format(r->serial, r->serial_len, text);
    return w->cb(text, w->arg);
}

hsmca_rv hsmca_revocation_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                               int (*cb)(const char *serial_text, void *arg), void *arg)
{
    hsmca_store_revoked_query q;
    unsigned char a[HSMCA_SERIAL_MAX];
    size_t a_len = 0;
    list_walk w = {cb, arg};
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&q, 0, sizeof(q));
    q.since_seq = -1;
    q.limit = limit;
    if (after != NULL && after[0] != '\0') {
        rv = hsmca_serial_parse(after, a, &a_len);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("after");
            return rv;
        }
        q.after = a;
        q.after_len = a_len;
    }
    return hsmca_store_revoked_list(hsmca_ca_get0_store(ca), mount, &q, NULL, list_cb, &w);
}
