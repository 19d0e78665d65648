/* SPDX-License-Identifier: Apache-2.0 */
/* DER AlgorithmIdentifiers of the signatures the token makes, which OpenSSL
 * asks for (OSSL_SIGNATURE_PARAM_ALGORITHM_ID) when it encodes certificates,
 * CSRs, CRLs and OCSP responses signed with a provider key. */
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

static int md_nid(const EVP_MD *md)
{
    if (EVP_MD_is_a(md, "SHA2-256"))
        return NID_sha256;
    if (EVP_MD_is_a(md, "SHA2-384"))
        return NID_sha384;
    if (EVP_MD_is_a(md, "SHA2-512"))
        return NID_sha512;
    return NID_undef;
}

/* RSASSA-PSS-params (RFC 4055 section 3.1): hash, MGF1 with the same hash,
 * salt length = hash length, trailer field default. */
static ASN1_STRING *pss_params(const EVP_MD *md)
{
    RSA_PSS_PARAMS *pss = RSA_PSS_PARAMS_new();
    X509_ALGOR *mgf_md = NULL;
    ASN1_STRING *mgf_md_der = NULL, *out = NULL;
    int nid = md_nid(md);

    if (pss == NULL || nid == NID_undef)
        goto done;
    pss->hashAlgorithm = X509_ALGOR_new();
    mgf_md = X509_ALGOR_new();
    pss->maskGenAlgorithm = X509_ALGOR_new();
    pss->saltLength = ASN1_INTEGER_new();
    if (pss->hashAlgorithm == NULL || mgf_md == NULL || pss->maskGenAlgorithm == NULL ||
        pss->saltLength == NULL)
        goto done;
    /* RFC 4055 section 2.1: hash OIDs with absent parameters are preferred;
     * OpenSSL writes NULL, and both are accepted, so match OpenSSL. */
    if (!X509_ALGOR_set0(pss->hashAlgorithm, OBJ_nid2obj(nid), V_ASN1_NULL, NULL) ||
        !X509_ALGOR_set0(mgf_md, OBJ_nid2obj(nid), V_ASN1_NULL, NULL))
        goto done;
    mgf_md_der = ASN1_item_pack(mgf_md, ASN1_ITEM_rptr(X509_ALGOR), NULL);
    if (mgf_md_der == NULL ||
        !X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf_md_der))
        goto done;
    mgf_md_der = NULL;
    if (!ASN1_INTEGER_set(pss->saltLength, EVP_MD_get_size(md)))
        goto done;
    out = ASN1_item_pack(pss, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
done:
    ASN1_STRING_free(mgf_md_der);
    X509_ALGOR_free(mgf_md);
    RSA_PSS_PARAMS_free(pss);
    return out;
}

int sig_algorithm_id(sig_ctx *ctx, unsigned char **der, size_t *len)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_STRING *params = NULL;
    int nid = NID_undef, ok = 0, n;

    *der = NULL;
    *len = 0;
    if (alg == NULL)
        return 0;
    switch (ctx->scheme) {
    case HSMCA_SIG_RSA_PKCS1:
        if (ctx->md == NULL)
            goto done;
        nid = md_nid(ctx->md) == NID_sha256   ? NID_sha256WithRSAEncryption
              : md_nid(ctx->md) == NID_sha384 ? NID_sha384WithRSAEncryption
              : md_nid(ctx->md) == NID_sha512 ? NID_sha512WithRSAEncryption
                                              : NID_undef;
        /* RFC 4055 section 5: the parameters MUST be NULL. */
        ok = nid != NID_undef && X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL);
        break;
    case HSMCA_SIG_RSA_PSS:
        if (ctx->md == NULL || (params = pss_params(ctx->md)) == NULL)
            goto done;
        ok = X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params);
        if (ok)
            params = NULL;
        break;
    case HSMCA_SIG_ECDSA:
        if (ctx->md == NULL)
            goto done;
        nid = md_nid(ctx->md) == NID_sha256   ? NID_ecdsa_with_SHA256
              : md_nid(ctx->md) == NID_sha384 ? NID_ecdsa_with_SHA384
              : md_nid(ctx->md) == NID_sha512 ? NID_ecdsa_with_SHA512
                                              : NID_undef;
        /* RFC 5758 section 3.2: parameters absent. */
        ok = nid != NID_undef && X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_UNDEF, NULL);
        break;
    case HSMCA_SIG_EDDSA:
        /* RFC 8410 section 3: parameters absent. */
        ok = X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ED25519), V_ASN1_UNDEF, NULL);
        break;
    }
    if (!ok)
        goto done;
    ok = 0;
    n = i2d_X509_ALGOR(alg, der);
    if (n <= 0)
        goto done;
    *len = (size_t)n;
    ok = 1;
done:
    ASN1_STRING_free(params);
    X509_ALGOR_free(alg);
    return ok;
}
