/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded outbound HTTP(S) over libcurl: the certificate auth method's OCSP
 * client and CRL distribution points. Why libcurl rather than a socket
 * loop of our own: redirects, chunked bodies, TLS and name resolution are
 * where small HTTP clients go wrong, and libcurl lets every one of them be
 * bounded (protocols, redirects, bytes, time) with options. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "hsmca/fetch.h"
#include "hsmca/log.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static char *trust_path; /* extra trust anchors for https, under trust_lock */

static void global_init(void)
{
    /* curl_global_init is not thread-safe in every build: once, here. */
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hsmca_rv hsmca_fetch_trust_file(const char *path)
{
    char *dup = path != NULL ? strdup(path) : NULL;

    if (path != NULL && dup == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&trust_lock);
    free(trust_path);
    trust_path = dup;
    pthread_mutex_unlock(&trust_lock);
    return HSMCA_OK;
}

/* Adds the extra anchors to the SSL_CTX libcurl built with the system's
 * bundle already loaded, so both are trusted. */
static CURLcode add_trust(CURL *curl, void *sslctx, void *arg)
{
    X509_STORE *st = SSL_CTX_get_cert_store(sslctx);
    BIO *b = NULL;
    X509 *x;
    int n = 0;

    (void)curl;
    (void)arg;
    pthread_mutex_lock(&trust_lock);
    if (trust_path != NULL)
        b = BIO_new_file(trust_path, "r");
    pthread_mutex_unlock(&trust_lock);
    if (b == NULL)
        return CURLE_OK;
    while (n++ < 64 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        X509_STORE_add_cert(st, x);
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
    return CURLE_OK;
}

typedef struct {
    unsigned char *buf;
    size_t len, max;
    bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t add = size * n;
    unsigned char *nb;

    if (add > s->max - s->len) {
        s->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    nb = realloc(s->buf, s->len + add + 1);
    if (nb == NULL)
        return 0;
    s->buf = nb;
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    return add;
}

hsmca_rv hsmca_fetch(const hsmca_fetch_req *req, unsigned char **out, size_t *out_len)
{
    CURL *c = NULL;
    struct curl_slist *hdr = NULL;
    char ctype[128], errbuf[CURL_ERROR_SIZE] = "";
    sink s = {NULL, 0, 0, false};
    long status = 0, ms = req->timeout_ms;
    CURLcode cr;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    *out_len = 0;
    if (req->url == NULL || (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "URL '%s': only http:// and https:// are fetched",
                         req->url != NULL ? req->url : "");
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return hsmca_err(HSMCA_ERR_INTERNAL, "libcurl could not be initialised");
    s.max = req->max_bytes == 0 || req->max_bytes > HSMCA_FETCH_MAX_BYTES ? HSMCA_FETCH_MAX_BYTES : req->max_bytes;
    if (ms <= 0 || ms > HSMCA_FETCH_MAX_MS)
        ms = HSMCA_FETCH_MAX_MS;
    if ((c = curl_easy_init()) == NULL) {
        rv = hsmca_err(rv, "out of memory");
        goto done;
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for resolver timeouts */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hsmcad");
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, add_trust);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* no proxy from the environment */
    if (req->content_type != NULL) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
        if ((hdr = curl_slist_append(NULL, ctype)) == NULL) {
            rv = hsmca_err(rv, "out of memory");
            goto done;
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    cr = curl_easy_perform(c);
    if (s.too_big || cr == CURLE_FILESIZE_EXCEEDED) {
        rv = hsmca_err(HSMCA_ERR_IO, "'%s': the answer is larger than %zu bytes", req->url, s.max);
        goto done;
    }
    if (cr == CURLE_OPERATION_TIMEDOUT) {
        rv = hsmca_err(HSMCA_ERR_TIMEOUT, "'%s': no complete answer within %ld ms", req->url, ms);
        goto done;
    }
    if (cr != CURLE_OK) {
        rv = hsmca_err(HSMCA_ERR_IO, "'%s': %s", req->url, errbuf[0] ? errbuf : curl_easy_strerror(cr));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        rv = hsmca_err(HSMCA_ERR_IO, "'%s': HTTP status %ld", req->url, status);
        goto done;
    }
    if (s.buf == NULL && (s.buf = malloc(1)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    *out = s.buf;
    *out_len = s.len;
    s.buf = NULL;
    rv = HSMCA_OK;
done:
    free(s.buf);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rv;
}
