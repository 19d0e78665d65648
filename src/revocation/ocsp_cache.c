/* SPDX-License-Identifier: Apache-2.0 */
/* The response cache: a signed answer about one certificate is served again
 * until it is due for refresh, so a burst of requests for the same
 * certificates costs one token signature each. Bounded (sets x ways),
 * filed by (mount, serial) so a revocation finds every answer about the
 * serial -- under each CertID hash algorithm -- in one set. */
#include <string.h>

#include <openssl/crypto.h>

#include "ocsp_internal.h"

/* FNV-1a over mount NUL serial: spreads random serials evenly; the cache
 * needs no resistance to chosen keys (a client can only ask about serials,
 * and a crowded set costs re-signing, nothing worse). */
static size_t set_index(const char *mount, const unsigned char *serial, size_t serial_len)
{
    uint64_t h = UINT64_C(1469598103934665603);

    for (const unsigned char *p = (const unsigned char *)mount; *p != '\0'; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    h = (h ^ 0) * UINT64_C(1099511628211);
    for (size_t k = 0; k < serial_len; k++)
        h = (h ^ serial[k]) * UINT64_C(1099511628211);
    return (size_t)(h & (OCSP_CACHE_SETS - 1));
}

static void entry_drop(ocsp_cache_entry *e)
{
    OPENSSL_free(e->der);
    memset(e, 0, sizeof(*e));
}

static bool entry_is(const ocsp_cache_entry *e, const ocsp_cache_key *key)
{
    return e->used && e->certid_len == key->certid_len && strcmp(e->mount, key->mount) == 0 &&
           memcmp(e->certid, key->certid, key->certid_len) == 0;
}

bool ocsp_cache_key_init(hsmca_ocsp_state *st, const char *mount, const OCSP_CERTID *id,
                         const unsigned char *serial, size_t serial_len, ocsp_cache_key *key)
{
    unsigned char *p = key->certid;
    int len = i2d_OCSP_CERTID((OCSP_CERTID *)(uintptr_t)id, NULL);

    if (len <= 0 || (size_t)len > sizeof(key->certid) || serial_len > sizeof(key->serial) ||
        strlen(mount) > HSMCA_STORE_MOUNT_MAX)
        return false;
    if (i2d_OCSP_CERTID((OCSP_CERTID *)(uintptr_t)id, &p) != len)
        return false;
    key->mount = mount;
    key->certid_len = (size_t)len;
    memcpy(key->serial, serial, serial_len);
    key->serial_len = serial_len;
    pthread_mutex_lock(&st->lock);
    key->epoch = st->sets[set_index(mount, serial, serial_len)].epoch;
    pthread_mutex_unlock(&st->lock);
    return true;
}

bool ocsp_cache_lookup(hsmca_ocsp_state *st, const ocsp_cache_key *key, unsigned long gen, int64_t expiry,
                       int64_t now, unsigned char **der, size_t *len, int *cert_status, int64_t *this_update,
                       int64_t *next_update)
{
    ocsp_cache_set *set = &st->sets[set_index(key->mount, key->serial, key->serial_len)];
    bool hit = false;

    *der = NULL;
    *len = 0;
    pthread_mutex_lock(&st->lock);
    for (size_t w = 0; w < OCSP_CACHE_WAYS; w++) {
        ocsp_cache_entry *e = &set->ways[w];
        if (!entry_is(e, key))
            continue;
        /* Issuers, keys or configuration changed since it was signed, or
         * ocsp_expiry is not what it was signed with, or it is due. */
        if (e->gen != gen || e->expiry != expiry || now >= e->refresh_at) {
            entry_drop(e);
            break;
        }
        *der = OPENSSL_memdup(e->der, e->der_len);
        if (*der != NULL) {
            *len = e->der_len;
            *cert_status = e->cert_status;
            *this_update = e->this_update;
            *next_update = e->next_update;
            e->used_at = ++st->clock;
            hit = true;
        }
        break;
    }
    pthread_mutex_unlock(&st->lock);
    return hit;
}

void ocsp_cache_store(hsmca_ocsp_state *st, const ocsp_cache_key *key, unsigned long gen, int64_t expiry,
                      int64_t refresh_at, const unsigned char *der, size_t len, int cert_status, int64_t this_update,
                      int64_t next_update)
{
    ocsp_cache_set *set = &st->sets[set_index(key->mount, key->serial, key->serial_len)];
    ocsp_cache_entry *slot = NULL;
    unsigned char *copy;

    if (len == 0 || len > OCSP_CACHED_RESPONSE_MAX)
        return;
    copy = OPENSSL_memdup(der, len);
    if (copy == NULL)
        return; /* not cached: the next request signs again */
    pthread_mutex_lock(&st->lock);
    if (set->epoch != key->epoch) {
        /* Invalidated (a revocation) after this answer's status was read:
         * it may be the old status. */
        pthread_mutex_unlock(&st->lock);
        OPENSSL_free(copy);
        return;
    }
    for (size_t w = 0; w < OCSP_CACHE_WAYS && slot == NULL; w++) {
        if (entry_is(&set->ways[w], key))
            slot = &set->ways[w];
    }
    for (size_t w = 0; w < OCSP_CACHE_WAYS && slot == NULL; w++) {
        if (!set->ways[w].used)
            slot = &set->ways[w];
    }
    if (slot == NULL) {
        slot = &set->ways[0];
        for (size_t w = 1; w < OCSP_CACHE_WAYS; w++)
            slot = set->ways[w].used_at < slot->used_at ? &set->ways[w] : slot;
    }
    entry_drop(slot);
    slot->used = true;
    memcpy(slot->mount, key->mount, strlen(key->mount) + 1);
    memcpy(slot->certid, key->certid, key->certid_len);
    slot->certid_len = key->certid_len;
    memcpy(slot->serial, key->serial, key->serial_len);
    slot->serial_len = key->serial_len;
    slot->cert_status = cert_status;
    slot->this_update = this_update;
    slot->next_update = next_update;
    slot->gen = gen;
    slot->expiry = expiry;
    slot->refresh_at = refresh_at;
    slot->used_at = ++st->clock;
    slot->der = copy;
    slot->der_len = len;
    pthread_mutex_unlock(&st->lock);
}

void hsmca_ocsp_cache_invalidate(hsmca_ca *ca, const char *mount, const unsigned char *serial, size_t serial_len)
{
    hsmca_ocsp_state *st;
    ocsp_cache_set *set;

    if (ca == NULL || ca->ocsp == NULL || mount == NULL || serial == NULL || serial_len > HSMCA_STORE_SERIAL_MAX)
        return;
    st = ca->ocsp;
    set = &st->sets[set_index(mount, serial, serial_len)];
    pthread_mutex_lock(&st->lock);
    set->epoch++;
    for (size_t w = 0; w < OCSP_CACHE_WAYS; w++) {
        ocsp_cache_entry *e = &set->ways[w];
        if (e->used && e->serial_len == serial_len && memcmp(e->serial, serial, serial_len) == 0 &&
            strcmp(e->mount, mount) == 0)
            entry_drop(e);
    }
    pthread_mutex_unlock(&st->lock);
}

void ocsp_cache_free(hsmca_ocsp_state *st)
{
    if (st->sets == NULL)
        return;
    for (size_t s = 0; s < OCSP_CACHE_SETS; s++) {
        for (size_t w = 0; w < OCSP_CACHE_WAYS; w++)
            entry_drop(&st->sets[s].ways[w]);
    }
    OPENSSL_free(st->sets);
    st->sets = NULL;
}
