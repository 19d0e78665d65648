/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every OpenBao handler shares: PEM text of certificates and
 * requests, serial numbers as OpenBao writes them, LIST pages, and errors
 * from core results. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsmca/duration.h"
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

bool ob_format_read(const json_t *in, hsmca_http_resp *resp, ob_format *format, bool *pkcs8)
{
    const char *f = ob_str(in, "format", "pem");
    const char *k = ob_str(in, "private_key_format", "der");

    if (strcmp(f, "pem") == 0) {
        *format = OB_FMT_PEM;
    } else if (strcmp(f, "der") == 0) {
        *format = OB_FMT_DER;
    } else if (strcmp(f, "pem_bundle") == 0) {
        *format = OB_FMT_PEM_BUNDLE;
    } else {
        hsmca_http_resp_error(resp, 400, "format '%s' is not one of pem, der, pem_bundle", f);
        return false;
    }
    /* OpenBao: "" and "pem" mean the default (der: PKCS#1/SEC1, as PEM or
     * base64 as format says). */
    if (k[0] != '\0' && strcmp(k, "der") != 0 && strcmp(k, "pem") != 0 && strcmp(k, "pkcs8") != 0) {
        hsmca_http_resp_error(resp, 400, "private_key_format '%s' is not one of der, pem, pkcs8", k);
        return false;
    }
    if (pkcs8 != NULL)
        *pkcs8 = strcmp(k, "pkcs8") == 0;
    return true;
}

char *ob_base64(const unsigned char *data, size_t len, bool secure)
{
    size_t n = 4 * ((len + 2) / 3) + 1;
    char *out;

    if (len > INT32_MAX)
        return NULL;
    out = secure ? OPENSSL_secure_malloc(n) : malloc(n);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

char *ob_cert_text(X509 *x, ob_format f)
{
    unsigned char *der = NULL;
    int n;
    char *s;

    if (f != OB_FMT_DER)
        return ob_cert_pem(x);
    n = i2d_X509(x, &der);
    s = n > 0 ? ob_base64(der, (size_t)n, false) : NULL;
    OPENSSL_free(der);
    return s;
}

char *ob_csr_text(X509_REQ *r, ob_format f)
{
    unsigned char *der = NULL;
    int n;
    char *s;

    if (f != OB_FMT_DER)
        return ob_csr_pem(r);
    n = i2d_X509_REQ(r, &der);
    s = n > 0 ? ob_base64(der, (size_t)n, false) : NULL;
    OPENSSL_free(der);
    return s;
}

void ob_fail_write(hsmca_http_resp *resp, hsmca_rv rv)
{
    if (rv == HSMCA_ERR_NOT_FOUND) {
        const char *m = hsmca_err_message();
        hsmca_http_resp_error(resp, 400, "%s", m[0] ? m : "not found");
        return;
    }
    ob_fail(resp, rv);
}

bool ob_not_after_ok(const json_t *in, hsmca_http_resp *resp)
{
    const char *na = ob_str(in, "not_after", "");
    int64_t t;

    if (na[0] == '\0' || hsmca_time_parse_rfc3339(na, &t) == HSMCA_OK)
        return true;
    /* The core's parser says how it is wrong; the field name is added here. */
    hsmca_http_resp_error(resp, 400, "not_after: %s", hsmca_err_message());
    return false;
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

bool ob_signature_bits_ok(const json_t *in, hsmca_http_resp *resp)
{
    int64_t bits = ob_int(in, "signature_bits", 0);

    if (bits == 0 || bits == 256 || bits == 384 || bits == 512)
        return true;
    hsmca_http_resp_error(resp, 400, "signature_bits %lld is not one of 0, 256, 384, 512", (long long)bits);
    return false;
}

bool ob_max_path_length_read(const json_t *in, hsmca_http_resp *resp, int *out)
{
    int64_t v = ob_int(in, "max_path_length", -1);

    if (v < -1 || v > 255) {
        hsmca_http_resp_error(resp, 400, "max_path_length %lld is not -1 (no limit) or 0..255", (long long)v);
        return false;
    }
    *out = (int)v;
    return true;
}

hsmca_rv ob_ca_subject_read(const json_t *in, hsmca_ca_params *p)
{
    static const struct {
        const char *field;
        size_t offset;
    } lists[] = {
        {"alt_names", offsetof(hsmca_ca_params, alt_names)},
        {"ip_sans", offsetof(hsmca_ca_params, ip_sans)},
        {"uri_sans", offsetof(hsmca_ca_params, uri_sans)},
        {"other_sans", offsetof(hsmca_ca_params, other_sans)},
        {"ou", offsetof(hsmca_ca_params, ou)},
        {"organization", offsetof(hsmca_ca_params, organization)},
        {"country", offsetof(hsmca_ca_params, country)},
        {"locality", offsetof(hsmca_ca_params, locality)},
        {"province", offsetof(hsmca_ca_params, province)},
        {"street_address", offsetof(hsmca_ca_params, street_address)},
        {"postal_code", offsetof(hsmca_ca_params, postal_code)},
        {"permitted_dns_domains", offsetof(hsmca_ca_params, permitted_dns_domains)},
    };
    const char *na = ob_str(in, "not_after", ""), *sn = ob_str(in, "serial_number", "");
    hsmca_rv rv;

    p->common_name = ob_str(in, "common_name", "");
    p->serial_number = sn[0] ? sn : NULL;
    p->ttl = ob_int(in, "ttl", 0);
    p->not_after = na[0] ? na : NULL;
    p->not_before_duration = ob_int(in, "not_before_duration", 30);
    p->exclude_cn_from_sans = ob_bool(in, "exclude_cn_from_sans", false);
    p->signature_bits = (int)ob_int(in, "signature_bits", 0);
    p->use_pss = ob_bool(in, "use_pss", false);
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if ((rv = ob_list(in, lists[i].field, (hsmca_strlist *)((char *)p + lists[i].offset))) != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

void ob_default_id(void *arg, const char *mount, const char *config, char out[40])
{
    char *text = NULL;
    json_t *cfg = NULL;

    out[0] = '\0';
    if (hsmca_ca_config_get(ob_ca(arg), mount, config, &text) == HSMCA_OK)
        cfg = json_loads(text, 0, NULL);
    snprintf(out, 40, "%s", ob_str(cfg, "default", ""));
    json_decref(cfg);
    free(text);
}

bool ob_id_page_start(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *config, ob_id_page *p)
{
    memset(p, 0, sizeof(*p));
    if (!ob_list_page(req, resp, &p->after, &p->limit))
        return false;
    ob_default_id(arg, ob_mount(req), config, p->default_id);
    p->keys = json_array();
    p->info = json_object();
    p->failed = p->keys == NULL || p->info == NULL;
    return true;
}

int ob_id_page_add(ob_id_page *p, const char *id, json_t *(*make)(const void *item, bool is_default),
                   const void *item)
{
    json_t *entry;

    if (p->failed)
        return 0;
    /* "after" need not exist (OpenBao). */
    if (p->after != NULL && strcmp(id, p->after) <= 0)
        return 1;
    if (p->limit > 0 && json_array_size(p->keys) >= p->limit)
        return 0;
    entry = make(item, strcmp(id, p->default_id) == 0);
    if (entry == NULL || json_array_append_new(p->keys, json_string(id)) != 0 ||
        json_object_set_new(p->info, id, entry) != 0) {
        p->failed = true;
        return 0;
    }
    return 1;
}

void ob_id_page_finish(hsmca_http_resp *resp, ob_id_page *p, hsmca_rv rv)
{
    if (rv == HSMCA_OK && !p->failed) {
        ob_list_response(resp, p->keys, p->info);
        return;
    }
    json_decref(p->keys);
    json_decref(p->info);
    if (rv == HSMCA_OK || rv == HSMCA_ERR_NOMEM)
        hsmca_http_resp_error(resp, 500, "out of memory");
    else
        ob_fail(resp, rv);
}

static int collect_name(const char *name, void *arg)
{
    return json_array_append_new(arg, json_string(name)) == 0;
}

void ob_name_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, ob_name_lister list)
{
    const char *after;
    size_t limit;
    json_t *keys;
    hsmca_rv rv;

    if (!ob_list_page(req, resp, &after, &limit))
        return;
    keys = json_array();
    if (keys == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = list(ob_ca(arg), ob_mount(req), after, limit, collect_name, keys);
    if (rv != HSMCA_OK) {
        if (rv == HSMCA_ERR_INVALID_ARG && strstr(hsmca_err_message(), "after") == NULL)
            hsmca_err_prefix("after");
        json_decref(keys);
        ob_fail(resp, rv);
        return;
    }
    ob_list_response(resp, keys, NULL);
}
