/* SPDX-License-Identifier: Apache-2.0 */
/* The signing issuer, loaded once: certificate, chain and token key kept
 * per (mount, reference) until the CA's generation moves. The slot helpers
 * at the end serve the role cache (roles.c) too. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A caller's own copy: shares the (immutable) certificates and key by
 * reference, copies the lists. */
static hsmca_rv issuer_copy(const hsmca_ca_issuer *src, hsmca_ca_issuer *dst)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    memset(dst, 0, sizeof(*dst));
    snprintf(dst->issuer_id, sizeof(dst->issuer_id), "%s", src->issuer_id);
    snprintf(dst->issuer_name, sizeof(dst->issuer_name), "%s", src->issuer_name);
    snprintf(dst->key_id, sizeof(dst->key_id), "%s", src->key_id);
    snprintf(dst->revocation_signature_algorithm, sizeof(dst->revocation_signature_algorithm), "%s",
             src->revocation_signature_algorithm);
    dst->usage = src->usage;
    dst->leaf_not_after_behavior = src->leaf_not_after_behavior;
    dst->enable_aia_url_templating = src->enable_aia_url_templating;
    dst->revoked = src->revoked;
    dst->revocation_time = src->revocation_time;
    dst->updated = src->updated;
    if (!X509_up_ref(src->certificate))
        goto done;
    dst->certificate = src->certificate;
    if (src->ca_chain != NULL) {
        dst->ca_chain = sk_X509_dup(src->ca_chain);
        if (dst->ca_chain == NULL)
            goto done;
        for (int i = 0; i < sk_X509_num(dst->ca_chain); i++) {
            if (!X509_up_ref(sk_X509_value(dst->ca_chain, i))) {
                /* references taken so far are dropped with the stack below */
                sk_X509_set(dst->ca_chain, i, NULL);
                goto done;
            }
        }
    }
    if ((rv = hsmca_strlist_copy(&dst->manual_chain, &src->manual_chain)) != HSMCA_OK ||
        (rv = hsmca_strlist_copy(&dst->issuing_certificates, &src->issuing_certificates)) != HSMCA_OK ||
        (rv = hsmca_strlist_copy(&dst->crl_distribution_points, &src->crl_distribution_points)) != HSMCA_OK ||
        (rv = hsmca_strlist_copy(&dst->ocsp_servers, &src->ocsp_servers)) != HSMCA_OK)
        goto done;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK) {
        hsmca_ca_issuer_clear(dst);
        if (rv == HSMCA_ERR_NOMEM)
            hsmca_err(rv, "out of memory copying an issuer");
    }
    return rv;
}

static hsmca_rv load_for_signing(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *iss,
                                 EVP_PKEY **pkey)
{
    hsmca_rv rv = hsmca_ca_issuer_get(ca, mount, ref, iss);

    *pkey = NULL;
    if (rv != HSMCA_OK)
        return rv;
    if (iss->key_id[0] == '\0')
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer '%s' has no key in this mount; it cannot sign",
                       iss->issuer_id);
    else if (!(iss->usage & HSMCA_USAGE_ISSUING))
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer '%s' usage does not include issuing-certificates",
                       iss->issuer_id);
    else if (iss->revoked)
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer '%s' is revoked and cannot sign", iss->issuer_id);
    else
        rv = ca_key_pkey(ca, iss->key_id, pkey);
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(iss);
    return rv;
}

hsmca_rv ca_issuer_for_signing(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *iss,
                               EVP_PKEY **pkey)
{
    unsigned long gen = atomic_load(&ca->gen);
    hsmca_ca_issuer loaded;
    EVP_PKEY *key = NULL;
    ca_issuer_entry *slot = NULL;
    hsmca_rv rv;

    *pkey = NULL;
    memset(iss, 0, sizeof(*iss));
    if (ref == NULL || ref[0] == '\0')
        ref = "default";
    if (strlen(mount) > HSMCA_STORE_MOUNT_MAX || strlen(ref) > HSMCA_STORE_ID_MAX)
        return load_for_signing(ca, mount, ref, iss, pkey); /* reports the bad reference */

    pthread_mutex_lock(&ca->cache_lock);
    {
        ca_issuer_entry *e = ca_cache_find(ca, ca->cache, sizeof(ca->cache[0]), ca->n_cache, mount, ref, gen);
        if (e != NULL) {
            rv = issuer_copy(&e->iss, iss);
            if (rv == HSMCA_OK && EVP_PKEY_up_ref(e->key))
                *pkey = e->key;
            else if (rv == HSMCA_OK)
                hsmca_ca_issuer_clear(iss), rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference a key");
            pthread_mutex_unlock(&ca->cache_lock);
            return rv;
        }
    }
    pthread_mutex_unlock(&ca->cache_lock);

    /* Loaded outside the lock: it talks to the token and the store. The
     * generation read before loading keeps a concurrent write from leaving
     * a stale entry valid. */
    rv = load_for_signing(ca, mount, ref, &loaded, &key);
    if (rv != HSMCA_OK)
        return rv;
    rv = issuer_copy(&loaded, iss);
    if (rv != HSMCA_OK) {
        hsmca_ca_issuer_clear(&loaded);
        EVP_PKEY_free(key);
        return rv;
    }
    if (!EVP_PKEY_up_ref(key)) {
        hsmca_ca_issuer_clear(&loaded);
        hsmca_ca_issuer_clear(iss);
        EVP_PKEY_free(key);
        return hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference a key");
    }
    *pkey = key;

    pthread_mutex_lock(&ca->cache_lock);
    slot = ca_cache_slot(ca, ca->cache, sizeof(ca->cache[0]), &ca->n_cache, CA_ISSUER_CACHE_MAX);
    hsmca_ca_issuer_clear(&slot->iss);
    EVP_PKEY_free(slot->key);
    ca_cache_fill(ca, &slot->tag, mount, ref, gen);
    slot->iss = loaded;
    slot->key = key; /* the load's reference moves into the cache */
    pthread_mutex_unlock(&ca->cache_lock);
    return HSMCA_OK;
}

void *ca_cache_find(hsmca_ca *ca, void *entries, size_t stride, size_t n, const char *mount, const char *ref,
                    unsigned long gen)
{
    for (size_t i = 0; i < n; i++) {
        ca_cache_tag *t = (ca_cache_tag *)((char *)entries + i * stride);
        if (t->gen == gen && strcmp(t->mount, mount) == 0 && strcmp(t->ref, ref) == 0) {
            t->used = ++ca->cache_clock;
            return t;
        }
    }
    return NULL;
}

void *ca_cache_slot(hsmca_ca *ca, void *entries, size_t stride, size_t *n, size_t max)
{
    unsigned long now = atomic_load(&ca->gen);
    ca_cache_tag *oldest = NULL;

    for (size_t i = 0; i < *n; i++) {
        ca_cache_tag *t = (ca_cache_tag *)((char *)entries + i * stride);
        if (t->gen != now)
            return t; /* stale: reuse */
        if (oldest == NULL || t->used < oldest->used)
            oldest = t;
    }
    if (*n < max)
        return (char *)entries + (*n)++ * stride; /* zeroed by calloc, never used */
    return oldest;
}

void ca_cache_fill(hsmca_ca *ca, ca_cache_tag *tag, const char *mount, const char *ref, unsigned long gen)
{
    snprintf(tag->mount, sizeof(tag->mount), "%s", mount);
    snprintf(tag->ref, sizeof(tag->ref), "%s", ref);
    tag->gen = gen;
    tag->used = ++ca->cache_clock;
}
