/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite connections of the store: opening with the durability pragmas, and
 * the per-connection prepared-statement cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Runs a pragma and returns its single text result in buf (may be ""). */
static hsmca_rv pragma_text(store_conn *c, const char *sql, char *buf, size_t cap)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);

    buf[0] = '\0';
    if (src != SQLITE_OK) {
        rv = store_sqlite_fail(c, src, "%s", sql);
        goto done;
    }
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        store_column_copy(s, 0, buf, cap);
    } else if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "%s", sql);
        goto done;
    }
    rv = HSMCA_OK;
done:
    sqlite3_finalize(s);
    return rv;
}

hsmca_rv store_conn_open(const char *path, store_conn_role role, unsigned busy_ms, store_conn **out)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    store_conn *c = calloc(1, sizeof(*c));
    char val[32];
    int src;

    *out = NULL;
    if (c == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory opening database '%s'", path);
        goto done;
    }
    /* NOMUTEX: a connection is used by one thread at a time (the writer, or
     * a reader that borrowed it under the pool lock), so SQLite's own
     * per-connection mutex would only cost. No CREATE: store.c creates the
     * file with mode 0600 first. */
    src = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                          NULL);
    if (src != SQLITE_OK) {
        rv = store_sqlite_fail(c, src, "opening database '%s'", path);
        goto done;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, busy_ms > (unsigned)INT32_MAX ? INT32_MAX : (int)busy_ms);
    /* Defensive mode: no writable_schema or other ways for SQL to corrupt
     * the file, should a statement ever carry outside text. */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    if (role == STORE_CONN_WRITER) {
        /* WAL lets readers run beside the writer; the mode is persistent in
         * the file, and the answer says whether the filesystem allowed it. */
        rv = pragma_text(c, "PRAGMA journal_mode=WAL", val, sizeof(val));
        if (rv != HSMCA_OK)
            goto done;
        if (strcmp(val, "wal") != 0) {
            rv = hsmca_err(HSMCA_ERR_IO, "database '%s': journal_mode is '%s', need 'wal' (filesystem without "
                                         "shared-memory support?)",
                           path, val);
            goto done;
        }
        /* A burst (a mount delete, an import) can grow the WAL far past its
         * usual size; truncate it back to 64 MiB after checkpoints. */
        src = sqlite3_exec(c->db, "PRAGMA journal_size_limit=67108864", NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rv = store_sqlite_fail(c, src, "setting journal_size_limit on '%s'", path);
            goto done;
        }
    }
    /* FULL: in WAL mode, NORMAL would let a power loss undo commits already
     * reported; a certificate is never returned before it is durable. */
    src = sqlite3_exec(c->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rv = store_sqlite_fail(c, src, "setting pragmas on '%s'", path);
        goto done;
    }
    /* A SQLite built without foreign keys ignores the pragma silently, and
     * "a certificate needs its intent" would stop being enforced. */
    rv = pragma_text(c, "PRAGMA foreign_keys", val, sizeof(val));
    if (rv != HSMCA_OK)
        goto done;
    if (strcmp(val, "1") != 0) {
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED, "SQLite library does not enforce foreign keys (foreign_keys=%s)",
                       val);
        goto done;
    }
    if (role == STORE_CONN_READER) {
        /* Readers never write, even by mistake: the writer thread is the
         * only place writes are ordered and grouped. */
        src = sqlite3_exec(c->db, "PRAGMA query_only=ON", NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rv = store_sqlite_fail(c, src, "setting query_only on '%s'", path);
            goto done;
        }
    }
    *out = c;
    c = NULL;
    rv = HSMCA_OK;
done:
    store_conn_close(c);
    return rv;
}

void store_conn_close(store_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SQL_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    /* close_v2: never fails with BUSY; every statement is finalized above. */
    sqlite3_close_v2(c->db);
    free(c);
}

hsmca_rv store_stmt(store_conn *c, store_sql id, sqlite3_stmt **out)
{
    hsmca_rv rv = HSMCA_ERR_INTERNAL;
    const char *sql = store_sql_text(id);
    int src;

    *out = NULL;
    if (sql == NULL) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "store statement %d does not exist", (int)id);
        goto done;
    }
    if (c->stmt[id] == NULL) {
        src = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
        if (src != SQLITE_OK) {
            rv = store_sqlite_fail(c, src, "preparing '%.60s'", sql);
            goto done;
        }
    }
    *out = c->stmt[id];
    rv = HSMCA_OK;
done:
    return rv;
}

void store_stmt_done(sqlite3_stmt *s)
{
    if (s == NULL)
        return;
    /* reset ends the statement's read of the database (a reader would
     * otherwise pin its WAL snapshot); clearing drops the pointers to the
     * caller's memory that SQLITE_STATIC bindings keep. */
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

hsmca_rv store_exec(store_conn *c, store_sql id)
{
    hsmca_rv rv = HSMCA_ERR_INTERNAL;
    sqlite3_stmt *s = NULL;
    int src;

    rv = store_stmt(c, id, &s);
    if (rv != HSMCA_OK)
        goto done;
    src = sqlite3_step(s);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "%s", store_sql_text(id));
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

int store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

char *store_column_strdup(sqlite3_stmt *s, int col, bool *nomem)
{
    const unsigned char *t;
    int n;
    char *copy;

    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return NULL;
    t = sqlite3_column_text(s, col);
    n = sqlite3_column_bytes(s, col);
    if (t == NULL) {
        /* Not NULL in the row, so SQLite ran out of memory converting it. */
        *nomem = true;
        return NULL;
    }
    copy = malloc((size_t)n + 1);
    if (copy == NULL) {
        *nomem = true;
        return NULL;
    }
    memcpy(copy, t, (size_t)n);
    copy[n] = '\0';
    return copy;
}

void store_column_copy(sqlite3_stmt *s, int col, char *buf, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);

    if (cap == 0)
        return;
    if (t == NULL)
        n = 0;
    if (n >= cap)
        n = cap - 1;
    if (n > 0)
        memcpy(buf, t, n);
    buf[n] = '\0';
}
