/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate serial numbers: generation from the token RNG, text forms,
 * ASN1_INTEGER conversion. */
#include "hsmca/serial.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

static size_t strip_leading_zeros(unsigned char *b, size_t len)
{
    size_t z = 0;

    while (z + 1 < len && b[z] == 0)
        z++;
    if (z > 0)
        memmove(b, b + z, len - z);
    return len - z;
}

hsmca_rv hsmca_serial_generate(hsmca_p11_token *tok, unsigned char out[HSMCA_SERIAL_MAX], size_t *len)
{
    unsigned char b[HSMCA_SERIAL_RANDOM_BYTES];
    hsmca_rv rv = hsmca_p11_token_random(tok, b, sizeof(b));

    if (rv != HSMCA_OK)
        return rv;
    /* Clearing only the sign bit keeps the number positive without making
     * any other bit predictable (issue #9: every random bit position is set
     * with frequency 0.5). */
    b[0] &= 0x7f;
    memcpy(out, b, sizeof(b));
    *len = strip_leading_zeros(out, sizeof(b));
    OPENSSL_cleanse(b, sizeof(b));
    return HSMCA_OK;
}

void hsmca_serial_format(const unsigned char *serial, size_t len, char *text)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (len > HSMCA_SERIAL_MAX)
        len = HSMCA_SERIAL_MAX;
    for (size_t i = 0; i < len; i++) {
        if (i > 0)
            text[o++] = ':';
        text[o++] = hex[serial[i] >> 4];
        text[o++] = hex[serial[i] & 0x0f];
    }
    text[o] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

hsmca_rv hsmca_serial_parse(const char *text, unsigned char out[HSMCA_SERIAL_MAX], size_t *len)
{
    unsigned char buf[2 * HSMCA_SERIAL_MAX + 2];
    size_t n = 0, digits = 0;
    int half = -1;

    *len = 0;
    if (text == NULL || text[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number is empty");
    if (strlen(text) > 3 * 2 * HSMCA_SERIAL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%.24s...' is too long", text);
    /* Separators are allowed only between octets. */
    for (const char *p = text; *p; p++) {
        int v;
        if (*p == ':' || *p == '-') {
            if (half >= 0 || p == text || p[1] == '\0')
                return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                 "serial number '%s' is not hex octets separated by ':'", text);
            continue;
        }
        v = hexval((unsigned char)*p);
        if (v < 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%s' has a non-hex character '%c'",
                             text, *p);
        digits++;
        if (half < 0) {
            half = v;
        } else {
            if (n >= sizeof(buf))
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%s' is too long", text);
            buf[n++] = (unsigned char)(half << 4 | v);
            half = -1;
        }
    }
    if (half >= 0) {
        /* An odd number of digits without separators: "abc" = 0x0abc. */
        char padded[3 * 2 * HSMCA_SERIAL_MAX + 2];
        if (strchr(text, ':') || strchr(text, '-'))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%s' has an incomplete octet", text);
        snprintf(padded, sizeof(padded), "0%s", text);
        return hsmca_serial_parse(padded, out, len);
    }
    if (digits == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%s' has no digits", text);
    n = strip_leading_zeros(buf, n);
    if (n > HSMCA_SERIAL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial number '%s' is longer than %d octets", text,
                         HSMCA_SERIAL_MAX);
    memcpy(out, buf, n);
    *len = n;
    return HSMCA_OK;
}

hsmca_rv hsmca_serial_to_asn1(const unsigned char *serial, size_t len, ASN1_INTEGER *out)
{
    BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
    hsmca_rv rv = HSMCA_OK;

    if (bn == NULL || BN_to_ASN1_INTEGER(bn, out) == NULL)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot encode the serial number");
    BN_free(bn);
    return rv;
}

hsmca_rv hsmca_serial_from_asn1(const ASN1_INTEGER *in, unsigned char out[HSMCA_SERIAL_MAX], size_t *len)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(in, NULL);
    hsmca_rv rv = HSMCA_OK;
    int n;

    *len = 0;
    if (bn == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate serial number cannot be read");
    if (BN_is_negative(bn) || BN_is_zero(bn)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate serial number is not positive");
    } else if ((n = BN_num_bytes(bn)) > HSMCA_SERIAL_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "certificate serial number is %d octets (at most %d)", n,
                       HSMCA_SERIAL_MAX);
    } else {
        BN_bn2bin(bn, out);
        *len = (size_t)n;
    }
    BN_free(bn);
    return rv;
}
