/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-sign: the token's raw C_Sign rate next to the hsmca provider's
 * EVP_DigestSign rate, on the same keys of the same token in one run, for
 * RSA-2048, P-256 and Ed25519 (issue 2, "Benchmark"). It prints figures and
 * says whether the provider/raw target is met; it never judges speed by its
 * exit status (CONVENTIONS.md: benchmarks never gate anything on time).
 *
 * Run it through bench/run.sh, which makes a throwaway SoftHSM2 token. The
 * PIN comes from a file (--pin-file or $HSMCA_BENCH_PIN_FILE), never argv.
 *
 * Unlike the rest of hsmca, the "raw" half of this program calls the
 * PKCS#11 module directly (dlopen + C_GetFunctionList): it measures what the
 * token itself can do, without hsm/p11 in the way, so that the provider's
 * figure has something honest to be compared with. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "bench_common.h"
#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/pin.h"
#include "hsmca/provider.h"

#define MSG_LEN         1024 /* about the size of a TBSCertificate */
#define RAW_IN_MAX      MSG_LEN
#define WARMUP_OPS      8 /* per thread, before the clock starts: opens pool sessions, warms caches */
#define MAX_THREADS     2
#define N_KEYS          3
#define SECONDS_DEFAULT 3.0 /* 18 measurements: about 1 minute; at most ~18 minutes */
#define ROUNDS_DEFAULT  3
#define TARGET_RATIO    0.9

/* The columns of the result table, in the order they are measured. */
enum { COL_RAW1, COL_RAW2, COL_PROV1, COL_PROV2, COL_VERIFY1, COL_VERIFY2, N_COLS };
static const char *const col_names[N_COLS] = {
    "raw C_Sign, 1 session", "raw C_Sign, 2 sessions",           "provider, 1 thread",
    "provider, 2 threads",   "provider verify=always, 1 thread", "provider verify=always, 2 threads",
};

/* --keys names, in the order of main's keys[]. */
static const char *const key_slugs[N_KEYS] = {"rsa2048", "p256", "ed25519"};

typedef struct {
    const char *name; /* "RSA-2048" */
    const char *slug; /* for the key name: "rsa2048" */
    hsmca_key_type type;
    unsigned bits;
    const char *md;          /* provider digest; NULL for Ed25519 (PureEdDSA) */
    hsmca_keyslot_info info; /* the key generated for this run */
    EVP_PKEY *pub;           /* software public key (default provider) to check signatures */
    EVP_PKEY *pkey;          /* the provider's token key of the current phase */
    CK_OBJECT_HANDLE handle; /* raw: private key looked up once by CKA_ID */
    unsigned char digest[32];
    /* exactly what the provider gives the token for this key type */
    unsigned char raw_in[RAW_IN_MAX];
    size_t raw_in_len;
    bool selected;             /* --keys */
    bench_tally tally[N_COLS]; /* per column, summed over the rounds */
    double rate[N_COLS];       /* signatures per second; < 0 when not measured */
} bench_key;

/* One provider thread: what it signs and the last signature it made. */
typedef struct {
    const bench_key *key;
    const unsigned char *msg;
    unsigned char sig[BENCH_SIG_MAX]; /* the last signature, checked after the run */
    size_t siglen;
    char error[512];
} prov_signer;

typedef struct {
    bench_opts common;
    const char *keys;  /* comma-separated slugs, NULL: all */
    unsigned selected; /* bit i: the i-th of key_slugs */
} sign_opts;

static void print_facts(const sign_opts *o, const bench_p11 *raw)
{
    bench_print_facts("hsmca-bench-sign", raw, o->common.module);
    printf("- per measurement: %.1f s in %u rounds taken in turn with the other columns, each after "
           "%d warm-up signatures per thread; message %d bytes (SHA-256 for RSA and ECDSA)\n",
           o->common.seconds, o->common.rounds, WARMUP_OPS, MSG_LEN);
    bench_print_loadavg("load average at start");
    printf("\n");
    fflush(stdout);
}

/* ---- one signature through the provider ---- */

/* What a CA does per artefact: a fresh context, hsmca's sign-init (the
 * property query that routes to the token), one EVP_DigestSign. */
static bool sign_provider(void *ctx)
{
    prov_signer *w = ctx;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    size_t len = sizeof(w->sig);
    bool ok = false;

    if (mctx == NULL) {
        snprintf(w->error, sizeof(w->error), "out of memory");
        return false;
    }
    if (hsmca_provider_sign_init(mctx, NULL, w->key->md, w->key->pkey, 0) != HSMCA_OK) {
        snprintf(w->error, sizeof(w->error), "hsmca_provider_sign_init: %s", hsmca_err_message());
        goto done;
    }
    if (EVP_DigestSign(mctx, w->sig, &len, w->msg, MSG_LEN) != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(w->error, sizeof(w->error), "EVP_DigestSign: %s", e ? ERR_reason_error_string(e) : "failed");
        goto done;
    }
    w->siglen = len;
    ok = true;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    return ok;
}

/* ---- checking that what was timed were real signatures ---- */

/* Verifies with the software public key through OpenSSL's default
 * provider, independently of hsmca's own re-verification. */
static bool signature_ok(const bench_key *k, bool raw, const unsigned char *msg, const unsigned char *sig,
                         size_t siglen)
{
    EVP_MD_CTX *mctx = NULL;
    bool ok;

    if (raw && k->type != HSMCA_KEY_ED25519)
        return bench_raw_signature_ok(k->pub, k->type, k->digest, sig, siglen); /* signed the digest */
    /* The whole message: PureEdDSA, or hash-then-sign as the provider does. */
    mctx = EVP_MD_CTX_new();
    ok = siglen > 0 && mctx != NULL &&
         EVP_DigestVerifyInit_ex(mctx, NULL, k->md, NULL, BENCH_PROPQ_SOFT, k->pub, NULL) == 1 &&
         EVP_DigestVerify(mctx, sig, siglen, msg, MSG_LEN) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    return ok;
}

/* ---- one timed measurement ---- */

static bool col_is_raw(int col)
{
    return col == COL_RAW1 || col == COL_RAW2;
}

static unsigned col_threads(int col)
{
    return (col == COL_RAW1 || col == COL_PROV1 || col == COL_VERIFY1) ? 1 : 2;
}

/* Runs one slice of a column and adds its signatures, wall and CPU time to
 * the key's column total. Returns 0 if any signature failed or the last one
 * of a thread does not verify. */
static int measure(bench_key *k, int col, const bench_p11 *raw, const unsigned char *msg, double seconds)
{
    /* One measurement at a time; kept off the stack. */
    static bench_raw_signer raws[MAX_THREADS];
    static prov_signer provs[MAX_THREADS];
    void *ctx[MAX_THREADS];
    bench_job job;
    bench_tally slice;
    unsigned opened = 0;
    int ok = 1;

    memset(&job, 0, sizeof(job));
    job.nthreads = col_threads(col);
    job.op = col_is_raw(col) ? bench_raw_sign_op : sign_provider;
    job.ctx = ctx;
    job.warmup = WARMUP_OPS;
    job.seconds = seconds;
    for (unsigned i = 0; i < job.nthreads; i++) {
        if (col_is_raw(col)) {
            /* One session per thread, as PKCS#11 requires for concurrency. */
            if (!bench_raw_signer_open(&raws[i], raw, bench_raw_mechanism(k->type), k->handle, k->raw_in,
                                       k->raw_in_len)) {
                ok = 0;
                break;
            }
            opened++;
            ctx[i] = &raws[i];
        } else {
            memset(&provs[i], 0, sizeof(provs[i]));
            provs[i].key = k;
            provs[i].msg = msg;
            ctx[i] = &provs[i];
        }
    }
    if (ok && !bench_measure(&job, &slice, NULL))
        ok = 0;
    for (unsigned i = 0; i < job.nthreads; i++) {
        const char *error = col_is_raw(col) ? raws[i].error : provs[i].error;
        const unsigned char *sig = col_is_raw(col) ? raws[i].sig : provs[i].sig;
        size_t siglen = col_is_raw(col) ? raws[i].siglen : provs[i].siglen;

        if (col_is_raw(col) && i >= opened)
            break;
        if (error[0] != '\0') {
            fprintf(stderr, "hsmca-bench-sign: %s, thread %u: %s\n", k->name, i + 1, error);
            ok = 0;
        } else if (ok && !signature_ok(k, col_is_raw(col), msg, sig, siglen)) {
            fprintf(stderr, "hsmca-bench-sign: %s, thread %u: the last signature does not verify\n", k->name,
                    i + 1);
            ok = 0;
        }
    }
    for (unsigned i = 0; i < opened; i++)
        bench_raw_signer_close(&raws[i]);
    if (!ok)
        return 0;
    bench_tally_add(&k->tally[col], &slice);
    /* CPU use shows whether two threads really ran in parallel or queued
     * on a lock (in the token or in hsmca). */
    fprintf(
        stderr,
        "    %-34s %7lu signatures in %.3f s = %9.1f /s, CPU use %.2f, preempted %.0f/s, others %.2f CPU\n",
        col_names[col], slice.ops, slice.wall, bench_tally_rate(&slice), slice.cpu / slice.wall,
        (double)slice.preempted / slice.wall, slice.others / slice.wall);
    return 1;
}

/* Measures columns [first, last] of one key. Each column gets `seconds` in
 * all, cut into `rounds` slices taken in turn (raw, provider, raw, ...), so
 * that load from elsewhere on the machine drifting during the run weighs
 * on raw and provider figures alike, and the ratio stays fair. */
static int run_columns(bench_key *k, int first, int last, const bench_p11 *raw, const unsigned char *msg,
                       const bench_opts *o)
{
    double slice = o->seconds / o->rounds;

    for (unsigned round = 0; round < o->rounds; round++) {
        fprintf(stderr, "  %s, round %u of %u:\n", k->name, round + 1, o->rounds);
        for (int col = first; col <= last; col++) {
            if (!measure(k, col, raw, msg, slice))
                return 0;
        }
    }
    for (int col = first; col <= last; col++)
        k->rate[col] = bench_tally_rate(&k->tally[col]);
    return 1;
}

/* ---- hsmca side: opening the token with a verify policy ---- */

typedef struct {
    hsmca_p11_token *tok;
    hsmca_keyslot *ks;
} hsmca_side;

static int hsmca_side_open(hsmca_side *h, const bench_opts *o, hsmca_verify_policy verify)
{
    hsmca_p11_config cfg;

    memset(h, 0, sizeof(*h));
    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = o->module;
    cfg.token_label = o->token;
    cfg.pin.file = o->pin_file;
    cfg.verify = verify;
    if (hsmca_p11_token_open(&cfg, &h->tok) != HSMCA_OK)
        return bench_fail_hsmca("opening the token");
    if (hsmca_keyslot_new(h->tok, &h->ks) != HSMCA_OK)
        return bench_fail_hsmca("creating the key-slot manager");
    return 1;
}

static void hsmca_side_close(hsmca_side *h, bench_key *keys)
{
    for (int i = 0; i < N_KEYS; i++) {
        EVP_PKEY_free(keys[i].pkey);
        keys[i].pkey = NULL;
    }
    hsmca_keyslot_free(h->ks);
    hsmca_p11_token_free(h->tok);
    h->ks = NULL;
    h->tok = NULL;
}

static int load_pkeys(hsmca_side *h, bench_key *keys)
{
    for (int i = 0; i < N_KEYS; i++) {
        if (!keys[i].selected)
            continue;
        if (hsmca_keyslot_get1_pkey(h->ks, keys[i].info.key_id, NULL, &keys[i].pkey) != HSMCA_OK)
            return bench_fail_hsmca("loading the token key through the provider");
    }
    return 1;
}

static void report_health(const char *phase, hsmca_p11_token *tok)
{
    hsmca_p11_health hl;

    if (hsmca_p11_token_health(tok, &hl) != HSMCA_OK)
        return;
    fprintf(stderr, "  %s: sessions open %u, recoveries %lu, bad signatures %lu\n", phase, hl.sessions_open,
            hl.recoveries, hl.bad_signatures);
}

/* Generates the three keys and prepares what the raw side signs. */
static int make_keys(hsmca_side *h, bench_key *keys, const unsigned char *msg)
{
    unsigned char tag[4];
    char tag_hex[9];
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", BENCH_PROPQ_SOFT);
    int ok = 0;

    if (sha256 == NULL || RAND_bytes(tag, sizeof(tag)) != 1)
        goto done;
    snprintf(tag_hex, sizeof(tag_hex), "%02x%02x%02x%02x", tag[0], tag[1], tag[2], tag[3]);
    for (int i = 0; i < N_KEYS; i++) {
        bench_key *k = &keys[i];
        char name[64];

        if (!k->selected)
            continue;
        unsigned char *der = NULL;
        const unsigned char *p;
        size_t der_len = 0;

        /* A random tag keeps names unique if the bench runs twice on a
         * token that outlives it. */
        snprintf(name, sizeof(name), "hsmca-bench-%s-%s", k->slug, tag_hex);
        if (hsmca_keyslot_generate(h->ks, name, k->type, k->bits, &k->info) != HSMCA_OK) {
            bench_fail_hsmca("generating a key in the token");
            goto done;
        }
        if (hsmca_keyslot_export_spki(h->ks, k->info.key_id, &der, &der_len) != HSMCA_OK) {
            bench_fail_hsmca("exporting the public key");
            goto done;
        }
        p = der;
        k->pub = d2i_PUBKEY_ex(NULL, &p, (long)der_len, NULL, BENCH_PROPQ_SOFT);
        OPENSSL_free(der);
        if (k->pub == NULL) {
            fprintf(stderr, "hsmca-bench-sign: cannot decode the %s public key\n", k->name);
            goto done;
        }
        if (EVP_Digest(msg, MSG_LEN, k->digest, NULL, sha256, NULL) != 1)
            goto done;
        k->raw_in_len = sizeof(k->raw_in);
        if (!bench_raw_input(k->type, k->digest, msg, MSG_LEN, k->raw_in, &k->raw_in_len))
            goto done;
        fprintf(stderr, "  generated %s key %s\n", k->name, k->info.key_id);
    }
    ok = 1;
done:
    EVP_MD_free(sha256);
    return ok;
}

/* ---- results ---- */

static double ratio(double num, double den)
{
    return num >= 0 && den > 0 ? num / den : -1;
}

static void fmt_ratio(char *out, size_t size, double r)
{
    if (r < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.2f", r);
}

/* Whether other programs took CPU time from one measurement
 * (bench_disturbed: a 1-thread column that did not keep its CPU busy,
 * threads preempted often, or other programs busy). A 2-thread column below
 * 2.00 CPU alone proves nothing: the token may serialise them on a lock. */
static bool disturbed(const bench_key *k, int col)
{
    return bench_disturbed(&k->tally[col], col_threads(col), true);
}

static void print_table(const bench_key *keys, double elapsed)
{
    bool any_disturbed = false;

    printf("Signatures per second (higher is better). raw = C_SignInit+C_Sign on the token, "
           "handle cached; provider = hsmca_provider_sign_init + EVP_DigestSign of %d bytes per "
           "signature, default verify policy (re-verify RSA only); verify=always = the same with "
           "HSMCA_VERIFY_ALWAYS.\n\n",
           MSG_LEN);
    printf("| key | raw 1 session | raw 2 sessions | provider 1 thread | provider 2 threads "
           "| ratio 1 | ratio 2 | target >= %.2f | verify=always 1 thread | verify=always 2 threads "
           "| ratio always 1 | ratio always 2 |\n",
           TARGET_RATIO);
    printf("|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|\n");
    for (int i = 0; i < N_KEYS; i++) {
        const bench_key *k = &keys[i];
        char c[N_COLS][32], r1[16], r2[16], a1[16], a2[16], verdict[80];
        double q1 = ratio(k->rate[COL_PROV1], k->rate[COL_RAW1]);
        double q2 = ratio(k->rate[COL_PROV2], k->rate[COL_RAW2]);

        if (!k->selected)
            continue;
        for (int j = 0; j < N_COLS; j++) {
            bench_fmt_rate(c[j], sizeof(c[j]), k->rate[j], disturbed(k, j));
            any_disturbed = any_disturbed || disturbed(k, j);
        }
        fmt_ratio(r1, sizeof(r1), q1);
        fmt_ratio(r2, sizeof(r2), q2);
        fmt_ratio(a1, sizeof(a1), ratio(k->rate[COL_VERIFY1], k->rate[COL_RAW1]));
        fmt_ratio(a2, sizeof(a2), ratio(k->rate[COL_VERIFY2], k->rate[COL_RAW2]));
        if (q1 < 0 || q2 < 0)
            snprintf(verdict, sizeof(verdict), "not measured");
        else if (q1 >= TARGET_RATIO && q2 >= TARGET_RATIO)
            snprintf(verdict, sizeof(verdict), "met");
        else
            snprintf(verdict, sizeof(verdict), "NOT met (%s%s%s)", q1 < TARGET_RATIO ? "1 thread" : "",
                     q1 < TARGET_RATIO && q2 < TARGET_RATIO ? ", " : "",
                     q2 < TARGET_RATIO ? "2 threads" : "");
        if (disturbed(k, COL_RAW1) || disturbed(k, COL_RAW2) || disturbed(k, COL_PROV1) ||
            disturbed(k, COL_PROV2)) {
            size_t n = strlen(verdict);
            snprintf(verdict + n, sizeof(verdict) - n, ", DISTURBED");
        }
        printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k->name, c[COL_RAW1],
               c[COL_RAW2], c[COL_PROV1], c[COL_PROV2], r1, r2, verdict, c[COL_VERIFY1], c[COL_VERIFY2], a1,
               a2);
    }
    /* CPUs kept busy per column (process CPU time / wall time): 2 threads
     * near 2.0 ran in parallel; well below, they queued on a lock. */
    printf("\nCPU use (CPUs kept busy; 2 threads near 2.00 ran in parallel, well below means they queued "
           "on a lock), after the first slash, preemptions by other programs per second (above %.0f: "
           "disturbed) and, after the second, CPUs the rest of the machine kept busy (above %.2f: "
           "disturbed):\n\n",
           BENCH_PREEMPT_MAX, BENCH_OTHERS_MAX);
    printf("| key | raw 1 | raw 2 | provider 1 | provider 2 | verify=always 1 | verify=always 2 |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < N_KEYS; i++) {
        const bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        printf("| %s", k->name);
        for (int j = 0; j < N_COLS; j++) {
            const bench_tally *t = &k->tally[j];
            if (t->wall > 0)
                printf(" | %.2f / %.0f / %.2f", t->cpu / t->wall, (double)t->preempted / t->wall,
                       t->others / t->wall);
            else
                printf(" | -");
        }
        printf(" |\n");
    }
    printf("\n");
    if (any_disturbed)
        printf("- WARNING: figures marked * (and verdicts marked DISTURBED, which rest on them) come from "
               "a 1-thread measurement below %.2f CPU, from more than %.0f preemptions/s or from more "
               "than %.2f CPU used by the rest of the machine: other programs were using the CPUs, so "
               "those figures and their ratios are not trustworthy. Rerun on a quiet machine.\n",
               BENCH_CPU_USE_SINGLE_MIN, BENCH_PREEMPT_MAX, BENCH_OTHERS_MAX);
    /* For bench/run-all: B1 (raw) and B2 (provider, default verify policy). */
    for (int i = 0; i < N_KEYS; i++) {
        static const int cols[] = {COL_RAW1, COL_RAW2, COL_PROV1, COL_PROV2};
        const bench_key *k = &keys[i];

        if (!k->selected)
            continue;
        for (size_t j = 0; j < sizeof(cols) / sizeof(cols[0]); j++)
            bench_emit_row(col_is_raw(cols[j]) ? "raw C_Sign" : "provider EVP_DigestSign", k->name,
                           col_threads(cols[j]), k->rate[cols[j]], "/s", disturbed(k, cols[j]), -1, -1, -1);
    }
    bench_print_footer(elapsed);
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hsmca-bench-sign [--module PATH] --token LABEL [--pin-file PATH] [--seconds N]\n"
            "                        [--rounds R] [--keys LIST]\n"
            "  --module PATH    PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)\n"
            "  --token LABEL    token to use; the bench generates 3 keys in it and deletes them\n"
            "  --pin-file PATH  file holding the user PIN (else $HSMCA_BENCH_PIN_FILE)\n"
            "  --seconds N      duration of each of the 18 measurements, %.1f..%.0f (default %.0f)\n"
            "  --rounds R       slices per measurement, taken in turn (default %d, max %d)\n"
            "  --keys LIST      only these of rsa2048,p256,ed25519 (e.g. for a profiler run)\n"
            "Run bench/run.sh to get a throwaway SoftHSM2 token.\n",
            BENCH_SECONDS_MIN, BENCH_SECONDS_MAX, SECONDS_DEFAULT, ROUNDS_DEFAULT, BENCH_ROUNDS_MAX);
}

/* 1: run; 0: bad usage (reported); -1: help printed, nothing to do. */
static int parse_opts(int argc, char **argv, sign_opts *o)
{
    static const struct option longopts[] = {
        {"keys", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        BENCH_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int c;

    bench_opts_init(&o->common, SECONDS_DEFAULT, ROUNDS_DEFAULT);
    o->keys = NULL;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->keys = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            if (!bench_opts_take(&o->common, c, optarg))
                return 0;
            break;
        }
    }
    if (!bench_select_names("--keys", o->keys, key_slugs, N_KEYS, &o->selected))
        return 0;
    return bench_opts_check(&o->common, argc, optind);
}

int main(int argc, char **argv)
{
    sign_opts opts;
    bench_key keys[N_KEYS] = {
        {.name = "RSA-2048", .slug = key_slugs[0], .type = HSMCA_KEY_RSA, .bits = 2048, .md = "SHA256"},
        {.name = "P-256", .slug = key_slugs[1], .type = HSMCA_KEY_EC, .bits = 256, .md = "SHA256"},
        {.name = "Ed25519", .slug = key_slugs[2], .type = HSMCA_KEY_ED25519, .bits = 0, .md = NULL},
    };
    static bench_p11 raw;
    unsigned char msg[MSG_LEN];
    hsmca_side side = {NULL, NULL};
    hsmca_pin *pin = NULL;
    OSSL_PROVIDER *prov = NULL;
    bool keys_made = false;
    double t_start = bench_now();
    int status = 1, rc;

    for (int i = 0; i < N_KEYS; i++) {
        for (int j = 0; j < N_COLS; j++)
            keys[i].rate[j] = -1;
    }
    bench_set_name("hsmca-bench-sign");
    rc = parse_opts(argc, argv, &opts);
    if (rc <= 0)
        return rc < 0 ? 0 : 2; /* --help, or bad usage (reported) */
    for (int i = 0; i < N_KEYS; i++)
        keys[i].selected = (opts.selected >> i) & 1u;
    if (!bench_start(&opts.common, msg, sizeof(msg), &pin))
        goto done;
    if (hsmca_provider_load(NULL, &prov) != HSMCA_OK) {
        bench_fail_hsmca("loading the hsmca provider");
        goto done;
    }

    /* Phase 1: default verify policy. Raw and provider figures of one key
     * are taken in alternating rounds on the same token, module and key. */
    fprintf(stderr, "hsmca-bench-sign: phase 1: raw and provider (default verify policy)\n");
    if (!hsmca_side_open(&side, &opts.common, HSMCA_VERIFY_ALWAYS_RSA))
        goto done;
    keys_made = true; /* even partly: cleanup deletes whichever exist */
    if (!make_keys(&side, keys, msg))
        goto done;
    if (!bench_p11_open(&raw, opts.common.module, opts.common.token, pin))
        goto done;
    print_facts(&opts, &raw);
    if (!load_pkeys(&side, keys))
        goto done;
    for (int i = 0; i < N_KEYS; i++) {
        bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        if (!bench_p11_find_key(&raw, k->info.key_id, &k->handle) ||
            !run_columns(k, COL_RAW1, COL_PROV2, &raw, msg, &opts.common))
            goto done;
    }
    bench_p11_close(&raw);
    report_health("phase 1 token", side.tok);
    hsmca_side_close(&side, keys);

    /* Phase 2: HSMCA_VERIFY_ALWAYS, in a second configuration load of the
     * same token. The first is closed completely before: the provider's key
     * loader finds the token by its URI among the tokens open in the process
     * (hsmca_p11_token_find_open), so with both open an EVP_PKEY could be
     * bound to the other policy. */
    {
        hsmca_p11_token *stale = hsmca_p11_token_find_open(NULL, opts.common.token, NULL, NULL, NULL);
        if (stale != NULL) {
            fprintf(stderr, "hsmca-bench-sign: phase 1's token is still open (a leaked reference); "
                            "the verify=always figures would be unreliable\n");
            hsmca_p11_token_free(stale);
            goto done;
        }
    }
    fprintf(stderr, "hsmca-bench-sign: phase 2: provider with verify=always\n");
    if (!hsmca_side_open(&side, &opts.common, HSMCA_VERIFY_ALWAYS) || !load_pkeys(&side, keys))
        goto done;
    for (int i = 0; i < N_KEYS; i++) {
        bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        if (!run_columns(k, COL_VERIFY1, COL_VERIFY2, &raw, msg, &opts.common))
            goto done;
    }
    report_health("phase 2 token", side.tok);
    status = 0;
done:
    bench_p11_close(&raw);
    if (keys_made) {
        /* Leave the token as we found it; the keys exist only for this run. */
        if (side.ks == NULL && side.tok == NULL)
            hsmca_side_open(&side, &opts.common, HSMCA_VERIFY_ALWAYS_RSA);
        for (int i = 0; side.ks != NULL && i < N_KEYS; i++) {
            if (keys[i].info.key_id[0] != '\0' &&
                hsmca_keyslot_delete(side.ks, keys[i].info.key_id) != HSMCA_OK)
                bench_fail_hsmca("deleting a bench key");
        }
    }
    hsmca_side_close(&side, keys);
    for (int i = 0; i < N_KEYS; i++)
        EVP_PKEY_free(keys[i].pub);
    if (status == 0)
        print_table(keys, bench_now() - t_start);
    else
        fprintf(stderr, "hsmca-bench-sign: failed; figures above, if any, are incomplete\n");
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    hsmca_pin_free(pin);
    return status;
}
