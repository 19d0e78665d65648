/* SPDX-License-Identifier: Apache-2.0 */
/* config/auto-tidy: the mount's periodic tidy settings, their OpenBao
 * defaults and rules, stored as the "auto-tidy" configuration document. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hsmca/log.h"
#include "internal.h"

void hsmca_auto_tidy_defaults(hsmca_auto_tidy_config *c)
{
    memset(c, 0, sizeof(*c));
    c->interval_duration = 12 * 3600;
    hsmca_tidy_params_defaults(&c->params);
}

hsmca_rv hsmca_auto_tidy_check(const hsmca_auto_tidy_config *c)
{
    hsmca_return_val_if_fail(c != NULL, HSMCA_ERR_INVALID_ARG);
    if (c->interval_duration < 1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "interval_duration %lld: must be greater than zero",
                         (long long)c->interval_duration);
    if (c->publish_stored_certificate_count_metrics && !c->maintain_stored_certificate_counts)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "publish_stored_certificate_count_metrics: requires "
                                                "maintain_stored_certificate_counts to be enabled");
    return hsmca_tidy_params_check(&c->params);
}

hsmca_rv hsmca_revocation_auto_tidy_get(hsmca_ca *ca, const char *mount, hsmca_auto_tidy_config *out)
{
    json_t *o = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    hsmca_auto_tidy_defaults(out);
    rv = rev_config_load(ca, mount, REV_AUTO_TIDY_ID, "config/auto-tidy", &o);
    if (rv != HSMCA_OK || o == NULL)
        return rv; /* never set: OpenBao's defaults */
    out->enabled = rev_json_flag(o, "enabled", out->enabled);
    out->interval_duration = rev_json_secs(o, "interval_duration", out->interval_duration);
    out->maintain_stored_certificate_counts =
        rev_json_flag(o, "maintain_stored_certificate_counts", out->maintain_stored_certificate_counts);
    out->publish_stored_certificate_count_metrics =
        rev_json_flag(o, "publish_stored_certificate_count_metrics", out->publish_stored_certificate_count_metrics);
    out->params.tidy_cert_store = rev_json_flag(o, "tidy_cert_store", false);
    out->params.tidy_revoked_certs = rev_json_flag(o, "tidy_revoked_certs", false);
    out->params.tidy_revoked_cert_issuer_associations =
        rev_json_flag(o, "tidy_revoked_cert_issuer_associations", false);
    out->params.tidy_expired_issuers = rev_json_flag(o, "tidy_expired_issuers", false);
    out->params.safety_buffer = rev_json_secs(o, "safety_buffer", out->params.safety_buffer);
    out->params.issuer_safety_buffer = rev_json_secs(o, "issuer_safety_buffer", out->params.issuer_safety_buffer);
    out->params.pause_ms = rev_json_secs(o, "pause_ms", 0);
    json_decref(o);
    return HSMCA_OK;
}

hsmca_rv hsmca_revocation_auto_tidy_set(hsmca_ca *ca, const char *mount, const hsmca_auto_tidy_config *c)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store_batch *b = NULL;
    json_t *o = NULL;
    char *text = NULL;

    hsmca_return_val_if_fail(ca != NULL && c != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_auto_tidy_check(c);
    if (rv != HSMCA_OK)
        goto done;
    o = json_pack("{sb sI sb sb sb sb sb sb sI sI sI}", "enabled", c->enabled, "interval_duration",
                  (json_int_t)c->interval_duration, "maintain_stored_certificate_counts",
                  c->maintain_stored_certificate_counts, "publish_stored_certificate_count_metrics",
                  c->publish_stored_certificate_count_metrics, "tidy_cert_store", c->params.tidy_cert_store,
                  "tidy_revoked_certs", c->params.tidy_revoked_certs, "tidy_revoked_cert_issuer_associations",
                  c->params.tidy_revoked_cert_issuer_associations, "tidy_expired_issuers",
                  c->params.tidy_expired_issuers, "safety_buffer", (json_int_t)c->params.safety_buffer,
                  "issuer_safety_buffer", (json_int_t)c->params.issuer_safety_buffer, "pause_ms",
                  (json_int_t)c->params.pause_ms);
    text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    b = hsmca_store_batch_new(hsmca_ca_get0_store(ca));
    if (text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory storing config/auto-tidy");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, REV_AUTO_TIDY_ID, NULL, text, NULL,
                              0);
    rv = hsmca_store_batch_commit(b);
done:
    hsmca_store_batch_free(b);
    json_decref(o);
    free(text);
    return rv;
}

hsmca_rv hsmca_revocation_cert_counts(hsmca_ca *ca, const char *mount, hsmca_cert_counts *out)
{
    hsmca_auto_tidy_config c;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    rv = hsmca_revocation_auto_tidy_get(ca, mount, &c);
    if (rv != HSMCA_OK || !c.maintain_stored_certificate_counts)
        return rv;
    out->maintained = true;
    out->published = c.publish_stored_certificate_count_metrics;
    return hsmca_store_cert_counts(hsmca_ca_get0_store(ca), mount, &out->stored, &out->revoked);
}
