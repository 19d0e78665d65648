/* SPDX-License-Identifier: Apache-2.0 */
/* Serial reservations (intents): stored before anything is signed, so a
 * serial is never used twice and a failed issuance leaves a record; and
 * reading them back, orphans (intents without a certificate) included. */
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

hsmca_rv store_intent_apply(store_conn *c, const store_op *op, int64_t now)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    rv = store_stmt(c, SQL_INTENT_INSERT, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)op->serial_len);
    store_bind_text(s, 4, op->issuer_id);
    store_bind_text(s, 5, op->role);
    sqlite3_bind_blob(s, 6, op->digest, (int)sizeof(op->digest), SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now);
    src = sqlite3_step(s);
    switch (src) {
    case SQLITE_DONE:
        rv = HSMCA_OK;
        break;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        /* The database, not luck, keeps serials unique per mount. */
        rv = hsmca_err(HSMCA_ERR_EXISTS, "reserving serial %s in mount '%s': serial already reserved", hex,
                       op->mount);
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "reserving serial %s: mount '%s' does not exist", hex, op->mount);
        break;
    default:
        rv = store_sqlite_fail(c, src, "reserving serial %s in mount '%s'", hex, op->mount);
        break;
    }
done:
    store_stmt_done(s);
    return rv;
}

/* Fills i from a row of SQL_INTENT_*. */
static void intent_from_row(sqlite3_stmt *s, hsmca_store_intent *i)
{
    const void *digest = sqlite3_column_blob(s, 4);

    memset(i, 0, sizeof(*i));
    i->serial_len = (size_t)sqlite3_column_int(s, 1);
    store_serial_unkey(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), i->serial_len, i->serial);
    if (i->serial_len < 1 || i->serial_len > HSMCA_STORE_SERIAL_MAX)
        i->serial_len = HSMCA_STORE_SERIAL_MAX; /* as unkey clamped it */
    store_column_copy(s, 2, i->issuer_id, sizeof(i->issuer_id));
    store_column_copy(s, 3, i->role, sizeof(i->role));
    if (digest != NULL && sqlite3_column_bytes(s, 4) == (int)sizeof(i->request_digest))
        memcpy(i->request_digest, digest, sizeof(i->request_digest));
    i->created = sqlite3_column_int64(s, 5);
    i->has_certificate = sqlite3_column_int(s, 6) != 0;
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        i->revoked_at = sqlite3_column_int64(s, 7);
        i->revocation_reason = sqlite3_column_int(s, 8);
    }
}

hsmca_rv hsmca_store_intent_get(hsmca_store *st, const char *mount, const unsigned char *serial,
                                size_t serial_len, hsmca_store_intent *out)
{
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    rv = store_serial_row(st, mount, serial, serial_len, SQL_INTENT_GET, "serial", "never reserved", &c, &s);
    if (rv == HSMCA_OK)
        intent_from_row(s, out);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv hsmca_store_intent_list(hsmca_store *st, const char *mount, bool orphans_only,
                                 int (*cb)(const hsmca_store_intent *i, void *arg), void *arg)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    hsmca_store_intent i;
    int src;

    hsmca_return_val_if_fail(st != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, orphans_only ? SQL_INTENT_LIST_ORPHANS : SQL_INTENT_LIST, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        intent_from_row(s, &i);
        if (!cb(&i, arg))
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "listing intents of mount '%s'", mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
