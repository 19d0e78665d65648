/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate extensions the CA adds itself: by OpenSSL config syntax for
 * fixed values, and built structurally for URLs from configuration (a URL is
 * data, never parsed as config syntax). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "internal.h"

#define URL_MAX 2048

hsmca_rv ca_ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot build extension %s = %s", OBJ_nid2sn(nid), value);
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory adding %s", OBJ_nid2sn(nid));
}

/* Replaces every {{name}} with value in s (into out). */
static void substitute(const char *s, const char *name, const char *value, char *out, size_t size)
{
    char pattern[64];
    size_t o = 0, plen;

    snprintf(pattern, sizeof(pattern), "{{%s}}", name);
    plen = strlen(pattern);
    while (*s && o + 1 < size) {
        if (strncmp(s, pattern, plen) == 0) {
            size_t vlen = strlen(value);
            if (o + vlen >= size)
                break;
            memcpy(out + o, value, vlen);
            o += vlen;
            s += plen;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
}

typedef struct {
    const char *issuer_id, *cluster_path, *cluster_aia_path;
    bool templating;
} url_ctx;

static hsmca_rv expand(const url_ctx *u, const char *in, char *out, size_t size)
{
    char a[URL_MAX], b[URL_MAX];

    if (strlen(in) >= URL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "URL longer than %d bytes", URL_MAX);
    if (!u->templating) {
        snprintf(out, size, "%s", in);
        return HSMCA_OK;
    }
    substitute(in, "issuer_id", u->issuer_id, a, sizeof(a));
    substitute(a, "cluster_path", u->cluster_path, b, sizeof(b));
    substitute(b, "cluster_aia_path", u->cluster_aia_path, out, size);
    if (strstr(out, "{{") != NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "URL '%s' uses an unknown or unset template", in);
    return HSMCA_OK;
}

static GENERAL_NAME *uri_name(const char *uri)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, uri, (int)strlen(uri))) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    return gn;
}

static hsmca_rv add_aia(X509 *x, const url_ctx *u, const hsmca_strlist *ca_issuers, const hsmca_strlist *ocsp)
{
    AUTHORITY_INFO_ACCESS *aia = AUTHORITY_INFO_ACCESS_new();
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    char url[URL_MAX];

    if (aia == NULL)
        goto done;
    for (int pass = 0; pass < 2; pass++) {
        const hsmca_strlist *l = pass == 0 ? ocsp : ca_issuers;
        for (size_t i = 0; i < l->n; i++) {
            ACCESS_DESCRIPTION *ad;
            if ((rv = expand(u, l->v[i], url, sizeof(url))) != HSMCA_OK)
                goto done;
            rv = HSMCA_ERR_NOMEM;
            ad = ACCESS_DESCRIPTION_new();
            if (ad == NULL)
                goto done;
            ASN1_OBJECT_free(ad->method);
            ad->method = OBJ_nid2obj(pass == 0 ? NID_ad_OCSP : NID_ad_ca_issuers);
            GENERAL_NAME_free(ad->location);
            ad->location = uri_name(url);
            if (ad->location == NULL || !sk_ACCESS_DESCRIPTION_push(aia, ad)) {
                ACCESS_DESCRIPTION_free(ad);
                goto done;
            }
        }
    }
    rv = HSMCA_OK;
    if (sk_ACCESS_DESCRIPTION_num(aia) > 0 && !X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_REPLACE))
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add authorityInfoAccess");
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building authorityInfoAccess");
    AUTHORITY_INFO_ACCESS_free(aia);
    return rv;
}

static hsmca_rv add_cdp(X509 *x, const url_ctx *u, const hsmca_strlist *crls)
{
    CRL_DIST_POINTS *cdp = CRL_DIST_POINTS_new();
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    char url[URL_MAX];

    if (cdp == NULL)
        goto done;
    for (size_t i = 0; i < crls->n; i++) {
        DIST_POINT *dp;
        GENERAL_NAME *gn;
        if ((rv = expand(u, crls->v[i], url, sizeof(url))) != HSMCA_OK)
            goto done;
        rv = HSMCA_ERR_NOMEM;
        dp = DIST_POINT_new();
        gn = uri_name(url);
        if (dp == NULL || gn == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
            (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
            !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
            GENERAL_NAME_free(gn);
            DIST_POINT_free(dp);
            goto done;
        }
        dp->distpoint->type = 0; /* fullName */
        if (!sk_DIST_POINT_push(cdp, dp)) {
            DIST_POINT_free(dp);
            goto done;
        }
    }
    rv = HSMCA_OK;
    if (sk_DIST_POINT_num(cdp) > 0 && !X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0, X509V3_ADD_REPLACE))
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot add cRLDistributionPoints");
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building cRLDistributionPoints");
    CRL_DIST_POINTS_free(cdp);
    return rv;
}

void ca_mount_urls_clear(ca_mount_urls *u)
{
    if (u == NULL)
        return;
    hsmca_strlist_clear(&u->ca_issuers);
    hsmca_strlist_clear(&u->crls);
    hsmca_strlist_clear(&u->ocsp);
    free(u->cluster_path);
    free(u->cluster_aia_path);
    memset(u, 0, sizeof(*u));
}

static hsmca_rv mount_urls_copy(ca_mount_urls *dst, const ca_mount_urls *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->templating = src->templating;
    dst->cluster_path = strdup(src->cluster_path);
    dst->cluster_aia_path = strdup(src->cluster_aia_path);
    if (dst->cluster_path == NULL || dst->cluster_aia_path == NULL ||
        hsmca_strlist_copy(&dst->ca_issuers, &src->ca_issuers) != HSMCA_OK ||
        hsmca_strlist_copy(&dst->crls, &src->crls) != HSMCA_OK ||
        hsmca_strlist_copy(&dst->ocsp, &src->ocsp) != HSMCA_OK) {
        ca_mount_urls_clear(dst);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory copying the mount's URLs");
    }
    return HSMCA_OK;
}

static hsmca_rv mount_urls_load(hsmca_ca *ca, const char *mount, ca_mount_urls *out)
{
    json_t *urls = NULL, *cluster = NULL;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    rv = ca_config_load(ca, mount, "urls", &urls);
    if (rv == HSMCA_OK)
        rv = ca_config_load(ca, mount, "cluster", &cluster);
    if (rv != HSMCA_OK)
        goto done;
    if ((rv = ca_json_strlist(urls, "issuing_certificates", &out->ca_issuers)) != HSMCA_OK ||
        (rv = ca_json_strlist(urls, "crl_distribution_points", &out->crls)) != HSMCA_OK ||
        (rv = ca_json_strlist(urls, "ocsp_servers", &out->ocsp)) != HSMCA_OK)
        goto done;
    out->templating = json_is_true(json_object_get(urls, "enable_templating"));
    out->cluster_path = strdup(ca_json_str(cluster, "path", ""));
    out->cluster_aia_path = strdup(ca_json_str(cluster, "aia_path", ""));
    if (out->cluster_path == NULL || out->cluster_aia_path == NULL)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory loading the mount's URLs");
done:
    if (rv != HSMCA_OK)
        ca_mount_urls_clear(out);
    json_decref(urls);
    json_decref(cluster);
    return rv;
}

/* The mount's URL configuration, from the cache while no configuration
 * write has bumped the CA's generation (ca_commit). *out is the caller's
 * copy. */
static hsmca_rv mount_urls_get(hsmca_ca *ca, const char *mount, ca_mount_urls *out)
{
    unsigned long gen = atomic_load(&ca->gen);
    ca_urls_entry *e;
    ca_mount_urls loaded;
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (strlen(mount) > HSMCA_STORE_MOUNT_MAX)
        return mount_urls_load(ca, mount, out); /* reports the bad name */
    pthread_mutex_lock(&ca->cache_lock);
    e = ca_cache_find(ca, ca->urls, sizeof(ca->urls[0]), ca->n_urls, mount, "urls", gen);
    if (e != NULL) {
        rv = mount_urls_copy(out, &e->urls);
        pthread_mutex_unlock(&ca->cache_lock);
        return rv;
    }
    pthread_mutex_unlock(&ca->cache_lock);

    if ((rv = mount_urls_load(ca, mount, out)) != HSMCA_OK)
        return rv;
    if (mount_urls_copy(&loaded, out) != HSMCA_OK)
        return HSMCA_OK; /* uncached this time; the caller has its copy */
    pthread_mutex_lock(&ca->cache_lock);
    e = ca_cache_slot(ca, ca->urls, sizeof(ca->urls[0]), &ca->n_urls, CA_URLS_CACHE_MAX);
    ca_mount_urls_clear(&e->urls);
    ca_cache_fill(ca, &e->tag, mount, "urls", gen);
    e->urls = loaded;
    pthread_mutex_unlock(&ca->cache_lock);
    return HSMCA_OK;
}

hsmca_rv ca_ext_add_urls(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *issuer, X509 *x)
{
    ca_mount_urls m;
    const hsmca_strlist *ca_issuers, *crls, *ocsp;
    url_ctx u;
    bool issuer_has_urls;
    hsmca_rv rv;

    rv = mount_urls_get(ca, mount, &m);
    if (rv != HSMCA_OK)
        return rv;
    /* OpenBao: an issuer's own AIA URLs, when any is set, replace the
     * mount's config/urls. */
    issuer_has_urls = issuer != NULL && (issuer->issuing_certificates.n > 0 ||
                                         issuer->crl_distribution_points.n > 0 || issuer->ocsp_servers.n > 0);
    ca_issuers = issuer_has_urls ? &issuer->issuing_certificates : &m.ca_issuers;
    crls = issuer_has_urls ? &issuer->crl_distribution_points : &m.crls;
    ocsp = issuer_has_urls ? &issuer->ocsp_servers : &m.ocsp;
    u.issuer_id = issuer ? issuer->issuer_id : "";
    u.cluster_path = m.cluster_path;
    u.cluster_aia_path = m.cluster_aia_path;
    u.templating = issuer_has_urls ? issuer->enable_aia_url_templating : m.templating;
    rv = add_aia(x, &u, ca_issuers, ocsp);
    if (rv == HSMCA_OK)
        rv = add_cdp(x, &u, crls);
    ca_mount_urls_clear(&m);
    return rv;
}

hsmca_rv ca_ext_add_url_lists(X509 *x, const hsmca_strlist *ca_issuers, const hsmca_strlist *ocsp,
                              const hsmca_strlist *crls)
{
    static const hsmca_strlist none = {0};
    url_ctx u = {.issuer_id = "", .cluster_path = "", .cluster_aia_path = "", .templating = false};
    hsmca_rv rv = add_aia(x, &u, ca_issuers ? ca_issuers : &none, ocsp ? ocsp : &none);

    if (rv == HSMCA_OK)
        rv = add_cdp(x, &u, crls ? crls : &none);
    return rv;
}

hsmca_rv ca_ext_add_issued_by(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *iss, X509 *x)
{
    hsmca_rv rv = ca_ext_add(x, iss->certificate, NID_subject_key_identifier, "hash");

    if (rv == HSMCA_OK)
        rv = ca_ext_add(x, iss->certificate, NID_authority_key_identifier, "keyid:always");
    if (rv == HSMCA_OK)
        rv = ca_ext_add_urls(ca, mount, iss, x);
    return rv;
}
