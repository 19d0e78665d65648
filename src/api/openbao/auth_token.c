/* SPDX-License-Identifier: Apache-2.0 */
/* The token auth method's endpoints (/v1/auth/token/...): create, lookup,
 * renew and revoke, for the caller itself, by token and by accessor, as
 * OpenBao defines them. Token strings appear only in the response that
 * creates them (and in lookup-self, which echoes the caller's own). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

static hsmca_auth *auth_of(void *arg)
{
    return ((hsmca_openbao *)arg)->cfg.auth;
}

/* The operation: the route's last path segment ("create-orphan",
 * "revoke-accessor"...). */
static const char *op_of(const hsmca_http_req *req)
{
    const char *p = hsmca_http_req_path(req), *slash = strrchr(p, '/');

    return slash != NULL ? slash + 1 : p;
}

static void put_warnings(hsmca_http_resp *resp, hsmca_strlist *w)
{
    for (size_t i = 0; i < w->n; i++)
        hsmca_http_resp_warn(resp, "%s", w->v[i]);
    hsmca_strlist_clear(w);
}

/* A token record as lookup answers it; id: the token text, or NULL. */
static void respond_token(hsmca_http_resp *resp, const hsmca_auth_token *t, const char *id)
{
    json_t *data = NULL;
    hsmca_rv rv = hsmca_auth_token_to_json(t, &data);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    if (id != NULL)
        json_object_set_new(data, "id", json_string(id));
    hsmca_http_resp_data(resp, 200, data);
}

static void token_create(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_reqctx *ctx = ob_ctx(req);
    hsmca_auth_create_params p;
    hsmca_auth_secret secret;
    hsmca_auth_token made;
    hsmca_strlist warnings = {0};
    json_t *body = hsmca_http_req_json(req), *auth = NULL;
    hsmca_rv rv;

    memset(&made, 0, sizeof(made));
    memset(&secret, 0, sizeof(secret));
    hsmca_auth_create_params_init(&p);
    if (body == NULL) {
        hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
        goto done;
    }
    if ((rv = hsmca_auth_create_params_from_json(body, &p, &warnings)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    if (strcmp(op_of(req), "create-orphan") == 0)
        p.orphan = true;
    p.path = hsmca_http_req_path(req) + 3;
    rv = hsmca_auth_token_create(auth_of(arg), &ctx->token, &p, &secret, &made, &warnings);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        /* the caller was revoked while this request ran */
        hsmca_http_resp_error(resp, 403, "permission denied");
        goto done;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    rv = hsmca_auth_token_auth_json(&made, &secret, &auth);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "created_accessor", json_string(made.accessor));
    hsmca_http_resp_data(resp, 200, NULL);
    hsmca_http_resp_set_auth(resp, auth);
done:
    put_warnings(resp, &warnings);
    hsmca_auth_secret_clear(&secret);
    hsmca_auth_token_clear(&made);
    hsmca_auth_create_params_clear(&p);
}

static void lookup_self(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_reqctx *ctx = ob_ctx(req);

    (void)arg;
    respond_token(resp, &ctx->token, ctx->token_text);
}

static const ob_field token_fields[] = {{"token", OBF_STRING}, {"increment", OBF_DURATION}, OB_FIELDS_END};
static const ob_field accessor_fields[] = {{"accessor", OBF_STRING}, {"increment", OBF_DURATION}, OB_FIELDS_END};

/* The accessor a request names by token (field "token") or by accessor. */
static bool target_accessor(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool by_accessor, char *out,
                            int64_t *increment)
{
    json_t *in = ob_fields(req, resp, by_accessor ? accessor_fields : token_fields);
    hsmca_auth_token t;
    hsmca_rv rv;

    if (in == NULL)
        return false;
    *increment = ob_int(in, "increment", 0);
    memset(&t, 0, sizeof(t));
    if (by_accessor) {
        const char *a = ob_str(in, "accessor", "");
        if (a[0] == '\0') {
            hsmca_http_resp_error(resp, 400, "accessor: missing accessor");
            json_decref(in);
            return false;
        }
        rv = hsmca_auth_token_lookup_accessor(auth_of(arg), a, &t);
    } else {
        const char *tok = ob_str(in, "token", "");
        if (tok[0] == '\0') {
            hsmca_http_resp_error(resp, 400, "token: missing token");
            json_decref(in);
            return false;
        }
        rv = hsmca_auth_token_lookup(auth_of(arg), tok, 0, &t);
    }
    json_decref(in);
    if (rv == HSMCA_ERR_NOT_FOUND || (by_accessor && rv == HSMCA_ERR_INVALID_ARG)) {
        /* OpenBao: an unknown token or accessor is a 400. */
        hsmca_http_resp_error(resp, 400, by_accessor ? "invalid accessor" : "bad token");
        return false;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return false;
    }
    memcpy(out, t.accessor, sizeof(t.accessor));
    hsmca_auth_token_clear(&t);
    return true;
}

static void lookup_other(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool by_accessor)
{
    char acc[HSMCA_AUTH_ACCESSOR_LEN + 1];
    int64_t inc;
    hsmca_auth_token t;

    if (!target_accessor(req, resp, arg, by_accessor, acc, &inc))
        return;
    memset(&t, 0, sizeof(t));
    if (hsmca_auth_token_lookup_accessor(auth_of(arg), acc, &t) != HSMCA_OK) {
        hsmca_http_resp_error(resp, 400, "bad token");
        return;
    }
    respond_token(resp, &t, NULL);
    hsmca_auth_token_clear(&t);
}

static void lookup(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    lookup_other(req, resp, arg, false);
}

static void lookup_accessor(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    lookup_other(req, resp, arg, true);
}

static void renew_accessor(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *accessor,
                           int64_t increment)
{
    hsmca_auth_token t;
    hsmca_strlist warnings = {0};
    json_t *auth = NULL;
    hsmca_rv rv;

    memset(&t, 0, sizeof(t));
    /* A certificate login's token renews only with its certificate. */
    if (hsmca_auth_token_lookup_accessor(auth_of(arg), accessor, &t) == HSMCA_OK &&
        !ob_cert_renew_allowed(arg, req, &t)) {
        ob_audit_detail(req, "renew_error", json_string("the certificate of the login was not presented"));
        hsmca_http_resp_error(resp, 403, "permission denied");
        hsmca_auth_token_clear(&t);
        return;
    }
    hsmca_err_clear();
    rv = hsmca_auth_token_renew(auth_of(arg), accessor, increment, &t, &warnings);
    if (rv == HSMCA_OK)
        rv = hsmca_auth_token_auth_json(&t, NULL, &auth);
    if (rv != HSMCA_OK) {
        put_warnings(resp, &warnings);
        ob_fail(resp, rv);
        hsmca_auth_token_clear(&t);
        return;
    }
    ob_audit_detail(req, "renewed_accessor", json_string(t.accessor));
    hsmca_http_resp_data(resp, 200, NULL);
    hsmca_http_resp_set_auth(resp, auth);
    put_warnings(resp, &warnings);
    hsmca_auth_token_clear(&t);
}

static const ob_field increment_fields[] = {{"increment", OBF_DURATION}, OB_FIELDS_END};

static void renew_self(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, increment_fields);

    if (in == NULL)
        return;
    renew_accessor(req, resp, arg, ob_ctx(req)->token.accessor, ob_int(in, "increment", 0));
    json_decref(in);
}

static void renew(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    char acc[HSMCA_AUTH_ACCESSOR_LEN + 1];
    int64_t inc;
    bool by_accessor = strcmp(op_of(req), "renew-accessor") == 0;

    if (target_accessor(req, resp, arg, by_accessor, acc, &inc))
        renew_accessor(req, resp, arg, acc, inc);
}

static void revoke_accessor(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *accessor,
                            hsmca_auth_revoke_mode mode)
{
    size_t n = 0;
    hsmca_rv rv = hsmca_auth_token_revoke(auth_of(arg), accessor, mode, &n);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "revoked_accessor", json_string(accessor));
    ob_audit_detail(req, "revoked_tokens", json_integer((json_int_t)n));
    hsmca_http_resp_no_content(resp);
}

static void revoke_self(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    char acc[HSMCA_AUTH_ACCESSOR_LEN + 1];

    memcpy(acc, ob_ctx(req)->token.accessor, sizeof(acc));
    revoke_accessor(req, resp, arg, acc, HSMCA_AUTH_REVOKE_TREE);
}

static void revoke(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *op = op_of(req);
    char acc[HSMCA_AUTH_ACCESSOR_LEN + 1];
    int64_t inc;
    bool by_accessor = strcmp(op, "revoke-accessor") == 0;

    if (!target_accessor(req, resp, arg, by_accessor, acc, &inc))
        return;
    revoke_accessor(req, resp, arg, acc, strcmp(op, "revoke-orphan") == 0 ? HSMCA_AUTH_REVOKE_ORPHAN
                                                                           : HSMCA_AUTH_REVOKE_TREE);
}

static int add_accessor(const char *a, void *arg)
{
    return json_array_append_new(arg, json_string(a)) == 0;
}

static void accessors(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *keys = json_array();
    hsmca_rv rv;

    (void)req;
    if (keys == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = hsmca_auth_token_list_accessors(auth_of(arg), add_accessor, keys);
    if (rv != HSMCA_OK) {
        json_decref(keys);
        ob_fail(resp, rv);
        return;
    }
    ob_list_response(resp, keys, NULL);
}

static void tidy(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    size_t n = 0;
    hsmca_rv rv = hsmca_auth_tidy(auth_of(arg), 0, &n);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "revoked_tokens", json_integer((json_int_t)n));
    hsmca_http_resp_warn(resp, "Tidy operation successfully started. Any information from the operation will be "
                               "printed to the server log.");
    hsmca_http_resp_data(resp, 202, NULL);
}

/* Handlers shared by several routes read the operation from the path. */
static const hsmca_http_route token_routes[] = {
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "create", token_create, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "create-orphan", token_create, 0},
    {HSMCA_HTTP_GET, "lookup-self", lookup_self, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "lookup-self", lookup_self, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT | HSMCA_HTTP_GET, "lookup", lookup, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "lookup-accessor", lookup_accessor, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "renew-self", renew_self, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "renew", renew, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "renew-accessor", renew, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke-self", revoke_self, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke", revoke, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke-accessor", revoke, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke-orphan", revoke, HSMCA_HTTP_ROUTE_SUDO},
    {HSMCA_HTTP_LIST, "accessors", accessors, HSMCA_HTTP_ROUTE_SUDO | HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "tidy", tidy, HSMCA_HTTP_ROUTE_SUDO},
};

hsmca_rv ob_token_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    return hsmca_http_router_add(r, token_routes, sizeof(token_routes) / sizeof(token_routes[0]), api);
}
