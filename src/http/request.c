/* SPDX-License-Identifier: Apache-2.0 */
/* The request object: what arrived (method, path, query, headers, body)
 * after the server's limits, and the strict JSON view of the body. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsmca/jsonfield.h"
#include "hsmca/uuid.h"
#include "internal.h"

hsmca_http_req *http_req_new(hsmca_http_server *srv, struct MHD_Connection *conn)
{
    hsmca_http_req *req = calloc(1, sizeof(*req));
    const union MHD_ConnectionInfo *ci;

    if (req == NULL)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    req->max_body = atomic_load(&srv->live_max_body);
    {
        /* request ids correlate log lines, they guard nothing: the DRBG */
        unsigned char b[16];
        if (RAND_bytes(b, sizeof(b)) != 1)
            memset(b, 0, sizeof(b));
        hsmca_uuid_set_version(b, 4);
        hsmca_uuid_format(b, req->id);
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, req->client_addr,
                      sizeof(req->client_addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, req->client_addr,
                      sizeof(req->client_addr));
    }
    req->tls = srv->cfg.tls;
    if (req->tls)
        http_tls_client_cert(conn, &req->client_cert, &req->client_cert_len, &req->client_chain,
                             &req->client_chain_len);
    return req;
}

void http_req_free(hsmca_http_req *req)
{
    if (req == NULL)
        return;
    if (req->ctx_free != NULL)
        req->ctx_free(req->ctx);
    for (size_t i = 0; i < req->n_param; i++) {
        free(req->param_name[i]);
        free(req->param_value[i]);
    }
    http_resp_clear(&req->resp);
    /* A body may carry a private key (keys/import, import/bundle): its raw
     * bytes and the parsed strings are cleansed, for every request alike
     * (bounded by max_body, cheap beside the request itself). */
    hsmca_jf_cleanse(req->json);
    json_decref(req->json);
    free(req->client_cert);
    free(req->client_chain);
    if (req->body != NULL)
        OPENSSL_cleanse(req->body, req->body_cap);
    free(req->body);
    free(req->path);
    free(req);
}

void http_req_append(hsmca_http_req *req, const char *data, size_t len)
{
    size_t max = req->max_body;

    if (req->body_too_large || len > max - req->body_len) {
        req->body_too_large = true;
        req->discarded += len;
        return;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        unsigned char *nb;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        /* not realloc: the old buffer may hold part of a private key and
         * is cleansed before it goes */
        nb = malloc(cap);
        if (nb == NULL) {
            req->body_too_large = true; /* answered as 413: the body is not kept */
            return;
        }
        if (req->body != NULL) {
            memcpy(nb, req->body, req->body_len);
            OPENSSL_cleanse(req->body, req->body_cap);
            free(req->body);
        }
        req->body = nb;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
}

/* The path as MHD decoded it (percent escapes undone by server.c's
 * unescaper, which refuses %00 and malformed escapes). Refused: anything
 * not starting with '/', control bytes, backslashes, empty segments, and
 * "." / ".." segments -- a reference such as an issuer name can never walk
 * to another route. */
/* Where the path's segments end and an opaque tail begins, or NULL. The
 * OCSP GET form (RFC 6960 A.1: /v1/<mount>/ocsp/<url-encoded base64>)
 * carries a DER request in the path, and base64 may hold "//" (about one
 * request in 30): after "v1/<mount>/ocsp/" empty segments are data, not
 * path structure. The responder parses the tail strictly as base64. */
static const char *opaque_tail(const char *url)
{
    const char *p = url + 1, *mount_end;

    if (strncmp(p, "v1/", 3) != 0)
        return NULL;
    mount_end = strchr(p + 3, '/');
    if (mount_end == NULL || mount_end == p + 3 || strncmp(mount_end, "/ocsp/", 6) != 0)
        return NULL;
    return mount_end + 6;
}

bool http_req_set_path(hsmca_http_req *req, const char *url, const char **why)
{
    const char *p = url;
    size_t n = strlen(url);
    const char *tail;

    if (n == 0 || url[0] != '/') {
        *why = "request path must start with '/'";
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            *why = "request path contains a control character or backslash";
            return false;
        }
    }
    tail = opaque_tail(url);
    p = url + 1;
    while (*p != '\0' && p != tail) {
        const char *slash = strchr(p, '/');
        size_t seg = slash ? (size_t)(slash - p) : strlen(p);
        if (seg == 0 && slash != NULL) {
            *why = "request path contains an empty segment ('//')";
            return false;
        }
        if ((seg == 1 && p[0] == '.') || (seg == 2 && p[0] == '.' && p[1] == '.')) {
            *why = "request path contains a '.' or '..' segment";
            return false;
        }
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    req->path = strdup(url + 1);
    if (req->path == NULL) {
        *why = "out of memory";
        return false;
    }
    /* A trailing slash is accepted as OpenBao does ("pki/roles/" lists). */
    if (n > 1 && req->path[n - 2] == '/')
        req->path[n - 2] = '\0';
    return true;
}

hsmca_http_method hsmca_http_req_method(const hsmca_http_req *req)
{
    return req->method;
}

const char *hsmca_http_req_path(const hsmca_http_req *req)
{
    return req->path ? req->path : "";
}

const char *hsmca_http_req_query(const hsmca_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_walk {
    void (*cb)(const char *k, const char *v, void *arg);
    void *arg;
};

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct query_walk *w = cls;

    (void)kind;
    w->cb(key, value, w->arg);
    return MHD_YES;
}

void hsmca_http_req_query_each(const hsmca_http_req *req, void (*cb)(const char *k, const char *v, void *arg),
                               void *arg)
{
    struct query_walk w = {cb, arg};

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_one, &w);
}

const char *hsmca_http_req_header(const hsmca_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const unsigned char *hsmca_http_req_body(const hsmca_http_req *req, size_t *len)
{
    *len = req->body_len;
    return req->body ? req->body : (const unsigned char *)"";
}

const char *hsmca_http_req_client_addr(const hsmca_http_req *req)
{
    return req->client_addr;
}

const char *hsmca_http_req_id(const hsmca_http_req *req)
{
    return req->id;
}

const unsigned char *hsmca_http_req_client_chain(const hsmca_http_req *req, size_t *len)
{
    *len = req->client_chain_len;
    return req->client_chain;
}

const unsigned char *hsmca_http_req_client_cert(const hsmca_http_req *req, size_t *len)
{
    *len = req->client_cert_len;
    return req->client_cert;
}

bool hsmca_http_req_is_tls(const hsmca_http_req *req)
{
    return req->tls;
}

static size_t json_depth(json_t *j, size_t depth)
{
    size_t max = depth;

    if (depth > HTTP_JSON_MAX_DEPTH)
        return depth;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            size_t d = json_depth(v, depth + 1);
            if (d > max)
                max = d;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            size_t d = json_depth(v, depth + 1);
            if (d > max)
                max = d;
        }
    }
    return max;
}

/* Where jansson stopped inside a value (bad UTF-8, "\u0000", a number out
 * of range) its message names the byte, not the field; the field is what
 * the client needs. This finds the member whose value holds byte pos: the
 * last string before pos that is followed by ':' (a key). *in_key is set
 * when pos lies inside a key itself. Everything before pos was accepted by
 * jansson, so the keys copied are well-formed (and bounded to size-1). */
static void json_key_at(const unsigned char *b, size_t len, size_t pos, char *out, size_t size, bool *in_key)
{
    size_t i = 0;

    out[0] = '\0';
    *in_key = false;
    while (i < pos && i < len) {
        size_t start, end, j;
        if (b[i] != '"') {
            i++;
            continue;
        }
        start = ++i;
        while (i < len && b[i] != '"')
            i += (b[i] == '\\' && i + 1 < len) ? 2 : 1;
        end = i++; /* the closing quote, or len */
        j = i;
        while (j < len && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n'))
            j++;
        if (j >= len || b[j] != ':')
            continue; /* a value, not a key */
        if (end >= pos) {
            /* pos is inside this key */
            out[0] = '\0';
            *in_key = true;
            return;
        }
        if (end - start >= size)
            end = start + size - 1;
        memcpy(out, b + start, end - start);
        out[end - start] = '\0';
    }
}

/* jansson refuses invalid UTF-8 and, without JSON_ALLOW_NUL, "\u0000";
 * JSON_REJECT_DUPLICATES refuses repeated keys (which value would win is
 * exactly the kind of ambiguity a policy check must not depend on). The
 * nesting bound keeps the depth walk and every later walk bounded. */
json_t *hsmca_http_req_json(hsmca_http_req *req)
{
    json_error_t err;
    size_t i = 0;

    if (req->json_done) {
        if (req->json == NULL)
            hsmca_err(HSMCA_ERR_INVALID_ARG, "request body is not a valid JSON object");
        return req->json;
    }
    req->json_done = true;
    while (i < req->body_len && (req->body[i] == ' ' || req->body[i] == '\t' || req->body[i] == '\r' ||
                                 req->body[i] == '\n'))
        i++;
    if (i == req->body_len) {
        req->json = json_object();
        if (req->json == NULL)
            hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        return req->json;
    }
    req->json = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (req->json == NULL) {
        enum json_error_code code = json_error_code(&err);
        /* jansson's own wording for the two string rules, without its
         * flag names */
        const char *what = code == json_error_null_character ? "a NUL character (\\u0000) is not allowed"
                           : code == json_error_invalid_utf8 ? "invalid UTF-8"
                                                             : err.text;
        bool in_value = code == json_error_invalid_utf8 || code == json_error_null_character ||
                        code == json_error_numeric_overflow || strncmp(err.text, "invalid Unicode", 15) == 0;
        char key[65];
        bool in_key = false;

        key[0] = '\0';
        if (in_value && err.position >= 0)
            json_key_at(req->body, req->body_len, (size_t)err.position, key, sizeof(key), &in_key);
        /* jansson's text (which byte, near what) stays, after ours */
        const char *detail = what == err.text ? "" : err.text, *sep = what == err.text ? "" : "; ";

        if (in_key)
            hsmca_err(HSMCA_ERR_INVALID_ARG, "failed to parse JSON input: %s in an object key (%s%sline %d, column %d)",
                      what, detail, sep, err.line, err.column);
        else if (key[0] != '\0')
            hsmca_err(HSMCA_ERR_INVALID_ARG,
                      "failed to parse JSON input: %s in the value of field '%s' (%s%sline %d, column %d)", what, key,
                      detail, sep, err.line, err.column);
        else
            hsmca_err(HSMCA_ERR_INVALID_ARG, "failed to parse JSON input: %s (line %d, column %d)", err.text,
                      err.line, err.column);
        return NULL;
    }
    if (!json_is_object(req->json)) {
        json_decref(req->json);
        req->json = NULL;
        hsmca_err(HSMCA_ERR_INVALID_ARG, "request body must be a JSON object");
        return NULL;
    }
    if (json_depth(req->json, 0) > HTTP_JSON_MAX_DEPTH) {
        json_decref(req->json);
        req->json = NULL;
        hsmca_err(HSMCA_ERR_INVALID_ARG, "request body nests deeper than %d levels", HTTP_JSON_MAX_DEPTH);
        return NULL;
    }
    return req->json;
}

const char *hsmca_http_req_param(const hsmca_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_param; i++) {
        if (strcmp(req->param_name[i], name) == 0)
            return req->param_value[i];
    }
    return NULL;
}

void hsmca_http_req_set_params(hsmca_http_req *req, const hsmca_http_match *m)
{
    for (size_t i = 0; i < req->n_param; i++) {
        free(req->param_name[i]);
        free(req->param_value[i]);
    }
    req->n_param = 0;
    for (size_t i = 0; i < m->n && i < 8; i++) {
        char *k = strdup(m->names[i]), *v = strdup(m->values[i]);
        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            break; /* a missing parameter reads as absent: the handler refuses */
        }
        req->param_name[req->n_param] = k;
        req->param_value[req->n_param++] = v;
    }
}

void hsmca_http_req_set_context(hsmca_http_req *req, void *ctx, void (*free_fn)(void *))
{
    if (req->ctx_free != NULL)
        req->ctx_free(req->ctx);
    req->ctx = ctx;
    req->ctx_free = free_fn;
}

void *hsmca_http_req_context(const hsmca_http_req *req)
{
    return req->ctx;
}
