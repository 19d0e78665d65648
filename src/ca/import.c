/* SPDX-License-Identifier: Apache-2.0 */
/* Importing CA certificates and keys (config/ca, issuers/import/bundle and
 * /cert, intermediate/set-signed): keys go into the token, certificates
 * become issuers, duplicates are recognised. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/transcript.h"
#include "hsmca/uuid.h"
#include "internal.h"

#define IMPORT_MAX_OBJECTS 64       /* PEM blocks in one bundle */
#define IMPORT_MAX_BYTES (1 << 20)  /* one bundle */

hsmca_rv ca_new_uuid(hsmca_ca *ca, char out[37])
{
    unsigned char b[16];
    hsmca_rv rv = hsmca_p11_token_random(ca->tok, b, sizeof(b));

    if (rv != HSMCA_OK)
        return rv;
    hsmca_uuid_set_version(b, 4);
    hsmca_uuid_format(b, out);
    return HSMCA_OK;
}

typedef struct {
    hsmca_ca *ca;
    EVP_PKEY *pub;
    char *key_id;
} key_search;

static int key_search_cb(const hsmca_ca_key *k, void *arg)
{
    key_search *s = arg;
    hsmca_p11_key *key = NULL;
    int go = 1;

    if (hsmca_keyslot_get1_key(s->ca->keyslot, k->key_id, &key) == HSMCA_OK) {
        if (EVP_PKEY_eq(hsmca_p11_key_get0_public(key), s->pub) == 1) {
            snprintf(s->key_id, 37, "%s", k->key_id);
            go = 0;
        }
        hsmca_p11_key_free(key);
    }
    ERR_clear_error();
    hsmca_err_clear();
    return go;
}

/* The mount key whose public key is pub ("" if none). */
static hsmca_rv find_key_for_pub(hsmca_ca *ca, const char *mount, EVP_PKEY *pub, char key_id[37])
{
    key_search s = {ca, pub, key_id};

    key_id[0] = '\0';
    if (pub == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "unreadable public key");
    return hsmca_ca_key_list(ca, mount, key_search_cb, &s);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* The public half of a PEM private key block (to tell a new key from one
 * the mount already has). */
static EVP_PKEY *pem_key_public(const char *pem, size_t len)
{
    BIO *in = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *priv = in ? PEM_read_bio_PrivateKey_ex(in, NULL, no_passphrase, NULL, NULL, "provider!=hsmca") : NULL;
    EVP_PKEY *pub = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    int n;

    ERR_clear_error();
    if (priv != NULL && (n = i2d_PUBKEY(priv, &der)) > 0) {
        p = der;
        pub = d2i_PUBKEY(NULL, &p, n);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(priv); /* clears the private components */
    BIO_free(in);
    return pub;
}

typedef struct {
    X509 *certs[IMPORT_MAX_OBJECTS];
    size_t n_certs;
    char *keys[IMPORT_MAX_OBJECTS]; /* PEM text of each private key block */
    size_t key_len[IMPORT_MAX_OBJECTS];
    size_t n_keys;
} bundle;

static void bundle_clear(bundle *b)
{
    for (size_t i = 0; i < b->n_certs; i++)
        X509_free(b->certs[i]);
    for (size_t i = 0; i < b->n_keys; i++)
        OPENSSL_clear_free(b->keys[i], b->key_len[i]);
    memset(b, 0, sizeof(*b));
}

/* Splits a PEM bundle into certificates and private-key blocks. */
static hsmca_rv bundle_parse(const char *pem, size_t len, bundle *out)
{
    BIO *in = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    memset(out, 0, sizeof(*out));
    if (pem == NULL || len == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle is empty");
    if (len > IMPORT_MAX_BYTES)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle is larger than %d bytes", IMPORT_MAX_BYTES);
    in = BIO_new_mem_buf(pem, (int)len);
    if (in == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    for (int blocks = 0;; blocks++) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;

        if (PEM_read_bio(in, &name, &header, &data, &dlen) != 1) {
            unsigned long e = ERR_peek_last_error();
            ERR_clear_error();
            if (blocks > 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: %s", blocks == 0 ? "no PEM block found"
                                                                               : "a PEM block is malformed");
            goto done;
        }
        if (blocks >= IMPORT_MAX_OBJECTS) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle has more than %d blocks", IMPORT_MAX_OBJECTS);
        } else if (header != NULL && header[0] != '\0') {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: encrypted PEM ('%s') is not accepted", name);
        } else if (strcmp(name, "CERTIFICATE") == 0) {
            const unsigned char *p = data;
            X509 *x = d2i_X509(NULL, &p, dlen);
            if (x == NULL || p != data + dlen)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: certificate %zu is not valid DER",
                               out->n_certs + 1);
            else
                out->certs[out->n_certs++] = x, x = NULL, rv = HSMCA_OK;
            X509_free(x);
        } else if (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "RSA PRIVATE KEY") == 0 ||
                   strcmp(name, "EC PRIVATE KEY") == 0) {
            /* Re-armoured for the key-slot manager's PEM import; the copy is
             * cleansed when the bundle is cleared. */
            BIO *mem = BIO_new(BIO_s_mem());
            BUF_MEM *bm = NULL;
            if (mem != NULL && PEM_write_bio(mem, name, "", data, dlen) > 0 && BIO_get_mem_ptr(mem, &bm) == 1) {
                out->keys[out->n_keys] = OPENSSL_memdup(bm->data, bm->length);
                out->key_len[out->n_keys] = bm->length;
                OPENSSL_cleanse(bm->data, bm->length);
            }
            rv = out->keys[out->n_keys] ? (out->n_keys++, HSMCA_OK) : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            BIO_free(mem);
        } else if (strcmp(name, "EC PARAMETERS") == 0) {
            /* `openssl ecparam -genkey` writes this block before the key.
             * The key block names its own curve, so a named curve is
             * skipped; explicit parameters are refused as the key-slot
             * manager refuses them (RFC 5480 2.1.1: named curves only). */
            const unsigned char *p = data;
            ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, dlen);
            int nid = oid && p == data + dlen ? OBJ_obj2nid(oid) : NID_undef;
            if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1)
                rv = HSMCA_OK;
            else
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: EC PARAMETERS must name P-256, P-384 or P-521 "
                                                      "(explicit or other curves are not accepted)");
            ASN1_OBJECT_free(oid);
        } else if (strcmp(name, "X509 CRL") == 0) {
            rv = HSMCA_OK; /* OpenBao ignores CRLs in bundles */
        } else {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: block type '%s' is not a certificate or key", name);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, (size_t)dlen);
        if (rv != HSMCA_OK)
            goto done;
    }
    rv = HSMCA_OK;
done:
    BIO_free(in);
    if (rv != HSMCA_OK)
        bundle_clear(out);
    return rv;
}

static hsmca_rv set_default_issuer_if_none(hsmca_ca *ca, hsmca_store_batch *b, const char *mount,
                                           const char *issuer_id)
{
    json_t *cfg = NULL;
    hsmca_rv rv = ca_config_load(ca, mount, "issuers", &cfg);

    if (rv != HSMCA_OK)
        return rv;
    if (ca_json_str(cfg, "default", "")[0] == '\0') {
        char *text;
        json_object_set_new(cfg, "default", json_string(issuer_id));
        if (json_object_get(cfg, "default_follows_latest_issuer") == NULL)
            json_object_set_new(cfg, "default_follows_latest_issuer", json_false());
        text = ca_json_text(cfg);
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, "issuers", NULL, text, NULL, 0);
        free(text);
    } else if (json_is_true(json_object_get(cfg, "default_follows_latest_issuer"))) {
        char *text;
        json_object_set_new(cfg, "default", json_string(issuer_id));
        text = ca_json_text(cfg);
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, "issuers", NULL, text, NULL, 0);
        free(text);
    }
    json_decref(cfg);
    return HSMCA_OK;
}

hsmca_rv ca_issuer_create(hsmca_ca *ca, const char *mount, X509 *cert, const char *key_id, const char *name,
                          hsmca_ca_issuer *out)
{
    return ca_issuer_create_with_id(ca, mount, cert, key_id, name, NULL, out);
}

hsmca_rv ca_issuer_create_with_id(hsmca_ca *ca, const char *mount, X509 *cert, const char *key_id, const char *name,
                                  const char *issuer_id, hsmca_ca_issuer *out)
{
    hsmca_store_batch *b = NULL;
    hsmca_rv rv = HSMCA_OK;

    memset(out, 0, sizeof(*out));
    if (issuer_id != NULL)
        snprintf(out->issuer_id, sizeof(out->issuer_id), "%s", issuer_id);
    else
        rv = ca_new_uuid(ca, out->issuer_id);
    if (rv != HSMCA_OK)
        return rv;
    snprintf(out->issuer_name, sizeof(out->issuer_name), "%s", name ? name : "");
    snprintf(out->key_id, sizeof(out->key_id), "%s", key_id ? key_id : "");
    if (!X509_up_ref(cert))
        return hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference the certificate");
    out->certificate = cert;
    out->usage = HSMCA_USAGE_ALL;
    out->leaf_not_after_behavior = HSMCA_NOT_AFTER_ERR;
    b = hsmca_store_batch_new(ca->store);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    rv = ca_issuer_record(b, mount, out);
    if (rv == HSMCA_OK)
        rv = set_default_issuer_if_none(ca, b, mount, out->issuer_id);
    if (rv == HSMCA_OK)
        rv = ca_commit(ca, b);
done:
    hsmca_store_batch_free(b);
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(out);
    return rv;
}

hsmca_rv hsmca_ca_import_bundle(hsmca_ca *ca, const char *mount, const char *pem, size_t pem_len, bool allow_keys,
                                hsmca_ca_result *out)
{
    bundle bnd;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    rv = bundle_parse(pem, pem_len, &bnd);
    if (rv != HSMCA_OK)
        return rv;
    if (bnd.n_keys > 0 && !allow_keys) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "private keys are not accepted on this path (use issuers/import/bundle)");
        goto done;
    }
    /* Everything the input decides is checked before anything is written:
     * a bundle refused half-way must not leave its first issuers or keys
     * behind (found by fuzz_pem_import: a chain whose second certificate's
     * key does not decode imported the first). */
    for (size_t i = 0; i < bnd.n_keys; i++) {
        EVP_PKEY *pub = pem_key_public(bnd.keys[i], bnd.key_len[i]);
        if (pub == NULL) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "private key %zu of pem_bundle cannot be read", i + 1);
            goto done;
        }
        EVP_PKEY_free(pub);
    }
    for (size_t i = 0; i < bnd.n_certs; i++) {
        if (X509_get0_pubkey(bnd.certs[i]) == NULL) {
            ERR_clear_error();
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate %zu of pem_bundle: its public key cannot be read",
                           i + 1);
            goto done;
        }
        if (X509_check_ca(bnd.certs[i]) < 1) {
            char cn[128] = "";
            X509_NAME_get_text_by_NID(X509_get_subject_name(bnd.certs[i]), NID_commonName, cn, sizeof(cn));
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                           "certificate %zu ('%s') is not a CA certificate (basicConstraints CA:TRUE); only "
                           "CA certificates can be imported as issuers", i + 1, cn);
            goto done;
        }
    }
    if (bnd.n_certs == 0 && bnd.n_keys == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle holds no certificate and no key");
        goto done;
    }
    for (size_t i = 0; i < bnd.n_keys; i++) {
        hsmca_ca_key k;
        char before[37];
        EVP_PKEY *pub = pem_key_public(bnd.keys[i], bnd.key_len[i]);
        /* Whether the mount already had the key decides imported_keys vs
         * existing_keys; the import itself deduplicates. */
        rv = find_key_for_pub(ca, mount, pub, before);
        EVP_PKEY_free(pub);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("private key %zu of pem_bundle", i + 1);
            goto done;
        }
        rv = hsmca_ca_key_import(ca, mount, NULL, bnd.keys[i], bnd.key_len[i], &k);
        if (rv != HSMCA_OK)
            goto done;
        if (hsmca_strlist_contains(&out->imported_keys, k.key_id) ||
            hsmca_strlist_contains(&out->existing_keys, k.key_id))
            continue;
        hsmca_strlist_add(before[0] ? &out->existing_keys : &out->imported_keys, k.key_id, strlen(k.key_id));
    }
    for (size_t i = 0; i < bnd.n_certs; i++) {
        char id[37], key_id[37];
        hsmca_ca_issuer iss;
        rv = ca_issuer_find_by_cert(ca, mount, bnd.certs[i], id);
        if (rv != HSMCA_OK)
            goto done;
        if (id[0] != '\0') {
            if (!hsmca_strlist_contains(&out->existing_issuers, id))
                hsmca_strlist_add(&out->existing_issuers, id, strlen(id));
            continue;
        }
        rv = find_key_for_pub(ca, mount, X509_get0_pubkey(bnd.certs[i]), key_id);
        if (rv != HSMCA_OK)
            goto done;
        rv = ca_issuer_create(ca, mount, bnd.certs[i], key_id, NULL, &iss);
        if (rv != HSMCA_OK)
            goto done;
        hsmca_strlist_add(&out->imported_issuers, iss.issuer_id, strlen(iss.issuer_id));
        hsmca_ca_issuer_clear(&iss);
    }
    rv = HSMCA_OK;
done:
    bundle_clear(&bnd);
    if (rv != HSMCA_OK) {
        hsmca_rv keep = rv;
        char detail[512];
        snprintf(detail, sizeof(detail), "%s", hsmca_err_message());
        hsmca_ca_result_clear(out);
        hsmca_err(keep, "%s", detail);
    }
    return rv;
}

hsmca_rv hsmca_ca_import_bundle_transcript(hsmca_ca *ca, const char *mount, const char *pem, size_t pem_len,
                                           bool allow_keys, const char *transcript, size_t transcript_len,
                                           hsmca_ca_result *out)
{
    hsmca_transcript tr;
    bundle bnd;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    memset(&tr, 0, sizeof(tr));
    if ((rv = bundle_parse(pem, pem_len, &bnd)) != HSMCA_OK)
        return rv;
    if (bnd.n_certs == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "transcript: the bundle holds no certificate to check against it");
        goto done;
    }
    /* Checked before anything is written: a refused transcript imports
     * nothing. */
    if ((rv = hsmca_transcript_check(transcript, transcript_len, NULL, NULL, &tr)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_transcript_match_certificate(&tr, bnd.certs[0])) != HSMCA_OK) {
        hsmca_err_prefix("transcript");
        goto done;
    }
    hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': importing an issuer made by ceremony '%s' (transcript signed by '%s')",
              mount, tr.name, tr.signer_label);
    /* A ceremony-made intermediate's key was generated in this token by its
     * own ceremony, outside the API: adopt it, so the issuer can sign. A key
     * elsewhere (the offline root's) leaves the issuer key-less, as in any
     * import. Only a CA certificate is imported, so only its key may be
     * adopted: a refused import must leave the mount as it was. */
    if (X509_check_ca(bnd.certs[0]) >= 1) {
        unsigned char *spki = NULL, md[32];
        char key_id[37];
        int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(bnd.certs[0]), &spki);
        hsmca_ca_key k;
        if (n <= 0) {
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the certificate's public key");
            goto done;
        }
        SHA256(spki, (size_t)n, md);
        OPENSSL_free(spki);
        if ((rv = find_key_for_pub(ca, mount, X509_get0_pubkey(bnd.certs[0]), key_id)) != HSMCA_OK)
            goto done;
        if (key_id[0] == '\0') {
            rv = ca_key_adopt_by_spki(ca, mount, md, &k);
            if (rv == HSMCA_ERR_NOT_FOUND)
                hsmca_err_clear();
            else if (rv != HSMCA_OK)
                goto done;
        }
    }
    rv = hsmca_ca_import_bundle(ca, mount, pem, pem_len, allow_keys, out);
done:
    hsmca_transcript_clear(&tr);
    bundle_clear(&bnd);
    return rv;
}
