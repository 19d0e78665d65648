/* SPDX-License-Identifier: Apache-2.0 */
/* Delegated OCSP signers (RFC 6960 4.2.2.2): per issuer, a key generated
 * in the token and a certificate the issuer signs with id-kp-OCSPSigning
 * and id-pkix-ocsp-nocheck, so the issuer's own key signs one certificate
 * per rollover instead of every response. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "ocsp_internal.h"

/* Clock skew the responder certificate tolerates, as for other
 * certificates the CA signs (OpenBao's not_before_duration default). */
#define SIGNER_BACKDATE 30

/* Rolled over once two thirds of its lifetime have passed: a third of the
 * lifetime (10 days at the default 30) remains for responses signed just
 * before the rollover, and for retries if issuing fails. */
static int64_t renew_time(X509 *cert)
{
    int64_t nb = ca_asn1_time_to_unix(X509_get0_notBefore(cert));
    int64_t na = ca_asn1_time_to_unix(X509_get0_notAfter(cert));

    return nb + (na - nb) / 3 * 2;
}

static hsmca_rv doc_key_id(const hsmca_store_doc *doc, char key_id[37])
{
    json_t *body = json_loads(doc->body ? doc->body : "", JSON_REJECT_DUPLICATES, NULL);
    const char *k = ca_json_str(body, "key_id", "");
    hsmca_rv rv = HSMCA_OK;

    if (strlen(k) != 36)
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored OCSP signer '%s' has no key_id", doc->id);
    else
        memcpy(key_id, k, 37);
    json_decref(body);
    return rv;
}

/* The key of the signer before the current one ("" when none): kept one
 * rollover longer, so a request that took the old signer just before a
 * rollover still signs with a key that exists. */
static void doc_previous_key_id(const hsmca_store_doc *doc, char key_id[37])
{
    json_t *body = json_loads(doc->body ? doc->body : "", JSON_REJECT_DUPLICATES, NULL);
    const char *k = ca_json_str(body, "previous_key_id", "");

    key_id[0] = '\0';
    if (strlen(k) == 36)
        memcpy(key_id, k, 37);
    json_decref(body);
}

hsmca_rv ocsp_signer_load(hsmca_ca *ca, const char *mount, ocsp_issuer *iss)
{
    hsmca_store_doc doc;
    char key_id[37];
    const unsigned char *p;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    hsmca_rv rv;

    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(ca->store, mount, OCSP_DOC_SIGNER, iss->issuer_id, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        rv = HSMCA_OK;
        goto done;
    }
    if (rv != HSMCA_OK || (rv = doc_key_id(&doc, key_id)) != HSMCA_OK)
        goto done;
    p = doc.blob;
    cert = doc.blob ? d2i_X509(NULL, &p, (long)doc.blob_len) : NULL;
    /* A signer that is not (or no longer) the issuer's, or whose key has
     * gone from the token, is as good as none: a new one is issued. */
    if (cert == NULL || X509_check_issued(iss->cert, cert) != X509_V_OK) {
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': stored OCSP signer of issuer '%s' is unusable; reissuing", mount,
                  iss->issuer_id);
        goto done;
    }
    rv = ca_key_pkey(ca, key_id, &key);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        rv = HSMCA_OK;
        goto done;
    }
    if (rv != HSMCA_OK)
        goto done;
    iss->signer_renew_at = renew_time(cert);
    iss->signer_not_after = ca_asn1_time_to_unix(X509_get0_notAfter(cert));
    iss->signer_cert = cert;
    iss->signer_key = key;
    cert = NULL;
    key = NULL;
done:
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    hsmca_store_doc_clear(&doc);
    return rv;
}

/* The responder's subject: the issuer's common name with " OCSP Responder",
 * so an operator reading a response sees whose responder it is. */
static hsmca_rv signer_subject(X509 *issuer, X509_NAME **out)
{
    char cn[65] = "";
    char text[65];
    X509_NAME *n = X509_NAME_new();

    *out = NULL;
    if (n == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(issuer), NID_commonName, cn, sizeof(cn)) < 0)
        cn[0] = '\0';
    /* ub-common-name is 64: the issuer's name is cut to leave room. */
    snprintf(text, sizeof(text), "%.*s%sOCSP Responder", 49, cn, cn[0] ? " " : "");
    if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)text, -1, -1, 0)) {
        X509_NAME_free(n);
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot build the OCSP responder subject");
    }
    *out = n;
    return HSMCA_OK;
}

static hsmca_rv signer_tbs(const ocsp_issuer *iss, EVP_PKEY *pub, int64_t now, int64_t ttl, X509 **out)
{
    X509 *x = X509_new();
    X509_NAME *subject = NULL;
    int64_t na = now + ttl, issuer_na = ca_asn1_time_to_unix(X509_get0_notAfter(iss->cert));
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (x == NULL) {
        hsmca_err(rv, "out of memory");
        goto done;
    }
    if ((rv = signer_subject(iss->cert, &subject)) != HSMCA_OK)
        goto done;
    /* Never beyond the issuer: a responder certificate outliving its CA
     * would be refused by path validation anyway. */
    if (issuer_na > 0 && na > issuer_na)
        na = issuer_na;
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)) || !X509_set_pubkey(x, pub)) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot set the OCSP responder certificate fields");
        goto done;
    }
    if ((rv = ca_set_time(X509_getm_notBefore(x), now - SIGNER_BACKDATE)) != HSMCA_OK ||
        (rv = ca_set_time(X509_getm_notAfter(x), na)) != HSMCA_OK)
        goto done;
    /* RFC 6960 4.2.2.2: id-kp-OCSPSigning in extendedKeyUsage; 4.2.2.2.1:
     * id-pkix-ocsp-nocheck, so clients do not ask about the responder's
     * own status (the short lifetime and rollover stand in for that). */
    if ((rv = ca_ext_add(x, iss->cert, NID_basic_constraints, "critical,CA:FALSE")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss->cert, NID_key_usage, "critical,digitalSignature")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss->cert, NID_ext_key_usage, "OCSPSigning")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss->cert, NID_id_pkix_OCSP_noCheck, "ignored")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss->cert, NID_subject_key_identifier, "hash")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss->cert, NID_authority_key_identifier, "keyid:always")) != HSMCA_OK)
        goto done;
    *out = x;
    x = NULL;
    rv = HSMCA_OK;
done:
    ERR_clear_error();
    X509_free(x);
    X509_NAME_free(subject);
    return rv;
}

/* The new key's type and size: the issuer's, so delegation does not weaken
 * (or needlessly slow) the responses. */
static hsmca_rv signer_key_type(EVP_PKEY *issuer_key, hsmca_key_type *type, unsigned *bits)
{
    *bits = (unsigned)EVP_PKEY_get_bits(issuer_key);
    if (EVP_PKEY_is_a(issuer_key, "RSA"))
        *type = HSMCA_KEY_RSA;
    else if (EVP_PKEY_is_a(issuer_key, "EC"))
        *type = HSMCA_KEY_EC;
    else if (EVP_PKEY_is_a(issuer_key, "ED25519"))
        *type = HSMCA_KEY_ED25519, *bits = 0;
    else
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "no delegated OCSP signer for issuer key type %s",
                         EVP_PKEY_get0_type_name(issuer_key));
    return HSMCA_OK;
}

hsmca_rv ocsp_signer_issue(hsmca_ca *ca, const char *mount, const ocsp_issuer *iss, int64_t ttl)
{
    hsmca_keyslot_info ki;
    hsmca_key_type type = HSMCA_KEY_RSA;
    unsigned bits = 0;
    EVP_PKEY *pkey = NULL;
    X509 *tbs = NULL, *cert = NULL;
    hsmca_ca_issuer signing_issuer;
    ca_sign_job job;
    hsmca_store_doc old;
    hsmca_store_batch *b = NULL;
    json_t *body = NULL;
    char *text = NULL, old_key_id[37] = "", older_key_id[37] = "", serial_text[HSMCA_SERIAL_TEXT_MAX + 1];
    unsigned char *der = NULL, serial[HSMCA_SERIAL_MAX];
    size_t serial_len = 0;
    int der_len;
    bool made_key = false;
    int64_t now = ca_now();
    hsmca_rv rv;

    memset(&old, 0, sizeof(old));
    memset(&signing_issuer, 0, sizeof(signing_issuer));
    if ((rv = signer_key_type(iss->key, &type, &bits)) != HSMCA_OK)
        goto done;
    /* The key it replaces becomes the previous one; the one before that is
     * destroyed once the new signer is recorded. */
    if (hsmca_store_doc_get(ca->store, mount, OCSP_DOC_SIGNER, iss->issuer_id, &old) == HSMCA_OK) {
        (void)doc_key_id(&old, old_key_id);
        doc_previous_key_id(&old, older_key_id);
    }
    hsmca_err_clear();
    if ((rv = hsmca_keyslot_generate(ca->keyslot, "", type, bits, &ki)) != HSMCA_OK)
        goto done;
    made_key = true;
    if ((rv = ca_key_pkey(ca, ki.key_id, &pkey)) != HSMCA_OK || (rv = signer_tbs(iss, pkey, now, ttl, &tbs)) != HSMCA_OK)
        goto done;

    /* Through the issuance pipeline like any certificate: serial and
     * intent, lint, token signature verified, stored -- so the responder
     * certificate is listed, can be revoked, and answers "good" itself. */
    signing_issuer.certificate = iss->cert; /* borrowed, never cleared */
    snprintf(signing_issuer.issuer_id, sizeof(signing_issuer.issuer_id), "%s", iss->issuer_id);
    ca_sign_job_init(&job, mount, iss->key, &signing_issuer, HSMCA_LINT_LEAF, now);
    job.role = "";
    job.use_pss = iss->pss;
    job.signature_bits = iss->md == NULL ? 0 : strcmp(iss->md, "SHA512") == 0 ? 512 : strcmp(iss->md, "SHA384") == 0 ? 384 : 256;
    if (EVP_PKEY_is_a(iss->key, "EC"))
        job.signature_bits = 0; /* by curve, as for the issuer's other certificates */
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;

    der_len = i2d_X509(cert, &der);
    if (der_len <= 0 || hsmca_serial_from_asn1(X509_get0_serialNumber(cert), serial, &serial_len) != HSMCA_OK) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the OCSP responder certificate");
        goto done;
    }
    hsmca_serial_format(serial, serial_len, serial_text);
    body = json_pack("{s:s, s:s, s:I, s:s}", "key_id", ki.key_id, "previous_key_id", old_key_id, "not_after",
                     (json_int_t)ca_asn1_time_to_unix(X509_get0_notAfter(cert)), "serial_number", serial_text);
    text = body ? ca_json_text(body) : NULL;
    b = text ? hsmca_store_batch_new(ca->store) : NULL;
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, OCSP_DOC_SIGNER, iss->issuer_id, NULL, text, der,
                              (size_t)der_len);
    /* ca_commit: the CA generation moves, so every mount table and cached
     * response made with the old signer is dropped. */
    if ((rv = ca_commit(ca, b)) != HSMCA_OK)
        goto done;
    made_key = false; /* recorded: it is the signer now */
    atomic_fetch_add(&ca->ocsp->delegated_certs, 1);
    hsmca_log(HSMCA_LOG_INFO, "mount '%s': issuer '%s' has a new delegated OCSP signer, serial %s, key %s", mount,
              iss->issuer_id, serial_text, ki.key_id);
    if (older_key_id[0] != '\0' && hsmca_keyslot_delete(ca->keyslot, older_key_id) != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': retired OCSP signer key %s not destroyed: %s", mount, older_key_id,
                  hsmca_err_message());
        hsmca_err_clear();
    }
    rv = HSMCA_OK;
done:
    if (made_key && hsmca_keyslot_delete(ca->keyslot, ki.key_id) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': unused OCSP signer key %s not destroyed", mount, ki.key_id);
    hsmca_store_batch_free(b);
    json_decref(body);
    free(text);
    OPENSSL_free(der);
    X509_free(tbs);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    hsmca_store_doc_clear(&old);
    return rv;
}

/* Appends the record's current and previous keys to keys. */
static int add_signer_keys(const hsmca_store_doc *doc, hsmca_strlist *keys)
{
    char key_id[37], previous[37];

    doc_previous_key_id(doc, previous);
    if (previous[0] != '\0' && hsmca_strlist_add(keys, previous, strlen(previous)) != HSMCA_OK)
        return 0;
    if (doc_key_id(doc, key_id) != HSMCA_OK) {
        hsmca_err_clear(); /* a record without a key: nothing more to destroy */
        return 1;
    }
    return hsmca_strlist_add(keys, key_id, strlen(key_id)) == HSMCA_OK;
}

static int collect_signer_key(const hsmca_store_doc *doc, void *arg)
{
    return add_signer_keys(doc, arg);
}

hsmca_rv hsmca_ocsp_signer_keys(hsmca_ca *ca, const char *mount, hsmca_strlist *key_ids)
{
    return hsmca_store_doc_list(ca->store, mount, OCSP_DOC_SIGNER, NULL, 0, collect_signer_key, key_ids);
}

typedef struct {
    hsmca_store_batch *b;
    const char *mount;
    hsmca_strlist *key_ids;
} drop_walk;

static int drop_signer(const hsmca_store_doc *doc, void *arg)
{
    drop_walk *w = arg;

    hsmca_store_batch_doc_delete(w->b, w->mount, OCSP_DOC_SIGNER, doc->id);
    return add_signer_keys(doc, w->key_ids);
}

hsmca_rv hsmca_ocsp_signers_drop(hsmca_ca *ca, hsmca_store_batch *b, const char *mount, const char *issuer_id,
                                 hsmca_strlist *key_ids)
{
    drop_walk w = {b, mount, key_ids};
    hsmca_store_doc doc;
    hsmca_rv rv;

    if (issuer_id == NULL)
        return hsmca_store_doc_list(ca->store, mount, OCSP_DOC_SIGNER, NULL, 0, drop_signer, &w);
    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(ca->store, mount, OCSP_DOC_SIGNER, issuer_id, &doc);
    if (rv == HSMCA_OK)
        rv = drop_signer(&doc, &w) ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    else if (rv == HSMCA_ERR_NOT_FOUND)
        hsmca_err_clear(), rv = HSMCA_OK;
    hsmca_store_doc_clear(&doc);
    return rv;
}
