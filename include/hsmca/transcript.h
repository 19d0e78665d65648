/* SPDX-License-Identifier: Apache-2.0 */
/* Key-ceremony transcripts (docs/ceremony.md): checking a transcript's hash
 * chain and signature from its text alone, listing the keys and artefacts
 * it records, and matching a certificate to it (what the daemon's issuer
 * import does with a `transcript` field). */
#ifndef HSMCA_TRANSCRIPT_H
#define HSMCA_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each line names the SHA-256 (hex) of the line before; the first names
 * GENESIS. The signature line signs SIG_CONTEXT followed by the hex SHA-256
 * of the last line before it. */
#define HSMCA_TRANSCRIPT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define HSMCA_TRANSCRIPT_SIG_CONTEXT "hsmca ceremony transcript v1\n"
#define HSMCA_TRANSCRIPT_MAX (1024 * 1024) /* bytes of one transcript */
#define HSMCA_TRANSCRIPT_LINES_MAX 4096

typedef struct {
    unsigned line, step;
    char path[256];
    char type[16];        /* "certificate", "csr", "crl" */
    char sha256[65];      /* of the file as written (PEM) */
    char der_sha256[65];  /* of the DER object */
} hsmca_transcript_artefact;

typedef struct {
    unsigned line;
    char label[129];
    char key_id[37];
    char spki_sha256[65];
} hsmca_transcript_key;

typedef struct {
    char name[129];
    char token_label[33], token_serial[33];
    unsigned entries;
    char signer_label[129];
    EVP_PKEY *signer; /* the verified signer's public key; NULL unless signed */
    hsmca_transcript_artefact *artefacts;
    size_t n_artefacts;
    hsmca_transcript_key *keys;
    size_t n_keys;
    unsigned failures;
    char first_failure[512];
} hsmca_transcript;

/* Called once per problem found, with a message naming the line. */
typedef void (*hsmca_transcript_fail_fn)(void *arg, const char *message);

/* Checks the text of a transcript (at most HSMCA_TRANSCRIPT_MAX bytes):
 * the header, every line's seq and prev, and the signature line (its key
 * must be one of the keys the transcript recorded, its signature must
 * verify over the chain's head). Every problem is passed to fail (may be
 * NULL) and counted in out->failures. HSMCA_OK only with no problem; else
 * HSMCA_ERR_INVALID_ARG with the first problem as the detail. out is filled
 * either way; release it with hsmca_transcript_clear. */
hsmca_rv hsmca_transcript_check(const char *text, size_t len, hsmca_transcript_fail_fn fail, void *arg,
                                hsmca_transcript *out);
void hsmca_transcript_clear(hsmca_transcript *t);

/* Whether cert is one of the certificates a checked transcript records
 * (by DER SHA-256) and is signed by the transcript's signing key: a
 * ceremony-made issuer and the ceremony that made it. HSMCA_ERR_INVALID_ARG
 * says which of the two fails. */
hsmca_rv hsmca_transcript_match_certificate(const hsmca_transcript *t, X509 *cert);

#ifdef __cplusplus
}
#endif
#endif
