/* SPDX-License-Identifier: Apache-2.0 */
/* Input rules the store enforces at its boundary, before anything reaches
 * the database: lengths, characters, JSON well-formedness, serial sizes. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

const char *store_quote(const char *value, char *buf, size_t cap)
{
    size_t o = 0;

    /* Error details end up in logs and HTTP answers: show a bounded prefix
     * with control characters replaced, never the raw bytes. */
    if (cap < 4) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    for (size_t i = 0; value[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)value[i];
        char out = value[i];

        if (o + 4 >= cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7f)
            out = '?';
        buf[o++] = out;
    }
    buf[o] = '\0';
    return buf;
}

hsmca_rv store_check_name(const char *field, const char *value, size_t max, bool allow_empty)
{
    char q[48];
    size_t len;

    if (value == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing (NULL)", field);
    /* strnlen bounds the scan: an unterminated or huge value costs max+1. */
    len = strnlen(value, max + 1);
    if (len > max)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s': longer than the maximum of %zu bytes", field,
                         store_quote(value, q, sizeof(q)), max);
    if (len == 0 && !allow_empty)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must not be empty", field);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        /* Names end up in error details, logs and URL paths. */
        if (ch < 0x20 || ch == 0x7f)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "%s '%s': control character 0x%02x at offset %zu is not allowed", field,
                             store_quote(value, q, sizeof(q)), ch, i);
    }
    return HSMCA_OK;
}

hsmca_rv store_check_json(const char *field, const char *text, bool object_only)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    json_error_t jerr;
    json_t *j = NULL;
    size_t len;

    if (text == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing (NULL)", field);
        goto done;
    }
    len = strnlen(text, (size_t)STORE_TEXT_MAX + 1);
    if (len > STORE_TEXT_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: longer than the maximum of %u bytes", field,
                       (unsigned)STORE_TEXT_MAX);
        goto done;
    }
    /* Documents are read back by other code (and other backends) that
     * trusts them to parse; duplicate keys are refused because two readers
     * could pick different values. */
    j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: not valid JSON text: %s at line %d column %d", field,
                       jerr.text, jerr.line, jerr.column);
        goto done;
    }
    if (object_only && !json_is_object(j)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be a JSON object", field);
        goto done;
    }
    rv = HSMCA_OK;
done:
    json_decref(j);
    return rv;
}

hsmca_rv store_check_serial(const char *field, const unsigned char *serial, size_t len)
{
    if (serial == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing (NULL)", field);
    /* RFC 5280 4.1.2.2: at most 20 octets. */
    if (len < 1 || len > HSMCA_STORE_SERIAL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: length %zu octets is outside 1..%d", field, len,
                         HSMCA_STORE_SERIAL_MAX);
    return HSMCA_OK;
}
