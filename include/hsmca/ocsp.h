/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP responder (RFC 6960): answers DER requests about a mount's
 * certificates with responses signed in the token, by the issuer's key or
 * by a delegated OCSP signing key, and caches answers whose status has not
 * changed. */
#ifndef HSMCA_OCSP_H
#define HSMCA_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "hsmca/ca.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of a DER request, and of its base64 text on the GET path: OpenBao's
 * bound (a request about one certificate is ~80 bytes; with a nonce and a
 * few serials well under 1 KiB). A larger request is malformedRequest. */
#define HSMCA_OCSP_REQUEST_MAX 2048
/* CertIDs answered in one request; more is malformedRequest (the signature
 * stays one, but the store lookups and response size grow with it). */
#define HSMCA_OCSP_CERTIDS_MAX 32

/* OCSPResponseStatus values (RFC 6960 4.2.1); the HTTP layer maps them to
 * OpenBao's status codes. */
typedef enum {
    HSMCA_OCSP_SUCCESSFUL = 0,
    HSMCA_OCSP_MALFORMED_REQUEST = 1,
    HSMCA_OCSP_INTERNAL_ERROR = 2,
    HSMCA_OCSP_TRY_LATER = 3,
    HSMCA_OCSP_UNAUTHORIZED = 6
} hsmca_ocsp_status;

typedef struct {
    hsmca_ocsp_status status;
    unsigned char *der; /* OPENSSL_malloc'd OCSPResponse */
    size_t der_len;
    int cached;         /* 1: served from the cache without signing */
    /* A successful response's thisUpdate and nextUpdate (unix seconds, of
     * its first answer; all answers of a response share them); 0 when
     * absent. For HTTP caching (RFC 5019 6.2). */
    int64_t this_update, next_update;
} hsmca_ocsp_response;

void hsmca_ocsp_response_clear(hsmca_ocsp_response *r);

/* Answers one DER OCSPRequest for a mount. Every outcome the client should
 * see is a response (malformedRequest, unauthorized when the mount's
 * ocsp_disable is set or the issuer may not sign OCSP, tryLater when the
 * token is unavailable, internalError): the return value is HSMCA_OK then.
 * Only when not even an error response can be encoded (out of memory) does
 * it fail, leaving out empty. */
hsmca_rv hsmca_ocsp_respond(hsmca_ca *ca, const char *mount, const unsigned char *req, size_t req_len,
                            hsmca_ocsp_response *out);

/* Drops every cached response about this serial of the mount, at once.
 * The revoke path calls this after the revocation is committed (and before
 * it answers), so no later request can be served the old status. serial is
 * the unsigned big-endian value as the store keys certificates (what
 * hsmca_serial_parse and hsmca_serial_from_asn1 give), 1..20 octets. */
void hsmca_ocsp_cache_invalidate(hsmca_ca *ca, const char *mount, const unsigned char *serial, size_t serial_len);

/* config/ocsp, hsmca's extension to OpenBao's PKI engine: delegated OCSP
 * signing for every issuer of the mount that has the ocsp-signing usage. */
typedef struct {
    int delegated_signing;  /* 0: the issuer's key signs its responses */
    int64_t delegated_ttl;  /* lifetime of a delegated signer's certificate, seconds */
} hsmca_ocsp_config;

#define HSMCA_OCSP_DELEGATED_TTL_MIN 3600             /* 1h */
#define HSMCA_OCSP_DELEGATED_TTL_MAX (366 * 86400)    /* a year: short-lived by design (nocheck) */

hsmca_rv hsmca_ocsp_config_get(hsmca_ca *ca, const char *mount, hsmca_ocsp_config *out);
/* Replaces config/ocsp; delegated_ttl outside [MIN, MAX] is refused. The
 * next request issues the delegated signers (or goes back to direct). */
hsmca_rv hsmca_ocsp_config_set(hsmca_ca *ca, const char *mount, const hsmca_ocsp_config *in);

/* The mount's config/crl was written (ocsp_disable, ocsp_expiry): the
 * responder's copy of its settings is dropped so the change applies to the
 * next request (without this call, within a second). */
void hsmca_ocsp_config_changed(hsmca_ca *ca, const char *mount);

/* Counters for tests and the benchmark. */
typedef struct {
    uint64_t signed_responses; /* responses signed in the token */
    uint64_t cache_hits;
    uint64_t cache_misses;     /* cacheable requests (one CertID, no nonce) that had to be signed */
    uint64_t delegated_certs;  /* delegated OCSP signing certificates issued */
    /* Responses by OCSPResponseStatus (index = hsmca_ocsp_status, 0..6;
     * 4 and 5 unused): successful, malformedRequest, internalError,
     * tryLater, unauthorized. */
    uint64_t responses[7];
    /* CertIDs answered in successful responses, signed or from the cache:
     * [0] good, [1] revoked, [2] unknown. */
    uint64_t cert_status[3];
} hsmca_ocsp_stats;
void hsmca_ocsp_get_stats(hsmca_ca *ca, hsmca_ocsp_stats *out);

/* ---- for the CA core only: the responder's state lives in the hsmca_ca ---- */
typedef struct hsmca_ocsp_state hsmca_ocsp_state;
hsmca_rv hsmca_ocsp_state_new(hsmca_ocsp_state **out);
void hsmca_ocsp_state_free(hsmca_ocsp_state *st);
/* Appends the key_ids of the mount's delegated OCSP signers (token keys
 * that no key document lists), for the mount's removal to destroy. */
hsmca_rv hsmca_ocsp_signer_keys(hsmca_ca *ca, const char *mount, hsmca_strlist *key_ids);
/* An issuer (or, issuer_id NULL, every issuer of the mount) goes: adds the
 * deletion of its delegated signer records to b and appends their key_ids
 * to key_ids, for the caller to destroy once b is committed. */
hsmca_rv hsmca_ocsp_signers_drop(hsmca_ca *ca, hsmca_store_batch *b, const char *mount, const char *issuer_id,
                                 hsmca_strlist *key_ids);

#ifdef __cplusplus
}
#endif
#endif
