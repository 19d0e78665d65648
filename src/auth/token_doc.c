/* SPDX-License-Identifier: Apache-2.0 */
/* Token documents: the stored JSON of a token record, reading one by
 * accessor or hash, and the liveness of a token and its parent chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

void hsmca_auth_token_clear(hsmca_auth_token *t)
{
    if (t == NULL)
        return;
    hsmca_strlist_clear(&t->policies);
    hsmca_strlist_clear(&t->bound_cidrs);
    json_decref(t->meta);
    memset(t, 0, sizeof(*t));
}

hsmca_rv hsmca_auth_token_copy(hsmca_auth_token *dst, const hsmca_auth_token *src)
{
    hsmca_auth_token tmp = *src;
    hsmca_rv rv;

    hsmca_return_val_if_fail(dst != NULL && src != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&tmp.policies, 0, sizeof(tmp.policies));
    memset(&tmp.bound_cidrs, 0, sizeof(tmp.bound_cidrs));
    tmp.meta = NULL;
    rv = hsmca_strlist_copy(&tmp.policies, &src->policies);
    if (rv == HSMCA_OK)
        rv = hsmca_strlist_copy(&tmp.bound_cidrs, &src->bound_cidrs);
    if (rv == HSMCA_OK && src->meta != NULL && (tmp.meta = json_deep_copy(src->meta)) == NULL)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (rv != HSMCA_OK) {
        hsmca_auth_token_clear(&tmp);
        return rv;
    }
    hsmca_auth_token_clear(dst);
    *dst = tmp;
    return HSMCA_OK;
}

void auth_token_doc_clear(auth_token_doc *d)
{
    if (d == NULL)
        return;
    hsmca_auth_token_clear(&d->t);
    OPENSSL_cleanse(d->hash, sizeof(d->hash));
}

hsmca_rv auth_bad_token(void)
{
    return hsmca_err(HSMCA_ERR_NOT_FOUND, "bad token");
}

hsmca_rv auth_store_fail(hsmca_rv rv, const char *what, const char *accessor)
{
    if (accessor != NULL && accessor[0] != '\0')
        return hsmca_err(rv, "%s token (accessor %s): the store failed: %s", what, accessor, hsmca_rv_name(rv));
    return hsmca_err(rv, "%s token: the store failed: %s", what, hsmca_rv_name(rv));
}

void auth_child_id(const char *parent, const char *child, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", parent, child);
}

char *auth_json_text(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

hsmca_rv auth_token_to_body(const hsmca_auth_token *t, char **body)
{
    json_t *o = NULL, *pol = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *body = NULL;
    pol = json_array();
    if (pol == NULL)
        goto done;
    for (size_t i = 0; i < t->policies.n; i++) {
        if (json_array_append_new(pol, json_string(t->policies.v[i])) != 0)
            goto done;
    }
    /* "v" versions the layout, so a later release can migrate it. */
    o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:O, s:O?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:i}", "v",
                  1, "accessor", t->accessor, "parent", t->parent_accessor, "display_name", t->display_name,
                  "path", t->path, "policies", pol, "meta", t->meta, "creation_time",
                  (json_int_t)t->creation_time, "last_renewal_time", (json_int_t)t->last_renewal_time,
                  "creation_ttl", (json_int_t)t->creation_ttl, "lease_ttl", (json_int_t)t->lease_ttl,
                  "explicit_max_ttl", (json_int_t)t->explicit_max_ttl, "period", (json_int_t)t->period,
                  "expire_time", (json_int_t)t->expire_time, "num_uses", (json_int_t)t->num_uses, "renewable",
                  t->renewable, "depth", (int)t->depth);
    if (o == NULL)
        goto done;
    /* Only bound tokens carry the field: older documents read as unbound. */
    if (t->bound_cidrs.n > 0) {
        json_t *cidrs = json_array();
        if (cidrs == NULL || json_object_set_new(o, "bound_cidrs", cidrs) != 0)
            goto done;
        for (size_t i = 0; i < t->bound_cidrs.n; i++) {
            if (json_array_append_new(cidrs, json_string(t->bound_cidrs.v[i])) != 0)
                goto done;
        }
    }
    *body = auth_json_text(o);
    if (*body == NULL)
        goto done;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory encoding token %s", t->accessor);
    json_decref(pol);
    json_decref(o);
    return rv;
}

static hsmca_rv copy_field(const json_t *o, const char *key, char *buf, size_t size, const char *accessor)
{
    const json_t *v = json_object_get(o, key);
    size_t n;

    if (!json_is_string(v) || (n = json_string_length(v)) >= size)
        return hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): field %s is missing or too long",
                         accessor, key);
    memcpy(buf, json_string_value(v), n + 1);
    return HSMCA_OK;
}

static int64_t int_field(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

hsmca_rv auth_token_from_doc(const hsmca_store_doc *doc, int64_t now, auth_token_doc *out)
{
    json_error_t jerr;
    json_t *o = NULL;
    const json_t *pol, *meta, *v;
    size_t i;
    hsmca_auth_token *t = &out->t;
    hsmca_rv rv = HSMCA_ERR_INTERNAL;

    memset(out, 0, sizeof(*out));
    o = json_loads(doc->body, 0, &jerr);
    /* The accessor is the document's name; the body is ours, so a broken
     * one is a bug or a damaged database, never caller input. */
    if (o == NULL || !json_is_object(o)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): body is not a JSON object", doc->name);
        goto done;
    }
    if ((rv = copy_field(o, "accessor", t->accessor, sizeof(t->accessor), doc->name)) != HSMCA_OK ||
        (rv = copy_field(o, "parent", t->parent_accessor, sizeof(t->parent_accessor), doc->name)) != HSMCA_OK ||
        (rv = copy_field(o, "display_name", t->display_name, sizeof(t->display_name), doc->name)) != HSMCA_OK ||
        (rv = copy_field(o, "path", t->path, sizeof(t->path), doc->name)) != HSMCA_OK)
        goto done;
    pol = json_object_get(o, "policies");
    if (!json_is_array(pol)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): policies is not an array", doc->name);
        goto done;
    }
    json_array_foreach(pol, i, v)
    {
        if (!json_is_string(v)) {
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): a policy is not a string", doc->name);
            goto done;
        }
        rv = hsmca_strlist_add(&t->policies, json_string_value(v), json_string_length(v));
        if (rv != HSMCA_OK)
            goto done;
        if (strcmp(json_string_value(v), "root") == 0)
            t->root = true;
    }
    meta = json_object_get(o, "meta");
    if (json_is_object(meta) && json_object_size(meta) > 0) {
        t->meta = json_deep_copy(meta);
        if (t->meta == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    {
        const json_t *cidrs = json_object_get(o, "bound_cidrs");
        size_t k;
        json_array_foreach(cidrs, k, v) {
            if (!json_is_string(v) ||
                (rv = hsmca_strlist_add(&t->bound_cidrs, json_string_value(v), json_string_length(v))) != HSMCA_OK) {
                rv = json_is_string(v) ? rv
                                       : hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): bound_cidrs",
                                                   doc->name);
                goto done;
            }
        }
    }
    t->creation_time = int_field(o, "creation_time");
    t->last_renewal_time = int_field(o, "last_renewal_time");
    t->creation_ttl = int_field(o, "creation_ttl");
    t->lease_ttl = int_field(o, "lease_ttl");
    t->explicit_max_ttl = int_field(o, "explicit_max_ttl");
    t->period = int_field(o, "period");
    t->expire_time = int_field(o, "expire_time");
    t->num_uses = int_field(o, "num_uses");
    t->depth = (unsigned)int_field(o, "depth");
    t->renewable = json_is_true(json_object_get(o, "renewable"));
    t->orphan = t->parent_accessor[0] == '\0';
    t->ttl = t->expire_time == 0 ? 0 : (t->expire_time > now ? t->expire_time - now : 0);
    if (strlen(doc->id) != AUTH_HASH_HEX) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored token (accessor %s): id is not a SHA-256", doc->name);
        goto done;
    }
    memcpy(out->hash, doc->id, AUTH_HASH_HEX + 1);
    rv = HSMCA_OK;
done:
    json_decref(o);
    if (rv != HSMCA_OK)
        auth_token_doc_clear(out);
    return rv;
}

hsmca_rv auth_token_read_accessor(hsmca_auth *a, const char *accessor, auth_token_doc *out)
{
    hsmca_store_doc doc;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (!auth_accessor_valid(accessor))
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "invalid accessor");
    rv = hsmca_store_doc_get(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, accessor, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "invalid accessor");
    if (rv != HSMCA_OK)
        return auth_store_fail(rv, "reading", accessor);
    /* doc_get falls back from id to name: make sure it was the name that
     * matched (an accessor can never be a 64-digit hash, but the check
     * costs nothing and keeps the two namespaces apart). */
    if (strcmp(doc.name, accessor) != 0) {
        hsmca_store_doc_clear(&doc);
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "invalid accessor");
    }
    rv = auth_token_from_doc(&doc, hsmca_auth_now(a), out);
    hsmca_store_doc_clear(&doc);
    return rv;
}

hsmca_rv auth_token_read_hash(hsmca_auth *a, const char *hash, auth_token_doc *out)
{
    /* Compared against when nothing was found, so that an unknown token
     * costs the same comparison as a found one. */
    static const char nothing[AUTH_HASH_HEX + 1] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    hsmca_store_doc doc;
    hsmca_rv rv;
    int differ;

    memset(out, 0, sizeof(*out));
    rv = hsmca_store_doc_get(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, hash, &doc);
    if (rv != HSMCA_OK && rv != HSMCA_ERR_NOT_FOUND)
        return auth_store_fail(rv, "reading a", NULL);
    /* The database found the row by its key; the constant-time comparison
     * is what decides, so no early exit on the first differing byte tells
     * a caller how close a guess came. */
    differ = CRYPTO_memcmp(rv == HSMCA_OK ? doc.id : nothing, hash, AUTH_HASH_HEX);
    if (rv != HSMCA_OK || differ != 0 || doc.id[AUTH_HASH_HEX] != '\0') {
        hsmca_store_doc_clear(&doc);
        return auth_bad_token();
    }
    rv = auth_token_from_doc(&doc, hsmca_auth_now(a), out);
    hsmca_store_doc_clear(&doc);
    return rv;
}

/* A token is alive while it exists and has not expired; OpenBao revokes a
 * token's children with it, expiry included, so every ancestor must be
 * alive too. Revocation removes descendants durably; expiry does not
 * (nothing runs at the moment of expiry), hence this walk. */
hsmca_rv auth_token_chain_alive(hsmca_auth *a, const auth_token_doc *d, int64_t now)
{
    char parent[HSMCA_AUTH_ACCESSOR_LEN + 1];
    auth_token_doc up;
    hsmca_rv rv;
    unsigned steps = 0;

    if (d->t.expire_time != 0 && d->t.expire_time <= now)
        return auth_bad_token();
    memcpy(parent, d->t.parent_accessor, sizeof(parent));
    while (parent[0] != '\0') {
        if (++steps > HSMCA_AUTH_DEPTH_MAX)
            return hsmca_err(HSMCA_ERR_INTERNAL, "token (accessor %s): parent chain longer than %d", d->t.accessor,
                             HSMCA_AUTH_DEPTH_MAX);
        rv = auth_token_read_accessor(a, parent, &up);
        if (rv == HSMCA_ERR_NOT_FOUND)
            return auth_bad_token();
        if (rv != HSMCA_OK)
            return rv;
        if (up.t.expire_time != 0 && up.t.expire_time <= now) {
            auth_token_doc_clear(&up);
            return auth_bad_token();
        }
        memcpy(parent, up.t.parent_accessor, sizeof(parent));
        auth_token_doc_clear(&up);
    }
    return HSMCA_OK;
}
