/* SPDX-License-Identifier: Apache-2.0 */
/* UUID text formatting and parsing. */
#include "hsmca/uuid.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void hsmca_uuid_format(const unsigned char b[16], char out[HSMCA_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}

int hsmca_uuid_parse(const char *text, unsigned char bytes[16])
{
    size_t i = 0, b = 0;

    if (text == NULL || strlen(text) != HSMCA_UUID_STR_LEN)
        return 0;
    while (b < 16) {
        int hi, lo;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return 0;
            i++;
            continue;
        }
        hi = hexval(text[i]);
        lo = hexval(text[i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        bytes[b++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    return 1;
}

void hsmca_uuid_set_version(unsigned char bytes[16], unsigned version)
{
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | ((version & 0x0f) << 4));
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
}
