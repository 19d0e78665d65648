/* SPDX-License-Identifier: Apache-2.0 */
/* The issuers the responder answers for, per mount: certificates, CertID
 * hashes, token keys, signature algorithms and delegated signers, loaded
 * once per CA generation instead of once per request. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "hsmca/log.h"
#include "ocsp_internal.h"

static void issuer_clear(ocsp_issuer *i)
{
    X509_free(i->cert);
    EVP_PKEY_free(i->key);
    X509_free(i->signer_cert);
    EVP_PKEY_free(i->signer_key);
    memset(i, 0, sizeof(*i));
}

void ocsp_mount_unref(ocsp_mount *m)
{
    if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    for (size_t k = 0; k < m->n; k++)
        issuer_clear(&m->issuers[k]);
    OPENSSL_free(m);
}

/* The digest and padding for the issuer's responses: its
 * revocation_signature_algorithm when that suits the key (OpenBao applies
 * it to CRLs and OCSP alike), else by key, with RSA-PSS for an issuer whose
 * own certificate is PSS-signed (a root made with use_pss) -- such a CA
 * has chosen PSS and its relying parties verify PSS. */
static void pick_signature(ocsp_issuer *i, const char *alg)
{
    bool rsa = EVP_PKEY_is_a(i->key, "RSA"), ec = EVP_PKEY_is_a(i->key, "EC");

    i->md = ca_sign_digest(i->key, 0);
    i->pss = false;
    if (EVP_PKEY_is_a(i->key, "ED25519"))
        return;
    if (alg[0] != '\0' && ((rsa && strstr(alg, "WithRSA") != NULL) || (ec && strncmp(alg, "ECDSAWith", 9) == 0))) {
        i->md = strstr(alg, "SHA512") ? "SHA512" : strstr(alg, "SHA384") ? "SHA384" : "SHA256";
        i->pss = strstr(alg, "PSS") != NULL;
        return;
    }
    i->pss = rsa && X509_get_signature_nid(i->cert) == NID_rsassaPss;
}

static hsmca_rv hash_issuer(ocsp_issuer *i)
{
    unsigned len = 0;

    if (!X509_NAME_digest(X509_get_subject_name(i->cert), EVP_sha1(), i->name_sha1, &len) || len != 20 ||
        !X509_pubkey_digest(i->cert, EVP_sha1(), i->key_sha1, &len) || len != 20 ||
        !X509_NAME_digest(X509_get_subject_name(i->cert), EVP_sha256(), i->name_sha256, &len) || len != 32 ||
        !X509_pubkey_digest(i->cert, EVP_sha256(), i->key_sha256, &len) || len != 32) {
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot hash issuer '%s' for OCSP", i->issuer_id);
    }
    return HSMCA_OK;
}

typedef struct {
    ocsp_mount *m;
    char algs[OCSP_ISSUERS_MAX][32];
    hsmca_strlist key_ids;
    hsmca_rv rv;
} table_walk;

static int table_cb(const hsmca_ca_issuer *src, void *arg)
{
    table_walk *w = arg;
    ocsp_issuer *i;

    if (w->m->n == OCSP_ISSUERS_MAX) {
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': OCSP answers for the first %d issuers only", w->m->mount,
                  OCSP_ISSUERS_MAX);
        return 0;
    }
    i = &w->m->issuers[w->m->n];
    if (!X509_up_ref(src->certificate)) {
        w->rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference an issuer certificate");
        return 0;
    }
    i->cert = src->certificate;
    snprintf(i->issuer_id, sizeof(i->issuer_id), "%s", src->issuer_id);
    snprintf(w->algs[w->m->n], sizeof(w->algs[0]), "%s", src->revocation_signature_algorithm);
    i->usage = src->usage;
    w->rv = hsmca_strlist_add(&w->key_ids, src->key_id, strlen(src->key_id));
    w->m->n++;
    return w->rv == HSMCA_OK;
}

/* Loads the delegated signer of every issuer that signs, issuing one where
 * none is valid. Issuing bumps the CA generation: the table built here is
 * already stale then and the next request rebuilds it (once). */
static hsmca_rv load_signers(hsmca_ca *ca, ocsp_mount *m, const ocsp_settings *set)
{
    hsmca_rv rv = HSMCA_OK;

    for (size_t k = 0; k < m->n && rv == HSMCA_OK; k++) {
        ocsp_issuer *i = &m->issuers[k];
        if (i->key == NULL || !(i->usage & HSMCA_USAGE_OCSP))
            continue;
        rv = ocsp_signer_load(ca, m->mount, i);
        if (rv != HSMCA_OK || (i->signer_cert != NULL && ca_now() < i->signer_renew_at))
            continue;
        pthread_mutex_lock(&ca->ocsp->issue_lock);
        /* Another thread may have issued it while this one waited. */
        X509_free(i->signer_cert);
        EVP_PKEY_free(i->signer_key);
        i->signer_cert = NULL;
        i->signer_key = NULL;
        rv = ocsp_signer_load(ca, m->mount, i);
        if (rv == HSMCA_OK && (i->signer_cert == NULL || ca_now() >= i->signer_renew_at)) {
            rv = ocsp_signer_issue(ca, m->mount, i, set->delegated_ttl);
            if (rv == HSMCA_OK) {
                X509_free(i->signer_cert);
                EVP_PKEY_free(i->signer_key);
                i->signer_cert = NULL;
                i->signer_key = NULL;
                rv = ocsp_signer_load(ca, m->mount, i);
            }
        }
        pthread_mutex_unlock(&ca->ocsp->issue_lock);
        if (rv != HSMCA_OK)
            hsmca_err_prefix("issuer '%s': delegated OCSP signer", i->issuer_id);
    }
    return rv;
}

static hsmca_rv table_build(hsmca_ca *ca, const char *mount, const ocsp_settings *set, unsigned long gen,
                            ocsp_mount **out)
{
    table_walk w;
    json_t *issuers_cfg = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    memset(&w, 0, sizeof(w));
    *out = NULL;
    w.m = OPENSSL_zalloc(sizeof(*w.m));
    if (w.m == NULL) {
        hsmca_err(rv, "out of memory");
        goto done;
    }
    atomic_init(&w.m->refs, 1);
    snprintf(w.m->mount, sizeof(w.m->mount), "%s", mount);
    w.m->gen = gen;
    w.m->delegated = set->delegated;
    rv = hsmca_ca_issuer_list(ca, mount, table_cb, &w);
    if (rv == HSMCA_OK)
        rv = w.rv;
    if (rv != HSMCA_OK)
        goto done;
    rv = ca_config_load(ca, mount, "issuers", &issuers_cfg);
    if (rv != HSMCA_OK)
        goto done;
    snprintf(w.m->default_id, sizeof(w.m->default_id), "%s", ca_json_str(issuers_cfg, "default", ""));
    for (size_t k = 0; k < w.m->n; k++) {
        ocsp_issuer *i = &w.m->issuers[k];
        if ((rv = hash_issuer(i)) != HSMCA_OK)
            goto done;
        if (w.key_ids.v[k][0] == '\0')
            continue; /* key-less (an imported chain): answers about it are unknown */
        rv = ca_key_pkey(ca, w.key_ids.v[k], &i->key);
        if (rv != HSMCA_OK) {
            /* The issuer's key is missing from the token: the issuer cannot
             * sign, as if key-less, but the others still answer. */
            if (rv == HSMCA_ERR_HSM_UNAVAILABLE)
                goto done;
            hsmca_log(HSMCA_LOG_WARNING, "mount '%s': issuer '%s' key not usable for OCSP: %s", mount,
                      i->issuer_id, hsmca_err_message());
            hsmca_err_clear();
            continue;
        }
        pick_signature(i, w.algs[k]);
    }
    if (set->delegated && (rv = load_signers(ca, w.m, set)) != HSMCA_OK)
        goto done;
    for (size_t k = 0; k < w.m->n; k++) {
        int64_t r = w.m->issuers[k].signer_cert != NULL ? w.m->issuers[k].signer_renew_at : 0;
        if (r > 0 && (w.m->renew_at == 0 || r < w.m->renew_at))
            w.m->renew_at = r;
    }
    *out = w.m;
    w.m = NULL;
    rv = HSMCA_OK;
done:
    ocsp_mount_unref(w.m);
    json_decref(issuers_cfg);
    hsmca_strlist_clear(&w.key_ids);
    return rv;
}

hsmca_rv ocsp_mount_get(hsmca_ca *ca, const char *mount, const ocsp_settings *set, ocsp_mount **out)
{
    hsmca_ocsp_state *st = ca->ocsp;
    unsigned long gen = atomic_load(&ca->gen);
    int64_t now = ca_now();
    ocsp_mount *built = NULL;
    size_t slot = 0;
    hsmca_rv rv;

    *out = NULL;
    pthread_mutex_lock(&st->lock);
    for (size_t k = 0; k < st->n_mounts; k++) {
        ocsp_mount *m = st->mounts[k];
        if (strcmp(m->mount, mount) == 0 && m->gen == gen && m->delegated == set->delegated &&
            (m->renew_at == 0 || now < m->renew_at)) {
            atomic_fetch_add(&m->refs, 1);
            st->mounts_used[k] = ++st->clock;
            *out = m;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (*out != NULL)
        return HSMCA_OK;

    /* Built outside the lock (store and token calls); two threads may both
     * build, the second replaces the first -- both are correct. */
    rv = table_build(ca, mount, set, gen, &built);
    if (rv != HSMCA_OK)
        return rv;
    pthread_mutex_lock(&st->lock);
    for (slot = 0; slot < st->n_mounts; slot++) {
        if (strcmp(st->mounts[slot]->mount, mount) == 0)
            break;
    }
    if (slot == st->n_mounts) {
        if (st->n_mounts < OCSP_MOUNTS_MAX) {
            st->n_mounts++; /* a fresh slot, NULL */
        } else {
            slot = 0; /* the least recently used mount goes */
            for (size_t k = 1; k < st->n_mounts; k++)
                slot = st->mounts_used[k] < st->mounts_used[slot] ? k : slot;
        }
    }
    ocsp_mount_unref(st->mounts[slot]);
    atomic_fetch_add(&built->refs, 1);
    st->mounts[slot] = built;
    st->mounts_used[slot] = ++st->clock;
    pthread_mutex_unlock(&st->lock);
    *out = built;
    return HSMCA_OK;
}

/* Whether the CertID's hashes are this issuer's under md. */
static bool hashes_match(const ocsp_issuer *i, const EVP_MD *md, const ASN1_OCTET_STRING *name_hash,
                         const ASN1_OCTET_STRING *key_hash)
{
    unsigned char nh[EVP_MAX_MD_SIZE], kh[EVP_MAX_MD_SIZE];
    unsigned nlen = 0, klen = 0;

    if (!X509_NAME_digest(X509_get_subject_name(i->cert), md, nh, &nlen) ||
        !X509_pubkey_digest(i->cert, md, kh, &klen)) {
        ERR_clear_error();
        return false;
    }
    return ASN1_STRING_length(name_hash) == (int)nlen && ASN1_STRING_length(key_hash) == (int)klen &&
           memcmp(ASN1_STRING_get0_data(name_hash), nh, nlen) == 0 &&
           memcmp(ASN1_STRING_get0_data(key_hash), kh, klen) == 0;
}

const ocsp_issuer *ocsp_mount_find(const ocsp_mount *m, const OCSP_CERTID *id)
{
    ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
    ASN1_OBJECT *alg = NULL;
    int nid;
    const EVP_MD *md = NULL;

    /* The getter takes non-const pointers but only reads. */
    if (!OCSP_id_get0_info(&name_hash, &alg, &key_hash, NULL, (OCSP_CERTID *)(uintptr_t)id) || name_hash == NULL ||
        key_hash == NULL)
        return NULL;
    nid = OBJ_obj2nid(alg);
    for (size_t k = 0; k < m->n; k++) {
        const ocsp_issuer *i = &m->issuers[k];
        const unsigned char *nh = ASN1_STRING_get0_data(name_hash), *kh = ASN1_STRING_get0_data(key_hash);
        int nl = ASN1_STRING_length(name_hash), kl = ASN1_STRING_length(key_hash);
        if (nid == NID_sha1) {
            if (nl == 20 && kl == 20 && memcmp(nh, i->name_sha1, 20) == 0 && memcmp(kh, i->key_sha1, 20) == 0)
                return i;
        } else if (nid == NID_sha256) {
            if (nl == 32 && kl == 32 && memcmp(nh, i->name_sha256, 32) == 0 && memcmp(kh, i->key_sha256, 32) == 0)
                return i;
        } else {
            /* SHA-384/512 (RFC 6960 allows any hash): hashed on demand;
             * anything else names no issuer of ours. */
            md = nid == NID_sha384 ? EVP_sha384() : nid == NID_sha512 ? EVP_sha512() : NULL;
            if (md != NULL && hashes_match(i, md, name_hash, key_hash))
                return i;
        }
    }
    return NULL;
}

const ocsp_issuer *ocsp_mount_default(const ocsp_mount *m)
{
    for (size_t k = 0; k < m->n; k++) {
        if (strcmp(m->issuers[k].issuer_id, m->default_id) == 0)
            return &m->issuers[k];
    }
    return NULL;
}
