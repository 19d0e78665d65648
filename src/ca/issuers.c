/* SPDX-License-Identifier: Apache-2.0 */
/* Issuers: a CA certificate, the mount key that signs for it (if any), and
 * its OpenBao attributes; reading, listing, matching and chain building. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "internal.h"

#define CHAIN_MAX_DEPTH 16 /* longer chains are a loop or an attack */

static const struct {
    unsigned bit;
    const char *name;
} usage_names[] = {
    {HSMCA_USAGE_READ_ONLY, "read-only"},
    {HSMCA_USAGE_ISSUING, "issuing-certificates"},
    {HSMCA_USAGE_CRL, "crl-signing"},
    {HSMCA_USAGE_OCSP, "ocsp-signing"},
};

static const char *const behavior_names[] = {"err", "truncate", "permit"};

void hsmca_ca_issuer_clear(hsmca_ca_issuer *i)
{
    if (i == NULL)
        return;
    X509_free(i->certificate);
    sk_X509_pop_free(i->ca_chain, X509_free);
    hsmca_strlist_clear(&i->manual_chain);
    hsmca_strlist_clear(&i->issuing_certificates);
    hsmca_strlist_clear(&i->crl_distribution_points);
    hsmca_strlist_clear(&i->ocsp_servers);
    memset(i, 0, sizeof(*i));
}

hsmca_rv ca_issuer_to_json(const hsmca_ca_issuer *i, json_t **out)
{
    char usage[96] = "";
    size_t used = 0;
    json_t *o;

    for (size_t k = 0; k < sizeof(usage_names) / sizeof(usage_names[0]); k++) {
        if (i->usage & usage_names[k].bit) {
            int n = snprintf(usage + used, sizeof(usage) - used, "%s%s", used ? "," : "", usage_names[k].name);
            if (n < 0 || (size_t)n >= sizeof(usage) - used)
                return hsmca_err(HSMCA_ERR_INTERNAL, "issuer usage names exceed %zu bytes", sizeof(usage));
            used += (size_t)n;
        }
    }
    o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:b, s:I}", "key_id", i->key_id, "usage", usage,
                  "leaf_not_after_behavior", behavior_names[i->leaf_not_after_behavior], "manual_chain",
                  ca_strlist_to_json(&i->manual_chain), "issuing_certificates",
                  ca_strlist_to_json(&i->issuing_certificates), "crl_distribution_points",
                  ca_strlist_to_json(&i->crl_distribution_points), "ocsp_servers",
                  ca_strlist_to_json(&i->ocsp_servers), "enable_aia_url_templating",
                  i->enable_aia_url_templating, "revocation_signature_algorithm",
                  i->revocation_signature_algorithm, "revoked", i->revoked, "revocation_time",
                  (json_int_t)i->revocation_time);
    if (o == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    *out = o;
    return HSMCA_OK;
}

static unsigned parse_usage(const char *s)
{
    unsigned bits = 0;
    hsmca_strlist l = {0};

    if (hsmca_strlist_add_csv(&l, s) == HSMCA_OK) {
        for (size_t i = 0; i < l.n; i++) {
            for (size_t k = 0; k < sizeof(usage_names) / sizeof(usage_names[0]); k++) {
                if (strcmp(l.v[i], usage_names[k].name) == 0)
                    bits |= usage_names[k].bit;
            }
        }
    }
    hsmca_strlist_clear(&l);
    return bits;
}

hsmca_rv ca_issuer_from_doc(const hsmca_store_doc *doc, hsmca_ca_issuer *out)
{
    json_error_t jerr;
    json_t *body = NULL;
    const unsigned char *p = doc->blob;
    const char *behavior;
    hsmca_rv rv = HSMCA_ERR_INTERNAL;

    memset(out, 0, sizeof(*out));
    body = json_loads(doc->body ? doc->body : "{}", 0, &jerr);
    if (body == NULL || doc->blob == NULL) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored issuer '%s' is damaged", doc->id);
        goto done;
    }
    out->certificate = d2i_X509(NULL, &p, (long)doc->blob_len);
    if (out->certificate == NULL) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "stored issuer '%s' has an unreadable certificate", doc->id);
        goto done;
    }
    snprintf(out->issuer_id, sizeof(out->issuer_id), "%.36s", doc->id);
    snprintf(out->issuer_name, sizeof(out->issuer_name), "%s", doc->name);
    snprintf(out->key_id, sizeof(out->key_id), "%s", ca_json_str(body, "key_id", ""));
    out->usage = parse_usage(ca_json_str(body, "usage", ""));
    behavior = ca_json_str(body, "leaf_not_after_behavior", "err");
    out->leaf_not_after_behavior = strcmp(behavior, "truncate") == 0 ? HSMCA_NOT_AFTER_TRUNCATE
                                   : strcmp(behavior, "permit") == 0 ? HSMCA_NOT_AFTER_PERMIT
                                                                     : HSMCA_NOT_AFTER_ERR;
    if ((rv = ca_json_strlist(body, "manual_chain", &out->manual_chain)) != HSMCA_OK ||
        (rv = ca_json_strlist(body, "issuing_certificates", &out->issuing_certificates)) != HSMCA_OK ||
        (rv = ca_json_strlist(body, "crl_distribution_points", &out->crl_distribution_points)) != HSMCA_OK ||
        (rv = ca_json_strlist(body, "ocsp_servers", &out->ocsp_servers)) != HSMCA_OK)
        goto done;
    out->enable_aia_url_templating = json_is_true(json_object_get(body, "enable_aia_url_templating"));
    snprintf(out->revocation_signature_algorithm, sizeof(out->revocation_signature_algorithm), "%s",
             ca_json_str(body, "revocation_signature_algorithm", ""));
    out->revoked = json_is_true(json_object_get(body, "revoked"));
    out->revocation_time = (int64_t)json_integer_value(json_object_get(body, "revocation_time"));
    out->updated = doc->updated;
    rv = HSMCA_OK;
done:
    json_decref(body);
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(out);
    return rv;
}

hsmca_rv ca_issuer_record(hsmca_store_batch *b, const char *mount, const hsmca_ca_issuer *i)
{
    unsigned char *der = NULL;
    json_t *body = NULL;
    char *text = NULL;
    int n;
    hsmca_rv rv = ca_issuer_to_json(i, &body);

    if (rv != HSMCA_OK)
        return rv;
    n = i2d_X509(i->certificate, &der);
    text = ca_json_text(body);
    if (n <= 0 || text == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "cannot encode issuer");
    } else {
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, mount, HSMCA_DOC_ISSUER, i->issuer_id,
                                  i->issuer_name[0] ? i->issuer_name : NULL, text, der, (size_t)n);
    }
    OPENSSL_free(der);
    free(text);
    json_decref(body);
    return rv;
}

/* ---- reading ---- */

static hsmca_rv default_issuer_id(hsmca_ca *ca, const char *mount, char id[40])
{
    json_t *cfg = NULL;
    hsmca_rv rv = ca_config_load(ca, mount, "issuers", &cfg);

    if (rv != HSMCA_OK)
        return rv;
    snprintf(id, 40, "%s", ca_json_str(cfg, "default", ""));
    json_decref(cfg);
    if (id[0] == '\0')
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "mount '%s' has no default issuer", mount);
    return HSMCA_OK;
}

typedef struct {
    hsmca_ca *ca;
    const char *mount;
    int (*cb)(const hsmca_ca_issuer *i, void *arg);
    void *arg;
    hsmca_rv rv;
} issuer_walk;

static int issuer_doc_cb(const hsmca_store_doc *d, void *arg)
{
    issuer_walk *w = arg;
    hsmca_ca_issuer i;
    int go;

    w->rv = ca_issuer_from_doc(d, &i);
    if (w->rv != HSMCA_OK)
        return 0;
    go = w->cb(&i, w->arg);
    hsmca_ca_issuer_clear(&i);
    return go;
}

hsmca_rv hsmca_ca_issuer_list(hsmca_ca *ca, const char *mount, int (*cb)(const hsmca_ca_issuer *i, void *arg),
                              void *arg)
{
    issuer_walk w = {ca, mount, cb, arg, HSMCA_OK};
    hsmca_rv rv = hsmca_store_doc_list(ca->store, mount, HSMCA_DOC_ISSUER, NULL, 0, issuer_doc_cb, &w);

    return rv != HSMCA_OK ? rv : w.rv;
}

static hsmca_rv issuer_load(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out)
{
    hsmca_store_doc doc;
    char id[40];
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    if (ref == NULL || ref[0] == '\0' || strcmp(ref, "default") == 0) {
        rv = default_issuer_id(ca, mount, id);
        if (rv != HSMCA_OK)
            return rv;
        ref = id;
    }
    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(ca->store, mount, HSMCA_DOC_ISSUER, ref, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "no issuer '%s' in mount '%s'", ref, mount);
    if (rv == HSMCA_OK)
        rv = ca_issuer_from_doc(&doc, out);
    hsmca_store_doc_clear(&doc);
    return rv;
}

hsmca_rv hsmca_ca_issuer_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_issuer *out)
{
    hsmca_rv rv = issuer_load(ca, mount, ref, out);

    if (rv == HSMCA_OK)
        rv = ca_issuer_build_chain(ca, mount, out);
    if (rv != HSMCA_OK)
        hsmca_ca_issuer_clear(out);
    return rv;
}

hsmca_rv hsmca_ca_issuer_has_unexpired(hsmca_ca *ca, const char *mount, const char *ref, bool *out)
{
    unsigned char own[HSMCA_SERIAL_MAX];
    size_t own_len = 0;
    hsmca_ca_issuer i;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = true; /* on failure, the answer that strands nothing */
    rv = issuer_load(ca, mount, ref, &i);
    if (rv != HSMCA_OK)
        return rv;
    /* The issuer's own certificate does not count: a self-signed root is
     * stored under its own issuer_id, and would otherwise hold itself
     * "needed" until it expires (found by test_rotate's root retire). */
    rv = hsmca_serial_from_asn1(X509_get0_serialNumber(i.certificate), own, &own_len);
    if (rv == HSMCA_OK)
        rv = hsmca_store_issuer_has_unexpired_except(ca->store, mount, i.issuer_id, (int64_t)time(NULL), own, own_len,
                                                     out);
    hsmca_ca_issuer_clear(&i);
    return rv;
}

/* ---- chains ---- */

typedef struct {
    X509 *child;
    X509 *parent; /* found, owned */
    char parent_id[40];
} parent_search;

static int is_parent(X509 *parent, X509 *child)
{
    EVP_PKEY *pub;
    int ok;

    if (X509_check_issued(parent, child) != X509_V_OK)
        return 0;
    pub = X509_get0_pubkey(parent);
    ok = pub != NULL && X509_verify(child, pub) == 1;
    ERR_clear_error();
    return ok;
}

static int parent_cb(const hsmca_ca_issuer *i, void *arg)
{
    parent_search *s = arg;

    if (X509_cmp(i->certificate, s->child) == 0 || !is_parent(i->certificate, s->child))
        return 1;
    s->parent = X509_dup(i->certificate);
    snprintf(s->parent_id, sizeof(s->parent_id), "%s", i->issuer_id);
    return 0;
}

static int self_signed(X509 *x)
{
    return X509_check_issued(x, x) == X509_V_OK;
}

hsmca_rv ca_issuer_build_chain(hsmca_ca *ca, const char *mount, hsmca_ca_issuer *i)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *cur;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (chain == NULL || (cur = X509_dup(i->certificate)) == NULL || !sk_X509_push(chain, cur))
        goto done;
    if (i->manual_chain.n > 0) {
        /* manual_chain: the listed issuers, in order; the first is this one. */
        for (size_t k = 1; k < i->manual_chain.n && k < CHAIN_MAX_DEPTH; k++) {
            hsmca_ca_issuer next;
            rv = issuer_load(ca, mount, i->manual_chain.v[k], &next);
            if (rv != HSMCA_OK) {
                hsmca_err_prefix("manual_chain of issuer '%s'", i->issuer_id);
                goto done;
            }
            cur = next.certificate;
            next.certificate = NULL;
            hsmca_ca_issuer_clear(&next);
            if (!sk_X509_push(chain, cur)) {
                X509_free(cur);
                rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
    } else {
        /* Automatic: walk up through issuers of this mount that signed the
         * current certificate, until a self-signed root or nothing. */
        for (int depth = 0; depth < CHAIN_MAX_DEPTH && !self_signed(sk_X509_value(chain, sk_X509_num(chain) - 1));
             depth++) {
            parent_search s = {sk_X509_value(chain, sk_X509_num(chain) - 1), NULL, ""};
            rv = hsmca_ca_issuer_list(ca, mount, parent_cb, &s);
            if (rv != HSMCA_OK)
                goto done;
            if (s.parent == NULL)
                break;
            /* A cycle (cross-signs pointing at each other) ends the walk. */
            for (int k = 0; k < sk_X509_num(chain); k++) {
                if (X509_cmp(sk_X509_value(chain, k), s.parent) == 0) {
                    X509_free(s.parent);
                    s.parent = NULL;
                    break;
                }
            }
            if (s.parent == NULL || !sk_X509_push(chain, s.parent)) {
                X509_free(s.parent);
                break;
            }
        }
    }
    sk_X509_pop_free(i->ca_chain, X509_free);
    i->ca_chain = chain;
    chain = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(rv, "out of memory building a chain");
    sk_X509_pop_free(chain, X509_free);
    return rv;
}

typedef struct {
    X509 *cert;
    char *id;
} cert_search;

static int same_cert_cb(const hsmca_ca_issuer *i, void *arg)
{
    cert_search *s = arg;

    if (X509_cmp(i->certificate, s->cert) != 0)
        return 1;
    snprintf(s->id, 37, "%s", i->issuer_id);
    return 0;
}

hsmca_rv ca_issuer_find_by_cert(hsmca_ca *ca, const char *mount, X509 *cert, char issuer_id[37])
{
    cert_search s = {cert, issuer_id};

    issuer_id[0] = '\0';
    return hsmca_ca_issuer_list(ca, mount, same_cert_cb, &s);
}
