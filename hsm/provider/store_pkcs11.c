/* SPDX-License-Identifier: Apache-2.0 */
/* The "pkcs11:" store loader (RFC 7512): lets OSSL_STORE and the stock
 * openssl command load token keys by URI. Private keys are handed over as
 * references, public keys as SubjectPublicKeyInfo. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "hsmca/p11_uri.h"
#include "internal.h"

#define STORE_MAX_KEYS 64

static OSSL_FUNC_store_open_fn store_open;
static OSSL_FUNC_store_settable_ctx_params_fn store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn store_set_ctx_params;
static OSSL_FUNC_store_load_fn store_load;
static OSSL_FUNC_store_eof_fn store_eof;
static OSSL_FUNC_store_close_fn store_close;

typedef struct {
    prov_ctx *prov;
    hsmca_p11_uri *uri;
    int expect; /* OSSL_STORE_INFO_* or 0 for anything */
    bool loaded;
    hsmca_p11_key *keys[STORE_MAX_KEYS];
    size_t n_keys, next;
} store_ctx;

static void *store_open(void *provctx, const char *uri)
{
    prov_ctx *prov = provctx;
    store_ctx *ctx;
    hsmca_rv rv;

    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->prov = prov;
    rv = hsmca_p11_uri_parse(uri, &ctx->uri);
    if (rv != HSMCA_OK) {
        prov_raise_hsmca(prov, rv);
        goto fail;
    }
    /* DESIGN.md: PINs never come from argv, and a URI is usually argv. */
    if (ctx->uri->pin_value != NULL) {
        prov_raise(prov, HSMCA_PROV_R_ARG,
                   "pin-value in a pkcs11: URI is refused (PINs never travel on command lines); "
                   "use pin-source=file:/path or the pkcs11-pin-file provider parameter");
        goto fail;
    }
    return ctx;
fail:
    hsmca_p11_uri_free(ctx->uri);
    OPENSSL_free(ctx);
    return NULL;
}

static const OSSL_PARAM store_settable[] = {
    OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
    return store_settable;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);

    if (p != NULL && !OSSL_PARAM_get_int(p, &ctx->expect))
        return 0;
    return 1;
}

/* A token this provider already opened, or one this process holds open (the
 * daemon's), or else one opened now with the URI's or configuration's PIN. */
static hsmca_p11_token *store_token(store_ctx *ctx, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    prov_ctx *prov = ctx->prov;
    const hsmca_p11_uri *u = ctx->uri;
    const char *module = u->module_path ? u->module_path : prov->module_path;
    hsmca_p11_token *tok;
    hsmca_p11_config cfg;
    hsmca_pin *prompted = NULL;
    char pin_file[4096];
    hsmca_rv rv;

    /* An open token is matched on the URI's own attributes only: the
     * provider's configured module path names where to open a token, and
     * must not hide one the application already holds open. */
    tok = hsmca_p11_token_find_open(u->module_path, u->token, u->serial, u->manufacturer, u->model);
    if (tok != NULL)
        return tok;
    if (module == NULL) {
        prov_raise(prov, HSMCA_PROV_R_ARG,
                   "no PKCS#11 module for %s: set pkcs11-module-path in the provider's openssl.cnf "
                   "section or HSMCA_PKCS11_MODULE", u->token ? u->token : "the token");
        return NULL;
    }
    if (u->token == NULL && u->serial == NULL) {
        prov_raise(prov, HSMCA_PROV_R_ARG, "the pkcs11: URI must name the token (token= or serial=)");
        return NULL;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = module;
    cfg.token_label = u->token;
    cfg.token_serial = u->serial;
    if (u->pin_source != NULL) {
        const char *src = u->pin_source;
        /* RFC 7512 2.4: pin-source is a URI or a path; hsmca reads files
         * only (no "|command" execution). */
        if (strncasecmp(src, "file:", 5) == 0)
            src += 5;
        if (src[0] != '/') {
            prov_raise(prov, HSMCA_PROV_R_ARG,
                       "pin-source '%s' must be file:/absolute/path (commands are not run)", u->pin_source);
            return NULL;
        }
        snprintf(pin_file, sizeof(pin_file), "%s", src);
        cfg.pin.file = pin_file;
    } else if (prov->pin_file != NULL) {
        cfg.pin.file = prov->pin_file;
    } else if (pw_cb != NULL) {
        /* Interactive use of the openssl command: ask through OpenSSL's UI,
         * which does not echo. */
        char buf[HSMCA_PIN_MAX + 1];
        size_t len = 0;
        char info[128];
        OSSL_PARAM pp[2];
        snprintf(info, sizeof(info), "PIN for PKCS#11 token '%s'", u->token ? u->token : u->serial);
        pp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, info, 0);
        pp[1] = OSSL_PARAM_construct_end();
        if (!pw_cb(buf, sizeof(buf) - 1, &len, pp, pw_cbarg) || len == 0) {
            OPENSSL_cleanse(buf, sizeof(buf));
            prov_raise(prov, HSMCA_PROV_R_ARG, "no PIN was given for token '%s'", u->token ? u->token : u->serial);
            return NULL;
        }
        rv = hsmca_pin_from_bytes(buf, len, &prompted);
        OPENSSL_cleanse(buf, sizeof(buf));
        if (rv != HSMCA_OK) {
            prov_raise_hsmca(prov, rv);
            return NULL;
        }
        cfg.pin_value = prompted;
    } else {
        prov_raise(prov, HSMCA_PROV_R_ARG,
                   "no PIN source for token '%s': add pin-source=file:/path to the URI or set "
                   "pkcs11-pin-file in openssl.cnf", u->token ? u->token : u->serial);
        return NULL;
    }
    rv = hsmca_p11_token_open(&cfg, &tok);
    hsmca_pin_free(prompted);
    if (rv != HSMCA_OK) {
        prov_raise_hsmca(prov, rv);
        return NULL;
    }
    /* Keep it logged in for later loads in this process. */
    pthread_mutex_lock(&prov->lock);
    if (prov->n_tokens < HSMCA_PROV_MAX_TOKENS) {
        hsmca_p11_token_up_ref(tok);
        prov->tokens[prov->n_tokens++] = tok;
    }
    pthread_mutex_unlock(&prov->lock);
    return tok;
}

static int load_keys(store_ctx *ctx, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    const hsmca_p11_uri *u = ctx->uri;
    hsmca_p11_token *tok;
    hsmca_rv rv;

    ctx->loaded = true;
    if (u->type != HSMCA_P11_URI_TYPE_ANY && u->type != HSMCA_P11_URI_TYPE_PRIVATE &&
        u->type != HSMCA_P11_URI_TYPE_PUBLIC)
        return 1; /* certificates and data objects: nothing hsmca serves */
    tok = store_token(ctx, pw_cb, pw_cbarg);
    if (tok == NULL)
        return 0;
    rv = hsmca_p11_key_find_all(tok, u->id, u->id_len, u->object, ctx->keys, STORE_MAX_KEYS, &ctx->n_keys);
    hsmca_p11_token_free(tok);
    if (rv != HSMCA_OK) {
        prov_raise_hsmca(ctx->prov, rv);
        return 0;
    }
    return 1;
}

static const char *data_type(const hsmca_p11_key *key)
{
    switch (hsmca_p11_key_type(key)) {
    case HSMCA_KEY_RSA:
        return "RSA";
    case HSMCA_KEY_EC:
        return "EC";
    case HSMCA_KEY_ED25519:
        return "ED25519";
    }
    return "";
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    store_ctx *ctx = loaderctx;
    hsmca_p11_key *key;
    OSSL_PARAM params[6];
    int object_type;
    int ok = 0;

    if (!ctx->loaded && !load_keys(ctx, pw_cb, pw_cbarg))
        return 0;
    if (ctx->next >= ctx->n_keys)
        return 0;
    key = ctx->keys[ctx->next++];

    if (ctx->uri->type == HSMCA_P11_URI_TYPE_PUBLIC || ctx->expect == OSSL_STORE_INFO_PUBKEY) {
        /* Public key: hand over its SubjectPublicKeyInfo for OpenSSL's
         * decoders. */
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(hsmca_p11_key_get0_public(key), &der);
        if (len <= 0)
            return 0;
        object_type = OSSL_OBJECT_PKEY;
        params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)(uintptr_t)data_type(key), 0);
        params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)(uintptr_t)"SubjectPublicKeyInfo", 0);
        params[3] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)len);
        params[4] = OSSL_PARAM_construct_end();
        ok = object_cb(params, object_cbarg);
        OPENSSL_free(der);
        return ok;
    }

    {
        prov_key *pk = prov_key_new(ctx->prov, key);
        const char *label = hsmca_p11_key_label(key);
        if (pk == NULL)
            return 0;
        object_type = OSSL_OBJECT_PKEY;
        params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)(uintptr_t)data_type(key), 0);
        /* The reference is the key object's address; our keymgmt's load()
         * takes it over and clears it. */
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &pk, sizeof(pk));
        params[3] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, (char *)(uintptr_t)(label ? label : ""), 0);
        params[4] = OSSL_PARAM_construct_end();
        ok = object_cb(params, object_cbarg);
        prov_key_free(pk); /* NULL if keymgmt load() took it */
    }
    return ok;
}

static int store_eof(void *loaderctx)
{
    store_ctx *ctx = loaderctx;

    return ctx->loaded && ctx->next >= ctx->n_keys;
}

static int store_close(void *loaderctx)
{
    store_ctx *ctx = loaderctx;

    if (ctx == NULL)
        return 1;
    for (size_t i = 0; i < ctx->n_keys; i++)
        hsmca_p11_key_free(ctx->keys[i]);
    hsmca_p11_uri_free(ctx->uri);
    OPENSSL_free(ctx);
    return 1;
}

const OSSL_DISPATCH hsmca_store_pkcs11_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close},
    {0, NULL},
};
