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
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/pin.h"
#include "hsmca/provider.h"
#include "hsmca/uuid.h"

#ifndef HSMCA_VERSION
#define HSMCA_VERSION "unknown"
#endif

#define MSG_LEN         1024 /* about the size of a TBSCertificate */
#define SIG_MAX         512  /* RSA-2048: 256, ECDSA P-256 (DER): <= 72, Ed25519: 64 */
#define RAW_IN_MAX      MSG_LEN
#define WARMUP_OPS      8 /* per thread, before the clock starts: opens pool sessions, warms caches */
#define MAX_THREADS     2
#define N_KEYS          3
#define SECONDS_DEFAULT 3.0
#define SECONDS_MIN     0.1
#define SECONDS_MAX     60.0 /* 18 measurements: at most ~18 minutes */
#define ROUNDS_DEFAULT  3
#define ROUNDS_MAX      20
#define SLICE_MIN       0.05 /* shortest timed slice (seconds / rounds) */
#define MAX_SLOTS       64
#define TARGET_RATIO    0.9
/* A 1-thread measurement keeps one CPU busy. Below this, other programs
 * took the CPU from it and its figure is not to be trusted. */
#define CPU_USE_SINGLE_MIN 0.95
/* Involuntary context switches per second above which other programs were
 * competing for the CPUs. Measured on a 2-vCPU VM: 0..60/s when quiet, 170..230/s
 * in 2-thread columns with one busy process beside the bench. */
#define PREEMPT_MAX 120.0
/* Software checks and digests must never go through the token. */
#define PROPQ_SOFT "provider=default"

/* DER DigestInfo prefix for SHA-256 (RFC 8017 9.2, note 1): what the
 * provider hands the token with CKM_RSA_PKCS. */
static const unsigned char sha256_digestinfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

/* The columns of the result table, in the order they are measured. */
enum { COL_RAW1, COL_RAW2, COL_PROV1, COL_PROV2, COL_VERIFY1, COL_VERIFY2, N_COLS };
static const char *const col_names[N_COLS] = {
    "raw C_Sign, 1 session", "raw C_Sign, 2 sessions",           "provider, 1 thread",
    "provider, 2 threads",   "provider verify=always, 1 thread", "provider verify=always, 2 threads",
};

typedef struct {
    const char *name; /* "RSA-2048" */
    const char *slug; /* for the key name: "rsa2048" */
    hsmca_key_type type;
    unsigned bits;
    const char *md;          /* provider digest; NULL for Ed25519 (PureEdDSA) */
    CK_MECHANISM_TYPE mech;  /* raw mechanism */
    hsmca_keyslot_info info; /* the key generated for this run */
    EVP_PKEY *pub;           /* software public key (default provider) to check signatures */
    EVP_PKEY *pkey;          /* the provider's token key of the current phase */
    CK_OBJECT_HANDLE handle; /* raw: private key looked up once by CKA_ID */
    unsigned char digest[32];
    /* exactly what the provider gives the token for this key type */
    unsigned char raw_in[RAW_IN_MAX];
    size_t raw_in_len;
    bool selected; /* --keys */
    /* Per column, summed over the rounds: signatures, wall and CPU seconds. */
    unsigned long ops[N_COLS];
    double wall[N_COLS];
    double cpu[N_COLS];
    long preempted[N_COLS];
    double rate[N_COLS]; /* signatures per second; < 0 when not measured */
} bench_key;

/* The PKCS#11 module as the raw half sees it. */
typedef struct {
    void *dl;
    CK_FUNCTION_LIST *fl;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE lookup; /* logged-in session for the key lookups */
    bool lookup_open;
    CK_INFO info;
    CK_TOKEN_INFO token;
} raw_p11;

typedef enum { MODE_RAW, MODE_PROVIDER } bench_mode;

typedef struct bench_run bench_run;

typedef struct {
    bench_run *run;
    CK_SESSION_HANDLE session; /* raw: this thread's own session */
    bool session_open;
    unsigned char sig[SIG_MAX]; /* the last signature, checked after the run */
    size_t siglen;
    unsigned long ops; /* signatures made while the clock ran */
    bool failed;
    char error[512];
    pthread_t thread;
} bench_worker;

struct bench_run {
    bench_mode mode;
    bench_key *key;
    const raw_p11 *raw;
    const unsigned char *msg;
    unsigned nthreads;
    /* start gate: workers report ready after their warm-up, then wait for go */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned ready;
    bool go;
    atomic_bool stop;
    bench_worker workers[MAX_THREADS];
};

typedef struct {
    const char *module;
    const char *token;
    const char *pin_file;
    const char *keys; /* comma-separated slugs, NULL: all */
    double seconds;   /* per measurement (column), split over the rounds */
    unsigned rounds;
} bench_opts;

/* ---- small helpers ---- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double deadline)
{
    for (;;) {
        double left = deadline - now_s();
        struct timespec ts;

        if (left <= 0)
            return;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            return;
    }
}

/* CPU time of the whole process (all threads), user + system; and the
 * number of times the kernel took the CPU away from one of its threads for
 * another program (involuntary context switches: waiting on a lock is a
 * voluntary one). */
static double cpu_s(long *preempted)
{
    struct rusage ru;

    *preempted = 0;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    *preempted = ru.ru_nivcsw;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* PKCS#11 strings are blank-padded, not NUL-terminated. */
static void unpad(char *dst, size_t dst_size, const CK_UTF8CHAR *src, size_t src_len)
{
    size_t n = src_len;

    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    if (n >= dst_size)
        n = dst_size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int fail_hsmca(const char *what)
{
    unsigned long e = ERR_peek_last_error();

    fprintf(stderr, "hsmca-bench-sign: %s: %s (%s)%s%s\n", what, hsmca_err_message(),
            hsmca_rv_name(hsmca_err_last()), e ? "; OpenSSL: " : "", e ? ERR_reason_error_string(e) : "");
    ERR_clear_error();
    return 0;
}

static int fail_ckr(const char *what, CK_RV crv)
{
    fprintf(stderr, "hsmca-bench-sign: %s failed: CK_RV 0x%08lx\n", what, (unsigned long)crv);
    return 0;
}

/* ---- machine facts ---- */

static void cpu_model(char *out, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(out, size, "unknown");
    if (f == NULL)
        return;
    /* Bounded: /proc/cpuinfo has a few dozen lines per CPU. */
    while (fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0 ||
            strncmp(line, "cpu model", 9) == 0) {
            char *v = colon + 1;
            size_t n;
            while (*v == ' ' || *v == '\t')
                v++;
            n = strcspn(v, "\n");
            snprintf(out, size, "%.*s", (int)n, v);
            break;
        }
    }
    fclose(f);
}

static void print_loadavg(const char *what)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];

    if (f == NULL)
        return;
    if (fgets(line, sizeof(line), f) != NULL)
        printf("- %s: %.*s\n", what, (int)strcspn(line, "\n"), line);
    fclose(f);
}

static void print_facts(const bench_opts *o, const raw_p11 *raw)
{
    char cpu[256], when[64], manuf[33], model[33], libdesc[33];
    struct utsname u;
    time_t t = time(NULL);
    struct tm tm;

    cpu_model(cpu, sizeof(cpu));
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    unpad(manuf, sizeof(manuf), raw->token.manufacturerID, sizeof(raw->token.manufacturerID));
    unpad(model, sizeof(model), raw->token.model, sizeof(raw->token.model));
    unpad(libdesc, sizeof(libdesc), raw->info.libraryDescription, sizeof(raw->info.libraryDescription));
    printf("# hsmca-bench-sign (hsmca %s)\n\n", HSMCA_VERSION);
    printf("- date: %s\n", when);
    printf("- CPU: %s\n", cpu);
    printf("- nproc: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0)
        printf("- kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    printf("- OpenSSL: %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("- token: %s %s, firmware %u.%u, hardware %u.%u (library \"%s\" %u.%u, Cryptoki %u.%u)\n", manuf,
           model, raw->token.firmwareVersion.major, raw->token.firmwareVersion.minor,
           raw->token.hardwareVersion.major, raw->token.hardwareVersion.minor, libdesc,
           raw->info.libraryVersion.major, raw->info.libraryVersion.minor, raw->info.cryptokiVersion.major,
           raw->info.cryptokiVersion.minor);
    printf("- module: %s\n", o->module);
    printf("- per measurement: %.1f s in %u rounds taken in turn with the other columns, each after "
           "%d warm-up signatures per thread; message %d bytes (SHA-256 for RSA and ECDSA)\n",
           o->seconds, o->rounds, WARMUP_OPS, MSG_LEN);
    print_loadavg("load average at start");
    printf("\n");
    fflush(stdout);
}

/* ---- the raw PKCS#11 side ---- */

/* hsmca has already initialised the module in this process (the token was
 * opened first), so C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED.
 * The raw side never finalizes and never logs out: either would pull the
 * module or the login from under hsmca's session pool. */
static int raw_open(raw_p11 *raw, const bench_opts *o, const hsmca_pin *pin)
{
    CK_C_GetFunctionList get;
    CK_C_INITIALIZE_ARGS args;
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    CK_SESSION_INFO si;
    void *sym;
    CK_RV crv;
    bool found = false;

    memset(raw, 0, sizeof(*raw));
    raw->dl = dlopen(o->module, RTLD_NOW | RTLD_LOCAL);
    if (raw->dl == NULL) {
        fprintf(stderr, "hsmca-bench-sign: dlopen %s: %s\n", o->module, dlerror());
        return 0;
    }
    sym = dlsym(raw->dl, "C_GetFunctionList");
    if (sym == NULL) {
        fprintf(stderr, "hsmca-bench-sign: %s has no C_GetFunctionList\n", o->module);
        return 0;
    }
    /* POSIX lets dlsym's object pointer stand for a function pointer. */
    memcpy(&get, &sym, sizeof(get));
    crv = get(&raw->fl);
    if (crv != CKR_OK || raw->fl == NULL)
        return fail_ckr("C_GetFunctionList", crv);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    crv = raw->fl->C_Initialize(&args);
    if (crv != CKR_OK && crv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return fail_ckr("C_Initialize", crv);
    if ((crv = raw->fl->C_GetInfo(&raw->info)) != CKR_OK)
        return fail_ckr("C_GetInfo", crv);
    if ((crv = raw->fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return fail_ckr("C_GetSlotList", crv);
    for (CK_ULONG i = 0; i < n && !found; i++) {
        char label[33];
        if (raw->fl->C_GetTokenInfo(slots[i], &raw->token) != CKR_OK)
            continue;
        unpad(label, sizeof(label), raw->token.label, sizeof(raw->token.label));
        if (strcmp(label, o->token) == 0) {
            raw->slot = slots[i];
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "hsmca-bench-sign: raw side: no token labelled '%s'\n", o->token);
        return 0;
    }
    crv = raw->fl->C_OpenSession(raw->slot, CKF_SERIAL_SESSION, NULL, NULL, &raw->lookup);
    if (crv != CKR_OK)
        return fail_ckr("C_OpenSession", crv);
    raw->lookup_open = true;
    /* Logging in is per application: hsmca's pool has normally done it. */
    if ((crv = raw->fl->C_GetSessionInfo(raw->lookup, &si)) != CKR_OK)
        return fail_ckr("C_GetSessionInfo", crv);
    if (si.state != CKS_RO_USER_FUNCTIONS && si.state != CKS_RW_USER_FUNCTIONS) {
        size_t len = 0;
        const unsigned char *p = hsmca_pin_data(pin, &len);
        crv = raw->fl->C_Login(raw->lookup, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)p, (CK_ULONG)len);
        if (crv != CKR_OK && crv != CKR_USER_ALREADY_LOGGED_IN)
            return fail_ckr("C_Login", crv);
    }
    return 1;
}

static void raw_close(raw_p11 *raw)
{
    /* Only our own session: C_CloseAllSessions would close hsmca's pool too.
     * The library stays loaded (hsm/p11/module.c explains why). */
    if (raw->lookup_open)
        raw->fl->C_CloseSession(raw->lookup);
    raw->lookup_open = false;
}

/* The same private key hsmca generated, found by its CKA_ID: the 16 bytes
 * whose UUID text is the key_id. Looked up once; handles of token objects
 * are valid in every session of this process. */
static int raw_find_key(raw_p11 *raw, bench_key *k)
{
    unsigned char id[16];
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[2] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ID, id, sizeof(id)},
    };
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_RV crv, crv2;

    if (!hsmca_uuid_parse(k->info.key_id, id)) {
        fprintf(stderr, "hsmca-bench-sign: key_id '%s' is not a UUID\n", k->info.key_id);
        return 0;
    }
    if ((crv = raw->fl->C_FindObjectsInit(raw->lookup, tmpl, 2)) != CKR_OK)
        return fail_ckr("C_FindObjectsInit", crv);
    crv = raw->fl->C_FindObjects(raw->lookup, found, 2, &n);
    crv2 = raw->fl->C_FindObjectsFinal(raw->lookup);
    if (crv != CKR_OK)
        return fail_ckr("C_FindObjects", crv);
    if (crv2 != CKR_OK)
        return fail_ckr("C_FindObjectsFinal", crv2);
    if (n != 1) {
        fprintf(stderr, "hsmca-bench-sign: %lu private keys with CKA_ID %s (expected 1)\n", (unsigned long)n,
                k->info.key_id);
        return 0;
    }
    k->handle = found[0];
    return 1;
}

/* ---- one signature, as each side makes it ---- */

static bool sign_raw(bench_worker *w)
{
    const bench_run *r = w->run;
    const CK_FUNCTION_LIST *fl = r->raw->fl;
    CK_MECHANISM mech = {r->key->mech, NULL, 0};
    CK_ULONG len = sizeof(w->sig);
    CK_RV crv;

    crv = fl->C_SignInit(w->session, &mech, r->key->handle);
    if (crv == CKR_OK)
        crv = fl->C_Sign(w->session, (CK_BYTE_PTR)(uintptr_t)r->key->raw_in, (CK_ULONG)r->key->raw_in_len,
                         w->sig, &len);
    if (crv != CKR_OK) {
        snprintf(w->error, sizeof(w->error), "C_SignInit/C_Sign returned CK_RV 0x%08lx", (unsigned long)crv);
        return false;
    }
    w->siglen = len;
    return true;
}

/* What a CA does per artefact: a fresh context, hsmca's sign-init (the
 * property query that routes to the token), one EVP_DigestSign. */
static bool sign_provider(bench_worker *w)
{
    const bench_run *r = w->run;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    size_t len = sizeof(w->sig);
    bool ok = false;

    if (mctx == NULL) {
        snprintf(w->error, sizeof(w->error), "out of memory");
        return false;
    }
    if (hsmca_provider_sign_init(mctx, NULL, r->key->md, r->key->pkey, 0) != HSMCA_OK) {
        snprintf(w->error, sizeof(w->error), "hsmca_provider_sign_init: %s", hsmca_err_message());
        goto done;
    }
    if (EVP_DigestSign(mctx, w->sig, &len, r->msg, MSG_LEN) != 1) {
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

static bool sign_once(bench_worker *w)
{
    return w->run->mode == MODE_RAW ? sign_raw(w) : sign_provider(w);
}

/* ---- checking that what was timed were real signatures ---- */

static bool ecdsa_rs_to_der(const unsigned char *rs, size_t len, unsigned char *der, size_t *der_len)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = NULL, *sv = NULL;
    unsigned char *p = der;
    bool ok = false;
    int n;

    if (s == NULL || len == 0 || len % 2 != 0)
        goto done;
    r = BN_bin2bn(rs, (int)(len / 2), NULL);
    sv = BN_bin2bn(rs + len / 2, (int)(len / 2), NULL);
    if (r == NULL || sv == NULL || !ECDSA_SIG_set0(s, r, sv))
        goto done;
    r = sv = NULL;
    n = i2d_ECDSA_SIG(s, NULL);
    if (n <= 0 || (size_t)n > *der_len)
        goto done;
    *der_len = (size_t)i2d_ECDSA_SIG(s, &p);
    ok = true;
done:
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return ok;
}

/* Verifies with the software public key through OpenSSL's default
 * provider, independently of hsmca's own re-verification. */
static bool signature_ok(const bench_key *k, bench_mode mode, const unsigned char *msg,
                         const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD *md = NULL;
    unsigned char der[SIG_MAX];
    size_t der_len = sizeof(der);
    bool ok = false;

    if (siglen == 0)
        goto done;
    if (mode == MODE_PROVIDER || k->type == HSMCA_KEY_ED25519) {
        /* The whole message: PureEdDSA, or hash-then-sign as the provider does. */
        mctx = EVP_MD_CTX_new();
        ok = mctx != NULL &&
             EVP_DigestVerifyInit_ex(mctx, NULL, k->md, NULL, PROPQ_SOFT, k->pub, NULL) == 1 &&
             EVP_DigestVerify(mctx, sig, siglen, msg, MSG_LEN) == 1;
        goto done;
    }
    /* Raw RSA and ECDSA signed the digest. */
    md = EVP_MD_fetch(NULL, "SHA256", PROPQ_SOFT);
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pub, PROPQ_SOFT);
    if (md == NULL || pctx == NULL || EVP_PKEY_verify_init(pctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(pctx, md) != 1)
        goto done;
    if (k->type == HSMCA_KEY_RSA) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_verify(pctx, sig, siglen, k->digest, sizeof(k->digest)) == 1;
    } else {
        /* PKCS#11 ECDSA output is r || s. */
        ok = ecdsa_rs_to_der(sig, siglen, der, &der_len) &&
             EVP_PKEY_verify(pctx, der, der_len, k->digest, sizeof(k->digest)) == 1;
    }
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    EVP_MD_free(md);
    return ok;
}

/* ---- one timed measurement ---- */

static void *worker_main(void *arg)
{
    bench_worker *w = arg;
    bench_run *r = w->run;
    bool ok = true;

    for (int i = 0; ok && i < WARMUP_OPS; i++)
        ok = sign_once(w);
    pthread_mutex_lock(&r->lock);
    r->ready++;
    pthread_cond_broadcast(&r->cond);
    while (!r->go)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    /* Bounded by the stop flag the main thread sets after the duration. */
    while (ok && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        ok = sign_once(w);
        if (ok)
            w->ops++;
    }
    w->failed = !ok;
    return NULL;
}

/* Runs nthreads workers for `seconds` and adds the signatures made, the
 * elapsed wall time and the process CPU time to the key's column totals.
 * Elapsed time runs from the common start until the last worker finished its
 * signature in flight, and that signature is counted: both sides are
 * measured the same way. Returns 0 if any signature failed or did not
 * verify. */
static int measure(bench_run *r, int col, double seconds)
{
    unsigned created = 0;
    unsigned long total = 0;
    double t0 = 0, t1, c0 = 0, c1;
    long p0 = 0, p1 = 0;
    int ok = 1;

    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->ready = 0;
    r->go = false;
    atomic_init(&r->stop, false);
    for (unsigned i = 0; i < r->nthreads; i++) {
        bench_worker *w = &r->workers[i];
        memset(w, 0, sizeof(*w));
        w->run = r;
        if (r->mode == MODE_RAW) {
            /* One session per thread, as PKCS#11 requires for concurrency. */
            CK_RV crv = r->raw->fl->C_OpenSession(r->raw->slot, CKF_SERIAL_SESSION, NULL, NULL, &w->session);
            if (crv != CKR_OK) {
                ok = fail_ckr("C_OpenSession", crv);
                break;
            }
            w->session_open = true;
        }
    }
    for (unsigned i = 0; ok && i < r->nthreads; i++) {
        if (pthread_create(&r->workers[i].thread, NULL, worker_main, &r->workers[i]) != 0) {
            fprintf(stderr, "hsmca-bench-sign: cannot start thread %u\n", i + 1);
            ok = 0;
            break;
        }
        created++;
    }
    pthread_mutex_lock(&r->lock);
    while (ok && r->ready < created)
        pthread_cond_wait(&r->cond, &r->lock);
    if (!ok)
        atomic_store(&r->stop, true);
    r->go = true;
    t0 = now_s();
    c0 = cpu_s(&p0);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (ok)
        sleep_until(t0 + seconds);
    atomic_store(&r->stop, true);
    for (unsigned i = 0; i < created; i++)
        pthread_join(r->workers[i].thread, NULL);
    t1 = now_s();
    c1 = cpu_s(&p1);

    for (unsigned i = 0; i < r->nthreads; i++) {
        bench_worker *w = &r->workers[i];
        if (w->session_open)
            r->raw->fl->C_CloseSession(w->session);
        if (i >= created)
            continue;
        if (w->failed) {
            fprintf(stderr, "hsmca-bench-sign: %s, thread %u: %s\n", r->key->name, i + 1, w->error);
            ok = 0;
        } else if (!signature_ok(r->key, r->mode, r->msg, w->sig, w->siglen)) {
            fprintf(stderr, "hsmca-bench-sign: %s, thread %u: the last signature does not verify\n",
                    r->key->name, i + 1);
            ok = 0;
        }
        total += w->ops;
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    if (!ok)
        return 0;
    r->key->ops[col] += total;
    r->key->wall[col] += t1 - t0;
    r->key->cpu[col] += c1 - c0;
    r->key->preempted[col] += p1 - p0;
    /* CPU use shows whether two threads really ran in parallel or queued
     * on a lock (in the token or in hsmca). */
    fprintf(stderr, "    %-34s %7lu signatures in %.3f s = %9.1f /s, CPU use %.2f, preempted %.0f/s\n",
            col_names[col], total, t1 - t0, (double)total / (t1 - t0), (c1 - c0) / (t1 - t0),
            (double)(p1 - p0) / (t1 - t0));
    return 1;
}

static int run_slice(bench_key *k, int col, const raw_p11 *raw, const unsigned char *msg, double seconds)
{
    static bench_run r; /* one measurement at a time; kept off the stack */

    memset(&r, 0, sizeof(r));
    r.mode = (col == COL_RAW1 || col == COL_RAW2) ? MODE_RAW : MODE_PROVIDER;
    r.nthreads = (col == COL_RAW1 || col == COL_PROV1 || col == COL_VERIFY1) ? 1 : 2;
    r.key = k;
    r.raw = raw;
    r.msg = msg;
    return measure(&r, col, seconds);
}

/* Measures columns [first, last] of one key. Each column gets `seconds` in
 * all, cut into `rounds` slices taken in turn (raw, provider, raw, ...), so
 * that load from elsewhere on the machine drifting during the run weighs
 * on raw and provider figures alike, and the ratio stays fair. */
static int run_columns(bench_key *k, int first, int last, const raw_p11 *raw, const unsigned char *msg,
                       const bench_opts *o)
{
    double slice = o->seconds / o->rounds;

    for (unsigned round = 0; round < o->rounds; round++) {
        fprintf(stderr, "  %s, round %u of %u:\n", k->name, round + 1, o->rounds);
        for (int col = first; col <= last; col++) {
            if (!run_slice(k, col, raw, msg, slice))
                return 0;
        }
    }
    for (int col = first; col <= last; col++)
        k->rate[col] = k->wall[col] > 0 ? (double)k->ops[col] / k->wall[col] : -1;
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
        return fail_hsmca("opening the token");
    if (hsmca_keyslot_new(h->tok, &h->ks) != HSMCA_OK)
        return fail_hsmca("creating the key-slot manager");
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
            return fail_hsmca("loading the token key through the provider");
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
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", PROPQ_SOFT);
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
            fail_hsmca("generating a key in the token");
            goto done;
        }
        if (hsmca_keyslot_export_spki(h->ks, k->info.key_id, &der, &der_len) != HSMCA_OK) {
            fail_hsmca("exporting the public key");
            goto done;
        }
        p = der;
        k->pub = d2i_PUBKEY_ex(NULL, &p, (long)der_len, NULL, PROPQ_SOFT);
        OPENSSL_free(der);
        if (k->pub == NULL) {
            fprintf(stderr, "hsmca-bench-sign: cannot decode the %s public key\n", k->name);
            goto done;
        }
        if (EVP_Digest(msg, MSG_LEN, k->digest, NULL, sha256, NULL) != 1)
            goto done;
        switch (k->type) {
        case HSMCA_KEY_RSA:
            /* CKM_RSA_PKCS over DigestInfo(SHA-256, H(msg)) */
            memcpy(k->raw_in, sha256_digestinfo, sizeof(sha256_digestinfo));
            memcpy(k->raw_in + sizeof(sha256_digestinfo), k->digest, sizeof(k->digest));
            k->raw_in_len = sizeof(sha256_digestinfo) + sizeof(k->digest);
            break;
        case HSMCA_KEY_EC:
            /* CKM_ECDSA over H(msg) */
            memcpy(k->raw_in, k->digest, sizeof(k->digest));
            k->raw_in_len = sizeof(k->digest);
            break;
        case HSMCA_KEY_ED25519:
            /* CKM_EDDSA over the message itself (PureEdDSA) */
            memcpy(k->raw_in, msg, MSG_LEN);
            k->raw_in_len = MSG_LEN;
            break;
        }
        fprintf(stderr, "  generated %s key %s\n", k->name, k->info.key_id);
    }
    ok = 1;
done:
    EVP_MD_free(sha256);
    return ok;
}

/* ---- results ---- */

static void fmt_rate(char *out, size_t size, double r)
{
    if (r < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.0f", r);
}

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

/* Whether other programs took CPU time from one measurement: a 1-thread
 * column that did not keep its CPU busy, or threads preempted often. (A
 * 2-thread column below 2.00 CPU alone proves nothing: the token may
 * serialise them on a lock.) */
static bool disturbed(const bench_key *k, int col)
{
    bool single = col == COL_RAW1 || col == COL_PROV1 || col == COL_VERIFY1;

    if (k->wall[col] <= 0)
        return false;
    if (single && k->cpu[col] / k->wall[col] < CPU_USE_SINGLE_MIN)
        return true;
    return (double)k->preempted[col] / k->wall[col] > PREEMPT_MAX;
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
            fmt_rate(c[j], sizeof(c[j]), k->rate[j]);
            if (disturbed(k, j)) {
                /* Marked, so a reader never takes a disturbed figure at face value. */
                size_t n = strlen(c[j]);
                snprintf(c[j] + n, sizeof(c[j]) - n, "*");
                any_disturbed = true;
            }
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
           "on a lock) and, after the slash, preemptions by other programs per second (above %.0f: "
           "disturbed):\n\n",
           PREEMPT_MAX);
    printf("| key | raw 1 | raw 2 | provider 1 | provider 2 | verify=always 1 | verify=always 2 |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < N_KEYS; i++) {
        const bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        printf("| %s", k->name);
        for (int j = 0; j < N_COLS; j++) {
            if (k->wall[j] > 0)
                printf(" | %.2f / %.0f", k->cpu[j] / k->wall[j], (double)k->preempted[j] / k->wall[j]);
            else
                printf(" | -");
        }
        printf(" |\n");
    }
    printf("\n");
    if (any_disturbed)
        printf("- WARNING: figures marked * (and verdicts marked DISTURBED, which rest on them) come from "
               "a 1-thread measurement below %.2f CPU or from more than %.0f preemptions/s: other programs "
               "were using the CPUs, so those figures and their ratios are not trustworthy. Rerun on a "
               "quiet machine.\n",
               CPU_USE_SINGLE_MIN, PREEMPT_MAX);
    print_loadavg("load average at end");
    printf("- total run time: %.0f s. The exit status never depends on these figures.\n", elapsed);
}

/* ---- options ---- */

/* Marks the keys named in list (comma-separated slugs); NULL selects all. */
static int select_keys(const char *list, bench_key *keys)
{
    const char *p = list;

    for (int i = 0; i < N_KEYS; i++)
        keys[i].selected = (list == NULL);
    /* Bounded: each turn consumes one item of the list. */
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (int i = 0; i < N_KEYS; i++) {
            if (strlen(keys[i].slug) == n && strncmp(p, keys[i].slug, n) == 0) {
                keys[i].selected = true;
                known = true;
            }
        }
        if (!known) {
            fprintf(stderr, "hsmca-bench-sign: --keys: '%.*s' is not one of rsa2048, p256, ed25519\n", (int)n,
                    p);
            return 0;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    for (int i = 0; i < N_KEYS; i++) {
        if (keys[i].selected)
            return 1;
    }
    fprintf(stderr, "hsmca-bench-sign: --keys selects no key\n");
    return 0;
}

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
            SECONDS_MIN, SECONDS_MAX, SECONDS_DEFAULT, ROUNDS_DEFAULT, ROUNDS_MAX);
}

/* 1: run; 0: bad usage (reported); -1: help printed, nothing to do. */
static int parse_opts(int argc, char **argv, bench_opts *o)
{
    static const struct option longopts[] = {
        {"module", required_argument, NULL, 'm'},   {"token", required_argument, NULL, 't'},
        {"pin-file", required_argument, NULL, 'p'}, {"seconds", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'k'},     {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;

    o->module = "/usr/lib/softhsm/libsofthsm2.so";
    o->token = NULL;
    o->pin_file = getenv("HSMCA_BENCH_PIN_FILE");
    o->keys = NULL;
    o->seconds = SECONDS_DEFAULT;
    o->rounds = ROUNDS_DEFAULT;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->module = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'p':
            o->pin_file = optarg;
            break;
        case 'k':
            o->keys = optarg;
            break;
        case 'r': {
            char *end = NULL;
            unsigned long v;
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > ROUNDS_MAX) {
                fprintf(stderr, "hsmca-bench-sign: --rounds '%s' must be a whole number from 1 to %d\n",
                        optarg, ROUNDS_MAX);
                return 0;
            }
            o->rounds = (unsigned)v;
            break;
        }
        case 's': {
            char *end = NULL;
            errno = 0;
            o->seconds = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(o->seconds >= SECONDS_MIN) ||
                o->seconds > SECONDS_MAX) {
                fprintf(stderr, "hsmca-bench-sign: --seconds '%s' must be a number from %.1f to %.0f\n",
                        optarg, SECONDS_MIN, SECONDS_MAX);
                return 0;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 0;
        }
    }
    if (optind != argc) {
        /* Not echoed: a PIN typed here by mistake must not reach a log. */
        fprintf(stderr,
                "hsmca-bench-sign: unexpected argument #%d; options only (the PIN is read "
                "from a file)\n",
                optind);
        return 0;
    }
    if (o->seconds / o->rounds < SLICE_MIN) {
        fprintf(stderr, "hsmca-bench-sign: --seconds %.2f over %u rounds gives slices under %.2f s\n",
                o->seconds, o->rounds, SLICE_MIN);
        return 0;
    }
    if (o->token == NULL || o->token[0] == '\0') {
        fprintf(stderr, "hsmca-bench-sign: --token is required\n");
        return 0;
    }
    if (o->pin_file == NULL || o->pin_file[0] == '\0') {
        fprintf(stderr, "hsmca-bench-sign: no PIN file: give --pin-file or set HSMCA_BENCH_PIN_FILE\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    bench_opts opts;
    bench_key keys[N_KEYS] = {
        {.name = "RSA-2048",
         .slug = "rsa2048",
         .type = HSMCA_KEY_RSA,
         .bits = 2048,
         .md = "SHA256",
         .mech = CKM_RSA_PKCS},
        {.name = "P-256",
         .slug = "p256",
         .type = HSMCA_KEY_EC,
         .bits = 256,
         .md = "SHA256",
         .mech = CKM_ECDSA},
        {.name = "Ed25519",
         .slug = "ed25519",
         .type = HSMCA_KEY_ED25519,
         .bits = 0,
         .md = NULL,
         .mech = CKM_EDDSA},
    };
    static raw_p11 raw;
    unsigned char msg[MSG_LEN];
    hsmca_side side = {NULL, NULL};
    hsmca_pin *pin = NULL;
    OSSL_PROVIDER *prov = NULL;
    hsmca_pin_source src = {NULL, NULL};
    char pin_origin[160];
    bool keys_made = false;
    double t_start = now_s();
    int status = 1;

    for (int i = 0; i < N_KEYS; i++) {
        for (int j = 0; j < N_COLS; j++)
            keys[i].rate[j] = -1;
    }
    switch (parse_opts(argc, argv, &opts)) {
    case -1:
        return 0;
    case 0:
        return 2;
    default:
        break;
    }
    if (!select_keys(opts.keys, keys))
        return 2;
    hsmca_log_set_level(HSMCA_LOG_WARNING);
    hsmca_p11_global_init();
    if (RAND_bytes(msg, sizeof(msg)) != 1)
        goto done;
    /* The raw side needs the PIN only if hsmca's login is somehow absent. */
    src.file = opts.pin_file;
    if (hsmca_pin_load(&src, &pin, pin_origin, sizeof(pin_origin)) != HSMCA_OK) {
        fail_hsmca("reading the PIN file");
        goto done;
    }
    if (hsmca_provider_load(NULL, &prov) != HSMCA_OK) {
        fail_hsmca("loading the hsmca provider");
        goto done;
    }

    /* Phase 1: default verify policy. Raw and provider figures of one key
     * are taken in alternating rounds on the same token, module and key. */
    fprintf(stderr, "hsmca-bench-sign: phase 1: raw and provider (default verify policy)\n");
    if (!hsmca_side_open(&side, &opts, HSMCA_VERIFY_ALWAYS_RSA))
        goto done;
    keys_made = true; /* even partly: cleanup deletes whichever exist */
    if (!make_keys(&side, keys, msg))
        goto done;
    if (!raw_open(&raw, &opts, pin))
        goto done;
    print_facts(&opts, &raw);
    if (!load_pkeys(&side, keys))
        goto done;
    for (int i = 0; i < N_KEYS; i++) {
        bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        if (!raw_find_key(&raw, k) || !run_columns(k, COL_RAW1, COL_PROV2, &raw, msg, &opts))
            goto done;
    }
    raw_close(&raw);
    report_health("phase 1 token", side.tok);
    hsmca_side_close(&side, keys);

    /* Phase 2: HSMCA_VERIFY_ALWAYS, in a second configuration load of the
     * same token. The first is closed completely before: the provider's key
     * loader finds the token by its URI among the tokens open in the process
     * (hsmca_p11_token_find_open), so with both open an EVP_PKEY could be
     * bound to the other policy. */
    {
        hsmca_p11_token *stale = hsmca_p11_token_find_open(NULL, opts.token, NULL, NULL, NULL);
        if (stale != NULL) {
            fprintf(stderr, "hsmca-bench-sign: phase 1's token is still open (a leaked reference); "
                            "the verify=always figures would be unreliable\n");
            hsmca_p11_token_free(stale);
            goto done;
        }
    }
    fprintf(stderr, "hsmca-bench-sign: phase 2: provider with verify=always\n");
    if (!hsmca_side_open(&side, &opts, HSMCA_VERIFY_ALWAYS) || !load_pkeys(&side, keys))
        goto done;
    for (int i = 0; i < N_KEYS; i++) {
        bench_key *k = &keys[i];
        if (!k->selected)
            continue;
        if (!run_columns(k, COL_VERIFY1, COL_VERIFY2, &raw, msg, &opts))
            goto done;
    }
    report_health("phase 2 token", side.tok);
    status = 0;
done:
    raw_close(&raw);
    if (keys_made) {
        /* Leave the token as we found it; the keys exist only for this run. */
        if (side.ks == NULL && side.tok == NULL)
            hsmca_side_open(&side, &opts, HSMCA_VERIFY_ALWAYS_RSA);
        for (int i = 0; side.ks != NULL && i < N_KEYS; i++) {
            if (keys[i].info.key_id[0] != '\0' &&
                hsmca_keyslot_delete(side.ks, keys[i].info.key_id) != HSMCA_OK)
                fail_hsmca("deleting a bench key");
        }
    }
    hsmca_side_close(&side, keys);
    for (int i = 0; i < N_KEYS; i++)
        EVP_PKEY_free(keys[i].pub);
    if (status == 0)
        print_table(keys, now_s() - t_start);
    else
        fprintf(stderr, "hsmca-bench-sign: failed; figures above, if any, are incomplete\n");
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    hsmca_pin_free(pin);
    return status;
}
