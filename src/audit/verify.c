/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying an audit log: every line's layout and in-token HMAC, and each
 * line's link to the one before, reporting the first line that breaks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

/* A buffered line reader over read(2) that never holds more than one line
 * of HSMCA_AUDIT_LINE_MAX bytes plus what one read brings. */
typedef struct {
    int fd;
    char *buf;
    size_t cap, start, end;
    bool eof;
} line_reader;

typedef enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_INCOMPLETE, LINE_IO } line_status;

static line_status next_line(line_reader *r, const char **line, size_t *len)
{
    /* Bounded: each turn finds a line, ends, or reads more into a buffer
     * whose unread part is below the line bound. */
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        ssize_t n;

        if (nl != NULL) {
            *line = r->buf + r->start;
            *len = (size_t)(nl - (r->buf + r->start));
            r->start += *len + 1;
            /* With the newline, a line is at most HSMCA_AUDIT_LINE_MAX. */
            return *len + 1 > HSMCA_AUDIT_LINE_MAX ? LINE_TOO_LONG : LINE_OK;
        }
        if (r->end - r->start >= HSMCA_AUDIT_LINE_MAX)
            return LINE_TOO_LONG;
        if (r->eof)
            return r->end > r->start ? LINE_INCOMPLETE : LINE_EOF;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return LINE_IO;
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
    }
}

static hsmca_rv broken(hsmca_audit_verify_result *res, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hsmca_rv broken(hsmca_audit_verify_result *res, uint64_t line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    res->bad_line = line;
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "line %" PRIu64 ": %s", line, res->reason);
}

hsmca_rv hsmca_audit_verify(hsmca_p11_token *tok, const char *path, const char *prev_hex,
                            hsmca_audit_verify_result *res)
{
    hsmca_p11_hmac_key *key = NULL;
    line_reader r = {.fd = -1};
    unsigned char want_prev[AUDIT_MAC_LEN], last[AUDIT_MAC_LEN];
    char hex[HSMCA_AUDIT_HEX_LEN + 1];
    bool have_prev = false;
    uint64_t k = 0, last_seq = 0;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    hsmca_return_val_if_fail(tok != NULL && path != NULL && res != NULL, HSMCA_ERR_INVALID_ARG);
    memset(res, 0, sizeof(*res));
    if (prev_hex != NULL) {
        if (!audit_unhex(prev_hex, strlen(prev_hex), want_prev, AUDIT_MAC_LEN))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "--prev '%.80s' is not %d hex digits", prev_hex,
                             HSMCA_AUDIT_HEX_LEN);
        have_prev = true;
    }
    /* Never created here: a verifier that made a fresh key would only
     * report every line as forged. */
    rv = audit_key_open(tok, false, &key);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("the audit HMAC key");
        goto done;
    }
    r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (r.fd < 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "opening audit log '%s': %s", path, strerror(errno));
        goto done;
    }
    r.cap = 2 * (size_t)HSMCA_AUDIT_LINE_MAX;
    r.buf = malloc(r.cap);
    if (r.buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Bounded by the file: each turn consumes one line. */
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        audit_line_info info;
        char why[200];
        line_status st = next_line(&r, &line, &len);

        if (st == LINE_EOF)
            break;
        k++;
        if (st == LINE_IO) {
            rv = hsmca_err(HSMCA_ERR_IO, "reading audit log '%s' at line %" PRIu64 ": %s", path, k,
                           strerror(errno));
            goto done;
        }
        if (st == LINE_TOO_LONG) {
            rv = broken(res, k, "longer than %d bytes", HSMCA_AUDIT_LINE_MAX);
            goto done;
        }
        if (st == LINE_INCOMPLETE) {
            rv = broken(res, k, "incomplete: no newline at the end of the file (truncated, or a torn write)");
            goto done;
        }
        rv = audit_line_check(key, line, len, &info, why, sizeof(why));
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("verifying line %" PRIu64 " of '%s'", k, path);
            goto done;
        }
        if (why[0] != '\0') {
            rv = broken(res, k, "%s", why);
            goto done;
        }
        if (k == 1) {
            audit_hex(info.prev, AUDIT_MAC_LEN, res->first_prev);
            if (have_prev && memcmp(info.prev, want_prev, AUDIT_MAC_LEN) != 0) {
                audit_hex(want_prev, AUDIT_MAC_LEN, hex);
                rv = broken(res, k, "chain starts from %s, not from the --prev %s", res->first_prev, hex);
                goto done;
            }
            /* Without an anchor only a start entry may begin a file: a file
             * whose first lines were cut off must not pass as whole. */
            if (!have_prev && !info.is_start) {
                rv = broken(res, k,
                            "the file does not begin with a start entry (the lines before it are missing?); "
                            "its chain continues from %s: give --prev to accept that",
                            res->first_prev);
                goto done;
            }
            res->first_seq = info.seq;
        } else {
            if (memcmp(info.prev, last, AUDIT_MAC_LEN) != 0) {
                rv = broken(res, k,
                            "prev does not match the HMAC of line %" PRIu64
                            " (a line was deleted, inserted or moved here)",
                            k - 1);
                goto done;
            }
            if (info.seq != last_seq + 1) {
                rv = broken(res, k, "seq %" PRIu64 " follows seq %" PRIu64, info.seq, last_seq);
                goto done;
            }
        }
        memcpy(last, info.hmac, AUDIT_MAC_LEN);
        last_seq = info.seq;
        res->entries = k;
        res->last_seq = last_seq;
        audit_hex(last, AUDIT_MAC_LEN, res->last_hmac);
    }
    if (k == 0) {
        rv = broken(res, 1, "the file is empty (a log always begins with its start entry)");
        goto done;
    }
    rv = HSMCA_OK;
done:
    if (r.fd >= 0)
        close(r.fd);
    free(r.buf);
    hsmca_p11_hmac_key_free(key);
    return rv;
}
