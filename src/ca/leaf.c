/* SPDX-License-Identifier: Apache-2.0 */
/* Leaf certificates: issue (the CA makes the key, returns it once) and sign
 * (a CSR), through the role's policy and the common signing pipeline. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "internal.h"

/* A software key for issue/:role, never touching the hsmca provider. */
static hsmca_rv leaf_keygen(const hsmca_role *role, EVP_PKEY **out, char *type_name, size_t type_size)
{
    const char *curve;

    *out = NULL;
    switch (role->key_type) {
    case HSMCA_ROLE_KEY_RSA:
        snprintf(type_name, type_size, "rsa");
        *out = EVP_PKEY_Q_keygen(NULL, "provider!=hsmca", "RSA", (size_t)(role->key_bits ? role->key_bits : 2048));
        break;
    case HSMCA_ROLE_KEY_EC:
        snprintf(type_name, type_size, "ec");
        curve = role->key_bits == 384 ? "P-384" : role->key_bits == 521 ? "P-521"
                : role->key_bits == 224 ? "P-224" : "P-256";
        *out = EVP_PKEY_Q_keygen(NULL, "provider!=hsmca", "EC", curve);
        break;
    case HSMCA_ROLE_KEY_ED25519:
        snprintf(type_name, type_size, "ed25519");
        *out = EVP_PKEY_Q_keygen(NULL, "provider!=hsmca", "ED25519");
        break;
    case HSMCA_ROLE_KEY_ANY:
    default:
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "role '%s' has key_type 'any', which can sign CSRs but cannot generate keys for issue",
                         role->name);
    }
    ERR_clear_error();
    return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_CRYPTO, "generating the leaf key failed");
}

/* Copies a SubjectPublicKeyInfo into the certificate as encoded bytes.
 * X509_set_pubkey() would re-encode an EVP_PKEY through OpenSSL 3.0's
 * encoder framework, ~0.17 ms a certificate (docs/performance.md); the
 * CSR already carries the exact encoding, verified by its signature. */
/* Copies the request's SubjectPublicKeyInfo bytes as sent; 0 when it cannot
 * (unusual algorithm parameters, memory), and the caller encodes the key. */
static int copy_spki(X509 *x, const X509_PUBKEY *src)
{
    const ASN1_OBJECT *alg_obj = NULL;
    const unsigned char *key = NULL;
    int key_len = 0, ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR *alg = NULL;
    ASN1_OBJECT *obj_copy = NULL;
    void *pval_copy = NULL;
    unsigned char *key_copy = NULL;
    int unusual = 0;

    if (!X509_PUBKEY_get0_param(NULL, &key, &key_len, &alg, src) || alg == NULL || key_len <= 0)
        return 0;
    X509_ALGOR_get0(&alg_obj, &ptype, &pval, alg);
    obj_copy = OBJ_dup(alg_obj);
    if (ptype == V_ASN1_OBJECT)
        pval_copy = OBJ_dup(pval);
    else if (ptype == V_ASN1_SEQUENCE)
        pval_copy = ASN1_STRING_dup(pval);
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        unusual = 1;
    key_copy = OPENSSL_memdup(key, (size_t)key_len);
    if (unusual || obj_copy == NULL || key_copy == NULL ||
        ((ptype == V_ASN1_OBJECT || ptype == V_ASN1_SEQUENCE) && pval_copy == NULL) ||
        !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj_copy, ptype, pval_copy, key_copy, key_len)) {
        ASN1_OBJECT_free(obj_copy);
        if (ptype == V_ASN1_OBJECT)
            ASN1_OBJECT_free(pval_copy);
        else if (ptype == V_ASN1_SEQUENCE)
            ASN1_STRING_free(pval_copy);
        OPENSSL_free(key_copy);
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/* The leaf TBS from the policy's template; spki (the CSR's) is copied as is
 * when given, else pub is encoded. */
static hsmca_rv leaf_tbs(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *iss, const hsmca_cert_template *t,
                         EVP_PKEY *pub, const X509_PUBKEY *spki, X509 **out)
{
    X509 *x = X509_new();
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    *out = NULL;
    if (x == NULL || !X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, t->subject) ||
        !X509_set_issuer_name(x, X509_get_subject_name(iss->certificate))) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot set certificate fields");
        goto done;
    }
    if (spki != NULL && copy_spki(x, spki))
        rv = HSMCA_OK;
    else
        rv = X509_set_pubkey(x, pub) ? HSMCA_OK : hsmca_err(HSMCA_ERR_CRYPTO, "cannot set the public key");
    if (rv != HSMCA_OK)
        goto done;
    if ((rv = ca_set_time(X509_getm_notBefore(x), t->not_before)) != HSMCA_OK ||
        (rv = ca_set_time(X509_getm_notAfter(x), t->not_after)) != HSMCA_OK)
        goto done;
    /* Go's x509 (and so OpenBao) marks keyUsage and basicConstraints
     * critical; RFC 5280 4.2.1.3 asks for it on keyUsage. */
    if (t->key_usage != 0) {
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        int ok = ku != NULL;
        for (int bit = 0; ok && bit < 9; bit++) {
            /* KU_* bits are the DER bit string's bits, MSB first per octet. */
            static const int map[9] = {KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION, KU_KEY_ENCIPHERMENT,
                                       KU_DATA_ENCIPHERMENT, KU_KEY_AGREEMENT,   KU_KEY_CERT_SIGN,
                                       KU_CRL_SIGN,          KU_ENCIPHER_ONLY,   KU_DECIPHER_ONLY};
            if (t->key_usage & map[bit])
                ok = ASN1_BIT_STRING_set_bit(ku, bit, 1);
        }
        ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE);
        ASN1_BIT_STRING_free(ku);
        if (!ok) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add keyUsage");
            goto done;
        }
    }
    if (t->ext_key_usage != NULL && sk_ASN1_OBJECT_num(t->ext_key_usage) > 0 &&
        !X509_add1_ext_i2d(x, NID_ext_key_usage, t->ext_key_usage, 0, X509V3_ADD_REPLACE)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add extendedKeyUsage");
        goto done;
    }
    if (t->basic_constraints && (rv = ca_ext_add(x, iss->certificate, NID_basic_constraints, "critical,CA:FALSE")) != HSMCA_OK)
        goto done;
    if (t->sans != NULL && sk_GENERAL_NAME_num(t->sans) > 0 &&
        !X509_add1_ext_i2d(x, NID_subject_alt_name, t->sans, t->san_critical, X509V3_ADD_REPLACE)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add subjectAltName");
        goto done;
    }
    if (t->policy_oids != NULL && sk_ASN1_OBJECT_num(t->policy_oids) > 0) {
        CERTIFICATEPOLICIES *cp = CERTIFICATEPOLICIES_new();
        int ok = cp != NULL;
        for (int i = 0; ok && i < sk_ASN1_OBJECT_num(t->policy_oids); i++) {
            POLICYINFO *pi = POLICYINFO_new();
            ok = pi != NULL && (pi->policyid = OBJ_dup(sk_ASN1_OBJECT_value(t->policy_oids, i))) != NULL &&
                 sk_POLICYINFO_push(cp, pi);
            if (!ok)
                POLICYINFO_free(pi);
        }
        ok = ok && X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0, X509V3_ADD_REPLACE);
        CERTIFICATEPOLICIES_free(cp);
        if (!ok) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add certificatePolicies");
            goto done;
        }
    }
    if ((rv = ca_ext_add_issued_by(ca, mount, iss, x)) != HSMCA_OK)
        goto done;
    *out = x;
    x = NULL;
    rv = HSMCA_OK;
done:
    X509_free(x);
    return rv;
}

/* The common path of issue and sign once the subject key is known. */
static hsmca_rv leaf_run(hsmca_ca *ca, const char *mount, const char *role_name, const char *issuer_ref,
                         const hsmca_issue_request *in, X509_REQ *csr, EVP_PKEY *pub,
                         const unsigned char digest[32], hsmca_ca_result *out)
{
    hsmca_role role;
    hsmca_ca_issuer iss;
    EVP_PKEY *ca_key = NULL;
    hsmca_issue_request req;
    hsmca_policy_context pctx;
    hsmca_cert_template t;
    X509 *tbs = NULL, *cert = NULL;
    ca_sign_job job;
    hsmca_rv rv;

    memset(&role, 0, sizeof(role));
    memset(&iss, 0, sizeof(iss));
    memset(&t, 0, sizeof(t));
    if ((rv = hsmca_ca_role_get(ca, mount, role_name, &role)) != HSMCA_OK)
        goto done;
    if ((rv = ca_issuer_for_signing(ca, mount, issuer_ref && issuer_ref[0] ? issuer_ref : role.issuer_ref, &iss,
                                    &ca_key)) != HSMCA_OK)
        goto done;
    req = *in;
    req.csr = csr;
    req.pubkey = pub;
    memset(&pctx, 0, sizeof(pctx));
    pctx.now = ca_now();
    pctx.issuer_not_after = ca_asn1_time_to_unix(X509_get0_notAfter(iss.certificate));
    pctx.leaf_not_after_behavior = iss.leaf_not_after_behavior;
    if ((rv = ca_mount_ttls(ca, mount, &pctx.default_ttl, &pctx.max_ttl)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_policy_evaluate(&role, &req, &pctx, &t)) != HSMCA_OK)
        goto done;
    if ((rv = leaf_tbs(ca, mount, &iss, &t, pub, csr ? X509_REQ_get_X509_PUBKEY(csr) : NULL, &tbs)) != HSMCA_OK)
        goto done;
    ca_sign_job_init(&job, mount, ca_key, &iss, HSMCA_LINT_LEAF, pctx.now);
    job.role = role.name;
    memcpy(job.request_digest, digest, 32);
    job.lint.cabf = role.cabf_validity_limit;
    job.lint.exclude_cn_from_sans = req.exclude_cn_from_sans;
    job.signature_bits = t.signature_bits;
    job.use_pss = t.use_pss;
    job.no_store = t.no_store;
    if ((rv = ca_sign_certificate(ca, &job, tbs, &cert)) != HSMCA_OK)
        goto done;
    if ((rv = ca_result_set(out, &cert, &iss)) != HSMCA_OK)
        goto done;
    /* OpenBao's warnings (TTL capped, CSR fields ignored...) go back to the
     * caller with the certificate. */
    rv = hsmca_strlist_copy(&out->warnings, &t.warnings);
done:
    hsmca_cert_template_clear(&t);
    hsmca_ca_issuer_clear(&iss);
    hsmca_role_clear(&role);
    X509_free(tbs);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    return rv;
}

hsmca_rv hsmca_ca_issue(hsmca_ca *ca, const char *mount, const char *role_name, const char *issuer_ref,
                        const hsmca_issue_request *req, hsmca_ca_result *out)
{
    hsmca_role role;
    EVP_PKEY *key = NULL;
    unsigned char digest[32];
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    memset(&role, 0, sizeof(role));
    /* The role decides the key; it is read again inside leaf_run, which
     * keeps issue and sign on one path. */
    if ((rv = hsmca_ca_role_get(ca, mount, role_name, &role)) != HSMCA_OK)
        return rv;
    rv = leaf_keygen(&role, &key, out->private_key_type, sizeof(out->private_key_type));
    hsmca_role_clear(&role);
    if (rv != HSMCA_OK)
        return rv;
    /* The request digest covers what was asked: the CN and the key. */
    {
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(key, &der);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        const char *cn = req->common_name ? req->common_name : "";
        memset(digest, 0, sizeof(digest));
        if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, cn, strlen(cn)) &&
            (n <= 0 || EVP_DigestUpdate(c, der, (size_t)n)))
            EVP_DigestFinal_ex(c, digest, NULL);
        EVP_MD_CTX_free(c);
        OPENSSL_free(der);
    }
    rv = leaf_run(ca, mount, role_name, issuer_ref, req, NULL, key, digest, out);
    if (rv == HSMCA_OK) {
        out->private_key = key; /* returned once by the caller, never stored */
        key = NULL;
    } else {
        hsmca_rv r = rv;
        char detail[512];
        snprintf(detail, sizeof(detail), "%s", hsmca_err_message());
        hsmca_ca_result_clear(out);
        hsmca_err(r, "%s", detail);
    }
    EVP_PKEY_free(key); /* frees (and clears) the key if it was not handed out */
    return rv;
}

hsmca_rv hsmca_ca_sign(hsmca_ca *ca, const char *mount, const char *role_name, const char *issuer_ref,
                       const char *csr_pem, const hsmca_issue_request *req, hsmca_ca_result *out)
{
    X509_REQ *csr = NULL;
    EVP_PKEY *pub = NULL;
    unsigned char *der = NULL, digest[32];
    int n;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if ((rv = ca_csr_parse(csr_pem, &csr, &pub)) != HSMCA_OK)
        return rv;
    n = i2d_X509_REQ(csr, &der);
    SHA256(der, n > 0 ? (size_t)n : 0, digest);
    OPENSSL_free(der);
    /* The key whose self-signature the parser checked. */
    rv = leaf_run(ca, mount, role_name, issuer_ref, req, csr, pub, digest, out);
    EVP_PKEY_free(pub);
    if (rv != HSMCA_OK) {
        hsmca_rv r = rv;
        char detail[512];
        snprintf(detail, sizeof(detail), "%s", hsmca_err_message());
        hsmca_ca_result_clear(out);
        hsmca_err(r, "%s", detail);
    }
    X509_REQ_free(csr);
    return rv;
}
