/* SPDX-License-Identifier: Apache-2.0 */
/* sys/auth: enabling, listing and disabling mounts of the TLS certificate
 * auth method (type "cert"), as OpenBao's sys/auth does. A cert mount at
 * auth/<path> is a store mount named "auth/<path>": PKI mount names cannot
 * hold a '/', so the two kinds never collide, and disabling the method
 * deletes its roles, CRLs and configuration with the mount row. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The method's mount paths are one segment of the PKI mount-name charset:
 * a '/' inside would make auth/<a>/<b> ambiguous against a role path. */
static bool cert_path_ok(const char *p, hsmca_http_resp *resp)
{
    size_t n = strlen(p);

    /* OpenBao clients send "cert/" as often as "cert". */
    if (n > 0 && p[n - 1] == '/')
        n--;
    if (n == 0 || n > 64) {
        hsmca_http_resp_error(resp, 400, "path: must be 1 to 64 bytes");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.')) {
            hsmca_http_resp_error(resp, 400, "path: '%s' may contain only letters, digits, '_', '-' and '.'", p);
            return false;
        }
    }
    if (n == 5 && strncmp(p, "token", 5) == 0) {
        hsmca_http_resp_error(resp, 400, "path: 'token' is the token auth method's, which is always enabled");
        return false;
    }
    return true;
}

/* "auth/<path>" without a trailing '/'; false if it does not fit. */
static bool store_name(const char *path, char *out, size_t size)
{
    size_t n = strlen(path);

    if (n > 0 && path[n - 1] == '/')
        n--;
    return (size_t)snprintf(out, size, "auth/%.*s", (int)n, path) < size;
}

size_t ob_cert_mount_find(hsmca_openbao *api, const char *rel, char *out, size_t size)
{
    const char *seg = rel + 5, *end;
    size_t n;
    hsmca_store_mount m;
    hsmca_rv rv;

    if (strncmp(rel, "auth/", 5) != 0)
        return 0;
    end = strchr(seg, '/');
    n = end != NULL ? (size_t)(end - rel) : strlen(rel);
    if (n == 5 || n >= size)
        return 0;
    memcpy(out, rel, n);
    out[n] = '\0';
    memset(&m, 0, sizeof(m));
    rv = hsmca_store_mount_get(api->cfg.store, out, &m);
    if (rv != HSMCA_OK || strcmp(m.type, "cert") != 0)
        n = 0;
    hsmca_store_mount_clear(&m);
    hsmca_err_clear();
    if (n == 0)
        out[0] = '\0';
    return n;
}

static json_t *auth_mount_json(const char *type, const char *description)
{
    return json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:b,s:s},s:{},s:b,s:b,s:b}", "type", type, "description",
                     description, "accessor", "", "config", "default_lease_ttl", 0, "max_lease_ttl", 0,
                     "force_no_cache", 0, "token_type", "default-service", "options", "local", 0, "seal_wrap", 0,
                     "external_entropy_access", 0);
}

static int add_auth_mount(const hsmca_store_mount *m, void *arg)
{
    char key[HSMCA_STORE_MOUNT_MAX + 2];

    if (strcmp(m->type, "cert") != 0 || strncmp(m->name, "auth/", 5) != 0)
        return 1;
    snprintf(key, sizeof(key), "%s/", m->name + 5);
    json_object_set_new(arg, key, auth_mount_json("cert", ""));
    return 1;
}

/* GET sys/auth */
static void auth_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *data = json_object();
    hsmca_rv rv;

    (void)req;
    if (data == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = hsmca_store_mount_list(api->cfg.store, add_auth_mount, data);
    if (rv != HSMCA_OK) {
        json_decref(data);
        ob_fail(resp, rv);
        return;
    }
    /* The token method exists in every OpenBao and cannot be disabled. */
    json_object_set_new(data, "token/", auth_mount_json("token", "token based credentials"));
    hsmca_http_resp_data(resp, 200, data);
}

/* GET sys/auth/:path */
static void auth_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    char name[HSMCA_STORE_MOUNT_MAX + 1], probe[HSMCA_STORE_MOUNT_MAX + 8];

    if (!store_name(hsmca_http_req_param(req, "path"), name, sizeof(name))) {
        hsmca_http_resp_error(resp, 400, "path: too long");
        return;
    }
    snprintf(probe, sizeof(probe), "%s/", name);
    if (strcmp(name, "auth/token") == 0) {
        hsmca_http_resp_data(resp, 200, auth_mount_json("token", "token based credentials"));
        return;
    }
    if (ob_cert_mount_find(api, probe, name, sizeof(name)) == 0) {
        hsmca_http_resp_error(resp, 400, "No auth engine at %s/", hsmca_http_req_param(req, "path"));
        return;
    }
    hsmca_http_resp_data(resp, 200, auth_mount_json("cert", ""));
}

static const ob_field auth_fields[] = {
    {"type", OBF_STRING},   {"description", OBF_STRING},     {"config", OBF_OBJECT}, {"options", OBF_OBJECT},
    {"local", OBF_BOOL},    {"seal_wrap", OBF_BOOL},         {"plugin_name", OBF_STRING},
    {"plugin_version", OBF_STRING},
    OB_FIELDS_END,
};

/* POST sys/auth/:path */
static void auth_enable(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    const char *path = hsmca_http_req_param(req, "path");
    json_t *in = ob_fields(req, resp, auth_fields);
    char name[HSMCA_STORE_MOUNT_MAX + 1];
    const char *type;
    hsmca_rv rv;

    if (in == NULL)
        return;
    type = ob_str(in, "type", "");
    if (type[0] == '\0')
        type = ob_str(in, "plugin_name", "");
    if (strcmp(type, "cert") != 0) {
        hsmca_http_resp_error(resp, 400,
                              "type: '%s' is not supported: this appliance enables only the 'cert' auth method", type);
        goto done;
    }
    if (!cert_path_ok(path, resp))
        goto done;
    store_name(path, name, sizeof(name));
    rv = hsmca_store_mount_create(api->cfg.store, name, "cert", NULL);
    if (rv == HSMCA_ERR_EXISTS) {
        hsmca_http_resp_error(resp, 400, "path is already in use at %s/", name);
        goto done;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "mount_type", json_string("cert"));
    hsmca_http_resp_no_content(resp);
done:
    json_decref(in);
}

/* DELETE sys/auth/:path: removes the mount with its roles, CRLs and config. */
static void auth_disable(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    char name[HSMCA_STORE_MOUNT_MAX + 1], probe[HSMCA_STORE_MOUNT_MAX + 8];
    hsmca_rv rv;

    if (!store_name(hsmca_http_req_param(req, "path"), name, sizeof(name))) {
        hsmca_http_resp_error(resp, 400, "path: too long");
        return;
    }
    if (strcmp(name, "auth/token") == 0) {
        hsmca_http_resp_error(resp, 400, "path: the token auth method cannot be disabled");
        return;
    }
    snprintf(probe, sizeof(probe), "%s/", name);
    /* OpenBao: disabling a path that is not enabled succeeds. */
    if (ob_cert_mount_find(api, probe, name, sizeof(name)) == 0) {
        hsmca_http_resp_no_content(resp);
        return;
    }
    rv = hsmca_store_mount_delete(api->cfg.store, name);
    if (rv != HSMCA_OK && rv != HSMCA_ERR_NOT_FOUND) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

static const hsmca_http_route auth_routes[] = {
    {HSMCA_HTTP_GET, "auth", auth_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "auth/:path", auth_read, HSMCA_HTTP_ROUTE_NO_AUDIT | HSMCA_HTTP_ROUTE_SUDO},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "auth/:path", auth_enable, HSMCA_HTTP_ROUTE_SUDO},
    {HSMCA_HTTP_DELETE, "auth/:path", auth_disable, HSMCA_HTTP_ROUTE_SUDO},
};

hsmca_rv ob_sys_auth_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    return hsmca_http_router_add(r, auth_routes, sizeof(auth_routes) / sizeof(auth_routes[0]), api);
}
