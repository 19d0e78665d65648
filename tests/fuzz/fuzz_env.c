/* SPDX-License-Identifier: Apache-2.0 */
/* The CA stack and in-process daemon the token-backed fuzz targets share
 * (fuzz_env.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/provider.h>

#include "fuzz_env.h"
#include "hsmca/provider.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_env: %s: %s\n", what, hsmca_err_message());
    fprintf(stderr, "fuzz_env: run the targets through scripts/fuzz.sh, which creates the SoftHSM2 token\n");
    abort();
}

void fuzz_ca_open(fuzz_env *e, const char *mount)
{
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    char db[300];
    const char *base = getenv("TMPDIR");

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "%s/hsmca-fuzz.XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(e->dir) == NULL)
        die("mkdtemp");
    snprintf(db, sizeof(db), "%s/fuzz.db", e->dir);
    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if (pc.module_path == NULL || pc.token_label == NULL || pc.pin.file == NULL) {
        fprintf(stderr, "fuzz_env: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN and HSMCA_TEST_PIN_FILE must be set\n");
        die("environment");
    }
    if (hsmca_p11_token_open(&pc, &e->tok) != HSMCA_OK)
        die("token");
    if (hsmca_keyslot_new(e->tok, &e->ks) != HSMCA_OK)
        die("key slots");
    if (hsmca_provider_load(NULL, &e->prov) != HSMCA_OK)
        die("provider");
    memset(&sc, 0, sizeof(sc));
    sc.path = db;
    if (hsmca_store_open(&sc, &e->st) != HSMCA_OK)
        die("store");
    memset(&cc, 0, sizeof(cc));
    cc.store = e->st;
    cc.keyslot = e->ks;
    cc.max_ttl = 10 * 365 * 86400LL;
    if (hsmca_ca_new(&cc, &e->ca) != HSMCA_OK)
        die("CA");
    if (mount != NULL && hsmca_ca_mount_enable(e->ca, mount) != HSMCA_OK)
        die("mount");
}

void fuzz_daemon_start(fuzz_env *e, const char *mount)
{
    hsmca_auth_config ac;
    hsmca_auth_secret secret;
    hsmca_openbao_config oc;
    hsmca_http_config hc;

    fuzz_ca_open(e, mount);
    memset(&ac, 0, sizeof(ac));
    ac.store = e->st;
    if (hsmca_auth_open(&ac, &e->auth) != HSMCA_OK)
        die("token module");
    memset(&secret, 0, sizeof(secret));
    if (hsmca_auth_init_root(e->auth, FUZZ_ROOT_TOKEN, &secret, NULL) != HSMCA_OK)
        die("root token");
    hsmca_auth_secret_clear(&secret);
    memset(&oc, 0, sizeof(oc));
    oc.ca = e->ca;
    oc.store = e->st;
    oc.auth = e->auth;
    oc.token = e->tok;
    oc.version = "fuzz";
    oc.dev_mode = true;
    /* No audit log: every request would cost a token HMAC, and the log is
     * not what these targets judge. */
    if (hsmca_openbao_new(&oc, &e->api) != HSMCA_OK)
        die("OpenBao dispatcher");
    memset(&hc, 0, sizeof(hc));
    hc.listen[0] = "127.0.0.1:0";
    hc.n_listen = 1;
    hc.io_threads = 1;
    hc.workers = 2;
    hc.dispatch = hsmca_openbao_dispatch;
    hc.dispatch_arg = e->api;
    if (hsmca_http_server_start(&hc, &e->srv) != HSMCA_OK)
        die("HTTP server");
    hsmca_openbao_set_server(e->api, e->srv);
}

/* ---- a minimal HTTP/1.1 client (Content-Length bodies only: every
 * response of the server has one) ---- */

static int conn_fd = -1;

static int conn_open(fuzz_env *e)
{
    struct sockaddr_in sa;
    int one = 1;

    if (conn_fd >= 0)
        return conn_fd;
    conn_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn_fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hsmca_http_server_port(e->srv, 0));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(conn_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(conn_fd);
        conn_fd = -1;
    }
    return conn_fd;
}

static void conn_close(void)
{
    if (conn_fd >= 0)
        close(conn_fd);
    conn_fd = -1;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One exchange on an open connection: status, or 0 when the connection
 * failed before a whole response arrived. */
static int exchange(int fd, const char *head, size_t head_len, const void *req_body, size_t req_len, char **body,
                    int *keep)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, hdr_end = 0, want = 0;
    int status = 0;

    *keep = 0;
    if (send_all(fd, head, head_len) != 0 || (req_len > 0 && send_all(fd, req_body, req_len) != 0))
        return 0;
    for (;;) {
        ssize_t r;
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (nb == NULL)
                break;
            buf = nb;
            cap += 65536;
        }
        r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (hdr_end == 0) {
            char *end = strstr(buf, "\r\n\r\n"), *cl;
            if (end == NULL)
                continue;
            hdr_end = (size_t)(end - buf) + 4;
            *end = '\0';
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
                status = -1;
            cl = strcasestr(buf, "\r\nContent-Length:");
            want = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
            *keep = strcasestr(buf, "\r\nConnection: close") == NULL;
            *end = '\r';
        }
        if (hdr_end != 0 && len - hdr_end >= want)
            break;
    }
    if (hdr_end == 0 || len - hdr_end < want || status <= 0) {
        free(buf);
        *keep = 0;
        return 0;
    }
    if (body != NULL) {
        memmove(buf, buf + hdr_end, want);
        buf[want] = '\0';
        *body = buf;
        buf = NULL;
    }
    free(buf);
    return status;
}

int fuzz_http(fuzz_env *e, const char *method, const char *path, const void *req_body, size_t req_len, char **body)
{
    char head[1024];
    int n, status = 0, keep = 0;

    if (body != NULL)
        *body = NULL;
    n = snprintf(head, sizeof(head),
                 "%s /v1/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: " FUZZ_ROOT_TOKEN
                 "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, req_len);
    if (n < 0 || (size_t)n >= sizeof(head))
        return 0;
    /* A kept-alive connection the server has since closed fails at once:
     * one retry on a fresh connection. */
    for (int attempt = 0; attempt < 2 && status == 0; attempt++) {
        int fd = conn_open(e);
        if (fd < 0)
            return 0;
        status = exchange(fd, head, (size_t)n, req_body, req_len, body, &keep);
        if (!keep)
            conn_close();
    }
    return status;
}

void fuzz_http_ok(fuzz_env *e, const char *method, const char *path, const char *json)
{
    char *body = NULL;
    int status = fuzz_http(e, method, path, json, strlen(json), &body);

    if (status < 200 || status > 299) {
        fprintf(stderr, "fuzz_env: setup %s %s answered %d: %s\n", method, path, status, body ? body : "");
        abort();
    }
    free(body);
}
