/* SPDX-License-Identifier: Apache-2.0 */
/* The DER buffer CRLs are encoded into: appends, headers written in front
 * once a length is known, and the few primitive encodings a CRL needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void rev_der_init(rev_der *b, size_t front, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
    b->cap = front + 4096;
    b->p = malloc(b->cap);
    if (b->p == NULL) {
        b->failed = true;
        b->cap = 0;
        return;
    }
    b->start = b->len = front;
}

void rev_der_free(rev_der *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool reserve(rev_der *b, size_t n)
{
    size_t cap;
    unsigned char *grown;

    if (b->failed)
        return false;
    if (n > b->max || b->len - b->start > b->max - n) {
        b->failed = true;
        return false;
    }
    if (b->cap - b->len >= n)
        return true;
    /* Doubling keeps a million appends at a few dozen reallocations. */
    cap = b->cap;
    while (cap - b->len < n)
        cap = cap < ((size_t)1 << 30) ? cap * 2 : cap + n;
    grown = realloc(b->p, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->p = grown;
    b->cap = cap;
    return true;
}

void rev_der_put(rev_der *b, const void *d, size_t n)
{
    if (n == 0 || !reserve(b, n))
        return;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

size_t rev_der_header(unsigned char out[6], unsigned char tag, size_t n)
{
    size_t k = 0;

    out[0] = tag;
    if (n < 0x80) {
        out[1] = (unsigned char)n;
        return 2;
    }
    for (size_t v = n; v != 0; v >>= 8)
        k++;
    if (k > 4)
        k = 4; /* callers bound n far below 4 GiB */
    out[1] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[2 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
    return 2 + k;
}

void rev_der_tlv(rev_der *b, unsigned char tag, const void *content, size_t n)
{
    unsigned char h[6];
    size_t hl = rev_der_header(h, tag, n);

    rev_der_put(b, h, hl);
    rev_der_put(b, content, n);
}

void rev_der_prepend(rev_der *b, const void *d, size_t n)
{
    if (b->failed)
        return;
    if (n > b->start) {
        b->failed = true; /* the room in front was sized too small: a bug */
        return;
    }
    b->start -= n;
    memcpy(b->p + b->start, d, n);
}

void rev_der_prepend_header(rev_der *b, unsigned char tag, size_t n)
{
    unsigned char h[6];
    size_t hl = rev_der_header(h, tag, n);

    rev_der_prepend(b, h, hl);
}

size_t rev_der_size(const rev_der *b)
{
    return b->len - b->start;
}

size_t rev_der_uint(const unsigned char *be, size_t n, unsigned char *out)
{
    size_t k = 0;

    while (n > 1 && be[0] == 0) {
        be++;
        n--;
    }
    if (n == 0 || (be[0] & 0x80))
        out[k++] = 0; /* positive: X.690 8.3 two's complement */
    if (n > 0)
        memcpy(out + k, be, n);
    return k + n;
}

size_t rev_der_int64(int64_t v, unsigned char out[9])
{
    unsigned char be[8];
    uint64_t u = v < 0 ? 0 : (uint64_t)v;

    for (int i = 7; i >= 0; i--, u >>= 8)
        be[i] = (unsigned char)u;
    return rev_der_uint(be, sizeof(be), out);
}

size_t rev_der_time(int64_t t, unsigned char out[17])
{
    struct tm tm;
    time_t tt = (time_t)t;
    char s[32]; /* room for any int the compiler imagines */
    int year;

    if (gmtime_r(&tt, &tm) == NULL)
        return 0;
    year = tm.tm_year + 1900;
    if (year < 1950 || year > 9999)
        return 0;
    if (year < 2050) {
        snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        out[0] = 0x17; /* UTCTime */
        out[1] = 13;
        memcpy(out + 2, s, 13);
        return 15;
    }
    snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    out[0] = 0x18; /* GeneralizedTime */
    out[1] = 15;
    memcpy(out + 2, s, 15);
    return 17;
}
