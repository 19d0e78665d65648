/* SPDX-License-Identifier: Apache-2.0 */
/* Parser for the fault module's `key = value` configuration file (format in README.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Longest suffix the counters writer appends for its temporary file
 * (".<pid>.tmp"), so a counters path that fits here always fits there. */
#define COUNTERS_SUFFIX_MAX 32u

/* Most whitespace-separated words a fail/latency/corrupt/removed value holds;
 * one more is read so that an extra word is reported, not ignored. */
#define MAX_WORDS 8u

struct parser {
    const char *path;
    unsigned line;
    char *err;
    size_t errlen;
    struct fault_config *cfg;
    /* Line of the first occurrence of each single-valued key, 0 if absent. */
    unsigned module_line, counters_line, removed_line, flush_line, seed_line;
    /* `latency = * ...` applies to functions without a line of their own,
     * whatever the order of the lines, so both are kept until the end. */
    unsigned latency_line[FAULT_FN_COUNT];
    unsigned star_latency_line;
    uint32_t star_latency_us;
};

static CK_RV bad(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records "<path>:<line>: <message>" and returns the parse failure code. */
static CK_RV bad(struct parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, p->line);

    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return CKR_GENERAL_ERROR;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static char *trim(char *s)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Drops whitespace next to commas so "rv=CKR_A, CKR_B" stays one word. */
static void squeeze_commas(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++) {
        if (is_space(*r)) {
            char *next = r;
            while (is_space(*next))
                next++;
            if (*next == ',' || (w > s && w[-1] == ',')) {
                r = next - 1;
                continue;
            }
        }
        *w++ = *r;
    }
    *w = '\0';
}

/* Splits `s` in place on whitespace. Returns the number of words, or
 * MAX_WORDS + 1 when there are more than `MAX_WORDS`. */
static size_t split_words(char *s, char *words[MAX_WORDS])
{
    size_t n = 0;

    squeeze_commas(s);
    while (*s) {
        while (is_space(*s))
            *s++ = '\0';
        if (!*s)
            break;
        if (n == MAX_WORDS)
            return MAX_WORDS + 1;
        words[n++] = s;
        while (*s && !is_space(*s))
            s++;
    }
    return n;
}

/* Splits "key=value"; the value may not be empty. */
static bool split_kv(char *word, char **key, char **val)
{
    char *eq = strchr(word, '=');

    if (!eq || eq == word || eq[1] == '\0')
        return false;
    *eq = '\0';
    *key = word;
    *val = eq + 1;
    return true;
}

/* Decimal (or, with `hex_ok`, 0x-prefixed hexadecimal) unsigned integer no
 * greater than `max`. No sign, no spaces, no trailing text. */
static bool parse_uint(const char *s, uint64_t max, bool hex_ok, uint64_t *out)
{
    bool ok = false;
    int base = 10;
    const char *digits = s;
    const char *set = "0123456789";
    char *end = NULL;
    unsigned long long v;
    size_t n;

    if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        digits = s + 2;
        set = "0123456789abcdefABCDEF";
    }
    n = strspn(digits, set);
    if (n == 0 || digits[n] != '\0')
        goto done;
    errno = 0;
    v = strtoull(digits, &end, base);
    if (errno != 0 || end != digits + n || v > max)
        goto done;
    *out = (uint64_t)v;
    ok = true;
done:
    return ok;
}

/* A probability written as 0, 1 or a decimal fraction ("0.25", "1.0").
 * Parsed by hand because strtod() follows the locale, and an application may
 * have set one with a decimal comma. */
static bool parse_probability(const char *s, uint64_t *threshold)
{
    bool ok = false;
    double frac = 0.0, scale = 0.1, p;
    size_t int_digits = strspn(s, "0123456789");
    const char *f;

    if (int_digits != 1 || (s[0] != '0' && s[0] != '1'))
        goto done;
    f = s + 1;
    if (*f == '.') {
        size_t n = strspn(f + 1, "0123456789");
        if (n == 0 || n > 15)
            goto done;
        for (size_t i = 1; i <= n; i++) {
            frac += (double)(f[i] - '0') * scale;
            scale /= 10.0;
        }
        f += 1 + n;
    }
    if (*f != '\0')
        goto done;
    p = (double)(s[0] - '0') + frac;
    if (p > 1.0)
        goto done;
    /* 2^53 fits a double exactly, so p == 1 maps to FAULT_PROBABILITY_ONE,
     * which no 53-bit draw reaches: "always". */
    *threshold = (uint64_t)(p * (double)FAULT_PROBABILITY_ONE);
    ok = true;
done:
    return ok;
}

/* The FUNC word of fail/latency lines: a function name or `*`. */
static CK_RV parse_target(struct parser *p, const char *word, const char *key,
                          unsigned *fn)
{
    if (strcmp(word, "*") == 0) {
        *fn = FAULT_FN_ANY;
        return CKR_OK;
    }
    if (!hsmca_fault_fn_from_name(word, fn))
        return bad(p, "%s: '%s' is not a PKCS#11 v2.40 function name (e.g. C_Sign) or '*'",
                   key, word);
    if (hsmca_fault_fn_flags(*fn) & FAULT_FF_LIFECYCLE)
        return bad(p, "%s: %s cannot be targeted; the module needs it to load and unload",
                   key, word);
    return CKR_OK;
}

static CK_RV copy_path(struct parser *p, const char *key, const char *value,
                       size_t reserve, char *dst)
{
    size_t n = strlen(value);

    if (n + reserve >= FAULT_PATH_MAX)
        return bad(p, "%s: path is %zu bytes long; the limit is %zu", key, n,
                   (size_t)FAULT_PATH_MAX - reserve - 1);
    memcpy(dst, value, n + 1);
    return CKR_OK;
}

/* Single-valued keys may appear once, so that an edited file with a stale
 * line cannot silently keep the old value. */
static CK_RV once(struct parser *p, const char *key, unsigned *first_line)
{
    if (*first_line != 0)
        return bad(p, "'%s' given twice (first on line %u)", key, *first_line);
    *first_line = p->line;
    return CKR_OK;
}

static CK_RV key_module(struct parser *p, char *value)
{
    CK_RV rv = once(p, "module", &p->module_line);

    if (rv == CKR_OK)
        rv = copy_path(p, "module", value, 0, p->cfg->module);
    return rv;
}

static CK_RV key_counters(struct parser *p, char *value)
{
    CK_RV rv = once(p, "counters", &p->counters_line);

    if (rv == CKR_OK)
        rv = copy_path(p, "counters", value, COUNTERS_SUFFIX_MAX, p->cfg->counters);
    return rv;
}

static CK_RV parse_rv_list(struct parser *p, struct fault_rule *rule, char *list)
{
    char *item = list;

    while (item) {
        char *comma = strchr(item, ',');
        CK_RV v;

        if (comma)
            *comma = '\0';
        if (!hsmca_fault_rv_from_name(item, &v))
            return bad(p, "fail: rv '%s' is not a CKR_* name from pkcs11.h or a 0x... number",
                       item);
        if (v == CKR_OK)
            return bad(p, "fail: rv CKR_OK is not a fault");
        if (rule->n_rv == FAULT_MAX_RVS)
            return bad(p, "fail: more than %u rv values", FAULT_MAX_RVS);
        rule->rv[rule->n_rv++] = v;
        item = comma ? comma + 1 : NULL;
    }
    return CKR_OK;
}

static CK_RV key_fail(struct parser *p, char *value)
{
    CK_RV rv;
    char *words[MAX_WORDS];
    size_t n = split_words(value, words);
    struct fault_rule *rule;
    bool has_every = false, has_prob = false, has_rv = false;

    if (p->cfg->n_rules == FAULT_MAX_RULES)
        return bad(p, "fail: more than %u fail lines", FAULT_MAX_RULES);
    rule = &p->cfg->rules[p->cfg->n_rules];
    /* Two words get through so the checks below can name what is missing. */
    if (n < 2 || n > 3)
        return bad(p, "fail: expected '<FUNC|*> every=<N>|probability=<P> rv=<CKR_...>'");
    rv = parse_target(p, words[0], "fail", &rule->fn);
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 1; i < n; i++) {
        char *k, *v;
        if (!split_kv(words[i], &k, &v))
            return bad(p, "fail: '%s' is not key=value", words[i]);
        if (strcmp(k, "every") == 0 && !has_every) {
            has_every = true;
            rule->kind = FAULT_RULE_EVERY;
            if (!parse_uint(v, FAULT_MAX_EVERY, false, &rule->every) || rule->every == 0)
                return bad(p, "fail: every=%s must be an integer from 1 to %llu", v,
                           (unsigned long long)FAULT_MAX_EVERY);
        } else if (strcmp(k, "probability") == 0 && !has_prob) {
            has_prob = true;
            rule->kind = FAULT_RULE_PROBABILITY;
            if (!parse_probability(v, &rule->threshold))
                return bad(p, "fail: probability=%s must be a decimal from 0 to 1", v);
        } else if (strcmp(k, "rv") == 0 && !has_rv) {
            has_rv = true;
            rv = parse_rv_list(p, rule, v);
            if (rv != CKR_OK)
                return rv;
        } else {
            return bad(p, "fail: unexpected or repeated '%s='", k);
        }
    }
    if (has_every == has_prob)
        return bad(p, "fail: give exactly one of every=<N> and probability=<P>");
    if (!has_rv)
        return bad(p, "fail: rv=<CKR_...> is required");
    atomic_init(&rule->calls, 0);
    p->cfg->n_rules++;
    return CKR_OK;
}

static CK_RV key_removed(struct parser *p, char *value)
{
    CK_RV rv = once(p, "removed", &p->removed_line);
    char *words[MAX_WORDS];
    size_t n;
    bool has_after = false, has_for = false;

    if (rv != CKR_OK)
        return rv;
    n = split_words(value, words);
    if (n != 2)
        return bad(p, "removed: expected 'after_ms=<A> for_ms=<D>'");
    for (size_t i = 0; i < n; i++) {
        char *k, *v;
        uint64_t *dst;
        if (!split_kv(words[i], &k, &v))
            return bad(p, "removed: '%s' is not key=value", words[i]);
        if (strcmp(k, "after_ms") == 0 && !has_after) {
            has_after = true;
            dst = &p->cfg->removed_after_ms;
        } else if (strcmp(k, "for_ms") == 0 && !has_for) {
            has_for = true;
            dst = &p->cfg->removed_for_ms;
        } else {
            return bad(p, "removed: unexpected or repeated '%s='", k);
        }
        if (!parse_uint(v, FAULT_MAX_WINDOW_MS, false, dst))
            return bad(p, "removed: %s=%s must be an integer from 0 to %llu", k, v,
                       (unsigned long long)FAULT_MAX_WINDOW_MS);
    }
    p->cfg->has_removed = true;
    return CKR_OK;
}

static CK_RV key_latency(struct parser *p, char *value)
{
    CK_RV rv;
    char *words[MAX_WORDS];
    size_t n = split_words(value, words);
    unsigned fn;
    unsigned *first;
    char *k, *v;
    uint64_t us;

    if (n != 2)
        return bad(p, "latency: expected '<FUNC|*> us=<N>'");
    rv = parse_target(p, words[0], "latency", &fn);
    if (rv != CKR_OK)
        return rv;
    if (!split_kv(words[1], &k, &v) || strcmp(k, "us") != 0)
        return bad(p, "latency: expected us=<N>, got '%s'", words[1]);
    if (!parse_uint(v, FAULT_MAX_LATENCY_US, false, &us))
        return bad(p, "latency: us=%s must be an integer from 0 to %u", v,
                   FAULT_MAX_LATENCY_US);
    first = fn == FAULT_FN_ANY ? &p->star_latency_line : &p->latency_line[fn];
    if (*first != 0)
        return bad(p, "latency: %s given twice (first on line %u)", hsmca_fault_fn_name(fn),
                   *first);
    *first = p->line;
    if (fn == FAULT_FN_ANY)
        p->star_latency_us = (uint32_t)us;
    else
        p->cfg->latency_us[fn] = (uint32_t)us;
    return CKR_OK;
}

/* Calls `add` on each item of a comma-separated list. Empty items are
 * refused: "CKM_A,,CKM_B" is more likely a typo than a wish. */
static CK_RV each_item(struct parser *p, const char *key, char *list,
                       CK_RV (*add)(struct parser *, const char *))
{
    char *item = list;

    while (item) {
        char *comma = strchr(item, ',');
        char *name;
        CK_RV rv;

        if (comma)
            *comma = '\0';
        name = trim(item);
        if (!*name)
            return bad(p, "%s: empty item in list", key);
        rv = add(p, name);
        if (rv != CKR_OK)
            return rv;
        item = comma ? comma + 1 : NULL;
    }
    return CKR_OK;
}

static CK_RV add_hidden(struct parser *p, const char *name)
{
    CK_MECHANISM_TYPE m;

    if (!hsmca_fault_mech_from_name(name, &m))
        return bad(p, "hide_mechanisms: '%s' is not a known CKM_* name or a 0x... number",
                   name);
    if (p->cfg->n_hidden == FAULT_MAX_HIDDEN)
        return bad(p, "hide_mechanisms: more than %u mechanisms", FAULT_MAX_HIDDEN);
    p->cfg->hidden[p->cfg->n_hidden++] = m;
    return CKR_OK;
}

static CK_RV key_hide(struct parser *p, char *value)
{
    return each_item(p, "hide_mechanisms", value, add_hidden);
}

static CK_RV add_token_flag(struct parser *p, const char *name)
{
    CK_FLAGS f;

    if (!hsmca_fault_token_flag_from_name(name, &f))
        return bad(p, "token_flags_add: '%s' is not a CK_TOKEN_INFO CKF_* name or a 0x... number",
                   name);
    p->cfg->token_flags_add |= f;
    return CKR_OK;
}

static CK_RV key_token_flags(struct parser *p, char *value)
{
    return each_item(p, "token_flags_add", value, add_token_flag);
}

static CK_RV key_corrupt(struct parser *p, char *value)
{
    char *words[MAX_WORDS];
    size_t n = split_words(value, words);
    struct fault_corrupt *c;
    char *k, *v;

    if (p->cfg->n_corrupt == FAULT_MAX_CORRUPT)
        return bad(p, "corrupt: more than %u corrupt lines", FAULT_MAX_CORRUPT);
    c = &p->cfg->corrupt[p->cfg->n_corrupt];
    if (n != 2)
        return bad(p, "corrupt: expected 'C_Sign every=<N>'");
    /* Only functions that return a signature: flipping a bit elsewhere would
     * not test what corrupt= exists for (callers re-verifying signatures). */
    if (!hsmca_fault_fn_from_name(words[0], &c->fn) ||
        (c->fn != FAULT_FN_C_Sign && c->fn != FAULT_FN_C_SignFinal &&
         c->fn != FAULT_FN_C_SignRecover))
        return bad(p, "corrupt: '%s' must be C_Sign, C_SignFinal or C_SignRecover", words[0]);
    if (!split_kv(words[1], &k, &v) || strcmp(k, "every") != 0)
        return bad(p, "corrupt: expected every=<N>, got '%s'", words[1]);
    if (!parse_uint(v, FAULT_MAX_EVERY, false, &c->every) || c->every == 0)
        return bad(p, "corrupt: every=%s must be an integer from 1 to %llu", v,
                   (unsigned long long)FAULT_MAX_EVERY);
    atomic_init(&c->successes, 0);
    p->cfg->n_corrupt++;
    return CKR_OK;
}

static CK_RV add_flush(struct parser *p, const char *name)
{
    unsigned fn;

    if (!hsmca_fault_fn_from_name(name, &fn))
        return bad(p, "count_flush: '%s' is not a PKCS#11 v2.40 function name", name);
    p->cfg->flush_on[fn] = true;
    return CKR_OK;
}

static CK_RV key_count_flush(struct parser *p, char *value)
{
    CK_RV rv = once(p, "count_flush", &p->flush_line);

    if (rv != CKR_OK)
        return rv;
    /* The line replaces the default list; an empty value means "only at
     * C_Finalize and unload". */
    memset(p->cfg->flush_on, 0, sizeof p->cfg->flush_on);
    if (!*value)
        return CKR_OK;
    return each_item(p, "count_flush", value, add_flush);
}

static CK_RV key_seed(struct parser *p, char *value)
{
    CK_RV rv = once(p, "seed", &p->seed_line);

    if (rv != CKR_OK)
        return rv;
    if (!parse_uint(value, UINT64_MAX, true, &p->cfg->seed))
        return bad(p, "seed: '%s' must be an unsigned 64-bit integer (decimal or 0x...)",
                   value);
    p->cfg->has_seed = true;
    return CKR_OK;
}

static const struct {
    const char *key;
    CK_RV (*parse)(struct parser *, char *);
    bool empty_ok;
} keys[] = {
    {"module", key_module, false},
    {"fail", key_fail, false},
    {"removed", key_removed, false},
    {"latency", key_latency, false},
    {"hide_mechanisms", key_hide, false},
    {"token_flags_add", key_token_flags, false},
    {"corrupt", key_corrupt, false},
    {"counters", key_counters, false},
    {"count_flush", key_count_flush, true},
    {"seed", key_seed, false},
};

static CK_RV parse_line(struct parser *p, char *line)
{
    char *eq, *key, *value;

    /* '#' starts a comment at the start of a line or after whitespace, so
     * trailing comments work and "a#b" inside a value survives. */
    for (char *h = strchr(line, '#'); h; h = strchr(h + 1, '#')) {
        if (h == line || is_space(h[-1])) {
            *h = '\0';
            break;
        }
    }
    line = trim(line);
    if (!*line)
        return CKR_OK;
    eq = strchr(line, '=');
    if (!eq)
        return bad(p, "expected 'key = value', got '%s'", line);
    *eq = '\0';
    key = trim(line);
    value = trim(eq + 1);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].key, key) != 0)
            continue;
        if (!*value && !keys[i].empty_ok)
            return bad(p, "'%s' needs a value", key);
        return keys[i].parse(p, value);
    }
    return bad(p, "unknown key '%s'", key);
}

/* Reads the whole file into a NUL-terminated heap buffer of at most
 * FAULT_CONFIG_MAX_BYTES, refusing anything that is not a regular file. */
static CK_RV read_text(const char *path, char **out, char *err, size_t errlen)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    int fd = -1;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    char ebuf[128];

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open the fault configuration: %s", path,
                 strerror_r(errno, ebuf, sizeof ebuf));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: the fault configuration is not a regular file", path);
        goto done;
    }
    buf = malloc(FAULT_CONFIG_MAX_BYTES + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    /* Read one byte past the limit so a file that grew after fstat() is
     * still caught as too large. */
    while (len <= FAULT_CONFIG_MAX_BYTES) {
        ssize_t got = read(fd, buf + len, FAULT_CONFIG_MAX_BYTES + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errlen, "%s: read failed: %s", path,
                     strerror_r(errno, ebuf, sizeof ebuf));
            goto done;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (len > FAULT_CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than the %u-byte limit", path,
                 FAULT_CONFIG_MAX_BYTES);
        goto done;
    }
    if (memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s: contains a NUL byte; not a text file", path);
        goto done;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    rv = CKR_OK;
done:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rv;
}

CK_RV hsmca_fault_config_load(const char *path, bool require_module,
                              struct fault_config **out, char *err, size_t errlen)
{
    CK_RV rv = CKR_HOST_MEMORY;
    struct parser p = {.path = path, .err = err, .errlen = errlen};
    struct fault_config *cfg = NULL;
    char *text = NULL;
    char *line;

    cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    p.cfg = cfg;
    /* Default count_flush list: the calls after which a test most often
     * wants to look at the counters (see README.md). */
    cfg->flush_on[FAULT_FN_C_Initialize] = true;
    cfg->flush_on[FAULT_FN_C_Finalize] = true;
    cfg->flush_on[FAULT_FN_C_Login] = true;
    cfg->flush_on[FAULT_FN_C_Logout] = true;
    cfg->flush_on[FAULT_FN_C_OpenSession] = true;

    rv = read_text(path, &text, err, errlen);
    if (rv != CKR_OK)
        goto done;
    /* Bounded: the text is at most FAULT_CONFIG_MAX_BYTES long. */
    line = text;
    while (line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        p.line++;
        rv = parse_line(&p, line);
        if (rv != CKR_OK)
            goto done;
        line = nl ? nl + 1 : NULL;
    }
    if (require_module && !cfg->module[0]) {
        snprintf(err, errlen, "%s: the required key 'module' (path of the real PKCS#11 module) is missing",
                 path);
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    if (p.star_latency_line) {
        for (unsigned fn = 0; fn < FAULT_FN_COUNT; fn++) {
            if (!p.latency_line[fn] && !(hsmca_fault_fn_flags(fn) & FAULT_FF_LIFECYCLE))
                cfg->latency_us[fn] = p.star_latency_us;
        }
    }
    *out = cfg;
    cfg = NULL;
    rv = CKR_OK;
done:
    free(text);
    hsmca_fault_config_free(cfg);
    return rv;
}

void hsmca_fault_config_free(struct fault_config *cfg)
{
    free(cfg);
}
