/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint, validity rules: the strict RFC 5280 Time encodings,
 * notBefore/notAfter order, the issuer's notAfter, and the CA/Browser Forum
 * maximum validity schedule (BR 6.3.2). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "lint_internal.h"

#define SECONDS_PER_DAY 86400
/* Room for any int64 time as text (the compiler cannot see the dates we
 * format are 4-digit years). */
#define TIME_TEXT_MAX 80

typedef struct {
    int64_t unix_time;
    int year;
    bool generalized; /* GeneralizedTime (else UTCTime) */
} parsed_time;

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

/* Value of the n decimal digits at p; false if any is not a digit. */
static bool digits(const unsigned char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    bool ok = true;

    for (size_t i = 0; i < n && ok; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return ok;
}

/* Formats unix seconds as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" for messages. */
static const char *time_text(int64_t t, char *buf, size_t len)
{
    /* civil_from_days (Howard Hinnant), the inverse of
     * lint_days_from_civil. */
    int64_t days = (t >= 0 ? t : t - (SECONDS_PER_DAY - 1)) / SECONDS_PER_DAY;
    int64_t secs = t - days * SECONDS_PER_DAY;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y, (long long)m, (long long)d,
             (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
    return buf;
}

/* RFC 5280 4.1.2.5.1 (UTCTime) and 4.1.2.5.2 (GeneralizedTime): Zulu,
 * seconds always present, no fractional seconds. The shapes are fixed, so
 * the check is on the exact length and every octet; OpenSSL's own parser
 * accepts more (offsets, missing seconds), hence not used for the TBS. */
static hsmca_rv parse_time(lint_ctx *ctx, const ASN1_TIME *t, const char *field, parsed_time *out)
{
    char shown[LINT_VALUE_MAX];
    const unsigned char *p;
    unsigned year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
    size_t len, ylen;
    int type;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    memset(out, 0, sizeof(*out));
    if (t == NULL) {
        rv = lint_fail(ctx, LINT_VALIDITY_TIME_FORMAT, "%s is missing", field);
        goto done;
    }
    type = ASN1_STRING_type(t);
    p = ASN1_STRING_get0_data(t);
    len = (size_t)ASN1_STRING_length(t);
    lint_render(p, len, shown, sizeof(shown));
    if (type == V_ASN1_UTCTIME) {
        ylen = 2;
    } else if (type == V_ASN1_GENERALIZEDTIME) {
        ylen = 4;
    } else {
        rv = lint_fail(ctx, LINT_VALIDITY_TIME_FORMAT, "%s '%s' is neither UTCTime nor GeneralizedTime",
                       field, shown);
        goto done;
    }
    if (len != ylen + 11 || p[len - 1] != 'Z' || !digits(p, ylen, &year) || !digits(p + ylen, 2, &mon) ||
        !digits(p + ylen + 2, 2, &day) || !digits(p + ylen + 4, 2, &hour) || !digits(p + ylen + 6, 2, &min) ||
        !digits(p + ylen + 8, 2, &sec)) {
        rv = lint_fail(ctx, LINT_VALIDITY_TIME_FORMAT, "%s %s '%s' is not %s", field,
                       ylen == 2 ? "UTCTime" : "GeneralizedTime", shown,
                       ylen == 2 ? "YYMMDDHHMMSSZ" : "YYYYMMDDHHMMSSZ");
        goto done;
    }
    /* RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY. */
    if (ylen == 2)
        year += year >= 50 ? 1900 : 2000;
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month((int)year, mon) || hour > 23 || min > 59 ||
        sec > 59) {
        rv = lint_fail(ctx, LINT_VALIDITY_TIME_FORMAT, "%s '%s' is not a valid date and time", field, shown);
        goto done;
    }
    out->year = (int)year;
    out->generalized = ylen == 4;
    out->unix_time = lint_days_from_civil((int64_t)year, mon, day) * SECONDS_PER_DAY + (int64_t)hour * 3600 +
                     (int64_t)min * 60 + (int64_t)sec;
    rv = HSMCA_OK;
done:
    return rv;
}

/* RFC 5280 4.1.2.5: through 2049 UTCTime, from 2050 GeneralizedTime. A
 * UTCTime cannot hold 2050 or later at all (its "51" is 1951), so only a
 * GeneralizedTime before 2050 can break this; a CA that meant 2051 but
 * wrote UTCTime gets 1951 and fails validity.order instead. */
static hsmca_rv check_time_type(lint_ctx *ctx, const parsed_time *t, const char *field)
{
    char when[TIME_TEXT_MAX];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (t->generalized && t->year < 2050) {
        rv = lint_fail(ctx, LINT_VALIDITY_TIME_TYPE,
                       "%s %s is GeneralizedTime; dates through 2049 must be UTCTime", field,
                       time_text(t->unix_time, when, sizeof(when)));
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* The issuer's notAfter, read leniently: the issuer may come from another
 * CA, and any time OpenSSL can read is good enough to compare against. */
static bool issuer_not_after(const X509 *issuer, int64_t *out)
{
    struct tm tm;
    bool ok = false;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(X509_get0_notAfter(issuer), &tm) != 1)
        goto done;
    *out = lint_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
               SECONDS_PER_DAY +
           (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + (int64_t)tm.tm_sec;
    ok = true;
done:
    return ok;
}

hsmca_rv lint_check_validity(lint_ctx *ctx)
{
    parsed_time nb, na;
    char a[TIME_TEXT_MAX], b[TIME_TEXT_MAX];
    int64_t limit = 0;
    hsmca_rv rv;

    if ((rv = parse_time(ctx, X509_get0_notBefore(ctx->tbs), "notBefore", &nb)) != HSMCA_OK)
        goto done;
    if ((rv = parse_time(ctx, X509_get0_notAfter(ctx->tbs), "notAfter", &na)) != HSMCA_OK)
        goto done;
    if ((rv = check_time_type(ctx, &nb, "notBefore")) != HSMCA_OK)
        goto done;
    if ((rv = check_time_type(ctx, &na, "notAfter")) != HSMCA_OK)
        goto done;
    if (nb.unix_time >= na.unix_time) {
        rv = lint_fail(ctx, LINT_VALIDITY_ORDER, "notBefore %s is not before notAfter %s",
                       time_text(nb.unix_time, a, sizeof(a)), time_text(na.unix_time, b, sizeof(b)));
        goto done;
    }
    ctx->not_before = nb.unix_time;
    ctx->not_after = na.unix_time;
    /* A root has nobody above it; "permit" is the issuer's explicit
     * leaf_not_after_behavior (OpenBao), chosen by the operator. */
    if (ctx->is_root || ctx->opts->permit_beyond_issuer) {
        rv = HSMCA_OK;
        goto done;
    }
    if (!issuer_not_after(ctx->issuer, &limit)) {
        rv = lint_fail(ctx, LINT_VALIDITY_BEYOND_ISSUER, "the issuing CA's notAfter cannot be read");
        goto done;
    }
    if (na.unix_time > limit) {
        rv = lint_fail(
            ctx, LINT_VALIDITY_BEYOND_ISSUER,
            "notAfter %s is after the issuing CA's notAfter %s (leaf_not_after_behavior is not permit)",
            time_text(na.unix_time, a, sizeof(a)), time_text(limit, b, sizeof(b)));
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* BR 6.3.2 (ballot SC-081v3): the maximum Validity Period of a Subscriber
 * Certificate by the date it is issued. The Validity Period counts both
 * ends (RFC 5280 4.1.2.5 "inclusive", BR 1.6.1), and "a day is measured as
 * 86,400 seconds; any amount of time greater than this ... shall represent
 * an additional day" (BR 6.3.2). The issuance date is the later of
 * notBefore (what zlint and every outside linter judge by) and the
 * signing time opts->now, so a backdated notBefore cannot reach back into
 * a longer tier. */
hsmca_rv lint_check_cabf_validity(lint_ctx *ctx)
{
    const int64_t tier_2026 = lint_days_from_civil(2026, 3, 15) * SECONDS_PER_DAY;
    const int64_t tier_2027 = lint_days_from_civil(2027, 3, 15) * SECONDS_PER_DAY;
    const int64_t tier_2029 = lint_days_from_civil(2029, 3, 15) * SECONDS_PER_DAY;
    int64_t issued = ctx->not_before, period, max_days;
    char when[TIME_TEXT_MAX];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (ctx->opts->now > issued)
        issued = ctx->opts->now;
    if (issued < tier_2026)
        max_days = 398;
    else if (issued < tier_2027)
        max_days = 200;
    else if (issued < tier_2029)
        max_days = 100;
    else
        max_days = 47;
    period = ctx->not_after - ctx->not_before + 1;
    if (period > max_days * SECONDS_PER_DAY) {
        rv = lint_fail(
            ctx, LINT_CABF_VALIDITY,
            "validity of %lld seconds (%lld days counting a part day as a day) exceeds the %lld days "
            "allowed for leaves issued %s",
            (long long)period, (long long)((period + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY),
            (long long)max_days, time_text(issued, when, sizeof(when)));
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}
