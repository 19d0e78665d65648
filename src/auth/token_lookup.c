/* SPDX-License-Identifier: Apache-2.0 */
/* Finding the token a request carries, consuming its uses, and the
 * authenticate-then-authorise check of every request. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "internal.h"

hsmca_rv hsmca_auth_token_from_headers(const char *x_vault_token, const char *authorization, const char **token,
                                       size_t *len)
{
    const char *p;

    hsmca_return_val_if_fail(token != NULL, HSMCA_ERR_INVALID_ARG);
    *token = NULL;
    if (len != NULL)
        *len = 0;
    /* OpenBao prefers X-Vault-Token and falls back to a Bearer token. */
    if (x_vault_token != NULL && x_vault_token[0] != '\0') {
        p = x_vault_token;
    } else if (authorization != NULL && strncasecmp(authorization, "Bearer", 6) == 0 &&
               (authorization[6] == ' ' || authorization[6] == '\t')) {
        p = authorization + 6;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return hsmca_err(HSMCA_ERR_NOT_FOUND, "no token in the request");
    } else {
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "no token in the request");
    }
    *token = p;
    if (len != NULL)
        *len = strnlen(p, HSMCA_AUTH_TOKEN_MAX + 1);
    return HSMCA_OK;
}

/* Looks the token up by its hash and checks that it is alive. */
static hsmca_rv find_token(hsmca_auth *a, const char *token, int64_t now, auth_token_doc *out)
{
    char hash[AUTH_HASH_HEX + 1];
    size_t len;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (token == NULL)
        return auth_bad_token();
    len = strnlen(token, HSMCA_AUTH_TOKEN_MAX + 1);
    /* Too long to be any token we made or accepted: not worth a lookup. */
    if (len == 0 || len > HSMCA_AUTH_TOKEN_MAX)
        return auth_bad_token();
    rv = auth_token_hash(token, len, hash);
    if (rv == HSMCA_OK)
        rv = auth_token_read_hash(a, hash, out);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (rv == HSMCA_OK && (rv = auth_token_chain_alive(a, out, now)) != HSMCA_OK)
        auth_token_doc_clear(out);
    return rv;
}

hsmca_rv auth_token_consume(hsmca_auth *a, auth_token_doc *d)
{
    auth_token_doc cur;
    hsmca_store_batch *b = NULL;
    char *body = NULL;
    int64_t now;
    hsmca_rv rv;

    pthread_mutex_lock(&a->token_lock);
    now = hsmca_auth_now(a);
    /* Read again under the lock: another request may have used it. */
    rv = auth_token_read_hash(a, d->hash, &cur);
    if (rv != HSMCA_OK)
        goto done;
    if (cur.t.expire_time != 0 && cur.t.expire_time <= now) {
        rv = auth_bad_token();
        goto done;
    }
    if (cur.t.num_uses == 1) {
        /* The last use: OpenBao revokes the token (with its children) once
         * the request is served. Revoking now is the same to the caller and
         * cannot be lost to a crash between the request and a later step. */
        rv = auth_revoke_locked(a, cur.t.accessor, HSMCA_AUTH_REVOKE_TREE, NULL);
        if (rv != HSMCA_OK)
            goto done;
        cur.t.num_uses = 0;
        hsmca_log_debug("token %s: last use consumed, revoked", cur.t.accessor);
    } else if (cur.t.num_uses > 1) {
        cur.t.num_uses--;
        if ((rv = auth_token_to_body(&cur.t, &body)) != HSMCA_OK)
            goto done;
        b = hsmca_store_batch_new(a->store);
        if (b != NULL)
            hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, cur.hash,
                                      cur.t.accessor, body, NULL, 0);
        rv = auth_commit(b);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            rv = auth_bad_token();
            goto done;
        }
        if (rv != HSMCA_OK) {
            rv = auth_store_fail(rv, "using", cur.t.accessor);
            goto done;
        }
    }
    auth_token_doc_clear(d);
    *d = cur;
    memset(&cur, 0, sizeof(cur));
    rv = HSMCA_OK;
done:
    pthread_mutex_unlock(&a->token_lock);
    auth_token_doc_clear(&cur);
    free(body);
    return rv;
}

hsmca_rv hsmca_auth_token_lookup(hsmca_auth *a, const char *token, unsigned flags, hsmca_auth_token *out)
{
    auth_token_doc d;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    rv = find_token(a, token, hsmca_auth_now(a), &d);
    if (rv == HSMCA_OK && (flags & HSMCA_AUTH_LOOKUP_USE) && d.t.num_uses > 0)
        rv = auth_token_consume(a, &d);
    if (rv == HSMCA_OK) {
        hsmca_auth_token_clear(out);
        *out = d.t;
        memset(&d.t, 0, sizeof(d.t));
    }
    auth_token_doc_clear(&d);
    return rv;
}

hsmca_rv hsmca_auth_token_lookup_accessor(hsmca_auth *a, const char *accessor, hsmca_auth_token *out)
{
    auth_token_doc d;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    if (!auth_accessor_valid(accessor))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "invalid accessor: %d base62 characters expected",
                         HSMCA_AUTH_ACCESSOR_LEN);
    rv = auth_token_read_accessor(a, accessor, &d);
    if (rv == HSMCA_OK && (rv = auth_token_chain_alive(a, &d, hsmca_auth_now(a))) != HSMCA_OK)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "invalid accessor");
    if (rv == HSMCA_OK) {
        hsmca_auth_token_clear(out);
        *out = d.t;
        memset(&d.t, 0, sizeof(d.t));
    }
    auth_token_doc_clear(&d);
    return rv;
}

hsmca_rv hsmca_auth_authorize(hsmca_auth *a, const char *token, const char *path, unsigned capability,
                              unsigned flags, hsmca_auth_decision *decision, hsmca_auth_token *out)
{
    return hsmca_auth_authorize_from(a, token, NULL, path, capability, flags, decision, out);
}

hsmca_rv hsmca_auth_authorize_from(hsmca_auth *a, const char *token, const char *client_addr, const char *path,
                                   unsigned capability, unsigned flags, hsmca_auth_decision *decision,
                                   hsmca_auth_token *out)
{
    auth_token_doc d;
    auth_acl *acl = NULL;
    unsigned caps;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && path != NULL && decision != NULL, HSMCA_ERR_INVALID_ARG);
    *decision = HSMCA_AUTH_DENY_TOKEN;
    memset(&d, 0, sizeof(d));
    if (strnlen(path, HSMCA_AUTH_PATH_MAX + 1) > HSMCA_AUTH_PATH_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path: longer than %d bytes", HSMCA_AUTH_PATH_MAX);
    if (path[0] == '/')
        path++;
    rv = find_token(a, token, hsmca_auth_now(a), &d);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        rv = HSMCA_OK; /* decided: DENY_TOKEN; the detail stays "bad token" */
        goto done;
    }
    if (rv != HSMCA_OK)
        goto done;
    /* token_bound_cidrs holds on every use, not only at login; checked
     * before anything is spent (OpenBao answers such a use as a bad token). */
    if (!hsmca_auth_token_addr_ok(&d.t, client_addr)) {
        hsmca_err(HSMCA_ERR_NOT_FOUND, "token used from %s, outside its bound CIDRs",
                  client_addr != NULL ? client_addr : "an unknown address");
        goto done;
    }
    if ((rv = auth_acl_get(a, &d.t.policies, &acl)) != HSMCA_OK)
        goto done;
    caps = auth_acl_caps(acl, path, capability == HSMCA_CAP_LIST);
    if (!auth_acl_caps_allow(caps, capability, flags)) {
        *decision = HSMCA_AUTH_DENY_POLICY;
        hsmca_err(HSMCA_ERR_NOT_FOUND, "permission denied");
    } else if (d.t.num_uses > 0) {
        /* A use is spent only on an allowed request, as in OpenBao. */
        rv = auth_token_consume(a, &d);
        if (rv == HSMCA_ERR_NOT_FOUND) {
            rv = HSMCA_OK; /* the last use went to a concurrent request */
            goto done;
        }
        if (rv != HSMCA_OK)
            goto done;
        *decision = HSMCA_AUTH_ALLOW;
    } else {
        *decision = HSMCA_AUTH_ALLOW;
    }
    /* Filled on a policy denial too: the audit log names who was refused. */
    if (out != NULL) {
        hsmca_auth_token_clear(out);
        *out = d.t;
        memset(&d.t, 0, sizeof(d.t));
    }
done:
    auth_acl_release(acl);
    auth_token_doc_clear(&d);
    return rv;
}
