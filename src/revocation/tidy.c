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

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "hsmca/revocation.h"
#include "hsmca/store.h"

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

/* Does the issuer document still exist? One lookup per revoked entry: the
 * association check is opt-in and OpenBao advises against running it in
 * every auto-tidy. */
static bool issuer_exists(hsmca_store *store, const char *mount, const char *issuer_id)
{
    hsmca_store_doc d;
    hsmca_rv rv;

    memset(&d, 0, sizeof(d));
    rv = hsmca_store_doc_get(store, mount, HSMCA_DOC_ISSUER, issuer_id, &d);
    hsmca_store_doc_clear(&d);
    if (rv != HSMCA_OK)
        hsmca_err_clear();
    return rv != HSMCA_ERR_NOT_FOUND;
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

        rv = hsmca_store_expired_list(store, mount, cutoff, have_after ? &after : NULL, rows, TIDY_BATCH, &n);
        if (rv != HSMCA_OK)
            goto done;
        for (size_t i = 0; i < n; i++) {
            const hsmca_store_expired *r = &rows[i];

            if (r->revoked_at != 0) {
                if (p->tidy_revoked_cert_issuer_associations && !issuer_exists(store, mount, r->issuer_id)) {
                    pthread_mutex_lock(&tidy_lock);
                    s->st.missing_issuer_cert_count++;
                    pthread_mutex_unlock(&tidy_lock);
                }
                if (!p->tidy_revoked_certs)
                    continue;
                revoked++;
            } else {
                if (!p->tidy_cert_store)
                    continue;
                plain++;
            }
            hsmca_store_batch_cert_expunge(b, mount, r->serial, r->serial_len, cutoff, r->revoked_at != 0);
            adds++;
        }
        if (n > 0) {
            after = rows[n - 1];
            have_after = true;
        }
        if (adds > 0) {
            rv = hsmca_store_batch_commit(b);
            if (rv != HSMCA_OK)
                goto done;
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
    char mount[HSMCA_STORE_MOUNT_MAX + 1];
    hsmca_ca *ca;
    hsmca_rv rv;

    pthread_mutex_lock(&tidy_lock);
    p = s->st.params;
    ca = s->ca;
    snprintf(mount, sizeof(mount), "%s", s->mount);
    pthread_mutex_unlock(&tidy_lock);

    hsmca_log(HSMCA_LOG_INFO, "tidy of mount '%s' started", mount);
    rv = tidy_run(s, ca, mount, &p);
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
    pthread_mutex_unlock(&tidy_lock);
    return NULL;
}

hsmca_rv hsmca_revocation_tidy_start(hsmca_ca *ca, const char *mount, const hsmca_tidy_params *p, bool auto_run)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
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
    if (s->thread_live) {
        /* The last run has ended (its state says so); reap its thread. */
        old = s->thread;
        join_old = true;
        s->thread_live = false;
    }
    {
        int64_t last_auto = s->st.last_auto_tidy_finished;

        memset(&s->st, 0, sizeof(s->st));
        s->st.last_auto_tidy_finished = last_auto;
    }
    s->st.params = *p;
    s->st.state = HSMCA_TIDY_RUNNING;
    s->st.time_started = (int64_t)time(NULL);
    s->cancel = false;
    s->auto_run = auto_run;
    s->ca = ca;
    e = pthread_create(&s->thread, NULL, tidy_main, s);
    if (e != 0) {
        s->st.state = HSMCA_TIDY_ERROR;
        snprintf(s->st.error, sizeof(s->st.error), "starting the tidy thread: %s", strerror(e));
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
