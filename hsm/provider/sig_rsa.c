/* SPDX-License-Identifier: Apache-2.0 */
/* RSA signatures (PKCS#1 v1.5 and PSS with salt = hash length) by token keys. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "internal.h"

static OSSL_FUNC_signature_newctx_fn rsa_newctx;
static OSSL_FUNC_signature_sign_init_fn rsa_sign_init;
static OSSL_FUNC_signature_verify_init_fn rsa_verify_init;
static OSSL_FUNC_signature_digest_sign_init_fn rsa_digest_sign_init;
static OSSL_FUNC_signature_digest_verify_init_fn rsa_digest_verify_init;
static OSSL_FUNC_signature_get_ctx_params_fn rsa_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn rsa_gettable_ctx_params;
static OSSL_FUNC_signature_set_ctx_params_fn rsa_set_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn rsa_settable_ctx_params;

static void *rsa_newctx(void *provctx, const char *propq)
{
    sig_ctx *ctx = sig_newctx(provctx, propq, HSMCA_SIG_RSA_PKCS1);

    if (ctx != NULL)
        ctx->set_params = rsa_set_ctx_params;
    return ctx;
}

static int rsa_init(void *vctx, void *provkey, int op, const OSSL_PARAM params[])
{
    sig_ctx *ctx = vctx;

    /* Parameters first: the pad mode decides which scheme the probe checks. */
    if (params != NULL && !rsa_set_ctx_params(ctx, params))
        return 0;
    return sig_init(ctx, provkey, op, HSMCA_KEY_RSA);
}

static int rsa_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return rsa_init(vctx, provkey, EVP_PKEY_OP_SIGN, params);
}

static int rsa_verify_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return rsa_init(vctx, provkey, EVP_PKEY_OP_VERIFY, params);
}

static int rsa_digest_sign_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    return sig_digest_init(vctx, mdname, provkey, EVP_PKEY_OP_SIGN, HSMCA_KEY_RSA, params);
}

static int rsa_digest_verify_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    return sig_digest_init(vctx, mdname, provkey, EVP_PKEY_OP_VERIFY, HSMCA_KEY_RSA, params);
}

static int rsa_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    sig_ctx *ctx = vctx;
    OSSL_PARAM *p;

    if (!sig_get_common_params(ctx, params))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL) {
        int pad = ctx->scheme == HSMCA_SIG_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
        if (p->data_type == OSSL_PARAM_INTEGER) {
            if (!OSSL_PARAM_set_int(p, pad))
                return 0;
        } else if (!OSSL_PARAM_set_utf8_string(p, pad == RSA_PKCS1_PSS_PADDING ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                                                : OSSL_PKEY_RSA_PAD_MODE_PKCSV15)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        int salt = ctx->md ? EVP_MD_get_size(ctx->md) : ctx->pss_saltlen;
        if (p->data_type == OSSL_PARAM_INTEGER ? !OSSL_PARAM_set_int(p, salt)
                                               : !OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST))
            return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, ctx->mdname))
        return 0;
    return 1;
}

static const OSSL_PARAM rsa_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *rsa_gettable_ctx_params(void *vctx, void *provctx)
{
    return rsa_gettable;
}

static int set_pad(sig_ctx *ctx, const OSSL_PARAM *p)
{
    int pad = 0;

    if (p->data_type == OSSL_PARAM_INTEGER) {
        if (!OSSL_PARAM_get_int(p, &pad))
            return 0;
    } else if (p->data_type == OSSL_PARAM_UTF8_STRING && p->data != NULL) {
        const char *s = p->data;
        if (strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
            pad = RSA_PKCS1_PADDING;
        else if (strcasecmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0)
            pad = RSA_PKCS1_PSS_PADDING;
    }
    if (pad == RSA_PKCS1_PADDING)
        ctx->scheme = HSMCA_SIG_RSA_PKCS1;
    else if (pad == RSA_PKCS1_PSS_PADDING)
        ctx->scheme = HSMCA_SIG_RSA_PSS;
    else {
        prov_raise(ctx->prov, HSMCA_PROV_R_UNSUPPORTED,
                   "RSA padding mode not supported for signing (use pkcs1 or pss)");
        return 0;
    }
    if (ctx->key != NULL && ctx->operation == EVP_PKEY_OP_SIGN) {
        hsmca_rv rv = hsmca_p11_key_check_scheme(ctx->key->p11, ctx->scheme);
        if (rv != HSMCA_OK) {
            prov_raise_hsmca(ctx->prov, rv);
            return 0;
        }
    }
    return 1;
}

static int set_saltlen(sig_ctx *ctx, const OSSL_PARAM *p)
{
    int salt = 0;

    if (p->data_type == OSSL_PARAM_INTEGER) {
        if (!OSSL_PARAM_get_int(p, &salt))
            return 0;
    } else if (p->data_type == OSSL_PARAM_UTF8_STRING && p->data != NULL) {
        const char *s = p->data;
        if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
            salt = RSA_PSS_SALTLEN_DIGEST;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
            salt = RSA_PSS_SALTLEN_MAX;
        else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
            salt = RSA_PSS_SALTLEN_AUTO;
        else
            salt = atoi(s);
    } else {
        return 0;
    }
    /* Signing always uses salt = hash length (the AlgorithmIdentifier says
     * so, so verifiers are never misled); an explicit other length is an
     * error rather than silently different output. "auto" and "max" are
     * OpenSSL defaults that callers pass without meaning a length. */
    if (salt >= 0 && ctx->operation == EVP_PKEY_OP_SIGN && ctx->md != NULL &&
        salt != EVP_MD_get_size(ctx->md)) {
        prov_raise(ctx->prov, HSMCA_PROV_R_UNSUPPORTED,
                   "RSA-PSS salt length %d: token signatures use salt length = hash length (%d)", salt,
                   EVP_MD_get_size(ctx->md));
        return 0;
    }
    ctx->pss_saltlen = salt;
    return 1;
}

static int rsa_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    sig_ctx *ctx = vctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && !set_pad(ctx, p))
        return 0;
    if (!sig_set_digest_params(ctx, params))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && !set_saltlen(ctx, p))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL) {
        EVP_MD *mgf;
        int same;
        if (p->data_type != OSSL_PARAM_UTF8_STRING || p->data == NULL)
            return 0;
        mgf = EVP_MD_fetch(NULL, p->data, HSMCA_PROV_PROPQ_SOFT);
        same = mgf != NULL && ctx->md != NULL && EVP_MD_is_a(mgf, ctx->mdname);
        EVP_MD_free(mgf);
        if (!same && ctx->md != NULL) {
            prov_raise(ctx->prov, HSMCA_PROV_R_UNSUPPORTED,
                       "MGF1 digest '%s': token RSA-PSS uses MGF1 with the signature digest (%s)",
                       (const char *)p->data, ctx->mdname);
            return 0;
        }
    }
    return 1;
}

static const OSSL_PARAM rsa_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
    return rsa_settable;
}

const OSSL_DISPATCH hsmca_sig_rsa_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))rsa_newctx},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))rsa_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))rsa_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))rsa_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))rsa_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_verify_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))rsa_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))rsa_gettable_ctx_params},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))rsa_set_ctx_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))rsa_settable_ctx_params},
    {0, NULL},
};
