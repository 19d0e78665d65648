/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations shared by the pre-issuance lint's rule families
 * (src/ca/lint*.c): the rule ids, the lint context and the helpers that
 * report a finding. Nothing outside src/ca/lint*.c includes this. */
#ifndef HSMCA_CA_LINT_INTERNAL_H
#define HSMCA_CA_LINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/lint.h"
#include "hsmca/rv.h"

/* Bounds on what one certificate may carry. Real certificates have about
 * ten extensions and rarely more than a few hundred SANs; the bounds keep
 * every loop (and the quadratic duplicate check) small even when a CSR's
 * extensions were copied in. */
#define LINT_MAX_EXTENSIONS 64
#define LINT_MAX_SAN_NAMES  1024
/* Rendered values in messages are cut here so "rule: message" fits both
 * the finding (256) and the thread's error detail (512). */
#define LINT_VALUE_MAX 96
/* keyUsage keyCertSign is bit 5 (RFC 5280 4.2.1.3). */
#define LINT_KU_KEY_CERT_SIGN 5

/* The rules, in the order hsmca_lint_certificate() checks them; the table
 * in lint.c gives each its id and summary (same order). */
typedef enum {
    LINT_VERSION_V3 = 0,
    LINT_SERIAL_POSITIVE,
    LINT_SERIAL_LENGTH,
    LINT_SERIAL_ENTROPY,
    LINT_VALIDITY_TIME_FORMAT,
    LINT_VALIDITY_TIME_TYPE,
    LINT_VALIDITY_ORDER,
    LINT_VALIDITY_BEYOND_ISSUER,
    LINT_NAME_ROOT_SELF_ISSUED,
    LINT_NAME_ISSUER_MATCH,
    LINT_SUBJECT_NUL,
    LINT_SUBJECT_ENCODING,
    LINT_SUBJECT_LENGTH,
    LINT_EXT_COUNT,
    LINT_EXT_DUPLICATE,
    LINT_EXT_MALFORMED,
    LINT_EXT_EMPTY,
    LINT_SUBJECT_EMPTY,
    LINT_SUBJECT_CA_EMPTY,
    LINT_ISSUER_NOT_CA,
    LINT_BC_CA_PRESENT,
    LINT_BC_CA_CRITICAL,
    LINT_BC_CA_TRUE,
    LINT_BC_LEAF_CA,
    LINT_BC_PATHLEN_RANGE,
    LINT_BC_PATHLEN_LEAF,
    LINT_BC_PATHLEN_ISSUER,
    LINT_KU_CA_PRESENT,
    LINT_KU_CA_CRITICAL,
    LINT_KU_CA_CERT_SIGN,
    LINT_KU_CERT_SIGN_WITHOUT_CA,
    LINT_SKI_PRESENT,
    LINT_SKI_CRITICAL,
    LINT_SKI_MALFORMED,
    LINT_AKI_PRESENT,
    LINT_AKI_CRITICAL,
    LINT_AKI_KEYID,
    LINT_AKI_MATCH,
    LINT_KEY_TYPE,
    LINT_KEY_ALGORITHM_PARAMS,
    LINT_KEY_INVALID,
    LINT_KEY_RSA_BITS,
    LINT_KEY_RSA_BITS_MULTIPLE,
    LINT_KEY_RSA_EXPONENT,
    LINT_KEY_EC_CURVE,
    LINT_SAN_COUNT,
    LINT_SAN_NUL,
    LINT_SAN_IP,
    LINT_SAN_DNS_WILDCARD_CA,
    LINT_SAN_DNS_WILDCARD,
    LINT_SAN_DNS_SYNTAX,
    LINT_SAN_DNS_IDN,
    LINT_SAN_EMAIL,
    LINT_SAN_URI,
    LINT_CABF_VALIDITY,
    LINT_CABF_SAN_PRESENT,
    LINT_CABF_SAN_TYPES,
    LINT_CABF_EKU_PRESENT,
    LINT_CABF_EKU_ANY,
    LINT_CABF_KEY_TYPE,
    LINT_SUBJECT_CN_IN_SAN,
    LINT_RULE_COUNT
} lint_rule_id;

/* One decoded extension slot: the value as OpenSSL's d2i gave it (owned by
 * the context) and whether the extension was marked critical. */
typedef struct {
    void *value;
    bool present;
    bool critical;
} lint_ext;

/* The extensions the rules look at, decoded once from their DER (never
 * from OpenSSL's per-certificate caches, which a TBS still being built may
 * have stale). At most one of each: duplicates are refused first. */
typedef struct {
    lint_ext bc;  /* BASIC_CONSTRAINTS */
    lint_ext ku;  /* ASN1_BIT_STRING */
    lint_ext eku; /* EXTENDED_KEY_USAGE */
    lint_ext ski; /* ASN1_OCTET_STRING */
    lint_ext aki; /* AUTHORITY_KEYID */
    lint_ext san; /* GENERAL_NAMES */
} lint_exts;

typedef struct {
    X509 *tbs;
    const hsmca_lint_opts *opts;
    /* The issuing CA's certificate; the TBS itself for a root. */
    X509 *issuer;
    bool is_ca;   /* role CA or ROOT */
    bool is_root; /* role ROOT */
    hsmca_lint_finding *finding;
    lint_exts ext;
    /* The issuer's extensions that chain rules need (borrowed from d2i,
     * owned by the context). NULL when absent. */
    BASIC_CONSTRAINTS *issuer_bc;
    ASN1_BIT_STRING *issuer_ku;
    ASN1_OCTET_STRING *issuer_ski;
    /* notBefore / notAfter in unix seconds, set by lint_check_validity(). */
    int64_t not_before;
    int64_t not_after;
    /* The subject key's algorithm (NID_rsaEncryption, NID_X9_62_id_ecPublicKey,
     * NID_ED25519, ...), set by lint_check_key(). */
    int key_nid;
} lint_ctx;

/* Records the failure of rule (finding + the thread's error detail
 * "lint <rule>: <message>") and returns HSMCA_ERR_INVALID_ARG. */
hsmca_rv lint_fail(lint_ctx *ctx, lint_rule_id rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records that the lint itself could not run (out of memory, an OpenSSL
 * failure) and returns rv; finding->rule is left empty. */
hsmca_rv lint_error(lint_ctx *ctx, hsmca_rv rv, const char *what);

/* Renders len bytes for a message: printable ASCII as is, everything else
 * (NUL, controls, non-ASCII) as \xNN, cut with "..." to fit out (which is
 * always NUL-terminated). Returns out. */
const char *lint_render(const unsigned char *p, size_t len, char *out, size_t outlen);

/* Days since 1970-01-01 of a proleptic Gregorian date (no range checks). */
int64_t lint_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Rule families, each in its own file. Each returns HSMCA_OK or the
 * result of lint_fail()/lint_error(). */
hsmca_rv lint_check_validity(lint_ctx *ctx);        /* lint_time.c */
hsmca_rv lint_check_cabf_validity(lint_ctx *ctx);   /* lint_time.c */
hsmca_rv lint_check_subject_strings(lint_ctx *ctx); /* lint_names.c */
hsmca_rv lint_check_san(lint_ctx *ctx);             /* lint_names.c */
hsmca_rv lint_check_cn_in_san(lint_ctx *ctx);       /* lint_names.c */
hsmca_rv lint_check_key(lint_ctx *ctx);             /* lint_key.c */
hsmca_rv lint_check_extensions(lint_ctx *ctx);      /* lint_ext.c */
hsmca_rv lint_check_ca_extensions(lint_ctx *ctx);   /* lint_ext.c */
hsmca_rv lint_check_cabf_profile(lint_ctx *ctx);    /* lint_ext.c */
void lint_exts_free(lint_exts *e);                  /* lint_ext.c */

/* DNS name syntax (lint_names.c), shared by dNSName, the domain of an
 * rfc822Name and the host of a URI. */
typedef enum {
    LINT_DNS_OK = 0,
    LINT_DNS_SYNTAX,  /* not LDH, empty/long label, too long, trailing dot */
    LINT_DNS_IDN,     /* a reserved or undecodable xn-- label */
    LINT_DNS_WILDCARD /* a '*' where the rules do not allow one */
} lint_dns_verdict;

/* Checks name[0..len). wildcard_ok: a leaf dNSName, where RFC 6125 6.4.3
 * allows one '*' in the left-most label; cabf: only "*" as that whole
 * label (BR 1.6.1 "Wildcard Domain Name"). *why gets a static reason. */
lint_dns_verdict lint_dns_check(const unsigned char *name, size_t len, bool wildcard_ok, bool cabf,
                                const char **why);

/* Whether label[0..len) (without the "xn--" prefix) is valid Punycode
 * (RFC 3492) that decodes to at least one non-ASCII code point. */
bool lint_punycode_valid(const unsigned char *label, size_t len);

#endif
