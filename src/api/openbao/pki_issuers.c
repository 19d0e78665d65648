/* SPDX-License-Identifier: Apache-2.0 */
/* PKI issuers: LIST issuers, GET/POST (overwrite)/PATCH (merge)/DELETE
 * issuer/:issuer_ref, and the unauthenticated issuer/:issuer_ref/json|der|pem
 * with If-Modified-Since/Last-Modified. The issuer's certificate and key are
 * fixed; only its attributes change (hsmca_ca_issuer_update). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "hsmca/serial.h"
#include "pki_issuers.h"

/* ---- times: RFC 9110 HTTP dates and RFC 3339 ---- */

static const char *const wkdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void ob_rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    out[0] = '\0';
    if (t > 0 && gmtime_r(&tt, &tm) != NULL)
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7); names
 * from tables, not strftime, so the locale cannot change them. */
static void http_date(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;

    out[0] = '\0';
    if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
        return;
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wkdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int month_index(const char *m)
{
    for (int i = 0; i < 12; i++) {
        if (strcmp(m, months[i]) == 0)
            return i;
    }
    return -1;
}

/* The three date forms a recipient must accept (RFC 9110 5.6.7): IMF-fixdate,
 * RFC 850 and asctime. -1 for anything else: an invalid If-Modified-Since is
 * ignored (RFC 9110 13.1.3), never an error. */
static int64_t parse_http_date(const char *s)
{
    struct tm tm;
    char wd[16], mon[4];
    int day, year, hh, mm, ss, used = 0;
    time_t t;

    if (s == NULL || strlen(s) > 64)
        return -1;
    /* IMF-fixdate, else RFC 850, else asctime */
    if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &hh, &mm, &ss,
               &used) != 7 || s[used] != '\0') {
        used = 0;
        if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wd, &day, mon, &year, &hh, &mm, &ss,
                   &used) == 7 && s[used] == '\0') {
            year += year < 70 ? 2000 : 1900; /* RFC 850's two-digit year */
        } else {
            used = 0;
            if (sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wd, mon, &day, &hh, &mm, &ss, &year,
                       &used) != 7 || s[used] != '\0')
                return -1;
        }
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = month_index(mon);
    if (tm.tm_mon < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 || mm > 59 || ss > 60 ||
        hh < 0 || mm < 0 || ss < 0)
        return -1;
    tm.tm_mday = day;
    tm.tm_year = year - 1900;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

/* ---- conditional reads ---- */

bool ob_not_modified(hsmca_http_req *req, hsmca_http_resp *resp, int64_t modified, const char *content_type)
{
    int64_t since, now = (int64_t)time(NULL);
    char date[40];

    if (modified <= 0)
        return false;
    http_date(modified, date);
    if (date[0] != '\0')
        hsmca_http_resp_header(resp, "Last-Modified", date);
    since = parse_http_date(hsmca_http_req_header(req, "If-Modified-Since"));
    /* As below: a change within the current second may still follow. */
    if (since >= 0 && modified <= since && modified < now) {
        hsmca_http_resp_raw(resp, 304, content_type, "", 0);
        return true;
    }
    return false;
}

/* When config/issuers last changed: a read through "default" changes when
 * the default moves to another issuer, which touches no issuer document
 * (OpenBao bumps both issuers' LastModified instead). The core does not
 * report the document's time, so it is read from the store here. */
static int64_t issuers_config_updated(void *arg, const char *mount)
{
    hsmca_store *store = ((hsmca_openbao *)arg)->cfg.store;
    hsmca_store_doc doc;
    int64_t t = 0;

    memset(&doc, 0, sizeof(doc));
    if (store != NULL && hsmca_store_doc_get(store, mount, HSMCA_DOC_CONFIG, "issuers", &doc) == HSMCA_OK)
        t = doc.updated;
    else
        hsmca_err_clear();
    hsmca_store_doc_clear(&doc);
    return t;
}

static int latest_updated(const hsmca_ca_issuer *i, void *arg)
{
    int64_t *t = arg;

    if (i->updated > *t)
        *t = i->updated;
    return 1;
}

static bool is_default_ref(const char *ref)
{
    return ref == NULL || ref[0] == '\0' || strcmp(ref, "default") == 0;
}

bool ob_issuer_read_conditional(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *ref,
                                const char *content_type, bool raw_empty, hsmca_ca_issuer *out)
{
    const char *mount = ob_mount(req);
    int64_t modified, since, now = (int64_t)time(NULL);
    char date[40];
    hsmca_rv rv = hsmca_ca_issuer_get(ob_ca(arg), mount, ref, out);

    if (rv != HSMCA_OK) {
        /* OpenBao answers raw CA reads of a mount without that issuer with
         * an empty 204, which fetch scripts treat as "no CA yet". */
        if (rv == HSMCA_ERR_NOT_FOUND && raw_empty)
            hsmca_http_resp_raw(resp, 204, content_type, "", 0);
        else
            ob_fail(resp, rv);
        return false;
    }
    modified = out->updated;
    if (is_default_ref(ref)) {
        int64_t c = issuers_config_updated(arg, mount);
        if (c > modified)
            modified = c;
    }
    /* A body with the chain also changes when an issuer above this one is
     * added or changed: the newest issuer of the mount bounds that. */
    if (out->ca_chain != NULL && sk_X509_num(out->ca_chain) > 1)
        (void)hsmca_ca_issuer_list(ob_ca(arg), mount, latest_updated, &modified);
    if (modified <= 0)
        return true;
    http_date(modified, date);
    if (date[0] != '\0')
        hsmca_http_resp_header(resp, "Last-Modified", date);
    since = parse_http_date(hsmca_http_req_header(req, "If-Modified-Since"));
    /* RFC 9110 13.1.3: not modified when the last change is at or before
     * the given date. Times have one-second resolution, so a change in the
     * current second may still follow: then the full answer goes out. */
    if (since >= 0 && modified <= since && modified < now) {
        hsmca_ca_issuer_clear(out);
        hsmca_http_resp_raw(resp, 304, content_type, "", 0);
        return false;
    }
    return true;
}

void ob_resp_cert_der(hsmca_http_resp *resp, X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    if (n <= 0) {
        hsmca_http_resp_error(resp, 500, "internal error: certificate could not be encoded");
        return;
    }
    hsmca_http_resp_raw(resp, 200, OB_CT_DER, der, (size_t)n);
    OPENSSL_free(der);
}

void ob_resp_cert_pem(hsmca_http_resp *resp, X509 *x, bool trailing_newline)
{
    char *pem = ob_cert_pem(x);
    size_t len;

    if (pem == NULL) {
        hsmca_http_resp_error(resp, 500, "internal error: certificate could not be encoded");
        return;
    }
    len = strlen(pem);
    if (trailing_newline) {
        char *p = realloc(pem, len + 2);
        if (p == NULL) {
            free(pem);
            hsmca_http_resp_error(resp, 500, "out of memory");
            return;
        }
        pem = p;
        pem[len++] = '\n';
        pem[len] = '\0';
    }
    hsmca_http_resp_raw(resp, 200, OB_CT_PEM, pem, len);
    free(pem);
}

/* ---- the issuer as JSON ---- */

static const struct {
    unsigned bit;
    const char *name;
} usages[] = {
    {HSMCA_USAGE_READ_ONLY, "read-only"},
    {HSMCA_USAGE_ISSUING, "issuing-certificates"},
    {HSMCA_USAGE_CRL, "crl-signing"},
    {HSMCA_USAGE_OCSP, "ocsp-signing"},
};

static const char *const behaviors[] = {"err", "truncate", "permit"};

static void usage_text(unsigned bits, char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t k = 0; k < sizeof(usages) / sizeof(usages[0]); k++) {
        if ((bits & usages[k].bit) && len < size)
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", usages[k].name);
    }
}

/* Revocation fields as OpenBao's cert reads carry them. */
static void set_revocation(json_t *data, bool revoked, int64_t when)
{
    char rfc[32];

    ob_rfc3339(revoked ? when : 0, rfc);
    json_object_set_new(data, "revocation_time", json_integer(revoked ? (json_int_t)when : 0));
    json_object_set_new(data, "revocation_time_rfc3339", json_string(rfc));
}

/* GET issuer/:ref (and the POST/PATCH answer): OpenBao's fields, with the
 * AIA lists always present ([] when unset) and manual_chain null when empty. */
static json_t *issuer_json(const hsmca_ca_issuer *i)
{
    char usage[96];
    char *pem = ob_cert_pem(i->certificate);
    json_t *d = json_object(), *chain = ob_chain_pem_array(i->ca_chain);
    json_t *manual = i->manual_chain.n > 0 ? ob_strlist_json(&i->manual_chain) : json_null();
    hsmca_strlist none = {0};

    usage_text(i->usage, usage, sizeof(usage));
    if (d == NULL || pem == NULL || chain == NULL || manual == NULL) {
        free(pem);
        json_decref(d);
        json_decref(chain);
        json_decref(manual);
        return NULL;
    }
    json_object_set_new(d, "issuer_id", json_string(i->issuer_id));
    json_object_set_new(d, "issuer_name", json_string(i->issuer_name));
    json_object_set_new(d, "key_id", json_string(i->key_id));
    json_object_set_new(d, "certificate", json_string(pem));
    json_object_set_new(d, "ca_chain", chain);
    json_object_set_new(d, "manual_chain", manual);
    json_object_set_new(d, "leaf_not_after_behavior", json_string(behaviors[i->leaf_not_after_behavior]));
    json_object_set_new(d, "usage", json_string(usage));
    json_object_set_new(d, "revocation_signature_algorithm", json_string(i->revocation_signature_algorithm));
    json_object_set_new(d, "revoked", json_boolean(i->revoked));
    json_object_set_new(d, "issuing_certificates", ob_strlist_json(&i->issuing_certificates));
    json_object_set_new(d, "crl_distribution_points", ob_strlist_json(&i->crl_distribution_points));
    /* Per-issuer delta CRL URLs are not kept by the core (config/urls has
     * them mount-wide, and complete CRLs name them); the field is there,
     * empty, for clients that read it. */
    json_object_set_new(d, "delta_crl_distribution_points", ob_strlist_json(&none));
    json_object_set_new(d, "ocsp_servers", ob_strlist_json(&i->ocsp_servers));
    json_object_set_new(d, "enable_aia_url_templating", json_boolean(i->enable_aia_url_templating));
    if (i->revoked)
        set_revocation(d, true, i->revocation_time);
    free(pem);
    return d;
}

void ob_issuer_respond(hsmca_http_resp *resp, const hsmca_ca_issuer *i)
{
    json_t *d = issuer_json(i);

    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    hsmca_http_resp_data(resp, 200, d);
}

/* ---- LIST issuers ---- */

static json_t *issuer_entry(const void *item, bool is_default)
{
    const hsmca_ca_issuer *i = item;
    char serial[HSMCA_SERIAL_TEXT_MAX + 1];

    ob_serial_text(i->certificate, serial, sizeof(serial));
    return json_pack("{s:s, s:b, s:s, s:s}", "issuer_name", i->issuer_name, "is_default", is_default,
                     "serial_number", serial, "key_id", i->key_id);
}

static int collect_issuer(const hsmca_ca_issuer *i, void *arg)
{
    return ob_id_page_add(arg, i->issuer_id, issuer_entry, i);
}

static void issuers_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    ob_id_page p;

    if (!ob_id_page_start(req, resp, arg, "issuers", &p))
        return;
    ob_id_page_finish(resp, &p,
                      p.failed ? HSMCA_ERR_NOMEM : hsmca_ca_issuer_list(ob_ca(arg), ob_mount(req), collect_issuer, &p));
}

/* ---- GET / POST / PATCH / DELETE issuer/:issuer_ref ---- */

static void issuer_read(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    hsmca_rv rv = hsmca_ca_issuer_get(ob_ca(arg), ob_mount(req), hsmca_http_req_param(req, "issuer_ref"), &i);

    json_t *d;
    bool unexpired = true;

    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    /* hsmca's own field (OpenBao clients ignore it): whether certificates
     * this issuer signed are still unexpired, so still need its CRLs and
     * OCSP answers. `hsmca rotate retire` reads it (docs/rotation.md). */
    rv = hsmca_ca_issuer_has_unexpired(ob_ca(arg), ob_mount(req), i.issuer_id, &unexpired);
    d = rv == HSMCA_OK ? issuer_json(&i) : NULL;
    hsmca_ca_issuer_clear(&i);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    if (d == NULL) {
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    json_object_set_new(d, "has_unexpired_certificates", json_boolean(unexpired));
    hsmca_http_resp_data(resp, 200, d);
}

static const ob_field issuer_fields[] = {
    {"issuer_name", OBF_STRING},
    {"leaf_not_after_behavior", OBF_STRING},
    {"manual_chain", OBF_LIST},
    {"usage", OBF_LIST},
    {"revocation_signature_algorithm", OBF_STRING},
    {"issuing_certificates", OBF_LIST},
    {"crl_distribution_points", OBF_LIST},
    {"delta_crl_distribution_points", OBF_LIST},
    {"ocsp_servers", OBF_LIST},
    {"enable_aia_url_templating", OBF_BOOL},
    OB_FIELDS_END,
};

/* Replaces *dst with the request's list when the field is present. */
static hsmca_rv take_list(const json_t *in, const char *name, hsmca_strlist *dst)
{
    hsmca_strlist l = {0};
    hsmca_rv rv;

    if (!ob_has(in, name))
        return HSMCA_OK;
    rv = ob_list(in, name, &l);
    if (rv != HSMCA_OK) {
        hsmca_strlist_clear(&l);
        return rv;
    }
    hsmca_strlist_clear(dst);
    *dst = l;
    return HSMCA_OK;
}

/* Applies the request's fields to attrs (the current issuer for PATCH,
 * OpenBao's defaults for POST). The core checks what needs the store
 * (unique name, manual_chain references, cRLSign, URL syntax). */
static hsmca_rv apply_fields(const json_t *in, const hsmca_ca_issuer *cur, hsmca_ca_issuer *attrs)
{
    hsmca_rv rv;

    if (ob_has(in, "issuer_name")) {
        const char *name = ob_str(in, "issuer_name", "");
        if (strlen(name) >= sizeof(attrs->issuer_name))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer_name is longer than %zu bytes",
                             sizeof(attrs->issuer_name) - 1);
        snprintf(attrs->issuer_name, sizeof(attrs->issuer_name), "%s", name);
    }
    if (ob_has(in, "leaf_not_after_behavior")) {
        const char *b = ob_str(in, "leaf_not_after_behavior", "");
        size_t k;
        for (k = 0; k < sizeof(behaviors) / sizeof(behaviors[0]); k++) {
            if (strcmp(b, behaviors[k]) == 0)
                break;
        }
        if (k == sizeof(behaviors) / sizeof(behaviors[0]))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "leaf_not_after_behavior '%s' is not one of err, truncate, permit", b);
        attrs->leaf_not_after_behavior = (hsmca_not_after_behavior)k;
    }
    if (ob_has(in, "usage")) {
        hsmca_strlist l = {0};
        unsigned bits = 0;
        if ((rv = ob_list(in, "usage", &l)) != HSMCA_OK) {
            hsmca_strlist_clear(&l);
            return rv;
        }
        for (size_t n = 0; n < l.n; n++) {
            size_t k;
            for (k = 0; k < sizeof(usages) / sizeof(usages[0]); k++) {
                if (strcmp(l.v[n], usages[k].name) == 0)
                    break;
            }
            if (k == sizeof(usages) / sizeof(usages[0])) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                               "usage '%s' is not one of read-only, issuing-certificates, crl-signing, "
                               "ocsp-signing", l.v[n]);
                hsmca_strlist_clear(&l);
                return rv;
            }
            bits |= usages[k].bit;
        }
        hsmca_strlist_clear(&l);
        attrs->usage = bits | HSMCA_USAGE_READ_ONLY;
    }
    /* OpenBao: a revoked issuer never issues again. */
    if (cur->revoked && (attrs->usage & HSMCA_USAGE_ISSUING))
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "usage: issuer %s is revoked and cannot get issuing-certificates back; reissue it "
                         "(preferably with a new key) instead", cur->issuer_id);
    if (ob_has(in, "revocation_signature_algorithm")) {
        const char *alg = ob_str(in, "revocation_signature_algorithm", "");
        if (strlen(alg) >= sizeof(attrs->revocation_signature_algorithm))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "revocation_signature_algorithm '%.40s...' is unknown", alg);
        snprintf(attrs->revocation_signature_algorithm, sizeof(attrs->revocation_signature_algorithm), "%s", alg);
    }
    if (ob_has(in, "enable_aia_url_templating"))
        attrs->enable_aia_url_templating = ob_bool(in, "enable_aia_url_templating", false);
    {
        hsmca_strlist delta = {0};
        bool any;
        if ((rv = ob_list(in, "delta_crl_distribution_points", &delta)) != HSMCA_OK) {
            hsmca_strlist_clear(&delta);
            return rv;
        }
        any = delta.n > 0;
        hsmca_strlist_clear(&delta);
        if (any)
            return hsmca_err(HSMCA_ERR_UNSUPPORTED,
                             "delta_crl_distribution_points: per-issuer delta CRL URLs are not supported yet "
                             "(hsmca publishes no delta CRLs); set them in config/urls or leave the field empty");
    }
    if ((rv = take_list(in, "issuing_certificates", &attrs->issuing_certificates)) != HSMCA_OK ||
        (rv = take_list(in, "crl_distribution_points", &attrs->crl_distribution_points)) != HSMCA_OK ||
        (rv = take_list(in, "ocsp_servers", &attrs->ocsp_servers)) != HSMCA_OK)
        return rv;
    /* URLs with templates are only meaningful with templating on (OpenBao
     * refuses them otherwise, rather than putting "{{" into certificates). */
    if (!attrs->enable_aia_url_templating) {
        const hsmca_strlist *lists[] = {&attrs->issuing_certificates, &attrs->crl_distribution_points,
                                        &attrs->ocsp_servers};
        const char *names[] = {"issuing_certificates", "crl_distribution_points", "ocsp_servers"};
        for (size_t k = 0; k < 3; k++) {
            for (size_t n = 0; n < lists[k]->n; n++) {
                if (strstr(lists[k]->v[n], "{{") != NULL)
                    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                     "%s entry '%s' is a template but enable_aia_url_templating is false",
                                     names[k], lists[k]->v[n]);
            }
        }
    }
    if (ob_has(in, "manual_chain")) {
        hsmca_strlist chain = {0};
        if ((rv = ob_list(in, "manual_chain", &chain)) != HSMCA_OK) {
            hsmca_strlist_clear(&chain);
            return rv;
        }
        /* OpenBao accepts "self" as the first entry. */
        if (chain.n > 0 && strcmp(chain.v[0], "self") == 0) {
            char *id = strdup(cur->issuer_id);
            if (id == NULL) {
                hsmca_strlist_clear(&chain);
                return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            }
            free(chain.v[0]);
            chain.v[0] = id;
        }
        hsmca_strlist_clear(&attrs->manual_chain);
        attrs->manual_chain = chain;
    }
    return HSMCA_OK;
}

static void issuer_write(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    bool patch = hsmca_http_req_method(req) == HSMCA_HTTP_PATCH;
    const char *ref = hsmca_http_req_param(req, "issuer_ref");
    hsmca_ca_issuer cur, attrs, after;
    json_t *in = ob_fields(req, resp, issuer_fields);
    hsmca_rv rv;

    memset(&attrs, 0, sizeof(attrs));
    memset(&after, 0, sizeof(after));
    if (in == NULL)
        return;
    rv = hsmca_ca_issuer_get(ob_ca(arg), ob_mount(req), ref, &cur);
    if (rv != HSMCA_OK) {
        json_decref(in);
        ob_fail(resp, rv);
        return;
    }
    if (patch) {
        /* PATCH: the stored issuer, then the fields given. */
        snprintf(attrs.issuer_name, sizeof(attrs.issuer_name), "%s", cur.issuer_name);
        attrs.usage = cur.usage;
        attrs.leaf_not_after_behavior = cur.leaf_not_after_behavior;
        attrs.enable_aia_url_templating = cur.enable_aia_url_templating;
        snprintf(attrs.revocation_signature_algorithm, sizeof(attrs.revocation_signature_algorithm), "%s",
                 cur.revocation_signature_algorithm);
        if ((rv = hsmca_strlist_copy(&attrs.manual_chain, &cur.manual_chain)) != HSMCA_OK ||
            (rv = hsmca_strlist_copy(&attrs.issuing_certificates, &cur.issuing_certificates)) != HSMCA_OK ||
            (rv = hsmca_strlist_copy(&attrs.crl_distribution_points, &cur.crl_distribution_points)) != HSMCA_OK ||
            (rv = hsmca_strlist_copy(&attrs.ocsp_servers, &cur.ocsp_servers)) != HSMCA_OK)
            goto done;
    } else {
        /* POST overwrites: every absent field takes OpenBao's default. */
        attrs.usage = HSMCA_USAGE_ALL;
        attrs.leaf_not_after_behavior = HSMCA_NOT_AFTER_ERR;
    }
    if ((rv = apply_fields(in, &cur, &attrs)) != HSMCA_OK)
        goto done;
    rv = hsmca_ca_issuer_update(ob_ca(arg), ob_mount(req), cur.issuer_id, &attrs);
    if (rv == HSMCA_OK)
        rv = hsmca_ca_issuer_get(ob_ca(arg), ob_mount(req), cur.issuer_id, &after);
done:
    if (rv == HSMCA_OK) {
        ob_audit_detail(req, "issuer_id", json_string(cur.issuer_id));
        if (!patch && cur.issuer_name[0] != '\0' && after.issuer_name[0] == '\0')
            hsmca_http_resp_warn(resp, "issuer_name was not given and is now empty: refer to this issuer by its "
                                       "id %s", cur.issuer_id);
        ob_issuer_respond(resp, &after);
    } else if (rv == HSMCA_ERR_EXISTS || rv == HSMCA_ERR_NOT_FOUND) {
        /* The issuer itself was found above: a name in use or a manual_chain
         * entry that names no issuer is bad input (OpenBao: 400). */
        hsmca_http_resp_error(resp, 400, "%s", hsmca_err_message());
    } else {
        ob_fail(resp, rv);
    }
    hsmca_ca_issuer_clear(&cur);
    hsmca_ca_issuer_clear(&attrs);
    hsmca_ca_issuer_clear(&after);
    json_decref(in);
}

static void issuer_delete(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    const char *ref = hsmca_http_req_param(req, "issuer_ref");
    char default_id[40];
    hsmca_ca_issuer cur;
    hsmca_rv rv = hsmca_ca_issuer_get(ob_ca(arg), ob_mount(req), ref, &cur);

    /* OpenBao: deleting an issuer that does not exist is not an error. */
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_http_resp_no_content(resp);
        return;
    }
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    ob_default_id(arg, ob_mount(req), "issuers", default_id);
    ob_audit_detail(req, "issuer_id", json_string(cur.issuer_id));
    rv = hsmca_ca_issuer_delete(ob_ca(arg), ob_mount(req), cur.issuer_id);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        rv = HSMCA_OK; /* deleted meanwhile */
    } else if (rv == HSMCA_OK && strcmp(default_id, cur.issuer_id) == 0) {
        hsmca_http_resp_warn(resp,
                             "Deleted issuer %s (via issuer_ref %s); this was configured as the default issuer. "
                             "Operations without an explicit issuer will not work until a new default is "
                             "configured.", cur.issuer_id, ref);
        hsmca_http_resp_data(resp, 200, NULL);
        hsmca_ca_issuer_clear(&cur);
        return;
    }
    hsmca_ca_issuer_clear(&cur);
    if (rv != HSMCA_OK) {
        ob_fail(resp, rv);
        return;
    }
    hsmca_http_resp_no_content(resp);
}

/* ---- unauthenticated: issuer/:issuer_ref/json|der|pem ---- */

static void issuer_read_json(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;
    char *pem;
    json_t *d, *chain;

    if (!ob_issuer_read_conditional(req, resp, arg, hsmca_http_req_param(req, "issuer_ref"), "application/json",
                                    false, &i))
        return;
    pem = ob_cert_pem(i.certificate);
    chain = ob_chain_pem_array(i.ca_chain);
    d = json_object();
    if (pem == NULL || chain == NULL || d == NULL) {
        free(pem);
        json_decref(chain);
        json_decref(d);
        hsmca_ca_issuer_clear(&i);
        hsmca_http_resp_error(resp, 500, "out of memory");
        return;
    }
    json_object_set_new(d, "certificate", json_string(pem));
    json_object_set_new(d, "ca_chain", chain);
    json_object_set_new(d, "issuer_id", json_string(i.issuer_id));
    json_object_set_new(d, "issuer_name", json_string(i.issuer_name));
    set_revocation(d, i.revoked, i.revocation_time);
    free(pem);
    hsmca_ca_issuer_clear(&i);
    hsmca_http_resp_data(resp, 200, d);
}

static void issuer_read_der(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;

    if (!ob_issuer_read_conditional(req, resp, arg, hsmca_http_req_param(req, "issuer_ref"), OB_CT_DER, false, &i))
        return;
    ob_resp_cert_der(resp, i.certificate);
    hsmca_ca_issuer_clear(&i);
}

static void issuer_read_pem(hsmca_http_req *req, hsmca_http_resp *resp, void *arg)
{
    hsmca_ca_issuer i;

    if (!ob_issuer_read_conditional(req, resp, arg, hsmca_http_req_param(req, "issuer_ref"), OB_CT_PEM, false, &i))
        return;
    /* OpenBao keeps an issuer's PEM with a final newline and sends it as is. */
    ob_resp_cert_pem(resp, i.certificate, true);
    hsmca_ca_issuer_clear(&i);
}

const hsmca_http_route ob_issuers_routes[] = {
    {HSMCA_HTTP_LIST, "issuers", issuers_list, HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref", issuer_read, HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_POST | HSMCA_HTTP_PUT | HSMCA_HTTP_PATCH, "issuer/:issuer_ref", issuer_write, 0},
    {HSMCA_HTTP_DELETE, "issuer/:issuer_ref", issuer_delete, 0},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/json", issuer_read_json,
     HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/der", issuer_read_der,
     HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT},
    {HSMCA_HTTP_GET, "issuer/:issuer_ref/pem", issuer_read_pem,
     HSMCA_HTTP_ROUTE_UNAUTHENTICATED | HSMCA_HTTP_ROUTE_NO_AUDIT},
};
const size_t ob_issuers_routes_n = sizeof(ob_issuers_routes) / sizeof(ob_issuers_routes[0]);

void ob_http_date(int64_t t, char out[40])
{
    http_date(t, out);
}
