/* SPDX-License-Identifier: Apache-2.0 */
/* Documents (roles, issuers, keys, configuration): the three put modes and
 * delete as the writer applies them, and get by id or name and paginated
 * listing for readers. */
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

static const char *mode_name(hsmca_put_mode mode)
{
    switch (mode) {
    case HSMCA_PUT_CREATE:
        return "create";
    case HSMCA_PUT_UPSERT:
        return "upsert";
    case HSMCA_PUT_UPDATE:
        return "update";
    default:
        return "put";
    }
}

hsmca_rv store_doc_apply_put(store_conn *c, const store_op *op, int64_t now)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    store_sql sql = op->mode == HSMCA_PUT_CREATE   ? SQL_DOC_INSERT
                    : op->mode == HSMCA_PUT_UPSERT ? SQL_DOC_UPSERT
                                                   : SQL_DOC_UPDATE;
    int src;

    rv = store_stmt(c, sql, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    store_bind_text(s, 2, op->kind);
    store_bind_text(s, 3, op->id);
    store_bind_text(s, 4, op->name);
    store_bind_text(s, 5, op->body);
    if (op->blob != NULL)
        sqlite3_bind_blob(s, 6, op->blob, (int)op->blob_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, now);
    src = sqlite3_step(s);
    switch (src) {
    case SQLITE_DONE:
        if (op->mode == HSMCA_PUT_UPDATE && sqlite3_changes(c->db) == 0) {
            rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "%s of %s '%s' in mount '%s': no %s with that id", mode_name(op->mode),
                           op->kind, op->id, op->mount, op->kind);
            goto done;
        }
        rv = HSMCA_OK;
        break;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        rv = hsmca_err(HSMCA_ERR_EXISTS, "%s of %s '%s' in mount '%s': that id already exists", mode_name(op->mode),
                       op->kind, op->id, op->mount);
        break;
    case SQLITE_CONSTRAINT_UNIQUE:
        /* The only UNIQUE constraint of docs besides the key is the name. */
        rv = hsmca_err(HSMCA_ERR_EXISTS, "%s of %s '%s' in mount '%s': name '%s' is already used by another %s",
                       mode_name(op->mode), op->kind, op->id, op->mount, op->name ? op->name : "", op->kind);
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "%s of %s '%s': mount '%s' does not exist", mode_name(op->mode),
                       op->kind, op->id, op->mount);
        break;
    default:
        rv = store_sqlite_fail(c, src, "%s of %s '%s' in mount '%s'", mode_name(op->mode), op->kind, op->id,
                               op->mount);
        break;
    }
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv store_doc_apply_delete(store_conn *c, const store_op *op)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src;

    rv = store_stmt(c, SQL_DOC_DELETE, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    store_bind_text(s, 2, op->kind);
    store_bind_text(s, 3, op->id);
    src = sqlite3_step(s);
    /* No row deleted is success: delete is idempotent (store.h). */
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "deleting %s '%s' in mount '%s'", op->kind, op->id, op->mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

void hsmca_store_doc_clear(hsmca_store_doc *d)
{
    if (d == NULL)
        return;
    free(d->body);
    free(d->blob);
    memset(d, 0, sizeof(*d));
}

/* Fills d from a row of SQL_DOC_GET_* / SQL_DOC_LIST. */
static hsmca_rv doc_from_row(sqlite3_stmt *s, hsmca_store_doc *d)
{
    bool nomem = false;
    const void *blob;
    int blob_len;

    memset(d, 0, sizeof(*d));
    store_column_copy(s, 0, d->id, sizeof(d->id));
    store_column_copy(s, 1, d->name, sizeof(d->name));
    d->body = store_column_strdup(s, 2, &nomem);
    blob = sqlite3_column_blob(s, 3);
    blob_len = sqlite3_column_bytes(s, 3);
    if (blob != NULL && blob_len > 0) {
        d->blob = malloc((size_t)blob_len);
        if (d->blob == NULL) {
            nomem = true;
        } else {
            memcpy(d->blob, blob, (size_t)blob_len);
            d->blob_len = (size_t)blob_len;
        }
    }
    d->created = sqlite3_column_int64(s, 4);
    d->updated = sqlite3_column_int64(s, 5);
    if (nomem || d->body == NULL) {
        /* body is NOT NULL in the schema: NULL here is out of memory. */
        hsmca_store_doc_clear(d);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory reading a document");
    }
    return HSMCA_OK;
}

/* One lookup by id or by name; HSMCA_ERR_NOT_FOUND without a detail when no
 * row matches (the caller words it). */
static hsmca_rv doc_lookup(store_conn *c, store_sql sql, const char *mount, const char *kind, const char *key,
                           hsmca_store_doc *out)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src;

    rv = store_stmt(c, sql, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    store_bind_text(s, 2, kind);
    store_bind_text(s, 3, key);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        rv = HSMCA_ERR_NOT_FOUND;
        goto done;
    }
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "reading %s '%s' in mount '%s'", kind, key, mount);
        goto done;
    }
    rv = doc_from_row(s, out);
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv hsmca_store_doc_get(hsmca_store *st, const char *mount, const char *kind, const char *id_or_name,
                             hsmca_store_doc *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("kind", kind, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("id_or_name", id_or_name, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK)
        goto done;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    /* Two lookups, one snapshot: a rename between them cannot make a
     * document that exists look absent. */
    rv = store_exec(c, SQL_BEGIN_READ);
    if (rv != HSMCA_OK)
        goto done;
    rv = doc_lookup(c, SQL_DOC_GET_ID, mount, kind, id_or_name, out);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = doc_lookup(c, SQL_DOC_GET_NAME, mount, kind, id_or_name, out);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "%s '%s' in mount '%s': no document with that id or name", kind,
                       id_or_name, mount);
done:
    if (rv != HSMCA_OK)
        hsmca_store_doc_clear(out);
    store_reader_put(st, c); /* ends the read transaction */
    return rv;
}

hsmca_rv hsmca_store_doc_list(hsmca_store *st, const char *mount, const char *kind, const char *after,
                              size_t limit, int (*cb)(const hsmca_store_doc *d, void *arg), void *arg)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    hsmca_store_doc d;
    int src;

    hsmca_return_val_if_fail(st != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&d, 0, sizeof(d));
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("kind", kind, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (after != NULL && (rv = store_check_name("after", after, HSMCA_STORE_ID_MAX, true)) != HSMCA_OK))
        goto done;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, SQL_DOC_LIST, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    store_bind_text(s, 2, kind);
    store_bind_text(s, 3, after != NULL ? after : ""); /* ids are never empty */
    sqlite3_bind_int64(s, 4, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (sqlite3_int64)limit);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        int more;

        rv = doc_from_row(s, &d);
        if (rv != HSMCA_OK)
            goto done;
        more = cb(&d, arg);
        hsmca_store_doc_clear(&d);
        if (!more)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "listing %s documents of mount '%s'", kind, mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    hsmca_store_doc_clear(&d);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
