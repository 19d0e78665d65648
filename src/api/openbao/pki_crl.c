/* SPDX-License-Identifier: Apache-2.0 */
/* CRL endpoints: every read path of OpenBao's CRL table (JSON, DER, PEM;
 * complete and delta; default issuer or issuer/:ref), served from the last
 * signed copy with Last-Modified / If-Modified-Since; config/crl;
 * crl/rotate and crl/rotate-delta; issuer/:ref/resign-crls and
 * issuer/:ref/sign-revocation-list. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "hsmca/revocation.h"
#include "hsmca/serial.h"
#include "pki_issuers.h"

#define OB_CT_CRL_DER "application/pkix-crl"
#define OB_CT_CRL_PEM "application/x-pem-file"

/* PEM text of a DER CRL (malloc'd), without decoding it into an X509_CRL:
 * a large CRL would cost its size many times over as objects. */
static char *crl_pem(const unsigned char *der, size_t len)
{
    static const char head[] = "-----BEGIN X509 CRL-----\n", tail[] = "-----END X509 CRL-----\n";
    size_t lines = (len + 47) / 48, cap = sizeof(head) + sizeof(tail) + lines * 65 + 1;
    char *out = malloc(cap), *p;

    if (out == NULL)
        return NULL;
    p = out;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    for (size_t off = 0; off < len; off += 48) {
        size_t n = len - off < 48 ? len - off : 48;
        p += EVP_EncodeBlock((unsigned char *)p, der + off, (int)n);
        *p++ = '\n';
    }
    memcpy(p, tail, sizeof(tail));
    return out;
}

typedef enum { CRL_JSON_CERTIFICATE, CRL_JSON_CRL, CRL_DER, CRL_PEM } crl_format;

static void crl_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *ref,
                     hsmca_crl_kind kind, crl_format fmt)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int64_t updated = 0;
    char *pem = NULL;
    const char *ct = fmt == CRL_DER ? OB_CT_CRL_DER : fmt == CRL_PEM ? OB_CT_CRL_PEM : "application/json";
    hsmca_rv rv = hsmca_revocation_crl_get(ob_ca(arg), ob_mount(req), ref, kind, &der, &len, &updated);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    if (ob_not_modified(req, resp, updated, ct))
        goto done;
    if (fmt == CRL_DER) {
        hsmca_http_resp_raw(resp, 200, ct, der, len);
        goto done;
    }
    pem = crl_pem(der, len);
    if (pem == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    if (fmt == CRL_PEM) {
        hsmca_http_resp_raw(resp, 200, ct, pem, strlen(pem));
    } else {
        /* OpenBao: the old cert/crl paths put the CRL in "certificate",
         * issuer/:ref/crl in "crl". */
        json_t *d = json_object();
        if (d == NULL) {
            hsmca_http_resp_error(resp, 500, "out of memory");
            goto done;
        }
        if (fmt == CRL_JSON_CERTIFICATE) {
            json_object_set_new(d, "certificate", json_string(pem));
            json_object_set_new(d, "revocation_time", json_integer(0));
            json_object_set_new(d, "revocation_time_rfc3339", json_string(""));
        } else {
            json_object_set_new(d, "crl", json_string(pem));
        }
        hsmca_http_resp_data(resp, 200, d);
    }
done:
    free(pem);
    free(der);
}

static const char *ref_of(hsmca_http_req *req)
{
    return hsmca_http_req_param(req, "issuer_ref");
}

#define CRL_HANDLER(fn, ref, kind, fmt)                                                                      \
    static void fn(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)                                    \
    {                                                                                                        \
        crl_read(req, resp, arg, ref, kind, fmt);                                                            \
    }

CRL_HANDLER(cert_crl, "default", HSMCA_CRL_COMPLETE, CRL_JSON_CERTIFICATE)
CRL_HANDLER(crl_der, "default", HSMCA_CRL_COMPLETE, CRL_DER)
CRL_HANDLER(crl_pem_read, "default", HSMCA_CRL_COMPLETE, CRL_PEM)
CRL_HANDLER(cert_delta_crl, "default", HSMCA_CRL_DELTA, CRL_JSON_CERTIFICATE)
CRL_HANDLER(crl_delta_der, "default", HSMCA_CRL_DELTA, CRL_DER)
CRL_HANDLER(crl_delta_pem, "default", HSMCA_CRL_DELTA, CRL_PEM)
CRL_HANDLER(issuer_crl, ref_of(req), HSMCA_CRL_COMPLETE, CRL_JSON_CRL)
CRL_HANDLER(issuer_crl_der, ref_of(req), HSMCA_CRL_COMPLETE, CRL_DER)
CRL_HANDLER(issuer_crl_pem, ref_of(req), HSMCA_CRL_COMPLETE, CRL_PEM)
CRL_HANDLER(issuer_delta, ref_of(req), HSMCA_CRL_DELTA, CRL_JSON_CRL)
CRL_HANDLER(issuer_delta_der, ref_of(req), HSMCA_CRL_DELTA, CRL_DER)
CRL_HANDLER(issuer_delta_pem, ref_of(req), HSMCA_CRL_DELTA, CRL_PEM)

/* ---- config/crl ---- */

static const ob_field config_fields[] = {
    {"expiry", OBF_DURATION},
    {"disable", OBF_BOOL},
    {"ocsp_disable", OBF_BOOL},
    {"ocsp_expiry", OBF_DURATION},
    {"auto_rebuild", OBF_BOOL},
    {"auto_rebuild_grace_period", OBF_DURATION},
    {"enable_delta", OBF_BOOL},
    {"delta_rebuild_interval", OBF_DURATION},
    {"cross_cluster_revocation", OBF_BOOL},
    {"unified_crl", OBF_BOOL},
    {"unified_crl_on_existing_paths", OBF_BOOL},
    OB_FIELDS_END,
};

static void config_respond(hsmca_http_resp *resp, const hsmca_crl_config *c)
{
    char e[32], oe[32], g[32], di[32];
    json_t *d;

    hsmca_crl_duration_text(c->expiry, e);
    hsmca_crl_duration_text(c->ocsp_expiry, oe);
    hsmca_crl_duration_text(c->auto_rebuild_grace_period, g);
    hsmca_crl_duration_text(c->delta_rebuild_interval, di);
    /* One cluster: no cross-cluster revocation or unified CRLs. */
    d = json_pack("{ss sb sb ss sb ss sb ss sb sb sb}", "expiry", e, "disable", c->disable, "ocsp_disable",
                  c->ocsp_disable, "ocsp_expiry", oe, "auto_rebuild", c->auto_rebuild,
                  "auto_rebuild_grace_period", g, "enable_delta", c->enable_delta, "delta_rebuild_interval",
                  di, "cross_cluster_revocation", 0, "unified_crl", 0, "unified_crl_on_existing_paths", 0);
    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void config_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_crl_config c;
    hsmca_rv rv = hsmca_revocation_crl_config_get(ob_ca(arg), ob_mount(req), &c);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    config_respond(resp, &c);
}

static void config_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, config_fields);
    hsmca_crl_config c;
    hsmca_rv rv;

    if (in == NULL)
        return;
    /* OpenBao updates the fields given and keeps the others. */
    rv = hsmca_revocation_crl_config_get(ob_ca(arg), ob_mount(req), &c);
    if (rv == HSMCA_OK) {
        c.expiry = ob_int(in, "expiry", c.expiry);
        c.disable = ob_bool(in, "disable", c.disable);
        c.ocsp_disable = ob_bool(in, "ocsp_disable", c.ocsp_disable);
        c.ocsp_expiry = ob_int(in, "ocsp_expiry", c.ocsp_expiry);
        c.auto_rebuild = ob_bool(in, "auto_rebuild", c.auto_rebuild);
        c.auto_rebuild_grace_period = ob_int(in, "auto_rebuild_grace_period", c.auto_rebuild_grace_period);
        c.enable_delta = ob_bool(in, "enable_delta", c.enable_delta);
        c.delta_rebuild_interval = ob_int(in, "delta_rebuild_interval", c.delta_rebuild_interval);
        if (ob_bool(in, "cross_cluster_revocation", false) || ob_bool(in, "unified_crl", false) ||
            ob_bool(in, "unified_crl_on_existing_paths", false))
            hsmca_http_resp_warn(resp,
                                 "cross_cluster_revocation, unified_crl and unified_crl_on_existing_paths "
                                 "are ignored: this appliance is one cluster");
        rv = hsmca_revocation_crl_config_set(ob_ca(arg), ob_mount(req), &c);
    }
    json_decref(in);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    config_respond(resp, &c);
}

/* ---- rotation ---- */

static void rotate_common(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool delta)
{
    hsmca_rv rv = hsmca_revocation_crl_rotate(ob_ca(arg), ob_mount(req), delta);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_data(resp, 200, json_pack("{sb}", "success", 1));
}

static void crl_rotate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    rotate_common(req, resp, arg, false);
}

static void crl_rotate_delta(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    rotate_common(req, resp, arg, true);
}

/* ---- CRLs from the caller's data ---- */

/* An Extension's DER from {"id": "1.2.3", "critical": bool, "value": base64}
 * appended to *out (malloc'd, grown). The CRL Number, Delta CRL Indicator
 * and Authority Key Identifier come from other parameters: refused. */
static hsmca_rv ext_der(const json_t *e, const char *field, size_t idx, STACK_OF(X509_EXTENSION) * sk)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *val = json_string_value(json_object_get(e, "value"));
    const json_t *crit = json_object_get(e, "critical");
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *os = NULL;
    X509_EXTENSION *x = NULL;
    unsigned char *raw = NULL;
    size_t vlen;
    int n;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (!json_is_object(e) || id == NULL || val == NULL || (crit != NULL && !json_is_boolean(crit))) {
        rv = hsmca_err(rv, "%s[%zu]: needs id (string), value (base64 string) and optional critical (bool)",
                       field, idx);
        goto done;
    }
    if (strcmp(id, "2.5.29.20") == 0 || strcmp(id, "2.5.29.27") == 0 || strcmp(id, "2.5.29.35") == 0) {
        rv = hsmca_err(rv,
                       "%s[%zu]: id %s is set by crl_number, delta_crl_base_number or the issuer, not given",
                       field, idx, id);
        goto done;
    }
    obj = OBJ_txt2obj(id, 1);
    vlen = strlen(val);
    raw = vlen <= 65536 ? malloc(vlen / 4 * 3 + 3) : NULL;
    if (obj == NULL || raw == NULL || vlen % 4 != 0) {
        rv = hsmca_err(rv,
                       "%s[%zu]: id '%.64s' must be a dotted OID and value padded base64 of at most 64 KiB",
                       field, idx, id);
        goto done;
    }
    n = EVP_DecodeBlock(raw, (const unsigned char *)val, (int)vlen);
    if (n < 0) {
        rv = hsmca_err(rv, "%s[%zu]: value is not base64", field, idx);
        goto done;
    }
    /* DecodeBlock counts the padding as zero bytes. */
    if (vlen >= 1 && val[vlen - 1] == '=')
        n--;
    if (vlen >= 2 && val[vlen - 2] == '=')
        n--;
    os = ASN1_OCTET_STRING_new();
    if (os == NULL || !ASN1_OCTET_STRING_set(os, raw, n) ||
        (x = X509_EXTENSION_create_by_OBJ(NULL, obj, json_is_true(crit), os)) == NULL ||
        !sk_X509_EXTENSION_push(sk, x)) {
        X509_EXTENSION_free(x);
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    rv = HSMCA_OK;
done:
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(os);
    free(raw);
    return rv;
}

/* The extensions list of field (absent: none) as a stack. */
static hsmca_rv exts_stack(const json_t *list, const char *field, STACK_OF(X509_EXTENSION) * *out)
{
    size_t i;
    const json_t *e;
    hsmca_rv rv = HSMCA_OK;

    *out = sk_X509_EXTENSION_new_null();
    if (*out == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (list == NULL || json_is_null(list))
        return HSMCA_OK;
    if (!json_is_array(list) || json_array_size(list) > 64)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be a list of at most 64 extensions", field);
    json_array_foreach(list, i, e)
    {
        rv = ext_der(e, field, i, *out);
        if (rv != HSMCA_OK)
            break;
    }
    return rv;
}

static const ob_field sign_fields[] = {
    {"crl_number", OBF_INT},    {"delta_crl_base_number", OBF_INT},
    {"format", OBF_STRING},     {"next_update", OBF_DURATION},
    {"revoked_certs", OBF_ANY}, {"extensions", OBF_ANY},
    {"crls", OBF_ANY},          OB_FIELDS_END,
};

#define SIGN_ENTRIES_MAX 100000u

typedef struct {
    hsmca_crl_request req;
    hsmca_crl_entry *entries;
    unsigned char **owned; /* per entry extension DER */
    unsigned char *exts;
    bool der;
} sign_job;

static void sign_job_clear(sign_job *j)
{
    for (size_t i = 0; j->owned != NULL && i < j->req.n_entries; i++)
        OPENSSL_free(j->owned[i]);
    free(j->owned);
    free(j->entries);
    OPENSSL_free(j->exts);
    memset(j, 0, sizeof(*j));
}

/* The parameters both endpoints share. */
static hsmca_rv sign_common(const json_t *in, sign_job *j)
{
    STACK_OF(X509_EXTENSION) *sk = NULL;
    const char *format = ob_str(in, "format", "pem");
    hsmca_rv rv;
    size_t total = 0;

    memset(j, 0, sizeof(*j));
    if (!ob_has(in, "crl_number"))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "crl_number: required");
    j->req.crl_number = ob_int(in, "crl_number", 0);
    j->req.delta_crl_base = ob_int(in, "delta_crl_base_number", -1);
    j->req.next_update = ob_int(in, "next_update", 72 * 3600);
    if (strcmp(format, "pem") != 0 && strcmp(format, "der") != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "format: '%.16s' is not pem or der", format);
    j->der = strcmp(format, "der") == 0;
    rv = exts_stack(json_object_get(in, "extensions"), "extensions", &sk);
    for (int k = 0; rv == HSMCA_OK && k < sk_X509_EXTENSION_num(sk); k++) {
        unsigned char *d = NULL;
        int n = i2d_X509_EXTENSION(sk_X509_EXTENSION_value(sk, k), &d);
        unsigned char *grown = n > 0 ? OPENSSL_realloc(j->exts, total + (size_t)n) : NULL;

        if (grown == NULL) {
            OPENSSL_free(d);
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(grown + total, d, (size_t)n);
        OPENSSL_free(d);
        j->exts = grown;
        total += (size_t)n;
    }
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
    j->req.extensions_der = j->exts;
    j->req.extensions_len = total;
    return rv;
}

static hsmca_rv parse_time(const json_t *v, size_t idx, int64_t *out)
{
    const char *s = json_string_value(v);
    char *end = NULL;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return HSMCA_OK;
    }
    if (s != NULL && s[0] != '\0') {
        long long n = strtoll(s, &end, 10);
        if (end != NULL && *end == '\0') {
            *out = (int64_t)n;
            return HSMCA_OK;
        }
        if (hsmca_time_parse_rfc3339(s, out) == HSMCA_OK)
            return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "revoked_certs[%zu].revocation_time: not a unix time or RFC 3339 time", idx);
}

static hsmca_rv sign_entries(const json_t *list, sign_job *j)
{
    size_t i, n;
    const json_t *e;

    if (list == NULL || json_is_null(list))
        return HSMCA_OK;
    n = json_is_array(list) ? json_array_size(list) : SIGN_ENTRIES_MAX + 1;
    if (n > SIGN_ENTRIES_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "revoked_certs: must be a list of at most %u entries",
                         SIGN_ENTRIES_MAX);
    j->entries = calloc(n ? n : 1, sizeof(*j->entries));
    j->owned = calloc(n ? n : 1, sizeof(*j->owned));
    if (j->entries == NULL || j->owned == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    json_array_foreach(list, i, e)
    {
        hsmca_crl_entry *en = &j->entries[i];
        STACK_OF(X509_EXTENSION) *sk = NULL;
        hsmca_rv rv;

        j->req.n_entries = i + 1;
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "serial_number")))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "revoked_certs[%zu]: needs serial_number", i);
        rv = hsmca_serial_parse(json_string_value(json_object_get(e, "serial_number")), en->serial,
                                &en->serial_len);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("revoked_certs[%zu].serial_number", i);
            return rv;
        }
        if ((rv = parse_time(json_object_get(e, "revocation_time"), i, &en->revocation_time)) != HSMCA_OK)
            return rv;
        rv = exts_stack(json_object_get(e, "extensions"), "revoked_certs[].extensions", &sk);
        if (rv == HSMCA_OK && sk_X509_EXTENSION_num(sk) > 0) {
            int len = i2d_X509_EXTENSIONS(sk, &j->owned[i]);
            if (len <= 0)
                rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            en->extensions_der = j->owned[i];
            en->extensions_len = len > 0 ? (size_t)len : 0;
        }
        sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
        if (rv != HSMCA_OK)
            return rv;
    }
    j->req.entries = j->entries;
    return HSMCA_OK;
}

static void sign_respond(hsmca_http_resp *resp, unsigned char *der, size_t len, bool as_der)
{
    char *text;

    if (as_der) {
        text = malloc((len + 2) / 3 * 4 + 1);
        if (text != NULL)
            EVP_EncodeBlock((unsigned char *)text, der, (int)len);
    } else {
        text = crl_pem(der, len);
    }
    if (text == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, json_pack("{ss}", "crl", text));
    free(text);
}

static void sign_revocation_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, sign_fields);
    sign_job j;
    unsigned char *der = NULL;
    size_t len = 0;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = sign_common(in, &j);
    if (rv == HSMCA_OK)
        rv = sign_entries(json_object_get(in, "revoked_certs"), &j);
    if (rv == HSMCA_OK)
        rv = hsmca_revocation_sign_list(ob_ca(arg), ob_mount(req), ref_of(req), &j.req, &der, &len);
    json_decref(in);
    if (rv == HSMCA_OK)
        sign_respond(resp, der, len, j.der);
    else
        ob_fail(resp, rv);
    sign_job_clear(&j);
    free(der);
}

static void resign_crls(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, sign_fields);
    const json_t *crls;
    const char **pems = NULL;
    size_t n = 0;
    sign_job j;
    unsigned char *der = NULL;
    size_t len = 0;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = sign_common(in, &j);
    crls = json_object_get(in, "crls");
    if (rv == HSMCA_OK && (!json_is_array(crls) || json_array_size(crls) == 0 || json_array_size(crls) > 64))
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "crls: required, a list of 1..64 PEM CRLs");
    if (rv == HSMCA_OK) {
        n = json_array_size(crls);
        pems = calloc(n, sizeof(*pems));
        if (pems == NULL)
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        for (size_t i = 0; pems != NULL && rv == HSMCA_OK && i < n; i++) {
            pems[i] = json_string_value(json_array_get(crls, i));
            if (pems[i] == NULL)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "crls[%zu]: must be a PEM string", i);
        }
    }
    if (rv == HSMCA_OK)
        rv =
            hsmca_revocation_resign_crls(ob_ca(arg), ob_mount(req), ref_of(req), pems, n, &j.req, &der, &len);
    free(pems);
    json_decref(in);
    if (rv == HSMCA_OK)
        sign_respond(resp, der, len, j.der);
    else
        ob_fail(resp, rv);
    sign_job_clear(&j);
    free(der);
}

#define PUBLIC_READ (HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT)

const hsmca_http_route ob_crl_routes[] = {
    {HSMCA_HTTP_GET, "cert/crl", cert_crl, PUBLIC_READ},
    {HSMCA_HTTP_GET, "crl", crl_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "crl/pem", crl_pem_read, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/delta-crl", cert_delta_crl, PUBLIC_READ},
    {HSMCA_HTTP_GET, "crl/delta", crl_delta_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "crl/delta/pem", crl_delta_pem, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl", issuer_crl, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl/der", issuer_crl_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl/pem", issuer_crl_pem, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl/delta", issuer_delta, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl/delta/der", issuer_delta_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/crl/delta/pem", issuer_delta_pem, PUBLIC_READ},
    {HSMCA_HTTP_GET, "config/crl", config_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/crl", config_write, 0},
    {HSMCA_HTTP_GET, "crl/rotate", crl_rotate, 0},
    {HSMCA_HTTP_GET, "crl/rotate-delta", crl_rotate_delta, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "issuer/:issuer_ref/resign-crls", resign_crls, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "issuer/:issuer_ref/sign-revocation-list", sign_revocation_list, 0},
};
const size_t ob_crl_routes_n = sizeof(ob_crl_routes) / sizeof(ob_crl_routes[0]);
