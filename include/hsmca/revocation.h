/* SPDX-License-Identifier: Apache-2.0 */
/* Revocation: revoking certificates (by serial, by certificate, with proof
 * of possession) and issuers, the CRL configuration of a mount, and complete
 * and delta CRLs signed by the issuer's key in the token. Semantics follow
 * OpenBao's PKI engine (shared/reference/openbao-pki-api.txt). The functions
 * keep no state of their own beyond a process-wide lock that serialises CRL
 * builds; everything lives in the store. */
#ifndef HSMCA_REVOCATION_H
#define HSMCA_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsmca/ca.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- config/crl ---- */

/* Every field of config/crl; durations in seconds. */
typedef struct {
    int64_t expiry;                    /* CRL validity (nextUpdate - thisUpdate); default 72h */
    bool disable;                      /* CRLs are signed with no entries */
    bool ocsp_disable;                 /* the OCSP responder answers unauthorized */
    int64_t ocsp_expiry;               /* OCSP nextUpdate - thisUpdate; 0: no nextUpdate; default 12h */
    bool auto_rebuild;                 /* revocations only record; CRLs are rebuilt periodically */
    int64_t auto_rebuild_grace_period; /* rebuilt this long before nextUpdate; default 12h */
    bool enable_delta;                 /* delta CRLs (needs auto_rebuild) */
    int64_t delta_rebuild_interval;    /* default 15m */
} hsmca_crl_config;

/* OpenBao's defaults. */
void hsmca_crl_config_defaults(hsmca_crl_config *c);
/* The mount's configuration (the defaults until config/crl is written).
 * The OCSP responder reads ocsp_disable / ocsp_expiry here. */
hsmca_rv hsmca_revocation_crl_config_get(hsmca_ca *ca, const char *mount, hsmca_crl_config *out);
/* The documented rules: expiry > 0; grace period and delta interval >= 0
 * and shorter than expiry; ocsp_expiry >= 0; enable_delta only with
 * auto_rebuild. The error names the field. */
hsmca_rv hsmca_crl_config_check(const hsmca_crl_config *c);
/* Checks and stores; then, as OpenBao does, rebuilds the mount's CRLs. */
hsmca_rv hsmca_revocation_crl_config_set(hsmca_ca *ca, const char *mount, const hsmca_crl_config *c);
/* "72h", "15m", "1h30m", "0s": the shortest Go duration text of secs. */
void hsmca_crl_duration_text(int64_t secs, char out[32]);

/* ---- revoking ---- */

typedef struct {
    char serial_number[61]; /* "39:dd:2e:..." */
    char issuer_id[37];
    int64_t revocation_time; /* the first revocation's, when already */
    bool already_revoked;    /* nothing changed: it was revoked before */
    bool crl_rebuilt;        /* the issuer's CRL was rebuilt (no auto_rebuild) */
    char crl_warning[256];   /* why the CRL could not be rebuilt ("" if it was or need not be) */
} hsmca_revoke_result;

/* revoke and revoke-with-key: exactly one of serial (hex, colon or hyphen
 * separated) and cert_pem. A certificate given as PEM must be signed by an
 * issuer of the mount; one that is not stored (no_store roles) is stored
 * with its revocation. Issuer certificates are refused (issuer/:ref/revoke
 * is their path). With key_pem (revoke-with-key), the private key must be
 * the certificate's: otherwise HSMCA_ERR_INVALID_ARG and nothing is revoked.
 * Revoking twice returns HSMCA_OK with already_revoked and the first time.
 * Without auto_rebuild the issuer's CRL is rebuilt before returning; with
 * it the revocation is recorded only (its cost does not grow with the
 * number already revoked). */
hsmca_rv hsmca_revocation_revoke(hsmca_ca *ca, const char *mount, const char *serial, const char *cert_pem,
                                 const char *key_pem, hsmca_revoke_result *out);
/* issuer/:ref/revoke: the issuer is marked revoked (hsmca_ca_issuer_revoke)
 * and, when a parent issuer of the mount issued its certificate, that
 * certificate joins the parent's CRL; CRLs are rebuilt unless auto_rebuild. */
hsmca_rv hsmca_revocation_revoke_issuer(hsmca_ca *ca, const char *mount, const char *ref,
                                        hsmca_ca_issuer *out);
/* LIST certs/revoked: serials in serial order after `after`, at most limit
 * (0: all); cb returns 0 to stop. */
hsmca_rv hsmca_revocation_list(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                               int (*cb)(const char *serial_text, void *arg), void *arg);

/* Caches of revocation status are per CA and told directly: a committed
 * revocation (any path, issuers' certificates too) and a tidy that removes
 * a certificate drop the serial's signed OCSP answers
 * (hsmca_ocsp_cache_invalidate). */

/* ---- CRLs ---- */

typedef enum { HSMCA_CRL_COMPLETE, HSMCA_CRL_DELTA } hsmca_crl_kind;

/* The last signed CRL of the issuer `ref` ("default", name or id): DER in
 * *der (malloc'd) and its thisUpdate for Last-Modified. A complete CRL is
 * built first if the issuer never had one. A delta when enable_delta is off
 * and none was ever built: HSMCA_ERR_NOT_FOUND. */
hsmca_rv hsmca_revocation_crl_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_crl_kind kind,
                                  unsigned char **der, size_t *der_len, int64_t *this_update);
/* crl/rotate (delta false) and crl/rotate-delta (delta true): rebuilds the
 * CRLs of every issuer of the mount that can sign them. A complete rebuild
 * also rebuilds the delta (empty again) when enable_delta is on. */
hsmca_rv hsmca_revocation_crl_rotate(hsmca_ca *ca, const char *mount, bool delta);
/* The background job: for every mount with auto_rebuild, rebuilds the
 * complete CRLs due (nextUpdate - grace period reached, or none yet) and,
 * with enable_delta, the deltas whose interval passed and that have new
 * revocations. Returns the number of CRLs built in *built (may be NULL). */
hsmca_rv hsmca_revocation_periodic(hsmca_ca *ca, int64_t now, size_t *built);

/* ---- CRLs from the caller's data (sign-revocation-list, resign-crls) ---- */

typedef struct {
    unsigned char serial[20];
    size_t serial_len;
    int64_t revocation_time;
    const unsigned char *extensions_der; /* a DER Extensions SEQUENCE, or NULL */
    size_t extensions_len;
} hsmca_crl_entry;

typedef struct {
    int64_t crl_number;     /* >= 0 */
    int64_t delta_crl_base; /* >= 0: a delta CRL on that base; -1: none */
    int64_t next_update;    /* seconds from now; default 72h */
    const hsmca_crl_entry *entries;
    size_t n_entries;
    const unsigned char *extensions_der; /* further crlExtensions, DER of each Extension concatenated */
    size_t extensions_len;
} hsmca_crl_request;

/* issuer/:ref/sign-revocation-list: a CRL with the caller's entries, signed
 * by the issuer's token key. */
hsmca_rv hsmca_revocation_sign_list(hsmca_ca *ca, const char *mount, const char *ref,
                                    const hsmca_crl_request *req, unsigned char **der, size_t *der_len);
/* issuer/:ref/resign-crls: the entries of PEM CRLs that the issuer signed
 * (each verified), merged by serial, signed again as one CRL. */
hsmca_rv hsmca_revocation_resign_crls(hsmca_ca *ca, const char *mount, const char *ref,
                                      const char *const *crl_pems, size_t n_crls,
                                      const hsmca_crl_request *req, unsigned char **der, size_t *der_len);

/* ---- tidy ---- */

struct hsmca_audit;
/* The audit log of background revocation work: every tidy run, manual or
 * automatic, writes an entry when it starts (with its parameters; if that
 * entry cannot be written the run does not start) and one when it ends
 * (state, counts, error). NULL (the default): no entries, for tools and
 * tests without a log. Set before any tidy starts; log must outlive the
 * tidy threads (hsmca_revocation_tidy_shutdown). */
void hsmca_revocation_set_audit(hsmca_ca *ca, struct hsmca_audit *log);

/* The parameters of tidy (and of config/auto-tidy); durations in seconds,
 * pause_duration in milliseconds (Go durations may be "250ms"). */
typedef struct {
    bool tidy_cert_store;       /* expired, unrevoked certificates */
    bool tidy_revoked_certs;    /* expired, revoked certificates (they leave the CRL) */
    bool tidy_revoked_cert_issuer_associations; /* revoked entries whose issuer is gone: associate with the signer */
    bool tidy_expired_issuers;  /* issuers past issuer_safety_buffer: never the default, never one with valid leaves */
    int64_t safety_buffer;      /* default 72h; must be positive */
    int64_t issuer_safety_buffer; /* default 8760h; must be positive */
    int64_t pause_ms;           /* default 0; at most 1h */
} hsmca_tidy_params;

/* OpenBao's defaults. */
void hsmca_tidy_params_defaults(hsmca_tidy_params *p);
/* The rules; the error names the field. */
hsmca_rv hsmca_tidy_params_check(const hsmca_tidy_params *p);

typedef enum {
    HSMCA_TIDY_INACTIVE,
    HSMCA_TIDY_RUNNING,
    HSMCA_TIDY_FINISHED,
    HSMCA_TIDY_ERROR,
    HSMCA_TIDY_CANCELLING,
    HSMCA_TIDY_CANCELLED
} hsmca_tidy_state;

/* tidy-status: the current run of the mount, or the last one. */
typedef struct {
    hsmca_tidy_params params;   /* as the run was started */
    hsmca_tidy_state state;
    char error[256];            /* "" unless state is Error */
    char message[128];          /* "Tidying certificate store: checking entry N of TOTAL" */
    int64_t time_started, time_finished; /* 0: none */
    uint64_t cert_store_deleted_count;
    uint64_t revoked_cert_deleted_count;
    uint64_t missing_issuer_cert_count;
    uint64_t issuers_deleted_count;  /* tidy_expired_issuers (audited; not an OpenBao field) */
    uint64_t issuer_associations_fixed_count; /* revoked entries given their signing issuer again (idem) */
    int64_t last_auto_tidy_finished; /* 0: none since the daemon started */
    char run_id[37];                 /* the run's id in its audit entries ("" before any run) */
} hsmca_tidy_status;

/* "Inactive", "Running", ... as OpenBao spells them. */
const char *hsmca_tidy_state_name(hsmca_tidy_state s);
/* Starts a tidy of the mount on its own thread and returns at once.
 * HSMCA_ERR_EXISTS if one is already running on the mount. auto_run marks
 * a run of auto-tidy (it sets last_auto_tidy_finished when it ends). */
hsmca_rv hsmca_revocation_tidy_start(hsmca_ca *ca, const char *mount, const hsmca_tidy_params *p, bool auto_run);
/* The mount's status (state Inactive if it never ran). */
hsmca_rv hsmca_revocation_tidy_status(const char *mount, hsmca_tidy_status *out);
/* tidy-cancel: a running tidy becomes Cancelling and stops at its next
 * checkpoint (between batches, or during a pause). *out gets the status.
 * HSMCA_ERR_INVALID_ARG when no tidy is running, as OpenBao answers. */
hsmca_rv hsmca_revocation_tidy_cancel(const char *mount, hsmca_tidy_status *out);
/* Cancels every run and waits for the threads: call before freeing the CA. */
void hsmca_revocation_tidy_shutdown(void);

/* config/auto-tidy: periodic tidy with these parameters. */
typedef struct {
    bool enabled;
    int64_t interval_duration; /* seconds from the end of one run to the next; default 12h */
    bool maintain_stored_certificate_counts;       /* tidy-status shows the counts (hsmca_revocation_cert_counts) */
    bool publish_stored_certificate_count_metrics; /* sys/metrics shows them; needs the former */
    hsmca_tidy_params params;
} hsmca_auto_tidy_config;

void hsmca_auto_tidy_defaults(hsmca_auto_tidy_config *c);
/* The tidy rules plus interval_duration > 0 and publish_... only with
 * maintain_...; the error names the field. */
hsmca_rv hsmca_auto_tidy_check(const hsmca_auto_tidy_config *c);
hsmca_rv hsmca_revocation_auto_tidy_get(hsmca_ca *ca, const char *mount, hsmca_auto_tidy_config *out);
hsmca_rv hsmca_revocation_auto_tidy_set(hsmca_ca *ca, const char *mount, const hsmca_auto_tidy_config *c);
/* maintain_stored_certificate_counts / publish_stored_certificate_count_
 * metrics. OpenBao keeps these counts in memory, from a LIST at mount time
 * plus every issuance, revocation and tidy; here the database counts them
 * when asked (two index-only counts in one read snapshot), so they are exact
 * under concurrent issuance, revocation and tidy and need no baseline. */
typedef struct {
    bool maintained;     /* maintain_stored_certificate_counts is on */
    bool published;      /* publish_stored_certificate_count_metrics is on */
    uint64_t stored;     /* certificates stored (revoked ones included); 0 unless maintained */
    uint64_t revoked;    /* of those, revoked; 0 unless maintained */
} hsmca_cert_counts;

hsmca_rv hsmca_revocation_cert_counts(hsmca_ca *ca, const char *mount, hsmca_cert_counts *out);

/* The daemon's auto-tidy job: for every mount with auto-tidy enabled whose
 * interval has passed since its last auto run ended (or since the mount was
 * first seen, as OpenBao delays the first run), starts a tidy. *started
 * (may be NULL) gets how many. */
hsmca_rv hsmca_revocation_tidy_periodic(hsmca_ca *ca, int64_t now, size_t *started);

#ifdef __cplusplus
}
#endif
#endif
