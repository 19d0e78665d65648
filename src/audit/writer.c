/* SPDX-License-Identifier: Apache-2.0 */
/* Writing the audit log: opening and continuing the chain, reopening for
 * rotation, one MAC + write per entry in a total order, and group sync. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

#ifndef HSMCA_VERSION
#define HSMCA_VERSION "unknown"
#endif

/* Bounds of the caller's strings (see hsmca_audit_entry). */
#define SHORT_MAX 128
#define OPERATION_MAX 32
#define MOUNT_MAX 256
#define TEXT_MAX 2048
#define POLICIES_MAX 64
/* A write(2) interrupted this often in a row is given up (and undone). */
#define EINTR_MAX 100

/* A thread waiting for its line to become durable (group sync). It sits on
 * the log's list, on the waiting thread's stack, until a sync that covers
 * its ticket tells it the result. */
typedef struct sync_waiter {
    uint64_t ticket;
    bool done;
    int err; /* 0, or the errno of the failed sync */
    struct sync_waiter *next;
} sync_waiter;

struct hsmca_audit {
    hsmca_p11_token *tok; /* a reference */
    hsmca_p11_hmac_key *key;
    char *path;
    bool sync;

    /* The chain lock: the MAC and write of one entry happen under it, so the
     * file order, the seq order and the prev links are the same total order.
     * Lock order: lock, then sync_lock. */
    pthread_mutex_t lock;
    int fd;     /* replaced only under both locks */
    off_t size; /* bytes in the file: where a torn write is cut back to */
    uint64_t seq;
    unsigned char last[AUDIT_MAC_LEN];
    bool broken; /* a torn line could not be removed: refuse until reopen */
    char broken_why[256];

    /* Group sync. Every written line gets a ticket (1, 2, ...); one thread
     * at a time runs fdatasync for every line written so far and then tells
     * all waiters up to that ticket, so one sync serves many lines. */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    uint64_t written; /* tickets handed out */
    bool syncing;
    bool sync_failed; /* fdatasync failed: refuse until reopen (fsync errors are not sticky) */
    sync_waiter *waiters;
    uint64_t n_entries, n_syncs;
    atomic_uint_fast64_t n_failures;
};

/* What opening the file found. */
typedef struct {
    int fd;
    off_t size;
    uint64_t seq;                      /* of the last line, if any */
    unsigned char last[AUDIT_MAC_LEN]; /* HMAC of the last line, if any */
} opened_file;

static hsmca_rv io_err(const char *what, const char *path, int err)
{
    return hsmca_err(HSMCA_ERR_IO, "%s audit log '%s': %s", what, path, strerror(err));
}

static hsmca_rv sync_dir(const char *path);

/* A SIGKILL or power loss in the middle of write(2) leaves part of an entry
 * at the end of the file. No entry is acknowledged before it is complete
 * and synced, so that fragment never was: it is kept in a side file for the
 * record, cut off, and the chain continues from the last complete line,
 * which read_tail then checks with the token as usual. Without this an
 * unattended restart after a crash fails (found by the kill -9 chaos
 * harness). A fragment longer than one line is no torn write: refused. */
static hsmca_rv cut_torn_tail(hsmca_audit *a, opened_file *f, const char *buf, size_t want, off_t at)
{
    const char *nl = memrchr(buf, '\n', want);
    char side[4200];
    off_t keep;
    size_t frag, off = 0;
    int fd = -1;
    hsmca_rv rv = HSMCA_ERR_IO;

    if (nl == NULL && at > 0)
        return hsmca_err(HSMCA_ERR_IO,
                         "audit log '%s' ends with an incomplete line longer than %d bytes; refusing to continue "
                         "its chain: move it aside and check it with 'hsmca audit verify'",
                         a->path, HSMCA_AUDIT_LINE_MAX);
    keep = nl != NULL ? at + (off_t)(nl - buf) + 1 : 0;
    frag = (size_t)(f->size - keep);
    if (snprintf(side, sizeof(side), "%s.torn-%lld-%ld", a->path, (long long)time(NULL), (long)getpid()) >=
        (int)sizeof(side))
        return hsmca_err(HSMCA_ERR_IO, "audit log path '%s' is too long", a->path);
    fd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return io_err("keeping the torn tail of", a->path, errno);
    /* Bounded: each turn writes at least one byte or fails. */
    while (off < frag) {
        ssize_t n = write(fd, buf + (size_t)(keep - at) + off, frag - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rv = io_err("keeping the torn tail of", a->path, n < 0 ? errno : EIO);
            goto done;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rv = io_err("syncing the torn tail of", a->path, errno);
        goto done;
    }
    if ((rv = sync_dir(side)) != HSMCA_OK)
        goto done;
    if (ftruncate(f->fd, keep) != 0 || fdatasync(f->fd) != 0) {
        rv = io_err("cutting the torn tail of", a->path, errno);
        goto done;
    }
    f->size = keep;
    hsmca_log(HSMCA_LOG_WARNING,
              "audit log '%s' ended with %zu bytes of an entry torn by a crash (never acknowledged); they are "
              "kept in '%s' and the chain continues from the last complete line",
              a->path, frag, side);
    rv = HSMCA_OK;
done:
    close(fd);
    return rv;
}

/* Reads the last line and checks it with the token's key: continuing a
 * chain whose end we cannot vouch for would bless whatever is there. */
static hsmca_rv read_tail(hsmca_audit *a, opened_file *f)
{
    size_t want = f->size > HSMCA_AUDIT_LINE_MAX ? HSMCA_AUDIT_LINE_MAX : (size_t)f->size;
    off_t at = f->size - (off_t)want;
    char *buf = malloc(want), *nl;
    size_t got = 0, start;
    audit_line_info info;
    char why[200];
    hsmca_rv rv = HSMCA_ERR_IO;

    if (buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Bounded: each turn reads at least one byte or ends. */
    while (got < want) {
        ssize_t n = pread(f->fd, buf + got, want - got, at + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rv = io_err("reading", a->path, n < 0 ? errno : EIO);
            goto done;
        }
        got += (size_t)n;
    }
    if (buf[want - 1] != '\n') {
        rv = cut_torn_tail(a, f, buf, want, at);
        free(buf);
        /* The file now ends with a complete line (or is empty). */
        return rv == HSMCA_OK && f->size > 0 ? read_tail(a, f) : rv;
    }
    nl = want > 1 ? memrchr(buf, '\n', want - 1) : NULL;
    if (nl != NULL) {
        start = (size_t)(nl - buf) + 1;
    } else if (at == 0) {
        start = 0;
    } else {
        rv = hsmca_err(HSMCA_ERR_IO, "the last line of audit log '%s' is longer than %d bytes", a->path,
                       HSMCA_AUDIT_LINE_MAX);
        goto done;
    }
    rv = audit_line_check(a->key, buf + start, want - 1 - start, &info, why, sizeof(why));
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("checking the last line of audit log '%s'", a->path);
        goto done;
    }
    if (why[0] != '\0') {
        rv = hsmca_err(HSMCA_ERR_IO,
                       "the last line of audit log '%s' is not a valid entry of this token's chain (%s); "
                       "refusing to continue it",
                       a->path, why);
        goto done;
    }
    f->seq = info.seq;
    memcpy(f->last, info.hmac, AUDIT_MAC_LEN);
    rv = HSMCA_OK;
done:
    free(buf);
    return rv;
}

/* A new file's directory entry must be durable before its first line is
 * acknowledged, or a crash could lose the whole file. */
static hsmca_rv sync_dir(const char *path)
{
    char *copy = strdup(path);
    int dfd = -1;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (copy == NULL)
        goto done;
    dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        rv = io_err("syncing the directory of", path, errno);
        goto done;
    }
    rv = HSMCA_OK;
done:
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return rv;
}

static hsmca_rv open_file(hsmca_audit *a, opened_file *f)
{
    struct stat st;
    hsmca_rv rv = HSMCA_ERR_IO;

    memset(f, 0, sizeof(*f));
    /* O_APPEND: every write lands at the end, whatever the offset. 0600:
     * entries name clients, paths and accessors. */
    f->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (f->fd < 0)
        return io_err("opening", a->path, errno);
    /* Two writers would fork the chain; the lock makes a second daemon (or
     * a second hsmca_audit on the same file) fail at open instead. */
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "audit log '%s' is already open for writing elsewhere (flock: %s)",
                       a->path, strerror(errno));
        goto done;
    }
    if (fstat(f->fd, &st) != 0) {
        rv = io_err("examining", a->path, errno);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = hsmca_err(HSMCA_ERR_IO, "audit log '%s' is not a regular file", a->path);
        goto done;
    }
    if (st.st_mode & 077)
        hsmca_log(HSMCA_LOG_WARNING, "audit log '%s' has mode %04o; 0600 is expected", a->path,
                  (unsigned)(st.st_mode & 07777));
    f->size = st.st_size;
    if (f->size > 0)
        rv = read_tail(a, f);
    else
        rv = a->sync ? sync_dir(a->path) : HSMCA_OK;
done:
    if (rv != HSMCA_OK) {
        close(f->fd);
        f->fd = -1;
    }
    return rv;
}

/* Writes the whole line. A regular file's write(2) is short only when it
 * hits a limit (full disk, RLIMIT_FSIZE) or a signal: the rest is retried,
 * and if it cannot be written the partial line is cut off again, so the
 * file never holds part of an entry. */
static hsmca_rv write_line(hsmca_audit *a, const char *line, size_t len)
{
    size_t off = 0;
    int eintr = 0, err = 0;
    struct stat st;

    while (off < len) {
        ssize_t n = write(a->fd, line + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR && ++eintr < EINTR_MAX)
            continue;
        err = n < 0 ? errno : EIO;
        break;
    }
    if (off == len) {
        a->size += (off_t)len;
        return HSMCA_OK;
    }
    if (off > 0) {
        /* Cut back to the size before this line; if the file is shorter than
         * we think, someone else changed it and truncating could lose
         * entries, so stop writing instead. */
        if (fstat(a->fd, &st) != 0 || st.st_size < a->size || ftruncate(a->fd, a->size) != 0) {
            a->broken = true;
            snprintf(a->broken_why, sizeof(a->broken_why),
                     "a partial line could not be removed after a failed write (%s)", strerror(err));
            hsmca_log(HSMCA_LOG_ERR, "audit log '%s': %s; refusing further entries until it is reopened",
                      a->path, a->broken_why);
        }
    }
    return io_err("writing to", a->path, err);
}

/* Appends one entry whose members after "time" are body[body_len] (JSON
 * members without braces). Called with the chain lock held. */
static hsmca_rv append_locked(hsmca_audit *a, const char *body, size_t body_len, uint64_t *ticket)
{
    char time_buf[AUDIT_TIME_LEN + 1], hex[HSMCA_AUDIT_HEX_LEN + 1];
    unsigned char mac[AUDIT_MAC_LEN];
    char *line = NULL;
    size_t cap, n;
    uint64_t seq = a->seq + 1;
    bool sync_failed;
    int hdr;
    hsmca_rv rv = HSMCA_ERR_IO;

    *ticket = 0;
    pthread_mutex_lock(&a->sync_lock);
    sync_failed = a->sync_failed;
    pthread_mutex_unlock(&a->sync_lock);
    if (a->fd < 0 || a->broken || sync_failed) {
        rv = hsmca_err(HSMCA_ERR_IO, "audit log '%s' cannot take entries: %s; it must be reopened", a->path,
                       a->fd < 0 ? "it is not open" : a->broken ? a->broken_why : "a sync failed");
        goto done;
    }
    cap = 64 + AUDIT_TIME_LEN + body_len + AUDIT_PREV_LEN + AUDIT_TAIL_LEN + 2;
    if (cap > HSMCA_AUDIT_LINE_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "audit entry of about %zu bytes exceeds the %d-byte line bound",
                       cap, HSMCA_AUDIT_LINE_MAX);
        goto done;
    }
    line = malloc(cap);
    if (line == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* The time is taken under the lock, so it never runs backwards along
     * the chain (unless the clock itself does). */
    audit_time_now(time_buf);
    hdr = snprintf(line, cap, "%s\"seq\":%" PRIu64 ",\"time\":\"%s\",", AUDIT_LINE_HEAD, seq, time_buf);
    if (hdr < 0 || (size_t)hdr + body_len + AUDIT_PREV_LEN + AUDIT_TAIL_LEN + 2 > cap) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "audit line header does not fit");
        goto done;
    }
    n = (size_t)hdr;
    memcpy(line + n, body, body_len);
    n += body_len;
    audit_hex(a->last, AUDIT_MAC_LEN, hex);
    n += (size_t)snprintf(line + n, cap - n, "%s%s\"", AUDIT_PREV_OPEN, hex);
    /* The MAC covers everything so far: header, members and prev. */
    rv = hsmca_p11_hmac_sha256(a->key, (const unsigned char *)line, n, mac);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("audit log '%s': computing the entry's HMAC", a->path);
        goto done;
    }
    audit_hex(mac, AUDIT_MAC_LEN, hex);
    n += (size_t)snprintf(line + n, cap - n, "%s%s\"}\n", AUDIT_HMAC_OPEN, hex);
    rv = write_line(a, line, n);
    if (rv != HSMCA_OK)
        goto done;
    a->seq = seq;
    memcpy(a->last, mac, AUDIT_MAC_LEN);
    pthread_mutex_lock(&a->sync_lock);
    *ticket = ++a->written;
    a->n_entries++;
    pthread_mutex_unlock(&a->sync_lock);
done:
    free(line);
    return rv;
}

/* Tells every waiter whose line the finished sync covered. sync_lock held. */
static void resolve_waiters(hsmca_audit *a, uint64_t upto, int err)
{
    sync_waiter **pp = &a->waiters;

    while (*pp != NULL) {
        sync_waiter *w = *pp;
        if (w->ticket <= upto) {
            w->done = true;
            w->err = err;
            *pp = w->next;
        } else {
            pp = &w->next;
        }
    }
    pthread_cond_broadcast(&a->sync_cond);
}

/* Group sync: returns once a fdatasync that began after this line was
 * written has finished. Whoever finds no sync running runs one for every
 * line written so far; the others wait for it and are told its result. */
static hsmca_rv wait_durable(hsmca_audit *a, uint64_t ticket)
{
    sync_waiter w = {ticket, false, 0, NULL};

    pthread_mutex_lock(&a->sync_lock);
    w.next = a->waiters;
    /* On the list only while waiting: resolve_waiters() unlinks w before
     * it sets w.done, and this function returns only after that. */
    /* cppcheck-suppress autoVariables */
    a->waiters = &w;
    /* Bounded: each turn either runs a sync that covers this ticket (its
     * target is at least the ticket) or waits for one that is running. */
    while (!w.done) {
        if (!a->syncing) {
            uint64_t target = a->written;
            int fd = a->fd, r, err;
            a->syncing = true;
            pthread_mutex_unlock(&a->sync_lock);
            r = fdatasync(fd);
            err = errno;
            pthread_mutex_lock(&a->sync_lock);
            a->syncing = false;
            a->n_syncs++;
            if (r != 0) {
                /* After a failed fsync the kernel may have dropped the dirty
                 * pages and will not report it again: no later sync on this
                 * file can vouch for them, so the log stops here. */
                a->sync_failed = true;
                hsmca_log(HSMCA_LOG_ERR, "audit log '%s': fdatasync failed: %s; refusing further entries",
                          a->path, strerror(err));
                resolve_waiters(a, UINT64_MAX, err != 0 ? err : EIO);
            } else {
                resolve_waiters(a, target, 0);
            }
            continue;
        }
        pthread_cond_wait(&a->sync_cond, &a->sync_lock);
    }
    pthread_mutex_unlock(&a->sync_lock);
    if (w.err != 0)
        return hsmca_err(HSMCA_ERR_IO, "audit log '%s': the line was written but could not be made durable: %s",
                         a->path, strerror(w.err));
    return HSMCA_OK;
}

/* Replaces the file under both locks: the running sync (on the old file)
 * finishes first, the old file's lines are synced and their waiters told,
 * then the new descriptor takes over. Called with the chain lock held. */
static void swap_file(hsmca_audit *a, opened_file *f)
{
    int old;

    pthread_mutex_lock(&a->sync_lock);
    while (a->syncing)
        pthread_cond_wait(&a->sync_cond, &a->sync_lock);
    old = a->fd;
    if (a->waiters != NULL) {
        int r = fdatasync(old), err = errno;
        a->n_syncs++;
        resolve_waiters(a, UINT64_MAX, r == 0 ? 0 : err != 0 ? err : EIO);
    } else if (old >= 0) {
        /* Lines of a no_sync log still reach the disk before we let go. */
        (void)fdatasync(old);
    }
    a->fd = f->fd;
    a->sync_failed = false;
    pthread_mutex_unlock(&a->sync_lock);
    if (old >= 0)
        close(old);
    a->size = f->size;
    a->broken = false;
    f->fd = -1;
}

/* The first entry of a file: links it to the chain it continues (genesis
 * for a new log, the previous file's last HMAC after rotation). */
static hsmca_rv append_start(hsmca_audit *a, const char *reason, uint64_t *ticket)
{
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "\"type\":\"start\",\"reason\":\"%s\",\"hsmca_version\":\"%s\",\"key_label\":\"%s\"", reason,
                     HSMCA_VERSION, HSMCA_AUDIT_KEY_LABEL);

    if (n < 0 || (size_t)n >= sizeof(body))
        return hsmca_err(HSMCA_ERR_INTERNAL, "start entry too long");
    return append_locked(a, body, (size_t)n, ticket);
}

hsmca_rv hsmca_audit_open(hsmca_p11_token *tok, const hsmca_audit_config *cfg, hsmca_audit **out)
{
    hsmca_audit *a = NULL;
    opened_file f = {.fd = -1};
    uint64_t ticket = 0;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    hsmca_return_val_if_fail(tok != NULL && cfg != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if (cfg->path == NULL || cfg->path[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "audit log path is empty");
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->path = strdup(cfg->path)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->sync_lock, NULL);
    pthread_cond_init(&a->sync_cond, NULL);
    atomic_init(&a->n_failures, 0);
    a->fd = -1;
    a->sync = !cfg->no_sync;
    hsmca_p11_token_up_ref(tok);
    a->tok = tok;
    rv = audit_key_open(tok, true, &a->key);
    if (rv != HSMCA_OK)
        goto done;
    rv = open_file(a, &f);
    if (rv != HSMCA_OK)
        goto done;
    /* Nobody else holds the object yet; the locks keep the invariants the
     * helpers assume. */
    pthread_mutex_lock(&a->lock);
    swap_file(a, &f);
    if (a->size == 0) {
        /* Genesis: the all-zero prev (last[] is zero from calloc). */
        rv = append_start(a, "new", &ticket);
    } else {
        a->seq = f.seq;
        memcpy(a->last, f.last, AUDIT_MAC_LEN);
    }
    pthread_mutex_unlock(&a->lock);
    if (rv == HSMCA_OK && ticket > 0 && a->sync)
        rv = wait_durable(a, ticket);
    if (rv != HSMCA_OK)
        goto done;
    *out = a;
    a = NULL;
done:
    if (f.fd >= 0)
        close(f.fd);
    hsmca_audit_free(a);
    return rv;
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;

    return fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

hsmca_rv hsmca_audit_reopen(hsmca_audit *a)
{
    opened_file f = {.fd = -1};
    uint64_t ticket = 0;
    bool sync_failed;
    hsmca_rv rv = HSMCA_OK;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    pthread_mutex_lock(&a->lock);
    pthread_mutex_lock(&a->sync_lock);
    sync_failed = a->sync_failed;
    pthread_mutex_unlock(&a->sync_lock);
    if (same_file(a->fd, a->path)) {
        if (!a->broken && !sync_failed)
            goto unlock;
        /* A broken log on the same file starts over from what the file
         * really holds: let go of it first, or our own lock would refuse
         * the new descriptor. */
        f.fd = -1;
        f.size = 0;
        swap_file(a, &f);
    }
    rv = open_file(a, &f);
    if (rv != HSMCA_OK)
        goto unlock;
    swap_file(a, &f);
    if (a->size == 0) {
        /* Rotation: the new file's first entry links to the previous file's
         * last HMAC, still in a->last. */
        rv = append_start(a, "reopen", &ticket);
    } else {
        if (f.seq != a->seq || memcmp(f.last, a->last, AUDIT_MAC_LEN) != 0)
            hsmca_log(HSMCA_LOG_NOTICE, "audit log '%s': continuing the chain found in the file (seq %" PRIu64 ")",
                      a->path, f.seq);
        a->seq = f.seq;
        memcpy(a->last, f.last, AUDIT_MAC_LEN);
    }
unlock:
    pthread_mutex_unlock(&a->lock);
    if (rv == HSMCA_OK && ticket > 0 && a->sync)
        rv = wait_durable(a, ticket);
    if (rv != HSMCA_OK)
        hsmca_log(HSMCA_LOG_ERR, "reopening the audit log: %s", hsmca_err_message());
    return rv;
}

void hsmca_audit_free(hsmca_audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0) {
        /* no_sync lines reach the disk at close at the latest. */
        (void)fdatasync(a->fd);
        close(a->fd);
    }
    hsmca_p11_hmac_key_free(a->key);
    hsmca_p11_token_free(a->tok);
    pthread_cond_destroy(&a->sync_cond);
    pthread_mutex_destroy(&a->sync_lock);
    pthread_mutex_destroy(&a->lock);
    free(a->path);
    free(a);
}

static const char *outcome_name(hsmca_audit_outcome o)
{
    switch (o) {
    case HSMCA_AUDIT_SUCCESS:
        return "success";
    case HSMCA_AUDIT_DENIED:
        return "denied";
    case HSMCA_AUDIT_ERROR:
    default:
        return "error";
    }
}

/* json_object_set_new() as an hsmca_rv. Takes v in every case (jansson
 * drops it on failure; a NULL v is an allocation that failed). */
static hsmca_rv set_member(json_t *obj, const char *name, json_t *v)
{
    if (json_object_set_new(obj, name, v) != 0)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory building an audit entry");
    return HSMCA_OK;
}

/* Adds name: the cleaned string s (see audit_json_string). */
static hsmca_rv add_string(hsmca_audit *a, json_t *obj, const char *name, const char *s, size_t max)
{
    json_t *v = NULL;
    hsmca_rv rv = audit_json_string(a->key, s, max, &v);

    return rv != HSMCA_OK ? rv : set_member(obj, name, v);
}

static hsmca_rv policies_array(hsmca_audit *a, const hsmca_audit_entry *e, json_t **out)
{
    json_t *pol = json_array();
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (pol == NULL)
        goto done;
    for (size_t i = 0; e->policies != NULL && i < e->n_policies && i <= POLICIES_MAX; i++) {
        json_t *v = NULL;
        /* Past the bound, a marker keeps the cut visible. */
        if (i == POLICIES_MAX)
            v = json_string("...");
        else if ((rv = audit_json_string(a->key, e->policies[i], SHORT_MAX, &v)) != HSMCA_OK)
            goto done;
        /* append_new takes v, even a NULL one, in every case. */
        rv = json_array_append_new(pol, v) == 0 ? HSMCA_OK : HSMCA_ERR_NOMEM;
        if (rv != HSMCA_OK)
            goto done;
    }
    *out = pol;
    pol = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building an audit entry");
    json_decref(pol);
    return rv;
}

/* The entry's members after "time", as compact JSON text "{...}". Done
 * before taking the chain lock: redaction asks the token for HMACs. */
static hsmca_rv build_body(hsmca_audit *a, const hsmca_audit_entry *e, char **out)
{
    json_t *obj = json_object(), *pol = NULL, *details = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (obj == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory building an audit entry");
        goto done;
    }
    if ((rv = set_member(obj, "type", json_string("request"))) != HSMCA_OK ||
        (rv = add_string(a, obj, "request_id", e->request_id, SHORT_MAX)) != HSMCA_OK ||
        (rv = add_string(a, obj, "remote_address", e->remote_address, SHORT_MAX)) != HSMCA_OK ||
        (rv = add_string(a, obj, "accessor", e->accessor, SHORT_MAX)) != HSMCA_OK ||
        (rv = policies_array(a, e, &pol)) != HSMCA_OK)
        goto done;
    rv = set_member(obj, "policies", pol);
    pol = NULL;
    if (rv != HSMCA_OK || (rv = add_string(a, obj, "operation", e->operation, OPERATION_MAX)) != HSMCA_OK ||
        (rv = add_string(a, obj, "mount", e->mount, MOUNT_MAX)) != HSMCA_OK ||
        (rv = add_string(a, obj, "path", e->path, TEXT_MAX)) != HSMCA_OK ||
        (rv = set_member(obj, "status", json_integer(e->status))) != HSMCA_OK ||
        (rv = set_member(obj, "outcome", json_string(outcome_name(e->outcome)))) != HSMCA_OK)
        goto done;
    if (e->error != NULL && (rv = add_string(a, obj, "error", e->error, TEXT_MAX)) != HSMCA_OK)
        goto done;
    if (e->details != NULL) {
        rv = audit_redact(a->key, e->details, &details);
        if (rv != HSMCA_OK)
            goto done;
        rv = set_member(obj, "details", details);
        details = NULL;
        if (rv != HSMCA_OK)
            goto done;
    }
    /* ENSURE_ASCII: the file is plain ASCII, one line per entry (jansson
     * escapes every control character, so no raw newline can appear). */
    *out = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    rv = *out != NULL ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory building an audit entry");
done:
    json_decref(details);
    json_decref(pol);
    json_decref(obj);
    return rv;
}

hsmca_rv hsmca_audit_log(hsmca_audit *a, const hsmca_audit_entry *e)
{
    char *text = NULL;
    size_t len;
    uint64_t ticket = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && e != NULL, HSMCA_ERR_INVALID_ARG);
    rv = build_body(a, e, &text);
    if (rv != HSMCA_OK)
        goto done;
    len = strlen(text);
    if (len < 2 || text[0] != '{' || text[len - 1] != '}') {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "audit entry did not serialise to an object");
        goto done;
    }
    pthread_mutex_lock(&a->lock);
    rv = append_locked(a, text + 1, len - 2, &ticket);
    pthread_mutex_unlock(&a->lock);
    if (rv == HSMCA_OK && a->sync)
        rv = wait_durable(a, ticket);
done:
    if (rv != HSMCA_OK)
        atomic_fetch_add(&a->n_failures, 1);
    free(text);
    return rv;
}

hsmca_rv hsmca_audit_hmac_value(hsmca_audit *a, const void *value, size_t len, char out[HSMCA_AUDIT_VALUE_LEN + 1])
{
    hsmca_return_val_if_fail(a != NULL && out != NULL && (value != NULL || len == 0), HSMCA_ERR_INVALID_ARG);
    return audit_value_hmac(a->key, value, len, out);
}

void hsmca_audit_get_stats(hsmca_audit *a, hsmca_audit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    out->last_seq = a->seq;
    audit_hex(a->last, AUDIT_MAC_LEN, out->last_hmac);
    pthread_mutex_lock(&a->sync_lock);
    out->entries = a->n_entries;
    out->syncs = a->n_syncs;
    pthread_mutex_unlock(&a->sync_lock);
    pthread_mutex_unlock(&a->lock);
    out->failures = atomic_load(&a->n_failures);
}
