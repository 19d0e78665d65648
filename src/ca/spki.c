/* SPDX-License-Identifier: Apache-2.0 */
/* Public keys from SubjectPublicKeyInfo without OpenSSL 3.0's decoder
 * framework: the algorithm and key bits are read directly and the key is
 * built with EVP_PKEY_fromdata(), which validates EC points all the same.
 * A decoder context costs ~0.1 ms per key on OpenSSL 3.0 (openssl#17950),
 * a large part of an issuance (docs/performance.md). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "internal.h"

#define PROPQ_SOFT "provider!=hsmca"

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
 * (RFC 8017 A.1.1), read with the generic ASN.1 parser. */
static EVP_PKEY *rsa_from_bits(const unsigned char *der, int len)
{
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;

    if (seq == NULL || p != der + len || sk_ASN1_TYPE_num(seq) != 2 ||
        ASN1_TYPE_get(sk_ASN1_TYPE_value(seq, 0)) != V_ASN1_INTEGER ||
        ASN1_TYPE_get(sk_ASN1_TYPE_value(seq, 1)) != V_ASN1_INTEGER)
        goto done;
    n = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 0)->value.integer, NULL);
    e = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 1)->value.integer, NULL);
    if (n == NULL || e == NULL || BN_is_negative(n) || BN_is_negative(e) || BN_is_zero(n))
        goto done;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", PROPQ_SOFT);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* The NIST curves this CA accepts, by index: a key's domain parameters are
 * copied from a template made once per curve, since making the group from
 * its name (EC_GROUP_new_by_curve_name: Montgomery constants, generator)
 * costs more than the rest of building the key. */
static const struct {
    int nid;
    const char *name;
} curves[] = {{NID_X9_62_prime256v1, "prime256v1"}, {NID_secp384r1, "secp384r1"}, {NID_secp521r1, "secp521r1"}};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))
static EVP_PKEY *curve_templates[NCURVES];
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static void make_templates(void)
{
    for (size_t i = 0; i < NCURVES; i++) {
        OSSL_PARAM params[2];
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", PROPQ_SOFT);
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)curves[i].name, 0);
        params[1] = OSSL_PARAM_construct_end();
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
            EVP_PKEY_fromdata(ctx, &curve_templates[i], EVP_PKEY_KEY_PARAMETERS, params) != 1)
            curve_templates[i] = NULL; /* that curve takes the slow path */
        EVP_PKEY_CTX_free(ctx);
    }
    ERR_clear_error();
}

/* With the group made from its name: the path when no template exists. */
static EVP_PKEY *ec_from_name(const char *group, const unsigned char *point, int len)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)(uintptr_t)point, (size_t)len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", PROPQ_SOFT);
    /* fromdata decodes the point and refuses one that is not on the curve. */
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *ec_from_bits(const ASN1_OBJECT *curve, const unsigned char *point, int len)
{
    int nid = OBJ_obj2nid(curve);
    size_t i = 0;
    EVP_PKEY *pkey = NULL;

    while (i < NCURVES && curves[i].nid != nid)
        i++;
    if (i == NCURVES)
        return NULL; /* other curves: the caller falls back to OpenSSL's decoder */
    pthread_once(&templates_once, make_templates);
    if (curve_templates[i] == NULL)
        return ec_from_name(curves[i].name, point, len);
    /* The encoded point is decoded by EC_POINT_oct2point, which refuses a
     * point that is not on the curve, as fromdata does. */
    pkey = EVP_PKEY_new();
    if (pkey == NULL || EVP_PKEY_copy_parameters(pkey, curve_templates[i]) != 1 ||
        EVP_PKEY_set1_encoded_public_key(pkey, point, (size_t)len) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

EVP_PKEY *ca_spki_to_pkey(const X509_PUBKEY *spki)
{
    const unsigned char *bits = NULL;
    int len = 0, ptype = V_ASN1_UNDEF;
    X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    EVP_PKEY *pkey = NULL;

    if (spki == NULL || !X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, spki) || alg == NULL || len <= 0)
        return NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    switch (OBJ_obj2nid(obj)) {
    case NID_rsaEncryption:
        if (ptype == V_ASN1_NULL)
            pkey = rsa_from_bits(bits, len);
        break;
    case NID_X9_62_id_ecPublicKey:
        if (ptype == V_ASN1_OBJECT)
            pkey = ec_from_bits(pval, bits, len);
        break;
    case NID_ED25519:
        if (ptype == V_ASN1_UNDEF && len == 32)
            pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", PROPQ_SOFT, bits, 32);
        break;
    default:
        break;
    }
    ERR_clear_error();
    return pkey;
}

int ca_spki_same_key(const X509_PUBKEY *spki, const EVP_PKEY *key)
{
    const unsigned char *bits = NULL;
    int len = 0, ptype = V_ASN1_UNDEF, same = -1;
    X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    unsigned char buf[160];
    size_t n = 0;
    char group[32];

    if (spki == NULL || key == NULL || !X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, spki) || alg == NULL ||
        len <= 0 || (size_t)len > sizeof(buf))
        return -1;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    switch (OBJ_obj2nid(obj)) {
    case NID_X9_62_id_ecPublicKey:
        if (ptype == V_ASN1_OBJECT && EVP_PKEY_is_a(key, "EC") &&
            EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
            OBJ_sn2nid(group) == OBJ_obj2nid(pval) && OBJ_obj2nid(pval) != NID_undef &&
            EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &n) == 1 &&
            n == (size_t)len && memcmp(buf, bits, n) == 0)
            same = 1;
        break;
    case NID_ED25519:
        if (ptype == V_ASN1_UNDEF && len == 32 && EVP_PKEY_is_a(key, "ED25519") &&
            EVP_PKEY_get_raw_public_key(key, buf, &(size_t){sizeof(buf)}) == 1 && memcmp(buf, bits, 32) == 0)
            same = 1;
        break;
    default:
        break;
    }
    ERR_clear_error();
    return same;
}
