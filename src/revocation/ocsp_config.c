/* SPDX-License-Identifier: Apache-2.0 */
/* The responder's settings: ocsp_disable and ocsp_expiry from the mount's
 * config/crl, delegation from hsmca's config/ocsp extension. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsmca/duration.h"
#include "hsmca/log.h"
#include "hsmca/revocation.h"
#include "ocsp_internal.h"

/* A boolean as OpenBao stores or accepts it: true/false, or the strings
 * and numbers its field parser takes. */
static bool json_flag(const json_t *obj, const char *key, bool dflt)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "t") == 0 || strcmp(s, "TRUE") == 0;
    }
    return dflt;
}

/* A duration stored as integer seconds or as OpenBao's text ("12h"). A
 * value that does not parse keeps the default: the writer validated it,
 * and a responder that stopped answering over a bad stored value would be
 * worse than one using the documented default. */
static int64_t json_seconds(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);
    int64_t secs = 0;

    if (json_is_integer(v))
        secs = json_integer_value(v);
    else if (!json_is_string(v) || hsmca_duration_parse_seconds(json_string_value(v), &secs) != HSMCA_OK) {
        hsmca_err_clear();
        return dflt;
    }
    return secs >= 0 ? secs : dflt;
}

hsmca_rv ocsp_settings_load(hsmca_ca *ca, const char *mount, ocsp_settings *out)
{
    json_t *ocsp = NULL;
    hsmca_crl_config crl;
    hsmca_rv rv;

    out->disable = false;
    out->expiry = OCSP_DEFAULT_EXPIRY;
    out->delegated = false;
    out->delegated_ttl = OCSP_DEFAULT_DELEGATED_TTL;
    /* ocsp_disable and ocsp_expiry are config/crl's (OpenBao); the
     * delegation settings are hsmca's own config/ocsp. */
    rv = hsmca_revocation_crl_config_get(ca, mount, &crl);
    if (rv != HSMCA_OK)
        goto done;
    rv = ca_config_load(ca, mount, OCSP_CONFIG_NAME, &ocsp);
    if (rv != HSMCA_OK)
        goto done;
    out->disable = crl.ocsp_disable;
    out->expiry = crl.ocsp_expiry;
    out->delegated = json_flag(ocsp, "delegated_signing", false);
    out->delegated_ttl = json_seconds(ocsp, "delegated_ttl", OCSP_DEFAULT_DELEGATED_TTL);
    if (out->delegated_ttl < HSMCA_OCSP_DELEGATED_TTL_MIN || out->delegated_ttl > HSMCA_OCSP_DELEGATED_TTL_MAX)
        out->delegated_ttl = OCSP_DEFAULT_DELEGATED_TTL;
done:
    json_decref(ocsp);
    return rv;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

hsmca_rv ocsp_settings_get(hsmca_ca *ca, const char *mount, ocsp_settings *out)
{
    hsmca_ocsp_state *st = ca->ocsp;
    unsigned long gen = atomic_load(&ca->gen);
    uint64_t now = monotonic_ms();
    size_t slot;
    hsmca_rv rv;

    pthread_mutex_lock(&st->lock);
    for (size_t k = 0; k < st->n_settings; k++) {
        const ocsp_settings_entry *e = &st->settings[k];
        if (e->gen == gen && now - e->loaded_ms < OCSP_SETTINGS_MAX_AGE_MS && strcmp(e->mount, mount) == 0) {
            *out = e->set;
            pthread_mutex_unlock(&st->lock);
            return HSMCA_OK;
        }
    }
    pthread_mutex_unlock(&st->lock);
    rv = ocsp_settings_load(ca, mount, out);
    if (rv != HSMCA_OK || strlen(mount) > HSMCA_STORE_MOUNT_MAX)
        return rv;
    pthread_mutex_lock(&st->lock);
    for (slot = 0; slot < st->n_settings; slot++) {
        if (strcmp(st->settings[slot].mount, mount) == 0)
            break;
    }
    if (slot == st->n_settings) {
        if (st->n_settings < OCSP_MOUNTS_MAX) {
            st->n_settings++;
        } else {
            slot = 0; /* the oldest load goes */
            for (size_t k = 1; k < st->n_settings; k++)
                slot = st->settings[k].loaded_ms < st->settings[slot].loaded_ms ? k : slot;
        }
    }
    memcpy(st->settings[slot].mount, mount, strlen(mount) + 1);
    st->settings[slot].gen = gen;
    st->settings[slot].loaded_ms = now;
    st->settings[slot].set = *out;
    pthread_mutex_unlock(&st->lock);
    return HSMCA_OK;
}

void hsmca_ocsp_config_changed(hsmca_ca *ca, const char *mount)
{
    hsmca_ocsp_state *st;

    if (ca == NULL || ca->ocsp == NULL || mount == NULL)
        return;
    st = ca->ocsp;
    pthread_mutex_lock(&st->lock);
    for (size_t k = 0; k < st->n_settings; k++) {
        if (strcmp(st->settings[k].mount, mount) == 0)
            st->settings[k].gen = 0; /* generations start at 1: never current */
    }
    pthread_mutex_unlock(&st->lock);
}

hsmca_rv hsmca_ocsp_config_get(hsmca_ca *ca, const char *mount, hsmca_ocsp_config *out)
{
    ocsp_settings set;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && mount != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    rv = ocsp_settings_load(ca, mount, &set);
    if (rv != HSMCA_OK)
        return rv;
    out->delegated_signing = set.delegated;
    out->delegated_ttl = set.delegated_ttl;
    return HSMCA_OK;
}

hsmca_rv hsmca_ocsp_config_set(hsmca_ca *ca, const char *mount, const hsmca_ocsp_config *in)
{
    hsmca_store_mount m;
    hsmca_store_batch *b = NULL;
    json_t *body = NULL;
    char *text = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && mount != NULL && in != NULL, HSMCA_ERR_INVALID_ARG);
    if (in->delegated_ttl < HSMCA_OCSP_DELEGATED_TTL_MIN || in->delegated_ttl > HSMCA_OCSP_DELEGATED_TTL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "delegated_ttl %lld s is outside 1h..8784h (a delegated OCSP signer is short-lived)",
                         (long long)in->delegated_ttl);
    memset(&m, 0, sizeof(m));
    rv = hsmca_store_mount_get(ca->store, mount, &m);
    hsmca_store_mount_clear(&m);
    if (rv != HSMCA_OK)
        return rv;
    body = json_pack("{s:b, s:I}", "delegated_signing", in->delegated_signing != 0, "delegated_ttl",
                     (json_int_t)in->delegated_ttl);
    text = body ? ca_json_text(body) : NULL;
    b = text ? hsmca_store_batch_new(ca->store) : NULL;
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, OCSP_CONFIG_NAME, NULL, text, NULL, 0);
    /* ca_commit moves the CA generation: mount tables and cached answers
     * made under the old setting are dropped. */
    rv = ca_commit(ca, b);
done:
    hsmca_store_batch_free(b);
    json_decref(body);
    free(text);
    return rv;
}
