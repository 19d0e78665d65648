/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite result codes mapped to hsmca_rv, with sqlite3_errmsg in the detail. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

hsmca_rv store_sqlite_fail(store_conn *c, int src, const char *fmt, ...)
{
    va_list ap;
    char what[STORE_DETAIL_MAX / 2];
    const char *msg;
    hsmca_rv rv = HSMCA_ERR_IO;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* errmsg is the connection's last error: read it before anything else
     * runs on the connection. */
    msg = (c != NULL && c->db != NULL) ? sqlite3_errmsg(c->db) : sqlite3_errstr(src);
    switch (src & 0xff) {
    case SQLITE_NOMEM:
        rv = HSMCA_ERR_NOMEM;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        /* Another connection (another process) held the lock for longer
         * than the busy timeout. */
        rv = HSMCA_ERR_TIMEOUT;
        break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
        rv = HSMCA_ERR_INTERNAL;
        break;
    default:
        /* I/O errors, a full disk, corruption, a file that is not a
         * database, a read-only file, and constraints with no domain meaning
         * (a trigger's RAISE, a CHECK): the storage refused the operation. */
        rv = HSMCA_ERR_IO;
        break;
    }
    return hsmca_err(rv, "%s: %s (SQLite result %d)", what, msg, src);
}
