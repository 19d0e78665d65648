/* SPDX-License-Identifier: Apache-2.0 */
/* Signature machinery shared by the RSA, ECDSA and EdDSA implementations:
 * context life cycle, digesting in software, signing in the token, and
 * verifying with the software public key. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "internal.h"

sig_ctx *sig_newctx(void *provctx, const char *propq, hsmca_sig_scheme scheme)
{
    sig_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    ctx->scheme = scheme;
    ctx->pss_saltlen = RSA_PSS_SALTLEN_DIGEST;
    if (propq != NULL && strlen(propq) < sizeof(ctx->propq))
        snprintf(ctx->propq, sizeof(ctx->propq), "%s", propq);
    return ctx;
}

void sig_freectx(void *vctx)
{
    sig_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    prov_key_free(ctx->key);
    EVP_MD_free(ctx->md);
    EVP_MD_CTX_free(ctx->mdctx);
    OPENSSL_free(ctx->msg);
    OPENSSL_free(ctx);
}

void *sig_dupctx(void *vctx)
{
    sig_ctx *src = vctx, *dst;

    dst = OPENSSL_memdup(src, sizeof(*src));
    if (dst == NULL)
        return NULL;
    dst->key = NULL;
    dst->md = NULL;
    dst->mdctx = NULL;
    dst->msg = NULL;
    if (src->key != NULL && (dst->key = prov_key_new(src->prov, src->key->p11)) == NULL)
        goto fail;
    if (src->md != NULL) {
        if (!EVP_MD_up_ref(src->md))
            goto fail;
        dst->md = src->md;
    }
    if (src->mdctx != NULL) {
        dst->mdctx = EVP_MD_CTX_new();
        if (dst->mdctx == NULL || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx))
            goto fail;
    }
    if (src->msg != NULL && (dst->msg = OPENSSL_memdup(src->msg, src->msg_len ? src->msg_len : 1)) == NULL)
        goto fail;
    return dst;
fail:
    sig_freectx(dst);
    return NULL;
}

/* The three digests token signatures use, fetched once per provider
 * instance: a fetch per signature costs as much as a tenth of a P-256
 * signature in SoftHSM2 (bench/bench_sign.c, docs/performance.md). */
static EVP_MD *cached_md(prov_ctx *prov, int idx)
{
    static const char *const names[3] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    EVP_MD *md;

    pthread_mutex_lock(&prov->lock);
    if (prov->sha2[idx] == NULL)
        prov->sha2[idx] = EVP_MD_fetch(NULL, names[idx], HSMCA_PROV_PROPQ_SOFT);
    md = prov->sha2[idx];
    if (md != NULL && !EVP_MD_up_ref(md))
        md = NULL;
    pthread_mutex_unlock(&prov->lock);
    return md;
}

/* Index of a SHA-2 name in OpenSSL's spellings, or -1. */
static int sha2_index(const char *name)
{
    static const char *const spellings[3][4] = {
        {"SHA256", "SHA2-256", "SHA-256", "2.16.840.1.101.3.4.2.1"},
        {"SHA384", "SHA2-384", "SHA-384", "2.16.840.1.101.3.4.2.2"},
        {"SHA512", "SHA2-512", "SHA-512", "2.16.840.1.101.3.4.2.3"},
    };
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 4; j++) {
            if (strcasecmp(name, spellings[i][j]) == 0)
                return i;
        }
    }
    return -1;
}

int sig_set_md(sig_ctx *ctx, const char *mdname, const char *props)
{
    EVP_MD *md;
    int idx;

    if (ctx->mdctx != NULL && ctx->digesting) {
        prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "the digest cannot change while a message is being signed");
        return 0;
    }
    idx = sha2_index(mdname);
    if (idx < 0) {
        /* Another spelling of a SHA-2 digest, or something else entirely. */
        EVP_MD *probe = EVP_MD_fetch(NULL, mdname, props && props[0] ? props : HSMCA_PROV_PROPQ_SOFT);
        idx = probe == NULL ? -1
              : EVP_MD_is_a(probe, "SHA2-256") ? 0
              : EVP_MD_is_a(probe, "SHA2-384") ? 1
              : EVP_MD_is_a(probe, "SHA2-512") ? 2
                                                : -1;
        EVP_MD_free(probe);
    }
    /* The token signs with SHA-2 only; SHA-1 is not acceptable for a CA
     * (CA/B Forum BR 7.1.3) and SHA-224 is not offered by common HSMs. */
    if (idx < 0) {
        prov_raise(ctx->prov, HSMCA_PROV_R_UNSUPPORTED,
                   "digest '%s' is not supported for token signatures (use SHA256, SHA384 or SHA512)",
                   mdname);
        return 0;
    }
    md = cached_md(ctx->prov, idx);
    if (md == NULL) {
        prov_raise(ctx->prov, HSMCA_PROV_R_CRYPTO, "digest '%s' is not available", mdname);
        return 0;
    }
    EVP_MD_free(ctx->md);
    ctx->md = md;
    snprintf(ctx->mdname, sizeof(ctx->mdname), "%s", EVP_MD_get0_name(md));
    return 1;
}

int sig_init(sig_ctx *ctx, void *provkey, int operation, hsmca_key_type want)
{
    prov_key *key = provkey;

    ctx->operation = operation;
    ctx->digesting = 0;
    if (key == NULL) {
        if (ctx->key == NULL) {
            prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "no key given");
            return 0;
        }
        return 1; /* re-init with the same key */
    }
    if (key->p11 == NULL || hsmca_p11_key_type(key->p11) != want) {
        prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "key type does not match the signature algorithm");
        return 0;
    }
    prov_key_free(ctx->key);
    ctx->key = prov_key_new(ctx->prov, key->p11);
    if (ctx->key == NULL) {
        prov_raise(ctx->prov, HSMCA_PROV_R_NOMEM, "out of memory");
        return 0;
    }
    /* The probe's verdict, up front: a key whose token lacks the mechanism
     * fails here, not at the first CRL or OCSP response. */
    if (operation == EVP_PKEY_OP_SIGN) {
        hsmca_rv rv = hsmca_p11_key_check_scheme(ctx->key->p11, ctx->scheme);
        /* An RSA context starts as PKCS#1 and may be switched to PSS by a
         * parameter that arrives after init: accept either here; the pad
         * mode setter and the sign call check the scheme finally chosen. */
        if (rv != HSMCA_OK && want == HSMCA_KEY_RSA &&
            hsmca_p11_key_check_scheme(ctx->key->p11, ctx->scheme == HSMCA_SIG_RSA_PSS ? HSMCA_SIG_RSA_PKCS1
                                                                                    : HSMCA_SIG_RSA_PSS) == HSMCA_OK)
            rv = HSMCA_OK;
        if (rv != HSMCA_OK) {
            if (want == HSMCA_KEY_RSA)
                hsmca_err(HSMCA_ERR_UNSUPPORTED,
                          "key '%s' cannot produce RSA signatures: token '%s' offers none of CKM_RSA_PKCS, "
                          "CKM_RSA_PKCS_PSS, CKM_RSA_X_509 for it",
                          hsmca_p11_key_label(ctx->key->p11) ? hsmca_p11_key_label(ctx->key->p11) : "",
                          hsmca_p11_token_label(hsmca_p11_key_get0_token(ctx->key->p11)));
            prov_raise_hsmca(ctx->prov, hsmca_err_last());
            return 0;
        }
    }
    return 1;
}

int sig_sign_raw(sig_ctx *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                 const unsigned char *tbs, size_t tbslen)
{
    size_t max = hsmca_p11_key_max_signature(ctx->key->p11);
    const char *md = ctx->md ? ctx->mdname : NULL;
    hsmca_rv rv;

    if (sig == NULL) {
        *siglen = max;
        return 1;
    }
    if (sigsize < max) {
        prov_raise(ctx->prov, HSMCA_PROV_R_ARG, "signature buffer of %zu bytes is below %zu", sigsize, max);
        return 0;
    }
    if (ctx->scheme != HSMCA_SIG_EDDSA && md == NULL) {
        /* EVP_PKEY_sign() without a digest set: infer it from the length. */
        md = tbslen == 32 ? "SHA256" : tbslen == 48 ? "SHA384" : tbslen == 64 ? "SHA512" : NULL;
        if (md == NULL) {
            prov_raise(ctx->prov, HSMCA_PROV_R_ARG,
                       "input of %zu bytes is not a SHA-256/384/512 digest; set the digest", tbslen);
            return 0;
        }
    }
    *siglen = sigsize;
    rv = hsmca_p11_key_sign(ctx->key->p11, ctx->scheme, md, tbs, tbslen, sig, siglen);
    if (rv != HSMCA_OK) {
        prov_raise_hsmca(ctx->prov, rv);
        return 0;
    }
    return 1;
}

int sig_digest_init(sig_ctx *ctx, const char *mdname, void *provkey, int operation,
                    hsmca_key_type want, const OSSL_PARAM params[])
{
    OSSL_FUNC_signature_set_ctx_params_fn *set = ctx->set_params;

    if (!sig_init(ctx, provkey, operation, want))
        return 0;
    if (mdname == NULL || mdname[0] == '\0') {
        unsigned bits = hsmca_p11_key_bits(ctx->key->p11);
        mdname = "SHA256";
        if (want == HSMCA_KEY_EC)
            mdname = bits > 384 ? "SHA512" : bits > 256 ? "SHA384" : "SHA256";
    }
    if (!sig_set_md(ctx, mdname, ctx->propq))
        return 0;
    if (set != NULL && params != NULL && !set(ctx, params))
        return 0;
    if (ctx->mdctx == NULL && (ctx->mdctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    if (!EVP_DigestInit_ex2(ctx->mdctx, ctx->md, NULL))
        return 0;
    ctx->digesting = 1;
    return 1;
}

int sig_digest_sign_update(void *vctx, const unsigned char *data, size_t datalen)
{
    sig_ctx *ctx = vctx;

    if (ctx == NULL || ctx->mdctx == NULL || !ctx->digesting)
        return 0;
    return EVP_DigestUpdate(ctx->mdctx, data, datalen);
}

int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    sig_ctx *ctx = vctx;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ok;

    if (ctx == NULL || ctx->mdctx == NULL || !ctx->digesting)
        return 0;
    if (sig == NULL)
        return sig_sign_raw(ctx, NULL, siglen, 0, NULL, 0);
    if (!EVP_DigestFinal_ex(ctx->mdctx, digest, &dlen))
        return 0;
    ctx->digesting = 0;
    ok = sig_sign_raw(ctx, sig, siglen, sigsize, digest, dlen);
    OPENSSL_cleanse(digest, sizeof(digest));
    return ok;
}

int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
             const unsigned char *tbs, size_t tbslen)
{
    return sig_sign_raw(vctx, sig, siglen, sigsize, tbs, tbslen);
}

/* Verification never needs the token: the public key is in software. */
int sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
               size_t tbslen)
{
    sig_ctx *ctx = vctx;
    EVP_PKEY_CTX *pctx;
    int ok = 0;

    if (ctx == NULL || ctx->key == NULL)
        return 0;
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, hsmca_p11_key_get0_public(ctx->key->p11), HSMCA_PROV_PROPQ_SOFT);
    if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0)
        goto done;
    if (ctx->md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, ctx->md) <= 0)
        goto done;
    if (ctx->scheme == HSMCA_SIG_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, ctx->pss_saltlen) <= 0))
        goto done;
    ok = EVP_PKEY_verify(pctx, sig, siglen, tbs, tbslen) == 1;
done:
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

int sig_digest_verify_update(void *vctx, const unsigned char *data, size_t datalen)
{
    return sig_digest_sign_update(vctx, data, datalen);
}

int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sig_ctx *ctx = vctx;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (ctx == NULL || ctx->mdctx == NULL || !ctx->digesting)
        return 0;
    if (!EVP_DigestFinal_ex(ctx->mdctx, digest, &dlen))
        return 0;
    ctx->digesting = 0;
    return sig_verify(ctx, sig, siglen, digest, dlen);
}

int sig_get_common_params(sig_ctx *ctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);

    if (p != NULL) {
        unsigned char *der = NULL;
        size_t len = 0;
        int ok = sig_algorithm_id(ctx, &der, &len) && OSSL_PARAM_set_octet_string(p, der, len);
        OPENSSL_free(der);
        if (!ok)
            return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, ctx->mdname))
        return 0;
    return 1;
}

int sig_set_digest_params(sig_ctx *ctx, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    const OSSL_PARAM *pp;
    const char *props = NULL;

    if (p == NULL)
        return 1;
    if (p->data_type != OSSL_PARAM_UTF8_STRING || p->data == NULL)
        return 0;
    pp = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PROPERTIES);
    if (pp != NULL && pp->data_type == OSSL_PARAM_UTF8_STRING)
        props = pp->data;
    return sig_set_md(ctx, p->data, props);
}
