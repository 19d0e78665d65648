/* SPDX-License-Identifier: Apache-2.0 */
/* config/crl: the mount's CRL and OCSP settings, their OpenBao defaults and
 * rules, stored as the "crl" configuration document. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hsmca/log.h"
#include "hsmca/ocsp.h"
#include "internal.h"

void hsmca_crl_config_defaults(hsmca_crl_config *c)
{
    memset(c, 0, sizeof(*c));
    c->expiry = 72 * 3600;
    c->ocsp_expiry = 12 * 3600;
    c->auto_rebuild_grace_period = 12 * 3600;
    c->delta_rebuild_interval = 15 * 60;
}

void hsmca_crl_duration_text(int64_t secs, char out[32])
{
    int64_t h, m, s;
    int n = 0;

    if (secs <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    h = secs / 3600;
    m = secs % 3600 / 60;
    s = secs % 60;
    out[0] = '\0';
    /* Go's parser reads these; trailing zero units are left out as
     * OpenBao's defaults ("72h", "15m") show them. */
    if (h > 0)
        n += snprintf(out + n, (size_t)(32 - n), "%" PRId64 "h", h);
    if (m > 0 && n < 32)
        n += snprintf(out + n, (size_t)(32 - n), "%" PRId64 "m", m);
    if (s > 0 && n < 32)
        snprintf(out + n, (size_t)(32 - n), "%" PRId64 "s", s);
}

hsmca_rv hsmca_crl_config_check(const hsmca_crl_config *c)
{
    char a[32], b[32];

    hsmca_return_val_if_fail(c != NULL, HSMCA_ERR_INVALID_ARG);
    if (c->expiry <= 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "expiry: must be a positive duration");
    if (c->ocsp_expiry < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ocsp_expiry: must not be negative");
    if (c->auto_rebuild_grace_period < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "auto_rebuild_grace_period: must not be negative");
    if (c->delta_rebuild_interval < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "delta_rebuild_interval: must not be negative");
    hsmca_crl_duration_text(c->expiry, b);
    if (c->auto_rebuild && c->auto_rebuild_grace_period >= c->expiry) {
        hsmca_crl_duration_text(c->auto_rebuild_grace_period, a);
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "auto_rebuild_grace_period '%s': must be shorter than expiry '%s'", a, b);
    }
    if (c->enable_delta && !c->auto_rebuild)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "enable_delta: delta CRLs require auto_rebuild to be enabled");
    if (c->enable_delta && (c->delta_rebuild_interval <= 0 || c->delta_rebuild_interval >= c->expiry)) {
        hsmca_crl_duration_text(c->delta_rebuild_interval, a);
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "delta_rebuild_interval '%s': must be positive and shorter than expiry '%s'", a, b);
    }
    return HSMCA_OK;
}

hsmca_rv rev_config_load(hsmca_ca *ca, const char *mount, const char *id, const char *what, json_t **out)
{
    hsmca_store_doc doc;
    json_t *o;
    json_error_t je;
    hsmca_rv rv;

    *out = NULL;
    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(hsmca_ca_get0_store(ca), mount, HSMCA_DOC_CONFIG, id, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    o = json_loads(doc.body, 0, &je);
    hsmca_store_doc_clear(&doc);
    if (!json_is_object(o)) {
        json_decref(o);
        return hsmca_err(HSMCA_ERR_IO, "%s of mount '%s': the stored document is not a JSON object", what, mount);
    }
    *out = o;
    return HSMCA_OK;
}

int64_t rev_json_secs(const json_t *o, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool rev_json_flag(const json_t *o, const char *key, bool dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

hsmca_rv hsmca_revocation_crl_config_get(hsmca_ca *ca, const char *mount, hsmca_crl_config *out)
{
    json_t *o = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    hsmca_crl_config_defaults(out);
    rv = rev_config_load(ca, mount, REV_CONFIG_ID, "config/crl", &o);
    if (rv != HSMCA_OK || o == NULL)
        return rv; /* never set: OpenBao's defaults */
    out->expiry = rev_json_secs(o, "expiry", out->expiry);
    out->disable = rev_json_flag(o, "disable", out->disable);
    out->ocsp_disable = rev_json_flag(o, "ocsp_disable", out->ocsp_disable);
    out->ocsp_expiry = rev_json_secs(o, "ocsp_expiry", out->ocsp_expiry);
    out->auto_rebuild = rev_json_flag(o, "auto_rebuild", out->auto_rebuild);
    out->auto_rebuild_grace_period =
        rev_json_secs(o, "auto_rebuild_grace_period", out->auto_rebuild_grace_period);
    out->enable_delta = rev_json_flag(o, "enable_delta", out->enable_delta);
    out->delta_rebuild_interval = rev_json_secs(o, "delta_rebuild_interval", out->delta_rebuild_interval);
    json_decref(o);
    return HSMCA_OK;
}

hsmca_rv hsmca_revocation_crl_config_set(hsmca_ca *ca, const char *mount, const hsmca_crl_config *c)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store_batch *b = NULL;
    json_t *o = NULL;
    char *text = NULL;

    hsmca_return_val_if_fail(ca != NULL && c != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_crl_config_check(c);
    if (rv != HSMCA_OK)
        goto done;
    o = json_pack("{sI sb sb sI sb sI sb sI}", "expiry", (json_int_t)c->expiry, "disable", c->disable,
                  "ocsp_disable", c->ocsp_disable, "ocsp_expiry", (json_int_t)c->ocsp_expiry, "auto_rebuild",
                  c->auto_rebuild, "auto_rebuild_grace_period", (json_int_t)c->auto_rebuild_grace_period,
                  "enable_delta", c->enable_delta, "delta_rebuild_interval",
                  (json_int_t)c->delta_rebuild_interval);
    text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    b = hsmca_store_batch_new(hsmca_ca_get0_store(ca));
    if (text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory storing config/crl");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, REV_CONFIG_ID, NULL, text, NULL,
                              0);
    rv = hsmca_store_batch_commit(b);
    if (rv != HSMCA_OK)
        goto done;
    /* ocsp_disable and ocsp_expiry apply to the next OCSP request. */
    hsmca_ocsp_config_changed(ca, mount);
    /* OpenBao: "If enabled, it will re-build the CRL" -- and a disabled CRL
     * becomes the signed empty one at once. A failure here leaves the
     * configuration stored; rotate or the next revocation retries. */
    if (hsmca_revocation_crl_rotate(ca, mount, false) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "mount '%s': config/crl stored, but rebuilding CRLs failed: %s", mount,
                  hsmca_err_message());
    rv = HSMCA_OK;
done:
    hsmca_store_batch_free(b);
    json_decref(o);
    free(text);
    return rv;
}
