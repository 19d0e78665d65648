/* SPDX-License-Identifier: Apache-2.0 */
/* The issuance policy engine: a role (hsmca/role.h) and a request for a leaf
 * certificate in, either a denial that names the field and value that failed,
 * or a certificate template out. Semantics are OpenBao's PKI role rules as
 * documented in shared/reference/openbao-pki-api.txt. The template is what
 * src/ca builds and signs; nothing here touches keys, the token or storage. */
#ifndef HSMCA_POLICY_H
#define HSMCA_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/role.h"
#include "hsmca/rv.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A leaf request, as the API (issue or sign) gives it, lists already split. */
typedef struct {
    const char *common_name;      /* NULL or "" when not given */
    hsmca_strlist alt_names;      /* DNS names and email addresses */
    hsmca_strlist ip_sans;
    hsmca_strlist uri_sans;
    hsmca_strlist other_sans;     /* "<oid>;UTF8:<value>" */
    hsmca_strlist user_ids;       /* subject UID components */
    const char *serial_number;    /* subject serialNumber attribute; NULL if none */
    int64_t ttl;                  /* seconds; 0 = not given */
    const char *not_after;        /* RFC 3339 UTC ("2030-01-01T00:00:00Z"); NULL = not given */
    bool exclude_cn_from_sans;
    /* sign: the CSR (names used per use_csr_common_name / use_csr_sans),
     * its self-signature already verified by the caller's CSR parser (the
     * policy engine does not verify it again); issue: NULL. */
    X509_REQ *csr;
    /* The subject public key: the CSR's key (sign) or the freshly generated
     * leaf key (issue). Checked against key_type / key_bits. */
    EVP_PKEY *pubkey;
} hsmca_issue_request;

/* leaf_not_after_behavior of the issuer (OpenBao: err, truncate, permit). */
typedef enum {
    HSMCA_NOT_AFTER_ERR = 0,
    HSMCA_NOT_AFTER_TRUNCATE,
    HSMCA_NOT_AFTER_PERMIT
} hsmca_not_after_behavior;

typedef struct {
    int64_t now;                  /* unix seconds: the issuance time */
    int64_t issuer_not_after;     /* the issuing CA certificate's notAfter */
    hsmca_not_after_behavior leaf_not_after_behavior;
    int64_t default_ttl;          /* mount default lease TTL when the role has none (OpenBao: 768h) */
    int64_t max_ttl;              /* mount maximum lease TTL (OpenBao system max: 768h) */
} hsmca_policy_context;

/* The outcome of a permitted request. Every member is owned by the template. */
typedef struct {
    X509_NAME *subject;           /* may be empty (then the SAN is critical) */
    GENERAL_NAMES *sans;          /* DNS, email (rfc822Name), IP, URI, otherName; may be empty */
    bool san_critical;            /* RFC 5280 4.2.1.6: critical when the subject is empty */
    int key_usage;                /* KU_* bits from openssl/x509v3.h; 0 = leave the extension out */
    STACK_OF(ASN1_OBJECT) *ext_key_usage; /* NULL or empty = leave it out */
    STACK_OF(ASN1_OBJECT) *policy_oids;   /* NULL or empty = leave certificatePolicies out */
    bool basic_constraints;       /* add basicConstraints CA:FALSE (basic_constraints_valid_for_non_ca) */
    int64_t not_before;           /* now - not_before_duration */
    int64_t not_after;
    bool use_pss;                 /* issuer signs with RSASSA-PSS (RSA issuers) */
    int signature_bits;           /* 0 = issuer default, else 256/384/512 */
    bool no_store;
    /* OpenBao returns these in the response's "warnings" (a TTL capped at
     * max_ttl, CSR parts that were ignored, ...). Added by the policy engine. */
    hsmca_strlist warnings;
} hsmca_cert_template;

/* Checks the request against the role and builds the template. A denial is
 * HSMCA_ERR_INVALID_ARG with a detail that names the role field, the
 * requested value and the rule ("common_name 'x.evil.com' not allowed by
 * role 'web': not in allowed_domains [example.com] ..."). */
hsmca_rv hsmca_policy_evaluate(const hsmca_role *role, const hsmca_issue_request *req,
                               const hsmca_policy_context *ctx, hsmca_cert_template *out);
void hsmca_cert_template_clear(hsmca_cert_template *t);
void hsmca_issue_request_clear(hsmca_issue_request *r); /* frees the lists only */

#ifdef __cplusplus
}
#endif
#endif
