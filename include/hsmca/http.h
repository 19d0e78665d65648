/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server: libmicrohttpd listeners (TLS 1.2+ or, when configured,
 * plain HTTP on loopback), hard limits on every part of a request, a worker
 * pool for handlers that block on the token or the store, and the request
 * and response objects dialects work with. It knows nothing of tokens, PKI
 * or mounts: the daemon's dispatch callback does authentication, routing
 * (hsmca_http_router) and auditing. */
#ifndef HSMCA_HTTP_H
#define HSMCA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_http_server hsmca_http_server;
typedef struct hsmca_http_req hsmca_http_req;
typedef struct hsmca_http_resp hsmca_http_resp;
typedef struct hsmca_http_router hsmca_http_router;

/* Methods as a bit set. LIST is OpenBao's verb, also reached as GET with
 * ?list=true. */
typedef enum {
    HSMCA_HTTP_GET = 1u << 0,
    HSMCA_HTTP_HEAD = 1u << 1,
    HSMCA_HTTP_POST = 1u << 2,
    HSMCA_HTTP_PUT = 1u << 3,
    HSMCA_HTTP_PATCH = 1u << 4,
    HSMCA_HTTP_DELETE = 1u << 5,
    HSMCA_HTTP_LIST = 1u << 6,
    HSMCA_HTTP_OPTIONS = 1u << 7
} hsmca_http_method;

const char *hsmca_http_method_name(hsmca_http_method m);

/* ---- limits (every one has a default; 0 selects it) ---- */
typedef struct {
    size_t max_body;             /* bytes; default 1 MiB (OpenBao: 32 MiB) */
    size_t max_header;           /* bytes of request line + headers; default 16 KiB */
    size_t max_url;              /* bytes of the request target; default 4096 */
    unsigned max_connections;    /* total; default 1024 */
    unsigned max_per_client;     /* per client address; default 64 */
    unsigned idle_timeout_s;     /* no byte received for this long: closed; default 30 */
    unsigned request_timeout_s;  /* headers + body must arrive within; default 60 */
} hsmca_http_limits;

/* ---- the server ---- */

/* What the daemon does with a complete request: fill resp. Runs on a worker
 * thread (it may block on the token or the store); never on an I/O thread. */
typedef void (*hsmca_http_dispatch_fn)(hsmca_http_req *req, hsmca_http_resp *resp, void *arg);

/* A TLS private key held by the caller (e.g. in the token): the server asks
 * it to sign TLS handshakes. sign() gets the data to sign as GnuTLS gives
 * it (already hashed for RSA PKCS#1 / ECDSA when `hashed`, else raw for
 * RSA-PSS/EdDSA per `algorithm`, a gnutls_sign_algorithm_t) and returns a
 * malloc'd signature. Key types: RSA, EC. */
typedef struct {
    int key_algorithm;           /* gnutls_pk_algorithm_t: GNUTLS_PK_RSA, GNUTLS_PK_ECDSA */
    unsigned key_bits;
    int (*sign)(void *arg, int algorithm, unsigned flags, const unsigned char *data, size_t len,
                unsigned char **sig, size_t *sig_len);
    void *arg;
} hsmca_http_external_key;

typedef struct {
    /* "127.0.0.1:8200", "[::1]:8200"; one listener each (at most 8). */
    const char *listen[8];
    size_t n_listen;
    /* Or sockets already bound and listening (socket activation): used
     * instead of listen[] when n_listen_fd > 0; the server owns them. */
    int listen_fd[8];
    size_t n_listen_fd;
    bool tls;                    /* false: plain HTTP, refused on non-loopback unless allow_plain_remote */
    bool allow_plain_remote;
    const char *tls_cert_file;   /* PEM: the certificate, then its chain */
    const char *tls_key_file;    /* PEM private key; or NULL with tls_external_key */
    const hsmca_http_external_key *tls_external_key;
    const char *tls_client_ca_file; /* ask clients for a certificate issued under these (not required) */
    unsigned io_threads;         /* libmicrohttpd thread pool; 0 = online CPUs */
    unsigned workers;            /* handler threads; 0 = 64 */
    hsmca_http_limits limits;
    hsmca_http_dispatch_fn dispatch;
    void *dispatch_arg;
} hsmca_http_config;

/* Binds every listener and starts serving; on failure nothing is left
 * listening and the detail names the address or file. */
hsmca_rv hsmca_http_server_start(const hsmca_http_config *cfg, hsmca_http_server **out);
/* Stops accepting, lets in-flight requests finish, frees. NULL-safe. */
void hsmca_http_server_stop(hsmca_http_server *srv);
/* Limits a running server can change: they apply to requests that start
 * from now on; connections already open are not touched. The others
 * (connection counts, idle timeout) are fixed when a listener starts. */
#define HSMCA_HTTP_LIMIT_MAX_BODY 0x01u
#define HSMCA_HTTP_LIMIT_MAX_HEADER 0x02u
#define HSMCA_HTTP_LIMIT_MAX_URL 0x04u
#define HSMCA_HTTP_LIMIT_REQUEST_TIMEOUT 0x08u
#define HSMCA_HTTP_LIMIT_MAX_CONNECTIONS 0x10u
#define HSMCA_HTTP_LIMIT_MAX_PER_CLIENT 0x20u
#define HSMCA_HTTP_LIMIT_IDLE_TIMEOUT 0x40u
#define HSMCA_HTTP_LIMITS_LIVE 0x0fu
/* Applies the live limits of `in` (0 selects the default, as at start).
 * Returns the HSMCA_HTTP_LIMIT_* bits of every limit that differs from the
 * running one; only the HSMCA_HTTP_LIMITS_LIVE ones among them changed, the
 * rest need a restart. */
unsigned hsmca_http_server_update_limits(hsmca_http_server *srv, const hsmca_http_limits *in);
/* Name of one HSMCA_HTTP_LIMIT_* bit, as the configuration spells it. */
const char *hsmca_http_limit_name(unsigned bit);

/* The port a listener got (for ":0" in tests); 0 if out of range. */
uint16_t hsmca_http_server_port(const hsmca_http_server *srv, size_t listener);

typedef struct {
    uint64_t requests;           /* responses sent, by class below */
    uint64_t status_2xx, status_4xx, status_5xx;
    uint64_t rejected_limits;    /* refused by a limit before dispatch */
    uint64_t in_flight;          /* dispatched, not yet answered */
    uint64_t latency_us_sum;     /* dispatch to response, over `requests` */
    uint64_t latency_bucket[12]; /* <=1,2.5,5,10,25,50,100,250,500,1000,2500 ms, +Inf (cumulative) */
} hsmca_http_stats;
void hsmca_http_server_stats(const hsmca_http_server *srv, hsmca_http_stats *out);
extern const double hsmca_http_latency_bounds_ms[11];

/* ---- requests (valid during dispatch) ---- */

hsmca_http_method hsmca_http_req_method(const hsmca_http_req *req);
/* The decoded path without the leading '/', e.g. "v1/pki/roles/web"; dot
 * segments and empty segments were refused before dispatch. */
const char *hsmca_http_req_path(const hsmca_http_req *req);
/* Query parameter (first occurrence, decoded) or NULL. */
const char *hsmca_http_req_query(const hsmca_http_req *req, const char *name);
/* Calls cb for every query parameter (value may be NULL for "?flag"). */
void hsmca_http_req_query_each(const hsmca_http_req *req, void (*cb)(const char *k, const char *v, void *arg),
                               void *arg);
const char *hsmca_http_req_header(const hsmca_http_req *req, const char *name);
const unsigned char *hsmca_http_req_body(const hsmca_http_req *req, size_t *len);
const char *hsmca_http_req_client_addr(const hsmca_http_req *req);
/* A fresh UUID per request (the envelope's request_id). */
const char *hsmca_http_req_id(const hsmca_http_req *req);
/* The client's TLS certificate (DER) if it sent one, else NULL. */
const unsigned char *hsmca_http_req_client_cert(const hsmca_http_req *req, size_t *len);
/* The other certificates the client sent after its own (intermediates),
 * DER one after another; NULL when none. Untrusted: path material only. */
const unsigned char *hsmca_http_req_client_chain(const hsmca_http_req *req, size_t *len);
bool hsmca_http_req_is_tls(const hsmca_http_req *req);

/* The body as a JSON object: empty body -> {}; duplicate keys, invalid UTF-8,
 * NUL in strings, nesting deeper than 32, or a non-object -> NULL with a
 * 400-worthy detail (HSMCA_ERR_INVALID_ARG). Parsed once, borrowed. */
json_t *hsmca_http_req_json(hsmca_http_req *req);

/* Route parameters, set by the router. */
const char *hsmca_http_req_param(const hsmca_http_req *req, const char *name);

/* A value the dispatcher attaches (e.g. the authenticated token), freed
 * with free_fn after the response. */
void hsmca_http_req_set_context(hsmca_http_req *req, void *ctx, void (*free_fn)(void *));
void *hsmca_http_req_context(const hsmca_http_req *req);

/* ---- responses ---- */

/* The OpenBao envelope {request_id, lease_id, renewable, lease_duration,
 * data, wrap_info, warnings, auth, mount_type} with status (200 unless
 * given); data is stolen (NULL -> null). */
void hsmca_http_resp_data(hsmca_http_resp *resp, int status, json_t *data);
/* The envelope's auth block (token create/lookup); stolen. */
void hsmca_http_resp_set_auth(hsmca_http_resp *resp, json_t *auth);
void hsmca_http_resp_set_lease(hsmca_http_resp *resp, const char *lease_id, int64_t lease_duration, bool renewable);
void hsmca_http_resp_set_mount_type(hsmca_http_resp *resp, const char *mount_type);
/* Adds a warning; warnings ride on any response (an error too, as OpenBao's
 * envelope allows). */
void hsmca_http_resp_warn(hsmca_http_resp *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* {"errors": [message]} with status. */
void hsmca_http_resp_error(hsmca_http_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error for an hsmca_rv (one table: invalid -> 400, not found -> 404,
 * exists -> 409 ...), message = the thread's detail or a generic text. */
void hsmca_http_resp_error_rv(hsmca_http_resp *resp, hsmca_rv rv);
int hsmca_http_status_for_rv(hsmca_rv rv);
/* A body as is (DER, PEM) with its content type; copied. */
void hsmca_http_resp_raw(hsmca_http_resp *resp, int status, const char *content_type, const void *body, size_t len);
/* The response carries a secret (a leaf private key): every copy of its
 * body the server makes is cleansed before it is freed. */
void hsmca_http_resp_set_sensitive(hsmca_http_resp *resp);
/* 204, no body. */
void hsmca_http_resp_no_content(hsmca_http_resp *resp);
/* An extra header (Last-Modified, Retry-After...); copied; at most 8. */
void hsmca_http_resp_header(hsmca_http_resp *resp, const char *name, const char *value);
int hsmca_http_resp_status(const hsmca_http_resp *resp);
/* The first error message set on resp, or NULL. */
const char *hsmca_http_resp_error_message(const hsmca_http_resp *resp);
/* Set when nothing was filled in yet. */
bool hsmca_http_resp_is_empty(const hsmca_http_resp *resp);

/* ---- router: method + path pattern -> handler ---- */

typedef void (*hsmca_http_handler_fn)(hsmca_http_req *req, hsmca_http_resp *resp, void *arg);

/* Route flags the dispatcher reads (the router only stores them). */
#define HSMCA_HTTP_ROUTE_UNAUTHENTICATED 0x1u /* OpenBao documents it as unauthenticated */
#define HSMCA_HTTP_ROUTE_SUDO 0x2u            /* needs the sudo capability as well */
#define HSMCA_HTTP_ROUTE_NO_AUDIT 0x4u        /* reads that change nothing (denials are still audited) */
#define HSMCA_HTTP_ROUTE_EXISTENCE 0x8u       /* a write to a new object needs "create" (OpenBao's existence check) */

typedef struct {
    unsigned methods;            /* hsmca_http_method bits */
    const char *pattern;         /* "roles/:name"; a last segment "*name" takes the rest of the path */
    hsmca_http_handler_fn fn;
    unsigned flags;
} hsmca_http_route;

typedef struct {
    const hsmca_http_route *route;
    void *arg;
    /* route parameters, decoded: valid until the next match on this struct */
    const char *names[8];
    const char *values[8];
    size_t n;
    /* The path's segments: as long as the longest URL the server takes
     * (HTTP_DEFAULT_MAX_URL), so an OCSP GET of up to 2047 base64 bytes
     * (HSMCA_OCSP_REQUEST_MAX) reaches its handler instead of a 404. */
    char buf[4096 + 64];
    char nbuf[256];  /* the matched pattern's segments (parameter names) */
} hsmca_http_match;

hsmca_rv hsmca_http_router_new(hsmca_http_router **out);
void hsmca_http_router_free(hsmca_http_router *r);
/* The route table is borrowed (static tables); arg is passed to every fn. */
hsmca_rv hsmca_http_router_add(hsmca_http_router *r, const hsmca_http_route *routes, size_t n, void *arg);
/* Matches path (relative, e.g. "roles/web") and method. Returns HSMCA_OK,
 * HSMCA_ERR_NOT_FOUND (no pattern matches: 404) or HSMCA_ERR_UNSUPPORTED
 * (a pattern matches, not the method: 405); `allowed` receives the methods
 * the path supports. */
hsmca_rv hsmca_http_router_match(const hsmca_http_router *r, const char *path, hsmca_http_method m,
                                 hsmca_http_match *out, unsigned *allowed);
/* Makes the match's parameters the request's (hsmca_http_req_param). */
void hsmca_http_req_set_params(hsmca_http_req *req, const hsmca_http_match *m);

#ifdef __cplusplus
}
#endif
#endif
