/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log: append-only JSON lines, each chained to the one before by
 * an HMAC-SHA256 computed in the token; writing, value HMACs and
 * verification. The line format is specified in docs/audit.md. */
#ifndef HSMCA_AUDIT_H
#define HSMCA_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/p11.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The token's MAC key: a generic secret with this CKA_LABEL and this CKA_ID
 * (the same 16 ASCII bytes), created by the first hsmca_audit_open(). */
#define HSMCA_AUDIT_KEY_LABEL "hsmca-audit-hmac"

/* A line, '\n' included, is at most this long; writing refuses longer
 * entries and the verifier reports longer lines as broken. */
#define HSMCA_AUDIT_LINE_MAX 65536
/* Bound of the caller's details object, as compact JSON. */
#define HSMCA_AUDIT_DETAILS_MAX 16384

/* HMACs in the file are 64 lowercase hex digits. The chain of a new log
 * starts from 64 zeros (the genesis value). */
#define HSMCA_AUDIT_HEX_LEN 64
#define HSMCA_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* A secret replaced by its HMAC: "hmac-sha256:" and 64 hex digits. */
#define HSMCA_AUDIT_VALUE_PREFIX "hmac-sha256:"
#define HSMCA_AUDIT_VALUE_LEN (12 + HSMCA_AUDIT_HEX_LEN)

typedef struct hsmca_audit hsmca_audit;

/* Zero-initialised means the safe defaults. */
typedef struct {
    const char *path; /* the log file; created 0600 if missing */
    /* false (default): hsmca_audit_log() returns only after fdatasync(2)
     * covered its line. true: after write(2) only (a crash of the machine,
     * not of the process, may then lose the last entries). */
    bool no_sync;
} hsmca_audit_config;

typedef enum {
    HSMCA_AUDIT_SUCCESS = 0, /* the request did what it asked */
    HSMCA_AUDIT_DENIED,      /* refused by authentication or authorisation */
    HSMCA_AUDIT_ERROR        /* failed for any other reason */
} hsmca_audit_outcome;

/* One entry as the daemon gives it. Every pointer may be NULL (logged as
 * null; error and details are then left out). Strings longer than their
 * bound are cut (at a UTF-8 boundary, with "..." appended) and bytes that are
 * not UTF-8 become U+FFFD, so client-supplied text never fails a log call. */
typedef struct {
    const char *request_id;     /* the response envelope's request_id (<= 128 bytes) */
    const char *remote_address; /* client address (<= 128 bytes) */
    /* The token's accessor (<= 128 bytes) — never the token itself. */
    const char *accessor;
    const char *const *policies; /* n_policies names (<= 64 of <= 128 bytes) */
    size_t n_policies;
    const char *operation; /* create, read, update, delete, list (<= 32 bytes) */
    const char *mount;     /* <= 256 bytes */
    const char *path;      /* request path (<= 2048 bytes) */
    int status;            /* HTTP status sent */
    hsmca_audit_outcome outcome;
    const char *error; /* message sent to the client (<= 2048 bytes) */
    /* Non-secret details (serial numbers, issuer ids, role names): an
     * object, borrowed, not changed, at most HSMCA_AUDIT_DETAILS_MAX bytes
     * and 16 levels deep. Values under secret names (see
     * hsmca_audit_is_secret_name()) and any string holding a PEM private
     * key are written as their HMAC instead. */
    const json_t *details;
} hsmca_audit_entry;

/* Opens (creating if needed) the log at cfg->path and the token's MAC key
 * (generated on first use). An existing log is continued: its last line is
 * read and must carry a valid HMAC of this token's key, else the open
 * fails (wrong token, tampered or torn tail); a new or empty file begins
 * with a start entry chained to the genesis value. The file is locked
 * (flock) against a second writer. tok is referenced, not taken. */
hsmca_rv hsmca_audit_open(hsmca_p11_token *tok, const hsmca_audit_config *cfg, hsmca_audit **out);

/* For rotation (the daemon calls it on SIGHUP, after the old file was
 * renamed): opens cfg->path again. A new or empty file begins with a start
 * entry whose prev is the last HMAC written to the previous file; a
 * non-empty file is continued as hsmca_audit_open() does. If the path still
 * names the open file, nothing changes. On failure the old file stays in
 * use. Safe while other threads log; call it from a thread, not from the
 * signal handler (it takes locks and asks the token for a MAC). */
hsmca_rv hsmca_audit_reopen(hsmca_audit *log);

/* Syncs and closes. No other thread may be inside a call on log. NULL-safe. */
void hsmca_audit_free(hsmca_audit *log);

/* Appends one entry. Returns HSMCA_OK only once the whole line is written
 * (and, by default, durable); on any failure nothing of the entry is in the
 * file and the chain is unchanged — the caller must then refuse the request
 * (an unaudited change must not happen). HSMCA_ERR_HSM_UNAVAILABLE when the
 * token cannot MAC. Thread-safe: entries get one total order. The program
 * must ignore SIGXFSZ so that a file-size limit is an error, not death. */
hsmca_rv hsmca_audit_log(hsmca_audit *log, const hsmca_audit_entry *e);

/* "hmac-sha256:<hex>" of value[len] with the log's key, as the log writes
 * redacted secrets: for values that must stay correlatable across entries
 * without being readable (e.g. a client token). out gets a NUL. */
hsmca_rv hsmca_audit_hmac_value(hsmca_audit *log, const void *value, size_t len,
                                char out[HSMCA_AUDIT_VALUE_LEN + 1]);

/* Whether a details key names a secret: after lowercasing and mapping '-'
 * to '_', it is, or ends in '_' followed by, one of: token, private_key,
 * private_keys, pem_bundle, pin, password, passphrase, secret, secret_id,
 * hmac_key, authorization. */
bool hsmca_audit_is_secret_name(const char *name);

typedef struct {
    uint64_t entries;  /* lines written by this object, start entries included */
    uint64_t syncs;    /* fdatasync calls (one serves a group of lines) */
    uint64_t failures; /* hsmca_audit_log calls that failed */
    uint64_t last_seq; /* seq of the chain's last entry */
    char last_hmac[HSMCA_AUDIT_HEX_LEN + 1]; /* HMAC of that entry */
} hsmca_audit_stats;

void hsmca_audit_get_stats(hsmca_audit *log, hsmca_audit_stats *out);

typedef struct {
    uint64_t entries;  /* lines that verified before the first broken one */
    uint64_t bad_line; /* first broken line, 1-based; 0 if none */
    char reason[256];  /* why bad_line is broken */
    char first_prev[HSMCA_AUDIT_HEX_LEN + 1]; /* what line 1 chains from */
    char last_hmac[HSMCA_AUDIT_HEX_LEN + 1];  /* HMAC of the last good line */
    uint64_t first_seq, last_seq;
} hsmca_audit_verify_result;

/* Verifies the file at path with the token's key (never created here):
 * every line's format and HMAC, and its link to the line before. Line 1
 * must chain from prev_hex (64 hex digits) when given, else be a start
 * entry. HSMCA_OK: the file verified. HSMCA_ERR_INVALID_ARG with
 * res->bad_line set and a "line K: reason" detail: it did not. Any other
 * rv: it could not be checked (file unreadable, key missing, token away). */
hsmca_rv hsmca_audit_verify(hsmca_p11_token *tok, const char *path, const char *prev_hex,
                            hsmca_audit_verify_result *res);

#ifdef __cplusplus
}
#endif
#endif
