/* SPDX-License-Identifier: Apache-2.0 */
/* Key management for token keys (RSA, EC, Ed25519): loading by reference from
 * the store, public-key export and parameters. Private key material never
 * exists outside the token, so nothing here can export it. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

static OSSL_FUNC_keymgmt_new_fn km_new;
static OSSL_FUNC_keymgmt_import_fn km_rsa_import;
static OSSL_FUNC_keymgmt_import_fn km_ec_import;
static OSSL_FUNC_keymgmt_import_fn km_ed25519_import;
static OSSL_FUNC_keymgmt_import_types_fn km_import_types;
static OSSL_FUNC_keymgmt_load_fn km_load;
static OSSL_FUNC_keymgmt_free_fn km_free;
static OSSL_FUNC_keymgmt_dup_fn km_dup;
static OSSL_FUNC_keymgmt_has_fn km_has;
static OSSL_FUNC_keymgmt_match_fn km_match;
static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn km_rsa_gettable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn km_ec_gettable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn km_ed25519_gettable_params;
static OSSL_FUNC_keymgmt_export_fn km_export;
static OSSL_FUNC_keymgmt_export_types_fn km_rsa_export_types;
static OSSL_FUNC_keymgmt_export_types_fn km_ec_export_types;
static OSSL_FUNC_keymgmt_export_types_fn km_ed25519_export_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn km_rsa_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn km_ec_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn km_ed25519_query_operation_name;

_Thread_local hsmca_p11_key *hsmca_prov_pending_key;

/* An empty key object; only km_import() below can fill it. */
static void *km_new(void *provctx)
{
    prov_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key != NULL)
        key->prov = provctx;
    return key;
}

/* In-process hand-over of a token key (hsmca_provider_pkey_from_key): that
 * function parks the key object in a thread-local slot and calls
 * EVP_PKEY_fromdata() with HSMCA_PROV_PARAM_PENDING_KEY, which lands here on
 * the same thread. No pointer travels in a parameter, so nothing outside this
 * library can make the provider adopt an object. Any other import is refused:
 * keys are created in the token, never imported through OpenSSL. */
static int km_import(void *keydata, const OSSL_PARAM params[], hsmca_key_type want)
{
    prov_key *key = keydata;
    hsmca_p11_key *pending = hsmca_prov_pending_key;

    if (key == NULL)
        return 0;
    if (key->p11 != NULL || pending == NULL ||
        OSSL_PARAM_locate_const(params, HSMCA_PROV_PARAM_PENDING_KEY) == NULL) {
        prov_raise(key->prov, HSMCA_PROV_R_UNSUPPORTED,
                   "keys cannot be imported into the hsmca provider: they live in the token and "
                   "are loaded by pkcs11: URI");
        return 0;
    }
    if (hsmca_p11_key_type(pending) != want) {
        prov_raise(key->prov, HSMCA_PROV_R_ARG, "token key type does not match the key management");
        return 0;
    }
    key->p11 = pending; /* the parked reference moves to the key object */
    hsmca_prov_pending_key = NULL;
    return 1;
}

static int km_rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, params, HSMCA_KEY_RSA);
}

static int km_ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, params, HSMCA_KEY_EC);
}

static int km_ed25519_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, params, HSMCA_KEY_ED25519);
}

static const OSSL_PARAM import_types[] = {
    OSSL_PARAM_int(HSMCA_PROV_PARAM_PENDING_KEY, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_import_types(int selection)
{
    return import_types;
}

/* The store hands over a prov_key pointer as the object reference (the same
 * pattern OpenSSL's own providers use): take ownership and clear the
 * reference so the store does not free it too. */
static void *km_load(const void *reference, size_t reference_sz)
{
    prov_key *key = NULL;

    if (reference == NULL || reference_sz != sizeof(key))
        return NULL;
    memcpy(&key, reference, sizeof(key));
    memset((void *)(uintptr_t)reference, 0, sizeof(key));
    return key;
}

static void km_free(void *keydata)
{
    prov_key_free(keydata);
}

static void *km_dup(const void *keydata, int selection)
{
    const prov_key *key = keydata;

    return key != NULL && key->p11 != NULL ? prov_key_new(key->prov, key->p11) : NULL;
}

static int km_has(const void *keydata, int selection)
{
    const prov_key *key = keydata;

    /* The key pair exists (the private half in the token); domain
     * parameters are implied by the public key. */
    return key != NULL && key->p11 != NULL;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
    const prov_key *a = keydata1, *b = keydata2;

    if (a == NULL || b == NULL || a->p11 == NULL || b->p11 == NULL)
        return 0;
    return EVP_PKEY_eq(hsmca_p11_key_get0_public(a->p11), hsmca_p11_key_get0_public(b->p11)) == 1;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    prov_key *key = keydata;
    EVP_PKEY *pub;
    OSSL_PARAM *p;

    if (key == NULL || key->p11 == NULL)
        return 0;
    pub = hsmca_p11_key_get0_public(key->p11);
    /* Public parameters (n, e, group, point, encoded key) come from the
     * software public key; the private ones are simply not there. */
    if (!EVP_PKEY_get_params(pub, params))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_bits(pub)))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(pub)))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != NULL && !OSSL_PARAM_set_int(p, (int)hsmca_p11_key_max_signature(key->p11)))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
    if (p != NULL && hsmca_p11_key_type(key->p11) != HSMCA_KEY_ED25519) {
        /* RFC 5480 section 4: pair the hash with the key's strength. */
        const char *md = "SHA256";
        unsigned bits = hsmca_p11_key_bits(key->p11);
        if (hsmca_p11_key_type(key->p11) == HSMCA_KEY_EC)
            md = bits > 384 ? "SHA512" : bits > 256 ? "SHA384" : "SHA256";
        if (!OSSL_PARAM_set_utf8_string(p, md))
            return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MANDATORY_DIGEST);
    if (p != NULL && hsmca_p11_key_type(key->p11) == HSMCA_KEY_ED25519 && !OSSL_PARAM_set_utf8_string(p, ""))
        return 0;
    return 1;
}

#define COMMON_GETTABLE                                                        \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),                                \
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),                   \
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL)

static const OSSL_PARAM rsa_gettable[] = {
    COMMON_GETTABLE,
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM ec_gettable[] = {
    COMMON_GETTABLE,
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM ed25519_gettable[] = {
    COMMON_GETTABLE,
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_rsa_gettable_params(void *provctx) { return rsa_gettable; }
static const OSSL_PARAM *km_ec_gettable_params(void *provctx) { return ec_gettable; }
static const OSSL_PARAM *km_ed25519_gettable_params(void *provctx) { return ed25519_gettable; }

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    prov_key *key = keydata;
    OSSL_PARAM *params = NULL;
    int ok;

    if (key == NULL || key->p11 == NULL)
        return 0;
    /* Anything that includes the private key is refused outright. Handing
     * over only the public half would let OpenSSL 3.0 move the key into
     * another provider and try to sign there with a public-only copy
     * ("missing private key") instead of using ours (test_openssl_cli).
     * Public-key and parameter exports (SubjectPublicKeyInfo encoding,
     * EVP_PKEY_eq) are served. */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ||
        (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) == 0) {
        prov_raise(key->prov, HSMCA_PROV_R_UNSUPPORTED,
                   "the private key is inside the token and cannot be exported");
        return 0;
    }
    if (EVP_PKEY_todata(hsmca_p11_key_get0_public(key->p11), EVP_PKEY_PUBLIC_KEY, &params) != 1)
        return 0;
    ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

static const OSSL_PARAM rsa_export[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM ec_export[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM ed25519_export[] = {
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_rsa_export_types(int selection) { return rsa_export; }
static const OSSL_PARAM *km_ec_export_types(int selection) { return ec_export; }
static const OSSL_PARAM *km_ed25519_export_types(int selection) { return ed25519_export; }

static const char *km_rsa_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}
static const char *km_ec_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}
static const char *km_ed25519_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}

#define KEYMGMT_FUNCTIONS(alg)                                                          \
    const OSSL_DISPATCH hsmca_keymgmt_##alg##_functions[] = {                           \
        {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},                                \
        {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_##alg##_import},                  \
        {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types},              \
        {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},                              \
        {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                              \
        {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},                                \
        {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                \
        {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                            \
        {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                  \
        {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_##alg##_gettable_params}, \
        {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},                          \
        {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_##alg##_export_types},      \
        {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,                                        \
         (void (*)(void))km_##alg##_query_operation_name},                              \
        {0, NULL}}

KEYMGMT_FUNCTIONS(rsa);
KEYMGMT_FUNCTIONS(ec);
KEYMGMT_FUNCTIONS(ed25519);
