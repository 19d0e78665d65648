/* SPDX-License-Identifier: Apache-2.0 */
/* What the benchmark programs share: clocks and CPU accounting, the machine
 * facts every result table is printed with, the timed multi-thread runner
 * with its start gate, the raw PKCS#11 baseline (dlopen'd module, no hsmca in
 * the way) and the options every bench takes. Not part of libhsmca. */
#ifndef HSMCA_BENCH_COMMON_H
#define HSMCA_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>

#include "hsmca/p11.h"
#include "hsmca/pin.h"

/* Software checks and digests must never go through the token. */
#define BENCH_PROPQ_SOFT "provider=default"
/* RSA-2048: 256, ECDSA P-256 (DER): <= 72, Ed25519: 64; room for RSA-4096. */
#define BENCH_SIG_MAX 512
/* Most threads any bench starts in one measurement. */
#define BENCH_THREADS_MAX 64
#define BENCH_SECONDS_MIN 0.1
#define BENCH_SECONDS_MAX 60.0
#define BENCH_ROUNDS_MAX  20
#define BENCH_SLICE_MIN   0.05 /* shortest timed slice (seconds / rounds) */

/* A 1-thread measurement that does not wait on I/O keeps one CPU busy.
 * Below this, other programs took the CPU from it. */
#define BENCH_CPU_USE_SINGLE_MIN 0.95
/* Involuntary context switches per second above which other programs were
 * competing for the CPUs. Measured on a 2-vCPU VM: 0..60/s when quiet,
 * 170..230/s in 2-thread columns with one busy process beside the bench.
 * Meaningless with more threads than CPUs: they preempt each other. */
#define BENCH_PREEMPT_MAX 120.0
/* CPUs the rest of the machine kept busy (from /proc/stat, minus this
 * process; hypervisor steal included) above which a measurement competed
 * with other programs. Works at any thread count, unlike preemptions. A
 * quiet 2-vCPU VM shows 0.00..0.05, fsync-heavy columns up to about 0.1
 * (the kernel's journal and writeback threads working for us). */
#define BENCH_OTHERS_MAX 0.25

/* utime + stime of process pid in seconds, from /proc/PID/stat (proc(5):
 * fields 14 and 15, in clock ticks); -1 if unknown. The HTTP and OCSP
 * benches take the daemon's share out of "others" with it. */
double bench_proc_cpu_s(long pid);

/* Program name for messages ("hsmca-bench-sign"); set once by main. */
void bench_set_name(const char *name);
const char *bench_name(void);

/* ---- clocks ---- */

double bench_now(void); /* CLOCK_MONOTONIC, seconds */
void bench_sleep_until(double deadline);

/* Figures of one timed run, or the sum of several (bench_tally_add). */
typedef struct {
    unsigned long ops; /* operations finished while the clock ran */
    double wall;       /* seconds */
    double cpu;        /* this process's CPU seconds, all threads, user + system */
    long preempted;    /* involuntary context switches of this process */
    double others;     /* CPU seconds the rest of the machine was busy (incl. steal) */
} bench_tally;

void bench_tally_add(bench_tally *sum, const bench_tally *part);
double bench_tally_rate(const bench_tally *t); /* ops/s; -1 when nothing was timed */
/* Whether other programs took CPU time from a measurement, so that its
 * figure is not to be trusted: a CPU-bound 1-thread run below
 * BENCH_CPU_USE_SINGLE_MIN, preemptions of a CPU-bound run above
 * BENCH_PREEMPT_MAX (only with no more threads than CPUs), or the rest of
 * the machine above BENCH_OTHERS_MAX. cpu_bound: the operation never waits
 * on I/O. */
bool bench_disturbed(const bench_tally *t, unsigned nthreads, bool cpu_bound);

/* ---- reporting ---- */

/* Both print "<name>: <what>..." on stderr and return 0, so a caller can
 * `return bench_fail_...`. */
int bench_fail_hsmca(const char *what);
int bench_fail_ckr(const char *what, CK_RV crv);

/* ---- the raw PKCS#11 side ---- */

typedef struct {
    void *dl;
    CK_FUNCTION_LIST *fl;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE lookup; /* logged-in session for the key lookups */
    bool lookup_open;
    CK_INFO info;
    CK_TOKEN_INFO token;
} bench_p11;

/* Loads the module the way hsmca does and finds the token by label. Call
 * after hsmca opened the token: it never finalizes nor logs out (either
 * would pull the module or the login from under hsmca's session pool), and
 * uses the PIN only if no login exists yet. */
int bench_p11_open(bench_p11 *raw, const char *module, const char *token, const hsmca_pin *pin);
void bench_p11_close(bench_p11 *raw);
/* The private key whose CKA_ID is the 16 bytes of the UUID key_id: the
 * object hsmca made for that key. Token object handles are valid in every
 * session of the process, so a caller looks it up once. */
int bench_p11_find_key(bench_p11 *raw, const char *key_id, CK_OBJECT_HANDLE *out);

/* Exactly what the hsmca provider hands the token for SHA-256 signatures:
 * RSA: DigestInfo(SHA-256, digest) for CKM_RSA_PKCS; EC: the digest for
 * CKM_ECDSA; Ed25519: the message itself for CKM_EDDSA (PureEdDSA). *len is
 * the room in out on entry. */
int bench_raw_input(hsmca_key_type type, const unsigned char digest[32], const unsigned char *msg,
                    size_t msg_len, unsigned char *out, size_t *len);
CK_MECHANISM_TYPE bench_raw_mechanism(hsmca_key_type type);
/* Verifies a raw RSA (PKCS#1 v1.5 over the DigestInfo) or ECDSA (r || s over
 * the digest) signature with a software public key, through OpenSSL's
 * default provider: independent of hsmca's own re-verification. */
bool bench_raw_signature_ok(EVP_PKEY *pub, hsmca_key_type type, const unsigned char digest[32],
                            const unsigned char *sig, size_t siglen);

/* One thread's raw signer: its own session (PKCS#11 concurrency is per
 * session), the key handle cached, C_SignInit + C_Sign per operation. */
typedef struct {
    const bench_p11 *p11;
    CK_SESSION_HANDLE session;
    bool session_open;
    CK_MECHANISM_TYPE mech;
    CK_OBJECT_HANDLE key;
    const unsigned char *in; /* borrowed: bench_raw_input's output */
    size_t in_len;
    unsigned char sig[BENCH_SIG_MAX]; /* the last signature, for the check */
    size_t siglen;
    char error[256];
} bench_raw_signer;

int bench_raw_signer_open(bench_raw_signer *s, const bench_p11 *p11, CK_MECHANISM_TYPE mech,
                          CK_OBJECT_HANDLE key, const unsigned char *in, size_t in_len);
void bench_raw_signer_close(bench_raw_signer *s);
bool bench_raw_sign_op(void *signer); /* a bench_op_fn */

/* ---- the timed runner ---- */

/* One operation on thread-private state; false: it failed, and the state
 * says why. */
typedef bool (*bench_op_fn)(void *ctx);

typedef struct {
    unsigned nthreads; /* 1..BENCH_THREADS_MAX */
    bench_op_fn op;
    void *const *ctx; /* ctx[i] for thread i */
    unsigned warmup;  /* ops per thread before the clock starts */
    double seconds;
    /* Optional: called on the main thread when the clock starts (every
     * thread has warmed up, none has started) and after the last stopped,
     * e.g. to read counters that warm-up must not pollute. */
    void (*mark)(void *arg, bool end);
    void *mark_arg;
} bench_job;

/* Runs job->op on every thread until `seconds` have passed since a common
 * start, then lets each finish (and counts) its operation in flight: every
 * side of a comparison is measured the same way. Fills *out for this run
 * and ops_per_thread[i] (may be NULL). Returns 0 if a thread could not start
 * or an operation failed. */
int bench_measure(const bench_job *job, bench_tally *out, unsigned long *ops_per_thread);

/* ---- machine facts ---- */

/* "# title (hsmca VERSION)", then date, CPU, nproc, kernel, OpenSSL, the
 * token as the module reports it and the module path, as "- " lines. */
void bench_print_facts(const char *title, const bench_p11 *raw, const char *module);
void bench_print_loadavg(const char *what);
/* The closing lines of every result: load average, run time, and that the
 * exit status never depends on the figures. */
void bench_print_footer(double elapsed);

/* A rate per second as a table cell: "1234", "1234*" when disturbed (so a
 * reader never takes such a figure at face value), "-" when not measured
 * (rate < 0). */
void bench_fmt_rate(char *out, size_t size, double rate, bool disturbed);

/* One machine-readable result line on stdout, for bench/run-all's side by
 * side table (docs/performance.md, "All benchmarks side by side"):
 *   @row<TAB>what<TAB>key<TAB>concurrency<TAB>value<TAB>unit<TAB>disturbed<TAB>p50<TAB>p95<TAB>p99
 * what: the measurement ("raw C_Sign"); key: "P-256", "RSA-2048" or "-";
 * concurrency 0 prints "-"; value < 0 prints "-" (not measured); disturbed
 * is 0 or 1 (bench_disturbed); latencies in milliseconds, < 0 prints "-".
 * The human tables stay as they are; these lines only add to them. */
void bench_emit_row(const char *what, const char *key, unsigned concurrency, double value, const char *unit,
                    bool disturbed, double p50_ms, double p95_ms, double p99_ms);

/* ---- options shared by the benches ---- */

typedef struct {
    const char *module;
    const char *token;
    const char *pin_file; /* from --pin-file or $HSMCA_BENCH_PIN_FILE: never argv */
    double seconds;       /* per measurement (column), split over the rounds */
    unsigned rounds;
} bench_opts;

#define BENCH_OPT_MODULE   'm'
#define BENCH_OPT_TOKEN    't'
#define BENCH_OPT_PIN_FILE 'p'
#define BENCH_OPT_SECONDS  's'
#define BENCH_OPT_ROUNDS   'r'
/* getopt_long entries for the options above; end a table with them. */
#define BENCH_LONGOPTS                                                                                       \
    {"module", required_argument, NULL, BENCH_OPT_MODULE},                                                   \
        {"token", required_argument, NULL, BENCH_OPT_TOKEN},                                                 \
        {"pin-file", required_argument, NULL, BENCH_OPT_PIN_FILE},                                           \
        {"seconds", required_argument, NULL, BENCH_OPT_SECONDS},                                             \
    {                                                                                                        \
        "rounds", required_argument, NULL, BENCH_OPT_ROUNDS                                                  \
    }

void bench_opts_init(bench_opts *o, double seconds, unsigned rounds);
/* getopt_long's answer c for an option the bench does not handle itself:
 * 1 when it is a shared option with a good value (stored), else 0 (a bad
 * value or an unknown option, reported). */
int bench_opts_take(bench_opts *o, int c, const char *arg);
/* After getopt: no positional arguments (never echoed: a PIN typed there by
 * mistake must not reach a log), slices long enough, token and PIN file
 * given. 1 or 0 (reported). */
int bench_opts_check(const bench_opts *o, int argc, int first_unparsed);
/* Bit i of *mask set for each of the n (<= 32) names that the
 * comma-separated list names; a NULL list selects all. 1, or 0 (reported,
 * naming `option`) for an unknown name or an empty selection. */
int bench_select_names(const char *option, const char *list, const char *const *names, size_t n,
                       unsigned *mask);
/* A whole number in [min, max] for option `name`. 1 or 0 (reported). */
int bench_parse_uint(const char *name, const char *arg, unsigned long min, unsigned long max,
                     unsigned long *out);
/* A set of counts kept ascending without repeats: adds c unless it is there
 * already. counts has room for max; a count past that is reported against
 * option. 1, or 0 (reported). */
int bench_count_add(const char *option, unsigned *counts, unsigned *n, unsigned max, unsigned c);
/* counts (room for max) become the comma-separated list's numbers, each in
 * [1, value_max], ascending, repeats dropped; at least one. 1 or 0
 * (reported). */
int bench_parse_counts(const char *option, const char *list, unsigned value_max, unsigned *counts,
                       unsigned *n, unsigned max);

/* What every bench does before its first token call: warnings-only
 * logging, the PKCS#11 layer's process-wide setup, msg_len random bytes to
 * sign, and the PIN from the file (the raw side logs in with it should
 * hsmca's login be absent). 1, or 0 (reported). */
int bench_start(const bench_opts *o, unsigned char *msg, size_t msg_len, hsmca_pin **pin);

#endif
