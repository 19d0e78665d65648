/* SPDX-License-Identifier: Apache-2.0 */
/* The CRL auto-rebuild and auto-tidy job: a thread of the daemon that asks the
 * revocation module every crl_check_interval which CRLs are due (OpenBao
 * checks once a minute). A thread, not the main loop: a CRL of a million
 * entries takes seconds to sign and must not hold up signal handling. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsmca/log.h"
#include "hsmca/revocation.h"
#include "internal.h"

struct daemon_crl_job {
    hsmca_ca *ca;
    int64_t interval;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

static void *job_main(void *arg)
{
    daemon_crl_job *j = arg;

    pthread_mutex_lock(&j->lock);
    while (!j->stopping) {
        struct timespec until;
        size_t built = 0;

        /* First run at once: CRLs that fell due while the daemon was down
         * are rebuilt at start. */
        pthread_mutex_unlock(&j->lock);
        if (hsmca_revocation_periodic(j->ca, (int64_t)time(NULL), &built) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "CRL auto-rebuild: %s", hsmca_err_message());
        else if (built > 0)
            hsmca_log(HSMCA_LOG_INFO, "CRL auto-rebuild: %zu CRLs signed", built);
        /* Auto-tidy rides on the same tick, as OpenBao checks both in its
         * once-a-minute periodic function; the run itself has its own
         * thread, so a long tidy never delays a CRL. */
        if (hsmca_revocation_tidy_periodic(j->ca, (int64_t)time(NULL), &built) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "auto-tidy: %s", hsmca_err_message());
        pthread_mutex_lock(&j->lock);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)j->interval;
        while (!j->stopping && pthread_cond_timedwait(&j->wake, &j->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

hsmca_rv daemon_crl_job_start(hsmca_ca *ca, int64_t interval, daemon_crl_job **out)
{
    daemon_crl_job *j = calloc(1, sizeof(*j));
    pthread_condattr_t attr;
    int e;

    *out = NULL;
    if (j == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    j->ca = ca;
    j->interval = interval > 0 ? interval : DAEMON_CRL_CHECK_DEFAULT;
    pthread_mutex_init(&j->lock, NULL);
    /* Monotonic: a wall-clock step must not stall or rush the job. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&j->wake, &attr);
    pthread_condattr_destroy(&attr);
    e = pthread_create(&j->thread, NULL, job_main, j);
    if (e != 0) {
        pthread_cond_destroy(&j->wake);
        pthread_mutex_destroy(&j->lock);
        free(j);
        return hsmca_err(HSMCA_ERR_NOMEM, "starting the CRL job thread: %s", strerror(e));
    }
    *out = j;
    return HSMCA_OK;
}

void daemon_crl_job_stop(daemon_crl_job *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->lock);
    j->stopping = true;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    /* A build in progress finishes first: its batch is committed or not,
     * never half. */
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
