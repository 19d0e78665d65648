/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of the HTTP server: the request and response objects
 * as the I/O threads and workers share them, the worker pool and the
 * connection reaper. */
#ifndef HSMCA_SRC_HTTP_INTERNAL_H
#define HSMCA_SRC_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <microhttpd.h>

#include "hsmca/http.h"

#define HTTP_DEFAULT_MAX_BODY (1024u * 1024u)
#define HTTP_DEFAULT_MAX_HEADER (16u * 1024u)
#define HTTP_DEFAULT_MAX_URL 4096u
#define HTTP_DEFAULT_MAX_CONNECTIONS 1024u
#define HTTP_DEFAULT_MAX_PER_CLIENT 64u
#define HTTP_DEFAULT_IDLE_TIMEOUT 30u
#define HTTP_DEFAULT_REQUEST_TIMEOUT 60u
#define HTTP_DEFAULT_WORKERS 64u
#define HTTP_MAX_LISTENERS 8
#define HTTP_MAX_RESP_HEADERS 8
#define HTTP_JSON_MAX_DEPTH 32

typedef struct http_worker_pool http_worker_pool;
typedef struct http_reaper http_reaper;

struct hsmca_http_resp {
    int status;              /* 0: nothing filled in yet */
    /* an envelope (data/auth/warnings...) or an error list or a raw body */
    enum { RESP_NONE, RESP_ENVELOPE, RESP_ERRORS, RESP_RAW, RESP_EMPTY } kind;
    json_t *data, *auth;
    json_t *warnings;        /* array of strings, or NULL */
    json_t *errors;          /* array of strings, or NULL */
    char *lease_id;
    int64_t lease_duration;
    bool renewable;
    char mount_type[32];
    bool sensitive;          /* cleanse every copy of the body */
    char content_type[64];
    unsigned char *raw;
    size_t raw_len;
    char *hdr_name[HTTP_MAX_RESP_HEADERS], *hdr_value[HTTP_MAX_RESP_HEADERS];
    size_t n_hdr;
};

struct hsmca_http_req {
    hsmca_http_server *srv;
    struct MHD_Connection *conn;
    hsmca_http_method method;
    char *path;              /* without the leading '/' */
    char id[37];
    char client_addr[64];
    unsigned char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    size_t discarded;        /* bytes of an oversized chunked body thrown away */
    struct timespec started;
    size_t max_body;         /* the body limit when the request began (a reload may change it) */
    bool tls;
    unsigned char *client_cert;
    size_t client_cert_len;
    unsigned char *client_chain; /* the other certificates it sent, DER one after another */
    size_t client_chain_len;
    json_t *json;            /* parsed body, once */
    bool json_done;
    /* route parameters (copies) */
    char *param_name[8], *param_value[8];
    size_t n_param;
    void *ctx;
    void (*ctx_free)(void *);
    /* the response, built by a worker and queued by an I/O thread */
    hsmca_http_resp resp;
    atomic_bool done;        /* the worker finished: the response may be queued */
    bool dispatched;
    bool answered;           /* a response was queued */
    struct timespec dispatched_at;
};

struct hsmca_http_server {
    hsmca_http_config cfg;
    hsmca_http_limits lim;   /* as started; the fixed ones stay in force */
    /* The limits a reload may change (hsmca_http_server_update_limits),
     * read by I/O threads at the start of each request. */
    atomic_size_t live_max_body, live_max_header, live_max_url;
    atomic_uint live_request_timeout_s;
    /* Set by stop: keep-alive connections must not start new requests while
     * the ones in flight drain, or a busy client keeps the drain going. */
    atomic_bool stopping;
    struct MHD_Daemon *daemons[HTTP_MAX_LISTENERS];
    uint16_t ports[HTTP_MAX_LISTENERS];
    size_t n_daemons;
    http_worker_pool *pool;
    http_reaper *reaper;
    char *tls_cert_pem, *tls_key_pem, *tls_trust_pem;
    void *tls_ext; /* tls.c's state for an external key */
    /* statistics */
    atomic_uint_fast64_t requests, s2xx, s4xx, s5xx, rejected, in_flight, latency_sum;
    atomic_uint_fast64_t latency_bucket[12];
};

/* ---- request.c ---- */
hsmca_http_req *http_req_new(hsmca_http_server *srv, struct MHD_Connection *conn);
void http_req_free(hsmca_http_req *req);
/* Appends upload bytes within max_body; sets body_too_large past it. */
void http_req_append(hsmca_http_req *req, const char *data, size_t len);
/* Validates and stores the decoded path; false with *why when refused. */
bool http_req_set_path(hsmca_http_req *req, const char *url, const char **why);

/* ---- response.c ---- */

void http_resp_clear(hsmca_http_resp *resp);
/* The MHD response for resp (security headers included); NULL on memory
 * failure. */
struct MHD_Response *http_resp_build(const hsmca_http_req *req, hsmca_http_resp *resp);
/* A plain error response built on an I/O thread (limits). */
struct MHD_Response *http_resp_simple_error(int status, const char *message, bool tls);

/* ---- workers.c ---- */
typedef void (*http_job_fn)(hsmca_http_req *req);
hsmca_rv http_pool_start(unsigned workers, size_t queue_max, http_job_fn fn, http_worker_pool **out);
/* false when the queue is full (the caller answers 503). */
bool http_pool_submit(http_worker_pool *p, hsmca_http_req *req);
void http_pool_stop(http_worker_pool *p);

/* ---- reaper.c: connections that take too long to send a request ---- */
hsmca_rv http_reaper_start(unsigned request_timeout_s, http_reaper **out);
void http_reaper_stop(http_reaper *r);
void http_reaper_set_timeout(http_reaper *r, unsigned request_timeout_s);
void http_reaper_notify(http_reaper *r, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);
/* The connection began (true) or finished (false) a request. */
void http_reaper_request(http_reaper *r, struct MHD_Connection *c, bool active);

/* ---- tls.c ---- */
/* Loads the PEM files (or prepares the external key) for the MHD options. */
hsmca_rv http_tls_prepare(hsmca_http_server *srv);
void http_tls_free(hsmca_http_server *srv);
/* The GnuTLS priority string: TLS 1.2+, AEAD ciphers, forward secrecy. */
extern const char http_tls_priorities[];
/* For an external key: the certificate callback MHD_OPTION_HTTPS_CERT_CALLBACK
 * wants (a gnutls_certificate_retrieve_function2 *). */
void *http_tls_cert_callback(void);
/* The client's certificate DER, if it sent one, and the certificates it
 * sent after it (at most HTTP_CLIENT_CHAIN_MAX, concatenated DER). */
#define HTTP_CLIENT_CERT_MAX (64u * 1024u)
#define HTTP_CLIENT_CHAIN_MAX 8u
void http_tls_client_cert(struct MHD_Connection *conn, unsigned char **der, size_t *len, unsigned char **chain,
                          size_t *chain_len);

#endif
