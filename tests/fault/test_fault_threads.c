/* SPDX-License-Identifier: Apache-2.0 */
/* Drives hsmca-fault-pkcs11.so directly: operation endings, reloads, removal windows and 16-thread load. */
/*
 * Usage: test_fault_threads <fault.so> <config-path> <real-module> <pin-file> <work-dir>
 *
 * Expects the token reached through <real-module> (SOFTHSM2_CONF set by the
 * caller) to hold an EC P-256 key pair labelled "k1" usable for signing and
 * verifying. Rewrites <config-path> between phases, the way a test of a
 * later issue would, and checks each effect through PKCS#11 return values and
 * the counters file. Exits 0 when every check passed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define N_THREADS 16
#define PIN_MAX 256
#define CONFIG_MAX 4096
#define PATH_LEN 4096

static CK_FUNCTION_LIST *p11;
static char config_path[PATH_LEN];
static char real_module[PATH_LEN];
static char counters_path[PATH_LEN];
static CK_UTF8CHAR pin[PIN_MAX];
static CK_ULONG pin_len;
static CK_SLOT_ID slot;
static atomic_int failures;
static atomic_ulong sign_calls; /* every C_Sign this program makes */
static CK_OBJECT_HANDLE hmac_key; /* session key for multi-part sign/verify */

static void fail_at(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_at(int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "FAIL (test_fault_threads.c:%d): ", line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_fetch_add(&failures, 1);
}

#define CHECK(cond, ...)                   \
    do {                                   \
        if (!(cond))                       \
            fail_at(__LINE__, __VA_ARGS__); \
    } while (0)

/* Like CHECK, but an rv mismatch: prints both values in hex. */
#define CHECK_RV(got, want, what)                                                    \
    do {                                                                             \
        CK_RV got_ = (got), want_ = (want);                                          \
        if (got_ != want_)                                                           \
            fail_at(__LINE__, "%s: rv 0x%lx, expected 0x%lx", (what),               \
                    (unsigned long)got_, (unsigned long)want_);                      \
    } while (0)

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    int r;

    do
        r = nanosleep(&ts, &ts);
    while (r != 0 && errno == EINTR);
}

/* Sleeps until the monotonic clock reads `when` (no-op if already past). */
static void sleep_until(uint64_t when)
{
    uint64_t now = now_ms();

    if (when > now)
        sleep_ms((unsigned)(when - now));
}

/* Writes the config (module + counters + `extra`) to a temporary file and
 * renames it into place, as README.md tells test authors to. */
static void write_config(const char *extra)
{
    char text[CONFIG_MAX];
    char tmp[PATH_LEN + 8];
    FILE *f;
    int n = snprintf(text, sizeof text, "# written by test_fault_threads\nmodule = %s\ncounters = %s\n%s",
                     real_module, counters_path, extra);

    if (n < 0 || (size_t)n >= sizeof text) {
        fail_at(__LINE__, "config text too long");
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.new", config_path);
    f = fopen(tmp, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0 || rename(tmp, config_path) != 0) {
        fail_at(__LINE__, "cannot write %s: %s", config_path, strerror(errno));
        return;
    }
}

/* Makes the module load a new config now: the module checks the file at
 * most every 20 ms, on the first call after that; C_GetInfo is that call. */
static uint64_t reload(const char *extra)
{
    CK_INFO info;

    write_config(extra);
    sleep_ms(60);
    (void)p11->C_GetInfo(&info);
    return now_ms();
}

static CK_RV sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                  CK_ULONG_PTR sig_len)
{
    atomic_fetch_add(&sign_calls, 1);
    return p11->C_Sign(s, data, len, sig, sig_len);
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    char label[] = "k1";
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_LABEL, label, sizeof label - 1},
    };

    if (p11->C_FindObjectsInit(s, t, 2) != CKR_OK)
        return CK_INVALID_HANDLE;
    if (p11->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
        h = CK_INVALID_HANDLE;
    (void)p11->C_FindObjectsFinal(s);
    return h;
}

static CK_SESSION_HANDLE open_session(void)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);

    CHECK_RV(rv, CKR_OK, "C_OpenSession");
    return s;
}

static CK_RV login(CK_SESSION_HANDLE s)
{
    CK_RV rv = p11->C_Login(s, CKU_USER, pin, pin_len);

    return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

/* A session HMAC key: gone when `s` closes, which is fine for the phases before the removal window. */
static CK_OBJECT_HANDLE make_hmac_key(CK_SESSION_HANDLE s)
{
    CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_TOKEN, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_VERIFY, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

    CHECK_RV(p11->C_GenerateKey(s, &gen, t, 4, &h), CKR_OK, "C_GenerateKey(generic secret)");
    return h;
}

static bool mech_listed(CK_MECHANISM_TYPE m, const CK_MECHANISM_TYPE *list, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        if (list[i] == m)
            return true;
    }
    return false;
}

/* ---- phases ----------------------------------------------------------------------- */

static CK_BYTE data32[32] = "0123456789abcdef0123456789abcdef";

/* A fault on a call that ends an operation must end it in SoftHSM2 too: the
 * proof is that the next C_*Init is accepted rather than refused with
 * CKR_OPERATION_ACTIVE. The control first shows SoftHSM2 does refuse a
 * second C_SignInit while an operation is active. */
static void phase_operation_end(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
    CK_BYTE sig[256];
    CK_ULONG sig_len;
    CK_ULONG n;
    CK_OBJECT_HANDLE h;
    CK_ULONG found;

    fprintf(stderr, "phase: operations end on injected faults\n");
    reload("");
    CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OK, "control C_SignInit");
    CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OPERATION_ACTIVE,
             "control: SoftHSM2 refuses a second C_SignInit while one is active");
    sig_len = sizeof sig;
    CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), CKR_OK, "control C_Sign");

    reload("fail = C_Sign every=2 rv=CKR_DEVICE_ERROR\n");
    for (int i = 1; i <= 6; i++) {
        CK_RV want = i % 2 == 0 ? CKR_DEVICE_ERROR : CKR_OK;
        CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OK, "C_SignInit after a failed C_Sign");
        sig_len = sizeof sig;
        CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), want, "C_Sign every=2");
    }

    reload("fail = C_Sign every=1 rv=CKR_DEVICE_ERROR\n");
    CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OK, "C_SignInit");
    n = 0;
    CHECK_RV(sign(s, data32, sizeof data32, NULL, &n), CKR_DEVICE_ERROR,
             "C_Sign length query with a fault");
    CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OK,
             "C_SignInit after a faulted length query");
    memset(sig, 0xAA, sizeof sig);
    sig_len = sizeof sig;
    CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), CKR_DEVICE_ERROR, "C_Sign with a fault");
    for (size_t i = 0; i < 64; i++)
        CHECK(sig[i] == 0, "signature byte %zu not wiped after an injected C_Sign fault", i);

    reload("fail = C_SignUpdate every=1 rv=CKR_DEVICE_MEMORY\n"
           "fail = C_DigestUpdate every=1 rv=CKR_DEVICE_ERROR\n"
           "fail = C_Digest every=1 rv=CKR_DEVICE_ERROR\n"
           "fail = C_VerifyUpdate every=1 rv=CKR_DEVICE_ERROR\n"
           "fail = C_FindObjectsFinal every=1 rv=CKR_DEVICE_ERROR\n");
    /* SoftHSM2 2.6 signs ECDSA in one part only; HMAC drives the C_*Update
     * paths. A SoftHSM2 session runs one operation at a time, so each is
     * finished (by a call no rule targets) before the next kind starts. */
    CHECK_RV(p11->C_SignInit(s, &hmac, hmac_key), CKR_OK, "C_SignInit HMAC");
    CHECK_RV(p11->C_SignUpdate(s, data32, sizeof data32), CKR_DEVICE_MEMORY, "C_SignUpdate fault");
    CHECK_RV(p11->C_SignInit(s, &hmac, hmac_key), CKR_OK, "C_SignInit after a failed C_SignUpdate");
    sig_len = sizeof sig;
    CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), CKR_OK, "C_Sign HMAC");

    CHECK_RV(p11->C_DigestInit(s, &sha), CKR_OK, "C_DigestInit");
    CHECK_RV(p11->C_DigestUpdate(s, data32, sizeof data32), CKR_DEVICE_ERROR, "C_DigestUpdate fault");
    CHECK_RV(p11->C_DigestInit(s, &sha), CKR_OK, "C_DigestInit after a failed C_DigestUpdate");
    n = sizeof sig;
    CHECK_RV(p11->C_Digest(s, data32, sizeof data32, sig, &n), CKR_DEVICE_ERROR, "C_Digest fault");
    CHECK_RV(p11->C_DigestInit(s, &sha), CKR_OK, "C_DigestInit after a failed C_Digest");
    n = 0;
    CHECK_RV(p11->C_Digest(s, data32, sizeof data32, NULL, &n), CKR_DEVICE_ERROR,
             "C_Digest length query fault");
    CHECK_RV(p11->C_DigestInit(s, &sha), CKR_OK, "C_DigestInit after a faulted C_Digest length query");
    n = sizeof sig;
    CHECK_RV(p11->C_DigestFinal(s, sig, &n), CKR_OK, "C_DigestFinal");

    CHECK_RV(p11->C_VerifyInit(s, &hmac, hmac_key), CKR_OK, "C_VerifyInit");
    CHECK_RV(p11->C_VerifyUpdate(s, data32, sizeof data32), CKR_DEVICE_ERROR, "C_VerifyUpdate fault");
    CHECK_RV(p11->C_VerifyInit(s, &hmac, hmac_key), CKR_OK, "C_VerifyInit after a failed C_VerifyUpdate");
    CHECK(p11->C_Verify(s, data32, sizeof data32, sig, 64) != CKR_OK, "C_Verify of a bogus MAC");

    CHECK_RV(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK, "C_FindObjectsInit");
    CHECK_RV(p11->C_FindObjectsFinal(s), CKR_DEVICE_ERROR, "C_FindObjectsFinal fault");
    CHECK_RV(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK, "C_FindObjectsInit after a failed C_FindObjectsFinal");

    /* Faults off. */
    reload("");
    CHECK_RV(p11->C_FindObjects(s, &h, 1, &found), CKR_OK, "C_FindObjects");
    CHECK_RV(p11->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
    /* The module ends a verification with a 1-byte C_VerifyFinal; show that
     * SoftHSM2 treats that as the end of the operation. */
    CHECK_RV(p11->C_VerifyInit(s, &hmac, hmac_key), CKR_OK, "C_VerifyInit");
    CHECK(p11->C_VerifyFinal(s, sig, 1) != CKR_OK, "C_VerifyFinal with a 1-byte MAC succeeded");
    CHECK_RV(p11->C_VerifyInit(s, &hmac, hmac_key), CKR_OK, "C_VerifyInit after a failed C_VerifyFinal");
    CHECK(p11->C_Verify(s, data32, sizeof data32, sig, 64) != CKR_OK, "C_Verify of a bogus MAC");
    /* And multi-part signing works as before. */
    sig_len = sizeof sig;
    CHECK_RV(p11->C_SignInit(s, &hmac, hmac_key), CKR_OK, "C_SignInit");
    CHECK_RV(p11->C_SignUpdate(s, data32, sizeof data32), CKR_OK, "C_SignUpdate");
    CHECK_RV(p11->C_SignFinal(s, sig, &sig_len), CKR_OK, "C_SignFinal");
}

static void phase_hide(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv)
{
    CK_MECHANISM_TYPE all[512], some[512];
    CK_ULONG n_all = 512, n_some = 0, n_small;
    CK_MECHANISM_INFO info;
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_MECHANISM hmac = {CKM_SHA256_HMAC, NULL, 0};
    CK_BYTE sig[256];
    CK_ULONG sig_len = sizeof sig;

    fprintf(stderr, "phase: hide_mechanisms\n");
    CHECK_RV(p11->C_GetMechanismList(slot, all, &n_all), CKR_OK, "C_GetMechanismList");
    CHECK(mech_listed(CKM_ECDSA, all, n_all) && mech_listed(CKM_RSA_PKCS, all, n_all),
          "control: SoftHSM2 should list CKM_ECDSA and CKM_RSA_PKCS");
    reload("hide_mechanisms = CKM_ECDSA, CKM_RSA_PKCS\n");
    CHECK_RV(p11->C_GetMechanismList(slot, NULL, &n_some), CKR_OK, "C_GetMechanismList length");
    CHECK(n_some == n_all - 2, "hidden length query: %lu mechanisms, expected %lu",
          (unsigned long)n_some, (unsigned long)(n_all - 2));
    n_small = 3;
    CHECK_RV(p11->C_GetMechanismList(slot, some, &n_small), CKR_BUFFER_TOO_SMALL,
             "C_GetMechanismList into a short buffer");
    CHECK(n_small == n_all - 2, "CKR_BUFFER_TOO_SMALL count %lu", (unsigned long)n_small);
    n_some = 512;
    CHECK_RV(p11->C_GetMechanismList(slot, some, &n_some), CKR_OK, "C_GetMechanismList");
    CHECK(!mech_listed(CKM_ECDSA, some, n_some) && !mech_listed(CKM_RSA_PKCS, some, n_some),
          "hidden mechanisms still listed");
    CHECK(mech_listed(CKM_SHA256_HMAC, some, n_some) && mech_listed(CKM_RSA_X_509, some, n_some),
          "a mechanism that is not hidden went missing");
    CHECK_RV(p11->C_GetMechanismInfo(slot, CKM_ECDSA, &info), CKR_MECHANISM_INVALID,
             "C_GetMechanismInfo(CKM_ECDSA) hidden");
    CHECK_RV(p11->C_GetMechanismInfo(slot, CKM_RSA_X_509, &info), CKR_OK,
             "C_GetMechanismInfo(CKM_RSA_X_509)");
    CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_MECHANISM_INVALID, "C_SignInit(CKM_ECDSA) hidden");
    CHECK_RV(p11->C_SignInit(s, &hmac, hmac_key), CKR_OK, "C_SignInit(CKM_SHA256_HMAC)");
    CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), CKR_OK, "C_Sign(CKM_SHA256_HMAC)");
}

static void phase_token_flags(void)
{
    CK_TOKEN_INFO ti;

    fprintf(stderr, "phase: token_flags_add\n");
    CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_OK, "C_GetTokenInfo");
    CHECK(!(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_TO_BE_CHANGED)),
          "control: flags already set");
    reload("token_flags_add = CKF_USER_PIN_COUNT_LOW,0x80000\n");
    CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_OK, "C_GetTokenInfo");
    CHECK((ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_TO_BE_CHANGED)) ==
              (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_TO_BE_CHANGED),
          "token flags 0x%lx lack the added flags", (unsigned long)ti.flags);
    CHECK(ti.flags & CKF_TOKEN_INITIALIZED, "real flags lost: 0x%lx", (unsigned long)ti.flags);
}

static void phase_latency(CK_SESSION_HANDLE s)
{
    CK_BYTE buf[8];
    uint64_t t0, dt;

    fprintf(stderr, "phase: latency\n");
    reload("latency = C_GenerateRandom us=20000\n");
    t0 = now_ms();
    for (int i = 0; i < 5; i++)
        CHECK_RV(p11->C_GenerateRandom(s, buf, sizeof buf), CKR_OK, "C_GenerateRandom");
    dt = now_ms() - t0;
    CHECK(dt >= 100, "5 calls with 20 ms latency took %llu ms", (unsigned long long)dt);
}

/* Returns the pass/fail pattern of 256 draws as bits. */
static void draw_pattern(CK_SESSION_HANDLE s, uint8_t pattern[32], unsigned *n_fail,
                         unsigned *n_err, unsigned *n_ff)
{
    CK_BYTE buf[4];

    memset(pattern, 0, 32);
    *n_fail = *n_err = *n_ff = 0;
    for (unsigned i = 0; i < 256; i++) {
        CK_RV rv = p11->C_GenerateRandom(s, buf, sizeof buf);
        if (rv == CKR_OK)
            continue;
        pattern[i / 8] |= (uint8_t)(1u << (i % 8));
        (*n_fail)++;
        if (rv == CKR_DEVICE_ERROR)
            (*n_err)++;
        else if (rv == CKR_FUNCTION_FAILED)
            (*n_ff)++;
        else
            fail_at(__LINE__, "probability rule returned rv 0x%lx", (unsigned long)rv);
    }
}

static void phase_probability(CK_SESSION_HANDLE s)
{
    static const char cfg[] = "seed = 42\n"
                              "fail = C_GenerateRandom probability=0.5 rv=CKR_DEVICE_ERROR,CKR_FUNCTION_FAILED\n";
    char cfg2[sizeof cfg + 32];
    uint8_t p1[32], p2[32];
    unsigned n, e, f;

    fprintf(stderr, "phase: probability and seed\n");
    reload(cfg);
    draw_pattern(s, p1, &n, &e, &f);
    CHECK(n >= 80 && n <= 176, "probability=0.5 failed %u of 256 calls", n);
    CHECK(e > 0 && f > 0, "both rv values should occur (%u, %u)", e, f);
    /* Same seed, new file contents (size differs): same sequence. */
    snprintf(cfg2, sizeof cfg2, "%s# again\n", cfg);
    reload(cfg2);
    draw_pattern(s, p2, &n, &e, &f);
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "seed = 42 did not reproduce the fault pattern");
    reload("fail = C_GenerateRandom probability=0 rv=CKR_DEVICE_ERROR\n");
    draw_pattern(s, p2, &n, &e, &f);
    CHECK(n == 0, "probability=0 failed %u calls", n);
    reload("fail = C_GenerateRandom probability=1.0 rv=CKR_DEVICE_ERROR\n");
    draw_pattern(s, p2, &n, &e, &f);
    CHECK(n == 256 && e == 256, "probability=1 failed %u of 256 calls", n);
}

static void phase_every_star(CK_SESSION_HANDLE s)
{
    CK_SESSION_INFO si;

    fprintf(stderr, "phase: every= with '*' and counter reset on reload\n");
    for (int round = 0; round < 2; round++) {
        /* reload()'s C_GetInfo is call 1 of the new config. */
        reload(round == 0 ? "fail = * every=3 rv=CKR_GENERAL_ERROR\n"
                          : "fail = * every=3 rv=CKR_GENERAL_ERROR\n# reloaded\n");
        for (int call = 2; call <= 7; call++) {
            CK_RV want = call % 3 == 0 ? CKR_GENERAL_ERROR : CKR_OK;
            CHECK_RV(p11->C_GetSessionInfo(s, &si), want, "C_GetSessionInfo under * every=3");
        }
    }
    /* A config that does not parse is reported and the previous one kept. */
    reload("fail = C_GetSessionInfo every=1 rv=CKR_DEVICE_ERROR\n");
    reload("bogus_key = 1\n");
    CHECK_RV(p11->C_GetSessionInfo(s, &si), CKR_DEVICE_ERROR, "previous config kept after a bad reload");
    reload("");
    CHECK_RV(p11->C_GetSessionInfo(s, &si), CKR_OK, "faults off again");
}

static void phase_corrupt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_BYTE sig[256];
    CK_ULONG sig_len;

    fprintf(stderr, "phase: corrupt\n");
    reload("corrupt = C_Sign every=2\n");
    for (int i = 1; i <= 2; i++) {
        sig_len = sizeof sig;
        CHECK_RV(p11->C_SignInit(s, &ecdsa, priv), CKR_OK, "C_SignInit");
        CHECK_RV(sign(s, data32, sizeof data32, sig, &sig_len), CKR_OK, "C_Sign");
        CHECK_RV(p11->C_VerifyInit(s, &ecdsa, pub), CKR_OK, "C_VerifyInit");
        CHECK_RV(p11->C_Verify(s, data32, sizeof data32, sig, sig_len),
                 i == 2 ? CKR_SIGNATURE_INVALID : CKR_OK,
                 i == 2 ? "corrupted signature must not verify" : "intact signature must verify");
    }
    reload("");
}

/* Single-threaded removal: the states a caller sees before, during and after. */
static void phase_removed(CK_SESSION_HANDLE *s, CK_OBJECT_HANDLE *priv)
{
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;
    CK_SLOT_INFO slot_info;
    CK_SLOT_ID slots[8];
    CK_ULONG n;
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_SESSION_HANDLE s2;
    uint64_t t;

    fprintf(stderr, "phase: removed window\n");
    t = reload("removed = after_ms=200 for_ms=600\n");
    CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_OK, "before the window");
    CHECK(si.state == CKS_RW_USER_FUNCTIONS, "logged in before the window (state %lu)",
          (unsigned long)si.state);
    sleep_until(t + 300);
    CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_DEVICE_REMOVED, "C_GetSessionInfo in the window");
    CHECK_RV(p11->C_SignInit(*s, &ecdsa, *priv), CKR_DEVICE_REMOVED, "C_SignInit in the window");
    CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_DEVICE_REMOVED,
             "C_OpenSession in the window");
    CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT, "C_GetTokenInfo in the window");
    n = 8;
    CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK, "C_GetSlotList(TRUE) in the window");
    CHECK(n == 0, "C_GetSlotList(TRUE) listed %lu slots in the window", (unsigned long)n);
    CHECK_RV(p11->C_GetSlotInfo(slot, &slot_info), CKR_OK, "C_GetSlotInfo in the window");
    CHECK(!(slot_info.flags & CKF_TOKEN_PRESENT), "CKF_TOKEN_PRESENT still set in the window");
    sleep_until(t + 900);
    CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_SESSION_HANDLE_INVALID,
             "old session after the window");
    n = 8;
    CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK, "C_GetSlotList(TRUE) after");
    CHECK(n >= 1, "token not back after the window");
    *s = open_session();
    CHECK_RV(p11->C_GetSessionInfo(*s, &si), CKR_OK, "new session");
    CHECK(si.state == CKS_RW_PUBLIC_SESSION, "login state survived the removal (state %lu)",
          (unsigned long)si.state);
    CHECK_RV(login(*s), CKR_OK, "C_Login after the window");
    *priv = find_key(*s, CKO_PRIVATE_KEY);
    CHECK(*priv != CK_INVALID_HANDLE, "private key not found after re-login");
}

/* ---- 16 threads --------------------------------------------------------------------- */

struct worker {
    pthread_t tid;
    uint64_t deadline_ms;
    uint64_t window_end_ms; /* 0: no removal expected */
    unsigned iterations;    /* 0: run until deadline */
    unsigned ok, injected, init_injected, removal_errors, ok_after_window;
};

/* Workers connect (open, log in, find the key: slow, and serialised inside
 * SoftHSM2), then wait here twice so main can set up the phase's faults
 * while every worker is ready to run into them. */
static pthread_barrier_t start_line;

static bool worker_reconnect(CK_SESSION_HANDLE *s, CK_OBJECT_HANDLE *priv, uint64_t deadline)
{
    if (*s != CK_INVALID_HANDLE)
        (void)p11->C_CloseSession(*s);
    *s = CK_INVALID_HANDLE;
    while (now_ms() < deadline) {
        if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, s) == CKR_OK &&
            login(*s) == CKR_OK) {
            *priv = find_key(*s, CKO_PRIVATE_KEY);
            if (*priv != CK_INVALID_HANDLE)
                return true;
        }
        if (*s != CK_INVALID_HANDLE)
            (void)p11->C_CloseSession(*s);
        *s = CK_INVALID_HANDLE;
        sleep_ms(5);
    }
    return false;
}

static bool removal_rv(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID ||
           rv == CKR_SESSION_CLOSED || rv == CKR_USER_NOT_LOGGED_IN ||
           rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
           rv == CKR_TOKEN_NOT_PRESENT;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_BYTE sig[256];
    CK_ULONG sig_len;

    if (!worker_reconnect(&s, &priv, now_ms() + 60000))
        fail_at(__LINE__, "worker could not open a session");
    pthread_barrier_wait(&start_line); /* connected */
    pthread_barrier_wait(&start_line); /* main has set the faults and w->deadline_ms */
    if (s == CK_INVALID_HANDLE)
        return NULL;
    /* A removal phase ends for a worker once it has signed a few times
     * after the window (or at its deadline): the deadline is generous
     * because 16 threads re-opening sessions on a loaded machine have
     * taken longer than the 800 ms it once was. */
    for (unsigned i = 0; w->iterations ? i < w->iterations
                                       : now_ms() < w->deadline_ms && !(w->window_end_ms && w->ok_after_window >= 3);
         i++) {
        CK_RV rv = p11->C_SignInit(s, &ecdsa, priv);
        if (rv == CKR_OK) {
            sig_len = sizeof sig;
            rv = sign(s, data32, sizeof data32, sig, &sig_len);
            if (rv == CKR_OK) {
                w->ok++;
                if (w->window_end_ms && now_ms() > w->window_end_ms + 50)
                    w->ok_after_window++;
                continue;
            }
            if (rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_MEMORY) {
                w->injected++;
                continue;
            }
        } else if (rv == CKR_SESSION_HANDLE_INVALID && !w->window_end_ms) {
            w->init_injected++; /* the handle is fine: only the fault said otherwise */
            continue;
        }
        if (w->window_end_ms && removal_rv(rv)) {
            w->removal_errors++;
            if (!worker_reconnect(&s, &priv, w->deadline_ms))
                break;
            continue;
        }
        fail_at(__LINE__, "worker: unexpected rv 0x%lx", (unsigned long)rv);
        break;
    }
    if (s != CK_INVALID_HANDLE)
        (void)p11->C_CloseSession(s);
    return NULL;
}

/* Starts the workers, waits until all are connected, calls `arm` to load
 * the phase's faults and set deadlines, lets them run and joins them. */
static void run_workers(struct worker *w, void (*arm)(struct worker *))
{
    pthread_barrier_init(&start_line, NULL, N_THREADS + 1);
    for (int i = 0; i < N_THREADS; i++) {
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            /* The barrier would never open: nothing sensible is left to test. */
            fprintf(stderr, "FAIL: pthread_create failed\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&start_line);
    arm(w);
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(w[i].tid, NULL);
    pthread_barrier_destroy(&start_line);
}

static void arm_threads(struct worker *w)
{
    reload("fail = C_Sign probability=0.2 rv=CKR_DEVICE_ERROR,CKR_DEVICE_MEMORY\n"
           "fail = C_SignInit every=13 rv=CKR_SESSION_HANDLE_INVALID\n");
    for (int i = 0; i < N_THREADS; i++) {
        w[i].iterations = 150;
        w[i].deadline_ms = now_ms() + 60000;
    }
}

static void arm_threads_removed(struct worker *w)
{
    uint64_t t = reload("removed = after_ms=200 for_ms=300\n");

    for (int i = 0; i < N_THREADS; i++) {
        w[i].deadline_ms = t + 500 + 20000;
        w[i].window_end_ms = t + 500;
    }
}

static void phase_threads(void)
{
    struct worker w[N_THREADS];
    unsigned ok = 0, inj = 0, init_inj = 0, total;

    fprintf(stderr, "phase: %d threads with probabilistic faults\n", N_THREADS);
    reload("");
    memset(w, 0, sizeof w);
    run_workers(w, arm_threads);
    for (int i = 0; i < N_THREADS; i++) {
        ok += w[i].ok;
        inj += w[i].injected;
        init_inj += w[i].init_injected;
    }
    total = ok + inj;
    CHECK(ok + inj + init_inj == N_THREADS * 150u, "lost iterations: %u + %u + %u", ok, inj, init_inj);
    CHECK(inj * 10 >= total && inj * 10 <= total * 3,
          "probability=0.2 injected %u of %u C_Sign calls", inj, total);
    /* Every 13th C_SignInit across all threads (the opening C_FindObjects
     * calls are not C_SignInit), so the shared counter must give exactly: */
    CHECK(init_inj == (N_THREADS * 150u) / 13u, "every=13 over %u C_SignInit calls gave %u faults",
          N_THREADS * 150u, init_inj);
}

static void phase_threads_removed(void)
{
    struct worker w[N_THREADS];

    fprintf(stderr, "phase: %d threads through a removed window\n", N_THREADS);
    reload("");
    memset(w, 0, sizeof w);
    run_workers(w, arm_threads_removed);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK(w[i].removal_errors > 0, "thread %d never saw the removal", i);
        CHECK(w[i].ok_after_window > 0, "thread %d never signed again after the window", i);
    }
}

static unsigned long counter_value(const char *name)
{
    char line[256];
    unsigned long v = 0;
    size_t len = strlen(name);
    FILE *f = fopen(counters_path, "r");

    if (!f) {
        fail_at(__LINE__, "cannot open counters file %s", counters_path);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            v = strtoul(line + len + 1, NULL, 10);
    }
    fclose(f);
    return v;
}

static bool read_pin(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(pin, 1, sizeof pin - 1, f);
    fclose(f);
    while (n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r'))
        n--;
    pin_len = n;
    return n > 0;
}

int main(int argc, char **argv)
{
    void *dl = NULL;
    void *sym;
    CK_C_GetFunctionList get_list;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE priv, pub;
    CK_INFO info;
    int rc = 1;

    if (argc != 6) {
        fprintf(stderr, "usage: %s <fault.so> <config> <real-module> <pin-file> <work-dir>\n", argv[0]);
        return 2;
    }
    snprintf(config_path, sizeof config_path, "%s", argv[2]);
    snprintf(real_module, sizeof real_module, "%s", argv[3]);
    snprintf(counters_path, sizeof counters_path, "%s/driver.counters", argv[5]);
    if (!read_pin(argv[4])) {
        fprintf(stderr, "cannot read PIN file %s\n", argv[4]);
        goto done;
    }
    write_config("");
    setenv("HSMCA_FAULT_CONFIG", config_path, 1);
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!dl || !(sym = dlsym(dl, "C_GetFunctionList"))) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        goto done;
    }
    memcpy(&get_list, &sym, sizeof get_list);
    if (get_list(&p11) != CKR_OK || p11->version.major != 2 || p11->version.minor != 40) {
        fprintf(stderr, "C_GetFunctionList failed or is not v2.40\n");
        goto done;
    }
    CHECK_RV(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo before C_Initialize");
    CHECK_RV(p11->C_Initialize(&args), CKR_OK, "C_Initialize");
    CHECK_RV(p11->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED, "second C_Initialize");
    if (p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n < 1) {
        fprintf(stderr, "no token present\n");
        goto done;
    }
    slot = slots[0];
    s = open_session();
    CHECK_RV(login(s), CKR_OK, "C_Login");
    priv = find_key(s, CKO_PRIVATE_KEY);
    pub = find_key(s, CKO_PUBLIC_KEY);
    if (priv == CK_INVALID_HANDLE || pub == CK_INVALID_HANDLE) {
        fprintf(stderr, "EC key pair 'k1' not found on the token\n");
        goto done;
    }

    hmac_key = make_hmac_key(s);
    if (hmac_key == CK_INVALID_HANDLE)
        goto done;
    phase_operation_end(s, priv);
    phase_hide(s, priv);
    phase_token_flags();
    phase_latency(s);
    phase_probability(s);
    phase_every_star(s);
    phase_corrupt(s, priv, pub);
    phase_threads();
    phase_removed(&s, &priv);
    phase_threads_removed();

    fprintf(stderr, "phase: finalize and counters\n");
    reload("");
    CHECK_RV(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
    CHECK_RV(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after C_Finalize");
    CHECK(counter_value("C_Sign") == atomic_load(&sign_calls),
          "counters file says C_Sign %lu, the test made %lu calls", counter_value("C_Sign"),
          atomic_load(&sign_calls));
    CHECK(counter_value("C_Finalize") == 1, "C_Finalize count %lu", counter_value("C_Finalize"));
    CHECK(counter_value("corrupted") == 1, "corrupted %lu", counter_value("corrupted"));
    CHECK(counter_value("injected") > 0, "no injected faults counted");
    CHECK(counter_value("removed") > 0, "no removed-window calls counted");
    /* A second life cycle in the same process reuses the loaded module. */
    CHECK_RV(p11->C_Initialize(NULL), CKR_OK, "C_Initialize again");
    CHECK_RV(p11->C_Finalize(NULL), CKR_OK, "C_Finalize again");
    CHECK(counter_value("C_Initialize") == 3, "C_Initialize count %lu", counter_value("C_Initialize"));
    rc = atomic_load(&failures) == 0 ? 0 : 1;
done:
    explicit_bzero(pin, sizeof pin);
    if (dl)
        dlclose(dl);
    if (rc == 0)
        fprintf(stderr, "test_fault_threads: all checks passed\n");
    else
        fprintf(stderr, "test_fault_threads: %d check(s) failed\n", atomic_load(&failures));
    return rc;
}
