/* SPDX-License-Identifier: Apache-2.0 */
/* The wire forms of the token endpoints: the create body as OpenBao reads
 * it, and the lookup data and "auth" block as OpenBao writes them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/duration.h"
#include "internal.h"

/* OpenBao's framework decodes fields weakly (mapstructure): booleans may be
 * JSON booleans, 0/1 or strconv.ParseBool strings; null is the zero value. */
static hsmca_rv read_bool(const json_t *v, const char *field, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", ""};

    if (json_is_boolean(v) || json_is_null(v)) {
        *out = json_is_true(v);
        return HSMCA_OK;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return HSMCA_OK;
    }
    if (json_is_string(v)) {
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (strcmp(json_string_value(v), yes[i]) == 0) {
                *out = true;
                return HSMCA_OK;
            }
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
            if (strcmp(json_string_value(v), no[i]) == 0) {
                *out = false;
                return HSMCA_OK;
            }
        }
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a boolean", field);
}

/* Integers or decimal strings. */
static hsmca_rv read_int(const json_t *v, const char *field, int64_t *out)
{
    if (json_is_null(v)) {
        *out = 0;
        return HSMCA_OK;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return HSMCA_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        long long x;

        if (s[0] == '\0') {
            *out = 0;
            return HSMCA_OK;
        }
        if ((s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')) && strlen(s) < 24) {
            x = strtoll(s, &end, 10);
            if (end != s && *end == '\0') {
                *out = x;
                return HSMCA_OK;
            }
        }
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected an integer", field);
}

/* Durations: "1h", "30m", "7d", or a number of seconds. */
static hsmca_rv read_duration(const json_t *v, const char *field, int64_t *out)
{
    int64_t secs = 0;
    hsmca_rv rv;

    if (json_is_null(v)) {
        secs = 0;
    } else if (json_is_integer(v)) {
        secs = (int64_t)json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) <= HSMCA_DURATION_TEXT_MAX) {
        rv = hsmca_duration_parse_seconds(json_string_value(v), &secs);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("%s", field);
            return rv;
        }
    } else {
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a duration ('1h', '30m', '7d' or seconds)", field);
    }
    /* Ten thousand years: far beyond any TTL cap, and no overflow when
     * added to a time. */
    if (secs < 0 || secs > INT64_C(315360000000))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: %lld seconds is out of range", field, (long long)secs);
    *out = secs;
    return HSMCA_OK;
}

static hsmca_rv read_policies(const json_t *v, hsmca_strlist *out)
{
    hsmca_strlist tmp = {0};
    hsmca_rv rv = HSMCA_OK;
    size_t i;
    const json_t *e;

    if (json_is_null(v))
        return HSMCA_OK;
    if (json_is_string(v)) {
        rv = hsmca_strlist_add_csv(&tmp, json_string_value(v));
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e)) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies: expected strings");
                break;
            }
            rv = hsmca_strlist_add(&tmp, json_string_value(e), json_string_length(e));
            if (rv != HSMCA_OK)
                break;
        }
    } else {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies: expected an array or a comma-separated string");
    }
    if (rv == HSMCA_OK && tmp.n > HSMCA_AUTH_TOKEN_POLICIES_MAX)
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies: more than %d policies", HSMCA_AUTH_TOKEN_POLICIES_MAX);
    if (rv == HSMCA_OK) {
        hsmca_strlist_clear(out);
        *out = tmp;
    } else {
        hsmca_strlist_clear(&tmp);
    }
    return rv;
}

static hsmca_rv read_text(const json_t *v, const char *field, char *buf, size_t size)
{
    if (json_is_null(v)) {
        buf[0] = '\0';
        return HSMCA_OK;
    }
    if (!json_is_string(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected a string", field);
    if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: longer than %zu bytes or holds a NUL", field, size - 1);
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return HSMCA_OK;
}

hsmca_rv hsmca_auth_create_params_from_json(const json_t *body, hsmca_auth_create_params *p,
                                            hsmca_strlist *warnings)
{
    hsmca_auth_create_params tmp;
    const char *key;
    json_t *v;
    char ignored[512];
    size_t ignored_len = 0;
    hsmca_rv rv = HSMCA_OK;

    hsmca_return_val_if_fail(body != NULL && p != NULL, HSMCA_ERR_INVALID_ARG);
    if (!json_is_object(body))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "token create: expected a JSON object");
    hsmca_auth_create_params_init(&tmp);
    tmp.path = p->path;
    tmp.orphan = p->orphan;
    ignored[0] = '\0';
    json_object_foreach((json_t *)(uintptr_t)body, key, v)
    {
        if (strcmp(key, "policies") == 0) {
            rv = read_policies(v, &tmp.policies);
        } else if (strcmp(key, "no_default_policy") == 0) {
            rv = read_bool(v, key, &tmp.no_default_policy);
        } else if (strcmp(key, "no_parent") == 0) {
            rv = read_bool(v, key, &tmp.no_parent);
        } else if (strcmp(key, "renewable") == 0) {
            /* null leaves the default (true), as OpenBao's *bool does. */
            if (!json_is_null(v))
                rv = read_bool(v, key, &tmp.renewable);
        } else if (strcmp(key, "ttl") == 0) {
            rv = read_duration(v, key, &tmp.ttl);
        } else if (strcmp(key, "explicit_max_ttl") == 0) {
            rv = read_duration(v, key, &tmp.explicit_max_ttl);
        } else if (strcmp(key, "period") == 0) {
            rv = read_duration(v, key, &tmp.period);
        } else if (strcmp(key, "num_uses") == 0) {
            rv = read_int(v, key, &tmp.num_uses);
        } else if (strcmp(key, "display_name") == 0) {
            rv = read_text(v, key, tmp.display_name, sizeof(tmp.display_name));
        } else if (strcmp(key, "id") == 0) {
            /* The id is a secret: read_text's messages never quote it. */
            rv = read_text(v, key, tmp.id, sizeof(tmp.id));
        } else if (strcmp(key, "meta") == 0) {
            if (json_is_object(v)) {
                json_decref(tmp.meta);
                tmp.meta = json_deep_copy(v);
                if (tmp.meta == NULL)
                    rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            } else if (!json_is_null(v)) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "meta: expected an object of strings");
            }
        } else if (strcmp(key, "type") == 0) {
            if (json_is_string(v) && strcmp(json_string_value(v), "batch") == 0)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "type: hsmca issues service tokens only");
            else if (!json_is_null(v) && !json_is_string(v))
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "type: expected a string");
        } else {
            size_t klen = strnlen(key, 64);

            if (ignored_len + klen + 2 < sizeof(ignored))
                ignored_len += (size_t)snprintf(ignored + ignored_len, sizeof(ignored) - ignored_len, "%s%.*s",
                                                ignored_len ? " " : "", (int)klen, key);
        }
        if (rv != HSMCA_OK)
            goto done;
    }
    if (ignored_len > 0 && warnings != NULL) {
        char w[600];

        snprintf(w, sizeof(w), "Endpoint ignored these unrecognized parameters: [%s]", ignored);
        if ((rv = hsmca_strlist_add(warnings, w, strlen(w))) != HSMCA_OK)
            goto done;
    }
    hsmca_auth_create_params_clear(p);
    *p = tmp;
    hsmca_auth_create_params_init(&tmp);
    rv = HSMCA_OK;
done:
    hsmca_strlist_clear(&tmp.policies);
    json_decref(tmp.meta);
    OPENSSL_cleanse(tmp.id, sizeof(tmp.id));
    return rv;
}

static json_t *policies_json(const hsmca_strlist *l)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < l->n; i++) {
        if (json_array_append_new(a, json_string(l->v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *time_json(int64_t t)
{
    char buf[HSMCA_RFC3339_BUF];

    if (t == 0 || hsmca_time_format_rfc3339(t, buf, sizeof(buf)) != HSMCA_OK)
        return json_null();
    return json_string(buf);
}

hsmca_rv hsmca_auth_token_to_json(const hsmca_auth_token *t, json_t **out)
{
    json_t *o;

    hsmca_return_val_if_fail(t != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:I, s:s, s:o, s:O?, s:I, s:b, s:s, s:o, s:b, s:I, s:s}",
                  "accessor", t->accessor, "creation_time", (json_int_t)t->creation_time, "creation_ttl",
                  (json_int_t)t->creation_ttl, "display_name", t->display_name, "entity_id", "", "expire_time",
                  time_json(t->expire_time), "explicit_max_ttl", (json_int_t)t->explicit_max_ttl, "id", "",
                  "issue_time", time_json(t->creation_time), "meta", t->meta, "num_uses", (json_int_t)t->num_uses,
                  "orphan", t->orphan, "path", t->path, "policies", policies_json(&t->policies), "renewable",
                  t->renewable, "ttl", (json_int_t)t->ttl, "type", "service");
    if (o == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if ((t->period > 0 && json_object_set_new(o, "period", json_integer(t->period)) != 0) ||
        (t->last_renewal_time > 0 &&
         (json_object_set_new(o, "last_renewal_time", json_integer(t->last_renewal_time)) != 0 ||
          json_object_set_new(o, "last_renewal", time_json(t->last_renewal_time)) != 0))) {
        json_decref(o);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    *out = o;
    return HSMCA_OK;
}

hsmca_rv hsmca_auth_token_auth_json(const hsmca_auth_token *t, const hsmca_auth_secret *secret, json_t **out)
{
    json_t *o;

    hsmca_return_val_if_fail(t != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    o = json_pack("{s:s, s:s, s:o, s:o, s:O?, s:I, s:b, s:s, s:s, s:b, s:n, s:I}", "client_token",
                  secret != NULL ? secret->token : "", "accessor", t->accessor, "policies",
                  policies_json(&t->policies), "token_policies", policies_json(&t->policies), "metadata", t->meta,
                  "lease_duration", (json_int_t)t->lease_ttl, "renewable", t->renewable, "entity_id", "",
                  "token_type", "service", "orphan", t->orphan, "mfa_requirement", "num_uses",
                  (json_int_t)t->num_uses);
    if (o == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    *out = o;
    return HSMCA_OK;
}
