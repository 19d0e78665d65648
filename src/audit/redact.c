/* SPDX-License-Identifier: Apache-2.0 */
/* Keeping secrets out of the audit log: the list of secret names, value
 * HMACs made in the token, and the cleaning of strings and details. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#define DETAILS_DEPTH_MAX 16
#define DETAILS_NODES_MAX 4096
#define NAME_MAX_BYTES 128
/* Any PEM private key (PKCS#8, "RSA", "EC", "ENCRYPTED", "OPENSSH" ...)
 * carries this in its BEGIN line. */
#define PEM_PRIVATE_MARK "PRIVATE KEY-----"

/* Names whose values are secrets (docs/audit.md, "What is never logged").
 * A key matches a name when it equals it or ends in "_" + it, after
 * lowercasing and mapping '-' to '_': client_token, x-vault-token,
 * issuer_private_key, so_pin, client_secret ... all match. */
static const char *const secret_names[] = {
    "token",      "private_key", "private_keys", "pem_bundle", "pin",          "password",
    "passphrase", "secret",      "secret_id",    "hmac_key",   "authorization",
};

bool hsmca_audit_is_secret_name(const char *name)
{
    char norm[NAME_MAX_BYTES + 1];
    size_t n;

    if (name == NULL)
        return false;
    n = strlen(name);
    /* No secret name is this long, but an unchecked name must not let a
     * value through: when in doubt, the value is HMACed. */
    if (n > NAME_MAX_BYTES)
        return true;
    for (size_t i = 0; i < n; i++)
        norm[i] = (char)(name[i] == '-' ? '_' : tolower((unsigned char)name[i]));
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
        size_t sl = strlen(secret_names[i]);
        if (n == sl && memcmp(norm, secret_names[i], sl) == 0)
            return true;
        if (n > sl && norm[n - sl - 1] == '_' && memcmp(norm + n - sl, secret_names[i], sl) == 0)
            return true;
    }
    return false;
}

hsmca_rv audit_value_hmac(hsmca_p11_hmac_key *key, const void *value, size_t len,
                          char out[HSMCA_AUDIT_VALUE_LEN + 1])
{
    const size_t ctx_len = sizeof(AUDIT_VALUE_CONTEXT) - 1;
    const size_t prefix_len = sizeof(HSMCA_AUDIT_VALUE_PREFIX) - 1;
    unsigned char mac[AUDIT_MAC_LEN];
    unsigned char *buf = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    out[0] = '\0';
    if (len > HSMCA_P11_HMAC_DATA_MAX - ctx_len)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "a value to HMAC is at most %zu bytes, got %zu",
                         (size_t)HSMCA_P11_HMAC_DATA_MAX - ctx_len, len);
    /* The value may be a secret: its copy lives in the secure heap. */
    buf = OPENSSL_secure_malloc(ctx_len + len + 1);
    if (buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory for a value HMAC");
        goto done;
    }
    memcpy(buf, AUDIT_VALUE_CONTEXT, ctx_len);
    if (len > 0)
        memcpy(buf + ctx_len, value, len);
    rv = hsmca_p11_hmac_sha256(key, buf, ctx_len + len, mac);
    if (rv != HSMCA_OK)
        goto done;
    memcpy(out, HSMCA_AUDIT_VALUE_PREFIX, prefix_len);
    audit_hex(mac, AUDIT_MAC_LEN, out + prefix_len);
done:
    OPENSSL_secure_clear_free(buf, ctx_len + len + 1);
    return rv;
}

/* Already a value HMAC (the caller made it with hsmca_audit_hmac_value for
 * correlation): kept, so that it stays comparable. */
static bool is_value_hmac(const char *s, size_t len)
{
    const size_t prefix_len = sizeof(HSMCA_AUDIT_VALUE_PREFIX) - 1;

    if (len != HSMCA_AUDIT_VALUE_LEN || memcmp(s, HSMCA_AUDIT_VALUE_PREFIX, prefix_len) != 0)
        return false;
    for (size_t i = prefix_len; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

static bool holds_private_key(const char *s, size_t len)
{
    return memmem(s, len, PEM_PRIVATE_MARK, sizeof(PEM_PRIVATE_MARK) - 1) != NULL;
}

static hsmca_rv hmac_string(hsmca_p11_hmac_key *key, const char *s, size_t len, json_t **out)
{
    char v[HSMCA_AUDIT_VALUE_LEN + 1];
    hsmca_rv rv = audit_value_hmac(key, s, len, v);

    if (rv != HSMCA_OK)
        return rv;
    *out = json_string(v);
    return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if p does not start one. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    size_t n;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

hsmca_rv audit_json_string(hsmca_p11_hmac_key *key, const char *s, size_t max, json_t **out)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    static const char cut[] = "...";
    const unsigned char *p = (const unsigned char *)s;
    size_t len, o = 0, i = 0;
    char *buf = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (s == NULL) {
        *out = json_null();
        return HSMCA_OK;
    }
    len = strlen(s);
    if (holds_private_key(s, len))
        return hmac_string(key, s, len, out);
    buf = malloc(max + sizeof(cut));
    if (buf == NULL)
        goto done;
    /* Bounded by len: every turn consumes at least one input byte. */
    while (i < len) {
        size_t n = utf8_len(p + i, len - i);
        const char *src = n ? s + i : replacement;
        size_t out_n = n ? n : sizeof(replacement) - 1;
        if (o + out_n > max) {
            memcpy(buf + o, cut, sizeof(cut) - 1);
            o += sizeof(cut) - 1;
            break;
        }
        memcpy(buf + o, src, out_n);
        o += out_n;
        i += n ? n : 1;
    }
    *out = json_stringn(buf, o);
    if (*out == NULL)
        goto done;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory");
    free(buf);
    return rv;
}

/* The HMAC that stands for a secret value: of the string's bytes, or of a
 * non-string's compact JSON with sorted keys (so equal values give equal
 * HMACs). */
static hsmca_rv secret_replacement(hsmca_p11_hmac_key *key, const json_t *v, json_t **out)
{
    char *text = NULL;
    hsmca_rv rv;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (is_value_hmac(s, len)) {
            *out = json_stringn(s, len);
            return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        }
        return hmac_string(key, s, len, out);
    }
    text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = hmac_string(key, text, strlen(text), out);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rv;
}

static hsmca_rv redact_copy(hsmca_p11_hmac_key *key, const json_t *in, int depth, size_t *nodes, json_t **out)
{
    json_t *copy = NULL, *child = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (++*nodes > DETAILS_NODES_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "audit details have more than %d values", DETAILS_NODES_MAX);
    if (depth > DETAILS_DEPTH_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "audit details are nested deeper than %d levels",
                         DETAILS_DEPTH_MAX);
    if (json_is_object(in)) {
        /* jansson's iteration API takes a non-const object; it reads only. */
        json_t *src = (json_t *)(uintptr_t)in;

        copy = json_object();
        if (copy == NULL)
            goto done;
        for (void *it = json_object_iter(src); it != NULL; it = json_object_iter_next(src, it)) {
            const json_t *v = json_object_iter_value(it);
            const char *name = json_object_iter_key(it);
            rv = hsmca_audit_is_secret_name(name) ? secret_replacement(key, v, &child)
                                                  : redact_copy(key, v, depth + 1, nodes, &child);
            if (rv != HSMCA_OK)
                goto done;
            /* set_new takes child even when it fails. */
            rv = json_object_set_new(copy, name, child) == 0 ? HSMCA_OK : HSMCA_ERR_NOMEM;
            child = NULL;
            if (rv != HSMCA_OK)
                goto done;
        }
    } else if (json_is_array(in)) {
        copy = json_array();
        if (copy == NULL)
            goto done;
        for (size_t i = 0; i < json_array_size(in); i++) {
            rv = redact_copy(key, json_array_get(in, i), depth + 1, nodes, &child);
            if (rv != HSMCA_OK)
                goto done;
            rv = json_array_append_new(copy, child) == 0 ? HSMCA_OK : HSMCA_ERR_NOMEM;
            child = NULL;
            if (rv != HSMCA_OK)
                goto done;
        }
    } else if (json_is_string(in) && holds_private_key(json_string_value(in), json_string_length(in))) {
        /* Defence in depth: a private key under an innocent name. */
        rv = hmac_string(key, json_string_value(in), json_string_length(in), &copy);
        if (rv != HSMCA_OK)
            goto done;
    } else {
        copy = json_deep_copy(in);
        if (copy == NULL)
            goto done;
    }
    *out = copy;
    copy = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory copying audit details");
    json_decref(child);
    json_decref(copy);
    return rv;
}

hsmca_rv audit_redact(hsmca_p11_hmac_key *key, const json_t *details, json_t **out)
{
    size_t nodes = 0, size;

    *out = NULL;
    if (!json_is_object(details))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "audit details must be a JSON object");
    /* The bound applies to what the caller gave, before redaction. */
    size = json_dumpb(details, NULL, 0, JSON_COMPACT);
    if (size == 0 || size > HSMCA_AUDIT_DETAILS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "audit details of %zu bytes exceed the %d-byte bound", size,
                         HSMCA_AUDIT_DETAILS_MAX);
    return redact_copy(key, details, 0, &nodes, out);
}
