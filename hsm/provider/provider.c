/* SPDX-License-Identifier: Apache-2.0 */
/* The hsmca provider: initialisation, configuration parameters, operation
 * tables, error raising, and the in-process registration helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "hsmca/log.h"
#include "hsmca/p11_uri.h"
#include "hsmca/provider.h"
#include "internal.h"

static OSSL_FUNC_provider_teardown_fn prov_teardown;
static OSSL_FUNC_provider_gettable_params_fn prov_gettable_params;
static OSSL_FUNC_provider_get_params_fn prov_get_params;
static OSSL_FUNC_provider_query_operation_fn prov_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn prov_get_reason_strings;

void prov_raise(prov_ctx *ctx, int reason, const char *fmt, ...)
{
    va_list ap;

    if (ctx == NULL || ctx->core_new_error == NULL)
        return;
    va_start(ap, fmt);
    ctx->core_new_error(ctx->handle);
    if (ctx->core_set_error_debug != NULL)
        ctx->core_set_error_debug(ctx->handle, OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC);
    ctx->core_vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}

void prov_raise_hsmca(prov_ctx *ctx, hsmca_rv rv)
{
    int reason = HSMCA_PROV_R_TOKEN;

    switch (rv) {
    case HSMCA_ERR_NOMEM:
        reason = HSMCA_PROV_R_NOMEM;
        break;
    case HSMCA_ERR_INVALID_ARG:
        reason = HSMCA_PROV_R_ARG;
        break;
    case HSMCA_ERR_UNSUPPORTED:
        reason = HSMCA_PROV_R_UNSUPPORTED;
        break;
    case HSMCA_ERR_CRYPTO:
        reason = HSMCA_PROV_R_CRYPTO;
        break;
    default:
        break;
    }
    prov_raise(ctx, reason, "%s", hsmca_err_message()[0] ? hsmca_err_message() : hsmca_rv_name(rv));
}

prov_key *prov_key_new(prov_ctx *ctx, hsmca_p11_key *p11)
{
    prov_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL)
        return NULL;
    key->prov = ctx;
    hsmca_p11_key_up_ref(p11);
    key->p11 = p11;
    return key;
}

void prov_key_free(prov_key *key)
{
    if (key == NULL)
        return;
    hsmca_p11_key_free(key->p11);
    OPENSSL_free(key);
}

/* ---- operation tables ---- */

/* Names as OpenSSL's default provider spells them, so keys decoded or loaded
 * elsewhere and ours are recognised as the same type. */
const OSSL_ALGORITHM hsmca_prov_keymgmt[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=hsmca", hsmca_keymgmt_rsa_functions,
     "hsmca RSA key in a PKCS#11 token"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", "provider=hsmca", hsmca_keymgmt_ec_functions,
     "hsmca EC key in a PKCS#11 token"},
    {"ED25519:1.3.101.112", "provider=hsmca", hsmca_keymgmt_ed25519_functions,
     "hsmca Ed25519 key in a PKCS#11 token"},
    {NULL, NULL, NULL, NULL},
};

const OSSL_ALGORITHM hsmca_prov_signature[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=hsmca", hsmca_sig_rsa_functions,
     "RSA PKCS#1 v1.5 and PSS signatures in a PKCS#11 token"},
    {"ECDSA", "provider=hsmca", hsmca_sig_ecdsa_functions, "ECDSA signatures in a PKCS#11 token"},
    {"ED25519:1.3.101.112", "provider=hsmca", hsmca_sig_ed25519_functions,
     "Ed25519 signatures in a PKCS#11 token"},
    {NULL, NULL, NULL, NULL},
};

const OSSL_ALGORITHM hsmca_prov_store[] = {
    {"pkcs11", "provider=hsmca", hsmca_store_pkcs11_functions, "RFC 7512 pkcs11: URIs"},
    {NULL, NULL, NULL, NULL},
};

/* ---- provider-level dispatch ---- */

static const OSSL_PARAM prov_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    return prov_param_types;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "hsmca PKCS#11 provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, HSMCA_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "hsmca " HSMCA_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ALGORITHM *prov_query_operation(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return hsmca_prov_keymgmt;
    case OSSL_OP_SIGNATURE:
        return hsmca_prov_signature;
    case OSSL_OP_STORE:
        return hsmca_prov_store;
    default:
        return NULL;
    }
}

/* OSSL_ITEM.ptr is not const; the strings are never written. */
#define REASON(id, text) {(id), (void *)(uintptr_t)(text)}
static const OSSL_ITEM reason_strings[] = {
    REASON(HSMCA_PROV_R_TOKEN, "PKCS#11 token error"),
    REASON(HSMCA_PROV_R_ARG, "invalid argument"),
    REASON(HSMCA_PROV_R_UNSUPPORTED, "unsupported by the token key"),
    REASON(HSMCA_PROV_R_NOMEM, "out of memory"),
    REASON(HSMCA_PROV_R_CRYPTO, "cryptographic operation failed"),
    {0, NULL},
};

static const OSSL_ITEM *prov_get_reason_strings(void *provctx)
{
    return reason_strings;
}

static void prov_teardown(void *provctx)
{
    prov_ctx *ctx = provctx;

    if (ctx == NULL)
        return;
    for (size_t i = 0; i < ctx->n_tokens; i++)
        hsmca_p11_token_free(ctx->tokens[i]);
    for (size_t i = 0; i < 3; i++)
        EVP_MD_free(ctx->sha2[i]);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx->module_path);
    free(ctx->pin_file);
    free(ctx);
}

static const OSSL_DISPATCH prov_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query_operation},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_get_reason_strings},
    {0, NULL},
};

int hsmca_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                        const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
    prov_ctx *ctx = calloc(1, sizeof(*ctx));
    char *module_path = NULL, *pin_file = NULL;
    OSSL_PARAM params[3];

    if (ctx == NULL)
        return 0;
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->handle = handle;
    for (; in != NULL && in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            core_get_params = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            ctx->core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            ctx->core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            ctx->core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        default:
            break;
        }
    }
    /* Configuration from openssl.cnf ([hsmca_sect] pkcs11-module-path = ...).
     * The PIN is never a configuration value: only the path of its file. */
    params[0] = OSSL_PARAM_construct_utf8_ptr("pkcs11-module-path", &module_path, 0);
    params[1] = OSSL_PARAM_construct_utf8_ptr("pkcs11-pin-file", &pin_file, 0);
    params[2] = OSSL_PARAM_construct_end();
    if (core_get_params != NULL && !core_get_params(handle, params)) {
        prov_teardown(ctx);
        return 0;
    }
    if (module_path == NULL || module_path[0] == '\0') {
        /* A path, not a secret: the environment is an acceptable source. */
        module_path = secure_getenv("HSMCA_PKCS11_MODULE");
    }
    if (module_path != NULL && module_path[0] != '\0' && (ctx->module_path = strdup(module_path)) == NULL) {
        prov_teardown(ctx);
        return 0;
    }
    if (pin_file != NULL && pin_file[0] != '\0' && (ctx->pin_file = strdup(pin_file)) == NULL) {
        prov_teardown(ctx);
        return 0;
    }
    *out = prov_dispatch;
    *provctx = ctx;
    return 1;
}

/* ---- in-process helpers ---- */

static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;

hsmca_rv hsmca_provider_load(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **out)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    *out = NULL;
    pthread_mutex_lock(&builtin_lock);
    /* Adding the same built-in twice to one context is an error in OpenSSL;
     * once it is available, loading again only raises its reference. */
    if (!OSSL_PROVIDER_available(libctx, HSMCA_PROVIDER_NAME) &&
        !OSSL_PROVIDER_add_builtin(libctx, HSMCA_PROVIDER_NAME, hsmca_provider_init)) {
        ERR_clear_error();
    }
    /* Digests and public-key operations come from the default provider; make
     * sure explicitly loading ours does not switch it off. */
    if (!OSSL_PROVIDER_available(libctx, "default") && OSSL_PROVIDER_load(libctx, "default") == NULL) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot load OpenSSL's default provider");
        goto done;
    }
    *out = OSSL_PROVIDER_load(libctx, HSMCA_PROVIDER_NAME);
    if (*out == NULL) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot load the built-in hsmca provider");
        goto done;
    }
    rv = HSMCA_OK;
done:
    pthread_mutex_unlock(&builtin_lock);
    return rv;
}

char *hsmca_provider_key_uri(const hsmca_p11_key *key)
{
    hsmca_p11_uri uri;
    hsmca_p11_token *tok = hsmca_p11_key_get0_token(key);
    size_t id_len = 0;
    const unsigned char *id = hsmca_p11_key_id(key, &id_len);
    char *s, *copy;

    memset(&uri, 0, sizeof(uri));
    uri.token = (char *)(uintptr_t)hsmca_p11_token_label(tok);
    uri.manufacturer = (char *)(uintptr_t)hsmca_p11_token_manufacturer(tok);
    uri.model = (char *)(uintptr_t)hsmca_p11_token_model(tok);
    uri.serial = (char *)(uintptr_t)hsmca_p11_token_serial(tok);
    if (id_len > 0) {
        uri.id = (unsigned char *)(uintptr_t)id;
        uri.id_len = id_len;
    } else {
        uri.object = (char *)(uintptr_t)hsmca_p11_key_label(key);
    }
    uri.type = HSMCA_P11_URI_TYPE_PRIVATE;
    s = hsmca_p11_uri_format(&uri);
    if (s == NULL)
        return NULL;
    copy = OPENSSL_strdup(s);
    free(s);
    return copy;
}

hsmca_rv hsmca_provider_pkey_from_key(OSSL_LIB_CTX *libctx, hsmca_p11_key *key, EVP_PKEY **out)
{
    static const char *const names[] = {"", "RSA", "EC", "ED25519"};
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    int one = 1;

    *out = NULL;
    hsmca_return_val_if_fail(key != NULL, HSMCA_ERR_INVALID_ARG);
    /* This very key object (its token, pool and verify policy), not one
     * found again by URI: a process may hold the same token open twice. */
    ctx = EVP_PKEY_CTX_new_from_name(libctx, names[hsmca_p11_key_type(key)], "provider=" HSMCA_PROVIDER_NAME);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the hsmca provider is not loaded in this library context");
        goto done;
    }
    params[0] = OSSL_PARAM_construct_int(HSMCA_PROV_PARAM_PENDING_KEY, &one);
    params[1] = OSSL_PARAM_construct_end();
    hsmca_p11_key_up_ref(key);
    hsmca_prov_pending_key = key;
    if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1 || *out == NULL) {
        unsigned long e = ERR_peek_last_error();
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the hsmca provider did not take the key: %s",
                       e ? ERR_reason_error_string(e) : "unknown error");
        goto done;
    }
    rv = HSMCA_OK;
done:
    /* Not adopted (an error before import): drop the parked reference. */
    hsmca_p11_key_free(hsmca_prov_pending_key);
    hsmca_prov_pending_key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

hsmca_rv hsmca_provider_sign_init(EVP_MD_CTX *mctx, OSSL_LIB_CTX *libctx, const char *md,
                                  EVP_PKEY *pkey, int pss)
{
    EVP_PKEY_CTX *pctx = NULL;

    if (EVP_DigestSignInit_ex(mctx, &pctx, md, libctx, HSMCA_PROVIDER_PROPQ, pkey, NULL) != 1)
        goto fail;
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto fail;
    return HSMCA_OK;
fail:
    {
        unsigned long e = ERR_peek_last_error();
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot start signing with the token key: %s",
                         e ? ERR_reason_error_string(e) : "unknown OpenSSL error");
    }
}
