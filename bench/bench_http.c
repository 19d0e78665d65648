/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-http: the rate of `sign/:role` through a running hsmcad's
 * HTTP API (issue 4, "Benchmark"): N client threads (16 by default), each
 * with one keep-alive HTTP/1.1 connection over loopback, POST pre-made P-256
 * CSRs to a mount with a P-256 root and to one with an RSA-2048 root, both
 * generated in the token, through a role with storage on. Beside each HTTP
 * figure it prints the raw C_Sign rate of the same issuer key, taken by this
 * process on the same token in the same run while the daemon is idle, with
 * the CPU hsmcad and the bench used, latencies and the targets (RSA-2048 at
 * least 0.7 x raw C_Sign; P-256 at least 10,000 certificates/s on 2 cores).
 * With --op issue it posts `issue/:role` instead (issue 9, B6: the daemon
 * makes each leaf key) and checks the returned key against the certificate.
 * Its exit status never depends on speed (CONVENTIONS.md), only on a
 * request that failed or a certificate or signature that does not verify.
 *
 * Everything is set up through the real API (mounts, tune, root generation,
 * role, issuer lookup); the timed path is a minimal HTTP/1.1 client of its
 * own on plain sockets. Run it through bench/run_http.sh, which starts a
 * throwaway `hsmcad -dev`. The token's PIN and the API token come from files
 * (--pin-file, --vault-token-file), never argv or the environment. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench_common.h"
#include "hsmca/pin.h"

#define SECONDS_DEFAULT 10.0 /* 2 issuers x 3 columns x 10 s: about 70 s with setup */
#define ROUNDS_DEFAULT  5
#define N_ISSUERS       2
#define MAX_COUNTS      4  /* client counts per run (--threads) */
#define CLIENTS_DEFAULT 16 /* the issue's "16 concurrent keep-alive clients" */
/* hsmcad admits 64 connections per client address by default
 * (HTTP_DEFAULT_MAX_PER_CLIENT); one more is the control connection. */
#define CLIENTS_MAX  48
#define RAW_WARMUP   8       /* per thread, before the clock: sessions, caches */
#define HTTP_WARMUP  4       /* per client: connection, daemon caches, pool sessions */
#define N_CSRS       1024    /* pre-made CSRs, used in turn */
#define MSG_LEN      1024    /* what the raw side hashes: about a TBSCertificate */
#define RAW_IN_MAX   64      /* DigestInfo(SHA-256) is 51 bytes */
#define TARGET_RSA   0.7     /* RSA-2048 HTTP sign / raw C_Sign (issue 4) */
#define TARGET_P256  10000.0 /* P-256 certificates per second on 2 cores (issue 4) */
#define ROLE         "bench"
#define MOUNT_PREFIX "bench-http-"
#define IO_TIMEOUT_S 30          /* one request; a hung daemon fails the run, never hangs it */
#define HEAD_MAX     (16 * 1024) /* response header block */
#define RESP_MAX     (256 * 1024)
#define URL_MAX      256
#define PATH_MAX_LEN 160
#define ERR_MAX      320

/* The role: names under example.com, any CSR key type, storage on (the
 * certificate is committed before it is returned). */
static const char role_json_sign[] = "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                     "\"key_type\":\"any\",\"no_store\":false}";
/* --op issue (issue 9, B6): the daemon makes a P-256 leaf key per request
 * and returns it once; storage on as for sign. */
static const char role_json_issue[] = "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                      "\"key_type\":\"ec\",\"key_bits\":256,\"no_store\":false}";
/* Set once by main from --op: "sign" (CSR in the body) or "issue". */
static bool op_issue;
static const char *role_json = role_json_sign;
static const char *op_verb = "sign";

/* --issuers names, in the order of main's iss[]. */
static const char *const issuer_slugs[N_ISSUERS] = {"p256", "rsa2048"};

/* ---- latency histogram ---- */

/* Microseconds in buckets of 1/64 of a power of two (1.6 % resolution),
 * exact below 64 us, up to 2^27 us (134 s, beyond any request timeout). */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_LOG  27
#define HIST_BUCKETS  (HIST_SUB + (HIST_MAX_LOG - HIST_SUB_BITS) * HIST_SUB)

typedef struct {
    unsigned long n[HIST_BUCKETS];
    unsigned long count;
    double sum_us;
    double max_us;
} latency_hist;

static unsigned hist_index(uint64_t us)
{
    unsigned e;

    if (us < HIST_SUB)
        return (unsigned)us;
    e = 63u - (unsigned)__builtin_clzll(us); /* >= HIST_SUB_BITS */
    if (e >= HIST_MAX_LOG)
        return HIST_BUCKETS - 1;
    return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
           (unsigned)((us >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The middle of bucket i, in microseconds. */
static double hist_value(unsigned i)
{
    unsigned j, e;
    double width;

    if (i < HIST_SUB)
        return i;
    j = i - HIST_SUB;
    e = j / HIST_SUB + HIST_SUB_BITS;
    width = (double)(1ull << (e - HIST_SUB_BITS));
    return (double)(HIST_SUB + j % HIST_SUB) * width + width / 2;
}

static void hist_add(latency_hist *h, double us)
{
    h->n[hist_index(us > 0 ? (uint64_t)us : 0)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

static void hist_merge(latency_hist *into, const latency_hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->n[i] += from->n[i];
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

/* The q-quantile (0 < q <= 1) in milliseconds; -1 when empty. */
static double hist_quantile_ms(const latency_hist *h, double q)
{
    unsigned long want, seen = 0;

    if (h->count == 0)
        return -1;
    want = (unsigned long)(q * (double)h->count + 0.999999);
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want)
            return hist_value(i) / 1e3;
    }
    return h->max_us / 1e3;
}

/* ---- a minimal HTTP/1.1 client ---- */

/* Where hsmcad listens, and the API token every request carries. */
typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[URL_MAX]; /* Host header: host[:port] as given */
    hsmca_pin *token;   /* X-Vault-Token, from a file; secure heap */
} http_target;

/* One keep-alive connection and its response buffer. */
typedef struct {
    int fd;    /* -1: closed */
    char *buf; /* RESP_MAX + 1 bytes */
    unsigned long opened;
} http_conn;

typedef struct {
    int status;
    const char *body; /* inside the connection's buffer, NUL-terminated; valid until its next request */
    size_t body_len;
} http_resp;

static void conn_init(http_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void conn_close(http_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void conn_free(http_conn *c)
{
    conn_close(c);
    free(c->buf);
    c->buf = NULL;
}

static int conn_open(http_conn *c, const http_target *t, char *err, size_t err_size)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int one = 1;

    conn_close(c);
    if (c->buf == NULL && (c->buf = malloc(RESP_MAX + 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        return 0;
    }
    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return 0;
    }
    /* Small requests answered at once: Nagle would hold the body back
     * waiting for the ACK of the header segment. */
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        snprintf(err, err_size, "connecting to %s: %s", t->host, strerror(errno));
        conn_close(c);
        return 0;
    }
    c->opened++;
    return 1;
}

/* Whether an idle connection is still open: hsmcad closes idle ones after
 * its idle timeout (30 s), which a long raw column can outlast. */
static bool conn_alive(const http_conn *c)
{
    char b;
    ssize_t n;

    if (c->fd < 0)
        return false;
    n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && errno == EAGAIN; /* EWOULDBLOCK is EAGAIN on Linux */
}

static int send_all(int fd, struct iovec *iov, int n)
{
    /* Bounded: every turn sends at least one byte or fails. */
    while (n > 0) {
        struct msghdr mh;
        ssize_t w;
        size_t left;

        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        /* MSG_NOSIGNAL: a daemon that closed the connection is an error
         * to count, not a SIGPIPE that kills the bench. */
        w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 1;
}

/* Parses the header block head[0..len) (ending in CRLF CRLF): the status,
 * the body's length and whether the server will close. Only
 * Content-Length bodies: hsmcad sends every response with its length. */
static int parse_head(const char *head, size_t len, int *status, size_t *body_len, bool *close_after,
                      char *err, size_t err_size)
{
    const char *p = head, *end = head + len;
    bool have_len = false;

    *close_after = false;
    *body_len = 0;
    if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' || head[9] < '1' || head[9] > '5') {
        snprintf(err, err_size, "not an HTTP/1.x status line: '%.40s'", head);
        return 0;
    }
    *status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    /* Bounded: each turn moves past one CRLF-terminated line. */
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2), *colon, *v;
        size_t n;

        if (eol == NULL || eol == p)
            break;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL) {
            n = (size_t)(colon - p);
            v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (n == 14 && strncasecmp(p, "Content-Length", n) == 0) {
                char *stop = NULL;
                unsigned long long cl = strtoull(v, &stop, 10);
                if (stop == v || cl > RESP_MAX) {
                    snprintf(err, err_size, "Content-Length '%.20s' is not a length up to %d", v, RESP_MAX);
                    return 0;
                }
                *body_len = (size_t)cl;
                have_len = true;
            } else if (n == 10 && strncasecmp(p, "Connection", n) == 0) {
                *close_after = (size_t)(eol - v) >= 5 && strncasecmp(v, "close", 5) == 0;
            } else if (n == 17 && strncasecmp(p, "Transfer-Encoding", n) == 0) {
                snprintf(err, err_size, "Transfer-Encoding responses are not supported by this client");
                return 0;
            }
        }
        p = eol + 2;
    }
    /* RFC 9110 6.4.1: these never have a body. */
    if (*status == 204 || *status == 304 || *status < 200)
        return 1;
    if (!have_len) {
        snprintf(err, err_size, "status %d without Content-Length", *status);
        return 0;
    }
    return 1;
}

/* Reads one whole response into the connection's buffer. */
static int read_response(http_conn *c, http_resp *r, char *err, size_t err_size)
{
    size_t have = 0, head_len = 0, total = 0;
    bool have_head = false, close_after = false;

    /* Bounded: every turn adds at least one byte to a buffer of fixed size. */
    while (!have_head || have < total) {
        ssize_t n;

        if (have >= RESP_MAX) {
            snprintf(err, err_size, "response longer than %d bytes", RESP_MAX);
            return 0;
        }
        n = recv(c->fd, c->buf + have, RESP_MAX - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            snprintf(err, err_size, "connection closed by the server after %zu bytes of a response", have);
            return 0;
        }
        if (n < 0) {
            snprintf(err, err_size, "reading the response: %s",
                     errno == EAGAIN ? "no answer within the timeout" : strerror(errno));
            return 0;
        }
        have += (size_t)n;
        if (!have_head) {
            const char *end = memmem(c->buf, have, "\r\n\r\n", 4);
            if (end == NULL) {
                if (have > HEAD_MAX) {
                    snprintf(err, err_size, "response header longer than %d bytes", HEAD_MAX);
                    return 0;
                }
                continue;
            }
            head_len = (size_t)(end - c->buf) + 4;
            if (!parse_head(c->buf, head_len, &r->status, &r->body_len, &close_after, err, err_size))
                return 0;
            total = head_len + r->body_len;
            if (total > RESP_MAX) {
                snprintf(err, err_size, "response longer than %d bytes", RESP_MAX);
                return 0;
            }
            have_head = true;
        }
    }
    if (have != total) {
        /* One request at a time: nothing may follow the response. */
        snprintf(err, err_size, "%zu unexpected bytes after a response", have - total);
        return 0;
    }
    c->buf[total] = '\0';
    r->body = c->buf + head_len;
    if (close_after)
        conn_close(c); /* the body stays in the buffer */
    return 1;
}

/* One request and its response on an open connection. On any I/O or
 * protocol error the connection is closed (the caller reopens it) and 0
 * returned with the reason in err; any status is a 1. */
static int http_request(http_conn *c, const http_target *t, const char *method, const char *path,
                        const char *body, size_t body_len, http_resp *r, char *err, size_t err_size)
{
    char head[URL_MAX + PATH_MAX_LEN + HSMCA_PIN_MAX + 256];
    struct iovec iov[2];
    size_t tok_len = 0;
    const unsigned char *tok = hsmca_pin_data(t->token, &tok_len);
    int n, ok = 0;

    memset(r, 0, sizeof(*r));
    if (c->fd < 0) {
        snprintf(err, err_size, "connection is closed");
        return 0;
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: %s\r\nX-Vault-Token: %.*s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 method, path, t->host, (int)tok_len, (const char *)tok, body_len);
    if (n <= 0 || (size_t)n >= sizeof(head)) {
        snprintf(err, err_size, "request header for %s is too long", path);
        goto done;
    }
    iov[0].iov_base = head;
    iov[0].iov_len = (size_t)n;
    iov[1].iov_base = (void *)(uintptr_t)body;
    iov[1].iov_len = body_len;
    if (!send_all(c->fd, iov, body_len ? 2 : 1)) {
        snprintf(err, err_size, "sending %s %s: %s", method, path, strerror(errno));
        goto done;
    }
    ok = read_response(c, r, err, err_size);
done:
    /* The header held the API token. */
    OPENSSL_cleanse(head, sizeof(head));
    if (!ok)
        conn_close(c);
    return ok;
}

/* Parses --addr: http://HOST[:PORT][/], HOST a name or an IPv4/[IPv6]
 * literal. */
static int target_resolve(http_target *t, const char *url)
{
    const char *p;
    char host[URL_MAX], port[16] = "80";
    struct addrinfo hints, *res = NULL;
    size_t n;
    int rc;

    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "hsmca-bench-http: --addr '%s' must start with http:// (plain HTTP on loopback)\n",
                url);
        return 0;
    }
    p = url + 7;
    n = strcspn(p, "/");
    if (n == 0 || n >= sizeof(t->host) || (p[n] == '/' && p[n + 1] != '\0')) {
        fprintf(stderr, "hsmca-bench-http: --addr '%s' must be http://HOST[:PORT]\n", url);
        return 0;
    }
    memcpy(t->host, p, n);
    t->host[n] = '\0';
    if (t->host[0] == '[') {
        const char *close_b = strchr(t->host, ']');
        if (close_b == NULL) {
            fprintf(stderr, "hsmca-bench-http: --addr '%s': unclosed '['\n", url);
            return 0;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(close_b - t->host - 1), t->host + 1);
        if (close_b[1] == ':')
            snprintf(port, sizeof(port), "%s", close_b + 2);
    } else {
        const char *colon = strrchr(t->host, ':');
        snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - t->host) : (int)n, t->host);
        if (colon != NULL)
            snprintf(port, sizeof(port), "%s", colon + 1);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(t->addr)) {
        fprintf(stderr, "hsmca-bench-http: --addr '%s': %s\n", url, rc ? gai_strerror(rc) : "no address");
        if (res != NULL)
            freeaddrinfo(res);
        return 0;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 1;
}

/* ---- the CSRs, made before any clock runs ---- */

typedef struct {
    char *body; /* the request body: {"csr": PEM, "common_name": ...}; malloc'd */
    size_t body_len;
} csr_entry;

typedef struct {
    csr_entry *v;
    size_t n;
    atomic_size_t next; /* shared by every client: each request takes the next CSR */
} csr_pool;

/* The JSON body of sign/:role for a CSR of host<n>.example.com with a fresh
 * software P-256 key. The key is discarded at once. */
static char *csr_body_make(unsigned n, size_t *len)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, BENCH_PROPQ_SOFT, "EC", "P-256");
    X509_REQ *req = X509_REQ_new_ex(NULL, BENCH_PROPQ_SOFT);
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    json_t *obj = NULL;
    char cn[40], *pem = NULL, *body = NULL;
    long pem_len;

    snprintf(cn, sizeof(cn), "host%u.example.com", n);
    if (op_issue) {
        /* issue/:role: only the name; the daemon makes the key. */
        obj = json_pack("{s:s}", "common_name", cn);
        goto dump;
    }
    if (key == NULL || req == NULL || name == NULL || bio == NULL ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
        !PEM_write_bio_X509_REQ(bio, req))
        goto done;
    pem_len = BIO_get_mem_data(bio, &pem);
    if (pem_len <= 0)
        goto done;
    obj = json_pack("{s:s%,s:s}", "csr", pem, (size_t)pem_len, "common_name", cn);
dump:
    if (obj == NULL)
        goto done;
    body = json_dumps(obj, JSON_COMPACT);
    if (body != NULL)
        *len = strlen(body);
done:
    ERR_clear_error();
    json_decref(obj);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return body;
}

static int csr_pool_make(csr_pool *p, size_t n)
{
    p->v = calloc(n, sizeof(*p->v));
    p->n = 0;
    atomic_init(&p->next, 0);
    if (p->v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        p->v[i].body = csr_body_make((unsigned)i + 1, &p->v[i].body_len);
        if (p->v[i].body == NULL) {
            fprintf(stderr, "hsmca-bench-http: cannot make CSR %zu\n", i + 1);
            return 0;
        }
        p->n++;
    }
    return 1;
}

static void csr_pool_free(csr_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].body);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* ---- the issuers and their columns ---- */

/* Figures of one column (one kind at one thread count), summed over the
 * rounds. */
typedef struct {
    bench_tally tally;      /* this process; ops = successful operations */
    double daemon_cpu;      /* hsmcad CPU seconds over the same slices; < 0: unknown */
    latency_hist hist;      /* HTTP columns: successful requests */
    unsigned long failed;   /* HTTP columns: requests that failed */
    unsigned long reopened; /* HTTP columns: connections opened again while timed */
    double rate;            /* per second; < 0 when not measured */
} column;

typedef struct {
    const char *name;     /* "P-256" */
    const char *slug;     /* "p256" */
    const char *key_type; /* root/generate's key_type */
    unsigned key_bits;
    hsmca_key_type type;
    bool selected;
    char mount[48];
    bool mounted;
    char sign_path[PATH_MAX_LEN]; /* /v1/<mount>/sign/<role> */
    char key_id[40];              /* the root's key: its CKA_ID in the token */
    X509 *cert;                   /* the root certificate, from issuer/default */
    EVP_PKEY *pub;                /* its public key in OpenSSL's default provider */
    CK_OBJECT_HANDLE handle;      /* raw: private key looked up once by CKA_ID */
    unsigned char digest[32];
    unsigned char raw_in[RAW_IN_MAX];
    size_t raw_in_len;
    column raw[MAX_COUNTS + 1]; /* per raw thread count (1 and the client counts) */
    column http[MAX_COUNTS];    /* per client count */
} bench_issuer;

typedef struct {
    bench_opts common;
    const char *addr;
    const char *token_file; /* the API token's file: never argv */
    long daemon_pid;        /* 0: not given, no hsmcad CPU figures */
    const char *issuers;
    unsigned selected;
    unsigned counts[MAX_COUNTS]; /* client counts, ascending */
    unsigned n_counts;
    unsigned raw_counts[MAX_COUNTS + 1]; /* 1 and the client counts, ascending */
    unsigned n_raw;
} http_opts;

/* One client thread: its connection, where it posts, what it got. */
typedef struct {
    http_conn conn;
    const http_target *target;
    const char *path;
    csr_pool *pool;
    unsigned long ok;              /* successful requests since the clock started */
    unsigned long failed;          /* failed requests, warm-up included */
    unsigned long opened_at_start; /* conn.opened when the clock started */
    latency_hist hist;             /* since the clock started */
    char *last;                    /* the last successful response body; malloc'd */
    size_t last_cap;
    char error[ERR_MAX]; /* the first failure of the slice */
} http_client;

typedef struct {
    http_target target;
    http_conn ctrl; /* setup, checks and teardown */
    bench_p11 *raw;
    csr_pool *pool;
    long daemon_pid;
} bench_env;

/* ---- setup and checks through the API ---- */

/* A control request whose status must be one of want[0..1] (0: unused).
 * On success *r is the response. */
static int api(bench_env *env, const char *method, const char *path, const char *body, int want1, int want2,
               http_resp *r)
{
    char err[ERR_MAX];

    if (!conn_alive(&env->ctrl) && !conn_open(&env->ctrl, &env->target, err, sizeof(err))) {
        fprintf(stderr, "hsmca-bench-http: %s\n", err);
        return 0;
    }
    if (!http_request(&env->ctrl, &env->target, method, path, body, body ? strlen(body) : 0, r, err,
                      sizeof(err))) {
        fprintf(stderr, "hsmca-bench-http: %s %s: %s\n", method, path, err);
        return 0;
    }
    if (r->status != want1 && r->status != want2) {
        fprintf(stderr, "hsmca-bench-http: %s %s: status %d (expected %d): %.400s\n", method, path, r->status,
                want1, r->body);
        return 0;
    }
    return 1;
}

/* data.<field> of a JSON response as a malloc'd string, or NULL. */
static char *json_data_string(const char *body, size_t len, const char *field)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    const char *s = json_string_value(json_object_get(json_object_get(root, "data"), field));
    char *out = s ? strdup(s) : NULL;

    json_decref(root);
    return out;
}

/* A PEM certificate decoded into OpenSSL's default provider: nothing of
 * hsmca takes part in the checks. */
static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = X509_new_ex(NULL, BENCH_PROPQ_SOFT);

    if (b == NULL || x == NULL || PEM_read_bio_X509(b, &x, NULL, NULL) == NULL) {
        X509_free(x);
        x = NULL;
    }
    BIO_free(b);
    ERR_clear_error();
    return x;
}

/* A mount with a root generated in the token, the role, and what the raw
 * side needs to sign with the root's own key. */
static int setup_issuer(bench_env *env, bench_issuer *is, const unsigned char *msg)
{
    unsigned char rnd[3], *spki = NULL;
    const unsigned char *q;
    char path[PATH_MAX_LEN], body[256], *pem = NULL;
    http_resp r;
    int len, ok = 0;

    /* A random suffix: the bench can run against a daemon that outlives it. */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        goto done;
    snprintf(is->mount, sizeof(is->mount), MOUNT_PREFIX "%s-%02x%02x%02x", is->slug, rnd[0], rnd[1], rnd[2]);
    snprintf(path, sizeof(path), "/v1/sys/mounts/%s", is->mount);
    if (!api(env, "POST", path, "{\"type\":\"pki\"}", 204, 200, &r))
        goto done;
    is->mounted = true; /* from here on, cleanup disables it */
    snprintf(path, sizeof(path), "/v1/sys/mounts/%s/tune", is->mount);
    if (!api(env, "POST", path, "{\"max_lease_ttl\":\"87600h\"}", 204, 200, &r))
        goto done;
    snprintf(path, sizeof(path), "/v1/%s/root/generate/internal", is->mount);
    snprintf(body, sizeof(body),
             "{\"common_name\":\"hsmca bench-http %s root\",\"key_type\":\"%s\",\"key_bits\":%u,"
             "\"ttl\":\"87600h\",\"issuer_name\":\"root\"}",
             is->name, is->key_type, is->key_bits);
    if (!api(env, "POST", path, body, 200, 0, &r))
        goto done;
    snprintf(path, sizeof(path), "/v1/%s/roles/%s", is->mount, ROLE);
    if (!api(env, "POST", path, role_json, 200, 204, &r))
        goto done;
    /* The root's key as the API names it: the token object with that CKA_ID
     * is what the raw side signs with. */
    snprintf(path, sizeof(path), "/v1/%s/issuer/default", is->mount);
    if (!api(env, "GET", path, NULL, 200, 0, &r))
        goto done;
    {
        char *key_id = json_data_string(r.body, r.body_len, "key_id");
        pem = json_data_string(r.body, r.body_len, "certificate");
        if (key_id == NULL || strlen(key_id) >= sizeof(is->key_id) || pem == NULL) {
            fprintf(stderr, "hsmca-bench-http: %s: no key_id or certificate: %.300s\n", path, r.body);
            free(key_id);
            goto done;
        }
        snprintf(is->key_id, sizeof(is->key_id), "%s", key_id);
        free(key_id);
    }
    if ((is->cert = pem_cert(pem)) == NULL) {
        fprintf(stderr, "hsmca-bench-http: %s: the certificate does not decode\n", path);
        goto done;
    }
    len = i2d_PUBKEY(X509_get0_pubkey(is->cert), &spki);
    q = spki;
    if (len <= 0 || (is->pub = d2i_PUBKEY_ex(NULL, &q, len, NULL, BENCH_PROPQ_SOFT)) == NULL) {
        fprintf(stderr, "hsmca-bench-http: cannot decode the %s root's public key\n", is->name);
        goto done;
    }
    if (EVP_Digest(msg, MSG_LEN, is->digest, NULL, EVP_sha256(), NULL) != 1)
        goto done;
    is->raw_in_len = sizeof(is->raw_in);
    if (!bench_raw_input(is->type, is->digest, msg, MSG_LEN, is->raw_in, &is->raw_in_len) ||
        !bench_p11_find_key(env->raw, is->key_id, &is->handle))
        goto done;
    snprintf(is->sign_path, sizeof(is->sign_path), "/v1/%s/%s/%s", is->mount, op_verb, ROLE);
    fprintf(stderr, "  %s root: key %s in the token, mount %s\n", is->name, is->key_id, is->mount);
    ok = 1;
done:
    ERR_clear_error();
    OPENSSL_free(spki);
    free(pem);
    return ok;
}

/* Disabling the mount destroys its root key in the token: the daemon is
 * left as found. */
static void teardown_issuer(bench_env *env, bench_issuer *is)
{
    char path[PATH_MAX_LEN];
    http_resp r;

    if (!is->mounted)
        return;
    snprintf(path, sizeof(path), "/v1/sys/mounts/%s", is->mount);
    if (!api(env, "DELETE", path, NULL, 204, 200, &r))
        fprintf(stderr, "hsmca-bench-http: could not disable mount %s\n", is->mount);
    is->mounted = false;
}

/* The certificate of a sign/:role response: signed by the issuer key
 * (verified in OpenSSL's default provider) and naming the issuer. *serial:
 * data.serial_number, malloc'd. */
static X509 *response_cert(const bench_issuer *is, const char *body, size_t len, char **serial)
{
    char *pem = json_data_string(body, len, "certificate");
    X509 *x = pem ? pem_cert(pem) : NULL;

    *serial = json_data_string(body, len, "serial_number");
    if (x != NULL && (X509_verify(x, is->pub) != 1 ||
                      X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(is->cert)) != 0)) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    free(pem);
    return x;
}

/* issue/:role returns the leaf's private key once: it must be the key of
 * the certificate (checked in OpenSSL's default provider). */
static bool issued_key_matches(const char *body, size_t len, X509 *cert)
{
    char *pem = json_data_string(body, len, "private_key");
    BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, NULL, BENCH_PROPQ_SOFT) : NULL;
    bool ok = key != NULL && X509_check_private_key(cert, key) == 1;

    ERR_clear_error();
    EVP_PKEY_free(key);
    BIO_free(b);
    if (pem != NULL)
        OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
    return ok;
}

/* Storage on means stored: cert/<serial> returns the certificate that
 * sign returned. */
static bool stored_as_returned(bench_env *env, const bench_issuer *is, X509 *cert, const char *serial)
{
    char path[PATH_MAX_LEN], *pem = NULL;
    http_resp r;
    X509 *back = NULL;
    bool ok = false;

    snprintf(path, sizeof(path), "/v1/%s/cert/%s", is->mount, serial);
    if (!api(env, "GET", path, NULL, 200, 0, &r))
        goto done;
    pem = json_data_string(r.body, r.body_len, "certificate");
    back = pem ? pem_cert(pem) : NULL;
    ok = back != NULL && X509_cmp(back, cert) == 0;
done:
    if (!ok)
        fprintf(stderr, "hsmca-bench-http: %s: certificate %s is not in the store as returned\n", is->name,
                serial);
    X509_free(back);
    free(pem);
    return ok;
}

/* ---- one request ---- */

static void note_failure(http_client *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_failure(http_client *w, const char *fmt, ...)
{
    va_list ap;

    w->failed++;
    if (w->error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof(w->error), fmt, ap);
    va_end(ap);
}

/* POST one CSR to sign/:role; a failed request is counted, not fatal,
 * unless the daemon can no longer be reached. */
static bool sign_op(void *ctx)
{
    http_client *w = ctx;
    const csr_entry *c =
        &w->pool->v[atomic_fetch_add_explicit(&w->pool->next, 1, memory_order_relaxed) % w->pool->n];
    char err[ERR_MAX];
    http_resp r;
    double t0, t1;

    if (w->conn.fd < 0 && !conn_open(&w->conn, w->target, err, sizeof(err))) {
        note_failure(w, "%s", err);
        return false;
    }
    t0 = bench_now();
    if (!http_request(&w->conn, w->target, "POST", w->path, c->body, c->body_len, &r, err, sizeof(err))) {
        note_failure(w, "%s", err);
        return true;
    }
    t1 = bench_now();
    if (r.status != 200) {
        note_failure(w, "status %d: %.200s", r.status, r.body);
        return true;
    }
    if (strstr(r.body, "\"certificate\"") == NULL) {
        note_failure(w, "status 200 without \"certificate\": %.200s", r.body);
        return true;
    }
    w->ok++;
    hist_add(&w->hist, (t1 - t0) * 1e6);
    /* Kept for the checks after the slice; a copy costs about a
     * microsecond against the milliseconds of a request. */
    if (r.body_len + 1 > w->last_cap) {
        char *p = realloc(w->last, r.body_len + 1);
        if (p == NULL) {
            note_failure(w, "out of memory");
            return false;
        }
        w->last = p;
        w->last_cap = r.body_len + 1;
    }
    memcpy(w->last, r.body, r.body_len + 1);
    return true;
}

/* ---- one timed slice ---- */

/* The clock's start and end (bench_job.mark, on the main thread while no
 * client runs): hsmcad's CPU time, and the clients' counters restarted so
 * that warm-up requests stay out of the figures. */
typedef struct {
    long pid;
    double d0, d1;
    http_client *clients;
    unsigned n;
} slice_marks;

static void mark_slice(void *arg, bool end)
{
    slice_marks *m = arg;

    if (end) {
        m->d1 = bench_proc_cpu_s(m->pid);
        return;
    }
    m->d0 = bench_proc_cpu_s(m->pid);
    for (unsigned i = 0; i < m->n; i++) {
        http_client *w = &m->clients[i];
        w->ok = 0;
        w->opened_at_start = w->conn.opened;
        memset(&w->hist, 0, sizeof(w->hist));
    }
}

static void column_add(column *col, const bench_tally *slice, const slice_marks *m)
{
    double d = m->d0 >= 0 && m->d1 >= 0 ? m->d1 - m->d0 : -1;

    if (col->tally.wall == 0)
        col->daemon_cpu = 0;
    bench_tally_add(&col->tally, slice);
    if (d < 0 || col->daemon_cpu < 0)
        col->daemon_cpu = -1;
    else
        col->daemon_cpu += d;
}

static void print_slice(const char *what, unsigned nthreads, const bench_tally *t, const slice_marks *m)
{
    fprintf(stderr, "    %-10s %2u thr %7lu in %.3f s = %8.1f /s, CPU bench %.2f", what, nthreads, t->ops,
            t->wall, bench_tally_rate(t), t->cpu / t->wall);
    if (m->d0 >= 0 && m->d1 >= 0)
        fprintf(stderr, ", hsmcad %.2f", (m->d1 - m->d0) / t->wall);
    fprintf(stderr, ", others %.2f", t->others / t->wall);
}

/* Raw C_Sign with the issuer's key, one session per thread, while hsmcad
 * is idle (every request of the previous slice has been answered). */
static int measure_raw(bench_env *env, bench_issuer *is, unsigned ri, unsigned nthreads, double seconds)
{
    static bench_raw_signer raws[BENCH_THREADS_MAX]; /* one measurement at a time; off the stack */
    void *ctx[BENCH_THREADS_MAX];
    slice_marks marks;
    bench_job job;
    bench_tally slice;
    unsigned opened = 0;
    int ok = 1;

    memset(&job, 0, sizeof(job));
    memset(&marks, 0, sizeof(marks));
    marks.pid = env->daemon_pid;
    job.nthreads = nthreads;
    job.ctx = ctx;
    job.seconds = seconds;
    job.op = bench_raw_sign_op;
    job.warmup = RAW_WARMUP;
    job.mark = mark_slice;
    job.mark_arg = &marks;
    for (unsigned i = 0; i < nthreads; i++) {
        if (!bench_raw_signer_open(&raws[i], env->raw, bench_raw_mechanism(is->type), is->handle, is->raw_in,
                                   is->raw_in_len)) {
            ok = 0;
            break;
        }
        opened++;
        ctx[i] = &raws[i];
    }
    if (ok && !bench_measure(&job, &slice, NULL))
        ok = 0;
    for (unsigned i = 0; i < opened; i++) {
        if (raws[i].error[0] != '\0') {
            fprintf(stderr, "hsmca-bench-http: %s, raw thread %u: %s\n", is->name, i + 1, raws[i].error);
            ok = 0;
        } else if (ok &&
                   !bench_raw_signature_ok(is->pub, is->type, is->digest, raws[i].sig, raws[i].siglen)) {
            fprintf(stderr, "hsmca-bench-http: %s, raw thread %u: the last signature does not verify\n",
                    is->name, i + 1);
            ok = 0;
        }
        bench_raw_signer_close(&raws[i]);
    }
    if (!ok)
        return 0;
    column_add(&is->raw[ri], &slice, &marks);
    print_slice("raw C_Sign", nthreads, &slice, &marks);
    fprintf(stderr, "\n");
    return 1;
}

/* N clients POST sign/:role, each on its own keep-alive connection. Then
 * every client's last certificate is verified, and the first client's is
 * read back from the store. */
static int measure_http(bench_env *env, bench_issuer *is, unsigned ci, unsigned nthreads, double seconds,
                        http_client *clients)
{
    void *ctx[BENCH_THREADS_MAX];
    slice_marks marks;
    bench_job job;
    bench_tally slice;
    column *col = &is->http[ci];
    unsigned long failed = 0, reopened = 0;
    char err[ERR_MAX];
    int ok = 1;

    memset(&job, 0, sizeof(job));
    memset(&marks, 0, sizeof(marks));
    marks.pid = env->daemon_pid;
    marks.clients = clients;
    marks.n = nthreads;
    job.nthreads = nthreads;
    job.ctx = ctx;
    job.seconds = seconds;
    job.op = sign_op;
    job.warmup = HTTP_WARMUP;
    job.mark = mark_slice;
    job.mark_arg = &marks;
    for (unsigned i = 0; i < nthreads; i++) {
        http_client *w = &clients[i];
        /* Not timed: a connection hsmcad closed while idle is opened again
         * here, so that the clock sees only keep-alive requests. */
        if (!conn_alive(&w->conn) && !conn_open(&w->conn, &env->target, err, sizeof(err))) {
            fprintf(stderr, "hsmca-bench-http: client %u: %s\n", i + 1, err);
            return 0;
        }
        w->target = &env->target;
        w->path = is->sign_path;
        w->pool = env->pool;
        w->error[0] = '\0';
        w->failed = 0;
        if (w->last != NULL)
            w->last[0] = '\0';
        ctx[i] = w;
    }
    if (!bench_measure(&job, &slice, NULL))
        ok = 0; /* a client could not reach the daemon: its error says why */
    slice.ops = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        http_client *w = &clients[i];
        char *serial = NULL;
        X509 *x = NULL;

        slice.ops += w->ok;
        failed += w->failed;
        reopened += w->conn.opened - w->opened_at_start;
        hist_merge(&col->hist, &w->hist);
        if (w->error[0] != '\0')
            fprintf(stderr, "hsmca-bench-http: %s, client %u: %lu failed requests; first: %s\n", is->name,
                    i + 1, w->failed, w->error);
        if (w->last == NULL || w->last[0] == '\0')
            continue; /* no success to check: its failures are counted */
        x = response_cert(is, w->last, strlen(w->last), &serial);
        if (x == NULL) {
            fprintf(stderr,
                    "hsmca-bench-http: %s, client %u: the last certificate does not verify with the "
                    "issuer key: %.300s\n",
                    is->name, i + 1, w->last);
            ok = 0;
        } else if (op_issue && !issued_key_matches(w->last, strlen(w->last), x)) {
            fprintf(stderr,
                    "hsmca-bench-http: %s, client %u: issue returned a private_key that is not the "
                    "certificate's key\n",
                    is->name, i + 1);
            ok = 0;
        } else if (i == 0 && (serial == NULL || !stored_as_returned(env, is, x, serial))) {
            ok = 0;
        }
        X509_free(x);
        free(serial);
    }
    column_add(col, &slice, &marks);
    col->failed += failed;
    col->reopened += reopened;
    print_slice("HTTP sign", nthreads, &slice, &marks);
    fprintf(stderr, ", p50 %.1f ms, failed %lu%s\n", hist_quantile_ms(&col->hist, 0.5), failed,
            failed ? "  <-- FAILURES" : "");
    return ok;
}

/* Every column of one issuer gets `seconds` in all, cut into `rounds`
 * slices taken in turn (raw at each thread count, then HTTP at each client
 * count, then again), so that load drifting on the shared machine and the
 * growing database weigh on every column alike. */
static int run_issuer(bench_env *env, bench_issuer *is, const http_opts *o, http_client *clients)
{
    double slice = o->common.seconds / o->common.rounds;

    for (unsigned round = 0; round < o->common.rounds; round++) {
        fprintf(stderr, "  %s, round %u of %u:\n", is->name, round + 1, o->common.rounds);
        for (unsigned ri = 0; ri < o->n_raw; ri++) {
            if (!measure_raw(env, is, ri, o->raw_counts[ri], slice))
                return 0;
        }
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            if (!measure_http(env, is, ci, o->counts[ci], slice, clients))
                return 0;
        }
    }
    for (unsigned ri = 0; ri < o->n_raw; ri++)
        is->raw[ri].rate = bench_tally_rate(&is->raw[ri].tally);
    for (unsigned ci = 0; ci < o->n_counts; ci++)
        is->http[ci].rate = bench_tally_rate(&is->http[ci].tally);
    return 1;
}

/* ---- results ---- */

static void fmt_num(char *out, size_t size, double v, int decimals)
{
    if (v < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.*f", decimals, v);
}

static double ratio(double num, double den)
{
    return num >= 0 && den > 0 ? num / den : -1;
}

/* Index of n among the raw thread counts. */
static unsigned raw_index(const http_opts *o, unsigned n)
{
    for (unsigned i = 0; i < o->n_raw; i++) {
        if (o->raw_counts[i] == n)
            return i;
    }
    return 0;
}

/* The rest of the machine during an HTTP column: /proc/stat's busy time
 * minus this process minus hsmcad, which is the load, not a disturbance. */
static bench_tally http_others(const column *col)
{
    bench_tally t = col->tally;

    if (col->daemon_cpu > 0)
        t.others = t.others > col->daemon_cpu ? t.others - col->daemon_cpu : 0;
    return t;
}

static bool raw_disturbed(const column *col, unsigned nthreads)
{
    /* hsmcad is counted among "others" here: it must be idle. */
    return bench_disturbed(&col->tally, nthreads, true);
}

static bool http_disturbed(const column *col, unsigned nthreads)
{
    bench_tally t = http_others(col);

    /* Clients wait on the daemon: never judged by their own CPU use. */
    return bench_disturbed(&t, nthreads, false);
}

/* "0.42 NOT met" etc. for one row's target. */
static void fmt_target(char *out, size_t size, const bench_issuer *is, double http_rate, double raw_rate)
{
    if (http_rate < 0) {
        snprintf(out, size, "-");
    } else if (is->type == HSMCA_KEY_RSA) {
        double r = ratio(http_rate, raw_rate);
        snprintf(out, size, "%.2f x raw %s (>= %.2f)", r, r >= TARGET_RSA ? "met" : "NOT met", TARGET_RSA);
    } else {
        snprintf(out, size, "%.0f/s %s (>= %.0f/s)", http_rate, http_rate >= TARGET_P256 ? "met" : "NOT met",
                 TARGET_P256);
    }
}

static void print_tables(const bench_issuer *iss, const http_opts *o, double elapsed)
{
    bool any_disturbed = false;
    unsigned long failed = 0;

    printf(
        "Per second (higher is better). raw = C_SignInit+C_Sign by this process on the daemon's token with "
        "the issuer's own key (handle found by CKA_ID, one session per thread), hsmcad idle; HTTP = POST "
        "/v1/<mount>/%s/%s (%s, storage on), one keep-alive connection per client, counting "
        "only 200 responses with a certificate. HTTP / raw compares with the raw rate at as many sessions "
        "as clients. Latency: from sending a request to its last response byte.\n\n",
        op_verb, ROLE, op_issue ? "a P-256 leaf key made by the daemon" : "a P-256 CSR");
    printf("| issuer | clients | raw C_Sign, 1 session | raw C_Sign, N sessions | HTTP %s | HTTP / raw N | "
           "p50 ms | p99 ms | target |\n",
           op_verb);
    printf("|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        const bench_issuer *is = &iss[i];
        if (!is->selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            unsigned n = o->counts[ci], rn = raw_index(o, n);
            const column *r1 = &is->raw[0], *rN = &is->raw[rn], *h = &is->http[ci];
            char c1[32], cN[32], ch[32], rat[16], p50[16], p99[16], tgt[64];
            bool d1 = raw_disturbed(r1, 1), dN = raw_disturbed(rN, n), dh = http_disturbed(h, n);

            any_disturbed = any_disturbed || d1 || dN || dh;
            bench_fmt_rate(c1, sizeof(c1), r1->rate, d1);
            bench_fmt_rate(cN, sizeof(cN), rN->rate, dN);
            bench_fmt_rate(ch, sizeof(ch), h->rate, dh);
            fmt_num(rat, sizeof(rat), ratio(h->rate, rN->rate), 2);
            fmt_num(p50, sizeof(p50), hist_quantile_ms(&h->hist, 0.50), 2);
            fmt_num(p99, sizeof(p99), hist_quantile_ms(&h->hist, 0.99), 2);
            fmt_target(tgt, sizeof(tgt), is, h->rate, rN->rate);
            printf("| %s | %u | %s | %s | %s | %s | %s | %s | %s |\n", is->name, n, c1, cN, ch, rat, p50, p99,
                   tgt);
        }
    }

    printf(
        "\nCPU: CPUs kept busy on average (CPU seconds / wall seconds) by the bench process, by hsmcad (from "
        "/proc/<pid>/stat) and by the rest of the machine (/proc/stat minus both; above %.2f: disturbed, "
        "marked *), and CPU milliseconds per certificate. nproc %ld.\n\n",
        BENCH_OTHERS_MAX, sysconf(_SC_NPROCESSORS_ONLN));
    printf(
        "| issuer | clients | raw 1: bench / hsmcad / rest | raw N: bench / hsmcad / rest | HTTP: hsmcad / "
        "bench / rest | hsmcad ms CPU per cert | bench ms CPU per cert |\n");
    printf("|---|--:|---|---|---|--:|--:|\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        const bench_issuer *is = &iss[i];
        if (!is->selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            unsigned n = o->counts[ci];
            const column *cols[2] = {&is->raw[0], &is->raw[raw_index(o, n)]};
            const column *h = &is->http[ci];
            bench_tally ht = http_others(h);
            char d[16], per_d[16], per_b[16];

            printf("| %s | %u", is->name, n);
            for (int k = 0; k < 2; k++) {
                const bench_tally *t = &cols[k]->tally;
                fmt_num(d, sizeof(d), cols[k]->daemon_cpu >= 0 ? cols[k]->daemon_cpu / t->wall : -1, 2);
                printf(" | %.2f / %s / %.2f", t->cpu / t->wall, d, t->others / t->wall);
            }
            fmt_num(d, sizeof(d), h->daemon_cpu >= 0 ? h->daemon_cpu / ht.wall : -1, 2);
            fmt_num(per_d, sizeof(per_d),
                    h->daemon_cpu >= 0 && ht.ops ? 1e3 * h->daemon_cpu / (double)ht.ops : -1, 3);
            fmt_num(per_b, sizeof(per_b), ht.ops ? 1e3 * ht.cpu / (double)ht.ops : -1, 3);
            printf(" | %s / %.2f / %.2f | %s | %s |\n", d, ht.cpu / ht.wall, ht.others / ht.wall, per_d,
                   per_b);
        }
    }

    printf(
        "\nRequests (all rounds): latency of successful requests, failures, and connections the clients had "
        "to open again while timed (0: every request used its client's one keep-alive connection).\n\n");
    printf(
        "| issuer | clients | certificates | mean ms | p50 ms | p90 ms | p95 ms | p99 ms | max ms | failed | "
        "reconnects |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        const bench_issuer *is = &iss[i];
        if (!is->selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            const column *h = &is->http[ci];
            const latency_hist *lh = &h->hist;

            failed += h->failed;
            printf("| %s | %u | %lu | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %lu%s | %lu |\n", is->name,
                   o->counts[ci], h->tally.ops, lh->count ? lh->sum_us / 1e3 / (double)lh->count : 0.0,
                   hist_quantile_ms(lh, 0.5), hist_quantile_ms(lh, 0.9), hist_quantile_ms(lh, 0.95),
                   hist_quantile_ms(lh, 0.99), lh->max_us / 1e3, h->failed, h->failed ? " FAILED" : "",
                   h->reopened);
        }
    }
    printf("\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        const bench_issuer *is = &iss[i];
        char met[64] = "", missed[64] = "";
        if (!is->selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            double v = is->type == HSMCA_KEY_RSA
                           ? ratio(is->http[ci].rate, is->raw[raw_index(o, o->counts[ci])].rate)
                           : is->http[ci].rate;
            bool hit = is->type == HSMCA_KEY_RSA ? v >= TARGET_RSA : v >= TARGET_P256;
            char *list = hit ? met : missed;
            size_t len = strlen(list);
            if (v >= 0)
                snprintf(list + len, sizeof(met) - len, "%s%u", len ? ", " : "", o->counts[ci]);
        }
        if (is->type == HSMCA_KEY_RSA)
            printf("- %s, HTTP sign >= %.2f x raw C_Sign (same concurrency): ", is->name, TARGET_RSA);
        else
            printf("- %s, HTTP sign >= %.0f certificates/s (on %ld CPUs shared by hsmcad, the token and the "
                   "clients): ",
                   is->name, TARGET_P256, sysconf(_SC_NPROCESSORS_ONLN));
        printf("%s%s%s%s%s\n", met[0] ? "met with clients " : "", met, met[0] && missed[0] ? "; " : "",
               missed[0] ? "NOT met with clients " : "", missed);
    }
    if (any_disturbed)
        printf(
            "- WARNING: figures marked * come from a measurement in which other programs competed for the "
            "CPUs (more than %.2f CPU used by the rest of the machine, hsmcad busy during a raw column, or a "
            "1-thread raw column below %.2f CPU): they and their ratios are not trustworthy. Rerun on a "
            "quiet machine.\n",
            BENCH_OTHERS_MAX, BENCH_CPU_USE_SINGLE_MIN);
    if (failed)
        printf("- FAILURES: %lu requests did not return 200 with a certificate (first errors on stderr). The "
               "rates count only successes, but a run with failures does not measure a working CA.\n",
               failed);
    /* For bench/run-all (B4, B5, B6), after the human tables. */
    printf("\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        const bench_issuer *is = &iss[i];
        if (!is->selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            const column *h = &is->http[ci];
            bench_emit_row(op_issue ? "HTTP issue" : "HTTP sign", is->name, o->counts[ci], h->rate, "/s",
                           http_disturbed(h, o->counts[ci]), hist_quantile_ms(&h->hist, 0.50),
                           hist_quantile_ms(&h->hist, 0.95), hist_quantile_ms(&h->hist, 0.99));
        }
    }
    bench_print_footer(elapsed);
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hsmca-bench-http --addr http://HOST:PORT --vault-token-file PATH [--daemon-pid PID]\n"
            "                        [--module PATH] --token LABEL [--pin-file PATH]\n"
            "                        [--seconds N] [--rounds R] [--threads LIST] [--issuers LIST]\n"
            "  --addr URL              hsmcad's plain-HTTP address (loopback)\n"
            "  --vault-token-file PATH file whose first line is the API token (root or a token that may\n"
            "                          mount, tune, generate roots, write roles and sign)\n"
            "  --daemon-pid PID        hsmcad's process, for its CPU time (/proc/PID/stat)\n"
            "  --module PATH           PKCS#11 module of the daemon's token (default "
            "/usr/lib/softhsm/libsofthsm2.so);\n"
            "                          SoftHSM2 finds the token through $SOFTHSM2_CONF\n"
            "  --token LABEL           the daemon's token (hsmcad -dev: hsmca-dev)\n"
            "  --pin-file PATH         file holding the token's user PIN (else $HSMCA_BENCH_PIN_FILE)\n"
            "  --seconds N             time per measurement, %.1f..%.0f (default %.0f); there are\n"
            "                          issuers x (raw thread counts + client counts) of them\n"
            "  --rounds R              slices per measurement, taken in turn (default %d, max %d)\n"
            "  --threads LIST          client counts, at most %d, each 1..%d (default %d); raw C_Sign\n"
            "                          runs with 1 and with each of them\n"
            "  --issuers LIST          only these of p256,rsa2048\n"
            "  --op sign|issue         sign/:role with pre-made CSRs (default), or issue/:role (the daemon\n"
            "                          makes each leaf key; the key returned must match the certificate)\n"
            "Run bench/run_http.sh to get a throwaway hsmcad -dev.\n",
            BENCH_SECONDS_MIN, BENCH_SECONDS_MAX, SECONDS_DEFAULT, ROUNDS_DEFAULT, BENCH_ROUNDS_MAX,
            MAX_COUNTS, CLIENTS_MAX, CLIENTS_DEFAULT);
}

/* 1: run; 0: bad usage (reported); -1: help printed, nothing to do. */
static int parse_opts(int argc, char **argv, http_opts *o)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},
        {"vault-token-file", required_argument, NULL, 'v'},
        {"daemon-pid", required_argument, NULL, 'P'},
        {"threads", required_argument, NULL, 'n'},
        {"issuers", required_argument, NULL, 'i'},
        {"op", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        BENCH_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *counts = NULL;
    unsigned long pid;
    int c;

    bench_opts_init(&o->common, SECONDS_DEFAULT, ROUNDS_DEFAULT);
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o->addr = optarg;
            break;
        case 'v':
            o->token_file = optarg;
            break;
        case 'P':
            if (!bench_parse_uint("--daemon-pid", optarg, 1, 0x7fffffffUL, &pid))
                return 0;
            o->daemon_pid = (long)pid;
            break;
        case 'n':
            counts = optarg;
            break;
        case 'i':
            o->issuers = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "sign") == 0) {
                op_issue = false;
            } else if (strcmp(optarg, "issue") == 0) {
                op_issue = true;
            } else {
                fprintf(stderr, "hsmca-bench-http: --op '%s' must be sign or issue\n", optarg);
                return 0;
            }
            role_json = op_issue ? role_json_issue : role_json_sign;
            op_verb = op_issue ? "issue" : "sign";
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            if (!bench_opts_take(&o->common, c, optarg))
                return 0;
            break;
        }
    }
    if (counts != NULL) {
        if (!bench_parse_counts("--threads", counts, CLIENTS_MAX, o->counts, &o->n_counts, MAX_COUNTS))
            return 0;
    } else {
        bench_count_add("--threads", o->counts, &o->n_counts, MAX_COUNTS, CLIENTS_DEFAULT);
    }
    bench_count_add("--threads", o->raw_counts, &o->n_raw, MAX_COUNTS + 1, 1);
    for (unsigned i = 0; i < o->n_counts; i++)
        bench_count_add("--threads", o->raw_counts, &o->n_raw, MAX_COUNTS + 1, o->counts[i]);
    if (o->addr == NULL || o->token_file == NULL) {
        fprintf(stderr, "hsmca-bench-http: --addr and --vault-token-file are required (see --help)\n");
        return 0;
    }
    if (!bench_select_names("--issuers", o->issuers, issuer_slugs, N_ISSUERS, &o->selected))
        return 0;
    return bench_opts_check(&o->common, argc, optind);
}

/* ---- main ---- */

static void print_facts(const http_opts *o, const bench_env *env, const char *version, double body_mean)
{
    const char *conf = getenv("SOFTHSM2_CONF");

    bench_print_facts("hsmca-bench-http", env->raw, o->common.module);
    printf("- SoftHSM2 configuration: %s (the daemon's token)\n", conf ? conf : "(default)");
    printf("- daemon: hsmcad %s at %s, pid %ld\n", version, o->addr, o->daemon_pid);
    printf("- per measurement: %.1f s in %u rounds taken in turn with the issuer's other columns, after %d "
           "warm-up requests per client (%d raw signatures per thread)\n",
           o->common.seconds, o->common.rounds, HTTP_WARMUP, RAW_WARMUP);
    printf("- clients: one thread and one keep-alive HTTP/1.1 connection each (TCP_NODELAY, loopback); "
           "request body %.0f bytes on average\n",
           body_mean);
    printf("- CSRs: %d software P-256 keys, CN host<N>.example.com, made before timing and used in turn\n",
           N_CSRS);
    printf("- role '%s': %s\n", ROLE, role_json);
    printf("- raw input: SHA-256 DigestInfo with CKM_RSA_PKCS for RSA, 32-byte digest with CKM_ECDSA for "
           "P-256\n");
    bench_print_loadavg("load average at start");
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static http_opts opts;
    static bench_issuer iss[N_ISSUERS] = {
        {.name = "P-256", .slug = "p256", .key_type = "ec", .key_bits = 256, .type = HSMCA_KEY_EC},
        {.name = "RSA-2048", .slug = "rsa2048", .key_type = "rsa", .key_bits = 2048, .type = HSMCA_KEY_RSA},
    };
    static http_client clients[CLIENTS_MAX];
    static bench_p11 raw;
    static csr_pool pool;
    static bench_env env;
    unsigned char msg[MSG_LEN];
    hsmca_pin_source src = {NULL, NULL};
    hsmca_pin *pin = NULL;
    char origin[160], *version = NULL;
    double t_start = bench_now(), body_sum = 0;
    http_resp r;
    int status = 1, rc;
    bool raw_open = false, measured = false;

    bench_set_name("hsmca-bench-http");
    for (unsigned i = 0; i < CLIENTS_MAX; i++)
        conn_init(&clients[i].conn);
    conn_init(&env.ctrl);
    rc = parse_opts(argc, argv, &opts);
    if (rc <= 0)
        return rc < 0 ? 0 : 2; /* --help, or bad usage (reported) */
    for (int i = 0; i < N_ISSUERS; i++) {
        iss[i].selected = (opts.selected >> i) & 1u;
        for (unsigned k = 0; k <= MAX_COUNTS; k++)
            iss[i].raw[k].rate = -1;
        for (unsigned k = 0; k < MAX_COUNTS; k++)
            iss[i].http[k].rate = -1;
    }
    if (!bench_start(&opts.common, msg, sizeof(msg), &pin))
        goto done;
    src.file = opts.token_file;
    if (hsmca_pin_load(&src, &env.target.token, origin, sizeof(origin)) != HSMCA_OK) {
        bench_fail_hsmca("reading --vault-token-file");
        goto done;
    }
    if (!target_resolve(&env.target, opts.addr))
        goto done;
    env.raw = &raw;
    env.pool = &pool;
    env.daemon_pid = opts.daemon_pid;
    if (opts.daemon_pid > 0 && bench_proc_cpu_s(opts.daemon_pid) < 0) {
        fprintf(stderr, "hsmca-bench-http: --daemon-pid %ld: no /proc/%ld/stat to read\n", opts.daemon_pid,
                opts.daemon_pid);
        goto done;
    }
    if (!api(&env, "GET", "/v1/sys/health", NULL, 200, 0, &r))
        goto done;
    {
        json_error_t jerr;
        json_t *h = json_loadb(r.body, r.body_len, 0, &jerr);
        const char *v = json_string_value(json_object_get(h, "version"));
        version = strdup(v ? v : "unknown");
        json_decref(h);
    }
    /* The raw side opens the same token (SOFTHSM2_CONF) in this process;
     * logging in here does not touch the daemon's sessions. */
    if (!bench_p11_open(&raw, opts.common.module, opts.common.token, pin))
        goto done;
    raw_open = true;
    fprintf(stderr, "hsmca-bench-http: making %d CSRs, the mounts and their roots\n", N_CSRS);
    if (!csr_pool_make(&pool, N_CSRS))
        goto done;
    for (size_t i = 0; i < pool.n; i++)
        body_sum += (double)pool.v[i].body_len;
    for (int i = 0; i < N_ISSUERS; i++) {
        if (iss[i].selected && !setup_issuer(&env, &iss[i], msg))
            goto done;
    }
    print_facts(&opts, &env, version, body_sum / (double)pool.n);
    for (int i = 0; i < N_ISSUERS; i++) {
        if (iss[i].selected && !run_issuer(&env, &iss[i], &opts, clients))
            goto done;
    }
    measured = true;
    status = 0;
    for (int i = 0; i < N_ISSUERS; i++) {
        for (unsigned k = 0; k < opts.n_counts; k++) {
            if (iss[i].http[k].failed)
                status = 1;
        }
    }
done:
    for (int i = 0; i < N_ISSUERS; i++)
        teardown_issuer(&env, &iss[i]);
    if (raw_open)
        bench_p11_close(&raw);
    for (unsigned i = 0; i < CLIENTS_MAX; i++) {
        conn_free(&clients[i].conn);
        free(clients[i].last);
    }
    conn_free(&env.ctrl);
    /* A run whose requests failed is still printed, loudly (print_tables);
     * one that stopped half-way is not. */
    if (measured)
        print_tables(iss, &opts, bench_now() - t_start);
    if (status != 0)
        fprintf(stderr, "hsmca-bench-http: FAILED: see the messages above; figures, if any, are not those of "
                        "a working CA\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        X509_free(iss[i].cert);
        EVP_PKEY_free(iss[i].pub);
    }
    csr_pool_free(&pool);
    free(version);
    hsmca_pin_free(env.target.token);
    hsmca_pin_free(pin);
    return status;
}
