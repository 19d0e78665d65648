/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's thin HTTP/1.1 client for hsmcad: one request per connection over
 * an OpenSSL BIO (plain or TLS), JSON in and out, bounded reply size. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "api_client.h"

#define HOST_MAX         255
#define TOKEN_MAX        512
#define REPLY_MAX        (16u * 1024 * 1024) /* a reply larger than this is refused */
#define REQUEST_HEAD_MAX 4096
#define IO_TIMEOUT_S     120 /* per read or write; signing on a busy token is slow, not this slow */

struct cli_api {
    char host[HOST_MAX + 1];
    char port[8];
    int tls;
    SSL_CTX *ctx;
    char *token; /* secure heap; NULL: none */
};

void cli_api_free(cli_api *a)
{
    if (a == NULL)
        return;
    SSL_CTX_free(a->ctx);
    if (a->token != NULL)
        OPENSSL_secure_clear_free(a->token, TOKEN_MAX + 1);
    free(a);
}

/* The token is the file's first line; a file that is empty, too long or
 * holds a control character is refused by name (never echoing its text). */
static hsmca_rv read_token(const char *path, char **out)
{
    FILE *f = fopen(path, "r");
    char *t = NULL;
    size_t n = 0;
    int c;
    hsmca_rv rv;

    if (f == NULL)
        return hsmca_err(HSMCA_ERR_IO, "--token-file %s: cannot be opened", path);
    t = OPENSSL_secure_zalloc(TOKEN_MAX + 1);
    if (t == NULL) {
        fclose(f);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n >= TOKEN_MAX) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--token-file %s: the token is longer than %u bytes", path,
                           TOKEN_MAX);
            goto fail;
        }
        t[n++] = (char)c;
    }
    while (n > 0 && t[n - 1] == '\r')
        t[--n] = '\0';
    if (n == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--token-file %s: the file holds no token", path);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (iscntrl((unsigned char)t[i])) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--token-file %s: the token holds a control character",
                           path);
            goto fail;
        }
    }
    fclose(f);
    *out = t;
    return HSMCA_OK;
fail:
    fclose(f);
    OPENSSL_secure_clear_free(t, TOKEN_MAX + 1);
    return rv;
}

hsmca_rv cli_api_open(const char *addr, const char *token_file, const char *ca_file, cli_api **out)
{
    cli_api *a = calloc(1, sizeof(*a));
    const char *hp, *colon, *end;
    size_t hl;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *out = NULL;
    if (a == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (addr == NULL || addr[0] == '\0') {
        hsmca_err(rv, "no daemon address: give --addr URL or set HSMCA_ADDR");
        goto fail;
    }
    if (strncmp(addr, "http://", 7) == 0) {
        hp = addr + 7;
    } else if (strncmp(addr, "https://", 8) == 0) {
        hp = addr + 8;
        a->tls = 1;
    } else {
        hsmca_err(rv, "--addr '%s': must start with http:// or https://", addr);
        goto fail;
    }
    end = hp + strcspn(hp, "/");
    if (*end == '/' && end[1] != '\0') {
        hsmca_err(rv, "--addr '%s': give only scheme, host and port (the API is under /v1/)", addr);
        goto fail;
    }
    colon = memchr(hp, ':', (size_t)(end - hp));
    if (hp[0] == '[') {
        hsmca_err(rv, "--addr '%s': IPv6 literals are not supported; give an IPv4 address or a host name",
                  addr);
        goto fail;
    }
    hl = (size_t)((colon ? colon : end) - hp);
    if (hl == 0 || hl > HOST_MAX ||
        (colon && ((size_t)(end - colon - 1) == 0 || (size_t)(end - colon - 1) > 5))) {
        hsmca_err(rv, "--addr '%s': the host or port is missing or too long", addr);
        goto fail;
    }
    memcpy(a->host, hp, hl);
    if (colon) {
        memcpy(a->port, colon + 1, (size_t)(end - colon - 1));
        for (const char *p = a->port; *p; p++)
            if (!isdigit((unsigned char)*p)) {
                hsmca_err(rv, "--addr '%s': the port is not a number", addr);
                goto fail;
            }
    } else {
        snprintf(a->port, sizeof(a->port), "%s", a->tls ? "443" : "80");
    }
    if (a->tls) {
        a->ctx = SSL_CTX_new(TLS_client_method());
        if (a->ctx == NULL || !SSL_CTX_set_min_proto_version(a->ctx, TLS1_2_VERSION)) {
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot make a TLS context");
            goto fail;
        }
        SSL_CTX_set_verify(a->ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file != NULL ? !SSL_CTX_load_verify_locations(a->ctx, ca_file, NULL)
                            : !SSL_CTX_set_default_verify_paths(a->ctx)) {
            rv = hsmca_err(HSMCA_ERR_IO, "--ca-cert %s: cannot be loaded",
                           ca_file ? ca_file : "(system store)");
            goto fail;
        }
    }
    if (token_file != NULL && (rv = read_token(token_file, &a->token)) != HSMCA_OK)
        goto fail;
    *out = a;
    return HSMCA_OK;
fail:
    cli_api_free(a);
    return rv;
}

/* Reads until EOF (the request said Connection: close), bounded. */
static hsmca_rv read_all(BIO *b, char **out, size_t *len)
{
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap + 1);
    int r;

    if (buf == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    for (;;) {
        if (n == cap) {
            char *nb;
            if (cap >= REPLY_MAX) {
                free(buf);
                return hsmca_err(HSMCA_ERR_IO, "the daemon's reply is larger than %u bytes", REPLY_MAX);
            }
            cap *= 2;
            nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                free(buf);
                return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            }
            buf = nb;
        }
        r = BIO_read(b, buf + n, (int)(cap - n));
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        if (BIO_should_retry(b))
            continue;
        break;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return HSMCA_OK;
}

/* Undoes Transfer-Encoding: chunked in place; false if malformed. */
static int dechunk(char *body, size_t len, size_t *out_len)
{
    size_t in = 0, o = 0;

    for (;;) {
        char *endp;
        unsigned long sz;
        if (in >= len)
            return 0;
        sz = strtoul(body + in, &endp, 16);
        endp = strstr(endp, "\r\n");
        if (endp == NULL)
            return 0;
        in = (size_t)(endp - body) + 2;
        if (sz == 0)
            break;
        if (sz > len - in)
            return 0;
        memmove(body + o, body + in, sz);
        o += sz;
        in += sz + 2;
    }
    body[o] = '\0';
    *out_len = o;
    return 1;
}

static const char *find_header(const char *head, size_t head_len, const char *name)
{
    size_t nl = strlen(name);

    for (const char *p = head; p && p < head + head_len; p = strstr(p, "\r\n")) {
        if (p[0] == '\r')
            p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return p + nl + 1;
    }
    return NULL;
}

static int host_is_ip(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1;
}

hsmca_rv cli_api_call(cli_api *a, const char *method, const char *path, const json_t *body,
                      const char *rotation, int *status, json_t **reply)
{
    char target[HOST_MAX + 16];
    char *json = NULL, *head = NULL, *resp = NULL, *sep;
    size_t json_len = 0, resp_len = 0, head_len, blen;
    int hl;
    BIO *conn = NULL, *b = NULL;
    hsmca_rv rv = HSMCA_ERR_IO;

    *status = 0;
    *reply = NULL;
    if (body != NULL) {
        json = json_dumps(body, JSON_COMPACT);
        if (json == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        json_len = strlen(json);
    }
    /* The head holds the token: secure heap, cleansed when freed. */
    head = OPENSSL_secure_malloc(REQUEST_HEAD_MAX);
    if (head == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hl = snprintf(head, REQUEST_HEAD_MAX,
                  "%s /v1/%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: hsmca-cli\r\nConnection: close\r\n"
                  "Accept: application/json\r\n%s%s%s%s%s%s"
                  "Content-Length: %zu\r\n\r\n",
                  method, path, a->host, a->port, a->token ? "X-Vault-Token: " : "", a->token ? a->token : "",
                  a->token ? "\r\n" : "", rotation ? "X-Hsmca-Rotation: " : "", rotation ? rotation : "",
                  rotation ? "\r\n" : "", json_len);
    if (hl < 0 || hl >= REQUEST_HEAD_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "request head for %s /v1/%s is too long", method, path);
        goto done;
    }
    snprintf(target, sizeof(target), "%s:%s", a->host, a->port);
    conn = BIO_new_connect(target);
    if (conn == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    b = conn;
    /* TCP first, so the timeouts cover the TLS handshake too. */
    if (BIO_do_connect(conn) <= 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "cannot connect to %s (connection refused or no route)", target);
        ERR_clear_error();
        goto done;
    }
    {
        /* A daemon that stops answering must not hang the operator's
         * terminal: every read and write waits at most IO_TIMEOUT_S. */
        struct timeval tv = {IO_TIMEOUT_S, 0};
        int sock = -1;
        if (BIO_get_fd(conn, &sock) < 0 || sock < 0 ||
            setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
            setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
            rv = hsmca_err(HSMCA_ERR_IO, "cannot set the socket timeouts for %s", target);
            goto done;
        }
    }
    if (a->tls) {
        BIO *ssl = BIO_new_ssl(a->ctx, 1);
        SSL *s = NULL;
        if (ssl == NULL) {
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot start TLS");
            goto done;
        }
        BIO_get_ssl(ssl, &s);
        if (host_is_ip(a->host)) {
            /* An IP address is matched against iPAddress SANs, and is not
             * sent as SNI (RFC 6066 3 allows host names only). */
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), a->host) != 1) {
                BIO_free(ssl);
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--addr: '%s' is not a usable IP address", a->host);
                goto done;
            }
        } else {
            SSL_set_tlsext_host_name(s, a->host);
            SSL_set1_host(s, a->host);
        }
        b = BIO_push(ssl, conn);
        if (BIO_do_handshake(b) <= 0) {
            const char *why = ERR_reason_error_string(ERR_peek_last_error());
            rv = hsmca_err(HSMCA_ERR_IO, "cannot connect to %s over TLS (%s)", target,
                           why ? why : "handshake failed");
            ERR_clear_error();
            goto done;
        }
    }
    if (BIO_write(b, head, hl) != hl || (json_len && BIO_write(b, json, (int)json_len) != (int)json_len) ||
        BIO_flush(b) <= 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "%s /v1/%s: the request could not be sent to %s", method, path, target);
        goto done;
    }
    if ((rv = read_all(b, &resp, &resp_len)) != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_IO;
    if (sscanf(resp, "HTTP/1.%*c %d", status) != 1 || (sep = strstr(resp, "\r\n\r\n")) == NULL) {
        hsmca_err(rv, "%s /v1/%s: no HTTP answer from %s", method, path, target);
        goto done;
    }
    head_len = (size_t)(sep - resp);
    sep += 4;
    blen = resp_len - (size_t)(sep - resp);
    {
        const char *te = find_header(resp, head_len, "Transfer-Encoding");
        if (te != NULL && strstr(te, "chunked") != NULL && strstr(te, "chunked") < resp + head_len &&
            !dechunk(sep, blen, &blen)) {
            hsmca_err(rv, "%s /v1/%s: malformed chunked reply", method, path);
            goto done;
        }
    }
    if (blen > 0) {
        json_error_t e;
        *reply = json_loadb(sep, blen, 0, &e);
        if (*reply == NULL) {
            hsmca_err(rv, "%s /v1/%s: status %d with a body that is not JSON", method, path, *status);
            goto done;
        }
    }
    rv = HSMCA_OK;
done:
    BIO_free_all(b);
    free(json);
    free(resp);
    if (head != NULL)
        OPENSSL_secure_clear_free(head, REQUEST_HEAD_MAX);
    return rv;
}

void cli_api_errors(const json_t *reply, char *out, size_t size)
{
    const json_t *errs = json_object_get(reply, "errors");
    size_t i, n = 0;
    const json_t *e;

    out[0] = '\0';
    json_array_foreach(errs, i, e)
    {
        if (json_is_string(e) && n < size)
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "; " : "", json_string_value(e));
    }
    if (out[0] == '\0')
        snprintf(out, size, "(no error message)");
}
