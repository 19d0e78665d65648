/* SPDX-License-Identifier: Apache-2.0 */
/* System endpoints (/v1/sys/...): health, mounts (enable and disable PKI
 * mounts), ACL policies, capabilities-self, and metrics in Prometheus text
 * format. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsmca/jsonfield.h"
#include "hsmca/log.h"
#include "hsmca/ocsp.h"
#include "hsmca/revocation.h"
#include "internal.h"

#define METRICS_MAX (64u * 1024u)

/* ---- health ---- */

/* OpenBao's health: 200 active; 503 sealed. Here "sealed" means the token
 * that holds every key cannot be used (absent, or the PIN was refused):
 * load balancers and clients then stop sending work, as they do for a
 * sealed OpenBao. */
static void health(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    hsmca_p11_health h;
    bool usable = true;
    json_t *data, *hsm;
    int status;

    memset(&h, 0, sizeof(h));
    if (api->cfg.token != NULL) {
        usable = hsmca_p11_token_health(api->cfg.token, &h) == HSMCA_OK && h.present && !h.pin_rejected;
    }
    hsmca_err_clear();
    status = usable ? 200 : 503;
    {
        const char *code = hsmca_http_req_query(req, usable ? "activecode" : "sealedcode");
        long v = code != NULL ? strtol(code, NULL, 10) : 0;
        if (v >= 200 && v <= 599)
            status = (int)v;
    }
    hsm = json_pack("{s:b,s:b,s:i,s:i}", "present", h.present, "logged_in", h.logged_in, "sessions_in_use",
                    (int)h.sessions_in_use, "sessions_max", (int)h.sessions_max);
    data = json_pack("{s:b,s:b,s:b,s:b,s:s,s:s,s:I,s:s,s:s,s:s,s:o*}", "initialized", 1, "sealed", !usable, "standby",
                     0, "performance_standby", 0, "replication_performance_mode", "disabled",
                     "replication_dr_mode", "disabled", "server_time_utc", (json_int_t)time(NULL), "version",
                     api->cfg.version ? api->cfg.version : "", "cluster_name", "hsmca", "cluster_id", "",
                     "hsm", hsm);
    if (data == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    if (api->cfg.dev_mode)
        json_object_set_new(data, "enterprise", json_false());
    /* sys/health answers with the bare object, not the envelope. */
    {
        char *text = json_dumps(data, JSON_COMPACT);
        json_decref(data);
        if (text == NULL) {
            hsmca_http_resp_error(resp, 500, "out of memory");
            return;
        }
        hsmca_http_resp_raw(resp, status, "application/json", text, strlen(text));
        free(text);
    }
    if (hsmca_http_req_method(req) == HSMCA_HTTP_HEAD)
        hsmca_http_resp_raw(resp, status, "application/json", "", 0);
}

/* ---- mounts ---- */

static json_t *mount_json(hsmca_openbao *api, const hsmca_store_mount *m)
{
    int64_t def = 0, max = 0;

    if (hsmca_ca_mount_tune_get(api->cfg.ca, m->name, &def, &max) != HSMCA_OK)
        hsmca_err_clear(); /* listed with zeros: the mount is being removed */
    return json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:b},s:{},s:b,s:b,s:b}", "type", m->type, "description", "",
                     "accessor", "", "config", "default_lease_ttl", (json_int_t)def, "max_lease_ttl",
                     (json_int_t)max, "force_no_cache", 0, "options", "local", 0, "seal_wrap", 0,
                     "external_entropy_access", 0);
}

struct mount_walk {
    hsmca_openbao *api;
    json_t *out;
};

static int add_mount(const hsmca_store_mount *m, void *arg)
{
    struct mount_walk *w = arg;
    char key[HSMCA_STORE_MOUNT_MAX + 2];
    json_t *j;

    if (strcmp(m->type, "pki") != 0)
        return 1;
    snprintf(key, sizeof(key), "%s/", m->name);
    j = mount_json(w->api, m);
    if (j == NULL)
        return 0;
    json_object_set_new(w->out, key, j);
    return 1;
}

static void mounts_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *data = json_object();
    hsmca_rv rv;

    (void)req;
    if (data == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    {
        struct mount_walk w = {api, data};
        rv = hsmca_store_mount_list(api->cfg.store, add_mount, &w);
    }
    if (rv != HSMCA_OK) {
        json_decref(data);
        ob_fail(resp, rv);
        return;
    }
    /* The system backends exist in every OpenBao; clients look for them. */
    json_object_set_new(data, "sys/", json_pack("{s:s,s:s}", "type", "system", "description", "system endpoints"));
    hsmca_http_resp_data(resp, 200, data);
}

/* Mount paths the dialect cannot give to a PKI mount: the system
 * backends' own prefixes. */
static bool reserved_mount(const char *p)
{
    static const char *const r[] = {"sys", "auth", "identity", "cubbyhole", "v1"};

    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        size_t n = strlen(r[i]);
        if (strncmp(p, r[i], n) == 0 && (p[n] == '\0' || p[n] == '/'))
            return true;
    }
    return false;
}

/* default_lease_ttl / max_lease_ttl of a tune or mount config: a
 * duration, "system" or "" (the appliance's: 0); -1 when absent. */
static bool tune_values(const json_t *obj, hsmca_http_resp *resp, int64_t *def, int64_t *max)
{
    static const char *const names[2] = {"default_lease_ttl", "max_lease_ttl"};
    int64_t *out[2] = {def, max};

    *def = *max = -1;
    for (int i = 0; i < 2; i++) {
        const json_t *v = json_object_get(obj, names[i]);
        const char *s = json_string_value(v);
        if (v == NULL)
            continue;
        if (s != NULL && (s[0] == '\0' || strcmp(s, "system") == 0)) {
            *out[i] = 0;
            continue;
        }
        if (hsmca_jf_duration(v, names[i], out[i]) != HSMCA_OK) {
            hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
            return false;
        }
    }
    return true;
}

static const ob_field mount_fields[] = {
    {"type", OBF_STRING}, {"description", OBF_STRING}, {"config", OBF_OBJECT}, {"options", OBF_OBJECT},
    {"local", OBF_BOOL},  {"seal_wrap", OBF_BOOL},      {"external_entropy_access", OBF_BOOL},
    {"plugin_name", OBF_STRING}, {"plugin_version", OBF_STRING},
    OB_FIELDS_END,
};

static void mount_enable(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    const char *path = hsmca_http_req_param(req, "path");
    json_t *in = ob_fields(req, resp, mount_fields), *cfg;
    const char *type;
    int64_t def = -1, max = -1;
    hsmca_rv rv;

    if (in == NULL)
        return;
    type = ob_str(in, "type", "");
    if (type[0] == '\0')
        type = ob_str(in, "plugin_name", "");
    if (strcmp(type, "pki") != 0) {
        hsmca_http_resp_error(resp, 400, "type: '%s' is not supported: this appliance mounts only the 'pki' engine",
                              type);
        goto done;
    }
    if (reserved_mount(path)) {
        hsmca_http_resp_error(resp, 400, "path '%s' is reserved for the system backends", path);
        goto done;
    }
    cfg = json_object_get(in, "config");
    if (!tune_values(cfg, resp, &def, &max))
        goto done;
    rv = hsmca_ca_mount_enable(api->cfg.ca, path);
    if (rv == HSMCA_ERR_EXISTS) {
        hsmca_http_resp_error(resp, 400, "path is already in use at %s/", path);
        goto done;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_mounts_reload(api);
    if ((def >= 0 || max >= 0) && (rv = hsmca_ca_mount_tune_set(api->cfg.ca, path, def, max)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "mount_type", json_string("pki"));
    hsmca_http_resp_no_content(resp);
done:
    json_decref(in);
}

/* GET sys/mounts/:path/tune */
static void tune_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    int64_t def = 0, max = 0;
    hsmca_rv rv = hsmca_ca_mount_tune_get(api->cfg.ca, hsmca_http_req_param(req, "path"), &def, &max);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv == HSMCA_ERR_NOT_FOUND ? HSMCA_ERR_INVALID_ARG : rv);
        return;
    }
    hsmca_http_resp_data(resp, 200,
                         json_pack("{s:s,s:I,s:I,s:b}", "description", "", "default_lease_ttl", (json_int_t)def,
                                   "max_lease_ttl", (json_int_t)max, "force_no_cache", 0));
}

static const ob_field tune_fields[] = {
    {"default_lease_ttl", OBF_ANY}, {"max_lease_ttl", OBF_ANY}, {"description", OBF_STRING},
    {"audit_non_hmac_request_keys", OBF_LIST}, {"audit_non_hmac_response_keys", OBF_LIST},
    {"listing_visibility", OBF_STRING}, {"passthrough_request_headers", OBF_LIST},
    {"allowed_response_headers", OBF_LIST}, {"options", OBF_OBJECT},
    OB_FIELDS_END,
};

/* POST sys/mounts/:path/tune: the lease TTLs ("system" or "" = the
 * appliance's). The other tunables of OpenBao have no effect here. */
static void tune_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *in = ob_fields(req, resp, tune_fields);
    int64_t def = -1, max = -1;
    hsmca_rv rv;

    if (in == NULL)
        return;
    if (tune_values(in, resp, &def, &max)) {
        rv = hsmca_ca_mount_tune_set(api->cfg.ca, hsmca_http_req_param(req, "path"), def, max);
        if (rv != HSMCA_OK)
            ob_fail(resp, rv);
        else
            hsmca_http_resp_no_content(resp);
    }
    json_decref(in);
}

static void mount_disable(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    const char *path = hsmca_http_req_param(req, "path");
    hsmca_store_mount m;
    hsmca_rv rv;

    memset(&m, 0, sizeof(m));
    rv = hsmca_store_mount_get(api->cfg.store, path, &m);
    if (rv == HSMCA_ERR_NOT_FOUND || (rv == HSMCA_OK && strcmp(m.type, "pki") != 0)) {
        /* OpenBao: unmounting a path that is not mounted succeeds. */
        hsmca_store_mount_clear(&m);
        hsmca_http_resp_no_content(resp);
        return;
    }
    hsmca_store_mount_clear(&m);
    if (rv == HSMCA_OK)
        rv = hsmca_ca_mount_disable(api->cfg.ca, path);
    ob_mounts_reload(api);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

static void mount_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    hsmca_store_mount m;
    hsmca_rv rv;

    memset(&m, 0, sizeof(m));
    rv = hsmca_store_mount_get(api->cfg.store, hsmca_http_req_param(req, "path"), &m);
    if (rv == HSMCA_OK && strcmp(m.type, "pki") != 0)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "no mount at '%s'", hsmca_http_req_param(req, "path"));
    if (rv != HSMCA_OK) {
        hsmca_store_mount_clear(&m);
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_data(resp, 200, mount_json(api, &m));
    hsmca_store_mount_clear(&m);
}

/* ---- ACL policies ---- */

static int add_name(const char *name, void *arg)
{
    return json_array_append_new(arg, json_string(name)) == 0;
}

static void policies_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *keys = json_array();
    hsmca_rv rv;

    (void)req;
    if (keys == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = hsmca_auth_policy_list(api->cfg.auth, add_name, keys);
    if (rv != HSMCA_OK) {
        json_decref(keys);
        ob_fail(resp, rv);
        return;
    }
    {
        /* OpenBao's sys/policies/acl LIST carries the names under "keys";
         * sys/policy (GET) under "policies" too. */
        json_t *data = json_pack("{s:O,s:O}", "keys", keys, "policies", keys);
        json_decref(keys);
        hsmca_http_resp_data(resp, 200, data);
    }
}

static void policy_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    hsmca_auth_policy p;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    rv = hsmca_auth_policy_get(api->cfg.auth, hsmca_http_req_param(req, "name"), &p);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_data(resp, 200, json_pack("{s:s,s:s,s:I}", "name", p.name, "policy", p.text ? p.text : "",
                                              "version", (json_int_t)p.version));
    hsmca_auth_policy_clear(&p);
}

static const ob_field policy_fields[] = {{"policy", OBF_STRING}, {"cas", OBF_INT}, OB_FIELDS_END};

static void policy_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *in = ob_fields(req, resp, policy_fields);
    hsmca_rv rv;

    if (in == NULL)
        return;
    if (!ob_has(in, "policy")) {
        hsmca_http_resp_error(resp, 400, "policy: missing the policy document");
        json_decref(in);
        return;
    }
    rv = hsmca_auth_policy_put(api->cfg.auth, hsmca_http_req_param(req, "name"), ob_str(in, "policy", ""),
                               ob_has(in, "cas") ? ob_int(in, "cas", -1) : -1);
    json_decref(in);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv == HSMCA_ERR_EXISTS ? HSMCA_ERR_INVALID_ARG : rv);
        return;
    }
    ob_audit_detail(req, "policy", json_string(hsmca_http_req_param(req, "name")));
    hsmca_http_resp_no_content(resp);
}

static void policy_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    hsmca_rv rv = hsmca_auth_policy_delete(api->cfg.auth, hsmca_http_req_param(req, "name"));

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

/* ---- capabilities-self ---- */

static const ob_field caps_fields[] = {{"path", OBF_LIST}, {"paths", OBF_LIST}, OB_FIELDS_END};

static void capabilities_self(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    ob_reqctx *ctx = ob_ctx(req);
    json_t *in = ob_fields(req, resp, caps_fields), *data = NULL, *all = NULL;
    hsmca_strlist paths = {0};
    unsigned union_caps = 0;

    if (in == NULL)
        return;
    if (ob_list(in, "paths", &paths) != HSMCA_OK || ob_list(in, "path", &paths) != HSMCA_OK) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    if (paths.n == 0) {
        hsmca_http_resp_error(resp, 400, "paths: at least one path is required");
        goto done;
    }
    data = json_object();
    if (data == NULL)
        goto done;
    for (size_t i = 0; i < paths.n; i++) {
        unsigned caps = 0;
        hsmca_rv rv = hsmca_auth_capabilities(api->cfg.auth, &ctx->token.policies, paths.v[i], &caps);
        if (rv != HSMCA_OK) {
            ob_fail(resp, rv);
            goto done;
        }
        union_caps |= caps;
        json_object_set_new(data, paths.v[i], hsmca_auth_caps_to_json(caps));
    }
    all = hsmca_auth_caps_to_json(union_caps);
    json_object_set_new(data, "capabilities", all);
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
done:
    json_decref(data);
    json_decref(in);
    hsmca_strlist_clear(&paths);
}

/* ---- metrics ---- */

typedef struct {
    char *buf;
    size_t len, cap;
} textbuf;

static void emit(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(textbuf *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len >= t->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = (size_t)n < t->cap - t->len ? t->len + (size_t)n : t->cap;
}

/* The OCSP responder's counters (all mounts together): requests by HTTP
 * method, responses by OCSPResponseStatus, answers by certificate status
 * (signed or cached), the response cache and the token signatures made. */
static void emit_ocsp(textbuf *t, hsmca_openbao *api)
{
    static const struct {
        hsmca_ocsp_status s;
        const char *name;
    } statuses[] = {{HSMCA_OCSP_SUCCESSFUL, "successful"},
                    {HSMCA_OCSP_MALFORMED_REQUEST, "malformedRequest"},
                    {HSMCA_OCSP_INTERNAL_ERROR, "internalError"},
                    {HSMCA_OCSP_TRY_LATER, "tryLater"},
                    {HSMCA_OCSP_UNAUTHORIZED, "unauthorized"}};
    hsmca_ocsp_stats os;

    hsmca_ocsp_get_stats(api->cfg.ca, &os);
    emit(t, "# HELP hsmca_ocsp_requests_total OCSP requests received, by HTTP method.\n"
            "# TYPE hsmca_ocsp_requests_total counter\n"
            "hsmca_ocsp_requests_total{method=\"get\"} %" PRIu64 "\n"
            "hsmca_ocsp_requests_total{method=\"post\"} %" PRIu64 "\n",
         (uint64_t)atomic_load(&api->ocsp_get), (uint64_t)atomic_load(&api->ocsp_post));
    emit(t, "# HELP hsmca_ocsp_responses_total OCSP responses sent, by OCSPResponseStatus (RFC 6960 4.2.1).\n"
            "# TYPE hsmca_ocsp_responses_total counter\n");
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        emit(t, "hsmca_ocsp_responses_total{status=\"%s\"} %" PRIu64 "\n", statuses[i].name,
             os.responses[statuses[i].s]);
    emit(t, "# HELP hsmca_ocsp_cert_status_total Certificate statuses answered (one per CertID), signed or cached.\n"
            "# TYPE hsmca_ocsp_cert_status_total counter\n"
            "hsmca_ocsp_cert_status_total{status=\"good\"} %" PRIu64 "\n"
            "hsmca_ocsp_cert_status_total{status=\"revoked\"} %" PRIu64 "\n"
            "hsmca_ocsp_cert_status_total{status=\"unknown\"} %" PRIu64 "\n",
         os.cert_status[0], os.cert_status[1], os.cert_status[2]);
    emit(t, "# HELP hsmca_ocsp_cache_total Cacheable OCSP requests (one CertID, no nonce), by cache result.\n"
            "# TYPE hsmca_ocsp_cache_total counter\n"
            "hsmca_ocsp_cache_total{result=\"hit\"} %" PRIu64 "\n"
            "hsmca_ocsp_cache_total{result=\"miss\"} %" PRIu64 "\n",
         os.cache_hits, os.cache_misses);
    emit(t, "# HELP hsmca_ocsp_signatures_total OCSP responses signed in the token.\n"
            "# TYPE hsmca_ocsp_signatures_total counter\nhsmca_ocsp_signatures_total %" PRIu64 "\n",
         os.signed_responses);
    emit(t, "# HELP hsmca_ocsp_delegated_certs_total Delegated OCSP signing certificates issued.\n"
            "# TYPE hsmca_ocsp_delegated_certs_total counter\nhsmca_ocsp_delegated_certs_total %" PRIu64 "\n",
         os.delegated_certs);
}

/* publish_stored_certificate_count_metrics: OpenBao's gauges
 * secrets.pki.<mount>.total_certificates_stored and
 * .total_revoked_certificates_stored, as Prometheus gauges labelled by
 * mount, for each PKI mount that publishes them. */
typedef struct {
    hsmca_openbao *api;
    textbuf *t;
    bool header;
} cert_count_walk;

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void label_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    for (; *in != '\0' && o + 2 < cap; in++) {
        if (*in == '\\' || *in == '"' || *in == '\n')
            out[o++] = '\\';
        out[o++] = (char)(*in == '\n' ? 'n' : *in);
    }
    out[o] = '\0';
}

static int metrics_cert_count_mount(const hsmca_store_mount *m, void *arg)
{
    cert_count_walk *w = arg;
    hsmca_cert_counts c;
    char label[2 * HSMCA_STORE_MOUNT_MAX + 1];

    if (strcmp(m->type, "pki") != 0)
        return 1;
    if (hsmca_revocation_cert_counts(w->api->cfg.ca, m->name, &c) != HSMCA_OK) {
        hsmca_err_clear();
        return 1;
    }
    if (!c.published)
        return 1;
    if (!w->header) {
        emit(w->t, "# HELP hsmca_pki_certificates_stored Certificates stored in the mount, revoked included "
                   "(publish_stored_certificate_count_metrics).\n# TYPE hsmca_pki_certificates_stored gauge\n"
                   "# HELP hsmca_pki_revoked_certificates_stored Revoked certificates stored in the mount.\n"
                   "# TYPE hsmca_pki_revoked_certificates_stored gauge\n");
        w->header = true;
    }
    label_escape(m->name, label, sizeof(label));
    emit(w->t, "hsmca_pki_certificates_stored{mount=\"%s\"} %" PRIu64 "\n", label, c.stored);
    emit(w->t, "hsmca_pki_revoked_certificates_stored{mount=\"%s\"} %" PRIu64 "\n", label, c.revoked);
    return 1;
}

static void metrics_cert_counts(hsmca_openbao *api, textbuf *t)
{
    cert_count_walk w = {api, t, false};

    if (api->cfg.ca == NULL || api->cfg.store == NULL)
        return;
    if (hsmca_store_mount_list(api->cfg.store, metrics_cert_count_mount, &w) != HSMCA_OK)
        hsmca_err_clear();
}

static void metrics(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    textbuf t = {malloc(METRICS_MAX), 0, METRICS_MAX};
    hsmca_http_stats hs;
    hsmca_p11_health h;
    hsmca_store_stats ss;

    (void)req;
    if (t.buf == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    memset(&hs, 0, sizeof(hs));
    {
        hsmca_http_server *srv = atomic_load(&api->server);
        if (srv != NULL)
            hsmca_http_server_stats(srv, &hs);
    }
    emit(&t, "# HELP hsmca_http_requests_total HTTP responses sent, by status class.\n"
             "# TYPE hsmca_http_requests_total counter\n");
    emit(&t, "hsmca_http_requests_total{class=\"2xx\"} %" PRIu64 "\n", hs.status_2xx);
    emit(&t, "hsmca_http_requests_total{class=\"4xx\"} %" PRIu64 "\n", hs.status_4xx);
    emit(&t, "hsmca_http_requests_total{class=\"5xx\"} %" PRIu64 "\n", hs.status_5xx);
    emit(&t, "# HELP hsmca_http_rejected_total Requests refused by a limit before any handler ran.\n"
             "# TYPE hsmca_http_rejected_total counter\nhsmca_http_rejected_total %" PRIu64 "\n",
         hs.rejected_limits);
    emit(&t, "# HELP hsmca_http_in_flight Requests being handled.\n# TYPE hsmca_http_in_flight gauge\n"
             "hsmca_http_in_flight %" PRIu64 "\n",
         hs.in_flight);
    emit(&t, "# HELP hsmca_http_request_duration_seconds Time from dispatch to response.\n"
             "# TYPE hsmca_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < 11; i++)
        emit(&t, "hsmca_http_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
             hsmca_http_latency_bounds_ms[i] / 1000.0, hs.latency_bucket[i]);
    emit(&t, "hsmca_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", hs.latency_bucket[11]);
    emit(&t, "hsmca_http_request_duration_seconds_sum %.6f\n", (double)hs.latency_us_sum / 1e6);
    emit(&t, "hsmca_http_request_duration_seconds_count %" PRIu64 "\n", hs.latency_bucket[11]);
    emit(&t, "# HELP hsmca_certificates_issued_total Certificates issued or signed.\n"
             "# TYPE hsmca_certificates_issued_total counter\n"
             "hsmca_certificates_issued_total{outcome=\"ok\"} %" PRIu64 "\n"
             "hsmca_certificates_issued_total{outcome=\"failed\"} %" PRIu64 "\n",
         (uint64_t)atomic_load(&api->issued), (uint64_t)atomic_load(&api->issue_failed));
    emit(&t, "# HELP hsmca_auth_denied_total Requests answered 403.\n# TYPE hsmca_auth_denied_total counter\n"
             "hsmca_auth_denied_total %" PRIu64 "\n",
         (uint64_t)atomic_load(&api->denied));
    emit(&t, "# HELP hsmca_audit_failures_total Audit entries that could not be written.\n"
             "# TYPE hsmca_audit_failures_total counter\nhsmca_audit_failures_total %" PRIu64 "\n",
         (uint64_t)atomic_load(&api->audit_failures));
    memset(&h, 0, sizeof(h));
    if (api->cfg.token != NULL && hsmca_p11_token_health(api->cfg.token, &h) == HSMCA_OK) {
        emit(&t, "# HELP hsmca_hsm_up Whether the token answers.\n# TYPE hsmca_hsm_up gauge\nhsmca_hsm_up %d\n",
             h.present ? 1 : 0);
        emit(&t, "# HELP hsmca_hsm_logged_in Whether the session pool is logged in.\n"
                 "# TYPE hsmca_hsm_logged_in gauge\nhsmca_hsm_logged_in %d\n",
             h.logged_in ? 1 : 0);
        emit(&t, "# HELP hsmca_hsm_sessions Sessions of the pool.\n# TYPE hsmca_hsm_sessions gauge\n"
                 "hsmca_hsm_sessions{state=\"open\"} %u\nhsmca_hsm_sessions{state=\"in_use\"} %u\n"
                 "hsmca_hsm_sessions{state=\"max\"} %u\n",
             h.sessions_open, h.sessions_in_use, h.sessions_max);
        emit(&t, "# HELP hsmca_hsm_recoveries_total Session resets after token errors.\n"
                 "# TYPE hsmca_hsm_recoveries_total counter\nhsmca_hsm_recoveries_total %lu\n",
             h.recoveries);
        emit(&t, "# HELP hsmca_hsm_bad_signatures_total Token signatures that failed re-verification.\n"
                 "# TYPE hsmca_hsm_bad_signatures_total counter\nhsmca_hsm_bad_signatures_total %lu\n",
             h.bad_signatures);
    }
    hsmca_err_clear();
    hsmca_store_get_stats(api->cfg.store, &ss);
    emit(&t, "# HELP hsmca_store_commits_total Store transactions (one fsync each) and batches they carried.\n"
             "# TYPE hsmca_store_commits_total counter\nhsmca_store_commits_total{kind=\"transactions\"} %" PRIu64
             "\nhsmca_store_commits_total{kind=\"batches\"} %" PRIu64 "\nhsmca_store_commits_total{kind=\"failed\"} %"
             PRIu64 "\n",
         ss.transactions, ss.batches, ss.failed);
    emit_ocsp(&t, api);
    metrics_cert_counts(api, &t);
    hsmca_http_resp_raw(resp, 200, "text/plain; version=0.0.4", t.buf, t.len);
    free(t.buf);
}

/* ---- the table ---- */

static const hsmca_http_route sys_routes[] = {
    {HSMCA_HTTP_GET | HSMCA_HTTP_HEAD, "health", health, HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "mounts", mounts_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "mounts/*path", mount_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "mounts/*path", mount_enable, 0},
    {HSMCA_HTTP_DELETE, "mounts/*path", mount_disable, 0},
    {HSMCA_HTTP_GET, "mounts/:path/tune", tune_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "mounts/:path/tune", tune_write, 0},
    {HSMCA_HTTP_LIST | HSMCA_HTTP_GET, "policies/acl", policies_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "policies/acl/:name", policy_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "policies/acl/:name", policy_write, HSMCA_HTTP_ROUTE_EXISTENCE},
    {HSMCA_HTTP_DELETE, "policies/acl/:name", policy_delete, 0},
    {HSMCA_HTTP_GET, "policy", policies_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "capabilities-self", capabilities_self, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "metrics", metrics, HSMCA_HTTP_ROUTE_NO_AUDIT},
};

hsmca_rv ob_sys_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    return hsmca_http_router_add(r, sys_routes, sizeof(sys_routes) / sizeof(sys_routes[0]), api);
}
