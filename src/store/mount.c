/* SPDX-License-Identifier: Apache-2.0 */
/* Mounts: creating and deleting them through the writer (a delete removes
 * every row of the mount in the same transaction), reading and listing. */
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

hsmca_rv store_mount_apply_create(store_conn *c, const store_op *op, int64_t now)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src;

    rv = store_stmt(c, SQL_MOUNT_INSERT, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    store_bind_text(s, 2, op->type_name);
    store_bind_text(s, 3, op->body);
    sqlite3_bind_int64(s, 4, now);
    src = sqlite3_step(s);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "mount '%s' already exists", op->mount);
        goto done;
    }
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "creating mount '%s'", op->mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv store_mount_apply_delete(store_conn *c, const store_op *op)
{
    /* Children before parents; the writer's savepoint makes the four
     * statements one change, inside one transaction. */
    static const store_sql order[] = {SQL_MOUNT_DELETE_CERTS,  SQL_MOUNT_DELETE_INTENT_REVOCATIONS,
                                      SQL_MOUNT_DELETE_INTENTS, SQL_MOUNT_DELETE_DOCS,
                                      SQL_MOUNT_DELETE_REVSEQ, SQL_MOUNT_DELETE};
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        int src;

        rv = store_stmt(c, order[i], &s);
        if (rv != HSMCA_OK)
            goto done;
        store_bind_text(s, 1, op->mount);
        src = sqlite3_step(s);
        if (src != SQLITE_DONE) {
            rv = store_sqlite_fail(c, src, "deleting mount '%s'", op->mount);
            goto done;
        }
        store_stmt_done(s);
        s = NULL;
    }
    if (sqlite3_changes(c->db) == 0) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "mount '%s' does not exist", op->mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv store_mount_require(store_conn *c, const char *mount)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src;

    rv = store_stmt(c, SQL_MOUNT_EXISTS, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "mount '%s' does not exist", mount);
        goto done;
    }
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "looking up mount '%s'", mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

/* Runs a one-operation batch built by add: mount writes are ordered with
 * every other write by the one writer. */
hsmca_rv hsmca_store_mount_create(hsmca_store *st, const char *name, const char *type,
                                  const char *options_json)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store_batch *b;

    hsmca_return_val_if_fail(st != NULL, HSMCA_ERR_INVALID_ARG);
    b = hsmca_store_batch_new(st);
    store_batch_mount_create(b, name, type, options_json);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

hsmca_rv hsmca_store_mount_delete(hsmca_store *st, const char *name)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store_batch *b;

    hsmca_return_val_if_fail(st != NULL, HSMCA_ERR_INVALID_ARG);
    b = hsmca_store_batch_new(st);
    store_batch_mount_delete(b, name);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

void hsmca_store_mount_clear(hsmca_store_mount *m)
{
    if (m == NULL)
        return;
    free(m->options_json);
    memset(m, 0, sizeof(*m));
}

/* Fills m from a row of SQL_MOUNT_GET / SQL_MOUNT_LIST. */
static hsmca_rv mount_from_row(sqlite3_stmt *s, hsmca_store_mount *m)
{
    bool nomem = false;

    memset(m, 0, sizeof(*m));
    store_column_copy(s, 0, m->name, sizeof(m->name));
    store_column_copy(s, 1, m->type, sizeof(m->type));
    m->options_json = store_column_strdup(s, 2, &nomem);
    m->created = sqlite3_column_int64(s, 3);
    if (nomem)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory reading mount '%s'", m->name);
    return HSMCA_OK;
}

hsmca_rv hsmca_store_mount_get(hsmca_store *st, const char *name, hsmca_store_mount *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int src;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    rv = store_check_name("mount", name, HSMCA_STORE_MOUNT_MAX, false);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, SQL_MOUNT_GET, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, name);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "mount '%s' does not exist", name);
        goto done;
    }
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "reading mount '%s'", name);
        goto done;
    }
    rv = mount_from_row(s, out);
done:
    if (rv != HSMCA_OK)
        hsmca_store_mount_clear(out);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv hsmca_store_mount_list(hsmca_store *st, int (*cb)(const hsmca_store_mount *m, void *arg), void *arg)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    hsmca_store_mount m;
    int src;

    hsmca_return_val_if_fail(st != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&m, 0, sizeof(m));
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, SQL_MOUNT_LIST, &s);
    if (rv != HSMCA_OK)
        goto done;
    /* One statement: one snapshot, however long the callbacks take. */
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        int more;

        rv = mount_from_row(s, &m);
        if (rv != HSMCA_OK)
            goto done;
        more = cb(&m, arg);
        hsmca_store_mount_clear(&m);
        if (!more)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "listing mounts");
        goto done;
    }
    rv = HSMCA_OK;
done:
    hsmca_store_mount_clear(&m);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
