/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime state of the fault module: the wrapped module, config (re)loads, removal windows and fault draws. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Slots remembered for a removal window to close; SoftHSM2 has one per token. */
#define FAULT_MAX_SLOTS 64u

/* Room for a config error: "<path>:<line>: <message>". */
#define FAULT_ERR_MAX 1024u

/*
 * Locking
 *
 * `life` serialises C_Initialize, C_Finalize and config reloads, and guards
 * the reload bookkeeping (`config_path`, `config_sig`).
 *
 * `lock` is a writer-preferring rwlock. Every call holds the read side from
 * its fault decision until its forwarded call has returned (except
 * C_WaitForSlotEvent, which may block for ever). The write side is taken to
 * swap configurations, to finalize, and to start a device-removed window.
 * Holding it across the forwarded call is what makes two things safe:
 *  - a config is freed only when no call still reads it;
 *  - a removal window's C_CloseAllSessions never runs while another thread is
 *    inside the real module with a session it closes (SoftHSM2 frees the
 *    session object without reference counting, so that would be a
 *    use-after-free in the module under test, not a simulated fault).
 * Writer preference keeps 16 busy threads from starving a reload; it also
 * means no thread may take the read side twice, which no path here does.
 *
 * Order: life, then lock, then the counters and slots mutexes.
 */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

/* Written holding both `life` and `lock` for writing, so either suffices to read it. */
static struct fault_config *active;

/* The wrapped module. Loaded by the first successful C_Initialize and kept
 * for the life of the process: reloads never change it, and SoftHSM2 is not
 * reliably unloadable (OpenSSL/Botan state it leaves behind). */
static CK_FUNCTION_LIST *real;
static void *real_dl;
static char real_path[FAULT_PATH_MAX];

/* What a reload compares to decide the file changed. The inode and ctime
 * catch "write a temp file and rename it over" edits of equal size inside
 * one mtime tick. */
struct file_sig {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
};

static char config_path[FAULT_PATH_MAX];
static struct file_sig config_sig;

/* Knobs read on every call before `lock` is taken, so they are atomics
 * published (under `lock`) alongside the config they come from. */
static atomic_uint_fast64_t next_check_ms = UINT64_MAX; /* UINT64_MAX: not initialised */
static atomic_uint_fast64_t removal_start_ms = UINT64_MAX;
static atomic_uint_fast64_t removal_end_ms;
static atomic_bool removal_fired;
static atomic_uint_fast32_t latency_us[FAULT_FN_COUNT];

/* PRNG seeding: each thread reseeds when `seed_epoch` moves (every config
 * publish), so a `seed = N` line makes a single-threaded run reproducible
 * from the moment the config is loaded. */
static atomic_uint_fast64_t seed_epoch;
static atomic_uint_fast64_t seed_value;
static atomic_bool seed_fixed;
static atomic_uint_fast64_t thread_seq;

/* Slots the application has used through this module. A removal window
 * closes the sessions of these (every session was opened on one of them). */
static atomic_ulong seen_slots[FAULT_MAX_SLOTS];
static atomic_uint n_seen_slots;
static pthread_mutex_t slots_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool slots_full_warned;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_us(uint_fast32_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000L};
    int r;

    /* nanosleep() leaves the remainder in `ts` when a signal interrupts it. */
    do
        r = nanosleep(&ts, &ts);
    while (r != 0 && errno == EINTR);
}

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* Per-thread PRNG state and the seed epoch it was seeded in. */
static _Thread_local uint64_t rng_state;
static _Thread_local uint64_t rng_epoch;

/* xorshift64* (Vigna): per thread, so drawing costs no shared cache line. */
uint64_t hsmca_fault_random(void)
{
    uint64_t epoch = atomic_load_explicit(&seed_epoch, memory_order_acquire);
    uint64_t x;

    if (rng_state == 0 || rng_epoch != epoch) {
        uint64_t ordinal = atomic_fetch_add_explicit(&thread_seq, 1, memory_order_relaxed);
        uint64_t base;

        if (atomic_load_explicit(&seed_fixed, memory_order_relaxed)) {
            base = atomic_load_explicit(&seed_value, memory_order_relaxed);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            base = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                   ((uint64_t)gettid() << 32);
        }
        rng_state = splitmix64(base + ordinal * UINT64_C(0x9E3779B97F4A7C15));
        if (rng_state == 0) /* xorshift's one fixed point */
            rng_state = UINT64_C(0x9E3779B97F4A7C15);
        rng_epoch = epoch;
    }
    x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static bool file_sig_get(const char *path, struct file_sig *sig)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return false;
    *sig = (struct file_sig){.dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                             .mtime = st.st_mtim, .ctime = st.st_ctim};
    return true;
}

static bool file_sig_equal(const struct file_sig *a, const struct file_sig *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Makes `cfg` the active configuration, loaded at `now`, and returns the one
 * it replaces for the caller to free. Caller holds `life`. */
static struct fault_config *publish(struct fault_config *cfg, uint64_t now)
{
    struct fault_config *old;
    uint64_t start = UINT64_MAX, end = 0;

    if (cfg->has_removed) {
        start = now + cfg->removed_after_ms;
        end = start + cfg->removed_for_ms;
    }
    pthread_rwlock_wrlock(&lock);
    old = active;
    active = cfg;
    for (unsigned fn = 0; fn < FAULT_FN_COUNT; fn++)
        atomic_store_explicit(&latency_us[fn], cfg->latency_us[fn], memory_order_relaxed);
    hsmca_fault_set_flush_on(cfg->flush_on);
    atomic_store_explicit(&removal_fired, false, memory_order_relaxed);
    atomic_store_explicit(&removal_end_ms, end, memory_order_relaxed);
    atomic_store_explicit(&removal_start_ms, start, memory_order_relaxed);
    atomic_store_explicit(&seed_value, cfg->seed, memory_order_relaxed);
    atomic_store_explicit(&seed_fixed, cfg->has_seed, memory_order_relaxed);
    atomic_store_explicit(&thread_seq, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&seed_epoch, 1, memory_order_release);
    hsmca_fault_counters_set_path(cfg->counters);
    pthread_rwlock_unlock(&lock);
    return old;
}

static CK_RV load_real(const char *path)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    void *dl = NULL;
    void *sym;
    CK_C_GetFunctionList get_list;
    CK_FUNCTION_LIST *list = NULL;

    _Static_assert(sizeof get_list == sizeof sym, "function and object pointers differ in size");
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "hsmca-fault: C_Initialize: cannot load module '%s': %s\n", path,
                dlerror());
        goto done;
    }
    sym = dlsym(dl, "C_GetFunctionList");
    if (!sym) {
        fprintf(stderr, "hsmca-fault: C_Initialize: module '%s' has no C_GetFunctionList\n",
                path);
        goto done;
    }
    /* ISO C has no object-to-function pointer conversion; POSIX guarantees
     * dlsym()'s result has the function's representation, so copy the bytes. */
    memcpy(&get_list, &sym, sizeof get_list);
    rv = get_list(&list);
    if (rv != CKR_OK || !list) {
        fprintf(stderr, "hsmca-fault: C_Initialize: C_GetFunctionList of '%s' failed (0x%lx)\n",
                path, (unsigned long)rv);
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    if (list == &hsmca_fault_function_list) {
        /* Our own C_Initialize would wait on `life`, which we hold. */
        fprintf(stderr, "hsmca-fault: C_Initialize: module '%s' is the fault module itself\n",
                path);
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    /* A 3.0 module's list starts with the same 68 entries. */
    if (list->version.major != 2 && list->version.major != 3) {
        fprintf(stderr, "hsmca-fault: C_Initialize: module '%s' offers PKCS#11 %u.%u, not 2.x\n",
                path, list->version.major, list->version.minor);
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    snprintf(real_path, sizeof real_path, "%s", path);
    real = list;
    real_dl = dl;
    dl = NULL;
    rv = CKR_OK;
done:
    if (dl)
        dlclose(dl);
    return rv;
}

/* The removal window of the last configuration, kept across C_Finalize so
 * that an application which re-initialises to recover (hsmca does) does not
 * re-arm, and so cut short, the outage it is trying to ride out. Under
 * `life`. */
static struct {
    bool valid, fired;
    uint64_t start, end;
} saved_window;

CK_RV hsmca_fault_initialize(void *init_args)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    struct fault_config *cfg = NULL, *old = NULL;
    struct file_sig sig = {0};
    char err[FAULT_ERR_MAX];
    const char *path;
    bool published = false;
    uint64_t now;

    pthread_mutex_lock(&life);
    if (active) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto done;
    }
    path = getenv("HSMCA_FAULT_CONFIG");
    if (!path || !*path) {
        fprintf(stderr, "hsmca-fault: C_Initialize: HSMCA_FAULT_CONFIG is not set; it must name "
                        "the fault configuration file (see hsm/fault/README.md)\n");
        goto done;
    }
    if (strlen(path) >= sizeof config_path) {
        fprintf(stderr, "hsmca-fault: C_Initialize: HSMCA_FAULT_CONFIG is longer than %zu bytes\n",
                sizeof config_path - 1);
        goto done;
    }
    /* Signature first: an edit racing with the read below then shows up as
     * a change at the first reload check instead of being lost. */
    (void)file_sig_get(path, &sig);
    rv = hsmca_fault_config_load(path, real == NULL, &cfg, err, sizeof err);
    if (rv != CKR_OK) {
        fprintf(stderr, "hsmca-fault: C_Initialize: %s\n", err);
        goto done;
    }
    if (!real) {
        rv = load_real(cfg->module);
        if (rv != CKR_OK)
            goto done;
    } else if (cfg->module[0] && strcmp(cfg->module, real_path) != 0) {
        fprintf(stderr, "hsmca-fault: C_Initialize: 'module' changed; still using '%s' "
                        "(the module is loaded once per process)\n", real_path);
    }
    rv = real->C_Initialize(init_args);
    if (rv != CKR_OK)
        goto done;
    {
        /* Same file, unchanged since the last load: a re-initialisation, not
         * a new fault plan. */
        bool same = saved_window.valid && strcmp(config_path, path) == 0 && file_sig_equal(&sig, &config_sig);
        memcpy(config_path, path, strlen(path) + 1);
        config_sig = sig;
        now = now_ms();
        old = publish(cfg, now);
        cfg = NULL;
        if (same) {
            atomic_store_explicit(&removal_fired, saved_window.fired, memory_order_relaxed);
            atomic_store_explicit(&removal_end_ms, saved_window.end, memory_order_relaxed);
            atomic_store_explicit(&removal_start_ms, saved_window.start, memory_order_relaxed);
        }
        saved_window.valid = false;
    }
    atomic_store_explicit(&next_check_ms, now + FAULT_RELOAD_INTERVAL_MS, memory_order_relaxed);
    published = true;
done:
    pthread_mutex_unlock(&life);
    hsmca_fault_config_free(cfg);
    hsmca_fault_config_free(old);
    if (published && hsmca_fault_flush_wanted(FAULT_FN_C_Initialize))
        hsmca_fault_counters_flush();
    return rv;
}

CK_RV hsmca_fault_finalize(void *reserved)
{
    CK_RV rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    struct fault_config *old = NULL;
    bool was_active = false;

    pthread_mutex_lock(&life);
    if (!active)
        goto done;
    was_active = true;
    /* The write side waits for calls still inside the real module. */
    pthread_rwlock_wrlock(&lock);
    rv = real->C_Finalize(reserved);
    if (rv == CKR_OK) {
        saved_window.valid = true;
        saved_window.fired = atomic_load_explicit(&removal_fired, memory_order_relaxed);
        saved_window.start = atomic_load_explicit(&removal_start_ms, memory_order_relaxed);
        saved_window.end = atomic_load_explicit(&removal_end_ms, memory_order_relaxed);
        old = active;
        active = NULL;
        atomic_store_explicit(&next_check_ms, UINT64_MAX, memory_order_relaxed);
        atomic_store_explicit(&removal_start_ms, UINT64_MAX, memory_order_relaxed);
        for (unsigned fn = 0; fn < FAULT_FN_COUNT; fn++)
            atomic_store_explicit(&latency_us[fn], 0, memory_order_relaxed);
        atomic_store_explicit(&n_seen_slots, 0, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&lock);
done:
    pthread_mutex_unlock(&life);
    hsmca_fault_config_free(old);
    if (was_active)
        hsmca_fault_counters_flush();
    return rv;
}

/* Re-reads the config file if it changed since it was last read. A file
 * that does not parse is reported and the running config kept, so a test
 * that writes the file in two steps sees the old faults, then the new. */
static void reload_if_changed(void)
{
    struct fault_config *cfg = NULL, *old = NULL;
    struct file_sig sig;
    char err[FAULT_ERR_MAX];

    pthread_mutex_lock(&life);
    if (!active || !file_sig_get(config_path, &sig) || file_sig_equal(&sig, &config_sig))
        goto done;
    config_sig = sig;
    if (hsmca_fault_config_load(config_path, false, &cfg, err, sizeof err) != CKR_OK) {
        fprintf(stderr, "hsmca-fault: reload: %s; keeping the previous configuration\n", err);
        goto done;
    }
    if (cfg->module[0] && strcmp(cfg->module, real_path) != 0)
        fprintf(stderr, "hsmca-fault: reload: 'module' changed; still using '%s' "
                        "(the module is loaded once per process)\n", real_path);
    old = publish(cfg, now_ms());
    cfg = NULL;
done:
    pthread_mutex_unlock(&life);
    hsmca_fault_config_free(cfg);
    hsmca_fault_config_free(old);
}

/* The cheap path is one relaxed load and a compare; one thread per
 * FAULT_RELOAD_INTERVAL_MS wins the exchange and pays for the stat(). */
static void maybe_reload(uint64_t now)
{
    uint_fast64_t due = atomic_load_explicit(&next_check_ms, memory_order_relaxed);

    if (now < due)
        return;
    if (!atomic_compare_exchange_strong_explicit(&next_check_ms, &due,
                                                 now + FAULT_RELOAD_INTERVAL_MS,
                                                 memory_order_relaxed, memory_order_relaxed))
        return;
    reload_if_changed();
}

/* The first call at or after the start of a removal window closes every
 * session, as pulling the token would; calls already inside the real module
 * finish first (write side of `lock`). Doing it lazily rather than from a
 * timer thread is indistinguishable to callers: nobody can observe the
 * sessions between the start and the next call. */
static void maybe_start_removal(uint64_t now)
{
    if (now < atomic_load_explicit(&removal_start_ms, memory_order_relaxed) ||
        atomic_load_explicit(&removal_fired, memory_order_acquire))
        return;
    pthread_rwlock_wrlock(&lock);
    if (active && !atomic_load_explicit(&removal_fired, memory_order_relaxed) &&
        now >= atomic_load_explicit(&removal_start_ms, memory_order_relaxed)) {
        unsigned n = atomic_load_explicit(&n_seen_slots, memory_order_relaxed);
        for (unsigned i = 0; i < n; i++)
            (void)real->C_CloseAllSessions(
                atomic_load_explicit(&seen_slots[i], memory_order_relaxed));
        atomic_store_explicit(&removal_fired, true, memory_order_release);
    }
    pthread_rwlock_unlock(&lock);
}

/* Draws the fault, if any, for one call. Every matching rule advances its
 * own counter, so two rules on one function count independently; the first
 * rule that fires decides the rv. */
static CK_RV draw_fault(struct fault_config *cfg, unsigned fn)
{
    CK_RV rv = CKR_OK;
    bool star_ok = !(hsmca_fault_fn_flags(fn) & FAULT_FF_LIFECYCLE);

    for (size_t i = 0; i < cfg->n_rules; i++) {
        struct fault_rule *r = &cfg->rules[i];
        bool fire;

        if (r->fn != fn && !(r->fn == FAULT_FN_ANY && star_ok))
            continue;
        if (r->kind == FAULT_RULE_EVERY)
            fire = (atomic_fetch_add_explicit(&r->calls, 1, memory_order_relaxed) + 1) %
                       r->every == 0;
        else
            fire = (hsmca_fault_random() >> 11) < r->threshold;
        if (fire && rv == CKR_OK)
            rv = r->n_rv == 1 ? r->rv[0] : r->rv[hsmca_fault_random() % r->n_rv];
    }
    return rv;
}

CK_RV hsmca_fault_call_enter(struct fault_call *c, unsigned fn)
{
    uint_fast32_t lat;
    uint64_t now;

    *c = (struct fault_call){.fn = fn, .injected = CKR_OK};
    hsmca_fault_count_call(fn);
    /* Sleep before taking the lock so a slow call never delays a reload. */
    lat = atomic_load_explicit(&latency_us[fn], memory_order_relaxed);
    if (lat)
        sleep_us(lat);
    now = now_ms();
    maybe_reload(now);
    maybe_start_removal(now);
    if (pthread_rwlock_rdlock(&lock) != 0)
        return CKR_CANT_LOCK;
    if (!active) {
        pthread_rwlock_unlock(&lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    c->locked = true;
    c->cfg = active;
    c->real = real;
    if ((hsmca_fault_fn_flags(fn) & FAULT_FF_DEVICE) &&
        now >= atomic_load_explicit(&removal_start_ms, memory_order_relaxed) &&
        now < atomic_load_explicit(&removal_end_ms, memory_order_relaxed)) {
        c->removed = true;
        hsmca_fault_count_removed();
    } else {
        c->injected = draw_fault(c->cfg, fn);
        if (c->injected != CKR_OK)
            hsmca_fault_count_injected();
    }
    return CKR_OK;
}

void hsmca_fault_call_unlock(struct fault_call *c)
{
    if (c->locked) {
        c->locked = false;
        c->cfg = NULL;
        pthread_rwlock_unlock(&lock);
    }
}

/* Also valid after a failed enter: it then only considers the flush. */
CK_RV hsmca_fault_call_leave(struct fault_call *c, CK_RV rv)
{
    hsmca_fault_call_unlock(c);
    if (hsmca_fault_flush_wanted(c->fn))
        hsmca_fault_counters_flush();
    return rv;
}

bool hsmca_fault_mech_hidden(const struct fault_config *cfg, CK_MECHANISM_TYPE mech)
{
    for (size_t i = 0; i < cfg->n_hidden; i++) {
        if (cfg->hidden[i] == mech)
            return true;
    }
    return false;
}

void hsmca_fault_note_slot(CK_SLOT_ID slot)
{
    unsigned n = atomic_load_explicit(&n_seen_slots, memory_order_acquire);

    /* Cheap path: the slot is already known (after the first session). */
    for (unsigned i = 0; i < n; i++) {
        if (atomic_load_explicit(&seen_slots[i], memory_order_relaxed) == slot)
            return;
    }
    pthread_mutex_lock(&slots_mutex);
    n = atomic_load_explicit(&n_seen_slots, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        if (atomic_load_explicit(&seen_slots[i], memory_order_relaxed) == slot)
            goto done;
    }
    if (n == FAULT_MAX_SLOTS) {
        if (!slots_full_warned) {
            slots_full_warned = true;
            fprintf(stderr, "hsmca-fault: more than %u slots in use; removal windows will not "
                            "close sessions on slot %lu\n", FAULT_MAX_SLOTS, (unsigned long)slot);
        }
        goto done;
    }
    atomic_store_explicit(&seen_slots[n], slot, memory_order_relaxed);
    atomic_store_explicit(&n_seen_slots, n + 1, memory_order_release);
done:
    pthread_mutex_unlock(&slots_mutex);
}

void hsmca_fault_maybe_corrupt(struct fault_call *c, CK_BYTE_PTR buf, CK_ULONG len)
{
    for (size_t i = 0; i < c->cfg->n_corrupt; i++) {
        struct fault_corrupt *k = &c->cfg->corrupt[i];
        uint64_t r;

        if (k->fn != c->fn)
            continue;
        if ((atomic_fetch_add_explicit(&k->successes, 1, memory_order_relaxed) + 1) % k->every !=
                0 ||
            len == 0)
            continue;
        /* One bit anywhere: a caller that re-verifies must catch any of them. */
        r = hsmca_fault_random();
        buf[(r >> 3) % len] ^= (CK_BYTE)(1u << (r & 7u));
        hsmca_fault_count_corrupted();
        return;
    }
}
