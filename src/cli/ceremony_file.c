/* SPDX-License-Identifier: Apache-2.0 */
/* The ceremony file: one strict JSON document per ceremony. Unlike the API
 * (which ignores unknown fields as OpenBao does), a ceremony refuses them:
 * a misspelt "path_lenght" must not silently make an unconstrained root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "hsmca/duration.h"
#include "hsmca/jsonfield.h"
#include "hsmca/keyslot.h"

#include "ceremony.h"

#define STR_MAX 1024
#define URL_MAX 2048

void cer_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

hsmca_rv cer_path(const char *dir, const char *rel, char *out, size_t size)
{
    int n;

    if (rel == NULL || rel[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "an empty path");
    n = rel[0] == '/' ? snprintf(out, size, "%s", rel) : snprintf(out, size, "%s/%s", dir, rel);

    if (n < 0 || (size_t)n >= size)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path '%.64s...' is longer than %zu bytes", rel, size - 1);
    return HSMCA_OK;
}

hsmca_rv cer_read_file(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    hsmca_rv rv = HSMCA_ERR_IO;

    *data = NULL;
    *len = 0;
    if (fd < 0)
        return hsmca_err(rv, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "'%s' is not a regular file of at most %zu bytes", path, max);
        goto done;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rv = hsmca_err(HSMCA_ERR_IO, "cannot read '%s'", path);
            goto done;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
    rv = HSMCA_OK;
done:
    free(buf);
    close(fd);
    return rv;
}

/* Refuses any member of obj not in allowed (NULL-terminated). */
static hsmca_rv only_fields(json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        size_t i;
        (void)v;
        for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
            ;
        if (allowed[i] == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: unknown field '%.64s'", where, key);
    }
    return HSMCA_OK;
}

static hsmca_rv get_object(json_t *obj, const char *where, const char *name, bool required, json_t **out)
{
    *out = json_object_get(obj, name);
    if (*out == NULL)
        return required ? hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing field '%s'", where, name) : HSMCA_OK;
    if (!json_is_object(*out))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s.%s: must be an object, not %s", where, name,
                         hsmca_jf_kind(*out));
    return HSMCA_OK;
}

/* A non-empty string of at most max bytes (valid UTF-8, no NUL). */
static hsmca_rv get_str(json_t *obj, const char *where, const char *name, bool required, size_t max,
                        const char **out)
{
    json_t *v = json_object_get(obj, name);
    char field[160];
    hsmca_rv rv;

    *out = NULL;
    snprintf(field, sizeof(field), "%s.%s", where, name);
    if (v == NULL)
        return required ? hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing field '%s'", where, name) : HSMCA_OK;
    if (!json_is_string(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be a string, not %s", field, hsmca_jf_kind(v));
    if ((rv = hsmca_jf_string_ref(v, field, max, out)) != HSMCA_OK)
        return rv;
    if ((*out)[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: may not be empty", field);
    return HSMCA_OK;
}

static hsmca_rv get_int(json_t *obj, const char *where, const char *name, long long lo, long long hi,
                        long long *out)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL)
        return HSMCA_OK; /* caller's default stays */
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s.%s: must be an integer from %lld to %lld", where, name, lo, hi);
    *out = json_integer_value(v);
    return HSMCA_OK;
}

/* An RFC 3339 time ("2026-01-01T00:00:00Z"). */
static hsmca_rv get_time(json_t *obj, const char *where, const char *name, int64_t *out)
{
    const char *s = NULL;
    hsmca_rv rv = get_str(obj, where, name, false, 64, &s);

    if (rv != HSMCA_OK || s == NULL)
        return rv;
    if ((rv = hsmca_time_parse_rfc3339(s, out)) != HSMCA_OK)
        hsmca_err_prefix("%s.%s", where, name);
    return rv;
}

/* A time given either absolutely (abs_name, RFC 3339) or as a duration
 * after base (rel_name: "8760h", "3650d", seconds); exactly one. */
static hsmca_rv get_end_time(json_t *obj, const char *where, const char *abs_name, const char *rel_name,
                             int64_t base, int64_t *out)
{
    json_t *rel = json_object_get(obj, rel_name);
    char field[160];
    int64_t secs = 0;
    hsmca_rv rv;

    if ((json_object_get(obj, abs_name) != NULL) == (rel != NULL))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: give exactly one of '%s' (RFC 3339) and '%s' (a duration)",
                         where, abs_name, rel_name);
    if (rel == NULL)
        return get_time(obj, where, abs_name, out);
    snprintf(field, sizeof(field), "%s.%s", where, rel_name);
    if ((rv = hsmca_jf_duration(rel, field, &secs)) != HSMCA_OK)
        return rv;
    if (secs <= 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be positive", field);
    *out = base + secs;
    return HSMCA_OK;
}

static hsmca_rv get_list(json_t *obj, const char *where, const char *name, hsmca_strlist *out)
{
    json_t *v = json_object_get(obj, name);
    char field[160];

    if (v == NULL)
        return HSMCA_OK;
    snprintf(field, sizeof(field), "%s.%s", where, name);
    if (!json_is_array(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be an array of strings, not %s", field, hsmca_jf_kind(v));
    return hsmca_jf_list(v, field, URL_MAX, out);
}

static hsmca_rv parse_subject(json_t *obj, const char *where, cer_step *s, bool required)
{
    static const char *const fields[] = {"common_name", "organization", "organizational_unit", "country",
                                         "province",    "locality",     "serial_number",       NULL};
    char w[160];
    json_t *sub;
    hsmca_rv rv;

    if ((rv = get_object(obj, where, "subject", required, &sub)) != HSMCA_OK || sub == NULL)
        return rv;
    snprintf(w, sizeof(w), "%s.subject", where);
    if ((rv = only_fields(sub, w, fields)) != HSMCA_OK ||
        (rv = get_str(sub, w, "common_name", true, STR_MAX, &s->subject.common_name)) != HSMCA_OK ||
        (rv = get_str(sub, w, "organization", false, STR_MAX, &s->subject.organization)) != HSMCA_OK ||
        (rv = get_str(sub, w, "organizational_unit", false, STR_MAX, &s->subject.organizational_unit)) != HSMCA_OK ||
        (rv = get_str(sub, w, "country", false, STR_MAX, &s->subject.country)) != HSMCA_OK ||
        (rv = get_str(sub, w, "province", false, STR_MAX, &s->subject.province)) != HSMCA_OK ||
        (rv = get_str(sub, w, "locality", false, STR_MAX, &s->subject.locality)) != HSMCA_OK ||
        (rv = get_str(sub, w, "serial_number", false, STR_MAX, &s->subject.serial_number)) != HSMCA_OK)
        return rv;
    s->has_subject = true;
    return HSMCA_OK;
}

/* key_type/key_bits as the key-slot manager takes them. */
static hsmca_rv parse_key(json_t *obj, const char *where, cer_step *s)
{
    long long bits = 0;
    hsmca_key_type t;
    unsigned b;
    hsmca_rv rv;

    if ((rv = get_str(obj, where, "label", true, HSMCA_KEY_NAME_MAX, &s->label)) != HSMCA_OK ||
        (rv = get_str(obj, where, "key_type", true, 16, &s->key_type)) != HSMCA_OK ||
        (rv = get_int(obj, where, "key_bits", 0, 8192, &bits)) != HSMCA_OK)
        return rv;
    if ((rv = hsmca_keyslot_check_name(s->label)) != HSMCA_OK ||
        (rv = hsmca_keyslot_parse_type(s->key_type, (unsigned)bits, &t, &b)) != HSMCA_OK) {
        hsmca_err_prefix("%s", where);
        return rv;
    }
    s->key_bits = b;
    return HSMCA_OK;
}

/* notBefore (default: now) and notAfter, path length and URLs of a
 * certificate step. */
static hsmca_rv parse_cert_profile(json_t *obj, const char *where, cer_step *s, int64_t now)
{
    long long pl = s->path_len;
    hsmca_rv rv;

    s->not_before = now;
    if ((rv = get_time(obj, where, "not_before", &s->not_before)) != HSMCA_OK ||
        (rv = get_end_time(obj, where, "not_after", "validity", s->not_before, &s->not_after)) != HSMCA_OK ||
        (rv = get_int(obj, where, "path_length", -1, 16, &pl)) != HSMCA_OK ||
        (rv = get_list(obj, where, "policies", &s->policies)) != HSMCA_OK ||
        (rv = get_list(obj, where, "ocsp_urls", &s->ocsp_urls)) != HSMCA_OK ||
        (rv = get_list(obj, where, "ca_issuers_urls", &s->ca_issuers_urls)) != HSMCA_OK ||
        (rv = get_list(obj, where, "crl_urls", &s->crl_urls)) != HSMCA_OK)
        return rv;
    s->path_len = (int)pl;
    if (s->not_after <= s->not_before)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: not_after is not after not_before", where);
    return HSMCA_OK;
}

static int reason_code(const char *name)
{
    /* RFC 5280 5.3.1 CRLReason (7 is unused). */
    static const char *const names[] = {"unspecified",          "keyCompromise", "cACompromise",
                                        "affiliationChanged",   "superseded",    "cessationOfOperation",
                                        "certificateHold",      NULL,            "removeFromCRL",
                                        "privilegeWithdrawn",   "aACompromise"};
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return i;
    }
    return -2;
}

static hsmca_rv parse_crl(json_t *obj, const char *where, cer_step *s, int64_t now)
{
    static const char *const rfields[] = {"cert", "serial", "revoked_at", "reason", NULL};
    json_t *rev = json_object_get(obj, "revoked"), *e;
    long long number = 0;
    size_t i;
    hsmca_rv rv;

    s->this_update = now;
    if ((rv = get_time(obj, where, "this_update", &s->this_update)) != HSMCA_OK ||
        (rv = get_end_time(obj, where, "next_update", "next_update_in", s->this_update, &s->next_update)) !=
            HSMCA_OK)
        return rv;
    if (json_object_get(obj, "number") == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: missing field 'number' (the cRLNumber, RFC 5280 5.2.3; "
                                                "each CRL of this root needs a larger one)",
                         where);
    if ((rv = get_int(obj, where, "number", 1, (long long)INT64_MAX, &number)) != HSMCA_OK)
        return rv;
    s->crl_number = (uint64_t)number;
    if (rev == NULL)
        return HSMCA_OK;
    if (!json_is_array(rev) || json_array_size(rev) > CER_REVOKED_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s.revoked: must be an array of at most %d objects", where,
                         CER_REVOKED_MAX);
    json_array_foreach(rev, i, e) {
        char w[160];
        const char *reason = NULL;
        cer_revoked *r = &s->revoked[i];
        snprintf(w, sizeof(w), "%s.revoked[%zu]", where, i);
        if (!json_is_object(e))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be an object", w);
        r->reason = -1;
        if ((rv = only_fields(e, w, rfields)) != HSMCA_OK ||
            (rv = get_str(e, w, "cert", false, CER_PATH_MAX, &r->cert)) != HSMCA_OK ||
            (rv = get_str(e, w, "serial", false, 64, &r->serial)) != HSMCA_OK ||
            (rv = get_time(e, w, "revoked_at", &r->revoked_at)) != HSMCA_OK ||
            (rv = get_str(e, w, "reason", false, 32, &reason)) != HSMCA_OK)
            return rv;
        if ((r->cert != NULL) == (r->serial != NULL))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: give exactly one of 'cert' and 'serial'", w);
        if (reason != NULL && (r->reason = reason_code(reason)) < 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s.reason: '%s' is not an RFC 5280 CRLReason name", w, reason);
        s->n_revoked++;
    }
    return HSMCA_OK;
}

static hsmca_rv parse_step(json_t *obj, size_t idx, int64_t now, cer_step *s)
{
    /* Fields every kind may carry, then the kind's own. */
    static const char *const root_key[] = {"kind", "comment", "label", "key_type", "key_bits", NULL};
    static const char *const root_cert[] = {"kind",   "comment",  "key",        "output",   "subject",
                                            "not_before", "not_after", "validity", "path_length", "policies",
                                            "ocsp_urls", "ca_issuers_urls", "crl_urls", NULL};
    static const char *const int_gen[] = {"kind", "comment", "mode", "label", "key_type", "key_bits", "subject",
                                          "csr_output", NULL};
    static const char *const int_sign[] = {"kind",      "comment",     "mode",     "csr",         "issuer_cert",
                                           "issuer_key", "output",     "subject",  "not_before",  "not_after",
                                           "validity",  "path_length", "policies", "ocsp_urls",   "ca_issuers_urls",
                                           "crl_urls",  NULL};
    static const char *const cross[] = {"kind",        "comment",   "cert",       "issuer_cert", "issuer_key",
                                        "output",      "not_before", "not_after", "validity",    "path_length",
                                        "policies",    "ocsp_urls", "ca_issuers_urls", "crl_urls", NULL};
    static const char *const crl[] = {"kind",        "comment",    "issuer_cert", "issuer_key", "output", "number",
                                      "this_update", "next_update", "next_update_in", "revoked", NULL};
    static const char *const ocsp[] = {"kind",       "comment",   "label",    "key_type", "key_bits",
                                       "issuer_cert", "issuer_key", "output", "subject",  "not_before",
                                       "not_after",  "validity",  NULL};
    char where[64];
    const char *mode = NULL;
    hsmca_rv rv;

    snprintf(where, sizeof(where), "steps[%zu]", idx);
    if (!json_is_object(obj))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be an object", where);
    if ((rv = get_str(obj, where, "kind", true, 32, &s->kind_name)) != HSMCA_OK || s->kind_name == NULL)
        return rv != HSMCA_OK ? rv : hsmca_err(HSMCA_ERR_INTERNAL, "%s: kind", where);
    s->path_len = -1;
    if (strcmp(s->kind_name, "root-key") == 0) {
        s->kind = CER_ROOT_KEY;
        if ((rv = only_fields(obj, where, root_key)) != HSMCA_OK || (rv = parse_key(obj, where, s)) != HSMCA_OK)
            return rv;
    } else if (strcmp(s->kind_name, "root-cert") == 0) {
        s->kind = CER_ROOT_CERT;
        if ((rv = only_fields(obj, where, root_cert)) != HSMCA_OK ||
            (rv = get_str(obj, where, "key", true, HSMCA_KEY_NAME_MAX, &s->key)) != HSMCA_OK ||
            (rv = get_str(obj, where, "output", true, CER_PATH_MAX, &s->output)) != HSMCA_OK ||
            (rv = parse_subject(obj, where, s, true)) != HSMCA_OK ||
            (rv = parse_cert_profile(obj, where, s, now)) != HSMCA_OK)
            return rv;
    } else if (strcmp(s->kind_name, "intermediate") == 0) {
        s->kind = CER_INTERMEDIATE;
        if ((rv = get_str(obj, where, "mode", true, 16, &mode)) != HSMCA_OK)
            return rv;
        if (strcmp(mode, "generate") == 0) {
            s->generate = true;
            if ((rv = only_fields(obj, where, int_gen)) != HSMCA_OK || (rv = parse_key(obj, where, s)) != HSMCA_OK ||
                (rv = parse_subject(obj, where, s, true)) != HSMCA_OK ||
                (rv = get_str(obj, where, "csr_output", true, CER_PATH_MAX, &s->csr_output)) != HSMCA_OK)
                return rv;
        } else if (strcmp(mode, "sign") == 0) {
            s->path_len = 0; /* an issuing intermediate issues leaves only, unless the file says otherwise */
            if ((rv = only_fields(obj, where, int_sign)) != HSMCA_OK ||
                (rv = get_str(obj, where, "csr", true, CER_PATH_MAX, &s->csr)) != HSMCA_OK ||
                (rv = get_str(obj, where, "issuer_cert", true, CER_PATH_MAX, &s->issuer_cert)) != HSMCA_OK ||
                (rv = get_str(obj, where, "issuer_key", true, HSMCA_KEY_NAME_MAX, &s->issuer_key)) != HSMCA_OK ||
                (rv = get_str(obj, where, "output", true, CER_PATH_MAX, &s->output)) != HSMCA_OK ||
                (rv = parse_subject(obj, where, s, false)) != HSMCA_OK ||
                (rv = parse_cert_profile(obj, where, s, now)) != HSMCA_OK)
                return rv;
        } else {
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s.mode: '%.32s' is not one of generate, sign", where, mode);
        }
    } else if (strcmp(s->kind_name, "cross-sign") == 0) {
        s->kind = CER_CROSS_SIGN;
        s->path_len = -2;
        if ((rv = only_fields(obj, where, cross)) != HSMCA_OK ||
            (rv = get_str(obj, where, "cert", true, CER_PATH_MAX, &s->cert)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_cert", true, CER_PATH_MAX, &s->issuer_cert)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_key", true, HSMCA_KEY_NAME_MAX, &s->issuer_key)) != HSMCA_OK ||
            (rv = get_str(obj, where, "output", true, CER_PATH_MAX, &s->output)) != HSMCA_OK ||
            (rv = parse_cert_profile(obj, where, s, now)) != HSMCA_OK)
            return rv;
    } else if (strcmp(s->kind_name, "crl") == 0) {
        s->kind = CER_CRL;
        if ((rv = only_fields(obj, where, crl)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_cert", true, CER_PATH_MAX, &s->issuer_cert)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_key", true, HSMCA_KEY_NAME_MAX, &s->issuer_key)) != HSMCA_OK ||
            (rv = get_str(obj, where, "output", true, CER_PATH_MAX, &s->output)) != HSMCA_OK ||
            (rv = parse_crl(obj, where, s, now)) != HSMCA_OK)
            return rv;
    } else if (strcmp(s->kind_name, "ocsp-signer") == 0) {
        s->kind = CER_OCSP_SIGNER;
        if ((rv = only_fields(obj, where, ocsp)) != HSMCA_OK || (rv = parse_key(obj, where, s)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_cert", true, CER_PATH_MAX, &s->issuer_cert)) != HSMCA_OK ||
            (rv = get_str(obj, where, "issuer_key", true, HSMCA_KEY_NAME_MAX, &s->issuer_key)) != HSMCA_OK ||
            (rv = get_str(obj, where, "output", true, CER_PATH_MAX, &s->output)) != HSMCA_OK ||
            (rv = parse_subject(obj, where, s, true)) != HSMCA_OK ||
            (rv = parse_cert_profile(obj, where, s, now)) != HSMCA_OK)
            return rv;
    } else {
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%s.kind: unknown kind '%.32s' (root-key, root-cert, intermediate, cross-sign, crl, "
                         "ocsp-signer)",
                         where, s->kind_name);
    }
    return HSMCA_OK;
}

static hsmca_rv parse_top(cer_file *f, int64_t now)
{
    static const char *const top[] = {"version", "name",  "comment", "module",         "token",
                                      "pin",     "output_dir", "transcript_key", "steps", NULL};
    static const char *const token_fields[] = {"label", "serial", NULL};
    static const char *const pin_fields[] = {"file", "prompt", NULL};
    json_t *token, *pin, *steps, *e;
    const char *out = NULL;
    long long version = 0;
    size_t i;
    hsmca_rv rv;

    if (!json_is_object(f->root))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "the ceremony file must hold one JSON object");
    if ((rv = only_fields(f->root, "ceremony", top)) != HSMCA_OK ||
        (rv = get_int(f->root, "ceremony", "version", 1, 1, &version)) != HSMCA_OK)
        return rv;
    if (version != 1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ceremony: missing field 'version' (1)");
    if ((rv = get_str(f->root, "ceremony", "name", true, 128, &f->name)) != HSMCA_OK ||
        (rv = get_str(f->root, "ceremony", "module", true, CER_PATH_MAX, &f->module)) != HSMCA_OK ||
        (rv = get_str(f->root, "ceremony", "output_dir", true, CER_PATH_MAX, &out)) != HSMCA_OK ||
        (rv = get_str(f->root, "ceremony", "transcript_key", false, HSMCA_KEY_NAME_MAX, &f->transcript_key)) !=
            HSMCA_OK ||
        (rv = cer_path(f->base_dir, out, f->output_dir, sizeof(f->output_dir))) != HSMCA_OK)
        return rv;
    if ((rv = get_object(f->root, "ceremony", "token", true, &token)) != HSMCA_OK ||
        (rv = only_fields(token, "ceremony.token", token_fields)) != HSMCA_OK ||
        (rv = get_str(token, "ceremony.token", "label", false, 32, &f->token_label)) != HSMCA_OK ||
        (rv = get_str(token, "ceremony.token", "serial", false, 16, &f->token_serial)) != HSMCA_OK)
        return rv;
    if (f->token_label == NULL && f->token_serial == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ceremony.token: give 'label' or 'serial'");
    /* The PIN itself never appears in the file: a path, or a prompt. */
    if ((rv = get_object(f->root, "ceremony", "pin", true, &pin)) != HSMCA_OK ||
        (rv = only_fields(pin, "ceremony.pin", pin_fields)) != HSMCA_OK ||
        (rv = get_str(pin, "ceremony.pin", "file", false, CER_PATH_MAX, &f->pin_file)) != HSMCA_OK)
        return rv;
    if ((f->pin_file != NULL) == json_is_true(json_object_get(pin, "prompt")) ||
        (json_object_get(pin, "prompt") != NULL && !json_is_true(json_object_get(pin, "prompt"))))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ceremony.pin: give exactly one of 'file' (a path) and "
                                                "'prompt': true");
    steps = json_object_get(f->root, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0 || json_array_size(steps) > CER_STEPS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ceremony.steps: must be an array of 1 to %d steps", CER_STEPS_MAX);
    json_array_foreach(steps, i, e) {
        f->n_steps++; /* counted first: cer_file_clear frees what a failed parse left */
        if ((rv = parse_step(e, i, now, &f->steps[i])) != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

hsmca_rv cer_file_load(const char *path, int64_t now, cer_file *f)
{
    char *data = NULL, *slash;
    size_t len = 0;
    json_error_t jerr;
    hsmca_rv rv;

    memset(f, 0, sizeof(*f));
    if (strlen(path) >= sizeof(f->path))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ceremony file path is too long");
    snprintf(f->path, sizeof(f->path), "%s", path);
    snprintf(f->base_dir, sizeof(f->base_dir), "%s", path);
    slash = strrchr(f->base_dir, '/');
    if (slash == NULL)
        snprintf(f->base_dir, sizeof(f->base_dir), ".");
    else if (slash == f->base_dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    if ((rv = cer_read_file(path, CER_FILE_MAX, &data, &len)) != HSMCA_OK)
        return rv;
    SHA256((const unsigned char *)data, len, f->sha256);
    f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (f->root == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: line %d: %s", path, jerr.line, jerr.text);
    rv = parse_top(f, now);
    if (rv != HSMCA_OK)
        hsmca_err_prefix("%s", path);
    return rv;
}

void cer_file_clear(cer_file *f)
{
    for (size_t i = 0; i < f->n_steps; i++) {
        hsmca_strlist_clear(&f->steps[i].policies);
        hsmca_strlist_clear(&f->steps[i].ocsp_urls);
        hsmca_strlist_clear(&f->steps[i].ca_issuers_urls);
        hsmca_strlist_clear(&f->steps[i].crl_urls);
    }
    json_decref(f->root);
    f->root = NULL;
}
