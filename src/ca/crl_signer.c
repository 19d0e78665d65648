/* SPDX-License-Identifier: Apache-2.0 */
/* What the CA core lends the revocation module: its store, its library
 * context, and an issuer's token key for signing CRLs. */
#include "hsmca/log.h"
#include "internal.h"

hsmca_store *hsmca_ca_get0_store(hsmca_ca *ca)
{
    return ca != NULL ? ca->store : NULL;
}

OSSL_LIB_CTX *hsmca_ca_get0_libctx(hsmca_ca *ca)
{
    return ca != NULL ? ca->libctx : NULL;
}

hsmca_rv hsmca_ca_issuer_get1_crl_key(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out,
                                      EVP_PKEY **key)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && out != NULL && key != NULL, HSMCA_ERR_INVALID_ARG);
    *key = NULL;
    rv = hsmca_ca_issuer_get(ca, mount, ref, out);
    if (rv != HSMCA_OK)
        return rv;
    /* Not the signing cache of issuance: CRLs are signed rarely, and an
     * issuer whose usage lacks issuing-certificates (read-only,crl-signing
     * after a rotation) must still sign them. */
    if (out->key_id[0] == '\0')
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer '%s' has no key in this mount; it cannot sign a CRL",
                       out->issuer_id);
    else if (!(out->usage & HSMCA_USAGE_CRL))
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer '%s' usage does not include crl-signing",
                       out->issuer_id);
    else
        rv = ca_key_pkey(ca, out->key_id, key);
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(out);
    return rv;
}
