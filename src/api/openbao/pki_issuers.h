/* SPDX-License-Identifier: Apache-2.0 */
/* What the issuer reads of pki_issuers.c share with the default-issuer
 * reads of pki_ca.c (ca, ca/pem, cert/ca, ca_chain): loading an issuer
 * under If-Modified-Since, and the raw DER/PEM bodies OpenBao sends.
 * These belong in internal.h/common.c once that file is free to change. */
#ifndef HSMCA_SRC_API_OPENBAO_PKI_ISSUERS_H
#define HSMCA_SRC_API_OPENBAO_PKI_ISSUERS_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "internal.h"

/* OpenBao's content types for certificate bodies. */
#define OB_CT_DER "application/pkix-cert"
#define OB_CT_PEM "application/pem-certificate-chain"

/* Loads the issuer `ref` ("default" included) for a read that honours
 * If-Modified-Since. Returns true with *out filled and Last-Modified set
 * on resp when the handler should answer; false when resp already holds
 * the answer: 304 (not modified, empty body of content_type), or the
 * error -- or, when `raw_empty` is set and the reference does not resolve,
 * OpenBao's empty 204 for raw CA reads. */
bool ob_issuer_read_conditional(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *ref,
                                const char *content_type, bool raw_empty, hsmca_ca_issuer *out);

/* Raw certificate bodies: DER, or PEM (with a final newline when
 * trailing_newline). 500 on an encoding failure. */
void ob_resp_cert_der(hsmca_http_resp *resp, X509 *x);
void ob_resp_cert_pem(hsmca_http_resp *resp, X509 *x, bool trailing_newline);

/* Sets Last-Modified to `modified` (unix seconds; nothing when <= 0) and,
 * when If-Modified-Since covers it, answers 304 with an empty body of
 * content_type and returns true (the handler is done). */
bool ob_not_modified(hsmca_http_req *req, hsmca_http_resp *resp, int64_t modified, const char *content_type);
/* IMF-fixdate of t (RFC 9110 5.6.7), "" when t cannot be one. */
void ob_http_date(int64_t t, char out[40]);

/* The issuer's JSON as GET issuer/:ref answers it (200; 500 on failure). */
void ob_issuer_respond(hsmca_http_resp *resp, const hsmca_ca_issuer *i);

/* "2022-11-02T14:41:47Z" into out[32]; "" for 0. */
void ob_rfc3339(int64_t t, char out[32]);

#endif
