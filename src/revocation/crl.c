/* SPDX-License-Identifier: Apache-2.0 */
/* Complete and delta CRLs of each issuer: building them from the store's
 * revoked certificates (streamed, never all in memory), keeping the last
 * signed copy and its state in the store, serving it, rotating, and the
 * periodic rebuild that auto_rebuild asks for. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hsmca/log.h"
#include "internal.h"

static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

void rev_build_lock(void)
{
    pthread_mutex_lock(&build_lock);
}

void rev_build_unlock(void)
{
    pthread_mutex_unlock(&build_lock);
}

/* The per-issuer state document (REV_DOC_STATE). */
typedef struct {
    bool present;
    int64_t next_number;
    int64_t complete_number, complete_seq, this_update, next_update;
    bool has_delta;
    int64_t delta_number, delta_seq, delta_this_update;
} crl_state;

static int64_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static hsmca_rv state_load(hsmca_ca *ca, const char *mount, const char *issuer_id, crl_state *st)
{
    hsmca_store_doc doc;
    json_t *o;
    hsmca_rv rv;

    memset(st, 0, sizeof(*st));
    st->next_number = 1;
    rv = hsmca_store_doc_get(hsmca_ca_get0_store(ca), mount, REV_DOC_STATE, issuer_id, &doc);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        hsmca_err_clear();
        return HSMCA_OK;
    }
    if (rv != HSMCA_OK)
        return rv;
    o = json_loads(doc.body, 0, NULL);
    hsmca_store_doc_clear(&doc);
    if (!json_is_object(o)) {
        json_decref(o);
        return hsmca_err(HSMCA_ERR_IO, "CRL state of issuer '%s': not a JSON object", issuer_id);
    }
    st->present = true;
    st->next_number = jint(o, "next_number");
    st->complete_number = jint(o, "complete_number");
    st->complete_seq = jint(o, "complete_seq");
    st->this_update = jint(o, "this_update");
    st->next_update = jint(o, "next_update");
    st->has_delta = json_is_true(json_object_get(o, "has_delta"));
    st->delta_number = jint(o, "delta_number");
    st->delta_seq = jint(o, "delta_seq");
    st->delta_this_update = jint(o, "delta_this_update");
    json_decref(o);
    if (st->next_number < 1)
        st->next_number = 1;
    return HSMCA_OK;
}

static char *state_text(const crl_state *st)
{
    json_t *o = json_pack("{sI sI sI sI sI sb sI sI sI}", "next_number", (json_int_t)st->next_number,
                          "complete_number", (json_int_t)st->complete_number, "complete_seq",
                          (json_int_t)st->complete_seq, "this_update", (json_int_t)st->this_update,
                          "next_update", (json_int_t)st->next_update, "has_delta", st->has_delta,
                          "delta_number", (json_int_t)st->delta_number, "delta_seq",
                          (json_int_t)st->delta_seq, "delta_this_update", (json_int_t)st->delta_this_update);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    return text;
}

typedef struct {
    rev_crl_builder *b;
    hsmca_rv rv;
    /* The default issuer's complete CRL walks the whole mount and also
     * takes revocations of issuers that no longer exist (OpenBao: "we add
     * certificates revoked by an unknown issuer to the default issuer's
     * CRL"); NULL otherwise. */
    const char *self;
    const hsmca_strlist *known;
} stream_ctx;

static int add_entry(const hsmca_store_revoked *r, void *arg)
{
    stream_ctx *s = arg;

    if (s->known != NULL && strcmp(r->issuer_id, s->self) != 0 &&
        hsmca_strlist_contains(s->known, r->issuer_id))
        return 1; /* another existing issuer's */
    s->rv = rev_crl_add(s->b, r->serial, r->serial_len, r->revoked_at, r->reason, NULL, 0);
    return s->rv == HSMCA_OK;
}

static int skip_entry(const hsmca_store_revoked *r, void *arg)
{
    (void)r;
    (void)arg;
    return 0;
}

/* Signs one CRL of the issuer: complete (delta_base -1, every revocation)
 * or delta (revocations numbered above since_seq). *seq_now: the store's
 * revocation counter the listing saw. */
static hsmca_rv sign_one(hsmca_ca *ca, const char *mount, const hsmca_ca_issuer *iss, EVP_PKEY *key,
                         const hsmca_crl_config *cfg, const rev_der *exts, const hsmca_strlist *known,
                         int64_t number, int64_t delta_base, int64_t since_seq, int64_t this_update,
                         int64_t next_update, int64_t *seq_now, unsigned char **der, size_t *der_len)
{
    rev_crl_params prm;
    rev_crl_builder *b = NULL;
    hsmca_store_revoked_query q;
    stream_ctx s = {NULL, HSMCA_OK, NULL, NULL};
    hsmca_rv rv;

    memset(&prm, 0, sizeof(prm));
    prm.issuer = iss;
    prm.key = key;
    prm.libctx = hsmca_ca_get0_libctx(ca);
    prm.this_update = this_update;
    prm.next_update = next_update;
    prm.crl_number = number;
    prm.delta_base = delta_base;
    if (exts != NULL && rev_der_size(exts) > 0) {
        prm.extra_exts = exts->p + exts->start;
        prm.extra_exts_len = rev_der_size(exts);
    }
    rv = rev_crl_begin(&prm, &b);
    if (rv != HSMCA_OK)
        return rv;
    memset(&q, 0, sizeof(q));
    q.issuer_id = known != NULL ? NULL : iss->issuer_id;
    q.since_seq = since_seq;
    s.b = b;
    s.self = iss->issuer_id;
    s.known = known;
    /* OpenBao: a disabled CRL is signed with no entries. The counter is
     * still read, for the delta that follows a re-enable. */
    q.limit = cfg->disable ? 1 : 0;
    rv = hsmca_store_revoked_list(hsmca_ca_get0_store(ca), mount, &q, seq_now,
                                  cfg->disable ? skip_entry : add_entry, &s);
    if (rv == HSMCA_OK)
        rv = s.rv;
    if (rv != HSMCA_OK) {
        rev_crl_abort(b);
        return rv;
    }
    return rev_crl_finish(b, der, der_len);
}

/* The Freshest CRL extension (RFC 5280 5.2.6) for a complete CRL when
 * deltas are on: where the delta is, from config/urls
 * delta_crl_distribution_points ({{issuer_id}} filled in; entries with
 * other templates are left out). Relying parties such as OpenSSL look for
 * deltas only when the base CRL or the certificate names one. Nothing is
 * added when no URL is configured; a failure only leaves it out. */
static void freshest_crl(hsmca_ca *ca, const char *mount, const char *issuer_id, rev_der *out)
{
    static const unsigned char oid[] = {0x06, 0x03, 0x55, 0x1d, 0x2e};
    char *text = NULL;
    json_t *cfg = NULL, *v;
    size_t i;
    rev_der names, dps;

    rev_der_init(&names, 0, 32u * 1024u);
    rev_der_init(&dps, 16, 32u * 1024u);
    if (hsmca_ca_config_get(ca, mount, "urls", &text) != HSMCA_OK ||
        (cfg = json_loads(text, 0, NULL)) == NULL)
        goto done;
    json_array_foreach(json_object_get(cfg, "delta_crl_distribution_points"), i, v)
    {
        const char *u = json_string_value(v), *t;
        char url[2048];

        if (u == NULL)
            continue;
        t = strstr(u, "{{issuer_id}}");
        if (t != NULL)
            snprintf(url, sizeof(url), "%.*s%s%s", (int)(t - u), u, issuer_id, t + strlen("{{issuer_id}}"));
        else
            snprintf(url, sizeof(url), "%s", u);
        if (strstr(url, "{{") != NULL)
            continue;
        rev_der_tlv(&names, 0x86, url, strlen(url)); /* uniformResourceIdentifier [6] */
    }
    if (rev_der_size(&names) == 0 || names.failed)
        goto done;
    /* CRLDistributionPoints { DistributionPoint { [0] { fullName [0] GeneralNames } } } */
    rev_der_put(&dps, names.p + names.start, rev_der_size(&names));
    rev_der_prepend_header(&dps, 0xa0, rev_der_size(&dps));
    rev_der_prepend_header(&dps, 0xa0, rev_der_size(&dps));
    rev_der_prepend_header(&dps, 0x30, rev_der_size(&dps));
    rev_der_prepend_header(&dps, 0x30, rev_der_size(&dps));
    if (dps.failed)
        goto done;
    {
        unsigned char h[6], oh[6];
        size_t ol = rev_der_header(oh, 0x04, rev_der_size(&dps));
        size_t hl = rev_der_header(h, 0x30, sizeof(oid) + ol + rev_der_size(&dps));

        rev_der_put(out, h, hl);
        rev_der_put(out, oid, sizeof(oid));
        rev_der_put(out, oh, ol);
        rev_der_put(out, dps.p + dps.start, rev_der_size(&dps));
    }
    if (out->failed)
        out->len = out->start; /* left out, not half-written */
done:
    rev_der_free(&names);
    rev_der_free(&dps);
    json_decref(cfg);
    free(text);
}

static int collect_all(const hsmca_ca_issuer *i, void *arg)
{
    return hsmca_strlist_add(arg, i->issuer_id, strlen(i->issuer_id)) == HSMCA_OK;
}

/* Every issuer id of the mount (whether it signs CRLs or not). */
static hsmca_rv crl_signers_all(hsmca_ca *ca, const char *mount, hsmca_strlist *ids)
{
    return hsmca_ca_issuer_list(ca, mount, collect_all, ids);
}

static bool is_default(hsmca_ca *ca, const char *mount, const char *issuer_id)
{
    hsmca_ca_issuer d;
    bool yes;

    if (hsmca_ca_issuer_get(ca, mount, "default", &d) != HSMCA_OK) {
        hsmca_err_clear();
        return false;
    }
    yes = strcmp(d.issuer_id, issuer_id) == 0;
    hsmca_ca_issuer_clear(&d);
    return yes;
}

hsmca_rv rev_crl_rebuild(hsmca_ca *ca, const char *mount, const char *issuer_ref, const hsmca_crl_config *cfg,
                         hsmca_crl_kind kind)
{
    hsmca_rv rv;
    hsmca_ca_issuer iss;
    EVP_PKEY *key = NULL;
    crl_state st;
    unsigned char *full = NULL, *delta = NULL;
    size_t full_len = 0, delta_len = 0;
    int64_t now = (int64_t)time(NULL), seq = 0, next_update;
    hsmca_store_batch *b = NULL;
    char *text = NULL;
    const char *body = "{}";
    rev_der fresh;
    hsmca_strlist known = {0};

    rev_der_init(&fresh, 0, 64u * 1024u);
    memset(&iss, 0, sizeof(iss));
    rv = hsmca_ca_issuer_get1_crl_key(ca, mount, issuer_ref, &iss, &key);
    if (rv != HSMCA_OK)
        goto done;
    rv = state_load(ca, mount, iss.issuer_id, &st);
    if (rv != HSMCA_OK)
        goto done;
    if (kind == HSMCA_CRL_DELTA && st.complete_number == 0)
        kind = HSMCA_CRL_COMPLETE; /* a delta needs its base first */

    if (kind == HSMCA_CRL_COMPLETE) {
        next_update = now + cfg->expiry;
        if (cfg->enable_delta)
            freshest_crl(ca, mount, iss.issuer_id, &fresh);
        if (is_default(ca, mount, iss.issuer_id))
            (void)crl_signers_all(ca, mount, &known);
        rv = sign_one(ca, mount, &iss, key, cfg, &fresh, known.n > 0 ? &known : NULL, st.next_number, -1, -1,
                      now, next_update, &seq, &full, &full_len);
        if (rv != HSMCA_OK)
            goto done;
        st.complete_number = st.next_number++;
        st.complete_seq = seq;
        st.this_update = now;
        st.next_update = next_update;
        st.has_delta = false;
    }
    /* A new complete CRL clears the delta: with deltas on, an empty one on
     * the new base goes out with it, so the two never disagree. */
    if (kind == HSMCA_CRL_DELTA || cfg->enable_delta) {
        next_update = st.next_update > now ? st.next_update : now + cfg->expiry;
        rv = sign_one(ca, mount, &iss, key, cfg, NULL, NULL, st.next_number, st.complete_number,
                      st.complete_seq, now, next_update, &seq, &delta, &delta_len);
        if (rv != HSMCA_OK)
            goto done;
        st.has_delta = true;
        st.delta_number = st.next_number++;
        st.delta_seq = seq;
        st.delta_this_update = now;
    }
    text = state_text(&st);
    b = hsmca_store_batch_new(hsmca_ca_get0_store(ca));
    if (text == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory storing a CRL");
        goto done;
    }
    /* The CRL and its state change together, or neither does. */
    if (full != NULL)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, REV_DOC_CRL, iss.issuer_id, NULL, body, full,
                                  full_len);
    if (delta != NULL)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, REV_DOC_DELTA, iss.issuer_id, NULL, body, delta,
                                  delta_len);
    else if (full != NULL)
        hsmca_store_batch_doc_delete(b, mount, REV_DOC_DELTA, iss.issuer_id);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, REV_DOC_STATE, iss.issuer_id, NULL, text, NULL, 0);
    rv = hsmca_store_batch_commit(b);
    /* Whatever the outcome (a timed-out commit may still land): the next
     * read of this issuer's CRLs goes to the database. */
    rev_crl_cache_invalidate(ca, mount, iss.issuer_id);
    if (rv == HSMCA_OK)
        hsmca_log(HSMCA_LOG_INFO, "mount '%s': issuer %s: %s CRL %lld signed (%zu bytes)", mount,
                  iss.issuer_id, full != NULL ? "complete" : "delta",
                  (long long)(full != NULL ? st.complete_number : st.delta_number),
                  full != NULL ? full_len : delta_len);
done:
    hsmca_strlist_clear(&known);
    rev_der_free(&fresh);
    hsmca_store_batch_free(b);
    free(text);
    free(full);
    free(delta);
    EVP_PKEY_free(key);
    hsmca_ca_issuer_clear(&iss);
    return rv;
}

hsmca_rv rev_crl_rebuild_after(hsmca_ca *ca, const char *mount, const char *issuer_id,
                               const hsmca_crl_config *cfg, int64_t covered_seq, bool *built)
{
    crl_state st;
    hsmca_rv rv = state_load(ca, mount, issuer_id, &st);

    *built = false;
    if (rv != HSMCA_OK)
        return rv;
    if (st.complete_number > 0 && st.complete_seq >= covered_seq)
        return HSMCA_OK; /* a newer build already holds it */
    rv = rev_crl_rebuild(ca, mount, issuer_id, cfg, HSMCA_CRL_COMPLETE);
    *built = rv == HSMCA_OK;
    return rv;
}

/* Reads the stored CRL document; HSMCA_ERR_NOT_FOUND when none. */
static hsmca_rv read_crl(hsmca_ca *ca, const char *mount, const char *issuer_id, hsmca_crl_kind kind,
                         unsigned char **der, size_t *der_len, int64_t *this_update)
{
    hsmca_store_doc doc;
    hsmca_rv rv = hsmca_store_doc_get(hsmca_ca_get0_store(ca), mount,
                                      kind == HSMCA_CRL_DELTA ? REV_DOC_DELTA : REV_DOC_CRL, issuer_id, &doc);

    if (rv != HSMCA_OK)
        return rv;
    if (doc.blob == NULL || doc.blob_len == 0) {
        hsmca_store_doc_clear(&doc);
        return hsmca_err(HSMCA_ERR_IO, "the stored CRL of issuer '%s' is empty", issuer_id);
    }
    *der = doc.blob;
    *der_len = doc.blob_len;
    *this_update = doc.updated;
    doc.blob = NULL;
    hsmca_store_doc_clear(&doc);
    return HSMCA_OK;
}

hsmca_rv hsmca_revocation_crl_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_crl_kind kind,
                                  unsigned char **der, size_t *der_len, int64_t *this_update)
{
    hsmca_ca_issuer iss;
    hsmca_crl_config cfg;
    uint64_t gen = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && der != NULL && der_len != NULL && this_update != NULL,
                             HSMCA_ERR_INVALID_ARG);
    *der = NULL;
    *der_len = 0;
    *this_update = 0;
    rv = hsmca_ca_issuer_get(ca, mount, ref != NULL && ref[0] ? ref : "default", &iss);
    if (rv != HSMCA_OK)
        return rv;
    if (rev_crl_cache_get(ca, mount, iss.issuer_id, kind, der, der_len, this_update, &gen)) {
        rv = HSMCA_OK;
        goto done;
    }
    rv = read_crl(ca, mount, iss.issuer_id, kind, der, der_len, this_update);
    if (rv == HSMCA_OK)
        rev_crl_cache_put(ca, mount, iss.issuer_id, kind, *der, *der_len, *this_update, gen);
    if (rv != HSMCA_ERR_NOT_FOUND)
        goto done;
    /* Never built (a new issuer): build it now, once. */
    rv = hsmca_revocation_crl_config_get(ca, mount, &cfg);
    if (rv != HSMCA_OK)
        goto done;
    if (kind == HSMCA_CRL_DELTA && !cfg.enable_delta) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "issuer '%s' has no delta CRL: config/crl enable_delta is off",
                       iss.issuer_id);
        goto done;
    }
    rev_build_lock();
    /* Another request may have built it while this one waited. */
    rv = read_crl(ca, mount, iss.issuer_id, kind, der, der_len, this_update);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = rev_crl_rebuild(ca, mount, iss.issuer_id, &cfg, kind);
    rev_build_unlock();
    if (rv == HSMCA_OK && *der == NULL)
        rv = read_crl(ca, mount, iss.issuer_id, kind, der, der_len, this_update);
done:
    hsmca_ca_issuer_clear(&iss);
    return rv;
}

static int collect_signers(const hsmca_ca_issuer *i, void *arg)
{
    if (i->key_id[0] != '\0' && (i->usage & HSMCA_USAGE_CRL))
        return hsmca_strlist_add(arg, i->issuer_id, strlen(i->issuer_id)) == HSMCA_OK;
    return 1;
}

/* Every issuer of the mount that can sign a CRL. */
static hsmca_rv crl_signers(hsmca_ca *ca, const char *mount, hsmca_strlist *ids)
{
    return hsmca_ca_issuer_list(ca, mount, collect_signers, ids);
}

hsmca_rv hsmca_revocation_crl_rotate(hsmca_ca *ca, const char *mount, bool delta)
{
    hsmca_strlist ids;
    hsmca_crl_config cfg;
    hsmca_rv rv, first = HSMCA_OK;

    hsmca_return_val_if_fail(ca != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&ids, 0, sizeof(ids));
    if ((rv = hsmca_revocation_crl_config_get(ca, mount, &cfg)) != HSMCA_OK ||
        (rv = crl_signers(ca, mount, &ids)) != HSMCA_OK)
        goto done;
    /* OpenBao's rotate-delta with deltas off does nothing and succeeds. */
    if (delta && !cfg.enable_delta)
        goto done;
    for (size_t i = 0; i < ids.n; i++) {
        rev_build_lock();
        rv = rev_crl_rebuild(ca, mount, ids.v[i], &cfg, delta ? HSMCA_CRL_DELTA : HSMCA_CRL_COMPLETE);
        rev_build_unlock();
        if (rv != HSMCA_OK && first == HSMCA_OK) {
            /* Keep going: one issuer's trouble must not leave the others'
             * CRLs stale. The first failure is reported. */
            first = rv;
            hsmca_err_prefix("rebuilding the CRL of issuer %s", ids.v[i]);
            hsmca_log(HSMCA_LOG_WARNING, "mount '%s': %s", mount, hsmca_err_message());
        }
    }
    rv = first;
done:
    hsmca_strlist_clear(&ids);
    return rv;
}

static int has_any(const hsmca_store_revoked *r, void *arg)
{
    (void)r;
    *(bool *)arg = true;
    return 0;
}

/* The due rebuilds of one mount. */
static hsmca_rv periodic_mount(hsmca_ca *ca, const char *mount, int64_t now, size_t *built)
{
    hsmca_crl_config cfg;
    hsmca_strlist ids;
    hsmca_rv rv;

    memset(&ids, 0, sizeof(ids));
    if ((rv = hsmca_revocation_crl_config_get(ca, mount, &cfg)) != HSMCA_OK)
        return rv;
    if (!cfg.auto_rebuild)
        return HSMCA_OK;
    if ((rv = crl_signers(ca, mount, &ids)) != HSMCA_OK)
        goto done;
    for (size_t i = 0; i < ids.n; i++) {
        crl_state st;
        hsmca_crl_kind kind;
        bool fresh = false;

        if (state_load(ca, mount, ids.v[i], &st) != HSMCA_OK)
            continue;
        if (st.complete_number == 0 || now >= st.next_update - cfg.auto_rebuild_grace_period) {
            kind = HSMCA_CRL_COMPLETE;
        } else if (cfg.enable_delta &&
                   (!st.has_delta || now >= st.delta_this_update + cfg.delta_rebuild_interval)) {
            hsmca_store_revoked_query q = {.issuer_id = ids.v[i], .since_seq = st.delta_seq, .limit = 1};

            /* Only when something was revoked since the last delta. */
            if (!st.has_delta)
                fresh = true;
            else if (hsmca_store_revoked_list(hsmca_ca_get0_store(ca), mount, &q, NULL, has_any, &fresh) !=
                     HSMCA_OK)
                continue;
            if (!fresh)
                continue;
            kind = HSMCA_CRL_DELTA;
        } else {
            continue;
        }
        rev_build_lock();
        rv = rev_crl_rebuild(ca, mount, ids.v[i], &cfg, kind);
        rev_build_unlock();
        if (rv == HSMCA_OK && built != NULL)
            (*built)++;
        else if (rv != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "mount '%s': CRL auto-rebuild of issuer %s failed: %s", mount,
                      ids.v[i], hsmca_err_message());
    }
    rv = HSMCA_OK;
done:
    hsmca_strlist_clear(&ids);
    return rv;
}

static int collect_mount(const hsmca_store_mount *m, void *arg)
{
    if (strcmp(m->type, "pki") != 0)
        return 1;
    return hsmca_strlist_add(arg, m->name, strlen(m->name)) == HSMCA_OK;
}

hsmca_rv hsmca_revocation_periodic(hsmca_ca *ca, int64_t now, size_t *built)
{
    hsmca_strlist mounts;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL, HSMCA_ERR_INVALID_ARG);
    if (built != NULL)
        *built = 0;
    memset(&mounts, 0, sizeof(mounts));
    rv = hsmca_store_mount_list(hsmca_ca_get0_store(ca), collect_mount, &mounts);
    for (size_t i = 0; rv == HSMCA_OK && i < mounts.n; i++) {
        if (periodic_mount(ca, mounts.v[i], now, built) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "mount '%s': CRL auto-rebuild: %s", mounts.v[i],
                      hsmca_err_message());
    }
    hsmca_strlist_clear(&mounts);
    return rv;
}
