/* SPDX-License-Identifier: Apache-2.0 */
/* The machinery the benchmark programs share (bench_common.h): clocks, CPU
 * accounting, machine facts, the timed thread runner and the raw PKCS#11
 * baseline that calls the module directly, without hsm/p11 in the way. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bench_common.h"
#include "hsmca/log.h"
#include "hsmca/uuid.h"

#ifndef HSMCA_VERSION
#define HSMCA_VERSION "unknown"
#endif

#define MAX_SLOTS 64

/* DER DigestInfo prefix for SHA-256 (RFC 8017 9.2, note 1): what the
 * provider hands the token with CKM_RSA_PKCS. */
static const unsigned char sha256_digestinfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

static const char *prog = "hsmca-bench";

void bench_set_name(const char *name)
{
    prog = name;
}

const char *bench_name(void)
{
    return prog;
}

/* ---- clocks ---- */

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_until(double deadline)
{
    for (;;) {
        double left = deadline - bench_now();
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
 * number of times the kernel took the CPU away from one of its threads
 * (involuntary context switches: waiting on a lock or for I/O is a voluntary
 * one). */
static double process_cpu_s(long *preempted)
{
    struct rusage ru;

    *preempted = 0;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    *preempted = ru.ru_nivcsw;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds the whole machine has spent busy since boot: the first line
 * of /proc/stat (proc(5)), in clock ticks. guest time is already inside
 * user; steal is time the hypervisor gave our vCPUs to someone else, which
 * disturbs a measurement as much as a local program does. 0 if unreadable. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    long hz = sysconf(_SC_CLK_TCK);
    int n = 0;

    if (f == NULL)
        return 0;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq,
               &softirq, &steal);
    fclose(f);
    if (n < 4 || hz <= 0)
        return 0;
    return (double)(user + nice + sys + irq + softirq + steal) / (double)hz;
}

typedef struct {
    double wall, cpu, busy;
    long preempted;
} clock_mark;

static void clock_read(clock_mark *m)
{
    m->wall = bench_now();
    m->cpu = process_cpu_s(&m->preempted);
    m->busy = machine_busy_s();
}

static void tally_between(const clock_mark *a, const clock_mark *b, bench_tally *t)
{
    t->wall = b->wall - a->wall;
    t->cpu = b->cpu - a->cpu;
    t->preempted = b->preempted - a->preempted;
    /* Clock ticks are coarser than getrusage: short runs can come out a
     * little below zero. */
    t->others = (b->busy - a->busy) - t->cpu;
    if (t->others < 0)
        t->others = 0;
}

void bench_tally_add(bench_tally *sum, const bench_tally *part)
{
    sum->ops += part->ops;
    sum->wall += part->wall;
    sum->cpu += part->cpu;
    sum->preempted += part->preempted;
    sum->others += part->others;
}

double bench_tally_rate(const bench_tally *t)
{
    return t->wall > 0 ? (double)t->ops / t->wall : -1;
}

bool bench_disturbed(const bench_tally *t, unsigned nthreads, bool cpu_bound)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (t->wall <= 0)
        return false;
    if (cpu_bound && nthreads == 1 && t->cpu / t->wall < BENCH_CPU_USE_SINGLE_MIN)
        return true;
    /* With more threads than CPUs the bench's own threads preempt each
     * other, and a run that waits on I/O is preempted by the kernel threads
     * doing its I/O (and by the store's writer thread): then the count says
     * nothing about other programs. */
    if (cpu_bound && ncpu > 0 && nthreads <= (unsigned long)ncpu &&
        (double)t->preempted / t->wall > BENCH_PREEMPT_MAX)
        return true;
    return t->others / t->wall > BENCH_OTHERS_MAX;
}

/* ---- reporting ---- */

int bench_fail_hsmca(const char *what)
{
    unsigned long e = ERR_peek_last_error();

    fprintf(stderr, "%s: %s: %s (%s)%s%s\n", prog, what, hsmca_err_message(), hsmca_rv_name(hsmca_err_last()),
            e ? "; OpenSSL: " : "", e ? ERR_reason_error_string(e) : "");
    ERR_clear_error();
    return 0;
}

int bench_fail_ckr(const char *what, CK_RV crv)
{
    fprintf(stderr, "%s: %s failed: CK_RV 0x%08lx\n", prog, what, (unsigned long)crv);
    return 0;
}

/* ---- machine facts ---- */

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

void bench_print_loadavg(const char *what)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];

    if (f == NULL)
        return;
    if (fgets(line, sizeof(line), f) != NULL)
        printf("- %s: %.*s\n", what, (int)strcspn(line, "\n"), line);
    fclose(f);
}

void bench_print_footer(double elapsed)
{
    bench_print_loadavg("load average at end");
    printf("- total run time: %.0f s. The exit status never depends on these figures.\n", elapsed);
}

void bench_print_facts(const char *title, const bench_p11 *raw, const char *module)
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
    printf("# %s (hsmca %s)\n\n", title, HSMCA_VERSION);
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
    printf("- module: %s\n", module);
}

void bench_fmt_rate(char *out, size_t size, double rate, bool disturbed)
{
    if (rate < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.0f%s", rate, disturbed ? "*" : "");
}

/* A number as a field of an @row line; "-" when absent (< 0). */
static void row_num(char *out, size_t size, double v, int decimals)
{
    if (v < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.*f", decimals, v);
}

void bench_emit_row(const char *what, const char *key, unsigned concurrency, double value, const char *unit,
                    bool disturbed, double p50_ms, double p95_ms, double p99_ms)
{
    char conc[16], v[32], p50[32], p95[32], p99[32];

    if (concurrency == 0)
        snprintf(conc, sizeof(conc), "-");
    else
        snprintf(conc, sizeof(conc), "%u", concurrency);
    row_num(v, sizeof(v), value, 3);
    row_num(p50, sizeof(p50), p50_ms, 3);
    row_num(p95, sizeof(p95), p95_ms, 3);
    row_num(p99, sizeof(p99), p99_ms, 3);
    /* Tabs separate the fields: no field holds one. */
    printf("@row\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", what, key ? key : "-", conc, v, unit ? unit : "-",
           disturbed ? 1 : 0, p50, p95, p99);
    fflush(stdout);
}

/* ---- the raw PKCS#11 side ---- */

/* hsmca has already initialised the module in this process (the token was
 * opened first), so C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED. */
int bench_p11_open(bench_p11 *raw, const char *module, const char *token, const hsmca_pin *pin)
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
    raw->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (raw->dl == NULL) {
        fprintf(stderr, "%s: dlopen %s: %s\n", prog, module, dlerror());
        return 0;
    }
    sym = dlsym(raw->dl, "C_GetFunctionList");
    if (sym == NULL) {
        fprintf(stderr, "%s: %s has no C_GetFunctionList\n", prog, module);
        return 0;
    }
    /* POSIX lets dlsym's object pointer stand for a function pointer. */
    memcpy(&get, &sym, sizeof(get));
    crv = get(&raw->fl);
    if (crv != CKR_OK || raw->fl == NULL)
        return bench_fail_ckr("C_GetFunctionList", crv);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    crv = raw->fl->C_Initialize(&args);
    if (crv != CKR_OK && crv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return bench_fail_ckr("C_Initialize", crv);
    if ((crv = raw->fl->C_GetInfo(&raw->info)) != CKR_OK)
        return bench_fail_ckr("C_GetInfo", crv);
    if ((crv = raw->fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return bench_fail_ckr("C_GetSlotList", crv);
    for (CK_ULONG i = 0; i < n && !found; i++) {
        char label[33];
        if (raw->fl->C_GetTokenInfo(slots[i], &raw->token) != CKR_OK)
            continue;
        unpad(label, sizeof(label), raw->token.label, sizeof(raw->token.label));
        if (strcmp(label, token) == 0) {
            raw->slot = slots[i];
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "%s: raw side: no token labelled '%s'\n", prog, token);
        return 0;
    }
    crv = raw->fl->C_OpenSession(raw->slot, CKF_SERIAL_SESSION, NULL, NULL, &raw->lookup);
    if (crv != CKR_OK)
        return bench_fail_ckr("C_OpenSession", crv);
    raw->lookup_open = true;
    /* Logging in is per application: hsmca's pool has normally done it. */
    if ((crv = raw->fl->C_GetSessionInfo(raw->lookup, &si)) != CKR_OK)
        return bench_fail_ckr("C_GetSessionInfo", crv);
    if (si.state != CKS_RO_USER_FUNCTIONS && si.state != CKS_RW_USER_FUNCTIONS) {
        size_t len = 0;
        const unsigned char *p = hsmca_pin_data(pin, &len);
        crv = raw->fl->C_Login(raw->lookup, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)p, (CK_ULONG)len);
        if (crv != CKR_OK && crv != CKR_USER_ALREADY_LOGGED_IN)
            return bench_fail_ckr("C_Login", crv);
    }
    return 1;
}

void bench_p11_close(bench_p11 *raw)
{
    /* Only our own session: C_CloseAllSessions would close hsmca's pool too.
     * The library stays loaded (hsm/p11/module.c explains why). */
    if (raw->lookup_open)
        raw->fl->C_CloseSession(raw->lookup);
    raw->lookup_open = false;
}

int bench_p11_find_key(bench_p11 *raw, const char *key_id, CK_OBJECT_HANDLE *out)
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

    if (!hsmca_uuid_parse(key_id, id)) {
        fprintf(stderr, "%s: key_id '%s' is not a UUID\n", prog, key_id);
        return 0;
    }
    if ((crv = raw->fl->C_FindObjectsInit(raw->lookup, tmpl, 2)) != CKR_OK)
        return bench_fail_ckr("C_FindObjectsInit", crv);
    /* Asking for 2 tells "exactly one" from "more than one". */
    crv = raw->fl->C_FindObjects(raw->lookup, found, 2, &n);
    crv2 = raw->fl->C_FindObjectsFinal(raw->lookup);
    if (crv != CKR_OK)
        return bench_fail_ckr("C_FindObjects", crv);
    if (crv2 != CKR_OK)
        return bench_fail_ckr("C_FindObjectsFinal", crv2);
    if (n != 1) {
        fprintf(stderr, "%s: %lu private keys with CKA_ID %s (expected 1)\n", prog, (unsigned long)n, key_id);
        return 0;
    }
    *out = found[0];
    return 1;
}

int bench_raw_input(hsmca_key_type type, const unsigned char digest[32], const unsigned char *msg,
                    size_t msg_len, unsigned char *out, size_t *len)
{
    switch (type) {
    case HSMCA_KEY_RSA:
        if (*len < sizeof(sha256_digestinfo) + 32)
            return 0;
        memcpy(out, sha256_digestinfo, sizeof(sha256_digestinfo));
        memcpy(out + sizeof(sha256_digestinfo), digest, 32);
        *len = sizeof(sha256_digestinfo) + 32;
        return 1;
    case HSMCA_KEY_EC:
        if (*len < 32)
            return 0;
        memcpy(out, digest, 32);
        *len = 32;
        return 1;
    case HSMCA_KEY_ED25519:
        if (*len < msg_len)
            return 0;
        memcpy(out, msg, msg_len);
        *len = msg_len;
        return 1;
    }
    return 0;
}

CK_MECHANISM_TYPE bench_raw_mechanism(hsmca_key_type type)
{
    switch (type) {
    case HSMCA_KEY_RSA:
        return CKM_RSA_PKCS;
    case HSMCA_KEY_EC:
        return CKM_ECDSA;
    case HSMCA_KEY_ED25519:
        return CKM_EDDSA;
    }
    return CKM_VENDOR_DEFINED; /* no token signs with it: fails loudly */
}

/* PKCS#11 ECDSA output is r || s (PKCS#11 2.40 section 2.3.1); OpenSSL
 * verifies the DER Ecdsa-Sig-Value. */
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

bool bench_raw_signature_ok(EVP_PKEY *pub, hsmca_key_type type, const unsigned char digest[32],
                            const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD *md = NULL;
    unsigned char der[BENCH_SIG_MAX];
    size_t der_len = sizeof(der);
    bool ok = false;

    if (siglen == 0 || (type != HSMCA_KEY_RSA && type != HSMCA_KEY_EC))
        goto done;
    md = EVP_MD_fetch(NULL, "SHA256", BENCH_PROPQ_SOFT);
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, BENCH_PROPQ_SOFT);
    if (md == NULL || pctx == NULL || EVP_PKEY_verify_init(pctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(pctx, md) != 1)
        goto done;
    if (type == HSMCA_KEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_verify(pctx, sig, siglen, digest, 32) == 1;
    else
        ok = ecdsa_rs_to_der(sig, siglen, der, &der_len) &&
             EVP_PKEY_verify(pctx, der, der_len, digest, 32) == 1;
done:
    ERR_clear_error();
    EVP_PKEY_CTX_free(pctx);
    EVP_MD_free(md);
    return ok;
}

int bench_raw_signer_open(bench_raw_signer *s, const bench_p11 *p11, CK_MECHANISM_TYPE mech,
                          CK_OBJECT_HANDLE key, const unsigned char *in, size_t in_len)
{
    CK_RV crv;

    memset(s, 0, sizeof(*s));
    s->p11 = p11;
    s->mech = mech;
    s->key = key;
    s->in = in;
    s->in_len = in_len;
    crv = p11->fl->C_OpenSession(p11->slot, CKF_SERIAL_SESSION, NULL, NULL, &s->session);
    if (crv != CKR_OK)
        return bench_fail_ckr("C_OpenSession", crv);
    s->session_open = true;
    return 1;
}

void bench_raw_signer_close(bench_raw_signer *s)
{
    if (s->session_open)
        s->p11->fl->C_CloseSession(s->session);
    s->session_open = false;
}

bool bench_raw_sign_op(void *signer)
{
    bench_raw_signer *s = signer;
    const CK_FUNCTION_LIST *fl = s->p11->fl;
    CK_MECHANISM mech = {s->mech, NULL, 0};
    CK_ULONG len = sizeof(s->sig);
    CK_RV crv;

    crv = fl->C_SignInit(s->session, &mech, s->key);
    if (crv == CKR_OK)
        crv = fl->C_Sign(s->session, (CK_BYTE_PTR)(uintptr_t)s->in, (CK_ULONG)s->in_len, s->sig, &len);
    if (crv != CKR_OK) {
        snprintf(s->error, sizeof(s->error), "C_SignInit/C_Sign returned CK_RV 0x%08lx", (unsigned long)crv);
        return false;
    }
    s->siglen = len;
    return true;
}

/* ---- the timed runner ---- */

typedef struct {
    /* Start gate: workers report ready after their warm-up, then wait for
     * go, so the clock starts with every thread running. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned ready;
    bool go;
    atomic_bool stop;
} run_state;

typedef struct {
    run_state *state;
    const bench_job *job;
    void *ctx;
    unsigned long ops;
    bool failed;
    pthread_t thread;
} run_thread;

static void *run_thread_main(void *arg)
{
    run_thread *t = arg;
    run_state *s = t->state;
    bool ok = true;

    for (unsigned i = 0; ok && i < t->job->warmup; i++)
        ok = t->job->op(t->ctx);
    pthread_mutex_lock(&s->lock);
    s->ready++;
    pthread_cond_broadcast(&s->cond);
    while (!s->go)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    /* Bounded by the stop flag the main thread sets after the duration. */
    while (ok && !atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        ok = t->job->op(t->ctx);
        if (ok)
            t->ops++;
    }
    t->failed = !ok;
    return NULL;
}

int bench_measure(const bench_job *job, bench_tally *out, unsigned long *ops_per_thread)
{
    /* Kept off the stack, and one measurement runs at a time. */
    static run_thread threads[BENCH_THREADS_MAX];
    run_state s;
    clock_mark m0, m1;
    unsigned created = 0;
    int ok = 1;

    memset(out, 0, sizeof(*out));
    if (job->nthreads == 0 || job->nthreads > BENCH_THREADS_MAX) {
        fprintf(stderr, "%s: %u threads: must be 1..%d\n", prog, job->nthreads, BENCH_THREADS_MAX);
        return 0;
    }
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    atomic_init(&s.stop, false);
    for (unsigned i = 0; i < job->nthreads; i++) {
        run_thread *t = &threads[i];

        memset(t, 0, sizeof(*t));
        t->state = &s;
        t->job = job;
        t->ctx = job->ctx[i];
        if (pthread_create(&t->thread, NULL, run_thread_main, t) != 0) {
            fprintf(stderr, "%s: cannot start thread %u\n", prog, i + 1);
            ok = 0;
            break;
        }
        created++;
    }
    pthread_mutex_lock(&s.lock);
    while (ok && s.ready < created)
        pthread_cond_wait(&s.cond, &s.lock);
    if (!ok)
        atomic_store(&s.stop, true);
    s.go = true;
    clock_read(&m0);
    /* Before the broadcast: no worker has started its first timed
     * operation yet. */
    if (job->mark != NULL)
        job->mark(job->mark_arg, false);
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    if (ok)
        bench_sleep_until(m0.wall + job->seconds);
    atomic_store(&s.stop, true);
    for (unsigned i = 0; i < created; i++)
        pthread_join(threads[i].thread, NULL);
    clock_read(&m1);
    if (job->mark != NULL)
        job->mark(job->mark_arg, true);
    tally_between(&m0, &m1, out);
    for (unsigned i = 0; i < created; i++) {
        if (threads[i].failed)
            ok = 0;
        if (ops_per_thread != NULL)
            ops_per_thread[i] = threads[i].ops;
        out->ops += threads[i].ops;
    }
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
    return ok;
}

/* ---- options ---- */

void bench_opts_init(bench_opts *o, double seconds, unsigned rounds)
{
    o->module = "/usr/lib/softhsm/libsofthsm2.so";
    o->token = NULL;
    o->pin_file = getenv("HSMCA_BENCH_PIN_FILE");
    o->seconds = seconds;
    o->rounds = rounds;
}

int bench_parse_uint(const char *name, const char *arg, unsigned long min, unsigned long max,
                     unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr, "%s: %s '%s' must be a whole number from %lu to %lu\n", prog, name, arg, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

/* Index of the name p[0..len) among names, or -1. */
static int name_index(const char *const *names, size_t n, const char *p, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncmp(p, names[i], len) == 0)
            return (int)i;
    }
    return -1;
}

int bench_select_names(const char *option, const char *list, const char *const *names, size_t n,
                       unsigned *mask)
{
    const char *p = list;

    if (n > 32)
        n = 32; /* the mask's width: no bench has more than a handful */
    *mask = list == NULL ? (n == 32 ? ~0u : (1u << n) - 1) : 0;
    /* Bounded: each turn consumes one item of the list. */
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");
        int i = name_index(names, n, p, len);

        if (i < 0) {
            fprintf(stderr, "%s: %s: '%.*s' is not one of", prog, option, (int)len, p);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, "%s %s", k ? "," : "", names[k]);
            fprintf(stderr, "\n");
            return 0;
        }
        *mask |= 1u << i;
        p += len;
        if (*p == ',')
            p++;
    }
    if (*mask == 0)
        fprintf(stderr, "%s: %s selects nothing\n", prog, option);
    return *mask != 0;
}

int bench_opts_take(bench_opts *o, int c, const char *arg)
{
    switch (c) {
    case BENCH_OPT_MODULE:
        o->module = arg;
        return 1;
    case BENCH_OPT_TOKEN:
        o->token = arg;
        return 1;
    case BENCH_OPT_PIN_FILE:
        o->pin_file = arg;
        return 1;
    case BENCH_OPT_ROUNDS: {
        unsigned long v;
        if (!bench_parse_uint("--rounds", arg, 1, BENCH_ROUNDS_MAX, &v))
            return 0;
        o->rounds = (unsigned)v;
        return 1;
    }
    case BENCH_OPT_SECONDS: {
        char *end = NULL;
        errno = 0;
        o->seconds = strtod(arg, &end);
        /* !(x >= min) also refuses NaN. */
        if (errno != 0 || end == arg || *end != '\0' || !(o->seconds >= BENCH_SECONDS_MIN) ||
            o->seconds > BENCH_SECONDS_MAX) {
            fprintf(stderr, "%s: --seconds '%s' must be a number from %.1f to %.0f\n", prog, arg,
                    BENCH_SECONDS_MIN, BENCH_SECONDS_MAX);
            return 0;
        }
        return 1;
    }
    default:
        /* getopt_long has named the option already. */
        fprintf(stderr, "%s: see --help\n", prog);
        return 0;
    }
}

int bench_start(const bench_opts *o, unsigned char *msg, size_t msg_len, hsmca_pin **pin)
{
    hsmca_pin_source src = {NULL, NULL};
    char origin[160];

    hsmca_log_set_level(HSMCA_LOG_WARNING);
    hsmca_p11_global_init();
    if (RAND_bytes(msg, (int)msg_len) != 1) {
        fprintf(stderr, "%s: no random bytes for the message\n", prog);
        return 0;
    }
    src.file = o->pin_file;
    if (hsmca_pin_load(&src, pin, origin, sizeof(origin)) != HSMCA_OK)
        return bench_fail_hsmca("reading the PIN file");
    return 1;
}

int bench_opts_check(const bench_opts *o, int argc, int first_unparsed)
{
    if (first_unparsed != argc) {
        /* Not echoed: a PIN typed here by mistake must not reach a log. */
        fprintf(stderr, "%s: unexpected argument #%d; options only (the PIN is read from a file)\n", prog,
                first_unparsed);
        return 0;
    }
    if (o->seconds / o->rounds < BENCH_SLICE_MIN) {
        fprintf(stderr, "%s: --seconds %.2f over %u rounds gives slices under %.2f s\n", prog, o->seconds,
                o->rounds, BENCH_SLICE_MIN);
        return 0;
    }
    if (o->token == NULL || o->token[0] == '\0') {
        fprintf(stderr, "%s: --token is required\n", prog);
        return 0;
    }
    if (o->pin_file == NULL || o->pin_file[0] == '\0') {
        fprintf(stderr, "%s: no PIN file: give --pin-file or set HSMCA_BENCH_PIN_FILE\n", prog);
        return 0;
    }
    return 1;
}

int bench_count_add(const char *option, unsigned *counts, unsigned *n, unsigned max, unsigned c)
{
    unsigned i;

    for (i = 0; i < *n; i++) {
        if (counts[i] == c)
            return 1;
    }
    if (*n == max) {
        fprintf(stderr, "%s: %s: at most %u different counts\n", bench_name(), option, max);
        return 0;
    }
    for (i = *n; i > 0 && counts[i - 1] > c; i--)
        counts[i] = counts[i - 1];
    counts[i] = c;
    (*n)++;
    return 1;
}

int bench_parse_counts(const char *option, const char *list, unsigned value_max, unsigned *counts,
                       unsigned *n, unsigned max)
{
    char item[16];
    const char *p = list;

    *n = 0;
    /* Bounded: each turn consumes one item of the list. */
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        unsigned long v;

        if (len == 0 || len >= sizeof(item)) {
            fprintf(stderr, "%s: %s '%s': a comma-separated list of counts\n", bench_name(), option, list);
            return 0;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!bench_parse_uint(option, item, 1, value_max, &v) ||
            !bench_count_add(option, counts, n, max, (unsigned)v))
            return 0;
        p += len;
        if (*p == ',')
            p++;
    }
    if (*n == 0) {
        fprintf(stderr, "%s: %s gives no count\n", bench_name(), option);
        return 0;
    }
    return 1;
}

double bench_proc_cpu_s(long pid)
{
    char path[64], line[1024];
    const char *p;
    unsigned long long ut = 0, st = 0;
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f;
    size_t n;

    if (pid <= 0 || hz <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name (field 2) is in parentheses and may hold spaces or
     * ')': fields are counted from the last ')'. */
    p = strrchr(line, ')');
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)hz;
}

