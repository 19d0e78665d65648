/* SPDX-License-Identifier: Apache-2.0 */
/* Revocations: marking a certificate (or an intent whose certificate was
 * never stored) revoked with the mount's next revocation sequence number,
 * and streaming both kinds in serial or sequence order for CRLs and
 * certs/revoked. */
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

/* The mount's next revocation number into *seq. Called first in a
 * revocation: should the write after it fail, the batch's savepoint undoes
 * this step too, so no number is lost or reused. */
static hsmca_rv next_revocation_seq(store_conn *c, const store_op *op, const char *hex, int64_t *seq)
{
    sqlite3_stmt *s = NULL;
    hsmca_rv rv = store_stmt(c, SQL_REVSEQ_NEXT, &s);
    int src;

    *seq = 0;
    if (rv != HSMCA_OK)
        return rv;
    store_bind_text(s, 1, op->mount);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        *seq = sqlite3_column_int64(s, 0);
    } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
        store_stmt_done(s);
        s = NULL;
        rv = store_mount_require(c, op->mount);
        if (rv == HSMCA_OK)
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "revoking serial %s: the revocation counter refused", hex);
    } else {
        rv = store_sqlite_fail(c, src, "revoking serial %s in mount '%s': next revocation number", hex, op->mount);
    }
    store_stmt_done(s);
    return rv;
}

/* Runs sql (SQL_CERT_REVOKE or SQL_INTENT_REVOKE: mount, serial key, time,
 * reason, number) and leaves the statement in *out for the caller to check
 * and finish; the sqlite3_step result. */
static int revoke_row(store_conn *c, store_sql sql, const store_op *op, const unsigned char *key, int64_t seq,
                      sqlite3_stmt **out, hsmca_rv *rv)
{
    *rv = store_stmt(c, sql, out);
    if (*rv != HSMCA_OK)
        return SQLITE_ERROR;
    store_bind_text(*out, 1, op->mount);
    sqlite3_bind_blob(*out, 2, key, HSMCA_STORE_SERIAL_MAX, SQLITE_STATIC);
    sqlite3_bind_int64(*out, 3, op->revoked_at);
    sqlite3_bind_int(*out, 4, op->reason);
    sqlite3_bind_int64(*out, 5, seq);
    return sqlite3_step(*out);
}

hsmca_rv store_revoke_apply(store_conn *c, const store_op *op)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int64_t seq = 0;
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    if ((rv = next_revocation_seq(c, op, hex, &seq)) != HSMCA_OK)
        goto done;
    src = revoke_row(c, SQL_CERT_REVOKE, op, key, seq, &s, &rv);
    if (rv != HSMCA_OK)
        goto done;
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "revoking serial %s in mount '%s'", hex, op->mount);
        goto done;
    }
    if (sqlite3_changes(c->db) == 1) {
        rv = HSMCA_OK;
        goto done;
    }
    /* Nothing changed: absent, or revoked before. Say which. */
    store_stmt_done(s);
    s = NULL;
    rv = store_stmt(c, SQL_CERT_EXISTS, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        rv = hsmca_err(HSMCA_ERR_EXISTS, "revoking serial %s in mount '%s': already revoked", hex, op->mount);
    else if (src == SQLITE_DONE)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND,
                       "revoking serial %s in mount '%s': no certificate with that serial is "
                       "stored",
                       hex, op->mount);
    else
        rv = store_sqlite_fail(c, src, "revoking serial %s in mount '%s'", hex, op->mount);
done:
    store_stmt_done(s);
    return rv;
}

hsmca_rv store_revoke_intent_apply(store_conn *c, const store_op *op)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    char hex[STORE_SERIAL_HEX_MAX];
    int64_t seq = 0;
    int src;

    store_serial_key(op->serial, op->serial_len, key);
    store_serial_hex(op->serial, op->serial_len, hex);
    /* What the serial is now, in this transaction: an intent alone is the
     * one case this operation is for; say precisely why anything else is
     * not. */
    rv = store_stmt(c, SQL_INTENT_GET, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, op->mount);
    sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        store_stmt_done(s);
        s = NULL;
        rv = store_mount_require(c, op->mount);
        if (rv == HSMCA_OK)
            rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "revoking serial %s in mount '%s': the serial was never reserved",
                           hex, op->mount);
        goto done;
    }
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "revoking serial %s in mount '%s': reading its intent", hex, op->mount);
        goto done;
    }
    if (sqlite3_column_int(s, 6) != 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "revoking serial %s in mount '%s' as an intent: a certificate with that serial is stored "
                       "(revoke the certificate)",
                       hex, op->mount);
        goto done;
    }
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "revoking serial %s in mount '%s': already revoked", hex, op->mount);
        goto done;
    }
    store_stmt_done(s);
    s = NULL;

    /* The same counter as certificates, so a delta CRL sees both kinds in
     * one sequence. */
    if ((rv = next_revocation_seq(c, op, hex, &seq)) != HSMCA_OK)
        goto done;
    src = revoke_row(c, SQL_INTENT_REVOKE, op, key, seq, &s, &rv);
    if (rv != HSMCA_OK)
        goto done;
    if (src != SQLITE_DONE || sqlite3_changes(c->db) != 1) {
        rv = src == SQLITE_DONE ? hsmca_err(HSMCA_ERR_INTERNAL, "revoking serial %s in mount '%s': the intent "
                                                                "vanished",
                                            hex, op->mount)
                                : store_sqlite_fail(c, src, "revoking serial %s in mount '%s'", hex, op->mount);
        goto done;
    }
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    return rv;
}

static void revoked_from_row(sqlite3_stmt *s, hsmca_store_revoked *r)
{
    memset(r, 0, sizeof(*r));
    r->serial_len = (size_t)sqlite3_column_int(s, 1);
    store_serial_unkey(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), r->serial_len,
                       r->serial);
    if (r->serial_len < 1 || r->serial_len > HSMCA_STORE_SERIAL_MAX)
        r->serial_len = HSMCA_STORE_SERIAL_MAX; /* as unkey clamped it */
    store_column_copy(s, 2, r->issuer_id, sizeof(r->issuer_id));
    r->revoked_at = sqlite3_column_int64(s, 3);
    r->reason = sqlite3_column_int(s, 4);
    r->seq = sqlite3_column_int64(s, 5);
    r->intent_only = sqlite3_column_int(s, 6) != 0;
}

/* The mount's revocation counter on c (0 before the first revocation). */
static hsmca_rv read_counter(store_conn *c, const char *mount, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    hsmca_rv rv = store_stmt(c, SQL_REVSEQ_GET, &s);
    int src;

    *out = 0;
    if (rv != HSMCA_OK)
        return rv;
    store_bind_text(s, 1, mount);
    src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else if (src != SQLITE_DONE)
        rv = store_sqlite_fail(c, src, "reading the revocation counter of mount '%s'", mount);
    /* Reset, not done: the caller's read transaction keeps its snapshot. */
    sqlite3_reset(s);
    return rv;
}

hsmca_rv hsmca_store_revoked_list(hsmca_store *st, const char *mount, const hsmca_store_revoked_query *q,
                                  int64_t *seq_now, int (*cb)(const hsmca_store_revoked *r, void *arg),
                                  void *arg)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    unsigned char key[HSMCA_STORE_SERIAL_MAX];
    hsmca_store_revoked r;
    int64_t counter = 0;
    store_sql sql;
    int src;

    hsmca_return_val_if_fail(st != NULL && q != NULL && cb != NULL, HSMCA_ERR_INVALID_ARG);
    if (seq_now != NULL)
        *seq_now = 0;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (q->issuer_id != NULL &&
         (rv = store_check_name("issuer_id", q->issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK) ||
        (q->after != NULL && (rv = store_check_serial("after", q->after, q->after_len)) != HSMCA_OK))
        goto done;
    if (q->since_seq >= 0 && q->issuer_id == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "since_seq %lld: a delta listing needs an issuer_id",
                       (long long)q->since_seq);
        goto done;
    }
    sql = q->since_seq >= 0      ? SQL_REVOKED_SINCE
          : q->issuer_id != NULL ? SQL_REVOKED_LIST_ISSUER
                                 : SQL_REVOKED_LIST;
    rv = store_reader_get(st, &c);
    if (rv != HSMCA_OK)
        goto done;
    /* One snapshot for the counter and the rows: a CRL built from them
     * holds exactly the revocations numbered up to the counter. */
    rv = store_exec(c, SQL_BEGIN_READ);
    if (rv != HSMCA_OK)
        goto done;
    rv = read_counter(c, mount, &counter);
    if (rv != HSMCA_OK)
        goto done;
    rv = store_stmt(c, sql, &s);
    if (rv != HSMCA_OK)
        goto done;
    store_bind_text(s, 1, mount);
    if (q->after != NULL) {
        store_serial_key(q->after, q->after_len, key);
        sqlite3_bind_blob(s, 2, key, (int)sizeof(key), SQLITE_STATIC);
    } else {
        sqlite3_bind_zeroblob(s, 2, 0); /* x'': below every 20-octet key */
    }
    sqlite3_bind_int64(s, 3, q->limit == 0 || q->limit > (size_t)INT64_MAX ? -1 : (sqlite3_int64)q->limit);
    if (q->issuer_id != NULL)
        store_bind_text(s, 4, q->issuer_id);
    if (sql == SQL_REVOKED_SINCE) {
        sqlite3_bind_int64(s, 5, q->since_seq);
        sqlite3_bind_int64(s, 6, counter);
    }
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        revoked_from_row(s, &r);
        if (!cb(&r, arg))
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "listing revoked certificates of mount '%s'", mount);
        goto done;
    }
    if (seq_now != NULL)
        *seq_now = counter;
    rv = HSMCA_OK;
done:
    store_stmt_done(s);
    store_reader_put(st, c); /* ends the read transaction */
    return rv;
}
