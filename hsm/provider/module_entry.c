/* SPDX-License-Identifier: Apache-2.0 */
/* The entry point of the loadable provider module (hsmca-provider.so): the
 * only symbol it exports. */
#include <openssl/core.h>

#include "hsmca/provider.h"

OSSL_provider_init_fn OSSL_provider_init;

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    return hsmca_provider_init(handle, in, out, provctx);
}
