/* SPDX-License-Identifier: Apache-2.0 */
/* Per-function call counters of the fault module and the counters file tests read. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* 68 lines of "<name> <20 digits>\n" plus the summary lines fit easily. */
#define COUNTERS_TEXT_MAX 8192u

/* Counted with relaxed atomics: the counts only need to be exact once the
 * threads that made the calls have stopped, which is when tests read them. */
static atomic_uint_fast64_t calls[FAULT_FN_COUNT];
static atomic_uint_fast64_t injected;
static atomic_uint_fast64_t corrupted;
static atomic_uint_fast64_t removed;
static atomic_bool flush_on[FAULT_FN_COUNT];

/* Guards `counters_path` and serialises writers of the file, so two threads
 * flushing at once cannot interleave in the shared temporary file. */
static pthread_mutex_t flush_mutex = PTHREAD_MUTEX_INITIALIZER;
static char counters_path[FAULT_PATH_MAX];
static bool warned;

void hsmca_fault_count_call(unsigned fn)
{
    if (fn < FAULT_FN_COUNT)
        atomic_fetch_add_explicit(&calls[fn], 1, memory_order_relaxed);
}

void hsmca_fault_count_injected(void)
{
    atomic_fetch_add_explicit(&injected, 1, memory_order_relaxed);
}

void hsmca_fault_count_corrupted(void)
{
    atomic_fetch_add_explicit(&corrupted, 1, memory_order_relaxed);
}

void hsmca_fault_count_removed(void)
{
    atomic_fetch_add_explicit(&removed, 1, memory_order_relaxed);
}

bool hsmca_fault_flush_wanted(unsigned fn)
{
    return fn < FAULT_FN_COUNT && atomic_load_explicit(&flush_on[fn], memory_order_relaxed);
}

void hsmca_fault_set_flush_on(const bool want[FAULT_FN_COUNT])
{
    for (unsigned fn = 0; fn < FAULT_FN_COUNT; fn++)
        atomic_store_explicit(&flush_on[fn], want[fn], memory_order_relaxed);
}

/* An empty path turns the file off; the last path set stays in force after
 * C_Finalize so the unload-time flush still has somewhere to write. */
void hsmca_fault_counters_set_path(const char *path)
{
    pthread_mutex_lock(&flush_mutex);
    /* config.c bounds the length; the copy is bounded again regardless. */
    snprintf(counters_path, sizeof counters_path, "%s", path);
    pthread_mutex_unlock(&flush_mutex);
}

static bool append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO; /* write(2) made no progress without saying why */
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Writes a temporary file beside the target and renames it over the target,
 * so a test reading the file concurrently sees the old or the new contents,
 * never a half-written one (rename(2) is atomic within a filesystem). */
void hsmca_fault_counters_flush(void)
{
    char text[COUNTERS_TEXT_MAX];
    char tmp[FAULT_PATH_MAX + 32];
    size_t len = 0;
    int fd = -1;
    const char *why = "counters text longer than its buffer";
    char ebuf[128];

    pthread_mutex_lock(&flush_mutex);
    if (!counters_path[0]) {
        why = NULL;
        goto done;
    }
    for (unsigned fn = 0; fn < FAULT_FN_COUNT; fn++) {
        uint_fast64_t n = atomic_load_explicit(&calls[fn], memory_order_relaxed);
        if (n != 0 && !append(text, sizeof text, &len, "%s %llu\n", hsmca_fault_fn_name(fn),
                              (unsigned long long)n))
            goto done;
    }
    if (!append(text, sizeof text, &len, "injected %llu\ncorrupted %llu\nremoved %llu\n",
                (unsigned long long)atomic_load_explicit(&injected, memory_order_relaxed),
                (unsigned long long)atomic_load_explicit(&corrupted, memory_order_relaxed),
                (unsigned long long)atomic_load_explicit(&removed, memory_order_relaxed)))
        goto done;
    /* Per-process name: two processes sharing a counters path must not
     * write into each other's temporary file. */
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", counters_path, (long)getpid()) >=
        (int)sizeof tmp)
        goto done;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        why = strerror_r(errno, ebuf, sizeof ebuf);
        goto done;
    }
    if (!write_all(fd, text, len)) {
        why = strerror_r(errno, ebuf, sizeof ebuf);
        (void)unlink(tmp);
        goto done;
    }
    if (close(fd) != 0) {
        why = strerror_r(errno, ebuf, sizeof ebuf);
        fd = -1;
        (void)unlink(tmp);
        goto done;
    }
    fd = -1;
    if (rename(tmp, counters_path) != 0) {
        why = strerror_r(errno, ebuf, sizeof ebuf);
        (void)unlink(tmp);
        goto done;
    }
    why = NULL;
done:
    if (fd >= 0)
        close(fd);
    /* One message per process: a broken path would otherwise repeat on
     * every flushing call of a load test. */
    if (why && !warned) {
        warned = true;
        fprintf(stderr, "hsmca-fault: cannot write counters file %s: %s\n", counters_path, why);
    }
    pthread_mutex_unlock(&flush_mutex);
}

/* The last chance to record the counts of a process that never called
 * C_Finalize (a crash test, or an application that just exits). Only libc is
 * used here: the wrapped module may already have been torn down. */
__attribute__((destructor)) static void counters_at_unload(void)
{
    hsmca_fault_counters_flush();
}
