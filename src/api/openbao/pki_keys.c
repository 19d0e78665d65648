/* SPDX-License-Identifier: Apache-2.0 */
/* PKI keys: LIST keys, keys/generate/:type (internal only: issuer keys are
 * made in the token and never leave it), keys/import (a PEM key written
 * into the token), GET/POST (rename)/DELETE key/:key_ref. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

static json_t *key_json(const hsmca_ca_key *k)
{
    return json_pack("{s:s, s:s, s:s}", "key_id", k->key_id, "key_name", k->key_name, "key_type", k->key_type);
}

static void key_respond(hsmca_http_resp *resp, const hsmca_ca_key *k)
{
    json_t *d = key_json(k);

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

/* OpenBao answers a name already in use with 400, not 409. */
static void key_fail(hsmca_http_resp *resp, hsmca_rv rv)
{
    if (rv == HSMCA_ERR_EXISTS)
        hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
    else
        ob_fail(resp, rv);
}

/* The default key's id, "" when none. */
/* ---- LIST keys ---- */

static json_t *key_entry(const void *item, bool is_default)
{
    const hsmca_ca_key *k = item;

    return json_pack("{s:s, s:b}", "key_name", k->key_name, "is_default", is_default);
}

static int collect_key(const hsmca_ca_key *k, void *arg)
{
    return ob_id_page_add(arg, k->key_id, key_entry, k);
}

static void keys_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_id_page p;

    if (!ob_id_page_start(req, resp, arg, "keys", &p))
        return;
    ob_id_page_finish(resp, &p,
                      p.failed ? HSMCA_ERR_NOMEM : hsmca_ca_key_list(ob_ca(arg), ob_mount(req), collect_key, &p));
}

/* ---- keys/generate/:type ---- */

static const ob_field generate_fields[] = {
    {"key_name", OBF_STRING},
    {"key_type", OBF_STRING},
    {"key_bits", OBF_INT},
    OB_FIELDS_END,
};

static void key_generate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *type = hsmca_http_req_param(req, "type");
    json_t *in = ob_fields(req, resp, generate_fields);
    int64_t bits;
    hsmca_ca_key k;
    hsmca_rv rv;

    if (in == NULL)
        return;
    /* OpenBao's kms type points at a key in an external KMS; here every
     * issuer key is a token object this appliance made or imported. */
    if (type != NULL && strcmp(type, "kms") == 0) {
        json_decref(in);
        hsmca_http_resp_error(resp, 400,
                              "type 'kms' is refused: issuer keys are generated in this appliance's HSM and never "
                              "leave it; use 'internal'");
        return;
    }
    bits = ob_int(in, "key_bits", 0);
    if (bits < 0 || bits > 16384) {
        json_decref(in);
        hsmca_http_resp_error(resp, 400, "key_bits %lld is not a key size", (long long)bits);
        return;
    }
    /* The core refuses "exported" with its reason (keys never leave the
     * token) and checks name, type and size. */
    rv = hsmca_ca_key_generate(ob_ca(arg), ob_mount(req), type, ob_str(in, "key_name", ""),
                               ob_str(in, "key_type", "rsa"), (unsigned)bits, &k);
    json_decref(in);
    if (rv != HSMCA_OK) {
        key_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "key_id", json_string(k.key_id));
    key_respond(resp, &k);
}

/* ---- keys/import ---- */

static const ob_field import_fields[] = {
    {"pem_bundle", OBF_STRING},
    {"key_name", OBF_STRING},
    OB_FIELDS_END,
};

/* Wipes a JSON string's bytes in place: the key's PEM must not linger in
 * freed heap once it is in the token. jansson hands out its own malloc'd
 * buffer as const only to keep callers from changing the value; nothing
 * reads pem_bundle after the import, so overwriting it is safe. */
static void cleanse_string(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    if (json_is_string(v))
        OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

static void key_import(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, import_fields);
    const char *pem;
    hsmca_ca_key k;
    hsmca_rv rv;

    if (in == NULL)
        return;
    pem = ob_str(in, "pem_bundle", "");
    if (pem[0] == '\0') {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle: a PEM private key is required");
    } else {
        rv = hsmca_ca_key_import(ob_ca(arg), ob_mount(req), ob_str(in, "key_name", ""), pem,
                                 json_string_length(json_object_get(in, "pem_bundle")), &k);
    }
    cleanse_string(in, "pem_bundle");
    cleanse_string(hsmca_http_req_json(req), "pem_bundle");
    json_decref(in);
    if (rv != HSMCA_OK) {
        key_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "key_id", json_string(k.key_id));
    key_respond(resp, &k);
}

/* ---- key/:key_ref ---- */

static void key_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_key k;
    hsmca_rv rv = hsmca_ca_key_get(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "key_ref"), &k);

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    key_respond(resp, &k);
}

static const ob_field update_fields[] = {
    {"key_name", OBF_STRING},
    OB_FIELDS_END,
};

/* POST overwrites: an absent key_name removes the name (OpenBao). */
static void key_update(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *ref = hsmca_http_req_param(req, "key_ref");
    json_t *in = ob_fields(req, resp, update_fields);
    char key_id[sizeof(((hsmca_ca_key *)0)->key_id)];
    hsmca_ca_key k;
    hsmca_rv rv;

    if (in == NULL)
        return;
    rv = hsmca_ca_key_get(ob_ca(arg), ob_mount(req), ref, &k);
    if (rv == HSMCA_OK) {
        snprintf(key_id, sizeof(key_id), "%s", k.key_id);
        rv = hsmca_ca_key_rename(ob_ca(arg), ob_mount(req), key_id, ob_str(in, "key_name", ""));
    }
    if (rv == HSMCA_OK)
        rv = hsmca_ca_key_get(ob_ca(arg), ob_mount(req), key_id, &k);
    json_decref(in);
    if (rv != HSMCA_OK) {
        key_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "key_id", json_string(k.key_id));
    if (k.key_name[0] == '\0')
        hsmca_http_resp_warn(resp, "Name successfully deleted, you will now need to reference this key by its Id: %s",
                             k.key_id);
    key_respond(resp, &k);
}

static void key_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *ref = hsmca_http_req_param(req, "key_ref");
    char default_id[40];
    hsmca_ca_key k;
    hsmca_rv rv = hsmca_ca_key_get(ob_ca(arg), ob_mount(req), ref, &k);

    /* OpenBao: deleting a key that does not exist is not an error. */
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_http_resp_no_content(resp);
        return;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_default_id(arg, ob_mount(req), "keys", default_id);
    /* Refused while an issuer uses the key: 400 with the core's reason, as
     * OpenBao answers. */
    rv = hsmca_ca_key_delete(ob_ca(arg), ob_mount(req), k.key_id);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_http_resp_no_content(resp);
        return;
    }
    if (rv != HSMCA_OK) {
        key_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "key_id", json_string(k.key_id));
    if (strcmp(default_id, k.key_id) == 0) {
        hsmca_http_resp_warn(resp,
                             "Deleted key %s (via key_ref %s); this was configured as the default key. Operations "
                             "without an explicit key will not work until a new default is configured.",
                             k.key_id, ref);
        hsmca_http_resp_data(resp, 200, NULL);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

const hsmca_http_route ob_keys_routes[] = {
    {HSMCA_HTTP_LIST, "keys", keys_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "keys/generate/:type", key_generate, 0},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "keys/import", key_import, 0},
    {HSMCA_HTTP_GET, "key/:key_ref", key_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "key/:key_ref", key_update, 0},
    {HSMCA_HTTP_DELETE, "key/:key_ref", key_delete, 0},
};
const size_t ob_keys_routes_n = sizeof(ob_keys_routes) / sizeof(ob_keys_routes[0]);
