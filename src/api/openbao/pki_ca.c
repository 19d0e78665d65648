/* SPDX-License-Identifier: Apache-2.0 */
/* The mount's CA and certificates, as OpenBao serves them without a token:
 * ca (DER), ca/pem, ca_chain, cert/ca, cert/ca_chain, cert/:serial and its
 * raw DER/PEM forms; and the authenticated LIST certs with after/limit.
 * The default-issuer reads honour If-Modified-Since like issuer/:ref/der. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pki_issuers.h"

/* The default issuer under If-Modified-Since; false when resp is done. */
static bool default_issuer(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *content_type,
                           bool raw, hsmca_ca_issuer *out)
{
    return ob_issuer_read_conditional(req, resp, arg, "default", content_type, raw, out);
}

/* The chain as one PEM text: certificates joined by a newline, none at the
 * end (OpenBao's ca_chain body and cert/ca_chain fields). */
static char *chain_text(STACK_OF(X509) *chain)
{
    char *out = NULL;
    size_t len = 0;

    for (int k = 0; k < sk_X509_num(chain); k++) {
        char *pem = ob_cert_pem(sk_X509_value(chain, k));
        size_t n = pem ? strlen(pem) : 0;
        char *grown = pem ? realloc(out, len + n + 2) : NULL;
        if (grown == NULL) {
            free(pem);
            free(out);
            return NULL;
        }
        out = grown;
        if (len > 0)
            out[len++] = '\n';
        memcpy(out + len, pem, n + 1);
        len += n;
        free(pem);
    }
    return out != NULL ? out : strdup("");
}

/* ---- the default issuer ---- */

static void ca_der(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;

    if (!default_issuer(req, resp, arg, OB_CT_DER, true, &i))
        return;
    ob_resp_cert_der(resp, i.certificate);
    hsmca_ca_issuer_clear(&i);
}

static void ca_pem(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;

    if (!default_issuer(req, resp, arg, OB_CT_PEM, true, &i))
        return;
    ob_resp_cert_pem(resp, i.certificate, false);
    hsmca_ca_issuer_clear(&i);
}

static void ca_chain_raw(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    char *text;

    /* OpenBao labels this PEM body application/pkix-cert; clients that
     * dispatch on the type expect exactly that, so it is kept. */
    if (!default_issuer(req, resp, arg, OB_CT_DER, true, &i))
        return;
    text = chain_text(i.ca_chain);
    hsmca_ca_issuer_clear(&i);
    if (text == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_raw(resp, 200, OB_CT_DER, text, strlen(text));
    free(text);
}

/* cert/ca and cert/ca_chain: OpenBao's fetch answer, never revoked. */
static void cert_ca_respond(hsmca_http_resp *resp, const char *certificate, const char *ca_chain)
{
    json_t *d = json_object();

    if (d == NULL || certificate == NULL) {
        json_decref(d);
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    json_object_set_new(d, "certificate", json_string(certificate));
    if (ca_chain != NULL)
        json_object_set_new(d, "ca_chain", json_string(ca_chain));
    json_object_set_new(d, "revocation_time", json_integer(0));
    json_object_set_new(d, "revocation_time_rfc3339", json_string(""));
    hsmca_http_resp_data(resp, 200, d);
}

static void cert_ca(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    char *pem;

    if (!default_issuer(req, resp, arg, "application/json", false, &i))
        return;
    pem = ob_cert_pem(i.certificate);
    hsmca_ca_issuer_clear(&i);
    cert_ca_respond(resp, pem, NULL);
    free(pem);
}

static void cert_ca_chain(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    char *text;

    if (!default_issuer(req, resp, arg, "application/json", false, &i))
        return;
    text = chain_text(i.ca_chain);
    hsmca_ca_issuer_clear(&i);
    cert_ca_respond(resp, text, text);
    free(text);
}

/* ---- certificates by serial ---- */

/* The stored certificate; false with resp filled (400 bad serial, 404). */
static bool load_cert(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, hsmca_store_cert *c, X509 **x)
{
    const unsigned char *p;
    hsmca_rv rv = hsmca_ca_cert_get(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "serial"), c);

    if (rv == HSMCA_ERR_INVALID_ARG)
        hsmca_err_prefix("serial");
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return false;
    }
    p = c->der;
    *x = d2i_X509(NULL, &p, (long)c->der_len);
    if (*x == NULL) {
        hsmca_store_cert_clear(c);
        hsmca_http_resp_error(resp, 500, "internal error: the stored certificate cannot be read");
        return false;
    }
    return true;
}

static bool serial_is_ca(const hsmca_http_req *req)
{
    const char *s = hsmca_http_req_param(req, "serial");

    return s != NULL && strcmp(s, "ca") == 0;
}

static void cert_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_store_cert c;
    X509 *x = NULL;
    char *pem;
    char rfc[32];
    json_t *d;

    if (!load_cert(req, resp, arg, &c, &x))
        return;
    pem = ob_cert_pem(x);
    d = json_object();
    if (pem == NULL || d == NULL) {
        free(pem);
        json_decref(d);
        X509_free(x);
        hsmca_store_cert_clear(&c);
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    ob_rfc3339(c.revoked_at, rfc);
    json_object_set_new(d, "certificate", json_string(pem));
    json_object_set_new(d, "revocation_time", json_integer((json_int_t)c.revoked_at));
    json_object_set_new(d, "revocation_time_rfc3339", json_string(rfc));
    json_object_set_new(d, "issuer_id", json_string(c.issuer_id));
    free(pem);
    X509_free(x);
    hsmca_store_cert_clear(&c);
    hsmca_http_resp_data(resp, 200, d);
}

static void cert_raw_der(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_store_cert c;
    X509 *x = NULL;

    /* cert/ca/raw is OpenBao's alias of ca. */
    if (serial_is_ca(req)) {
        ca_der(req, resp, arg);
        return;
    }
    if (!load_cert(req, resp, arg, &c, &x))
        return;
    X509_free(x);
    hsmca_http_resp_raw(resp, 200, OB_CT_DER, c.der, c.der_len);
    hsmca_store_cert_clear(&c);
}

static void cert_raw_pem(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_store_cert c;
    X509 *x = NULL;

    if (serial_is_ca(req)) {
        ca_pem(req, resp, arg);
        return;
    }
    if (!load_cert(req, resp, arg, &c, &x))
        return;
    ob_resp_cert_pem(resp, x, false);
    X509_free(x);
    hsmca_store_cert_clear(&c);
}

/* ---- LIST certs ---- */

static void certs_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_name_list(req, resp, arg, hsmca_ca_cert_list);
}

#define PUBLIC_READ (HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT)

const hsmca_http_route ob_ca_routes[] = {
    {HSMCA_HTTP_GET, "ca", ca_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "ca/pem", ca_pem, PUBLIC_READ},
    {HSMCA_HTTP_GET, "ca_chain", ca_chain_raw, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/ca", cert_ca, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/ca_chain", cert_ca_chain, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/:serial", cert_read, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/:serial/raw", cert_raw_der, PUBLIC_READ},
    {HSMCA_HTTP_GET, "cert/:serial/raw/pem", cert_raw_pem, PUBLIC_READ},
    {HSMCA_HTTP_LIST, "certs", certs_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
};
const size_t ob_ca_routes_n = sizeof(ob_ca_routes) / sizeof(ob_ca_routes[0]);
