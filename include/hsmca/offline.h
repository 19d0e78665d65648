/* SPDX-License-Identifier: Apache-2.0 */
/* Offline CA operations for key ceremonies: certificates (root,
 * intermediate, cross-sign, OCSP signer), CSRs and root CRLs built from a
 * profile, linted, and signed with a given EVP_PKEY (a token key), with no
 * database and no mount. Interfaces never build certificates themselves;
 * the ceremony CLI calls these. */
#ifndef HSMCA_OFFLINE_H
#define HSMCA_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmca/lint.h"
#include "hsmca/rv.h"
#include "hsmca/serial.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A subject as a ceremony file gives it; "" or NULL members are left out. */
typedef struct {
    const char *common_name, *organization, *organizational_unit, *country, *province, *locality;
    const char *serial_number;
} hsmca_offline_name;

/* The subject in the CA core's attribute order with RFC 5280's bounds
 * (a field that breaks one is named). */
hsmca_rv hsmca_offline_name_build(const hsmca_offline_name *in, X509_NAME **out);

typedef enum {
    HSMCA_OFFLINE_ROOT = 1,   /* self-signed CA */
    HSMCA_OFFLINE_CA,         /* intermediate or cross-signed CA below issuer */
    HSMCA_OFFLINE_OCSP_SIGNER /* delegated OCSP responder for issuer (RFC 6960 4.2.2.2) */
} hsmca_offline_kind;

typedef struct {
    hsmca_offline_kind kind;
    X509_NAME *subject;    /* borrowed */
    EVP_PKEY *subject_key; /* borrowed: the public key certified */
    X509 *issuer;          /* borrowed; NULL for a root */
    /* borrowed: signs (the issuer's token key; a root's own). A dry run may
     * pass a software stand-in of the same type: it fixes the signature
     * algorithm for lint and is never used to sign. */
    EVP_PKEY *signing_key;
    int64_t not_before, not_after; /* unix seconds */
    int path_len;                  /* CA only; -1: no pathLenConstraint */
    /* certificatePolicies OIDs and the AIA/CDP URLs; NULL or empty: none. */
    const hsmca_strlist *policies, *ocsp_urls, *ca_issuers_urls, *crl_urls;
    unsigned char serial[HSMCA_SERIAL_MAX]; /* from hsmca_serial_generate */
    size_t serial_len;
    bool use_pss;       /* RSA keys: RSASSA-PSS instead of PKCS#1 v1.5 */
    int signature_bits; /* 256/384/512 digest; 0: by key */
} hsmca_offline_cert_profile;

/* Builds the to-be-signed certificate of p, fixes its signature algorithm
 * from p->signing_key and lints it with the CA core's gate (role by kind,
 * p->issuer as the issuing CA). On a lint failure: HSMCA_ERR_INVALID_ARG,
 * *finding names the rule, *tbs stays NULL. Nothing is signed here. */
hsmca_rv hsmca_offline_cert_prepare(OSSL_LIB_CTX *libctx, const hsmca_offline_cert_profile *p, X509 **tbs,
                                    hsmca_lint_finding *finding);

/* Signs a TBS from hsmca_offline_cert_prepare with p->signing_key, checks
 * the signature with the issuer's public key (a root's own) and that the
 * signed TBS is byte for byte the linted one. *out: a new reference. */
hsmca_rv hsmca_offline_cert_sign(OSSL_LIB_CTX *libctx, const hsmca_offline_cert_profile *p, X509 *tbs,
                                 X509 **out);

/* A PKCS#10 request for subject signed by key (a token key). */
hsmca_rv hsmca_offline_csr_make(OSSL_LIB_CTX *libctx, X509_NAME *subject, EVP_PKEY *key, X509_REQ **out);

/* One PEM CSR (NUL-terminated) whose self-signature verifies, and its
 * public key; anything else is HSMCA_ERR_INVALID_ARG naming why. */
hsmca_rv hsmca_offline_csr_read(const char *pem, X509_REQ **req, EVP_PKEY **pub);

/* 1 if cert certifies key's public key, 0 if not. */
int hsmca_offline_key_matches(X509 *cert, const EVP_PKEY *key);

typedef struct {
    int64_t revoked_at; /* unix seconds */
    size_t serial_len;
    int reason; /* CRLReason (RFC 5280 5.3.1); -1: none */
    unsigned char serial[HSMCA_SERIAL_MAX];
} hsmca_offline_revoked;

#define HSMCA_OFFLINE_CRL_REVOKED_MAX 1024

typedef struct {
    X509 *issuer;          /* borrowed: the CA certificate whose CRL this is */
    EVP_PKEY *signing_key; /* borrowed: its token key (or a dry-run stand-in) */
    int64_t this_update, next_update;
    unsigned char number[HSMCA_SERIAL_MAX]; /* cRLNumber, big-endian */
    size_t number_len;
    const hsmca_offline_revoked *revoked;
    size_t n_revoked; /* at most HSMCA_OFFLINE_CRL_REVOKED_MAX */
    int signature_bits;
} hsmca_offline_crl_profile;

/* Builds a v2 CRL (AKI, cRLNumber, the revoked entries) and lints it with
 * hsmca_lint_crl; *finding names a failed rule. Nothing is signed. */
hsmca_rv hsmca_offline_crl_prepare(const hsmca_offline_crl_profile *p, X509_CRL **tbs,
                                   hsmca_lint_finding *finding);

/* Signs a prepared CRL, verifies the signature with the issuer's key and
 * lints the signed CRL again. *out: a new reference. */
hsmca_rv hsmca_offline_crl_sign(OSSL_LIB_CTX *libctx, const hsmca_offline_crl_profile *p, X509_CRL *tbs,
                                X509_CRL **out);

#ifdef __cplusplus
}
#endif
#endif
