/* SPDX-License-Identifier: Apache-2.0 */
/* The SQL statements of the SQLite backend, one table indexed by store_sql
 * (the migration scripts are in schema.c). Keeping them together makes the
 * whole query surface reviewable at once and shows what a second backend
 * (PostgreSQL) must provide. */
#include "internal.h"

/* Serials are bound as 20-octet keys (serial.c). Every statement that lists
 * rows orders by a primary-key prefix, so pagination walks an index. */
static const char *const sql_text[SQL_COUNT] = {
    [SQL_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    /* A read transaction: several statements of one read see one snapshot. */
    [SQL_BEGIN_READ] = "BEGIN DEFERRED",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    /* One name is enough: the writer releases or rolls back each batch's
     * savepoint before it opens the next. */
    [SQL_SAVEPOINT] = "SAVEPOINT batch",
    [SQL_RELEASE] = "RELEASE batch",
    [SQL_ROLLBACK_TO] = "ROLLBACK TO batch",

    [SQL_MOUNT_INSERT] = "INSERT INTO mounts (name, type, options, created) VALUES (?1, ?2, ?3, ?4)",
    /* Children first: the foreign keys have no ON DELETE CASCADE, so a
     * forgotten table makes the delete fail instead of leaving orphans. */
    [SQL_MOUNT_DELETE_CERTS] = "DELETE FROM certs WHERE mount = ?1",
    [SQL_MOUNT_DELETE_INTENTS] = "DELETE FROM intents WHERE mount = ?1",
    [SQL_MOUNT_DELETE_DOCS] = "DELETE FROM docs WHERE mount = ?1",
    [SQL_MOUNT_DELETE_REVSEQ] = "DELETE FROM revocation_counters WHERE mount = ?1",
    [SQL_MOUNT_DELETE] = "DELETE FROM mounts WHERE name = ?1",
    [SQL_MOUNT_EXISTS] = "SELECT 1 FROM mounts WHERE name = ?1",
    [SQL_MOUNT_GET] = "SELECT name, type, options, created FROM mounts WHERE name = ?1",
    [SQL_MOUNT_LIST] = "SELECT name, type, options, created FROM mounts ORDER BY name",

    [SQL_DOC_INSERT] = "INSERT INTO docs (mount, kind, id, name, body, blob, created, updated)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    /* Replaces everything but the creation time. A name held by another
     * document still fails on the UNIQUE constraint (not on the id). */
    [SQL_DOC_UPSERT] = "INSERT INTO docs (mount, kind, id, name, body, blob, created, updated)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
                       " ON CONFLICT (mount, kind, id) DO UPDATE SET name = excluded.name,"
                       " body = excluded.body, blob = excluded.blob, updated = excluded.updated",
    [SQL_DOC_UPDATE] = "UPDATE docs SET name = ?4, body = ?5, blob = ?6, updated = ?7"
                       " WHERE mount = ?1 AND kind = ?2 AND id = ?3",
    [SQL_DOC_DELETE] = "DELETE FROM docs WHERE mount = ?1 AND kind = ?2 AND id = ?3",
    [SQL_DOC_GET_ID] = "SELECT id, name, body, blob, created, updated FROM docs"
                       " WHERE mount = ?1 AND kind = ?2 AND id = ?3",
    [SQL_DOC_GET_NAME] = "SELECT id, name, body, blob, created, updated FROM docs"
                         " WHERE mount = ?1 AND kind = ?2 AND name = ?3",
    /* ?3 '' lists from the start (ids are never empty); ?4 -1: no limit. A
     * plain range keeps this an index seek however deep the page is. */
    [SQL_DOC_LIST] = "SELECT id, name, body, blob, created, updated FROM docs"
                     " WHERE mount = ?1 AND kind = ?2 AND id > ?3"
                     " ORDER BY id LIMIT ?4",

    [SQL_INTENT_INSERT] = "INSERT INTO intents (mount, serial, serial_len, issuer_id, role,"
                          " request_digest, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Columns 7 and 8: the revocation of an intent without a certificate
     * (migration 3), NULL when there is none. */
    [SQL_INTENT_GET] = "SELECT i.serial, i.serial_len, i.issuer_id, i.role, i.request_digest, i.created,"
                       " EXISTS (SELECT 1 FROM certs c WHERE c.mount = i.mount AND c.serial = i.serial),"
                       " r.revoked_at, r.revocation_reason"
                       " FROM intents i LEFT JOIN intent_revocations r ON r.mount = i.mount AND r.serial = i.serial"
                       " WHERE i.mount = ?1 AND i.serial = ?2",
    [SQL_INTENT_LIST] = "SELECT i.serial, i.serial_len, i.issuer_id, i.role, i.request_digest, i.created,"
                        " EXISTS (SELECT 1 FROM certs c WHERE c.mount = i.mount AND c.serial = i.serial),"
                        " r.revoked_at, r.revocation_reason"
                        " FROM intents i LEFT JOIN intent_revocations r ON r.mount = i.mount AND r.serial = i.serial"
                        " WHERE i.mount = ?1 ORDER BY i.serial",
    [SQL_INTENT_LIST_ORPHANS] = "SELECT i.serial, i.serial_len, i.issuer_id, i.role, i.request_digest,"
                                " i.created, 0, r.revoked_at, r.revocation_reason"
                                " FROM intents i LEFT JOIN intent_revocations r"
                                " ON r.mount = i.mount AND r.serial = i.serial WHERE i.mount = ?1 AND NOT EXISTS"
                                " (SELECT 1 FROM certs c WHERE c.mount = i.mount AND c.serial = i.serial)"
                                " ORDER BY i.serial",

    [SQL_CERT_INSERT] = "INSERT INTO certs (mount, serial, serial_len, issuer_id, role, der,"
                        " not_before, not_after, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQL_CERT_EXISTS] = "SELECT 1 FROM certs WHERE mount = ?1 AND serial = ?2",
    [SQL_CERT_GET] = "SELECT serial, serial_len, issuer_id, role, der, not_before, not_after, created,"
                     " revoked_at, revocation_reason FROM certs WHERE mount = ?1 AND serial = ?2",
    /* ?2 x'' lists from the start (every key is 20 octets, so greater);
     * ?3 -1: no limit. */
    [SQL_CERT_LIST] = "SELECT serial, serial_len, issuer_id, role, der, not_before, not_after, created,"
                      " revoked_at, revocation_reason FROM certs"
                      " WHERE mount = ?1 AND serial > ?2 ORDER BY serial LIMIT ?3",

    /* Only a row not yet revoked changes: a second revocation keeps the
     * first time, reason and sequence (the caller reads them back). */
    [SQL_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?3, revocation_reason = ?4, revocation_seq = ?5"
                        " WHERE mount = ?1 AND serial = ?2 AND revoked_at IS NULL",
    [SQL_REVSEQ_NEXT] = "INSERT INTO revocation_counters (mount, last_seq) VALUES (?1, 1)"
                        " ON CONFLICT (mount) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
    [SQL_REVSEQ_GET] = "SELECT last_seq FROM revocation_counters WHERE mount = ?1",
    /* The partial indexes certs_revoked_serial / certs_revoked_issuer /
     * certs_revocation_seq (migration 2) serve these three: each query
     * repeats the index's condition so the planner may use it.
     *
     * Each also takes the revoked intents of migration 3 (column 7 = 1):
     * a compound SELECT with ORDER BY is run by SQLite as a merge of the
     * two ordered index walks (intent_revocations_issuer / _seq), so the
     * rows still stream in order without a sort of the whole result. */
    [SQL_REVOKED_LIST] = "SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason, revocation_seq, 0"
                         " FROM certs WHERE mount = ?1 AND revoked_at IS NOT NULL AND serial > ?2"
                         " UNION ALL SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason,"
                         " revocation_seq, 1 FROM intent_revocations WHERE mount = ?1 AND serial > ?2"
                         " ORDER BY 1 LIMIT ?3",
    [SQL_REVOKED_LIST_ISSUER] = "SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason,"
                                " revocation_seq, 0 FROM certs WHERE mount = ?1 AND issuer_id = ?4"
                                " AND revoked_at IS NOT NULL AND serial > ?2"
                                " UNION ALL SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason,"
                                " revocation_seq, 1 FROM intent_revocations WHERE mount = ?1 AND issuer_id = ?4"
                                " AND serial > ?2 ORDER BY 1 LIMIT ?3",
    [SQL_REVOKED_SINCE] = "SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason, revocation_seq, 0"
                          " FROM certs WHERE mount = ?1 AND issuer_id = ?4 AND revocation_seq IS NOT NULL"
                          " AND revocation_seq > ?5 AND revocation_seq <= ?6"
                          " UNION ALL SELECT serial, serial_len, issuer_id, revoked_at, revocation_reason,"
                          " revocation_seq, 1 FROM intent_revocations WHERE mount = ?1 AND issuer_id = ?4"
                          " AND revocation_seq > ?5 AND revocation_seq <= ?6 ORDER BY 6 LIMIT ?3",

    /* Tidy (tidy.c). Expired rows in (not_after, serial) order after
     * (?5, ?2), at most ?3. The index certs_not_after (migration 4) holds
     * exactly that order, so a batch seeks to its first row and reads only
     * expired ones: its cost does not grow with the valid certificates
     * (walking the primary key instead read every row of the mount). */
    [SQL_TIDY_EXPIRED] = "SELECT serial, serial_len, issuer_id, not_after, revoked_at FROM certs"
                         " WHERE mount = ?1 AND not_after < ?4 AND (not_after, serial) > (?5, ?2)"
                         " ORDER BY not_after, serial LIMIT ?3",
    [SQL_TIDY_CERT_COUNT] = "SELECT count(*) FROM certs WHERE mount = ?1",
    /* The conditions are repeated at delete time: a certificate revoked
     * between tidy's listing and this delete is not a plain expired one
     * any more and must stay for tidy_revoked_certs to judge. */
    [SQL_TIDY_CERT_DELETE] = "DELETE FROM certs WHERE mount = ?1 AND serial = ?2 AND not_after < ?3"
                             " AND (revoked_at IS NOT NULL) = ?4",
    [SQL_TIDY_INTENT_DELETE] = "DELETE FROM intents WHERE mount = ?1 AND serial = ?2",
    /* Rare (tidy_expired_issuers, per expired issuer): a scan is fine. */
    [SQL_TIDY_ISSUER_UNEXPIRED] = "SELECT 1 FROM certs WHERE mount = ?1 AND issuer_id = ?2 AND not_after >= ?3"
                                  " LIMIT 1",
    /* Counts for maintain_stored_certificate_counts: the first walks the
     * index certs_not_after, the second the partial index of revoked rows
     * (certs_revoked_serial); neither reads a certificate. */
    [SQL_TIDY_REVOKED_COUNT] = "SELECT count(*) FROM certs WHERE mount = ?1 AND revoked_at IS NOT NULL",
    /* tidy_revoked_cert_issuer_associations: revoked rows whose issuer
     * document is gone, in serial order after ?2, at most ?3. */
    [SQL_TIDY_REVOKED_ORPHANS] = "SELECT c.serial, c.serial_len, c.issuer_id, c.not_after, c.revoked_at"
                                 " FROM certs c WHERE c.mount = ?1 AND c.revoked_at IS NOT NULL AND c.serial > ?2"
                                 " AND NOT EXISTS (SELECT 1 FROM docs d WHERE d.mount = c.mount"
                                 " AND d.kind = 'issuer' AND d.id = c.issuer_id) ORDER BY c.serial LIMIT ?3",
    /* Only while the row still names the issuer tidy found missing. */
    [SQL_TIDY_REASSOCIATE] = "UPDATE certs SET issuer_id = ?3 WHERE mount = ?1 AND serial = ?2 AND issuer_id = ?4",

    /* The same, leaving out one serial: an issuer's own certificate (a
     * root's is stored with its own issuer_id) does not need its CRLs. */
    [SQL_ISSUER_UNEXPIRED_EXCEPT] = "SELECT 1 FROM certs WHERE mount = ?1 AND issuer_id = ?2 AND not_after >= ?3"
                                    " AND serial <> ?4 LIMIT 1",

    [SQL_INTEGRITY_CHECK] = "PRAGMA integrity_check",
    [SQL_FOREIGN_KEY_CHECK] = "PRAGMA foreign_key_check",
    /* Migration 3: revoked intents go before their intents. */
    [SQL_MOUNT_DELETE_INTENT_REVOCATIONS] = "DELETE FROM intent_revocations WHERE mount = ?1",
    /* The issuer comes from the intent; the caller checked the intent has
     * no certificate and no revocation yet (the trigger and primary key
     * hold the line anyway). */
    [SQL_INTENT_REVOKE] = "INSERT INTO intent_revocations (mount, serial, serial_len, issuer_id, revoked_at,"
                          " revocation_reason, revocation_seq) SELECT mount, serial, serial_len, issuer_id,"
                          " ?3, ?4, ?5 FROM intents WHERE mount = ?1 AND serial = ?2",
};

const char *store_sql_text(store_sql id)
{
    if ((unsigned)id >= SQL_COUNT)
        return NULL;
    return sql_text[id];
}
