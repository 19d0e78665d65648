/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing the SQLite store (file creation, migrations, reader
 * pool, writer thread), integrity checks and counters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

#define DEFAULT_READERS 4u
#define DEFAULT_WRITE_TIMEOUT_MS 30000u
#define DEFAULT_GROUP_MAX 256u
#define WRITE_TIMEOUT_MS_MAX 3600000u /* an hour: past that, "bounded" means nothing */

/* SQLite creates the file with 0644 (less the umask), and the WAL and -shm
 * files copy the database file's mode: creating it ourselves with 0600 first
 * keeps all three private to the service user. */
static hsmca_rv create_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return hsmca_err(HSMCA_ERR_IO, "database '%s': cannot open or create: %s", path, strerror(errno));
    close(fd);
    return HSMCA_OK;
}

static hsmca_rv init_sync(hsmca_store *st)
{
    pthread_condattr_t attr;
    int e = pthread_condattr_init(&attr);

    if (e == 0) {
        /* Pool waits are bounded deadlines: monotonic, like writer.c's. */
        e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (e == 0)
            e = pthread_cond_init(&st->rcond, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (e != 0)
        return hsmca_err(HSMCA_ERR_NOMEM, "store: cannot create a condition variable: %s", strerror(e));
    /* CLOCK_MONOTONIC: the writer's gathering wait (writer.c) is timed. */
    e = pthread_condattr_init(&attr);
    if (e == 0) {
        e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (e == 0)
            e = pthread_cond_init(&st->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (e != 0) {
        pthread_cond_destroy(&st->rcond);
        return hsmca_err(HSMCA_ERR_NOMEM, "store: cannot create a condition variable: %s", strerror(e));
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->rlock, NULL);
    return HSMCA_OK;
}

static hsmca_rv apply_config(hsmca_store *st, const hsmca_store_config *cfg)
{
    unsigned readers = cfg->readers ? cfg->readers : DEFAULT_READERS;

    st->write_timeout_ms = cfg->write_timeout_ms ? cfg->write_timeout_ms : DEFAULT_WRITE_TIMEOUT_MS;
    st->group_max = cfg->group_max ? cfg->group_max : DEFAULT_GROUP_MAX;
    if (readers > STORE_READERS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "readers %u: more than the maximum of %u", readers,
                         STORE_READERS_MAX);
    if (st->group_max > STORE_GROUP_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "group_max %u: more than the maximum of %u", st->group_max,
                         STORE_GROUP_MAX);
    if (st->write_timeout_ms > WRITE_TIMEOUT_MS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "write_timeout_ms %u: more than the maximum of %u",
                         st->write_timeout_ms, WRITE_TIMEOUT_MS_MAX);
    st->n_readers = readers;
    return HSMCA_OK;
}

hsmca_rv hsmca_store_open(const hsmca_store_config *cfg, hsmca_store **out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_store *st = NULL;
    bool sync_ready = false;
    unsigned readers;

    hsmca_return_val_if_fail(out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if (cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0') {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "store path: missing");
        goto done;
    }
    if (strnlen(cfg->path, PATH_MAX) >= PATH_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "store path: longer than %d bytes", PATH_MAX - 1);
        goto done;
    }
    /* The writer and the readers are different threads. */
    if (!sqlite3_threadsafe()) {
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED, "the SQLite library was built without thread support");
        goto done;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory opening store '%s'", cfg->path);
        goto done;
    }
    rv = init_sync(st);
    if (rv != HSMCA_OK)
        goto done;
    sync_ready = true;
    rv = apply_config(st, cfg);
    if (rv != HSMCA_OK)
        goto done;
    readers = st->n_readers;
    st->n_readers = 0;
    st->path = strdup(cfg->path);
    st->group = calloc(st->group_max, sizeof(*st->group));
    if (st->path == NULL || st->group == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory opening store '%s'", cfg->path);
        goto done;
    }
    rv = create_file(st->path);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_conn_open(st->path, STORE_CONN_WRITER, st->write_timeout_ms, &st->wconn);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_schema_migrate(st->wconn, &st->schema_version);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("database '%s'", st->path);
        goto done;
    }
    /* Readers open after the migrations, so none caches an older schema. */
    rv = store_readers_open(st, readers);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_writer_start(st);
    if (rv != HSMCA_OK)
        goto done;
    *out = st;
    st = NULL;
    rv = HSMCA_OK;
done:
    if (st != NULL && !sync_ready) {
        free(st);
        st = NULL;
    }
    hsmca_store_close(st);
    return rv;
}

void hsmca_store_close(hsmca_store *st)
{
    if (st == NULL)
        return;
    /* The writer drains the queue first: every submitted batch gets its
     * answer before the connection closes. */
    store_writer_stop(st);
    store_readers_close(st);
    store_conn_close(st->wconn);
    pthread_cond_destroy(&st->wake);
    pthread_cond_destroy(&st->rcond);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->rlock);
    free(st->group);
    free(st->path);
    free(st);
}

int hsmca_store_schema_version(hsmca_store *st)
{
    hsmca_return_val_if_fail(st != NULL, -1);
    return st->schema_version;
}

void hsmca_store_get_stats(hsmca_store *st, hsmca_store_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->lock);
    *out = st->stats;
    pthread_mutex_unlock(&st->lock);
}

hsmca_rv hsmca_store_check_integrity(hsmca_store *st)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    char first[STORE_DETAIL_MAX / 2];
    int src;

    hsmca_return_val_if_fail(st != NULL, HSMCA_ERR_INVALID_ARG);
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, SQL_INTEGRITY_CHECK, &s);
    if (rv != HSMCA_OK)
        goto done;
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "integrity_check of '%s'", st->path);
        goto done;
    }
    store_column_copy(s, 0, first, sizeof(first));
    /* A healthy database answers exactly one row, "ok". Otherwise the rows
     * say what is wrong; the detail keeps as many as fit, on one line. */
    if (strcmp(first, "ok") != 0 || (src = sqlite3_step(s)) != SQLITE_DONE) {
        size_t used = strlen(first);

        if (strcmp(first, "ok") != 0)
            src = sqlite3_step(s);
        for (int row = 0; row < 4 && src == SQLITE_ROW && used + 3 < sizeof(first); row++) {
            first[used++] = ';';
            first[used++] = ' ';
            store_column_copy(s, 0, first + used, sizeof(first) - used);
            used += strlen(first + used);
            src = sqlite3_step(s);
        }
        for (char *p = first; *p != '\0'; p++) {
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        }
        rv = hsmca_err(HSMCA_ERR_IO, "integrity_check of '%s' failed: %s", st->path, first);
        goto done;
    }
    store_stmt_done(s);
    /* Foreign keys are enforced per connection: a row written by a tool that
     * did not turn them on (sqlite3 shell) could break "a certificate has
     * its intent" without integrity_check noticing. */
    rv = store_stmt(c, SQL_FOREIGN_KEY_CHECK, &s);
    if (rv != HSMCA_OK)
        goto done;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        char table[64], parent[64];

        store_column_copy(s, 0, table, sizeof(table));
        store_column_copy(s, 2, parent, sizeof(parent));
        rv = hsmca_err(HSMCA_ERR_IO,
                       "foreign_key_check of '%s' failed: a row of table %s (rowid %lld) has no %s row",
                       st->path, table, (long long)sqlite3_column_int64(s, 1), parent);
        goto done;
    }
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "foreign_key_check of '%s'", st->path);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
