/* SPDX-License-Identifier: Apache-2.0 */
/* Request values as OpenBao's API reads them: UTF-8 validity, and JSON
 * fields decoded with its weak typing (mapstructure.WeakDecode and the
 * framework's field types), each error naming the field. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/duration.h"
#include "hsmca/jsonfield.h"

bool hsmca_utf8_valid(const char *s, size_t len, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t need;
        uint32_t cp, min;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false; /* continuation byte first, 0xc0/0xc1 overlongs, or > U+10FFFF */
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* RFC 3629 3: overlong forms, UTF-16 surrogates and code points
         * past U+10FFFF are not UTF-8. */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += need + 1;
        n++;
    }
    if (chars != NULL)
        *chars = n;
    return true;
}


/* ---- JSON fields ---- */

const char *hsmca_jf_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON value";
}

/* A JSON string's bytes, refusing embedded NULs and bad UTF-8. */
static hsmca_rv text_of(const json_t *v, const char *field, size_t max, const char **s, size_t *len)
{
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (*len > max)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: value is longer than %zu bytes", field, max);
    if (!hsmca_utf8_valid(*s, *len, NULL))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: value is not valid UTF-8 or holds a NUL byte", field);
    return HSMCA_OK;
}

/* TypeBool through mapstructure.WeakDecode: booleans, 0/1 (a json.Number
 * goes through strconv.ParseBool as text), strconv.ParseBool strings, ""
 * as false, null as false. */
hsmca_rv hsmca_jf_bool(const json_t *v, const char *field, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", ""};
    const char *s;
    size_t len;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (json_is_boolean(v) || json_is_null(v)) {
        *out = json_is_true(v);
        return HSMCA_OK;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return HSMCA_OK;
    }
    if (json_is_string(v)) {
        rv = text_of(v, field, 16, &s, &len);
        if (rv != HSMCA_OK)
            return rv;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (strcmp(s, yes[i]) == 0) {
                *out = true;
                return HSMCA_OK;
            }
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
            if (strcmp(s, no[i]) == 0) {
                *out = false;
                return HSMCA_OK;
            }
        }
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: cannot parse '%s' as bool (true/false, 1/0, t/f)", field,
                         s);
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a boolean, got %s", field, hsmca_jf_kind(v));
}

/* TypeInt through parseutil.SafeParseInt: integers or decimal strings
 * (hsmca_jf_int64), within int. */
hsmca_rv hsmca_jf_int(const json_t *v, const char *field, int *out)
{
    int64_t x = 0;
    hsmca_rv rv = hsmca_jf_int64(v, field, &x);

    if (rv != HSMCA_OK)
        return rv;
    if (x < INT_MIN || x > INT_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: %lld is out of range", field, (long long)x);
    *out = (int)x;
    return HSMCA_OK;
}

/* TypeDurationSecond: parseutil.ParseDurationSecond, never negative. */
hsmca_rv hsmca_jf_duration(const json_t *v, const char *field, int64_t *out)
{
    int64_t secs = 0;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (json_is_null(v)) {
        secs = 0;
    } else if (json_is_integer(v)) {
        int64_t ns;

        secs = (int64_t)json_integer_value(v);
        /* The seconds must fit a Go time.Duration (int64 nanoseconds). */
        if (__builtin_mul_overflow(secs, INT64_C(1000000000), &ns))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: %lld seconds is out of range", field,
                             (long long)secs);
    } else if (json_is_string(v)) {
        const char *s;
        size_t len;

        rv = text_of(v, field, HSMCA_DURATION_TEXT_MAX, &s, &len);
        if (rv == HSMCA_OK)
            rv = hsmca_duration_parse_seconds(s, &secs);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("%s", field);
            return rv;
        }
    } else {
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s: expected a duration ('72h', '30m', '7d' or seconds), got %s", field,
                         hsmca_jf_kind(v));
    }
    if (secs < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: cannot provide negative value %lld", field,
                         (long long)secs);
    *out = secs;
    return HSMCA_OK;
}

hsmca_rv hsmca_jf_string(const json_t *v, const char *field, char *buf, size_t size)
{
    const char *s;
    size_t len;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (json_is_null(v)) {
        buf[0] = '\0';
        return HSMCA_OK;
    }
    if (!json_is_string(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a string, got %s", field, hsmca_jf_kind(v));
    rv = text_of(v, field, size - 1, &s, &len);
    if (rv != HSMCA_OK)
        return rv;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return HSMCA_OK;
}

/* TypeCommaStringSlice: a comma-separated string or an array of strings,
 * each entry trimmed of spaces (strutil.TrimStrings); empty entries are
 * dropped (OpenBao keeps them, and then skips them when matching). */
hsmca_rv hsmca_jf_list(const json_t *v, const char *field, size_t entry_max, hsmca_strlist *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_strlist l = {0};
    const char *s;
    size_t len;

    if (json_is_null(v)) {
        rv = HSMCA_OK;
    } else if (json_is_string(v)) {
        rv = text_of(v, field, (size_t)HSMCA_STRLIST_MAX * entry_max, &s, &len);
        if (rv == HSMCA_OK)
            rv = hsmca_strlist_add_csv(&l, s);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;

        if (json_array_size(v) > HSMCA_STRLIST_MAX) {
            rv = hsmca_err(rv, "%s: more than %d entries", field, HSMCA_STRLIST_MAX);
            goto done;
        }
        rv = HSMCA_OK;
        json_array_foreach(v, i, e)
        {
            const char *a, *b;

            if (!json_is_string(e)) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: entry %zu is %s, expected a string", field, i,
                               hsmca_jf_kind(e));
                goto done;
            }
            rv = text_of(e, field, entry_max, &s, &len);
            if (rv != HSMCA_OK)
                goto done;
            a = s;
            b = s + len;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b == a)
                continue;
            rv = hsmca_strlist_add(&l, a, (size_t)(b - a));
            if (rv != HSMCA_OK)
                goto done;
        }
    } else {
        rv = hsmca_err(rv, "%s: expected a comma-separated string or an array of strings, got %s", field,
                       hsmca_jf_kind(v));
        goto done;
    }
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("%s", field);
        goto done;
    }
    hsmca_strlist_clear(out);
    *out = l;
    memset(&l, 0, sizeof(l));
done:
    hsmca_strlist_clear(&l);
    return rv;
}


hsmca_rv hsmca_jf_int64(const json_t *v, const char *field, int64_t *out)
{
    long long x = 0;

    if (json_is_null(v)) {
        *out = 0;
        return HSMCA_OK;
    }
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s;
        size_t len;
        char *end = NULL;
        hsmca_rv rv = text_of(v, field, 24, &s, &len);

        if (rv != HSMCA_OK)
            return rv;
        if (len == 0) {
            *out = 0;
            return HSMCA_OK;
        }
        /* strtoll would skip leading white space; strconv.ParseInt does not. */
        if (!(s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: '%s' is not an integer", field, s);
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: '%s' is not an integer", field, s);
    } else {
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected an integer, got %s", field, hsmca_jf_kind(v));
    }
    *out = (int64_t)x;
    return HSMCA_OK;
}

hsmca_rv hsmca_jf_string_ref(const json_t *v, const char *field, size_t max, const char **out)
{
    size_t len;

    *out = "";
    if (json_is_null(v))
        return HSMCA_OK;
    if (!json_is_string(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a string, got %s", field, hsmca_jf_kind(v));
    return text_of(v, field, max, out, &len);
}

void hsmca_jf_cleanse(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_string(j)) {
        /* the string's bytes are jansson's own heap copy, writable */
        OPENSSL_cleanse((void *)(uintptr_t)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            hsmca_jf_cleanse(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            hsmca_jf_cleanse(v);
        }
    }
}
