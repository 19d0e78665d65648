/* SPDX-License-Identifier: Apache-2.0 */
/* Write batches: validating and copying each operation as it is added, and
 * handing the batch to the group-commit writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

struct hsmca_store_batch {
    hsmca_store *st;
    store_op *ops;
    size_t n, cap;
    size_t bytes; /* copied payload, bounded by STORE_BATCH_BYTES_MAX */
    /* The first add that failed, reported by commit: adding returns nothing
     * (store.h), and a batch with one bad operation must not touch the
     * database at all. */
    hsmca_rv rv;
    char detail[STORE_DETAIL_MAX];
};

/* Copies into one allocation per operation; sizes were computed first. */
typedef struct {
    unsigned char *p;
    size_t left;
} arena;

static const char *arena_str(arena *a, const char *s)
{
    size_t n;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1; /* bounded: validated before */
    if (n > a->left)
        return NULL;
    memcpy(a->p, s, n);
    a->p += n;
    a->left -= n;
    return (const char *)(a->p - n);
}

static const unsigned char *arena_bytes(arena *a, const unsigned char *d, size_t n)
{
    if (d == NULL || n == 0 || n > a->left)
        return NULL;
    memcpy(a->p, d, n);
    a->p += n;
    a->left -= n;
    return a->p - n;
}

static size_t str_size(const char *s)
{
    return s == NULL ? 0 : strlen(s) + 1;
}

void store_op_clear(store_op *op)
{
    if (op == NULL)
        return;
    free(op->mem);
    memset(op, 0, sizeof(*op));
}

static void batch_reset(hsmca_store_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        store_op_clear(&b->ops[i]);
    free(b->ops);
    b->ops = NULL;
    b->n = b->cap = 0;
    b->bytes = 0;
    b->rv = HSMCA_OK;
    b->detail[0] = '\0';
}

/* Records the calling thread's current error as the batch's first failure. */
static void batch_fail(hsmca_store_batch *b, hsmca_rv rv)
{
    if (b->rv != HSMCA_OK)
        return;
    b->rv = rv;
    snprintf(b->detail, sizeof(b->detail), "%s", hsmca_err_message());
}

/* Reserves the next operation with size bytes of copy space, or NULL after
 * recording why not. */
static store_op *batch_push(hsmca_store_batch *b, store_op_type type, size_t size, arena *a)
{
    store_op *op;

    if (b->n >= STORE_BATCH_OPS_MAX) {
        batch_fail(b, hsmca_err(HSMCA_ERR_INVALID_ARG, "batch: more than %u operations",
                                (unsigned)STORE_BATCH_OPS_MAX));
        return NULL;
    }
    if (size > STORE_BATCH_BYTES_MAX - b->bytes) {
        batch_fail(b, hsmca_err(HSMCA_ERR_INVALID_ARG, "batch: more than %u bytes of data",
                                (unsigned)STORE_BATCH_BYTES_MAX));
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        store_op *grown;

        if (cap > STORE_BATCH_OPS_MAX)
            cap = STORE_BATCH_OPS_MAX;
        grown = realloc(b->ops, cap * sizeof(*grown));
        if (grown == NULL) {
            batch_fail(b, hsmca_err(HSMCA_ERR_NOMEM, "batch: out of memory adding operation %zu", b->n + 1));
            return NULL;
        }
        b->ops = grown;
        b->cap = cap;
    }
    op = &b->ops[b->n];
    memset(op, 0, sizeof(*op));
    op->type = type;
    op->mem = malloc(size ? size : 1);
    if (op->mem == NULL) {
        batch_fail(b, hsmca_err(HSMCA_ERR_NOMEM, "batch: out of memory copying operation %zu", b->n + 1));
        return NULL;
    }
    a->p = op->mem;
    a->left = size;
    b->bytes += size;
    b->n++;
    return op;
}

hsmca_store_batch *hsmca_store_batch_new(hsmca_store *st)
{
    hsmca_store_batch *b;

    hsmca_return_val_if_fail(st != NULL, NULL);
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->st = st;
    return b;
}

void hsmca_store_batch_free(hsmca_store_batch *b)
{
    if (b == NULL)
        return;
    batch_reset(b);
    free(b);
}

void hsmca_store_batch_doc_put(hsmca_store_batch *b, hsmca_put_mode mode, const char *mount,
                               const char *kind, const char *id, const char *name,
                               const char *body_json, const unsigned char *blob, size_t blob_len)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if (name != NULL && name[0] == '\0')
        name = NULL; /* "" and NULL both mean "no name" (store.h) */
    if (mode != HSMCA_PUT_CREATE && mode != HSMCA_PUT_UPSERT && mode != HSMCA_PUT_UPDATE) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "doc put: mode %d is not CREATE, UPSERT or UPDATE", (int)mode);
        goto done;
    }
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("kind", kind, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("id", id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (name != NULL && (rv = store_check_name("name", name, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK) ||
        (rv = store_check_json("body", body_json, false)) != HSMCA_OK)
        goto done;
    if (blob == NULL && blob_len > 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "blob: NULL with blob_len %zu", blob_len);
        goto done;
    }
    if (blob_len > STORE_DOC_BLOB_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "blob: %zu bytes is more than the maximum of %u", blob_len,
                       (unsigned)STORE_DOC_BLOB_MAX);
        goto done;
    }
    op = batch_push(b, OP_DOC_PUT,
                    str_size(mount) + str_size(kind) + str_size(id) + str_size(name) + str_size(body_json) +
                        blob_len,
                    &a);
    if (op == NULL)
        return; /* batch_push recorded why */
    op->mode = mode;
    op->mount = arena_str(&a, mount);
    op->kind = arena_str(&a, kind);
    op->id = arena_str(&a, id);
    op->name = arena_str(&a, name);
    op->body = arena_str(&a, body_json);
    op->blob = arena_bytes(&a, blob, blob_len);
    op->blob_len = op->blob ? blob_len : 0;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void hsmca_store_batch_doc_delete(hsmca_store_batch *b, const char *mount, const char *kind, const char *id)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("kind", kind, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("id", id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK)
        goto done;
    op = batch_push(b, OP_DOC_DELETE, str_size(mount) + str_size(kind) + str_size(id), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    op->kind = arena_str(&a, kind);
    op->id = arena_str(&a, id);
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

/* The fields intents and certificates share. Role may be empty: OpenBao's
 * sign-verbatim and root generation issue without a role. */
static hsmca_rv check_serial_op(const char *mount, const unsigned char *serial, size_t serial_len,
                                const char *issuer_id, const char *role)
{
    hsmca_rv rv;

    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("serial", serial, serial_len)) != HSMCA_OK ||
        (rv = store_check_name("issuer_id", issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("role", role, HSMCA_STORE_ID_MAX, true)) != HSMCA_OK)
        return rv;
    return HSMCA_OK;
}

void hsmca_store_batch_intent(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                              size_t serial_len, const char *issuer_id, const char *role,
                              const unsigned char digest[32])
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    rv = check_serial_op(mount, serial, serial_len, issuer_id, role);
    if (rv != HSMCA_OK)
        goto done;
    if (digest == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "request_digest: missing (NULL)");
        goto done;
    }
    op = batch_push(b, OP_INTENT, str_size(mount) + str_size(issuer_id) + str_size(role), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    memcpy(op->serial, serial, serial_len);
    op->serial_len = serial_len;
    op->issuer_id = arena_str(&a, issuer_id);
    op->role = arena_str(&a, role);
    memcpy(op->digest, digest, sizeof(op->digest));
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void hsmca_store_batch_cert(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                            size_t serial_len, const char *issuer_id, const char *role,
                            const unsigned char *der, size_t der_len, int64_t not_before,
                            int64_t not_after)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    rv = check_serial_op(mount, serial, serial_len, issuer_id, role);
    if (rv != HSMCA_OK)
        goto done;
    if (der == NULL || der_len == 0 || der_len > STORE_BLOB_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "der: %zu bytes is outside 1..%u", der == NULL ? 0 : der_len,
                       (unsigned)STORE_BLOB_MAX);
        goto done;
    }
    if (not_after < not_before) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "not_after %lld is before not_before %lld", (long long)not_after,
                       (long long)not_before);
        goto done;
    }
    op = batch_push(b, OP_CERT, str_size(mount) + str_size(issuer_id) + str_size(role) + der_len, &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    memcpy(op->serial, serial, serial_len);
    op->serial_len = serial_len;
    op->issuer_id = arena_str(&a, issuer_id);
    op->role = arena_str(&a, role);
    op->blob = arena_bytes(&a, der, der_len);
    op->blob_len = der_len;
    op->not_before = not_before;
    op->not_after = not_after;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

/* OP_REVOKE and OP_REVOKE_INTENT take the same checks and fields. */
static void batch_revoke(hsmca_store_batch *b, store_op_type type, const char *mount, const unsigned char *serial,
                         size_t serial_len, int64_t revoked_at, int reason)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("serial", serial, serial_len)) != HSMCA_OK)
        goto done;
    /* 0 is the schema's "not revoked": a revocation needs a real time. */
    if (revoked_at <= 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "revoked_at %lld is not a time after 1970", (long long)revoked_at);
        goto done;
    }
    /* RFC 5280 5.3.1 CRLReason: 0..10, 7 unused. */
    if (reason < 0 || reason > 10 || reason == 7) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "revocation_reason %d is not an RFC 5280 CRLReason", reason);
        goto done;
    }
    op = batch_push(b, type, str_size(mount), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    memcpy(op->serial, serial, serial_len);
    op->serial_len = serial_len;
    op->revoked_at = revoked_at;
    op->reason = reason;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void hsmca_store_batch_revoke(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                              size_t serial_len, int64_t revoked_at, int reason)
{
    batch_revoke(b, OP_REVOKE, mount, serial, serial_len, revoked_at, reason);
}

void hsmca_store_batch_revoke_intent(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                     size_t serial_len, int64_t revoked_at, int reason)
{
    batch_revoke(b, OP_REVOKE_INTENT, mount, serial, serial_len, revoked_at, reason);
}

void hsmca_store_batch_cert_expunge(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                    size_t serial_len, int64_t expired_before, bool revoked)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("serial", serial, serial_len)) != HSMCA_OK)
        goto done;
    op = batch_push(b, OP_CERT_EXPUNGE, str_size(mount), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    memcpy(op->serial, serial, serial_len);
    op->serial_len = serial_len;
    op->expired_before = expired_before;
    op->revoked = revoked;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void hsmca_store_batch_cert_reassociate(hsmca_store_batch *b, const char *mount, const unsigned char *serial,
                                        size_t serial_len, const char *from_issuer_id, const char *to_issuer_id)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if ((rv = store_check_name("mount", mount, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_serial("serial", serial, serial_len)) != HSMCA_OK ||
        (rv = store_check_name("from_issuer_id", from_issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("issuer_id", to_issuer_id, HSMCA_STORE_ID_MAX, false)) != HSMCA_OK)
        goto done;
    op = batch_push(b, OP_CERT_REASSOCIATE, str_size(mount) + str_size(from_issuer_id) + str_size(to_issuer_id),
                    &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, mount);
    op->from_issuer_id = arena_str(&a, from_issuer_id);
    op->issuer_id = arena_str(&a, to_issuer_id);
    memcpy(op->serial, serial, serial_len);
    op->serial_len = serial_len;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void store_batch_mount_create(hsmca_store_batch *b, const char *name, const char *type,
                              const char *options_json)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    if ((rv = store_check_name("mount", name, HSMCA_STORE_MOUNT_MAX, false)) != HSMCA_OK ||
        (rv = store_check_name("type", type, STORE_TYPE_MAX, false)) != HSMCA_OK ||
        (options_json != NULL && (rv = store_check_json("options", options_json, true)) != HSMCA_OK))
        goto done;
    op = batch_push(b, OP_MOUNT_CREATE, str_size(name) + str_size(type) + str_size(options_json), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, name);
    op->type_name = arena_str(&a, type);
    op->body = arena_str(&a, options_json);
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

void store_batch_mount_delete(hsmca_store_batch *b, const char *name)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    store_op *op;
    arena a;

    if (b == NULL || b->rv != HSMCA_OK)
        return;
    rv = store_check_name("mount", name, HSMCA_STORE_MOUNT_MAX, false);
    if (rv != HSMCA_OK)
        goto done;
    op = batch_push(b, OP_MOUNT_DELETE, str_size(name), &a);
    if (op == NULL)
        return;
    op->mount = arena_str(&a, name);
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        batch_fail(b, rv);
}

hsmca_rv hsmca_store_batch_submit(hsmca_store_batch *b, hsmca_store_ticket **ticket)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    store_req *req = NULL;

    if (ticket == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "batch: no ticket to hand the submitted batch to");
        goto done;
    }
    *ticket = NULL;
    if (b == NULL) {
        /* hsmca_store_batch_new failed; store.h promises the report here. */
        rv = hsmca_err(HSMCA_ERR_NOMEM, "batch: out of memory creating the batch");
        goto done;
    }
    if (b->rv != HSMCA_OK) {
        rv = hsmca_err(b->rv, "%s", b->detail);
        goto done;
    }
    req = calloc(1, sizeof(*req));
    if (req == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "batch: out of memory queueing %zu operations", b->n);
        goto done;
    }
    /* The request adopts the operations: if the caller times out while the
     * writer is applying them, the writer still owns valid memory. An empty
     * batch is queued too (an empty savepoint): its ticket then reports
     * when everything submitted before it is committed. */
    req->ops = b->ops;
    req->n_ops = b->n;
    b->ops = NULL;
    b->n = b->cap = 0;
    rv = store_writer_enqueue(b->st, req);
    if (rv == HSMCA_OK)
        *ticket = req;
    req = NULL; /* queued, or freed by the writer on failure */
done:
    free(req);
    if (b != NULL)
        batch_reset(b); /* empty again: ready to be freed or reused */
    return rv;
}

hsmca_rv hsmca_store_batch_wait(hsmca_store_ticket *ticket)
{
    if (ticket == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "batch: waiting for no ticket");
    return store_writer_wait(ticket);
}

hsmca_rv hsmca_store_batch_commit(hsmca_store_batch *b)
{
    hsmca_store_ticket *ticket = NULL;
    hsmca_rv rv;

    /* Nothing to write: no trip to the writer (as before submit existed). */
    if (b != NULL && b->rv == HSMCA_OK && b->n == 0)
        return HSMCA_OK;
    rv = hsmca_store_batch_submit(b, &ticket);
    if (rv != HSMCA_OK)
        return rv;
    return hsmca_store_batch_wait(ticket);
}
