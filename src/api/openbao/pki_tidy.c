/* SPDX-License-Identifier: Apache-2.0 */
/* Tidy endpoints: tidy, tidy-status, tidy-cancel and config/auto-tidy, each
 * a translation between OpenBao's wire format and src/revocation/tidy.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hsmca/duration.h"
#include "hsmca/revocation.h"
#include "internal.h"

/* OpenBao's fields that have nothing to act on here (no legacy CA bundle,
 * no cross-cluster revocation queue, no ACME store yet): accepted, and a
 * true value gets a warning rather than silence. */
#define TIDY_FIELDS_COMMON                                                                                    \
    {"tidy_cert_store", OBF_BOOL}, {"tidy_revoked_certs", OBF_BOOL},                                          \
        {"tidy_revoked_cert_issuer_associations", OBF_BOOL}, {"tidy_expired_issuers", OBF_BOOL},              \
        {"tidy_move_legacy_ca_bundle", OBF_BOOL}, {"tidy_revocation_queue", OBF_BOOL},                        \
        {"tidy_cross_cluster_revoked_certs", OBF_BOOL}, {"tidy_acme", OBF_BOOL},                              \
        {"safety_buffer", OBF_DURATION}, {"issuer_safety_buffer", OBF_DURATION},                              \
        {"revocation_queue_safety_buffer", OBF_DURATION}, {"acme_account_safety_buffer", OBF_DURATION},       \
        {"pause_duration", OBF_STRING}

static const ob_field tidy_fields[] = {
    TIDY_FIELDS_COMMON,
    OB_FIELDS_END,
};

static const ob_field auto_tidy_fields[] = {
    TIDY_FIELDS_COMMON,
    {"enabled", OBF_BOOL},
    {"interval_duration", OBF_DURATION},
    {"maintain_stored_certificate_counts", OBF_BOOL},
    {"publish_stored_certificate_count_metrics", OBF_BOOL},
    OB_FIELDS_END,
};

static const char *const ignored_flags[] = {"tidy_move_legacy_ca_bundle", "tidy_revocation_queue",
                                            "tidy_cross_cluster_revoked_certs", "tidy_acme"};

/* Go's rendering of a pause: "0s", "250ms", "2s", "1.5s". */
static void pause_text(int64_t ms, char out[HSMCA_DURATION_TEXT_MAX])
{
    if (ms % 1000 == 0)
        hsmca_duration_format(ms / 1000, out, HSMCA_DURATION_TEXT_MAX);
    else if (ms < 1000)
        snprintf(out, HSMCA_DURATION_TEXT_MAX, "%lldms", (long long)ms);
    else {
        int64_t frac = ms % 1000;
        int digits = 3;

        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        snprintf(out, HSMCA_DURATION_TEXT_MAX, "%lld.%0*llds", (long long)(ms / 1000), digits,
                 (long long)frac);
    }
}

/* Reads the tidy fields present in `in` over p; a bad pause_duration fails
 * naming the field. */
static hsmca_rv params_read(const json_t *in, hsmca_tidy_params *p, hsmca_http_resp *resp)
{
    const char *pause = ob_str(in, "pause_duration", NULL);
    int64_t ns = 0;

    p->tidy_cert_store = ob_bool(in, "tidy_cert_store", p->tidy_cert_store);
    p->tidy_revoked_certs = ob_bool(in, "tidy_revoked_certs", p->tidy_revoked_certs);
    p->tidy_revoked_cert_issuer_associations =
        ob_bool(in, "tidy_revoked_cert_issuer_associations", p->tidy_revoked_cert_issuer_associations);
    p->tidy_expired_issuers = ob_bool(in, "tidy_expired_issuers", p->tidy_expired_issuers);
    p->safety_buffer = ob_int(in, "safety_buffer", p->safety_buffer);
    p->issuer_safety_buffer = ob_int(in, "issuer_safety_buffer", p->issuer_safety_buffer);
    if (pause != NULL && pause[0] != '\0') {
        if (hsmca_duration_parse_go(pause, &ns) != HSMCA_OK) {
            hsmca_err_prefix("pause_duration");
            return HSMCA_ERR_INVALID_ARG;
        }
        if (ns < 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "pause_duration '%s': must not be negative", pause);
        p->pause_ms = ns / 1000000;
    }
    for (size_t i = 0; i < sizeof(ignored_flags) / sizeof(ignored_flags[0]); i++)
        if (ob_bool(in, ignored_flags[i], false))
            hsmca_http_resp_warn(resp, "%s: nothing of that kind is stored by this appliance; ignored",
                                 ignored_flags[i]);
    return HSMCA_OK;
}

static json_t *time_or_null(int64_t t)
{
    char buf[HSMCA_RFC3339_BUF];

    if (t <= 0 || hsmca_time_format_rfc3339(t, buf, sizeof(buf)) != HSMCA_OK)
        return json_null();
    return json_string(buf);
}

/* tidy-status and tidy-cancel share this shape (OpenBao: "The response to
 * this endpoint is the same as the status"). Parameters read null while
 * no tidy has run, as OpenBao shows them. */
static void status_respond(hsmca_http_resp *resp, const hsmca_tidy_status *s, const hsmca_cert_counts *counts)
{
    bool ran = s->state != HSMCA_TIDY_INACTIVE;
    char pause[HSMCA_DURATION_TEXT_MAX];
    json_t *d;

    pause_text(s->params.pause_ms, pause);
    d = json_pack("{so so so so so so so so so so ss so so so sI sI sI sI sI so}", "safety_buffer",
                  ran ? json_integer(s->params.safety_buffer) : json_null(), "issuer_safety_buffer",
                  ran ? json_integer(s->params.issuer_safety_buffer) : json_null(), "tidy_cert_store",
                  ran ? json_boolean(s->params.tidy_cert_store) : json_null(), "tidy_revoked_certs",
                  ran ? json_boolean(s->params.tidy_revoked_certs) : json_null(),
                  "tidy_revoked_cert_issuer_associations",
                  ran ? json_boolean(s->params.tidy_revoked_cert_issuer_associations) : json_null(),
                  "tidy_expired_issuers", ran ? json_boolean(s->params.tidy_expired_issuers) : json_null(),
                  "tidy_move_legacy_ca_bundle", ran ? json_false() : json_null(), "tidy_revocation_queue",
                  ran ? json_false() : json_null(), "tidy_cross_cluster_revoked_certs",
                  ran ? json_false() : json_null(), "pause_duration", ran ? json_string(pause) : json_null(),
                  "state", hsmca_tidy_state_name(s->state), "error",
                  s->error[0] ? json_string(s->error) : json_null(), "message",
                  s->message[0] ? json_string(s->message) : json_null(), "time_started",
                  time_or_null(s->time_started), "cert_store_deleted_count",
                  (json_int_t)s->cert_store_deleted_count, "revoked_cert_deleted_count",
                  (json_int_t)s->revoked_cert_deleted_count, "missing_issuer_cert_count",
                  (json_int_t)s->missing_issuer_cert_count, "revocation_queue_deleted_count", (json_int_t)0,
                  "cross_revoked_cert_deleted_count", (json_int_t)0, "time_finished",
                  time_or_null(s->time_finished));
    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    json_object_set_new(d, "revocation_queue_safety_buffer", ran ? json_integer(172800) : json_null());
    json_object_set_new(d, "last_auto_tidy_finished", time_or_null(s->last_auto_tidy_finished));
    /* OpenBao adds these two only while the counts are maintained. */
    if (counts != NULL && counts->maintained) {
        json_object_set_new(d, "current_cert_store_count", json_integer((json_int_t)counts->stored));
        json_object_set_new(d, "current_revoked_cert_count", json_integer((json_int_t)counts->revoked));
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void tidy_start(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, tidy_fields);
    hsmca_tidy_params p;
    hsmca_rv rv;

    if (in == NULL)
        return;
    hsmca_tidy_params_defaults(&p);
    rv = params_read(in, &p, resp);
    json_decref(in);
    if (rv == HSMCA_OK)
        rv = hsmca_revocation_tidy_start(ob_ca(arg), ob_mount(req), &p, false);
    if (rv == HSMCA_ERR_EXISTS) {
        /* OpenBao answers a second tidy with a warning, not an error. */
        hsmca_err_clear();
        hsmca_http_resp_warn(resp, "Tidy operation already in progress.");
        hsmca_http_resp_data(resp, 200, NULL);
        return;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_warn(resp, "Tidy operation successfully started. Any information from the operation will "
                               "be printed to OpenBao's server logs.");
    hsmca_http_resp_data(resp, 202, NULL);
}

static void tidy_status(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_tidy_status s;
    hsmca_cert_counts counts;
    hsmca_rv rv = hsmca_revocation_tidy_status(ob_mount(req), &s);

    if (rv == HSMCA_OK)
        rv = hsmca_revocation_cert_counts(ob_ca(arg), ob_mount(req), &counts);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    status_respond(resp, &s, &counts);
}

static void tidy_cancel(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_tidy_status s;
    hsmca_rv rv = hsmca_revocation_tidy_cancel(ob_mount(req), &s);

    (void)arg;
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    status_respond(resp, &s, NULL);
}

static void auto_tidy_respond(hsmca_http_resp *resp, const hsmca_auto_tidy_config *c)
{
    char pause[HSMCA_DURATION_TEXT_MAX];
    json_t *d;

    pause_text(c->params.pause_ms, pause);
    d = json_pack("{sb sI sI sb ss sb sI sI sb sb sb sb sb sb sb}", "enabled", c->enabled, "interval_duration",
                  (json_int_t)c->interval_duration, "issuer_safety_buffer",
                  (json_int_t)c->params.issuer_safety_buffer, "maintain_stored_certificate_counts",
                  c->maintain_stored_certificate_counts, "pause_duration", pause,
                  "publish_stored_certificate_count_metrics", c->publish_stored_certificate_count_metrics,
                  "revocation_queue_safety_buffer", (json_int_t)172800, "safety_buffer",
                  (json_int_t)c->params.safety_buffer, "tidy_cert_store", c->params.tidy_cert_store,
                  "tidy_cross_cluster_revoked_certs", 0, "tidy_expired_issuers", c->params.tidy_expired_issuers,
                  "tidy_move_legacy_ca_bundle", 0, "tidy_revocation_queue", 0,
                  "tidy_revoked_cert_issuer_associations", c->params.tidy_revoked_cert_issuer_associations,
                  "tidy_revoked_certs", c->params.tidy_revoked_certs);
    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void auto_tidy_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_auto_tidy_config c;
    hsmca_rv rv = hsmca_revocation_auto_tidy_get(ob_ca(arg), ob_mount(req), &c);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    auto_tidy_respond(resp, &c);
}

static void auto_tidy_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, auto_tidy_fields);
    hsmca_auto_tidy_config c;
    hsmca_rv rv;

    if (in == NULL)
        return;
    /* Fields not given keep their stored values, as OpenBao does. */
    rv = hsmca_revocation_auto_tidy_get(ob_ca(arg), ob_mount(req), &c);
    if (rv == HSMCA_OK)
        rv = params_read(in, &c.params, resp);
    if (rv == HSMCA_OK) {
        c.enabled = ob_bool(in, "enabled", c.enabled);
        c.interval_duration = ob_int(in, "interval_duration", c.interval_duration);
        c.maintain_stored_certificate_counts =
            ob_bool(in, "maintain_stored_certificate_counts", c.maintain_stored_certificate_counts);
        c.publish_stored_certificate_count_metrics =
            ob_bool(in, "publish_stored_certificate_count_metrics", c.publish_stored_certificate_count_metrics);
        rv = hsmca_revocation_auto_tidy_set(ob_ca(arg), ob_mount(req), &c);
    }
    json_decref(in);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    auto_tidy_respond(resp, &c);
}

const hsmca_http_route ob_tidy_routes[] = {
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "tidy", tidy_start, 0},
    {HSMCA_HTTP_GET, "tidy-status", tidy_status, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "tidy-cancel", tidy_cancel, 0},
    {HSMCA_HTTP_GET, "config/auto-tidy", auto_tidy_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/auto-tidy", auto_tidy_write, 0},
};
const size_t ob_tidy_routes_n = sizeof(ob_tidy_routes) / sizeof(ob_tidy_routes[0]);
