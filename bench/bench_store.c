/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-bench-store: how many issuance batches (intent + certificate with a
 * 1 KiB DER) the SQLite store commits per second with 1, 4 and 16 writer
 * threads, how many batches share each fsync (group commit), and commit
 * latency, beside the filesystem's own write+fdatasync rate measured in the
 * same run, which is what one-fsync-per-batch would be capped at (issue 3,
 * "Durable and fast"). It prints figures and never judges them by its exit
 * status (CONVENTIONS.md: benchmarks never gate anything on time).
 *
 *   hsmca-bench-store [--dir DIR] [--seconds N]
 *
 * The database goes into a fresh directory under DIR (default: the current
 * directory; a tmpfs makes fsync free and the figures meaningless) and is
 * removed afterwards. About 3 x N + 1 seconds. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hsmca/store.h"

#ifndef HSMCA_VERSION
#define HSMCA_VERSION "unknown"
#endif

#define DER_LEN         1024
#define SECONDS_DEFAULT 3.0
#define SECONDS_MIN     0.1
#define SECONDS_MAX     60.0
#define SAMPLES_MAX     (1u << 18) /* latency samples kept per thread */
#define WARMUP_BATCHES  4
#define FSYNC_PROBE_MAX 100000     /* fsync probe iterations, whatever the clock says */

static const unsigned thread_counts[] = {1, 4, 16};
#define MAX_THREADS 16

/* Threads report ready after warming up and wait for go, so the clock starts
 * with every thread running (and a thread that failed to start is simply
 * not counted). */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned ready;
    bool go;
};

static void gate_arrive(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->ready++;
    pthread_cond_broadcast(&g->cond);
    while (!g->go)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g, unsigned expected)
{
    pthread_mutex_lock(&g->lock);
    while (g->ready < expected)
        pthread_cond_wait(&g->cond, &g->lock);
    g->go = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

typedef struct {
    hsmca_store *st;
    const char *mount;
    const unsigned char *der;
    struct gate *start; /* after warm-up, all threads and the clock */
    const atomic_bool *stop;
    uint32_t *lat_us; /* SAMPLES_MAX */
    size_t n_lat;
    uint64_t done;
    unsigned thread;
    unsigned failures;
    char first_error[256];
} worker;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static hsmca_rv commit_one(worker *w, uint64_t k)
{
    hsmca_store_batch *b = hsmca_store_batch_new(w->st);
    unsigned char serial[16];
    unsigned char digest[32] = {0};
    hsmca_rv rv;

    /* 16 octets like the CA's (at least 64 random bits, positive): the
     * thread and a counter make them unique without a generator. */
    memset(serial, 0, sizeof(serial));
    serial[0] = 0x40;
    serial[1] = (unsigned char)w->thread;
    for (int i = 0; i < 8; i++)
        serial[15 - i] = (unsigned char)(k >> (8 * i));
    memcpy(digest, serial, sizeof(serial));
    hsmca_store_batch_intent(b, w->mount, serial, sizeof(serial), "issuer", "role", digest);
    hsmca_store_batch_cert(b, w->mount, serial, sizeof(serial), "issuer", "role", w->der, DER_LEN, 0, 1);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t k = 0;

    for (; k < WARMUP_BATCHES; k++)
        commit_one(w, k);
    gate_arrive(w->start);
    while (!atomic_load(w->stop)) {
        double t0 = now_s();
        hsmca_rv rv = commit_one(w, k++);

        if (rv != HSMCA_OK) {
            if (w->failures++ == 0)
                snprintf(w->first_error, sizeof(w->first_error), "%s: %s", hsmca_rv_name(rv),
                         hsmca_err_message());
            if (w->failures > 100)
                break; /* bounded: something is broken, not slow */
            continue;
        }
        w->done++;
        if (w->n_lat < SAMPLES_MAX)
            w->lat_us[w->n_lat++] = (uint32_t)((now_s() - t0) * 1e6);
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* The filesystem's rate of 4 KiB write + fdatasync on one file: the ceiling
 * of a store that synced every batch on its own. */
static double fsync_rate(const char *dir, double seconds)
{
    char path[1100];
    char block[4096];
    double t0, t;
    unsigned n = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/fsync-probe", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    memset(block, 0x33, sizeof(block));
    t0 = now_s();
    do {
        if (pwrite(fd, block, sizeof(block), (off_t)(n % 64) * (off_t)sizeof(block)) != (ssize_t)sizeof(block) ||
            fdatasync(fd) != 0)
            break;
        n++;
        t = now_s();
    } while (t - t0 < seconds && n < FSYNC_PROBE_MAX);
    t = now_s();
    close(fd);
    unlink(path);
    return n / (t - t0);
}

static void print_header(const char *db, double seconds, double fsyncs)
{
    struct utsname u;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;

    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
    printf("# hsmca-bench-store (hsmca %s)\n\n", HSMCA_VERSION);
    printf("- date: %s\n", when);
    printf("- nproc: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0)
        printf("- kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    printf("- SQLite: %s (WAL, synchronous=FULL)\n", sqlite3_libversion());
    printf("- database: %s\n", db);
    printf("- batch: intent + certificate (%d-byte DER), one batch per commit call\n", DER_LEN);
    printf("- per point: %.1f s after %d warm-up batches per thread\n", seconds, WARMUP_BATCHES);
    printf("- filesystem: %.0f fsync/s (4 KiB pwrite + fdatasync, same directory): the rate of one "
           "fsync per batch\n\n",
           fsyncs);
}

static int run_point(hsmca_store *st, unsigned threads, unsigned point, double seconds, const unsigned char *der)
{
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    struct gate start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    atomic_bool stop = false;
    hsmca_store_stats s0, s1;
    char mount[32];
    uint32_t *all = NULL;
    size_t n_all = 0;
    uint64_t batches = 0;
    unsigned failures = 0, started = 0;
    double t0, t1, p50 = 0, p99 = 0;
    int rc = 1;

    snprintf(mount, sizeof(mount), "bench%u", point);
    if (hsmca_store_mount_create(st, mount, "pki", NULL) != HSMCA_OK) {
        fprintf(stderr, "hsmca-bench-store: mount %s: %s\n", mount, hsmca_err_message());
        return 1;
    }
    memset(w, 0, sizeof(w));
    for (unsigned t = 0; t < threads; t++) {
        w[t] = (worker){.st = st, .mount = mount, .thread = t, .der = der, .start = &start, .stop = &stop};
        w[t].lat_us = malloc(SAMPLES_MAX * sizeof(uint32_t));
        if (w[t].lat_us == NULL || pthread_create(&th[t], NULL, worker_main, &w[t]) != 0) {
            fprintf(stderr, "hsmca-bench-store: cannot start thread %u\n", t);
            free(w[t].lat_us);
            w[t].lat_us = NULL;
            break;
        }
        started++;
    }
    if (started != threads)
        atomic_store(&stop, true); /* let the started ones through, and stop */
    gate_open(&start, started);
    hsmca_store_get_stats(st, &s0);
    t0 = now_s();
    while (now_s() - t0 < seconds) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, true);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    t1 = now_s();
    hsmca_store_get_stats(st, &s1);
    if (started != threads || threads == 0)
        goto done;

    all = malloc((size_t)threads * SAMPLES_MAX * sizeof(uint32_t));
    if (all == NULL)
        goto done;
    for (unsigned t = 0; t < threads; t++) {
        memcpy(all + n_all, w[t].lat_us, w[t].n_lat * sizeof(uint32_t));
        n_all += w[t].n_lat;
        batches += w[t].done;
        failures += w[t].failures;
        if (w[t].failures)
            fprintf(stderr, "hsmca-bench-store: thread %u: %u failures, first: %s\n", t, w[t].failures,
                    w[t].first_error);
    }
    if (n_all > 0) {
        size_t i50 = n_all / 2, i99 = n_all * 99 / 100;

        qsort(all, n_all, sizeof(*all), cmp_u32);
        p50 = (double)all[i50] / 1000.0;
        p99 = (double)all[i99] / 1000.0;
    }
    {
        /* Warm-up batches and the batches still in flight at the start
         * are in the counters too; over seconds they are noise. */
        uint64_t tx = s1.transactions - s0.transactions;
        uint64_t bx = s1.batches - s0.batches;
        double el = t1 - t0;

        printf("| %u | %.0f | %.0f | %.1f | %.2f | %.2f |%s\n", threads, batches / el, tx / el,
               tx ? (double)bx / (double)tx : 0.0, p50, p99, failures ? " failures (see stderr)" : "");
        fflush(stdout);
    }
    rc = failures ? 1 : 0;
done:
    for (unsigned t = 0; t < threads; t++)
        free(w[t].lat_us);
    free(all);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: hsmca-bench-store [--dir DIR] [--seconds N]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"seconds", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *base = ".";
    double seconds = SECONDS_DEFAULT;
    char dir[1024], path[1100], cmd[1200];
    unsigned char der[DER_LEN];
    hsmca_store_config cfg = {0};
    hsmca_store *st = NULL;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            base = optarg;
            break;
        case 's': {
            char *end = NULL;
            seconds = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || seconds < SECONDS_MIN || seconds > SECONDS_MAX) {
                fprintf(stderr, "hsmca-bench-store: --seconds %s: not in %.1f..%.0f\n", optarg, SECONDS_MIN,
                        SECONDS_MAX);
                return 2;
            }
            break;
        }
        default:
            usage();
            return c == 'h' ? 0 : 2;
        }
    }
    if (snprintf(dir, sizeof(dir), "%s/bench-store.XXXXXX", base) >= (int)sizeof(dir) || mkdtemp(dir) == NULL) {
        fprintf(stderr, "hsmca-bench-store: cannot create a directory under %s: %s\n", base, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/hsmca.db", dir);
    for (size_t i = 0; i < sizeof(der); i++)
        der[i] = (unsigned char)(i * 31 + 7);

    print_header(path, seconds, fsync_rate(dir, 1.0));
    cfg.path = path;
    if (hsmca_store_open(&cfg, &st) != HSMCA_OK) {
        fprintf(stderr, "hsmca-bench-store: open: %s\n", hsmca_err_message());
        goto done;
    }
    printf("| writer threads | batches/s | transactions (fsyncs)/s | batches per fsync | p50 ms | p99 ms |\n");
    printf("|---:|---:|---:|---:|---:|---:|\n");
    rc = 0;
    for (unsigned i = 0; i < sizeof(thread_counts) / sizeof(thread_counts[0]); i++)
        rc |= run_point(st, thread_counts[i], i, seconds, der);
done:
    hsmca_store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "hsmca-bench-store: could not remove %s\n", dir);
    return rc;
}
