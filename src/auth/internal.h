/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of src/auth: the module state, token documents and
 * their secrets, the compiled ACL and its cache. */
#ifndef HSMCA_AUTH_INTERNAL_H
#define HSMCA_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hsmca/auth.h"
#include "hsmca/log.h"

/* SHA-256 as lower-case hex, and its NUL. */
#define AUTH_HASH_HEX 64
/* OpenBao's default token TTL and system max TTL: 768h. */
#define AUTH_TTL_768H (768 * 3600LL)
#define AUTH_ACL_CACHE_DEFAULT 256u
#define AUTH_ACL_CACHE_MAX 65536u
/* Tokens removed per commit when revoking a tree: two operations each, far
 * under the store's 4096 operations per batch. */
#define AUTH_REVOKE_BATCH 512u
/* Tokens one revocation may collect; a larger tree is an error. */
#define AUTH_REVOKE_MAX 1000000u
#define AUTH_TIDY_DEFAULT 10000u

typedef struct auth_acl auth_acl;
typedef struct acl_cache acl_cache;

struct hsmca_auth {
    hsmca_store *store;
    int64_t default_ttl, max_ttl;
    hsmca_auth_clock_fn clock;
    void *clock_arg;
    /* Serialises every read-modify-write of token documents (create,
     * renew, revoke, consuming a use): the store offers no compare-and-set,
     * and a use counted twice, or a child created under a parent being
     * revoked, would break the guarantees of auth.h. Plain lookups never
     * take it. */
    pthread_mutex_t token_lock;
    /* Serialises policy writes (check-and-set versions). */
    pthread_mutex_t policy_lock;
    /* Moves after every committed policy write: compiled ACLs built before
     * it are never used after it. */
    atomic_ulong policy_gen;
    acl_cache *cache;
};

/* ---- secrets (secret.c) ---- */

/* "s." + 24 base62 characters from RAND_priv_bytes. */
hsmca_rv auth_token_generate(hsmca_auth_secret *out);
/* 24 base62 characters from RAND_bytes. */
hsmca_rv auth_accessor_generate(char out[HSMCA_AUTH_ACCESSOR_LEN + 1]);
/* Whether s has the shape of an accessor hsmca makes. */
bool auth_accessor_valid(const char *s);
/* SHA-256 of the token string as hex; hex holds AUTH_HASH_HEX + 1 bytes.
 * The caller cleanses hex when done (it locates the token's document). */
hsmca_rv auth_token_hash(const char *token, size_t len, char *hex);
/* Rules for a chosen token id (create's id, dev mode's root id). */
hsmca_rv auth_chosen_id_check(const char *id);

/* ---- token documents (token_doc.c) ---- */

/* A token record and its document id (the hash; never shown anywhere). */
typedef struct {
    hsmca_auth_token t;
    char hash[AUTH_HASH_HEX + 1];
} auth_token_doc;

void auth_token_doc_clear(auth_token_doc *d);
/* The stored JSON body of a token. */
hsmca_rv auth_token_to_body(const hsmca_auth_token *t, char **body);
/* Parses a stored body; ttl is computed against now. */
hsmca_rv auth_token_from_doc(const hsmca_store_doc *doc, int64_t now, auth_token_doc *out);
/* Reads by accessor (name) or by hash (id); NOT_FOUND with a detail that
 * names neither the hash nor a token. Expiry is not checked here. */
hsmca_rv auth_token_read_accessor(hsmca_auth *a, const char *accessor, auth_token_doc *out);
hsmca_rv auth_token_read_hash(hsmca_auth *a, const char *hash, auth_token_doc *out);
/* Whether the token and its ancestors are alive at now (exist, not
 * expired). HSMCA_ERR_NOT_FOUND otherwise. */
hsmca_rv auth_token_chain_alive(hsmca_auth *a, const auth_token_doc *d, int64_t now);
/* The detail every failed token lookup gets: the same words whatever the
 * reason, so an error message says nothing about which tokens exist. */
hsmca_rv auth_bad_token(void);
/* Replaces a store failure's detail (which names document ids, here token
 * hashes) with one naming the operation and the accessor. */
hsmca_rv auth_store_fail(hsmca_rv rv, const char *what, const char *accessor);
/* The child index id "<parent>/<child>" into buf. */
void auth_child_id(const char *parent, const char *child, char *buf, size_t size);

/* ---- token operations shared between files ---- */

/* Consumes one use of the token in d (a limited-use token), under
 * token_lock; d is updated to the state after the use. NOT_FOUND when the
 * token ran out or went meanwhile. */
hsmca_rv auth_token_consume(hsmca_auth *a, auth_token_doc *d);
/* Revokes with token_lock held. */
hsmca_rv auth_revoke_locked(hsmca_auth *a, const char *accessor, hsmca_auth_revoke_mode mode, size_t *revoked);
/* Creates a root token with token_lock held; the init marker goes in the
 * same commit when mark_init. */
hsmca_rv auth_root_create_locked(hsmca_auth *a, const char *chosen_id, bool mark_init, hsmca_auth_secret *secret,
                                 hsmca_auth_token *out);

/* ---- policies (policy.c) ---- */

/* One path rule of a policy as parsed. */
typedef struct {
    char *path;    /* the key as written, without a leading '/' */
    unsigned caps; /* HSMCA_CAP_DENY alone when denied */
} auth_policy_rule;

typedef struct {
    auth_policy_rule *rules;
    size_t n;
} auth_policy_rules;

void auth_policy_rules_clear(auth_policy_rules *r);
/* Parses a policy document (JSON, or base64 of JSON) into rules; *decoded
 * (may be NULL) receives the JSON text actually parsed (malloc'd). */
hsmca_rv auth_policy_parse(const char *text, auth_policy_rules *out, char **decoded);
/* The built-in default policy's document. */
extern const char auth_default_policy_text[];

/* ---- compiled ACLs (acl.c) ---- */

/* Builds an ACL from rule sets; root makes it allow everything. */
hsmca_rv auth_acl_build(const auth_policy_rules *sets, size_t n, bool root, auth_acl **out);
void auth_acl_ref(auth_acl *acl);
void auth_acl_release(auth_acl *acl);
/* The capabilities the ACL gives on path (HSMCA_CAP_ROOT for root).
 * list_fallback: also try the exact rule without the path's trailing '/'
 * (OpenBao does for LIST, and for capabilities). */
unsigned auth_acl_caps(const auth_acl *acl, const char *path, bool list_fallback);
/* Whether caps allow capability, with sudo when flags say so. */
bool auth_acl_caps_allow(unsigned caps, unsigned capability, unsigned flags);

/* ---- the ACL cache (acl_cache.c) ---- */

hsmca_rv auth_acl_cache_new(unsigned size, acl_cache **out);
void auth_acl_cache_free(acl_cache *c);
/* The compiled ACL of a policy set (a reference: release it), from the
 * cache or compiled from the store. */
hsmca_rv auth_acl_get(hsmca_auth *a, const hsmca_strlist *policies, auth_acl **out);

/* ---- small helpers (auth.c) ---- */

/* Sorted, unique, lower-cased policy names; "root" alone if present
 * (OpenBao: the root policy makes the others moot). Names are checked. */
hsmca_rv auth_policies_sanitize(const hsmca_strlist *in, hsmca_strlist *out);
/* Commits a batch, always freeing it. */
hsmca_rv auth_commit(hsmca_store_batch *b);
/* malloc'd compact JSON text of j, or NULL. */
char *auth_json_text(const json_t *j);

#endif
