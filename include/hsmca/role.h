/* SPDX-License-Identifier: Apache-2.0 */
/* PKI roles: every role parameter of OpenBao's "Create/Update role" endpoint
 * (shared/reference/openbao-pki-api.txt) with its documented default, their
 * JSON form in and out, and the validation OpenBao applies when a role is
 * written. The policy engine (hsmca/policy.h) reads roles; nothing here
 * touches storage. */
#ifndef HSMCA_ROLE_H
#define HSMCA_ROLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/rv.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSMCA_ROLE_NAME_MAX  128  /* bytes in a role name (same bound as store ids) */
#define HSMCA_ROLE_REF_MAX   128  /* bytes in issuer_ref: "default", a name or an issuer id */
#define HSMCA_ROLE_TIME_MAX  40   /* bytes in the not_after text */
#define HSMCA_ROLE_ENTRY_MAX 1024 /* bytes in one list entry */

typedef enum {
    HSMCA_ROLE_KEY_RSA = 0,
    HSMCA_ROLE_KEY_EC,
    HSMCA_ROLE_KEY_ED25519,
    HSMCA_ROLE_KEY_ANY /* sign only: any key type, subject to the minimums */
} hsmca_role_key_type;

/* One role. Lists are owned; hsmca_role_clear() frees them. Field names are
 * the API's; comments give the documented default. Durations are seconds.
 * Members are grouped by type (strings, numbers, lists, flags) so the struct
 * carries no padding holes. */
typedef struct {
    char name[HSMCA_ROLE_NAME_MAX + 1];      /* from the URL; not a JSON field */
    char issuer_ref[HSMCA_ROLE_REF_MAX + 1]; /* "default" */
    char not_after[HSMCA_ROLE_TIME_MAX + 1]; /* "" (RFC 3339 when set) */
    int64_t ttl;                             /* 0: mount default, capped by max_ttl */
    int64_t max_ttl;                         /* 0: mount maximum */
    int64_t not_before_duration;             /* 30 */
    hsmca_role_key_type key_type;            /* rsa */
    int key_bits;                            /* 0 (written roles hold 2048 / 256, as OpenBao stores) */
    int signature_bits;                      /* 0 (written RSA roles hold 256) */

    hsmca_strlist allowed_domains;        /* [] */
    hsmca_strlist allowed_uri_sans;       /* [] (globs) */
    hsmca_strlist allowed_other_sans;     /* [] ("<oid>;UTF8:<glob>" or a lone "*") */
    hsmca_strlist allowed_serial_numbers; /* [] (globs; empty forbids any) */
    hsmca_strlist allowed_user_ids;       /* [] (globs; empty forbids any) */
    hsmca_strlist key_usage;              /* [DigitalSignature, KeyAgreement, KeyEncipherment] */
    hsmca_strlist ext_key_usage;          /* [] */
    hsmca_strlist ext_key_usage_oids;     /* [] */
    hsmca_strlist ou;                     /* [] */
    hsmca_strlist organization;           /* [] */
    hsmca_strlist country;                /* [] */
    hsmca_strlist locality;               /* [] */
    hsmca_strlist province;               /* [] */
    hsmca_strlist street_address;         /* [] */
    hsmca_strlist postal_code;            /* [] */
    hsmca_strlist policy_identifiers;     /* [] (OIDs) */
    hsmca_strlist cn_validations;         /* [email, hostname] */

    bool allow_localhost;                    /* true */
    bool allowed_domains_template;           /* false */
    bool allow_bare_domains;                 /* false */
    bool allow_subdomains;                   /* false */
    bool allow_glob_domains;                 /* false */
    bool allow_wildcard_certificates;        /* true */
    bool allow_any_name;                     /* false */
    bool enforce_hostnames;                  /* true */
    bool allow_ip_sans;                      /* true */
    bool allowed_uri_sans_template;          /* false */
    bool server_flag;                        /* true */
    bool client_flag;                        /* true */
    bool code_signing_flag;                  /* false */
    bool email_protection_flag;              /* false */
    bool use_pss;                            /* false */
    bool use_csr_common_name;                /* true */
    bool use_csr_sans;                       /* true */
    bool generate_lease;                     /* false (no_store forces false) */
    bool no_store;                           /* false */
    bool require_cn;                         /* true */
    bool basic_constraints_valid_for_non_ca; /* false */
    /* hsmca extension, not an OpenBao field: enforce the CA/Browser Forum
     * Baseline Requirements on leaves of this role — the maximum validity
     * by issuance date (BR 6.3.2: 398 days; 200 from 2026-03-15; 100 from
     * 2027-03-15; 47 from 2029-03-15) and wildcards only as the whole
     * left-most DNS label. Default false. */
    bool cabf_validity_limit;
} hsmca_role;

/* Every field to its documented default. r is overwritten, not cleared:
 * pass a zeroed or cleared role. Fails only for lack of memory. */
hsmca_rv hsmca_role_init_defaults(hsmca_role *r);
void hsmca_role_clear(hsmca_role *r);
/* dst (zeroed or cleared) becomes a deep copy of src. */
hsmca_rv hsmca_role_copy(hsmca_role *dst, const hsmca_role *src);
/* OpenBao's object name rule (framework.GenericNameRegex), for role,
 * issuer and key names: 1..max bytes of word characters, '-' and '.',
 * starting and ending with a word character. field names the parameter in
 * the error ("role name", "issuer_name", "key_name"). */
hsmca_rv hsmca_name_check(const char *field, const char *name, size_t max);
/* hsmca_name_check("role name", name, HSMCA_ROLE_NAME_MAX), then set. */
hsmca_rv hsmca_role_set_name(hsmca_role *r, const char *name);

/* The checks OpenBao makes when a role is written, plus hsmca's (each one
 * says which): normalises key_bits/signature_bits/issuer_ref/cn_validations
 * as OpenBao stores them. warnings may be NULL. */
hsmca_rv hsmca_role_validate(hsmca_role *r, hsmca_strlist *warnings);

/* Reads a role from the JSON body of POST/PATCH roles/:name.
 *  - patch false (POST): fields start from base_or_defaults, or from
 *    hsmca_role_init_defaults() when it is NULL; absent fields keep them.
 *  - patch true (PATCH): base_or_defaults is the stored role (required);
 *    only the fields present change.
 * Lists take a comma-separated string or a JSON array of strings; durations a
 * Go duration string, "Nd", or an integer number of seconds; booleans a JSON
 * boolean, 0/1, or a string strconv.ParseBool accepts ("true", "f", "1", "");
 * integers a JSON integer or a decimal string; null is the field's zero value
 * (as Go's mapstructure decodes it). Unknown fields are ignored with one
 * warning, worded as OpenBao's. A wrong type or a failed rule is
 * HSMCA_ERR_INVALID_ARG naming the field. out may be base_or_defaults; out is
 * only changed on success and must be zeroed or hold a role (it is cleared
 * first). The role name is kept from base_or_defaults. */
hsmca_rv hsmca_role_from_json(const json_t *obj, hsmca_role *base_or_defaults, bool patch, hsmca_role *out,
                              hsmca_strlist *warnings);

/* The data object of GET roles/:name, with OpenBao's field set: ttl, max_ttl
 * and not_before_duration as integer seconds, lists as arrays, plus
 * cabf_validity_limit. Feeding it back to hsmca_role_from_json() gives the
 * same role. */
hsmca_rv hsmca_role_to_json(const hsmca_role *r, json_t **out);

const char *hsmca_role_key_type_name(hsmca_role_key_type t);

/* Name tables shared with the policy engine. Key usage names are Go's
 * x509.KeyUsage names without the "KeyUsage" prefix, case-insensitive:
 * returns the KU_* bit of openssl/x509v3.h, or 0 if unknown. */
int hsmca_role_key_usage_bit(const char *name);
/* Extended key usage names are Go's x509.ExtKeyUsage names without the
 * prefix, case-insensitive: returns the dotted OID, or NULL if unknown. */
const char *hsmca_role_ext_key_usage_oid(const char *name);
/* A dotted-decimal OID as RFC 5280/X.660 allows it (>= 2 arcs, first 0..2,
 * second < 40 under 0 and 1, no leading zeros). */
bool hsmca_role_oid_valid(const char *oid);

#ifdef __cplusplus
}
#endif
#endif
