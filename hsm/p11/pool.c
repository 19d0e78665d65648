/* SPDX-License-Identifier: Apache-2.0 */
/* The token's bounded pool of logged-in sessions: lending, returning,
 * resetting after a failure, and escalating to module re-initialisation. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hsmca/log.h"
#include "internal.h"

void p11_pool_forget_locked(hsmca_p11_token *tok)
{
    /* Called when the module was finalized (or the process forked): every
     * session is already gone, and closing the old handles could close
     * someone else's new session that reuses the number. The gate was held
     * for writing meanwhile, so no session of ours is lent out. */
    tok->n_idle = 0;
    tok->n_open = 0;
    tok->n_busy = 0;
    tok->epoch++;
    tok->slot_valid = false;
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

hsmca_rv p11_session_get(hsmca_p11_token *tok, p11_session *s)
{
    p11_module *m = tok->mod;
    struct timespec deadline;
    bool escalated = false;
    hsmca_rv rv;

    deadline_after(&deadline, tok->timeout_ms);
    /* Bounded: each turn either returns, waits until the deadline, or
     * escalates once. */
    for (;;) {
        unsigned long gen, epoch;
        CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
        CK_RV crv = CKR_OK;

        rv = p11_module_enter(m);
        if (rv != HSMCA_OK)
            return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                             "HSM unavailable: PKCS#11 module '%s' could not be re-initialised",
                             m->path);
        pthread_mutex_lock(&tok->lock);
        gen = atomic_load(&m->generation);
        if (tok->mod_gen != gen) {
            p11_pool_forget_locked(tok);
            tok->mod_gen = gen;
        }
        if (tok->n_idle > 0) {
            s->h = tok->idle[--tok->n_idle];
            s->epoch = tok->epoch;
            s->gen = gen;
            tok->n_busy++;
            pthread_mutex_unlock(&tok->lock);
            return HSMCA_OK;
        }
        if (tok->n_open < tok->max) {
            /* Reserve the place, then open outside the pool lock: opening and
             * logging in may take a network round trip on a real HSM. */
            tok->n_open++;
            tok->n_busy++;
            epoch = tok->epoch;
            pthread_mutex_unlock(&tok->lock);
            rv = p11_token_open_session(tok, epoch, &h, &crv);
            if (rv == HSMCA_OK) {
                s->h = h;
                s->epoch = epoch;
                s->gen = gen;
                p11_module_reinit_succeeded(m);
                return HSMCA_OK;
            }
            pthread_mutex_lock(&tok->lock);
            tok->n_open--;
            tok->n_busy--;
            pthread_cond_signal(&tok->cond);
            pthread_mutex_unlock(&tok->lock);
            if (!escalated && p11_ckr_device_level(crv)) {
                /* Last resort (DESIGN.md): finalize and initialise the module
                 * again, then try once more. */
                escalated = true;
                rv = p11_module_reinit(m, gen);
                p11_module_leave(m);
                if (rv == HSMCA_OK)
                    continue;
                p11_token_record_error(tok, HSMCA_ERR_HSM_UNAVAILABLE, hsmca_err_message());
                return HSMCA_ERR_HSM_UNAVAILABLE;
            }
            p11_module_leave(m);
            if (p11_ckr_recoverable(crv) || rv == HSMCA_ERR_HSM_UNAVAILABLE) {
                hsmca_err_prefix("HSM unavailable (token '%s')", tok->label);
                rv = HSMCA_ERR_HSM_UNAVAILABLE;
            }
            p11_token_record_error(tok, rv, hsmca_err_message());
            return rv;
        }
        /* Every session is lent out: wait without holding the gate, so a
         * thread that needs to re-initialise the module is never blocked by
         * threads that are only waiting for a session. */
        p11_module_leave(m);
        {
            int w = pthread_cond_timedwait(&tok->cond, &tok->lock, &deadline);
            unsigned busy = tok->n_busy, max = tok->max;
            pthread_mutex_unlock(&tok->lock);
            if (w == ETIMEDOUT)
                return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                                 "HSM busy: all %u sessions of token '%s' in use (%u busy) for %u ms",
                                 max, tok->label, busy, tok->timeout_ms);
        }
    }
}

void p11_session_put(hsmca_p11_token *tok, p11_session *s, p11_put_mode mode)
{
    CK_SESSION_HANDLE close_list[1 + 256];
    size_t n_close = 0;
    bool same_gen;

    pthread_mutex_lock(&tok->lock);
    same_gen = (s->gen == tok->mod_gen);
    if (!same_gen) {
        /* Cannot happen while the gate is held; kept as a guard. */
        pthread_mutex_unlock(&tok->lock);
        p11_module_leave(tok->mod);
        return;
    }
    tok->n_busy--;
    if (mode == P11_PUT_OK && s->epoch == tok->epoch && tok->n_idle < tok->max) {
        tok->idle[tok->n_idle++] = s->h;
        pthread_cond_signal(&tok->cond);
        pthread_mutex_unlock(&tok->lock);
        p11_module_leave(tok->mod);
        return;
    }
    close_list[n_close++] = s->h;
    tok->n_open--;
    if (mode == P11_PUT_RESET && s->epoch == tok->epoch) {
        /* The first thread to see a failure in this epoch resets the pool:
         * idle sessions are as dead as this one, and cached object handles
         * (tagged with the epoch) must be looked up again. Sessions lent out
         * now are closed when they come back. */
        tok->epoch++;
        atomic_fetch_add(&tok->recoveries, 1);
        for (unsigned i = 0; i < tok->n_idle && n_close < sizeof(close_list) / sizeof(close_list[0]); i++)
            close_list[n_close++] = tok->idle[i];
        tok->n_open -= tok->n_idle;
        tok->n_idle = 0;
    }
    pthread_cond_broadcast(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
    for (size_t i = 0; i < n_close; i++)
        p11_C_CloseSession(tok->mod, close_list[i]);
    p11_module_leave(tok->mod);
}

hsmca_rv p11_with_session(hsmca_p11_token *tok, p11_session_fn fn, void *arg, bool retry)
{
    hsmca_rv rv = HSMCA_ERR_HSM;

    for (int attempt = 0; attempt < (retry ? 2 : 1); attempt++) {
        p11_session s;
        CK_RV crv = CKR_OK;

        rv = p11_session_get(tok, &s);
        if (rv != HSMCA_OK)
            return rv;
        rv = fn(tok, &s, arg, &crv);
        p11_session_put(tok, &s, p11_ckr_recoverable(crv) ? P11_PUT_RESET : P11_PUT_OK);
        if (rv == HSMCA_OK || !p11_ckr_recoverable(crv))
            break;
    }
    if (rv != HSMCA_OK)
        p11_token_record_error(tok, rv, hsmca_err_message());
    return rv;
}
