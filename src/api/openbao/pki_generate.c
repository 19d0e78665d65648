/* SPDX-License-Identifier: Apache-2.0 */
/* PKI endpoint group "generate": making and importing CAs -- root/generate,
 * issuers/generate/root, root/rotate, root/replace, DELETE root,
 * intermediate/generate, issuers/generate/intermediate,
 * intermediate/cross-sign, intermediate/set-signed, config/ca and
 * issuers/import/{bundle,cert}. Issuer keys are made in, or imported into,
 * the HSM: no response here ever carries an issuer private key, and the
 * "exported" (and "kms") key types are refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "internal.h"

#define AIA_WARNING                                                                                                \
    "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for "    \
    "systems to find missing certificates in the chain or to validate revocation status of certificates. "       \
    "Consider updating /config/urls or the newly generated issuer with this information."

/* Whether config/urls names any AIA or CRL location (OpenBao warns when
 * none is set). Errors read as "set": no warning rather than a wrong one. */
static bool urls_configured(hsmca_ca *ca, const char *mount)
{
    static const char *const names[] = {"issuing_certificates", "crl_distribution_points", "ocsp_servers"};
    char *text = NULL;
    json_t *cfg;
    bool any = false;

    if (hsmca_ca_config_get(ca, mount, "urls", &text) != HSMCA_OK) {
        hsmca_err_clear();
        return true;
    }
    cfg = json_loads(text, 0, NULL);
    free(text);
    if (cfg == NULL)
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        any = any || json_array_size(json_object_get(cfg, names[i])) > 0;
    json_decref(cfg);
    return any;
}

/* ---- request fields of CA generation ---- */

#define SUBJECT_FIELDS                                                                                             \
    {"common_name", OBF_STRING}, {"alt_names", OBF_LIST}, {"ip_sans", OBF_LIST}, {"uri_sans", OBF_LIST},         \
        {"other_sans", OBF_LIST}, {"exclude_cn_from_sans", OBF_BOOL}, {"ou", OBF_LIST},                          \
        {"organization", OBF_LIST}, {"country", OBF_LIST}, {"locality", OBF_LIST}, {"province", OBF_LIST},       \
        {"street_address", OBF_LIST}, {"postal_code", OBF_LIST}, {"serial_number", OBF_STRING}

#define KEY_FIELDS                                                                                                 \
    {"key_type", OBF_STRING}, {"key_bits", OBF_INT}, {"key_name", OBF_STRING}, {"key_ref", OBF_STRING},          \
        {"signature_bits", OBF_INT}, {"format", OBF_STRING}, {"private_key_format", OBF_STRING}

static const ob_field root_fields[] = {
    SUBJECT_FIELDS,
    KEY_FIELDS,
    {"issuer_name", OBF_STRING},
    {"ttl", OBF_DURATION},
    {"not_after", OBF_STRING},
    {"not_before_duration", OBF_DURATION},
    {"max_path_length", OBF_INT},
    {"permitted_dns_domains", OBF_LIST},
    {"use_pss", OBF_BOOL},
    {"key_usage", OBF_LIST},
    {"ext_key_usage", OBF_LIST},
    {"ext_key_usage_oids", OBF_LIST},
    OB_FIELDS_END};

static const ob_field intermediate_fields[] = {
    SUBJECT_FIELDS,
    KEY_FIELDS,
    {"add_basic_constraints", OBF_BOOL},
    OB_FIELDS_END};

/* The fields of hsmca_ca_params a generate request gives: the subject and
 * validity ones sign-intermediate takes too, and the key's (strings
 * borrowed from in). */
static hsmca_rv ca_params_read(const json_t *in, hsmca_ca_params *p)
{
    int64_t bits = ob_int(in, "key_bits", 0);

    if (bits < 0 || bits > 16384)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %lld is not a key size", (long long)bits);
    p->issuer_name = ob_str(in, "issuer_name", "");
    p->key_name = ob_str(in, "key_name", "");
    p->key_ref = ob_str(in, "key_ref", "default");
    p->key_type = ob_str(in, "key_type", "rsa");
    p->key_bits = (unsigned)bits;
    p->add_basic_constraints = ob_bool(in, "add_basic_constraints", false);
    if (p->key_ref[0] == '\0')
        p->key_ref = "default";
    if (p->key_type[0] == '\0')
        p->key_type = "rsa";
    return ob_ca_subject_read(in, p);
}

/* The :type of a generate path. internal and existing go on; exported and
 * kms are refused before anything is made. false with the 400 in resp. */
static bool key_source_ok(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *type)
{
    if (strcmp(type, "internal") == 0 || strcmp(type, "existing") == 0)
        return true;
    if (strcmp(type, "exported") == 0) {
        /* The CA core's refusal (keys/generate refuses "exported" before
         * touching anything), so every path says it the same way. */
        hsmca_ca_key k;
        hsmca_rv rv = hsmca_ca_key_generate(ob_ca(arg), ob_mount(req), "exported", NULL, NULL, 0, &k);
        ob_fail(resp, rv != HSMCA_OK ? rv : hsmca_err(HSMCA_ERR_INTERNAL, "exported was not refused"));
        return false;
    }
    if (strcmp(type, "kms") == 0) {
        hsmca_http_resp_error(resp, 400,
                              "type 'kms' is refused: issuer keys are generated in this appliance's HSM and "
                              "never leave it; external KMS (managed) keys are not supported (use 'internal' or "
                              "'existing')");
        return false;
    }
    hsmca_http_resp_error(resp, 400, "type '%s' is not one of internal, existing", type);
    return false;
}

/* ---- root/generate/:type, issuers/generate/root/:type, root/rotate/:type ---- */

static void root_generate_common(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool rotate)
{
    const char *mount = ob_mount(req);
    const char *type = hsmca_http_req_param(req, "type");
    hsmca_ca *ca = ob_ca(arg);
    hsmca_ca_params p;
    hsmca_ca_result res;
    ob_format f;
    json_t *in, *data = NULL;
    char *cert = NULL;
    hsmca_rv rv;

    hsmca_ca_params_init(&p);
    memset(&res, 0, sizeof(res));
    if (!key_source_ok(req, resp, arg, type))
        return;
    in = ob_fields(req, resp, root_fields);
    if (in == NULL)
        return;
    if (!ob_format_read(in, resp, &f, NULL) || !ob_signature_bits_ok(in, resp) ||
        !ob_not_after_ok(in, resp))
        goto done;
    if (!ob_max_path_length_read(in, resp, &p.max_path_length))
        goto done;
    if ((rv = ca_params_read(in, &p)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    p.type = type;
    if (rotate && p.issuer_name[0] == '\0') {
        /* OpenBao: root/rotate names the new issuer "next" unless that
         * name is taken. */
        hsmca_ca_issuer existing;
        memset(&existing, 0, sizeof(existing));
        rv = hsmca_ca_issuer_get(ca, mount, "next", &existing);
        hsmca_ca_issuer_clear(&existing);
        hsmca_err_clear();
        if (rv == HSMCA_ERR_NOT_FOUND)
            p.issuer_name = "next";
    }
    if (ob_has(in, "key_usage") || ob_has(in, "ext_key_usage") || ob_has(in, "ext_key_usage_oids"))
        hsmca_http_resp_warn(resp, "key_usage, ext_key_usage and ext_key_usage_oids do not apply to CA "
                                   "certificates (they always carry keyCertSign and cRLSign); ignored");
    ob_audit_detail(req, "common_name", json_string(p.common_name));
    rv = hsmca_ca_generate_root(ca, mount, &p, &res);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "issuer_id", json_string(res.issuer_id));
    ob_audit_detail(req, "key_id", json_string(res.key_id));
    ob_audit_detail(req, "serial_number", json_string(res.serial_number));
    for (size_t i = 0; i < res.warnings.n; i++)
        hsmca_http_resp_warn(resp, "%s", res.warnings.v[i]);
    if (X509_get_ext_by_NID(res.certificate, NID_info_access, -1) < 0 &&
        X509_get_ext_by_NID(res.certificate, NID_crl_distribution_points, -1) < 0)
        hsmca_http_resp_warn(resp, AIA_WARNING);
    if (X509_get_pathlen(res.certificate) == 0)
        hsmca_http_resp_warn(resp, "Max path length of the generated certificate is zero. This certificate "
                                   "cannot be used to issue intermediate CA certificates.");
    /* pem_bundle would prepend the private key when exported; hsmca never
     * exports one, so it is the certificate alone, as OpenBao's internal. */
    cert = ob_cert_text(res.certificate, f == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM);
    data = json_object();
    if (cert == NULL || data == NULL || json_object_set_new(data, "expiration", json_integer(res.expiration)) ||
        json_object_set_new(data, "certificate", json_string(cert)) ||
        json_object_set_new(data, "issuing_ca", json_string(cert)) ||
        json_object_set_new(data, "serial_number", json_string(res.serial_number)) ||
        json_object_set_new(data, "issuer_id", json_string(res.issuer_id)) ||
        json_object_set_new(data, "issuer_name", json_string(res.issuer_name)) ||
        json_object_set_new(data, "key_id", json_string(res.key_id)) ||
        json_object_set_new(data, "key_name", json_string(res.key_name))) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the response"));
        goto done;
    }
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
done:
    json_decref(data);
    free(cert);
    hsmca_ca_result_clear(&res);
    hsmca_ca_params_clear(&p);
    json_decref(in);
}

static void root_generate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    root_generate_common(req, resp, arg, false);
}

static void root_rotate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    root_generate_common(req, resp, arg, true);
}

/* ---- intermediate/generate/:type, issuers/generate/intermediate/:type,
 *      intermediate/cross-sign ---- */

static void intermediate_generate_common(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *type)
{
    const char *mount = ob_mount(req);
    hsmca_ca *ca = ob_ca(arg);
    hsmca_ca_params p;
    hsmca_ca_result res;
    ob_format f;
    json_t *in, *data = NULL;
    char *csr = NULL;
    hsmca_rv rv;

    hsmca_ca_params_init(&p);
    memset(&res, 0, sizeof(res));
    if (!key_source_ok(req, resp, arg, type))
        return;
    in = ob_fields(req, resp, intermediate_fields);
    if (in == NULL)
        return;
    if (!ob_format_read(in, resp, &f, NULL) || !ob_signature_bits_ok(in, resp))
        goto done;
    if ((rv = ca_params_read(in, &p)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    p.type = type;
    ob_audit_detail(req, "common_name", json_string(p.common_name));
    rv = hsmca_ca_generate_intermediate(ca, mount, &p, &res);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "key_id", json_string(res.key_id));
    for (size_t i = 0; i < res.warnings.n; i++)
        hsmca_http_resp_warn(resp, "%s", res.warnings.v[i]);
    if (!urls_configured(ca, mount))
        hsmca_http_resp_warn(resp, AIA_WARNING " Since this certificate is an intermediate, it might be useful to "
                                               "regenerate this certificate after fixing this problem for the root "
                                               "mount.");
    /* pem_bundle would prepend an exported key; there never is one. */
    csr = ob_csr_text(res.csr, f == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM);
    data = json_object();
    if (csr == NULL || data == NULL || json_object_set_new(data, "csr", json_string(csr)) ||
        json_object_set_new(data, "key_id", json_string(res.key_id))) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the response"));
        goto done;
    }
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
done:
    json_decref(data);
    free(csr);
    hsmca_ca_result_clear(&res);
    hsmca_ca_params_clear(&p);
    json_decref(in);
}

static void intermediate_generate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    intermediate_generate_common(req, resp, arg, hsmca_http_req_param(req, "type"));
}

/* OpenBao: cross-sign is intermediate/generate with type existing (a CSR
 * for a key the mount has, by key_ref). */
static void intermediate_cross_sign(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    intermediate_generate_common(req, resp, arg, "existing");
}

/* ---- config/ca, issuers/import/{bundle,cert}, intermediate/set-signed ---- */

/* transcript (hsmca's own): a key ceremony's transcript that must vouch
 * for the first certificate (docs/ceremony.md). */
static const ob_field bundle_fields[] = {{"pem_bundle", OBF_STRING}, {"transcript", OBF_STRING}, OB_FIELDS_END};
static const ob_field set_signed_fields[] = {{"certificate", OBF_STRING}, {"transcript", OBF_STRING}, OB_FIELDS_END};

/* A PEM bundle may hold private keys: the copies of it this handler owns
 * or borrows (the typed fields and the parsed body) are cleansed once the
 * keys are in the token. The raw body belongs to the HTTP server. */
static void cleanse_string(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    /* jansson offers no mutable view of a string; its buffer is its own
     * malloc'd copy, so writing zeros over it (length unchanged) is safe. */
    if (json_is_string(v))
        OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

/* issuer id -> key id ("" for a key-less issuer) for every issuer of the
 * bundle, new or already present (OpenBao's mapping). */
static json_t *issuer_key_mapping(hsmca_ca *ca, const char *mount, const hsmca_ca_result *res, size_t *keyless,
                                  size_t *with_key)
{
    const hsmca_strlist *lists[] = {&res->imported_issuers, &res->existing_issuers};
    json_t *m = json_object();

    *keyless = *with_key = 0;
    for (size_t l = 0; m != NULL && l < 2; l++) {
        for (size_t i = 0; i < lists[l]->n; i++) {
            hsmca_ca_issuer iss;
            memset(&iss, 0, sizeof(iss));
            if (hsmca_ca_issuer_get(ca, mount, lists[l]->v[i], &iss) != HSMCA_OK)
                hsmca_err_clear();
            json_object_set_new(m, lists[l]->v[i], json_string(iss.key_id));
            if (iss.key_id[0] != '\0')
                (*with_key)++;
            else
                (*keyless)++;
            hsmca_ca_issuer_clear(&iss);
        }
    }
    return m;
}

/* The default issuer of the mount ("" if none). */
static void default_issuer(hsmca_ca *ca, const char *mount, char out[37])
{
    hsmca_ca_issuer iss;

    memset(&iss, 0, sizeof(iss));
    out[0] = '\0';
    if (hsmca_ca_issuer_get(ca, mount, "default", &iss) == HSMCA_OK)
        snprintf(out, 37, "%s", iss.issuer_id);
    else
        hsmca_err_clear();
    hsmca_ca_issuer_clear(&iss);
}

static void import_common(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool allow_keys, bool set_signed)
{
    const char *mount = ob_mount(req);
    const char *field = set_signed ? "certificate" : "pem_bundle";
    hsmca_ca *ca = ob_ca(arg);
    hsmca_ca_result res;
    json_t *in, *data = NULL, *mapping = NULL;
    const char *pem, *transcript;
    char def[37];
    size_t keyless = 0, with_key = 0;
    hsmca_rv rv;

    memset(&res, 0, sizeof(res));
    in = ob_fields(req, resp, set_signed ? set_signed_fields : bundle_fields);
    if (in == NULL)
        goto cleanse;
    pem = ob_str(in, field, "");
    if (pem[0] == '\0') {
        hsmca_http_resp_error(resp, 400, "%s is required: %s", field,
                              set_signed ? "the signed intermediate certificate (PEM), optionally with its chain"
                                         : "the PEM certificates (and for bundles, keys) to import");
        goto done;
    }
    transcript = ob_str(in, "transcript", "");
    if (transcript[0] != '\0')
        rv = hsmca_ca_import_bundle_transcript(ca, mount, pem, strlen(pem), allow_keys, transcript, strlen(transcript),
                                               &res);
    else
        rv = hsmca_ca_import_bundle(ca, mount, pem, strlen(pem), allow_keys, &res);
    if (rv != HSMCA_OK) {
        const char *m = hsmca_err_message();
        /* The core names its input pem_bundle; set-signed calls it
         * certificate. */
        if (set_signed && strncmp(m, "pem_bundle", 10) == 0)
            hsmca_http_resp_error(resp, hsmca_http_status_for_rv(rv), "certificate%s", m + 10);
        else if (!allow_keys && rv == HSMCA_ERR_INVALID_ARG && strstr(m, "private keys are not accepted") != NULL)
            hsmca_http_resp_error(resp, 400, "%s: private keys found in the PEM bundle but not allowed by the "
                                             "path; use /issuers/import/bundle", field);
        else
            ob_fail_write(resp, rv);
        goto done;
    }
    mapping = issuer_key_mapping(ca, mount, &res, &keyless, &with_key);
    data = json_object();
    if (mapping == NULL || data == NULL ||
        json_object_set_new(data, "imported_issuers", ob_strlist_json(&res.imported_issuers)) ||
        json_object_set_new(data, "imported_keys", ob_strlist_json(&res.imported_keys)) ||
        json_object_set(data, "mapping", mapping) ||
        json_object_set_new(data, "existing_issuers", ob_strlist_json(&res.existing_issuers)) ||
        json_object_set_new(data, "existing_keys", ob_strlist_json(&res.existing_keys))) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the response"));
        goto done;
    }
    ob_audit_detail(req, "imported_issuers", ob_strlist_json(&res.imported_issuers));
    ob_audit_detail(req, "imported_keys", ob_strlist_json(&res.imported_keys));
    default_issuer(ca, mount, def);
    if (def[0] != '\0') {
        const char *k = json_string_value(json_object_get(mapping, def));
        if (k != NULL && k[0] == '\0')
            hsmca_http_resp_warn(resp, "The default issuer has no key associated with it. Some operations like "
                                       "issuing certificates and signing CRLs will be unavailable with the "
                                       "requested default issuer until a key is imported or the default issuer "
                                       "is changed.");
    }
    if (set_signed && with_key == 0 && keyless > 0)
        hsmca_http_resp_warn(resp, "No key of this mount matches the imported certificate's public key: it was "
                                   "stored as an issuer that cannot sign. Was the CSR made by "
                                   "intermediate/generate on this mount?");
    if (!urls_configured(ca, mount))
        hsmca_http_resp_warn(resp, AIA_WARNING);
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
done:
    json_decref(data);
    json_decref(mapping);
    hsmca_ca_result_clear(&res);
    if (in != NULL)
        cleanse_string(in, field);
    json_decref(in);
cleanse:
    /* The parsed body (borrowed; freed by the HTTP server) also holds the
     * key text; nothing reads it after this handler. */
    if (allow_keys)
        cleanse_string(hsmca_http_req_json(req), "pem_bundle");
}

static void config_ca(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    import_common(req, resp, arg, true, false);
}

static void import_bundle(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    import_common(req, resp, arg, true, false);
}

static void import_cert(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    import_common(req, resp, arg, false, false);
}

static void set_signed(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    import_common(req, resp, arg, false, true);
}

/* ---- root/replace ---- */

static const ob_field replace_fields[] = {{"default", OBF_STRING}, OB_FIELDS_END};

/* OpenBao's root/replace: config/issuers' default set to `default`
 * ("next" unless given). */
static void root_replace(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *mount = ob_mount(req);
    hsmca_ca *ca = ob_ca(arg);
    hsmca_ca_issuer iss;
    json_t *in, *cfg = NULL, *data = NULL;
    char *text = NULL;
    const char *ref;
    hsmca_rv rv;

    memset(&iss, 0, sizeof(iss));
    in = ob_fields(req, resp, replace_fields);
    if (in == NULL)
        return;
    ref = ob_str(in, "default", "next");
    if (ref[0] == '\0' || strcmp(ref, "default") == 0) {
        hsmca_http_resp_error(resp, 400, "default '%s': invalid issuer specification; must be non-empty and "
                                         "can't be 'default'", ref);
        goto done;
    }
    if ((rv = hsmca_ca_issuer_get(ca, mount, ref, &iss)) != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    if ((rv = hsmca_ca_config_get(ca, mount, "issuers", &text)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    cfg = json_loads(text, 0, NULL);
    free(text);
    text = NULL;
    if (cfg == NULL || json_object_set_new(cfg, "default", json_string(iss.issuer_id)) != 0 ||
        (text = json_dumps(cfg, JSON_COMPACT)) == NULL) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory"));
        goto done;
    }
    if ((rv = hsmca_ca_config_set(ca, mount, "issuers", text)) != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "issuer_id", json_string(iss.issuer_id));
    if (iss.key_id[0] == '\0')
        hsmca_http_resp_warn(resp, "This selected default issuer has no key associated with it. Some operations "
                                   "like issuing certificates and signing CRLs will be unavailable with the "
                                   "requested default issuer until a key is imported or the default issuer is "
                                   "changed.");
    data = json_pack("{s:s, s:b}", "default", iss.issuer_id, "default_follows_latest_issuer",
                     json_is_true(json_object_get(cfg, "default_follows_latest_issuer")));
    if (data == NULL) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory"));
        goto done;
    }
    hsmca_http_resp_data(resp, 200, data);
done:
    free(text);
    json_decref(cfg);
    hsmca_ca_issuer_clear(&iss);
    json_decref(in);
}

/* ---- DELETE root ---- */

static void root_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_rv rv = hsmca_ca_delete_all(ob_ca(arg), ob_mount(req));

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    /* OpenBao answers 200 with this warning and no data. */
    hsmca_http_resp_data(resp, 200, NULL);
    hsmca_http_resp_warn(resp, "DELETE /root deletes all keys and issuers; prefer the new DELETE /key/:key_ref "
                               "and DELETE /issuer/:issuer_ref for finer granularity, unless removal of all keys "
                               "and issuers is desired.");
}

#define UPDATE (HSMCA_HTTP_POST | HSMCA_HTTP_PUT)

const hsmca_http_route ob_generate_routes[] = {
    {UPDATE, "root/generate/:type", root_generate, 0},
    {UPDATE, "issuers/generate/root/:type", root_generate, 0},
    {UPDATE, "root/rotate/:type", root_rotate, 0},
    {UPDATE, "root/replace", root_replace, 0},
    /* OpenBao's sudo paths are "root" and "root/sign-self-issued". */
    {HSMCA_HTTP_DELETE, "root", root_delete, HSMCA_HTTP_ROUTE_SUDO},
    {UPDATE, "intermediate/generate/:type", intermediate_generate, 0},
    {UPDATE, "issuers/generate/intermediate/:type", intermediate_generate, 0},
    {UPDATE, "intermediate/cross-sign", intermediate_cross_sign, 0},
    {UPDATE, "intermediate/set-signed", set_signed, 0},
    {UPDATE, "config/ca", config_ca, 0},
    {UPDATE, "issuers/import/bundle", import_bundle, 0},
    {UPDATE, "issuers/import/cert", import_cert, 0},
};
const size_t ob_generate_routes_n = sizeof(ob_generate_routes) / sizeof(ob_generate_routes[0]);
