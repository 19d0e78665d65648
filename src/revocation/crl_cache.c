/* SPDX-License-Identifier: Apache-2.0 */
/* The last signed CRLs in memory, per (mount, issuer, complete or delta):
 * a CRL read is served without reading the database (a CRL of a million
 * entries is 31 MiB of BLOB per request otherwise). Every CRL this process
 * stores is signed and committed by rev_crl_rebuild, which drops the
 * issuer's entries right after its commit, whichever path asked for the
 * build (revocation, crl/rotate, config/crl, tidy, the auto-rebuild job,
 * a first read). A second process writing the same database (several
 * nodes, later) would need the stored document's state compared instead,
 * as the issuer cache notes for ca->gen. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/store.h"
#include "internal.h"
#include "../ca/internal.h"

/* Bounded twice: slots, and bytes held (a CRL bigger than the byte bound
 * is simply read from the database each time). */
#define CRL_CACHE_SLOTS 32u
#define CRL_CACHE_BYTES (256u * 1024u * 1024u)

typedef struct {
    bool used;
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    char issuer_id[HSMCA_STORE_ID_MAX + 1];
    hsmca_crl_kind kind;
    unsigned char *der;
    size_t len;
    int64_t this_update;
    uint64_t used_at;
} crl_cache_entry;

struct rev_crl_cache {
    pthread_mutex_t lock;
    /* Bumped by every invalidation: a fill that read the database before
     * one may hold the CRL it replaced, and is not kept. */
    uint64_t gen;
    uint64_t clock;
    size_t bytes;
    crl_cache_entry e[CRL_CACHE_SLOTS];
};

hsmca_rv rev_crl_cache_new(struct rev_crl_cache **out)
{
    struct rev_crl_cache *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory for the CRL cache");
    pthread_mutex_init(&c->lock, NULL);
    c->gen = 1;
    *out = c;
    return HSMCA_OK;
}

static void entry_drop(struct rev_crl_cache *c, crl_cache_entry *e)
{
    if (e->used)
        c->bytes -= e->len;
    free(e->der);
    memset(e, 0, sizeof(*e));
}

void rev_crl_cache_free(struct rev_crl_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CRL_CACHE_SLOTS; i++)
        entry_drop(c, &c->e[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static bool entry_is(const crl_cache_entry *e, const char *mount, const char *issuer_id, hsmca_crl_kind kind)
{
    return e->used && e->kind == kind && strcmp(e->issuer_id, issuer_id) == 0 && strcmp(e->mount, mount) == 0;
}

bool rev_crl_cache_get(hsmca_ca *ca, const char *mount, const char *issuer_id, hsmca_crl_kind kind,
                       unsigned char **der, size_t *len, int64_t *this_update, uint64_t *gen)
{
    struct rev_crl_cache *c = ca->crl_cache;
    bool hit = false;

    *gen = 0;
    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->lock);
    *gen = c->gen;
    for (size_t i = 0; i < CRL_CACHE_SLOTS && !hit; i++) {
        crl_cache_entry *e = &c->e[i];

        if (!entry_is(e, mount, issuer_id, kind))
            continue;
        /* The caller owns its copy (the API frees it after sending). */
        *der = malloc(e->len);
        if (*der == NULL)
            break;
        memcpy(*der, e->der, e->len);
        *len = e->len;
        *this_update = e->this_update;
        e->used_at = ++c->clock;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void rev_crl_cache_put(hsmca_ca *ca, const char *mount, const char *issuer_id, hsmca_crl_kind kind,
                       const unsigned char *der, size_t len, int64_t this_update, uint64_t gen)
{
    struct rev_crl_cache *c = ca->crl_cache;
    crl_cache_entry *slot = NULL;
    unsigned char *copy;

    if (c == NULL || len == 0 || len > CRL_CACHE_BYTES || strlen(mount) > HSMCA_STORE_MOUNT_MAX ||
        strlen(issuer_id) > HSMCA_STORE_ID_MAX)
        return;
    copy = malloc(len);
    if (copy == NULL)
        return; /* not cached: the next read goes to the database */
    memcpy(copy, der, len);
    pthread_mutex_lock(&c->lock);
    if (gen != c->gen) {
        /* A CRL was signed since this one was read: it may be the old one. */
        pthread_mutex_unlock(&c->lock);
        free(copy);
        return;
    }
    for (size_t i = 0; i < CRL_CACHE_SLOTS; i++) {
        if (entry_is(&c->e[i], mount, issuer_id, kind))
            entry_drop(c, &c->e[i]);
    }
    /* Room in bytes and a slot: the least recently used go first. */
    for (;;) {
        crl_cache_entry *lru = NULL;

        slot = NULL;
        for (size_t i = 0; i < CRL_CACHE_SLOTS; i++) {
            if (!c->e[i].used && slot == NULL)
                slot = &c->e[i];
            if (c->e[i].used && (lru == NULL || c->e[i].used_at < lru->used_at))
                lru = &c->e[i];
        }
        if (slot != NULL && c->bytes + len <= CRL_CACHE_BYTES)
            break;
        if (lru == NULL)
            break; /* cannot happen: len <= CRL_CACHE_BYTES */
        entry_drop(c, lru);
    }
    if (slot != NULL) {
        slot->used = true;
        memcpy(slot->mount, mount, strlen(mount) + 1);
        memcpy(slot->issuer_id, issuer_id, strlen(issuer_id) + 1);
        slot->kind = kind;
        slot->der = copy;
        copy = NULL;
        slot->len = len;
        slot->this_update = this_update;
        slot->used_at = ++c->clock;
        c->bytes += len;
    }
    pthread_mutex_unlock(&c->lock);
    free(copy);
}

void rev_crl_cache_invalidate(hsmca_ca *ca, const char *mount, const char *issuer_id)
{
    struct rev_crl_cache *c = ca != NULL ? ca->crl_cache : NULL;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->gen++;
    for (size_t i = 0; i < CRL_CACHE_SLOTS; i++) {
        crl_cache_entry *e = &c->e[i];

        if (e->used && strcmp(e->mount, mount) == 0 && (issuer_id == NULL || strcmp(e->issuer_id, issuer_id) == 0))
            entry_drop(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}
