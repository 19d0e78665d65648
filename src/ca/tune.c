/* SPDX-License-Identifier: Apache-2.0 */
/* A mount's lease TTLs (OpenBao's sys/mounts/:path/tune default_lease_ttl
 * and max_lease_ttl): stored as the mount's config/tune document, 0 meaning
 * the appliance's (hsmca_ca_config). Every validity computation asks here;
 * the values are cached per mount until the next write. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static hsmca_rv tune_load(hsmca_ca *ca, const char *mount, int64_t *def, int64_t *max)
{
    json_t *doc = NULL;
    hsmca_rv rv = ca_config_load(ca, mount, "tune", &doc);

    *def = 0;
    *max = 0;
    if (rv != HSMCA_OK)
        return rv;
    if (json_is_integer(json_object_get(doc, "default_lease_ttl")))
        *def = (int64_t)json_integer_value(json_object_get(doc, "default_lease_ttl"));
    if (json_is_integer(json_object_get(doc, "max_lease_ttl")))
        *max = (int64_t)json_integer_value(json_object_get(doc, "max_lease_ttl"));
    json_decref(doc);
    return HSMCA_OK;
}

hsmca_rv ca_mount_ttls(hsmca_ca *ca, const char *mount, int64_t *default_ttl, int64_t *max_ttl)
{
    unsigned long gen = atomic_load(&ca->gen);
    ca_tune_entry *e;
    int64_t def = 0, max = 0;
    hsmca_rv rv;

    if (strlen(mount) <= HSMCA_STORE_MOUNT_MAX) {
        pthread_mutex_lock(&ca->cache_lock);
        e = ca_cache_find(ca, ca->tunes, sizeof(ca->tunes[0]), ca->n_tunes, mount, "tune", gen);
        if (e != NULL) {
            def = e->default_ttl;
            max = e->max_ttl;
        }
        pthread_mutex_unlock(&ca->cache_lock);
        if (e == NULL) {
            if ((rv = tune_load(ca, mount, &def, &max)) != HSMCA_OK)
                return rv;
            pthread_mutex_lock(&ca->cache_lock);
            e = ca_cache_slot(ca, ca->tunes, sizeof(ca->tunes[0]), &ca->n_tunes, CA_TUNE_CACHE_MAX);
            ca_cache_fill(ca, &e->tag, mount, "tune", gen);
            e->default_ttl = def;
            e->max_ttl = max;
            pthread_mutex_unlock(&ca->cache_lock);
        }
    }
    *max_ttl = max > 0 ? max : ca->max_ttl;
    /* OpenBao: the default never exceeds the maximum. */
    *default_ttl = def > 0 ? def : ca->default_ttl;
    if (*default_ttl > *max_ttl)
        *default_ttl = *max_ttl;
    return HSMCA_OK;
}

hsmca_rv hsmca_ca_mount_tune_get(hsmca_ca *ca, const char *mount, int64_t *default_ttl, int64_t *max_ttl)
{
    hsmca_store_mount m;
    hsmca_rv rv;

    memset(&m, 0, sizeof(m));
    if ((rv = hsmca_store_mount_get(ca->store, mount, &m)) != HSMCA_OK)
        return rv;
    hsmca_store_mount_clear(&m);
    return ca_mount_ttls(ca, mount, default_ttl, max_ttl);
}

hsmca_rv hsmca_ca_mount_tune_set(hsmca_ca *ca, const char *mount, int64_t default_ttl, int64_t max_ttl)
{
    int64_t cur_def = 0, cur_max = 0;
    hsmca_store_batch *b = NULL;
    char text[128];
    hsmca_rv rv;

    if ((rv = hsmca_ca_mount_tune_get(ca, mount, &cur_def, &cur_max)) != HSMCA_OK)
        return rv;
    if ((rv = tune_load(ca, mount, &cur_def, &cur_max)) != HSMCA_OK)
        return rv;
    /* negative: leave as it is (a tune call may give only one of them) */
    if (default_ttl >= 0)
        cur_def = default_ttl;
    if (max_ttl >= 0)
        cur_max = max_ttl;
    {
        int64_t eff_max = cur_max > 0 ? cur_max : ca->max_ttl;
        if (cur_def > eff_max)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "default_lease_ttl %llds is larger than max_lease_ttl %llds",
                             (long long)cur_def, (long long)eff_max);
    }
    snprintf(text, sizeof(text), "{\"default_lease_ttl\":%lld,\"max_lease_ttl\":%lld}", (long long)cur_def,
             (long long)cur_max);
    b = hsmca_store_batch_new(ca->store);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, "tune", NULL, text, NULL, 0);
    rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    return rv;
}
