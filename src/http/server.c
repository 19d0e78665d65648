/* SPDX-License-Identifier: Apache-2.0 */
/* The server: one libmicrohttpd daemon per listener (an I/O thread pool
 * sized to the cores, epoll, TLS through GnuTLS), the limits checked before
 * any handler runs, and the hand-off of complete requests to the worker
 * pool: the connection is suspended while a worker runs the dispatcher and
 * resumed when the response is ready. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

#define QUEUE_PER_WORKER 16
#define DISCARD_FACTOR 4 /* an oversized chunked body is read this far past the limit, then cut */

const double hsmca_http_latency_bounds_ms[11] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};

/* ---- percent-decoding ---- */

/* Set by the unescaper on this I/O thread while libmicrohttpd parses a
 * request's line and headers, read and cleared by the first access-handler
 * call for that request on the same thread (libmicrohttpd processes one
 * connection at a time per thread). */
static _Thread_local bool tl_bad_escape;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undoes %XX in place. %00 would cut the string short -- a reference could
 * then name something other than what the client sent -- and a malformed
 * escape is ambiguous: both leave the text as is and flag the request. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *r = s, *w = s;

    (void)cls;
    (void)c;
    while (*r != '\0') {
        if (*r == '%') {
            int hi = hexval(r[1]), lo = hi >= 0 ? hexval(r[2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                tl_bad_escape = true;
                return strlen(s);
            }
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* libmicrohttpd hands its own format strings (MHD_OPTION_EXTERNAL_LOGGER). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* libmicrohttpd's own messages: client misbehaviour and TLS handshake
     * failures, mostly; informational for an operator. */
    hsmca_log(HSMCA_LOG_INFO, "http: %s", msg);
}

/* ---- methods ---- */

static bool parse_method(const char *m, hsmca_http_method *out)
{
    static const struct {
        const char *name;
        hsmca_http_method m;
    } t[] = {{"GET", HSMCA_HTTP_GET},       {"HEAD", HSMCA_HTTP_HEAD},     {"POST", HSMCA_HTTP_POST},
             {"PUT", HSMCA_HTTP_PUT},       {"PATCH", HSMCA_HTTP_PATCH},   {"DELETE", HSMCA_HTTP_DELETE},
             {"LIST", HSMCA_HTTP_LIST},     {"OPTIONS", HSMCA_HTTP_OPTIONS}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(m, t[i].name) == 0) {
            *out = t[i].m;
            return true;
        }
    }
    return false;
}

/* The ?list= switch takes what OpenBao takes (Go's strconv.ParseBool):
 * node-vault sends "?list=1" when told not to use the LIST verb, and a
 * value that is no boolean is a 400 there, not a silent GET. */
static bool parse_query_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Framing and header rules libmicrohttpd 0.9.75 lets through (RFC 9112
 * 6.1, 6.3). Two Content-Length headers, or Content-Length beside
 * Transfer-Encoding, frame the body two ways: a proxy in front may pick the
 * other one (request smuggling). Transfer-Encoding must be exactly one
 * "chunked": libmicrohttpd read "chunked" followed by a second
 * "Transfer-Encoding: identity" as chunked (where chunked is not the final
 * coding, RFC 9112 6.1 requires a 400), and held a request with any other
 * coding ("identity", "gzip, chunked") until the idle timeout without an
 * answer. (A NUL inside a header value cannot be seen here: libmicrohttpd
 * 0.9.75 reports the value cut at the NUL.) */
struct header_scan {
    unsigned content_length;
    unsigned transfer_encoding;
    bool te_not_chunked;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_scan *h = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        h->content_length++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        h->transfer_encoding++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            h->te_not_chunked = true;
    }
    return MHD_YES;
}

static const char *header_problem(struct MHD_Connection *c)
{
    struct header_scan h = {0, 0, false};

    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &h);
    if (h.content_length > 1)
        return "more than one Content-Length header";
    if (h.content_length == 1 && h.transfer_encoding > 0)
        return "Content-Length and Transfer-Encoding together";
    if (h.transfer_encoding > 1 || h.te_not_chunked)
        return "Transfer-Encoding must be exactly 'chunked'";
    return NULL;
}

/* ---- statistics ---- */

static double ms_since(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void count(hsmca_http_server *srv, int status, const hsmca_http_req *req)
{
    atomic_fetch_add(&srv->requests, 1);
    if (status >= 500)
        atomic_fetch_add(&srv->s5xx, 1);
    else if (status >= 400)
        atomic_fetch_add(&srv->s4xx, 1);
    else
        atomic_fetch_add(&srv->s2xx, 1);
    if (req != NULL && req->dispatched) {
        double ms = ms_since(&req->dispatched_at);
        size_t b = 0;
        while (b < 11 && ms > hsmca_http_latency_bounds_ms[b])
            b++;
        atomic_fetch_add(&srv->latency_bucket[b], 1);
        atomic_fetch_add(&srv->latency_sum, (uint64_t)(ms * 1000.0));
    }
}

void hsmca_http_server_stats(const hsmca_http_server *srv, hsmca_http_stats *out)
{
    uint64_t cum = 0;

    memset(out, 0, sizeof(*out));
    out->requests = atomic_load(&srv->requests);
    out->status_2xx = atomic_load(&srv->s2xx);
    out->status_4xx = atomic_load(&srv->s4xx);
    out->status_5xx = atomic_load(&srv->s5xx);
    out->rejected_limits = atomic_load(&srv->rejected);
    out->in_flight = atomic_load(&srv->in_flight);
    out->latency_us_sum = atomic_load(&srv->latency_sum);
    for (size_t i = 0; i < 12; i++) {
        cum += atomic_load(&srv->latency_bucket[i]);
        out->latency_bucket[i] = cum;
    }
}

/* ---- answering ---- */

static enum MHD_Result queue(hsmca_http_server *srv, struct MHD_Connection *c, hsmca_http_req *req, int status,
                             struct MHD_Response *r)
{
    enum MHD_Result ok;

    if (r == NULL)
        return MHD_NO; /* out of memory: drop the connection */
    if (req != NULL) {
        if (req->dispatched && !req->answered)
            atomic_fetch_sub(&srv->in_flight, 1);
        req->answered = true;
    }
    ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    count(srv, status, req);
    return ok;
}

/* A refusal decided on the I/O thread, before any handler. */
static enum MHD_Result refuse(hsmca_http_server *srv, struct MHD_Connection *c, hsmca_http_req *req, int status,
                              const char *message)
{
    atomic_fetch_add(&srv->rejected, 1);
    return queue(srv, c, req, status, http_resp_simple_error(status, message, srv->cfg.tls));
}

static void run_job(hsmca_http_req *req)
{
    hsmca_http_server *srv = req->srv;
    struct MHD_Connection *c = req->conn;

    hsmca_err_clear();
    srv->cfg.dispatch(req, &req->resp, srv->cfg.dispatch_arg);
    atomic_store(&req->done, true);
    /* After this the I/O thread may answer and free req at any time. */
    MHD_resume_connection(c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    hsmca_http_server *srv = cls;
    hsmca_http_req *req = *con_cls;

    (void)version;
    if (req == NULL) {
        /* First call: the request line and headers are in. */
        bool bad_escape = tl_bad_escape;
        const char *why = NULL, *cl, *list;
        const union MHD_ConnectionInfo *hi;

        tl_bad_escape = false;
        http_reaper_request(srv->reaper, c, true);
        req = http_req_new(srv, c);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        if (atomic_load(&srv->stopping))
            return refuse(srv, c, req, 503, "server is shutting down");
        if (!parse_method(method, &req->method))
            return refuse(srv, c, req, 405, "unsupported HTTP method");
        hi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if (hi != NULL && hi->header_size > atomic_load(&srv->live_max_header))
            return refuse(srv, c, req, 431, "request headers are larger than the server's limit");
        if (strlen(url) > atomic_load(&srv->live_max_url))
            return refuse(srv, c, req, 414, "request URL is longer than the server's limit");
        if (bad_escape)
            return refuse(srv, c, req, 400, "request URL has a malformed or NUL (%00) percent-escape");
        if ((why = header_problem(c)) != NULL)
            return refuse(srv, c, req, 400, why);
        if (!http_req_set_path(req, url, &why))
            return refuse(srv, c, req, 400, why);
        list = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "list");
        if (req->method == HSMCA_HTTP_GET && list != NULL) {
            bool as_list = false;
            if (!parse_query_bool(list, &as_list))
                return refuse(srv, c, req, 400, "query parameter 'list' is not a boolean (true/false/1/0)");
            if (as_list)
                req->method = HSMCA_HTTP_LIST;
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end = NULL;
            unsigned long long n;
            errno = 0;
            n = strtoull(cl, &end, 10);
            if (errno != 0 || end == cl || *end != '\0')
                return refuse(srv, c, req, 400, "Content-Length is not a number");
            if (n > req->max_body)
                return refuse(srv, c, req, 413, "request body is larger than the server's limit");
        }
        return MHD_YES;
    }

    if (*upload_data_size != 0) {
        if (ms_since(&req->started) > (double)atomic_load(&srv->live_request_timeout_s) * 1e3)
            return MHD_NO; /* too slow: cut, nothing was dispatched */
        http_req_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (req->discarded > DISCARD_FACTOR * req->max_body)
            return MHD_NO;
        return MHD_YES;
    }

    if (req->dispatched) {
        struct MHD_Response *r;
        int status;
        if (!atomic_load(&req->done))
            return MHD_YES; /* not ours yet: resumed for another reason */
        r = http_resp_build(req, &req->resp);
        status = req->resp.status ? req->resp.status : 500;
        return queue(srv, c, req, status, r);
    }
    if (req->body_too_large)
        return refuse(srv, c, req, 413, "request body is larger than the server's limit");

    req->dispatched = true;
    clock_gettime(CLOCK_MONOTONIC, &req->dispatched_at);
    http_reaper_request(srv->reaper, c, true);
    atomic_fetch_add(&srv->in_flight, 1);
    MHD_suspend_connection(c);
    if (!http_pool_submit(srv->pool, req)) {
        hsmca_http_resp_error(&req->resp, 503, "server is busy; try again later");
        atomic_store(&req->done, true);
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    hsmca_http_server *srv = cls;

    hsmca_http_req *req = *con_cls;

    (void)toe;
    /* A client that went away while its request was being handled: the
     * response was never queued. */
    if (req != NULL && req->dispatched && !req->answered)
        atomic_fetch_sub(&srv->in_flight, 1);
    http_req_free(req);
    *con_cls = NULL;
    http_reaper_request(srv->reaper, c, false);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    hsmca_http_server *srv = cls;

    http_reaper_notify(srv->reaper, c, socket_context, code);
}

/* ---- listeners ---- */

static hsmca_rv parse_listen(const char *text, struct sockaddr_storage *ss, bool *loopback)
{
    char host[64];
    const char *colon, *port_text;
    char *end = NULL;
    unsigned long port;
    size_t hl;

    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': expected [IPv6]:port", text);
        hl = (size_t)(close - text - 1);
        if (hl >= sizeof(host))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': host too long", text);
        memcpy(host, text + 1, hl);
        host[hl] = '\0';
        port_text = close + 2;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': expected host:port", text);
        hl = (size_t)(colon - text);
        if (hl >= sizeof(host))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': host too long", text);
        memcpy(host, text, hl);
        host[hl] = '\0';
        port_text = colon + 1;
    }
    errno = 0;
    port = strtoul(port_text, &end, 10);
    if (errno != 0 || end == port_text || *end != '\0' || port > 65535)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': port must be 0..65535", text);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)port);
            *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        } else {
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen address '%s': '%s' is not an IP address", text, host);
        }
    }
    return HSMCA_OK;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 && n < 1024 ? (unsigned)n : 1;
}

/* A socket handed over by socket activation: its address (for the
 * loopback rule and the port) and a name for messages. */
static hsmca_rv describe_fd(int fd, struct sockaddr_storage *ss, bool *loopback, char *name, size_t name_size)
{
    socklen_t len = sizeof(*ss);
    char host[INET6_ADDRSTRLEN] = "?";

    memset(ss, 0, sizeof(*ss));
    if (getsockname(fd, (struct sockaddr *)ss, &len) != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen socket %d: %s", fd, strerror(errno));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        snprintf(name, name_size, "fd %d (%s:%u)", fd, host, (unsigned)ntohs(v4->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        snprintf(name, name_size, "fd %d ([%s]:%u)", fd, host, (unsigned)ntohs(v6->sin6_port));
    } else {
        /* AF_UNIX would work with libmicrohttpd, but client addresses
         * (per-client limits, audit) assume IP. */
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "listen socket %d: only IPv4/IPv6 stream sockets are served", fd);
    }
    return HSMCA_OK;
}

static uint16_t ss_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

/* One listener on ss (bound here), or (fd >= 0) on an inherited socket
 * whose address is ss; addr_text names it in messages. */
static hsmca_rv start_listener(hsmca_http_server *srv, const char *addr_text, const struct sockaddr_storage *ss,
                               bool loopback, int fd)
{
    struct MHD_OptionItem opts[24];
    size_t n = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *di;

    if (!srv->cfg.tls && !loopback && !srv->cfg.allow_plain_remote)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "listen address '%s': plain HTTP is only served on loopback (enable TLS, or force it "
                         "explicitly)",
                         addr_text);
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (srv->cfg.tls)
        flags |= MHD_USE_TLS;
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (void *)(uintptr_t)(p)})
    if (fd >= 0)
        OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
    else
        OPT(MHD_OPTION_SOCK_ADDR, 0, ss);
    OPT(MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.io_threads ? srv->cfg.io_threads : online_cpus(), NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, srv->lim.max_connections, NULL);
    OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->lim.max_per_client, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, srv->lim.idle_timeout_s, NULL);
    /* The hard backstop: headers past four times the limit get
     * libmicrohttpd's own 431; up to it, our JSON refusal. */
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, 4 * srv->lim.max_header + 16384, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv);
    OPT(MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL);
    OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL);
    OPT(MHD_OPTION_LISTEN_BACKLOG_SIZE, 512, NULL);
    OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
    if (srv->cfg.tls) {
        OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, http_tls_priorities);
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert_pem);
        if (srv->cfg.tls_external_key != NULL)
            OPT(MHD_OPTION_HTTPS_CERT_CALLBACK, 0, http_tls_cert_callback());
        else
            OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key_pem);
        if (srv->tls_trust_pem != NULL)
            OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->tls_trust_pem);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (d == NULL)
        return hsmca_err(HSMCA_ERR_IO, "cannot listen on '%s' (address in use, not local, or bad TLS files)",
                         addr_text);
    di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    srv->ports[srv->n_daemons] = di != NULL && di->port != 0 ? di->port : ss_port(ss);
    srv->daemons[srv->n_daemons++] = d;
    return HSMCA_OK;
}

static void set_limits(hsmca_http_limits *l, const hsmca_http_limits *in)
{
    *l = *in;
    if (l->max_body == 0)
        l->max_body = HTTP_DEFAULT_MAX_BODY;
    if (l->max_header == 0)
        l->max_header = HTTP_DEFAULT_MAX_HEADER;
    if (l->max_url == 0)
        l->max_url = HTTP_DEFAULT_MAX_URL;
    if (l->max_connections == 0)
        l->max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    if (l->max_per_client == 0)
        l->max_per_client = HTTP_DEFAULT_MAX_PER_CLIENT;
    if (l->idle_timeout_s == 0)
        l->idle_timeout_s = HTTP_DEFAULT_IDLE_TIMEOUT;
    if (l->request_timeout_s == 0)
        l->request_timeout_s = HTTP_DEFAULT_REQUEST_TIMEOUT;
}

hsmca_rv hsmca_http_server_start(const hsmca_http_config *cfg, hsmca_http_server **out)
{
    hsmca_http_server *srv = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    unsigned workers;

    *out = NULL;
    if (cfg->dispatch == NULL || (cfg->n_listen == 0 && cfg->n_listen_fd == 0) ||
        cfg->n_listen > HTTP_MAX_LISTENERS || cfg->n_listen_fd > HTTP_MAX_LISTENERS)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "http: a dispatcher and 1..%d listen addresses or sockets are required", HTTP_MAX_LISTENERS);
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    srv->cfg = *cfg;
    set_limits(&srv->lim, &cfg->limits);
    atomic_store(&srv->live_max_body, srv->lim.max_body);
    atomic_store(&srv->live_max_header, srv->lim.max_header);
    atomic_store(&srv->live_max_url, srv->lim.max_url);
    atomic_store(&srv->live_request_timeout_s, srv->lim.request_timeout_s);
    if ((rv = http_tls_prepare(srv)) != HSMCA_OK)
        goto done;
    workers = cfg->workers ? cfg->workers : HTTP_DEFAULT_WORKERS;
    if ((rv = http_pool_start(workers, (size_t)workers * QUEUE_PER_WORKER, run_job, &srv->pool)) != HSMCA_OK)
        goto done;
    if ((rv = http_reaper_start(srv->lim.request_timeout_s, &srv->reaper)) != HSMCA_OK)
        goto done;
    /* Inherited sockets replace the configured addresses: the socket unit
     * decides where the service listens. */
    for (size_t i = 0; i < cfg->n_listen_fd; i++) {
        struct sockaddr_storage ss;
        bool loopback = false;
        char name[96];
        if ((rv = describe_fd(cfg->listen_fd[i], &ss, &loopback, name, sizeof(name))) != HSMCA_OK ||
            (rv = start_listener(srv, name, &ss, loopback, cfg->listen_fd[i])) != HSMCA_OK)
            goto done;
    }
    for (size_t i = 0; cfg->n_listen_fd == 0 && i < cfg->n_listen; i++) {
        struct sockaddr_storage ss;
        bool loopback = false;
        if ((rv = parse_listen(cfg->listen[i], &ss, &loopback)) != HSMCA_OK ||
            (rv = start_listener(srv, cfg->listen[i], &ss, loopback, -1)) != HSMCA_OK)
            goto done;
    }
    *out = srv;
    srv = NULL;
    rv = HSMCA_OK;
done:
    hsmca_http_server_stop(srv);
    return rv;
}

void hsmca_http_server_stop(hsmca_http_server *srv)
{
    if (srv == NULL)
        return;
    /* Stop accepting, then let dispatched requests finish: libmicrohttpd
     * must not be stopped with a connection still suspended. */
    atomic_store(&srv->stopping, true);
    for (size_t i = 0; i < srv->n_daemons; i++)
        MHD_quiesce_daemon(srv->daemons[i]);
    for (int waited = 0; waited < 3000 && atomic_load(&srv->in_flight) > 0; waited++)
        usleep(10000);
    http_pool_stop(srv->pool); /* runs what is queued, joins */
    for (size_t i = 0; i < srv->n_daemons; i++)
        MHD_stop_daemon(srv->daemons[i]);
    http_reaper_stop(srv->reaper);
    http_tls_free(srv);
    free(srv);
}

unsigned hsmca_http_server_update_limits(hsmca_http_server *srv, const hsmca_http_limits *in)
{
    hsmca_http_limits l;
    unsigned diff = 0;

    set_limits(&l, in);
    if (l.max_body != atomic_load(&srv->live_max_body))
        diff |= HSMCA_HTTP_LIMIT_MAX_BODY;
    if (l.max_header != atomic_load(&srv->live_max_header))
        diff |= HSMCA_HTTP_LIMIT_MAX_HEADER;
    if (l.max_url != atomic_load(&srv->live_max_url))
        diff |= HSMCA_HTTP_LIMIT_MAX_URL;
    if (l.request_timeout_s != atomic_load(&srv->live_request_timeout_s))
        diff |= HSMCA_HTTP_LIMIT_REQUEST_TIMEOUT;
    if (l.max_connections != srv->lim.max_connections)
        diff |= HSMCA_HTTP_LIMIT_MAX_CONNECTIONS;
    if (l.max_per_client != srv->lim.max_per_client)
        diff |= HSMCA_HTTP_LIMIT_MAX_PER_CLIENT;
    if (l.idle_timeout_s != srv->lim.idle_timeout_s)
        diff |= HSMCA_HTTP_LIMIT_IDLE_TIMEOUT;
    atomic_store(&srv->live_max_body, l.max_body);
    atomic_store(&srv->live_max_header, l.max_header);
    atomic_store(&srv->live_max_url, l.max_url);
    atomic_store(&srv->live_request_timeout_s, l.request_timeout_s);
    http_reaper_set_timeout(srv->reaper, l.request_timeout_s);
    return diff;
}

const char *hsmca_http_limit_name(unsigned bit)
{
    switch (bit) {
    case HSMCA_HTTP_LIMIT_MAX_BODY: return "limits.max_body";
    case HSMCA_HTTP_LIMIT_MAX_HEADER: return "limits.max_header";
    case HSMCA_HTTP_LIMIT_MAX_URL: return "limits.max_url";
    case HSMCA_HTTP_LIMIT_REQUEST_TIMEOUT: return "limits.request_timeout";
    case HSMCA_HTTP_LIMIT_MAX_CONNECTIONS: return "limits.max_connections";
    case HSMCA_HTTP_LIMIT_MAX_PER_CLIENT: return "limits.max_per_client";
    case HSMCA_HTTP_LIMIT_IDLE_TIMEOUT: return "limits.idle_timeout";
    default: return "limits.?";
    }
}

uint16_t hsmca_http_server_port(const hsmca_http_server *srv, size_t listener)
{
    return listener < srv->n_daemons ? srv->ports[listener] : 0;
}
