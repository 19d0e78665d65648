/* SPDX-License-Identifier: Apache-2.0 */
/* The audit line format shared by writer and verifier: hex, timestamps, the
 * token key, and the check of one line (layout, in-token HMAC, JSON). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"

void audit_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_digit(char c, bool lower_only)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (!lower_only && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* lower_only: the file's HMACs are lowercase, and the hmac member is not
 * covered by its own MAC, so accepting "A" for "a" there would let an edit
 * pass unnoticed. */
static bool unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n, bool lower_only)
{
    if (hexlen != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i], lower_only), lo = hex_digit(hex[2 * i + 1], lower_only);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

bool audit_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    return unhex(hex, hexlen, out, n, false);
}

void audit_time_now(char out[AUDIT_TIME_LEN + 1])
{
    struct timespec ts;
    struct tm tm;

    char date[32];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* Fixed width (for years 1000..9999), so lines sort and diff well. */
    n = strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, AUDIT_TIME_LEN + 1, "%.19s.%09ldZ", n == 19 ? date : "0000-00-00T00:00:00", (long)ts.tv_nsec);
}

hsmca_rv audit_key_open(hsmca_p11_token *tok, bool create, hsmca_p11_hmac_key **out)
{
    return hsmca_p11_hmac_key_open(tok, (const unsigned char *)AUDIT_KEY_ID, AUDIT_KEY_ID_LEN,
                                   HSMCA_AUDIT_KEY_LABEL, create, out);
}

/* The JSON check after the MAC verified: the line is one object of ours.
 * A line the key holder wrote always passes; this guards the reader
 * against our own bugs and gives the seq and type. */
static void check_json(const char *line, size_t len, const char *prev_hex, const char *hmac_hex,
                       audit_line_info *info, char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *seq, *type;

    if (obj == NULL || !json_is_object(obj)) {
        snprintf(why, why_size, "not a JSON object (%s)", obj == NULL ? jerr.text : "other JSON value");
        goto done;
    }
    seq = json_object_get(obj, "seq");
    type = json_object_get(obj, "type");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        snprintf(why, why_size, "member seq is not a positive integer");
        goto done;
    }
    if (!json_is_string(type) || !json_is_string(json_object_get(obj, "time"))) {
        snprintf(why, why_size, "member type or time is missing");
        goto done;
    }
    if (!json_is_string(json_object_get(obj, "prev")) || !json_is_string(json_object_get(obj, "hmac")) ||
        strcmp(json_string_value(json_object_get(obj, "prev")), prev_hex) != 0 ||
        strcmp(json_string_value(json_object_get(obj, "hmac")), hmac_hex) != 0) {
        snprintf(why, why_size, "members prev and hmac are not the line's last two");
        goto done;
    }
    info->seq = (uint64_t)json_integer_value(seq);
    info->is_start = strcmp(json_string_value(type), "start") == 0;
done:
    json_decref(obj);
}

hsmca_rv audit_line_check(hsmca_p11_hmac_key *key, const char *line, size_t len, audit_line_info *info,
                          char *why, size_t why_size)
{
    const size_t head = sizeof(AUDIT_LINE_HEAD) - 1;
    const size_t open_len = sizeof(AUDIT_HMAC_OPEN) - 1;
    unsigned char mac[AUDIT_MAC_LEN];
    char prev_hex[HSMCA_AUDIT_HEX_LEN + 1], hmac_hex[HSMCA_AUDIT_HEX_LEN + 1];
    const char *tail, *prev;
    size_t mac_len;
    hsmca_rv rv;

    why[0] = '\0';
    memset(info, 0, sizeof(*info));
    if (len < head + AUDIT_PREV_LEN + AUDIT_TAIL_LEN) {
        snprintf(why, why_size, "%zu bytes is too short for an audit entry", len);
        return HSMCA_OK;
    }
    if (memcmp(line, AUDIT_LINE_HEAD, head) != 0) {
        snprintf(why, why_size, "does not begin with %s", AUDIT_LINE_HEAD);
        return HSMCA_OK;
    }
    /* Fixed positions from the end: no JSON parsing decides which bytes
     * are MACed (docs/audit.md). */
    tail = line + len - AUDIT_TAIL_LEN;
    prev = tail - AUDIT_PREV_LEN;
    if (memcmp(tail, AUDIT_HMAC_OPEN, open_len) != 0 || line[len - 2] != '"' || line[len - 1] != '}' ||
        !unhex(tail + open_len, HSMCA_AUDIT_HEX_LEN, info->hmac, AUDIT_MAC_LEN, true)) {
        snprintf(why, why_size, "does not end with ,\"hmac\":\"<64 lowercase hex digits>\"}");
        return HSMCA_OK;
    }
    if (memcmp(prev, AUDIT_PREV_OPEN, open_len) != 0 || prev[AUDIT_PREV_LEN - 1] != '"' ||
        !unhex(prev + open_len, HSMCA_AUDIT_HEX_LEN, info->prev, AUDIT_MAC_LEN, true)) {
        snprintf(why, why_size, "has no ,\"prev\":\"<64 lowercase hex digits>\" before its hmac");
        return HSMCA_OK;
    }
    mac_len = len - AUDIT_TAIL_LEN;
    rv = hsmca_p11_hmac_sha256(key, (const unsigned char *)line, mac_len, mac);
    if (rv != HSMCA_OK)
        return rv;
    if (CRYPTO_memcmp(mac, info->hmac, AUDIT_MAC_LEN) != 0) {
        snprintf(why, why_size, "HMAC does not match: the line was changed, or written with another key");
        return HSMCA_OK;
    }
    audit_hex(info->prev, AUDIT_MAC_LEN, prev_hex);
    audit_hex(info->hmac, AUDIT_MAC_LEN, hmac_hex);
    check_json(line, len, prev_hex, hmac_hex, info, why, why_size);
    return HSMCA_OK;
}
