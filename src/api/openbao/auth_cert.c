/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS certificate auth method's configuration endpoints
 * (/v1/auth/<path>/certs, crls, config) in OpenBao's wire format. Roles,
 * CRLs and the method's config are documents of the method's store mount
 * ("auth/<path>"); every field is validated on write so that a login never
 * meets a role it cannot evaluate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hsmca/jsonfield.h"
#include "hsmca/store.h"
#include "internal.h"

#define DOC_CERT_ROLE "cert_role"
#define DOC_CERT_CRL "cert_crl"
#define CONFIG_ID "cert"
/* Serials one pushed CRL may list: bounds the document and the login-time
 * lookup (a larger CRL is refused with the reason). */
#define CRL_SERIALS_MAX 100000u

static hsmca_store *store_of(void *arg)
{
    return ((hsmca_openbao *)arg)->cfg.store;
}

/* Role and CRL names become route segments and document ids. */
static bool name_ok(const char *name, hsmca_http_resp *resp)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > HSMCA_STORE_ID_MAX) {
        hsmca_http_resp_error(resp, 400, "name: must be 1 to %d bytes", HSMCA_STORE_ID_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c >= 0x7f) {
            hsmca_http_resp_error(resp, 400, "name: control characters, spaces and non-ASCII are not allowed");
            return false;
        }
    }
    return true;
}

/* ---- roles (certs/:name) ---- */

/* The list-valued role fields: globs (or OIDs) kept as arrays of strings. */
static const char *const list_fields[] = {
    "allowed_names",        "allowed_common_names",         "allowed_dns_sans",     "allowed_email_sans",
    "allowed_uri_sans",     "allowed_organizational_units", "required_extensions",  "allowed_metadata_extensions",
    "ocsp_servers_override", "token_policies",              "token_bound_cidrs",
};
static const char *const bool_fields[] = {
    "ocsp_enabled", "ocsp_fail_open", "ocsp_query_all_servers", "token_strictly_bind_ip", "token_no_default_policy",
};
static const char *const duration_fields[] = {
    "token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period",
};

static const ob_field role_fields[] = {
    {"certificate", OBF_STRING},
    {"display_name", OBF_STRING},
    {"allowed_names", OBF_LIST},
    {"allowed_common_names", OBF_LIST},
    {"allowed_dns_sans", OBF_LIST},
    {"allowed_email_sans", OBF_LIST},
    {"allowed_uri_sans", OBF_LIST},
    {"allowed_organizational_units", OBF_LIST},
    {"required_extensions", OBF_LIST},
    {"allowed_metadata_extensions", OBF_LIST},
    {"ocsp_enabled", OBF_BOOL},
    {"ocsp_ca_certificates", OBF_STRING},
    {"ocsp_servers_override", OBF_LIST},
    {"ocsp_fail_open", OBF_BOOL},
    {"ocsp_query_all_servers", OBF_BOOL},
    {"token_ttl", OBF_DURATION},
    {"token_max_ttl", OBF_DURATION},
    {"token_policies", OBF_LIST},
    {"policies", OBF_LIST},
    {"token_bound_cidrs", OBF_LIST},
    {"bound_cidrs", OBF_LIST},
    {"token_strictly_bind_ip", OBF_BOOL},
    {"token_explicit_max_ttl", OBF_DURATION},
    {"token_no_default_policy", OBF_BOOL},
    {"token_num_uses", OBF_INT},
    {"token_period", OBF_DURATION},
    {"token_type", OBF_STRING},
    /* deprecated names OpenBao still accepts */
    {"ttl", OBF_DURATION},
    {"max_ttl", OBF_DURATION},
    {"period", OBF_DURATION},
    OB_FIELDS_END,
};

/* A role with every field at OpenBao's default. */
static json_t *role_defaults(void)
{
    json_t *r = json_pack("{s:s,s:s,s:s,s:I,s:s}", "certificate", "", "display_name", "", "ocsp_ca_certificates", "",
                          "token_num_uses", (json_int_t)0, "token_type", "default");

    for (size_t i = 0; r != NULL && i < sizeof(list_fields) / sizeof(list_fields[0]); i++)
        json_object_set_new(r, list_fields[i], json_array());
    for (size_t i = 0; r != NULL && i < sizeof(bool_fields) / sizeof(bool_fields[0]); i++)
        json_object_set_new(r, bool_fields[i], json_false());
    for (size_t i = 0; r != NULL && i < sizeof(duration_fields) / sizeof(duration_fields[0]); i++)
        json_object_set_new(r, duration_fields[i], json_integer(0));
    return r;
}

/* The certificates of a PEM text; NULL with the 400 in resp. At least one
 * and at most a small bundle: a role's CA is one certificate (OpenBao
 * accepts a bundle; every certificate of it is trusted). */
static STACK_OF(X509) *pem_certs(const char *field, const char *pem, hsmca_http_resp *resp)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x = NULL;

    if (b == NULL || sk == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto fail;
    }
    while (sk_X509_num(sk) < 16 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            hsmca_http_resp_error(resp, 500, "out of memory");
            goto fail;
        }
    }
    ERR_clear_error();
    if (sk_X509_num(sk) == 0) {
        hsmca_http_resp_error(resp, 400, "%s: not a PEM certificate", field);
        goto fail;
    }
    BIO_free(b);
    return sk;
fail:
    BIO_free(b);
    sk_X509_pop_free(sk, X509_free);
    return NULL;
}

/* required_extensions entries are "oid:glob"; allowed_metadata_extensions
 * entries are dotted OIDs. Names ("subjectAltName") are refused: OpenBao
 * matches numeric OIDs only, and a name would silently never match. */
static bool oid_ok(const char *field, const char *text, size_t len, hsmca_http_resp *resp)
{
    char buf[128];
    ASN1_OBJECT *o;

    if (len == 0 || len >= sizeof(buf)) {
        hsmca_http_resp_error(resp, 400, "%s: '%s' does not start with a dotted OID", field, text);
        return false;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    o = OBJ_txt2obj(buf, 1);
    ERR_clear_error();
    ASN1_OBJECT_free(o);
    if (o == NULL || strspn(buf, "0123456789.") != len) {
        hsmca_http_resp_error(resp, 400, "%s: '%s' is not a dotted OID", field, buf);
        return false;
    }
    return true;
}

static bool cidr_ok(const char *text, hsmca_http_resp *resp)
{
    char addr[64];
    unsigned char bin[16];
    const char *slash = strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
    long bits = -1, max;
    char *end = NULL;
    int v4;

    if (n == 0 || n >= sizeof(addr))
        goto bad;
    memcpy(addr, text, n);
    addr[n] = '\0';
    v4 = strchr(addr, ':') == NULL;
    max = v4 ? 32 : 128;
    if (inet_pton(v4 ? AF_INET : AF_INET6, addr, bin) != 1)
        goto bad;
    if (slash != NULL) {
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || bits < 0 || bits > max)
            goto bad;
    }
    return true;
bad:
    hsmca_http_resp_error(resp, 400, "token_bound_cidrs: '%s' is not an IP address or CIDR block", text);
    return false;
}

/* Checks the merged role; false with the 400 in resp. */
static bool role_check(json_t *r, hsmca_http_resp *resp)
{
    const char *pem = ob_str(r, "certificate", "");
    const char *tt = ob_str(r, "token_type", "");
    const json_t *v;
    size_t i;
    STACK_OF(X509) *sk;
    int64_t ttl = ob_int(r, "token_ttl", 0), max = ob_int(r, "token_max_ttl", 0);

    if (pem[0] == '\0') {
        hsmca_http_resp_error(resp, 400, "certificate: required (the PEM CA certificate, or a pinned leaf)");
        return false;
    }
    if ((sk = pem_certs("certificate", pem, resp)) == NULL)
        return false;
    sk_X509_pop_free(sk, X509_free);
    if (ob_str(r, "ocsp_ca_certificates", "")[0] != '\0') {
        if ((sk = pem_certs("ocsp_ca_certificates", ob_str(r, "ocsp_ca_certificates", ""), resp)) == NULL)
            return false;
        sk_X509_pop_free(sk, X509_free);
    }
    json_array_foreach(json_object_get(r, "required_extensions"), i, v) {
        const char *e = json_string_value(v), *colon = strchr(e, ':');
        if (colon == NULL) {
            hsmca_http_resp_error(resp, 400, "required_extensions: '%s' is not 'oid:value'", e);
            return false;
        }
        if (!oid_ok("required_extensions", e, (size_t)(colon - e), resp))
            return false;
    }
    json_array_foreach(json_object_get(r, "allowed_metadata_extensions"), i, v) {
        const char *e = json_string_value(v);
        if (!oid_ok("allowed_metadata_extensions", e, strlen(e), resp))
            return false;
    }
    json_array_foreach(json_object_get(r, "token_bound_cidrs"), i, v) {
        if (!cidr_ok(json_string_value(v), resp))
            return false;
    }
    /* The OCSP client asks only http(s) responders (src/util/fetch.c). */
    json_array_foreach(json_object_get(r, "ocsp_servers_override"), i, v) {
        const char *u = json_string_value(v);
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
            hsmca_http_resp_error(resp, 400, "ocsp_servers_override: '%s' is not an http:// or https:// URL", u);
            return false;
        }
    }
    if (ob_bool(r, "token_strictly_bind_ip", false) && json_array_size(json_object_get(r, "token_bound_cidrs")) > 0) {
        hsmca_http_resp_error(resp, 400, "token_strictly_bind_ip: conflicts with token_bound_cidrs; set one of them");
        return false;
    }
    if (strcmp(tt, "default") != 0 && strcmp(tt, "service") != 0) {
        hsmca_http_resp_error(resp, 400,
                              "token_type: '%s' is not supported: 'service' or 'default' (batch tokens are not "
                              "implemented by this appliance)",
                              tt);
        return false;
    }
    if (ob_int(r, "token_num_uses", 0) < 0) {
        hsmca_http_resp_error(resp, 400, "token_num_uses: must not be negative");
        return false;
    }
    if (ttl > 0 && max > 0 && ttl > max) {
        hsmca_http_resp_error(resp, 400, "token_ttl: %lld is greater than token_max_ttl %lld", (long long)ttl,
                              (long long)max);
        return false;
    }
    return true;
}

/* Fields given in `in` replace the role's; deprecated names fill the new
 * ones only when the new ones are not given (OpenBao's precedence). */
static void role_merge(json_t *role, json_t *in)
{
    static const char *const alias[][2] = {
        {"policies", "token_policies"}, {"bound_cidrs", "token_bound_cidrs"}, {"ttl", "token_ttl"},
        {"max_ttl", "token_max_ttl"},   {"period", "token_period"},
    };
    const char *k;
    json_t *v;

    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
        json_t *old = json_object_get(in, alias[i][0]);
        if (old != NULL && json_object_get(in, alias[i][1]) == NULL)
            json_object_set(in, alias[i][1], old);
        json_object_del(in, alias[i][0]);
    }
    json_object_foreach(in, k, v) {
        if (strcmp(k, "token_type") == 0 && json_string_value(v)[0] == '\0')
            json_object_set_new(role, k, json_string("default"));
        else
            json_object_set(role, k, v);
    }
}

static hsmca_rv role_load(void *arg, const char *mount, const char *name, json_t **out)
{
    hsmca_store_doc d;
    hsmca_rv rv;

    *out = NULL;
    memset(&d, 0, sizeof(d));
    rv = hsmca_store_doc_get(store_of(arg), mount, DOC_CERT_ROLE, name, &d);
    if (rv == HSMCA_OK) {
        *out = json_loads(d.body, 0, NULL);
        if (*out == NULL)
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "cert role '%s': stored document is not JSON", name);
    }
    hsmca_store_doc_clear(&d);
    return rv;
}

static hsmca_rv doc_put(void *arg, const char *mount, const char *kind, const char *id, const char *body,
                        const unsigned char *blob, size_t blob_len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(store_of(arg));
    hsmca_rv rv;

    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, kind, id, NULL, body, blob, blob_len);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

static hsmca_rv doc_delete(void *arg, const char *mount, const char *kind, const char *id)
{
    hsmca_store_batch *b = hsmca_store_batch_new(store_of(arg));
    hsmca_rv rv;

    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_store_batch_doc_delete(b, mount, kind, id);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* POST certs/:name: creates the role or changes the fields given. */
static void role_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *mount = ob_mount(req), *name = hsmca_http_req_param(req, "name");
    json_t *in = NULL, *role = NULL;
    char *body = NULL;
    hsmca_rv rv;

    if (!name_ok(name, resp))
        goto done;
    if ((in = ob_fields(req, resp, role_fields)) == NULL)
        goto done;
    rv = role_load(arg, mount, name, &role);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        role = role_defaults();
    } else if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    if (role == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    role_merge(role, in);
    if (!role_check(role, resp))
        goto done;
    body = json_dumps(role, JSON_COMPACT | JSON_SORT_KEYS);
    if (body == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    rv = doc_put(arg, mount, DOC_CERT_ROLE, name, body, NULL, 0);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "cert_role", json_string(name));
    hsmca_http_resp_no_content(resp);
done:
    free(body);
    json_decref(role);
    json_decref(in);
}

/* GET certs/:name: every field, with the deprecated mirrors OpenBao still
 * returns (policies, ttl, max_ttl, period). */
static void role_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *role = NULL;
    hsmca_rv rv = role_load(arg, ob_mount(req), hsmca_http_req_param(req, "name"), &role);

    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        hsmca_http_resp_error(resp, 404, "%s", "");
        return;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    json_object_set(role, "policies", json_object_get(role, "token_policies"));
    json_object_set(role, "bound_cidrs", json_object_get(role, "token_bound_cidrs"));
    json_object_set(role, "ttl", json_object_get(role, "token_ttl"));
    json_object_set(role, "max_ttl", json_object_get(role, "token_max_ttl"));
    json_object_set(role, "period", json_object_get(role, "token_period"));
    hsmca_http_resp_data(resp, 200, role);
}

static void role_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *name = hsmca_http_req_param(req, "name");
    hsmca_rv rv;

    if (!name_ok(name, resp))
        return;
    rv = doc_delete(arg, ob_mount(req), DOC_CERT_ROLE, name);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "cert_role", json_string(name));
    hsmca_http_resp_no_content(resp);
}

static int add_id(const hsmca_store_doc *d, void *arg)
{
    return json_array_append_new(arg, json_string(d->id)) == 0;
}

static void doc_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *kind)
{
    const char *after;
    size_t limit;
    json_t *keys;
    hsmca_rv rv;

    if (!ob_list_page(req, resp, &after, &limit))
        return;
    if ((keys = json_array()) == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    rv = hsmca_store_doc_list(store_of(arg), ob_mount(req), kind, after, limit, add_id, keys);
    if (rv != HSMCA_OK) {
        json_decref(keys);
        ob_fail(resp, rv);
        return;
    }
    ob_list_response(resp, keys, NULL);
}

static void role_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    doc_list(req, resp, arg, DOC_CERT_ROLE);
}

/* ---- crls/:name ---- */

static const ob_field crl_fields[] = {
    {"crl", OBF_STRING},
    {"url", OBF_STRING},
    OB_FIELDS_END,
};

/* The CRL's serials as decimal strings (OpenBao's wire form: serials may
 * exceed any integer type); NULL with the 400 in resp. */
static json_t *crl_serials(X509_CRL *crl, hsmca_http_resp *resp)
{
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n = sk_X509_REVOKED_num(rev);
    json_t *out = json_array();

    if (n > (int)CRL_SERIALS_MAX) {
        hsmca_http_resp_error(resp, 400, "crl: lists %d serials; at most %u are accepted", n, CRL_SERIALS_MAX);
        json_decref(out);
        return NULL;
    }
    for (int i = 0; out != NULL && i < n; i++) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i)), NULL);
        char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
        if (dec == NULL || json_array_append_new(out, json_string(dec)) != 0) {
            json_decref(out);
            out = NULL;
        }
        OPENSSL_free(dec);
        BN_free(bn);
    }
    if (out == NULL)
        hsmca_http_resp_error(resp, 500, "out of memory");
    return out;
}

/* POST crls/:name: a PEM CRL (crl wins over url, as OpenBao documents).
 * The CRL is stored as DER with its serials, so that logins after a
 * restart see it without fetching anything (CVE-2022-41316). */
static void crl_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *name = hsmca_http_req_param(req, "name");
    json_t *in = NULL, *serials = NULL, *doc = NULL;
    BIO *b = NULL;
    X509_CRL *crl = NULL;
    unsigned char *der = NULL;
    int der_len;
    char *body = NULL;
    const char *pem;
    hsmca_rv rv;

    if (!name_ok(name, resp))
        goto done;
    if ((in = ob_fields(req, resp, crl_fields)) == NULL)
        goto done;
    pem = ob_str(in, "crl", "");
    if (pem[0] == '\0') {
        const char *url = ob_str(in, "url", "");
        size_t url_der_len = 0;
        if (url[0] == '\0') {
            hsmca_http_resp_error(resp, 400, "crl: required (a PEM CRL), or url");
            goto done;
        }
        /* Fetched and verified now (a URL that does not give a CRL this
         * mount trusts is refused and changes nothing), then refreshed in
         * the background (auth_cert_crl_url.c). */
        rv = ob_cert_crl_from_url(arg, ob_mount(req), url, &body, &der, &url_der_len);
        if (rv != HSMCA_OK) {
            hsmca_http_resp_error(resp, rv == HSMCA_ERR_NOMEM ? 500 : 400, "%s", hsmca_err_message());
            hsmca_err_clear();
            goto done;
        }
        pthread_mutex_lock(&((hsmca_openbao *)arg)->crl_lock);
        rv = doc_put(arg, ob_mount(req), DOC_CERT_CRL, name, body, der, url_der_len);
        pthread_mutex_unlock(&((hsmca_openbao *)arg)->crl_lock);
        if (rv != HSMCA_OK) {
            ob_fail(resp, rv);
            goto done;
        }
        ob_audit_detail(req, "cert_crl", json_string(name));
        ob_audit_detail(req, "cert_crl_url", json_string(url));
        hsmca_http_resp_no_content(resp);
        goto done;
    }
    b = BIO_new_mem_buf(pem, -1);
    crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    ERR_clear_error();
    if (crl == NULL) {
        hsmca_http_resp_error(resp, 400, "crl: not a PEM X.509 CRL");
        goto done;
    }
    if ((serials = crl_serials(crl, resp)) == NULL)
        goto done;
    der_len = i2d_X509_CRL(crl, &der);
    doc = json_pack("{s:O}", "serials", serials);
    body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (der_len <= 0 || body == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    pthread_mutex_lock(&((hsmca_openbao *)arg)->crl_lock);
    rv = doc_put(arg, ob_mount(req), DOC_CERT_CRL, name, body, der, (size_t)der_len);
    pthread_mutex_unlock(&((hsmca_openbao *)arg)->crl_lock);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "cert_crl", json_string(name));
    hsmca_http_resp_no_content(resp);
done:
    free(body);
    json_decref(doc);
    json_decref(serials);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    BIO_free(b);
    json_decref(in);
}

/* GET crls/:name: {"serials": {"<decimal>": {}}} as OpenBao answers. */
static void crl_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_store_doc d;
    json_t *doc = NULL, *out = NULL, *v;
    size_t i;
    hsmca_rv rv;

    memset(&d, 0, sizeof(d));
    rv = hsmca_store_doc_get(store_of(arg), ob_mount(req), DOC_CERT_CRL, hsmca_http_req_param(req, "name"), &d);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        hsmca_http_resp_error(resp, 404, "%s", "");
        goto done;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    doc = json_loads(d.body, 0, NULL);
    out = json_object();
    if (doc == NULL || out == NULL) {
        hsmca_http_resp_error(resp, 500, "cert CRL document unreadable or out of memory");
        goto done;
    }
    json_array_foreach(json_object_get(doc, "serials"), i, v) {
        json_object_set_new(out, json_string_value(v), json_object());
    }
    hsmca_http_resp_data(resp, 200, json_pack("{s:O}", "serials", out));
done:
    json_decref(out);
    json_decref(doc);
    hsmca_store_doc_clear(&d);
}

static void crl_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *name = hsmca_http_req_param(req, "name");
    hsmca_rv rv;

    if (!name_ok(name, resp))
        return;
    pthread_mutex_lock(&((hsmca_openbao *)arg)->crl_lock);
    rv = doc_delete(arg, ob_mount(req), DOC_CERT_CRL, name);
    pthread_mutex_unlock(&((hsmca_openbao *)arg)->crl_lock);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_audit_detail(req, "cert_crl", json_string(name));
    hsmca_http_resp_no_content(resp);
}

static void crl_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    doc_list(req, resp, arg, DOC_CERT_CRL);
}

/* ---- config ---- */

static const ob_field config_fields[] = {
    {"disable_binding", OBF_BOOL},
    {"enable_identity_alias_metadata", OBF_BOOL},
    {"ocsp_cache_size", OBF_INT},
    OB_FIELDS_END,
};

static json_t *config_load(void *arg, const char *mount, hsmca_rv *rv)
{
    hsmca_store_doc d;
    json_t *c = NULL;

    memset(&d, 0, sizeof(d));
    *rv = hsmca_store_doc_get(store_of(arg), mount, HSMCA_DOC_CONFIG, CONFIG_ID, &d);
    if (*rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        *rv = HSMCA_OK;
        c = json_pack("{s:b,s:b,s:i}", "disable_binding", 0, "enable_identity_alias_metadata", 0, "ocsp_cache_size",
                      100);
    } else if (*rv == HSMCA_OK) {
        c = json_loads(d.body, 0, NULL);
    }
    if (*rv == HSMCA_OK && c == NULL)
        *rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_store_doc_clear(&d);
    return c;
}

static void config_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    json_t *in = ob_fields(req, resp, config_fields), *c = NULL;
    char *body = NULL;
    hsmca_rv rv;

    if (in == NULL)
        return;
    if ((c = config_load(arg, ob_mount(req), &rv)) == NULL) {
        ob_fail(resp, rv);
        goto done;
    }
    json_object_update(c, in);
    /* OpenBao's bound: an LRU of fewer than 2 entries cannot work. */
    if (ob_int(c, "ocsp_cache_size", 100) < 2 || ob_int(c, "ocsp_cache_size", 100) > 1000000) {
        hsmca_http_resp_error(resp, 400, "ocsp_cache_size: must be 2 to 1000000");
        goto done;
    }
    if ((body = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    if ((rv = doc_put(arg, ob_mount(req), HSMCA_DOC_CONFIG, CONFIG_ID, body, NULL, 0)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    hsmca_http_resp_no_content(resp);
done:
    free(body);
    json_decref(c);
    json_decref(in);
}

static void config_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_rv rv;
    json_t *c = config_load(arg, ob_mount(req), &rv);

    if (c == NULL) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_data(resp, 200, c);
}

static const hsmca_http_route cert_routes[] = {
    {HSMCA_HTTP_LIST | HSMCA_HTTP_GET, "certs", role_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "certs/:name", role_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "certs/:name", role_write, HSMCA_HTTP_ROUTE_EXISTENCE},
    {HSMCA_HTTP_DELETE, "certs/:name", role_delete, 0},
    {HSMCA_HTTP_LIST | HSMCA_HTTP_GET, "crls", crl_list, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "crls/:name", crl_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "crls/:name", crl_write, 0},
    {HSMCA_HTTP_DELETE, "crls/:name", crl_delete, 0},
    {HSMCA_HTTP_GET, "config", config_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "config", config_write, 0},
};

hsmca_rv ob_cert_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    return hsmca_http_router_add(r, cert_routes, sizeof(cert_routes) / sizeof(cert_routes[0]), api);
}
