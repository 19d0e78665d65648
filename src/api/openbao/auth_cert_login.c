/* SPDX-License-Identifier: Apache-2.0 */
/* Login to the TLS certificate auth method (POST auth/<path>/login) and
 * the renewal check of the tokens it makes. The client certificate comes
 * from the TLS handshake (the listener requests one, never requires it);
 * the role's constraints are judged by src/auth/cert_match.c, CRLs and the
 * token binding here. Every refusal's reason goes to the audit log and the
 * daemon log; the client hears only "permission denied". */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "hsmca/auth_cert.h"
#include "hsmca/log.h"
#include "hsmca/store.h"
#include "internal.h"

#define ROLES_TRIED_MAX 1000u
#define META_CERT_HASH "cert_sha256"

static const ob_field login_fields[] = {
    {"name", OBF_STRING},
    OB_FIELDS_END,
};

/* SHA-256 of the certificate's DER, in hex: what binds a token to it. */
static bool cert_hash(const unsigned char *der, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    if (EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return false;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

static int collect_body(const hsmca_store_doc *d, void *arg)
{
    json_t *j = json_loads(d->body, 0, NULL);

    if (j == NULL)
        return 0;
    json_object_set_new(j, "_name", json_string(d->id));
    return json_array_append_new(arg, j) == 0;
}

/* Whether a CRL pushed to the mount lists the certificate's serial.
 * They are read from the store at every login, so a restart cannot open
 * a window before they are loaded (CVE-2022-41316). As OpenBao, the
 * serial is compared whatever the CRL's issuer. */
static hsmca_rv crl_listed(hsmca_store *st, const char *mount, X509 *leaf, char *which, size_t size, bool *listed)
{
    json_t *crls = json_array();
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
    const json_t *c, *s;
    size_t i, k;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *listed = false;
    if (crls == NULL || dec == NULL) {
        rv = hsmca_err(rv, "out of memory");
        goto done;
    }
    if ((rv = hsmca_store_doc_list(st, mount, "cert_crl", NULL, 0, collect_body, crls)) != HSMCA_OK)
        goto done;
    json_array_foreach(crls, i, c) {
        json_array_foreach(json_object_get(c, "serials"), k, s) {
            if (strcmp(json_string_value(s), dec) == 0) {
                *listed = true;
                snprintf(which, size, "%s", json_string_value(json_object_get(c, "_name")));
                goto done;
            }
        }
    }
done:
    OPENSSL_free(dec);
    BN_free(bn);
    json_decref(crls);
    return rv;
}

static void refuse(hsmca_http_req *req, hsmca_http_resp *resp, const char *why)
{
    ob_audit_detail(req, "login_error", json_string(why));
    hsmca_log(HSMCA_LOG_INFO, "request %s from %s: certificate login refused: %s", hsmca_http_req_id(req),
              hsmca_http_req_client_addr(req), why);
    hsmca_http_resp_error(resp, 403, "permission denied");
}

/* The mount's config ocsp_cache_size (100 when unset). */
static size_t ocsp_cache_size(hsmca_openbao *api, const char *mount)
{
    hsmca_store_doc d;
    json_t *cfg = NULL;
    json_int_t n = 100;

    memset(&d, 0, sizeof(d));
    if (hsmca_store_doc_get(api->cfg.store, mount, HSMCA_DOC_CONFIG, "cert", &d) == HSMCA_OK &&
        (cfg = json_loads(d.body, 0, NULL)) != NULL && json_is_integer(json_object_get(cfg, "ocsp_cache_size")))
        n = json_integer_value(json_object_get(cfg, "ocsp_cache_size"));
    hsmca_err_clear();
    json_decref(cfg);
    hsmca_store_doc_clear(&d);
    return n > 0 ? (size_t)n : 100;
}

/* The intermediates the client sent after its certificate, parsed; NULL
 * when none (or not DER: then the path just does not build). */
static STACK_OF(X509) *client_chain(hsmca_http_req *req)
{
    size_t len = 0;
    const unsigned char *der = hsmca_http_req_client_chain(req, &len), *p = der, *end;
    STACK_OF(X509) *sk = NULL;
    X509 *x;

    /* No arithmetic on der before this check: NULL + 0 is undefined. */
    if (der == NULL || len == 0 || (sk = sk_X509_new_null()) == NULL)
        return NULL;
    end = der + len;
    while (p < end && (x = d2i_X509(NULL, &p, (long)(end - p))) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    }
    ERR_clear_error();
    return sk;
}

/* One role's verdict beyond the certificate: revocation, OCSP, source
 * address. NULL when the login may go on; else the reason. */
static const char *role_extra(hsmca_openbao *api, hsmca_http_req *req, hsmca_http_resp *resp, const json_t *role,
                              X509 *leaf, STACK_OF(X509) *chain, char *buf, size_t size)
{
    char crl[HSMCA_STORE_ID_MAX + 1] = "";
    bool listed = false;
    const json_t *cidrs = json_object_get(role, "token_bound_cidrs"), *v;
    size_t i;
    bool in = false;

    if (crl_listed(api->cfg.store, ob_mount(req), leaf, crl, sizeof(crl), &listed) != HSMCA_OK) {
        snprintf(buf, size, "CRLs could not be read: %s", hsmca_err_message());
        return buf;
    }
    if (listed) {
        snprintf(buf, size, "the certificate is revoked by CRL '%s'", crl);
        return buf;
    }
    if (json_is_true(json_object_get(role, "ocsp_enabled"))) {
        hsmca_auth_ocsp_params op;
        char warn[600];

        memset(&op, 0, sizeof(op));
        op.role = role;
        op.leaf = leaf;
        op.chain = chain;
        op.issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
        op.mount = ob_mount(req);
        op.cache = api->ocsp_cache;
        op.cache_size = ocsp_cache_size(api, ob_mount(req));
        op.now = hsmca_auth_now(api->cfg.auth);
        if (hsmca_auth_cert_ocsp_check(&op, warn, sizeof(warn)) != HSMCA_OK) {
            snprintf(buf, size, "%s", hsmca_err_message());
            hsmca_err_clear();
            return buf;
        }
        if (warn[0] != '\0') {
            hsmca_log(HSMCA_LOG_WARNING, "request %s: certificate login: %s", hsmca_http_req_id(req), warn);
            hsmca_http_resp_warn(resp, "OCSP status could not be checked; ocsp_fail_open let the login through");
        }
    }
    json_array_foreach(cidrs, i, v) {
        in = in || hsmca_auth_cidr_contains(json_string_value(v), hsmca_http_req_client_addr(req));
    }
    if (json_array_size(cidrs) > 0 && !in) {
        snprintf(buf, size, "source address %s is outside token_bound_cidrs", hsmca_http_req_client_addr(req));
        return buf;
    }
    return NULL;
}

/* The token the role gives: its token_* fields, and metadata naming the
 * certificate (OpenBao's keys) plus the binding hash. */
static hsmca_rv make_token(hsmca_openbao *api, hsmca_http_req *req, hsmca_http_resp *resp, const json_t *role,
                           X509 *leaf, const char *hash)
{
    hsmca_auth_create_params p;
    hsmca_auth_secret secret;
    hsmca_auth_token made;
    hsmca_strlist warnings = {0};
    json_t *auth = NULL;
    char path[HSMCA_STORE_MOUNT_MAX + 16], cn[256] = "", serial[128];
    const char *name = json_string_value(json_object_get(role, "_name"));
    const char *display = json_string_value(json_object_get(role, "display_name"));
    int64_t max = ob_int(role, "token_max_ttl", 0), emax = ob_int(role, "token_explicit_max_ttl", 0);
    hsmca_rv rv;

    hsmca_auth_create_params_init(&p);
    memset(&made, 0, sizeof(made));
    memset(&secret, 0, sizeof(secret));
    if ((rv = ob_list(role, "token_policies", &p.policies)) != HSMCA_OK)
        goto done;
    p.no_default_policy = ob_bool(role, "token_no_default_policy", false);
    p.ttl = ob_int(role, "token_ttl", 0);
    /* Tokens carry one hard cap; the tighter of the role's two caps. */
    p.explicit_max_ttl = emax > 0 && (max == 0 || emax < max) ? emax : max;
    p.period = ob_int(role, "token_period", 0);
    p.num_uses = ob_int(role, "token_num_uses", 0);
    /* The token is bound for its whole life, not only at login:
     * token_strictly_bind_ip to this login's address exactly, else the
     * role's token_bound_cidrs (src/auth checks them on every use). */
    if (ob_bool(role, "token_strictly_bind_ip", false)) {
        const char *ip = hsmca_http_req_client_addr(req);
        char one[80];
        if (ip[0] == '\0') {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "token_strictly_bind_ip: the client's address is unknown");
            goto done;
        }
        snprintf(one, sizeof(one), "%s/%d", ip, strchr(ip, ':') != NULL ? 128 : 32);
        rv = hsmca_strlist_add(&p.bound_cidrs, one, strlen(one));
    } else {
        rv = ob_list(role, "token_bound_cidrs", &p.bound_cidrs);
    }
    if (rv != HSMCA_OK)
        goto done;
    snprintf(p.display_name, sizeof(p.display_name), "%s", display != NULL && display[0] ? display : name);
    snprintf(path, sizeof(path), "%s/login", ob_mount(req));
    p.login_path = path;
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
    ob_serial_text(leaf, serial, sizeof(serial));
    p.meta = json_pack("{s:s,s:s,s:s,s:s}", "cert_name", name, "common_name", cn, "serial_number", serial,
                       META_CERT_HASH, hash);
    if (p.meta == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = hsmca_auth_cert_metadata(role, leaf, p.meta)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_auth_token_create_login(api->cfg.auth, &p, &secret, &made, &warnings)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_auth_token_auth_json(&made, &secret, &auth)) != HSMCA_OK)
        goto done;
    for (size_t i = 0; i < warnings.n; i++)
        hsmca_http_resp_warn(resp, "%s", warnings.v[i]);
    ob_audit_detail(req, "cert_role", json_string(name));
    ob_audit_detail(req, "accessor", json_string(made.accessor));
    hsmca_http_resp_set_auth(resp, auth);
    auth = NULL;
    hsmca_http_resp_data(resp, 200, NULL);
done:
    json_decref(auth);
    hsmca_strlist_clear(&warnings);
    hsmca_auth_token_clear(&made);
    hsmca_auth_secret_clear(&secret);
    hsmca_auth_create_params_clear(&p);
    return rv;
}

static void login(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_openbao *api = arg;
    json_t *in = NULL, *roles = NULL, *role;
    const unsigned char *der, *p;
    size_t der_len = 0, i;
    X509 *leaf = NULL;
    STACK_OF(X509) *sent = NULL, *chain = NULL;
    char hash[65], why[512] = "no role matches";
    const char *name, *extra;
    hsmca_rv rv;

    if ((in = ob_fields(req, resp, login_fields)) == NULL)
        return;
    der = hsmca_http_req_client_cert(req, &der_len);
    if (der == NULL || der_len == 0) {
        ob_audit_detail(req, "login_error", json_string("no client certificate"));
        hsmca_http_resp_error(resp, 400, "client certificate must be supplied");
        goto done;
    }
    p = der;
    leaf = d2i_X509(NULL, &p, (long)der_len);
    if (leaf == NULL || p != der + der_len || !cert_hash(der, der_len, hash)) {
        refuse(req, resp, "the client certificate is not DER X.509");
        goto done;
    }
    sent = client_chain(req);
    if ((roles = json_array()) == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        goto done;
    }
    name = ob_str(in, "name", "");
    if (name[0] != '\0') {
        hsmca_store_doc d;
        memset(&d, 0, sizeof(d));
        rv = hsmca_store_doc_get(api->cfg.store, ob_mount(req), "cert_role", name, &d);
        if (rv == HSMCA_OK)
            collect_body(&d, roles);
        hsmca_store_doc_clear(&d);
        hsmca_err_clear();
    } else {
        rv = hsmca_store_doc_list(api->cfg.store, ob_mount(req), "cert_role", NULL, ROLES_TRIED_MAX, collect_body,
                                  roles);
        if (rv != HSMCA_OK) {
            ob_fail(resp, rv);
            goto done;
        }
    }
    json_array_foreach(roles, i, role) {
        sk_X509_pop_free(chain, X509_free);
        chain = NULL;
        rv = hsmca_auth_cert_match_chain(role, leaf, sent, hsmca_auth_now(api->cfg.auth), &chain);
        if (rv != HSMCA_OK) {
            snprintf(why, sizeof(why), "role '%s': %s", json_string_value(json_object_get(role, "_name")),
                     hsmca_err_message());
            hsmca_err_clear();
            continue;
        }
        {
            char buf[400];
            extra = role_extra(api, req, resp, role, leaf, chain, buf, sizeof(buf));
            if (extra != NULL) {
                /* A role that trusts the certificate refused it: no other
                 * role is tried, so a revoked certificate cannot slip in
                 * through a laxer role. */
                snprintf(why, sizeof(why), "role '%s': %s", json_string_value(json_object_get(role, "_name")),
                         extra);
                refuse(req, resp, why);
                goto done;
            }
        }
        if ((rv = make_token(api, req, resp, role, leaf, hash)) != HSMCA_OK)
            ob_fail(resp, rv);
        goto done;
    }
    refuse(req, resp, json_array_size(roles) == 0 ? "no such role" : why);
done:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(sent, X509_free);
    X509_free(leaf);
    json_decref(roles);
    json_decref(in);
}

bool ob_cert_renew_allowed(hsmca_openbao *api, hsmca_http_req *req, const hsmca_auth_token *t)
{
    char mount[HSMCA_STORE_MOUNT_MAX + 1], probe[sizeof(t->path) + 1], hash[65];
    const char *want = json_string_value(json_object_get(t->meta, META_CERT_HASH));
    const unsigned char *der;
    size_t len = 0;
    hsmca_store_doc d;
    json_t *cfg = NULL;
    bool disabled = false;
    size_t n = strnlen(t->path, sizeof(t->path));

    if (n < 12 || strncmp(t->path, "auth/", 5) != 0 || strcmp(t->path + n - 6, "/login") != 0)
        return true; /* not a certificate login's token */
    snprintf(probe, sizeof(probe), "%s", t->path);
    if (ob_cert_mount_find(api, probe, mount, sizeof(mount)) == 0)
        return false; /* its method was disabled: nothing can vouch for it */
    memset(&d, 0, sizeof(d));
    if (hsmca_store_doc_get(api->cfg.store, mount, HSMCA_DOC_CONFIG, "cert", &d) == HSMCA_OK &&
        (cfg = json_loads(d.body, 0, NULL)) != NULL)
        disabled = json_is_true(json_object_get(cfg, "disable_binding"));
    hsmca_err_clear();
    json_decref(cfg);
    hsmca_store_doc_clear(&d);
    if (disabled)
        return true;
    /* The exact certificate of the login, not a sibling from the same CA
     * (CVE-2026-39388). */
    der = hsmca_http_req_client_cert(req, &len);
    return want != NULL && der != NULL && cert_hash(der, len, hash) && strcmp(hash, want) == 0;
}

static const hsmca_http_route login_routes[] = {
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT, "login", login, HSMCA_HTTP_ROUTE_UNAUTHENTICATED},
};

hsmca_rv ob_cert_login_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    return hsmca_http_router_add(r, login_routes, sizeof(login_routes) / sizeof(login_routes[0]), api);
}
