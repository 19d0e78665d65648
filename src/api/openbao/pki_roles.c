/* SPDX-License-Identifier: Apache-2.0 */
/* PKI roles: LIST roles, and GET/POST (overwrite)/PATCH (merge)/DELETE
 * roles/:name. The role module parses and validates the body (its fields,
 * weak types, defaults and warnings are OpenBao's). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void roles_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_name_list(req, resp, arg, hsmca_ca_role_list);
}

static void role_respond(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, int status)
{
    hsmca_role role;
    json_t *data = NULL;
    hsmca_rv rv = hsmca_ca_role_get(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "name"), &role);

    if (rv == HSMCA_OK)
        rv = hsmca_role_to_json(&role, &data);
    hsmca_role_clear(&role);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_data(resp, status, data);
}

static void role_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    role_respond(req, resp, arg, 200);
}

static void role_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    bool patch = hsmca_http_req_method(req) == HSMCA_HTTP_PATCH;
    hsmca_strlist warnings = {0};
    json_t *in;
    char *text;
    hsmca_rv rv;

    /* Strict parse first (duplicates, UTF-8, depth); the role module reads
     * the same text. */
    in = hsmca_http_req_json(req);
    if (in == NULL) {
        hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
        return;
    }
    text = json_dumps(in, JSON_COMPACT);
    if (text == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = hsmca_ca_role_put(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "name"), text, patch, &warnings);
    free(text);
    for (size_t i = 0; i < warnings.n; i++)
        hsmca_http_resp_warn(resp, "%s", warnings.v[i]);
    hsmca_strlist_clear(&warnings);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    role_respond(req, resp, arg, 200);
}

static void role_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_rv rv = hsmca_ca_role_delete(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "name"));

    /* OpenBao: deleting a role that does not exist is not an error. */
    if (rv != HSMCA_OK && rv != HSMCA_ERR_NOT_FOUND) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

const hsmca_http_route ob_roles_routes[] = {
    {HSMCA_HTTP_LIST, "roles", roles_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "roles/:name", role_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT | HSMCA_HTTP_PATCH, "roles/:name", role_write, HSMCA_HTTP_ROUTE_EXISTENCE},
    {HSMCA_HTTP_DELETE, "roles/:name", role_delete, 0},
};
const size_t ob_roles_routes_n = sizeof(ob_roles_routes) / sizeof(ob_roles_routes[0]);
