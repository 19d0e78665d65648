/* SPDX-License-Identifier: Apache-2.0 */
/* Name rules of the policy engine: UTF-8 and DNS syntax, IDNA A-labels,
 * RFC 6125 wildcards, OpenBao's globs and its allowed_domains matching. */
#include "policy_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

/* Longest input a name function looks at: four bytes per character of a
 * 253-octet name is more than any A-label can come from. */
#define NAME_INPUT_MAX 1024

static bool ch_eq(char a, char b, bool nocase)
{
    if (nocase) {
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
    }
    return a == b;
}

bool policy_glob_match(const char *pattern, const char *subject, bool nocase)
{
    const char *p = pattern, *s = subject;
    const char *star = NULL, *resume = NULL;

    /* Backtracking to the last '*' only is enough when '*' is the one
     * metacharacter: it is the greedy-left-most match go-glob computes,
     * bounded by len(pattern) * len(subject) steps. */
    while (*s != '\0') {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p != '\0' && ch_eq(*p, *s, nocase)) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

void policy_quote(const char *s, char *buf, size_t size)
{
    size_t len, o = 0, keep;
    bool utf8;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (s == NULL)
        return;
    len = strnlen(s, NAME_INPUT_MAX);
    utf8 = policy_utf8_valid(s, len, NULL);
    /* Leave room for "..." and the NUL; an escape takes four bytes. */
    keep = size > 8 ? size - 8 : 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool esc = c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8);

        if (o + (esc ? 4 : 1) > keep) {
            /* Do not cut a UTF-8 sequence in two. */
            while (o > 0 && utf8 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
                o--;
            if (o > 0 && utf8 && (unsigned char)buf[o - 1] >= 0xc0)
                o--;
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (esc) {
            snprintf(buf + o, size - o, "\\x%02x", c);
            o += 4;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* OpenBao's labelRegex, ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]),
 * on len bytes: the RFC 1123 2.1 label shape without the length bound. */
static bool ldh_text(const char *s, size_t len)
{
    if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

policy_domain_result policy_domain_to_ascii(const char *in, char *out, size_t out_size, char *why,
                                            size_t why_size)
{
    policy_domain_result res = POLICY_DOMAIN_BAD_LENGTH;
    char label[NAME_INPUT_MAX + 1];
    const char *p = in;
    size_t o = 0, inlen;
    uint8_t *conv = NULL;

    why[0] = '\0';
    out[0] = '\0';
    inlen = strnlen(in, NAME_INPUT_MAX + 1);
    if (inlen == 0 || inlen > NAME_INPUT_MAX) {
        snprintf(why, why_size, "a DNS name has 1 to %d octets", POLICY_DNS_MAX);
        goto done;
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t llen = dot != NULL ? (size_t)(dot - p) : strlen(p);
        const char *add = p;
        size_t alen = llen;
        bool need_idn = llen >= 4 && strncasecmp(p, "xn--", 4) == 0;

        if (llen == 0) {
            /* A single trailing dot ends the name (Go's idna skips that
             * last empty label); any other empty label is an error. */
            if (dot == NULL && p != in)
                break;
            snprintf(why, why_size, "empty label (RFC 1035 2.3.4)");
            goto done;
        }
        for (size_t i = 0; i < llen && !need_idn; i++)
            need_idn = (unsigned char)p[i] >= 0x80;
        if (need_idn) {
            int rc;

            if (memchr(p, '*', llen) != NULL) {
                snprintf(why, why_size, "a wildcard label must be ASCII");
                res = POLICY_DOMAIN_BAD_IDN;
                goto done;
            }
            memcpy(label, p, llen);
            label[llen] = '\0';
            /* IDNA2008 (RFC 5891) with UTS #46 non-transitional mapping,
             * as browsers resolve names: U-label to A-label, and an
             * "xn--" label must decode to a valid U-label. */
            rc = idn2_lookup_u8((const uint8_t *)label, &conv, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
            if (rc != IDN2_OK) {
                char q[POLICY_QUOTE_BUF];

                policy_quote(label, q, sizeof(q));
                snprintf(why, why_size, "label '%s' is not a valid IDNA2008 label: %s", q, idn2_strerror(rc));
                res = POLICY_DOMAIN_BAD_IDN;
                goto done;
            }
            add = (const char *)conv;
            alen = strlen(add);
        }
        if (o + alen + 2 > out_size || o + alen > POLICY_DNS_MAX) {
            snprintf(why, why_size, "longer than %d octets (RFC 1035 2.3.4)", POLICY_DNS_MAX);
            goto done;
        }
        memcpy(out + o, add, alen);
        o += alen;
        out[o] = '\0';
        idn2_free(conv);
        conv = NULL;
        if (dot == NULL)
            break;
        out[o++] = '.';
        out[o] = '\0';
        p = dot + 1;
    }
    /* Label lengths are checked on the result: a U-label's A-label can be
     * longer than 63 octets even when the U-label looked short. */
    for (const char *l = out; *l != '\0';) {
        const char *d = strchr(l, '.');
        size_t n = d != NULL ? (size_t)(d - l) : strlen(l);

        if (n > POLICY_LABEL_MAX) {
            snprintf(why, why_size, "a label is longer than %d octets (RFC 1035 2.3.4)", POLICY_LABEL_MAX);
            goto done;
        }
        if (d == NULL)
            break;
        l = d + 1;
    }
    res = POLICY_DOMAIN_OK;
done:
    idn2_free(conv);
    return res;
}

/* Walks the labels of s: each must satisfy ok(label, len); at most 253
 * octets, no empty label (so no trailing dot). */
static bool labels_all(const char *s, bool (*ok)(const char *, size_t))
{
    size_t total = strnlen(s, POLICY_DNS_MAX + 1);
    const char *p = s;

    if (total == 0 || total > POLICY_DNS_MAX)
        return false;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (len == 0 || len > POLICY_LABEL_MAX || !ok(p, len))
            return false;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

bool policy_hostname_valid(const char *s)
{
    return labels_all(s, ldh_text);
}

bool policy_wildcard_label_valid(const char *label, size_t len)
{
    const char *star = memchr(label, '*', len);
    size_t pre, post;

    if (star == NULL || len > POLICY_LABEL_MAX || memchr(star + 1, '*', len - (size_t)(star - label) - 1))
        return false;
    pre = (size_t)(star - label);
    post = len - pre - 1;
    return (pre == 0 || ldh_text(label, pre)) && (post == 0 || ldh_text(star + 1, post));
}

static bool printable_label(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    }
    return true;
}

bool policy_dns_syntax_valid(const char *s)
{
    return labels_all(s, printable_label);
}

bool policy_dns_name_shaped(const char *s)
{
    const char *dot;

    if (strchr(s, '*') == NULL)
        return policy_hostname_valid(s);
    dot = strchr(s, '.');
    return dot != NULL && strnlen(s, POLICY_DNS_MAX + 1) <= POLICY_DNS_MAX &&
           policy_wildcard_label_valid(s, (size_t)(dot - s)) && strchr(dot + 1, '*') == NULL &&
           policy_hostname_valid(dot + 1);
}

static bool ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* name ends with "." + domain, ignoring ASCII case (RFC 4343). */
static bool is_subdomain_of(const char *name, const char *domain)
{
    size_t n = strlen(name), d = strlen(domain);

    return d > 0 && n > d + 1 && name[n - d - 1] == '.' && strcasecmp(name + n - d, domain) == 0;
}

static const char *yn(bool b)
{
    return b ? "true" : "false";
}

/* "[a, b, c]" of a role list, truncated to fit a message. */
static void render_list(const hsmca_strlist *l, char *buf, size_t size)
{
    size_t o = 0;

    o += (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < l->n && o < size; i++) {
        if (o + strlen(l->v[i]) + 6 >= size) {
            snprintf(buf + o, size - o, "...");
            o = strlen(buf);
            break;
        }
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", l->v[i]);
    }
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

bool policy_name_allowed(const hsmca_role *role, const char *name, char *why, size_t why_size)
{
    const char *at = strchr(name, '@');
    const char *reduced = name, *email_domain = NULL, *wild_label = NULL;
    size_t wild_len = 0;
    bool is_email = false, is_wild = false;
    char list[160];

    why[0] = '\0';
    /* An address is judged by its domain part, as OpenBao's validateNames
     * splits it (one '@' exactly). */
    if (at != NULL) {
        if (strchr(at + 1, '@') != NULL) {
            snprintf(why, why_size, "an email address has exactly one '@'");
            return false;
        }
        reduced = at + 1;
        email_domain = reduced;
        is_email = true;
    }
    if (strchr(reduced, '*') != NULL) {
        const char *star = strchr(reduced, '*');
        const char *dot = strchr(reduced, '.');

        is_wild = true;
        /* allow_wildcard_certificates takes precedence over every allowing
         * option, allow_any_name included (reference, Create/Update role). */
        if (!role->allow_wildcard_certificates) {
            snprintf(why, why_size, "it is a wildcard name and allow_wildcard_certificates is false");
            return false;
        }
        if (strchr(star + 1, '*') != NULL) {
            snprintf(why, why_size, "more than one wildcard character (RFC 6125 6.4.3 allows one)");
            return false;
        }
        wild_label = reduced;
        if (dot == NULL) {
            wild_len = strlen(reduced);
            reduced = "";
        } else {
            wild_len = (size_t)(dot - reduced);
            reduced = dot + 1;
            if (star > dot) {
                snprintf(why, why_size, "the wildcard is not in the left-most label (RFC 6125 6.4.3)");
                return false;
            }
        }
    }
    if (is_email && is_wild) {
        snprintf(why, why_size, "an email address cannot hold a wildcard");
        return false;
    }
    /* hsmca: a wildcard stands for one label of a longer name; a lone "*"
     * or "f*o" would match every single-label name. */
    if (is_wild && *reduced == '\0') {
        snprintf(why, why_size, "a wildcard must be followed by a domain (RFC 6125 6.4.3)");
        return false;
    }
    if (is_wild && role->cabf_validity_limit && wild_len != 1) {
        snprintf(why, why_size,
                 "cabf_validity_limit: the CA/Browser Forum Baseline Requirements allow a wildcard only as "
                 "the whole left-most label");
        return false;
    }
    /* enforce_hostnames applies even with allow_any_name (reference). */
    if (role->enforce_hostnames) {
        if (*reduced != '\0' && !policy_hostname_valid(reduced)) {
            char q[POLICY_QUOTE_BUF];

            policy_quote(reduced, q, sizeof(q));
            snprintf(why, why_size,
                     "enforce_hostnames: '%s' is not a valid host name (RFC 1123 2.1: letters, digits and "
                     "hyphens, labels of 1-63 octets)",
                     q);
            return false;
        }
        if (is_wild && !policy_wildcard_label_valid(wild_label, wild_len)) {
            snprintf(why, why_size,
                     "enforce_hostnames: the wildcard label is not one of the RFC 6125 forms *, *x, x*, x*y");
            return false;
        }
    }
    if (role->allow_any_name)
        return true;
    if (role->allow_localhost) {
        if (ieq(reduced, "localhost") || ieq(reduced, "localdomain"))
            return true;
        if (role->allow_subdomains &&
            (is_subdomain_of(reduced, "localhost") || is_subdomain_of(reduced, "localdomain") ||
             (is_wild && (ieq(reduced, "localhost") || ieq(reduced, "localdomain")))))
            return true;
    }
    for (size_t i = 0; i < role->allowed_domains.n; i++) {
        const char *d = role->allowed_domains.v[i];
        char ascii[POLICY_DNS_MAX + 2], dwhy[POLICY_WHY_BUF];

        if (d[0] == '\0')
            continue;
        /* Identity templates need an entity to fill them; hsmca tokens carry
         * none, so a template entry never matches (rather than matching its
         * literal text). */
        if (role->allowed_domains_template && strstr(d, "{{") != NULL)
            continue;
        /* Compare A-labels with A-labels: an allowed U-label domain matches
         * the A-label form a request is converted to. */
        if (policy_domain_to_ascii(d, ascii, sizeof(ascii), dwhy, sizeof(dwhy)) == POLICY_DOMAIN_OK)
            d = ascii;
        if (role->allow_bare_domains && (ieq(name, d) || (is_email && ieq(email_domain, d))))
            return true;
        if (role->allow_subdomains && (is_subdomain_of(reduced, d) || (is_wild && ieq(reduced, d))))
            return true;
        if (role->allow_glob_domains && strchr(d, '*') != NULL && policy_glob_match(d, name, true))
            return true;
    }
    if (role->allowed_domains.n == 0) {
        snprintf(why, why_size, "allowed_domains is empty and allow_any_name is false%s",
                 !role->allow_localhost && (ieq(reduced, "localhost") || ieq(reduced, "localdomain"))
                     ? " (allow_localhost is false)"
                     : "");
        return false;
    }
    render_list(&role->allowed_domains, list, sizeof(list));
    snprintf(why, why_size,
             "no match in allowed_domains %s with allow_bare_domains=%s, allow_subdomains=%s, "
             "allow_glob_domains=%s",
             list, yn(role->allow_bare_domains), yn(role->allow_subdomains), yn(role->allow_glob_domains));
    return false;
}
