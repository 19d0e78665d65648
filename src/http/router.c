/* SPDX-License-Identifier: Apache-2.0 */
/* The router: a path relative to a mount ("roles/web") and a method to one
 * handler. Patterns are segments: literals, ":name" (one segment) and a
 * final "*name" (the rest, one or more segments). The most literal pattern
 * wins, so "issuers/generate/root/:type" beats "issuers/:ref" style
 * overlaps whatever the table order. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ROUTER_MAX 512
#define SEGMENTS_MAX 16

typedef struct {
    const hsmca_http_route *route;
    void *arg;
} entry;

struct hsmca_http_router {
    entry e[ROUTER_MAX];
    size_t n;
};

hsmca_rv hsmca_http_router_new(hsmca_http_router **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

void hsmca_http_router_free(hsmca_http_router *r)
{
    free(r);
}

hsmca_rv hsmca_http_router_add(hsmca_http_router *r, const hsmca_http_route *routes, size_t n, void *arg)
{
    if (n > ROUTER_MAX - r->n)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "router: more than %d routes", ROUTER_MAX);
    for (size_t i = 0; i < n; i++) {
        r->e[r->n].route = &routes[i];
        r->e[r->n].arg = arg;
        r->n++;
    }
    return HSMCA_OK;
}

/* Splits s (copied into buf) at '/'; false if too long. Past SEGMENTS_MAX
 * the last segment keeps the rest unsplit (*rest set): only a final
 * "*name" pattern can match such a path (an OCSP GET's base64 holds any
 * number of '/'). */
static bool split_rest(const char *s, char *buf, size_t bufsz, char *seg[], size_t *n, bool *rest)
{
    size_t len = strlen(s);
    char *p;

    *n = 0;
    if (len + 1 > bufsz)
        return false;
    memcpy(buf, s, len + 1);
    if (len == 0)
        return true;
    p = buf;
    for (;;) {
        char *slash = strchr(p, '/');
        if (*n == SEGMENTS_MAX - 1 && slash != NULL) {
            seg[(*n)++] = p; /* the rest, '/' and all */
            *rest = true;
            break;
        }
        seg[(*n)++] = p;
        if (slash == NULL)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return true;
}

static bool split(const char *s, char *buf, size_t bufsz, char *seg[], size_t *n)
{
    bool rest = false;

    return split_rest(s, buf, bufsz, seg, n, &rest) && !rest;
}

/* Matches one pattern; on success fills the match's parameters and returns
 * the number of literal segments (the specificity), else -1. */
static int match_one(const char *pattern, char *const pseg_in[], size_t np, char *const seg[], size_t ns,
                     const char *path, hsmca_http_match *m)
{
    int literals = 0;
    size_t i;

    (void)pattern;
    m->n = 0;
    for (i = 0; i < np; i++) {
        const char *ps = pseg_in[i];
        if (ps[0] == '*') {
            /* the rest of the path, from segment i on (at least one) */
            size_t off = 0;
            if (i >= ns)
                return -1;
            for (size_t k = 0; k < i; k++)
                off += strlen(seg[k]) + 1;
            if (m->n < 8) {
                m->names[m->n] = ps + 1;
                m->values[m->n] = path + off;
                m->n++;
            }
            return literals;
        }
        if (i >= ns)
            return -1;
        if (ps[0] == ':') {
            if (seg[i][0] == '\0')
                return -1;
            if (m->n < 8) {
                m->names[m->n] = ps + 1;
                m->values[m->n] = seg[i];
                m->n++;
            }
        } else if (strcmp(ps, seg[i]) != 0) {
            return -1;
        } else {
            literals++;
        }
    }
    return i == ns ? literals : -1;
}

hsmca_rv hsmca_http_router_match(const hsmca_http_router *r, const char *path, hsmca_http_method method,
                                 hsmca_http_match *out, unsigned *allowed)
{
    char *seg[SEGMENTS_MAX];
    size_t ns = 0;
    int best = -1;
    bool any = false, rest = false;
    hsmca_http_match trial;
    /* The path's segments live in out->buf (the match's values point
     * there), the pattern's in a local buffer per try. */
    if (allowed != NULL)
        *allowed = 0;
    memset(out, 0, sizeof(*out));
    if (!split_rest(path, out->buf, sizeof(out->buf), seg, &ns, &rest))
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "unsupported path");
    for (size_t i = 0; i < r->n; i++) {
        char pbuf[256], *pseg[SEGMENTS_MAX];
        size_t np = 0;
        int lit;
        const hsmca_http_route *rt = r->e[i].route;

        if (!split(rt->pattern, pbuf, sizeof(pbuf), pseg, &np))
            continue;
        /* The unsplit rest may only land in a final "*name". */
        if (rest && (np == 0 || pseg[np - 1][0] != '*' || np > ns))
            continue;
        memset(&trial, 0, sizeof(trial));
        lit = match_one(rt->pattern, pseg, np, seg, ns, path, &trial);
        if (lit < 0)
            continue;
        any = true;
        if (allowed != NULL)
            *allowed |= rt->methods;
        if (!(rt->methods & method))
            continue;
        if (lit > best) {
            best = lit;
            trial.route = rt;
            trial.arg = r->e[i].arg;
            /* Parameter names point into pbuf (its segments NUL-ended):
             * keep that text with the match. */
            memcpy(out->nbuf, pbuf, sizeof(out->nbuf) < sizeof(pbuf) ? sizeof(out->nbuf) : sizeof(pbuf));
            for (size_t k = 0; k < trial.n; k++)
                trial.names[k] = out->nbuf + (trial.names[k] - pbuf);
            memcpy(out->names, trial.names, sizeof(trial.names));
            memcpy(out->values, trial.values, sizeof(trial.values));
            out->n = trial.n;
            out->route = rt;
            out->arg = trial.arg;
        }
    }
    if (best >= 0)
        return HSMCA_OK;
    if (any)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "unsupported operation");
    return hsmca_err(HSMCA_ERR_NOT_FOUND, "unsupported path");
}

const char *hsmca_http_method_name(hsmca_http_method m)
{
    switch (m) {
    case HSMCA_HTTP_GET:
        return "GET";
    case HSMCA_HTTP_HEAD:
        return "HEAD";
    case HSMCA_HTTP_POST:
        return "POST";
    case HSMCA_HTTP_PUT:
        return "PUT";
    case HSMCA_HTTP_PATCH:
        return "PATCH";
    case HSMCA_HTTP_DELETE:
        return "DELETE";
    case HSMCA_HTTP_LIST:
        return "LIST";
    case HSMCA_HTTP_OPTIONS:
        return "OPTIONS";
    }
    return "?";
}
