/* SPDX-License-Identifier: Apache-2.0 */
/* Roles as stored documents: the JSON of hsmca_role_to_json under the role
 * name. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static hsmca_rv role_load(hsmca_ca *ca, const char *mount, const char *name, hsmca_role *out)
{
    hsmca_store_doc doc;
    json_t *body = NULL;
    hsmca_role base;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    memset(&base, 0, sizeof(base));
    rv = ca_doc_load(ca, mount, HSMCA_DOC_ROLE, name, &doc, &body);
    if (rv == HSMCA_ERR_NOT_FOUND)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "unknown role: %s", name);
    if (rv != HSMCA_OK)
        return rv;
    hsmca_role_init_defaults(&base);
    rv = hsmca_role_set_name(&base, doc.id);
    if (rv == HSMCA_OK)
        rv = hsmca_role_from_json(body, &base, false, out, NULL);
    hsmca_role_clear(&base);
    json_decref(body);
    hsmca_store_doc_clear(&doc);
    return rv;
}

/* Every role write goes through ca_commit, which moves the generation; a
 * role loaded before a write is never returned after it. */
hsmca_rv hsmca_ca_role_get(hsmca_ca *ca, const char *mount, const char *name, hsmca_role *out)
{
    unsigned long gen = atomic_load(&ca->gen);
    ca_role_entry *e;
    hsmca_role loaded;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (mount == NULL || name == NULL || strlen(mount) > HSMCA_STORE_MOUNT_MAX || strlen(name) > HSMCA_STORE_ID_MAX)
        return role_load(ca, mount, name, out); /* reports the bad reference */
    pthread_mutex_lock(&ca->cache_lock);
    e = ca_cache_find(ca, ca->roles, sizeof(ca->roles[0]), ca->n_roles, mount, name, gen);
    if (e != NULL) {
        rv = hsmca_role_copy(out, &e->role);
        pthread_mutex_unlock(&ca->cache_lock);
        return rv;
    }
    pthread_mutex_unlock(&ca->cache_lock);

    if ((rv = role_load(ca, mount, name, out)) != HSMCA_OK)
        return rv;
    memset(&loaded, 0, sizeof(loaded));
    if (hsmca_role_copy(&loaded, out) != HSMCA_OK) {
        hsmca_role_clear(&loaded);
        hsmca_err_clear();
        return HSMCA_OK; /* served, just not cached */
    }
    pthread_mutex_lock(&ca->cache_lock);
    e = ca_cache_slot(ca, ca->roles, sizeof(ca->roles[0]), &ca->n_roles, CA_ROLE_CACHE_MAX);
    hsmca_role_clear(&e->role);
    ca_cache_fill(ca, &e->tag, mount, name, gen);
    e->role = loaded;
    pthread_mutex_unlock(&ca->cache_lock);
    return HSMCA_OK;
}

hsmca_rv hsmca_ca_role_put(hsmca_ca *ca, const char *mount, const char *name, const char *json_body, bool patch,
                           hsmca_strlist *warnings)
{
    json_error_t jerr;
    json_t *in = NULL, *stored = NULL;
    hsmca_role base, next;
    hsmca_store_batch *b = NULL;
    char *text = NULL;
    hsmca_rv rv;

    memset(&base, 0, sizeof(base));
    memset(&next, 0, sizeof(next));
    in = json_loads(json_body ? json_body : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (in == NULL || !json_is_object(in)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "role body must be a JSON object");
        goto done;
    }
    if (patch) {
        rv = hsmca_ca_role_get(ca, mount, name, &base);
        if (rv != HSMCA_OK)
            goto done;
    } else {
        hsmca_role_init_defaults(&base);
        rv = hsmca_role_set_name(&base, name);
        if (rv != HSMCA_OK)
            goto done;
    }
    if ((rv = hsmca_role_from_json(in, &base, patch, &next, warnings)) != HSMCA_OK ||
        (rv = hsmca_role_validate(&next, warnings)) != HSMCA_OK || (rv = hsmca_role_to_json(&next, &stored)) != HSMCA_OK)
        goto done;
    text = ca_json_text(stored);
    b = hsmca_store_batch_new(ca->store);
    if (text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, patch ? HSMCA_PUT_UPDATE : HSMCA_PUT_UPSERT, mount, HSMCA_DOC_ROLE, next.name, NULL,
                              text, NULL, 0);
    rv = ca_commit(ca, b);
done:
    hsmca_store_batch_free(b);
    free(text);
    json_decref(in);
    json_decref(stored);
    hsmca_role_clear(&base);
    hsmca_role_clear(&next);
    return rv;
}

hsmca_rv hsmca_ca_role_delete(hsmca_ca *ca, const char *mount, const char *name)
{
    hsmca_store_batch *b = hsmca_store_batch_new(ca->store);
    hsmca_rv rv;

    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    /* OpenBao answers 204 whether or not the role existed. */
    hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_ROLE, name);
    rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    return rv;
}

typedef struct {
    int (*cb)(const char *name, void *arg);
    void *arg;
} role_walk;

static int role_cb(const hsmca_store_doc *d, void *arg)
{
    role_walk *w = arg;
    return w->cb(d->id, w->arg);
}

hsmca_rv hsmca_ca_role_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                            int (*cb)(const char *name, void *arg), void *arg)
{
    role_walk w = {cb, arg};
    return hsmca_store_doc_list(ca->store, mount, HSMCA_DOC_ROLE, after, limit, role_cb, &w);
}
