/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint: every to-be-signed certificate (and, later, CRL) is
 * checked here before the token signs anything. A failure names the rule. */
#ifndef HSMCA_LINT_H
#define HSMCA_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HSMCA_LINT_LEAF = 0,   /* end-entity certificate */
    HSMCA_LINT_CA,         /* intermediate or cross-signed CA certificate */
    HSMCA_LINT_ROOT        /* self-signed CA certificate */
} hsmca_lint_role;

typedef struct {
    hsmca_lint_role role;
    /* The issuing CA's certificate; NULL for a self-signed root (the
     * certificate is then its own issuer). */
    X509 *issuer;
    /* validity may end after the issuer's (issuer leaf_not_after_behavior
     * "permit"); otherwise that is a lint failure. */
    bool permit_beyond_issuer;
    /* CA/Browser Forum options (a role option turns them on; leaves
     * only): maximum leaf validity by issuance date (398 days; 200 from
     * 2026-03-15; 100 from 2027-03-15; 47 from 2029-03-15; BR 6.3.2),
     * wildcards only as the whole left-most DNS label, a SAN of dNSNames
     * and iPAddresses only, EKU present without anyExtendedKeyUsage, RSA or
     * ECDSA keys, and a CN (if any) that is character for character one of
     * the SANs (BR 7.1.2.7). */
    bool cabf;
    /* Issuance time, unix seconds (for the CA/B schedule: the tier is that
     * of the later of notBefore and now; 0 = notBefore alone). */
    int64_t now;
    /* The role's exclude_cn_from_sans: the CN is deliberately not among the
     * SANs, so "subject.cn_in_san" is not checked (it still is with cabf,
     * where BR 7.1.2.7.2 requires the CN to be one of the SANs). */
    bool exclude_cn_from_sans;
} hsmca_lint_opts;

typedef struct {
    char rule[48];     /* stable rule id, e.g. "serial.positive", "san.dns.wildcard" */
    char message[256]; /* what failed, with the value */
} hsmca_lint_finding;

/* One lint rule: its stable id (what hsmca_lint_finding.rule carries) and a
 * one-line meaning with the RFC 5280 / CA/B Forum BR section it enforces. */
typedef struct {
    const char *id;
    const char *summary;
} hsmca_lint_rule;

/* Every rule hsmca_lint_certificate() can report, in the order it checks
 * them (SAN entries are checked one entry at a time); *count receives the
 * number of entries. Tests use it to prove a negative corpus covers every
 * rule. Usage errors (a NULL argument, no issuer for a non-root) are
 * reported as the rule "lint.input", which is not in this table. */
const hsmca_lint_rule *hsmca_lint_rules(size_t *count);

/* Lints a to-be-signed certificate (its signature fields are ignored).
 * HSMCA_OK, or HSMCA_ERR_INVALID_ARG with *finding (and the thread's error
 * detail, "lint <rule>: <message>") naming the first rule that failed.
 * HSMCA_ERR_NOMEM / HSMCA_ERR_CRYPTO if the lint itself could not run
 * (finding->rule is then ""); the caller must not sign in any of these
 * cases. On HSMCA_OK finding->rule is "". finding may be NULL. The
 * certificate is only read. */
hsmca_rv hsmca_lint_certificate(X509 *tbs, const hsmca_lint_opts *opts, hsmca_lint_finding *finding);

/* Lints a to-be-signed CRL of issuer (the CA certificate that signs it)
 * with the crl.* rules of RFC 5280 section 5: v2, issuer name chaining,
 * the issuer's cRLSign, time encoding and order, AKI matching the issuer's
 * SKI, cRLNumber, no duplicate or empty extensions, revoked serials
 * positive, short and unique. Results as hsmca_lint_certificate. */
hsmca_rv hsmca_lint_crl(X509_CRL *crl, X509 *issuer, hsmca_lint_finding *finding);
/* Every rule hsmca_lint_crl() can report, in the order it checks them. */
const hsmca_lint_rule *hsmca_lint_crl_rules(size_t *count);

#ifdef __cplusplus
}
#endif
#endif
