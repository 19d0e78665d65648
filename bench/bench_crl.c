/* SPDX-License-Identifier: Apache-2.0 */
/* CRL benchmark (issue 5): complete CRL build + sign time and the build's
 * peak memory at 1k, 10k, 100k (and, with --max, 1M) revoked certificates,
 * signed by a P-256 issuer key in the token; and the latency of one
 * revocation with auto_rebuild on at each size (it must not grow with the
 * number already revoked). Revoked rows are written straight into the
 * store (intent + certificate + revocation per serial, a placeholder DER)
 * so filling a million takes seconds, not a million token signatures; the
 * revocations timed for latency are of real certificates issued by the CA.
 *
 *   bench/run.sh build/default/bench/hsmca-bench-crl [--max 1000000]
 *
 * Peak memory: VmHWM after resetting it (/proc/self/clear_refs 5), minus
 * VmRSS before the build. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/provider.h>
#include <openssl/sha.h>

#include "bench_common.h"
#include "hsmca/ca.h"
#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/provider.h"
#include "hsmca/revocation.h"
#include "hsmca/store.h"

#define MOUNT           "crlbench"
#define LEVELS_MAX      8
#define LATENCY_REVOKES 10   /* real certificates revoked at each size */
#define FILL_BATCH      1000 /* serials per store batch (3 operations each) */
#define DIR_MAX         512

static const unsigned long default_levels[] = {1000, 10000, 100000, 1000000};

/* A /proc/self/status field in kB, or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    long v = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");

    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

/* Adds revoked placeholder certificates numbered [from, to) of issuer_id. */
static int fill(hsmca_store *st, const char *issuer_id, unsigned long from, unsigned long to)
{
    static const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    unsigned char digest[32] = {0};
    int64_t now = (int64_t)time(NULL);

    for (unsigned long i = from; i < to;) {
        hsmca_store_batch *b = hsmca_store_batch_new(st);
        hsmca_rv rv;

        for (unsigned long k = 0; k < FILL_BATCH && i < to; k++, i++) {
            /* 0x7f prefix: never a serial the CA draws with 16 random
             * bytes and the top bit clear at this length. */
            unsigned char serial[9] = {0x7f,
                                       0,
                                       0,
                                       0,
                                       (unsigned char)(i >> 24),
                                       (unsigned char)(i >> 16),
                                       (unsigned char)(i >> 8),
                                       (unsigned char)i,
                                       0x5a};

            hsmca_store_batch_intent(b, MOUNT, serial, sizeof(serial), issuer_id, "", digest);
            hsmca_store_batch_cert(b, MOUNT, serial, sizeof(serial), issuer_id, "", der, sizeof(der), now,
                                   now + 86400);
            hsmca_store_batch_revoke(b, MOUNT, serial, sizeof(serial), now, (int)(i % 3 == 0));
        }
        rv = hsmca_store_batch_commit(b);
        hsmca_store_batch_free(b);
        if (rv != HSMCA_OK) {
            fprintf(stderr, "hsmca-bench-crl: filling the store: %s\n", hsmca_err_message());
            return 0;
        }
    }
    return 1;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: hsmca-bench-crl --module SO --token LABEL [--pin-file F] [--dir DIR] [--max N]\n"
           "  --max N   largest number of revoked certificates (default 100000; 1000000 for the full table)\n"
           "  --dir D   where the throwaway database goes (default $TMPDIR)\n"
           "  The PIN comes from --pin-file or $HSMCA_BENCH_PIN_FILE.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"max", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        BENCH_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    bench_opts common;
    const char *dirbase = getenv("TMPDIR");
    unsigned long max = 100000;
    char dir[DIR_MAX], db[DIR_MAX + 16], cmd[DIR_MAX + 16];
    unsigned char msg[32];
    hsmca_pin *pin = NULL;
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    hsmca_p11_token *tok = NULL;
    hsmca_keyslot *ks = NULL;
    OSSL_PROVIDER *prov = NULL;
    hsmca_store *st = NULL;
    hsmca_ca *ca = NULL;
    hsmca_ca_params p;
    hsmca_ca_result res;
    hsmca_crl_config cfg;
    hsmca_strlist warnings = {0};
    char serials[LEVELS_MAX * LATENCY_REVOKES][64];
    double build_s[LEVELS_MAX], revoke_ms[LEVELS_MAX];
    long peak_kb[LEVELS_MAX];
    size_t crl_bytes[LEVELS_MAX], n_levels = 0, n_serials = 0;
    unsigned long filled = 0;
    int c, status = 1;

    bench_set_name("hsmca-bench-crl");
    bench_opts_init(&common, 1.0, 1);
    if (dirbase == NULL || dirbase[0] == '\0')
        dirbase = "/tmp";
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dirbase = optarg;
            break;
        case 'x':
            if (!bench_parse_uint("--max", optarg, 1000, 1000000, &max))
                return 2;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            if (!bench_opts_take(&common, c, optarg))
                return 2;
            break;
        }
    }
    if (!bench_opts_check(&common, argc, optind) || !bench_start(&common, msg, sizeof(msg), &pin))
        return 2;
    for (size_t i = 0; i < sizeof(default_levels) / sizeof(default_levels[0]); i++)
        if (default_levels[i] <= max)
            n_levels++;
    snprintf(dir, sizeof(dir), "%s/hsmca-bench-crl.XXXXXX", dirbase);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "hsmca-bench-crl: mkdtemp under %s: %s\n", dirbase, strerror(errno));
        return 1;
    }
    snprintf(db, sizeof(db), "%s/crl.db", dir);
    memset(&pc, 0, sizeof(pc));
    pc.module_path = common.module;
    pc.token_label = common.token;
    pc.pin.file = common.pin_file;
    memset(&sc, 0, sizeof(sc));
    sc.path = db;
    memset(&cc, 0, sizeof(cc));
    hsmca_ca_params_init(&p);
    memset(&res, 0, sizeof(res));
    if (hsmca_p11_token_open(&pc, &tok) != HSMCA_OK || hsmca_keyslot_new(tok, &ks) != HSMCA_OK ||
        hsmca_provider_load(NULL, &prov) != HSMCA_OK || hsmca_store_open(&sc, &st) != HSMCA_OK) {
        bench_fail_hsmca("opening the token and the store");
        goto done;
    }
    cc.store = st;
    cc.keyslot = ks;
    cc.max_ttl = 10L * 365 * 86400;
    p.type = "internal";
    p.key_type = "ec";
    p.key_bits = 256;
    p.common_name = "hsmca bench CRL root";
    p.issuer_name = "root";
    p.ttl = 10L * 365 * 86400;
    if (hsmca_ca_new(&cc, &ca) != HSMCA_OK || hsmca_ca_mount_enable(ca, MOUNT) != HSMCA_OK ||
        hsmca_ca_generate_root(ca, MOUNT, &p, &res) != HSMCA_OK ||
        hsmca_ca_role_put(
            ca, MOUNT, "web",
            "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,\"key_type\":\"ec\"}", false,
            &warnings) != HSMCA_OK) {
        bench_fail_hsmca("making the root and role");
        goto done;
    }
    /* The certificates whose revocation is timed, issued before any size. */
    for (size_t i = 0; i < n_levels * LATENCY_REVOKES; i++) {
        hsmca_issue_request rq;
        hsmca_ca_result r;

        memset(&rq, 0, sizeof(rq));
        memset(&r, 0, sizeof(r));
        rq.common_name = "leaf.example.com";
        rq.ttl = 3600;
        if (hsmca_ca_issue(ca, MOUNT, "web", NULL, &rq, &r) != HSMCA_OK) {
            bench_fail_hsmca("issuing a leaf");
            goto done;
        }
        snprintf(serials[n_serials++], sizeof(serials[0]), "%s", r.serial_number);
        hsmca_ca_result_clear(&r);
    }
    hsmca_crl_config_defaults(&cfg);
    cfg.auto_rebuild = true;
    if (hsmca_revocation_crl_config_set(ca, MOUNT, &cfg) != HSMCA_OK) {
        bench_fail_hsmca("config/crl");
        goto done;
    }
    fprintf(stderr, "hsmca-bench-crl: P-256 issuer in the token; sizes up to %lu\n", max);
    for (size_t l = 0; l < n_levels; l++) {
        unsigned long want = default_levels[l];
        unsigned char *der = NULL;
        size_t len = 0;
        int64_t t = 0;
        double t0;
        long rss;

        if (!fill(st, res.issuer_id, filled, want - LATENCY_REVOKES * (l + 1)))
            goto done;
        filled = want - LATENCY_REVOKES * (l + 1);
        /* Revocation latency with auto_rebuild on: records only. */
        t0 = bench_now();
        for (size_t k = 0; k < LATENCY_REVOKES; k++) {
            hsmca_revoke_result rr;

            if (hsmca_revocation_revoke(ca, MOUNT, serials[l * LATENCY_REVOKES + k], NULL, NULL, &rr) !=
                    HSMCA_OK ||
                rr.crl_rebuilt) {
                bench_fail_hsmca("revoking");
                goto done;
            }
        }
        revoke_ms[l] = (bench_now() - t0) * 1000.0 / LATENCY_REVOKES;
        /* The build: stream, encode, sign in the token, verify, store. */
        rss = status_kb("VmRSS");
        reset_peak();
        t0 = bench_now();
        if (hsmca_revocation_crl_rotate(ca, MOUNT, false) != HSMCA_OK) {
            bench_fail_hsmca("building the CRL");
            goto done;
        }
        build_s[l] = bench_now() - t0;
        peak_kb[l] = status_kb("VmHWM") - rss;
        if (hsmca_revocation_crl_get(ca, MOUNT, "default", HSMCA_CRL_COMPLETE, &der, &len, &t) != HSMCA_OK) {
            bench_fail_hsmca("reading the CRL");
            goto done;
        }
        free(der);
        crl_bytes[l] = len;
        fprintf(stderr, "hsmca-bench-crl: %lu revoked: %.2f s\n", want, build_s[l]);
    }
    printf("\nComplete CRL build + sign (P-256 issuer key in the token), and one revocation with "
           "auto_rebuild on\n\n");
    printf(
        "| revoked | build + sign (s) | CRL size (MiB) | build peak memory (MiB) | revoke latency (ms) |\n");
    printf("| ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t l = 0; l < n_levels; l++)
        printf("| %lu | %.3f | %.2f | %.1f | %.2f |\n", default_levels[l], build_s[l],
               (double)crl_bytes[l] / 1048576.0, (double)peak_kb[l] / 1024.0, revoke_ms[l]);
    /* For bench/run-all (B8): seconds per complete CRL, by size. */
    for (size_t l = 0; l < n_levels; l++) {
        char what[96];
        snprintf(what, sizeof(what), "CRL build + sign, %lu revoked (%.1f MiB, peak %.0f MiB)",
                 default_levels[l], (double)crl_bytes[l] / 1048576.0, (double)peak_kb[l] / 1024.0);
        bench_emit_row(what, "P-256", 1, build_s[l], "s", false, -1, -1, -1);
    }
    status = 0;
done:
    hsmca_ca_result_clear(&res);
    hsmca_strlist_clear(&warnings);
    if (ca != NULL && hsmca_ca_mount_disable(ca, MOUNT) != HSMCA_OK)
        bench_fail_hsmca("disabling the bench mount");
    hsmca_ca_free(ca);
    hsmca_store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "hsmca-bench-crl: could not remove %s\n", dir);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    hsmca_pin_free(pin);
    return status;
}
