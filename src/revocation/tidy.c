/* SPDX-License-Identifier: Apache-2.0 */
/* Tidy: removing expired certificates (revoked or not) past a safety buffer,
 * on a background thread per mount, in small batches through the store's
 * group-commit writer, with OpenBao's tidy-status and tidy-cancel. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsmca/audit.h"
#include "hsmca/log.h"
#include "hsmca/ocsp.h"
#include "hsmca/revocation.h"
#include "hsmca/store.h"
#include "hsmca/uuid.h"
#include "../ca/internal.h"

/* Certificates examined per batch: small, so each write batch joins the
 * writer's group commit beside issuance without holding it up, and a
 * cancel is honoured within one batch. */
#define TIDY_BATCH 16u
/* Mounts with tidy state kept at once (bounded, as everything is). */
#define TIDY_SLOTS 64u
/* Longest pause_duration accepted: a pause past this would keep a cancel
 * waiting for no benefit. */
#define TIDY_PAUSE_MAX_MS (3600 * 1000)
/* Expired issuers removed in one run (bounded; the next run goes on). */
#define TIDY_ISSUERS_MAX 64u

typedef struct {
    bool used;
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    hsmca_tidy_status st;
    bool cancel;
    bool thread_live; /* a thread exists that must be joined */
    bool auto_run;
    pthread_t thread;
    hsmca_ca *ca;
} tidy_slot;

/* One lock for the table: status reads and cancels are rare and short. */
static pthread_mutex_t tidy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tidy_wake = PTHREAD_COND_INITIALIZER;
static tidy_slot tidy_slots[TIDY_SLOTS];

void hsmca_revocation_set_audit(hsmca_ca *ca, hsmca_audit *log)
{
    if (ca != NULL)
        ca->audit = log;
}

/* A run's audit entry: at the start (end false) its trigger and
 * parameters, at the end also its state, counts and times. Tidy's
 * parameters and counts hold nothing secret. request_id is the run's id,
 * so the two entries of one run are found together; path is the mount's
 * tidy endpoint whether an operator or auto-tidy started it. HSMCA_OK when
 * no log is set. */
static hsmca_rv run_audit(hsmca_ca *ca, const char *mount, bool auto_run, bool end, const hsmca_tidy_status *st)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_audit_entry e;
    char path[HSMCA_STORE_MOUNT_MAX + 8];
    const hsmca_tidy_params *p = &st->params;
    json_t *d;

    if (ca->audit == NULL)
        return HSMCA_OK;
    d = json_pack("{ss ss ss ss sb sb sb sb sI sI sI sI}", "phase", end ? "tidy-end" : "tidy-start", "run_id",
                  st->run_id, "trigger", auto_run ? "auto-tidy" : "manual", "state",
                  hsmca_tidy_state_name(st->state), "tidy_cert_store", p->tidy_cert_store, "tidy_revoked_certs",
                  p->tidy_revoked_certs, "tidy_revoked_cert_issuer_associations",
                  p->tidy_revoked_cert_issuer_associations, "tidy_expired_issuers", p->tidy_expired_issuers,
                  "safety_buffer", (json_int_t)p->safety_buffer, "issuer_safety_buffer",
                  (json_int_t)p->issuer_safety_buffer, "pause_ms", (json_int_t)p->pause_ms, "time_started",
                  (json_int_t)st->time_started);
    if (d == NULL)
        return hsmca_err(rv, "tidy of mount '%s': out of memory for its audit entry", mount);
    if (end && (json_object_set_new(d, "time_finished", json_integer(st->time_finished)) != 0 ||
                json_object_set_new(d, "cert_store_deleted_count",
                                    json_integer((json_int_t)st->cert_store_deleted_count)) != 0 ||
                json_object_set_new(d, "revoked_cert_deleted_count",
                                    json_integer((json_int_t)st->revoked_cert_deleted_count)) != 0 ||
                json_object_set_new(d, "missing_issuer_cert_count",
                                    json_integer((json_int_t)st->missing_issuer_cert_count)) != 0 ||
                json_object_set_new(d, "issuers_deleted_count",
                                    json_integer((json_int_t)st->issuers_deleted_count)) != 0 ||
                json_object_set_new(d, "issuer_associations_fixed_count",
                                    json_integer((json_int_t)st->issuer_associations_fixed_count)) != 0)) {
        json_decref(d);
        return hsmca_err(rv, "tidy of mount '%s': out of memory for its audit entry", mount);
    }
    snprintf(path, sizeof(path), "%s/tidy", mount);
    memset(&e, 0, sizeof(e));
    e.request_id = st->run_id;
    e.remote_address = "local";
    e.operation = "update";
    e.mount = mount;
    e.path = path;
    e.status = !end ? 202 : st->state == HSMCA_TIDY_ERROR ? 500 : 200;
    e.outcome = end && st->state == HSMCA_TIDY_ERROR ? HSMCA_AUDIT_ERROR : HSMCA_AUDIT_SUCCESS;
    e.error = end && st->error[0] != '\0' ? st->error : NULL;
    e.details = d;
    rv = hsmca_audit_log(ca->audit, &e);
    json_decref(d);
    return rv;
}

void hsmca_tidy_params_defaults(hsmca_tidy_params *p)
{
    memset(p, 0, sizeof(*p));
    p->safety_buffer = 72 * 3600;
    p->issuer_safety_buffer = 8760 * 3600;
}

hsmca_rv hsmca_tidy_params_check(const hsmca_tidy_params *p)
{
    hsmca_return_val_if_fail(p != NULL, HSMCA_ERR_INVALID_ARG);
    /* OpenBao refuses a buffer below one second: with none, a certificate
     * could leave the CRL while hosts with a slow clock still accept it. */
    if (p->safety_buffer < 1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "safety_buffer %lld: must be greater than zero",
                         (long long)p->safety_buffer);
    if (p->issuer_safety_buffer < 1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "issuer_safety_buffer %lld: must be greater than zero",
                         (long long)p->issuer_safety_buffer);
    if (p->pause_ms < 0 || p->pause_ms > TIDY_PAUSE_MAX_MS)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "pause_duration %lldms: must be between 0s and 1h",
                         (long long)p->pause_ms);
    return HSMCA_OK;
}

const char *hsmca_tidy_state_name(hsmca_tidy_state s)
{
    static const char *const names[] = {"Inactive", "Running", "Finished", "Error", "Cancelling", "Cancelled"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "Error";
}

/* The mount's slot, or with create a free one claimed for it; under
 * tidy_lock. */
static tidy_slot *slot_find(const char *mount, bool create)
{
    tidy_slot *free_slot = NULL;

    for (size_t i = 0; i < TIDY_SLOTS; i++) {
        if (tidy_slots[i].used && strcmp(tidy_slots[i].mount, mount) == 0)
            return &tidy_slots[i];
        if (!tidy_slots[i].used && free_slot == NULL)
            free_slot = &tidy_slots[i];
    }
    if (!create || free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    snprintf(free_slot->mount, sizeof(free_slot->mount), "%s", mount);
    return free_slot;
}

/* Sleeps ms unless cancelled first; false when cancelled. Under tidy_lock. */
static bool pause_or_cancel(tidy_slot *s, int64_t ms)
{
    struct timespec until;

    if (ms <= 0)
        return !s->cancel;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!s->cancel && pthread_cond_timedwait(&tidy_wake, &tidy_lock, &until) != ETIMEDOUT) {
    }
    return !s->cancel;
}

/* The mount's issuers that have a certificate, for matching orphaned
 * revoked entries (bounded: more issuers than this are not matched). */
#define TIDY_ASSOC_ISSUERS_MAX 256u

typedef struct {
    char ids[TIDY_ASSOC_ISSUERS_MAX][37];
    X509 *certs[TIDY_ASSOC_ISSUERS_MAX];
    size_t n;
} assoc_issuers;

static int collect_issuer(const hsmca_ca_issuer *i, void *arg)
{
    assoc_issuers *a = arg;

    if (a->n >= TIDY_ASSOC_ISSUERS_MAX)
        return 0;
    if (i->certificate == NULL || X509_up_ref(i->certificate) != 1)
        return 1;
    a->certs[a->n] = i->certificate;
    snprintf(a->ids[a->n++], sizeof(a->ids[0]), "%s", i->issuer_id);
    return 1;
}

/* The issuer of the mount that signed der: its subject is the
 * certificate's issuer name (and key identifiers agree, X509_check_issued)
 * and the certificate's signature verifies with its public key -- a name
 * alone could be a different CA with the same name. NULL: none. */
static const char *signer_of(const assoc_issuers *a, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    const char *found = NULL;

    for (size_t k = 0; x != NULL && k < a->n && found == NULL; k++) {
        if (X509_check_issued(a->certs[k], x) == X509_V_OK && X509_verify(x, X509_get0_pubkey(a->certs[k])) == 1)
            found = a->ids[k];
    }
    X509_free(x);
    return found;
}

/* tidy_revoked_cert_issuer_associations. Every stored certificate names
 * the issuer that signed it when it is stored; that id goes stale when the
 * issuer is deleted and later imported again (a new issuer_id for the same
 * certificate and key), and then the revoked entry appears in no CRL and
 * its OCSP status cannot be served. This pass finds revoked entries whose
 * issuer document is gone (missing_issuer_cert_count) and associates each
 * with the mount's issuer whose key verifiably signed it; those left
 * without one stay as they are. The CRLs are rebuilt when any changed. */
static hsmca_rv tidy_associations(tidy_slot *s, hsmca_ca *ca, const char *mount, uint64_t *fixed)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store *store = hsmca_ca_get0_store(ca);
    assoc_issuers *a = calloc(1, sizeof(*a));
    hsmca_store_batch *b = hsmca_store_batch_new(store);
    hsmca_store_expired rows[TIDY_BATCH];
    unsigned char after[HSMCA_STORE_SERIAL_MAX];
    size_t after_len = 0, n = 0;
    bool go = true;

    *fixed = 0;
    if (a == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy: out of memory");
        goto done;
    }
    rv = hsmca_ca_issuer_list(ca, mount, collect_issuer, a);
    if (rv != HSMCA_OK)
        goto done;
    do {
        size_t adds = 0, missing = 0;

        rv = hsmca_store_revoked_orphans(store, mount, after_len ? after : NULL, after_len, rows, TIDY_BATCH, &n);
        if (rv != HSMCA_OK)
            goto done;
        for (size_t i = 0; i < n; i++) {
            hsmca_store_cert c;
            const char *to = NULL;

            missing++;
            memset(&c, 0, sizeof(c));
            if (hsmca_store_cert_get(store, mount, rows[i].serial, rows[i].serial_len, &c) == HSMCA_OK)
                to = signer_of(a, c.der, c.der_len);
            else
                hsmca_err_clear(); /* removed meanwhile: nothing to associate */
            if (to != NULL) {
                hsmca_store_batch_cert_reassociate(b, mount, rows[i].serial, rows[i].serial_len, rows[i].issuer_id,
                                                   to);
                adds++;
            }
            hsmca_store_cert_clear(&c);
        }
        if (n > 0) {
            memcpy(after, rows[n - 1].serial, rows[n - 1].serial_len);
            after_len = rows[n - 1].serial_len;
        }
        if (adds > 0) {
            rv = hsmca_store_batch_commit(b);
            if (rv != HSMCA_OK)
                goto done;
            /* An answer cached while the entry had no issuer said "unknown". */
            for (size_t i = 0; i < n; i++)
                hsmca_ocsp_cache_invalidate(ca, mount, rows[i].serial, rows[i].serial_len);
        }
        *fixed += adds;
        pthread_mutex_lock(&tidy_lock);
        s->st.missing_issuer_cert_count += missing;
        s->st.issuer_associations_fixed_count += adds;
        snprintf(s->st.message, sizeof(s->st.message),
                 "Tidying revoked certificates: checking certificate %llu without an issuer",
                 (unsigned long long)s->st.missing_issuer_cert_count);
        go = !s->cancel;
        pthread_mutex_unlock(&tidy_lock);
    } while (go && n == TIDY_BATCH);
    rv = HSMCA_OK;
done:
    for (size_t k = 0; a != NULL && k < a->n; k++)
        X509_free(a->certs[k]);
    free(a);
    hsmca_store_batch_free(b);
    return rv;
}

/* One pass over the expired certificates; counters and message go into
 * the slot as it goes. Returns HSMCA_OK also when cancelled. */
static hsmca_rv tidy_run(tidy_slot *s, hsmca_ca *ca, const char *mount, const hsmca_tidy_params *p)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_store *store = hsmca_ca_get0_store(ca);
    hsmca_store_batch *b = NULL;
    hsmca_store_expired rows[TIDY_BATCH];
    hsmca_store_expired after; /* the last row of the previous batch */
    size_t n = 0;
    bool have_after = false;
    uint64_t total = 0, checked = 0, revoked_gone = 0;
    int64_t cutoff;
    bool go = true;

    rv = hsmca_store_cert_count(store, mount, &total);
    if (rv != HSMCA_OK)
        goto done;
    b = hsmca_store_batch_new(store);
    if (b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy: out of memory");
        goto done;
    }
    /* One cutoff for the run: a certificate qualifies if it expired more
     * than safety_buffer before the run started (RFC 5280 3.3: a CRL may
     * drop an entry once the certificate has expired). */
    cutoff = (int64_t)time(NULL) - p->safety_buffer;
    do {
        size_t adds = 0, plain = 0, revoked = 0;
        size_t gone[TIDY_BATCH]; /* rows[] indexes named in this batch */

        rv = hsmca_store_expired_list(store, mount, cutoff, have_after ? &after : NULL, rows, TIDY_BATCH, &n);
        if (rv != HSMCA_OK)
            goto done;
        for (size_t i = 0; i < n; i++) {
            const hsmca_store_expired *r = &rows[i];

            if (r->revoked_at != 0) {
                if (!p->tidy_revoked_certs)
                    continue;
                revoked++;
            } else {
                if (!p->tidy_cert_store)
                    continue;
                plain++;
            }
            hsmca_store_batch_cert_expunge(b, mount, r->serial, r->serial_len, cutoff, r->revoked_at != 0);
            gone[adds++] = i;
        }
        if (n > 0) {
            after = rows[n - 1];
            have_after = true;
        }
        if (adds > 0) {
            rv = hsmca_store_batch_commit(b);
            if (rv != HSMCA_OK)
                goto done;
            /* A signed answer cached for a removed certificate would go on
             * saying "good" (or "revoked") until ocsp_expiry, where the
             * responder now answers "unknown". Dropped for every row the
             * batch named: one whose delete re-check kept it just signs
             * again on its next request. */
            for (size_t k = 0; k < adds; k++)
                hsmca_ocsp_cache_invalidate(ca, mount, rows[gone[k]].serial, rows[gone[k]].serial_len);
        }
        checked += n;
        revoked_gone += revoked;
        pthread_mutex_lock(&tidy_lock);
        s->st.cert_store_deleted_count += plain;
        s->st.revoked_cert_deleted_count += revoked;
        snprintf(s->st.message, sizeof(s->st.message), "Tidying certificate store: checking entry %llu of %llu",
                 (unsigned long long)checked, (unsigned long long)total);
        /* The pause comes between batches and is cut short by a cancel. */
        go = n == TIDY_BATCH ? pause_or_cancel(s, p->pause_ms) : !s->cancel;
        pthread_mutex_unlock(&tidy_lock);
    } while (go && n == TIDY_BATCH);
    /* A removed entry leaves the CRL at once, as OpenBao rotates it. */
    if (revoked_gone > 0 && hsmca_revocation_crl_rotate(ca, mount, false) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "tidy of mount '%s': rebuilding CRLs after removing %llu revoked "
                  "entries failed: %s", mount, (unsigned long long)revoked_gone, hsmca_err_message());
    rv = HSMCA_OK;
done:
    hsmca_store_batch_free(b);
    return rv;
}

typedef struct {
    time_t cutoff;
    char default_id[37];
    char ids[TIDY_ISSUERS_MAX][37];
    size_t n;
} issuer_walk;

/* Collects issuers whose notAfter is before the cutoff, never the default
 * (OpenBao: "The default issuer will not be removed"). */
static int collect_expired_issuer(const hsmca_ca_issuer *i, void *arg)
{
    issuer_walk *w = arg;

    if (w->n >= TIDY_ISSUERS_MAX)
        return 0;
    if (i->certificate == NULL || strcmp(i->issuer_id, w->default_id) == 0)
        return 1;
    if (X509_cmp_time(X509_get0_notAfter(i->certificate), &w->cutoff) < 0)
        snprintf(w->ids[w->n++], sizeof(w->ids[0]), "%s", i->issuer_id);
    return 1;
}

/* Logs the issuer's certificate so an operator can import it again, as
 * OpenBao does; its key stays in the token. */
static void log_issuer(hsmca_ca *ca, const char *mount, const char *id)
{
    hsmca_ca_issuer i;
    BIO *bio = NULL;
    char *pem = NULL;
    long len;

    memset(&i, 0, sizeof(i));
    if (hsmca_ca_issuer_get(ca, mount, id, &i) != HSMCA_OK) {
        hsmca_err_clear();
        return;
    }
    bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, i.certificate) == 1 && (len = BIO_get_mem_data(bio, &pem)) > 0)
        hsmca_log(HSMCA_LOG_INFO, "tidy of mount '%s': removing expired issuer %s (%s); its certificate:\n%.*s",
                  mount, id, i.issuer_name, (int)len, pem);
    BIO_free(bio);
    hsmca_ca_issuer_clear(&i);
}

/* tidy_expired_issuers: issuers past notAfter + issuer_safety_buffer,
 * never the default and never one that signed a certificate still valid
 * (with leaf_not_after_behavior permit a leaf can outlive its issuer, and
 * its CRL and OCSP answers need the issuer). */
static hsmca_rv tidy_issuers(tidy_slot *s, hsmca_ca *ca, const char *mount, const hsmca_tidy_params *p)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    issuer_walk *w = calloc(1, sizeof(*w));
    hsmca_ca_issuer def;
    int64_t now = (int64_t)time(NULL);

    memset(&def, 0, sizeof(def));
    if (w == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy: out of memory");
        goto done;
    }
    w->cutoff = (time_t)(now - p->issuer_safety_buffer);
    rv = hsmca_ca_issuer_get(ca, mount, "default", &def);
    if (rv == HSMCA_OK)
        snprintf(w->default_id, sizeof(w->default_id), "%s", def.issuer_id);
    else if (rv == HSMCA_ERR_NOT_FOUND)
        hsmca_err_clear();
    else
        goto done;
    rv = hsmca_ca_issuer_list(ca, mount, collect_expired_issuer, w);
    if (rv != HSMCA_OK)
        goto done;
    for (size_t k = 0; k < w->n; k++) {
        bool busy = true;

        pthread_mutex_lock(&tidy_lock);
        snprintf(s->st.message, sizeof(s->st.message), "Tidying expired issuers: checking issuer %zu of %zu",
                 k + 1, w->n);
        busy = s->cancel;
        pthread_mutex_unlock(&tidy_lock);
        if (busy)
            break;
        rv = hsmca_store_issuer_has_unexpired(hsmca_ca_get0_store(ca), mount, w->ids[k], now, &busy);
        if (rv != HSMCA_OK)
            goto done;
        if (busy) {
            hsmca_log(HSMCA_LOG_INFO, "tidy of mount '%s': expired issuer %s kept: it signed certificates that "
                      "are still valid", mount, w->ids[k]);
            continue;
        }
        log_issuer(ca, mount, w->ids[k]);
        rv = hsmca_ca_issuer_delete(ca, mount, w->ids[k]);
        if (rv != HSMCA_OK)
            goto done;
        pthread_mutex_lock(&tidy_lock);
        s->st.issuers_deleted_count++;
        pthread_mutex_unlock(&tidy_lock);
    }
    rv = HSMCA_OK;
done:
    hsmca_ca_issuer_clear(&def);
    free(w);
    return rv;
}

static void *tidy_main(void *arg)
{
    tidy_slot *s = arg;
    hsmca_tidy_params p;
    hsmca_tidy_status end;
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    hsmca_ca *ca;
    bool auto_run;
    hsmca_rv rv;

    pthread_mutex_lock(&tidy_lock);
    p = s->st.params;
    ca = s->ca;
    auto_run = s->auto_run;
    snprintf(mount, sizeof(mount), "%s", s->mount);
    pthread_mutex_unlock(&tidy_lock);

    hsmca_log(HSMCA_LOG_INFO, "tidy of mount '%s' started", mount);
    rv = HSMCA_OK;
    /* Associations first: an entry given back its issuer is then judged
     * (and, if expired, removed) like any other. */
    if (p.tidy_revoked_cert_issuer_associations) {
        uint64_t fixed = 0;

        rv = tidy_associations(s, ca, mount, &fixed);
        if (rv == HSMCA_OK && fixed > 0 && hsmca_revocation_crl_rotate(ca, mount, false) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "tidy of mount '%s': rebuilding CRLs after associating %llu revoked "
                      "entries with their issuer failed: %s", mount, (unsigned long long)fixed, hsmca_err_message());
    }
    if (rv == HSMCA_OK) {
        bool cancelled;

        pthread_mutex_lock(&tidy_lock);
        cancelled = s->cancel;
        pthread_mutex_unlock(&tidy_lock);
        if (!cancelled)
            rv = tidy_run(s, ca, mount, &p);
    }
    /* Issuers after certificates: certificates removed first may be what
     * kept an issuer. pause_duration does not apply here (OpenBao). */
    if (rv == HSMCA_OK && p.tidy_expired_issuers)
        rv = tidy_issuers(s, ca, mount, &p);

    pthread_mutex_lock(&tidy_lock);
    s->st.time_finished = (int64_t)time(NULL);
    if (rv != HSMCA_OK) {
        s->st.state = HSMCA_TIDY_ERROR;
        snprintf(s->st.error, sizeof(s->st.error), "%s", hsmca_err_message());
    } else {
        s->st.state = s->cancel ? HSMCA_TIDY_CANCELLED : HSMCA_TIDY_FINISHED;
    }
    if (s->auto_run)
        s->st.last_auto_tidy_finished = s->st.time_finished;
    hsmca_log(rv == HSMCA_OK ? HSMCA_LOG_INFO : HSMCA_LOG_WARNING,
              "tidy of mount '%s' %s: %llu expired and %llu revoked certificates removed%s%s", mount,
              hsmca_tidy_state_name(s->st.state), (unsigned long long)s->st.cert_store_deleted_count,
              (unsigned long long)s->st.revoked_cert_deleted_count, rv == HSMCA_OK ? "" : ": ", s->st.error);
    end = s->st;
    pthread_mutex_unlock(&tidy_lock);
    /* The work is done and cannot be undone: a refused end entry is
     * reported loudly, and the start entry already says the run happened. */
    if (run_audit(ca, mount, auto_run, true, &end) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_ERR, "tidy of mount '%s' (run %s): the audit log refused its end entry: %s", mount,
                  end.run_id, hsmca_err_message());
    return NULL;
}

hsmca_rv hsmca_revocation_tidy_start(hsmca_ca *ca, const char *mount, const hsmca_tidy_params *p, bool auto_run)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_tidy_status next;
    unsigned char id[16];
    tidy_slot *s;
    pthread_t old;
    bool join_old = false;
    int e;

    hsmca_return_val_if_fail(ca != NULL && mount != NULL && p != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_tidy_params_check(p);
    if (rv != HSMCA_OK)
        return rv;
    pthread_mutex_lock(&tidy_lock);
    s = slot_find(mount, true);
    if (s == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy: state for more than %u mounts", TIDY_SLOTS);
        goto done;
    }
    if (s->st.state == HSMCA_TIDY_RUNNING || s->st.state == HSMCA_TIDY_CANCELLING) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "tidy of mount '%s': already in progress", mount);
        goto done;
    }
    /* The start entry first: a run the audit log cannot record does not
     * happen, and the mount's last status stays as it was. */
    memset(&next, 0, sizeof(next));
    next.params = *p;
    next.state = HSMCA_TIDY_RUNNING;
    next.time_started = (int64_t)time(NULL);
    next.last_auto_tidy_finished = s->st.last_auto_tidy_finished;
    if (RAND_bytes(id, (int)sizeof(id)) != 1) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy of mount '%s': no random bytes for its run id", mount);
        goto done;
    }
    hsmca_uuid_set_version(id, 4);
    hsmca_uuid_format(id, next.run_id);
    rv = run_audit(ca, mount, auto_run, false, &next);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("tidy of mount '%s' not started: the audit log refused its entry", mount);
        goto done;
    }
    if (s->thread_live) {
        /* The last run has ended (its state says so); reap its thread. */
        old = s->thread;
        join_old = true;
        s->thread_live = false;
    }
    s->st = next;
    s->cancel = false;
    s->auto_run = auto_run;
    s->ca = ca;
    e = pthread_create(&s->thread, NULL, tidy_main, s);
    if (e != 0) {
        s->st.state = HSMCA_TIDY_ERROR;
        s->st.time_finished = (int64_t)time(NULL);
        snprintf(s->st.error, sizeof(s->st.error), "starting the tidy thread: %s", strerror(e));
        if (run_audit(ca, mount, auto_run, true, &s->st) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_ERR, "tidy of mount '%s': the audit log refused its end entry: %s", mount,
                      hsmca_err_message());
        rv = hsmca_err(HSMCA_ERR_NOMEM, "tidy of mount '%s': starting its thread: %s", mount, strerror(e));
        goto done;
    }
    s->thread_live = true;
    rv = HSMCA_OK;
done:
    pthread_mutex_unlock(&tidy_lock);
    if (join_old)
        pthread_join(old, NULL);
    return rv;
}

hsmca_rv hsmca_revocation_tidy_status(const char *mount, hsmca_tidy_status *out)
{
    tidy_slot *s;

    hsmca_return_val_if_fail(mount != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    hsmca_tidy_params_defaults(&out->params);
    pthread_mutex_lock(&tidy_lock);
    s = slot_find(mount, false);
    if (s != NULL)
        *out = s->st;
    pthread_mutex_unlock(&tidy_lock);
    return HSMCA_OK;
}

hsmca_rv hsmca_revocation_tidy_cancel(const char *mount, hsmca_tidy_status *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    tidy_slot *s;

    hsmca_return_val_if_fail(mount != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&tidy_lock);
    s = slot_find(mount, false);
    if (s == NULL || (s->st.state != HSMCA_TIDY_RUNNING && s->st.state != HSMCA_TIDY_CANCELLING)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "tidy-cancel: no tidy operation is running on mount '%s'", mount);
        goto done;
    }
    s->cancel = true;
    s->st.state = HSMCA_TIDY_CANCELLING;
    pthread_cond_broadcast(&tidy_wake);
    *out = s->st;
    rv = HSMCA_OK;
done:
    pthread_mutex_unlock(&tidy_lock);
    return rv;
}

void hsmca_revocation_tidy_shutdown(void)
{
    for (size_t i = 0; i < TIDY_SLOTS; i++) {
        pthread_t t;
        bool live;

        pthread_mutex_lock(&tidy_lock);
        live = tidy_slots[i].used && tidy_slots[i].thread_live;
        t = tidy_slots[i].thread;
        if (live) {
            tidy_slots[i].cancel = true;
            tidy_slots[i].thread_live = false;
        }
        pthread_cond_broadcast(&tidy_wake);
        pthread_mutex_unlock(&tidy_lock);
        /* A batch in flight commits or not as a whole; then the run stops. */
        if (live)
            pthread_join(t, NULL);
    }
}

typedef struct {
    hsmca_ca *ca;
    int64_t now;
    size_t started;
} periodic_walk;

/* Per mount: start an auto run when it is due. A mount seen for the first
 * time gets last_auto_tidy_finished = now, so the first run waits one
 * interval, as OpenBao documents. */
static int periodic_mount(const hsmca_store_mount *m, void *arg)
{
    periodic_walk *w = arg;
    hsmca_auto_tidy_config c;
    tidy_slot *s;
    bool due = false;

    if (strcmp(m->type, "pki") != 0)
        return 1;
    if (hsmca_revocation_auto_tidy_get(w->ca, m->name, &c) != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_WARNING, "auto-tidy of mount '%s': %s", m->name, hsmca_err_message());
        return 1;
    }
    pthread_mutex_lock(&tidy_lock);
    s = slot_find(m->name, true);
    if (s != NULL) {
        if (s->st.last_auto_tidy_finished == 0)
            s->st.last_auto_tidy_finished = w->now;
        due = c.enabled && s->st.state != HSMCA_TIDY_RUNNING && s->st.state != HSMCA_TIDY_CANCELLING &&
              w->now - s->st.last_auto_tidy_finished >= c.interval_duration;
    }
    pthread_mutex_unlock(&tidy_lock);
    if (!due)
        return 1;
    if (hsmca_revocation_tidy_start(w->ca, m->name, &c.params, true) == HSMCA_OK)
        w->started++;
    else
        hsmca_log(HSMCA_LOG_WARNING, "auto-tidy of mount '%s': %s", m->name, hsmca_err_message());
    return 1;
}

hsmca_rv hsmca_revocation_tidy_periodic(hsmca_ca *ca, int64_t now, size_t *started)
{
    periodic_walk w = {ca, now, 0};
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_store_mount_list(hsmca_ca_get0_store(ca), periodic_mount, &w);
    if (started != NULL)
        *started = w.started;
    return rv;
}
