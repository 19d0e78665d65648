/* SPDX-License-Identifier: Apache-2.0 */
/* PKI mount configuration: config/urls (AIA and CRL distribution URLs),
 * config/cluster (the addresses AIA templates use), config/issuers (the
 * default issuer) and config/keys (the default key). Writes to urls and
 * cluster change only the fields given, as OpenBao's do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The stored document as an object ({} when never set); NULL with resp
 * filled on failure. */
static json_t *config_load(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *name)
{
    char *text = NULL;
    json_t *cfg = NULL;
    hsmca_rv rv = hsmca_ca_config_get(ob_ca(arg), ob_mount(req), name, &text);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return NULL;
    }
    cfg = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        hsmca_http_resp_error(resp, 500, "internal error: stored config/%s is not a JSON object", name);
        return NULL;
    }
    return cfg;
}

/* A copy of cfg's list (an array of strings), [] when absent. */
static json_t *list_or_empty(const json_t *cfg, const char *name)
{
    json_t *v = json_object_get(cfg, name);

    return json_is_array(v) ? json_deep_copy(v) : json_array();
}

/* ---- config/urls ---- */

static const char *const url_lists[] = {"issuing_certificates", "crl_distribution_points",
                                        "delta_crl_distribution_points", "ocsp_servers"};
#define N_URL_LISTS (sizeof(url_lists) / sizeof(url_lists[0]))

static const ob_field urls_fields[] = {
    {"issuing_certificates", OBF_LIST},
    {"crl_distribution_points", OBF_LIST},
    {"delta_crl_distribution_points", OBF_LIST},
    {"ocsp_servers", OBF_LIST},
    {"enable_templating", OBF_BOOL},
    OB_FIELDS_END,
};

static void urls_respond(hsmca_http_resp *resp, const json_t *cfg)
{
    json_t *d = json_object();

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    for (size_t k = 0; k < N_URL_LISTS; k++)
        json_object_set_new(d, url_lists[k], list_or_empty(cfg, url_lists[k]));
    json_object_set_new(d, "enable_templating", json_boolean(json_is_true(json_object_get(cfg, "enable_templating"))));
    hsmca_http_resp_data(resp, 200, d);
}

static void urls_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *cfg = config_load(req, resp, arg, "urls");

    if (cfg == NULL)
        return;
    urls_respond(resp, cfg);
    json_decref(cfg);
}

/* The fields given in a partial write, applied to the stored document
 * under the core's config lock (hsmca_ca_config_update). */
static hsmca_rv urls_edit(json_t *cfg, void *arg)
{
    const json_t *in = arg;
    bool templating;

    for (size_t k = 0; k < N_URL_LISTS; k++) {
        if (ob_has(in, url_lists[k]))
            json_object_set(cfg, url_lists[k], json_object_get(in, url_lists[k]));
    }
    if (ob_has(in, "enable_templating"))
        json_object_set_new(cfg, "enable_templating", json_boolean(ob_bool(in, "enable_templating", false)));
    templating = json_is_true(json_object_get(cfg, "enable_templating"));
    /* Templates only with templating on: OpenBao refuses them otherwise
     * rather than putting "{{issuer_id}}" into certificates. The core
     * checks the URLs themselves. */
    for (size_t k = 0; k < N_URL_LISTS && !templating; k++) {
        size_t n;
        json_t *v;
        json_array_foreach(json_object_get(cfg, url_lists[k]), n, v) {
            if (strstr(json_string_value(v) ? json_string_value(v) : "", "{{") != NULL)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s entry '%s' is a template but enable_templating is false",
                                 url_lists[k], json_string_value(v));
        }
    }
    return HSMCA_OK;
}

/* Runs edit on config/<name> with the request's fields; the stored object,
 * or NULL with resp filled. */
static json_t *config_update(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *name,
                             hsmca_ca_config_edit_fn edit, json_t *in)
{
    char *text = NULL;
    json_t *cfg = NULL;
    hsmca_rv rv = hsmca_ca_config_update(ob_ca(arg), ob_mount(req), name, edit, in, &text);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return NULL;
    }
    cfg = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (cfg == NULL)
        hsmca_http_resp_error(resp, 500, "out of memory");
    return cfg;
}

static void urls_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, urls_fields);
    json_t *cfg = in ? config_update(req, resp, arg, "urls", urls_edit, in) : NULL;

    if (cfg != NULL)
        urls_respond(resp, cfg);
    json_decref(in);
    json_decref(cfg);
}

/* ---- config/cluster ---- */

static const ob_field cluster_fields[] = {
    {"path", OBF_STRING},
    {"aia_path", OBF_STRING},
    OB_FIELDS_END,
};

static void cluster_respond(hsmca_http_resp *resp, const json_t *cfg)
{
    json_t *d = json_pack("{s:s, s:s}", "path", ob_str(cfg, "path", ""), "aia_path", ob_str(cfg, "aia_path", ""));

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void cluster_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *cfg = config_load(req, resp, arg, "cluster");

    if (cfg == NULL)
        return;
    cluster_respond(resp, cfg);
    json_decref(cfg);
}

/* An absolute URL: a scheme, "://" and a host (what AIA templates expand
 * into certificates); "" clears the value. */
static bool absolute_url(const char *u)
{
    const char *p = u;

    if (u[0] == '\0')
        return true;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
           *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return false;
    p += 3;
    if (*p == '\0' || *p == '/' || *p == '?' || *p == '#')
        return false;
    for (; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return strlen(u) <= 2048;
}

static hsmca_rv cluster_edit(json_t *cfg, void *arg)
{
    static const char *const names[] = {"path", "aia_path"};
    const json_t *in = arg;

    for (size_t k = 0; k < 2; k++) {
        const char *v = ob_str(in, names[k], NULL);
        if (v == NULL)
            continue;
        if (!absolute_url(v))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s' is not an absolute URL (scheme://host/...)", names[k], v);
        json_object_set_new(cfg, names[k], json_string(v));
    }
    return HSMCA_OK;
}

static void cluster_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, cluster_fields);
    json_t *cfg = in ? config_update(req, resp, arg, "cluster", cluster_edit, in) : NULL;

    if (cfg != NULL)
        cluster_respond(resp, cfg);
    json_decref(in);
    json_decref(cfg);
}

/* ---- config/issuers and config/keys: the defaults ---- */

static const ob_field issuers_fields[] = {
    {"default", OBF_STRING},
    {"default_follows_latest_issuer", OBF_BOOL},
    OB_FIELDS_END,
};

static const ob_field keys_fields[] = {
    {"default", OBF_STRING},
    OB_FIELDS_END,
};

/* config/issuers answers and config/keys answers: the stored ids. */
static void defaults_respond(hsmca_http_resp *resp, const json_t *cfg, bool issuers)
{
    json_t *d = json_pack("{s:s}", "default", ob_str(cfg, "default", ""));

    if (d != NULL && issuers)
        json_object_set_new(d, "default_follows_latest_issuer",
                            json_boolean(json_is_true(json_object_get(cfg, "default_follows_latest_issuer"))));
    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void defaults_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool issuers)
{
    json_t *cfg = config_load(req, resp, arg, issuers ? "issuers" : "keys");

    if (cfg == NULL)
        return;
    defaults_respond(resp, cfg, issuers);
    json_decref(cfg);
}

typedef struct {
    const json_t *in;
    bool issuers;
} defaults_edit_arg;

static hsmca_rv defaults_edit(json_t *cfg, void *arg)
{
    const defaults_edit_arg *d = arg;
    /* OpenBao: the new default must be named; "default" would name itself. */
    const char *ref = ob_str(d->in, "default", "");

    if (ref[0] == '\0' || strcmp(ref, "default") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "default: give the %s's id or name (not empty, not 'default')",
                         d->issuers ? "issuer" : "key");
    json_object_set_new(cfg, "default", json_string(ref));
    if (d->issuers && ob_has(d->in, "default_follows_latest_issuer"))
        json_object_set_new(cfg, "default_follows_latest_issuer",
                            json_boolean(ob_bool(d->in, "default_follows_latest_issuer", false)));
    return HSMCA_OK;
}

static void defaults_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool issuers)
{
    const char *name = issuers ? "issuers" : "keys";
    json_t *in = ob_fields(req, resp, issuers ? issuers_fields : keys_fields);
    defaults_edit_arg d = {in, issuers};
    json_t *cfg = NULL;
    char *text = NULL;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = hsmca_ca_config_update(ob_ca(arg), ob_mount(req), name, defaults_edit, &d, &text);
    if (rv == HSMCA_ERR_NOT_FOUND || rv == HSMCA_ERR_INVALID_ARG) {
        /* An unknown reference is bad input here (OpenBao: 400). */
        const char *msg = hsmca_err_message();
        hsmca_http_resp_error(resp, 400, "%s%s", strncmp(msg, "default:", 8) == 0 ? "" : "default: ", msg);
        goto done;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    /* The core stored the reference as an id. */
    cfg = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (cfg == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    defaults_respond(resp, cfg, issuers);
    if (issuers) {
        hsmca_ca_issuer iss;
        if (hsmca_ca_issuer_get(ob_ca(arg), ob_mount(req), ob_str(cfg, "default", ""), &iss) == HSMCA_OK &&
            iss.key_id[0] == '\0')
            hsmca_http_resp_warn(resp, "This selected default issuer has no key associated with it. Some "
                                       "operations like issuing certificates and signing CRLs will be unavailable "
                                       "with the requested default issuer until a key is imported or the default "
                                       "issuer is changed.");
        hsmca_ca_issuer_clear(&iss);
    }
done:
    free(text);
    json_decref(in);
    json_decref(cfg);
}

static void issuers_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    defaults_read(req, resp, arg, true);
}

static void issuers_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    defaults_write(req, resp, arg, true);
}

static void keys_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    defaults_read(req, resp, arg, false);
}

static void keys_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    defaults_write(req, resp, arg, false);
}

const hsmca_http_route ob_config_routes[] = {
    {HSMCA_HTTP_GET, "config/urls", urls_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/urls", urls_write, 0},
    {HSMCA_HTTP_GET, "config/cluster", cluster_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/cluster", cluster_write, 0},
    {HSMCA_HTTP_GET, "config/issuers", issuers_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/issuers", issuers_write, 0},
    {HSMCA_HTTP_GET, "config/keys", keys_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/keys", keys_write, 0},
};
const size_t ob_config_routes_n = sizeof(ob_config_routes) / sizeof(ob_config_routes[0]);
