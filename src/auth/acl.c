/* SPDX-License-Identifier: Apache-2.0 */
/* Compiled ACLs: the path rules of a token's policies merged once, then
 * matched per request with OpenBao's rules (exact path first; otherwise the
 * highest-priority glob or '+' pattern, never a merge of several). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef enum { RULE_EXACT = 0, RULE_PREFIX, RULE_SEGMENT } rule_kind;

typedef struct {
    char *key;     /* exact: the path; prefix: the path before '*'; segment: the pattern as written */
    size_t key_len;
    rule_kind kind;
    unsigned caps;
    /* Priority inputs (OpenBao's policy docs, "priority matching"):
     * where the first wildcard sits, whether the rule ends in a glob, how
     * many '+' segments it has, its length without the glob, and the
     * text itself as the last tie-break. */
    size_t first_wc;
    bool is_prefix;
    unsigned wildcards;
    size_t wc_len; /* key without a trailing '*' */
    size_t nsegs;  /* segments of key[0..wc_len) */
} acl_rule;

struct auth_acl {
    atomic_uint refs;
    bool root;
    acl_rule *exact; /* sorted by key for bsearch */
    size_t n_exact;
    acl_rule *wild; /* prefix and segment rules */
    size_t n_wild;
};

static void rules_free(acl_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].key);
    free(r);
}

static void acl_free(auth_acl *acl)
{
    if (acl == NULL)
        return;
    rules_free(acl->exact, acl->n_exact);
    rules_free(acl->wild, acl->n_wild);
    free(acl);
}

void auth_acl_ref(auth_acl *acl)
{
    atomic_fetch_add(&acl->refs, 1);
}

void auth_acl_release(auth_acl *acl)
{
    if (acl != NULL && atomic_fetch_sub(&acl->refs, 1) == 1)
        acl_free(acl);
}

/* Classifies a policy path as OpenBao does: a trailing '*' makes a prefix
 * (glob) rule; any '+' makes a segment-wildcard rule, kept whole as its key
 * (so "a/+/b" and "a/+/b*" stay two rules); else an exact rule. */
static hsmca_rv rule_init(acl_rule *r, const char *path, unsigned caps)
{
    size_t n = strlen(path);
    const char *plus = strchr(path, '+');

    memset(r, 0, sizeof(*r));
    r->caps = caps;
    r->is_prefix = n > 0 && path[n - 1] == '*';
    r->wc_len = r->is_prefix ? n - 1 : n;
    if (plus != NULL) {
        r->kind = RULE_SEGMENT;
        r->key_len = n;
        r->first_wc = (size_t)(plus - path);
    } else if (r->is_prefix) {
        r->kind = RULE_PREFIX;
        r->key_len = n - 1;
        r->first_wc = n - 1;
    } else {
        r->kind = RULE_EXACT;
        r->key_len = n;
    }
    r->key = strndup(path, r->key_len);
    if (r->key == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (r->kind == RULE_SEGMENT) {
        /* Only a whole segment "+" is a wildcard; "a+b" is literal text. */
        const char *s = r->key, *end = r->key + r->wc_len;
        r->nsegs = 1;
        for (const char *p = s; p <= end; p++) {
            if (p == end || *p == '/') {
                if (p - s == 1 && *s == '+')
                    r->wildcards++;
                if (p < end)
                    r->nsegs++;
                s = p + 1;
            }
        }
    }
    return HSMCA_OK;
}

static int rule_order(const void *x, const void *y)
{
    const acl_rule *a = x, *b = y;

    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Rules with the same path from several policies merge (OpenBao's NewACL):
 * a deny anywhere leaves only deny, otherwise the capabilities add up. */
static unsigned merge_caps(unsigned a, unsigned b)
{
    if ((a | b) & HSMCA_CAP_DENY)
        return HSMCA_CAP_DENY;
    return a | b;
}

hsmca_rv auth_acl_build(const auth_policy_rules *sets, size_t n, bool root, auth_acl **out)
{
    auth_acl *acl = NULL;
    acl_rule *all = NULL;
    size_t total = 0, m = 0, ne = 0, nw = 0, w = 0;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    acl = calloc(1, sizeof(*acl));
    if (acl == NULL)
        goto done;
    atomic_init(&acl->refs, 1);
    acl->root = root;
    if (!root) {
        for (size_t i = 0; i < n; i++)
            total += sets[i].n;
    }
    if (total > 0) {
        all = calloc(total, sizeof(*all));
        if (all == NULL)
            goto done;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < sets[i].n; j++) {
                if ((rv = rule_init(&all[m], sets[i].rules[j].path, sets[i].rules[j].caps)) != HSMCA_OK)
                    goto done;
                m++;
            }
        }
        rv = HSMCA_ERR_NOMEM;
        qsort(all, m, sizeof(*all), rule_order);
        /* Merge equal neighbours in place. */
        for (size_t i = 0; i < m; i++) {
            if (w > 0 && rule_order(&all[w - 1], &all[i]) == 0) {
                all[w - 1].caps = merge_caps(all[w - 1].caps, all[i].caps);
                free(all[i].key);
                all[i].key = NULL;
                continue;
            }
            all[w++] = all[i];
        }
        m = w;
        for (size_t i = 0; i < m; i++) {
            if (all[i].kind == RULE_EXACT)
                ne++;
            else
                nw++;
        }
        acl->exact = ne ? calloc(ne, sizeof(*acl->exact)) : NULL;
        acl->wild = nw ? calloc(nw, sizeof(*acl->wild)) : NULL;
        if ((ne && acl->exact == NULL) || (nw && acl->wild == NULL))
            goto done;
        /* Exact rules sort first and stay in key order. */
        for (size_t i = 0; i < m; i++) {
            if (all[i].kind == RULE_EXACT)
                acl->exact[acl->n_exact++] = all[i];
            else
                acl->wild[acl->n_wild++] = all[i];
            all[i].key = NULL;
        }
    }
    *out = acl;
    acl = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM)
        hsmca_err(HSMCA_ERR_NOMEM, "out of memory compiling policies");
    if (all != NULL)
        rules_free(all, m);
    acl_free(acl);
    return rv;
}

static const acl_rule *find_exact(const auth_acl *acl, const char *path, size_t len)
{
    size_t lo = 0, hi = acl->n_exact;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const acl_rule *r = &acl->exact[mid];
        size_t cmp_len = r->key_len < len ? r->key_len : len;
        int c = memcmp(r->key, path, cmp_len);

        if (c == 0)
            c = r->key_len < len ? -1 : (r->key_len > len ? 1 : 0);
        if (c == 0)
            return r;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* OpenBao's segment matching: "+" takes exactly one segment (possibly
 * empty); a rule ending in '*' lets its last segment be a prefix of the
 * path's and the path go on; otherwise the segment counts must agree. */
static bool segment_match(const acl_rule *r, const char *path, size_t len)
{
    size_t path_segs = 1;
    const char *p = path, *pend = path + len, *q = r->key, *qend = r->key + r->wc_len;

    for (size_t i = 0; i < len; i++)
        path_segs += path[i] == '/';
    if (path_segs < r->nsegs || (!r->is_prefix && path_segs != r->nsegs))
        return false;
    for (size_t i = 0; i < r->nsegs; i++) {
        const char *qe = memchr(q, '/', (size_t)(qend - q));
        const char *pe = memchr(p, '/', (size_t)(pend - p));
        size_t ql, pl;

        if (qe == NULL)
            qe = qend;
        if (pe == NULL)
            pe = pend;
        ql = (size_t)(qe - q);
        pl = (size_t)(pe - p);
        if (!(ql == 1 && *q == '+') && !(ql == pl && memcmp(q, p, ql) == 0) &&
            !(r->is_prefix && i + 1 == r->nsegs && pl >= ql && memcmp(q, p, ql) == 0))
            return false;
        q = qe + 1;
        p = pe + 1;
    }
    return true;
}

static bool rule_matches(const acl_rule *r, const char *path, size_t len)
{
    if (r->kind == RULE_PREFIX)
        return len >= r->key_len && memcmp(path, r->key, r->key_len) == 0;
    return segment_match(r, path, len);
}

/* Whether a outranks b, in the order of OpenBao's documented rules: P1 is
 * lower priority if its first wildcard or glob comes earlier; if it ends in
 * '*' and P2 does not; if it has more '+' segments; if it is shorter; if it
 * is lexicographically smaller. */
static bool outranks(const acl_rule *a, const acl_rule *b)
{
    int c;

    if (a->first_wc != b->first_wc)
        return a->first_wc > b->first_wc;
    if (a->is_prefix != b->is_prefix)
        return !a->is_prefix;
    if (a->wildcards != b->wildcards)
        return a->wildcards < b->wildcards;
    if (a->wc_len != b->wc_len)
        return a->wc_len > b->wc_len;
    c = memcmp(a->key, b->key, a->wc_len);
    return c > 0;
}

unsigned auth_acl_caps(const auth_acl *acl, const char *path, bool list_fallback)
{
    size_t len = strlen(path);
    const acl_rule *r, *best = NULL;

    if (acl->root)
        return HSMCA_CAP_ROOT;
    /* An exact rule is the whole answer when there is one: globs are not
     * consulted, even for capabilities it lacks. */
    r = find_exact(acl, path, len);
    if (r == NULL && list_fallback && len > 0 && path[len - 1] == '/')
        r = find_exact(acl, path, len - 1);
    if (r != NULL)
        return r->caps;
    for (size_t i = 0; i < acl->n_wild; i++) {
        const acl_rule *w = &acl->wild[i];

        if (rule_matches(w, path, len) && (best == NULL || outranks(w, best)))
            best = w;
    }
    return best != NULL ? best->caps : 0;
}

bool auth_acl_caps_allow(unsigned caps, unsigned capability, unsigned flags)
{
    const unsigned ops =
        HSMCA_CAP_CREATE | HSMCA_CAP_READ | HSMCA_CAP_UPDATE | HSMCA_CAP_PATCH | HSMCA_CAP_DELETE | HSMCA_CAP_LIST;

    /* One operation capability at a time; anything else is a caller bug
     * and denies rather than allows. */
    if ((capability & ops) == 0 || (capability & (capability - 1)) != 0 || (capability & ~ops) != 0)
        return false;
    if (caps & HSMCA_CAP_ROOT)
        return true;
    if (caps & HSMCA_CAP_DENY)
        return false;
    if ((caps & capability) == 0)
        return false;
    /* Root-protected paths need sudo besides the operation's capability. */
    if ((flags & HSMCA_AUTH_NEED_SUDO) && (caps & HSMCA_CAP_SUDO) == 0)
        return false;
    return true;
}
