/* SPDX-License-Identifier: Apache-2.0 */
/* Tidy's storage operations: listing expired certificates one bounded batch
 * at a time, counting certificates, and deleting an expired certificate with
 * its intent. */
#include <stdint.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

#define TIDY_LIST_MAX 4096u /* rows in one listing: one batch's worth */

hsmca_rv store_expunge_apply(store_conn *c, const store_op *op)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    rv = store_stmt(c, SQL_TIDY_CERT_DELETE, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, op->expired_before);
    sqlite3_bind_int(s, 4, op->revoked ? 1 : 0);
    src = sqlite3_step(s);
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: deleting certificate serial %s in mount '%s'", hex, op->mount);
        goto done;
    }
    /* The row no longer qualifies (or is gone): leave its intent too, so a
     * stored certificate never loses the reservation its foreign key needs. */
    if (sqlite3_changes(c->db) != 1) {
        rv = HSMCA_OK;
        goto done;
    }
    store_stmt_done(s);
    s = NULL;
    rv = store_stmt(c, SQL_TIDY_INTENT_DELETE, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: deleting the intent of serial %s in mount '%s'", hex, op->mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

/* Steps s, whose columns are (serial key, serial_len, issuer_id,
 * not_after, revoked_at), into rows until limit; the last sqlite3_step
 * result (SQLITE_ROW when rows filled up first). */
static int expired_rows_read(sqlite3_stmt *s, hsmca_store_expired *rows, size_t limit, size_t *n)
{
    int src = SQLITE_DONE;

    while (*n < limit && (src = sqlite3_step(s)) == SQLITE_ROW) {
        hsmca_store_expired *r = &rows[*n];

        memset(r, 0, sizeof(*r));
        r->serial_len = (size_t)sqlite3_column_int(s, 1);
        store_serial_unkey(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), r->serial_len,
                           r->serial);
        if (r->serial_len < 1 || r->serial_len > HSMCA_STORE_SERIAL_MAX)
            r->serial_len = HSMCA_STORE_SERIAL_MAX;
        store_column_copy(s, 2, r->issuer_id, sizeof(r->issuer_id));
        r->not_after = sqlite3_column_int64(s, 3);
        r->revoked_at = sqlite3_column_int64(s, 4);
        (*n)++;
    }
    return src;
}

hsmca_rv hsmca_store_expired_list(hsmca_store *st, const char *mount, int64_t expired_before,
                                  const hsmca_store_expired *after, hsmca_store_expired *rows, size_t limit,
                                  size_t *n)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    int src = SQLITE_DONE;

    hsmca_return_val_if_fail(st != NULL && rows != NULL && n != NULL, HSMCA_ERR_INVALID_ARG);
    *n = 0;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (after != NULL && (rv = store_check_serial("after", after->serial, after->serial_len)) != HSMCA_OK))
        goto done;
    if (limit < 1 || limit > TIDY_LIST_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "limit %zu is not within 1..%u", limit, TIDY_LIST_MAX);
        goto done;
    }
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK || (rv = store_stmt(c, SQL_TIDY_EXPIRED, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if (after != NULL) {
        store_serial_key(after->serial, after->serial_len, key);
        sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, after->not_after);
    } else {
        /* (INT64_MIN, x'') sorts before every row: every key is 20 octets. */
        sqlite3_bind_zeroblob(s, 2, 0);
        sqlite3_bind_int64(s, 5, INT64_MIN);
    }
    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
    sqlite3_bind_int64(s, 4, expired_before);
    src = expired_rows_read(s, rows, limit, n);
    if (*n < limit && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: listing expired certificates of mount '%s'", mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

const char *hsmca_store_expired_list_sql(void)
{
    return store_sql_text(SQL_TIDY_EXPIRED);
}

hsmca_rv hsmca_store_cert_count(hsmca_store *st, const char *mount, uint64_t *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int src;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = 0;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK)
        goto done;
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK || (rv = store_stmt(c, SQL_TIDY_CERT_COUNT, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "tidy: counting certificates of mount '%s'", mount);
        goto done;
    }
    *out = (uint64_t)sqlite3_column_int64(s, 0);
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv hsmca_store_issuer_has_unexpired(hsmca_store *st, const char *mount, const char *issuer_id, int64_t now,
                                          bool *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int src;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = true; /* on failure, the answer that removes nothing */
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("issuer_id", issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK)
        goto done;
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK ||
        (rv = store_stmt(c, SQL_TIDY_ISSUER_UNEXPIRED, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    store_bind_text(s, 2, issuer_id);
    sqlite3_bind_int64(s, 3, now);
    src = sqlite3_step(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: unexpired certificates of issuer '%s' in mount '%s'", issuer_id, mount);
        goto done;
    }
    *out = src == SQLITE_ROW;
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv hsmca_store_cert_counts(hsmca_store *st, const char *mount, uint64_t *stored, uint64_t *revoked)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int src;

    hsmca_return_val_if_fail(st != NULL && stored != NULL && revoked != NULL, HSMCA_ERR_INVALID_ARG);
    *stored = *revoked = 0;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK)
        goto done;
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK)
        goto done;
    /* One snapshot for both: never more revoked than stored, whatever an
     * issuance, revocation or tidy commits between the two counts. */
    if ((rv = store_exec(c, SQL_BEGIN_READ)) != HSMCA_OK || (rv = store_stmt(c, SQL_TIDY_CERT_COUNT, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if ((src = sqlite3_step(s)) != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "counting certificates of mount '%s'", mount);
        goto done;
    }
    *stored = (uint64_t)sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    s = NULL;
    if ((rv = store_stmt(c, SQL_TIDY_REVOKED_COUNT, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if ((src = sqlite3_step(s)) != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "counting revoked certificates of mount '%s'", mount);
        goto done;
    }
    *revoked = (uint64_t)sqlite3_column_int64(s, 0);
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c); /* ends the read transaction */
    return rv;
}

hsmca_rv hsmca_store_revoked_orphans(hsmca_store *st, const char *mount, const unsigned char *after,
                                     size_t after_len, hsmca_store_expired *rows, size_t limit, size_t *n)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    int src = SQLITE_DONE;

    hsmca_return_val_if_fail(st != NULL && rows != NULL && n != NULL, HSMCA_ERR_INVALID_ARG);
    *n = 0;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (after != NULL && (rv = store_check_serial("after", after, after_len)) != HSMCA_OK))
        goto done;
    if (limit < 1 || limit > TIDY_LIST_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "limit %zu is not within 1..%u", limit, TIDY_LIST_MAX);
        goto done;
    }
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK ||
        (rv = store_stmt(c, SQL_TIDY_REVOKED_ORPHANS, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if (after != NULL) {
        store_serial_key(after, after_len, key);
        sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    } else {
        sqlite3_bind_zeroblob(s, 2, 0);
    }
    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
    src = expired_rows_read(s, rows, limit, n);
    if (*n < limit && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: listing revoked certificates without an issuer in mount '%s'", mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv store_reassociate_apply(store_conn *c, const store_op *op)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    rv = store_stmt(c, SQL_TIDY_REASSOCIATE, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    store_bind_text(s, 3, op->issuer_id);
    store_bind_text(s, 4, op->from_issuer_id);
    src = sqlite3_step(s);
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "tidy: associating serial %s of mount '%s' with issuer '%s'", hex,
                               op->mount, op->issuer_id);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv hsmca_store_issuer_has_unexpired_except(hsmca_store *st, const char *mount, const char *issuer_id,
                                                 int64_t now, const unsigned char *except, size_t except_len,
                                                 bool *out)
{
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int src;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = true; /* on failure, the answer that strands nothing */
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("issuer_id", issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("except", except, except_len)) != HSMCA_OK)
        goto done;
    if ((rv = store_reader_get(st, &c)) != HSMCA_OK ||
        (rv = store_stmt(c, SQL_ISSUER_UNEXPIRED_EXCEPT, &s)) != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    store_bind_text(s, 2, issuer_id);
    sqlite3_bind_int64(s, 3, now);
    store_serial_key(except, except_len, key);
    sqlite3_bind_blob(s, 4, key, sizeof(key), SQLITE_TRANSIENT);
    src = sqlite3_step(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "unexpired certificates of issuer '%s' in mount '%s'", issuer_id, mount);
        goto done;
    }
    *out = src == SQLITE_ROW;
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
