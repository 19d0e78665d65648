/* SPDX-License-Identifier: Apache-2.0 */
/* Duration and RFC 3339 timestamp parsing/formatting with OpenBao's (Go's)
 * exact acceptance rules, so a TTL means the same here as on OpenBao. */
#include "hsmca/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_SEC   INT64_C(1000000000)
#define SECS_PER_DAY INT64_C(86400)
#define TWO63        (UINT64_C(1) << 63)
/* unix seconds of 0000-01-01T00:00:00Z, the earliest a 4-digit year gives */
#define UNIX_YEAR0 INT64_C(-62167219200)

/* The one message for a duration beyond int64 nanoseconds, as Go says it. */
static hsmca_rv out_of_range(const char *s)
{
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "'%s' is not a duration: out of range (about 292 years)", s);
}

static hsmca_rv not_rfc3339(const char *s)
{
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "'%.*s' is not an RFC 3339 date and time (expected YYYY-MM-DDTHH:MM:SSZ, e.g. "
                     "9999-12-31T23:59:59Z)",
                     HSMCA_DURATION_TEXT_MAX, s);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, at least one digit,
 * nothing else (no spaces, no underscores with an explicit base). */
static bool parse_int64_strict(const char *s, size_t len, int64_t *out)
{
    bool neg = false;
    uint64_t v = 0;
    size_t i = 0;

    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        if (v > TWO63 / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > TWO63)
            return false;
    }
    if (!neg && v > TWO63 - 1)
        return false;
    *out = neg ? (v == TWO63 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

/* time.ParseDuration's unit table; "µs" is U+00B5, "μs" U+03BC. */
static uint64_t unit_ns(const char *u, size_t len)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},       {"us", 1000},      {"\xc2\xb5s", 1000},          {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)}, {"h", UINT64_C(3600000000000)},
    };

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0)
            return units[i].ns;
    }
    return 0;
}

hsmca_rv hsmca_duration_parse_go(const char *s, int64_t *ns)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    const char *p;
    uint64_t total = 0;
    bool neg = false;

    if (s == NULL || ns == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "no duration given");
    if (strnlen(s, HSMCA_DURATION_TEXT_MAX + 1) > HSMCA_DURATION_TEXT_MAX) {
        rv = hsmca_err(rv, "duration is longer than %d characters", HSMCA_DURATION_TEXT_MAX);
        goto done;
    }
    p = s;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    /* Go accepts a bare "0" (and "+0", "-0") without a unit, nothing else. */
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        rv = HSMCA_OK;
        goto done;
    }
    if (*p == '\0') {
        rv = hsmca_err(rv, "'%s' is not a duration", s);
        goto done;
    }
    while (*p != '\0') {
        uint64_t v = 0, f = 0, unit;
        double scale = 1.0;
        bool pre = false, post = false, frac_overflow = false;
        const char *u;

        if (!(*p == '.' || is_digit(*p))) {
            rv = hsmca_err(rv, "'%s' is not a duration: expected a number at '%s'", s, p);
            goto done;
        }
        for (; is_digit(*p); p++) {
            pre = true;
            if (v > TWO63 / 10) {
                rv = out_of_range(s);
                goto done;
            }
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > TWO63) {
                rv = out_of_range(s);
                goto done;
            }
        }
        if (*p == '.') {
            p++;
            /* Digits past what fits are consumed but ignored, as Go does. */
            for (; is_digit(*p); p++) {
                post = true;
                if (frac_overflow)
                    continue;
                if (f > (TWO63 - 1) / 10) {
                    frac_overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*p - '0');
                if (y > TWO63) {
                    frac_overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
        }
        if (!pre && !post) {
            rv = hsmca_err(rv, "'%s' is not a duration: '.' without digits", s);
            goto done;
        }
        u = p;
        while (*p != '\0' && *p != '.' && !is_digit(*p))
            p++;
        if (p == u) {
            rv = hsmca_err(rv, "'%s' is not a duration: missing unit (ns, us, ms, s, m or h)", s);
            goto done;
        }
        unit = unit_ns(u, (size_t)(p - u));
        if (unit == 0) {
            rv = hsmca_err(rv, "'%s' is not a duration: unknown unit '%.*s' (ns, us, ms, s, m or h)", s,
                           (int)(p - u), u);
            goto done;
        }
        if (v > TWO63 / unit) {
            rv = out_of_range(s);
            goto done;
        }
        v *= unit;
        if (f > 0) {
            /* Go computes the fraction in float64 too (nanosecond-exact up
             * to hours, the largest unit). */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > TWO63) {
                rv = out_of_range(s);
                goto done;
            }
        }
        total += v;
        if (total > TWO63) {
            rv = out_of_range(s);
            goto done;
        }
    }
    if (neg) {
        *ns = total == TWO63 ? INT64_MIN : -(int64_t)total;
    } else {
        if (total > TWO63 - 1) {
            rv = out_of_range(s);
            goto done;
        }
        *ns = (int64_t)total;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv hsmca_duration_parse_seconds(const char *s, int64_t *secs)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    size_t len;
    int64_t v = 0, ns = 0;

    if (s == NULL || secs == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "no duration given");
    len = strnlen(s, HSMCA_DURATION_TEXT_MAX + 1);
    if (len > HSMCA_DURATION_TEXT_MAX) {
        rv = hsmca_err(rv, "duration is longer than %d characters", HSMCA_DURATION_TEXT_MAX);
        goto done;
    }
    if (len == 0) {
        *secs = 0;
        rv = HSMCA_OK;
        goto done;
    }
    /* parseutil tries a plain integer (seconds) first; the product must fit
     * a Go time.Duration (int64 nanoseconds) or it is an overflow error. */
    if (parse_int64_strict(s, len, &v)) {
        if (__builtin_mul_overflow(v, NS_PER_SEC, &ns)) {
            rv = hsmca_err(rv, "'%s' seconds is out of range (about 292 years)", s);
            goto done;
        }
        *secs = v;
        rv = HSMCA_OK;
        goto done;
    }
    /* "<integer>d": days, and only a whole number of them ("1d12h" is an
     * error in parseutil, not 36 hours). */
    if (s[len - 1] == 'd') {
        if (!parse_int64_strict(s, len - 1, &v)) {
            rv = hsmca_err(rv, "'%s' is not a duration: a day count must be a whole number ('7d')", s);
            goto done;
        }
        if (__builtin_mul_overflow(v, SECS_PER_DAY * NS_PER_SEC, &ns)) {
            rv = hsmca_err(rv, "'%s' is out of range (about 292 years)", s);
            goto done;
        }
        *secs = v * SECS_PER_DAY;
        rv = HSMCA_OK;
        goto done;
    }
    rv = hsmca_duration_parse_go(s, &ns);
    if (rv != HSMCA_OK)
        goto done;
    /* int(d.Seconds()): C division truncates toward zero, as Go's int() does. */
    *secs = ns / NS_PER_SEC;
done:
    return rv;
}

size_t hsmca_duration_format(int64_t secs, char *buf, size_t size)
{
    /* Go prints hours as the largest unit ("days can be different lengths"). */
    uint64_t u = secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;
    uint64_t h = u / 3600, m = (u / 60) % 60, s = u % 60;
    const char *sign = secs < 0 ? "-" : "";
    int n;

    if (u == 0)
        n = snprintf(buf, size, "0s");
    else if (h > 0)
        n = snprintf(buf, size, "%s%lluh%llum%llus", sign, (unsigned long long)h, (unsigned long long)m,
                     (unsigned long long)s);
    else if (m > 0)
        n = snprintf(buf, size, "%s%llum%llus", sign, (unsigned long long)m, (unsigned long long)s);
    else
        n = snprintf(buf, size, "%s%llus", sign, (unsigned long long)s);
    return n < 0 ? 0 : (size_t)n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the era-of-400-years
 * method: every 400 years have exactly 146097 days). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

/* n fixed digits at s; false if any is not a digit. */
static bool fixed_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The fields of an RFC 3339 date-time (Go time.RFC3339 layout), without
 * range checks; false on a syntax error. f: year, month, day, hour, minute,
 * second, offset hours, offset minutes; *sign: -1, 0 (Z) or 1. */
static bool rfc3339_fields(const char *s, int f[8], int *sign)
{
    const char *p;

    f[6] = f[7] = 0;
    *sign = 0;
    if (strnlen(s, HSMCA_DURATION_TEXT_MAX + 1) > HSMCA_DURATION_TEXT_MAX || strnlen(s, 19) < 19)
        return false;
    /* Fixed layout "2006-01-02T15:04:05" (RFC 3339 5.6). */
    if (!fixed_digits(s, 4, &f[0]) || s[4] != '-' || !fixed_digits(s + 5, 2, &f[1]) || s[7] != '-' ||
        !fixed_digits(s + 8, 2, &f[2]) || s[10] != 'T' || !fixed_digits(s + 11, 2, &f[3]) || s[13] != ':' ||
        !fixed_digits(s + 14, 2, &f[4]) || s[16] != ':' || !fixed_digits(s + 17, 2, &f[5]))
        return false;
    p = s + 19;
    /* A fraction of a second is accepted and dropped: certificates carry
     * whole seconds (RFC 5280 4.1.2.5.1/4.1.2.5.2 forbid fractions). */
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            p++;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        *sign = *p == '-' ? -1 : 1;
        if (!fixed_digits(p + 1, 2, &f[6]) || p[3] != ':' || !fixed_digits(p + 4, 2, &f[7]))
            return false;
        p += 6;
    } else {
        return false;
    }
    return *p == '\0';
}

hsmca_rv hsmca_time_parse_rfc3339(const char *s, int64_t *unix_secs)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    int f[8], sign;
    int64_t t;

    if (s == NULL || unix_secs == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "no timestamp given");
    if (!rfc3339_fields(s, f, &sign)) {
        rv = not_rfc3339(s);
        goto done;
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > days_in_month(f[0], f[1]) || f[3] > 23 || f[4] > 59 ||
        f[5] > 59 || f[6] > 23 || f[7] > 59) {
        rv = hsmca_err(rv, "'%s' is not a valid date and time: a field is out of range", s);
        goto done;
    }
    t = days_from_civil(f[0], f[1], f[2]) * SECS_PER_DAY + f[3] * 3600 + f[4] * 60 + f[5];
    /* "+02:00" means local time is ahead of UTC: subtract the offset. */
    t -= (int64_t)sign * (f[6] * 3600 + f[7] * 60);
    *unix_secs = t;
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv hsmca_time_format_rfc3339(int64_t unix_secs, char *buf, size_t size)
{
    int64_t days, rem, y;
    int m, d;

    if (buf == NULL || size < HSMCA_RFC3339_BUF)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "timestamp buffer is smaller than %d bytes",
                         HSMCA_RFC3339_BUF);
    if (unix_secs < UNIX_YEAR0 || unix_secs > HSMCA_TIME_UNIX_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "time %lld is outside years 0000..9999",
                         (long long)unix_secs);
    /* Floor division so times before 1970 land on the right day. */
    days = unix_secs / SECS_PER_DAY;
    rem = unix_secs % SECS_PER_DAY;
    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    return HSMCA_OK;
}
