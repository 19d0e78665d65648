/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every OpenBao handler shares: PEM text of certificates and
 * requests, serial numbers as OpenBao writes them, LIST pages, and errors
 * from core results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "hsmca/serial.h"
#include "internal.h"

#define LIST_LIMIT_MAX 10000

const char *ob_mount(const hsmca_http_req *req)
{
    const char *m = hsmca_http_req_param(req, "mount");

    return m != NULL ? m : "";
}

hsmca_ca *ob_ca(void *arg)
{
    return ((hsmca_openbao *)arg)->cfg.ca;
}

void ob_fail(hsmca_http_resp *resp, hsmca_rv rv)
{
    hsmca_http_resp_error_rv(resp, rv);
}

static char *bio_text(BIO *b)
{
    char *data = NULL, *out;
    long n = b ? BIO_get_mem_data(b, &data) : 0;

    if (n <= 0)
        return NULL;
    out = malloc((size_t)n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    /* OpenBao's PEM fields carry no trailing newline. */
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    return out;
}

char *ob_cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL;

    if (b != NULL && x != NULL && PEM_write_bio_X509(b, x) == 1)
        s = bio_text(b);
    BIO_free(b);
    return s;
}

char *ob_csr_pem(X509_REQ *r)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL;

    if (b != NULL && r != NULL && PEM_write_bio_X509_REQ(b, r) == 1)
        s = bio_text(b);
    BIO_free(b);
    return s;
}

json_t *ob_chain_pem_array(STACK_OF(X509) *chain)
{
    json_t *a = json_array();

    if (a == NULL)
        return NULL;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        char *pem = ob_cert_pem(sk_X509_value(chain, i));
        if (pem == NULL || json_array_append_new(a, json_string(pem)) != 0) {
            free(pem);
            json_decref(a);
            return NULL;
        }
        free(pem);
    }
    return a;
}

json_t *ob_strlist_json(const hsmca_strlist *l)
{
    json_t *a = json_array();

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (json_array_append_new(a, json_string(l->v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

void ob_serial_text(X509 *x, char *out, size_t size)
{
    unsigned char serial[HSMCA_SERIAL_MAX];
    size_t len = 0;
    char text[HSMCA_SERIAL_TEXT_MAX + 1];

    out[0] = '\0';
    if (hsmca_serial_from_asn1(X509_get0_serialNumber(x), serial, &len) != HSMCA_OK)
        return;
    hsmca_serial_format(serial, len, text);
    snprintf(out, size, "%s", text);
}

void ob_list_response(hsmca_http_resp *resp, json_t *keys, json_t *key_info)
{
    json_t *data = json_object();

    if (data == NULL || keys == NULL) {
        json_decref(data);
        json_decref(keys);
        json_decref(key_info);
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    /* OpenBao answers an empty LIST with 404 and no body. */
    if (json_array_size(keys) == 0) {
        json_decref(data);
        json_decref(keys);
        json_decref(key_info);
        hsmca_http_resp_error(resp, 404, "%s", "");
        return;
    }
    json_object_set_new(data, "keys", keys);
    if (key_info != NULL)
        json_object_set_new(data, "key_info", key_info);
    hsmca_http_resp_data(resp, 200, data);
}

bool ob_list_page(hsmca_http_req *req, hsmca_http_resp *resp, const char **after, size_t *limit)
{
    const char *a = hsmca_http_req_query(req, "after");
    const char *l = hsmca_http_req_query(req, "limit");

    *after = a != NULL && a[0] != '\0' ? a : NULL;
    *limit = 0;
    if (l != NULL && l[0] != '\0') {
        char *end = NULL;
        long n = strtol(l, &end, 10);
        if (end == l || *end != '\0' || n < 0 || n > LIST_LIMIT_MAX) {
            hsmca_http_resp_error(resp, 400, "limit: must be an integer 0..%d", LIST_LIMIT_MAX);
            return false;
        }
        *limit = (size_t)n;
    }
    return true;
}

ob_reqctx *ob_ctx(const hsmca_http_req *req)
{
    return hsmca_http_req_context(req);
}

void ob_audit_detail(hsmca_http_req *req, const char *key, json_t *value)
{
    ob_reqctx *c = ob_ctx(req);

    if (c == NULL || value == NULL) {
        json_decref(value);
        return;
    }
    if (c->audit == NULL)
        c->audit = json_object();
    if (c->audit == NULL || json_object_set_new(c->audit, key, value) != 0)
        json_decref(value);
}

void ob_count_issued(void *arg, bool ok)
{
    hsmca_openbao *api = arg;

    atomic_fetch_add(ok ? &api->issued : &api->issue_failed, 1);
}
