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
