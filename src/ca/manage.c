/* SPDX-License-Identifier: Apache-2.0 */
/* Issuer updates and deletion, mount-wide deletion, configuration
 * documents and certificate reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "internal.h"

static const char *const sig_algorithms[] = {
    /* Go's x509.SignatureAlgorithm names, as OpenBao accepts them for
     * revocation_signature_algorithm. */
    "SHA256WithRSA", "SHA384WithRSA", "SHA512WithRSA", "SHA256WithRSAPSS", "SHA384WithRSAPSS",
    "SHA512WithRSAPSS", "ECDSAWithSHA256", "ECDSAWithSHA384", "ECDSAWithSHA512", "PureEd25519",
};

static hsmca_rv check_sig_alg(const char *alg)
{
    if (alg == NULL || alg[0] == '\0')
        return HSMCA_OK;
    for (size_t i = 0; i < sizeof(sig_algorithms) / sizeof(sig_algorithms[0]); i++) {
        if (strcmp(alg, sig_algorithms[i]) == 0)
            return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "revocation_signature_algorithm '%s' is not one of SHA256WithRSA, SHA384WithRSA, "
                     "SHA512WithRSA, SHA256WithRSAPSS, SHA384WithRSAPSS, SHA512WithRSAPSS, ECDSAWithSHA256, "
                     "ECDSAWithSHA384, ECDSAWithSHA512, PureEd25519", alg);
}

static hsmca_rv check_urls(const char *field, const hsmca_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *u = l->v[i];
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0 && strncmp(u, "ldap://", 7) != 0 &&
            strstr(u, "{{") == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s entry '%s' is not an http(s) or ldap URL", field, u);
        if (strlen(u) > 2048)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s entry is longer than 2048 bytes", field);
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_ca_issuer_update(hsmca_ca *ca, const char *mount, const char *ref, const hsmca_ca_issuer *attrs)
{
    hsmca_ca_issuer cur, next;
    hsmca_store_batch *b = NULL;
    json_t *body = NULL;
    unsigned char *der = NULL;
    char *text = NULL;
    int n;
    hsmca_rv rv;

    memset(&next, 0, sizeof(next));
    rv = hsmca_ca_issuer_get(ca, mount, ref, &cur);
    if (rv != HSMCA_OK)
        return rv;
    if (attrs->issuer_name[0] != '\0' && strcmp(attrs->issuer_name, "default") == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer_name 'default' is reserved");
        goto done;
    }
    /* A name kept as it was is not checked again: one stored before this
     * rule existed stays usable. */
    if (attrs->issuer_name[0] != '\0' && strcmp(attrs->issuer_name, cur.issuer_name) != 0 &&
        (rv = hsmca_name_check("issuer_name", attrs->issuer_name, HSMCA_STORE_ID_MAX)) != HSMCA_OK)
        goto done;
    if ((attrs->usage & HSMCA_USAGE_CRL) && !(X509_get_key_usage(cur.certificate) & KU_CRL_SIGN)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "usage crl-signing needs the cRLSign key usage in issuer '%s''s certificate", cur.issuer_id);
        goto done;
    }
    if ((rv = check_sig_alg(attrs->revocation_signature_algorithm)) != HSMCA_OK ||
        (rv = check_urls("issuing_certificates", &attrs->issuing_certificates)) != HSMCA_OK ||
        (rv = check_urls("crl_distribution_points", &attrs->crl_distribution_points)) != HSMCA_OK ||
        (rv = check_urls("ocsp_servers", &attrs->ocsp_servers)) != HSMCA_OK)
        goto done;
    snprintf(next.issuer_id, sizeof(next.issuer_id), "%s", cur.issuer_id);
    snprintf(next.issuer_name, sizeof(next.issuer_name), "%s", attrs->issuer_name);
    snprintf(next.key_id, sizeof(next.key_id), "%s", cur.key_id);
    next.certificate = cur.certificate;
    next.usage = attrs->usage | HSMCA_USAGE_READ_ONLY; /* read-only is implicit */
    next.leaf_not_after_behavior = attrs->leaf_not_after_behavior;
    next.enable_aia_url_templating = attrs->enable_aia_url_templating;
    snprintf(next.revocation_signature_algorithm, sizeof(next.revocation_signature_algorithm), "%s",
             attrs->revocation_signature_algorithm);
    next.revoked = cur.revoked;
    next.revocation_time = cur.revocation_time;
    /* manual_chain: references resolved to ids; the chain starts here. */
    for (size_t i = 0; i < attrs->manual_chain.n; i++) {
        hsmca_ca_issuer other;
        if ((rv = hsmca_ca_issuer_get(ca, mount, attrs->manual_chain.v[i], &other)) != HSMCA_OK) {
            hsmca_err_prefix("manual_chain entry %zu", i + 1);
            goto done;
        }
        rv = hsmca_strlist_add(&next.manual_chain, other.issuer_id, strlen(other.issuer_id));
        hsmca_ca_issuer_clear(&other);
        if (rv != HSMCA_OK)
            goto done;
    }
    if (next.manual_chain.n > 0 && strcmp(next.manual_chain.v[0], next.issuer_id) != 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "manual_chain must start with the issuer itself (%s)", next.issuer_id);
        goto done;
    }
    if ((rv = hsmca_strlist_copy(&next.issuing_certificates, &attrs->issuing_certificates)) != HSMCA_OK ||
        (rv = hsmca_strlist_copy(&next.crl_distribution_points, &attrs->crl_distribution_points)) != HSMCA_OK ||
        (rv = hsmca_strlist_copy(&next.ocsp_servers, &attrs->ocsp_servers)) != HSMCA_OK ||
        (rv = ca_issuer_to_json(&next, &body)) != HSMCA_OK)
        goto done;
    n = i2d_X509(cur.certificate, &der);
    text = ca_json_text(body);
    b = hsmca_store_batch_new(ca->store);
    if (n <= 0 || text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, mount, HSMCA_DOC_ISSUER, next.issuer_id,
                              next.issuer_name[0] ? next.issuer_name : NULL, text, der, (size_t)n);
    rv = ca_commit(ca, b);
done:
    next.certificate = NULL; /* borrowed from cur */
    hsmca_ca_issuer_clear(&next);
    hsmca_ca_issuer_clear(&cur);
    hsmca_store_batch_free(b);
    json_decref(body);
    OPENSSL_free(der);
    free(text);
    return rv;
}

hsmca_rv hsmca_ca_issuer_revoke(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out)
{
    hsmca_store_batch *b = NULL;
    json_t *body = NULL;
    unsigned char *der = NULL;
    char *text = NULL;
    int n;
    hsmca_rv rv = hsmca_ca_issuer_get(ca, mount, ref, out);

    if (rv != HSMCA_OK)
        return rv;
    if (out->revoked)
        return HSMCA_OK;
    out->revoked = true;
    out->revocation_time = ca_now();
    /* A revoked issuer keeps read-only and CRL signing (it still vouches for
     * what it issued) but never issues again. */
    out->usage &= ~(unsigned)HSMCA_USAGE_ISSUING;
    rv = ca_issuer_to_json(out, &body);
    if (rv != HSMCA_OK)
        goto done;
    n = i2d_X509(out->certificate, &der);
    text = ca_json_text(body);
    b = hsmca_store_batch_new(ca->store);
    if (n <= 0 || text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, mount, HSMCA_DOC_ISSUER, out->issuer_id,
                              out->issuer_name[0] ? out->issuer_name : NULL, text, der, (size_t)n);
    rv = ca_commit(ca, b);
    if (rv == HSMCA_OK)
        hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': issuer %s revoked", mount, out->issuer_id);
done:
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(out);
    hsmca_store_batch_free(b);
    json_decref(body);
    OPENSSL_free(der);
    free(text);
    return rv;
}

/* Adds to b: drop config/issuers' default if it names issuer_id. */
static void unset_default_issuer(hsmca_ca *ca, hsmca_store_batch *b, const char *mount, const char *issuer_id)
{
    json_t *cfg = NULL;

    if (ca_config_load(ca, mount, "issuers", &cfg) == HSMCA_OK &&
        strcmp(ca_json_str(cfg, "default", ""), issuer_id) == 0) {
        char *text;
        json_object_set_new(cfg, "default", json_string(""));
        text = ca_json_text(cfg);
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, "issuers", NULL, text, NULL, 0);
        free(text);
    }
    json_decref(cfg);
}

/* Destroys token keys no record refers to any more (after the commit that
 * dropped the records: a failure before leaves keys, never records without
 * their keys). */
static void destroy_keys(hsmca_ca *ca, const char *mount, const hsmca_strlist *keys)
{
    for (size_t i = 0; i < keys->n; i++) {
        hsmca_rv krv = hsmca_keyslot_delete(ca->keyslot, keys->v[i]);
        if (krv != HSMCA_OK && krv != HSMCA_ERR_NOT_FOUND)
            hsmca_log(HSMCA_LOG_ERR, "mount '%s': key %s stays on the token: %s", mount, keys->v[i],
                      hsmca_err_message());
    }
}

hsmca_rv hsmca_ca_issuer_delete(hsmca_ca *ca, const char *mount, const char *ref)
{
    hsmca_ca_issuer cur;
    hsmca_store_batch *b;
    hsmca_strlist signer_keys = {0};
    hsmca_rv rv = hsmca_ca_issuer_get(ca, mount, ref, &cur);

    if (rv != HSMCA_OK)
        return rv;
    b = hsmca_store_batch_new(ca->store);
    if (b == NULL) {
        hsmca_ca_issuer_clear(&cur);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_ISSUER, cur.issuer_id);
    unset_default_issuer(ca, b, mount, cur.issuer_id);
    /* its delegated OCSP signer goes with it (the issuer's key stays) */
    rv = hsmca_ocsp_signers_drop(ca, b, mount, cur.issuer_id, &signer_keys);
    if (rv == HSMCA_OK)
        rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    if (rv == HSMCA_OK) {
        destroy_keys(ca, mount, &signer_keys);
        hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': issuer %s deleted", mount, cur.issuer_id);
    }
    hsmca_strlist_clear(&signer_keys);
    hsmca_ca_issuer_clear(&cur);
    return rv;
}

static int collect_issuer(const hsmca_ca_issuer *i, void *arg)
{
    return hsmca_strlist_add(arg, i->issuer_id, strlen(i->issuer_id)) == HSMCA_OK;
}

static int collect_key(const hsmca_ca_key *k, void *arg)
{
    return hsmca_strlist_add(arg, k->key_id, strlen(k->key_id)) == HSMCA_OK;
}

hsmca_rv hsmca_ca_delete_all(hsmca_ca *ca, const char *mount)
{
    hsmca_strlist issuers = {0}, keys = {0};
    hsmca_store_batch *b = NULL;
    hsmca_rv rv;

    if ((rv = hsmca_ca_issuer_list(ca, mount, collect_issuer, &issuers)) != HSMCA_OK ||
        (rv = hsmca_ca_key_list(ca, mount, collect_key, &keys)) != HSMCA_OK)
        goto done;
    b = hsmca_store_batch_new(ca->store);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < issuers.n; i++)
        hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_ISSUER, issuers.v[i]);
    for (size_t i = 0; i < keys.n; i++)
        hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_KEY, keys.v[i]);
    hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_CONFIG, "issuers");
    hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_CONFIG, "keys");
    if ((rv = hsmca_ocsp_signers_drop(ca, b, mount, NULL, &keys)) != HSMCA_OK)
        goto done;
    rv = ca_commit(ca, b);
    if (rv != HSMCA_OK)
        goto done;
    destroy_keys(ca, mount, &keys);
    hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': deleted %zu issuers and %zu keys", mount, issuers.n, keys.n);
done:
    hsmca_store_batch_free(b);
    hsmca_strlist_clear(&issuers);
    hsmca_strlist_clear(&keys);
    return rv;
}

/* ---- configuration ---- */

static const char *const config_names[] = {"urls", "cluster", "issuers", "keys"};

hsmca_rv hsmca_ca_config_get(hsmca_ca *ca, const char *mount, const char *name, char **json_text)
{
    json_t *cfg = NULL;
    hsmca_rv rv = ca_config_load(ca, mount, name, &cfg);

    *json_text = NULL;
    if (rv != HSMCA_OK)
        return rv;
    *json_text = ca_json_text(cfg);
    json_decref(cfg);
    return *json_text ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

static hsmca_rv config_name_check(const char *name)
{
    for (size_t i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++) {
        if (strcmp(name, config_names[i]) == 0)
            return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "config '%s' is not one of urls, cluster, issuers, keys", name);
}

/* Checks cfg (an object, changed in place: defaults become ids) and
 * stores it as config/<name>; the caller holds config_lock. *stored gets
 * the stored text when not NULL. */
static hsmca_rv config_store_locked(hsmca_ca *ca, const char *mount, const char *name, json_t *cfg, char **stored)
{
    hsmca_store_batch *b = NULL;
    char *text = NULL;
    hsmca_rv rv = HSMCA_OK;

    if (strcmp(name, "urls") == 0) {
        static const char *const fields[] = {"issuing_certificates", "crl_distribution_points", "ocsp_servers",
                                             "delta_crl_distribution_points"};
        for (size_t i = 0; rv == HSMCA_OK && i < sizeof(fields) / sizeof(fields[0]); i++) {
            hsmca_strlist l = {0};
            rv = ca_json_strlist(cfg, fields[i], &l);
            if (rv == HSMCA_ERR_INTERNAL)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s must be a list of strings", fields[i]);
            if (rv == HSMCA_OK)
                rv = check_urls(fields[i], &l);
            hsmca_strlist_clear(&l);
        }
    } else if (strcmp(name, "issuers") == 0 || strcmp(name, "keys") == 0) {
        /* Defaults are stored as ids, whatever reference was given. */
        const char *ref = ca_json_str(cfg, "default", "");
        if (ref[0] != '\0') {
            char id[40];
            if (strcmp(name, "issuers") == 0) {
                hsmca_ca_issuer iss;
                rv = hsmca_ca_issuer_get(ca, mount, ref, &iss);
                if (rv == HSMCA_OK)
                    snprintf(id, sizeof(id), "%s", iss.issuer_id);
                hsmca_ca_issuer_clear(&iss);
            } else {
                hsmca_ca_key k;
                rv = hsmca_ca_key_get(ca, mount, ref, &k);
                if (rv == HSMCA_OK)
                    snprintf(id, sizeof(id), "%s", k.key_id);
            }
            if (rv == HSMCA_OK)
                json_object_set_new(cfg, "default", json_string(id));
        }
    }
    if (rv != HSMCA_OK)
        goto done;
    text = ca_json_text(cfg);
    b = hsmca_store_batch_new(ca->store);
    if (text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, name, NULL, text, NULL, 0);
    rv = ca_commit(ca, b);
    if (rv == HSMCA_OK && stored != NULL)
        *stored = text, text = NULL;
done:
    hsmca_store_batch_free(b);
    free(text);
    return rv;
}

hsmca_rv hsmca_ca_config_set(hsmca_ca *ca, const char *mount, const char *name, const char *json_text)
{
    json_error_t jerr;
    json_t *cfg = NULL;
    hsmca_rv rv = config_name_check(name);

    if (rv != HSMCA_OK)
        return rv;
    cfg = json_loads(json_text ? json_text : "", JSON_REJECT_DUPLICATES, &jerr);
    if (cfg == NULL || !json_is_object(cfg)) {
        json_decref(cfg);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "config/%s must be a JSON object", name);
    }
    pthread_mutex_lock(&ca->config_lock);
    rv = config_store_locked(ca, mount, name, cfg, NULL);
    pthread_mutex_unlock(&ca->config_lock);
    json_decref(cfg);
    return rv;
}

hsmca_rv hsmca_ca_config_update(hsmca_ca *ca, const char *mount, const char *name, hsmca_ca_config_edit_fn edit,
                                void *arg, char **json_text)
{
    json_t *cfg = NULL;
    hsmca_rv rv = config_name_check(name);

    hsmca_return_val_if_fail(edit != NULL, HSMCA_ERR_INVALID_ARG);
    if (json_text != NULL)
        *json_text = NULL;
    if (rv != HSMCA_OK)
        return rv;
    pthread_mutex_lock(&ca->config_lock);
    rv = ca_config_load(ca, mount, name, &cfg);
    if (rv == HSMCA_OK)
        rv = edit(cfg, arg);
    if (rv == HSMCA_OK && !json_is_object(cfg))
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "config/%s: the edit left something that is not an object", name);
    if (rv == HSMCA_OK)
        rv = config_store_locked(ca, mount, name, cfg, json_text);
    pthread_mutex_unlock(&ca->config_lock);
    json_decref(cfg);
    return rv;
}

/* ---- certificates ---- */

hsmca_rv hsmca_ca_cert_get(hsmca_ca *ca, const char *mount, const char *serial, hsmca_store_cert *out)
{
    unsigned char s[HSMCA_SERIAL_MAX];
    size_t len = 0;
    hsmca_rv rv = hsmca_serial_parse(serial, s, &len);

    memset(out, 0, sizeof(*out));
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_store_cert_get(ca->store, mount, s, len, out);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "no certificate with serial %s in mount '%s'", serial, mount);
    return rv;
}

typedef struct {
    int (*cb)(const char *serial_text, void *arg);
    void *arg;
} cert_walk;

static int cert_cb(const hsmca_store_cert *c, void *arg)
{
    cert_walk *w = arg;
    char text[HSMCA_SERIAL_TEXT_MAX + 1];

    hsmca_serial_format(c->serial, c->serial_len, text);
    return w->cb(text, w->arg);
}

hsmca_rv hsmca_ca_cert_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                            int (*cb)(const char *serial_text, void *arg), void *arg)
{
    unsigned char a[HSMCA_SERIAL_MAX];
    size_t alen = 0;
    cert_walk w = {cb, arg};

    if (after != NULL && after[0] != '\0') {
        hsmca_rv rv = hsmca_serial_parse(after, a, &alen);
        if (rv != HSMCA_OK)
            return rv;
    }
    return hsmca_store_cert_list(ca->store, mount, alen ? a : NULL, alen, limit, cert_cb, &w);
}
