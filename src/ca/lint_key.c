/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint, subject public key rules: algorithm, AlgorithmIdentifier
 * parameters, RSA modulus size and exponent (BR 6.1.5, 6.1.6), EC curves. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "internal.h"
#include "lint_internal.h"

#define RSA_MIN_BITS 2048
/* OpenSSL's own verification limit (OPENSSL_RSA_MAX_MODULUS_BITS): a
 * larger key could be issued but never used. */
#define RSA_MAX_BITS 16384

static hsmca_rv check_rsa(lint_ctx *ctx, const EVP_PKEY *pkey)
{
    BIGNUM *n = NULL, *e = NULL;
    char *e_text = NULL;
    int bits;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        ERR_clear_error();
        rv = lint_fail(ctx, LINT_KEY_INVALID, "the RSA key has no modulus or exponent");
        goto done;
    }
    if (BN_is_negative(n) || BN_is_negative(e)) {
        rv = lint_fail(ctx, LINT_KEY_INVALID, "the RSA modulus or exponent is negative");
        goto done;
    }
    bits = BN_num_bits(n);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        rv = lint_fail(ctx, LINT_KEY_RSA_BITS, "RSA modulus of %d bits; %d..%d required", bits, RSA_MIN_BITS,
                       RSA_MAX_BITS);
        goto done;
    }
    if (bits % 8 != 0) {
        rv =
            lint_fail(ctx, LINT_KEY_RSA_BITS_MULTIPLE, "RSA modulus of %d bits is not a multiple of 8", bits);
        goto done;
    }
    /* BR 6.1.6: "the value of the public exponent is an odd number equal
     * to 3 or more" (an even e has no inverse mod lambda(n); e = 1 is no
     * encryption at all). */
    if (!BN_is_odd(e) || BN_is_one(e)) {
        e_text = BN_bn2dec(e);
        rv = lint_fail(ctx, LINT_KEY_RSA_EXPONENT, "RSA public exponent %s is not an odd number >= 3",
                       e_text != NULL ? e_text : "?");
        goto done;
    }
    rv = HSMCA_OK;
done:
    OPENSSL_free(e_text);
    BN_free(n);
    BN_free(e);
    return rv;
}

/* The SPKI is linted from the certificate's own X509_PUBKEY fields (the
 * algorithm and the key bits it will encode), not from a cached EVP_PKEY
 * that need not match them if the X509_PUBKEY was edited. No DER round trip:
 * d2i_X509_PUBKEY runs OpenSSL 3.0's decoder eagerly, ~0.1 ms. */
hsmca_rv lint_check_key(lint_ctx *ctx)
{
    const X509_PUBKEY *spki = X509_get_X509_PUBKEY(ctx->tbs);
    const ASN1_OBJECT *alg_obj = NULL, *param_obj;
    X509_ALGOR *alg = NULL;
    const void *pval = NULL;
    EVP_PKEY *pkey, *fast = NULL, *slow = NULL;
    char name[64];
    int ptype = V_ASN1_UNDEF, nid, curve;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (spki == NULL || X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg, spki) != 1 || alg == NULL) {
        ERR_clear_error();
        rv = lint_fail(ctx, LINT_KEY_INVALID, "the subjectPublicKeyInfo does not decode");
        goto done;
    }
    X509_ALGOR_get0(&alg_obj, &ptype, &pval, alg);
    nid = OBJ_obj2nid(alg_obj);
    ctx->key_nid = nid;
    if (OBJ_obj2txt(name, sizeof(name), alg_obj, 0) <= 0)
        snprintf(name, sizeof(name), "?");
    /* BR 6.1.5 allows RSA and ECDSA; DESIGN.md adds Ed25519 (RFC 8410).
     * RSASSA-PSS-only keys (id-RSASSA-PSS) are not among them. */
    if (nid != NID_rsaEncryption && nid != NID_X9_62_id_ecPublicKey && nid != NID_ED25519) {
        rv = lint_fail(ctx, LINT_KEY_TYPE, "key algorithm %s is not RSA, EC or Ed25519", name);
        goto done;
    }
    if (nid == NID_rsaEncryption && ptype != V_ASN1_NULL) {
        rv = lint_fail(ctx, LINT_KEY_ALGORITHM_PARAMS,
                       "rsaEncryption parameters are not NULL (RFC 3279 2.3.1)");
        goto done;
    }
    if (nid == NID_X9_62_id_ecPublicKey && ptype != V_ASN1_OBJECT) {
        rv = lint_fail(ctx, LINT_KEY_ALGORITHM_PARAMS,
                       "EC parameters are not a namedCurve (explicit or implicit curves, RFC 5480 2.1.1)");
        goto done;
    }
    if (nid == NID_ED25519 && ptype != V_ASN1_UNDEF) {
        rv = lint_fail(ctx, LINT_KEY_ALGORITHM_PARAMS, "Ed25519 parameters are present (RFC 8410 3)");
        goto done;
    }
    /* Decoder-free where the algorithm allows (spki.c), OpenSSL's decoder
     * otherwise; both refuse an EC point off its curve. */
    pkey = fast = ca_spki_to_pkey(spki);
    if (pkey == NULL) {
        /* An algorithm spki.c does not build: decode a private copy. */
        unsigned char *der = NULL;
        const unsigned char *p;
        int n = i2d_X509_PUBKEY(spki, &der);
        X509_PUBKEY *copy = NULL;
        if (n > 0) {
            p = der;
            copy = d2i_X509_PUBKEY(NULL, &p, n);
        }
        pkey = slow = copy ? X509_PUBKEY_get(copy) : NULL;
        X509_PUBKEY_free(copy);
        OPENSSL_free(der);
    }
    if (pkey == NULL) {
        ERR_clear_error();
        rv = lint_fail(ctx, LINT_KEY_INVALID, "the %s public key does not decode", name);
        goto done;
    }
    if (nid == NID_rsaEncryption) {
        rv = check_rsa(ctx, pkey);
        goto done;
    }
    if (nid == NID_X9_62_id_ecPublicKey) {
        param_obj = pval;
        curve = OBJ_obj2nid(param_obj);
        if (curve != NID_X9_62_prime256v1 && curve != NID_secp384r1 && curve != NID_secp521r1) {
            if (OBJ_obj2txt(name, sizeof(name), param_obj, 1) <= 0)
                snprintf(name, sizeof(name), "?");
            rv = lint_fail(ctx, LINT_KEY_EC_CURVE, "EC curve %s (%s) is not P-256, P-384 or P-521",
                           curve != NID_undef ? OBJ_nid2sn(curve) : "unknown", name);
            goto done;
        }
    }
    rv = HSMCA_OK;
done:
    EVP_PKEY_free(fast);
    EVP_PKEY_free(slow);
    return rv;
}
