/* SPDX-License-Identifier: Apache-2.0 */
/* CRLs of the certificate auth method fetched from a distribution point
 * (POST crls/:name {"url": ...}): fetched (bounded), verified against the
 * CA certificates of the mount's roles, stored like a pushed CRL (so a
 * restart needs no network before the first login, CVE-2022-41316), and
 * refreshed by a background thread before their nextUpdate. A failed
 * refresh is logged and the last good CRL stays in force. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hsmca/fetch.h"
#include "hsmca/log.h"
#include "hsmca/store.h"
#include "internal.h"

#define DOC_CERT_CRL "cert_crl"
#define CRL_URL_MAX_BYTES (8u * 1024u * 1024u)
#define CRL_URL_TIMEOUT_MS 10000L
#define CRL_URL_SERIALS_MAX 1000000
#define CRL_RETRY_S 30         /* after a failed refresh */
#define CRL_NO_NEXT_UPDATE_S 3600 /* a CRL without nextUpdate is fetched again hourly */
#define CRL_TICK_S 2
#define CRL_MOUNTS_MAX 256u
#define CRL_DOCS_MAX 1000u
#define ROLE_CERTS_MAX 16

static int64_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static int collect_role_pem(const hsmca_store_doc *d, void *arg)
{
    json_t *j = json_loads(d->body, 0, NULL);
    const char *pem = json_string_value(json_object_get(j, "certificate"));

    if (pem != NULL)
        json_array_append_new(arg, json_string(pem));
    json_decref(j);
    return 1;
}

/* Whether a CA certificate of one of the mount's roles signed crl. */
static hsmca_rv crl_trusted(hsmca_openbao *api, const char *mount, const char *url, X509_CRL *crl)
{
    json_t *pems = json_array(), *v;
    size_t i;
    bool ok = false;
    hsmca_rv rv;

    if (pems == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = hsmca_store_doc_list(api->cfg.store, mount, "cert_role", NULL, 0, collect_role_pem, pems);
    if (rv != HSMCA_OK)
        goto done;
    json_array_foreach(pems, i, v) {
        BIO *b = BIO_new_mem_buf(json_string_value(v), -1);
        X509 *x;
        int n = 0;
        while (!ok && b != NULL && n++ < ROLE_CERTS_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            EVP_PKEY *k = X509_get0_pubkey(x);
            ok = (X509_get_extension_flags(x) & EXFLAG_CA) &&
                 X509_NAME_cmp(X509_get_subject_name(x), X509_CRL_get_issuer(crl)) == 0 && k != NULL &&
                 X509_CRL_verify(crl, k) == 1;
            X509_free(x);
        }
        BIO_free(b);
        if (ok)
            break;
    }
    ERR_clear_error();
    rv = ok ? HSMCA_OK
            : hsmca_err(HSMCA_ERR_INVALID_ARG,
                        "url '%s': the CRL is not signed by a CA certificate of any role of this mount", url);
done:
    json_decref(pems);
    return rv;
}

hsmca_rv ob_cert_crl_from_url(hsmca_openbao *api, const char *mount, const char *url, char **body,
                              unsigned char **der_out, size_t *der_len)
{
    hsmca_fetch_req fr;
    unsigned char *raw = NULL, *der = NULL;
    const unsigned char *p;
    size_t raw_len = 0;
    X509_CRL *crl = NULL;
    json_t *doc = NULL, *serials = NULL;
    STACK_OF(X509_REVOKED) *revs;
    int64_t now = hsmca_auth_now(api->cfg.auth), this_upd, next_upd, refresh;
    int n;
    hsmca_rv rv;

    *body = NULL;
    *der_out = NULL;
    *der_len = 0;
    memset(&fr, 0, sizeof(fr));
    fr.url = url;
    fr.max_bytes = CRL_URL_MAX_BYTES;
    fr.timeout_ms = CRL_URL_TIMEOUT_MS;
    if ((rv = hsmca_fetch(&fr, &raw, &raw_len)) != HSMCA_OK)
        goto done;
    /* Distribution points serve DER (RFC 5280 4.2.1.13); PEM is taken too. */
    p = raw;
    crl = d2i_X509_CRL(NULL, &p, (long)raw_len);
    if (crl == NULL || p != raw + raw_len) {
        BIO *b = BIO_new_mem_buf(raw, (int)raw_len);
        X509_CRL_free(crl);
        crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    ERR_clear_error();
    if (crl == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "url '%s': the answer is not an X.509 CRL (DER or PEM)", url);
        goto done;
    }
    if ((rv = crl_trusted(api, mount, url, crl)) != HSMCA_OK)
        goto done;
    this_upd = asn1_unix(X509_CRL_get0_lastUpdate(crl));
    next_upd = asn1_unix(X509_CRL_get0_nextUpdate(crl));
    if (this_upd > now + 300) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "url '%s': the CRL's thisUpdate is in the future", url);
        goto done;
    }
    revs = X509_CRL_get_REVOKED(crl);
    if ((n = sk_X509_REVOKED_num(revs)) > CRL_URL_SERIALS_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "url '%s': the CRL lists %d serials; at most %d are accepted", url, n,
                       CRL_URL_SERIALS_MAX);
        goto done;
    }
    rv = HSMCA_ERR_NOMEM;
    if ((serials = json_array()) == NULL)
        goto done;
    for (int i = 0; i < n; i++) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i)), NULL);
        char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
        int bad = dec == NULL || json_array_append_new(serials, json_string(dec)) != 0;
        OPENSSL_free(dec);
        BN_free(bn);
        if (bad)
            goto done;
    }
    /* Refresh a quarter of the validity before nextUpdate (at least a
     * second before), so a good CRL is always in force. */
    if (next_upd > this_upd) {
        refresh = next_upd - (next_upd - this_upd) / 4;
        if (refresh >= next_upd)
            refresh = next_upd - 1;
    } else {
        refresh = now + CRL_NO_NEXT_UPDATE_S;
    }
    /* A distribution point still serving a CRL past its refresh point
     * (its CA has not re-issued yet) is asked again after a pause, not on
     * every tick. */
    if (refresh <= now)
        refresh = now + CRL_RETRY_S;
    doc = json_pack("{s:O,s:s,s:I,s:I,s:I,s:I}", "serials", serials, "url", url, "this_update", (json_int_t)this_upd,
                    "next_update", (json_int_t)next_upd, "fetched_at", (json_int_t)now, "refresh_at",
                    (json_int_t)refresh);
    if (doc == NULL || (n = i2d_X509_CRL(crl, &der)) <= 0 || (*body = json_dumps(doc, JSON_COMPACT)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    *der_out = der;
    *der_len = (size_t)n;
    der = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_message()[0] == '\0')
        hsmca_err(rv, "out of memory");
    OPENSSL_free(der);
    json_decref(doc);
    json_decref(serials);
    X509_CRL_free(crl);
    free(raw);
    return rv;
}

/* ---- the background refresh ---- */

static int collect_cert_mount(const hsmca_store_mount *m, void *arg)
{
    if (strcmp(m->type, "cert") == 0 && json_array_size(arg) < CRL_MOUNTS_MAX)
        json_array_append_new(arg, json_string(m->name));
    return 1;
}

static int collect_crl_doc(const hsmca_store_doc *d, void *arg)
{
    json_t *j = json_loads(d->body, 0, NULL);

    if (j != NULL && json_is_string(json_object_get(j, "url")) && json_array_size(arg) < CRL_DOCS_MAX) {
        json_object_set_new(j, "_name", json_string(d->id));
        json_array_append_new(arg, j);
    } else {
        json_decref(j);
    }
    return 1;
}

static hsmca_rv put_doc(hsmca_openbao *api, const char *mount, const char *name, const char *body,
                        const unsigned char *der, size_t der_len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(api->cfg.store);
    hsmca_rv rv;

    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, DOC_CERT_CRL, name, NULL, body, der, der_len);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* Writes the outcome of one refresh, unless the CRL was deleted or
 * replaced meanwhile (same url and fetched_at as when it was read). */
static void refresh_one(hsmca_openbao *api, const char *mount, const json_t *old)
{
    const char *name = json_string_value(json_object_get(old, "_name"));
    const char *url = json_string_value(json_object_get(old, "url"));
    json_int_t fetched = json_integer_value(json_object_get(old, "fetched_at"));
    char *body = NULL, *kept = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    hsmca_store_doc cur;
    json_t *now_doc = NULL;
    hsmca_rv rv = ob_cert_crl_from_url(api, mount, url, &body, &der, &der_len);
    char why[512];

    snprintf(why, sizeof(why), "%s", rv != HSMCA_OK ? hsmca_err_message() : "");
    hsmca_err_clear();
    memset(&cur, 0, sizeof(cur));
    pthread_mutex_lock(&api->crl_lock);
    if (hsmca_store_doc_get(api->cfg.store, mount, DOC_CERT_CRL, name, &cur) != HSMCA_OK ||
        (now_doc = json_loads(cur.body, 0, NULL)) == NULL ||
        !json_equal(json_object_get(now_doc, "url"), json_object_get(old, "url")) ||
        json_integer_value(json_object_get(now_doc, "fetched_at")) != fetched) {
        hsmca_err_clear();
        goto done;
    }
    if (rv == HSMCA_OK) {
        if (put_doc(api, mount, name, body, der, der_len) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_ERR, "%s: CRL '%s' refreshed from %s but not stored: %s", mount, name, url,
                      hsmca_err_message());
        else
            hsmca_log(HSMCA_LOG_INFO, "%s: CRL '%s' refreshed from %s", mount, name, url);
        goto done;
    }
    /* The last good CRL stays; only the next attempt moves. */
    hsmca_log(HSMCA_LOG_WARNING, "%s: CRL '%s' could not be refreshed from %s (%s); keeping the last good CRL", mount,
              name, url, why);
    json_object_set_new(now_doc, "refresh_at", json_integer(hsmca_auth_now(api->cfg.auth) + CRL_RETRY_S));
    json_object_set_new(now_doc, "last_error", json_string(why));
    if ((kept = json_dumps(now_doc, JSON_COMPACT)) == NULL ||
        put_doc(api, mount, name, kept, cur.blob, cur.blob_len) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_ERR, "%s: CRL '%s': the failed refresh could not be recorded", mount, name);
done:
    hsmca_err_clear();
    pthread_mutex_unlock(&api->crl_lock);
    free(kept);
    json_decref(now_doc);
    hsmca_store_doc_clear(&cur);
    free(body);
    OPENSSL_free(der);
}

static void refresh_due(hsmca_openbao *api)
{
    json_t *mounts = json_array(), *m, *docs, *d;
    size_t i, k;
    int64_t now = hsmca_auth_now(api->cfg.auth);

    if (mounts == NULL || hsmca_store_mount_list(api->cfg.store, collect_cert_mount, mounts) != HSMCA_OK) {
        hsmca_err_clear();
        json_decref(mounts);
        return;
    }
    json_array_foreach(mounts, i, m) {
        if ((docs = json_array()) == NULL)
            break;
        if (hsmca_store_doc_list(api->cfg.store, json_string_value(m), DOC_CERT_CRL, NULL, CRL_DOCS_MAX,
                                 collect_crl_doc, docs) == HSMCA_OK) {
            json_array_foreach(docs, k, d) {
                if (json_integer_value(json_object_get(d, "refresh_at")) <= now && !atomic_load(&api->crl_stop))
                    refresh_one(api, json_string_value(m), d);
            }
        }
        hsmca_err_clear();
        json_decref(docs);
    }
    json_decref(mounts);
}

static void *refresher(void *arg)
{
    hsmca_openbao *api = arg;
    struct timespec ts;

    pthread_mutex_lock(&api->crl_lock);
    while (!atomic_load(&api->crl_stop)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += CRL_TICK_S;
        pthread_cond_timedwait(&api->crl_cond, &api->crl_lock, &ts);
        if (atomic_load(&api->crl_stop))
            break;
        pthread_mutex_unlock(&api->crl_lock);
        refresh_due(api);
        pthread_mutex_lock(&api->crl_lock);
    }
    pthread_mutex_unlock(&api->crl_lock);
    return NULL;
}

hsmca_rv ob_cert_crl_refresher_start(hsmca_openbao *api)
{
    if (pthread_create(&api->crl_thread, NULL, refresher, api) != 0)
        return hsmca_err(HSMCA_ERR_INTERNAL, "cannot start the CRL refresh thread");
    api->crl_thread_started = true;
    return HSMCA_OK;
}

void ob_cert_crl_refresher_stop(hsmca_openbao *api)
{
    if (!api->crl_thread_started)
        return;
    pthread_mutex_lock(&api->crl_lock);
    atomic_store(&api->crl_stop, true);
    pthread_cond_broadcast(&api->crl_cond);
    pthread_mutex_unlock(&api->crl_lock);
    pthread_join(api->crl_thread, NULL);
    api->crl_thread_started = false;
}
