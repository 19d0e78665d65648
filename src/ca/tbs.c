/* SPDX-License-Identifier: Apache-2.0 */
/* The to-be-signed certificate's integrity across signing: the signature
 * AlgorithmIdentifier is fixed before lint, the linted TBS is encoded, and
 * after the token signs, the TBS inside the signed certificate must be the
 * very same bytes (issue #3, issuance cycle step 4). */
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

hsmca_rv ca_tbs_set_sigalg(X509 *x, EVP_MD_CTX *mctx)
{
    unsigned char der[128];
    const unsigned char *p = der;
    OSSL_PARAM params[2];
    X509_ALGOR *alg = NULL;
    /* OpenSSL 3.0 has no setter for the TBS signature field; the getter's
     * object is the certificate's own and X509_sign_ctx() overwrites it
     * the same way, so writing it here is safe. */
    X509_ALGOR *target = (X509_ALGOR *)(uintptr_t)X509_get0_tbs_sigalg(x);
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, der, sizeof(der));
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(mctx), params) != 1 ||
        !OSSL_PARAM_modified(&params[0]))
        return hsmca_err(rv, "the signing key did not report its signature algorithm");
    alg = d2i_X509_ALGOR(NULL, &p, (long)params[0].return_size);
    if (alg == NULL || X509_ALGOR_copy(target, alg) != 1) {
        X509_ALGOR_free(alg);
        return hsmca_err(rv, "cannot set the signature algorithm");
    }
    X509_ALGOR_free(alg);
    return HSMCA_OK;
}

hsmca_rv ca_tbs_encode(X509 *x, unsigned char **der, size_t *len)
{
    int n;

    *der = NULL;
    *len = 0;
    n = i2d_re_X509_tbs(x, der);
    if (n <= 0)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the to-be-signed certificate");
    *len = (size_t)n;
    return HSMCA_OK;
}

/* Length of the DER TLV at p (at most avail bytes), or 0 if malformed.
 * Only what certificates use: single-octet tags, definite lengths up to
 * 4 octets. */
static size_t der_tlv_len(const unsigned char *p, size_t avail)
{
    size_t hdr = 2, len;

    if (avail < 2 || (p[0] & 0x1f) == 0x1f)
        return 0;
    if (p[1] < 0x80) {
        len = p[1];
    } else {
        size_t n = p[1] & 0x7f;
        if (n == 0 || n > 4 || avail < 2 + n)
            return 0;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | p[2 + i];
        hdr += n;
    }
    if (len > avail - hdr)
        return 0;
    return hdr + len;
}

hsmca_rv ca_tbs_matches(const unsigned char *cert_der, size_t cert_len, const unsigned char *tbs,
                        size_t tbs_len)
{
    size_t outer = der_tlv_len(cert_der, cert_len), hdr, inner;

    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature } */
    if (outer == 0 || cert_der[0] != 0x30)
        return hsmca_err(HSMCA_ERR_INTERNAL, "signed certificate is not a DER SEQUENCE");
    hdr = cert_der[1] < 0x80 ? 2 : 2 + (cert_der[1] & 0x7f);
    inner = der_tlv_len(cert_der + hdr, outer - hdr);
    if (inner == 0)
        return hsmca_err(HSMCA_ERR_INTERNAL, "signed certificate has no tbsCertificate");
    if (inner != tbs_len || CRYPTO_memcmp(cert_der + hdr, tbs, tbs_len) != 0)
        return hsmca_err(HSMCA_ERR_INTERNAL,
                         "the signed certificate's TBS differs from the linted one; discarded");
    return HSMCA_OK;
}
