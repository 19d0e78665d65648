/* SPDX-License-Identifier: Apache-2.0 */
/* The compiled-ACL cache: one compiled ACL per distinct policy set, keyed by
 * the set's names and the policy generation, so that a request costs a
 * lookup here instead of reading and parsing every policy. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    char *key; /* sorted policy names joined by '\n' (names hold no '\n') */
    uint64_t hash;
    unsigned long gen;
    auth_acl *acl;
    uint64_t used; /* tick of the last hit, for least-recently-used eviction */
} cache_entry;

struct acl_cache {
    pthread_mutex_t lock;
    cache_entry *e;
    unsigned size;
    uint64_t tick;
};

hsmca_rv auth_acl_cache_new(unsigned size, acl_cache **out)
{
    acl_cache *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    c->e = calloc(size, sizeof(*c->e));
    if (c->e == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->e);
        free(c);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    c->size = size;
    *out = c;
    return HSMCA_OK;
}

void auth_acl_cache_free(acl_cache *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->size; i++) {
        free(c->e[i].key);
        auth_acl_release(c->e[i].acl);
    }
    free(c->e);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* FNV-1a: only to skip most string comparisons, not for security (the key
 * is compared in full on a hash match). */
static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The cache key of a sanitised set, or NULL when out of memory. */
static char *make_key(const hsmca_strlist *names)
{
    size_t len = 1;
    char *k, *p;

    for (size_t i = 0; i < names->n; i++)
        len += strlen(names->v[i]) + 1;
    k = malloc(len);
    if (k == NULL)
        return NULL;
    p = k;
    for (size_t i = 0; i < names->n; i++) {
        size_t n = strlen(names->v[i]);

        memcpy(p, names->v[i], n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    return k;
}

/* Reads one stored policy into rules; a missing policy gives no rules
 * (OpenBao ignores names that do not exist). */
static hsmca_rv load_policy(hsmca_auth *a, const char *name, auth_policy_rules *out)
{
    hsmca_store_doc doc;
    json_error_t jerr;
    json_t *body = NULL;
    hsmca_rv rv = hsmca_store_doc_get(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, name, &doc);

    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    body = json_loads(doc.body, 0, &jerr);
    if (body == NULL || !json_is_string(json_object_get(body, "policy"))) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored policy '%s' is damaged (no policy text)", name);
    } else {
        rv = auth_policy_parse(json_string_value(json_object_get(body, "policy")), out, NULL);
        if (rv != HSMCA_OK)
            hsmca_err_prefix("stored policy '%s'", name);
    }
    json_decref(body);
    hsmca_store_doc_clear(&doc);
    return rv;
}

static hsmca_rv compile(hsmca_auth *a, const hsmca_strlist *names, auth_acl **out)
{
    auth_policy_rules *sets = NULL;
    bool root = hsmca_strlist_contains(names, "root");
    hsmca_rv rv = HSMCA_OK;

    if (!root && names->n > 0) {
        sets = calloc(names->n, sizeof(*sets));
        if (sets == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < names->n && rv == HSMCA_OK; i++)
            rv = load_policy(a, names->v[i], &sets[i]);
    }
    if (rv == HSMCA_OK)
        rv = auth_acl_build(sets, sets != NULL ? names->n : 0, root, out);
    if (sets != NULL) {
        for (size_t i = 0; i < names->n; i++)
            auth_policy_rules_clear(&sets[i]);
        free(sets);
    }
    return rv;
}

hsmca_rv auth_acl_get(hsmca_auth *a, const hsmca_strlist *policies, auth_acl **out)
{
    acl_cache *c = a->cache;
    hsmca_strlist names = {0};
    char *key = NULL;
    uint64_t h;
    unsigned long gen;
    auth_acl *acl = NULL;
    cache_entry *slot = NULL;
    bool same;
    hsmca_rv rv;

    *out = NULL;
    /* Read the generation before the policies: a write that lands while we
     * compile makes our entry stale at once, never a stale entry current. */
    gen = atomic_load(&a->policy_gen);
    if ((rv = auth_policies_sanitize(policies, &names)) != HSMCA_OK)
        goto done;
    key = make_key(&names);
    if (key == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    h = key_hash(key);
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->size; i++) {
        cache_entry *e = &c->e[i];

        if (e->acl != NULL && e->hash == h && e->gen == gen && strcmp(e->key, key) == 0) {
            auth_acl_ref(e->acl);
            e->used = ++c->tick;
            *out = e->acl;
            pthread_mutex_unlock(&c->lock);
            rv = HSMCA_OK;
            goto done;
        }
    }
    pthread_mutex_unlock(&c->lock);

    if ((rv = compile(a, &names, &acl)) != HSMCA_OK)
        goto done;
    pthread_mutex_lock(&c->lock);
    /* The slot of the same set (another generation, or a racing compile),
     * else an empty one, else the least recently used. */
    for (unsigned i = 0; i < c->size && slot == NULL; i++) {
        if (c->e[i].acl != NULL && c->e[i].hash == h && strcmp(c->e[i].key, key) == 0)
            slot = &c->e[i];
    }
    same = slot != NULL;
    for (unsigned i = 0; i < c->size && slot == NULL; i++) {
        if (c->e[i].acl == NULL)
            slot = &c->e[i];
    }
    if (slot == NULL) {
        slot = &c->e[0];
        for (unsigned i = 1; i < c->size; i++) {
            if (c->e[i].used < slot->used)
                slot = &c->e[i];
        }
    }
    /* A racing thread may have stored a newer generation: keep that one. */
    if (!same || slot->gen <= gen) {
        free(slot->key);
        auth_acl_release(slot->acl);
        slot->key = key;
        key = NULL;
        slot->hash = h;
        slot->gen = gen;
        slot->acl = acl;
        auth_acl_ref(acl);
        slot->used = ++c->tick;
    }
    pthread_mutex_unlock(&c->lock);
    *out = acl;
    acl = NULL;
    rv = HSMCA_OK;
done:
    auth_acl_release(acl);
    hsmca_strlist_clear(&names);
    free(key);
    return rv;
}
