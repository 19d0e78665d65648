/* SPDX-License-Identifier: Apache-2.0 */
/* Request fields: every endpoint declares its fields and their types; the
 * request's values are checked against that schema once, turned into
 * canonical JSON, and read by handlers with plain getters. Types follow
 * OpenBao's framework (weak decoding: "true" is a boolean, "3600" an
 * integer, "1h" a duration, "a,b" a list), and unknown fields are ignored
 * with OpenBao's warning that names them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/jsonfield.h"
#include "internal.h"

#define IGNORED_TEXT_MAX 512

static const ob_field *find(const ob_field *schema, const char *name)
{
    for (const ob_field *f = schema; f->name != NULL; f++) {
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* One value to canonical JSON; NULL with the detail set on a bad value. */
static json_t *canonical(const ob_field *f, json_t *v)
{
    switch (f->type) {
    case OBF_STRING: {
        const char *s;
        if (hsmca_jf_string_ref(v, f->name, OB_STRING_MAX, &s) != HSMCA_OK)
            return NULL;
        return json_string(s);
    }
    case OBF_INT: {
        int64_t x;
        if (hsmca_jf_int64(v, f->name, &x) != HSMCA_OK)
            return NULL;
        return json_integer(x);
    }
    case OBF_BOOL: {
        bool b;
        if (hsmca_jf_bool(v, f->name, &b) != HSMCA_OK)
            return NULL;
        return json_boolean(b);
    }
    case OBF_DURATION: {
        int64_t secs;
        if (hsmca_jf_duration(v, f->name, &secs) != HSMCA_OK)
            return NULL;
        return json_integer(secs);
    }
    case OBF_LIST: {
        hsmca_strlist l = {0};
        json_t *a;
        if (hsmca_jf_list(v, f->name, OB_ENTRY_MAX, &l) != HSMCA_OK)
            return NULL;
        a = ob_strlist_json(&l);
        hsmca_strlist_clear(&l);
        if (a == NULL)
            hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        return a;
    }
    case OBF_OBJECT:
        if (!json_is_object(v) && !json_is_null(v)) {
            hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: expected an object, got %s", f->name, hsmca_jf_kind(v));
            return NULL;
        }
        return json_is_null(v) ? json_object() : json_incref(v);
    case OBF_ANY:
        return json_incref(v);
    }
    hsmca_err(HSMCA_ERR_INTERNAL, "%s: field type unknown", f->name);
    return NULL;
}

/* Query parameters as a JSON object of strings (reads take their fields
 * from the query string, as OpenBao does). */
struct query_collect {
    json_t *obj;
    bool bad;
};

static void collect_query(const char *k, const char *v, void *arg)
{
    struct query_collect *q = arg;
    json_t *s;

    if (q->bad || json_object_get(q->obj, k) != NULL)
        return; /* first occurrence wins, as req_query does */
    s = json_string(v ? v : "");
    if (s == NULL) {
        q->bad = true; /* not UTF-8 */
        return;
    }
    json_object_set_new(q->obj, k, s);
}

json_t *ob_fields(hsmca_http_req *req, hsmca_http_resp *resp, const ob_field *schema)
{
    hsmca_http_method m = hsmca_http_req_method(req);
    json_t *in = NULL, *out = NULL, *owned = NULL, *v;
    const char *key;
    char ignored[IGNORED_TEXT_MAX];
    size_t ignored_len = 0, n_ignored = 0;

    if (m == HSMCA_HTTP_GET || m == HSMCA_HTTP_HEAD || m == HSMCA_HTTP_LIST || m == HSMCA_HTTP_DELETE) {
        struct query_collect q = {json_object(), false};
        if (q.obj == NULL) {
            hsmca_http_resp_error(resp, 500, "out of memory");
            return NULL;
        }
        hsmca_http_req_query_each(req, collect_query, &q);
        if (q.bad) {
            json_decref(q.obj);
            hsmca_http_resp_error(resp, 400, "query string is not valid UTF-8");
            return NULL;
        }
        owned = in = q.obj;
    } else {
        in = hsmca_http_req_json(req);
        if (in == NULL) {
            hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
            return NULL;
        }
    }
    out = json_object();
    if (out == NULL) {
        json_decref(owned);
        hsmca_http_resp_error(resp, 500, "out of memory");
        return NULL;
    }
    ignored[0] = '\0';
    json_object_foreach(in, key, v) {
        const ob_field *f = find(schema, key);
        json_t *c;

        if (f == NULL) {
            /* "list" is the ?list=true switch, not a field. */
            if (strcmp(key, "list") == 0 && m == HSMCA_HTTP_LIST)
                continue;
            if (n_ignored < 32 && ignored_len + strlen(key) + 2 < sizeof(ignored))
                ignored_len += (size_t)snprintf(ignored + ignored_len, sizeof(ignored) - ignored_len, "%s%s",
                                                n_ignored ? " " : "", key);
            n_ignored++;
            continue;
        }
        c = canonical(f, v);
        if (c == NULL) {
            hsmca_http_resp_error(resp, hsmca_err_last() == HSMCA_ERR_NOMEM ? 500 : 400, "%s",
                                  hsmca_err_message());
            json_decref(out);
            json_decref(owned);
            return NULL;
        }
        json_object_set_new(out, key, c);
    }
    if (n_ignored > 0)
        hsmca_http_resp_warn(resp, "Endpoint ignored these unrecognized parameters: [%s%s]", ignored,
                             n_ignored > 32 ? " ..." : "");
    json_decref(owned);
    return out;
}

const char *ob_str(const json_t *in, const char *name, const char *dflt)
{
    const char *s = json_string_value(json_object_get(in, name));

    return s != NULL ? s : dflt;
}

int64_t ob_int(const json_t *in, const char *name, int64_t dflt)
{
    const json_t *v = json_object_get(in, name);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool ob_bool(const json_t *in, const char *name, bool dflt)
{
    const json_t *v = json_object_get(in, name);

    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

bool ob_has(const json_t *in, const char *name)
{
    return json_object_get(in, name) != NULL;
}

hsmca_rv ob_list(const json_t *in, const char *name, hsmca_strlist *out)
{
    const json_t *a = json_object_get(in, name);
    size_t i;
    json_t *e;

    if (!json_is_array(a))
        return HSMCA_OK;
    json_array_foreach(a, i, e) {
        const char *s = json_string_value(e);
        hsmca_rv rv;
        if (s == NULL)
            continue;
        if ((rv = hsmca_strlist_add(out, s, strlen(s))) != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}
