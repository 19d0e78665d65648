/* SPDX-License-Identifier: Apache-2.0 */
/* The auth module's life cycle: the "sys" mount, the built-in default
 * policy, the clock, and helpers shared by the token and policy files. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static int64_t system_clock(void *arg)
{
    (void)arg;
    return (int64_t)time(NULL);
}

int64_t hsmca_auth_now(const hsmca_auth *a)
{
    return a->clock(a->clock_arg);
}

hsmca_rv auth_commit(hsmca_store_batch *b)
{
    hsmca_rv rv;

    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* The "sys" mount holds this module's documents; the store requires a mount
 * for every document. Another process may create it at the same moment. */
static hsmca_rv ensure_mount(hsmca_store *st)
{
    hsmca_store_mount m;
    hsmca_rv rv = hsmca_store_mount_get(st, HSMCA_AUTH_MOUNT, &m);

    if (rv == HSMCA_OK) {
        bool ours = strcmp(m.type, HSMCA_AUTH_MOUNT_TYPE) == 0;

        hsmca_store_mount_clear(&m);
        if (!ours)
            return hsmca_err(HSMCA_ERR_EXISTS, "mount '%s' exists with a type other than '%s': it is reserved",
                             HSMCA_AUTH_MOUNT, HSMCA_AUTH_MOUNT_TYPE);
        return HSMCA_OK;
    }
    if (rv != HSMCA_ERR_NOT_FOUND)
        return rv;
    rv = hsmca_store_mount_create(st, HSMCA_AUTH_MOUNT, HSMCA_AUTH_MOUNT_TYPE, NULL);
    if (rv == HSMCA_ERR_EXISTS)
        rv = HSMCA_OK;
    return rv;
}

/* OpenBao seeds "default" once and lets operators rewrite it: CREATE, so a
 * rewritten one is never put back. */
static hsmca_rv ensure_default_policy(hsmca_auth *a)
{
    hsmca_store_batch *b = NULL;
    json_t *body = NULL;
    char *text = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    body = json_pack("{s:s, s:I}", "policy", auth_default_policy_text, "version", (json_int_t)1);
    if (body == NULL || (text = auth_json_text(body)) == NULL || (b = hsmca_store_batch_new(a->store)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, "default", NULL, text, NULL,
                              0);
    rv = auth_commit(b);
    b = NULL;
    if (rv == HSMCA_ERR_EXISTS) {
        hsmca_err_clear();
        rv = HSMCA_OK;
    }
done:
    hsmca_store_batch_free(b);
    json_decref(body);
    free(text);
    return rv;
}

hsmca_rv hsmca_auth_open(const hsmca_auth_config *cfg, hsmca_auth **out)
{
    hsmca_auth *a = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    bool locks = false;

    hsmca_return_val_if_fail(cfg != NULL && cfg->store != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if (cfg->default_ttl < 0 || cfg->max_ttl < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "auth: default_ttl %lld and max_ttl %lld must not be negative",
                         (long long)cfg->default_ttl, (long long)cfg->max_ttl);
    if (cfg->acl_cache_size > AUTH_ACL_CACHE_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "auth: acl_cache_size %u is above the maximum %u",
                         cfg->acl_cache_size, AUTH_ACL_CACHE_MAX);
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    a->store = cfg->store;
    a->default_ttl = cfg->default_ttl ? cfg->default_ttl : AUTH_TTL_768H;
    a->max_ttl = cfg->max_ttl ? cfg->max_ttl : AUTH_TTL_768H;
    if (a->default_ttl > a->max_ttl) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "auth: default_ttl %lld is above max_ttl %lld",
                       (long long)a->default_ttl, (long long)a->max_ttl);
        goto done;
    }
    a->clock = cfg->clock ? cfg->clock : system_clock;
    a->clock_arg = cfg->clock_arg;
    atomic_init(&a->policy_gen, 1);
    if (pthread_mutex_init(&a->token_lock, NULL) != 0) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "auth: cannot create a mutex");
        goto done;
    }
    if (pthread_mutex_init(&a->policy_lock, NULL) != 0) {
        pthread_mutex_destroy(&a->token_lock);
        rv = hsmca_err(HSMCA_ERR_NOMEM, "auth: cannot create a mutex");
        goto done;
    }
    locks = true;
    if ((rv = auth_acl_cache_new(cfg->acl_cache_size ? cfg->acl_cache_size : AUTH_ACL_CACHE_DEFAULT, &a->cache)) !=
            HSMCA_OK ||
        (rv = ensure_mount(a->store)) != HSMCA_OK || (rv = ensure_default_policy(a)) != HSMCA_OK) {
        hsmca_err_prefix("opening the token store");
        goto done;
    }
    *out = a;
    a = NULL;
    rv = HSMCA_OK;
done:
    if (a != NULL) {
        auth_acl_cache_free(a->cache);
        if (locks) {
            pthread_mutex_destroy(&a->token_lock);
            pthread_mutex_destroy(&a->policy_lock);
        }
        free(a);
    }
    return rv;
}

void hsmca_auth_free(hsmca_auth *a)
{
    if (a == NULL)
        return;
    auth_acl_cache_free(a->cache);
    pthread_mutex_destroy(&a->token_lock);
    pthread_mutex_destroy(&a->policy_lock);
    free(a);
}

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

hsmca_rv auth_policies_sanitize(const hsmca_strlist *in, hsmca_strlist *out)
{
    char name[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    hsmca_strlist tmp = {0};
    hsmca_rv rv = HSMCA_OK;
    bool root = false;

    for (size_t i = 0; i < in->n; i++) {
        /* OpenBao drops empty names (a trailing comma) before anything else. */
        const char *p = in->v[i];
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            continue;
        if ((rv = hsmca_auth_policy_name_normalize(in->v[i], name, sizeof(name))) != HSMCA_OK)
            goto done;
        if (strcmp(name, "root") == 0)
            root = true;
        if (hsmca_strlist_contains(&tmp, name))
            continue;
        if (tmp.n >= HSMCA_AUTH_TOKEN_POLICIES_MAX) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies: more than %d policies", HSMCA_AUTH_TOKEN_POLICIES_MAX);
            goto done;
        }
        if ((rv = hsmca_strlist_add(&tmp, name, strlen(name))) != HSMCA_OK)
            goto done;
    }
    if (root) {
        /* OpenBao's SanitizePolicies: root present means root alone. */
        hsmca_strlist_clear(&tmp);
        if ((rv = hsmca_strlist_add(&tmp, "root", 4)) != HSMCA_OK)
            goto done;
    }
    if (tmp.n > 1)
        qsort(tmp.v, tmp.n, sizeof(tmp.v[0]), name_cmp);
    hsmca_strlist_clear(out);
    *out = tmp;
    memset(&tmp, 0, sizeof(tmp));
done:
    hsmca_strlist_clear(&tmp);
    return rv;
}
