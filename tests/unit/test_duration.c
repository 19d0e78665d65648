/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/util/duration.c: Go's time.ParseDuration, parseutil's
 * ParseDurationSecond ("Nd", plain seconds), Duration.String() and RFC 3339. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hsmca/duration.h"

#define NS   INT64_C(1)
#define US   (1000 * NS)
#define MS   (1000 * US)
#define SEC  (1000 * MS)
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

typedef struct {
    const char *in;
    int64_t want;
} dur_case;

/* Go's own time.ParseDuration acceptance table, with its values. */
static const dur_case go_ok[] = {
    {"0", 0},
    {"5s", 5 * SEC},
    {"30s", 30 * SEC},
    {"1478s", 1478 * SEC},
    {"-5s", -5 * SEC},
    {"+5s", 5 * SEC},
    {"-0", 0},
    {"+0", 0},
    {"5.0s", 5 * SEC},
    {"5.6s", 5 * SEC + 600 * MS},
    {"5.s", 5 * SEC},
    {".5s", 500 * MS},
    {"1.0s", 1 * SEC},
    {"1.00s", 1 * SEC},
    {"1.004s", 1 * SEC + 4 * MS},
    {"1.0040s", 1 * SEC + 4 * MS},
    {"100.00100s", 100 * SEC + 1 * MS},
    {"10ns", 10 * NS},
    {"11us", 11 * US},
    {"12\xc2\xb5s", 12 * US}, /* U+00B5 micro sign */
    {"12\xce\xbcs", 12 * US}, /* U+03BC Greek mu */
    {"13ms", 13 * MS},
    {"14s", 14 * SEC},
    {"15m", 15 * MIN},
    {"16h", 16 * HOUR},
    {"3h30m", 3 * HOUR + 30 * MIN},
    {"10.5s4m", 4 * MIN + 10 * SEC + 500 * MS},
    {"-2m3.4s", -(2 * MIN + 3 * SEC + 400 * MS)},
    {"1h2m3s4ms5us6ns", 1 * HOUR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6 * NS},
    {"39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425 * MS},
    {"52763797000ns", 52763797000 * NS},
    {"0.3333333333333333333h", 20 * MIN},
    {"9007199254740993ns", INT64_C(9007199254740993)},
    {"9223372036854775807ns", INT64_MAX},
    {"9223372036854775.807us", INT64_MAX},
    {"9223372036s854ms775us807ns", INT64_MAX},
    {"-9223372036854775808ns", INT64_MIN},
    {"-9223372036854775.808us", INT64_MIN},
    {"0.100000000000000000000h", 6 * MIN},
    {"0.830103483285477580700h", 49 * MIN + 48 * SEC + 372539827 * NS},
};

static const char *const go_bad[] = {
    "",
    "3",
    "-",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "1d",
    "1x",
    "1h30",
    "\x85\x85",
    "\xff",
    "5 s",
    " 5s",
    "5s ",
    "hello world",
    "1..5s",
    "9223372036854775810ns",     /* overflow */
    "9223372036854775808ns",     /* one past INT64_MAX */
    "-9223372036854775809ns",    /* one past INT64_MIN */
    "9223372036854776us",        /* overflow in the unit product */
    "3000000h",                  /* overflow */
    "9223372036854775.808us",    /* overflow by the fraction */
    "9223372036854ms775us808ns", /* overflow in the sum */
};

static void test_parse_go_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(go_ok) / sizeof(go_ok[0]); i++) {
        int64_t ns = -42;

        if (hsmca_duration_parse_go(go_ok[i].in, &ns) != HSMCA_OK || ns != go_ok[i].want)
            fail_msg("Go ParseDuration('%s'): want %lld, got %lld (%s)", go_ok[i].in,
                     (long long)go_ok[i].want, (long long)ns, hsmca_err_message());
    }
}

static void test_parse_go_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(go_bad) / sizeof(go_bad[0]); i++) {
        int64_t ns = 0;

        hsmca_err_clear();
        if (hsmca_duration_parse_go(go_bad[i], &ns) != HSMCA_ERR_INVALID_ARG)
            fail_msg("Go ParseDuration must refuse '%s' (got %lld)", go_bad[i], (long long)ns);
        assert_true(strlen(hsmca_err_message()) > 0);
    }
    /* Longer than the bound: refused before parsing. */
    {
        char longdur[HSMCA_DURATION_TEXT_MAX + 8];
        int64_t ns;

        memset(longdur, '1', sizeof(longdur) - 2);
        longdur[sizeof(longdur) - 2] = 's';
        longdur[sizeof(longdur) - 1] = '\0';
        assert_int_equal(hsmca_duration_parse_go(longdur, &ns), HSMCA_ERR_INVALID_ARG);
        assert_non_null(strstr(hsmca_err_message(), "longer than"));
    }
}

static void test_parse_seconds(void **state)
{
    /* parseutil.ParseDurationSecond, then int(d.Seconds()). */
    static const dur_case ok[] = {
        {"", 0},
        {"0", 0},
        {"3600", 3600},
        {"+60", 60},
        {"-5", -5},
        {"007", 7},
        {"72h", 259200},
        {"30s", 30},
        {"1h30m", 5400},
        {"90m", 5400},
        {"1.5h", 5400},
        {"1500ms", 1},   /* truncated toward zero */
        {"-1500ms", -1}, /* truncated toward zero */
        {"999ms", 0},
        {"2d", 172800},
        {"+7d", 604800},
        {"0d", 0},
        {"9223372036", INT64_C(9223372036)},   /* largest whole-second Duration */
        {"106751d", INT64_C(106751) * 86400},  /* largest whole-day Duration */
        {"2562047h", INT64_C(2562047) * 3600}, /* largest whole-hour Duration */
    };
    static const char *const bad[] = {
        "abc", "1d12h", "1.5d", "d", "1h30", "9223372037", "106752d", "-106752d", "1 h", "1e3", "0x10",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t s = -42;

        if (hsmca_duration_parse_seconds(ok[i].in, &s) != HSMCA_OK || s != ok[i].want)
            fail_msg("ParseDurationSecond('%s'): want %lld, got %lld (%s)", ok[i].in, (long long)ok[i].want,
                     (long long)s, hsmca_err_message());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t s = 0;

        if (hsmca_duration_parse_seconds(bad[i], &s) != HSMCA_ERR_INVALID_ARG)
            fail_msg("ParseDurationSecond must refuse '%s' (got %lld)", bad[i], (long long)s);
    }
    assert_int_equal(hsmca_duration_parse_seconds(NULL, NULL), HSMCA_ERR_INVALID_ARG);
}

static void test_format(void **state)
{
    static const struct {
        int64_t secs;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {1, "1s"},
        {30, "30s"},
        {59, "59s"},
        {60, "1m0s"},
        {90, "1m30s"},
        {3599, "59m59s"},
        {3600, "1h0m0s"},
        {3661, "1h1m1s"},
        {259200, "72h0m0s"},
        {2764800, "768h0m0s"},
        {-90, "-1m30s"},
        {-3600, "-1h0m0s"},
        {INT64_C(9223372036), "2562047h47m16s"},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = hsmca_duration_format(cases[i].secs, buf, sizeof(buf));

        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* Truncation keeps the buffer terminated and reports the wanted size. */
    assert_int_equal(hsmca_duration_format(259200, buf, 4), strlen("72h0m0s"));
    assert_string_equal(buf, "72h");
}

static void test_format_parse_roundtrip(void **state)
{
    static const int64_t values[] = {0, 1, 59, 60, 61, 3599, 3600, 86399, 86400, 2764800, 31536000};
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t back = -1;

        hsmca_duration_format(values[i], buf, sizeof(buf));
        assert_int_equal(hsmca_duration_parse_seconds(buf, &back), HSMCA_OK);
        assert_int_equal(back, values[i]);
    }
}

static void test_rfc3339_parse(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2025-01-01T00:00:00Z", INT64_C(1735689600)},
        {"9999-12-31T23:59:59Z", INT64_C(253402300799)}, /* IEEE 802.1AR "no expiry" */
        {"0000-01-01T00:00:00Z", INT64_C(-62167219200)},
        {"1969-12-31T23:59:59Z", -1},
        {"2000-02-29T00:00:00Z", INT64_C(951782400)}, /* 2000 is a leap year */
        {"2024-02-29T12:00:00Z", INT64_C(1709208000)},
        {"2025-01-01T00:00:00.123Z", INT64_C(1735689600)}, /* fraction dropped */
        {"2025-01-01T00:00:00.999999999Z", INT64_C(1735689600)},
        {"2025-01-01T02:00:00+02:00", INT64_C(1735689600)},
        {"2024-12-31T19:00:00-05:00", INT64_C(1735689600)},
        {"2024-12-31T18:30:00-05:30", INT64_C(1735689600)},
        {"2038-01-19T03:14:08Z", INT64_C(2147483648)}, /* past 32-bit time_t */
        {"2050-01-01T00:00:00Z", INT64_C(2524608000)}, /* GeneralizedTime from here (RFC 5280) */
    };
    static const char *const bad[] = {
        "",
        "2025-01-01",
        "2025-01-01 00:00:00Z",
        "2025-01-01T00:00:00",
        "2025-1-01T00:00:00Z",
        "2025-01-1T00:00:00Z",
        "25-01-01T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z",
        "2025-01-32T00:00:00Z",
        "2025-01-00T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not a leap year */
        "2025-01-01T24:00:00Z",
        "2025-01-01T00:60:00Z",
        "2025-01-01T00:00:60Z", /* Go refuses leap seconds too */
        "2025-01-01t00:00:00Z",
        "2025-01-01T00:00:00z",
        "2025-01-01T00:00:00+2:00",
        "2025-01-01T00:00:00+24:00",
        "2025-01-01T00:00:00+02:60",
        "2025-01-01T00:00:00+0200",
        "2025-01-01T00:00:00Zjunk",
        "2025-01-01T00:00:00.Z",
        "10000-01-01T00:00:00Z",
        "-001-01-01T00:00:00Z",
        "2025-01-01T00:00:00Z\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t t = 42;

        if (hsmca_time_parse_rfc3339(ok[i].in, &t) != HSMCA_OK || t != ok[i].want)
            fail_msg("RFC 3339 '%s': want %lld, got %lld (%s)", ok[i].in, (long long)ok[i].want, (long long)t,
                     hsmca_err_message());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 0;

        if (hsmca_time_parse_rfc3339(bad[i], &t) != HSMCA_ERR_INVALID_ARG)
            fail_msg("RFC 3339 must refuse '%s' (got %lld)", bad[i], (long long)t);
    }
    assert_int_equal(hsmca_time_parse_rfc3339("2025-02-30T00:00:00Z", &(int64_t){0}), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "out of range"));
    assert_int_equal(hsmca_time_parse_rfc3339("yesterday", &(int64_t){0}), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "9999-12-31T23:59:59Z"));
}

static void test_rfc3339_format(void **state)
{
    static const struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {-1, "1969-12-31T23:59:59Z"},
        {INT64_C(1735689600), "2025-01-01T00:00:00Z"},
        {INT64_C(951782400), "2000-02-29T00:00:00Z"},
        {INT64_C(253402300799), "9999-12-31T23:59:59Z"},
        {INT64_C(-62167219200), "0000-01-01T00:00:00Z"},
    };
    char buf[HSMCA_RFC3339_BUF];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t back = 0;

        assert_int_equal(hsmca_time_format_rfc3339(cases[i].t, buf, sizeof(buf)), HSMCA_OK);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(hsmca_time_parse_rfc3339(buf, &back), HSMCA_OK);
        assert_int_equal(back, cases[i].t);
    }
    assert_int_equal(hsmca_time_format_rfc3339(INT64_C(253402300800), buf, sizeof(buf)),
                     HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_time_format_rfc3339(INT64_C(-62167219201), buf, sizeof(buf)),
                     HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_time_format_rfc3339(0, buf, 10), HSMCA_ERR_INVALID_ARG);
}

/* Every day of 400 years (one Gregorian cycle) formats and parses back. */
static void test_rfc3339_every_day(void **state)
{
    char buf[HSMCA_RFC3339_BUF];
    int64_t start = INT64_C(946684800); /* 2000-01-01 */
    int prev_day = 0;

    (void)state;
    for (int64_t d = 0; d < 146097; d++) {
        int64_t t = start + d * 86400 + 43261, back = 0; /* 12:01:01 */
        int day;

        assert_int_equal(hsmca_time_format_rfc3339(t, buf, sizeof(buf)), HSMCA_OK);
        assert_int_equal(hsmca_time_parse_rfc3339(buf, &back), HSMCA_OK);
        assert_int_equal(back, t);
        day = (buf[8] - '0') * 10 + (buf[9] - '0');
        assert_true(day == prev_day + 1 || day == 1);
        prev_day = day;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_go_accepts),       cmocka_unit_test(test_parse_go_rejects),
        cmocka_unit_test(test_parse_seconds),          cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_parse_roundtrip), cmocka_unit_test(test_rfc3339_parse),
        cmocka_unit_test(test_rfc3339_format),         cmocka_unit_test(test_rfc3339_every_day),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
