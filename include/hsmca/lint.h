/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint: every to-be-signed certificate (and, later, CRL) is
 * checked here before the token signs anything. A failure names the rule. */
#ifndef HSMCA_LINT_H
#define HSMCA_LINT_H

#include <stdbool.h>
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
    /* CA/Browser Forum options (a role option turns them on): maximum leaf
     * validity by issuance date (398 days; 200 from 2026-03-15; 100 from
     * 2027-03-15; 47 from 2029-03-15) and wildcards only as the whole
     * left-most DNS label. */
    bool cabf;
    int64_t now; /* issuance time, unix seconds (for the CA/B schedule) */
} hsmca_lint_opts;

typedef struct {
    char rule[48];     /* stable rule id, e.g. "serial.positive", "san.dns.wildcard" */
    char message[256]; /* what failed, with the value */
} hsmca_lint_finding;

/* Lints a to-be-signed certificate (its signature fields are ignored).
 * HSMCA_OK, or HSMCA_ERR_INVALID_ARG with *finding (and the thread's error
 * detail) naming the first rule that failed. */
hsmca_rv hsmca_lint_certificate(X509 *tbs, const hsmca_lint_opts *opts, hsmca_lint_finding *finding);

#ifdef __cplusplus
}
#endif
#endif
