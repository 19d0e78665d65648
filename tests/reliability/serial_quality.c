/* SPDX-License-Identifier: Apache-2.0 */
/* Serial quality at scale (issue 9, item 4): N serials (default 1,000,000)
 * from hsmca_serial_generate on a real token, in-process. Pass: 0
 * collisions; every serial positive as DER carries it and at most 20
 * octets; every random bit position set with frequency 0.5 +- 0.005 (the
 * sign bit, cleared by design, never). Prints the figures it judged.
 *   serial_quality [N]     env: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN, HSMCA_TEST_PIN_FILE
 * Exit 0 pass, 1 fail, 77 no token configured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "hsmca/serial.h"

#define RB HSMCA_SERIAL_RANDOM_BYTES
#define TOLERANCE 0.005

static int cmp_serial(const void *a, const void *b)
{
    return memcmp(a, b, RB);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    hsmca_p11_config pc;
    hsmca_p11_token *tok = NULL;
    unsigned char (*all)[RB] = NULL;
    unsigned long *ones = NULL;
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    size_t collisions = 0, len_min = HSMCA_SERIAL_MAX, len_max = 0, worst_bit = 0;
    double worst = 0.0, t0, t_gen;
    int ret = 1;

    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if (pc.module_path == NULL || pc.token_label == NULL || pc.pin.file == NULL) {
        fprintf(stderr, "skip: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN and HSMCA_TEST_PIN_FILE name the token\n");
        return 77;
    }
    if (n < 1000 || n > 100000000) {
        fprintf(stderr, "FAIL: N %zu outside 1000..100000000\n", n);
        return 1;
    }
    all = calloc(n, RB);
    ones = calloc(8 * RB, sizeof(*ones));
    if (all == NULL || ones == NULL || ai == NULL) {
        fprintf(stderr, "FAIL: out of memory for %zu serials\n", n);
        goto done;
    }
    if (hsmca_p11_token_open(&pc, &tok) != HSMCA_OK) {
        fprintf(stderr, "FAIL: opening the token: %s\n", hsmca_err_message());
        goto done;
    }
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        unsigned char s[HSMCA_SERIAL_MAX];
        size_t len = 0;

        if (hsmca_serial_generate(tok, s, &len) != HSMCA_OK) {
            fprintf(stderr, "FAIL: serial %zu: %s\n", i, hsmca_err_message());
            goto done;
        }
        if (len < 1 || len > RB) {
            fprintf(stderr, "FAIL: serial %zu is %zu octets\n", i, len);
            goto done;
        }
        len_min = len < len_min ? len : len_min;
        len_max = len > len_max ? len : len_max;
        /* positive and <= 20 octets as the certificate's DER INTEGER holds it
         * (content octets: the encoding minus tag and length) */
        if (hsmca_serial_to_asn1(s, len, ai) != HSMCA_OK || ASN1_STRING_type(ai) != V_ASN1_INTEGER ||
            i2d_ASN1_INTEGER(ai, NULL) - 2 > HSMCA_SERIAL_MAX) {
            fprintf(stderr, "FAIL: serial %zu is not a positive INTEGER of at most 20 octets\n", i);
            goto done;
        }
        /* right-aligned in the 16 random bytes (leading zero octets were stripped) */
        memcpy(all[i] + RB - len, s, len);
        for (size_t bit = 0; bit < 8 * RB; bit++)
            ones[bit] += (all[i][bit / 8] >> (7 - bit % 8)) & 1;
    }
    t_gen = now_s() - t0;
    qsort(all, n, RB, cmp_serial);
    for (size_t i = 1; i < n; i++)
        collisions += memcmp(all[i - 1], all[i], RB) == 0;
    for (size_t bit = 1; bit < 8 * RB; bit++) {
        double d = (double)ones[bit] / (double)n - 0.5;

        d = d < 0 ? -d : d;
        if (d > worst) {
            worst = d;
            worst_bit = bit;
        }
    }
    printf("figures {\"serials\": %zu, \"seconds\": %.1f, \"per_second\": %.0f, \"collisions\": %zu, "
           "\"octets_min\": %zu, \"octets_max\": %zu, \"sign_bit_set\": %lu, "
           "\"worst_bit\": %zu, \"worst_deviation\": %.5f}\n",
           n, t_gen, (double)n / t_gen, collisions, len_min, len_max, ones[0], worst_bit, worst);
    if (collisions != 0 || ones[0] != 0 || worst > TOLERANCE) {
        printf("FAIL: serial quality (want 0 collisions, sign bit never set, every bit 0.5 +- %.3f)\n", TOLERANCE);
        goto done;
    }
    printf("ok: %zu serials: 0 collisions, positive, <= %zu octets, every bit 0.5 +- %.5f\n", n, len_max, worst);
    ret = 0;
done:
    ASN1_INTEGER_free(ai);
    hsmca_p11_token_free(tok);
    free(ones);
    free(all);
    return ret;
}
