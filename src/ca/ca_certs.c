/* SPDX-License-Identifier: Apache-2.0 */
/* CA certificates: self-signed roots, intermediate CSRs signed by token
 * keys, and intermediates signed by an issuer of the mount. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "hsmca/log.h"
#include "hsmca/provider.h"
#include "hsmca/serial.h"
#include "internal.h"

#define NOT_AFTER_MAX 253402300799LL /* 9999-12-31T23:59:59Z (RFC 5280 4.1.2.5 "no well-defined expiration") */

void hsmca_ca_params_init(hsmca_ca_params *p)
{
    memset(p, 0, sizeof(*p));
    p->type = "internal";
    p->key_ref = "default";
    p->key_type = "rsa";
    p->not_before_duration = 30;
    p->max_path_length = -1;
}

void hsmca_ca_params_clear(hsmca_ca_params *p)
{
    hsmca_strlist *lists[] = {&p->alt_names, &p->ip_sans, &p->uri_sans, &p->other_sans, &p->ou,
                              &p->organization, &p->country, &p->locality, &p->province,
                              &p->street_address, &p->postal_code, &p->permitted_dns_domains};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        hsmca_strlist_clear(lists[i]);
}

static void names_from_params(const hsmca_ca_params *p, ca_names_input *in)
{
    memset(in, 0, sizeof(*in));
    in->common_name = p->common_name;
    in->alt_names = p->alt_names;
    in->ip_sans = p->ip_sans;
    in->uri_sans = p->uri_sans;
    in->other_sans = p->other_sans;
    in->ou = p->ou;
    in->organization = p->organization;
    in->country = p->country;
    in->locality = p->locality;
    in->province = p->province;
    in->street_address = p->street_address;
    in->postal_code = p->postal_code;
    in->serial_number = p->serial_number;
    in->exclude_cn_from_sans = p->exclude_cn_from_sans;
}

/* notBefore/notAfter of a CA certificate: not_after wins over ttl; ttl may
 * not exceed the mount maximum; below an issuer, its leaf_not_after_behavior
 * decides what happens past its own notAfter. */
static hsmca_rv ca_validity(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p, const hsmca_ca_issuer *issuer,
                            int64_t now, int64_t *nb, int64_t *na)
{
    int64_t def_ttl, max_ttl;
    hsmca_rv rv;

    if ((rv = ca_mount_ttls(ca, mount, &def_ttl, &max_ttl)) != HSMCA_OK)
        return rv;

    if (p->not_before_duration < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "not_before_duration may not be negative");
    *nb = now - p->not_before_duration;
    if (p->not_after != NULL && p->not_after[0] != '\0') {
        rv = hsmca_time_parse_rfc3339(p->not_after, na);
        if (rv != HSMCA_OK)
            return rv;
    } else if (p->ttl > 0) {
        if (p->ttl > max_ttl)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "ttl %llds is larger than the mount's max_lease_ttl %llds (sys/mounts/%s/tune)",
                             (long long)p->ttl, (long long)max_ttl, mount);
        *na = now + p->ttl;
    } else if (p->ttl < 0) {
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ttl may not be negative");
    } else {
        *na = now + max_ttl;
    }
    if (*na > NOT_AFTER_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "not_after is beyond 9999-12-31T23:59:59Z");
    if (*na <= now)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "not_after is in the past");
    if (issuer != NULL) {
        int64_t limit = ca_asn1_time_to_unix(X509_get0_notAfter(issuer->certificate));
        if (*na > limit) {
            if (issuer->leaf_not_after_behavior == HSMCA_NOT_AFTER_TRUNCATE)
                *na = limit;
            else if (issuer->leaf_not_after_behavior == HSMCA_NOT_AFTER_ERR)
                return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                 "requested validity ends after issuer '%s' expires (leaf_not_after_behavior err)",
                                 issuer->issuer_id);
        }
    }
    return HSMCA_OK;
}

/* A mount key for the request: a new one (internal), an existing one, and
 * never an exportable one. */
static hsmca_rv params_key(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p, hsmca_ca_key *k, bool *generated)
{
    *generated = false;
    if (p->type == NULL || strcmp(p->type, "internal") == 0) {
        hsmca_rv rv = hsmca_ca_key_generate(ca, mount, "internal", p->key_name, p->key_type, p->key_bits, k);
        *generated = rv == HSMCA_OK;
        return rv;
    }
    if (strcmp(p->type, "existing") == 0)
        return ca_key_resolve(ca, mount, p->key_ref, k);
    if (strcmp(p->type, "exported") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "type 'exported' is refused: this CA keeps issuer private keys in its HSM and never "
                         "exports them (use 'internal' or 'existing')");
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "type '%s' is not one of internal, existing", p->type);
}

static hsmca_rv check_issuer_name(hsmca_ca *ca, const char *mount, const char *name)
{
    hsmca_store_doc doc;
    hsmca_rv rv;

    if (name == NULL || name[0] == '\0')
        return HSMCA_OK;
    if (strcmp(name, "default") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer_name 'default' is reserved");
    rv = hsmca_name_check("issuer_name", name, HSMCA_STORE_ID_MAX);
    if (rv != HSMCA_OK)
        return rv;
    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(ca->store, mount, HSMCA_DOC_ISSUER, name, &doc);
    hsmca_store_doc_clear(&doc);
    if (rv == HSMCA_OK)
        return hsmca_err(HSMCA_ERR_EXISTS, "issuer_name '%s' is already used in mount '%s'", name, mount);
    hsmca_err_clear();
    return HSMCA_OK;
}

static void request_digest(const void *data, size_t len, unsigned char out[32])
{
    SHA256(data, len, out);
}

static hsmca_rv add_name_constraints(X509 *x, const hsmca_strlist *domains)
{
    NAME_CONSTRAINTS *nc;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (domains->n == 0)
        return HSMCA_OK;
    nc = NAME_CONSTRAINTS_new();
    if (nc == NULL || (nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
        goto done;
    for (size_t i = 0; i < domains->n; i++) {
        GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (st == NULL || s == NULL || !ASN1_STRING_set(s, domains->v[i], (int)strlen(domains->v[i]))) {
            GENERAL_SUBTREE_free(st);
            ASN1_IA5STRING_free(s);
            goto done;
        }
        GENERAL_NAME_set0_value(st->base, GEN_DNS, s);
        if (!sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st)) {
            GENERAL_SUBTREE_free(st);
            goto done;
        }
    }
    /* RFC 5280 4.2.1.10: conforming CAs MUST mark it critical. */
    rv = X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_REPLACE)
             ? HSMCA_OK
             : hsmca_err(HSMCA_ERR_NOMEM, "cannot add nameConstraints");
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building nameConstraints");
    NAME_CONSTRAINTS_free(nc);
    return rv;
}

/* The TBS of a CA certificate. issuer NULL: self-signed (its own AKI, the
 * mount's URLs templated with new_issuer_id). */
static hsmca_rv ca_tbs(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p, EVP_PKEY *subject_key,
                       X509_NAME *subject, GENERAL_NAMES *sans, const hsmca_ca_issuer *issuer,
                       const char *new_issuer_id, int64_t nb, int64_t na, int pathlen, X509 **out)
{
    X509 *x = X509_new();
    X509 *issuer_cert = issuer ? issuer->certificate : NULL;
    char bc[48];
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (x == NULL || !X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, issuer_cert ? X509_get_subject_name(issuer_cert) : subject) ||
        !X509_set_pubkey(x, subject_key)) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot set certificate fields");
        goto done;
    }
    if ((rv = ca_set_time(X509_getm_notBefore(x), nb)) != HSMCA_OK || (rv = ca_set_time(X509_getm_notAfter(x), na)) != HSMCA_OK)
        goto done;
    if (pathlen >= 0)
        snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", pathlen);
    else
        snprintf(bc, sizeof(bc), "critical,CA:TRUE");
    if ((rv = ca_ext_add(x, issuer_cert, NID_basic_constraints, bc)) != HSMCA_OK ||
        (rv = ca_ext_add(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign")) != HSMCA_OK ||
        (rv = ca_ext_add(x, issuer_cert, NID_subject_key_identifier, p->skid && p->skid[0] ? p->skid : "hash")) !=
            HSMCA_OK ||
        (rv = ca_ext_add(x, issuer_cert, NID_authority_key_identifier, "keyid:always")) != HSMCA_OK)
        goto done;
    if (sans != NULL && sk_GENERAL_NAME_num(sans) > 0 &&
        !X509_add1_ext_i2d(x, NID_subject_alt_name, sans, X509_NAME_entry_count(subject) == 0, X509V3_ADD_REPLACE)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add subjectAltName");
        goto done;
    }
    if ((rv = add_name_constraints(x, &p->permitted_dns_domains)) != HSMCA_OK)
        goto done;
    if (issuer != NULL) {
        rv = ca_ext_add_urls(ca, mount, issuer, x);
    } else {
        hsmca_ca_issuer self;
        memset(&self, 0, sizeof(self));
        snprintf(self.issuer_id, sizeof(self.issuer_id), "%s", new_issuer_id);
        rv = ca_ext_add_urls(ca, mount, &self, x);
        /* self has no URLs of its own: the mount's config/urls apply */
    }
    if (rv != HSMCA_OK)
        goto done;
    *out = x;
    x = NULL;
    rv = HSMCA_OK;
done:
    X509_free(x);
    return rv;
}

/* A key generated for a CA certificate that was never made is removed again,
 * keeping the caller's error. */
static void drop_generated_key(hsmca_ca *ca, const char *mount, const char *key_id)
{
    hsmca_rv keep = hsmca_err_last();
    char detail[512];

    snprintf(detail, sizeof(detail), "%s", hsmca_err_message());
    hsmca_ca_key_delete(ca, mount, key_id);
    hsmca_err(keep, "%s", detail);
}

hsmca_rv hsmca_ca_generate_root(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p, hsmca_ca_result *out)
{
    hsmca_ca_key key;
    bool generated = false;
    EVP_PKEY *pkey = NULL;
    X509_NAME *subject = NULL;
    GENERAL_NAMES *sans = NULL;
    X509 *tbs = NULL, *cert = NULL;
    ca_names_input names;
    ca_sign_job job;
    hsmca_ca_issuer iss;
    char issuer_id[37];
    unsigned char *subj_der = NULL;
    int64_t now = ca_now(), nb = 0, na = 0;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    memset(&iss, 0, sizeof(iss));
    if (p->common_name == NULL || p->common_name[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "common_name is required");
    if ((rv = check_issuer_name(ca, mount, p->issuer_name)) != HSMCA_OK)
        return rv;
    names_from_params(p, &names);
    if ((rv = ca_names_subject(&names, &subject)) != HSMCA_OK || (rv = ca_names_sans(&names, &sans)) != HSMCA_OK)
        goto done;
    if ((rv = ca_validity(ca, mount, p, NULL, now, &nb, &na)) != HSMCA_OK)
        goto done;
    if ((rv = params_key(ca, mount, p, &key, &generated)) != HSMCA_OK)
        goto done;
    if ((rv = ca_key_pkey(ca, key.key_id, &pkey)) != HSMCA_OK)
        goto done;
    if ((rv = ca_new_uuid(ca, issuer_id)) != HSMCA_OK)
        goto done;
    rv = ca_tbs(ca, mount, p, pkey, subject, sans, NULL, issuer_id, nb, na, p->max_path_length, &tbs);
    if (rv != HSMCA_OK)
        goto done;

    ca_sign_job_init(&job, mount, pkey, NULL, HSMCA_LINT_ROOT, now);
    job.issuer_id = issuer_id;
    {
        int n = i2d_X509_NAME(subject, &subj_der);
        request_digest(subj_der, n > 0 ? (size_t)n : 0, job.request_digest);
    }
    job.signature_bits = p->signature_bits;
    job.use_pss = p->use_pss;
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;
    if ((rv = ca_issuer_create_with_id(ca, mount, cert, key.key_id, p->issuer_name, issuer_id, &iss)) != HSMCA_OK)
        goto done;
    if ((rv = ca_result_set(out, &cert, NULL)) != HSMCA_OK)
        goto done;
    snprintf(out->issuer_id, sizeof(out->issuer_id), "%s", iss.issuer_id);
    snprintf(out->issuer_name, sizeof(out->issuer_name), "%s", iss.issuer_name);
    snprintf(out->key_id, sizeof(out->key_id), "%s", key.key_id);
    snprintf(out->key_name, sizeof(out->key_name), "%s", key.key_name);
    out->ca_chain = sk_X509_new_null();
    if (out->ca_chain == NULL || !X509_up_ref(out->certificate) || !sk_X509_push(out->ca_chain, out->certificate)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': root issuer %s (serial %s) created with key %s", mount, iss.issuer_id,
              out->serial_number, key.key_id);
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK && generated)
        drop_generated_key(ca, mount, key.key_id);
    if (rv != HSMCA_OK)
        hsmca_ca_result_clear(out);
    hsmca_ca_issuer_clear(&iss);
    OPENSSL_free(subj_der);
    X509_free(tbs);
    X509_free(cert);
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    EVP_PKEY_free(pkey);
    return rv;
}

hsmca_rv hsmca_ca_generate_intermediate(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p,
                                        hsmca_ca_result *out)
{
    hsmca_ca_key key;
    bool generated = false;
    EVP_PKEY *pkey = NULL;
    X509_NAME *subject = NULL;
    GENERAL_NAMES *sans = NULL;
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    EVP_MD_CTX *mctx = NULL;
    ca_names_input names;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (p->common_name == NULL || p->common_name[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "common_name is required");
    names_from_params(p, &names);
    if ((rv = ca_names_subject(&names, &subject)) != HSMCA_OK || (rv = ca_names_sans(&names, &sans)) != HSMCA_OK)
        goto done;
    if ((rv = params_key(ca, mount, p, &key, &generated)) != HSMCA_OK)
        goto done;
    if ((rv = ca_key_pkey(ca, key.key_id, &pkey)) != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_NOMEM;
    req = X509_REQ_new();
    exts = sk_X509_EXTENSION_new_null();
    mctx = EVP_MD_CTX_new();
    if (req == NULL || exts == NULL || mctx == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
        !X509_REQ_set_subject_name(req, subject) || !X509_REQ_set_pubkey(req, pkey))
        goto done;
    if (sk_GENERAL_NAME_num(sans) > 0 && !X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0, X509V3_ADD_REPLACE))
        goto done;
    if (p->add_basic_constraints) {
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        int ok = bc != NULL;
        if (ok) {
            bc->ca = 1;
            ok = X509V3_add1_i2d(&exts, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE);
        }
        BASIC_CONSTRAINTS_free(bc);
        if (!ok)
            goto done;
    }
    if (sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts))
        goto done;
    if ((rv = hsmca_provider_sign_init(mctx, ca->libctx, ca_sign_digest(pkey, p->signature_bits), pkey,
                                       p->use_pss && EVP_PKEY_is_a(pkey, "RSA"))) != HSMCA_OK)
        goto done;
    if (X509_REQ_sign_ctx(req, mctx) <= 0 || X509_REQ_verify(req, pkey) != 1) {
        ERR_clear_error();
        rv = hsmca_err_last() == HSMCA_ERR_HSM_UNAVAILABLE ? HSMCA_ERR_HSM_UNAVAILABLE
                                                           : hsmca_err(HSMCA_ERR_CRYPTO, "signing the CSR in the token failed");
        goto done;
    }
    out->csr = req;
    req = NULL;
    snprintf(out->key_id, sizeof(out->key_id), "%s", key.key_id);
    snprintf(out->key_name, sizeof(out->key_name), "%s", key.key_name);
    snprintf(out->private_key_type, sizeof(out->private_key_type), "%s", key.key_type);
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building the CSR");
    if (rv != HSMCA_OK && generated)
        drop_generated_key(ca, mount, key.key_id);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    EVP_MD_CTX_free(mctx);
    X509_REQ_free(req);
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    EVP_PKEY_free(pkey);
    return rv;
}

hsmca_rv hsmca_ca_sign_intermediate(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *csr_pem,
                                    const hsmca_ca_params *p, hsmca_ca_result *out)
{
    hsmca_ca_issuer iss;
    EVP_PKEY *pkey = NULL, *csr_key = NULL;
    X509_REQ *req = NULL;
    X509_NAME *subject = NULL;
    GENERAL_NAMES *sans = NULL;
    X509 *tbs = NULL, *cert = NULL;
    unsigned char *req_der = NULL;
    ca_names_input names;
    ca_sign_job job;
    int64_t now = ca_now(), nb = 0, na = 0;
    int parent_pathlen, pathlen;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    memset(&iss, 0, sizeof(iss));
    if ((rv = ca_csr_parse(csr_pem, &req, &csr_key)) != HSMCA_OK)
        return rv;
    if ((rv = ca_issuer_for_signing(ca, mount, issuer_ref, &iss, &pkey)) != HSMCA_OK)
        goto done;
    if (p->use_csr_values) {
        /* Subject and SANs as the CSR asks (OpenBao use_csr_values). */
        STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
        subject = X509_NAME_dup(X509_REQ_get_subject_name(req));
        sans = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        if (subject == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
    } else {
        if (p->common_name == NULL || p->common_name[0] == '\0') {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "common_name is required (or set use_csr_values)");
            goto done;
        }
        names_from_params(p, &names);
        if ((rv = ca_names_subject(&names, &subject)) != HSMCA_OK || (rv = ca_names_sans(&names, &sans)) != HSMCA_OK)
            goto done;
    }
    /* max_path_length: at most the parent's minus one (RFC 5280 4.2.1.9). */
    parent_pathlen = (int)X509_get_pathlen(iss.certificate);
    if (parent_pathlen == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "issuer '%s' has pathLenConstraint 0: it may not sign CA certificates", iss.issuer_id);
        goto done;
    }
    pathlen = p->max_path_length;
    if (parent_pathlen > 0 && (pathlen < 0 || pathlen > parent_pathlen - 1))
        pathlen = parent_pathlen - 1;
    if ((rv = ca_validity(ca, mount, p, &iss, now, &nb, &na)) != HSMCA_OK)
        goto done;
    rv = ca_tbs(ca, mount, p, csr_key, subject, sans, &iss, NULL, nb, na, pathlen, &tbs);
    if (rv != HSMCA_OK)
        goto done;
    ca_sign_job_init(&job, mount, pkey, &iss, HSMCA_LINT_CA, now);
    {
        int n = i2d_X509_REQ(req, &req_der);
        request_digest(req_der, n > 0 ? (size_t)n : 0, job.request_digest);
    }
    job.signature_bits = p->signature_bits;
    job.use_pss = p->use_pss;
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;
    rv = ca_result_set(out, &cert, &iss);
done:
    if (rv != HSMCA_OK)
        hsmca_ca_result_clear(out);
    hsmca_ca_issuer_clear(&iss);
    OPENSSL_free(req_der);
    X509_free(tbs);
    X509_free(cert);
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    X509_REQ_free(req);
    EVP_PKEY_free(csr_key);
    EVP_PKEY_free(pkey);
    return rv;
}
