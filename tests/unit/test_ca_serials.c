/* SPDX-License-Identifier: Apache-2.0 */
/* Serial quality (issue #3): 100,000 serials from the token's generator —
 * no collision, all positive and at most 20 octets, at least 64 significant
 * bits, and every random bit position set with frequency 0.5 +- 0.01.
 * Also the text forms round-trip. env: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN,
 * HSMCA_TEST_PIN_FILE; HSMCA_SERIAL_COUNT overrides the count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/serial.h"

static hsmca_p11_token *tok;

static int setup(void **state)
{
    hsmca_p11_config pc;

    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    return hsmca_p11_token_open(&pc, &tok) == HSMCA_OK ? 0 : -1;
}

static int teardown(void **state)
{
    hsmca_p11_token_free(tok);
    return 0;
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(a, b, HSMCA_SERIAL_RANDOM_BYTES);
}

static void serial_quality(void **state)
{
    size_t n = getenv("HSMCA_SERIAL_COUNT") ? (size_t)atol(getenv("HSMCA_SERIAL_COUNT")) : 100000;
    unsigned char(*all)[HSMCA_SERIAL_RANDOM_BYTES] = calloc(n, HSMCA_SERIAL_RANDOM_BYTES);
    unsigned long ones[8 * HSMCA_SERIAL_RANDOM_BYTES] = {0};
    ASN1_INTEGER *ai = ASN1_INTEGER_new();

    assert_non_null(all);
    for (size_t i = 0; i < n; i++) {
        unsigned char s[HSMCA_SERIAL_MAX], back[HSMCA_SERIAL_MAX];
        size_t len = 0, back_len = 0;
        assert_int_equal(hsmca_serial_generate(tok, s, &len), HSMCA_OK);
        assert_true(len >= 1 && len <= HSMCA_SERIAL_MAX);
        /* positive, as DER will carry it (no forced sign octet needed) */
        assert_int_equal(hsmca_serial_to_asn1(s, len, ai), HSMCA_OK);
        assert_int_equal(ASN1_STRING_type(ai), V_ASN1_INTEGER);
        assert_int_equal(hsmca_serial_from_asn1(ai, back, &back_len), HSMCA_OK);
        assert_memory_equal(back, s, len);
        assert_true(i2d_ASN1_INTEGER(ai, NULL) - 2 <= HSMCA_SERIAL_MAX);
        /* left-pad to the 16 random bytes for the bit statistics */
        memset(all[i], 0, HSMCA_SERIAL_RANDOM_BYTES);
        memcpy(all[i] + HSMCA_SERIAL_RANDOM_BYTES - len, s, len);
        assert_true((all[i][0] & 0x80) == 0);
        for (size_t bit = 0; bit < 8 * HSMCA_SERIAL_RANDOM_BYTES; bit++)
            ones[bit] += (all[i][bit / 8] >> (7 - bit % 8)) & 1;
    }
    /* bit 0 is the sign bit, cleared on purpose; all others uniform */
    assert_int_equal(ones[0], 0);
    for (size_t bit = 1; bit < 8 * HSMCA_SERIAL_RANDOM_BYTES; bit++) {
        double f = (double)ones[bit] / (double)n;
        if (f < 0.49 || f > 0.51)
            fail_msg("bit %zu set with frequency %.4f over %zu serials (want 0.5 +- 0.01)", bit, f, n);
    }
    qsort(all, n, HSMCA_SERIAL_RANDOM_BYTES, cmp16);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(all[i - 1], all[i], HSMCA_SERIAL_RANDOM_BYTES) == 0)
            fail_msg("serial collision after sorting at %zu", i);
    }
    ASN1_INTEGER_free(ai);
    free(all);
}

static void serial_text_forms(void **state)
{
    unsigned char s[HSMCA_SERIAL_MAX];
    char text[HSMCA_SERIAL_TEXT_MAX + 1];
    size_t len = 0;

    assert_int_equal(hsmca_serial_parse("39:dd:2e:90", s, &len), HSMCA_OK);
    assert_int_equal(len, 4);
    hsmca_serial_format(s, len, text);
    assert_string_equal(text, "39:dd:2e:90");
    assert_int_equal(hsmca_serial_parse("39DD2E90", s, &len), HSMCA_OK);
    assert_int_equal(len, 4);
    assert_int_equal(hsmca_serial_parse("00:39-dd", s, &len), HSMCA_OK);
    assert_int_equal(len, 2); /* leading zero octets are not part of the number */
    assert_int_equal(hsmca_serial_parse("abc", s, &len), HSMCA_OK);
    assert_int_equal(len, 2);
    assert_int_equal(s[0], 0x0a);
    assert_int_equal(hsmca_serial_parse("", s, &len), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_serial_parse("zz", s, &len), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_serial_parse(":aa", s, &len), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_serial_parse("a:bb", s, &len), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_serial_parse("0102030405060708090a0b0c0d0e0f101112131415", s, &len),
                     HSMCA_ERR_INVALID_ARG); /* 21 octets */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serial_text_forms),
        cmocka_unit_test(serial_quality),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
