/* SPDX-License-Identifier: Apache-2.0 */
/* How serial numbers are stored: a fixed-width key whose byte order is the
 * numeric order, plus the caller's own octet count; and their hex form for
 * error details. */
#include <string.h>

#include "internal.h"

void store_serial_key(const unsigned char *serial, size_t len, unsigned char key[HSMCA_STORE_SERIAL_MAX])
{
    /* len is 1..20 (checked at the boundary). Left-padding with zeros keeps
     * the unsigned big-endian value, so memcmp (SQLite's BLOB collation)
     * orders keys as numbers whatever the callers' lengths, and 00:8f is the
     * same serial as 8f: RFC 5280 serials are integers, not octet strings. */
    memset(key, 0, HSMCA_STORE_SERIAL_MAX);
    if (len > HSMCA_STORE_SERIAL_MAX)
        len = HSMCA_STORE_SERIAL_MAX;
    memcpy(key + HSMCA_STORE_SERIAL_MAX - len, serial, len);
}

void store_serial_unkey(const unsigned char *key, size_t key_len, size_t serial_len,
                        unsigned char out[HSMCA_STORE_SERIAL_MAX])
{
    memset(out, 0, HSMCA_STORE_SERIAL_MAX);
    /* Both come from CHECK-constrained columns; clamp anyway so a damaged
     * row cannot make this read or write out of bounds. */
    if (key == NULL || key_len != HSMCA_STORE_SERIAL_MAX)
        return;
    if (serial_len < 1 || serial_len > HSMCA_STORE_SERIAL_MAX)
        serial_len = HSMCA_STORE_SERIAL_MAX;
    memcpy(out, key + HSMCA_STORE_SERIAL_MAX - serial_len, serial_len);
}

void store_serial_hex(const unsigned char *serial, size_t len, char out[STORE_SERIAL_HEX_MAX])
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;

    /* The colon-separated form OpenBao prints (serial_number). */
    if (len > HSMCA_STORE_SERIAL_MAX)
        len = HSMCA_STORE_SERIAL_MAX;
    for (size_t i = 0; i < len; i++) {
        if (i > 0)
            out[o++] = ':';
        out[o++] = digits[serial[i] >> 4];
        out[o++] = digits[serial[i] & 0xf];
    }
    out[o] = '\0';
}
