/* SPDX-License-Identifier: Apache-2.0 */
/* The CA core: mounts, keys, issuers, roles and every certificate operation.
 * Every interface (HTTP dialects, CLI) calls this; none builds certificates
 * itself. Semantics follow the OpenBao PKI secrets engine
 * (shared/reference/openbao-pki-api.txt); the one deliberate difference is
 * that issuer private keys are made in, or imported into, the token and are
 * never exported. */
#ifndef HSMCA_CA_H
#define HSMCA_CA_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmca/keyslot.h"
#include "hsmca/policy.h"
#include "hsmca/role.h"
#include "hsmca/rv.h"
#include "hsmca/store.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_ca hsmca_ca;

typedef struct {
    hsmca_store *store;
    hsmca_keyslot *keyslot;   /* the token holding issuer keys */
    OSSL_LIB_CTX *libctx;     /* with the hsmca provider loaded (NULL: default) */
    int64_t default_ttl;      /* 0 = OpenBao's 768h */
    int64_t max_ttl;          /* 0 = OpenBao's 768h */
} hsmca_ca_config;

hsmca_rv hsmca_ca_new(const hsmca_ca_config *cfg, hsmca_ca **out);
void hsmca_ca_free(hsmca_ca *ca);

/* ---- mounts ---- */

hsmca_rv hsmca_ca_mount_enable(hsmca_ca *ca, const char *mount);
/* Removes the mount, its documents and certificates, and destroys the token
 * keys that belong to it. */
hsmca_rv hsmca_ca_mount_disable(hsmca_ca *ca, const char *mount);
/* sys/mounts/:path/tune: the mount's effective lease TTLs (seconds; the
 * appliance's when the mount has none of its own). */
hsmca_rv hsmca_ca_mount_tune_get(hsmca_ca *ca, const char *mount, int64_t *default_ttl, int64_t *max_ttl);
/* Sets them; a negative value leaves that one unchanged, 0 returns it to
 * the appliance's. The default may not exceed the maximum. */
hsmca_rv hsmca_ca_mount_tune_set(hsmca_ca *ca, const char *mount, int64_t default_ttl, int64_t max_ttl);

/* ---- keys (OpenBao keys/...) ---- */

typedef struct {
    char key_id[37];
    char key_name[HSMCA_KEY_NAME_MAX + 1];
    char key_type[16]; /* "rsa", "ec", "ed25519" */
    unsigned key_bits;
} hsmca_ca_key;

/* keys/generate/internal (type "internal"; "exported" is refused: issuer
 * keys never leave the token). */
hsmca_rv hsmca_ca_key_generate(hsmca_ca *ca, const char *mount, const char *type, const char *key_name,
                               const char *key_type, unsigned key_bits, hsmca_ca_key *out);
/* keys/import: one PEM private key into the token; duplicates return the
 * existing key. */
hsmca_rv hsmca_ca_key_import(hsmca_ca *ca, const char *mount, const char *key_name, const char *pem,
                             size_t pem_len, hsmca_ca_key *out);
/* ref: key_id, key_name or "default". */
hsmca_rv hsmca_ca_key_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_key *out);
hsmca_rv hsmca_ca_key_rename(hsmca_ca *ca, const char *mount, const char *ref, const char *new_name);
/* Refused with HSMCA_ERR_EXISTS while an issuer uses the key. */
hsmca_rv hsmca_ca_key_delete(hsmca_ca *ca, const char *mount, const char *ref);
hsmca_rv hsmca_ca_key_list(hsmca_ca *ca, const char *mount, int (*cb)(const hsmca_ca_key *k, void *arg),
                           void *arg);

/* ---- issuers ---- */

/* Issuer usage bits (OpenBao usage). */
#define HSMCA_USAGE_READ_ONLY 0x1u
#define HSMCA_USAGE_ISSUING 0x2u
#define HSMCA_USAGE_CRL 0x4u
#define HSMCA_USAGE_OCSP 0x8u
#define HSMCA_USAGE_ALL (HSMCA_USAGE_READ_ONLY | HSMCA_USAGE_ISSUING | HSMCA_USAGE_CRL | HSMCA_USAGE_OCSP)

typedef struct {
    char issuer_id[37];
    char issuer_name[HSMCA_STORE_ID_MAX + 1];
    char key_id[37];            /* "" for a key-less (imported chain) issuer */
    X509 *certificate;          /* owned */
    STACK_OF(X509) *ca_chain;   /* owned: the issuer itself first, then up to a root */
    unsigned usage;
    hsmca_not_after_behavior leaf_not_after_behavior;
    hsmca_strlist manual_chain; /* issuer ids */
    hsmca_strlist issuing_certificates, crl_distribution_points, ocsp_servers;
    bool enable_aia_url_templating;
    char revocation_signature_algorithm[32];
    bool revoked;
    int64_t revocation_time;
    int64_t updated;            /* for Last-Modified */
} hsmca_ca_issuer;

void hsmca_ca_issuer_clear(hsmca_ca_issuer *i);
/* ref: issuer_id, issuer_name or "default". */
hsmca_rv hsmca_ca_issuer_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out);
hsmca_rv hsmca_ca_issuer_list(hsmca_ca *ca, const char *mount,
                              int (*cb)(const hsmca_ca_issuer *i, void *arg), void *arg);

/* Replaces the issuer's attributes with those of `attrs` (its name, usage,
 * leaf_not_after_behavior, manual_chain, URLs, templating,
 * revocation_signature_algorithm); the certificate and key are fixed.
 * POST passes defaults for absent fields, PATCH the merged issuer. Checks:
 * unique name, crl-signing only with the cRLSign key usage, manual_chain
 * references resolved to issuer ids and starting with this issuer. */
hsmca_rv hsmca_ca_issuer_update(hsmca_ca *ca, const char *mount, const char *ref, const hsmca_ca_issuer *attrs);
/* issuer/:ref/revoke: marks the issuer revoked (time now); it can no longer
 * sign. The CRL entry that goes with it is the revocation module's (#5).
 * Revoking an already revoked issuer keeps the first time. */
hsmca_rv hsmca_ca_issuer_revoke(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out);
/* Rotation (docs/rotation.md): does the issuer have a stored certificate
 * that has not expired yet (not_after >= now)? Such certificates need the
 * issuer to keep signing CRLs and OCSP answers, so `hsmca rotate retire`
 * refuses to take crl-signing away while this is true. */
hsmca_rv hsmca_ca_issuer_has_unexpired(hsmca_ca *ca, const char *mount, const char *ref, bool *out);
/* Deletes one issuer (its key stays); a default issuer leaves no default. */
hsmca_rv hsmca_ca_issuer_delete(hsmca_ca *ca, const char *mount, const char *ref);
/* DELETE /pki/root: every issuer and key of the mount (keys destroyed in
 * the token), roles and certificates stay. */
hsmca_rv hsmca_ca_delete_all(hsmca_ca *ca, const char *mount);

/* ---- configuration documents (config/urls, cluster, issuers, keys) ---- */

/* The stored JSON object of config/<name> ({} when never set). */
hsmca_rv hsmca_ca_config_get(hsmca_ca *ca, const char *mount, const char *name, char **json_text);
/* Replaces config/<name>. issuers/keys defaults are resolved to ids and must
 * exist; urls lists must be absolute URLs. */
hsmca_rv hsmca_ca_config_set(hsmca_ca *ca, const char *mount, const char *name, const char *json_text);
/* Changes config/<name> in place: edit gets the stored object ({} when never
 * set) and modifies it; what it leaves is checked and stored as by
 * hsmca_ca_config_set. Load, edit and store run under one lock (which
 * hsmca_ca_config_set also takes), so two partial updates of one document
 * -- config/urls with only ocsp_servers beside one with only
 * issuing_certificates -- never lose each other's fields. An edit failure
 * (its hsmca_rv, with hsmca_err detail) stores nothing. On success
 * *json_text, if json_text is not NULL, is the stored text (free()). */
typedef hsmca_rv (*hsmca_ca_config_edit_fn)(json_t *cfg, void *arg);
hsmca_rv hsmca_ca_config_update(hsmca_ca *ca, const char *mount, const char *name, hsmca_ca_config_edit_fn edit,
                                void *arg, char **json_text);

/* ---- certificates ---- */

/* cert/:serial — serial in any of the hsmca_serial_parse forms, or "ca",
 * "ca_chain" handled by the caller. */
hsmca_rv hsmca_ca_cert_get(hsmca_ca *ca, const char *mount, const char *serial, hsmca_store_cert *out);
hsmca_rv hsmca_ca_cert_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                            int (*cb)(const char *serial_text, void *arg), void *arg);

/* ---- the result of a certificate operation ---- */

typedef struct {
    X509 *certificate;          /* owned */
    STACK_OF(X509) *ca_chain;   /* owned: issuing CA first, up to the root */
    char serial_number[61];     /* "39:dd:2e:..." */
    int64_t expiration;         /* notAfter, unix seconds */
    char issuer_id[37];         /* the new issuer (root/import) or the issuing one */
    char issuer_name[HSMCA_STORE_ID_MAX + 1];
    char key_id[37];
    char key_name[HSMCA_KEY_NAME_MAX + 1];
    X509_REQ *csr;              /* owned: intermediate/generate */
    EVP_PKEY *private_key;      /* owned: issue only — the leaf key, returned once, never stored */
    char private_key_type[16];
    hsmca_strlist warnings;
    /* import: what was created */
    hsmca_strlist imported_issuers, imported_keys, existing_issuers, existing_keys;
} hsmca_ca_result;

void hsmca_ca_result_clear(hsmca_ca_result *r);

/* ---- CA certificates: roots, intermediates, cross-signs ---- */

/* Fields of root/generate, intermediate/generate and root/sign-intermediate
 * (OpenBao names; lists already split). hsmca_ca_params_init sets the
 * documented defaults. */
typedef struct {
    const char *type;        /* "internal" | "existing"; "exported" is refused */
    const char *issuer_name; /* new issuer's name ("" none) */
    const char *key_name;    /* new key's name ("" none) */
    const char *key_ref;     /* existing: key to use ("default") */
    const char *key_type;    /* internal: "rsa" (default), "ec", "ed25519" */
    unsigned key_bits;       /* 0: default for the type */
    const char *common_name;
    hsmca_strlist alt_names, ip_sans, uri_sans, other_sans;
    hsmca_strlist ou, organization, country, locality, province, street_address, postal_code;
    const char *serial_number;
    int64_t ttl;                 /* seconds; 0 = not given */
    const char *not_after;       /* RFC 3339; NULL = not given */
    int64_t not_before_duration; /* default 30 s */
    int max_path_length;         /* -1: none (or the parent's minus one) */
    bool exclude_cn_from_sans;
    hsmca_strlist permitted_dns_domains;
    int signature_bits;          /* 0: by key */
    bool use_pss;
    bool use_csr_values;         /* sign-intermediate: subject and extensions from the CSR */
    bool add_basic_constraints;  /* intermediate CSR: request CA:TRUE */
    const char *skid;            /* sign-intermediate: hex subject key id to use */
} hsmca_ca_params;

void hsmca_ca_params_init(hsmca_ca_params *p);
void hsmca_ca_params_clear(hsmca_ca_params *p); /* frees the lists */

/* root/generate/:type and issuers/generate/root/:type: a self-signed CA,
 * its key in the token; the first issuer becomes the mount default.
 * root/rotate/:type is the same with issuer_name defaulting to "next". */
hsmca_rv hsmca_ca_generate_root(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p, hsmca_ca_result *out);
/* intermediate/generate/:type: a CSR signed by a token key (new or
 * existing); no issuer is created until the signed certificate is imported
 * (intermediate/set-signed). intermediate/cross-sign is the same with
 * type "existing". */
hsmca_rv hsmca_ca_generate_intermediate(hsmca_ca *ca, const char *mount, const hsmca_ca_params *p,
                                        hsmca_ca_result *out);
/* root/sign-intermediate and issuer/:ref/sign-intermediate. */
hsmca_rv hsmca_ca_sign_intermediate(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *csr_pem,
                                    const hsmca_ca_params *p, hsmca_ca_result *out);

/* ---- roles ---- */

/* POST (patch false: overwrite from defaults) or PATCH (patch true: merge
 * onto the stored role) roles/:name with a JSON object body. warnings
 * receives OpenBao-style warnings (unknown fields...). */
hsmca_rv hsmca_ca_role_put(hsmca_ca *ca, const char *mount, const char *name, const char *json_body, bool patch,
                           hsmca_strlist *warnings);
hsmca_rv hsmca_ca_role_get(hsmca_ca *ca, const char *mount, const char *name, hsmca_role *out);
hsmca_rv hsmca_ca_role_delete(hsmca_ca *ca, const char *mount, const char *name);
hsmca_rv hsmca_ca_role_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                            int (*cb)(const char *name, void *arg), void *arg);

/* ---- leaf certificates ---- */

/* issue/:role (and issuer/:ref/issue/:role with issuer_ref set): the leaf
 * key is generated in software per the role's key_type/key_bits, put in
 * out->private_key for the caller to return once, and never stored.
 * req->csr and req->pubkey are ignored. */
hsmca_rv hsmca_ca_issue(hsmca_ca *ca, const char *mount, const char *role, const char *issuer_ref,
                        const hsmca_issue_request *req, hsmca_ca_result *out);
/* sign/:role: the CSR (PEM) must carry a valid self-signature. */
hsmca_rv hsmca_ca_sign(hsmca_ca *ca, const char *mount, const char *role, const char *issuer_ref, const char *csr_pem,
                       const hsmca_issue_request *req, hsmca_ca_result *out);

/* sign-verbatim(/:role) fields. */
typedef struct {
    const char *role;              /* optional: its ttl, max_ttl, no_store, not_before_duration and
                                    * basic_constraints_valid_for_non_ca apply */
    hsmca_strlist key_usage;       /* default when the CSR has no keyUsage */
    bool key_usage_set;            /* false: OpenBao's default list */
    hsmca_strlist ext_key_usage;   /* default when the CSR has no extendedKeyUsage */
    hsmca_strlist ext_key_usage_oids;
    int64_t ttl;
    const char *not_after;
    int signature_bits;
    bool use_pss;
    hsmca_strlist user_ids;        /* added to the subject as UID */
    int basic_constraints_valid_for_non_ca; /* -1: the role's (or false) */
} hsmca_verbatim_params;

void hsmca_verbatim_params_init(hsmca_verbatim_params *p);
void hsmca_verbatim_params_clear(hsmca_verbatim_params *p);
/* sign-verbatim: subject and requested extensions taken from the CSR as
 * they are; a CSR asking for a CA certificate is refused. Every certificate
 * still goes through lint. */
hsmca_rv hsmca_ca_sign_verbatim(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *csr_pem,
                                const hsmca_verbatim_params *p, hsmca_ca_result *out);
/* sign-self-issued: a self-issued CA certificate re-signed by the issuer;
 * only the issuer name, the authority key identifier, the distribution
 * points and (unlike OpenBao, for per-issuer serial uniqueness) the serial
 * number change. require_matching_algorithms: the key types must match. */
hsmca_rv hsmca_ca_sign_self_issued(hsmca_ca *ca, const char *mount, const char *issuer_ref, const char *cert_pem,
                                   bool require_matching_algorithms, hsmca_ca_result *out);

/* ---- imports ---- */

/* config/ca, issuers/import/bundle (allow_keys), issuers/import/cert and
 * intermediate/set-signed (no keys): private keys go into the token, CA
 * certificates become issuers (non-CA certificates are refused), duplicates
 * are reported as existing_*; the first issuer becomes the default if the
 * mount has none. */
hsmca_rv hsmca_ca_import_bundle(hsmca_ca *ca, const char *mount, const char *pem, size_t pem_len, bool allow_keys,
                                hsmca_ca_result *out);

/* The same for a ceremony-made issuer (docs/ceremony.md): transcript, the
 * text of the ceremony's transcript.jsonl, must verify (chain and
 * signature), must record the bundle's first certificate, and that
 * certificate must be signed by the transcript's signing key; otherwise
 * nothing is imported and the detail names the problem. */
hsmca_rv hsmca_ca_import_bundle_transcript(hsmca_ca *ca, const char *mount, const char *pem, size_t pem_len,
                                           bool allow_keys, const char *transcript, size_t transcript_len,
                                           hsmca_ca_result *out);

/* ---- for the revocation module (src/revocation, issue 5) ---- */

/* The store and library context the CA was made with (borrowed). */
hsmca_store *hsmca_ca_get0_store(hsmca_ca *ca);
OSSL_LIB_CTX *hsmca_ca_get0_libctx(hsmca_ca *ca);
/* The issuer `ref` ("default", name or id) and a reference to its token key
 * for signing CRLs: HSMCA_ERR_INVALID_ARG when it has no key in the mount or
 * its usage lacks crl-signing. A revoked issuer still signs its CRL (it
 * vouches for what it issued). */
hsmca_rv hsmca_ca_issuer_get1_crl_key(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out,
                                      EVP_PKEY **key);

#ifdef __cplusplus
}
#endif
#endif
