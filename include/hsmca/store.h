/* SPDX-License-Identifier: Apache-2.0 */
/* The store: everything hsmca persists, behind an interface narrow enough for
 * a second backend (PostgreSQL, later). The SQLite backend lives in
 * src/store/ and holds every SQL statement of the project.
 *
 * Model: mounts; per mount, JSON documents of a few kinds (roles, issuers,
 * keys, configuration) with an optional unique name and an optional binary
 * payload; serial reservations (intents); and certificates. Writes are
 * batches applied atomically; concurrent batches share one transaction and
 * one fsync (group commit). Reads never wait for the writer. */
#ifndef HSMCA_STORE_H
#define HSMCA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_store hsmca_store;
typedef struct hsmca_store_batch hsmca_store_batch;

/* Document kinds. Free-form short strings; these are the ones the CA uses. */
#define HSMCA_DOC_ROLE "role"
#define HSMCA_DOC_ISSUER "issuer"
#define HSMCA_DOC_KEY "key"
#define HSMCA_DOC_CONFIG "config" /* id = "urls", "cluster", "issuers", "keys", ... */

#define HSMCA_STORE_MOUNT_MAX 128 /* bytes in a mount name */
#define HSMCA_STORE_ID_MAX 128    /* bytes in a document id or name */
#define HSMCA_STORE_SERIAL_MAX 20 /* octets in a serial number (RFC 5280 4.1.2.2) */

typedef struct {
    /* Path of the SQLite database file; created (mode 0600) if missing. */
    const char *path;
    /* Read connections kept for reader threads; 0 = 4. */
    unsigned readers;
    /* Longest a write batch waits for its group's commit before the caller
     * gets HSMCA_ERR_TIMEOUT; 0 = 30000 ms. */
    unsigned write_timeout_ms;
    /* Most batches in one transaction; 0 = 256. */
    unsigned group_max;
} hsmca_store_config;

/* Opens (creating if needed) the database, applies pending schema migrations
 * in order inside a transaction, and starts the writer. WAL mode with
 * synchronous=FULL: a batch reported committed survives power loss. */
hsmca_rv hsmca_store_open(const hsmca_store_config *cfg, hsmca_store **out);
/* Stops the writer after the batches already submitted, closes everything. */
void hsmca_store_close(hsmca_store *st);
/* Schema version after migrations (for diagnostics and tests). */
int hsmca_store_schema_version(hsmca_store *st);
/* PRAGMA integrity_check == "ok", and PRAGMA foreign_key_check finds no
 * row (foreign keys are enforced per connection: a tool that left them off
 * could have stored a certificate without its intent). */
hsmca_rv hsmca_store_check_integrity(hsmca_store *st);

/* ---- mounts ---- */

typedef struct {
    char name[HSMCA_STORE_MOUNT_MAX + 1];
    char type[32];         /* "pki" */
    char *options_json;    /* malloc'd JSON object text, or NULL */
    int64_t created;       /* unix seconds */
} hsmca_store_mount;

/* HSMCA_ERR_EXISTS if the name is taken. */
hsmca_rv hsmca_store_mount_create(hsmca_store *st, const char *name, const char *type,
                                  const char *options_json);
/* Deletes the mount and every row that belongs to it (documents, intents,
 * certificates) in one transaction. HSMCA_ERR_NOT_FOUND if absent. */
hsmca_rv hsmca_store_mount_delete(hsmca_store *st, const char *name);
hsmca_rv hsmca_store_mount_get(hsmca_store *st, const char *name, hsmca_store_mount *out);
void hsmca_store_mount_clear(hsmca_store_mount *m);
/* Calls cb for each mount in name order; cb returns 0 to stop. */
hsmca_rv hsmca_store_mount_list(hsmca_store *st,
                                int (*cb)(const hsmca_store_mount *m, void *arg), void *arg);

/* ---- documents ---- */

typedef struct {
    char id[HSMCA_STORE_ID_MAX + 1];
    char name[HSMCA_STORE_ID_MAX + 1]; /* "" when the document has no name */
    char *body;          /* malloc'd JSON text */
    unsigned char *blob; /* malloc'd optional payload (e.g. certificate DER), or NULL */
    size_t blob_len;
    int64_t created, updated; /* unix seconds */
} hsmca_store_doc;

void hsmca_store_doc_clear(hsmca_store_doc *d);

/* Finds by id, or (when no document has that id) by unique name.
 * HSMCA_ERR_NOT_FOUND if neither matches. */
hsmca_rv hsmca_store_doc_get(hsmca_store *st, const char *mount, const char *kind,
                             const char *id_or_name, hsmca_store_doc *out);
/* Documents of a kind in id order, starting after `after` (NULL: from the
 * start), at most `limit` (0: no limit); cb returns 0 to stop. Used for LIST
 * with after/limit pagination. */
hsmca_rv hsmca_store_doc_list(hsmca_store *st, const char *mount, const char *kind,
                              const char *after, size_t limit,
                              int (*cb)(const hsmca_store_doc *d, void *arg), void *arg);

/* ---- certificates ---- */

typedef struct {
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    char issuer_id[HSMCA_STORE_ID_MAX + 1];
    char role[HSMCA_STORE_ID_MAX + 1];
    unsigned char *der; /* malloc'd */
    size_t der_len;
    int64_t not_before, not_after, created;
    int64_t revoked_at;  /* 0 = not revoked */
    int revocation_reason;
} hsmca_store_cert;

void hsmca_store_cert_clear(hsmca_store_cert *c);

/* HSMCA_ERR_NOT_FOUND if no certificate with that serial (an intent alone
 * is not a certificate). */
hsmca_rv hsmca_store_cert_get(hsmca_store *st, const char *mount, const unsigned char *serial,
                              size_t serial_len, hsmca_store_cert *out);
/* Certificates in serial order (as unsigned big-endian numbers), after the
 * given serial (NULL: from the start), at most limit (0: all). */
hsmca_rv hsmca_store_cert_list(hsmca_store *st, const char *mount, const unsigned char *after,
                               size_t after_len, size_t limit,
                               int (*cb)(const hsmca_store_cert *c, void *arg), void *arg);

/* ---- tidy ---- */

/* A certificate past its not_after, without its DER. */
typedef struct {
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    char issuer_id[HSMCA_STORE_ID_MAX + 1];
    int64_t not_after;
    int64_t revoked_at; /* 0 = not revoked */
} hsmca_store_expired;

/* Certificates with not_after < expired_before, in (not_after, serial)
 * order after the row `after` (the last row of the previous batch; NULL:
 * from the start), at most limit (1..4096): one tidy batch, served by the
 * index certs_not_after. The rows are read into the caller's array, so no
 * read transaction stays open while the caller writes. *n gets how many. */
hsmca_rv hsmca_store_expired_list(hsmca_store *st, const char *mount, int64_t expired_before,
                                  const hsmca_store_expired *after, hsmca_store_expired *rows, size_t limit,
                                  size_t *n);
/* The text of the statement hsmca_store_expired_list runs (for tests that
 * show its query plan). */
const char *hsmca_store_expired_list_sql(void);
/* Does the issuer have a stored certificate with not_after >= now? An
 * issuer tidy would remove must not (leaves it signed could outlive it). */
hsmca_rv hsmca_store_issuer_has_unexpired(hsmca_store *st, const char *mount, const char *issuer_id, int64_t now,
                                          bool *out);
/* The same, leaving out the certificate with serial `except` (the issuer's
 * own, which a self-signed root stores under its own issuer_id). */
hsmca_rv hsmca_store_issuer_has_unexpired_except(hsmca_store *st, const char *mount, const char *issuer_id,
                                                 int64_t now, const unsigned char *except, size_t except_len,
                                                 bool *out);
/* How many certificates the mount holds (tidy's "of TOTAL"). */
hsmca_rv hsmca_store_cert_count(hsmca_store *st, const char *mount, uint64_t *out);
/* How many certificates the mount holds, and how many of them are revoked,
 * read in one snapshot (maintain_stored_certificate_counts). */
hsmca_rv hsmca_store_cert_counts(hsmca_store *st, const char *mount, uint64_t *stored, uint64_t *revoked);
/* Revoked certificates whose issuer_id names no issuer document of the
 * mount (the issuer was deleted, or deleted and imported again under a new
 * id), in serial order after `after` (NULL: from the start), at most limit
 * (1..4096). */
hsmca_rv hsmca_store_revoked_orphans(hsmca_store *st, const char *mount, const unsigned char *after,
                                     size_t after_len, hsmca_store_expired *rows, size_t limit, size_t *n);

/* ---- revocations ---- */

/* One revoked certificate, without its DER: a CRL needs only these. */
typedef struct {
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    char issuer_id[HSMCA_STORE_ID_MAX + 1];
    int64_t revoked_at;
    int reason; /* RFC 5280 CRLReason */
    int64_t seq; /* the mount's revocation sequence number */
    bool intent_only; /* a revoked intent: no certificate is stored (hsmca_store_batch_revoke_intent) */
} hsmca_store_revoked;

typedef struct {
    const char *issuer_id;      /* NULL: every issuer of the mount */
    const unsigned char *after; /* serial order: start after this serial (NULL: from the start) */
    size_t after_len;
    size_t limit;               /* 0: no limit */
    /* since_seq >= 0 (with issuer_id): only revocations with a sequence
     * number above since_seq and at most the snapshot's counter, in
     * sequence order (a delta CRL); after is then ignored. -1: all, in
     * serial order. */
    int64_t since_seq;
} hsmca_store_revoked_query;

/* Streams revoked certificates, and revoked intents without a certificate
 * (intent_only), merged in serial (or sequence) order, one row at a time (memory does not grow with
 * their number); cb returns 0 to stop. *seq_now (may be NULL) gets the
 * mount's revocation counter in the same snapshot: every revocation with a
 * higher number was not seen. */
hsmca_rv hsmca_store_revoked_list(hsmca_store *st, const char *mount, const hsmca_store_revoked_query *q,
                                  int64_t *seq_now, int (*cb)(const hsmca_store_revoked *r, void *arg),
                                  void *arg);

typedef struct {
    unsigned char serial[HSMCA_STORE_SERIAL_MAX];
    size_t serial_len;
    char issuer_id[HSMCA_STORE_ID_MAX + 1];
    char role[HSMCA_STORE_ID_MAX + 1];
    unsigned char request_digest[32]; /* SHA-256 of the request */
    int64_t created;
    bool has_certificate; /* a certificate row with this serial exists */
    int64_t revoked_at;   /* > 0: revoked without a certificate (hsmca_store_batch_revoke_intent) */
    int revocation_reason;
} hsmca_store_intent;

hsmca_rv hsmca_store_intent_get(hsmca_store *st, const char *mount, const unsigned char *serial,
                                size_t serial_len, hsmca_store_intent *out);
/* Intents in serial order; only those without a certificate when
 * orphans_only (what an operator looks at after failed issuances). */
hsmca_rv hsmca_store_intent_list(hsmca_store *st, const char *mount, bool orphans_only,
                                 int (*cb)(const hsmca_store_intent *i, void *arg), void *arg);

/* ---- writes: batches ---- */

typedef enum {
    HSMCA_PUT_CREATE, /* fail with HSMCA_ERR_EXISTS if the id exists */
    HSMCA_PUT_UPSERT, /* create or replace */
    HSMCA_PUT_UPDATE  /* fail with HSMCA_ERR_NOT_FOUND if the id does not exist */
} hsmca_put_mode;

/* A batch collects writes that are applied atomically, all or none, in the
 * order they were added. Adding never fails (a failed allocation or bad
 * input is reported at commit, and then nothing of the batch is written);
 * the batch copies everything it is given. Every write names a mount that
 * must exist (HSMCA_ERR_NOT_FOUND otherwise). */
hsmca_store_batch *hsmca_store_batch_new(hsmca_store *st);
void hsmca_store_batch_free(hsmca_store_batch *b);

/* name: the document's unique name within (mount, kind), or NULL/"" for
 * none; a name held by another document fails the batch with
 * HSMCA_ERR_EXISTS. blob may be NULL. */
void hsmca_store_batch_doc_put(hsmca_store_batch *b, hsmca_put_mode mode, const char *mount,
                               const char *kind, const char *id, const char *name,
                               const char *body_json, const unsigned char *blob, size_t blob_len);
/* Missing documents are not an error (idempotent delete). */
void hsmca_store_batch_doc_delete(hsmca_store_batch *b, const char *mount, const char *kind,
                                  const char *id);
/* Reserves a serial: a duplicate (mount, serial) fails the batch with
 * HSMCA_ERR_EXISTS — uniqueness is the database's constraint, not luck. */
void hsmca_store_batch_intent(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                              size_t serial_len, const char *issuer_id, const char *role,
                              const unsigned char digest[32]);
/* Stores a certificate. Its serial must have an intent (or be reserved in
 * the same batch); a second certificate for a serial fails with
 * HSMCA_ERR_EXISTS. */
void hsmca_store_batch_cert(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                            size_t serial_len, const char *issuer_id, const char *role,
                            const unsigned char *der, size_t der_len, int64_t not_before,
                            int64_t not_after);

/* Marks a stored certificate revoked at revoked_at (unix seconds > 0) with
 * an RFC 5280 reason, and gives it the mount's next revocation sequence
 * number. A certificate that is not stored fails the batch with
 * HSMCA_ERR_NOT_FOUND, one already revoked with HSMCA_ERR_EXISTS (its first
 * revocation stays). Costs the same however many are already revoked. */
void hsmca_store_batch_revoke(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                              size_t serial_len, int64_t revoked_at, int reason);
/* Revokes a serial that has an intent but no certificate (an issuance
 * whose certificate insert failed after the token signed: the certificate
 * may exist outside the CA). Recorded with the intent's issuer, the same
 * revocation sequence as hsmca_store_batch_revoke, and listed by
 * hsmca_store_revoked_list among the certificates (intent_only set). No
 * intent fails the batch with HSMCA_ERR_NOT_FOUND; a stored certificate
 * (use hsmca_store_batch_revoke) with HSMCA_ERR_INVALID_ARG; an earlier
 * revocation with HSMCA_ERR_EXISTS. A certificate for the serial is
 * refused from then on. */
void hsmca_store_batch_revoke_intent(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                     size_t serial_len, int64_t revoked_at, int reason);

/* Tidy: deletes the certificate with this serial and its intent, but only
 * if its not_after is before expired_before and it is revoked (revoked) or
 * not revoked (!revoked); otherwise, or if it is absent, nothing happens and
 * the batch does not fail (tidy's listing may be stale by commit time). */
void hsmca_store_batch_cert_expunge(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                    size_t serial_len, int64_t expired_before, bool revoked);

/* tidy_revoked_cert_issuer_associations: the certificate's row names
 * to_issuer_id instead of from_issuer_id, but only if it still names
 * from_issuer_id (else nothing happens and the batch does not fail). */
void hsmca_store_batch_cert_reassociate(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                        size_t serial_len, const char *from_issuer_id, const char *to_issuer_id);

/* Applies the batch durably. Concurrent commits are grouped into one
 * transaction (each batch in its own savepoint, so one failing batch does
 * not fail the others) and one fsync. Returns when the group is committed;
 * on failure nothing of this batch is stored and the detail names the
 * operation that failed; the exception is HSMCA_ERR_TIMEOUT, whose detail
 * says whether the writer had already started on the batch (then it may
 * still be stored). Afterwards the batch is empty, whatever the result, and
 * may be freed or reused for new writes. */
hsmca_rv hsmca_store_batch_commit(hsmca_store_batch *b);

/* The same commit in two halves, so a caller can work while its batch
 * commits (the issuance cycle builds and lints the certificate while its
 * serial reservation is made durable; docs/performance.md, third round).
 *
 * hsmca_store_batch_submit hands the batch to the writer and returns at
 * once: on HSMCA_OK *ticket is the pending commit, and the batch is empty
 * again as after a commit. On failure (a bad operation was added, out of
 * memory, the store is closing) nothing is queued, *ticket is NULL and the
 * detail says why, as hsmca_store_batch_commit would have.
 *
 * hsmca_store_batch_wait blocks until the ticket's group is committed and
 * returns exactly what hsmca_store_batch_commit would have returned (the
 * write_timeout_ms bound runs from the submit); it frees the ticket. Until
 * it returns HSMCA_OK nothing may be assumed durable. Every ticket must be
 * waited for exactly once, before hsmca_store_close.
 *
 * Batches are applied in the order they are submitted, so one thread may
 * submit a batch that relies on its previous one (a certificate after its
 * intent) before waiting for the first; if the first fails, the second
 * fails on its own rule (e.g. the missing intent), never the other way. */
typedef struct hsmca_store_ticket hsmca_store_ticket;
hsmca_rv hsmca_store_batch_submit(hsmca_store_batch *b, hsmca_store_ticket **ticket);
hsmca_rv hsmca_store_batch_wait(hsmca_store_ticket *ticket);

/* Counters for metrics and the benchmark. */
typedef struct {
    uint64_t batches;      /* committed batches */
    uint64_t transactions; /* committed transactions (fsyncs) */
    uint64_t failed;       /* batches rolled back */
} hsmca_store_stats;
void hsmca_store_get_stats(hsmca_store *st, hsmca_store_stats *out);

#ifdef __cplusplus
}
#endif
#endif
