/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of src/revocation: the DER buffer CRLs are written
 * into, the streaming CRL encoder, CRL state in the store, and the helpers
 * revoke.c and crl.c share. */
#ifndef HSMCA_SRC_REVOCATION_INTERNAL_H
#define HSMCA_SRC_REVOCATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmca/revocation.h"

/* Largest CRL we build: the store keeps the signed copy as a document
 * payload (STORE_DOC_BLOB_MAX, 48 MiB), about a million entries. */
#define REV_CRL_MAX (48u << 20)
/* Document kinds of the per-issuer CRL state (id = issuer_id). */
#define REV_DOC_CRL   "crl"       /* complete CRL: body = state, blob = DER */
#define REV_DOC_DELTA "crl-delta" /* delta CRL: body = state, blob = DER */
/* Small per-issuer state (CRL numbers, base sequence, update times), so
 * the periodic check and delta builds never load a complete CRL. Complete
 * and delta CRLs share one numbering sequence (RFC 5280 5.2.3). */
#define REV_DOC_STATE "crl-state"
#define REV_CONFIG_ID "crl" /* config/crl: kind HSMCA_DOC_CONFIG */
#define REV_AUTO_TIDY_ID "auto-tidy" /* config/auto-tidy: kind HSMCA_DOC_CONFIG */

/* The mount's stored configuration document `id` (REV_CONFIG_ID,
 * REV_AUTO_TIDY_ID) as a JSON object in *out, or *out = NULL when it was
 * never set (the caller keeps OpenBao's defaults). A stored document that
 * is not an object is HSMCA_ERR_IO naming `what` ("config/crl"). */
hsmca_rv rev_config_load(hsmca_ca *ca, const char *mount, const char *id, const char *what, json_t **out);
/* Members of such a document, stored as integers (seconds) and booleans;
 * dflt when absent or of another type. */
int64_t rev_json_secs(const json_t *o, const char *key, int64_t dflt);
bool rev_json_flag(const json_t *o, const char *key, bool dflt);

/* ---- DER buffer (der.c) ---- */

/* A growing buffer with room reserved in front, so headers whose lengths
 * are known only at the end (the TBSCertList and its revokedCertificates
 * SEQUENCE) are written before the content without moving it. The bytes
 * are p[start .. len). Bounded by max; a failed step sets failed and every
 * later step does nothing. */
typedef struct {
    unsigned char *p;
    size_t start, len, cap, max;
    bool failed;
} rev_der;

void rev_der_init(rev_der *b, size_t front, size_t max);
void rev_der_free(rev_der *b);
void rev_der_put(rev_der *b, const void *d, size_t n);
/* Appends tag, length and content. */
void rev_der_tlv(rev_der *b, unsigned char tag, const void *content, size_t n);
/* Writes d in front of the content (into the reserved room). */
void rev_der_prepend(rev_der *b, const void *d, size_t n);
/* Writes a tag and length header for n content bytes in front. */
void rev_der_prepend_header(rev_der *b, unsigned char tag, size_t n);
size_t rev_der_size(const rev_der *b);
/* Header of a TLV into out (at most 6 bytes); returns its length. */
size_t rev_der_header(unsigned char out[6], unsigned char tag, size_t n);
/* A non-negative INTEGER's content octets (minimal, a leading zero when the
 * top bit is set) from big-endian bytes; returns the length (<= n + 1). */
size_t rev_der_uint(const unsigned char *be, size_t n, unsigned char *out);
size_t rev_der_int64(int64_t v, unsigned char out[9]);
/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after; the whole
 * TLV into out; returns its length, 0 if out of range. */
size_t rev_der_time(int64_t t, unsigned char out[17]);

/* ---- the CRL encoder (crl_encode.c) ---- */

typedef struct {
    const hsmca_ca_issuer *issuer; /* its subject is the CRL issuer, its key id the AKI */
    EVP_PKEY *key;                 /* the token key */
    OSSL_LIB_CTX *libctx;
    int64_t this_update, next_update;
    int64_t crl_number;
    int64_t delta_base;              /* >= 0: Delta CRL Indicator; -1: none */
    const unsigned char *extra_exts; /* further Extension TLVs, or NULL */
    size_t extra_exts_len;
} rev_crl_params;

typedef struct rev_crl_builder rev_crl_builder;

/* Starts a CRL: chooses the signature algorithm (the issuer's
 * revocation_signature_algorithm, or by key) and encodes what precedes the
 * entries. */
hsmca_rv rev_crl_begin(const rev_crl_params *prm, rev_crl_builder **out);
/* Appends one entry: serial, time, and a reasonCode extension when reason
 * is not 0 (RFC 5280 5.3.1: unspecified SHOULD be absent), or the given
 * Extensions DER. */
hsmca_rv rev_crl_add(rev_crl_builder *b, const unsigned char *serial, size_t serial_len, int64_t when,
                     int reason, const unsigned char *exts_der, size_t exts_len);
/* Closes the TBSCertList, signs it in the token, verifies the signature
 * with the issuer certificate's public key, and hands out the DER. Frees
 * the builder whatever the result. */
hsmca_rv rev_crl_finish(rev_crl_builder *b, unsigned char **der, size_t *der_len);
void rev_crl_abort(rev_crl_builder *b);

/* ---- shared (crl.c) ---- */

/* Serialises CRL builds of this process: two builders of one issuer would
 * draw the same CRL number. */
void rev_build_lock(void);
void rev_build_unlock(void);
/* Rebuilds the issuer's complete CRL (and, with enable_delta, an empty
 * delta on it) or only its delta. Caller holds the build lock. */
hsmca_rv rev_crl_rebuild(hsmca_ca *ca, const char *mount, const char *issuer_ref, const hsmca_crl_config *cfg,
                         hsmca_crl_kind kind);
/* The same for a complete CRL after a revocation: nothing is built when
 * the current complete CRL already includes every revocation up to
 * covered_seq (a build that started after that revocation committed). So
 * concurrent revocations share builds instead of queueing one each. */
hsmca_rv rev_crl_rebuild_after(hsmca_ca *ca, const char *mount, const char *issuer_id, const hsmca_crl_config *cfg,
                               int64_t covered_seq, bool *built);

/* ---- the CRL cache (crl_cache.c) ---- */

/* A copy of the cached CRL (malloc'd) and its thisUpdate: true on a hit.
 * On a miss *gen is what rev_crl_cache_put must be given with what the
 * caller then reads from the database. */
bool rev_crl_cache_get(hsmca_ca *ca, const char *mount, const char *issuer_id, hsmca_crl_kind kind,
                       unsigned char **der, size_t *len, int64_t *this_update, uint64_t *gen);
/* Keeps a copy, unless a CRL was signed (rev_crl_cache_invalidate) since
 * gen was handed out. */
void rev_crl_cache_put(hsmca_ca *ca, const char *mount, const char *issuer_id, hsmca_crl_kind kind,
                       const unsigned char *der, size_t len, int64_t this_update, uint64_t gen);
/* Drops the issuer's CRLs (issuer_id NULL: the mount's); called after
 * every commit of a CRL, whatever its outcome. */
void rev_crl_cache_invalidate(hsmca_ca *ca, const char *mount, const char *issuer_id);

#endif
