/* SPDX-License-Identifier: Apache-2.0 */
/* Loading PKCS#11 modules once per process, the operation gate, recovery by
 * finalize/initialize with back-off, and re-initialisation after fork(). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

/* Back-off between failed finalize/initialize attempts: doubling from the
 * first to the cap. The cap bounds how long service stays down after the token
 * comes back (issue: normal service within 1 s of faults stopping). */
#define REINIT_BACKOFF_FIRST_MS 25
#define REINIT_BACKOFF_MAX_MS 400

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static p11_module *modules;

void p11_registry_lock(void)
{
    pthread_mutex_lock(&registry_lock);
}

void p11_registry_unlock(void)
{
    pthread_mutex_unlock(&registry_lock);
}

int64_t p11_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void module_free(p11_module *m)
{
    if (m == NULL)
        return;
    /* Finalize only what we initialised, and only in the process that did: a
     * forked child must not tear down the parent's module state. */
    if (m->fl != NULL && m->we_initialized && m->init_pid == getpid())
        p11_C_Finalize(m);
    /* The library is deliberately not dlclose()d: several modules (SoftHSM2
     * among them) register atexit handlers and OpenSSL callbacks that would
     * then point into unmapped code. */
    pthread_rwlock_destroy(&m->gate);
    free(m->path);
    free(m);
}

/* At process exit, finalize every module before its own destructors run.
 * Modules written in C++ (SoftHSM2 among them) tear themselves down through
 * static destructors that exit() runs in reverse registration order; this
 * handler is registered after each dlopen, so it runs first. Anything that
 * would call a module later (OpenSSL's own atexit cleanup freeing our
 * provider, for example) finds it marked dead and leaves it alone. */
static void modules_atexit(void)
{
    struct timespec deadline;

    pthread_mutex_lock(&registry_lock);
    for (p11_module *m = modules; m != NULL; m = m->next) {
        if (atomic_load(&m->dead))
            continue;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        /* A thread stuck inside the module must not hang exit: skip the
         * finalize then, but still mark the module dead. */
        if (pthread_rwlock_timedwrlock(&m->gate, &deadline) == 0) {
            if (m->we_initialized && m->init_pid == getpid())
                p11_C_Finalize(m);
            m->we_initialized = false;
            atomic_store(&m->dead, true);
            pthread_rwlock_unlock(&m->gate);
        } else {
            atomic_store(&m->dead, true);
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

static hsmca_rv module_initialize(p11_module *m)
{
    CK_RV crv = p11_C_Initialize(m);

    if (crv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        /* Someone else in this process (e.g. the libp11 engine, or a module
         * that survives fork) initialised it: use it, never finalize it. */
        m->we_initialized = false;
    } else if (crv == CKR_OK) {
        m->we_initialized = true;
    } else {
        return hsmca_err(HSMCA_ERR_MODULE, "PKCS#11 module '%s': C_Initialize failed: %s",
                         m->path, p11_ckr_name(crv));
    }
    m->init_pid = getpid();
    atomic_fetch_add(&m->generation, 1);
    return HSMCA_OK;
}

hsmca_rv p11_module_acquire(const char *path, p11_module **out)
{
    hsmca_rv rv = HSMCA_ERR_MODULE;
    char real[PATH_MAX];
    p11_module *m = NULL;
    CK_RV crv;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "no PKCS#11 module path is configured");
    if (realpath(path, real) == NULL)
        return hsmca_err(HSMCA_ERR_MODULE, "PKCS#11 module '%s' cannot be used: %s", path,
                         strerror(errno));

    p11_registry_lock();
    for (p11_module *it = modules; it != NULL; it = it->next) {
        if (strcmp(it->path, real) == 0) {
            it->refs++;
            *out = it;
            p11_registry_unlock();
            return HSMCA_OK;
        }
    }

    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory loading PKCS#11 module");
        goto done;
    }
    pthread_rwlock_init(&m->gate, NULL);
    m->path = strdup(real);
    if (m->path == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory loading PKCS#11 module");
        goto done;
    }
    /* RTLD_LOCAL keeps the module's symbols (it may bundle its own OpenSSL)
     * from resolving ours; RTLD_NOW surfaces missing symbols here, not at
     * the first signature. */
    m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        const char *e = dlerror();
        rv = hsmca_err(HSMCA_ERR_MODULE, "cannot load PKCS#11 module '%s': %s", path,
                       e ? e : "unknown dlopen error");
        goto done;
    }
    crv = p11_load_function_list(m->dl, &m->fl);
    if (crv == CKR_FUNCTION_NOT_SUPPORTED) {
        m->fl = NULL;
        rv = hsmca_err(HSMCA_ERR_MODULE,
                       "'%s' is not a PKCS#11 module: it has no C_GetFunctionList symbol", path);
        goto done;
    }
    if (crv != CKR_OK) {
        m->fl = NULL;
        rv = hsmca_err(HSMCA_ERR_MODULE, "PKCS#11 module '%s': C_GetFunctionList failed: %s",
                       path, p11_ckr_name(crv));
        goto done;
    }
    if (m->fl->version.major != 2) {
        hsmca_log(HSMCA_LOG_NOTICE, "PKCS#11 module '%s' reports interface version %u.%u; using it as 2.x",
                  path, m->fl->version.major, m->fl->version.minor);
    }
    rv = module_initialize(m);
    if (rv != HSMCA_OK)
        goto done;
    atexit(modules_atexit);
    m->refs = 1;
    m->next = modules;
    modules = m;
    *out = m;
    m = NULL;
    rv = HSMCA_OK;
done:
    p11_registry_unlock();
    if (m != NULL) {
        m->we_initialized = false;
        module_free(m);
    }
    return rv;
}

void p11_module_release(p11_module *m)
{
    if (m == NULL)
        return;
    p11_registry_lock();
    if (--m->refs > 0) {
        p11_registry_unlock();
        return;
    }
    for (p11_module **pp = &modules; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    p11_registry_unlock();
    module_free(m);
}

hsmca_rv p11_module_enter(p11_module *m)
{
    pthread_rwlock_rdlock(&m->gate);
    if (atomic_load(&m->dead)) {
        pthread_rwlock_unlock(&m->gate);
        return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE, "PKCS#11 module '%s' was finalized at exit", m->path);
    }
    if (m->init_pid == getpid())
        return HSMCA_OK;

    /* A forked child: PKCS#11 requires it to call C_Initialize before using
     * the module; every session and handle inherited from the parent is
     * meaningless here. */
    pthread_rwlock_unlock(&m->gate);
    pthread_rwlock_wrlock(&m->gate);
    if (m->init_pid != getpid()) {
        hsmca_rv rv;
        hsmca_log(HSMCA_LOG_INFO, "PKCS#11 module '%s': re-initialising after fork", m->path);
        m->we_initialized = false;
        rv = module_initialize(m);
        if (rv != HSMCA_OK) {
            pthread_rwlock_unlock(&m->gate);
            return HSMCA_ERR_HSM_UNAVAILABLE;
        }
        atomic_store(&m->next_reinit_ms, 0);
        atomic_store(&m->backoff_ms, 0);
    }
    pthread_rwlock_unlock(&m->gate);
    pthread_rwlock_rdlock(&m->gate);
    return HSMCA_OK;
}

void p11_module_leave(p11_module *m)
{
    pthread_rwlock_unlock(&m->gate);
}

hsmca_rv p11_module_reinit(p11_module *m, unsigned long seen_generation)
{
    hsmca_rv rv = HSMCA_OK;
    unsigned backoff;
    int64_t now;

    pthread_rwlock_unlock(&m->gate);
    pthread_rwlock_wrlock(&m->gate);
    if (atomic_load(&m->generation) != seen_generation)
        goto done; /* another thread already re-initialised */
    now = p11_now_ms();
    if (now < atomic_load(&m->next_reinit_ms)) {
        rv = hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                       "HSM unavailable: PKCS#11 module '%s' is recovering; next attempt in %lld ms",
                       m->path, (long long)(atomic_load(&m->next_reinit_ms) - now));
        goto done;
    }
    hsmca_log(HSMCA_LOG_WARNING, "PKCS#11 module '%s': finalizing and initialising again", m->path);
    atomic_fetch_add(&m->reinits, 1);
    if (m->we_initialized && m->init_pid == getpid())
        p11_C_Finalize(m);
    m->we_initialized = false;
    /* Space the attempts whatever their outcome: initialising succeeds even
     * while the token is still absent, and only a session that opens again
     * (p11_module_reinit_succeeded) proves recovery. */
    backoff = atomic_load(&m->backoff_ms);
    backoff = backoff ? backoff * 2 : REINIT_BACKOFF_FIRST_MS;
    if (backoff > REINIT_BACKOFF_MAX_MS)
        backoff = REINIT_BACKOFF_MAX_MS;
    atomic_store(&m->backoff_ms, backoff);
    atomic_store(&m->next_reinit_ms, now + backoff);
    if (module_initialize(m) != HSMCA_OK) {
        /* Recorded as "unavailable", not as the MODULE error C_Initialize
         * left: callers that read hsmca_err_last() (the audit MAC) would
         * otherwise answer 500 for what is a 503 outage (found by
         * tests/reliability/p11_chaos.py). The copy: the message is the
         * buffer hsmca_err writes into. */
        char why[256];

        snprintf(why, sizeof(why), "%s", hsmca_err_message());
        rv = hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE, "HSM unavailable: %s", why);
    }
done:
    pthread_rwlock_unlock(&m->gate);
    pthread_rwlock_rdlock(&m->gate);
    return rv;
}

void p11_module_reinit_succeeded(p11_module *m)
{
    if (atomic_load(&m->backoff_ms) != 0) {
        atomic_store(&m->backoff_ms, 0);
        atomic_store(&m->next_reinit_ms, 0);
    }
}

void p11_modules_prefork(void)
{
    /* The registry is held across fork() so the module list is consistent
     * in the child. The gates are not: a thread may be inside a module for
     * a long call, and the child makes its gates anew anyway. */
    pthread_mutex_lock(&registry_lock);
}

void p11_modules_postfork_parent(void)
{
    pthread_mutex_unlock(&registry_lock);
}

void p11_modules_postfork_child(void)
{
    /* Threads of the parent that were inside a module do not exist here,
     * but their read locks would: the gates start afresh. The module is
     * initialised again on first use (p11_module_enter sees the new pid). */
    for (p11_module *m = modules; m != NULL; m = m->next)
        pthread_rwlock_init(&m->gate, NULL);
    pthread_mutex_unlock(&registry_lock);
}
