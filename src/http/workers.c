/* SPDX-License-Identifier: Apache-2.0 */
/* The worker pool: handlers block on the token and on durable commits, so
 * they run here, not on libmicrohttpd's I/O threads (sized to the cores).
 * Enough workers keep enough requests in flight for the store's group
 * commit to share one fsync among many certificates. The queue is bounded;
 * a full queue is answered 503 by the caller. */
#include <stdlib.h>

#include "internal.h"

struct http_worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    hsmca_http_req **queue; /* ring */
    size_t cap, head, n;
    bool stopping;
    http_job_fn fn;
    pthread_t *threads;
    unsigned n_threads;
};

static void *worker_main(void *arg)
{
    http_worker_pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        hsmca_http_req *req;

        while (p->n == 0 && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->n == 0)
            break; /* stopping and drained */
        req = p->queue[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        pthread_mutex_unlock(&p->lock);
        p->fn(req);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

hsmca_rv http_pool_start(unsigned workers, size_t queue_max, http_job_fn fn, http_worker_pool **out)
{
    http_worker_pool *p = calloc(1, sizeof(*p));
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (p == NULL)
        return hsmca_err(rv, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->fn = fn;
    p->cap = queue_max;
    p->queue = calloc(queue_max, sizeof(*p->queue));
    p->threads = calloc(workers, sizeof(*p->threads));
    if (p->queue == NULL || p->threads == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "cannot start worker thread %u", i);
            goto done;
        }
        p->n_threads++;
    }
    *out = p;
    p = NULL;
    rv = HSMCA_OK;
done:
    http_pool_stop(p);
    return rv;
}

bool http_pool_submit(http_worker_pool *p, hsmca_http_req *req)
{
    bool ok = false;

    pthread_mutex_lock(&p->lock);
    if (!p->stopping && p->n < p->cap) {
        p->queue[(p->head + p->n) % p->cap] = req;
        p->n++;
        ok = true;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void http_pool_stop(http_worker_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->queue);
    free(p);
}
