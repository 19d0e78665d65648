/* SPDX-License-Identifier: Apache-2.0 */
/* The dispatcher: every request's way through the appliance. /v1/<path>
 * is split into a backend (sys/, auth/token/, or an enabled PKI mount by
 * its longest matching prefix) and a route; the caller's token is checked
 * against the ACL for the capability the method needs (OpenBao's mapping);
 * state-changing requests are audited before they run and after, denials
 * always. Nothing reaches a handler unauthenticated unless OpenBao
 * documents the endpoint as unauthenticated. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/audit.h"
#include "hsmca/log.h"
#include "internal.h"

#define ACL_PATH_MAX 1100

static void reqctx_free(void *p)
{
    ob_reqctx *c = p;

    if (c == NULL)
        return;
    hsmca_auth_token_clear(&c->token);
    OPENSSL_cleanse(c->token_text, sizeof(c->token_text));
    json_decref(c->audit);
    free(c);
}

static bool is_write(hsmca_http_method m)
{
    return m == HSMCA_HTTP_POST || m == HSMCA_HTTP_PUT || m == HSMCA_HTTP_PATCH || m == HSMCA_HTTP_DELETE;
}

/* OpenBao's method -> capability. POST/PUT are "update" (hsmca's paths
 * have no existence checks, where OpenBao would ask for "create" on a new
 * object); a policy granting create+update covers both as in OpenBao. */
static unsigned capability_of(hsmca_http_method m)
{
    switch (m) {
    case HSMCA_HTTP_GET:
    case HSMCA_HTTP_HEAD:
        return HSMCA_CAP_READ;
    case HSMCA_HTTP_LIST:
        return HSMCA_CAP_LIST;
    case HSMCA_HTTP_PATCH:
        return HSMCA_CAP_PATCH;
    case HSMCA_HTTP_DELETE:
        return HSMCA_CAP_DELETE;
    default:
        return HSMCA_CAP_UPDATE;
    }
}

static const char *operation_of(hsmca_http_method m)
{
    switch (m) {
    case HSMCA_HTTP_GET:
    case HSMCA_HTTP_HEAD:
        return "read";
    case HSMCA_HTTP_LIST:
        return "list";
    case HSMCA_HTTP_PATCH:
        return "patch";
    case HSMCA_HTTP_DELETE:
        return "delete";
    default:
        return "update";
    }
}

/* The mount a path lies in: the longest enabled mount that is the path or
 * a '/'-bounded prefix of it. Returns its length, 0 if none. */
static size_t find_mount(hsmca_openbao *api, const char *rel, char *out, size_t size)
{
    size_t best = 0;

    pthread_rwlock_rdlock(&api->mounts_lock);
    for (size_t i = 0; i < api->n_mounts; i++) {
        size_t n = strlen(api->mounts[i]);
        if (n > best && strncmp(rel, api->mounts[i], n) == 0 && (rel[n] == '/' || rel[n] == '\0') && n < size) {
            best = n;
            memcpy(out, api->mounts[i], n + 1);
        }
    }
    pthread_rwlock_unlock(&api->mounts_lock);
    return best;
}

typedef struct {
    hsmca_openbao *api;
    hsmca_http_req *req;
    hsmca_http_resp *resp;
    const char *mount;     /* "" for sys/ and auth/ */
    const char *rel;       /* path after v1/ */
    ob_reqctx *ctx;
    int audit_fail_status; /* set when an audit write failed: 503 if the token was unavailable, else 500 */
} call;

/* X-Hsmca-Rotation: `hsmca rotate` names the step a request belongs to
 * (and, with --force, the operator's reason), so the audit log says which
 * rotation step changed an issuer and which refusal was overridden
 * (docs/rotation.md). Recorded in both phases; cut to a bound; text that is
 * not UTF-8 is recorded as such rather than dropped. */
#define ROTATION_DETAIL_MAX 512

static void rotation_detail(const hsmca_http_req *req, json_t *details)
{
    const char *v = hsmca_http_req_header(req, "X-Hsmca-Rotation");
    size_t n;
    json_t *s;

    if (v == NULL || details == NULL)
        return;
    n = strnlen(v, ROTATION_DETAIL_MAX);
    s = json_stringn(v, n);
    if (s == NULL)
        s = json_string("(not UTF-8)");
    json_object_set_new(details, "rotation", s);
}

static void audit_write(call *c, bool before, hsmca_audit_outcome outcome, int status, const char *error,
                        bool *ok)
{
    hsmca_audit_entry e;
    const char *pol[HSMCA_AUTH_TOKEN_POLICIES_MAX];
    size_t np = 0;
    json_t *details = NULL;
    hsmca_rv rv;

    *ok = true;
    if (c->api->cfg.audit == NULL)
        return;
    memset(&e, 0, sizeof(e));
    e.request_id = hsmca_http_req_id(c->req);
    e.remote_address = hsmca_http_req_client_addr(c->req);
    if (c->ctx->authenticated) {
        e.accessor = c->ctx->token.accessor;
        for (size_t i = 0; i < c->ctx->token.policies.n && np < HSMCA_AUTH_TOKEN_POLICIES_MAX; i++)
            pol[np++] = c->ctx->token.policies.v[i];
        e.policies = pol;
        e.n_policies = np;
    }
    e.operation = operation_of(hsmca_http_req_method(c->req));
    e.mount = c->mount;
    e.path = c->rel;
    e.status = status;
    e.outcome = outcome;
    e.error = error;
    details = json_object();
    if (details != NULL) {
        json_object_set_new(details, "phase", json_string(before ? "request" : "response"));
        if (!before && c->ctx->audit != NULL)
            json_object_update(details, c->ctx->audit);
        rotation_detail(c->req, details);
    }
    e.details = details;
    rv = hsmca_audit_log(c->api->cfg.audit, &e);
    json_decref(details);
    if (rv != HSMCA_OK) {
        atomic_fetch_add(&c->api->audit_failures, 1);
        hsmca_log(HSMCA_LOG_ERR, "audit log write failed for request %s: %s", e.request_id, hsmca_err_message());
        /* The MAC is computed in the token: a token outage (after the
         * session pool's retry) is the retryable 503 every other HSM
         * outage answers, not a 500 (found by tests/reliability/p11_chaos.py). */
        c->audit_fail_status = hsmca_http_status_for_rv(rv) == 503 ? 503 : 500;
        *ok = false;
    }
}

static void deny(call *c, const char *why_for_log)
{
    bool ok;

    atomic_fetch_add(&c->api->denied, 1);
    hsmca_http_resp_error(c->resp, 403, "permission denied");
    audit_write(c, false, HSMCA_AUDIT_DENIED, 403, "permission denied", &ok);
    hsmca_log(HSMCA_LOG_INFO, "request %s from %s: %s %s denied (%s)", hsmca_http_req_id(c->req),
              hsmca_http_req_client_addr(c->req), hsmca_http_method_name(hsmca_http_req_method(c->req)), c->rel,
              why_for_log);
}

/* OpenBao's existence check for the routes flagged with it: a role or
 * policy that does not exist yet is created (capability "create"), one that
 * does is changed ("update"). */
static bool target_exists(call *c, const hsmca_http_route *route)
{
    const char *name = hsmca_http_req_param(c->req, "name");
    bool yes = true;

    if (name == NULL)
        return true;
    if (strcmp(route->pattern, "roles/:name") == 0) {
        hsmca_role role;
        yes = hsmca_ca_role_get(c->api->cfg.ca, c->mount, name, &role) == HSMCA_OK;
        hsmca_role_clear(&role);
    } else if (strcmp(route->pattern, "certs/:name") == 0) {
        /* a cert auth role, in the method's store mount */
        hsmca_store_doc d;
        memset(&d, 0, sizeof(d));
        yes = hsmca_store_doc_get(c->api->cfg.store, c->mount, "cert_role", name, &d) == HSMCA_OK;
        hsmca_store_doc_clear(&d);
    } else if (strcmp(route->pattern, "policies/acl/:name") == 0) {
        hsmca_auth_policy p;
        memset(&p, 0, sizeof(p));
        yes = hsmca_auth_policy_get(c->api->cfg.auth, name, &p) == HSMCA_OK;
        hsmca_auth_policy_clear(&p);
    }
    hsmca_err_clear();
    return yes;
}

/* The token check; true when the handler may run. */
static bool authorize(call *c, const hsmca_http_route *route)
{
    unsigned cap;
    const char *token = NULL;
    size_t len = 0;
    char acl_path[ACL_PATH_MAX];
    hsmca_auth_decision d = HSMCA_AUTH_DENY_TOKEN;
    hsmca_http_method m = hsmca_http_req_method(c->req);
    hsmca_rv rv;

    if (route->flags & HSMCA_HTTP_ROUTE_UNAUTHENTICATED)
        return true;
    if (hsmca_auth_token_from_headers(hsmca_http_req_header(c->req, "X-Vault-Token"),
                                      hsmca_http_req_header(c->req, "Authorization"), &token, &len) != HSMCA_OK ||
        len > HSMCA_AUTH_TOKEN_MAX) {
        deny(c, "no token");
        return false;
    }
    memcpy(c->ctx->token_text, token, len);
    c->ctx->token_text[len] = '\0';
    /* OpenBao routes LIST on the path with a trailing '/'. */
    snprintf(acl_path, sizeof(acl_path), "%s%s", c->rel, m == HSMCA_HTTP_LIST ? "/" : "");
    cap = capability_of(m);
    if (cap == HSMCA_CAP_UPDATE && (route->flags & HSMCA_HTTP_ROUTE_EXISTENCE) && !target_exists(c, route))
        cap = HSMCA_CAP_CREATE;
    /* The client's address goes along: a token bound to CIDRs
     * (token_bound_cidrs of a login) is refused from anywhere else. */
    rv = hsmca_auth_authorize_from(c->api->cfg.auth, c->ctx->token_text,
                                   hsmca_http_req_client_addr(c->req)[0] ? hsmca_http_req_client_addr(c->req) : NULL,
                                   acl_path, cap, (route->flags & HSMCA_HTTP_ROUTE_SUDO) ? HSMCA_AUTH_NEED_SUDO : 0,
                                   &d, &c->ctx->token);
    if (rv != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_ERR, "request %s: authorisation failed: %s", hsmca_http_req_id(c->req),
                  hsmca_err_message());
        hsmca_http_resp_error_rv(c->resp, rv == HSMCA_ERR_TIMEOUT ? rv : HSMCA_ERR_INTERNAL);
        return false;
    }
    if (d != HSMCA_AUTH_ALLOW) {
        deny(c, d == HSMCA_AUTH_DENY_POLICY                              ? "policy"
                : strstr(hsmca_err_message(), "bound CIDRs") != NULL ? "token used outside its bound CIDRs"
                                                                     : "bad token");
        return false;
    }
    c->ctx->authenticated = true;
    return true;
}

void hsmca_openbao_dispatch(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    const char *path = hsmca_http_req_path(req), *sub = NULL;
    hsmca_http_method m = hsmca_http_req_method(req);
    hsmca_http_router *router = NULL;
    hsmca_http_match match;
    unsigned allowed = 0;
    char mount[HSMCA_STORE_MOUNT_MAX + 1] = "";
    ob_reqctx *ctx = calloc(1, sizeof(*ctx));
    call c = {api, req, resp, mount, NULL, ctx, 0};
    bool audited = false, ok;
    hsmca_rv rv;

    if (ctx == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_req_set_context(req, ctx, reqctx_free);
    if (strncmp(path, "v1/", 3) != 0) {
        hsmca_http_resp_error(resp, 404, "no handler for route '%s': paths start with /v1/", path);
        return;
    }
    c.rel = path + 3;
    if (strncmp(c.rel, "sys/", 4) == 0) {
        router = api->sys;
        sub = c.rel + 4;
    } else if (strncmp(c.rel, "auth/token/", 11) == 0) {
        router = api->token;
        sub = c.rel + 11;
    } else if (strncmp(c.rel, "auth/", 5) == 0) {
        /* A cert auth method's mount; its store mount name is the
         * "auth/<path>" prefix, which handlers get as the "mount" param. */
        size_t n = ob_cert_mount_find(api, c.rel, mount, sizeof(mount));
        if (n == 0) {
            hsmca_http_resp_error(resp, 404, "no handler for route '%s': route entry not found", c.rel);
            return;
        }
        router = api->cert;
        sub = c.rel[n] == '/' ? c.rel + n + 1 : c.rel + n;
        hsmca_http_resp_set_mount_type(resp, "cert");
    } else {
        size_t n = find_mount(api, c.rel, mount, sizeof(mount));
        if (n == 0) {
            hsmca_http_resp_error(resp, 404, "no handler for route '%s': route entry not found", c.rel);
            return;
        }
        router = api->pki;
        sub = c.rel[n] == '/' ? c.rel + n + 1 : c.rel + n;
        hsmca_http_resp_set_mount_type(resp, "pki");
    }
    rv = hsmca_http_router_match(router, sub, m == HSMCA_HTTP_HEAD ? HSMCA_HTTP_GET : m, &match, &allowed);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_http_resp_error(resp, 404, "no handler for route '%s': route entry not found", c.rel);
        return;
    }
    if (rv != HSMCA_OK) {
        /* OpenBao answers an unsupported method on a known path with 405. */
        hsmca_http_resp_error(resp, 405, "unsupported operation: %s on '%s'", hsmca_http_method_name(m), c.rel);
        return;
    }
    if (match.n < 8 && mount[0] != '\0') {
        match.names[match.n] = "mount";
        match.values[match.n] = mount;
        match.n++;
    }
    hsmca_http_req_set_params(req, &match);
    if (!authorize(&c, match.route))
        return;
    /* State changes are logged before they happen: if the log cannot be
     * written, nothing is done (OpenBao refuses requests it cannot audit). */
    if (is_write(m) && !(match.route->flags & HSMCA_HTTP_ROUTE_NO_AUDIT)) {
        audit_write(&c, true, HSMCA_AUDIT_SUCCESS, 0, NULL, &ok);
        if (!ok) {
            hsmca_http_resp_error(resp, c.audit_fail_status, "the audit log cannot be written; request refused");
            return;
        }
        audited = true;
    }
    match.route->fn(req, resp, match.arg);
    if (audited) {
        int st = hsmca_http_resp_status(resp);
        const char *err = hsmca_http_resp_error_message(resp);

        audit_write(&c, false, st >= 400 ? HSMCA_AUDIT_ERROR : HSMCA_AUDIT_SUCCESS, st, err, &ok);
        if (!ok && st < 400) {
            /* Done but not recorded: the client must not take it as a
             * clean success (OpenBao answers 500 as well). */
            hsmca_http_resp_error(resp, c.audit_fail_status, "the request completed but the audit log cannot be written");
        }
    }
}
