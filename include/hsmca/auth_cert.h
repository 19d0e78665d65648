/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS certificate auth method's judgement of a client certificate
 * against one role (OpenBao's auth/cert certs/:name): chain to the role's
 * CA with the client-auth purpose, or the exact pinned leaf, then every
 * name and extension constraint. Storage, CRLs and tokens are the
 * caller's; this module only decides. */
#ifndef HSMCA_AUTH_CERT_H
#define HSMCA_AUTH_CERT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HSMCA_OK when `leaf` satisfies `role` (the method's canonical role
 * document: "certificate" PEM and the allowed_* / required_extensions
 * arrays) at unix time `now`. A certificate that does not satisfy it is
 * HSMCA_ERR_INVALID_ARG with the reason as the detail: for the audit log
 * only, the client hears "permission denied". */
hsmca_rv hsmca_auth_cert_match(const json_t *role, X509 *leaf, int64_t now);

/* hsmca_auth_cert_match with the intermediates the client sent
 * (`untrusted`, may be NULL: used only to build the path, never trusted)
 * and, on success, the verified path leaf..anchor in *chain (caller frees
 * with sk_X509_pop_free; just the leaf for a pinned leaf). chain may be
 * NULL. */
hsmca_rv hsmca_auth_cert_match_chain(const json_t *role, X509 *leaf, STACK_OF(X509) *untrusted, int64_t now,
                                     STACK_OF(X509) **chain);

/* ---- OCSP (src/auth/cert_ocsp.c) ---- */

/* Verified OCSP answers kept per mount until their nextUpdate, at most
 * the mount's ocsp_cache_size of them (least recently used go first). */
typedef struct hsmca_auth_ocsp_cache hsmca_auth_ocsp_cache;
hsmca_auth_ocsp_cache *hsmca_auth_ocsp_cache_new(void);
void hsmca_auth_ocsp_cache_free(hsmca_auth_ocsp_cache *c);
/* How many answers the cache holds for mount (tests, metrics). */
size_t hsmca_auth_ocsp_cache_count(hsmca_auth_ocsp_cache *c, const char *mount);

typedef struct {
    const json_t *role;           /* ocsp_* fields, certificate */
    X509 *leaf;
    X509 *issuer;                 /* the leaf's issuer from the verified path, or NULL */
    STACK_OF(X509) *chain;        /* the verified path (may be NULL) */
    const char *mount;
    hsmca_auth_ocsp_cache *cache; /* may be NULL: no caching */
    size_t cache_size;            /* the mount's ocsp_cache_size */
    int64_t now;
} hsmca_auth_ocsp_params;

/* The OCSP verdict for a login with an ocsp_enabled role: HSMCA_OK to go
 * on (warn non-empty when ocsp_fail_open let an undecided status
 * through); HSMCA_ERR_INVALID_ARG refused, the reason as the detail. A
 * revoked answer from any server refuses whatever ocsp_fail_open says. */
hsmca_rv hsmca_auth_cert_ocsp_check(const hsmca_auth_ocsp_params *p, char *warn, size_t warn_size);

/* The token metadata of a login: each of the role's
 * allowed_metadata_extensions present in leaf, keyed by its OID with '.'
 * turned into '-' (usable in ACL templates), valued by its string. */
hsmca_rv hsmca_auth_cert_metadata(const json_t *role, X509 *leaf, json_t *meta);

/* Whether `pattern` matches all of `text`. '*' stands for any run of
 * characters; in a DNS name (dns true) it stays within one label and the
 * comparison ignores ASCII case, so "*.example.com" never matches
 * "a.b.example.com". */
bool hsmca_auth_cert_glob(const char *pattern, const char *text, bool dns);

#ifdef __cplusplus
}
#endif
#endif
