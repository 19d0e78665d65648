/* SPDX-License-Identifier: Apache-2.0 */
/* The hsmca OpenSSL 3 provider used in-process: registering it in a library
 * context and turning token keys into EVP_PKEYs that sign in the token. */
#ifndef HSMCA_PROVIDER_H
#define HSMCA_PROVIDER_H

#include <openssl/core.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "hsmca/p11.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSMCA_PROVIDER_NAME "hsmca"

/* Property query for operations on token keys. OpenSSL 3.0 fetches the
 * signature implementation by name before it looks at the key's provider
 * (fixed in 3.2, openssl/openssl#19395), so with the default provider loaded
 * first it would pick the software RSA/ECDSA/Ed25519 signature and fail to
 * export the token key into it. Preferring hsmca ("?" = optional) fixes
 * that and still lets software keys fall back to the default provider. */
#define HSMCA_PROVIDER_PROPQ "?provider=hsmca"

/* The provider's init function (the loadable module exports it as
 * OSSL_provider_init). */
OSSL_provider_init_fn hsmca_provider_init;

/* Adds the built-in provider to libctx (NULL: the default context) and loads
 * it, together with the default provider if nothing is loaded yet, so that
 * digests and public-key operations keep working. *out receives the loaded
 * provider; unload it with OSSL_PROVIDER_unload(). */
hsmca_rv hsmca_provider_load(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **out);

/* An EVP_PKEY for a token key: every private-key operation on it runs in the
 * token through the provider (which must be loaded in libctx). The EVP_PKEY
 * holds a reference to the key and its token. */
hsmca_rv hsmca_provider_pkey_from_key(OSSL_LIB_CTX *libctx, hsmca_p11_key *key, EVP_PKEY **out);

/* EVP_DigestSignInit_ex for a token key with HSMCA_PROVIDER_PROPQ; md NULL
 * for Ed25519; pss selects RSASSA-PSS (salt = hash length). The context then
 * serves X509_sign_ctx, X509_REQ_sign_ctx, X509_CRL_sign_ctx,
 * OCSP_basic_sign_ctx or EVP_DigestSign unchanged. */
hsmca_rv hsmca_provider_sign_init(EVP_MD_CTX *mctx, OSSL_LIB_CTX *libctx, const char *md,
                                  EVP_PKEY *pkey, int pss);

/* The RFC 7512 URI naming a token key (token, manufacturer, model, serial,
 * id, type=private). Caller frees with OPENSSL_free(). */
char *hsmca_provider_key_uri(const hsmca_p11_key *key);

#ifdef __cplusplus
}
#endif
#endif
