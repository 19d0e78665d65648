/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-issue: the in-process CSR -> certificate issuance rate through
 * the real CA core (hsmca_ca_sign: policy, lint, token signature,
 * verification, serial intent and certificate committed to SQLite), with
 * storage on and with a no_store role, for a P-256 and an RSA-2048 issuer,
 * beside the raw C_Sign rate of the same issuer key in the same run, with 1,
 * 2 x cores and 16 threads (issue 3, "Benchmark"). It prints figures, the
 * ratios against their targets and the store's group-commit counters; its
 * exit status never depends on speed (CONVENTIONS.md), only on an issuance
 * that failed or a certificate that does not verify.
 *
 * Run it through bench/run.sh, which makes a throwaway SoftHSM2 token. The
 * PIN comes from a file (--pin-file or $HSMCA_BENCH_PIN_FILE), never argv.
 * The SQLite database lives in a fresh directory under --dir and is removed
 * afterwards: put it on the disk the daemon would use, since fsync latency
 * is half of what is measured. */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench_common.h"
#include "hsmca/ca.h"
#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/pin.h"
#include "hsmca/provider.h"
#include "hsmca/store.h"

#define SECONDS_DEFAULT 3.0 /* 2 issuers x 3 thread counts x 3 columns: about 1 minute */
#define ROUNDS_DEFAULT  3
#define N_ISSUERS       2
#define MAX_COUNTS      4    /* thread counts per run (--threads) */
#define FIXED_THREADS   16   /* the issue's "16 threads" */
#define RAW_WARMUP      8    /* per thread, before the clock: opens sessions, warms caches */
#define ISSUE_WARMUP    4    /* the same for issuances: pool sessions, reader connections */
#define N_CSRS          1024 /* pre-made CSRs, used in turn */
#define MSG_LEN         1024 /* what the raw side hashes: about a TBSCertificate */
#define RAW_IN_MAX      64   /* DigestInfo(SHA-256) is 51 bytes */
#define DIR_MAX         4096
#define TARGET_STORE    0.8                  /* storage on / no_store (issue 3) */
#define TARGET_RAW      0.8                  /* RSA-2048 issuance / raw C_Sign (issue 3) */
#define ROOT_TTL        (10 * 365 * 86400LL) /* outlives every leaf (mount default 768h) */
#define MOUNT_PREFIX    "bench-"
#define ROLE_STORE      "store"
#define ROLE_NOSTORE    "nostore"

/* OpenBao role bodies: names under example.com, any CSR key type. The
 * second differs only by no_store, so the columns differ only by storage. */
static const char role_store_json[] = "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                      "\"key_type\":\"any\"}";
static const char role_nostore_json[] = "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                        "\"key_type\":\"any\",\"no_store\":true}";

/* --issuers names, in the order of main's iss[]. */
static const char *const issuer_slugs[N_ISSUERS] = {"p256", "rsa2048"};

/* The columns of one thread count, in the order they are measured. */
enum { KIND_RAW, KIND_STORE, KIND_NOSTORE, N_KINDS };
static const char *const kind_names[N_KINDS] = {"raw C_Sign", "issuance, storage on", "issuance, no_store"};

typedef struct {
    const char *name;     /* "P-256" */
    const char *slug;     /* "p256": mount name and --issuers */
    const char *key_type; /* hsmca_ca_params.key_type */
    unsigned key_bits;
    hsmca_key_type type;
    bool selected;
    char mount[32];
    bool mounted;
    char key_id[37];         /* the root's key: its CKA_ID in the token */
    X509 *cert;              /* the root certificate, as the CA returned it */
    EVP_PKEY *pub;           /* its public key in OpenSSL's default provider, for the checks */
    CK_OBJECT_HANDLE handle; /* raw: private key looked up once by CKA_ID */
    unsigned char digest[32];
    unsigned char raw_in[RAW_IN_MAX]; /* what the provider gives the token for this key type */
    size_t raw_in_len;
    /* Per thread count and column, summed over the rounds. */
    bench_tally tally[MAX_COUNTS][N_KINDS];
    double rate[MAX_COUNTS][N_KINDS];      /* per second; < 0 when not measured */
    hsmca_store_stats commits[MAX_COUNTS]; /* storage-on columns: the store's counters while timed */
} bench_issuer;

typedef struct {
    char *pem;   /* malloc'd, NUL-terminated */
    char cn[32]; /* h<N>.example.com */
} csr_entry;

typedef struct {
    csr_entry *v;
    size_t n;
    atomic_size_t next; /* shared by every thread: each issuance takes the next CSR */
} csr_pool;

/* One issuing thread: where it issues and the last certificate it got. */
typedef struct {
    hsmca_ca *ca;
    const char *mount;
    const char *role;
    csr_pool *pool;
    X509 *last;      /* owned: checked after the run */
    char serial[61]; /* of last */
    char error[640];
} issue_worker;

typedef struct {
    bench_opts common;
    const char *dir;     /* where the database directory is made */
    const char *issuers; /* comma-separated slugs, NULL: all */
    unsigned selected;   /* bit i: the i-th of issuer_slugs */
    unsigned counts[MAX_COUNTS];
    unsigned n_counts;
} issue_opts;

/* ---- the CSRs, made before any clock runs ---- */

/* A CSR for h<n>.example.com with a fresh software P-256 key, as PEM text.
 * The key is discarded at once: the CA never needs it. */
static char *csr_make(unsigned n, char *cn, size_t cn_size)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, BENCH_PROPQ_SOFT, "EC", "P-256");
    X509_REQ *req = X509_REQ_new_ex(NULL, BENCH_PROPQ_SOFT);
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *data = NULL;
    long len;

    snprintf(cn, cn_size, "h%u.example.com", n);
    if (key == NULL || req == NULL || name == NULL || bio == NULL ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
        !PEM_write_bio_X509_REQ(bio, req))
        goto done;
    len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || (pem = malloc((size_t)len + 1)) == NULL)
        goto done;
    memcpy(pem, data, (size_t)len);
    pem[len] = '\0';
done:
    ERR_clear_error();
    BIO_free(bio);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return pem;
}

static int csr_pool_make(csr_pool *p, size_t n)
{
    p->v = calloc(n, sizeof(*p->v));
    p->n = 0;
    atomic_init(&p->next, 0);
    if (p->v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        p->v[i].pem = csr_make((unsigned)i + 1, p->v[i].cn, sizeof(p->v[i].cn));
        if (p->v[i].pem == NULL) {
            fprintf(stderr, "hsmca-bench-issue: cannot make CSR %zu\n", i + 1);
            return 0;
        }
        p->n++;
    }
    return 1;
}

static void csr_pool_free(csr_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].pem);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* ---- one issuance ---- */

/* What a client of sign/:role gets: the whole pipeline, including the
 * result's allocation and release, as the HTTP layer would do it. */
static bool issue_op(void *ctx)
{
    issue_worker *w = ctx;
    const csr_entry *c =
        &w->pool->v[atomic_fetch_add_explicit(&w->pool->next, 1, memory_order_relaxed) % w->pool->n];
    hsmca_issue_request req;
    hsmca_ca_result res;
    hsmca_rv rv;

    memset(&req, 0, sizeof(req));
    req.common_name = c->cn;
    rv = hsmca_ca_sign(w->ca, w->mount, w->role, NULL, c->pem, &req, &res);
    if (rv != HSMCA_OK) {
        snprintf(w->error, sizeof(w->error), "hsmca_ca_sign(%s, role %s, CN %s): %s (%s)", w->mount, w->role,
                 c->cn, hsmca_err_message(), hsmca_rv_name(rv));
        goto done;
    }
    /* Keep the certificate for the check; freeing the previous one costs
     * what hsmca_ca_result_clear would have. */
    X509_free(w->last);
    w->last = res.certificate;
    res.certificate = NULL;
    snprintf(w->serial, sizeof(w->serial), "%s", res.serial_number);
done:
    hsmca_ca_result_clear(&res);
    return rv == HSMCA_OK;
}

/* ---- checking that what was timed were real certificates ---- */

/* Verifies cert's signature with the issuer's public key in OpenSSL's
 * default provider, on a copy decoded from its DER, so that nothing of
 * hsmca (its provider, its cached encodings) takes part. */
static bool cert_verifies(const bench_issuer *is, X509 *cert)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    X509 *copy = X509_new_ex(NULL, BENCH_PROPQ_SOFT);
    int len = i2d_X509(cert, &der);
    bool ok = false;

    p = der;
    if (copy == NULL || len <= 0 || d2i_X509(&copy, &p, len) == NULL)
        goto done;
    ok = X509_verify(copy, is->pub) == 1 &&
         X509_NAME_cmp(X509_get_issuer_name(copy), X509_get_subject_name(is->cert)) == 0;
done:
    ERR_clear_error();
    X509_free(copy);
    OPENSSL_free(der);
    return ok;
}

/* Storage on means stored: the certificate read back by its serial is the
 * one returned. no_store means not stored. */
static bool storage_as_promised(hsmca_ca *ca, const bench_issuer *is, const issue_worker *w, bool stored)
{
    hsmca_store_cert sc;
    unsigned char *der = NULL;
    int len = i2d_X509(w->last, &der);
    hsmca_rv rv;
    bool ok;

    memset(&sc, 0, sizeof(sc));
    rv = hsmca_ca_cert_get(ca, is->mount, w->serial, &sc);
    if (stored)
        ok = rv == HSMCA_OK && len > 0 && sc.der_len == (size_t)len && memcmp(sc.der, der, (size_t)len) == 0;
    else
        ok = rv == HSMCA_ERR_NOT_FOUND;
    if (!ok)
        fprintf(stderr, "hsmca-bench-issue: %s: certificate %s %s (%s)\n", is->name, w->serial,
                stored ? "is not in the store as returned" : "was stored by a no_store role",
                hsmca_rv_name(rv));
    hsmca_store_cert_clear(&sc);
    OPENSSL_free(der);
    return ok;
}

/* ---- one timed measurement ---- */

/* The store's counters at the clock's start and their growth until its
 * end (bench_job.mark): warm-up commits stay out. */
typedef struct {
    hsmca_store *st;
    hsmca_store_stats at_start;
    hsmca_store_stats delta;
} commit_marks;

static void mark_commits(void *arg, bool end)
{
    commit_marks *m = arg;
    hsmca_store_stats now;

    hsmca_store_get_stats(m->st, &now);
    if (!end) {
        m->at_start = now;
        return;
    }
    m->delta.batches = now.batches - m->at_start.batches;
    m->delta.transactions = now.transactions - m->at_start.transactions;
    m->delta.failed = now.failed - m->at_start.failed;
}

typedef struct {
    hsmca_ca *ca;
    hsmca_store *st;
    const bench_p11 *raw;
    csr_pool *pool;
} bench_env;

/* One slice of one column. Returns 0 if an operation failed, a signature
 * or certificate does not verify, or storage was not as the role says. */
static int measure(const bench_env *env, bench_issuer *is, unsigned ci, unsigned nthreads, int kind,
                   double seconds)
{
    /* One measurement at a time; kept off the stack. */
    static bench_raw_signer raws[BENCH_THREADS_MAX];
    static issue_worker workers[BENCH_THREADS_MAX];
    void *ctx[BENCH_THREADS_MAX];
    commit_marks marks;
    bench_job job;
    bench_tally slice;
    unsigned opened = 0;
    int ok = 1;

    memset(&job, 0, sizeof(job));
    memset(&marks, 0, sizeof(marks));
    job.nthreads = nthreads;
    job.ctx = ctx;
    job.seconds = seconds;
    if (kind == KIND_RAW) {
        job.op = bench_raw_sign_op;
        job.warmup = RAW_WARMUP;
        for (unsigned i = 0; i < nthreads; i++) {
            /* One session per thread, as PKCS#11 requires for concurrency. */
            if (!bench_raw_signer_open(&raws[i], env->raw, bench_raw_mechanism(is->type), is->handle,
                                       is->raw_in, is->raw_in_len)) {
                ok = 0;
                break;
            }
            opened++;
            ctx[i] = &raws[i];
        }
    } else {
        job.op = issue_op;
        job.warmup = ISSUE_WARMUP;
        marks.st = env->st;
        job.mark = mark_commits;
        job.mark_arg = &marks;
        for (unsigned i = 0; i < nthreads; i++) {
            memset(&workers[i], 0, sizeof(workers[i]));
            workers[i].ca = env->ca;
            workers[i].mount = is->mount;
            workers[i].role = kind == KIND_STORE ? ROLE_STORE : ROLE_NOSTORE;
            workers[i].pool = env->pool;
            ctx[i] = &workers[i];
        }
    }
    if (ok && !bench_measure(&job, &slice, NULL))
        ok = 0;

    for (unsigned i = 0; i < nthreads; i++) {
        if (kind == KIND_RAW) {
            if (i >= opened)
                break;
            if (raws[i].error[0] != '\0') {
                fprintf(stderr, "hsmca-bench-issue: %s, thread %u: %s\n", is->name, i + 1, raws[i].error);
                ok = 0;
            } else if (ok &&
                       !bench_raw_signature_ok(is->pub, is->type, is->digest, raws[i].sig, raws[i].siglen)) {
                fprintf(stderr, "hsmca-bench-issue: %s, thread %u: the last raw signature does not verify\n",
                        is->name, i + 1);
                ok = 0;
            }
            continue;
        }
        if (workers[i].error[0] != '\0') {
            fprintf(stderr, "hsmca-bench-issue: %s, thread %u: %s\n", is->name, i + 1, workers[i].error);
            ok = 0;
        } else if (ok && (workers[i].last == NULL || !cert_verifies(is, workers[i].last))) {
            fprintf(stderr,
                    "hsmca-bench-issue: %s, thread %u: certificate %s does not verify with the issuer key\n",
                    is->name, i + 1, workers[i].serial);
            ok = 0;
        } else if (ok && i == 0 && !storage_as_promised(env->ca, is, &workers[i], kind == KIND_STORE)) {
            ok = 0;
        }
        X509_free(workers[i].last);
        workers[i].last = NULL;
    }
    for (unsigned i = 0; i < opened; i++)
        bench_raw_signer_close(&raws[i]);
    if (!ok)
        return 0;
    bench_tally_add(&is->tally[ci][kind], &slice);
    if (kind == KIND_STORE) {
        is->commits[ci].batches += marks.delta.batches;
        is->commits[ci].transactions += marks.delta.transactions;
        is->commits[ci].failed += marks.delta.failed;
    }
    fprintf(stderr,
            "    %-22s %2u thr %7lu in %.3f s = %8.1f /s, %6.2f ms each, CPU use %.2f, others %.2f CPU",
            kind_names[kind], nthreads, slice.ops, slice.wall, bench_tally_rate(&slice),
            slice.ops ? 1e3 * slice.wall * nthreads / (double)slice.ops : 0.0, slice.cpu / slice.wall,
            slice.others / slice.wall);
    if (kind == KIND_STORE && marks.delta.transactions > 0)
        fprintf(stderr, ", %.1f batches/commit",
                (double)marks.delta.batches / (double)marks.delta.transactions);
    fprintf(stderr, "\n");
    return 1;
}

/* Every column of one issuer gets `seconds` in all, cut into `rounds`
 * slices taken in turn (raw, storage on, no_store at each thread count,
 * then again), so that load drifting on the machine, and the database
 * growing, weigh on every column alike and the ratios stay fair. */
static int run_issuer(const bench_env *env, bench_issuer *is, const issue_opts *o)
{
    double slice = o->common.seconds / o->common.rounds;

    for (unsigned round = 0; round < o->common.rounds; round++) {
        fprintf(stderr, "  %s, round %u of %u:\n", is->name, round + 1, o->common.rounds);
        for (unsigned ci = 0; ci < o->n_counts; ci++) {
            for (int kind = 0; kind < N_KINDS; kind++) {
                if (!measure(env, is, ci, o->counts[ci], kind, slice))
                    return 0;
            }
        }
    }
    for (unsigned ci = 0; ci < o->n_counts; ci++) {
        for (int kind = 0; kind < N_KINDS; kind++)
            is->rate[ci][kind] = bench_tally_rate(&is->tally[ci][kind]);
    }
    return 1;
}

/* ---- setting up the CA ---- */

/* A mount with a root whose key the CA generates in the token, and the two
 * roles; then what the raw side needs to sign with the same key. */
static int setup_issuer(const bench_env *env, bench_p11 *raw, bench_issuer *is, const unsigned char *msg)
{
    hsmca_ca_params p;
    hsmca_ca_result res;
    hsmca_strlist warnings = {0};
    unsigned char *spki = NULL;
    const unsigned char *q;
    char cn[64];
    int len, ok = 0;

    hsmca_ca_params_init(&p);
    memset(&res, 0, sizeof(res));
    snprintf(is->mount, sizeof(is->mount), MOUNT_PREFIX "%s", is->slug);
    if (hsmca_ca_mount_enable(env->ca, is->mount) != HSMCA_OK) {
        bench_fail_hsmca("enabling the mount");
        goto done;
    }
    is->mounted = true; /* from here on, cleanup disables it (and destroys its key) */
    snprintf(cn, sizeof(cn), "hsmca bench %s root", is->name);
    p.type = "internal";
    p.key_type = is->key_type;
    p.key_bits = is->key_bits;
    p.common_name = cn;
    p.issuer_name = "root";
    p.ttl = ROOT_TTL;
    if (hsmca_ca_generate_root(env->ca, is->mount, &p, &res) != HSMCA_OK) {
        bench_fail_hsmca("generating the root");
        goto done;
    }
    snprintf(is->key_id, sizeof(is->key_id), "%s", res.key_id);
    is->cert = res.certificate;
    res.certificate = NULL;
    if (hsmca_ca_role_put(env->ca, is->mount, ROLE_STORE, role_store_json, false, &warnings) != HSMCA_OK ||
        hsmca_ca_role_put(env->ca, is->mount, ROLE_NOSTORE, role_nostore_json, false, &warnings) !=
            HSMCA_OK) {
        bench_fail_hsmca("creating the roles");
        goto done;
    }
    for (size_t i = 0; i < warnings.n; i++)
        fprintf(stderr, "  %s role warning: %s\n", is->name, warnings.v[i]);
    /* The checks' public key: decoded into the default provider. */
    len = i2d_PUBKEY(X509_get0_pubkey(is->cert), &spki);
    q = spki;
    if (len <= 0 || (is->pub = d2i_PUBKEY_ex(NULL, &q, len, NULL, BENCH_PROPQ_SOFT)) == NULL) {
        fprintf(stderr, "hsmca-bench-issue: cannot decode the %s root's public key\n", is->name);
        goto done;
    }
    if (EVP_Digest(msg, MSG_LEN, is->digest, NULL, EVP_sha256(), NULL) != 1)
        goto done;
    is->raw_in_len = sizeof(is->raw_in);
    if (!bench_raw_input(is->type, is->digest, msg, MSG_LEN, is->raw_in, &is->raw_in_len) ||
        !bench_p11_find_key(raw, is->key_id, &is->handle))
        goto done;
    fprintf(stderr, "  %s root: key %s in the token, mount %s\n", is->name, is->key_id, is->mount);
    ok = 1;
done:
    ERR_clear_error();
    OPENSSL_free(spki);
    hsmca_strlist_clear(&warnings);
    hsmca_ca_result_clear(&res);
    hsmca_ca_params_clear(&p);
    return ok;
}

/* ---- the database directory ---- */

static const char *fs_name(long type)
{
    /* statfs(2) magic numbers of the filesystems a CA is likely to sit on. */
    switch ((unsigned long)type) {
    case 0xEF53UL:
        return "ext2/3/4";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x01021994UL:
        return "tmpfs";
    case 0x794C7630UL:
        return "overlayfs";
    case 0x2FC12FC1UL:
        return "zfs";
    default:
        return "other";
    }
}

/* The database's files (SQLite WAL mode: the file, -wal, -shm). */
static void db_remove(const char *dir)
{
    static const char *const names[] = {"issue.db", "issue.db-wal", "issue.db-shm", "issue.db-journal"};
    char path[DIR_MAX + 32];

    if (dir[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            fprintf(stderr, "hsmca-bench-issue: removing %s: %s\n", path, strerror(errno));
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "hsmca-bench-issue: removing %s: %s\n", dir, strerror(errno));
}

/* ---- results ---- */

/* v with `decimals` digits after the point; "-" when not measured. */
static void fmt_num(char *out, size_t size, double v, int decimals)
{
    if (v < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.*f", decimals, v);
}

static double ratio(double num, double den)
{
    return num >= 0 && den > 0 ? num / den : -1;
}

static void fmt_verdict(char *out, size_t size, double r, double target)
{
    if (r < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.2f %s", r, r >= target ? "met" : "NOT met");
}

static bool is_disturbed(const bench_issuer *is, unsigned ci, unsigned nthreads, int kind)
{
    /* A storage-on issuance waits for fsync: its CPU use says nothing. */
    return bench_disturbed(&is->tally[ci][kind], nthreads, kind != KIND_STORE);
}

/* One line per target: at which thread counts it is met. */
static void print_verdict_line(const bench_issuer *is, const issue_opts *o, const char *what, int num,
                               int den, double target)
{
    char met[64] = "", missed[64] = "";

    for (unsigned ci = 0; ci < o->n_counts; ci++) {
        double r = ratio(is->rate[ci][num], is->rate[ci][den]);
        char *list = r >= target ? met : missed;
        size_t n = strlen(list);

        if (r >= 0)
            snprintf(list + n, sizeof(met) - n, "%s%u", n ? ", " : "", o->counts[ci]);
    }
    printf("- %s, %s >= %.2f: %s%s%s%s%s\n", is->name, what, target, met[0] ? "met with threads " : "", met,
           met[0] && missed[0] ? "; " : "", missed[0] ? "NOT met with threads " : "", missed);
}

/* A table row: one issuer at one thread count. arg: the row's own state. */
typedef void (*row_fn)(const bench_issuer *is, unsigned ci, unsigned nthreads, void *arg);

static void for_each_row(const bench_issuer *iss, const issue_opts *o, row_fn fn, void *arg)
{
    for (int i = 0; i < N_ISSUERS; i++) {
        if (!iss[i].selected)
            continue;
        for (unsigned ci = 0; ci < o->n_counts; ci++)
            fn(&iss[i], ci, o->counts[ci], arg);
    }
}

static void rate_row(const bench_issuer *is, unsigned ci, unsigned nthreads, void *arg)
{
    bool *any_disturbed = arg;
    char c[N_KINDS][32], store_v[32], raw_v[32], nostore_raw[16];
    const double *r = is->rate[ci];

    for (int k = 0; k < N_KINDS; k++) {
        bench_fmt_rate(c[k], sizeof(c[k]), r[k], is_disturbed(is, ci, nthreads, k));
        *any_disturbed = *any_disturbed || is_disturbed(is, ci, nthreads, k);
    }
    fmt_verdict(store_v, sizeof(store_v), ratio(r[KIND_STORE], r[KIND_NOSTORE]), TARGET_STORE);
    if (is->type == HSMCA_KEY_RSA)
        fmt_verdict(raw_v, sizeof(raw_v), ratio(r[KIND_STORE], r[KIND_RAW]), TARGET_RAW);
    else
        fmt_num(raw_v, sizeof(raw_v), ratio(r[KIND_STORE], r[KIND_RAW]), 2);
    fmt_num(nostore_raw, sizeof(nostore_raw), ratio(r[KIND_NOSTORE], r[KIND_RAW]), 2);
    printf("| %s | %u | %s | %s | %s | %s | %s | %s |\n", is->name, nthreads, c[KIND_RAW], c[KIND_STORE],
           c[KIND_NOSTORE], store_v, raw_v, nostore_raw);
}

/* For bench/run-all (B3): @row lines, after the human tables. */
static void emit_row(const bench_issuer *is, unsigned ci, unsigned nthreads, void *arg)
{
    (void)arg;
    for (int k = KIND_STORE; k <= KIND_NOSTORE; k++)
        bench_emit_row(k == KIND_STORE ? "CSR -> certificate in-process, storage on"
                                       : "CSR -> certificate in-process, no_store",
                       is->name, nthreads, is->rate[ci][k], "/s", is_disturbed(is, ci, nthreads, k), -1, -1,
                       -1);
}

/* Group commit: each issuance with storage is two batches (the intent
 * before signing, the certificate after), and each transaction is one
 * fsync of the WAL. */
static void commit_row(const bench_issuer *is, unsigned ci, unsigned nthreads, void *arg)
{
    const hsmca_store_stats *s = &is->commits[ci];
    char per_tx[16], ms[N_KINDS][16];

    (void)arg;
    fmt_num(per_tx, sizeof(per_tx), s->transactions ? (double)s->batches / (double)s->transactions : -1, 2);
    for (int k = KIND_STORE; k <= KIND_NOSTORE; k++)
        fmt_num(ms[k], sizeof(ms[k]), is->rate[ci][k] > 0 ? 1e3 * nthreads / is->rate[ci][k] : -1, 2);
    printf("| %s | %u | %llu | %llu | %s | %s | %s |\n", is->name, nthreads, (unsigned long long)s->batches,
           (unsigned long long)s->transactions, per_tx, ms[KIND_STORE], ms[KIND_NOSTORE]);
}

static void cpu_row(const bench_issuer *is, unsigned ci, unsigned nthreads, void *arg)
{
    (void)arg;
    printf("| %s | %u", is->name, nthreads);
    for (int k = 0; k < N_KINDS; k++) {
        const bench_tally *t = &is->tally[ci][k];
        if (t->wall > 0)
            printf(" | %.2f / %.2f", t->cpu / t->wall, t->others / t->wall);
        else
            printf(" | -");
    }
    printf(" |\n");
}

static void print_tables(const bench_issuer *iss, const issue_opts *o, double elapsed)
{
    bool any_disturbed = false;

    printf("Per second (higher is better). raw = C_SignInit+C_Sign on the token with the issuer's own key, "
           "handle cached, one session per thread; issuance = hsmca_ca_sign of a P-256 CSR through role "
           "'%s' (intent and certificate committed) or '%s' (no_store), one issuance per call. "
           "Ratios: storage / no_store (target >= %.2f; OpenBao's own documentation shows about 0.22) and "
           "issuance with storage / raw at the same concurrency (target >= %.2f for RSA-2048; P-256 for "
           "information).\n\n",
           ROLE_STORE, ROLE_NOSTORE, TARGET_STORE, TARGET_RAW);
    printf("| issuer | threads | raw C_Sign | issuance, storage on | issuance, no_store "
           "| storage / no_store | issuance / raw | no_store / raw |\n");
    printf("|---|--:|--:|--:|--:|---|---|--:|\n");
    for_each_row(iss, o, rate_row, &any_disturbed);
    printf("\n");
    for (int i = 0; i < N_ISSUERS; i++) {
        if (!iss[i].selected)
            continue;
        print_verdict_line(&iss[i], o, "storage / no_store", KIND_STORE, KIND_NOSTORE, TARGET_STORE);
        if (iss[i].type == HSMCA_KEY_RSA)
            print_verdict_line(&iss[i], o, "issuance with storage / raw C_Sign", KIND_STORE, KIND_RAW,
                               TARGET_RAW);
    }

    printf("\nThe store's group commit in the storage-on columns (hsmca_store_get_stats while timed; two "
           "batches per certificate: intent, then certificate; one fsync per transaction) and the mean "
           "time one issuance took (threads / rate):\n\n");
    printf("| issuer | threads | batches | transactions | batches per transaction | ms per issuance, "
           "storage on | ms per issuance, no_store |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|\n");
    for_each_row(iss, o, commit_row, NULL);

    printf("\nCPU use (CPUs this process kept busy) and, after the slash, CPUs the rest of the machine kept "
           "busy (above %.2f: disturbed; includes the kernel's journal threads doing our fsyncs):\n\n",
           BENCH_OTHERS_MAX);
    printf("| issuer | threads | raw C_Sign | issuance, storage on | issuance, no_store |\n");
    printf("|---|--:|--:|--:|--:|\n");
    for_each_row(iss, o, cpu_row, NULL);
    printf("\n");
    if (any_disturbed)
        printf("- WARNING: figures marked * come from a measurement in which other programs competed for the "
               "CPUs (a CPU-bound 1-thread column below %.2f CPU, more than %.0f preemptions/s with no more "
               "threads than CPUs, or more than %.2f CPU used by the rest of the machine): they and their "
               "ratios are not trustworthy. Rerun on a quiet machine.\n",
               BENCH_CPU_USE_SINGLE_MIN, BENCH_PREEMPT_MAX, BENCH_OTHERS_MAX);
    for_each_row(iss, o, emit_row, NULL);
    bench_print_footer(elapsed);
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hsmca-bench-issue [--module PATH] --token LABEL [--pin-file PATH] [--dir DIR]\n"
            "                         [--seconds N] [--rounds R] [--threads LIST] [--issuers LIST]\n"
            "  --module PATH    PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so)\n"
            "  --token LABEL    token to use; the bench makes 2 root keys in it and destroys them\n"
            "  --pin-file PATH  file holding the user PIN (else $HSMCA_BENCH_PIN_FILE)\n"
            "  --dir DIR        where the SQLite database's directory is made (default $TMPDIR or /tmp);\n"
            "                   use the daemon's disk: a tmpfs makes fsync free\n"
            "  --seconds N      time per measurement, %.1f..%.0f (default %.0f); there are\n"
            "                   issuers x thread counts x 3 of them\n"
            "  --rounds R       slices per measurement, taken in turn (default %d, max %d)\n"
            "  --threads LIST   thread counts, at most %d (default 1,2 x nproc,%d)\n"
            "  --issuers LIST   only these of p256,rsa2048 (e.g. for a profiler run)\n"
            "Run bench/run.sh to get a throwaway SoftHSM2 token.\n",
            BENCH_SECONDS_MIN, BENCH_SECONDS_MAX, SECONDS_DEFAULT, ROUNDS_DEFAULT, BENCH_ROUNDS_MAX,
            MAX_COUNTS, FIXED_THREADS);
}

/* 1: run; 0: bad usage (reported); -1: help printed, nothing to do. */
static int parse_opts(int argc, char **argv, issue_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 'n'},
        {"issuers", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        BENCH_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    const char *counts = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int c;

    bench_opts_init(&o->common, SECONDS_DEFAULT, ROUNDS_DEFAULT);
    o->dir = getenv("TMPDIR");
    if (o->dir == NULL || o->dir[0] == '\0')
        o->dir = "/tmp";
    o->issuers = NULL;
    o->n_counts = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 'n':
            counts = optarg;
            break;
        case 'i':
            o->issuers = optarg;
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
    if (counts != NULL) {
        if (!bench_parse_counts("--threads", counts, BENCH_THREADS_MAX, o->counts, &o->n_counts, MAX_COUNTS))
            return 0;
    } else {
        /* 1 thread; 2 x cores, enough to keep every CPU busy while others
         * wait on the token or the disk; 16, where group commit has many
         * batches to share an fsync. */
        unsigned twice = ncpu > 0 ? (unsigned)(2 * ncpu) : 2;
        if (twice > BENCH_THREADS_MAX)
            twice = BENCH_THREADS_MAX;
        bench_count_add("--threads", o->counts, &o->n_counts, MAX_COUNTS, 1);
        bench_count_add("--threads", o->counts, &o->n_counts, MAX_COUNTS, twice);
        bench_count_add("--threads", o->counts, &o->n_counts, MAX_COUNTS, FIXED_THREADS);
    }
    if (strlen(o->dir) > DIR_MAX - 64) {
        fprintf(stderr, "hsmca-bench-issue: --dir is longer than %d bytes\n", DIR_MAX - 64);
        return 0;
    }
    if (!bench_select_names("--issuers", o->issuers, issuer_slugs, N_ISSUERS, &o->selected))
        return 0;
    return bench_opts_check(&o->common, argc, optind);
}

/* ---- main ---- */

static void print_facts(const issue_opts *o, const bench_p11 *raw, const char *dir, unsigned sessions)
{
    struct statfs sfs;
    const char *fs = statfs(dir, &sfs) == 0 ? fs_name((long)sfs.f_type) : "unknown";

    bench_print_facts("hsmca-bench-issue", raw, o->common.module);
    printf("- database: SQLite (WAL, synchronous=FULL) in %s, filesystem %s%s\n", dir, fs,
           strcmp(fs, "tmpfs") == 0
               ? " -- WARNING: fsync is free here, storage figures mean nothing for a disk"
               : "");
    printf("- per measurement: %.1f s in %u rounds taken in turn with the other columns of the issuer, after "
           "%d warm-up issuances (%d raw signatures) per thread\n",
           o->common.seconds, o->common.rounds, ISSUE_WARMUP, RAW_WARMUP);
    printf("- CSRs: %d software P-256 keys, CN h<N>.example.com, made before timing and used in turn\n",
           N_CSRS);
    printf("- token session pool: %u sessions; default verify policy (re-verify RSA)\n", sessions);
    printf("- raw input: SHA-256 DigestInfo with CKM_RSA_PKCS for RSA, 32-byte digest with CKM_ECDSA for "
           "P-256\n");
    bench_print_loadavg("load average at start");
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    issue_opts opts;
    bench_issuer iss[N_ISSUERS] = {
        {.name = "P-256", .slug = issuer_slugs[0], .key_type = "ec", .key_bits = 256, .type = HSMCA_KEY_EC},
        {.name = "RSA-2048",
         .slug = issuer_slugs[1],
         .key_type = "rsa",
         .key_bits = 2048,
         .type = HSMCA_KEY_RSA},
    };
    static bench_p11 raw;
    static csr_pool pool;
    static char dir[DIR_MAX];
    char db_path[DIR_MAX + 16];
    unsigned char msg[MSG_LEN];
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    hsmca_p11_token *tok = NULL;
    hsmca_keyslot *ks = NULL;
    hsmca_store *st = NULL;
    hsmca_ca *ca = NULL;
    OSSL_PROVIDER *prov = NULL;
    hsmca_pin *pin = NULL;
    bench_env env;
    hsmca_store_stats total;
    double t_start = bench_now();
    int status = 1, rc;

    bench_set_name("hsmca-bench-issue");
    for (int i = 0; i < N_ISSUERS; i++) {
        for (int c = 0; c < MAX_COUNTS; c++) {
            for (int k = 0; k < N_KINDS; k++)
                iss[i].rate[c][k] = -1;
        }
    }
    rc = parse_opts(argc, argv, &opts);
    if (rc <= 0)
        return rc < 0 ? 0 : 2; /* --help, or bad usage (reported) */
    for (int i = 0; i < N_ISSUERS; i++)
        iss[i].selected = (opts.selected >> i) & 1u;
    if (!bench_start(&opts.common, msg, sizeof(msg), &pin))
        goto done;
    snprintf(dir, sizeof(dir), "%s/hsmca-bench-issue.XXXXXX", opts.dir);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "hsmca-bench-issue: cannot make a directory under %s: %s\n", opts.dir,
                strerror(errno));
        dir[0] = '\0';
        goto done;
    }
    snprintf(db_path, sizeof(db_path), "%s/issue.db", dir);

    memset(&pc, 0, sizeof(pc));
    pc.module_path = opts.common.module;
    pc.token_label = opts.common.token;
    pc.pin.file = opts.common.pin_file;
    /* As many sessions as threads, as a deployment sized for this
     * concurrency would configure: otherwise the pool, not the CA, sets
     * the 16-thread figure. Never below the default of 8. */
    pc.max_sessions = opts.counts[opts.n_counts - 1] > 8 ? opts.counts[opts.n_counts - 1] : 8;
    pc.verify = HSMCA_VERIFY_ALWAYS_RSA;
    if (hsmca_p11_token_open(&pc, &tok) != HSMCA_OK || hsmca_keyslot_new(tok, &ks) != HSMCA_OK ||
        hsmca_provider_load(NULL, &prov) != HSMCA_OK) {
        bench_fail_hsmca("opening the token");
        goto done;
    }
    memset(&sc, 0, sizeof(sc));
    sc.path = db_path;
    if (hsmca_store_open(&sc, &st) != HSMCA_OK) {
        bench_fail_hsmca("opening the store");
        goto done;
    }
    memset(&cc, 0, sizeof(cc));
    cc.store = st;
    cc.keyslot = ks;
    cc.max_ttl = ROOT_TTL;
    if (hsmca_ca_new(&cc, &ca) != HSMCA_OK) {
        bench_fail_hsmca("creating the CA");
        goto done;
    }
    if (!bench_p11_open(&raw, opts.common.module, opts.common.token, pin))
        goto done;

    fprintf(stderr, "hsmca-bench-issue: making %d CSRs and the roots\n", N_CSRS);
    if (!csr_pool_make(&pool, N_CSRS))
        goto done;
    env.ca = ca;
    env.st = st;
    env.raw = &raw;
    env.pool = &pool;
    for (int i = 0; i < N_ISSUERS; i++) {
        if (iss[i].selected && !setup_issuer(&env, &raw, &iss[i], msg))
            goto done;
    }
    print_facts(&opts, &raw, dir, pc.max_sessions);
    for (int i = 0; i < N_ISSUERS; i++) {
        if (iss[i].selected && !run_issuer(&env, &iss[i], &opts))
            goto done;
    }
    hsmca_store_get_stats(st, &total);
    if (total.failed != 0) {
        fprintf(stderr, "hsmca-bench-issue: the store rolled back %llu batches\n",
                (unsigned long long)total.failed);
        goto done;
    }
    status = 0;
done:
    bench_p11_close(&raw);
    for (int i = 0; i < N_ISSUERS; i++) {
        /* Destroys the root key in the token too: leave the token as found. */
        if (iss[i].mounted && hsmca_ca_mount_disable(ca, iss[i].mount) != HSMCA_OK)
            bench_fail_hsmca("disabling a bench mount");
        X509_free(iss[i].cert);
        EVP_PKEY_free(iss[i].pub);
    }
    csr_pool_free(&pool);
    hsmca_ca_free(ca);
    hsmca_store_close(st);
    if (dir[0] != '\0')
        db_remove(dir);
    if (status == 0)
        print_tables(iss, &opts, bench_now() - t_start);
    else
        fprintf(stderr, "hsmca-bench-issue: failed; figures above, if any, are incomplete\n");
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    hsmca_pin_free(pin);
    return status;
}
