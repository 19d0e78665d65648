/* SPDX-License-Identifier: Apache-2.0 */
/* The database schema as numbered migrations, applied in order at open in
 * one transaction and recorded in the schema_version table. */
#include <stdio.h>
#include <time.h>

#include "internal.h"

/* Migration n is migrations[n - 1]. Append only: a released script is never
 * edited, because databases in the field already ran it.
 *
 * Serial columns hold the 20-octet left-padded key of serial.c, so BLOB
 * order is numeric order; serial_len keeps the caller's octet count. Every
 * table is STRICT so a wrong type is an error, not a silent conversion. The
 * foreign keys have no ON DELETE action: a mount is deleted child tables
 * first (SQL_MOUNT_DELETE_*), and anything else that would orphan a row
 * fails. */
/* Migration 4 (issue 5, tidy at scale): tidy lists expired certificates
 * in (not_after, serial) order (SQL_TIDY_EXPIRED); this index holds that
 * order per mount, so a tidy batch seeks straight to the expired rows
 * instead of walking every certificate of the mount. IF NOT EXISTS: safe
 * whichever migration number it finally runs under. */
#define STORE_MIGRATION_TIDY_INDEX "CREATE INDEX IF NOT EXISTS certs_not_after ON certs (mount, not_after, serial);"

static const char *const migrations[] = {
    /* 1: mounts, documents, serial reservations (intents), certificates. */
    "CREATE TABLE mounts ("
    "  name TEXT NOT NULL PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  options TEXT,"
    "  created INTEGER NOT NULL"
    ") STRICT;"
    /* (mount, kind, id) is the primary key and the index LIST walks; the
     * UNIQUE name index lets NULL (no name) repeat, as SQL does. */
    "CREATE TABLE docs ("
    "  mount TEXT NOT NULL REFERENCES mounts (name),"
    "  kind TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  name TEXT,"
    "  body TEXT NOT NULL,"
    "  blob BLOB,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  PRIMARY KEY (mount, kind, id),"
    "  UNIQUE (mount, kind, name)"
    ") STRICT;"
    /* Small rows looked up and listed by (mount, serial): clustered on it. */
    "CREATE TABLE intents ("
    "  mount TEXT NOT NULL REFERENCES mounts (name),"
    "  serial BLOB NOT NULL CHECK (length(serial) = 20),"
    "  serial_len INTEGER NOT NULL CHECK (serial_len BETWEEN 1 AND 20),"
    "  issuer_id TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  request_digest BLOB NOT NULL CHECK (length(request_digest) = 32),"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (mount, serial)"
    ") STRICT, WITHOUT ROWID;"
    /* Rows carry the DER (about 1 KiB), too big for WITHOUT ROWID; the
     * primary-key index serves get and LIST. A certificate needs its intent:
     * a serial is reserved before anything is signed. */
    "CREATE TABLE certs ("
    "  mount TEXT NOT NULL,"
    "  serial BLOB NOT NULL CHECK (length(serial) = 20),"
    "  serial_len INTEGER NOT NULL CHECK (serial_len BETWEEN 1 AND 20),"
    "  issuer_id TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  der BLOB NOT NULL,"
    "  not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  revocation_reason INTEGER,"
    "  PRIMARY KEY (mount, serial),"
    "  FOREIGN KEY (mount, serial) REFERENCES intents (mount, serial)"
    ") STRICT;",
    /* 2: revocation (issue 5). Revoking is one UPDATE of the certificate's
     * row plus one counter step, whatever the number already revoked.
     * revocation_seq orders revocations within a mount: a delta CRL lists
     * the revocations with a sequence above the one its base CRL was built
     * at. The counter lives in its own row, not in max(revocation_seq): tidy
     * removing the newest revoked row must not hand its number out again (a
     * delta would then miss the next revocation). The partial indexes hold
     * revoked rows only, so a CRL build or certs/revoked walks the revoked
     * certificates in serial order (per issuer or per mount) without reading
     * the valid ones, and a delta seeks straight to its first revocation. */
    "ALTER TABLE certs ADD COLUMN revocation_seq INTEGER;"
    "CREATE INDEX certs_revoked_serial ON certs (mount, serial) WHERE revoked_at IS NOT NULL;"
    "CREATE INDEX certs_revoked_issuer ON certs (mount, issuer_id, serial) WHERE revoked_at IS NOT NULL;"
    "CREATE INDEX certs_revocation_seq ON certs (mount, issuer_id, revocation_seq)"
    "  WHERE revocation_seq IS NOT NULL;"
    "CREATE TABLE revocation_counters ("
    "  mount TEXT NOT NULL PRIMARY KEY REFERENCES mounts (name),"
    "  last_seq INTEGER NOT NULL CHECK (last_seq >= 0)"
    ") STRICT, WITHOUT ROWID;",
    /* 3: revoking a serial that has an intent but no certificate (issue 5,
     * issue 9 item 2): the token signed, the certificate insert failed, so
     * the signed certificate may exist somewhere and must be revocable. The
     * revocation is its own row, keyed like an intent and referencing it,
     * with the issuer copied from the intent and a number from the same
     * per-mount revocation counter, so CRLs (complete and delta) and
     * certs/revoked merge the two tables in serial or sequence order. The
     * indexes mirror certs_revoked_issuer and certs_revocation_seq. The
     * trigger keeps a serial in one table only: a certificate for a serial
     * already revoked this way is refused (it would otherwise be stored
     * unrevoked and answered good). */
    "CREATE TABLE intent_revocations ("
    "  mount TEXT NOT NULL,"
    "  serial BLOB NOT NULL CHECK (length(serial) = 20),"
    "  serial_len INTEGER NOT NULL CHECK (serial_len BETWEEN 1 AND 20),"
    "  issuer_id TEXT NOT NULL,"
    "  revoked_at INTEGER NOT NULL,"
    "  revocation_reason INTEGER NOT NULL,"
    "  revocation_seq INTEGER NOT NULL,"
    "  PRIMARY KEY (mount, serial),"
    "  FOREIGN KEY (mount, serial) REFERENCES intents (mount, serial)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX intent_revocations_issuer ON intent_revocations (mount, issuer_id, serial);"
    "CREATE INDEX intent_revocations_seq ON intent_revocations (mount, issuer_id, revocation_seq);"
    "CREATE TRIGGER certs_not_after_intent_revocation BEFORE INSERT ON certs"
    "  WHEN EXISTS (SELECT 1 FROM intent_revocations r WHERE r.mount = NEW.mount AND r.serial = NEW.serial)"
    "  BEGIN SELECT RAISE(ABORT, 'the serial was revoked before its certificate was stored'); END;",
    /* 4 (issue 5, tidy): STORE_MIGRATION_TIDY_INDEX. */
    STORE_MIGRATION_TIDY_INDEX,
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Runs a fixed script (no rows expected) on c. */
static hsmca_rv exec_script(store_conn *c, const char *sql, const char *what)
{
    int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    if (src != SQLITE_OK)
        return store_sqlite_fail(c, src, "%s", what);
    return HSMCA_OK;
}

/* The highest recorded version, 0 for a new database. */
static hsmca_rv read_version(store_conn *c, int *out)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &s, NULL);

    if (src != SQLITE_OK) {
        rv = store_sqlite_fail(c, src, "reading the schema version");
        goto done;
    }
    src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rv = store_sqlite_fail(c, src, "reading the schema version");
        goto done;
    }
    *out = sqlite3_column_int(s, 0);
    rv = HSMCA_OK;
done:
    sqlite3_finalize(s);
    return rv;
}

static hsmca_rv record_version(store_conn *c, int version)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(c->db, "INSERT INTO schema_version (version, applied) VALUES (?1, ?2)", -1,
                                 &s, NULL);

    if (src != SQLITE_OK) {
        rv = store_sqlite_fail(c, src, "recording the schema version");
        goto done;
    }
    sqlite3_bind_int(s, 1, version);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
    src = sqlite3_step(s);
    if (src != SQLITE_DONE) {
        rv = store_sqlite_fail(c, src, "recording the schema version");
        goto done;
    }
    rv = HSMCA_OK;
done:
    sqlite3_finalize(s);
    return rv;
}

hsmca_rv store_schema_migrate(store_conn *c, int *version)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    bool in_txn = false;
    int cur = 0;

    /* IMMEDIATE: two processes opening a new database at once serialise
     * here, and the second sees the first one's migrations. */
    rv = store_exec(c, SQL_BEGIN_IMMEDIATE);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("migrating the schema");
        goto done;
    }
    in_txn = true;
    rv = exec_script(c,
                     "CREATE TABLE IF NOT EXISTS schema_version ("
                     "  version INTEGER NOT NULL PRIMARY KEY, applied INTEGER NOT NULL) STRICT",
                     "creating schema_version");
    if (rv != HSMCA_OK)
        goto done;
    rv = read_version(c, &cur);
    if (rv != HSMCA_OK)
        goto done;
    if (cur > MIGRATION_COUNT) {
        /* Running old code on a newer database would write rows the newer
         * schema's rules do not expect. */
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED,
                       "schema_version %d of the database is newer than this hsmca knows (%d): "
                       "refusing to open it",
                       cur, MIGRATION_COUNT);
        goto done;
    }
    if (cur < 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "schema_version %d of the database is not a version", cur);
        goto done;
    }
    /* migrations[i] brings the schema from version i to i + 1. */
    for (int i = cur; i < MIGRATION_COUNT; i++) {
        char what[64];

        snprintf(what, sizeof(what), "applying schema migration %d", i + 1);
        rv = exec_script(c, migrations[i], what);
        if (rv != HSMCA_OK)
            goto done;
        rv = record_version(c, i + 1);
        if (rv != HSMCA_OK)
            goto done;
    }
    rv = store_exec(c, SQL_COMMIT);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("committing schema migrations");
        goto done;
    }
    in_txn = false;
    *version = MIGRATION_COUNT;
    rv = HSMCA_OK;
done:
    if (in_txn && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rv;
}
