/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of src/audit: the line format shared by the writer
 * and the verifier, the token key, and the redaction of secrets. */
#ifndef HSMCA_SRC_AUDIT_INTERNAL_H
#define HSMCA_SRC_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/audit.h"
#include "hsmca/p11.h"

/* The MAC key's CKA_ID: the label's 16 bytes, so pkcs11-tool shows which
 * object it is from either attribute. */
#define AUDIT_KEY_ID HSMCA_AUDIT_KEY_LABEL
#define AUDIT_KEY_ID_LEN (sizeof(AUDIT_KEY_ID) - 1)

/* Every line begins with this (docs/audit.md, "Line format"). */
#define AUDIT_LINE_HEAD "{\"v\":1,"
/* ... and ends with the prev member, then the hmac member and the brace:
 *   ...,"prev":"<64 hex>","hmac":"<64 hex>"}
 * The HMAC covers every byte before ,"hmac": — prev included. */
#define AUDIT_PREV_OPEN ",\"prev\":\""
#define AUDIT_HMAC_OPEN ",\"hmac\":\""
#define AUDIT_PREV_LEN (sizeof(AUDIT_PREV_OPEN) - 1 + HSMCA_AUDIT_HEX_LEN + 1)
#define AUDIT_TAIL_LEN (sizeof(AUDIT_HMAC_OPEN) - 1 + HSMCA_AUDIT_HEX_LEN + 2)

/* Value HMACs are taken over this prefix and the value, so no value HMAC
 * (which a caller may compute for anyone, e.g. an audit-hash endpoint) can
 * ever equal the HMAC of a line, whose input begins with '{'. */
#define AUDIT_VALUE_CONTEXT "hsmca-audit-value:"

/* RFC 3339 UTC with nanoseconds: 2025-01-31T23:59:59.123456789Z */
#define AUDIT_TIME_LEN 30

#define AUDIT_MAC_LEN HSMCA_P11_HMAC_SHA256_LEN

/* What the format check and the MAC found in one line. */
typedef struct {
    unsigned char prev[AUDIT_MAC_LEN];
    unsigned char hmac[AUDIT_MAC_LEN];
    uint64_t seq;
    bool is_start; /* "type":"start" */
} audit_line_info;

/* format.c */
void audit_hex(const unsigned char *b, size_t n, char *out);
/* Exactly 2n hex digits (upper or lower case) into out[n]. */
bool audit_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n);
void audit_time_now(char out[AUDIT_TIME_LEN + 1]);
hsmca_rv audit_key_open(hsmca_p11_token *tok, bool create, hsmca_p11_hmac_key **out);
/* Checks one line (without its '\n'): layout, HMAC in the token, JSON.
 * HSMCA_OK with why[0] == '\0': a good line, info filled. HSMCA_OK with why
 * set: the line is broken and why says how. Another rv: the token could
 * not be asked. */
hsmca_rv audit_line_check(hsmca_p11_hmac_key *key, const char *line, size_t len, audit_line_info *info,
                          char *why, size_t why_size);

/* redact.c */
hsmca_rv audit_value_hmac(hsmca_p11_hmac_key *key, const void *value, size_t len,
                          char out[HSMCA_AUDIT_VALUE_LEN + 1]);
/* A JSON string of s: NULL gives null; cut to max bytes at a character
 * boundary (with "..." appended); invalid UTF-8 becomes U+FFFD; a string
 * holding a PEM private key becomes its value HMAC. */
hsmca_rv audit_json_string(hsmca_p11_hmac_key *key, const char *s, size_t max, json_t **out);
/* A copy of the details object with secrets replaced by their HMAC. */
hsmca_rv audit_redact(hsmca_p11_hmac_key *key, const json_t *details, json_t **out);

#endif
