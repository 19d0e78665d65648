/* SPDX-License-Identifier: Apache-2.0 */
/* JSON document helpers of the CA core: loading bodies, config objects and
 * string lists. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

hsmca_rv ca_doc_load(hsmca_ca *ca, const char *mount, const char *kind, const char *ref,
                     hsmca_store_doc *doc, json_t **body)
{
    json_error_t jerr;
    hsmca_rv rv;

    memset(doc, 0, sizeof(*doc));
    *body = NULL;
    rv = hsmca_store_doc_get(ca->store, mount, kind, ref, doc);
    if (rv != HSMCA_OK)
        return rv;
    *body = json_loads(doc->body ? doc->body : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (*body == NULL || !json_is_object(*body)) {
        json_decref(*body);
        *body = NULL;
        hsmca_store_doc_clear(doc);
        return hsmca_err(HSMCA_ERR_INTERNAL, "stored %s '%s' in mount '%s' is not a JSON object", kind, ref,
                         mount);
    }
    return HSMCA_OK;
}

hsmca_rv ca_config_load(hsmca_ca *ca, const char *mount, const char *id, json_t **out)
{
    hsmca_store_doc doc;
    hsmca_rv rv = ca_doc_load(ca, mount, HSMCA_DOC_CONFIG, id, &doc, out);

    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        *out = json_object();
        return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    hsmca_store_doc_clear(&doc);
    return rv;
}

const char *ca_json_str(const json_t *obj, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : dflt;
}

hsmca_rv ca_json_strlist(const json_t *obj, const char *key, hsmca_strlist *out)
{
    const json_t *arr = json_object_get(obj, key);
    size_t i;
    const json_t *v;

    if (arr == NULL || json_is_null(arr))
        return HSMCA_OK;
    if (!json_is_array(arr))
        return hsmca_err(HSMCA_ERR_INTERNAL, "stored field '%s' is not a list", key);
    json_array_foreach(arr, i, v)
    {
        hsmca_rv rv;
        if (!json_is_string(v))
            return hsmca_err(HSMCA_ERR_INTERNAL, "stored field '%s' has a non-string entry", key);
        rv = hsmca_strlist_add(out, json_string_value(v), json_string_length(v));
        if (rv != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

json_t *ca_strlist_to_json(const hsmca_strlist *l)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        if (json_array_append_new(arr, json_string(l->v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

char *ca_json_text(const json_t *obj)
{
    return json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
}
