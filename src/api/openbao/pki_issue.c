/* SPDX-License-Identifier: Apache-2.0 */
/* PKI endpoint group "issue": certificates made under an issuer of the
 * mount -- issue/:role (the leaf key made here and returned once), sign/:role,
 * sign-verbatim(/:role), sign-intermediate and sign-self-issued, each also
 * under issuer/:issuer_ref/. Fields, defaults and response fields are
 * OpenBao's (shared/reference/openbao-pki-api.txt); each handler is one CA
 * core call. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "hsmca/uuid.h"
#include "hsmca/jsonfield.h"
#include "internal.h"

/* ---- output formats (OpenBao's format / private_key_format) ---- */

typedef struct {
    ob_format format;
    bool pkcs8;        /* private_key_format pkcs8 */
    bool remove_roots; /* remove_roots_from_chain */
} out_opts;

/* format and private_key_format; false with the 400 in resp. */
static bool read_out_opts(const json_t *in, hsmca_http_resp *resp, out_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (!ob_format_read(in, resp, &o->format, &o->pkcs8))
        return false;
    o->remove_roots = ob_bool(in, "remove_roots_from_chain", false);
    return true;
}

/* OpenBao's self-signed test for remove_roots_from_chain: issuer = subject
 * and the certificate verifies under its own key. */
static bool is_self_signed(X509 *x)
{
    int r = X509_self_signed(x, 1);

    ERR_clear_error();
    return r == 1;
}

/* ca_chain: optionally `first`, then the chain, roots dropped on request. */
static json_t *chain_json(X509 *first, STACK_OF(X509) *chain, ob_format f, bool remove_roots)
{
    json_t *a = json_array();
    int n = sk_X509_num(chain);

    for (int i = -1; a != NULL && i < n; i++) {
        X509 *x = i < 0 ? first : sk_X509_value(chain, i);
        char *s;
        if (x == NULL || (remove_roots && is_self_signed(x)))
            continue;
        s = ob_cert_text(x, f);
        if (s == NULL || json_array_append_new(a, json_string(s)) != 0) {
            free(s);
            json_decref(a);
            return NULL;
        }
        free(s);
    }
    return a;
}

/* OpenBao's pem_bundle certificate field: the private key (issue only),
 * the certificate and the issuing chain, joined by newlines. Built in
 * secure memory because it may hold the leaf key; *out is freed with
 * OPENSSL_secure_clear_free(*out, *len + 1). */
static hsmca_rv pem_bundle_text(const char *key_pem, size_t key_len, X509 *cert, STACK_OF(X509) *chain,
                                char **out, size_t *len)
{
    char *parts[1 + 64];
    size_t n = 0, total = key_len, pos = 0;
    char *buf = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    *len = 0;
    parts[n] = ob_cert_pem(cert);
    if (parts[n] == NULL)
        goto done;
    total += strlen(parts[n++]) + 1;
    for (int i = 0; i < sk_X509_num(chain) && n < sizeof(parts) / sizeof(parts[0]); i++) {
        parts[n] = ob_cert_pem(sk_X509_value(chain, i));
        if (parts[n] == NULL)
            goto done;
        total += strlen(parts[n++]) + 1;
    }
    buf = OPENSSL_secure_malloc(total + 1);
    if (buf == NULL)
        goto done;
    if (key_pem != NULL && key_len > 0) {
        memcpy(buf, key_pem, key_len);
        pos = key_len;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        if (pos > 0)
            buf[pos++] = '\n';
        memcpy(buf + pos, parts[i], l);
        pos += l;
    }
    buf[pos] = '\0';
    *out = buf;
    *len = pos;
    rv = HSMCA_OK;
done:
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    return rv == HSMCA_OK ? rv : hsmca_err(rv, "out of memory building the PEM bundle");
}

/* The leaf key as OpenBao marshals private_key: PKCS#1 (RSA) or SEC1 (EC)
 * by default, PKCS#8 with private_key_format pkcs8 and always for Ed25519
 * (Go has no other form for it); PEM without the trailing newline, or
 * base64 of the DER. Every buffer of ours that holds it is secure-heap
 * memory, cleansed on release; *out is freed by the caller with
 * OPENSSL_secure_clear_free(*out, *len + 1). */
static hsmca_rv key_text(EVP_PKEY *k, const out_opts *o, char **out, size_t *len)
{
    BIO *b = BIO_new(BIO_s_secmem());
    bool pkcs8 = o->pkcs8 || EVP_PKEY_is_a(k, "ED25519");
    BUF_MEM *bm = NULL;
    int ok;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    *out = NULL;
    *len = 0;
    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (o->format == OB_FMT_DER)
        ok = pkcs8 ? i2d_PKCS8PrivateKey_bio(b, k, NULL, NULL, 0, NULL, NULL) : i2d_PrivateKey_bio(b, k);
    else
        ok = pkcs8 ? PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
    ERR_clear_error();
    if (ok != 1 || BIO_get_mem_ptr(b, &bm) != 1 || bm == NULL || bm->length == 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "encoding the leaf private key failed");
        goto done;
    }
    if (o->format == OB_FMT_DER) {
        *out = ob_base64((const unsigned char *)bm->data, bm->length, true);
        *len = *out ? strlen(*out) : 0;
    } else {
        size_t n = bm->length;
        while (n > 0 && bm->data[n - 1] == '\n')
            n--;
        *out = OPENSSL_secure_malloc(n + 1);
        if (*out != NULL) {
            memcpy(*out, bm->data, n);
            (*out)[n] = '\0';
            *len = n;
        }
    }
    rv = *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
done:
    BIO_free(b); /* a secmem BIO cleanses its buffer */
    return rv;
}

/* The :issuer_ref of the issuer/:issuer_ref/... routes; NULL on the
 * others (the role's or the default issuer then). The router as of 33eb7fd
 * names a parameter that is not the last segment by the rest of its pattern
 * ("issuer_ref/sign/:role"), so hsmca_http_req_param() misses it; the value
 * is then read from the request path itself. A per-issuer request must
 * never fall back to the default issuer. buf holds the copy. */
static const char *issuer_ref_of(const hsmca_http_req *req, char *buf, size_t size)
{
    const char *v = hsmca_http_req_param(req, "issuer_ref");
    const char *path = hsmca_http_req_path(req), *mount = ob_mount(req), *rel, *end;
    size_t ml = strlen(mount);

    if (v != NULL)
        return v;
    if (strncmp(path, "v1/", 3) != 0 || ml == 0 || strncmp(path + 3, mount, ml) != 0 || path[3 + ml] != '/')
        return NULL;
    rel = path + 3 + ml + 1;
    if (strncmp(rel, "issuer/", 7) != 0)
        return NULL;
    rel += 7;
    end = strchr(rel, '/');
    if (end == NULL || end == rel || (size_t)(end - rel) >= size)
        return NULL;
    memcpy(buf, rel, (size_t)(end - rel));
    buf[end - rel] = '\0';
    return buf;
}

/* OpenBao's lease for a role with generate_lease: "<path>/<uuid>",
 * lasting until the certificate expires, not renewable. */
static void set_cert_lease(hsmca_http_req *req, hsmca_http_resp *resp, int64_t expiration)
{
    const char *path = hsmca_http_req_path(req);
    unsigned char b[16];
    char uuid[HSMCA_UUID_STR_LEN + 1], lease[1200];
    int64_t ttl = expiration - (int64_t)time(NULL);

    if (RAND_bytes(b, sizeof(b)) != 1) {
        ERR_clear_error();
        hsmca_http_resp_warn(resp, "no lease was created: the random generator failed");
        return;
    }
    hsmca_uuid_set_version(b, 4);
    hsmca_uuid_format(b, uuid);
    if (strncmp(path, "v1/", 3) == 0)
        path += 3;
    snprintf(lease, sizeof(lease), "%s/%s", path, uuid);
    hsmca_http_resp_set_lease(resp, lease, ttl > 0 ? ttl : 0, false);
}

static void warn_all(hsmca_http_resp *resp, const hsmca_strlist *w)
{
    for (size_t i = 0; i < w->n; i++)
        hsmca_http_resp_warn(resp, "%s", w->v[i]);
}

static void audit_result(hsmca_http_req *req, const hsmca_ca_result *res)
{
    ob_audit_detail(req, "serial_number", json_string(res->serial_number));
    ob_audit_detail(req, "issuer_id", json_string(res->issuer_id));
}

/* The response of issue, sign and sign-verbatim (OpenBao's
 * pathIssueSignCert): certificate, issuing_ca, ca_chain, serial_number,
 * expiration, and for issue private_key and private_key_type. */
static void leaf_respond(hsmca_http_resp *resp, const hsmca_ca_result *res, const out_opts *o)
{
    json_t *data = json_object();
    X509 *issuing = sk_X509_value(res->ca_chain, 0);
    char *cert = NULL, *ca = NULL, *key = NULL, *bundle = NULL;
    size_t key_len = 0, bundle_len = 0;
    json_t *chain = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (data == NULL || issuing == NULL)
        goto done;
    if (res->private_key != NULL && (rv = key_text(res->private_key, o, &key, &key_len)) != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_NOMEM;
    if (o->format == OB_FMT_PEM_BUNDLE) {
        /* The bundle's key is always PEM, whatever private_key_format says
         * (OpenBao: "this does not apply to the private key within the
         * certificate field"). */
        char *bkey = NULL;
        size_t bkey_len = 0;
        if (res->private_key != NULL) {
            out_opts pem = *o;
            pem.pkcs8 = false;
            if (key_text(res->private_key, &pem, &bkey, &bkey_len) != HSMCA_OK)
                goto done;
        }
        rv = pem_bundle_text(bkey, bkey_len, res->certificate, res->ca_chain, &bundle, &bundle_len);
        if (bkey != NULL)
            OPENSSL_secure_clear_free(bkey, bkey_len + 1);
        if (rv != HSMCA_OK)
            goto done;
        rv = HSMCA_ERR_NOMEM;
    } else if ((cert = ob_cert_text(res->certificate, o->format)) == NULL) {
        goto done;
    }
    ca = ob_cert_text(issuing, o->format == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM);
    chain = chain_json(NULL, res->ca_chain, o->format == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM, o->remove_roots);
    if (ca == NULL || chain == NULL)
        goto done;
    if (json_object_set_new(data, "certificate", bundle ? json_stringn(bundle, bundle_len) : json_string(cert)) != 0 ||
        json_object_set_new(data, "issuing_ca", json_string(ca)) != 0)
        goto done;
    /* OpenBao leaves ca_chain out when nothing is left in it. */
    if (json_array_size(chain) > 0) {
        if (json_object_set_new(data, "ca_chain", chain) != 0) {
            chain = NULL;
            goto done;
        }
        chain = NULL;
    }
    if (key != NULL && (json_object_set_new(data, "private_key", json_stringn(key, key_len)) != 0 ||
                        json_object_set_new(data, "private_key_type", json_string(res->private_key_type)) != 0))
        goto done;
    if (json_object_set_new(data, "serial_number", json_string(res->serial_number)) != 0 ||
        json_object_set_new(data, "expiration", json_integer(res->expiration)) != 0)
        goto done;
    /* the key's copies in the response (JSON value, envelope text) are
     * cleansed when the server frees them */
    if (key != NULL)
        hsmca_http_resp_set_sensitive(resp);
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
    rv = HSMCA_OK;
done:
    if (key != NULL)
        hsmca_jf_cleanse(data); /* a failure after the key went in */
    /* Our copies of the key go now; the JSON text holds the only one. */
    if (key != NULL)
        OPENSSL_secure_clear_free(key, key_len + 1);
    if (bundle != NULL)
        OPENSSL_secure_clear_free(bundle, bundle_len + 1);
    json_decref(chain);
    json_decref(data);
    free(cert);
    free(ca);
    if (rv != HSMCA_OK)
        ob_fail(resp, rv);
}

/* ---- issue/:role and sign/:role ---- */

#define LEAF_FIELDS                                                                                                \
    {"common_name", OBF_STRING}, {"alt_names", OBF_LIST}, {"ip_sans", OBF_LIST}, {"uri_sans", OBF_LIST},         \
        {"other_sans", OBF_LIST}, {"ttl", OBF_DURATION}, {"format", OBF_STRING},                                 \
        {"private_key_format", OBF_STRING}, {"exclude_cn_from_sans", OBF_BOOL}, {"not_after", OBF_STRING},       \
        {"remove_roots_from_chain", OBF_BOOL}, {"user_ids", OBF_LIST}, {"serial_number", OBF_STRING}

static const ob_field issue_fields[] = {LEAF_FIELDS, {"key_type", OBF_STRING}, {"key_bits", OBF_INT}, OB_FIELDS_END};
static const ob_field sign_fields[] = {LEAF_FIELDS, {"csr", OBF_STRING}, OB_FIELDS_END};

static hsmca_rv leaf_request(const json_t *in, hsmca_issue_request *r)
{
    const char *na = ob_str(in, "not_after", "");
    hsmca_rv rv;

    memset(r, 0, sizeof(*r));
    r->common_name = ob_str(in, "common_name", NULL);
    r->serial_number = ob_str(in, "serial_number", NULL);
    r->ttl = ob_int(in, "ttl", 0);
    r->not_after = na[0] ? na : NULL;
    r->exclude_cn_from_sans = ob_bool(in, "exclude_cn_from_sans", false);
    if ((rv = ob_list(in, "alt_names", &r->alt_names)) != HSMCA_OK ||
        (rv = ob_list(in, "ip_sans", &r->ip_sans)) != HSMCA_OK ||
        (rv = ob_list(in, "uri_sans", &r->uri_sans)) != HSMCA_OK ||
        (rv = ob_list(in, "other_sans", &r->other_sans)) != HSMCA_OK ||
        (rv = ob_list(in, "user_ids", &r->user_ids)) != HSMCA_OK)
        return rv;
    return HSMCA_OK;
}

static void leaf(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, bool sign)
{
    const char *mount = ob_mount(req);
    const char *role_name = hsmca_http_req_param(req, "role");
    char ref_buf[HSMCA_ROLE_REF_MAX + 1];
    const char *issuer_ref = issuer_ref_of(req, ref_buf, sizeof(ref_buf)); /* NULL: the role's */
    hsmca_ca *ca = ob_ca(arg);
    hsmca_issue_request r;
    hsmca_ca_result res;
    hsmca_role role;
    out_opts o;
    json_t *in;
    const char *csr = NULL;
    hsmca_rv rv;

    memset(&r, 0, sizeof(r));
    memset(&res, 0, sizeof(res));
    memset(&role, 0, sizeof(role));
    in = ob_fields(req, resp, sign ? sign_fields : issue_fields);
    if (in == NULL)
        return;
    if (!read_out_opts(in, resp, &o) || !ob_not_after_ok(in, resp))
        goto done;
    if (sign) {
        csr = ob_str(in, "csr", "");
        if (csr[0] == '\0') {
            hsmca_http_resp_error(resp, 400, "csr is required: the PEM-encoded certificate request to sign");
            goto done;
        }
    }
    /* The role decides the lease (generate_lease), and for issue whether
     * key_type/key_bits are meaningful; the core reads it again (cached). */
    if ((rv = hsmca_ca_role_get(ca, mount, role_name, &role)) != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    if (!sign && role.key_type != HSMCA_ROLE_KEY_ANY && (ob_has(in, "key_type") || ob_has(in, "key_bits")))
        hsmca_http_resp_warn(resp, "parameters key_type and key_bits ignored as role had specific values");
    if ((rv = leaf_request(in, &r)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    ob_audit_detail(req, "role", json_string(role.name));
    if (r.common_name != NULL && r.common_name[0] != '\0')
        ob_audit_detail(req, "common_name", json_string(r.common_name));
    rv = sign ? hsmca_ca_sign(ca, mount, role_name, issuer_ref, csr, &r, &res)
              : hsmca_ca_issue(ca, mount, role_name, issuer_ref, &r, &res);
    ob_count_issued(arg, rv == HSMCA_OK);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    audit_result(req, &res);
    warn_all(resp, &res.warnings);
    leaf_respond(resp, &res, &o);
    if (role.generate_lease && !role.no_store && hsmca_http_resp_status(resp) == 200)
        set_cert_lease(req, resp, res.expiration);
done:
    hsmca_ca_result_clear(&res); /* frees (and clears) the leaf key */
    hsmca_issue_request_clear(&r);
    hsmca_role_clear(&role);
    json_decref(in);
}

static void issue(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    leaf(req, resp, arg, false);
}

static void sign(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    leaf(req, resp, arg, true);
}

/* ---- sign-verbatim(/:role) ---- */

static const ob_field verbatim_fields[] = {
    {"csr", OBF_STRING},
    {"key_usage", OBF_LIST},
    {"ext_key_usage", OBF_LIST},
    {"ext_key_usage_oids", OBF_LIST},
    {"ttl", OBF_DURATION},
    {"format", OBF_STRING},
    {"private_key_format", OBF_STRING},
    {"not_after", OBF_STRING},
    {"signature_bits", OBF_INT},
    {"use_pss", OBF_BOOL},
    {"remove_roots_from_chain", OBF_BOOL},
    {"user_ids", OBF_LIST},
    {"basic_constraints_valid_for_non_ca", OBF_BOOL},
    OB_FIELDS_END};

static void sign_verbatim(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *mount = ob_mount(req);
    const char *role_name = hsmca_http_req_param(req, "role");
    char ref_buf[HSMCA_ROLE_REF_MAX + 1];
    const char *issuer_ref = issuer_ref_of(req, ref_buf, sizeof(ref_buf));
    hsmca_ca *ca = ob_ca(arg);
    hsmca_verbatim_params p;
    hsmca_ca_result res;
    hsmca_role role;
    bool have_role = role_name != NULL && role_name[0] != '\0';
    out_opts o;
    const char *csr, *na;
    json_t *in;
    hsmca_rv rv;

    hsmca_verbatim_params_init(&p);
    memset(&res, 0, sizeof(res));
    memset(&role, 0, sizeof(role));
    in = ob_fields(req, resp, verbatim_fields);
    if (in == NULL)
        return;
    if (!read_out_opts(in, resp, &o) || !ob_signature_bits_ok(in, resp) ||
        !ob_not_after_ok(in, resp))
        goto done;
    csr = ob_str(in, "csr", "");
    if (csr[0] == '\0') {
        hsmca_http_resp_error(resp, 400, "csr is required: the PEM-encoded certificate request to sign");
        goto done;
    }
    if (have_role && (rv = hsmca_ca_role_get(ca, mount, role_name, &role)) != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    /* OpenBao: sign-verbatim/:role signs with the role's issuer, plain
     * sign-verbatim with the default one, issuer/:ref/... with the path's. */
    if (issuer_ref == NULL)
        issuer_ref = have_role ? role.issuer_ref : "default";
    na = ob_str(in, "not_after", "");
    p.role = have_role ? role_name : NULL;
    p.key_usage_set = ob_has(in, "key_usage");
    p.ttl = ob_int(in, "ttl", 0);
    p.not_after = na[0] ? na : NULL;
    p.signature_bits = (int)ob_int(in, "signature_bits", 0);
    p.use_pss = ob_bool(in, "use_pss", false);
    if (ob_has(in, "basic_constraints_valid_for_non_ca"))
        p.basic_constraints_valid_for_non_ca = ob_bool(in, "basic_constraints_valid_for_non_ca", false) ? 1 : 0;
    if ((rv = ob_list(in, "key_usage", &p.key_usage)) != HSMCA_OK ||
        (rv = ob_list(in, "ext_key_usage", &p.ext_key_usage)) != HSMCA_OK ||
        (rv = ob_list(in, "ext_key_usage_oids", &p.ext_key_usage_oids)) != HSMCA_OK ||
        (rv = ob_list(in, "user_ids", &p.user_ids)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    /* The usage names are checked here so each error names its field
     * (and an unknown key usage never reaches the core's builder). */
    for (size_t i = 0; i < p.key_usage.n; i++) {
        if (hsmca_role_key_usage_bit(p.key_usage.v[i]) == 0) {
            hsmca_http_resp_error(resp, 400, "key_usage '%s' is not a key usage name (Go's x509.KeyUsage names "
                                             "without the prefix, e.g. DigitalSignature)", p.key_usage.v[i]);
            goto done;
        }
    }
    for (size_t i = 0; i < p.ext_key_usage.n; i++) {
        if (hsmca_role_ext_key_usage_oid(p.ext_key_usage.v[i]) == NULL) {
            hsmca_http_resp_error(resp, 400, "ext_key_usage '%s' is not an extended key usage name (Go's "
                                             "x509.ExtKeyUsage names without the prefix, e.g. ServerAuth)",
                                  p.ext_key_usage.v[i]);
            goto done;
        }
    }
    for (size_t i = 0; i < p.ext_key_usage_oids.n; i++) {
        if (!hsmca_role_oid_valid(p.ext_key_usage_oids.v[i])) {
            hsmca_http_resp_error(resp, 400, "ext_key_usage_oids '%s' is not a dotted-decimal OID",
                                  p.ext_key_usage_oids.v[i]);
            goto done;
        }
    }
    if (have_role)
        ob_audit_detail(req, "role", json_string(role_name));
    rv = hsmca_ca_sign_verbatim(ca, mount, issuer_ref, csr, &p, &res);
    ob_count_issued(arg, rv == HSMCA_OK);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    audit_result(req, &res);
    warn_all(resp, &res.warnings);
    leaf_respond(resp, &res, &o);
    if (have_role && role.generate_lease && !role.no_store && hsmca_http_resp_status(resp) == 200)
        set_cert_lease(req, resp, res.expiration);
done:
    hsmca_ca_result_clear(&res);
    hsmca_verbatim_params_clear(&p);
    hsmca_role_clear(&role);
    json_decref(in);
}

/* ---- root/sign-intermediate, issuer/:ref/sign-intermediate ---- */

static const ob_field sign_intermediate_fields[] = {
    {"csr", OBF_STRING},
    {"common_name", OBF_STRING},
    {"alt_names", OBF_LIST},
    {"ip_sans", OBF_LIST},
    {"uri_sans", OBF_LIST},
    {"other_sans", OBF_LIST},
    {"ttl", OBF_DURATION},
    {"format", OBF_STRING},
    {"private_key_format", OBF_STRING},
    {"max_path_length", OBF_INT},
    {"exclude_cn_from_sans", OBF_BOOL},
    {"use_csr_values", OBF_BOOL},
    {"permitted_dns_domains", OBF_LIST},
    {"ou", OBF_LIST},
    {"organization", OBF_LIST},
    {"country", OBF_LIST},
    {"locality", OBF_LIST},
    {"province", OBF_LIST},
    {"street_address", OBF_LIST},
    {"postal_code", OBF_LIST},
    {"serial_number", OBF_STRING},
    {"not_before_duration", OBF_DURATION},
    {"not_after", OBF_STRING},
    {"signature_bits", OBF_INT},
    {"skid", OBF_STRING},
    {"use_pss", OBF_BOOL},
    {"key_usage", OBF_LIST},
    {"ext_key_usage", OBF_LIST},
    {"ext_key_usage_oids", OBF_LIST},
    OB_FIELDS_END};

/* OpenBao signs an intermediate whose request gives no common_name with
 * the CSR's (it sets use_csr_common_name); the CA core wants the name
 * given, so it is read from the request here. NULL if the CSR has none or
 * is unreadable (the core then reports what is wrong). malloc'd. */
static char *csr_common_name(const char *csr_pem)
{
    BIO *b = BIO_new_mem_buf(csr_pem, -1);
    X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    X509_NAME *n = r ? X509_REQ_get_subject_name(r) : NULL;
    int idx = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
    unsigned char *utf8 = NULL;
    char *cn = NULL;
    int len = -1;

    if (idx >= 0)
        len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)));
    if (len > 0 && memchr(utf8, '\0', (size_t)len) == NULL && (cn = malloc((size_t)len + 1)) != NULL) {
        memcpy(cn, utf8, (size_t)len);
        cn[len] = '\0';
    }
    ERR_clear_error();
    OPENSSL_free(utf8);
    X509_REQ_free(r);
    BIO_free(b);
    return cn;
}

/* The MaxPathLen-zero and AIA warnings OpenBao gives on CA certificates. */
static void ca_cert_warnings(hsmca_http_resp *resp, X509 *cert)
{
    if (X509_get_ext_by_NID(cert, NID_info_access, -1) < 0 &&
        X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) < 0)
        hsmca_http_resp_warn(resp, "This mount hasn't configured any authority information access (AIA) fields; "
                                   "this may make it harder for systems to find missing certificates in the chain "
                                   "or to validate revocation status of certificates. Consider updating "
                                   "/config/urls or the newly generated issuer with this information.");
    if (X509_get_pathlen(cert) == 0)
        hsmca_http_resp_warn(resp, "Max path length of the signed certificate is zero. This certificate cannot be "
                                   "used to issue intermediate CA certificates.");
}

static void sign_intermediate(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *mount = ob_mount(req);
    char ref_buf[HSMCA_ROLE_REF_MAX + 1];
    const char *issuer_ref = issuer_ref_of(req, ref_buf, sizeof(ref_buf));
    hsmca_ca *ca = ob_ca(arg);
    hsmca_ca_params p;
    hsmca_ca_result res;
    out_opts o;
    json_t *in, *data = NULL, *chain = NULL;
    const char *csr;
    char *cn_from_csr = NULL, *cert = NULL, *ca_text = NULL, *bundle = NULL;
    size_t bundle_len = 0;
    X509 *issuing;
    hsmca_rv rv;

    hsmca_ca_params_init(&p);
    memset(&res, 0, sizeof(res));
    in = ob_fields(req, resp, sign_intermediate_fields);
    if (in == NULL)
        return;
    if (!read_out_opts(in, resp, &o) || !ob_signature_bits_ok(in, resp) ||
        !ob_max_path_length_read(in, resp, &p.max_path_length) || !ob_not_after_ok(in, resp))
        goto done;
    csr = ob_str(in, "csr", "");
    if (csr[0] == '\0') {
        hsmca_http_resp_error(resp, 400, "csr is required: the PEM-encoded certificate request to sign");
        goto done;
    }
    if ((rv = ob_ca_subject_read(in, &p)) != HSMCA_OK) {
        ob_fail(resp, rv);
        goto done;
    }
    p.use_csr_values = ob_bool(in, "use_csr_values", false);
    p.skid = ob_str(in, "skid", "");
    if (!p.use_csr_values && p.common_name[0] == '\0' && (cn_from_csr = csr_common_name(csr)) != NULL)
        p.common_name = cn_from_csr;
    if (ob_has(in, "key_usage") || ob_has(in, "ext_key_usage") || ob_has(in, "ext_key_usage_oids"))
        hsmca_http_resp_warn(resp, "key_usage, ext_key_usage and ext_key_usage_oids do not apply to CA "
                                   "certificates (they always carry keyCertSign and cRLSign); ignored");
    rv = hsmca_ca_sign_intermediate(ca, mount, issuer_ref ? issuer_ref : "default", csr, &p, &res);
    ob_count_issued(arg, rv == HSMCA_OK);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    audit_result(req, &res);
    if (p.common_name[0] != '\0')
        ob_audit_detail(req, "common_name", json_string(p.common_name));
    warn_all(resp, &res.warnings);
    issuing = sk_X509_value(res.ca_chain, 0);
    if (issuing != NULL &&
        ASN1_TIME_compare(X509_get0_notAfter(issuing), X509_get0_notAfter(res.certificate)) < 0)
        hsmca_http_resp_warn(resp, "The expiration time for the signed certificate is after the CA's expiration "
                                   "time. If the new certificate is not treated as a root, validation paths with "
                                   "the certificate past the issuing CA's expiration time will fail.");
    ca_cert_warnings(resp, res.certificate);
    /* OpenBao: ca_chain is the new certificate followed by its issuer's
     * chain; pem_bundle puts the same into certificate. */
    if (o.format == OB_FMT_PEM_BUNDLE) {
        if (pem_bundle_text(NULL, 0, res.certificate, res.ca_chain, &bundle, &bundle_len) != HSMCA_OK)
            goto fail;
    } else if ((cert = ob_cert_text(res.certificate, o.format)) == NULL) {
        goto fail;
    }
    ca_text = issuing ? ob_cert_text(issuing, o.format == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM) : NULL;
    chain = chain_json(res.certificate, res.ca_chain, o.format == OB_FMT_DER ? OB_FMT_DER : OB_FMT_PEM, false);
    data = json_object();
    if (ca_text == NULL || chain == NULL || data == NULL ||
        json_object_set_new(data, "certificate", bundle ? json_stringn(bundle, bundle_len) : json_string(cert)) ||
        json_object_set_new(data, "issuing_ca", json_string(ca_text)) ||
        json_object_set(data, "ca_chain", chain) ||
        json_object_set_new(data, "serial_number", json_string(res.serial_number)) ||
        json_object_set_new(data, "expiration", json_integer(res.expiration)))
        goto fail;
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
    goto done;
fail:
    ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the response"));
done:
    if (bundle != NULL)
        OPENSSL_secure_clear_free(bundle, bundle_len + 1);
    json_decref(data);
    json_decref(chain);
    free(cert);
    free(ca_text);
    free(cn_from_csr);
    hsmca_ca_result_clear(&res);
    hsmca_ca_params_clear(&p);
    json_decref(in);
}

/* ---- root/sign-self-issued, issuer/:ref/sign-self-issued ---- */

static const ob_field self_issued_fields[] = {
    {"certificate", OBF_STRING},
    {"require_matching_certificate_algorithms", OBF_BOOL},
    OB_FIELDS_END};

static void sign_self_issued(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    char ref_buf[HSMCA_ROLE_REF_MAX + 1];
    const char *issuer_ref = issuer_ref_of(req, ref_buf, sizeof(ref_buf));
    hsmca_ca_result res;
    json_t *in, *data = NULL;
    const char *cert_pem;
    char *cert = NULL, *ca_text = NULL;
    hsmca_rv rv;

    memset(&res, 0, sizeof(res));
    in = ob_fields(req, resp, self_issued_fields);
    if (in == NULL)
        return;
    cert_pem = ob_str(in, "certificate", "");
    if (cert_pem[0] == '\0') {
        hsmca_http_resp_error(resp, 400, "certificate is required: the PEM-encoded self-issued CA certificate");
        goto done;
    }
    rv = hsmca_ca_sign_self_issued(ob_ca(arg), ob_mount(req), issuer_ref ? issuer_ref : "default", cert_pem,
                                   ob_bool(in, "require_matching_certificate_algorithms", false), &res);
    ob_count_issued(arg, rv == HSMCA_OK);
    if (rv != HSMCA_OK) {
        ob_fail_write(resp, rv);
        goto done;
    }
    audit_result(req, &res);
    warn_all(resp, &res.warnings);
    cert = ob_cert_pem(res.certificate);
    ca_text = ob_cert_pem(sk_X509_value(res.ca_chain, 0));
    data = json_object();
    /* OpenBao returns certificate and issuing_ca; serial_number is added
     * because hsmca gives the re-signed certificate a fresh serial. */
    if (cert == NULL || ca_text == NULL || data == NULL ||
        json_object_set_new(data, "certificate", json_string(cert)) ||
        json_object_set_new(data, "issuing_ca", json_string(ca_text)) ||
        json_object_set_new(data, "serial_number", json_string(res.serial_number))) {
        ob_fail(resp, hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the response"));
        goto done;
    }
    hsmca_http_resp_data(resp, 200, data);
    data = NULL;
done:
    json_decref(data);
    free(cert);
    free(ca_text);
    hsmca_ca_result_clear(&res);
    json_decref(in);
}

#define UPDATE (HSMCA_HTTP_POST | HSMCA_HTTP_PUT)

const hsmca_http_route ob_issue_routes[] = {
    {UPDATE, "issue/:role", issue, 0},
    {UPDATE, "issuer/:issuer_ref/issue/:role", issue, 0},
    {UPDATE, "sign/:role", sign, 0},
    {UPDATE, "issuer/:issuer_ref/sign/:role", sign, 0},
    {UPDATE, "sign-verbatim", sign_verbatim, 0},
    {UPDATE, "sign-verbatim/:role", sign_verbatim, 0},
    {UPDATE, "issuer/:issuer_ref/sign-verbatim", sign_verbatim, 0},
    {UPDATE, "issuer/:issuer_ref/sign-verbatim/:role", sign_verbatim, 0},
    {UPDATE, "root/sign-intermediate", sign_intermediate, 0},
    {UPDATE, "issuer/:issuer_ref/sign-intermediate", sign_intermediate, 0},
    /* OpenBao lists root/sign-self-issued among its sudo paths; the
     * per-issuer path is not. */
    {UPDATE, "root/sign-self-issued", sign_self_issued, HSMCA_HTTP_ROUTE_SUDO},
    {UPDATE, "issuer/:issuer_ref/sign-self-issued", sign_self_issued, 0},
};
const size_t ob_issue_routes_n = sizeof(ob_issue_routes) / sizeof(ob_issue_routes[0]);
