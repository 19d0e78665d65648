/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca ceremony run|verify` (src/cli/ceremony*.c): the ceremony file as
 * parsed, the run's state and the transcript, shared by the parser
 * (ceremony_file.c), the runner (ceremony_run.c) and the transcript writer
 * and checker (ceremony_transcript.c). */
#ifndef HSMCA_CLI_CEREMONY_H
#define HSMCA_CLI_CEREMONY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "hsmca/offline.h"
#include "hsmca/p11.h"

#define CER_STEPS_MAX 32
#define CER_OPERATORS_MAX 16
#define CER_PATH_MAX 1024
#define CER_REVOKED_MAX 64 /* an offline root revokes intermediates: few */
#define CER_FILE_MAX (1024 * 1024) /* a ceremony file, a transcript */

typedef enum {
    CER_ROOT_KEY = 1,
    CER_ROOT_CERT,
    CER_INTERMEDIATE,
    CER_CROSS_SIGN,
    CER_CRL,
    CER_OCSP_SIGNER
} cer_kind;

typedef struct {
    const char *cert;   /* a certificate file whose serial is revoked, or */
    const char *serial; /* its serial as hex */
    int64_t revoked_at; /* 0: the CRL's this_update */
    int reason;         /* CRLReason, -1 none */
} cer_revoked;

/* One step. Strings are borrowed from the parsed JSON (cer_file.root). */
typedef struct {
    cer_kind kind;
    const char *kind_name;
    bool generate;              /* intermediate: mode "generate" (else "sign") */
    const char *label;          /* key made by this step */
    const char *key_type;
    unsigned key_bits;
    const char *key;            /* root-cert: the key that self-signs */
    const char *issuer_cert;    /* signing steps: the CA certificate ... */
    const char *issuer_key;     /* ... and its token key label */
    const char *csr;            /* intermediate sign: the request */
    const char *cert;           /* cross-sign: the CA certificate re-signed */
    const char *output;         /* certificate or CRL written */
    const char *csr_output;     /* intermediate generate: the request written */
    bool has_subject;
    hsmca_offline_name subject;
    int64_t not_before, not_after;
    int path_len; /* -1 none; cross-sign: -2 = as in the certificate */
    hsmca_strlist policies, ocsp_urls, ca_issuers_urls, crl_urls;
    int64_t this_update, next_update;
    uint64_t crl_number;
    cer_revoked revoked[CER_REVOKED_MAX];
    size_t n_revoked;
} cer_step;

typedef struct {
    json_t *root;
    char path[CER_PATH_MAX];     /* the ceremony file as given */
    char base_dir[CER_PATH_MAX]; /* its directory: relative paths start here */
    unsigned char sha256[32];    /* of the file's bytes */
    const char *name;
    const char *module;
    const char *token_label, *token_serial;
    const char *pin_file; /* NULL: prompt */
    char output_dir[CER_PATH_MAX];
    const char *transcript_key; /* NULL: by the rule in ceremony_run.c */
    cer_step steps[CER_STEPS_MAX];
    size_t n_steps;
} cer_file;

/* Parses and checks the file strictly: unknown fields or kinds, wrong types
 * and missing fields are refused naming the field ("steps[2].subject: ...").
 * now: the run's time for defaults. */
hsmca_rv cer_file_load(const char *path, int64_t now, cer_file *out);
void cer_file_clear(cer_file *f);

/* A path of the ceremony: absolute as is, else relative to dir. */
hsmca_rv cer_path(const char *dir, const char *rel, char *out, size_t size);
/* Reads a whole file of at most max bytes, NUL-terminated (free with free). */
hsmca_rv cer_read_file(const char *path, size_t max, char **data, size_t *len);
void cer_hex(const unsigned char *b, size_t n, char *out); /* out: 2n+1 */

/* ---- transcript (ceremony_transcript.c) ---- */

typedef struct {
    FILE *f;
    char path[CER_PATH_MAX];
    unsigned char prev[32]; /* SHA-256 of the last line written */
    unsigned long seq;
} cer_transcript;

/* Creates the transcript file (refusing an existing one). */
hsmca_rv cer_transcript_open(cer_transcript *t, const char *path);
/* Appends entry (taken) with "seq" and "prev" set: one compact JSON line
 * with sorted keys, whose SHA-256 becomes the next entry's prev. */
hsmca_rv cer_transcript_append(cer_transcript *t, json_t *entry);
/* Appends the signature line: the chain head signed by key (a token key). */
hsmca_rv cer_transcript_sign(cer_transcript *t, OSSL_LIB_CTX *libctx, EVP_PKEY *key, const char *label,
                             const char *key_id);
hsmca_rv cer_transcript_close(cer_transcript *t);

/* argv[0] is "verify". tok may be NULL (no token checks). */
hsmca_rv cer_verify(hsmca_p11_token *tok, int argc, char **argv);

/* argv[0] is "run". */
hsmca_rv cer_run(int argc, char **argv);

#endif
