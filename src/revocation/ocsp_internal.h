/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the OCSP responder (src/revocation/ocsp*.c): its settings, the
 * per-mount table of issuers it signs for, and the response cache. */
#ifndef HSMCA_SRC_REVOCATION_OCSP_INTERNAL_H
#define HSMCA_SRC_REVOCATION_OCSP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/ocsp.h>

#include "hsmca/ocsp.h"
/* The responder belongs to the CA core layer (DESIGN.md: src/ca and
 * src/revocation): it signs with issuer keys and issues its delegated
 * certificates through the same pipeline as every other certificate. */
#include "../ca/internal.h"

/* The document (kind) holding an issuer's delegated OCSP signer: id = the
 * issuer id, body {key_id, not_after, serial_number}, blob = certificate DER. */
#define OCSP_DOC_SIGNER "ocsp_signer"
/* config/ocsp: hsmca's extension document (delegation settings). */
#define OCSP_CONFIG_NAME "ocsp"

#define OCSP_MOUNTS_MAX 64  /* mounts whose issuer tables are kept */
#define OCSP_ISSUERS_MAX 64 /* issuers of one mount the responder answers for */

/* ---- settings (ocsp_config.c) ---- */

typedef struct {
    bool disable;            /* config/crl ocsp_disable: every answer is unauthorized */
    int64_t expiry;          /* config/crl ocsp_expiry, seconds; 0 = no nextUpdate */
    bool delegated;          /* config/ocsp delegated_signing */
    int64_t delegated_ttl;   /* config/ocsp delegated_ttl, seconds */
} ocsp_settings;

#define OCSP_DEFAULT_EXPIRY (12 * 3600)          /* OpenBao's ocsp_expiry "12h" */
#define OCSP_DEFAULT_DELEGATED_TTL (30 * 86400)  /* "720h" */

/* The mount's settings, defaults for what is not set. The one place that
 * knows where ocsp_disable/ocsp_expiry live (to be swapped for the
 * revocation module's config getter). */
hsmca_rv ocsp_settings_load(hsmca_ca *ca, const char *mount, ocsp_settings *out);
/* The same through a per-mount copy kept while the CA generation stays and
 * for at most OCSP_SETTINGS_MAX_AGE_MS: two SQLite reads and JSON parses
 * per request were a large part of a cached answer's cost. */
hsmca_rv ocsp_settings_get(hsmca_ca *ca, const char *mount, ocsp_settings *out);

/* A configuration write that does not move the CA generation (a writer
 * outside the CA core's commit) is seen within this time. */
#define OCSP_SETTINGS_MAX_AGE_MS 1000

typedef struct {
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    unsigned long gen;
    uint64_t loaded_ms; /* CLOCK_MONOTONIC */
    ocsp_settings set;
} ocsp_settings_entry;

/* ---- issuers the responder signs for (ocsp_issuers.c) ---- */

typedef struct {
    char issuer_id[37];
    X509 *cert;            /* the issuer's certificate */
    /* CertID hashes (RFC 6960 4.1.1) under the two algorithms clients use;
     * others are computed per request */
    unsigned char name_sha1[20], key_sha1[20], name_sha256[32], key_sha256[32];
    unsigned usage;        /* HSMCA_USAGE_* */
    EVP_PKEY *key;         /* token key; NULL for a key-less issuer (cannot sign) */
    const char *md;        /* digest for the signature (NULL: Ed25519) */
    bool pss;              /* RSASSA-PSS */
    /* delegated signer, when configured and valid */
    X509 *signer_cert;
    EVP_PKEY *signer_key;
    int64_t signer_renew_at; /* after this the signer is rolled over */
    int64_t signer_not_after;
} ocsp_issuer;

/* One mount's issuers as loaded at a CA generation; immutable once built,
 * shared by reference between request threads. */
typedef struct {
    atomic_int refs;
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    unsigned long gen;
    bool delegated;        /* built with delegation on */
    /* The earliest rollover due among the delegated signers (0: none): the
     * table is rebuilt then even if nothing else changed, or a signer would
     * never roll over on a quiet CA. */
    int64_t renew_at;
    char default_id[37];   /* the mount's default issuer ("" none) */
    ocsp_issuer issuers[OCSP_ISSUERS_MAX];
    size_t n;
} ocsp_mount;

/* The table for mount at the CA's current generation (a new reference). */
hsmca_rv ocsp_mount_get(hsmca_ca *ca, const char *mount, const ocsp_settings *set, ocsp_mount **out);
void ocsp_mount_unref(ocsp_mount *m);
/* The issuer a CertID names (issuer name and key hashes under the CertID's
 * hash algorithm), or NULL. */
const ocsp_issuer *ocsp_mount_find(const ocsp_mount *m, const OCSP_CERTID *id);
const ocsp_issuer *ocsp_mount_default(const ocsp_mount *m);

/* ---- delegated signers (ocsp_delegate.c) ---- */

/* Loads iss's delegated signer from its document into iss (nothing when
 * there is none). */
hsmca_rv ocsp_signer_load(hsmca_ca *ca, const char *mount, ocsp_issuer *iss);
/* Issues a new delegated signer for iss (a token key and a certificate
 * with id-kp-OCSPSigning and id-pkix-ocsp-nocheck) and records it,
 * replacing the previous one, whose key is destroyed. */
hsmca_rv ocsp_signer_issue(hsmca_ca *ca, const char *mount, const ocsp_issuer *iss, int64_t ttl);

/* ---- the response cache (ocsp_cache.c) ---- */

#define OCSP_CACHE_SETS 1024 /* power of two */
#define OCSP_CACHE_WAYS 4    /* entries per set: SHA-1 and SHA-256 CertIDs of a serial fit together */
#define OCSP_CERTID_MAX 256  /* bytes of a cached request's CertID DER */
#define OCSP_CACHED_RESPONSE_MAX 8192

typedef struct {
    bool used;
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    unsigned char certid[OCSP_CERTID_MAX];
    size_t certid_len;
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    unsigned long gen;     /* CA generation it was signed at */
    int64_t expiry;        /* the ocsp_expiry it was signed with */
    int64_t refresh_at;    /* not served after this */
    int cert_status;       /* V_OCSP_CERTSTATUS_* of its one answer (metrics) */
    int64_t this_update, next_update; /* of that answer (HTTP caching headers) */
    uint64_t used_at;
    unsigned char *der;
    size_t der_len;
} ocsp_cache_entry;

typedef struct {
    ocsp_cache_entry ways[OCSP_CACHE_WAYS];
    /* Bumped by every invalidation of the set: an answer whose status was
     * read before a revocation must not be cached after it. */
    uint64_t epoch;
} ocsp_cache_set;

struct hsmca_ocsp_state {
    pthread_mutex_t lock;    /* the mount tables and the cache */
    pthread_mutex_t issue_lock; /* one delegated signer issued at a time */
    ocsp_mount *mounts[OCSP_MOUNTS_MAX];
    uint64_t mounts_used[OCSP_MOUNTS_MAX];
    size_t n_mounts;
    ocsp_settings_entry settings[OCSP_MOUNTS_MAX];
    size_t n_settings;
    ocsp_cache_set *sets;    /* OCSP_CACHE_SETS */
    uint64_t clock;
    atomic_uint_fast64_t signed_responses, cache_hits, delegated_certs;
    /* sys/metrics: responses by OCSPResponseStatus (0..6), CertIDs
     * answered by certificate status (V_OCSP_CERTSTATUS_*: good, revoked,
     * unknown), and cacheable requests not found in the cache. */
    atomic_uint_fast64_t responses[7], cert_status[3], cache_misses;
};

/* The key the cache files a single-CertID request under. */
typedef struct {
    const char *mount;
    unsigned char certid[OCSP_CERTID_MAX];
    size_t certid_len;
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    uint64_t epoch;        /* the set's epoch when the status was read */
} ocsp_cache_key;

/* Fills key for id (false: not cacheable, e.g. an oversized CertID) and
 * records the set's epoch. */
bool ocsp_cache_key_init(hsmca_ocsp_state *st, const char *mount, const OCSP_CERTID *id,
                         const unsigned char *serial, size_t serial_len, ocsp_cache_key *key);
/* A copy of the cached response (OPENSSL_malloc'd) when one is fresh. */
bool ocsp_cache_lookup(hsmca_ocsp_state *st, const ocsp_cache_key *key, unsigned long gen, int64_t expiry,
                       int64_t now, unsigned char **der, size_t *len, int *cert_status, int64_t *this_update,
                       int64_t *next_update);
/* Files a response, unless the set was invalidated since key was made. */
void ocsp_cache_store(hsmca_ocsp_state *st, const ocsp_cache_key *key, unsigned long gen, int64_t expiry,
                      int64_t refresh_at, const unsigned char *der, size_t len, int cert_status, int64_t this_update,
                      int64_t next_update);
void ocsp_cache_free(hsmca_ocsp_state *st);

#endif
