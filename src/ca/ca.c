/* SPDX-License-Identifier: Apache-2.0 */
/* The CA core context and mounts. */
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

hsmca_rv hsmca_ca_new(const hsmca_ca_config *cfg, hsmca_ca **out)
{
    hsmca_ca *ca;

    hsmca_return_val_if_fail(cfg != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if (cfg->store == NULL || cfg->keyslot == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "the CA needs a store and a key-slot manager");
    ca = calloc(1, sizeof(*ca));
    if (ca == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    ca->store = cfg->store;
    ca->keyslot = cfg->keyslot;
    ca->tok = hsmca_keyslot_get0_token(cfg->keyslot);
    ca->libctx = cfg->libctx;
    pthread_mutex_init(&ca->cache_lock, NULL);
    pthread_mutex_init(&ca->config_lock, NULL);
    atomic_init(&ca->gen, 1);
    ca->default_ttl = cfg->default_ttl > 0 ? cfg->default_ttl : CA_DEFAULT_TTL;
    ca->max_ttl = cfg->max_ttl > 0 ? cfg->max_ttl : CA_DEFAULT_TTL;
    if (hsmca_ocsp_state_new(&ca->ocsp) != HSMCA_OK || rev_crl_cache_new(&ca->crl_cache) != HSMCA_OK) {
        hsmca_ca_free(ca);
        return HSMCA_ERR_NOMEM;
    }
    *out = ca;
    return HSMCA_OK;
}

void hsmca_ca_free(hsmca_ca *ca)
{
    if (ca == NULL)
        return;
    for (size_t i = 0; i < ca->n_cache; i++) {
        hsmca_ca_issuer_clear(&ca->cache[i].iss);
        EVP_PKEY_free(ca->cache[i].key);
    }
    for (size_t i = 0; i < ca->n_roles; i++)
        hsmca_role_clear(&ca->roles[i].role);
    for (size_t i = 0; i < ca->n_urls; i++)
        ca_mount_urls_clear(&ca->urls[i].urls);
    hsmca_ocsp_state_free(ca->ocsp);
    rev_crl_cache_free(ca->crl_cache);
    pthread_mutex_destroy(&ca->cache_lock);
    pthread_mutex_destroy(&ca->config_lock);
    free(ca);
}

void ca_invalidate(hsmca_ca *ca)
{
    atomic_fetch_add(&ca->gen, 1);
}

hsmca_rv ca_commit(hsmca_ca *ca, hsmca_store_batch *b)
{
    /* Before and after: a reader that loaded between the two would
     * otherwise cache what the commit is replacing. */
    hsmca_rv rv;

    ca_invalidate(ca);
    rv = hsmca_store_batch_commit(b);
    ca_invalidate(ca);
    return rv;
}

static hsmca_rv check_mount_name(const char *mount)
{
    size_t n = mount ? strlen(mount) : 0;

    if (n == 0 || n > 64)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "mount name must be 1 to 64 bytes");
    for (size_t i = 0; i < n; i++) {
        char c = mount[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "mount name '%s' may contain only letters, digits, '_', '-' and '.'", mount);
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_ca_mount_enable(hsmca_ca *ca, const char *mount)
{
    hsmca_rv rv = check_mount_name(mount);

    if (rv != HSMCA_OK)
        return rv;
    return hsmca_store_mount_create(ca->store, mount, "pki", NULL);
}

static int collect_key(const hsmca_ca_key *k, void *arg)
{
    return hsmca_strlist_add(arg, k->key_id, strlen(k->key_id)) == HSMCA_OK;
}

hsmca_rv hsmca_ca_mount_disable(hsmca_ca *ca, const char *mount)
{
    hsmca_strlist keys = {0};
    hsmca_rv rv;

    /* Which token keys belong to the mount, before its records go. */
    rv = hsmca_ca_key_list(ca, mount, collect_key, &keys);
    if (rv == HSMCA_OK)
        rv = hsmca_ocsp_signer_keys(ca, mount, &keys);
    if (rv == HSMCA_OK)
        rv = hsmca_store_mount_delete(ca->store, mount);
    ca_invalidate(ca);
    for (size_t i = 0; rv == HSMCA_OK && i < keys.n; i++) {
        hsmca_rv krv = hsmca_keyslot_delete(ca->keyslot, keys.v[i]);
        if (krv != HSMCA_OK && krv != HSMCA_ERR_NOT_FOUND)
            hsmca_log(HSMCA_LOG_ERR, "mount '%s' removed, but its key %s stays on the token: %s", mount,
                      keys.v[i], hsmca_err_message());
    }
    hsmca_strlist_clear(&keys);
    return rv;
}

void hsmca_ca_result_clear(hsmca_ca_result *r)
{
    if (r == NULL)
        return;
    X509_free(r->certificate);
    sk_X509_pop_free(r->ca_chain, X509_free);
    X509_REQ_free(r->csr);
    EVP_PKEY_free(r->private_key);
    hsmca_strlist_clear(&r->warnings);
    hsmca_strlist_clear(&r->imported_issuers);
    hsmca_strlist_clear(&r->imported_keys);
    hsmca_strlist_clear(&r->existing_issuers);
    hsmca_strlist_clear(&r->existing_keys);
    memset(r, 0, sizeof(*r));
}
