/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates: storing one against its intent, reading by serial and
 * listing in serial order. */
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

hsmca_rv store_cert_apply(store_conn *c, const store_op *op, int64_t now)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    rv = store_stmt(c, SQL_CERT_INSERT, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)op->serial_len);
    store_bind_text(s, 4, op->issuer_id);
    store_bind_text(s, 5, op->role);
    sqlite3_bind_blob(s, 6, op->blob, (int)op->blob_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, op->not_before);
    sqlite3_bind_int64(s, 8, op->not_after);
    sqlite3_bind_int64(s, 9, now);
    src = sqlite3_step(s);
    switch (src) {
    case SQLITE_DONE:
        rv = HSMCA_OK;
        break;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        rv = hsmca_err(HSMCA_ERR_EXISTS, "storing certificate serial %s in mount '%s': a certificate with that "
                                         "serial is already stored",
                       hex, op->mount);
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        /* No intent: either the mount is gone or the serial was never
         * reserved. Say which. */
        store_stmt_done(s);
        s = NULL;
        rv = store_mount_require(c, op->mount);
        if (rv == HSMCA_OK)
            rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "storing certificate serial %s in mount '%s': the serial has no "
                                                "intent (reserve it before signing)",
                           hex, op->mount);
        else if (rv == HSMCA_ERR_NOT_FOUND)
            hsmca_err_prefix("storing certificate serial %s", hex);
        break;
    default:
        /* A trigger's RAISE, a full disk, an I/O error: storage refused it. */
        rv = store_sqlite_fail(c, src, "storing certificate serial %s in mount '%s'", hex, op->mount);
        break;
    }
done:
    store_stmt_done(s);
    return rv;
}

void hsmca_store_cert_clear(hsmca_store_cert *c)
{
    if (c == NULL)
        return;
    free(c->der);
    memset(c, 0, sizeof(*c));
}

/* Fills out from a row of SQL_CERT_GET / SQL_CERT_LIST. */
static hsmca_rv cert_from_row(sqlite3_stmt *s, hsmca_store_cert *out)
{
    const void *der;
    int der_len;

    memset(out, 0, sizeof(*out));
    out->serial_len = (size_t)sqlite3_column_int(s, 1);
    store_serial_unkey(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), out->serial_len,
                       out->serial);
    if (out->serial_len < 1 || out->serial_len > HSMCA_STORE_SERIAL_MAX)
        out->serial_len = HSMCA_STORE_SERIAL_MAX; /* as unkey clamped it */
    store_column_copy(s, 2, out->issuer_id, sizeof(out->issuer_id));
    store_column_copy(s, 3, out->role, sizeof(out->role));
    der = sqlite3_column_blob(s, 4);
    der_len = sqlite3_column_bytes(s, 4);
    out->not_before = sqlite3_column_int64(s, 5);
    out->not_after = sqlite3_column_int64(s, 6);
    out->created = sqlite3_column_int64(s, 7);
    out->revoked_at = sqlite3_column_int64(s, 8); /* NULL reads as 0: not revoked */
    out->revocation_reason = sqlite3_column_int(s, 9);
    if (der == NULL || der_len <= 0)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory reading a certificate");
    out->der = malloc((size_t)der_len);
    if (out->der == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory reading a certificate of %d bytes", der_len);
    memcpy(out->der, der, (size_t)der_len);
    out->der_len = (size_t)der_len;
    return HSMCA_OK;
}

hsmca_rv hsmca_store_cert_get(hsmca_store *st, const char *mount, const unsigned char *serial,
                              size_t serial_len, hsmca_store_cert *out)
{
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(st != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    rv = store_serial_row(st, mount, serial, serial_len, SQL_CERT_GET, "certificate serial", "not stored", &c, &s);
    if (rv == HSMCA_OK)
        rv = cert_from_row(s, out);
    if (rv != HSMCA_OK)
        hsmca_store_cert_clear(out);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}

hsmca_rv hsmca_store_cert_list(hsmca_store *st, const char *mount, const unsigned char *after,
                               size_t after_len, size_t limit,
                               int (*cb)(const hsmca_store_cert *c, void *arg), void *arg)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    hsmca_store_cert cert;
    int src;

    hsmca_return_val_if_fail(st != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&cert, 0, sizeof(cert));
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (after != NULL && (rv = store_check_serial("after", after, after_len)) != HSMCA_OK))
        goto done;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, SQL_CERT_LIST, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if (after != NULL) {
        store_serial_key(after, after_len, key);
        sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    } else {
        sqlite3_bind_zeroblob(s, 2, 0); /* x'': below every 20-octet key */
    }
    sqlite3_bind_int64(s, 3, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (sqlite3_int64)limit);
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        int more;

        rv = cert_from_row(s, &cert);
        if (rv != HSMCA_OK)
            goto done;
        more = cb(&cert, arg);
        hsmca_store_cert_clear(&cert);
        if (!more)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "listing certificates of mount '%s'", mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    hsmca_store_cert_clear(&cert);
    store_stmt_done(s);
    store_reader_put(st, c);
    return rv;
}
