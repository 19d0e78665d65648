/* SPDX-License-Identifier: Apache-2.0 */
/* auth/token/create and the root tokens: OpenBao's rules for what a parent
 * may hand to a child (policies, TTLs, orphans, chosen ids) and the one-time
 * initial root token. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#define INIT_ID "init"

void hsmca_auth_create_params_init(hsmca_auth_create_params *p)
{
    memset(p, 0, sizeof(*p));
    p->renewable = true;
}

void hsmca_auth_create_params_clear(hsmca_auth_create_params *p)
{
    if (p == NULL)
        return;
    hsmca_strlist_clear(&p->policies);
    hsmca_strlist_clear(&p->bound_cidrs);
    json_decref(p->meta);
    OPENSSL_cleanse(p->id, sizeof(p->id));
    hsmca_auth_create_params_init(p);
}

/* Appends a warning unless an earlier step already failed (*rv). */
static void add_warning(hsmca_rv *rv, hsmca_strlist *warnings, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_warning(hsmca_rv *rv, hsmca_strlist *warnings, const char *fmt, ...)
{
    char w[256];
    va_list ap;

    if (*rv != HSMCA_OK || warnings == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(w, sizeof(w), fmt, ap);
    va_end(ap);
    *rv = hsmca_strlist_add(warnings, w, strlen(w));
}

/* Generates (or takes the chosen) token, its hash and an accessor. */
static hsmca_rv new_identity(const char *chosen_id, hsmca_auth_secret *secret, char *hash, char *accessor)
{
    hsmca_rv rv;

    if (chosen_id != NULL && chosen_id[0] != '\0') {
        if ((rv = auth_chosen_id_check(chosen_id)) != HSMCA_OK)
            return rv;
        memset(secret->token, 0, sizeof(secret->token));
        memcpy(secret->token, chosen_id, strlen(chosen_id));
    } else if ((rv = auth_token_generate(secret)) != HSMCA_OK) {
        return rv;
    }
    if ((rv = auth_token_hash(secret->token, strlen(secret->token), hash)) != HSMCA_OK ||
        (rv = auth_accessor_generate(accessor)) != HSMCA_OK)
        hsmca_auth_secret_clear(secret);
    return rv;
}

/* Queues the token document, and its entry in the parent's child index. */
static hsmca_rv queue_token(hsmca_store_batch *b, const hsmca_auth_token *t, const char *hash)
{
    char *body = NULL;
    char child[2 * HSMCA_AUTH_ACCESSOR_LEN + 2];
    hsmca_rv rv = auth_token_to_body(t, &body);

    if (rv != HSMCA_OK)
        return rv;
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, hash, t->accessor, body, NULL,
                              0);
    if (t->parent_accessor[0] != '\0') {
        auth_child_id(t->parent_accessor, t->accessor, child, sizeof(child));
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN_CHILD, child, NULL, "{}",
                                  NULL, 0);
    }
    free(body);
    return HSMCA_OK;
}

static hsmca_rv init_marker_exists(hsmca_auth *a, bool *yes)
{
    hsmca_store_doc doc;
    hsmca_rv rv = hsmca_store_doc_get(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_AUTH_STATE, INIT_ID, &doc);

    *yes = rv == HSMCA_OK;
    hsmca_store_doc_clear(&doc);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    return rv;
}

hsmca_rv auth_root_create_locked(hsmca_auth *a, const char *chosen_id, bool mark_init, hsmca_auth_secret *secret,
                                 hsmca_auth_token *out)
{
    hsmca_auth_token t;
    char hash[AUTH_HASH_HEX + 1];
    char *marker = NULL;
    hsmca_store_batch *b = NULL;
    json_t *m = NULL;
    hsmca_rv rv;
    bool exists = false;

    memset(&t, 0, sizeof(t));
    memset(hash, 0, sizeof(hash));
    if ((rv = new_identity(chosen_id, secret, hash, t.accessor)) != HSMCA_OK)
        goto done;
    snprintf(t.display_name, sizeof(t.display_name), "root");
    snprintf(t.path, sizeof(t.path), "auth/token/root");
    if ((rv = hsmca_strlist_add(&t.policies, "root", 4)) != HSMCA_OK)
        goto done;
    t.root = true;
    t.orphan = true;
    t.creation_time = hsmca_auth_now(a);
    /* No expiry, hence not renewable (OpenBao does not advertise
     * non-expiring tokens as renewable). */
    t.renewable = false;
    b = hsmca_store_batch_new(a->store);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = queue_token(b, &t, hash)) != HSMCA_OK)
        goto done;
    if (mark_init) {
        m = json_pack("{s:s, s:I}", "root_accessor", t.accessor, "time", (json_int_t)t.creation_time);
        if (m == NULL || (marker = auth_json_text(m)) == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
        /* CREATE: of two processes initialising at once, one wins. */
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_AUTH_STATE, INIT_ID, NULL, marker,
                                  NULL, 0);
    }
    rv = auth_commit(b);
    b = NULL;
    if (rv == HSMCA_ERR_EXISTS) {
        if (mark_init && init_marker_exists(a, &exists) == HSMCA_OK && exists)
            rv = hsmca_err(HSMCA_ERR_EXISTS, "the token store is already initialised: its root token was shown once");
        else
            rv = hsmca_err(HSMCA_ERR_EXISTS, "a token with that id already exists");
        goto done;
    }
    if (rv != HSMCA_OK) {
        rv = auth_store_fail(rv, "storing the root", t.accessor);
        goto done;
    }
    hsmca_log(HSMCA_LOG_NOTICE, "auth: root token created (accessor %s)", t.accessor);
    if (out != NULL) {
        hsmca_auth_token_clear(out);
        *out = t;
        memset(&t, 0, sizeof(t));
    }
done:
    if (rv != HSMCA_OK)
        hsmca_auth_secret_clear(secret);
    hsmca_store_batch_free(b);
    hsmca_auth_token_clear(&t);
    OPENSSL_cleanse(hash, sizeof(hash));
    json_decref(m);
    free(marker);
    return rv;
}

hsmca_rv hsmca_auth_init_root(hsmca_auth *a, const char *chosen_id, hsmca_auth_secret *secret,
                              hsmca_auth_token *out)
{
    hsmca_rv rv;
    bool exists = false;

    hsmca_return_val_if_fail(a != NULL && secret != NULL, HSMCA_ERR_INVALID_ARG);
    memset(secret->token, 0, sizeof(secret->token));
    pthread_mutex_lock(&a->token_lock);
    rv = init_marker_exists(a, &exists);
    if (rv == HSMCA_OK && exists)
        rv = hsmca_err(HSMCA_ERR_EXISTS, "the token store is already initialised: its root token was shown once");
    if (rv == HSMCA_OK)
        rv = auth_root_create_locked(a, chosen_id, true, secret, out);
    pthread_mutex_unlock(&a->token_lock);
    return rv;
}

hsmca_rv hsmca_auth_initialized(hsmca_auth *a, bool *yes)
{
    hsmca_return_val_if_fail(a != NULL && yes != NULL, HSMCA_ERR_INVALID_ARG);
    return init_marker_exists(a, yes);
}

hsmca_rv hsmca_auth_root_generate(hsmca_auth *a, hsmca_auth_secret *secret, hsmca_auth_token *out)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && secret != NULL, HSMCA_ERR_INVALID_ARG);
    memset(secret->token, 0, sizeof(secret->token));
    pthread_mutex_lock(&a->token_lock);
    rv = auth_root_create_locked(a, NULL, false, secret, out);
    pthread_mutex_unlock(&a->token_lock);
    return rv;
}

/* OpenBao: "token-" + the name with anything but letters, digits and '-'
 * turned into '-', trailing '-' dropped; cut to the buffer. */
static void display_name_set(char *out, size_t size, const char *in)
{
    static const char prefix[] = "token-";
    size_t n = sizeof(prefix) - 1;

    if (in == NULL || in[0] == '\0') {
        snprintf(out, size, "token");
        return;
    }
    memcpy(out, prefix, n);
    for (; *in != '\0' && n + 1 < size; in++)
        out[n++] = isalnum((unsigned char)*in) || *in == '-' ? *in : '-';
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

static hsmca_rv check_meta(const json_t *meta)
{
    const char *k;
    json_t *v;

    if (meta == NULL || json_is_null(meta))
        return HSMCA_OK;
    if (!json_is_object(meta))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: expected an object of strings");
    if (json_object_size(meta) > HSMCA_AUTH_META_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: more than %d entries", HSMCA_AUTH_META_MAX);
    json_object_foreach((json_t *)(uintptr_t)meta, k, v)
    {
        if (strlen(k) > HSMCA_AUTH_META_KEY_MAX)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: key '%.32s...' is longer than %d bytes", k,
                             HSMCA_AUTH_META_KEY_MAX);
        if (!json_is_string(v))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: value of '%s' must be a string", k);
        if (json_string_length(v) > HSMCA_AUTH_META_VALUE_MAX)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: value of '%s' is longer than %d bytes", k,
                             HSMCA_AUTH_META_VALUE_MAX);
    }
    return HSMCA_OK;
}

/* Every policy of child is one of parent's (OpenBao's StrListSubset). */
static bool is_subset(const hsmca_strlist *parent, const hsmca_strlist *child)
{
    for (size_t i = 0; i < child->n; i++) {
        if (!hsmca_strlist_contains(parent, child->v[i]))
            return false;
    }
    return true;
}

static hsmca_rv remove_name(hsmca_strlist *l, const char *name)
{
    hsmca_strlist tmp = {0};
    hsmca_rv rv = HSMCA_OK;

    for (size_t i = 0; i < l->n && rv == HSMCA_OK; i++) {
        if (strcmp(l->v[i], name) != 0)
            rv = hsmca_strlist_add(&tmp, l->v[i], strlen(l->v[i]));
    }
    if (rv == HSMCA_OK) {
        hsmca_strlist_clear(l);
        *l = tmp;
    } else {
        hsmca_strlist_clear(&tmp);
    }
    return rv;
}

/* The child's policy set, following OpenBao's token store: no policies
 * asked means the parent's; a caller without root or sudo may only give a
 * subset of its own; "default" comes along unless no_default_policy, and
 * only if the caller may give it; "root" only from root. */
static hsmca_rv child_policies(const hsmca_auth_token *parent, bool sudo, const hsmca_auth_create_params *p,
                               hsmca_strlist *out)
{
    hsmca_strlist asked = {0}, tmp = {0};
    bool add_default;
    hsmca_rv rv;

    if ((rv = auth_policies_sanitize(&p->policies, &asked)) != HSMCA_OK)
        goto done;
    if (asked.n == 0) {
        rv = hsmca_strlist_copy(&tmp, &parent->policies);
    } else {
        if (!sudo && !is_subset(&parent->policies, &asked)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "child policies must be subset of parent");
            goto done;
        }
        rv = hsmca_strlist_copy(&tmp, &asked);
    }
    if (rv != HSMCA_OK)
        goto done;
    add_default = !p->no_default_policy && (sudo || hsmca_strlist_contains(&parent->policies, "default"));
    if (add_default && !hsmca_strlist_contains(&tmp, "default") && (rv = hsmca_strlist_add(&tmp, "default", 7)) != HSMCA_OK)
        goto done;
    if (p->no_default_policy && (rv = remove_name(&tmp, "default")) != HSMCA_OK)
        goto done;
    /* Sorts again and reduces a set with root to root alone. */
    if ((rv = auth_policies_sanitize(&tmp, out)) != HSMCA_OK)
        goto done;
    if (hsmca_strlist_contains(out, "root") && !parent->root) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "root tokens may not be created without parent token being root");
        goto done;
    }
    if (out->n == 0)
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "token must have at least one policy");
done:
    hsmca_strlist_clear(&asked);
    hsmca_strlist_clear(&tmp);
    return rv;
}

/* TTL, explicit max TTL and period of the child (OpenBao's token store and
 * its CalculateTTL), then the cap by the parent's remaining lifetime:
 * OpenBao revokes children with their parent, so no child outlives it. */
static hsmca_rv child_ttl(hsmca_auth *a, const hsmca_auth_token *parent, bool orphan, int64_t now,
                          const hsmca_auth_create_params *p, hsmca_auth_token *t, hsmca_strlist *warnings)
{
    int64_t ttl = p->ttl, explicit_max = p->explicit_max_ttl, period = p->period;
    hsmca_rv rv = HSMCA_OK;

    if (explicit_max > a->max_ttl && period == 0) {
        add_warning(&rv, warnings,
                         "explicit max TTL of %lld seconds is greater than the system maximum; capped to %lld "
                         "seconds",
                         (long long)explicit_max, (long long)a->max_ttl);
        explicit_max = a->max_ttl;
    }
    if (period > 0) {
        if (period > a->max_ttl) {
            add_warning(&rv, warnings, "period of %lld seconds exceeded the system max TTL; capped to %lld seconds",
                             (long long)period, (long long)a->max_ttl);
            period = a->max_ttl;
        }
        ttl = period;
    } else {
        /* Root tokens may live forever; everyone else gets the default. */
        if (ttl == 0 && !t->root)
            ttl = a->default_ttl;
        if (ttl > a->max_ttl) {
            add_warning(&rv, warnings, "TTL of %lld seconds exceeded the system max TTL; capped to %lld seconds",
                             (long long)ttl, (long long)a->max_ttl);
            ttl = a->max_ttl;
        }
    }
    if (explicit_max > 0 && (ttl == 0 || ttl > explicit_max)) {
        if (ttl != 0)
            add_warning(&rv, warnings, "TTL of %lld seconds exceeded the explicit max TTL; capped to %lld seconds",
                             (long long)ttl, (long long)explicit_max);
        ttl = explicit_max;
    }
    if (rv != HSMCA_OK)
        return rv;
    if (ttl == 0 && parent->expire_time != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "expiring root tokens cannot create non-expiring root tokens");
    if (!orphan && parent->expire_time != 0) {
        int64_t left = parent->expire_time - now;

        if (left <= 0)
            return hsmca_err(HSMCA_ERR_NOT_FOUND, "the calling token has expired");
        if (ttl > left) {
            add_warning(&rv, warnings,
                             "TTL of %lld seconds exceeded the parent token's remaining lifetime; capped to %lld "
                             "seconds",
                             (long long)ttl, (long long)left);
            ttl = left;
        }
    }
    t->creation_ttl = ttl;
    t->lease_ttl = ttl;
    t->ttl = ttl;
    t->explicit_max_ttl = explicit_max;
    t->period = period;
    t->expire_time = ttl ? now + ttl : 0;
    /* A token that never expires cannot be renewed; OpenBao says so. */
    t->renewable = ttl != 0 && p->renewable;
    return rv;
}

static hsmca_rv check_params(const hsmca_auth_create_params *p)
{
    if (p->num_uses < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "num_uses: number of uses cannot be negative");
    if (p->ttl < 0 || p->explicit_max_ttl < 0 || p->period < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ttl, explicit_max_ttl and period cannot be negative");
    if (p->path != NULL && strnlen(p->path, HSMCA_AUTH_PATH_MAX + 1) > HSMCA_AUTH_PATH_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path: longer than %d bytes", HSMCA_AUTH_PATH_MAX);
    return check_meta(p->meta);
}

/* The part of token creation after the parent is known (called with
 * token_lock held): the policy, TTL and orphan rules against `parent`,
 * then the new record stored. A login has no parent token: its
 * pseudo-parent holds no policies and gives sudo, so the method's role
 * alone decides the policies (never "root"), and the token is an orphan. */
static hsmca_rv create_child(hsmca_auth *a, const hsmca_auth_token *parent_t, bool sudo, int64_t now,
                             const hsmca_auth_create_params *p, hsmca_auth_secret *secret, hsmca_auth_token *out,
                             hsmca_strlist *warnings)
{
    hsmca_auth_token t;
    char hash[AUTH_HASH_HEX + 1];
    hsmca_store_batch *b = NULL;
    bool orphan;
    hsmca_rv rv;

    memset(&t, 0, sizeof(t));
    memset(hash, 0, sizeof(hash));
    if (p->id[0] != '\0' && !parent_t->root) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "id: only a root token may choose the token id");
        goto done;
    }
    if (p->no_parent && !p->orphan && !sudo) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "root or sudo privileges required to create orphan token");
        goto done;
    }
    if (p->period > 0 && !sudo) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "root or sudo privileges required to create periodic token");
        goto done;
    }
    orphan = p->no_parent || p->orphan;
    if ((rv = child_policies(parent_t, sudo, p, &t.policies)) != HSMCA_OK)
        goto done;
    t.root = hsmca_strlist_contains(&t.policies, "root");
    if (!orphan) {
        memcpy(t.parent_accessor, parent_t->accessor, sizeof(t.parent_accessor));
        t.depth = parent_t->depth + 1;
        if (t.depth > HSMCA_AUTH_DEPTH_MAX) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "token tree deeper than %d levels; create an orphan token instead",
                           HSMCA_AUTH_DEPTH_MAX);
            goto done;
        }
    }
    t.orphan = orphan;
    t.creation_time = now;
    t.num_uses = p->num_uses;
    for (size_t i = 0; i < p->bound_cidrs.n; i++) {
        if (!hsmca_auth_cidr_valid(p->bound_cidrs.v[i])) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "bound_cidrs: '%s' is not a CIDR block", p->bound_cidrs.v[i]);
            goto done;
        }
    }
    if ((rv = hsmca_strlist_copy(&t.bound_cidrs, &p->bound_cidrs)) != HSMCA_OK)
        goto done;
    display_name_set(t.display_name, sizeof(t.display_name), p->display_name);
    snprintf(t.path, sizeof(t.path), "%s",
             p->login_path != NULL ? p->login_path : p->orphan ? "auth/token/create-orphan" : "auth/token/create");
    if (p->meta != NULL && json_object_size(p->meta) > 0 && (t.meta = json_deep_copy(p->meta)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = child_ttl(a, parent_t, orphan, now, p, &t, warnings)) != HSMCA_OK)
        goto done;
    if ((rv = new_identity(p->id, secret, hash, t.accessor)) != HSMCA_OK)
        goto done;
    b = hsmca_store_batch_new(a->store);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = queue_token(b, &t, hash)) != HSMCA_OK)
        goto done;
    rv = auth_commit(b);
    b = NULL;
    if (rv == HSMCA_ERR_EXISTS) {
        /* Random ids and accessors do not collide; a chosen id can. */
        rv = hsmca_err(HSMCA_ERR_EXISTS, p->id[0] ? "a token with that id already exists"
                                                  : "token id or accessor collision; try again");
        goto done;
    }
    if (rv != HSMCA_OK) {
        rv = auth_store_fail(rv, "storing the new", t.accessor);
        goto done;
    }
    hsmca_log_debug("auth: token %s created by %s", t.accessor, parent_t->accessor[0] ? parent_t->accessor : "a login");
    if (out != NULL) {
        hsmca_auth_token_clear(out);
        *out = t;
        memset(&t, 0, sizeof(t));
    }
done:
    hsmca_store_batch_free(b);
    hsmca_auth_token_clear(&t);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rv;
}

hsmca_rv hsmca_auth_token_create(hsmca_auth *a, const hsmca_auth_token *caller,
                                 const hsmca_auth_create_params *p, hsmca_auth_secret *secret,
                                 hsmca_auth_token *out, hsmca_strlist *warnings)
{
    const char *path;
    auth_token_doc parent;
    auth_acl *acl = NULL;
    int64_t now;
    bool sudo, locked = false;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && caller != NULL && p != NULL && secret != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&parent, 0, sizeof(parent));
    memset(secret->token, 0, sizeof(secret->token));
    path = p->path != NULL ? p->path : "auth/token/create";
    if ((rv = check_params(p)) != HSMCA_OK)
        goto done;
    pthread_mutex_lock(&a->token_lock);
    locked = true;
    now = hsmca_auth_now(a);
    /* The caller as stored now: it may have been revoked, or have spent
     * uses, since the request was authorised. */
    rv = auth_token_read_accessor(a, caller->accessor, &parent);
    if (rv == HSMCA_OK)
        rv = auth_token_chain_alive(a, &parent, now);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "the calling token no longer exists");
        goto done;
    }
    if (rv != HSMCA_OK)
        goto done;
    /* OpenBao: a limited-use token making children would escape its count. */
    if (parent.t.num_uses > 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "restricted use token cannot generate child tokens");
        goto done;
    }
    if (parent.t.root) {
        sudo = true;
    } else {
        unsigned caps;

        if ((rv = auth_acl_get(a, &parent.t.policies, &acl)) != HSMCA_OK)
            goto done;
        caps = auth_acl_caps(acl, path, false);
        sudo = (caps & HSMCA_CAP_SUDO) && !(caps & HSMCA_CAP_DENY);
    }
    rv = create_child(a, &parent.t, sudo, now, p, secret, out, warnings);
done:
    if (locked)
        pthread_mutex_unlock(&a->token_lock);
    if (rv != HSMCA_OK)
        hsmca_auth_secret_clear(secret);
    auth_acl_release(acl);
    auth_token_doc_clear(&parent);
    return rv;
}

hsmca_rv hsmca_auth_token_create_login(hsmca_auth *a, const hsmca_auth_create_params *p, hsmca_auth_secret *secret,
                                       hsmca_auth_token *out, hsmca_strlist *warnings)
{
    hsmca_auth_token none;
    hsmca_auth_create_params q;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && p != NULL && secret != NULL && p->login_path != NULL,
                             HSMCA_ERR_INVALID_ARG);
    memset(secret->token, 0, sizeof(secret->token));
    if (p->id[0] != '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "id: a login cannot choose the token id");
    if ((rv = check_params(p)) != HSMCA_OK)
        return rv;
    memset(&none, 0, sizeof(none));
    q = *p;
    q.orphan = true;
    q.no_parent = true;
    pthread_mutex_lock(&a->token_lock);
    rv = create_child(a, &none, true, hsmca_auth_now(a), &q, secret, out, warnings);
    pthread_mutex_unlock(&a->token_lock);
    if (rv != HSMCA_OK)
        hsmca_auth_secret_clear(secret);
    return rv;
}
