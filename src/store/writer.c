/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit: the one writer thread that owns the write connection, takes
 * every queued batch (up to group_max) into one transaction with a savepoint
 * per batch, commits once, and only then wakes each waiter with its result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Who frees a request: it is queued and waited for under st->lock. The
 * waiter frees it once it is DONE, or when it times out while it is still
 * QUEUED (it unlinks it first: the writer never saw it). A waiter that times
 * out while the writer holds it (RUNNING) sets abandoned and leaves; the
 * writer frees it after the group. So exactly one side frees, and neither
 * touches it afterwards. */
static void req_free(store_req *req)
{
    if (req == NULL)
        return;
    for (size_t i = 0; i < req->n_ops; i++)
        store_op_clear(&req->ops[i]);
    free(req->ops);
    pthread_cond_destroy(&req->done);
    free(req);
}

static void req_set(store_req *req, hsmca_rv rv)
{
    req->rv = rv;
    if (rv == HSMCA_OK)
        req->detail[0] = '\0';
    else
        snprintf(req->detail, sizeof(req->detail), "%s", hsmca_err_message());
}

hsmca_rv store_req_apply(store_conn *c, const store_req *req, int64_t now)
{
    hsmca_rv rv = HSMCA_OK;

    /* In the order added: a certificate may rely on the intent added just
     * before it in the same batch (the foreign key is checked per
     * statement). */
    for (size_t i = 0; i < req->n_ops; i++) {
        const store_op *op = &req->ops[i];

        switch (op->type) {
        case OP_MOUNT_CREATE:
            rv = store_mount_apply_create(c, op, now);
            break;
        case OP_MOUNT_DELETE:
            rv = store_mount_apply_delete(c, op);
            break;
        case OP_DOC_PUT:
            rv = store_doc_apply_put(c, op, now);
            break;
        case OP_DOC_DELETE:
            rv = store_doc_apply_delete(c, op);
            break;
        case OP_INTENT:
            rv = store_intent_apply(c, op, now);
            break;
        case OP_CERT:
            rv = store_cert_apply(c, op, now);
            break;
        case OP_REVOKE:
            rv = store_revoke_apply(c, op);
            break;
        case OP_CERT_EXPUNGE:
            rv = store_expunge_apply(c, op);
            break;
        case OP_REVOKE_INTENT:
            rv = store_revoke_intent_apply(c, op);
            break;
        case OP_CERT_REASSOCIATE:
            rv = store_reassociate_apply(c, op);
            break;
        default:
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "batch operation type %d is unknown", (int)op->type);
            break;
        }
        if (rv != HSMCA_OK) {
            if (req->n_ops > 1)
                hsmca_err_prefix("batch operation %zu of %zu", i + 1, req->n_ops);
            return rv;
        }
    }
    return HSMCA_OK;
}

/* Fails every request of the group that has not failed on its own (applied
 * provisionally, or not run yet), with cause as the code and the calling
 * thread's current detail as the reason. */
static void group_fail_rest(store_req **grp, size_t n, const bool *own_failure, hsmca_rv cause,
                            const char *why)
{
    char reason[STORE_DETAIL_MAX];

    snprintf(reason, sizeof(reason), "%s", hsmca_err_message());
    for (size_t k = 0; k < n; k++) {
        if (own_failure[k])
            continue;
        hsmca_err(cause, "batch not stored: %s: %s", why, reason);
        req_set(grp[k], cause);
    }
}

/* Runs one group; returns the number of batches committed. */
static size_t group_run(hsmca_store *st, store_req **grp, size_t n, bool *own_failure)
{
    store_conn *c = st->wconn;
    int64_t now = (int64_t)time(NULL);
    bool committed = false;
    size_t ok = 0;
    hsmca_rv rv;

    for (size_t k = 0; k < n; k++)
        own_failure[k] = false;
    rv = store_exec(c, SQL_BEGIN_IMMEDIATE);
    if (rv != HSMCA_OK) {
        group_fail_rest(grp, n, own_failure, rv, "could not start the transaction");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rv = store_exec(c, SQL_SAVEPOINT);
        if (rv != HSMCA_OK) {
            group_fail_rest(grp, n, own_failure, rv, "could not open a savepoint");
            goto done;
        }
        rv = store_req_apply(c, grp[i], now);
        if (rv == HSMCA_OK) {
            rv = store_exec(c, SQL_RELEASE);
            if (rv != HSMCA_OK) {
                group_fail_rest(grp, n, own_failure, rv, "could not release a savepoint");
                goto done;
            }
            req_set(grp[i], HSMCA_OK); /* provisional until COMMIT returns */
            continue;
        }
        req_set(grp[i], rv);
        own_failure[i] = true;
        /* Undo this batch alone. SQLite may have rolled back the whole
         * transaction itself (it may on a full disk, an I/O error or out of
         * memory: autocommit is back on); then, or if the undo fails, the
         * batches before this one are gone too and none of the rest may be
         * reported stored. */
        if (sqlite3_get_autocommit(c->db) ||
            store_exec(c, SQL_ROLLBACK_TO) != HSMCA_OK || store_exec(c, SQL_RELEASE) != HSMCA_OK) {
            hsmca_err(rv, "%s", grp[i]->detail);
            group_fail_rest(grp, n, own_failure, rv == HSMCA_ERR_NOMEM ? rv : HSMCA_ERR_IO,
                            "the group transaction was rolled back after another batch failed");
            goto done;
        }
    }
    /* The one fsync of the group. Nothing is reported stored before this
     * returns, and if it fails nothing is: the transaction is undone. */
    rv = store_exec(c, SQL_COMMIT);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("committing a group of %zu batches", n);
        group_fail_rest(grp, n, own_failure, rv, "the commit failed");
        goto done;
    }
    committed = true;
    for (size_t k = 0; k < n; k++)
        if (!own_failure[k])
            ok++;
done:
    if (!committed && !sqlite3_get_autocommit(c->db))
        store_exec(c, SQL_ROLLBACK); /* nothing more to report if it fails */
    return ok;
}

/* How long the writer may wait for a group to fill. An fsync costs several
 * hundred microseconds on a quiet disk; a short wait that doubles the group
 * halves the fsyncs per batch (docs/performance.md, issuance with storage). */
#define GATHER_US 150

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether waiting GATHER_US for more batches is expected to pay: arrived
 * batches queued up while the previous group took run_ns to commit, so
 * about arrived * GATHER_US / run_ns more would come during the wait; wait
 * only if that is at least one. A lone caller has nothing queued behind
 * it (arrived 0) and is never delayed; on a slow disk the groups grow by
 * themselves while it syncs, and waiting would only add latency. */
static bool gather_pays(size_t arrived, int64_t run_ns)
{
    return arrived > 0 && (int64_t)arrived * GATHER_US * 1000 >= run_ns;
}

static size_t queued(const hsmca_store *st)
{
    size_t n = 0;

    for (const store_req *r = st->head; r != NULL && n < st->group_max; r = r->next)
        n++;
    return n;
}

static void gather(hsmca_store *st, size_t want)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += GATHER_US * 1000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!st->stopping && queued(st) < want) {
        if (pthread_cond_timedwait(&st->wake, &st->lock, &deadline) != 0)
            break;
    }
}

static void *writer_main(void *arg)
{
    hsmca_store *st = arg;
    bool *own_failure = calloc(st->group_max, sizeof(*own_failure));
    size_t last_n = 0, arrived = 0;
    int64_t run_ns = 0;

    pthread_mutex_lock(&st->lock);
    for (;;) {
        size_t n = 0, ok;

        while (st->head == NULL && !st->stopping)
            pthread_cond_wait(&st->wake, &st->lock);
        if (st->head == NULL)
            break; /* stopping, and every submitted batch is done */
        /* Under concurrent load, let the group fill up to the last one's
         * size for a moment when the arrival rate says it will. */
        if (last_n > 1 && gather_pays(arrived, run_ns))
            gather(st, last_n);
        /* Everything that queued up while the previous group committed
         * becomes this group: under load, groups grow by themselves. */
        while (st->head != NULL && n < st->group_max) {
            store_req *r = st->head;

            st->head = r->next;
            r->next = NULL;
            r->state = REQ_RUNNING;
            st->group[n++] = r;
        }
        if (st->head == NULL)
            st->tail = NULL;
        last_n = n;
        pthread_mutex_unlock(&st->lock);
        run_ns = mono_ns();

        if (own_failure == NULL) {
            hsmca_err(HSMCA_ERR_NOMEM, "store writer: out of memory");
            for (size_t k = 0; k < n; k++)
                req_set(st->group[k], HSMCA_ERR_NOMEM);
            ok = 0;
        } else {
            ok = group_run(st, st->group, n, own_failure);
        }

        pthread_mutex_lock(&st->lock);
        run_ns = mono_ns() - run_ns;
        arrived = queued(st); /* everything queued now came during the run */
        if (ok > 0)
            st->stats.transactions++;
        st->stats.batches += ok;
        st->stats.failed += n - ok;
        for (size_t k = 0; k < n; k++) {
            store_req *r = st->group[k];

            st->group[k] = NULL;
            if (r->abandoned) {
                req_free(r);
                continue;
            }
            r->state = REQ_DONE;
            pthread_cond_signal(&r->done);
        }
    }
    pthread_mutex_unlock(&st->lock);
    free(own_failure);
    return NULL;
}

hsmca_rv store_writer_start(hsmca_store *st)
{
    int e = pthread_create(&st->writer, NULL, writer_main, st);

    if (e != 0)
        return hsmca_err(HSMCA_ERR_NOMEM, "starting the store writer thread: %s", strerror(e));
    st->writer_started = true;
    return HSMCA_OK;
}

void store_writer_stop(hsmca_store *st)
{
    if (!st->writer_started)
        return;
    pthread_mutex_lock(&st->lock);
    st->stopping = true;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->writer, NULL);
    st->writer_started = false;
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

/* Removes req from the queue; it must be QUEUED. */
static void queue_unlink(hsmca_store *st, store_req *req)
{
    store_req *prev = NULL;

    for (store_req *r = st->head; r != NULL; prev = r, r = r->next) {
        if (r != req)
            continue;
        if (prev == NULL)
            st->head = r->next;
        else
            prev->next = r->next;
        if (st->tail == r)
            st->tail = prev;
        r->next = NULL;
        return;
    }
}

hsmca_rv store_writer_enqueue(hsmca_store *st, store_req *req)
{
    hsmca_rv rv = HSMCA_ERR_INTERNAL;
    pthread_condattr_t attr;
    bool cond_ready = false;

    /* Waits use the monotonic clock: a wall-clock step must neither cut a
     * wait short nor stretch it. */
    if (pthread_condattr_init(&attr) == 0) {
        if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&req->done, &attr) == 0)
            cond_ready = true;
        pthread_condattr_destroy(&attr);
    }
    if (!cond_ready) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "batch: could not create its wait condition");
        for (size_t i = 0; i < req->n_ops; i++)
            store_op_clear(&req->ops[i]);
        free(req->ops);
        free(req);
        goto done;
    }

    pthread_mutex_lock(&st->lock);
    if (st->stopping) {
        pthread_mutex_unlock(&st->lock);
        req_free(req);
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "batch: the store is closing");
        goto done;
    }
    req->st = st;
    req->state = REQ_QUEUED;
    req->next = NULL;
    /* The bound runs from here: time the caller spends working between
     * submit and wait counts, so a ticket waited for late times out no
     * later than a commit would have. */
    deadline_after(&req->deadline, st->write_timeout_ms);
    if (st->tail != NULL)
        st->tail->next = req;
    else
        st->head = req;
    st->tail = req;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv store_writer_wait(store_req *req)
{
    hsmca_store *st = req->st;
    hsmca_rv rv = HSMCA_ERR_INTERNAL;
    char detail[STORE_DETAIL_MAX];
    size_t n_ops = req->n_ops;

    pthread_mutex_lock(&st->lock);
    while (req->state != REQ_DONE) {
        if (pthread_cond_timedwait(&req->done, &st->lock, &req->deadline) == ETIMEDOUT &&
            req->state != REQ_DONE)
            break;
    }
    switch (req->state) {
    case REQ_DONE:
        rv = req->rv;
        snprintf(detail, sizeof(detail), "%s", req->detail);
        pthread_mutex_unlock(&st->lock);
        req_free(req);
        if (rv != HSMCA_OK)
            hsmca_err(rv, "%s", detail);
        break;
    case REQ_QUEUED:
        /* The writer never saw it: nothing of it is stored. */
        queue_unlink(st, req);
        pthread_mutex_unlock(&st->lock);
        req_free(req);
        rv = hsmca_err(HSMCA_ERR_TIMEOUT, "batch of %zu operations: not started within write_timeout_ms %u; "
                                          "nothing was stored",
                       n_ops, st->write_timeout_ms);
        break;
    default:
        /* The writer is applying it: the result is unknown and the writer
         * frees it. */
        req->abandoned = true;
        pthread_mutex_unlock(&st->lock);
        rv = hsmca_err(HSMCA_ERR_TIMEOUT, "batch of %zu operations: not committed within write_timeout_ms %u; "
                                          "it may still be stored",
                       n_ops, st->write_timeout_ms);
        break;
    }
    return rv;
}
