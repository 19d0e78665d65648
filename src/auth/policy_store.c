/* SPDX-License-Identifier: Apache-2.0 */
/* sys/policies/acl/:name: ACL policies as stored documents (the policy text
 * and a version under the policy name), with the built-ins' rules. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void hsmca_auth_policy_clear(hsmca_auth_policy *p)
{
    if (p == NULL)
        return;
    free(p->text);
    memset(p, 0, sizeof(*p));
}

/* Reads the stored text and version of a policy document. */
static hsmca_rv policy_read(hsmca_auth *a, const char *name, char **text, int64_t *version, int64_t *modified)
{
    hsmca_store_doc doc;
    json_error_t jerr;
    json_t *body = NULL;
    const json_t *t;
    hsmca_rv rv;

    if (text != NULL)
        *text = NULL;
    rv = hsmca_store_doc_get(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, name, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "no policy named '%s'", name);
    if (rv != HSMCA_OK)
        return rv;
    body = json_loads(doc.body, 0, &jerr);
    t = json_object_get(body, "policy");
    if (!json_is_string(t)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored policy '%s' is damaged (no policy text)", name);
        goto done;
    }
    if (text != NULL && (*text = strdup(json_string_value(t))) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    *version = json_integer_value(json_object_get(body, "version"));
    if (modified != NULL)
        *modified = doc.updated;
    rv = HSMCA_OK;
done:
    json_decref(body);
    hsmca_store_doc_clear(&doc);
    return rv;
}

hsmca_rv hsmca_auth_policy_put(hsmca_auth *a, const char *name, const char *text, int64_t cas)
{
    char n[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    auth_policy_rules rules = {0};
    char *decoded = NULL, *body_text = NULL;
    json_t *body = NULL;
    int64_t version = 0;
    hsmca_store_batch *b = NULL;
    hsmca_rv rv;
    bool locked = false;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    if ((rv = hsmca_auth_policy_name_normalize(name, n, sizeof(n))) != HSMCA_OK)
        goto done;
    /* OpenBao: the root policy is built in and immutable. */
    if (strcmp(n, "root") == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "cannot update the root policy");
        goto done;
    }
    if (cas < -1) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "cas: %lld is not a version (-1 for none)", (long long)cas);
        goto done;
    }
    if ((rv = auth_policy_parse(text, &rules, &decoded)) != HSMCA_OK) {
        hsmca_err_prefix("policy '%s'", n);
        goto done;
    }
    pthread_mutex_lock(&a->policy_lock);
    locked = true;
    rv = policy_read(a, n, NULL, &version, NULL);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        version = 0;
    } else if (rv != HSMCA_OK) {
        goto done;
    }
    if (cas >= 0 && cas != version) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "policy '%s': check-and-set version %lld does not match the current %lld",
                       n, (long long)cas, (long long)version);
        goto done;
    }
    body = json_pack("{s:s, s:I}", "policy", decoded, "version", (json_int_t)version + 1);
    if (body == NULL || (body_text = auth_json_text(body)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    b = hsmca_store_batch_new(a->store);
    if (b != NULL)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, n, NULL, body_text, NULL,
                                  0);
    rv = auth_commit(b);
    if (rv != HSMCA_OK)
        goto done;
    /* After the commit: a compile that read the old text under the old
     * generation can no longer be served. */
    atomic_fetch_add(&a->policy_gen, 1);
done:
    if (locked)
        pthread_mutex_unlock(&a->policy_lock);
    auth_policy_rules_clear(&rules);
    json_decref(body);
    free(body_text);
    free(decoded);
    return rv;
}

hsmca_rv hsmca_auth_policy_get(hsmca_auth *a, const char *name, hsmca_auth_policy *out)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if ((rv = hsmca_auth_policy_name_normalize(name, out->name, sizeof(out->name))) != HSMCA_OK)
        return rv;
    if (strcmp(out->name, "root") == 0) {
        /* OpenBao reads root as a policy with no text: it is not rules but
         * "everything". */
        out->text = strdup("");
        return out->text != NULL ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    rv = policy_read(a, out->name, &out->text, &out->version, &out->modified);
    if (rv != HSMCA_OK)
        hsmca_auth_policy_clear(out);
    return rv;
}

hsmca_rv hsmca_auth_policy_delete(hsmca_auth *a, const char *name)
{
    char n[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    hsmca_store_batch *b;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    if ((rv = hsmca_auth_policy_name_normalize(name, n, sizeof(n))) != HSMCA_OK)
        return rv;
    if (strcmp(n, "root") == 0 || strcmp(n, "default") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "cannot delete the %s policy", n);
    pthread_mutex_lock(&a->policy_lock);
    b = hsmca_store_batch_new(a->store);
    if (b != NULL)
        hsmca_store_batch_doc_delete(b, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, n);
    rv = auth_commit(b);
    if (rv == HSMCA_OK)
        atomic_fetch_add(&a->policy_gen, 1);
    pthread_mutex_unlock(&a->policy_lock);
    return rv;
}

typedef struct {
    int (*cb)(const char *name, void *arg);
    void *arg;
    bool root_done, stopped;
} list_walk;

/* "root" is not stored: it is listed where it sorts. */
static int list_cb(const hsmca_store_doc *d, void *arg)
{
    list_walk *w = arg;

    if (!w->root_done && strcmp(d->id, "root") > 0) {
        w->root_done = true;
        if (!w->cb("root", w->arg)) {
            w->stopped = true;
            return 0;
        }
    }
    if (!w->cb(d->id, w->arg)) {
        w->stopped = true;
        return 0;
    }
    return 1;
}

hsmca_rv hsmca_auth_policy_list(hsmca_auth *a, int (*cb)(const char *name, void *arg), void *arg)
{
    list_walk w = {cb, arg, false, false};
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_store_doc_list(a->store, HSMCA_AUTH_MOUNT, HSMCA_DOC_POLICY, NULL, 0, list_cb, &w);
    if (rv == HSMCA_OK && !w.root_done && !w.stopped)
        cb("root", arg);
    return rv;
}
