/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP endpoints, unauthenticated as in OpenBao: GET ocsp/<base64 DER
 * request> and POST ocsp with the DER body (application/ocsp-request);
 * answers are DER (application/ocsp-response) with OpenBao's status codes.
 * And config/ocsp, hsmca's (authenticated) setting for delegated signing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hsmca/ocsp.h"
#include "internal.h"
#include "pki_issuers.h"

#define OCSP_CT "application/ocsp-response"

/* OCSPResponse { responseStatus internalError }: what is served when not
 * even an error response could be encoded (out of memory). */
static const unsigned char internal_error_der[] = {0x30, 0x03, 0x0a, 0x01, 0x02};
static const unsigned char malformed_der[] = {0x30, 0x03, 0x0a, 0x01, 0x01};

/* OpenBao's codes: 200 successful, 400 malformedRequest, 401 unauthorized,
 * 500 internalError; tryLater (the token is away) is 503 like every other
 * "HSM unavailable" answer of the appliance. The body is the DER response
 * in every case, so OCSP clients can read the status. */
static int http_status(hsmca_ocsp_status s)
{
    switch (s) {
    case HSMCA_OCSP_SUCCESSFUL:
        return 200;
    case HSMCA_OCSP_MALFORMED_REQUEST:
        return 400;
    case HSMCA_OCSP_UNAUTHORIZED:
        return 401;
    case HSMCA_OCSP_TRY_LATER:
        return 503;
    case HSMCA_OCSP_INTERNAL_ERROR:
        break;
    }
    return 500;
}

/* RFC 5019 6.2 for a successful answer to a GET: caches and CDNs may keep
 * it until its nextUpdate, revalidating after (ETag, Last-Modified). POST
 * answers, error statuses and answers without nextUpdate (ocsp_expiry 0:
 * "newer information is always available") keep the HTTP layer's
 * no-store. */
static void cache_headers(hsmca_http_resp *resp, const hsmca_ocsp_response *r)
{
    unsigned char md[32];
    char etag[2 * sizeof(md) + 3], date[40], cc[96];
    int64_t now = (int64_t)time(NULL);

    if (r->status != HSMCA_OCSP_SUCCESSFUL || r->next_update <= now || r->this_update <= 0 ||
        EVP_Digest(r->der, r->der_len, md, NULL, EVP_sha256(), NULL) != 1)
        return;
    snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate", (long long)(r->next_update - now));
    hsmca_http_resp_header(resp, "Cache-Control", cc);
    ob_http_date(r->this_update, date);
    if (date[0] != '\0')
        hsmca_http_resp_header(resp, "Last-Modified", date);
    ob_http_date(r->next_update, date);
    if (date[0] != '\0')
        hsmca_http_resp_header(resp, "Expires", date);
    etag[0] = '"';
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
    etag[1 + 2 * sizeof(md)] = '"';
    etag[2 + 2 * sizeof(md)] = '\0';
    hsmca_http_resp_header(resp, "ETag", etag);
}

static void answer(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const unsigned char *der, size_t len,
                   bool get)
{
    hsmca_ocsp_response r;
    hsmca_rv rv = hsmca_ocsp_respond(ob_ca(arg), ob_mount(req), der, len, &r);

    if (rv != HSMCA_OK) {
        hsmca_http_resp_raw(resp, 500, OCSP_CT, internal_error_der, sizeof(internal_error_der));
        return;
    }
    hsmca_http_resp_raw(resp, http_status(r.status), OCSP_CT, r.der, r.der_len);
    if (get)
        cache_headers(resp, &r);
    hsmca_ocsp_response_clear(&r);
}

/* A request refused before it could be parsed (bad base64, too large):
 * the core still answers it, so it is counted with every other
 * malformedRequest in sys/metrics. */
static void malformed(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ocsp_response r;

    if (hsmca_ocsp_respond(ob_ca(arg), ob_mount(req), NULL, 0, &r) == HSMCA_OK) {
        hsmca_http_resp_raw(resp, http_status(r.status), OCSP_CT, r.der, r.der_len);
        hsmca_ocsp_response_clear(&r);
        return;
    }
    hsmca_http_resp_raw(resp, 400, OCSP_CT, malformed_der, sizeof(malformed_der));
}

/* GET: RFC 6960 Appendix A.1, the base64 of the DER request, URL-encoded,
 * as the rest of the path (the HTTP layer has undone the %XX escapes). */
static void ocsp_get(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *param = hsmca_http_req_param(req, "req");
    char b64[HSMCA_OCSP_REQUEST_MAX + 2];
    unsigned char der[HSMCA_OCSP_REQUEST_MAX + 4];
    EVP_ENCODE_CTX *ctx = NULL;
    size_t n = param ? strlen(param) : 0;
    int len = 0, tail = 0;
    bool ok = false;

    atomic_fetch_add(&((hsmca_openbao *)arg)->ocsp_get, 1);
    /* OpenBao's bound: base64 text of 2048 bytes or more is malformed (it
     * decodes to at most 1536 bytes, well inside the DER bound). */
    if (n == 0 || n >= HSMCA_OCSP_REQUEST_MAX)
        goto done;
    memcpy(b64, param, n + 1);
    /* The HTTP layer drops a trailing '/' from every path (OpenBao's LIST
     * form), and base64 may end in '/'. Padded base64 is a multiple of 4
     * long, so 3 more means exactly that '/' was dropped. */
    if (n % 4 == 3) {
        b64[n++] = '/';
        b64[n] = '\0';
    }
    /* Standard alphabet with padding (OpenBao's StdEncoding); whitespace
     * or other characters make the request malformed. */
    for (size_t k = 0; k < n; k++) {
        char c = b64[k];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '='))
            goto done;
    }
    ctx = EVP_ENCODE_CTX_new();
    if (ctx == NULL) {
        hsmca_http_resp_raw(resp, 500, OCSP_CT, internal_error_der, sizeof(internal_error_der));
        goto done;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, der, &len, (const unsigned char *)b64, (int)n) < 0 ||
        EVP_DecodeFinal(ctx, der + len, &tail) != 1)
        goto done;
    ok = true;
    answer(req, resp, arg, der, (size_t)len + (size_t)tail, true);
done:
    EVP_ENCODE_CTX_free(ctx);
    if (!ok && hsmca_http_resp_is_empty(resp))
        malformed(req, resp, arg);
}

/* POST: the DER request is the body. The content type is not enforced
 * (OpenBao does not either); the size is, before anything is parsed. */
static void ocsp_post(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    size_t len = 0;
    const unsigned char *body = hsmca_http_req_body(req, &len);

    atomic_fetch_add(&((hsmca_openbao *)arg)->ocsp_post, 1);
    if (body == NULL || len == 0 || len >= HSMCA_OCSP_REQUEST_MAX) {
        malformed(req, resp, arg);
        return;
    }
    answer(req, resp, arg, body, len, false);
}

/* ---- config/ocsp (hsmca extension) ---- */

static const ob_field ocsp_config_fields[] = {
    {"delegated_signing", OBF_BOOL},
    {"delegated_ttl", OBF_DURATION},
    OB_FIELDS_END,
};

static void config_respond(hsmca_http_resp *resp, const hsmca_ocsp_config *c)
{
    json_t *d = json_pack("{s:b, s:I}", "delegated_signing", c->delegated_signing != 0, "delegated_ttl",
                          (json_int_t)c->delegated_ttl);

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

static void config_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ocsp_config c;
    hsmca_rv rv = hsmca_ocsp_config_get(ob_ca(arg), ob_mount(req), &c);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    config_respond(resp, &c);
}

/* Changes only the fields given, as OpenBao's config writes do. */
static void config_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, ocsp_config_fields);
    hsmca_ocsp_config c;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = hsmca_ocsp_config_get(ob_ca(arg), ob_mount(req), &c);
    if (rv == HSMCA_OK) {
        c.delegated_signing = ob_bool(in, "delegated_signing", c.delegated_signing != 0);
        c.delegated_ttl = ob_int(in, "delegated_ttl", c.delegated_ttl);
        rv = hsmca_ocsp_config_set(ob_ca(arg), ob_mount(req), &c);
    }
    json_decref(in);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    config_respond(resp, &c);
}

#define OCSP_PUBLIC (HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT)

const hsmca_http_route ob_ocsp_routes[] = {
    {HSMCA_HTTP_POST, "ocsp", ocsp_post, OCSP_PUBLIC},
    {HSMCA_HTTP_GET, "ocsp/*req", ocsp_get, OCSP_PUBLIC},
    {HSMCA_HTTP_GET, "config/ocsp", config_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config/ocsp", config_write, 0},
};
const size_t ob_ocsp_routes_n = sizeof(ob_ocsp_routes) / sizeof(ob_ocsp_routes[0]);
