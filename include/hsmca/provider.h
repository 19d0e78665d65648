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

/* The RFC 7512 URI naming a token key (token, manufacturer, model, serial,
 * id, type=private). Caller frees with OPENSSL_free(). */
char *hsmca_provider_key_uri(const hsmca_p11_key *key);

#ifdef __cplusplus
}
#endif
#endif
