/* SPDX-License-Identifier: Apache-2.0 */
/* Responses: OpenBao's JSON envelope, its error list, raw bodies, the one
 * table from hsmca_rv to HTTP status, and the security headers every
 * response carries. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/jsonfield.h"
#include "internal.h"

#define MESSAGE_MAX 2048

void http_resp_clear(hsmca_http_resp *resp)
{
    if (resp->sensitive) {
        hsmca_jf_cleanse(resp->data);
        if (resp->raw != NULL)
            OPENSSL_cleanse(resp->raw, resp->raw_len);
    }
    json_decref(resp->data);
    json_decref(resp->auth);
    json_decref(resp->warnings);
    json_decref(resp->errors);
    free(resp->lease_id);
    free(resp->raw);
    for (size_t i = 0; i < resp->n_hdr; i++) {
        free(resp->hdr_name[i]);
        free(resp->hdr_value[i]);
    }
    memset(resp, 0, sizeof(*resp));
}

/* Drops a previous body (not warnings or headers): the last fill wins. */
static void reset_body(hsmca_http_resp *resp)
{
    if (resp->sensitive) {
        hsmca_jf_cleanse(resp->data);
        if (resp->raw != NULL)
            OPENSSL_cleanse(resp->raw, resp->raw_len);
    }
    json_decref(resp->data);
    json_decref(resp->errors);
    free(resp->raw);
    resp->data = resp->errors = NULL;
    resp->raw = NULL;
    resp->raw_len = 0;
}

void hsmca_http_resp_data(hsmca_http_resp *resp, int status, json_t *data)
{
    reset_body(resp);
    resp->kind = RESP_ENVELOPE;
    resp->status = status ? status : 200;
    resp->data = data;
}

void hsmca_http_resp_set_auth(hsmca_http_resp *resp, json_t *auth)
{
    json_decref(resp->auth);
    resp->auth = auth;
    /* An auth block carries a client token (token create, cert login):
     * the rendered body is cleansed after it is sent, like issued keys. */
    if (auth != NULL)
        resp->sensitive = true;
}

void hsmca_http_resp_set_lease(hsmca_http_resp *resp, const char *lease_id, int64_t lease_duration, bool renewable)
{
    free(resp->lease_id);
    resp->lease_id = lease_id ? strdup(lease_id) : NULL;
    resp->lease_duration = lease_duration;
    resp->renewable = renewable;
}

void hsmca_http_resp_set_mount_type(hsmca_http_resp *resp, const char *mount_type)
{
    snprintf(resp->mount_type, sizeof(resp->mount_type), "%s", mount_type ? mount_type : "");
}

void hsmca_http_resp_warn(hsmca_http_resp *resp, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (resp->warnings == NULL)
        resp->warnings = json_array();
    if (resp->warnings != NULL)
        json_array_append_new(resp->warnings, json_string(msg)); /* a NULL string (bad UTF-8) is skipped */
}

void hsmca_http_resp_error(hsmca_http_resp *resp, int status, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    json_t *s;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reset_body(resp);
    resp->kind = RESP_ERRORS;
    resp->status = status;
    resp->errors = json_array();
    /* A message quoting client input may carry bytes that are not UTF-8;
     * json_string refuses those, and then the message says so instead. */
    if (msg[0] == '\0') {
        /* OpenBao's bodiless refusals (an empty LIST is a 404 with no
         * message): an empty errors array. */
        return;
    }
    s = json_string(msg);
    if (s == NULL)
        s = json_string("invalid request (the error message contained bytes that are not UTF-8)");
    if (resp->errors != NULL && s != NULL)
        json_array_append_new(resp->errors, s);
    else
        json_decref(s);
}

/* One table (CONVENTIONS.md): OpenBao answers 400 for bad input, 404 for a
 * missing object, 409 for a name conflict in our store (OpenBao itself
 * often says 400 there; 409 is what its docs list for conflicts), 503 when
 * the seal -- here the token -- is unavailable, 500 otherwise. */
int hsmca_http_status_for_rv(hsmca_rv rv)
{
    switch (rv) {
    case HSMCA_OK:
        return 200;
    case HSMCA_ERR_INVALID_ARG:
    case HSMCA_ERR_UNSUPPORTED:
        return 400;
    case HSMCA_ERR_NOT_FOUND:
        return 404;
    case HSMCA_ERR_EXISTS:
        return 409;
    case HSMCA_ERR_HSM_UNAVAILABLE:
    case HSMCA_ERR_TIMEOUT:
    case HSMCA_ERR_TOKEN_NOT_FOUND:
    case HSMCA_ERR_PIN_LOCKED:
    case HSMCA_ERR_PIN_INCORRECT:
        return 503;
    default:
        return 500;
    }
}

void hsmca_http_resp_error_rv(hsmca_http_resp *resp, hsmca_rv rv)
{
    int status = hsmca_http_status_for_rv(rv);
    const char *detail = hsmca_err_message();

    /* 5xx: the detail may name internal files or token state; the client
     * gets a stable text, the log keeps the detail (the daemon logs it). */
    if (status >= 500 && status != 503)
        hsmca_http_resp_error(resp, status, "internal error (%s); the server log has the details",
                              hsmca_rv_name(rv));
    else if (status == 503)
        hsmca_http_resp_error(resp, status, "the HSM is unavailable; try again later");
    else
        hsmca_http_resp_error(resp, status, "%s", detail[0] ? detail : hsmca_rv_name(rv));
}

void hsmca_http_resp_raw(hsmca_http_resp *resp, int status, const char *content_type, const void *body, size_t len)
{
    reset_body(resp);
    resp->kind = RESP_RAW;
    resp->status = status ? status : 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
    resp->raw = malloc(len ? len : 1);
    if (resp->raw == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    memcpy(resp->raw, body, len);
    resp->raw_len = len;
}

void hsmca_http_resp_set_sensitive(hsmca_http_resp *resp)
{
    resp->sensitive = true;
}

void hsmca_http_resp_no_content(hsmca_http_resp *resp)
{
    reset_body(resp);
    resp->kind = RESP_EMPTY;
    resp->status = 204;
}

void hsmca_http_resp_header(hsmca_http_resp *resp, const char *name, const char *value)
{
    if (resp->n_hdr >= HTTP_MAX_RESP_HEADERS)
        return;
    resp->hdr_name[resp->n_hdr] = strdup(name);
    resp->hdr_value[resp->n_hdr] = strdup(value);
    if (resp->hdr_name[resp->n_hdr] == NULL || resp->hdr_value[resp->n_hdr] == NULL) {
        free(resp->hdr_name[resp->n_hdr]);
        free(resp->hdr_value[resp->n_hdr]);
        return;
    }
    resp->n_hdr++;
}

int hsmca_http_resp_status(const hsmca_http_resp *resp)
{
    return resp->status;
}

const char *hsmca_http_resp_error_message(const hsmca_http_resp *resp)
{
    return resp->kind == RESP_ERRORS ? json_string_value(json_array_get(resp->errors, 0)) : NULL;
}

bool hsmca_http_resp_is_empty(const hsmca_http_resp *resp)
{
    return resp->kind == RESP_NONE;
}

/* Security headers (OWASP secure headers): the API serves JSON and
 * certificates, never pages, so nothing may be framed, sniffed, cached or
 * referred. HSTS only where it means something. The one exception to
 * no-store is a handler that set its own Cache-Control on a response
 * carrying no secret (OCSP GET, RFC 5019 6.2); a sensitive response (a
 * leaf key, a client token) is no-store whatever its handler said. */
static void security_headers(struct MHD_Response *r, bool tls, bool sensitive)
{
    const char *own = MHD_get_response_header(r, "Cache-Control");

    if (own != NULL && sensitive) {
        char *copy = strdup(own);
        if (copy != NULL) {
            MHD_del_response_header(r, "Cache-Control", copy);
            free(copy);
        }
        own = MHD_get_response_header(r, "Cache-Control");
    }
    if (own == NULL || sensitive)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

/* Every 503 (token unavailable, server busy, shutting down) is temporary:
 * RFC 9110 15.6.4 lets the server say when to come back, and clients and
 * load balancers back off by it. One second: the session pool re-opens and
 * re-logs-in within that once the token answers again. A handler that set
 * its own value keeps it. */
static void retry_after(struct MHD_Response *r)
{
    if (MHD_get_response_header(r, "Retry-After") == NULL)
        MHD_add_response_header(r, "Retry-After", "1");
}

/* The envelope as JSON text ending in '\n' (OpenBao ends its bodies with
 * one), in one exact allocation: a growing buffer would leave copies of a
 * sensitive body behind in freed memory. */
static char *envelope_text(const hsmca_http_req *req, hsmca_http_resp *resp, size_t *len)
{
    json_t *env = json_object();
    char *text = NULL;
    size_t n;

    if (env == NULL)
        return NULL;
    if (resp->kind == RESP_ERRORS) {
        json_object_set(env, "errors", resp->errors ? resp->errors : json_array());
        if (resp->warnings != NULL)
            json_object_set(env, "warnings", resp->warnings);
    } else {
        json_object_set_new(env, "request_id", json_string(req->id));
        json_object_set_new(env, "lease_id", json_string(resp->lease_id ? resp->lease_id : ""));
        json_object_set_new(env, "renewable", json_boolean(resp->renewable));
        json_object_set_new(env, "lease_duration", json_integer(resp->lease_duration));
        json_object_set(env, "data", resp->data ? resp->data : json_null());
        json_object_set_new(env, "wrap_info", json_null());
        json_object_set(env, "warnings", resp->warnings ? resp->warnings : json_null());
        json_object_set(env, "auth", resp->auth ? resp->auth : json_null());
        if (resp->mount_type[0] != '\0')
            json_object_set_new(env, "mount_type", json_string(resp->mount_type));
    }
    n = json_dumpb(env, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    text = n > 0 ? malloc(n + 2) : NULL;
    if (text != NULL && json_dumpb(env, text, n, JSON_COMPACT | JSON_PRESERVE_ORDER) == n) {
        text[n] = '\n';
        text[n + 1] = '\0'; /* JSON text holds no NUL: strlen() finds the end again */
        *len = n + 1;
    } else {
        free(text);
        text = NULL;
    }
    json_decref(env);
    return text;
}

/* libmicrohttpd's free callback for sensitive bodies (NUL-terminated
 * envelope text). */
static void cleanse_free(void *p)
{
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}

static struct MHD_Response *sensitive_buffer(char *text, size_t n)
{
    return MHD_create_response_from_buffer_with_free_callback(n, text, cleanse_free);
}

struct MHD_Response *http_resp_build(const hsmca_http_req *req, hsmca_http_resp *resp)
{
    struct MHD_Response *r = NULL;

    if (resp->kind == RESP_NONE)
        hsmca_http_resp_error(resp, 500, "internal error: the handler gave no response");
    if (resp->kind == RESP_RAW) {
        r = MHD_create_response_from_buffer(resp->raw_len, resp->raw, MHD_RESPMEM_MUST_COPY);
        if (r != NULL)
            MHD_add_response_header(r, "Content-Type", resp->content_type);
    } else if (resp->kind == RESP_EMPTY) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        size_t n = 0;
        char *text = envelope_text(req, resp, &n);
        if (text == NULL)
            return http_resp_simple_error(500, "out of memory", req->tls);
        if (resp->sensitive)
            r = sensitive_buffer(text, n);
        else
            r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            OPENSSL_cleanse(text, n);
            free(text);
        } else {
            MHD_add_response_header(r, "Content-Type", "application/json");
        }
    }
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < resp->n_hdr; i++)
        MHD_add_response_header(r, resp->hdr_name[i], resp->hdr_value[i]);
    if (resp->status == 503)
        retry_after(r);
    security_headers(r, req->tls, resp->sensitive);
    return r;
}

struct MHD_Response *http_resp_simple_error(int status, const char *message, bool tls)
{
    json_t *env = json_pack("{s:[s]}", "errors", message);
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    struct MHD_Response *r;

    json_decref(env);
    if (text == NULL)
        return NULL;
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (status == 503)
        retry_after(r);
    security_headers(r, tls, true);
    return r;
}
