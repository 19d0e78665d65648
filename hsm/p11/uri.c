/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7512 "pkcs11:" URIs: a strict parser, token matching and the canonical
 * formatter for key objects. */
#include "hsmca/p11_uri.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "hsmca/log.h"

/*
 * Memory: every buffer of this module, the struct and its members included,
 * comes from malloc() and goes back through free(). The header promises a
 * malloc'd string from hsmca_p11_uri_format(), so one allocator for the whole
 * module keeps callers from ever having to guess which free() a pointer needs.
 * pin_value is cleansed with OPENSSL_cleanse() before it is freed.
 */

#define URI_SCHEME "pkcs11:"
#define URI_SCHEME_LEN (sizeof(URI_SCHEME) - 1)

/* Longest attribute name accepted. The standard names top out at 20
 * ("library-manufacturer"); vendor names get room but not unlimited room. */
#define ATTR_NAME_MAX 64

/* Vendor path attributes remembered for the duplicate check (RFC 7512 2.3
 * forbids repeats in the path, vendor names included). */
#define VENDOR_ATTR_MAX 16

/* Bytes of a raw value quoted in an error message before it is cut. */
#define SHOW_MAX 32

typedef enum { COMP_PATH, COMP_QUERY } component;

typedef enum {
    KIND_TEXT,    /* NUL-terminated string, no embedded NUL */
    KIND_ABSPATH, /* KIND_TEXT that must be an absolute file name */
    KIND_LIBVER,  /* "M[.N]", each a CK_VERSION byte */
    KIND_ID,      /* binary, any byte */
    KIND_TYPE,    /* one of the five RFC 7512 2.3 object classes */
    KIND_SLOT_ID  /* 1*DIGIT into a CK_SLOT_ID (unsigned long) */
} attr_kind;

typedef struct {
    const char *name;
    size_t field; /* offsetof() the char * member, for string kinds */
    attr_kind kind;
    bool secret; /* value is never echoed into a message */
} attr_def;

/* RFC 7512 2.3: the path attributes. */
static const attr_def path_attrs[] = {
    {"token", offsetof(hsmca_p11_uri, token), KIND_TEXT, false},
    {"manufacturer", offsetof(hsmca_p11_uri, manufacturer), KIND_TEXT, false},
    {"model", offsetof(hsmca_p11_uri, model), KIND_TEXT, false},
    {"serial", offsetof(hsmca_p11_uri, serial), KIND_TEXT, false},
    {"object", offsetof(hsmca_p11_uri, object), KIND_TEXT, false},
    {"id", 0, KIND_ID, false},
    {"type", 0, KIND_TYPE, false},
    {"library-manufacturer", offsetof(hsmca_p11_uri, library_manufacturer), KIND_TEXT, false},
    {"library-description", offsetof(hsmca_p11_uri, library_description), KIND_TEXT, false},
    {"library-version", offsetof(hsmca_p11_uri, library_version), KIND_LIBVER, false},
    {"slot-description", offsetof(hsmca_p11_uri, slot_description), KIND_TEXT, false},
    {"slot-manufacturer", offsetof(hsmca_p11_uri, slot_manufacturer), KIND_TEXT, false},
    {"slot-id", 0, KIND_SLOT_ID, false},
};

/* RFC 7512 2.4: the query attributes. */
static const attr_def query_attrs[] = {
    {"pin-source", offsetof(hsmca_p11_uri, pin_source), KIND_TEXT, false},
    {"pin-value", offsetof(hsmca_p11_uri, pin_value), KIND_TEXT, true},
    {"module-name", offsetof(hsmca_p11_uri, module_name), KIND_TEXT, false},
    {"module-path", offsetof(hsmca_p11_uri, module_path), KIND_ABSPATH, false},
};

#define N_PATH_ATTRS (sizeof(path_attrs) / sizeof(path_attrs[0]))
#define N_QUERY_ATTRS (sizeof(query_attrs) / sizeof(query_attrs[0]))
/* parse_state tracks "seen" as one bit per table entry. */
_Static_assert(N_PATH_ATTRS <= 32 && N_QUERY_ATTRS <= 32, "seen bitmask is 32 bits");

/* Indexed by hsmca_p11_uri_type; the spellings of RFC 7512 2.3 pk11-type. */
static const char *const type_names[] = {
    [HSMCA_P11_URI_TYPE_ANY] = NULL,
    [HSMCA_P11_URI_TYPE_PRIVATE] = "private",
    [HSMCA_P11_URI_TYPE_PUBLIC] = "public",
    [HSMCA_P11_URI_TYPE_CERT] = "cert",
    [HSMCA_P11_URI_TYPE_SECRET_KEY] = "secret-key",
    [HSMCA_P11_URI_TYPE_DATA] = "data",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

/* What one parse has seen so far, for the duplicate checks. */
typedef struct {
    uint32_t seen_path;  /* bit i: path_attrs[i] present */
    uint32_t seen_query; /* bit i: query_attrs[i] present */
    char vendor[VENDOR_ATTR_MAX][ATTR_NAME_MAX + 1];
    size_t n_vendor;
} parse_state;

/* ---- character classes (RFC 3986 2.3, RFC 7512 2.3) ---- */

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 2.3 unreserved. */
static bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 7512 2.3 pk11-res-avail: reserved characters neither component uses
 * as a delimiter, so they may stand unencoded in both. */
static bool is_res_avail(unsigned char c)
{
    return c != '\0' && strchr(":[]@!$'()*+,=", c) != NULL;
}

/* The characters a component admits unencoded: pk11-pchar adds "&" (the
 * path splits on ";"), pk11-qchar adds "/", "?" and "|" (the query splits on
 * "&", so "&" in a query value must be %26). */
static bool is_literal_ok(component comp, unsigned char c)
{
    if (is_unreserved(c) || is_res_avail(c))
        return true;
    if (comp == COMP_PATH)
        return c == '&';
    return c == '/' || c == '?' || c == '|';
}

/* RFC 7512 2.3 pk11-v-attr-nm-char; the standard names are spelled with it
 * too, so one rule covers every attribute name. */
static bool is_name_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static const char *component_name(component comp)
{
    return comp == COMP_PATH ? "path" : "query";
}

/* ---- error messages ---- */

/* Quotes at most SHOW_MAX bytes of what the user wrote (still percent-
 * encoded, so it reads like their input). Bytes outside printable ASCII
 * become '?' so a message never carries control characters into a log, and
 * "..." marks a cut. A secret value (pin-value, or an attribute we do not
 * know and so cannot vouch for) is never quoted at all. */
static const char *show(char *buf, size_t cap, const char *raw, size_t len, bool secret)
{
    size_t n = 0;

    if (secret) {
        snprintf(buf, cap, "(value not shown)");
        return buf;
    }
    for (size_t i = 0; i < len && i < SHOW_MAX && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)raw[i];
        buf[n++] = (char)((c >= 0x20 && c < 0x7f) ? c : '?');
    }
    if (len > SHOW_MAX && n + 4 < cap) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- percent-decoding ---- */

typedef enum { DECODE_OK, DECODE_BAD_CHAR, DECODE_BAD_PCT } decode_result;

/* Decodes raw[0..len) into out, which has room for len + 1 bytes (decoding
 * never grows), and NUL-terminates it. Literal bytes must be ones the
 * component admits unencoded (RFC 7512 2.3 pk11-pchar / pk11-qchar); "%"
 * must be followed by two hex digits (RFC 3986 2.1). On failure *bad_at is
 * the offset of the offending byte and *out_len what was decoded so far (the
 * caller cleanses that much of a secret). */
static decode_result pct_decode(component comp, const char *raw, size_t len,
                                unsigned char *out, size_t *out_len, size_t *bad_at)
{
    size_t i = 0, n = 0;
    decode_result res = DECODE_OK;

    /* Each pass consumes one or three input bytes, so len bounds the loop. */
    while (i < len) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            int hi = i + 1 < len ? hex_value((unsigned char)raw[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value((unsigned char)raw[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                res = DECODE_BAD_PCT;
                *bad_at = i;
                break;
            }
            out[n++] = (unsigned char)(hi << 4 | lo);
            i += 3;
        } else if (is_literal_ok(comp, c)) {
            out[n++] = c;
            i++;
        } else {
            res = DECODE_BAD_CHAR;
            *bad_at = i;
            break;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return res;
}

/* Turns a decode failure into the error detail. `what` names the attribute
 * ("path attribute 'token'") or the name being read. */
static hsmca_rv decode_error(decode_result res, component comp, const char *what,
                             const char *raw, size_t len, size_t bad_at, bool secret)
{
    char shown[SHOW_MAX + 8];
    unsigned char c = (unsigned char)raw[bad_at];

    show(shown, sizeof(shown), raw, len, secret);
    if (res == DECODE_BAD_PCT)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s '%s': '%%' at offset %zu is not followed by two hex "
                         "digits (RFC 3986 2.1, RFC 7512 2.3)",
                         what, shown, bad_at);
    if (secret)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s '%s': a character at offset %zu must be "
                         "percent-encoded in the %s (RFC 7512 2.3 %s)",
                         what, shown, bad_at, component_name(comp),
                         comp == COMP_PATH ? "pk11-pchar" : "pk11-qchar");
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "%s '%s': character 0x%02x at offset %zu must be "
                     "percent-encoded in the %s (RFC 7512 2.3 %s)",
                     what, shown, (unsigned)c, bad_at, component_name(comp),
                     comp == COMP_PATH ? "pk11-pchar" : "pk11-qchar");
}

/* Frees a decode buffer of cap bytes, cleansing it first if it held a
 * secret (any of it may be PIN bytes, decoded or not). */
static void buf_free(unsigned char *buf, size_t cap, bool secret)
{
    if (buf == NULL)
        return;
    if (secret)
        OPENSSL_cleanse(buf, cap);
    free(buf);
}

/* ---- attribute values ---- */

/* RFC 7512 2.3 pk11-slot-id = 1*DIGIT, read into a CK_SLOT_ID. */
static hsmca_rv parse_slot_id(const unsigned char *v, size_t len, unsigned long *out,
                              const char *raw, size_t raw_len)
{
    char shown[SHOW_MAX + 8];
    unsigned long acc = 0;

    if (len == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "path attribute 'slot-id' is empty; it must be a decimal "
                         "number (RFC 7512 2.3 pk11-slot-id = 1*DIGIT)");
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(v[i]))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "path attribute 'slot-id' value '%s' is not a decimal "
                             "number (RFC 7512 2.3 pk11-slot-id = 1*DIGIT)",
                             show(shown, sizeof(shown), raw, raw_len, false));
        unsigned d = (unsigned)(v[i] - '0');
        if (acc > (ULONG_MAX - d) / 10)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "path attribute 'slot-id' value '%s' does not fit a "
                             "CK_SLOT_ID (at most %lu)",
                             show(shown, sizeof(shown), raw, raw_len, false), ULONG_MAX);
        acc = acc * 10 + d;
    }
    *out = acc;
    return HSMCA_OK;
}

/* RFC 7512 2.3 pk11-lib-ver = 1*DIGIT [ "." 1*DIGIT ]; both numbers are the
 * CK_VERSION bytes of CK_INFO.libraryVersion, so neither may exceed 255. */
static hsmca_rv check_library_version(const unsigned char *v, size_t len,
                                      const char *raw, size_t raw_len)
{
    char shown[SHOW_MAX + 8];
    size_t i = 0;

    /* Two numbers at most; each pass reads one and its separator. */
    for (int part = 0; part < 2; part++) {
        unsigned acc = 0;
        size_t start = i;
        while (i < len && is_digit(v[i])) {
            acc = acc * 10 + (unsigned)(v[i] - '0');
            if (acc > 255)
                return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                 "path attribute 'library-version' value '%s': each "
                                 "number is a CK_VERSION byte, 0 to 255 (RFC 7512 2.3)",
                                 show(shown, sizeof(shown), raw, raw_len, false));
            i++;
        }
        if (i == start)
            break; /* no digits where one was required */
        if (i == len)
            return HSMCA_OK;
        if (part == 0 && v[i] == '.')
            i++;
        else
            break;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "path attribute 'library-version' value '%s' is not M or M.N "
                     "(RFC 7512 2.3 pk11-lib-ver = 1*DIGIT [\".\" 1*DIGIT])",
                     show(shown, sizeof(shown), raw, raw_len, false));
}

/* RFC 7512 2.3 pk11-type. ABNF string literals are case-insensitive (RFC
 * 5234 2.3), so "CERT" is "cert". */
static hsmca_rv parse_type(const unsigned char *v, size_t len, hsmca_p11_uri_type *out,
                           const char *raw, size_t raw_len)
{
    char shown[SHOW_MAX + 8];

    for (size_t t = 1; t < N_TYPES; t++) {
        if (strlen(type_names[t]) == len &&
            strncasecmp(type_names[t], (const char *)v, len) == 0) {
            *out = (hsmca_p11_uri_type)t;
            return HSMCA_OK;
        }
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "path attribute 'type' value '%s' is not one of private, public, "
                     "cert, secret-key, data (RFC 7512 2.3 pk11-type)",
                     show(shown, sizeof(shown), raw, raw_len, false));
}

/* Stores one recognised attribute of component comp. Takes ownership of *buf
 * (setting it to NULL) when the value is kept; otherwise the caller frees. */
static hsmca_rv store_attr(hsmca_p11_uri *uri, component comp, const attr_def *def,
                           unsigned char **buf, size_t len, const char *raw, size_t raw_len)
{
    char shown[SHOW_MAX + 8];
    hsmca_rv rv;

    switch (def->kind) {
    case KIND_ID:
        /* The header marks an absent id by id_len 0, so an empty id would
         * read back as "any id" and widen the match: refuse it instead. */
        if (len == 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "path attribute 'id' is empty; an empty CKA_ID cannot be "
                             "told apart from an absent id, so it is refused");
        uri->id = *buf;
        uri->id_len = len;
        *buf = NULL;
        return HSMCA_OK;
    case KIND_TYPE:
        return parse_type(*buf, len, &uri->type, raw, raw_len);
    case KIND_SLOT_ID:
        rv = parse_slot_id(*buf, len, &uri->slot_id, raw, raw_len);
        if (rv == HSMCA_OK)
            uri->has_slot_id = true;
        return rv;
    case KIND_TEXT:
    case KIND_ABSPATH:
    case KIND_LIBVER:
        break;
    }

    /* A C string cannot carry a NUL: "ab%00cd" would silently become "ab"
     * and match a different token or object than the one the URI names. */
    if (memchr(*buf, '\0', len) != NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s attribute '%s' value '%s' contains an encoded NUL (%%00), "
                         "which a string attribute cannot hold",
                         component_name(comp), def->name,
                         show(shown, sizeof(shown), raw, raw_len, def->secret));
    if (def->kind == KIND_LIBVER) {
        rv = check_library_version(*buf, len, raw, raw_len);
        if (rv != HSMCA_OK)
            return rv;
    }
    /* RFC 7512 2.4: module-path names the module file; a relative one would
     * load whatever library sits under that name in the current directory. */
    if (def->kind == KIND_ABSPATH && (*buf)[0] != '/')
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "query attribute 'module-path' value '%s' is not an absolute "
                         "path (RFC 7512 2.4)",
                         show(shown, sizeof(shown), raw, raw_len, false));

    char **member = (char **)(void *)((unsigned char *)uri + def->field);
    *member = (char *)*buf;
    *buf = NULL;
    return HSMCA_OK;
}

/* Reads an attribute name: percent-decoded like any other part of the URI,
 * then held to pk11-v-attr-nm-char and folded to lower case, since RFC 7512
 * spells its names as ABNF literals and those are case-insensitive (RFC 5234
 * 2.3). Folding also stops "PIN-VALUE" from slipping past the pin-value
 * rules as an unknown attribute. */
static hsmca_rv read_name(component comp, const char *raw, size_t len, char *name)
{
    unsigned char decoded[3 * ATTR_NAME_MAX + 1];
    char shown[SHOW_MAX + 8];
    size_t n = 0, bad_at = 0;
    decode_result res;

    name[0] = '\0'; /* defined on every path, not only on success */
    if (len == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s attribute has an empty name (RFC 7512 2.3: every "
                         "attribute is name=value)",
                         component_name(comp));
    /* Three raw bytes per decoded byte at most; longer cannot fit. */
    if (len > (size_t)3 * ATTR_NAME_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s attribute name '%s' is longer than %d bytes",
                         component_name(comp), show(shown, sizeof(shown), raw, len, false),
                         ATTR_NAME_MAX);
    res = pct_decode(comp, raw, len, decoded, &n, &bad_at);
    if (res != DECODE_OK)
        return decode_error(res, comp,
                            comp == COMP_PATH ? "path attribute name" : "query attribute name",
                            raw, len, bad_at, false);
    if (n == 0 || n > ATTR_NAME_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s attribute name '%s' must be 1 to %d bytes",
                         component_name(comp), show(shown, sizeof(shown), raw, len, false),
                         ATTR_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char(decoded[i]))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "%s attribute name '%s' may hold only letters, digits, '-' "
                             "and '_' (RFC 7512 2.3 pk11-v-attr-nm-char)",
                             component_name(comp), show(shown, sizeof(shown), raw, len, false));
        name[i] = (char)ascii_lower(decoded[i]);
    }
    name[n] = '\0';
    return HSMCA_OK;
}

static const attr_def *find_attr(component comp, const char *name, size_t *index)
{
    const attr_def *table = comp == COMP_PATH ? path_attrs : query_attrs;
    size_t count = comp == COMP_PATH ? N_PATH_ATTRS : N_QUERY_ATTRS;

    for (size_t i = 0; i < count; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *index = i;
            return &table[i];
        }
    }
    return NULL;
}

/* A path attribute hsmca does not know. RFC 7512 2.5 says an unrecognised
 * path attribute should make the URI match nothing; refusing the URI says
 * the same thing with a reason. Vendor attributes (pk11-v-pattr, RFC 7512
 * 2.3) named "x-..." are hsmca's one exception: accepted and ignored, but
 * still at most once each, as every path attribute (RFC 7512 2.3). */
static hsmca_rv unknown_path_attr(parse_state *st, const char *name, const char *raw_name,
                                  size_t raw_name_len)
{
    if (name[0] != 'x' || name[1] != '-' || name[2] == '\0') {
        char shown[SHOW_MAX + 8];
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "unknown path attribute '%s': a consumer cannot match what it "
                         "does not know, so the URI is refused (RFC 7512 2.5)",
                         show(shown, sizeof(shown), raw_name, raw_name_len, false));
    }
    for (size_t i = 0; i < st->n_vendor; i++) {
        if (strcmp(st->vendor[i], name) == 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "path attribute '%s' appears more than once (RFC 7512 2.3)",
                             name);
    }
    if (st->n_vendor == VENDOR_ATTR_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "more than %d vendor path attributes", VENDOR_ATTR_MAX);
    /* name is at most ATTR_NAME_MAX bytes (read_name checked). */
    memcpy(st->vendor[st->n_vendor], name, strlen(name) + 1);
    st->n_vendor++;
    return HSMCA_OK;
}

/* Parses one name=value segment of component comp. */
static hsmca_rv parse_attr(hsmca_p11_uri *uri, parse_state *st, component comp,
                           const char *seg, size_t seg_len)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    char name[ATTR_NAME_MAX + 1];
    char shown[SHOW_MAX + 8];
    char what[ATTR_NAME_MAX + 32];
    const attr_def *def = NULL;
    unsigned char *buf = NULL;
    const char *eq, *raw;
    size_t raw_len, cap = 0, len = 0, bad_at = 0, index = 0;
    uint32_t *seen = comp == COMP_PATH ? &st->seen_path : &st->seen_query;
    bool secret = true;
    decode_result res;

    /* RFC 7512 2.3: exactly one attribute between separators, so ";;", a
     * leading or a trailing separator is malformed, not "nothing". */
    if (seg_len == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "empty %s attribute (a stray '%c'; RFC 7512 2.3 puts one "
                       "name=value between separators)",
                       component_name(comp), comp == COMP_PATH ? ';' : '&');
        goto done;
    }
    eq = memchr(seg, '=', seg_len);
    if (eq == NULL) {
        /* No value, so nothing secret can be in what is quoted. */
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "%s attribute '%s' has no '=' (RFC 7512 2.3: name=value)",
                       component_name(comp), show(shown, sizeof(shown), seg, seg_len, false));
        goto done;
    }
    rv = read_name(comp, seg, (size_t)(eq - seg), name);
    if (rv != HSMCA_OK)
        goto done;
    raw = eq + 1;
    raw_len = seg_len - (size_t)(eq - seg) - 1;

    def = find_attr(comp, name, &index);
    if (def != NULL && (*seen & (UINT32_C(1) << index)) != 0) {
        /* RFC 7512 2.3 (path) and 2.4 (the standard query attributes). */
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "%s attribute '%s' appears more than once (RFC 7512 %s)",
                       component_name(comp), name, comp == COMP_PATH ? "2.3" : "2.4");
        goto done;
    }
    if (def == NULL && comp == COMP_PATH) {
        rv = unknown_path_attr(st, name, seg, (size_t)(eq - seg));
        if (rv != HSMCA_OK)
            goto done;
    }
    /* An attribute we do not know may be some vendor's PIN: never quote it. */
    secret = def == NULL || def->secret;

    /* Every value is decoded, known or not, so bad percent-encoding is an
     * error wherever it sits (RFC 3986 2.1). */
    cap = raw_len + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory parsing %s attribute '%s'",
                       component_name(comp), name);
        goto done;
    }
    res = pct_decode(comp, raw, raw_len, buf, &len, &bad_at);
    if (res != DECODE_OK) {
        snprintf(what, sizeof(what), "%s attribute '%s' value", component_name(comp), name);
        rv = decode_error(res, comp, what, raw, raw_len, bad_at, secret);
        goto done;
    }
    if (def == NULL) {
        /* RFC 7512 2.4: unknown (vendor) query attributes may repeat and
         * are the consumer's to interpret; hsmca ignores them, and the "x-"
         * path attributes accepted above. */
        rv = HSMCA_OK;
        goto done;
    }
    rv = store_attr(uri, comp, def, &buf, len, raw, raw_len);
    if (rv != HSMCA_OK)
        goto done;
    *seen |= UINT32_C(1) << index;

done:
    buf_free(buf, cap, secret);
    return rv;
}

/* Splits [start, end) on delim and parses every segment. */
static hsmca_rv parse_component(hsmca_p11_uri *uri, parse_state *st, component comp,
                                const char *start, const char *end)
{
    const char delim = comp == COMP_PATH ? ';' : '&';
    const char *p = start;

    /* Each pass consumes a segment and its separator, so a component of n
     * bytes has at most n + 1 segments; the bound is only a backstop. */
    for (size_t i = 0; i <= HSMCA_P11_URI_MAX; i++) {
        const char *sep = memchr(p, delim, (size_t)(end - p));
        const char *seg_end = sep != NULL ? sep : end;
        hsmca_rv rv = parse_attr(uri, st, comp, p, (size_t)(seg_end - p));
        if (rv != HSMCA_OK)
            return rv;
        if (sep == NULL)
            return HSMCA_OK;
        p = sep + 1;
    }
    return hsmca_err(HSMCA_ERR_INTERNAL, "pkcs11 URI %s has more segments than bytes",
                     component_name(comp));
}

/* Names the scheme of a URI that is not "pkcs11:" without quoting anything
 * after the first ':' (a mistyped scheme may still carry a pin-value). */
static hsmca_rv scheme_error(const char *text, size_t len)
{
    char shown[SHOW_MAX + 8];
    const char *colon = memchr(text, ':', len < 16 ? len : 16);

    if (colon == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "not a pkcs11 URI: it must start with \"pkcs11:\" (RFC 7512 2.3)");
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "not a pkcs11 URI: scheme '%s' is not \"pkcs11\" (RFC 7512 2.3)",
                     show(shown, sizeof(shown), text, (size_t)(colon - text), false));
}

hsmca_rv hsmca_p11_uri_parse(const char *text, hsmca_p11_uri **out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_p11_uri *uri = NULL;
    parse_state *st = NULL;
    const char *body, *end, *qmark;
    size_t len;

    hsmca_return_val_if_fail(out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    hsmca_return_val_if_fail(text != NULL, HSMCA_ERR_INVALID_ARG);

    /* strnlen: never read further than one byte past the limit. */
    len = strnlen(text, HSMCA_P11_URI_MAX + 1);
    if (len > HSMCA_P11_URI_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pkcs11 URI is longer than %d bytes",
                       HSMCA_P11_URI_MAX);
        goto done;
    }
    if (len == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "pkcs11 URI is empty; it must start with \"pkcs11:\" (RFC 7512 2.3)");
        goto done;
    }
    /* URI schemes are case-insensitive (RFC 3986 3.1). */
    if (len < URI_SCHEME_LEN || strncasecmp(text, URI_SCHEME, URI_SCHEME_LEN) != 0) {
        rv = scheme_error(text, len);
        goto done;
    }

    uri = calloc(1, sizeof(*uri));
    st = calloc(1, sizeof(*st));
    if (uri == NULL || st == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory parsing a pkcs11 URI");
        goto done;
    }

    /* RFC 7512 2.3: pk11-URI = "pkcs11:" pk11-path [ "?" pk11-query ]. The
     * path cannot hold a literal '?', so the first one ends it; either part
     * may be empty ("pkcs11:" matches everything). */
    body = text + URI_SCHEME_LEN;
    end = text + len;
    qmark = memchr(body, '?', (size_t)(end - body));
    if ((qmark != NULL ? qmark : end) > body) {
        rv = parse_component(uri, st, COMP_PATH, body, qmark != NULL ? qmark : end);
        if (rv != HSMCA_OK)
            goto done;
    }
    if (qmark != NULL && qmark + 1 < end) {
        rv = parse_component(uri, st, COMP_QUERY, qmark + 1, end);
        if (rv != HSMCA_OK)
            goto done;
    }
    /* RFC 7512 2.4: a URI with both pin-source and pin-value should be
     * refused as invalid. */
    if (uri->pin_source != NULL && uri->pin_value != NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "query attributes 'pin-source' and 'pin-value' are both present; "
                       "RFC 7512 2.4 says such a URI is invalid");
        goto done;
    }

    *out = uri;
    uri = NULL;
    rv = HSMCA_OK;

done:
    free(st);
    hsmca_p11_uri_free(uri);
    return rv;
}

void hsmca_p11_uri_free(hsmca_p11_uri *uri)
{
    if (uri == NULL)
        return;
    free(uri->token);
    free(uri->manufacturer);
    free(uri->model);
    free(uri->serial);
    free(uri->object);
    free(uri->id);
    free(uri->library_manufacturer);
    free(uri->library_description);
    free(uri->library_version);
    free(uri->slot_description);
    free(uri->slot_manufacturer);
    free(uri->pin_source);
    /* The parser refuses an embedded NUL, so strlen() covers every PIN byte. */
    if (uri->pin_value != NULL) {
        OPENSSL_cleanse(uri->pin_value, strlen(uri->pin_value));
        free(uri->pin_value);
    }
    free(uri->module_name);
    free(uri->module_path);
    free(uri);
}

/* A present attribute must equal the token's value exactly; an absent one
 * matches anything (RFC 7512 2.5). */
static bool attr_matches(const char *want, const char *have)
{
    return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

bool hsmca_p11_uri_match_token(const hsmca_p11_uri *uri, const char *label,
                               const char *manufacturer, const char *model,
                               const char *serial)
{
    hsmca_return_val_if_fail(uri != NULL, false);
    return attr_matches(uri->token, label) && attr_matches(uri->manufacturer, manufacturer) &&
           attr_matches(uri->model, model) && attr_matches(uri->serial, serial);
}

/* ---- formatting ---- */

/* The formatter's output. With buf NULL it only measures, saturating just
 * past HSMCA_P11_URI_MAX so no sum of value lengths can overflow; with buf
 * set it writes into exactly the capacity the measuring pass asked for, and
 * an append that would not fit sets `overflow` (a bug, never a truncation
 * the caller would not notice). */
typedef struct {
    char *buf;
    size_t len;
    size_t cap; /* including the NUL */
    bool overflow;
} outbuf;

static void out_raw(outbuf *o, const char *s, size_t n)
{
    if (o->buf == NULL) {
        size_t room = o->len < HSMCA_P11_URI_MAX ? HSMCA_P11_URI_MAX - o->len : 0;
        o->len = n > room ? (size_t)HSMCA_P11_URI_MAX + 1 : o->len + n;
        return;
    }
    if (o->overflow || n >= o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* Appends v percent-encoded: bytes the component admits unencoded stay as
 * they are unless encode_all; every other byte becomes %XX with upper-case
 * hex, the form RFC 3986 2.1 asks producers to use. */
static void out_encoded(outbuf *o, component comp, const unsigned char *v, size_t n,
                        bool encode_all)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        if (!encode_all && is_literal_ok(comp, v[i])) {
            out_raw(o, (const char *)&v[i], 1);
        } else {
            char pct[3] = {'%', hex[v[i] >> 4], hex[v[i] & 0x0f]};
            out_raw(o, pct, sizeof(pct));
        }
    }
}

/* Appends sep name=value for a present string attribute. */
static void out_attr(outbuf *o, component comp, bool *first, const char *name, const char *value)
{
    if (value == NULL)
        return;
    if (!*first)
        out_raw(o, comp == COMP_PATH ? ";" : "&", 1);
    *first = false;
    out_raw(o, name, strlen(name));
    out_raw(o, "=", 1);
    out_encoded(o, comp, (const unsigned char *)value, strlen(value), false);
}

/* Writes the canonical form into o (o->buf NULL: only measure). */
static void format_into(const hsmca_p11_uri *uri, outbuf *o)
{
    bool first = true;

    out_raw(o, URI_SCHEME, URI_SCHEME_LEN);
    out_attr(o, COMP_PATH, &first, "token", uri->token);
    out_attr(o, COMP_PATH, &first, "manufacturer", uri->manufacturer);
    out_attr(o, COMP_PATH, &first, "model", uri->model);
    out_attr(o, COMP_PATH, &first, "serial", uri->serial);
    out_attr(o, COMP_PATH, &first, "object", uri->object);
    if (uri->id_len > 0) {
        if (!first)
            out_raw(o, ";", 1);
        first = false;
        out_raw(o, "id=", 3);
        /* CKA_ID is bytes, not text: always %XX so the URI never depends on
         * which of its bytes happen to look printable. */
        out_encoded(o, COMP_PATH, uri->id, uri->id_len, true);
    }
    if (uri->type != HSMCA_P11_URI_TYPE_ANY)
        out_attr(o, COMP_PATH, &first, "type", type_names[uri->type]);
    /* The query is encoded with pk11-qchar, not pk11-pchar: a literal '&'
     * would split the value, while '/' may stay readable (RFC 7512 2.3). */
    if (uri->pin_source != NULL) {
        bool qfirst = true;
        out_raw(o, "?", 1);
        out_attr(o, COMP_QUERY, &qfirst, "pin-source", uri->pin_source);
    }
}

char *hsmca_p11_uri_format(const hsmca_p11_uri *uri)
{
    outbuf o = {NULL, 0, 0, false};
    char *result = NULL;

    hsmca_return_val_if_fail(uri != NULL, NULL);
    if ((size_t)uri->type >= N_TYPES) {
        hsmca_err(HSMCA_ERR_INVALID_ARG, "pkcs11 URI type %d is not a hsmca_p11_uri_type",
                  (int)uri->type);
        goto done;
    }
    if (uri->id_len > 0 && uri->id == NULL) {
        hsmca_err(HSMCA_ERR_INVALID_ARG, "pkcs11 URI id is NULL but id_len is %zu",
                  uri->id_len);
        goto done;
    }
    /* Two passes over the same code, so the size and the bytes agree. A
     * result the parser would refuse as too long is refused here: format's
     * output must parse back. */
    format_into(uri, &o);
    if (o.len > HSMCA_P11_URI_MAX) {
        hsmca_err(HSMCA_ERR_INVALID_ARG,
                  "formatted pkcs11 URI would be %zu bytes; the limit is %d", o.len,
                  HSMCA_P11_URI_MAX);
        goto done;
    }
    o.cap = o.len + 1;
    o.buf = malloc(o.cap);
    if (o.buf == NULL) {
        hsmca_err(HSMCA_ERR_NOMEM, "out of memory formatting a pkcs11 URI");
        goto done;
    }
    o.len = 0;
    format_into(uri, &o);
    if (o.overflow) {
        hsmca_err(HSMCA_ERR_INTERNAL, "pkcs11 URI formatter outgrew its measured size");
        goto done;
    }
    o.buf[o.len] = '\0';
    result = o.buf;
    o.buf = NULL;

done:
    free(o.buf);
    return result;
}
