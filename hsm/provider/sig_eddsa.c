/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 signatures (PureEdDSA, RFC 8032) by token keys: one-shot only, the
 * whole message goes to the token. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "internal.h"

/* Largest message accepted for one EdDSA signature: certificates, CRLs and
 * OCSP responses are far smaller; the bound keeps a hostile caller from
 * making us buffer without limit. */
#define EDDSA_MAX_MESSAGE (16u * 1024 * 1024)

static OSSL_FUNC_signature_newctx_fn ed_newctx;
static OSSL_FUNC_signature_digest_sign_init_fn ed_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_fn ed_digest_sign;
static OSSL_FUNC_signature_digest_verify_init_fn ed_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_fn ed_digest_verify;
static OSSL_FUNC_signature_get_ctx_params_fn ed_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn ed_gettable_ctx_params;

static void *ed_newctx(void *provctx, const char *propq)
{
    return sig_newctx(provctx, propq, HSMCA_SIG_EDDSA);
}

static int ed_digest_init(void *vctx, const char *mdname, void *provkey, int op)
{
    sig_ctx *ctx = vctx;

    /* RFC 8032 PureEdDSA hashes internally; a separate digest is an error. */
    if (mdname != NULL && mdname[0] != '\0') {
        prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "Ed25519 takes no digest (got '%s')", mdname);
        return 0;
    }
    return sig_init(ctx, provkey, op, HSMCA_KEY_ED25519);
}

static int ed_digest_sign_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    return ed_digest_init(vctx, mdname, provkey, EVP_PKEY_OP_SIGN);
}

static int ed_digest_verify_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    return ed_digest_init(vctx, mdname, provkey, EVP_PKEY_OP_VERIFY);
}

static int ed_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                          const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *ctx = vctx;

    if (ctx == NULL || ctx->key == NULL)
        return 0;
    if (sig != NULL && tbslen > EDDSA_MAX_MESSAGE) {
        prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "message of %zu bytes exceeds the %u-byte limit",
                   tbslen, EDDSA_MAX_MESSAGE);
        return 0;
    }
    return sig_sign_raw(ctx, sig, siglen, sigsize, tbs, tbslen);
}

static int ed_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                            const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *ctx = vctx;
    EVP_MD_CTX *mctx;
    int ok = 0;

    if (ctx == NULL || ctx->key == NULL)
        return 0;
    mctx = EVP_MD_CTX_new();
    if (mctx != NULL &&
        EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, HSMCA_PROV_PROPQ_SOFT,
                                hsmca_p11_key_get0_public(ctx->key->p11), NULL) == 1)
        ok = EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) == 1;
    EVP_MD_CTX_free(mctx);
    return ok;
}

static int ed_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    /* DIGEST reads back as "": PureEdDSA has none. */
    return sig_get_common_params(vctx, params);
}

static const OSSL_PARAM ed_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *ed_gettable_ctx_params(void *vctx, void *provctx)
{
    return ed_gettable;
}

const OSSL_DISPATCH hsmca_sig_ed25519_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ed_newctx},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))ed_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))ed_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))ed_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))ed_digest_verify},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))ed_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))ed_gettable_ctx_params},
    {0, NULL},
};
