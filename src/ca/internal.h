/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of the CA core: the context, documents as structs,
 * and the signing pipeline every certificate goes through. */
#ifndef HSMCA_SRC_CA_INTERNAL_H
#define HSMCA_SRC_CA_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/ca.h"
#include "hsmca/lint.h"
#include "hsmca/ocsp.h"

#define CA_DEFAULT_TTL (768 * 3600) /* OpenBao's system default lease TTL */

#define CA_ISSUER_CACHE_MAX 64
#define CA_ROLE_CACHE_MAX 64
#define CA_TUNE_CACHE_MAX 64
#define CA_URLS_CACHE_MAX 64

/* What every cache entry starts with: the key it was loaded under, the CA
 * generation it was loaded at, and when it was last used. */
typedef struct {
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    char ref[HSMCA_STORE_ID_MAX + 1]; /* as the caller named it */
    unsigned long gen;
    uint64_t used; /* for eviction: the least recently used goes */
} ca_cache_tag;

/* A signing issuer as loaded for issuance: the parsed certificate, its
 * chain and its token key. Loading costs ~0.5 ms (a token lookup, a
 * certificate parse, a chain walk), a tenth of an RSA issuance, so it is
 * kept until something that changes issuers, keys or configuration bumps
 * the CA's generation. */
typedef struct {
    ca_cache_tag tag; /* first: ca_cache_find/ca_cache_slot see entries as tags */
    hsmca_ca_issuer iss;
    EVP_PKEY *key;
} ca_issuer_entry;

/* A mount's tuned TTLs (tune.c); 0 = the appliance's. */
typedef struct {
    ca_cache_tag tag;
    int64_t default_ttl, max_ttl;
} ca_tune_entry;

/* A role as parsed from its document (~50 us of SQLite and JSON per
 * issuance otherwise); kept like the issuers. */
typedef struct {
    ca_cache_tag tag;
    hsmca_role role;
} ca_role_entry;

/* A mount's config/urls and config/cluster as the AIA and CRL distribution
 * point extensions use them (ext.c): two SQLite reads and JSON parses at
 * every issuance otherwise, ~4 % of a P-256 issuance's CPU
 * (docs/performance.md, third round); kept like the roles. */
typedef struct {
    hsmca_strlist ca_issuers, crls, ocsp;
    bool templating;
    char *cluster_path, *cluster_aia_path; /* never NULL once loaded */
} ca_mount_urls;

typedef struct {
    ca_cache_tag tag;
    ca_mount_urls urls;
} ca_urls_entry;

void ca_mount_urls_clear(ca_mount_urls *u);

struct hsmca_ca {
    hsmca_store *store;
    hsmca_keyslot *keyslot;
    hsmca_p11_token *tok; /* borrowed from the keyslot */
    OSSL_LIB_CTX *libctx;
    int64_t default_ttl, max_ttl;
    /* Bumped by every write to issuers, keys or configuration of this
     * process. A second node writing the same database (PostgreSQL, later)
     * will need the documents' updated times checked instead. */
    atomic_ulong gen;
    pthread_mutex_t cache_lock;
    /* Serialises read-modify-write of configuration documents
     * (hsmca_ca_config_update/_set) within this process. */
    pthread_mutex_t config_lock;
    ca_issuer_entry cache[CA_ISSUER_CACHE_MAX];
    size_t n_cache;
    ca_role_entry roles[CA_ROLE_CACHE_MAX];
    size_t n_roles;
    ca_tune_entry tunes[CA_TUNE_CACHE_MAX];
    size_t n_tunes;
    ca_urls_entry urls[CA_URLS_CACHE_MAX];
    size_t n_urls;
    uint64_t cache_clock;
    /* The OCSP responder's issuer tables and response cache
     * (src/revocation/ocsp*.c); here so the revoke path can invalidate it. */
    hsmca_ocsp_state *ocsp;
    /* Where background work that changes state (tidy runs) writes its
     * audit entries (hsmca_revocation_set_audit); NULL: none. Set before
     * any such work starts, read without a lock. */
    struct hsmca_audit *audit;
    /* The last signed CRLs (src/revocation/crl_cache.c). */
    struct rev_crl_cache *crl_cache;
};

/* The CRL cache's life, with the CA's (src/revocation/crl_cache.c). */
struct rev_crl_cache;
hsmca_rv rev_crl_cache_new(struct rev_crl_cache **out);
void rev_crl_cache_free(struct rev_crl_cache *c);

/* Caches (under cache_lock): entries is an array of n structs of stride
 * bytes, each starting with a ca_cache_tag. find returns the entry loaded
 * for (mount, ref) at generation gen, marked used, or NULL. slot returns the
 * entry to overwrite (a stale one, a new one while n < max, else the least
 * recently used), growing *n; the caller frees what it held, then fills it
 * and calls ca_cache_fill. */
void *ca_cache_find(hsmca_ca *ca, void *entries, size_t stride, size_t n, const char *mount, const char *ref,
                    unsigned long gen);
void *ca_cache_slot(hsmca_ca *ca, void *entries, size_t stride, size_t *n, size_t max);
void ca_cache_fill(hsmca_ca *ca, ca_cache_tag *tag, const char *mount, const char *ref, unsigned long gen);

/* Drops every cached issuer (call after any write to issuers, keys or
 * configuration). */
void ca_invalidate(hsmca_ca *ca);
/* hsmca_store_batch_commit for writes to issuers, keys, roles and
 * configuration: the cached issuers are dropped whatever the outcome. */
hsmca_rv ca_commit(hsmca_ca *ca, hsmca_store_batch *b);

/* The mount's effective default and maximum TTL (tune.c). */
hsmca_rv ca_mount_ttls(hsmca_ca *ca, const char *mount, int64_t *default_ttl, int64_t *max_ttl);

/* ---- JSON documents (docs.c) ---- */

/* Loads a document's JSON body. */
hsmca_rv ca_doc_load(hsmca_ca *ca, const char *mount, const char *kind, const char *ref,
                     hsmca_store_doc *doc, json_t **body);
/* Reads config/<id> (an object; {} when absent). */
hsmca_rv ca_config_load(hsmca_ca *ca, const char *mount, const char *id, json_t **out);
const char *ca_json_str(const json_t *obj, const char *key, const char *dflt);
hsmca_rv ca_json_strlist(const json_t *obj, const char *key, hsmca_strlist *out);
json_t *ca_strlist_to_json(const hsmca_strlist *l);
/* json_dumps with sorted keys, compact; NULL on failure. */
char *ca_json_text(const json_t *obj);

/* ---- keys (keys.c) ---- */

/* The token key of a mount key reference ("default", name or id). */
hsmca_rv ca_key_resolve(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_key *out);
/* Adds the key document (and, if the mount has none, the default) to b. */
void ca_key_record(hsmca_ca *ca, hsmca_store_batch *b, const char *mount, const hsmca_ca_key *k,
                   bool make_default);
/* Adopts into the mount the one token key pair whose SubjectPublicKeyInfo
 * hashes to spki_sha256: a key made outside the API, by a key ceremony. Its
 * token label is left as the ceremony recorded it (ceremony verify checks
 * it) and its mount key_name stays empty. HSMCA_ERR_NOT_FOUND if the token
 * has no such key; a key the mount already has is returned as it is. */
hsmca_rv ca_key_adopt_by_spki(hsmca_ca *ca, const char *mount, const unsigned char spki_sha256[32], hsmca_ca_key *out);
/* The provider-backed EVP_PKEY of a mount key. */
hsmca_rv ca_key_pkey(hsmca_ca *ca, const char *key_id, EVP_PKEY **out);

/* ---- issuers (issuers.c) ---- */

/* Body JSON of an issuer document. */
hsmca_rv ca_issuer_to_json(const hsmca_ca_issuer *i, json_t **out);
hsmca_rv ca_issuer_from_doc(const hsmca_store_doc *doc, hsmca_ca_issuer *out);
/* Adds an issuer document to b (creating it). */
hsmca_rv ca_issuer_record(hsmca_store_batch *b, const char *mount, const hsmca_ca_issuer *i);
/* Builds i->ca_chain from the mount's issuers (or manual_chain). */
hsmca_rv ca_issuer_build_chain(hsmca_ca *ca, const char *mount, hsmca_ca_issuer *i);
/* Creates an issuer for cert (a new issuer_id), records it, and makes it
 * the mount's default if there is none (or default_follows_latest_issuer). */
hsmca_rv ca_issuer_create(hsmca_ca *ca, const char *mount, X509 *cert, const char *key_id, const char *name,
                          hsmca_ca_issuer *out);
/* The same with a given issuer_id (known before signing, for templated
 * AIA URLs in the issuer's own certificate). */
hsmca_rv ca_issuer_create_with_id(hsmca_ca *ca, const char *mount, X509 *cert, const char *key_id, const char *name,
                                  const char *issuer_id, hsmca_ca_issuer *out);
/* The issuer that signs (usage issuing-certificates, has a key, not
 * revoked) and its token key. */
hsmca_rv ca_issuer_for_signing(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *iss,
                               EVP_PKEY **pkey);
/* One PEM CSR whose self-signature verifies (csr.c): the request (for its
 * subject, key parameters and attributes; not re-signable) and its public
 * key, built without OpenSSL's decoder. */
hsmca_rv ca_csr_parse(const char *pem, X509_REQ **out, EVP_PKEY **pub);
/* A random UUIDv4 from the token's generator. */
hsmca_rv ca_new_uuid(hsmca_ca *ca, char out[37]);
/* An existing issuer with the same certificate (by DER), if any. */
hsmca_rv ca_issuer_find_by_cert(hsmca_ca *ca, const char *mount, X509 *cert, char issuer_id[37]);

/* ---- the signing pipeline (sign.c) ---- */

typedef struct {
    const char *mount;
    EVP_PKEY *key;         /* signs: the issuer's token key (or, self-signed, the subject's) */
    X509 *issuer_cert;     /* NULL for a self-signed certificate */
    const char *issuer_id; /* recorded with the intent and the certificate */
    const char *role;      /* "" for CA operations */
    unsigned char request_digest[32];
    hsmca_lint_opts lint;
    int signature_bits;    /* 0: by key */
    bool use_pss;
    bool no_store;         /* role no_store: neither intent nor certificate is stored */
    /* Tests only (the lint gate): keep the serial the TBS carries instead of
     * drawing one, so serial rules can be exercised through the pipeline. */
    bool serial_from_tbs;
} ca_sign_job;

/* A job signed by issuer iss (its certificate and the given key): mount,
 * key, issuer, and lint options for that role, time and the issuer's
 * leaf_not_after_behavior. The rest stays zero for the caller. */
void ca_sign_job_init(ca_sign_job *job, const char *mount, EVP_PKEY *key, const hsmca_ca_issuer *iss,
                      hsmca_lint_role role, int64_t now);

/* The issuance cycle (issue #3): reserve a fresh serial with its intent,
 * fix the signature algorithm, lint, sign in the token, verify the signature
 * with the issuer's public key, check the signed TBS is the linted one,
 * store the certificate, and only then hand it out. On any failure nothing
 * is returned; the intent record stays for the operator. */
hsmca_rv ca_sign_certificate(hsmca_ca *ca, const ca_sign_job *job, X509 *tbs, X509 **out);
/* The digest for signature_bits and the key (NULL for Ed25519). */
const char *ca_sign_digest(EVP_PKEY *key, int signature_bits);

/* ---- public keys (spki.c) ---- */

/* The public key of an RSA, EC (P-256/384/521) or Ed25519
 * SubjectPublicKeyInfo, built without OpenSSL's decoders (a new reference);
 * NULL for anything else or malformed, for the caller to decide. */
EVP_PKEY *ca_spki_to_pkey(const X509_PUBKEY *spki);
/* 1 when key is the SPKI's EC or Ed25519 key, shown cheaply (same curve,
 * same encoded point or raw key); -1 when that cannot be shown this way,
 * for the caller to compare the decoded keys. Never 0: a mismatch here may
 * be only a different point encoding. */
int ca_spki_same_key(const X509_PUBKEY *spki, const EVP_PKEY *key);

/* ---- TBS integrity (tbs.c) ---- */

hsmca_rv ca_tbs_set_sigalg(X509 *x, EVP_MD_CTX *mctx);
hsmca_rv ca_tbs_encode(X509 *x, unsigned char **der, size_t *len);
hsmca_rv ca_tbs_matches(const unsigned char *cert_der, size_t cert_len, const unsigned char *tbs,
                        size_t tbs_len);

/* ---- names (names.c) ---- */

typedef struct {
    const char *common_name;
    hsmca_strlist alt_names, ip_sans, uri_sans, other_sans;
    hsmca_strlist ou, organization, country, locality, province, street_address, postal_code;
    const char *serial_number;
    bool exclude_cn_from_sans;
} ca_names_input;

/* Subject in OpenBao's attribute order; fields longer than RFC 5280's
 * upper bounds or with control characters are refused, naming the field. */
hsmca_rv ca_names_subject(const ca_names_input *in, X509_NAME **out);
/* SANs: the CN (host name or email, unless exclude_cn_from_sans),
 * alt_names (DNS or email), ip_sans, uri_sans, other_sans. */
hsmca_rv ca_names_sans(const ca_names_input *in, GENERAL_NAMES **out);

/* ---- extensions (ext.c) ---- */

/* Adds an extension by NID from OpenSSL's config syntax; issuer may be NULL
 * for self-signed. */
hsmca_rv ca_ext_add(X509 *x, X509 *issuer, int nid, const char *value);
/* subjectKeyIdentifier (hash), authorityKeyIdentifier (the issuer's) and
 * the issuer's URLs: what every certificate below an issuer carries. */
hsmca_rv ca_ext_add_issued_by(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *iss, X509 *x);
/* AIA and CRL distribution points for certificates issued by issuer_id,
 * from the issuer's own URLs or the mount's config/urls, templated with
 * {{issuer_id}}, {{cluster_path}}, {{cluster_aia_path}}. */
hsmca_rv ca_ext_add_urls(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *issuer, X509 *x);
/* AIA (OCSP, caIssuers) and CRL distribution points from literal URL lists
 * (NULL or empty: that part is left out); no templating. */
hsmca_rv ca_ext_add_url_lists(X509 *x, const hsmca_strlist *ca_issuers, const hsmca_strlist *ocsp,
                              const hsmca_strlist *crls);

int64_t ca_now(void);
int64_t ca_asn1_time_to_unix(const ASN1_TIME *t);
/* Sets t to `when` as RFC 5280 4.1.2.5 wants: UTCTime to 2049,
 * GeneralizedTime from 2050. */
hsmca_rv ca_set_time(ASN1_TIME *t, int64_t when);
/* A signed certificate into a result: serial text, expiration, the
 * certificate (taken), the issuer's chain (taken) and its id/name. */
hsmca_rv ca_result_set(hsmca_ca_result *out, X509 **cert, hsmca_ca_issuer *iss);

#endif
