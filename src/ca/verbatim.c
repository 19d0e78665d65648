/* SPDX-License-Identifier: Apache-2.0 */
/* The privileged signing endpoints: sign-verbatim (a CSR's subject and
 * extensions as they are) and sign-self-issued (a CA certificate re-signed
 * for root rollover). Both still pass lint before the token signs. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "internal.h"

void hsmca_verbatim_params_init(hsmca_verbatim_params *p)
{
    memset(p, 0, sizeof(*p));
    p->basic_constraints_valid_for_non_ca = -1;
}

void hsmca_verbatim_params_clear(hsmca_verbatim_params *p)
{
    hsmca_strlist_clear(&p->key_usage);
    hsmca_strlist_clear(&p->ext_key_usage);
    hsmca_strlist_clear(&p->ext_key_usage_oids);
    hsmca_strlist_clear(&p->user_ids);
}

static bool has_ext(const STACK_OF(X509_EXTENSION) *exts, int nid)
{
    return X509v3_get_ext_by_NID(exts, nid, -1) >= 0;
}

static hsmca_rv add_default_usages(X509 *x, const STACK_OF(X509_EXTENSION) *csr_exts, const hsmca_verbatim_params *p)
{
    static const char *const default_ku[] = {"DigitalSignature", "KeyAgreement", "KeyEncipherment"};
    hsmca_rv rv = HSMCA_OK;

    if (!has_ext(csr_exts, NID_key_usage)) {
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        static const int map[9] = {KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION, KU_KEY_ENCIPHERMENT,
                                   KU_DATA_ENCIPHERMENT, KU_KEY_AGREEMENT,   KU_KEY_CERT_SIGN,
                                   KU_CRL_SIGN,          KU_ENCIPHER_ONLY,   KU_DECIPHER_ONLY};
        int bits = 0;
        size_t n = p->key_usage_set ? p->key_usage.n : 3;
        for (size_t i = 0; i < n; i++) {
            const char *name = p->key_usage_set ? p->key_usage.v[i] : default_ku[i];
            int b = hsmca_role_key_usage_bit(name);
            if (b == 0) {
                ASN1_BIT_STRING_free(ku);
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_usage '%s' is not a key usage name", name);
            }
            bits |= b;
        }
        /* keyCertSign would make a CA key; sign-verbatim never issues CAs. */
        if (bits & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
            ASN1_BIT_STRING_free(ku);
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_usage CertSign/CRLSign is not allowed on sign-verbatim");
        }
        for (int bit = 0; ku != NULL && bit < 9; bit++) {
            if ((bits & map[bit]) && !ASN1_BIT_STRING_set_bit(ku, bit, 1))
                rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        }
        if (ku == NULL || (bits != 0 && rv == HSMCA_OK && !X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE)))
            rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add keyUsage");
        ASN1_BIT_STRING_free(ku);
        if (rv != HSMCA_OK)
            return rv;
    }
    if (!has_ext(csr_exts, NID_ext_key_usage) && (p->ext_key_usage.n > 0 || p->ext_key_usage_oids.n > 0)) {
        EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
        for (size_t i = 0; eku != NULL && rv == HSMCA_OK && i < p->ext_key_usage.n + p->ext_key_usage_oids.n; i++) {
            const char *oid = i < p->ext_key_usage.n ? hsmca_role_ext_key_usage_oid(p->ext_key_usage.v[i])
                                                     : p->ext_key_usage_oids.v[i - p->ext_key_usage.n];
            ASN1_OBJECT *o = oid ? OBJ_txt2obj(oid, 1) : NULL;
            if (o == NULL)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "extended key usage '%s' is not known",
                               i < p->ext_key_usage.n ? p->ext_key_usage.v[i] : oid);
            else if (!sk_ASN1_OBJECT_push(eku, o))
                ASN1_OBJECT_free(o), rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        }
        if (rv == HSMCA_OK && (eku == NULL || !X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_REPLACE)))
            rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add extendedKeyUsage");
        sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    }
    return rv;
}

hsmca_rv hsmca_ca_sign_verbatim(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *csr_pem,
                                const hsmca_verbatim_params *p, hsmca_ca_result *out)
{
    hsmca_ca_issuer iss;
    hsmca_role role;
    EVP_PKEY *ca_key = NULL, *csr_key = NULL;
    X509_REQ *csr = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_NAME *subject = NULL;
    X509 *tbs = NULL, *cert = NULL;
    ca_sign_job job;
    unsigned char *der = NULL;
    int64_t now = ca_now(), nb, na = 0, ttl, max_ttl, mount_def, mount_max;
    bool have_role = p->role != NULL && p->role[0] != '\0', bc;
    hsmca_rv rv;
    int n;

    memset(out, 0, sizeof(*out));
    memset(&iss, 0, sizeof(iss));
    memset(&role, 0, sizeof(role));
    if ((rv = ca_csr_parse(csr_pem, &csr, &csr_key)) != HSMCA_OK)
        return rv;
    if (have_role && (rv = hsmca_ca_role_get(ca, mount, p->role, &role)) != HSMCA_OK)
        goto done;
    if ((rv = ca_issuer_for_signing(ca, mount, issuer_ref, &iss, &ca_key)) != HSMCA_OK)
        goto done;
    exts = X509_REQ_get_extensions(csr);
    {
        BASIC_CONSTRAINTS *bcs = exts ? X509V3_get_d2i(exts, NID_basic_constraints, NULL, NULL) : NULL;
        bool is_ca = bcs != NULL && bcs->ca;
        BASIC_CONSTRAINTS_free(bcs);
        if (is_ca) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                           "the CSR asks for a CA certificate; sign-verbatim refuses (use sign-intermediate)");
            goto done;
        }
    }
    /* validity: request, else role, else mount; never past max_ttl */
    if ((rv = ca_mount_ttls(ca, mount, &mount_def, &mount_max)) != HSMCA_OK)
        goto done;
    max_ttl = have_role && role.max_ttl > 0 ? role.max_ttl : mount_max;
    ttl = p->ttl > 0 ? p->ttl : have_role && role.ttl > 0 ? role.ttl : mount_def;
    if (ttl > max_ttl)
        ttl = max_ttl;
    nb = now - (have_role ? role.not_before_duration : 30);
    if (p->not_after != NULL && p->not_after[0] != '\0') {
        if ((rv = hsmca_time_parse_rfc3339(p->not_after, &na)) != HSMCA_OK)
            goto done;
    } else {
        na = now + ttl;
    }
    if (na > ca_asn1_time_to_unix(X509_get0_notAfter(iss.certificate))) {
        if (iss.leaf_not_after_behavior == HSMCA_NOT_AFTER_TRUNCATE) {
            na = ca_asn1_time_to_unix(X509_get0_notAfter(iss.certificate));
        } else if (iss.leaf_not_after_behavior == HSMCA_NOT_AFTER_ERR) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "requested validity ends after issuer '%s' expires",
                           iss.issuer_id);
            goto done;
        }
    }
    subject = X509_NAME_dup(X509_REQ_get_subject_name(csr));
    tbs = X509_new();
    if (subject == NULL || tbs == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < p->user_ids.n; i++) {
        if (!X509_NAME_add_entry_by_NID(subject, NID_userId, MBSTRING_UTF8, (const unsigned char *)p->user_ids.v[i],
                                        -1, -1, 0)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "user_ids '%s' is not valid UTF-8", p->user_ids.v[i]);
            goto done;
        }
    }
    if (!X509_set_version(tbs, X509_VERSION_3) || !X509_set_subject_name(tbs, subject) ||
        !X509_set_issuer_name(tbs, X509_get_subject_name(iss.certificate)) ||
        !X509_set_pubkey(tbs, csr_key)) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot set certificate fields");
        goto done;
    }
    if ((rv = ca_set_time(X509_getm_notBefore(tbs), nb)) != HSMCA_OK || (rv = ca_set_time(X509_getm_notAfter(tbs), na)) != HSMCA_OK)
        goto done;
    /* The CSR's extensions verbatim, except the identifiers the CA owns. */
    for (int i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (nid == NID_authority_key_identifier || nid == NID_subject_key_identifier || nid == NID_info_access ||
            nid == NID_crl_distribution_points)
            continue;
        if (!X509_add_ext(tbs, e, -1)) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot copy a CSR extension");
            goto done;
        }
    }
    if ((rv = add_default_usages(tbs, exts, p)) != HSMCA_OK)
        goto done;
    bc = p->basic_constraints_valid_for_non_ca >= 0 ? p->basic_constraints_valid_for_non_ca == 1
                                                    : have_role && role.basic_constraints_valid_for_non_ca;
    if (bc && !has_ext(exts, NID_basic_constraints) &&
        (rv = ca_ext_add(tbs, iss.certificate, NID_basic_constraints, "critical,CA:FALSE")) != HSMCA_OK)
        goto done;
    if ((rv = ca_ext_add_issued_by(ca, mount, &iss, tbs)) != HSMCA_OK)
        goto done;
    ca_sign_job_init(&job, mount, ca_key, &iss, HSMCA_LINT_LEAF, now);
    job.role = have_role ? role.name : "";
    n = i2d_X509_REQ(csr, &der);
    SHA256(der, n > 0 ? (size_t)n : 0, job.request_digest);
    job.signature_bits = p->signature_bits;
    job.use_pss = p->use_pss;
    job.no_store = have_role && role.no_store;
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;
    rv = ca_result_set(out, &cert, &iss);
done:
    if (rv != HSMCA_OK)
        hsmca_ca_result_clear(out);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    OPENSSL_free(der);
    X509_NAME_free(subject);
    X509_free(tbs);
    X509_free(cert);
    X509_REQ_free(csr);
    EVP_PKEY_free(csr_key);
    EVP_PKEY_free(ca_key);
    hsmca_ca_issuer_clear(&iss);
    hsmca_role_clear(&role);
    return rv;
}

hsmca_rv hsmca_ca_sign_self_issued(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *cert_pem,
                                   bool require_matching_algorithms, hsmca_ca_result *out)
{
    hsmca_ca_issuer iss;
    EVP_PKEY *ca_key = NULL;
    X509 *in = NULL, *tbs = NULL, *cert = NULL;
    BIO *bio = NULL;
    ca_sign_job job;
    unsigned char *der = NULL;
    hsmca_rv rv;
    int n, idx;

    memset(out, 0, sizeof(*out));
    memset(&iss, 0, sizeof(iss));
    if (cert_pem == NULL || cert_pem[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate is empty");
    bio = BIO_new_mem_buf(cert_pem, -1);
    in = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (in == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate is not a PEM certificate");
    if (X509_check_ca(in) < 1) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate is not a CA certificate");
        goto done;
    }
    if (X509_NAME_cmp(X509_get_subject_name(in), X509_get_issuer_name(in)) != 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate is not self-issued (issuer differs from subject)");
        goto done;
    }
    if ((rv = ca_issuer_for_signing(ca, mount, issuer_ref, &iss, &ca_key)) != HSMCA_OK)
        goto done;
    if (require_matching_algorithms &&
        EVP_PKEY_get_base_id(X509_get0_pubkey(in)) != EVP_PKEY_get_base_id(X509_get0_pubkey(iss.certificate))) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "the certificate's key type differs from the issuer's");
        goto done;
    }
    tbs = X509_dup(in);
    if (tbs == NULL || !X509_set_issuer_name(tbs, X509_get_subject_name(iss.certificate))) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Only the issuer-side fields are replaced (OpenBao's contract). */
    while ((idx = X509_get_ext_by_NID(tbs, NID_authority_key_identifier, -1)) >= 0)
        X509_EXTENSION_free(X509_delete_ext(tbs, idx));
    while ((idx = X509_get_ext_by_NID(tbs, NID_crl_distribution_points, -1)) >= 0)
        X509_EXTENSION_free(X509_delete_ext(tbs, idx));
    while ((idx = X509_get_ext_by_NID(tbs, NID_info_access, -1)) >= 0)
        X509_EXTENSION_free(X509_delete_ext(tbs, idx));
    if ((rv = ca_ext_add(tbs, iss.certificate, NID_authority_key_identifier, "keyid:always")) != HSMCA_OK ||
        (rv = ca_ext_add_urls(ca, mount, &iss, tbs)) != HSMCA_OK)
        goto done;
    ca_sign_job_init(&job, mount, ca_key, &iss, HSMCA_LINT_CA, ca_now());
    n = i2d_X509(in, &der);
    SHA256(der, n > 0 ? (size_t)n : 0, job.request_digest);
    /* A rollover certificate (old root signs the new one) normally outlives
     * its signer; the validity is the submitted certificate's own. */
    job.lint.permit_beyond_issuer = true;
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;
    rv = ca_result_set(out, &cert, &iss);
done:
    if (rv != HSMCA_OK)
        hsmca_ca_result_clear(out);
    OPENSSL_free(der);
    X509_free(in);
    X509_free(tbs);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    hsmca_ca_issuer_clear(&iss);
    return rv;
}
