/* SPDX-License-Identifier: Apache-2.0 */
/* Revocation: a token with its tree of non-orphan descendants (leaves
 * first), or alone with its children orphaned; the accessor list; and
 * tidy, which revokes tokens that have expired. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A growable list of accessors, bounded by AUTH_REVOKE_MAX. */
typedef struct {
    char (*v)[HSMCA_AUTH_ACCESSOR_LEN + 1];
    size_t n, cap;
    bool overflow, nomem;
} acc_list;

static void acc_list_clear(acc_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool acc_list_add(acc_list *l, const char *acc)
{
    if (l->n >= AUTH_REVOKE_MAX) {
        l->overflow = true;
        return false;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *grown = realloc(l->v, cap * sizeof(*l->v));

        if (grown == NULL) {
            l->nomem = true;
            return false;
        }
        l->v = grown;
        l->cap = cap;
    }
    memset(l->v[l->n], 0, sizeof(l->v[l->n]));
    strncpy(l->v[l->n], acc, HSMCA_AUTH_ACCESSOR_LEN);
    l->n++;
    return true;
}

typedef struct {
    char prefix[HSMCA_AUTH_ACCESSOR_LEN + 2];
    size_t prefix_len;
    acc_list *out;
} child_walk;

/* Child index ids are "<parent>/<child>", so one parent's children are one
 * contiguous run of ids right after "<parent>/". */
static int child_cb(const hsmca_store_doc *d, void *arg)
{
    child_walk *w = arg;
    const char *child = d->id + w->prefix_len;

    if (strncmp(d->id, w->prefix, w->prefix_len) != 0)
        return 0;
    if (!auth_accessor_valid(child))
        return 1; /* not ours: skip rather than act on it */
    return acc_list_add(w->out, child) ? 1 : 0;
}

static hsmca_rv list_children(hsmca_auth *a, const char *parent, acc_list *out)
{
    child_walk w;
    hsmca_rv rv;

    memset(&w, 0, sizeof(w));
    w.prefix_len = strlen(parent) + 1;
    memcpy(w.prefix, parent, w.prefix_len - 1);
    w.prefix[w.prefix_len - 1] = '/';
    w.out = out;
    rv = hsmca_store_doc_list(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN_CHILD, w.prefix, 0, child_cb, &w);
    if (rv != HSMCA_OK)
        return rv;
    if (out->nomem)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory listing the children of token %s", parent);
    if (out->overflow)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "token %s: tree of more than %u tokens; revoke subtrees first",
                         parent, AUTH_REVOKE_MAX);
    return HSMCA_OK;
}

/* Queues the removal of one token: its document and its entry in its
 * parent's child index. Missing tokens are skipped (idempotent). */
static hsmca_rv queue_delete(hsmca_auth *a, hsmca_store_batch *b, const char *accessor, size_t *count)
{
    auth_token_doc d;
    char child[2 * HSMCA_AUTH_ACCESSOR_LEN + 2];
    hsmca_rv rv = auth_token_read_accessor(a, accessor, &d);

    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    hsmca_store_batch_doc_delete(b, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, d.hash);
    if (d.t.parent_accessor[0] != '\0') {
        auth_child_id(d.t.parent_accessor, d.t.accessor, child, sizeof(child));
        hsmca_store_batch_doc_delete(b, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN_CHILD, child);
    }
    (*count)++;
    auth_token_doc_clear(&d);
    return HSMCA_OK;
}

/* Removes the listed tokens, last first, in commits of AUTH_REVOKE_BATCH:
 * the list is in breadth-first order, so every token goes after all of its
 * descendants and an interruption leaves no token without its parent. */
static hsmca_rv delete_reverse(hsmca_auth *a, const acc_list *l, size_t *revoked)
{
    size_t i = l->n, count = 0, in_batch;
    hsmca_store_batch *b;
    hsmca_rv rv = HSMCA_OK;

    while (i > 0 && rv == HSMCA_OK) {
        b = hsmca_store_batch_new(a->store);
        if (b == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        in_batch = 0;
        while (i > 0 && in_batch < AUTH_REVOKE_BATCH && rv == HSMCA_OK) {
            rv = queue_delete(a, b, l->v[--i], &count);
            in_batch++;
        }
        if (rv == HSMCA_OK) {
            rv = auth_commit(b);
            if (rv != HSMCA_OK)
                rv = auth_store_fail(rv, "revoking a", l->v[0]);
        } else {
            hsmca_store_batch_free(b);
        }
    }
    if (revoked != NULL)
        *revoked += count;
    return rv;
}

/* revoke-orphan: the children lose their parent (and become roots of their
 * own trees) before the token goes. */
static hsmca_rv orphan_children(hsmca_auth *a, const char *accessor)
{
    acc_list kids = {0};
    hsmca_store_batch *b = NULL;
    char child[2 * HSMCA_AUTH_ACCESSOR_LEN + 2];
    char *body = NULL;
    size_t i = 0, in_batch;
    hsmca_rv rv = list_children(a, accessor, &kids);

    while (rv == HSMCA_OK && i < kids.n) {
        b = hsmca_store_batch_new(a->store);
        if (b == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            break;
        }
        for (in_batch = 0; i < kids.n && in_batch < AUTH_REVOKE_BATCH && rv == HSMCA_OK; i++, in_batch++) {
            auth_token_doc d;

            rv = auth_token_read_accessor(a, kids.v[i], &d);
            if (rv == HSMCA_ERR_NOT_FOUND) {
                hsmca_err_clear();
                rv = HSMCA_OK;
                continue;
            }
            if (rv != HSMCA_OK)
                break;
            d.t.parent_accessor[0] = '\0';
            d.t.orphan = true;
            d.t.depth = 0;
            rv = auth_token_to_body(&d.t, &body);
            if (rv == HSMCA_OK) {
                hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, d.hash,
                                          d.t.accessor, body, NULL, 0);
                auth_child_id(accessor, d.t.accessor, child, sizeof(child));
                hsmca_store_batch_doc_delete(b, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN_CHILD, child);
            }
            free(body);
            body = NULL;
            auth_token_doc_clear(&d);
        }
        if (rv == HSMCA_OK) {
            rv = auth_commit(b);
            if (rv != HSMCA_OK)
                rv = auth_store_fail(rv, "orphaning the children of a", accessor);
        } else {
            hsmca_store_batch_free(b);
        }
        b = NULL;
    }
    acc_list_clear(&kids);
    return rv;
}

hsmca_rv auth_revoke_locked(hsmca_auth *a, const char *accessor, hsmca_auth_revoke_mode mode, size_t *revoked)
{
    acc_list all = {0};
    hsmca_rv rv;

    if (!acc_list_add(&all, accessor))
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (mode == HSMCA_AUTH_REVOKE_ORPHAN) {
        rv = orphan_children(a, accessor);
    } else {
        /* Breadth first: all[i]'s children are appended as it is visited. */
        rv = HSMCA_OK;
        for (size_t i = 0; i < all.n && rv == HSMCA_OK; i++) {
            char parent[HSMCA_AUTH_ACCESSOR_LEN + 1];

            memcpy(parent, all.v[i], sizeof(parent));
            rv = list_children(a, parent, &all);
        }
    }
    if (rv == HSMCA_OK)
        rv = delete_reverse(a, &all, revoked);
    if (rv == HSMCA_OK)
        hsmca_log_debug("auth: token %s revoked (%s)", accessor, mode == HSMCA_AUTH_REVOKE_ORPHAN ? "orphan" : "tree");
    acc_list_clear(&all);
    return rv;
}

hsmca_rv hsmca_auth_token_revoke(hsmca_auth *a, const char *accessor, hsmca_auth_revoke_mode mode,
                                 size_t *revoked)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    if (revoked != NULL)
        *revoked = 0;
    if (!auth_accessor_valid(accessor))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "invalid accessor: %d base62 characters expected",
                         HSMCA_AUTH_ACCESSOR_LEN);
    pthread_mutex_lock(&a->token_lock);
    rv = auth_revoke_locked(a, accessor, mode, revoked);
    pthread_mutex_unlock(&a->token_lock);
    return rv;
}

typedef struct {
    hsmca_auth *a;
    int64_t now;
    int (*cb)(const char *accessor, void *arg);
    void *arg;
    acc_list *expired;
    size_t limit;
    hsmca_rv rv;
} token_walk;

static int accessor_cb(const hsmca_store_doc *doc, void *arg)
{
    token_walk *w = arg;
    auth_token_doc d;

    if (auth_token_from_doc(doc, w->now, &d) != HSMCA_OK)
        return 1; /* a damaged document is not listed; tidy does not guess either */
    if (d.t.expire_time == 0 || d.t.expire_time > w->now) {
        if (w->cb != NULL && !w->cb(d.t.accessor, w->arg)) {
            auth_token_doc_clear(&d);
            return 0;
        }
    } else if (w->expired != NULL) {
        if (w->expired->n >= w->limit || !acc_list_add(w->expired, d.t.accessor)) {
            auth_token_doc_clear(&d);
            return 0;
        }
    }
    auth_token_doc_clear(&d);
    return 1;
}

hsmca_rv hsmca_auth_token_list_accessors(hsmca_auth *a, int (*cb)(const char *accessor, void *arg), void *arg)
{
    token_walk w;

    hsmca_return_val_if_fail(a != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&w, 0, sizeof(w));
    w.a = a;
    w.now = hsmca_auth_now(a);
    w.cb = cb;
    w.arg = arg;
    return hsmca_store_doc_list(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, NULL, 0, accessor_cb, &w);
}

hsmca_rv hsmca_auth_tidy(hsmca_auth *a, size_t limit, size_t *revoked)
{
    acc_list expired = {0};
    token_walk w;
    size_t count = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&w, 0, sizeof(w));
    w.a = a;
    w.now = hsmca_auth_now(a);
    w.expired = &expired;
    w.limit = limit ? limit : AUTH_TIDY_DEFAULT;
    rv = hsmca_store_doc_list(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, NULL, 0, accessor_cb, &w);
    if (rv == HSMCA_OK && expired.nomem)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    /* One lock per token: requests wait for one tree, not for the sweep. */
    for (size_t i = 0; i < expired.n && rv == HSMCA_OK; i++) {
        auth_token_doc d;

        pthread_mutex_lock(&a->token_lock);
        /* Renewed since the sweep read it? Then it stays. */
        rv = auth_token_read_accessor(a, expired.v[i], &d);
        if (rv == HSMCA_OK && d.t.expire_time != 0 && d.t.expire_time <= hsmca_auth_now(a))
            rv = auth_revoke_locked(a, expired.v[i], HSMCA_AUTH_REVOKE_TREE, &count);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            hsmca_err_clear();
            rv = HSMCA_OK; /* already gone with an expired ancestor */
        }
        auth_token_doc_clear(&d);
        pthread_mutex_unlock(&a->token_lock);
    }
    if (revoked != NULL)
        *revoked = count;
    if (count > 0)
        hsmca_log(HSMCA_LOG_INFO, "auth: tidy revoked %zu expired tokens", count);
    acc_list_clear(&expired);
    return rv;
}
