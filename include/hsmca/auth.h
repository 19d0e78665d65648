/* SPDX-License-Identifier: Apache-2.0 */
/* Tokens and ACL policies: OpenBao's token auth method (auth/token/...) and
 * ACL policies (sys/policies/acl/...) kept in the store, and the one check the
 * HTTP layer makes on every request (who is calling, and may they do this).
 *
 * Model: a token is a random secret ("s." + 24 base62 characters) handed to
 * its holder once; the store keeps only its SHA-256 (the document id) and a
 * separate random accessor (the document name) that may be logged and is how
 * operators refer to a token. Tokens form a tree: revoking one revokes its
 * non-orphan descendants. A token carries policy names; a policy grants
 * capabilities on path globs. Every function may be called from any number
 * of threads at once. No function puts a token, or a token's hash, into an
 * error detail or a log line. */
#ifndef HSMCA_AUTH_H
#define HSMCA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/rv.h"
#include "hsmca/store.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_auth hsmca_auth;

/* The reserved internal mount (type "system") and the document kinds this
 * module keeps there. */
#define HSMCA_AUTH_MOUNT "sys"
#define HSMCA_AUTH_MOUNT_TYPE "system"
#define HSMCA_DOC_TOKEN "token"             /* id = SHA-256(token) hex, name = accessor */
#define HSMCA_DOC_TOKEN_CHILD "token_child" /* id = "<parent accessor>/<child accessor>" */
#define HSMCA_DOC_POLICY "policy"           /* id = policy name */
#define HSMCA_DOC_AUTH_STATE "auth_state"   /* id = "init": the root token was made once */

/* Bounds (CONVENTIONS: bounded everything). */
#define HSMCA_AUTH_TOKEN_MAX 256         /* bytes of a token string accepted or chosen */
#define HSMCA_AUTH_ACCESSOR_LEN 24       /* characters of an accessor (base62) */
#define HSMCA_AUTH_POLICY_NAME_MAX 128   /* bytes of a policy name */
#define HSMCA_AUTH_TOKEN_POLICIES_MAX 64 /* policies on one token */
#define HSMCA_AUTH_DISPLAY_NAME_MAX 128  /* bytes of a display name */
#define HSMCA_AUTH_META_MAX 64           /* metadata entries on one token */
#define HSMCA_AUTH_META_KEY_MAX 128      /* bytes of a metadata key */
#define HSMCA_AUTH_META_VALUE_MAX 1024   /* bytes of a metadata value */
#define HSMCA_AUTH_POLICY_TEXT_MAX 65536 /* bytes of one policy document */
#define HSMCA_AUTH_POLICY_PATHS_MAX 1024 /* path rules in one policy */
#define HSMCA_AUTH_PATH_MAX 1024         /* bytes of a request path or policy path */
#define HSMCA_AUTH_DEPTH_MAX 32          /* levels of a token tree */

/* Capabilities, as bits. HSMCA_CAP_ROOT is only reported (by
 * hsmca_auth_capabilities) for a policy set holding "root". */
#define HSMCA_CAP_DENY 0x001u
#define HSMCA_CAP_CREATE 0x002u
#define HSMCA_CAP_READ 0x004u
#define HSMCA_CAP_UPDATE 0x008u
#define HSMCA_CAP_DELETE 0x010u
#define HSMCA_CAP_LIST 0x020u
#define HSMCA_CAP_SUDO 0x040u
#define HSMCA_CAP_PATCH 0x080u
#define HSMCA_CAP_ROOT 0x100u

/* The clock, in unix seconds. Tests inject one to move time. */
typedef int64_t (*hsmca_auth_clock_fn)(void *arg);

typedef struct {
    hsmca_store *store;
    int64_t default_ttl;       /* token TTL when none is asked for; 0 = OpenBao's 768h */
    int64_t max_ttl;           /* the system max TTL; 0 = OpenBao's 768h */
    hsmca_auth_clock_fn clock; /* NULL: time(NULL) */
    void *clock_arg;
    unsigned acl_cache_size; /* compiled policy sets kept; 0 = 256 */
} hsmca_auth_config;

/* Creates the "sys" mount and the "default" policy when missing. */
hsmca_rv hsmca_auth_open(const hsmca_auth_config *cfg, hsmca_auth **out);
void hsmca_auth_free(hsmca_auth *a);
/* The module's clock (what TTLs and expiry are measured with). */
int64_t hsmca_auth_now(const hsmca_auth *a);

/* ---- secrets and token records ---- */

/* A token string as it is handed out, once. Clear it (cleansed) as soon as
 * it has been written to the response. */
typedef struct {
    char token[HSMCA_AUTH_TOKEN_MAX + 1];
} hsmca_auth_secret;
void hsmca_auth_secret_clear(hsmca_auth_secret *s);

/* What a token is: everything but the secret. */
typedef struct {
    char accessor[HSMCA_AUTH_ACCESSOR_LEN + 1];
    char parent_accessor[HSMCA_AUTH_ACCESSOR_LEN + 1]; /* "" for an orphan */
    char display_name[HSMCA_AUTH_DISPLAY_NAME_MAX + 1];
    char path[64];              /* where it was made: "auth/token/create", "auth/token/root", ... */
    hsmca_strlist policies;     /* lower-case, sorted, unique */
    hsmca_strlist bound_cidrs;  /* empty: usable from anywhere; else only from these (token_bound_cidrs) */
    json_t *meta;               /* owned object of strings, or NULL */
    int64_t creation_time;      /* unix seconds */
    int64_t last_renewal_time;  /* 0: never renewed */
    int64_t creation_ttl;       /* TTL given at creation (seconds); 0: never expires */
    int64_t lease_ttl;          /* TTL of the current lease (creation or last renewal) */
    int64_t explicit_max_ttl;   /* 0: none */
    int64_t period;             /* 0: not periodic */
    int64_t expire_time;        /* unix seconds; 0: never */
    int64_t ttl;                /* seconds left when this record was read; 0: never expires */
    int64_t num_uses;           /* uses left; 0: unlimited */
    unsigned depth;             /* 0 for a token without parent */
    bool renewable;
    bool orphan;                /* no parent: not revoked with anyone else */
    bool root;                  /* holds the root policy */
} hsmca_auth_token;

/* Functions that fill a record (`out`) clear it first: pass one that is
 * zeroed or holds a record. On failure it is left as it was. */
void hsmca_auth_token_clear(hsmca_auth_token *t);
/* dst (zeroed or cleared) becomes a deep copy of src. */
hsmca_rv hsmca_auth_token_copy(hsmca_auth_token *dst, const hsmca_auth_token *src);

/* ---- the first root token ---- */

/* Creates the root token (policies ["root"], no expiry, no parent) if this
 * database never had one made by init, and returns its string in `secret`:
 * the only time it is ever available. chosen_id: NULL for a random token,
 * or dev mode's -dev-root-token-id (no '.', printable, at most
 * HSMCA_AUTH_TOKEN_MAX bytes). HSMCA_ERR_EXISTS once initialised, even if
 * that root token was revoked since (OpenBao's advice is to revoke it once
 * set up; a restart must not mint a new one). out may be NULL. */
hsmca_rv hsmca_auth_init_root(hsmca_auth *a, const char *chosen_id, hsmca_auth_secret *secret,
                              hsmca_auth_token *out);
/* Whether init_root has run on this database. */
hsmca_rv hsmca_auth_initialized(hsmca_auth *a, bool *yes);
/* Makes another root token regardless (OpenBao's generate-root). Only for
 * the local CLI run by someone who can already write the database file;
 * never reachable over the API. out may be NULL. */
hsmca_rv hsmca_auth_root_generate(hsmca_auth *a, hsmca_auth_secret *secret, hsmca_auth_token *out);

/* ---- per request ---- */

/* The token a request carries: X-Vault-Token when present and non-empty,
 * else "Authorization: Bearer <token>" (scheme case-insensitive). Sets
 * *token to point into the header value (not copied); HSMCA_ERR_NOT_FOUND
 * when the request carries none. Either header may be NULL. */
hsmca_rv hsmca_auth_token_from_headers(const char *x_vault_token, const char *authorization, const char **token,
                                       size_t *len);

typedef enum {
    HSMCA_AUTH_ALLOW = 0,
    HSMCA_AUTH_DENY_TOKEN,  /* no token, unknown, expired, uses ran out, ancestor gone */
    HSMCA_AUTH_DENY_POLICY  /* the token's policies do not grant it */
} hsmca_auth_decision;

#define HSMCA_AUTH_NEED_SUDO 0x1u /* the route is root-protected: sudo is needed too */

/* The check of every authenticated request. token: as received (may be
 * NULL); path: relative to /v1/ ("pki/issue/web"; for LIST with its
 * trailing '/', as OpenBao routes it); capability: the one HSMCA_CAP_* the
 * operation needs. On HSMCA_OK, *decision says what to answer (both denials
 * are 403 "permission denied", indistinguishable to the client); when
 * allowed, a use is consumed from a limited-use token (the token is revoked
 * with its last use) and out (may be NULL) is the caller as it is after this
 * use. Any other result is a server error (storage: 500, TIMEOUT: 503). */
hsmca_rv hsmca_auth_authorize(hsmca_auth *a, const char *token, const char *path, unsigned capability,
                              unsigned flags, hsmca_auth_decision *decision, hsmca_auth_token *out);
/* hsmca_auth_authorize for a request from client_addr (numeric IPv4/IPv6
 * text, or NULL when unknown): a token bound to CIDRs used from elsewhere
 * (or from an unknown address) is HSMCA_AUTH_DENY_TOKEN and spends no use.
 * hsmca_auth_authorize is this with NULL. */
hsmca_rv hsmca_auth_authorize_from(hsmca_auth *a, const char *token, const char *client_addr, const char *path,
                                   unsigned capability, unsigned flags, hsmca_auth_decision *decision,
                                   hsmca_auth_token *out);
/* Whether t may be used from client_addr (NULL: unknown): true when it is
 * not bound, or the address lies in one of its bound CIDRs. */
bool hsmca_auth_token_addr_ok(const hsmca_auth_token *t, const char *client_addr);
/* Whether cidr ("a.b.c.d/n", "x::/n", or a bare address) holds addr;
 * false for text that is not one. */
bool hsmca_auth_cidr_contains(const char *cidr, const char *addr);
/* Whether text is a CIDR block or a bare address hsmca_auth_cidr_contains reads. */
bool hsmca_auth_cidr_valid(const char *cidr);

/* ---- tokens ---- */

#define HSMCA_AUTH_LOOKUP_USE 0x1u /* consume one use of a limited-use token */

/* Token string -> record, the hash compared in constant time. Unknown,
 * expired, used-up tokens, and tokens whose parent chain is gone or
 * expired, are all HSMCA_ERR_NOT_FOUND ("bad token"), with the same detail. */
hsmca_rv hsmca_auth_token_lookup(hsmca_auth *a, const char *token, unsigned flags, hsmca_auth_token *out);
/* By accessor (never consumes a use). HSMCA_ERR_NOT_FOUND as above, or
 * HSMCA_ERR_INVALID_ARG for text that cannot be an accessor. */
hsmca_rv hsmca_auth_token_lookup_accessor(hsmca_auth *a, const char *accessor, hsmca_auth_token *out);

/* auth/token/create parameters. */
typedef struct {
    hsmca_strlist policies;   /* empty: the parent's */
    bool no_default_policy;
    bool no_parent;           /* needs root or sudo */
    bool orphan;              /* set for auth/token/create-orphan: no parent, no sudo needed */
    bool renewable;           /* true */
    int64_t ttl;              /* 0: the default TTL (root tokens: none) */
    int64_t explicit_max_ttl; /* 0: none */
    int64_t period;           /* 0: not periodic; needs root or sudo */
    int64_t num_uses;         /* 0: unlimited */
    char display_name[HSMCA_AUTH_DISPLAY_NAME_MAX + 1]; /* "": "token" */
    json_t *meta;             /* owned object of strings, or NULL */
    hsmca_strlist bound_cidrs; /* logins only: addresses the token may be used from (checked CIDRs) */
    char id[HSMCA_AUTH_TOKEN_MAX + 1]; /* "" random; a chosen token needs a root caller; cleansed by clear */
    const char *path;         /* request path for the sudo check; NULL: "auth/token/create" */
    const char *login_path;   /* a login's path ("auth/cert/login"), recorded as the token's path; NULL otherwise */
} hsmca_auth_create_params;

void hsmca_auth_create_params_init(hsmca_auth_create_params *p);
void hsmca_auth_create_params_clear(hsmca_auth_create_params *p);
/* The JSON body of POST auth/token/create as OpenBao reads it: policies as
 * an array or a comma-separated string, durations as "1h"/"30m"/"7d" or
 * seconds, booleans as OpenBao's weak decoding takes them, meta an object
 * of strings. Unknown fields (and ones hsmca does not implement: role_name,
 * entity_alias, type other than "service") are ignored with one warning.
 * p must have been initialised; path and orphan (which the route decides)
 * are kept from it, every other field comes from the body. On failure p is
 * unchanged. */
hsmca_rv hsmca_auth_create_params_from_json(const json_t *body, hsmca_auth_create_params *p,
                                            hsmca_strlist *warnings);

/* Creates a token for `caller` (the record authorize returned), with
 * OpenBao's rules: a caller that is neither root nor holds sudo on p->path
 * may only give a subset of its own policies, and cannot set id, period or
 * no_parent; "root" only from a root caller; a limited-use caller cannot
 * create tokens; the TTL is capped by explicit_max_ttl, the system max and
 * the parent's remaining lifetime (each cap adds a warning). A refusal is
 * HSMCA_ERR_INVALID_ARG naming the rule (OpenBao answers 400), a caller
 * revoked meanwhile HSMCA_ERR_NOT_FOUND. The token string is in `secret`;
 * out (may be NULL) is the new token. */
hsmca_rv hsmca_auth_token_create(hsmca_auth *a, const hsmca_auth_token *caller,
                                 const hsmca_auth_create_params *p, hsmca_auth_secret *secret,
                                 hsmca_auth_token *out, hsmca_strlist *warnings);

/* A token for a successful login to an auth method (auth/<path>/login):
 * an orphan with exactly the policies p gives (plus "default" unless
 * no_default_policy; never "root"), the TTL rules of create, and
 * p->login_path (required) as its path. No caller: the method's role has
 * decided who may have it. */
hsmca_rv hsmca_auth_token_create_login(hsmca_auth *a, const hsmca_auth_create_params *p, hsmca_auth_secret *secret,
                                       hsmca_auth_token *out, hsmca_strlist *warnings);

/* renew / renew-self / renew-accessor: a new lease of `increment` seconds
 * (0: the token's creation TTL; periodic tokens always get their period)
 * from now, capped by the explicit max TTL and the system max counted from
 * creation, and by the parent's expiry. HSMCA_ERR_INVALID_ARG if the token
 * is not renewable or past its max TTL; HSMCA_ERR_NOT_FOUND if gone. */
hsmca_rv hsmca_auth_token_renew(hsmca_auth *a, const char *accessor, int64_t increment, hsmca_auth_token *out,
                                hsmca_strlist *warnings);

typedef enum {
    HSMCA_AUTH_REVOKE_TREE = 0, /* the token and every non-orphan descendant */
    HSMCA_AUTH_REVOKE_ORPHAN    /* the token only; its children become orphans (needs sudo) */
} hsmca_auth_revoke_mode;

/* revoke / revoke-self / revoke-accessor / revoke-orphan. A token that does
 * not exist is not an error (OpenBao answers 204 either way); *revoked (may
 * be NULL) counts the tokens removed. Large trees are removed leaves first
 * in several commits, so an interrupted revocation leaves a consistent tree
 * that a repeat finishes. */
hsmca_rv hsmca_auth_token_revoke(hsmca_auth *a, const char *accessor, hsmca_auth_revoke_mode mode,
                                 size_t *revoked);

/* LIST auth/token/accessors (a sudo route): every live token's accessor. */
hsmca_rv hsmca_auth_token_list_accessors(hsmca_auth *a, int (*cb)(const char *accessor, void *arg), void *arg);

/* auth/token/tidy, and the daemon's periodic job: revokes expired tokens
 * with their descendants. Expired tokens are refused from the moment they
 * expire whether or not tidy has run; tidy only reclaims their rows. At
 * most `limit` expired tokens per call (0: 10000). */
hsmca_rv hsmca_auth_tidy(hsmca_auth *a, size_t limit, size_t *revoked);

/* The data object of lookup / lookup-self / lookup-accessor, OpenBao's field
 * set ("id" is "": lookup-self echoes the caller's own token if it wants). */
hsmca_rv hsmca_auth_token_to_json(const hsmca_auth_token *t, json_t **out);
/* The envelope's "auth" block after create or renew: client_token (from
 * secret; NULL after renew gives ""), accessor, policies, metadata,
 * lease_duration, renewable, ... */
hsmca_rv hsmca_auth_token_auth_json(const hsmca_auth_token *t, const hsmca_auth_secret *secret, json_t **out);

/* ---- policies ---- */

typedef struct {
    char name[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    char *text;       /* malloc'd policy document as written ("" for root) */
    int64_t version;  /* 1 on creation, +1 per write; 0 for built-ins never written */
    int64_t modified; /* unix seconds; 0 for root */
} hsmca_auth_policy;

void hsmca_auth_policy_clear(hsmca_auth_policy *p);
/* OpenBao's policy name rule: trimmed, lower-cased, non-empty, at most
 * HSMCA_AUTH_POLICY_NAME_MAX bytes of printable ASCII without '/', ',' or
 * spaces. out holds at least HSMCA_AUTH_POLICY_NAME_MAX + 1 bytes. */
hsmca_rv hsmca_auth_policy_name_normalize(const char *in, char *out, size_t size);
/* Checks a policy document (JSON, or base64 of JSON as OpenBao accepts)
 * without storing it; the detail names the path and the rule broken. */
hsmca_rv hsmca_auth_policy_check(const char *text);
/* PUT/POST sys/policies/acl/:name. "root" cannot be written. cas: -1 for
 * none, else the version the policy must have now (0: must not exist);
 * a mismatch is HSMCA_ERR_EXISTS. Takes effect for the next request. */
hsmca_rv hsmca_auth_policy_put(hsmca_auth *a, const char *name, const char *text, int64_t cas);
/* GET. HSMCA_ERR_NOT_FOUND when absent. */
hsmca_rv hsmca_auth_policy_get(hsmca_auth *a, const char *name, hsmca_auth_policy *out);
/* DELETE. "root" and "default" cannot be deleted (HSMCA_ERR_INVALID_ARG);
 * an absent policy is not an error. Tokens keep the name; it grants nothing
 * until a policy of that name is written again. */
hsmca_rv hsmca_auth_policy_delete(hsmca_auth *a, const char *name);
/* LIST: every name in order, "root" included. cb returns 0 to stop. */
hsmca_rv hsmca_auth_policy_list(hsmca_auth *a, int (*cb)(const char *name, void *arg), void *arg);

/* ---- ACL evaluation ---- */

/* The capabilities a policy set has on a path (sys/capabilities-self):
 * HSMCA_CAP_ROOT alone for root, 0 for none; HSMCA_CAP_DENY alone when a
 * matching rule denies. Policies that do not exist grant nothing. */
hsmca_rv hsmca_auth_capabilities(hsmca_auth *a, const hsmca_strlist *policies, const char *path, unsigned *caps);
/* Whether a policy set allows `capability` on path (flags as authorize). */
hsmca_rv hsmca_auth_allowed(hsmca_auth *a, const hsmca_strlist *policies, const char *path, unsigned capability,
                            unsigned flags, bool *allowed);
/* The capability names of a bit set, sorted, as OpenBao lists them:
 * ["root"], ["deny"] for none or deny, else e.g. ["list", "read"]. */
json_t *hsmca_auth_caps_to_json(unsigned caps);

#ifdef __cplusplus
}
#endif
#endif
