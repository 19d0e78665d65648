/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of src/store: connections and their statement cache,
 * the reader pool, batch operations, the group-commit writer and the
 * per-concept apply/read helpers of the SQLite backend. */
#ifndef HSMCA_STORE_INTERNAL_H
#define HSMCA_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include "hsmca/store.h"

/* ---- limits beyond those of store.h (CONVENTIONS: bounded everything) ---- */

#define STORE_TYPE_MAX 31                /* bytes in a mount type: char type[32] */
#define STORE_TEXT_MAX (1u << 20)        /* bytes of a JSON body or mount options */
#define STORE_BLOB_MAX (1u << 20)        /* bytes of a DER certificate */
/* Bytes of a document payload: a signed CRL is one, and a complete CRL of a
 * million entries is about 40 MiB. Within STORE_BATCH_BYTES_MAX. */
#define STORE_DOC_BLOB_MAX (48u << 20)
#define STORE_BATCH_OPS_MAX 4096u        /* operations in one batch */
#define STORE_BATCH_BYTES_MAX (64u << 20) /* copied bytes held by one batch */
#define STORE_READERS_MAX 64u            /* read connections in the pool */
#define STORE_GROUP_MAX 4096u            /* batches in one transaction */
#define STORE_DETAIL_MAX 512             /* bytes of an error detail (src/util/rv.c) */
#define STORE_SERIAL_HEX_MAX (3 * HSMCA_STORE_SERIAL_MAX) /* "01:ab:..." + NUL */

/* ---- statements (statements.c): every SQL statement of the project is one
 * entry of this table, apart from schema.c's migration scripts and their
 * bookkeeping and conn.c's connection pragmas. ---- */

typedef enum {
    SQL_BEGIN_IMMEDIATE,
    SQL_BEGIN_READ,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_SAVEPOINT,
    SQL_RELEASE,
    SQL_ROLLBACK_TO,
    SQL_MOUNT_INSERT,
    SQL_MOUNT_DELETE_CERTS,
    SQL_MOUNT_DELETE_INTENTS,
    SQL_MOUNT_DELETE_DOCS,
    SQL_MOUNT_DELETE_REVSEQ,
    SQL_MOUNT_DELETE,
    SQL_MOUNT_EXISTS,
    SQL_MOUNT_GET,
    SQL_MOUNT_LIST,
    SQL_DOC_INSERT,
    SQL_DOC_UPSERT,
    SQL_DOC_UPDATE,
    SQL_DOC_DELETE,
    SQL_DOC_GET_ID,
    SQL_DOC_GET_NAME,
    SQL_DOC_LIST,
    SQL_INTENT_INSERT,
    SQL_INTENT_GET,
    SQL_INTENT_LIST,
    SQL_INTENT_LIST_ORPHANS,
    SQL_CERT_INSERT,
    SQL_CERT_EXISTS,
    SQL_CERT_GET,
    SQL_CERT_LIST,
    SQL_CERT_REVOKE,
    SQL_REVSEQ_NEXT,
    SQL_REVSEQ_GET,
    SQL_REVOKED_LIST,
    SQL_REVOKED_LIST_ISSUER,
    SQL_REVOKED_SINCE,
    SQL_TIDY_EXPIRED,
    SQL_TIDY_CERT_COUNT,
    SQL_TIDY_CERT_DELETE,
    SQL_TIDY_INTENT_DELETE,
    SQL_TIDY_ISSUER_UNEXPIRED,
    SQL_TIDY_REVOKED_COUNT,
    SQL_TIDY_REVOKED_ORPHANS,
    SQL_TIDY_REASSOCIATE,
    SQL_ISSUER_UNEXPIRED_EXCEPT,
    SQL_INTEGRITY_CHECK,
    SQL_FOREIGN_KEY_CHECK,
    SQL_MOUNT_DELETE_INTENT_REVOCATIONS,
    SQL_INTENT_REVOKE,
    SQL_COUNT
} store_sql;

const char *store_sql_text(store_sql id);

/* ---- connections (conn.c) ---- */

/* One SQLite connection and its prepared statements. Used by one thread at a
 * time (the writer thread, or the reader that borrowed it from the pool), so
 * it is opened without SQLite's own mutex. */
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQL_COUNT]; /* prepared on first use, kept until close */
    bool pooled;                   /* a reader-pool connection (readers.c) */
} store_conn;

typedef enum { STORE_CONN_WRITER, STORE_CONN_READER } store_conn_role;

/* Opens path (which must exist) with the pragmas of its role: WAL,
 * synchronous=FULL, foreign_keys=ON, busy_timeout=busy_ms, and query_only on
 * readers. */
hsmca_rv store_conn_open(const char *path, store_conn_role role, unsigned busy_ms, store_conn **out);
void store_conn_close(store_conn *c);
/* The cached statement id, ready to bind. Hand it back with store_stmt_done()
 * so a reader does not keep its read transaction (and WAL snapshot) open. */
hsmca_rv store_stmt(store_conn *c, store_sql id, sqlite3_stmt **out);
void store_stmt_done(sqlite3_stmt *s);
/* Runs a statement that returns no rows (BEGIN, SAVEPOINT, ...). */
hsmca_rv store_exec(store_conn *c, store_sql id);
/* Maps a failed SQLite call (result code src on c) to an hsmca_rv and records
 * "<what>: <sqlite3_errmsg>" as the detail. Constraint violations that have a
 * domain meaning are translated by the callers before they get here. */
hsmca_rv store_sqlite_fail(store_conn *c, int src, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Binds text that may be NULL. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Malloc'd copy of column col (text), or NULL for SQL NULL; *nomem on failure. */
char *store_column_strdup(sqlite3_stmt *s, int col, bool *nomem);
/* Copies column col (text) into a fixed buffer of size cap, truncating. */
void store_column_copy(sqlite3_stmt *s, int col, char *buf, size_t cap);

/* ---- serial numbers (serial.c) ---- */

/* Storage form of a serial: the unsigned big-endian value left-padded with
 * zero octets to HSMCA_STORE_SERIAL_MAX, so memcmp order (SQLite's BLOB
 * order) is numeric order and 00:8f and 8f are the same serial. The caller's
 * octet count is stored beside it (serial_len) to give back the same octets. */
void store_serial_key(const unsigned char *serial, size_t len, unsigned char key[HSMCA_STORE_SERIAL_MAX]);
/* The caller's octets back from a stored key and length. */
void store_serial_unkey(const unsigned char *key, size_t key_len, size_t serial_len,
                        unsigned char out[HSMCA_STORE_SERIAL_MAX]);
/* "01:ab:ff" for error details. */
void store_serial_hex(const unsigned char *serial, size_t len, char out[STORE_SERIAL_HEX_MAX]);

/* ---- input validation (check.c): every rule the boundary enforces ---- */

/* A short name-like string: not NULL, 1..max bytes (0..max when
 * allow_empty), no control characters. field names it in the detail. */
hsmca_rv store_check_name(const char *field, const char *value, size_t max, bool allow_empty);
/* JSON text of at most STORE_TEXT_MAX bytes that jansson parses (duplicate
 * keys refused); an object when object_only. */
hsmca_rv store_check_json(const char *field, const char *text, bool object_only);
hsmca_rv store_check_serial(const char *field, const unsigned char *serial, size_t len);
/* A printable, bounded rendering of value for error details. */
const char *store_quote(const char *value, char *buf, size_t cap);

/* ---- batch operations (batch.c) ---- */

typedef enum {
    OP_MOUNT_CREATE,
    OP_MOUNT_DELETE,
    OP_DOC_PUT,
    OP_DOC_DELETE,
    OP_INTENT,
    OP_CERT,
    OP_REVOKE,
    OP_CERT_EXPUNGE,
    OP_REVOKE_INTENT,
    OP_CERT_REASSOCIATE
} store_op_type;

/* One write. Every pointer points into mem, one allocation per operation that
 * holds the copies the batch made of the caller's data. */
typedef struct {
    store_op_type type;
    hsmca_put_mode mode;
    const char *mount;
    const char *type_name;           /* OP_MOUNT_CREATE */
    const char *kind, *id;           /* documents */
    const char *name;                /* NULL when the document has no name */
    const char *body;                /* document JSON, or mount options (may be NULL) */
    const unsigned char *blob;       /* document payload or certificate DER; may be NULL */
    size_t blob_len;
    unsigned char serial[HSMCA_STORE_SERIAL_MAX]; /* as given, serial_len octets */
    size_t serial_len;
    const char *issuer_id, *role;
    unsigned char digest[32];
    int64_t not_before, not_after;
    int64_t revoked_at;              /* OP_REVOKE, OP_REVOKE_INTENT */
    int reason;                      /* OP_REVOKE, OP_REVOKE_INTENT */
    int64_t expired_before;          /* OP_CERT_EXPUNGE: only if not_after < this */
    bool revoked;                    /* OP_CERT_EXPUNGE: which kind of row may go */
    const char *from_issuer_id;      /* OP_CERT_REASSOCIATE: only if the row still names it */
    void *mem;
} store_op;

void store_op_clear(store_op *op);
/* Mount writes travel as batch operations too, so they are ordered and
 * grouped with everything else the writer does. */
void store_batch_mount_create(hsmca_store_batch *b, const char *name, const char *type,
                              const char *options_json);
void store_batch_mount_delete(hsmca_store_batch *b, const char *name);

/* A committed batch travels to the writer as a request. Its state is under
 * hsmca_store.lock; see writer.c for who frees it. */
typedef enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE } store_req_state;

/* It is also the caller's ticket between hsmca_store_batch_submit and
 * hsmca_store_batch_wait (store.h). */
typedef struct hsmca_store_ticket store_req;

struct hsmca_store_ticket {
    hsmca_store *st;
    store_op *ops;
    size_t n_ops;
    store_req_state state;
    bool abandoned; /* the waiter timed out while the writer held it */
    hsmca_rv rv;
    char detail[STORE_DETAIL_MAX];
    pthread_cond_t done;
    struct timespec deadline; /* CLOCK_MONOTONIC: write_timeout_ms after the submit */
    struct hsmca_store_ticket *next;
};

/* Runs the request's operations in order on the writer connection, inside
 * the savepoint the writer opened. now is the group's timestamp. */
hsmca_rv store_req_apply(store_conn *c, const store_req *req, int64_t now);

/* ---- the store ---- */

struct hsmca_store {
    char *path;
    unsigned write_timeout_ms;
    unsigned group_max;
    int schema_version;

    /* Writer side: the connection is touched only by the writer thread once
     * it runs. lock guards the queue, stopping and stats. */
    store_conn *wconn;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer waits here for work */
    store_req *head, *tail;
    bool stopping;
    hsmca_store_stats stats;
    store_req **group; /* group_max slots, used by the writer thread only */

    /* Reader pool: idle connections under rlock. */
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    store_conn **idle;
    unsigned n_idle, n_readers;
};

/* writer.c */
hsmca_rv store_writer_start(hsmca_store *st);
void store_writer_stop(hsmca_store *st);
/* Queues req without waiting; on failure req is freed. Takes ownership of
 * req: after HSMCA_OK it belongs to the queue until store_writer_wait. */
hsmca_rv store_writer_enqueue(hsmca_store *st, store_req *req);
/* Waits for the commit of a queued req, at most until write_timeout_ms
 * after it was queued, and frees it (or leaves it to the writer). */
hsmca_rv store_writer_wait(store_req *req);

/* readers.c */
hsmca_rv store_readers_open(hsmca_store *st, unsigned n);
void store_readers_close(hsmca_store *st);
/* Borrows a read connection; nested use on one thread (a list callback that
 * reads again) gets a private connection instead of waiting for the pool. */
hsmca_rv store_reader_get(hsmca_store *st, store_conn **out);
/* Reads the one row of statement `sql` keyed by (mount, serial) on a reader
 * connection: on HSMCA_OK *stmt is positioned on the row; the caller then
 * calls store_stmt_done(*stmt) and store_reader_put(st, *conn) (also on
 * failure; both take NULL). what names the row in messages. */
hsmca_rv store_serial_row(hsmca_store *st, const char *mount, const unsigned char *serial, size_t serial_len,
                          store_sql sql, const char *what, const char *missing, store_conn **conn,
                          sqlite3_stmt **stmt);
void store_reader_put(hsmca_store *st, store_conn *c);

/* schema.c */
/* Applies pending migrations in one transaction; *version gets the result. */
hsmca_rv store_schema_migrate(store_conn *c, int *version);

/* apply helpers, one per concept (mount.c, doc.c, intent.c, cert.c) */
hsmca_rv store_mount_apply_create(store_conn *c, const store_op *op, int64_t now);
hsmca_rv store_mount_apply_delete(store_conn *c, const store_op *op);
/* HSMCA_ERR_NOT_FOUND naming the mount unless it exists. */
hsmca_rv store_mount_require(store_conn *c, const char *mount);
hsmca_rv store_doc_apply_put(store_conn *c, const store_op *op, int64_t now);
hsmca_rv store_doc_apply_delete(store_conn *c, const store_op *op);
hsmca_rv store_intent_apply(store_conn *c, const store_op *op, int64_t now);
hsmca_rv store_cert_apply(store_conn *c, const store_op *op, int64_t now);
hsmca_rv store_revoke_apply(store_conn *c, const store_op *op);
hsmca_rv store_revoke_intent_apply(store_conn *c, const store_op *op);
hsmca_rv store_expunge_apply(store_conn *c, const store_op *op);
hsmca_rv store_reassociate_apply(store_conn *c, const store_op *op);

#endif
