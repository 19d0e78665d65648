/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-prefill: puts N real certificates into a stopped hsmcad's
 * database, fast, so that bench/run-all can measure the daemon with 0, 100k
 * and 1M certificates already stored (issue 9, B5 and B9).
 *
 * Each certificate is a real X.509 leaf of the mount's issuer: its own
 * serial and subject, signed in the token by the issuer's key through the
 * hsmca provider (the same path the CA core signs with), stored with its
 * intent through the store API in batches of BATCH certificates, several
 * batches per group commit. The daemon then serves them like any other
 * (cert/:serial, certs LIST, OCSP, tidy). What it skips is the per-request
 * work being benchmarked (HTTP, policy, CSR checks, one commit per
 * certificate); the certificates are not a placeholder.
 *
 * The daemon must not run while this writes: the store assumes one writing
 * process. Checks: the first and last certificate of each thread verify
 * with the issuer certificate's public key in OpenSSL's default provider;
 * the exit status says whether every certificate was stored, never how
 * fast. On stdout: "prefill-serial HEX" (the last serial, for an API read
 * back) and "prefill-rate N/s". */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bench_common.h"
#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/provider.h"
#include "hsmca/store.h"

#define BATCH       2000 /* certificates per store batch */
#define THREADS_MAX 8
#define COUNT_MAX   10000000 /* 10M: far beyond any table row */
#define SERIAL_LEN  9        /* 0x7e, 4-byte run tag, 4-byte index */
#define LEAF_DAYS   90

typedef struct {
    const char *db;
    const char *mount;
    const char *issuer_id;
    const char *key_id;
    const char *issuer_pem;
    unsigned long count;
    unsigned threads;
} prefill_opts;

/* Shared by the threads; read-only once they start, except next. */
typedef struct {
    const prefill_opts *o;
    hsmca_store *st;
    EVP_PKEY *issuer_key; /* token key through the provider */
    EVP_PKEY *issuer_pub; /* the issuer certificate's key, default provider */
    X509 *issuer;
    EVP_PKEY *leaf_key; /* one software P-256 key for every leaf */
    unsigned char tag[4];
    atomic_ulong next; /* next batch's first index */
} prefill_job;

typedef struct {
    prefill_job *job;
    pthread_t thread;
    unsigned long stored;
    unsigned char last_serial[SERIAL_LEN];
    char error[256];
} prefill_thread;

static void serial_of(const prefill_job *j, unsigned long i, unsigned char s[SERIAL_LEN])
{
    /* 0x7e: positive, and never what the CA draws (16 random octets). */
    s[0] = 0x7e;
    memcpy(s + 1, j->tag, 4);
    s[5] = (unsigned char)(i >> 24);
    s[6] = (unsigned char)(i >> 16);
    s[7] = (unsigned char)(i >> 8);
    s[8] = (unsigned char)i;
}

/* A leaf template: everything but serial and subject, which change per
 * certificate (X509_sign_ctx re-encodes the TBS each time). */
static X509 *leaf_template(const prefill_job *j)
{
    X509 *x = X509_new_ex(NULL, BENCH_PROPQ_SOFT);
    X509V3_CTX ctx;
    X509_EXTENSION *ext = NULL;
    time_t now = time(NULL);
    bool ok = false;

    if (x == NULL || !X509_set_version(x, X509_VERSION_3) ||
        !X509_set_issuer_name(x, X509_get_subject_name(j->issuer)) ||
        X509_time_adj_ex(X509_getm_notBefore(x), 0, -60, &now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), LEAF_DAYS, 0, &now) == NULL ||
        !X509_set_pubkey(x, j->leaf_key))
        goto done;
    X509V3_set_ctx(&ctx, j->issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (ext == NULL || !X509_add_ext(x, ext, -1))
        goto done;
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    if (ext == NULL || !X509_add_ext(x, ext, -1))
        goto done;
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "serverAuth");
    if (ext == NULL || !X509_add_ext(x, ext, -1))
        goto done;
    ok = true;
done:
    X509_EXTENSION_free(ext);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Sets serial i and subject CN prefill<i>.example.com, signs in the token,
 * returns the DER (OPENSSL_free) or NULL. */
static unsigned char *leaf_make(prefill_thread *t, X509 *x, unsigned long i,
                                const unsigned char s[SERIAL_LEN], int *len)
{
    const prefill_job *j = t->job;
    BIGNUM *bn = BN_bin2bn(s, SERIAL_LEN, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    X509_NAME *name = X509_NAME_new();
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    char cn[48];

    snprintf(cn, sizeof(cn), "prefill%lu.example.com", i);
    if (ai == NULL || name == NULL || mctx == NULL || !X509_set_serialNumber(x, ai) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_subject_name(x, name)) {
        snprintf(t->error, sizeof(t->error), "building certificate %lu", i);
        goto done;
    }
    if (hsmca_provider_sign_init(mctx, NULL, "SHA256", j->issuer_key, 0) != HSMCA_OK ||
        X509_sign_ctx(x, mctx) <= 0) {
        snprintf(t->error, sizeof(t->error), "signing certificate %lu in the token: %s", i,
                 hsmca_err_message());
        goto done;
    }
    *len = i2d_X509(x, &der);
    if (*len <= 0) {
        der = NULL;
        snprintf(t->error, sizeof(t->error), "encoding certificate %lu", i);
    }
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    X509_NAME_free(name);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return der;
}

/* The independent judge: OpenSSL's default provider and the issuer
 * certificate's public key. */
static bool leaf_verifies(const prefill_job *j, const unsigned char *der, int len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, len);
    bool ok = x != NULL && X509_verify(x, j->issuer_pub) == 1;

    X509_free(x);
    ERR_clear_error();
    return ok;
}

static void *prefill_main(void *arg)
{
    prefill_thread *t = arg;
    prefill_job *j = t->job;
    X509 *x = leaf_template(j);
    hsmca_store_batch *b = hsmca_store_batch_new(j->st);
    time_t now = time(NULL);
    bool first = true;

    if (x == NULL || b == NULL) {
        snprintf(t->error, sizeof(t->error), "out of memory making the leaf template");
        goto done;
    }
    /* Bounded: each turn claims the next BATCH indexes below count. */
    for (;;) {
        unsigned long from = atomic_fetch_add(&j->next, BATCH), to = from + BATCH, i;
        hsmca_rv rv;

        if (from >= j->o->count)
            break;
        if (to > j->o->count)
            to = j->o->count;
        for (i = from; i < to; i++) {
            unsigned char s[SERIAL_LEN], digest[32];
            int len = 0;
            unsigned char *der;

            serial_of(j, i, s);
            der = leaf_make(t, x, i, s, &len);
            if (der == NULL)
                goto done;
            if ((first || i + 1 == j->o->count) && !leaf_verifies(j, der, len)) {
                snprintf(t->error, sizeof(t->error), "certificate %lu does not verify with the issuer's key",
                         i);
                OPENSSL_free(der);
                goto done;
            }
            first = false;
            SHA256(der, (size_t)len, digest);
            hsmca_store_batch_intent(b, j->o->mount, s, SERIAL_LEN, j->o->issuer_id, "", digest);
            hsmca_store_batch_cert(b, j->o->mount, s, SERIAL_LEN, j->o->issuer_id, "", der, (size_t)len,
                                   (int64_t)now - 60, (int64_t)now + LEAF_DAYS * 86400LL);
            OPENSSL_free(der);
            memcpy(t->last_serial, s, SERIAL_LEN);
        }
        rv = hsmca_store_batch_commit(b);
        if (rv != HSMCA_OK) {
            snprintf(t->error, sizeof(t->error), "storing certificates %lu..%lu: %s", from, to - 1,
                     hsmca_err_message());
            goto done;
        }
        t->stored += to - from;
    }
done:
    hsmca_store_batch_free(b);
    X509_free(x);
    return NULL;
}

static X509 *read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hsmca-bench-prefill --db PATH --mount NAME --issuer-id ID --key-id KEY_ID\n"
            "                           --issuer-cert PEM --count N [--threads T]\n"
            "                           [--module PATH] --token LABEL [--pin-file PATH]\n"
            "  Adds N real leaf certificates of the mount's issuer to a STOPPED hsmcad's database.\n"
            "  --key-id   the issuer's key_id (its CKA_ID in the token); signs every certificate\n"
            "  --threads  signing threads (default 2, at most %d)\n"
            "  The PIN comes from --pin-file or $HSMCA_BENCH_PIN_FILE.\n",
            THREADS_MAX);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"mount", required_argument, NULL, 'M'},
        {"issuer-id", required_argument, NULL, 'I'},
        {"key-id", required_argument, NULL, 'K'},
        {"issuer-cert", required_argument, NULL, 'C'},
        {"count", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        BENCH_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    static prefill_thread threads[THREADS_MAX];
    prefill_opts o = {NULL, NULL, NULL, NULL, NULL, 0, 2};
    prefill_job job;
    bench_opts common;
    unsigned char msg[32];
    hsmca_pin *pin = NULL;
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_p11_token *tok = NULL;
    hsmca_keyslot *ks = NULL;
    OSSL_PROVIDER *prov = NULL;
    unsigned long v, stored = 0;
    unsigned started = 0;
    double t0, el;
    int c, status = 1;

    bench_set_name("hsmca-bench-prefill");
    bench_opts_init(&common, 1.0, 1);
    memset(&job, 0, sizeof(job));
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'M':
            o.mount = optarg;
            break;
        case 'I':
            o.issuer_id = optarg;
            break;
        case 'K':
            o.key_id = optarg;
            break;
        case 'C':
            o.issuer_pem = optarg;
            break;
        case 'n':
            if (!bench_parse_uint("--count", optarg, 1, COUNT_MAX, &o.count))
                return 2;
            break;
        case 'T':
            if (!bench_parse_uint("--threads", optarg, 1, THREADS_MAX, &v))
                return 2;
            o.threads = (unsigned)v;
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
    if (o.db == NULL || o.mount == NULL || o.issuer_id == NULL || o.key_id == NULL || o.issuer_pem == NULL ||
        o.count == 0) {
        fprintf(stderr,
                "hsmca-bench-prefill: --db, --mount, --issuer-id, --key-id, --issuer-cert and --count "
                "are required (see --help)\n");
        return 2;
    }
    if (!bench_opts_check(&common, argc, optind) || !bench_start(&common, msg, sizeof(msg), &pin))
        return 2;
    job.o = &o;
    atomic_init(&job.next, 0);
    if (RAND_bytes(job.tag, sizeof(job.tag)) != 1)
        goto done;
    if ((job.issuer = read_cert(o.issuer_pem)) == NULL) {
        fprintf(stderr, "hsmca-bench-prefill: --issuer-cert %s: no PEM certificate\n", o.issuer_pem);
        goto done;
    }
    job.issuer_pub = X509_get0_pubkey(job.issuer);
    job.leaf_key = EVP_PKEY_Q_keygen(NULL, BENCH_PROPQ_SOFT, "EC", "P-256");
    memset(&pc, 0, sizeof(pc));
    pc.module_path = common.module;
    pc.token_label = common.token;
    pc.pin.file = common.pin_file;
    memset(&sc, 0, sizeof(sc));
    sc.path = o.db;
    if (job.leaf_key == NULL || job.issuer_pub == NULL || hsmca_p11_token_open(&pc, &tok) != HSMCA_OK ||
        hsmca_keyslot_new(tok, &ks) != HSMCA_OK || hsmca_provider_load(NULL, &prov) != HSMCA_OK ||
        hsmca_keyslot_get1_pkey(ks, o.key_id, NULL, &job.issuer_key) != HSMCA_OK) {
        bench_fail_hsmca("opening the token and the issuer key");
        goto done;
    }
    if (hsmca_store_open(&sc, &job.st) != HSMCA_OK) {
        bench_fail_hsmca("opening the database");
        goto done;
    }
    t0 = bench_now();
    for (unsigned i = 0; i < o.threads; i++) {
        threads[i].job = &job;
        if (pthread_create(&threads[i].thread, NULL, prefill_main, &threads[i]) != 0) {
            fprintf(stderr, "hsmca-bench-prefill: cannot start thread %u\n", i + 1);
            break;
        }
        started++;
    }
    status = started == o.threads ? 0 : 1;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(threads[i].thread, NULL);
        stored += threads[i].stored;
        if (threads[i].error[0] != '\0') {
            fprintf(stderr, "hsmca-bench-prefill: thread %u: %s\n", i + 1, threads[i].error);
            status = 1;
        }
    }
    el = bench_now() - t0;
    if (status == 0 && stored != o.count) {
        fprintf(stderr, "hsmca-bench-prefill: stored %lu of %lu certificates\n", stored, o.count);
        status = 1;
    }
    if (status == 0) {
        /* A thread that claimed no batch (fewer certificates than threads
         * times BATCH) has no last serial: take one that stored. */
        const prefill_thread *with = &threads[0];
        for (unsigned i = 0; i < o.threads && with->stored == 0; i++)
            with = &threads[i];
        printf("prefill-serial ");
        for (int k = 0; k < SERIAL_LEN; k++)
            printf("%s%02x", k ? ":" : "", with->last_serial[k]);
        printf("\nprefill-rate %.0f/s (%lu certificates in %.1f s, %u threads)\n", (double)stored / el,
               stored, el, o.threads);
    }
done:
    hsmca_store_close(job.st);
    EVP_PKEY_free(job.issuer_key);
    EVP_PKEY_free(job.leaf_key);
    X509_free(job.issuer);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    hsmca_pin_free(pin);
    if (status != 0)
        fprintf(stderr, "hsmca-bench-prefill: FAILED\n");
    return status;
}
