/* SPDX-License-Identifier: Apache-2.0 */
/* Revocation endpoints: revoke, revoke-with-key, LIST certs/revoked and
 * issuer/:ref/revoke. Each is one call into src/revocation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/revocation.h"
#include "pki_issuers.h"

static const ob_field revoke_fields[] = {
    {"serial_number", OBF_STRING},
    {"certificate", OBF_STRING},
    OB_FIELDS_END,
};

static const ob_field revoke_key_fields[] = {
    {"serial_number", OBF_STRING},
    {"certificate", OBF_STRING},
    {"private_key", OBF_STRING},
    OB_FIELDS_END,
};

/* The private key's PEM must not linger in freed heap (the request's own
 * copies are cleansed by the HTTP layer; this is the typed copy). */
static void cleanse_string(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    if (json_is_string(v))
        OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

static void revoke_respond(hsmca_http_req *req, hsmca_http_resp *resp, const hsmca_revoke_result *r)
{
    char rfc[32];
    json_t *d = json_object();

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    ob_audit_detail(req, "serial_number", json_string(r->serial_number));
    ob_audit_detail(req, "issuer_id", json_string(r->issuer_id));
    ob_rfc3339(r->revocation_time, rfc);
    json_object_set_new(d, "revocation_time", json_integer((json_int_t)r->revocation_time));
    json_object_set_new(d, "revocation_time_rfc3339", json_string(rfc));
    json_object_set_new(d, "state", json_string("revoked"));
    if (r->already_revoked)
        hsmca_http_resp_warn(resp, "certificate with serial %s was already revoked at %s; nothing changed",
                             r->serial_number, rfc);
    if (r->crl_warning[0] != '\0')
        hsmca_http_resp_warn(resp, "%s", r->crl_warning);
    hsmca_http_resp_data(resp, 200, d);
}

static void revoke_common(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool with_key)
{
    json_t *in = ob_fields(req, resp, with_key ? revoke_key_fields : revoke_fields);
    hsmca_revoke_result r;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = hsmca_revocation_revoke(ob_ca(arg), ob_mount(req), ob_str(in, "serial_number", ""),
                                 ob_str(in, "certificate", ""),
                                 with_key ? ob_str(in, "private_key", "") : NULL, &r);
    if (with_key)
        cleanse_string(in, "private_key");
    json_decref(in);
    /* OpenBao answers an unknown serial with 400 ("certificate with serial
     * ... not found"), not 404: the request named a bad value. */
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = HSMCA_ERR_INVALID_ARG;
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    revoke_respond(req, resp, &r);
}

static void revoke(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    revoke_common(req, resp, arg, false);
}

static void revoke_with_key(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    revoke_common(req, resp, arg, true);
}

static void revoked_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_name_list(req, resp, arg, hsmca_revocation_list);
}

static void issuer_revoke(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    hsmca_rv rv;
    json_t *in = ob_fields(req, resp, (const ob_field[]){OB_FIELDS_END});

    if (in == NULL)
        return;
    json_decref(in);
    rv = hsmca_revocation_revoke_issuer(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "issuer_ref"),
                                        &i);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "issuer_id", json_string(i.issuer_id));
    ob_issuer_respond(resp, &i);
    hsmca_ca_issuer_clear(&i);
}

const hsmca_http_route ob_revoke_routes[] = {
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke", revoke, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "revoke-with-key", revoke_with_key, 0},
    {HSMCA_HTTP_LIST, "certs/revoked", revoked_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "issuer/:issuer_ref/revoke", issuer_revoke, 0},
};
const size_t ob_revoke_routes_n = sizeof(ob_revoke_routes) / sizeof(ob_revoke_routes[0]);
