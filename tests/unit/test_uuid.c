/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/util/uuid.c: RFC 9562 text form, parsing and the
 * version/variant bits of key_ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hsmca/uuid.h"

static const unsigned char sample[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                         0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const char sample_text[] = "00112233-4455-6677-8899-aabbccddeeff";

static void test_format(void **state)
{
    char out[HSMCA_UUID_STR_LEN + 1];

    (void)state;
    memset(out, 'x', sizeof(out));
    hsmca_uuid_format(sample, out);
    assert_string_equal(out, sample_text);
    assert_int_equal(strlen(out), HSMCA_UUID_STR_LEN);
}

static void test_format_extremes(void **state)
{
    unsigned char zero[16] = {0}, ones[16];
    char out[HSMCA_UUID_STR_LEN + 1];

    (void)state;
    memset(ones, 0xff, sizeof(ones));
    hsmca_uuid_format(zero, out);
    assert_string_equal(out, "00000000-0000-0000-0000-000000000000");
    hsmca_uuid_format(ones, out);
    assert_string_equal(out, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void test_parse_lower_and_upper(void **state)
{
    unsigned char b[16];

    (void)state;
    memset(b, 0, sizeof(b));
    assert_int_equal(hsmca_uuid_parse(sample_text, b), 1);
    assert_memory_equal(b, sample, 16);
    memset(b, 0, sizeof(b));
    assert_int_equal(hsmca_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", b), 1);
    assert_memory_equal(b, sample, 16);
    memset(b, 0, sizeof(b));
    assert_int_equal(hsmca_uuid_parse("00112233-4455-6677-8899-AaBbCcDdEeFf", b), 1);
    assert_memory_equal(b, sample, 16);
}

static void test_roundtrip(void **state)
{
    unsigned char in[16], back[16];
    char text[HSMCA_UUID_STR_LEN + 1];

    (void)state;
    /* Every byte value appears in some position. */
    for (unsigned base = 0; base < 256; base += 16) {
        for (unsigned i = 0; i < 16; i++)
            in[i] = (unsigned char)(base + i * 7);
        hsmca_uuid_format(in, text);
        assert_int_equal(hsmca_uuid_parse(text, back), 1);
        assert_memory_equal(in, back, 16);
    }
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "00112233-4455-6677-8899-aabbccddeef",   /* 35 characters */
        "00112233-4455-6677-8899-aabbccddeeff0", /* 37 characters */
        "00112233445566778899aabbccddeeff",      /* no hyphens */
        "0011223-34455-6677-8899-aabbccddeeff",  /* hyphen misplaced */
        "00112233-4455-6677-8899_aabbccddeeff",  /* wrong separator */
        "00112233-4455-6677-88990aabbccddeeff",  /* separator is a digit */
        "0011223g-4455-6677-8899-aabbccddeeff",  /* not hex */
        "00112233-4455-6677-8899-aabbccddee f",  /* space */
        " 0112233-4455-6677-8899-aabbccddeeff",  /* leading space */
        "{00112233-4455-6677-8899-aabbccddeeff}",
        "urn:uuid:00112233-4455-6677-8899-aabbccddeeff",
        "00112233-4455-6677-8899-aabbccddeeff\n",
        "+0112233-4455-6677-8899-aabbccddeeff", /* sign is not a digit */
        "0x112233-4455-6677-8899-aabbccddeeff",
        "00112233-4455-6677-8899-aabbccddee-f",
        "------------------------------------",
    };
    unsigned char b[16];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hsmca_uuid_parse(bad[i], b) != 0)
            fail_msg("hsmca_uuid_parse accepted '%s'", bad[i]);
    }
    assert_int_equal(hsmca_uuid_parse(NULL, b), 0);
}

static void test_parse_stops_at_nul(void **state)
{
    /* 36 bytes of storage but a NUL inside: the text is shorter than 36. */
    char text[HSMCA_UUID_STR_LEN + 1];
    unsigned char b[16];

    (void)state;
    memcpy(text, sample_text, sizeof(text));
    text[20] = '\0';
    assert_int_equal(hsmca_uuid_parse(text, b), 0);
}

static void test_set_version(void **state)
{
    unsigned char b[16];
    char text[HSMCA_UUID_STR_LEN + 1];

    (void)state;
    for (unsigned version = 1; version <= 8; version++) {
        for (int fill = 0; fill < 2; fill++) {
            memset(b, fill ? 0xff : 0x00, sizeof(b));
            hsmca_uuid_set_version(b, version);
            /* Version in the high nibble of byte 6; the low nibble kept. */
            assert_int_equal(b[6] >> 4, version);
            assert_int_equal(b[6] & 0x0f, fill ? 0x0f : 0x00);
            /* RFC 9562 variant 10xx in byte 8; the other 6 bits kept. */
            assert_int_equal(b[8] & 0xc0, 0x80);
            assert_int_equal(b[8] & 0x3f, fill ? 0x3f : 0x00);
            /* Nothing else changes. */
            for (unsigned i = 0; i < 16; i++) {
                if (i != 6 && i != 8)
                    assert_int_equal(b[i], fill ? 0xff : 0x00);
            }
            hsmca_uuid_format(b, text);
            assert_int_equal(text[14], "0123456789abcdef"[version]);
            assert_non_null(strchr("89ab", text[19]));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_extremes),
        cmocka_unit_test(test_parse_lower_and_upper),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_stops_at_nul),
        cmocka_unit_test(test_set_version),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
