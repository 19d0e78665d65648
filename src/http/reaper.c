/* SPDX-License-Identifier: Apache-2.0 */
/* The connection reaper. libmicrohttpd closes a connection that sends
 * nothing for the idle timeout, but a client that trickles one header byte
 * every few seconds (slowloris) is never idle and never finishes a request.
 * Every connection's state is tracked here; one that has been waiting for,
 * or receiving, a request for longer than the request timeout is shut down
 * (shutdown(2), not close: libmicrohttpd still owns the descriptor and sees
 * the end of the stream on its own thread). */
#include <stdlib.h>
#include <sys/socket.h>

#include "internal.h"

enum conn_state { WAITING, RECEIVING, PROCESSING };

typedef struct conn_rec {
    struct conn_rec *prev, *next;
    int fd;
    enum conn_state state;
    struct timespec since;
    bool shut;
} conn_rec;

struct http_reaper {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    conn_rec *head;
    unsigned timeout_s;
    bool stopping;
    pthread_t thread;
    bool started;
};

static double elapsed(const struct timespec *since, const struct timespec *now)
{
    return (double)(now->tv_sec - since->tv_sec) + (double)(now->tv_nsec - since->tv_nsec) / 1e9;
}

static void *reaper_main(void *arg)
{
    http_reaper *r = arg;

    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec now, until;

        clock_gettime(CLOCK_MONOTONIC, &now);
        for (conn_rec *c = r->head; c != NULL; c = c->next) {
            if (c->state != PROCESSING && !c->shut && elapsed(&c->since, &now) > (double)r->timeout_s) {
                shutdown(c->fd, SHUT_RDWR);
                c->shut = true;
            }
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&r->wake, &r->lock, &until);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

void http_reaper_set_timeout(http_reaper *r, unsigned request_timeout_s)
{
    pthread_mutex_lock(&r->lock);
    r->timeout_s = request_timeout_s;
    pthread_mutex_unlock(&r->lock);
}

hsmca_rv http_reaper_start(unsigned request_timeout_s, http_reaper **out)
{
    http_reaper *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    r->timeout_s = request_timeout_s;
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        http_reaper_stop(r);
        return hsmca_err(HSMCA_ERR_INTERNAL, "cannot start the connection reaper thread");
    }
    r->started = true;
    *out = r;
    return HSMCA_OK;
}

void http_reaper_stop(http_reaper *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    if (r->started)
        pthread_join(r->thread, NULL);
    /* Records left are those of connections libmicrohttpd already closed
     * while stopping without telling (it does tell; this is belt and
     * braces). */
    while (r->head != NULL) {
        conn_rec *c = r->head;
        r->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void http_reaper_notify(http_reaper *r, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    conn_rec *rec;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        rec = calloc(1, sizeof(*rec));
        *socket_context = rec;
        if (rec == NULL || ci == NULL) {
            free(rec);
            *socket_context = NULL;
            return; /* untracked: only the idle timeout applies to it */
        }
        rec->fd = ci->connect_fd;
        rec->state = WAITING;
        clock_gettime(CLOCK_MONOTONIC, &rec->since);
        pthread_mutex_lock(&r->lock);
        rec->next = r->head;
        if (r->head != NULL)
            r->head->prev = rec;
        r->head = rec;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    rec = *socket_context;
    if (rec == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    if (rec->prev != NULL)
        rec->prev->next = rec->next;
    else
        r->head = rec->next;
    if (rec->next != NULL)
        rec->next->prev = rec->prev;
    pthread_mutex_unlock(&r->lock);
    free(rec);
    *socket_context = NULL;
}

static conn_rec *rec_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

void http_reaper_request(http_reaper *r, struct MHD_Connection *c, bool active)
{
    conn_rec *rec = rec_of(c);

    if (rec == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    /* active: headers are in (RECEIVING the body keeps the clock running,
     * so a slow body is bounded too); the dispatch marks PROCESSING through
     * a second call with active and the request flag set by the server. */
    if (active)
        rec->state = rec->state == RECEIVING ? PROCESSING : RECEIVING;
    else {
        rec->state = WAITING;
        clock_gettime(CLOCK_MONOTONIC, &rec->since);
    }
    pthread_mutex_unlock(&r->lock);
}
