/* SPDX-License-Identifier: Apache-2.0 */
/* The pre-issuance lint corpus: software-built to-be-signed certificates,
 * passing baselines for each role and a negative corpus with at least one
 * case per lint rule, shared by test_lint and the CA's lint-gate test. */
#ifndef HSMCA_TEST_LINT_CORPUS_H
#define HSMCA_TEST_LINT_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/lint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One certificate to lint. Every pointer is owned by the case (references
 * are shared between cases, so compare issuers with X509_cmp, not by
 * pointer identity across corpora). */
typedef struct {
    const char *name;     /* what the case is, e.g. "negative serial" */
    const char *rule;     /* the rule id the lint must report; NULL: must pass */
    X509 *tbs;            /* to be signed: no signature, no signature algorithm */
    X509 *issuer;         /* the issuing CA's signed certificate; NULL for a root */
    EVP_PKEY *signer;     /* the software private key that would sign tbs: the
                           * issuer's key, or a root's own key */
    hsmca_lint_opts opts; /* opts.issuer == issuer */
} lint_case;

/* The negative corpus: at least one case per rule of hsmca_lint_rules(),
 * each a baseline with one thing wrong. Returns the number of cases and
 * *cases (free with lint_corpus_free), or 0 and NULL on failure. */
size_t lint_corpus_build(lint_case **cases);

/* Certificates that must pass: the baseline leaf, CA and root, and
 * variants on the edge of the rules (every allowed key type, wildcard
 * forms, IDNs, CA/B boundaries, empty subject with a critical SAN, ...). */
size_t lint_corpus_build_baselines(lint_case **cases);

void lint_corpus_free(lint_case *cases, size_t n);

/* ---- building blocks (the corpus uses these; so may tests) ---- */

/* Fixed instants, so the corpus is the same on every run. */
#define LINT_T_ROOT_NB INT64_C(1704067200) /* 2024-01-01T00:00:00Z */
#define LINT_T_ROOT_NA INT64_C(2335219200) /* 2044-01-01T00:00:00Z */
#define LINT_T_CA_NB   INT64_C(1735689600) /* 2025-01-01T00:00:00Z */
#define LINT_T_CA_NA   INT64_C(2051222400) /* 2035-01-01T00:00:00Z */
#define LINT_T_LEAF_NB INT64_C(1748736000) /* 2025-06-01T00:00:00Z */
#define LINT_DAY       INT64_C(86400)

/* A software PKI: a root (pathLen 1) and an intermediate (pathLen 0)
 * signed by it, plus the keys. */
typedef struct {
    EVP_PKEY *root_key, *ca_key, *leaf_key; /* P-256 */
    X509 *root;                             /* self-signed */
    X509 *ca;                               /* signed by root_key */
} lint_fixture;

lint_fixture *lint_fixture_new(void);
void lint_fixture_free(lint_fixture *f);

/* Fresh baseline TBS certificates (caller owns): a leaf under f->ca valid
 * 90 days from LINT_T_LEAF_NB; an intermediate under f->root; a root. */
X509 *lint_fixture_leaf(const lint_fixture *f);
X509 *lint_fixture_ca(const lint_fixture *f);
X509 *lint_fixture_root(const lint_fixture *f);
/* Options for a baseline of that role (issuer, now = notBefore + 30 s). */
hsmca_lint_opts lint_fixture_opts(const lint_fixture *f, hsmca_lint_role role);

/* Mutators; each returns 1 on success, 0 on failure. "set" replaces every
 * extension with that NID, "add" appends. */
int lint_tbs_set_ext(X509 *x, int nid, const char *conf);
int lint_tbs_set_ext_der(X509 *x, int nid, int critical, const void *der, size_t len);
int lint_tbs_add_ext_der(X509 *x, const char *oid, int critical, const void *der, size_t len);
int lint_tbs_del_ext(X509 *x, int nid);
/* Replaces the SAN with the given names (critical or not). */
int lint_tbs_set_san(X509 *x, int critical, GENERAL_NAMES *names);
/* Appends a dNSName/rfc822Name/URI with raw bytes (may hold NULs). */
int lint_gn_add_string(GENERAL_NAMES *names, int type, const void *bytes, size_t len);
int lint_gn_add_ip(GENERAL_NAMES *names, const void *bytes, size_t len);
/* Sets notBefore/notAfter to unix times (UTCTime/GeneralizedTime chosen by
 * RFC 5280), or to a raw string of a given ASN.1 type. */
int lint_tbs_set_validity(X509 *x, int64_t not_before, int64_t not_after);
int lint_tbs_set_raw_time(X509 *x, int not_after, int type, const char *text);
/* Replaces the subject key (the SKI is left as it was). */
int lint_tbs_set_key(X509 *x, EVP_PKEY *key);
/* A public RSA key with the given modulus size (random odd modulus: only
 * its encoding matters to the lint) and exponent. */
EVP_PKEY *lint_fake_rsa(int bits, unsigned long exponent);

#ifdef __cplusplus
}
#endif
#endif
