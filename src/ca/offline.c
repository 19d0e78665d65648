/* SPDX-License-Identifier: Apache-2.0 */
/* Offline CA operations for key ceremonies: CA and OCSP-signer certificates,
 * CSRs and root CRLs built from a profile, linted, then signed with a given
 * key, using the same TBS, extension, time and lint helpers as the online
 * CA core. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "hsmca/offline.h"
#include "hsmca/provider.h"
#include "internal.h"

#define CSR_PEM_MAX (64 * 1024)

/* A one-entry list view of s (no copy), empty for NULL or "". */
static hsmca_strlist one(const char *s, char **slot)
{
    hsmca_strlist l = {0};

    if (s != NULL && s[0] != '\0') {
        *slot = (char *)(uintptr_t)s; /* read only by ca_names_subject */
        l.v = slot;
        l.n = 1;
    }
    return l;
}

hsmca_rv hsmca_offline_name_build(const hsmca_offline_name *in, X509_NAME **out)
{
    ca_names_input n;
    char *s[5];

    memset(&n, 0, sizeof(n));
    n.common_name = in->common_name;
    n.organization = one(in->organization, &s[0]);
    n.ou = one(in->organizational_unit, &s[1]);
    n.country = one(in->country, &s[2]);
    n.province = one(in->province, &s[3]);
    n.locality = one(in->locality, &s[4]);
    n.serial_number = in->serial_number;
    return ca_names_subject(&n, out);
}

/* A signing context for key: through the hsmca provider for a token key;
 * a dry run's software stand-in uses the default implementation (asking
 * for hsmca first would make OpenSSL 3.0 try to move the software key into
 * the token provider). */
static hsmca_rv sign_init(EVP_MD_CTX *mctx, OSSL_LIB_CTX *libctx, EVP_PKEY *key, int bits, bool pss)
{
    const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
    const char *md = ca_sign_digest(key, bits);
    EVP_PKEY_CTX *pctx = NULL;

    pss = pss && EVP_PKEY_is_a(key, "RSA");
    if (prov != NULL && strcmp(OSSL_PROVIDER_get0_name(prov), HSMCA_PROVIDER_NAME) == 0)
        return hsmca_provider_sign_init(mctx, libctx, md, key, pss);
    if (EVP_DigestSignInit_ex(mctx, &pctx, md, libctx, NULL, key, NULL) != 1 ||
        (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))) {
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot start a signature with the stand-in key");
    }
    return HSMCA_OK;
}

/* certificatePolicies from dotted OIDs only: a name or an "@section" would
 * be read as OpenSSL config syntax, which a ceremony file must not reach. */
static hsmca_rv add_policies(X509 *x, const hsmca_strlist *oids)
{
    CERTIFICATEPOLICIES *cp = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (oids == NULL || oids->n == 0)
        return HSMCA_OK;
    if ((cp = CERTIFICATEPOLICIES_new()) == NULL)
        goto done;
    for (size_t i = 0; i < oids->n; i++) {
        POLICYINFO *pi;
        ASN1_OBJECT *o = OBJ_txt2obj(oids->v[i], 1);
        if (o == NULL || strspn(oids->v[i], "0123456789.") != strlen(oids->v[i])) {
            ASN1_OBJECT_free(o);
            ERR_clear_error();
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies[%zu] '%.64s' is not a dotted OID", i, oids->v[i]);
            goto done;
        }
        if ((pi = POLICYINFO_new()) == NULL) {
            ASN1_OBJECT_free(o);
            goto done;
        }
        ASN1_OBJECT_free(pi->policyid);
        pi->policyid = o;
        if (!sk_POLICYINFO_push(cp, pi)) {
            POLICYINFO_free(pi);
            goto done;
        }
    }
    rv = X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0, X509V3_ADD_REPLACE)
             ? HSMCA_OK
             : hsmca_err(HSMCA_ERR_NOMEM, "cannot add certificatePolicies");
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building certificatePolicies");
    CERTIFICATEPOLICIES_free(cp);
    return rv;
}

/* The extensions of each kind: RFC 5280 4.2.1.9/4.2.1.3 for CAs (critical
 * basicConstraints CA:TRUE, critical keyCertSign+cRLSign); RFC 6960
 * 4.2.2.2 for a delegated OCSP signer (id-kp-OCSPSigning) and 4.2.2.2.1
 * (id-pkix-ocsp-nocheck, so clients do not ask the responder about itself). */
static hsmca_rv add_kind_extensions(X509 *x, const hsmca_offline_cert_profile *p)
{
    X509 *iss = p->issuer; /* NULL: self-signed, ca_ext_add uses x */
    char bc[48];
    hsmca_rv rv;

    if (p->kind == HSMCA_OFFLINE_OCSP_SIGNER) {
        ASN1_NULL *null = ASN1_NULL_new();
        int ok;
        if ((rv = ca_ext_add(x, iss, NID_basic_constraints, "critical,CA:FALSE")) != HSMCA_OK ||
            (rv = ca_ext_add(x, iss, NID_key_usage, "critical,digitalSignature")) != HSMCA_OK ||
            (rv = ca_ext_add(x, iss, NID_ext_key_usage, "OCSPSigning")) != HSMCA_OK) {
            ASN1_NULL_free(null);
            return rv;
        }
        ok = null != NULL && X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, null, 0, X509V3_ADD_REPLACE);
        ASN1_NULL_free(null);
        if (!ok)
            return hsmca_err(HSMCA_ERR_NOMEM, "cannot add id-pkix-ocsp-nocheck");
    } else {
        if (p->path_len >= 0)
            snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", p->path_len);
        else
            snprintf(bc, sizeof(bc), "critical,CA:TRUE");
        if ((rv = ca_ext_add(x, iss, NID_basic_constraints, bc)) != HSMCA_OK ||
            (rv = ca_ext_add(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign")) != HSMCA_OK)
            return rv;
    }
    if ((rv = ca_ext_add(x, iss, NID_subject_key_identifier, "hash")) != HSMCA_OK ||
        (rv = ca_ext_add(x, iss, NID_authority_key_identifier, "keyid:always")) != HSMCA_OK ||
        (rv = add_policies(x, p->policies)) != HSMCA_OK)
        return rv;
    return ca_ext_add_url_lists(x, p->ca_issuers_urls, p->ocsp_urls, p->crl_urls);
}

hsmca_rv hsmca_offline_cert_prepare(OSSL_LIB_CTX *libctx, const hsmca_offline_cert_profile *p, X509 **tbs,
                                    hsmca_lint_finding *finding)
{
    X509 *x = NULL;
    EVP_MD_CTX *mctx = NULL;
    hsmca_lint_opts lo;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *tbs = NULL;
    if (finding != NULL)
        memset(finding, 0, sizeof(*finding));
    if (p->subject == NULL || p->subject_key == NULL || p->signing_key == NULL ||
        (p->kind != HSMCA_OFFLINE_ROOT && p->issuer == NULL))
        return hsmca_err(rv, "a certificate needs a subject, its key, a signing key and (below a root) an issuer");
    rv = HSMCA_ERR_CRYPTO;
    if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, p->subject) ||
        !X509_set_issuer_name(x, p->issuer ? X509_get_subject_name(p->issuer) : p->subject) ||
        !X509_set_pubkey(x, p->subject_key)) {
        rv = hsmca_err(rv, "cannot set certificate fields");
        goto done;
    }
    if ((rv = hsmca_serial_to_asn1(p->serial, p->serial_len, X509_get_serialNumber(x))) != HSMCA_OK ||
        (rv = ca_set_time(X509_getm_notBefore(x), p->not_before)) != HSMCA_OK ||
        (rv = ca_set_time(X509_getm_notAfter(x), p->not_after)) != HSMCA_OK ||
        (rv = add_kind_extensions(x, p)) != HSMCA_OK)
        goto done;
    /* The signature algorithm is part of the TBS: fix it, then lint. */
    if ((mctx = EVP_MD_CTX_new()) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = sign_init(mctx, libctx, p->signing_key, p->signature_bits, p->use_pss)) != HSMCA_OK ||
        (rv = ca_tbs_set_sigalg(x, mctx)) != HSMCA_OK)
        goto done;
    memset(&lo, 0, sizeof(lo));
    lo.role = p->kind == HSMCA_OFFLINE_ROOT ? HSMCA_LINT_ROOT
              : p->kind == HSMCA_OFFLINE_CA ? HSMCA_LINT_CA
                                            : HSMCA_LINT_LEAF;
    lo.issuer = p->issuer;
    lo.now = ca_now();
    /* A responder certificate names its CA in the CN, not a host. */
    lo.exclude_cn_from_sans = p->kind == HSMCA_OFFLINE_OCSP_SIGNER;
    if ((rv = hsmca_lint_certificate(x, &lo, finding)) != HSMCA_OK)
        goto done;
    *tbs = x;
    x = NULL;
done:
    EVP_MD_CTX_free(mctx);
    X509_free(x);
    return rv;
}

hsmca_rv hsmca_offline_cert_sign(OSSL_LIB_CTX *libctx, const hsmca_offline_cert_profile *p, X509 *tbs,
                                 X509 **out)
{
    unsigned char *linted = NULL, *der = NULL;
    size_t linted_len = 0;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY *vk;
    int der_len;
    hsmca_rv rv;

    *out = NULL;
    if ((rv = ca_tbs_encode(tbs, &linted, &linted_len)) != HSMCA_OK)
        goto done;
    if ((mctx = EVP_MD_CTX_new()) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = sign_init(mctx, libctx, p->signing_key, p->signature_bits, p->use_pss)) != HSMCA_OK)
        goto done;
    if (X509_sign_ctx(tbs, mctx) <= 0) {
        ERR_clear_error();
        rv = hsmca_err_last() != HSMCA_OK && hsmca_err_last() != HSMCA_ERR_INVALID_ARG
                 ? hsmca_err_last()
                 : hsmca_err(HSMCA_ERR_CRYPTO, "the token did not sign the certificate");
        goto done;
    }
    /* OpenSSL's signing call does not check what the token returned. */
    vk = p->issuer ? X509_get0_pubkey(p->issuer) : X509_get0_pubkey(tbs);
    der_len = i2d_X509(tbs, &der);
    if (vk == NULL || der_len <= 0 || X509_verify(tbs, vk) != 1) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_BAD_SIGNATURE, "the token's signature does not verify with the issuer key; discarded");
        goto done;
    }
    if ((rv = ca_tbs_matches(der, (size_t)der_len, linted, linted_len)) != HSMCA_OK)
        goto done;
    if (!X509_up_ref(tbs)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference the certificate");
        goto done;
    }
    *out = tbs;
    rv = HSMCA_OK;
done:
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(linted);
    OPENSSL_free(der);
    return rv;
}

hsmca_rv hsmca_offline_csr_read(const char *pem, X509_REQ **req, EVP_PKEY **pub)
{
    return ca_csr_parse(pem, req, pub);
}

hsmca_rv hsmca_offline_csr_make(OSSL_LIB_CTX *libctx, X509_NAME *subject, EVP_PKEY *key, X509_REQ **out)
{
    X509_REQ *req = X509_REQ_new(), *check = NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY *pub = NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (req == NULL || mctx == NULL || mem == NULL)
        goto done;
    if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, subject) ||
        !X509_REQ_set_pubkey(req, key)) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot set the request's fields");
        goto done;
    }
    if ((rv = sign_init(mctx, libctx, key, 0, false)) != HSMCA_OK)
        goto done;
    if (X509_REQ_sign_ctx(req, mctx) <= 0) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the token did not sign the request");
        goto done;
    }
    /* Read back as any signer would: the self-signature must verify. */
    if (PEM_write_bio_X509_REQ(mem, req) != 1 || (n = BIO_get_mem_data(mem, &pem)) <= 0 || n > CSR_PEM_MAX) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the request");
        goto done;
    }
    {
        char buf[CSR_PEM_MAX + 1];
        memcpy(buf, pem, (size_t)n);
        buf[n] = '\0';
        if ((rv = ca_csr_parse(buf, &check, &pub)) != HSMCA_OK) {
            hsmca_err_prefix("the token's request signature does not verify");
            goto done;
        }
    }
    *out = req;
    req = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory");
    X509_REQ_free(req);
    X509_REQ_free(check);
    EVP_PKEY_free(pub);
    EVP_MD_CTX_free(mctx);
    BIO_free(mem);
    return rv;
}

int hsmca_offline_key_matches(X509 *cert, const EVP_PKEY *key)
{
    /* By SubjectPublicKeyInfo encoding: a token key's EVP_PKEY lives in
     * the hsmca provider, whose keys EVP_PKEY_eq cannot compare with a
     * software copy. */
    X509_PUBKEY *xp = NULL;
    unsigned char *a = NULL, *b = NULL;
    int la, lb, r = 0;

    if (cert == NULL || key == NULL || !X509_PUBKEY_set(&xp, (EVP_PKEY *)(uintptr_t)key))
        goto done;
    la = i2d_X509_PUBKEY(xp, &a);
    lb = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &b);
    r = la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0;
done:
    ERR_clear_error();
    X509_PUBKEY_free(xp);
    OPENSSL_free(a);
    OPENSSL_free(b);
    return r;
}

/* ---- CRLs ---- */

static ASN1_INTEGER *bytes_to_integer(const unsigned char *b, size_t len)
{
    BIGNUM *bn = BN_bin2bn(b, (int)len, NULL);
    ASN1_INTEGER *i = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;

    BN_free(bn);
    return i;
}

static hsmca_rv crl_add_entry(X509_CRL *crl, const hsmca_offline_revoked *r, size_t idx)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *serial = bytes_to_integer(r->serial, r->serial_len);
    ASN1_TIME *when = ASN1_TIME_new();
    ASN1_ENUMERATED *reason = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (rev == NULL || serial == NULL || when == NULL)
        goto done;
    if ((rv = ca_set_time(when, r->revoked_at)) != HSMCA_OK) {
        hsmca_err_prefix("revoked[%zu].revoked_at", idx);
        goto done;
    }
    rv = HSMCA_ERR_NOMEM;
    if (!X509_REVOKED_set_serialNumber(rev, serial) || !X509_REVOKED_set_revocationDate(rev, when))
        goto done;
    /* RFC 5280 5.3.1: reason code 7 is unused; omit rather than send
     * unspecified (0). */
    if (r->reason > 0) {
        if ((reason = ASN1_ENUMERATED_new()) == NULL || !ASN1_ENUMERATED_set(reason, r->reason) ||
            !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0))
            goto done;
    }
    if (!X509_CRL_add0_revoked(crl, rev))
        goto done;
    rev = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building revoked[%zu]", idx);
    X509_REVOKED_free(rev);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(reason);
    return rv;
}

hsmca_rv hsmca_offline_crl_prepare(const hsmca_offline_crl_profile *p, X509_CRL **tbs, hsmca_lint_finding *finding)
{
    X509_CRL *crl = NULL;
    ASN1_TIME *t1 = NULL, *t2 = NULL;
    AUTHORITY_KEYID *aki = NULL;
    ASN1_INTEGER *num = NULL;
    ASN1_OCTET_STRING *ski = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *tbs = NULL;
    if (finding != NULL)
        memset(finding, 0, sizeof(*finding));
    if (p->issuer == NULL || p->signing_key == NULL)
        return hsmca_err(rv, "a CRL needs its issuing CA and signing key");
    if (p->n_revoked > HSMCA_OFFLINE_CRL_REVOKED_MAX)
        return hsmca_err(rv, "revoked has %zu entries (at most %d)", p->n_revoked, HSMCA_OFFLINE_CRL_REVOKED_MAX);
    /* Read from the extension itself: an in-memory TBS issuer (a dry run's)
     * may have had its extension cache filled before the SKI was added. */
    if ((ski = X509_get_ext_d2i(p->issuer, NID_subject_key_identifier, NULL, NULL)) == NULL)
        return hsmca_err(rv, "the issuing CA has no subjectKeyIdentifier for the CRL's authorityKeyIdentifier");
    rv = HSMCA_ERR_NOMEM;
    if ((crl = X509_CRL_new()) == NULL || (t1 = ASN1_TIME_new()) == NULL || (t2 = ASN1_TIME_new()) == NULL ||
        (aki = AUTHORITY_KEYID_new()) == NULL || (aki->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
        (num = bytes_to_integer(p->number, p->number_len)) == NULL)
        goto done;
    if ((rv = ca_set_time(t1, p->this_update)) != HSMCA_OK || (rv = ca_set_time(t2, p->next_update)) != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_NOMEM;
    if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->issuer)) || !X509_CRL_set1_lastUpdate(crl, t1) ||
        !X509_CRL_set1_nextUpdate(crl, t2) || !X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
        goto done;
    for (size_t i = 0; i < p->n_revoked; i++) {
        if ((rv = crl_add_entry(crl, &p->revoked[i], i)) != HSMCA_OK)
            goto done;
    }
    X509_CRL_sort(crl);
    if ((rv = hsmca_lint_crl(crl, p->issuer, finding)) != HSMCA_OK)
        goto done;
    *tbs = crl;
    crl = NULL;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building the CRL");
    X509_CRL_free(crl);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_OCTET_STRING_free(ski);
    return rv;
}

hsmca_rv hsmca_offline_crl_sign(OSSL_LIB_CTX *libctx, const hsmca_offline_crl_profile *p, X509_CRL *tbs,
                                X509_CRL **out)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (mctx == NULL)
        goto done;
    if ((rv = sign_init(mctx, libctx, p->signing_key, p->signature_bits, false)) != HSMCA_OK)
        goto done;
    if (X509_CRL_sign_ctx(tbs, mctx) <= 0) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the token did not sign the CRL");
        goto done;
    }
    if (X509_CRL_verify(tbs, X509_get0_pubkey(p->issuer)) != 1) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_BAD_SIGNATURE, "the token's CRL signature does not verify with the issuer key; "
                                                "discarded");
        goto done;
    }
    /* Signing re-encodes the CRL; what went out must still pass. */
    if ((rv = hsmca_lint_crl(tbs, p->issuer, NULL)) != HSMCA_OK)
        goto done;
    if (!X509_CRL_up_ref(tbs)) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot reference the CRL");
        goto done;
    }
    *out = tbs;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory");
    EVP_MD_CTX_free(mctx);
    return rv;
}
