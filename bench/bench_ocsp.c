/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-ocsp: OCSP responses/s from a running hsmcad over loopback
 * (POST /v1/<mount>/ocsp, keep-alive clients), signed on the fly (requests
 * with a nonce: every answer signed in the token) and cached (the same
 * requests without a nonce: one signature per certificate, then the cache),
 * beside the raw C_Sign rate of the issuer's key in the same run (issue 5,
 * "Benchmarks"; targets: on-the-fly >= 0.8 x raw, cached >= 10 x on-the-fly).
 * It prints figures; its exit status never depends on them, only on a
 * request that failed or a response that does not verify.
 *
 * bench/run_ocsp.sh starts a throwaway `hsmcad -dev`, makes the mount, its
 * root and the leaves, and runs this with --url, --issuer, --certs and
 * --key-id. The PIN comes from a file (--pin-file), never argv. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bench_common.h"

#define CERTS_MAX 256
#define REQ_MAX 1024           /* bytes of one DER request */
#define RESP_MAX 16384         /* bytes of one HTTP response (head + DER) */
#define MSG_LEN 64
#define WARMUP 20              /* ops per thread before the clock: fills the cache */
#define DEFAULT_THREADS 8
#define DEFAULT_SECONDS 10.0

typedef struct {
    struct sockaddr_in addr;
    char host[64];
    char path[256];
} target;

/* One keep-alive client: its connection, the requests it cycles through,
 * and the last response body (checked after the run). */
typedef struct {
    const target *t;
    int fd;
    unsigned char *const *reqs;
    const size_t *lens;
    size_t nreq, next;
    unsigned char buf[RESP_MAX];
    unsigned char last[RESP_MAX];
    size_t last_len;
    char error[256];
} client;

typedef struct {
    bench_opts common;
    const char *url, *issuer, *certs, *key_id;
    unsigned threads;
    long daemon_pid; /* hsmcad, whose CPU is not "other programs" (0: unknown) */
} ocsp_opts;

static int target_parse(target *t, const char *url)
{
    unsigned port = 0;
    int n = 0;

    memset(t, 0, sizeof(*t));
    /* Loopback plain HTTP only: the figure is the responder's, not TLS's. */
    if (sscanf(url, "http://%63[0-9.]:%u%n", t->host, &port, &n) != 2 || port == 0 || port > 65535 ||
        url[n] != '/' || strlen(url + n) >= sizeof(t->path)) {
        fprintf(stderr, "%s: --url must be http://IPv4:PORT/v1/<mount>/ocsp\n", bench_name());
        return 0;
    }
    snprintf(t->path, sizeof(t->path), "%s", url + n);
    t->addr.sin_family = AF_INET;
    t->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, t->host, &t->addr.sin_addr) != 1) {
        fprintf(stderr, "%s: --url host %s is not an IPv4 address\n", bench_name(), t->host);
        return 0;
    }
    return 1;
}

static bool client_connect(client *c)
{
    int one = 1;

    if (c->fd >= 0)
        return true;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)&c->t->addr, sizeof(c->t->addr)) != 0) {
        snprintf(c->error, sizeof(c->error), "connect: %s", strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return false;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return true;
}

static void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static bool send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response: status, Content-Length body into c->last. */
static bool read_response(client *c, int *status)
{
    size_t have = 0, head = 0, body_len = 0;
    const char *cl;
    bool close_after = false;

    for (;;) {
        ssize_t r;
        if (have == sizeof(c->buf)) {
            snprintf(c->error, sizeof(c->error), "response larger than %d bytes", RESP_MAX);
            return false;
        }
        r = recv(c->fd, c->buf + have, sizeof(c->buf) - have - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(c->error, sizeof(c->error), "connection closed mid-response");
            return false;
        }
        have += (size_t)r;
        c->buf[have] = '\0';
        if (head == 0) {
            const char *end = strstr((const char *)c->buf, "\r\n\r\n");
            if (end == NULL)
                continue;
            head = (size_t)(end - (const char *)c->buf) + 4;
            if (sscanf((const char *)c->buf, "HTTP/1.1 %d", status) != 1) {
                snprintf(c->error, sizeof(c->error), "not an HTTP/1.1 response");
                return false;
            }
            cl = strcasestr((const char *)c->buf, "\r\nContent-Length:");
            if (cl == NULL || cl > end) {
                snprintf(c->error, sizeof(c->error), "response without Content-Length");
                return false;
            }
            body_len = strtoul(cl + 17, NULL, 10);
            close_after = strcasestr((const char *)c->buf, "\r\nConnection: close") != NULL;
            if (head + body_len > sizeof(c->buf) - 1) {
                snprintf(c->error, sizeof(c->error), "response body of %zu bytes", body_len);
                return false;
            }
        }
        if (head != 0 && have >= head + body_len)
            break;
    }
    memcpy(c->last, c->buf + head, body_len);
    c->last_len = body_len;
    if (close_after)
        client_close(c);
    return true;
}

/* One OCSP request over the keep-alive connection (one reconnect when the
 * server closed it between requests). */
static bool ocsp_op(void *ctx)
{
    client *c = ctx;
    char head[512];
    size_t i = c->next++ % c->nreq;
    int n, status = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        if (!client_connect(c))
            return false;
        n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ocsp-request\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     c->t->path, c->t->host, c->lens[i]);
        if (send_all(c->fd, (const unsigned char *)head, (size_t)n) && send_all(c->fd, c->reqs[i], c->lens[i]) &&
            read_response(c, &status))
            break;
        client_close(c);
        if (attempt == 1)
            return false;
        c->error[0] = '\0';
    }
    if (status != 200) {
        snprintf(c->error, sizeof(c->error), "HTTP status %d", status);
        return false;
    }
    return true;
}

/* The response verifies with the issuer's key and says good. */
static bool response_ok(const unsigned char *der, size_t len, X509 *issuer)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    bool ok = false;

    if (bs != NULL && certs != NULL && store != NULL && sk_X509_push(certs, issuer) > 0 &&
        X509_STORE_add_cert(store, issuer) == 1 &&
        OCSP_basic_verify(bs, certs, store, OCSP_TRUSTOTHER) == 1 && OCSP_resp_count(bs) == 1)
        ok = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, NULL, NULL) == V_OCSP_CERTSTATUS_GOOD;
    ERR_clear_error();
    sk_X509_free(certs);
    X509_STORE_free(store);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return ok;
}

/* Requests about every certificate: nonce (signed each time) or not. */
static int make_requests(X509 *issuer, X509 **certs, size_t n, bool nonce, unsigned char **reqs, size_t *lens)
{
    for (size_t i = 0; i < n; i++) {
        OCSP_REQUEST *req = OCSP_REQUEST_new();
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, certs[i], issuer);
        int len;
        if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
            OCSP_CERTID_free(id);
            OCSP_REQUEST_free(req);
            return 0;
        }
        if (nonce && OCSP_request_add1_nonce(req, NULL, 16) != 1) {
            OCSP_REQUEST_free(req);
            return 0;
        }
        reqs[i] = NULL;
        len = i2d_OCSP_REQUEST(req, &reqs[i]);
        OCSP_REQUEST_free(req);
        if (len <= 0 || len > REQ_MAX)
            return 0;
        lens[i] = (size_t)len;
    }
    return 1;
}

static size_t load_certs(const char *file, X509 **out, size_t max)
{
    FILE *f = fopen(file, "r");
    size_t n = 0;
    X509 *x;

    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", bench_name(), file, strerror(errno));
        return 0;
    }
    while (n < max && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        out[n++] = x;
    ERR_clear_error();
    fclose(f);
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hsmca-bench-ocsp --url http://127.0.0.1:PORT/v1/<mount>/ocsp --issuer ISSUER.pem\n"
               "         --certs LEAVES.pem --key-id UUID --token LABEL --pin-file FILE [--module SO]\n"
               "         [--threads N] [--seconds S] [--rounds R] [--daemon-pid PID]\n"
               "Use bench/run_ocsp.sh, which starts a throwaway hsmcad -dev and sets all of these.\n");
}

static int parse_opts(int argc, char **argv, ocsp_opts *o)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},    {"issuer", required_argument, NULL, 'i'},
        {"certs", required_argument, NULL, 'c'},  {"key-id", required_argument, NULL, 'k'},
        {"threads", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
        {"daemon-pid", required_argument, NULL, 'P'}, BENCH_LONGOPTS,                           {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int c;

    memset(o, 0, sizeof(*o));
    bench_opts_init(&o->common, DEFAULT_SECONDS, 2);
    o->threads = DEFAULT_THREADS;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 'i':
            o->issuer = optarg;
            break;
        case 'c':
            o->certs = optarg;
            break;
        case 'k':
            o->key_id = optarg;
            break;
        case 'n':
            if (!bench_parse_uint("--threads", optarg, 1, BENCH_THREADS_MAX, &v))
                return 0;
            o->threads = (unsigned)v;
            break;
        case 'P':
            if (!bench_parse_uint("--daemon-pid", optarg, 1, 0x7fffffffUL, &v))
                return 0;
            o->daemon_pid = (long)v;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            if (!bench_opts_take(&o->common, c, optarg)) {
                usage(stderr);
                return 0;
            }
        }
    }
    if (!bench_opts_check(&o->common, argc, optind))
        return 0;
    if (o->url == NULL || o->issuer == NULL || o->certs == NULL || o->key_id == NULL) {
        usage(stderr);
        return 0;
    }
    return 1;
}

static hsmca_key_type key_type_of(EVP_PKEY *pub)
{
    if (EVP_PKEY_is_a(pub, "RSA"))
        return HSMCA_KEY_RSA;
    if (EVP_PKEY_is_a(pub, "EC"))
        return HSMCA_KEY_EC;
    return HSMCA_KEY_ED25519;
}

/* hsmcad's CPU seconds when the clock starts and stops (bench_job.mark). */
typedef struct {
    long pid;
    double start, end;
} daemon_marks;

static void mark_daemon(void *arg, bool end)
{
    daemon_marks *m = arg;
    double t = bench_proc_cpu_s(m->pid);

    if (end)
        m->end = t;
    else
        m->start = t;
}

/* One column: the clients cycle through reqs for the measurement. hsmcad
 * (daemon_pid, when known) does the work being measured: its CPU is taken
 * out of "others", so only other programs mark the figure disturbed. */
static int measure_ocsp(const char *what, client *cl, unsigned nthreads, unsigned char *const *reqs,
                        const size_t *lens, size_t nreq, double seconds, X509 *issuer, long daemon_pid,
                        bench_tally *out)
{
    void *ctx[BENCH_THREADS_MAX];
    bench_job job;
    daemon_marks dm = {daemon_pid, -1, -1};
    int ok;

    memset(&job, 0, sizeof(job));
    for (unsigned i = 0; i < nthreads; i++) {
        cl[i].reqs = reqs;
        cl[i].lens = lens;
        cl[i].nreq = nreq;
        cl[i].next = i; /* threads start on different certificates */
        cl[i].error[0] = '\0';
        ctx[i] = &cl[i];
    }
    job.nthreads = nthreads;
    job.op = ocsp_op;
    job.ctx = ctx;
    job.warmup = WARMUP;
    job.seconds = seconds;
    if (daemon_pid > 0) {
        job.mark = mark_daemon;
        job.mark_arg = &dm;
    }
    ok = bench_measure(&job, out, NULL);
    if (ok && dm.start >= 0 && dm.end >= dm.start)
        out->others = out->others > dm.end - dm.start ? out->others - (dm.end - dm.start) : 0;
    for (unsigned i = 0; i < nthreads; i++) {
        if (cl[i].error[0] != '\0') {
            fprintf(stderr, "%s: %s, client %u: %s\n", bench_name(), what, i + 1, cl[i].error);
            ok = 0;
        } else if (ok && !response_ok(cl[i].last, cl[i].last_len, issuer)) {
            fprintf(stderr, "%s: %s, client %u: the last response does not verify as good\n", bench_name(), what,
                    i + 1);
            ok = 0;
        }
    }
    return ok;
}

int main(int argc, char **argv)
{
    static ocsp_opts o;
    static client cl[BENCH_THREADS_MAX];
    static bench_raw_signer raws[BENCH_THREADS_MAX];
    static bench_p11 raw;
    static X509 *certs[CERTS_MAX];
    static unsigned char *nonce_reqs[CERTS_MAX], *plain_reqs[CERTS_MAX];
    static size_t nonce_lens[CERTS_MAX], plain_lens[CERTS_MAX];
    unsigned char msg[MSG_LEN], digest[32], raw_in[BENCH_SIG_MAX];
    size_t raw_in_len = sizeof(raw_in), ncerts = 0;
    void *ctx[BENCH_THREADS_MAX];
    hsmca_pin *pin = NULL;
    X509 *issuer = NULL;
    EVP_PKEY *pub;
    CK_OBJECT_HANDLE handle = 0;
    hsmca_key_type type;
    bench_tally t_raw, t_fly, t_cached;
    bench_job job;
    target tgt;
    double t0 = bench_now();
    unsigned opened = 0;
    bool raw_open = false;
    int status = 1, rc;
    char a[32], b[32], c[32];

    bench_set_name("hsmca-bench-ocsp");
    rc = parse_opts(argc, argv, &o);
    if (rc <= 0)
        return rc < 0 ? 0 : 2;
    for (unsigned i = 0; i < BENCH_THREADS_MAX; i++)
        cl[i].fd = -1;
    if (!target_parse(&tgt, o.url) || !bench_start(&o.common, msg, sizeof(msg), &pin))
        goto done;
    if (load_certs(o.issuer, &issuer, 1) != 1 || (ncerts = load_certs(o.certs, certs, CERTS_MAX)) == 0) {
        fprintf(stderr, "%s: no issuer in %s or no certificates in %s\n", bench_name(), o.issuer, o.certs);
        goto done;
    }
    if (!make_requests(issuer, certs, ncerts, true, nonce_reqs, nonce_lens) ||
        !make_requests(issuer, certs, ncerts, false, plain_reqs, plain_lens)) {
        fprintf(stderr, "%s: cannot build the OCSP requests\n", bench_name());
        goto done;
    }
    pub = X509_get0_pubkey(issuer);
    type = key_type_of(pub);
    if (!bench_p11_open(&raw, o.common.module, o.common.token, pin))
        goto done;
    raw_open = true;
    if (!bench_p11_find_key(&raw, o.key_id, &handle) ||
        EVP_Digest(msg, sizeof(msg), digest, NULL, EVP_sha256(), NULL) != 1 ||
        !bench_raw_input(type, digest, msg, sizeof(msg), raw_in, &raw_in_len))
        goto done;
    for (unsigned i = 0; i < BENCH_THREADS_MAX; i++)
        cl[i].t = &tgt;
    bench_print_facts("OCSP responder over loopback vs raw C_Sign", &raw, o.common.module);
    printf("- issuer: %s (%s), %zu certificates, %u clients, %.1f s per column\n", o.issuer,
           EVP_PKEY_get0_type_name(pub), ncerts, o.threads, o.common.seconds);

    /* raw C_Sign, the same threads */
    memset(&job, 0, sizeof(job));
    for (unsigned i = 0; i < o.threads; i++) {
        if (!bench_raw_signer_open(&raws[i], &raw, bench_raw_mechanism(type), handle, raw_in, raw_in_len))
            goto done;
        opened++;
        ctx[i] = &raws[i];
    }
    job.nthreads = o.threads;
    job.op = bench_raw_sign_op;
    job.ctx = ctx;
    job.warmup = WARMUP;
    job.seconds = o.common.seconds;
    if (!bench_measure(&job, &t_raw, NULL))
        goto done;
    if (type != HSMCA_KEY_ED25519 && !bench_raw_signature_ok(pub, type, digest, raws[0].sig, raws[0].siglen)) {
        fprintf(stderr, "%s: the raw signature does not verify\n", bench_name());
        goto done;
    }
    if (!measure_ocsp("on the fly (nonce)", cl, o.threads, nonce_reqs, nonce_lens, ncerts, o.common.seconds, issuer,
                      o.daemon_pid, &t_fly) ||
        !measure_ocsp("cached (no nonce)", cl, o.threads, plain_reqs, plain_lens, ncerts, o.common.seconds, issuer,
                      o.daemon_pid, &t_cached))
        goto done;

    bench_fmt_rate(a, sizeof(a), bench_tally_rate(&t_raw), bench_disturbed(&t_raw, o.threads, true));
    bench_fmt_rate(b, sizeof(b), bench_tally_rate(&t_fly), bench_disturbed(&t_fly, o.threads, false));
    bench_fmt_rate(c, sizeof(c), bench_tally_rate(&t_cached), bench_disturbed(&t_cached, o.threads, false));
    printf("\n| %u threads | ops/s |\n| --- | ---: |\n", o.threads);
    printf("| raw C_Sign | %s |\n| OCSP signed on the fly (nonce) | %s |\n| OCSP cached (no nonce) | %s |\n", a, b, c);
    /* For bench/run-all (B7). */
    {
        const char *kn = type == HSMCA_KEY_RSA ? "RSA-2048" : type == HSMCA_KEY_EC ? "P-256" : "Ed25519";
        bench_emit_row("OCSP on the fly (nonce)", kn, o.threads, bench_tally_rate(&t_fly), "/s",
                       bench_disturbed(&t_fly, o.threads, false), -1, -1, -1);
        bench_emit_row("OCSP cached (no nonce)", kn, o.threads, bench_tally_rate(&t_cached), "/s",
                       bench_disturbed(&t_cached, o.threads, false), -1, -1, -1);
    }
    printf("\n- on-the-fly / raw C_Sign: %.2f (target >= 0.8)\n",
           bench_tally_rate(&t_fly) / bench_tally_rate(&t_raw));
    printf("- cached / on-the-fly: %.1f (target >= 10)\n", bench_tally_rate(&t_cached) / bench_tally_rate(&t_fly));
    printf("- a figure marked * was disturbed by other programs on the machine\n");
    bench_print_footer(bench_now() - t0);
    status = 0;
done:
    for (unsigned i = 0; i < opened; i++)
        bench_raw_signer_close(&raws[i]);
    for (unsigned i = 0; i < BENCH_THREADS_MAX; i++)
        client_close(&cl[i]);
    if (raw_open)
        bench_p11_close(&raw);
    for (size_t i = 0; i < ncerts; i++) {
        X509_free(certs[i]);
        OPENSSL_free(nonce_reqs[i]);
        OPENSSL_free(plain_reqs[i]);
    }
    X509_free(issuer);
    hsmca_pin_free(pin);
    return status;
}
