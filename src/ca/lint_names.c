/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint, name rules: subject attribute strings (NUL, encoding,
 * RFC 5280 upper bounds), subjectAltName syntax (DNS names with IDNA and
 * RFC 6125 wildcards, rfc822Name, URI, iPAddress), and the commonName's
 * place among the SANs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lint_internal.h"

/* RFC 1035 2.3.4 / RFC 1034 3.5: 63-octet labels; 253 octets for a name
 * written without its trailing dot. */
#define DNS_LABEL_MAX 63
#define DNS_NAME_MAX  253
/* RFC 5321 4.5.3.1.1 (local part) and the 254-octet path limit less
 * its angle brackets. */
#define EMAIL_LOCAL_MAX 64
#define EMAIL_MAX       254
/* Attributes in one subject: real names have fewer than ten. */
#define SUBJECT_MAX_ATTRIBUTES 64
/* RFC 5280 Appendix A ub-name, the bound for attributes without their own. */
#define UB_NAME 32768

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ldh(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ---- subject attribute strings ---- */

/* RFC 3629 UTF-8, strictly: no overlong forms, no surrogates, nothing above
 * U+10FFFF. *chars receives the number of code points. */
static bool utf8_valid(const unsigned char *p, size_t len, size_t *chars)
{
    size_t i = 0, n = 0;
    bool ok = true;

    while (i < len && ok) {
        unsigned char c = p[i];
        size_t extra;
        unsigned long cp;

        if (c < 0x80) {
            extra = 0;
            cp = c;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            ok = false;
            break;
        }
        if (extra > len - i - 1) {
            ok = false;
            break;
        }
        for (size_t k = 1; k <= extra && ok; k++) {
            ok = (p[i + k] & 0xc0) == 0x80;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* Shortest form only (RFC 3629 3), and the Unicode scalar range. */
        if (ok && ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
                   (cp >= 0xd800 && cp <= 0xdfff)))
            ok = false;
        i += extra + 1;
        n++;
    }
    *chars = n;
    return ok;
}

/* X.680 41.4 PrintableString. */
static bool printable_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' ||
           c == ',' || c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '?';
}

/* Whether an attribute string holds a NUL code point, by its type's
 * code unit width. */
static bool has_nul(int type, const unsigned char *p, size_t len)
{
    size_t unit = type == V_ASN1_BMPSTRING ? 2 : type == V_ASN1_UNIVERSALSTRING ? 4 : 1;
    bool nul = false;

    for (size_t i = 0; i + unit <= len && !nul; i += unit) {
        nul = true;
        for (size_t k = 0; k < unit; k++)
            nul = nul && p[i + k] == 0;
    }
    return nul;
}

/* Checks the string against its type; *chars gets its length in
 * characters (what the RFC 5280 upper bounds count). *why is NULL when the
 * string is valid, or a reason. Types that are not character strings are
 * left alone (*chars = 0). */
static void string_check(int type, const unsigned char *p, size_t len, size_t *chars, const char **why)
{
    *why = NULL;
    *chars = len;
    switch (type) {
    case V_ASN1_UTF8STRING:
        if (!utf8_valid(p, len, chars))
            *why = "is not valid UTF-8";
        break;
    case V_ASN1_PRINTABLESTRING:
        for (size_t i = 0; i < len && *why == NULL; i++)
            if (!printable_char(p[i]))
                *why = "has a character outside PrintableString";
        break;
    case V_ASN1_IA5STRING:
        for (size_t i = 0; i < len && *why == NULL; i++)
            if (p[i] >= 0x80)
                *why = "has a non-ASCII octet in an IA5String";
        break;
    case V_ASN1_VISIBLESTRING:
        for (size_t i = 0; i < len && *why == NULL; i++)
            if (p[i] < 0x20 || p[i] > 0x7e)
                *why = "has a character outside VisibleString";
        break;
    case V_ASN1_NUMERICSTRING:
        for (size_t i = 0; i < len && *why == NULL; i++)
            if (!is_digit(p[i]) && p[i] != ' ')
                *why = "has a character outside NumericString";
        break;
    case V_ASN1_BMPSTRING:
        *chars = len / 2;
        if (len % 2 != 0)
            *why = "is a BMPString of odd length";
        for (size_t i = 0; i + 1 < len && *why == NULL; i += 2)
            if (p[i] >= 0xd8 && p[i] <= 0xdf)
                *why = "has a surrogate code unit in a BMPString";
        break;
    case V_ASN1_UNIVERSALSTRING:
        *chars = len / 4;
        if (len % 4 != 0)
            *why = "is a UniversalString whose length is not a multiple of 4";
        for (size_t i = 0; i + 3 < len && *why == NULL; i += 4) {
            unsigned long cp = ((unsigned long)p[i] << 24) | ((unsigned long)p[i + 1] << 16) |
                               ((unsigned long)p[i + 2] << 8) | p[i + 3];
            if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                *why = "has a code point outside Unicode in a UniversalString";
        }
        break;
    case V_ASN1_T61STRING:
        /* TeletexString has no usable character set definition; only its
         * length is bounded. */
        break;
    default:
        *chars = 0;
        break;
    }
}

/* RFC 5280 Appendix A upper bounds (in characters); countryName is a
 * two-letter PrintableString (ISO 3166, X.520). Minimum 1 for all: an
 * empty attribute value names nothing. */
static void attribute_bounds(int nid, size_t *min, size_t *max)
{
    *min = 1;
    switch (nid) {
    case NID_countryName:
        *min = 2;
        *max = 2;
        break;
    case NID_commonName:
    case NID_organizationName:
    case NID_organizationalUnitName:
    case NID_title:
    case NID_serialNumber:
        *max = 64;
        break;
    case NID_localityName:
    case NID_stateOrProvinceName:
    case NID_pseudonym:
    case NID_streetAddress:
        *max = 128;
        break;
    case NID_postalCode:
        *max = 40;
        break;
    case NID_pkcs9_emailAddress:
        *max = 255;
        break;
    case NID_domainComponent:
        *max = DNS_LABEL_MAX;
        break;
    default:
        *max = UB_NAME;
        break;
    }
}

hsmca_rv lint_check_subject_strings(lint_ctx *ctx)
{
    const X509_NAME *subject = X509_get_subject_name(ctx->tbs);
    int n = X509_NAME_entry_count(subject);
    char shown[LINT_VALUE_MAX];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (n > SUBJECT_MAX_ATTRIBUTES) {
        rv = lint_fail(ctx, LINT_SUBJECT_LENGTH, "the subject has %d attributes; at most %d allowed", n,
                       SUBJECT_MAX_ATTRIBUTES);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        const char *attr = nid != NID_undef ? OBJ_nid2sn(nid) : "attribute";
        const unsigned char *p = ASN1_STRING_get0_data(v);
        size_t len = (size_t)ASN1_STRING_length(v), chars = 0, min = 0, max = 0;
        int type = ASN1_STRING_type(v);
        const char *why = NULL;

        lint_render(p, len, shown, sizeof(shown));
        /* A NUL makes C-string consumers see a different name than the
         * one signed (the 2009 "null prefix" certificates). */
        if (has_nul(type, p, len)) {
            rv = lint_fail(ctx, LINT_SUBJECT_NUL, "subject %s '%s' contains a NUL character", attr, shown);
            goto done;
        }
        string_check(type, p, len, &chars, &why);
        if (why != NULL) {
            rv = lint_fail(ctx, LINT_SUBJECT_ENCODING, "subject %s '%s' %s", attr, shown, why);
            goto done;
        }
        if (nid == NID_countryName && type != V_ASN1_PRINTABLESTRING) {
            rv = lint_fail(ctx, LINT_SUBJECT_ENCODING, "subject C '%s' is not a PrintableString (X.520)",
                           shown);
            goto done;
        }
        attribute_bounds(nid, &min, &max);
        if (chars != 0 || len == 0) {
            if (chars < min || chars > max) {
                rv =
                    lint_fail(ctx, LINT_SUBJECT_LENGTH, "subject %s '%s' is %zu characters; %zu..%zu allowed",
                              attr, shown, chars, min, max);
                goto done;
            }
        }
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* ---- DNS names ---- */

/* RFC 3492 5: a-z/A-Z are 0..25, 0-9 are 26..35; anything else is not a
 * digit (36, never < base). */
static int punycode_digit(unsigned char c)
{
    int d = 36;

    if (c >= '0' && c <= '9')
        d = c - '0' + 26;
    else if (c >= 'a' && c <= 'z')
        d = c - 'a';
    else if (c >= 'A' && c <= 'Z')
        d = c - 'A';
    return d;
}

static uint32_t punycode_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    uint32_t k = 0;

    delta = first ? delta / 700 : delta / 2;
    delta += delta / numpoints;
    /* At most a handful of rounds: delta shrinks by 35 each time. */
    while (delta > ((36 - 1) * 26) / 2) {
        delta /= 36 - 1;
        k += 36;
    }
    return k + (36 * delta) / (delta + 38);
}

/* RFC 3492 6.2 decoding, with its overflow checks, counting only what the
 * A-label rules need: every decoded code point must be a Unicode scalar
 * value, at least one must be non-ASCII (RFC 5890 2.3.2.1: an A-label
 * decodes to a U-label), and the output fits a label. This is not full
 * IDNA2008 (no NFC, Bidi or contextual rules). */
bool lint_punycode_valid(const unsigned char *label, size_t len)
{
    const uint32_t base = 36, tmin = 1, tmax = 26;
    uint32_t n = 128, i = 0, bias = 72, out = 0;
    size_t in = 0, b = 0;
    bool non_ascii = false, ok = false;

    if (len == 0 || len > DNS_LABEL_MAX)
        goto done;
    /* The basic code points are everything before the last '-'. */
    for (size_t j = 0; j < len; j++)
        if (label[j] == '-')
            b = j;
    if (b > 0 || label[0] == '-') {
        out = (uint32_t)b;
        in = b + 1;
    }
    while (in < len) {
        uint32_t oldi = i, w = 1;

        /* Each round consumes one input octet: at most len rounds. */
        for (uint32_t k = base;; k += base) {
            uint32_t digit, t;

            if (in >= len)
                goto done;
            digit = (uint32_t)punycode_digit(label[in++]);
            if (digit >= base || digit > (UINT32_MAX - i) / w)
                goto done;
            i += digit * w;
            t = k <= bias ? tmin : k >= bias + tmax ? tmax : k - bias;
            if (digit < t)
                break;
            if (w > UINT32_MAX / (base - t))
                goto done;
            w *= base - t;
        }
        out++;
        bias = punycode_adapt(i - oldi, out, oldi == 0);
        if (i / out > UINT32_MAX - n)
            goto done;
        n += i / out;
        i %= out;
        /* A decoded code point is never basic (RFC 3492 6.2), and must be
         * a scalar value. */
        if (n < 0x80 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) || out > DNS_LABEL_MAX)
            goto done;
        non_ascii = true;
        i++;
    }
    ok = non_ascii;
done:
    return ok;
}

static bool prefix_ci(const unsigned char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    bool ok = len >= n;

    for (size_t i = 0; i < n && ok; i++)
        ok = lower(p[i]) == (unsigned char)prefix[i];
    return ok;
}

/* One label of a DNS name: label[0..len), idx its position from the left,
 * labels_after how many follow it. */
static lint_dns_verdict dns_label_check(const unsigned char *label, size_t len, size_t idx,
                                        size_t labels_after, bool wildcard_ok, bool cabf, const char **why)
{
    size_t stars = 0;
    lint_dns_verdict v = LINT_DNS_SYNTAX;

    if (len == 0) {
        *why = "has an empty label";
        goto done;
    }
    if (len > DNS_LABEL_MAX) {
        *why = "has a label longer than 63 octets";
        goto done;
    }
    for (size_t i = 0; i < len; i++)
        stars += label[i] == '*';
    if (stars > 0) {
        v = LINT_DNS_WILDCARD;
        if (!wildcard_ok) {
            *why = "has a wildcard where none is allowed";
            goto done;
        }
        /* RFC 6125 6.4.3: only the left-most label, one '*', never inside
         * an A-label; and a wildcard directly above a TLD would cover a
         * whole registry (BR 3.2.2.6), so two labels must follow. */
        if (idx != 0) {
            *why = "has a wildcard outside the left-most label";
            goto done;
        }
        if (stars > 1) {
            *why = "has more than one '*' in its left-most label";
            goto done;
        }
        if (cabf && len != 1) {
            *why = "has a partial-label wildcard; CA/B allows only \"*\" as the whole left-most label";
            goto done;
        }
        if (prefix_ci(label, len, "xn--")) {
            *why = "has a wildcard inside an A-label";
            goto done;
        }
        if (labels_after < 2) {
            *why = "has a wildcard followed by fewer than two labels";
            goto done;
        }
        v = LINT_DNS_SYNTAX;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_ldh(label[i]) && label[i] != '*') {
            *why = "has a character that is not a letter, digit or hyphen";
            goto done;
        }
    }
    if (label[0] == '-' || label[len - 1] == '-') {
        *why = "has a label that starts or ends with a hyphen";
        goto done;
    }
    /* RFC 5891 4.2.3.1: "--" in positions 3 and 4 is reserved; xn-- is the
     * A-label prefix and the rest must then be Punycode. */
    if (len >= 4 && label[2] == '-' && label[3] == '-') {
        v = LINT_DNS_IDN;
        if (!prefix_ci(label, len, "xn--")) {
            *why = "has a reserved label (\"--\" in positions 3 and 4, not xn--)";
            goto done;
        }
        if (!lint_punycode_valid(label + 4, len - 4)) {
            *why = "has an xn-- label that is not valid Punycode of non-ASCII text";
            goto done;
        }
    }
    v = LINT_DNS_OK;
done:
    return v;
}

lint_dns_verdict lint_dns_check(const unsigned char *name, size_t len, bool wildcard_ok, bool cabf,
                                const char **why)
{
    size_t labels = 1, idx = 0, start = 0;
    bool numeric_top = true;
    lint_dns_verdict v = LINT_DNS_SYNTAX;

    *why = NULL;
    if (len == 0) {
        *why = "is empty";
        goto done;
    }
    if (len > DNS_NAME_MAX) {
        *why = "is longer than 253 octets";
        goto done;
    }
    /* RFC 5280 4.2.1.6 / BR 7.1.2.7.12: no root label, i.e. no trailing
     * dot; names are compared as written. */
    if (name[len - 1] == '.') {
        *why = "ends with a dot";
        goto done;
    }
    for (size_t i = 0; i < len; i++)
        labels += name[i] == '.';
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.')
            continue;
        v = dns_label_check(name + start, i - start, idx, labels - idx - 1, wildcard_ok, cabf, why);
        if (v != LINT_DNS_OK)
            goto done;
        if (i == len) {
            for (size_t k = start; k < len; k++)
                numeric_top = numeric_top && is_digit(name[k]);
        }
        idx++;
        start = i + 1;
    }
    /* RFC 1123 2.1: a top-level label is alphabetic; an all-numeric one
     * makes the name look like an IPv4 address, which belongs in an
     * iPAddress SAN (BR 7.1.2.7.12). */
    if (numeric_top) {
        v = LINT_DNS_SYNTAX;
        *why = "has an all-numeric top-level label (an IP address belongs in iPAddress)";
        goto done;
    }
    v = LINT_DNS_OK;
done:
    return v;
}

/* ---- rfc822Name and URI ---- */

/* RFC 5322 3.2.3 atext. */
static bool atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5280 4.2.1.6: a mailbox, local-part "@" domain (RFC 5321 4.1.2).
 * The local part must be a dot-atom: quoted local parts are legal in mail
 * but no client matches them reliably, so they are refused here. */
static bool email_valid(const unsigned char *p, size_t len, const char **why)
{
    const unsigned char *at = NULL;
    size_t ats = 0, local_len;
    const char *dns_why = NULL;
    bool ok = false;

    for (size_t i = 0; i < len; i++) {
        if (p[i] == '@') {
            ats++;
            at = p + i;
        }
    }
    if (ats != 1 || at == NULL) {
        *why = "does not have exactly one '@'";
        goto done;
    }
    if (len > EMAIL_MAX) {
        *why = "is longer than 254 octets";
        goto done;
    }
    local_len = (size_t)(at - p);
    if (local_len == 0 || local_len > EMAIL_LOCAL_MAX) {
        *why = "has a local part that is empty or longer than 64 octets";
        goto done;
    }
    if (p[0] == '.' || p[local_len - 1] == '.') {
        *why = "has a local part that starts or ends with a dot";
        goto done;
    }
    for (size_t i = 0; i < local_len; i++) {
        if (!(atext(p[i]) || (p[i] == '.' && p[i + 1] != '.'))) {
            *why = "has a local part that is not a dot-atom";
            goto done;
        }
    }
    if (lint_dns_check(at + 1, len - local_len - 1, false, false, &dns_why) != LINT_DNS_OK) {
        *why = "has a domain that is not a valid DNS name";
        goto done;
    }
    ok = true;
done:
    return ok;
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 2.2 and 2.3: reserved and unreserved characters. */
static bool uri_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL);
}

/* The host of an authority: an IP literal in brackets, an IPv4 address or
 * a DNS name (RFC 5280 4.2.1.6: "the host part MUST contain either a fully
 * qualified domain name or an IP address"). */
static bool uri_host_valid(const unsigned char *auth, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    const unsigned char *host = auth;
    size_t hlen, port_from;
    const char *why = NULL;
    bool ok = false;

    /* userinfo ends at the last '@' */
    for (size_t i = 0; i < len; i++)
        if (auth[i] == '@')
            host = auth + i + 1;
    hlen = len - (size_t)(host - auth);
    if (hlen > 0 && host[0] == '[') {
        const unsigned char *close = memchr(host, ']', hlen);
        size_t inner;
        if (close == NULL)
            goto done;
        inner = (size_t)(close - host) - 1;
        if (inner == 0 || inner >= sizeof(buf))
            goto done;
        memcpy(buf, host + 1, inner);
        buf[inner] = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1)
            goto done;
        port_from = (size_t)(close - host) + 1;
    } else {
        port_from = hlen;
        for (size_t i = 0; i < hlen; i++) {
            if (host[i] == ':') {
                port_from = i;
                break;
            }
        }
        if (port_from == 0)
            goto done;
        if (port_from < sizeof(buf)) {
            memcpy(buf, host, port_from);
            buf[port_from] = '\0';
        }
        if (!(port_from < sizeof(buf) && inet_pton(AF_INET, buf, addr) == 1) &&
            lint_dns_check(host, port_from, false, false, &why) != LINT_DNS_OK)
            goto done;
    }
    /* Optional ":port", digits only. */
    if (port_from < hlen) {
        if (host[port_from] != ':')
            goto done;
        for (size_t i = port_from + 1; i < hlen; i++)
            if (!is_digit(host[i]))
                goto done;
    }
    ok = true;
done:
    return ok;
}

/* RFC 5280 4.2.1.6: "The name MUST NOT be a relative URI, and it MUST
 * follow the URI syntax and encoding rules specified in [RFC3986]. The
 * name MUST include both a scheme ... and a scheme-specific-part." */
static bool uri_valid(const unsigned char *p, size_t len, const char **why)
{
    size_t i = 1, rest;
    bool ok = false;

    if (len == 0 || !is_alpha(p[0])) {
        *why = "has no scheme";
        goto done;
    }
    /* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    while (i < len && (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'))
        i++;
    if (i == len || p[i] != ':') {
        *why = "has no scheme";
        goto done;
    }
    rest = i + 1;
    if (rest == len) {
        *why = "has no scheme-specific part";
        goto done;
    }
    for (size_t k = rest; k < len; k++) {
        if (p[k] == '%') {
            if (k + 2 >= len || !is_hex(p[k + 1]) || !is_hex(p[k + 2])) {
                *why = "has a '%' that does not start a percent-encoding";
                goto done;
            }
            k += 2;
        } else if (!uri_char(p[k])) {
            *why = "has a character that RFC 3986 does not allow";
            goto done;
        }
    }
    if (len - rest >= 2 && p[rest] == '/' && p[rest + 1] == '/') {
        size_t a = rest + 2, e = a;
        while (e < len && p[e] != '/' && p[e] != '?' && p[e] != '#')
            e++;
        if (!uri_host_valid(p + a, e - a)) {
            *why = "has an authority without a valid host";
            goto done;
        }
    }
    ok = true;
done:
    return ok;
}

/* ---- subjectAltName ---- */

static const ASN1_STRING *gn_string(const GENERAL_NAME *gn)
{
    const ASN1_STRING *s = NULL;

    switch (gn->type) {
    case GEN_DNS:
        s = gn->d.dNSName;
        break;
    case GEN_EMAIL:
        s = gn->d.rfc822Name;
        break;
    case GEN_URI:
        s = gn->d.uniformResourceIdentifier;
        break;
    case GEN_OTHERNAME: {
        const ASN1_TYPE *t = gn->d.otherName->value;
        /* Only character strings (UTF8String for UPNs and OpenBao's
         * other_sans) hold text a NUL could cut short; an INTEGER or a
         * SEQUENCE has zero octets as a matter of course. */
        if (t != NULL &&
            (t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_IA5STRING ||
             t->type == V_ASN1_PRINTABLESTRING || t->type == V_ASN1_VISIBLESTRING ||
             t->type == V_ASN1_T61STRING || t->type == V_ASN1_BMPSTRING || t->type == V_ASN1_UNIVERSALSTRING))
            s = t->value.asn1_string;
        break;
    }
    default:
        break;
    }
    return s;
}

static const char *gn_kind(int type)
{
    const char *kind = "name";

    if (type == GEN_DNS)
        kind = "dNSName";
    else if (type == GEN_EMAIL)
        kind = "rfc822Name";
    else if (type == GEN_URI)
        kind = "uniformResourceIdentifier";
    else if (type == GEN_OTHERNAME)
        kind = "otherName";
    return kind;
}

static hsmca_rv check_dns_name(lint_ctx *ctx, const ASN1_STRING *s)
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t len = (size_t)ASN1_STRING_length(s);
    char shown[LINT_VALUE_MAX];
    const char *why = NULL;
    lint_dns_verdict v;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    lint_render(p, len, shown, sizeof(shown));
    /* A CA's SAN names hosts it is, never a pattern of hosts. */
    if (ctx->is_ca && memchr(p, '*', len) != NULL) {
        rv = lint_fail(ctx, LINT_SAN_DNS_WILDCARD_CA, "dNSName '%s' of a CA certificate has a wildcard",
                       shown);
        goto done;
    }
    v = lint_dns_check(p, len, !ctx->is_ca, ctx->opts->cabf, &why);
    if (v == LINT_DNS_WILDCARD) {
        rv = lint_fail(ctx, LINT_SAN_DNS_WILDCARD, "dNSName '%s' %s", shown, why);
        goto done;
    }
    if (v == LINT_DNS_IDN) {
        rv = lint_fail(ctx, LINT_SAN_DNS_IDN, "dNSName '%s' %s", shown, why);
        goto done;
    }
    if (v != LINT_DNS_OK) {
        rv = lint_fail(ctx, LINT_SAN_DNS_SYNTAX, "dNSName '%s' %s", shown, why);
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv lint_check_san(lint_ctx *ctx)
{
    const GENERAL_NAMES *san = ctx->ext.san.value;
    char shown[LINT_VALUE_MAX];
    int n;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (!ctx->ext.san.present) {
        rv = HSMCA_OK;
        goto done;
    }
    n = sk_GENERAL_NAME_num(san);
    if (n > LINT_MAX_SAN_NAMES) {
        rv = lint_fail(ctx, LINT_SAN_COUNT, "%d subjectAltName entries; at most %d allowed", n,
                       LINT_MAX_SAN_NAMES);
        goto done;
    }
    /* NULs first, over every entry: whatever else is wrong with a name,
     * an embedded NUL is the finding that matters (C-string consumers
     * would match the part before it). */
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
        const ASN1_STRING *s = gn_string(gn);
        if (s != NULL &&
            has_nul(ASN1_STRING_type(s), ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s))) {
            rv = lint_fail(
                ctx, LINT_SAN_NUL, "%s '%s' contains a NUL character", gn_kind(gn->type),
                lint_render(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), shown, sizeof(shown)));
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
        const ASN1_STRING *s = gn_string(gn);
        const char *why = NULL;

        switch (gn->type) {
        case GEN_IPADD: {
            int len = ASN1_STRING_length(gn->d.iPAddress);
            if (len != 4 && len != 16) {
                rv = lint_fail(ctx, LINT_SAN_IP, "iPAddress of %d octets; 4 (IPv4) or 16 (IPv6) required",
                               len);
                goto done;
            }
            break;
        }
        case GEN_DNS:
            if ((rv = check_dns_name(ctx, s)) != HSMCA_OK)
                goto done;
            break;
        case GEN_EMAIL:
            if (!email_valid(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), &why)) {
                rv = lint_fail(ctx, LINT_SAN_EMAIL, "rfc822Name '%s' %s",
                               lint_render(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), shown,
                                           sizeof(shown)),
                               why);
                goto done;
            }
            break;
        case GEN_URI:
            if (!uri_valid(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), &why)) {
                rv = lint_fail(ctx, LINT_SAN_URI, "URI '%s' %s",
                               lint_render(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), shown,
                                           sizeof(shown)),
                               why);
                goto done;
            }
            break;
        default:
            /* directoryName, registeredID, otherName, x400Address,
             * ediPartyName: no syntax beyond their DER, checked with the
             * extension. */
            break;
        }
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* ---- commonName among the SANs ---- */

/* What the CN check treats as a hostname: ASCII letters, digits, '-', '*'
 * and at least one '.', e.g. "www.example.com" or "*.example.com". A CN
 * such as "Example Server", "alice@example.com" or a single label like
 * "localhost" is a label for people, not a name clients match, so it is
 * not required to be among the SANs (outside CA/B mode). */
static bool cn_looks_like_host(const char *cn, size_t len)
{
    bool dot = false, ok = len > 0;

    for (size_t i = 0; i < len && ok; i++) {
        unsigned char c = (unsigned char)cn[i];
        dot = dot || c == '.';
        ok = is_ldh(c) || c == '.' || c == '*';
    }
    return ok && dot;
}

static bool ascii_equal_ci(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
    bool eq = la == lb;

    for (size_t i = 0; i < la && eq; i++)
        eq = lower(a[i]) == lower(b[i]);
    return eq;
}

/* One CN value (UTF-8, no NUL: subject.nul ran first) against the SANs.
 * With cabf (BR 7.1.2.7.2) any CN must be one of the dNSName/iPAddress
 * entries: a dNSName character for character, an IP address in its
 * canonical text form (RFC 3986 3.2.2 dotted quad, RFC 5952 for IPv6).
 * Without cabf, a hostname-like CN must match a dNSName ignoring ASCII case
 * when there are dNSNames, and an IP-address CN an iPAddress by value when
 * there are iPAddresses (RFC 6125 6.4.4: clients that see a SAN ignore the
 * CN, so a CN outside the SANs names a host the certificate does not
 * cover). */
static hsmca_rv check_one_cn(lint_ctx *ctx, const char *cn, size_t len)
{
    const GENERAL_NAMES *san = ctx->ext.san.present ? ctx->ext.san.value : NULL;
    int n = san != NULL ? sk_GENERAL_NAME_num(san) : 0, family = 0, n_dns = 0, n_ip = 0;
    unsigned char addr[16];
    char shown[LINT_VALUE_MAX], text[INET6_ADDRSTRLEN];
    bool cabf = ctx->opts->cabf, match = false, host;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (inet_pton(AF_INET, cn, addr) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, cn, addr) == 1)
        family = AF_INET6;
    host = family == 0 && cn_looks_like_host(cn, len);
    for (int i = 0; i < n && !match; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
        if (gn->type == GEN_DNS) {
            const ASN1_STRING *s = gn->d.dNSName;
            const unsigned char *p = ASN1_STRING_get0_data(s);
            size_t l = (size_t)ASN1_STRING_length(s);
            n_dns++;
            if (family == 0)
                match = cabf ? (l == len && memcmp(p, cn, len) == 0)
                             : ascii_equal_ci(p, l, (const unsigned char *)cn, len);
        } else if (gn->type == GEN_IPADD) {
            const ASN1_STRING *s = gn->d.iPAddress;
            int l = ASN1_STRING_length(s);
            int f = l == 4 ? AF_INET : l == 16 ? AF_INET6 : 0;
            n_ip++;
            if (family == 0 || f != family)
                continue;
            if (cabf)
                match = inet_ntop(f, ASN1_STRING_get0_data(s), text, sizeof(text)) != NULL &&
                        strcmp(text, cn) == 0;
            else
                match = memcmp(ASN1_STRING_get0_data(s), addr, (size_t)l) == 0;
        }
    }
    lint_render((const unsigned char *)cn, len, shown, sizeof(shown));
    if (match) {
        rv = HSMCA_OK;
        goto done;
    }
    if (cabf) {
        rv = lint_fail(ctx, LINT_SUBJECT_CN_IN_SAN,
                       "commonName '%s' is not, character for character, one of the dNSName/iPAddress SANs",
                       shown);
        goto done;
    }
    if (family != 0 && n_ip > 0) {
        rv = lint_fail(ctx, LINT_SUBJECT_CN_IN_SAN, "commonName '%s' is not among the %d iPAddress SANs",
                       shown, n_ip);
        goto done;
    }
    if (host && n_dns > 0) {
        rv = lint_fail(ctx, LINT_SUBJECT_CN_IN_SAN, "commonName '%s' is not among the %d dNSName SANs", shown,
                       n_dns);
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv lint_check_cn_in_san(lint_ctx *ctx)
{
    const X509_NAME *subject = X509_get_subject_name(ctx->tbs);
    int n = X509_NAME_entry_count(subject);
    unsigned char *utf8 = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    /* A CA's CN is its name for people; leaves only. exclude_cn_from_sans
     * is the role saying the CN is deliberately elsewhere. */
    if (ctx->is_ca || (ctx->opts->exclude_cn_from_sans && !ctx->opts->cabf)) {
        rv = HSMCA_OK;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
        int len;

        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName)
            continue;
        len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (len < 0) {
            rv = lint_error(ctx, HSMCA_ERR_NOMEM, "cannot convert the commonName to UTF-8");
            goto done;
        }
        rv = check_one_cn(ctx, (const char *)utf8, (size_t)len);
        OPENSSL_free(utf8);
        utf8 = NULL;
        if (rv != HSMCA_OK)
            goto done;
    }
    rv = HSMCA_OK;
done:
    OPENSSL_free(utf8);
    return rv;
}
