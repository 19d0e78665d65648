/* SPDX-License-Identifier: Apache-2.0 */
/* The pool of read connections: each reader borrows one for the length of a
 * call, so reads run on their own WAL snapshot and never wait for the
 * writer. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* Pool connections this thread holds right now. A list callback that reads
 * the store again would otherwise wait for a second pool connection, and
 * enough such threads would deadlock the pool until the timeout. */
static _Thread_local unsigned reader_depth;

hsmca_rv store_readers_open(hsmca_store *st, unsigned n)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    st->idle = calloc(n, sizeof(*st->idle));
    if (st->idle == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory for %u read connections", n);
        goto done;
    }
    st->n_readers = n;
    for (unsigned i = 0; i < n; i++) {
        store_conn *c = NULL;

        rv = store_conn_open(st->path, STORE_CONN_READER, st->write_timeout_ms, &c);
        if (rv != HSMCA_OK)
            goto done;
        c->pooled = true;
        st->idle[st->n_idle++] = c;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

void store_readers_close(hsmca_store *st)
{
    /* Every borrowed connection is back: closing while reading is a caller
     * bug the store does not try to survive. */
    for (unsigned i = 0; i < st->n_idle; i++)
        store_conn_close(st->idle[i]);
    free(st->idle);
    st->idle = NULL;
    st->n_idle = 0;
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

hsmca_rv store_reader_get(hsmca_store *st, store_conn **out)
{
    hsmca_rv rv = HSMCA_ERR_TIMEOUT;
    struct timespec deadline;

    *out = NULL;
    if (reader_depth > 0) {
        /* Nested read: a private connection, closed again by put. */
        rv = store_conn_open(st->path, STORE_CONN_READER, st->write_timeout_ms, out);
        if (rv == HSMCA_OK)
            reader_depth++;
        return rv;
    }
    deadline_after(&deadline, st->write_timeout_ms);
    pthread_mutex_lock(&st->rlock);
    while (st->n_idle == 0) {
        if (pthread_cond_timedwait(&st->rcond, &st->rlock, &deadline) == ETIMEDOUT && st->n_idle == 0) {
            pthread_mutex_unlock(&st->rlock);
            rv = hsmca_err(HSMCA_ERR_TIMEOUT, "all %u read connections stayed busy for %u ms", st->n_readers,
                           st->write_timeout_ms);
            goto done;
        }
    }
    *out = st->idle[--st->n_idle];
    pthread_mutex_unlock(&st->rlock);
    reader_depth++;
    rv = HSMCA_OK;
done:
    return rv;
}

void store_reader_put(hsmca_store *st, store_conn *c)
{
    if (c == NULL)
        return;
    reader_depth--;
    /* A read that failed half-way may have left its transaction open. */
    if (!sqlite3_get_autocommit(c->db))
        store_exec(c, SQL_ROLLBACK);
    if (!c->pooled) {
        store_conn_close(c);
        return;
    }
    pthread_mutex_lock(&st->rlock);
    st->idle[st->n_idle++] = c;
    pthread_cond_signal(&st->rcond);
    pthread_mutex_unlock(&st->rlock);
}

hsmca_rv store_serial_row(hsmca_store *st, const char *mount, const unsigned char *serial, size_t serial_len,
                          store_sql sql, const char *what, const char *missing, store_conn **conn,
                          sqlite3_stmt **stmt)
{
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    hsmca_rv rv;
    int src;

    *conn = NULL;
    *stmt = NULL;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("serial", serial, serial_len)) != HSMCA_OK)
        return rv;
    store_serial_key(serial, serial_len, key);
    store_serial_hex(serial, serial_len, hex);
    if ((rv = store_reader_get(st, conn)) != HSMCA_OK || (rv = store_stmt(*conn, sql, stmt)) != HSMCA_OK)
        return rv;
    store_bind_text(*stmt, 1, mount);
    /* SQLITE_TRANSIENT: key lives on this stack frame only. */
    sqlite3_bind_blob(*stmt, 2, key, (int)sizeof(key), SQLITE_TRANSIENT);
    src = sqlite3_step(*stmt);
    if (src == SQLITE_DONE)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "%s %s in mount '%s': %s", what, hex, mount, missing);
    if (src != SQLITE_ROW)
        return store_sqlite_fail(*conn, src, "reading %s %s in mount '%s'", what, hex, mount);
    return HSMCA_OK;
}
