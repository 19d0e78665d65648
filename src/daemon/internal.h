/* SPDX-License-Identifier: Apache-2.0 */
/* Private to hsmcad: its configuration (file or development mode), the
 * parts it assembles, and the TLS key it may keep in the token. */
#ifndef HSMCA_SRC_DAEMON_INTERNAL_H
#define HSMCA_SRC_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hsmca/audit.h"
#include "hsmca/auth.h"
#include "hsmca/ca.h"
#include "hsmca/http.h"
#include "hsmca/p11.h"

#define DAEMON_LISTEN_MAX 8
#define DAEMON_MOUNTS_MAX 32
#define DAEMON_PATH_MAX 4096
#define DAEMON_POLICIES_MAX 64

typedef struct {
    /* listeners */
    char *listen[DAEMON_LISTEN_MAX];
    size_t n_listen;
    bool tls;
    bool allow_plain_remote;
    char *tls_cert_file;
    char *tls_key;            /* a PEM file path, or a pkcs11: URI of a key in the token */
    char *tls_client_ca_file;
    hsmca_http_limits limits;
    unsigned workers, io_threads;
    /* the token */
    char *module;
    char *token_label, *token_serial;
    char *pin_file, *pin_credential;
    unsigned max_sessions;
    /* state */
    char *db_path;
    char *audit_path;         /* NULL only in tests that say so */
    bool audit_no_sync;
    char *root_token_file;    /* where a first start writes the root token when not on a terminal */
    int64_t default_ttl, max_ttl;
    char *mounts[DAEMON_MOUNTS_MAX]; /* PKI mounts made at start when missing */
    size_t n_mounts;
    /* ACL policies from files: name -> path (policies.c) */
    char *policy_names[DAEMON_POLICIES_MAX], *policy_files[DAEMON_POLICIES_MAX];
    size_t n_policies;
    char *log_level;
    int64_t crl_check_interval; /* seconds between CRL auto-rebuild checks; 0: DAEMON_CRL_CHECK_DEFAULT */
    /* development mode */
    bool dev;
    bool dev_tls;
    char *dev_state_dir;
    char *dev_root_token_id;  /* given on the command line: a dev token, not a secret */
    char *dev_root_token_file;/* or read from this file (daemon_dev_prepare fills dev_root_token_id) */
} daemon_config;

void daemon_config_clear(daemon_config *c);
/* Reads the JSON configuration file; the detail names the key at fault. */
hsmca_rv daemon_config_load(const char *path, daemon_config *c);
/* Development mode: a state directory with a fresh SoftHSM2 token (its own
 * softhsm2.conf, token directory and PIN files), the database, the audit log
 * and, with -dev-tls, a listener certificate from a development CA. Fills in
 * c's token, state and TLS settings. */
hsmca_rv daemon_dev_prepare(daemon_config *c);

/* A listener key in the token, as the HTTP server's external key. */
/* ---- the CRL auto-rebuild job (crl_job.c) ---- */

#define DAEMON_CRL_CHECK_DEFAULT 60 /* seconds: OpenBao's once a minute */

typedef struct daemon_crl_job daemon_crl_job;
/* Starts the thread; it runs hsmca_revocation_periodic at once and then
 * every interval seconds. */
hsmca_rv daemon_crl_job_start(hsmca_ca *ca, int64_t interval, daemon_crl_job **out);
/* Stops it after the build in progress, if any; NULL is fine. */
void daemon_crl_job_stop(daemon_crl_job *j);

typedef struct daemon_tls_key daemon_tls_key;
hsmca_rv daemon_tls_key_open(hsmca_p11_token *tok, const char *uri, daemon_tls_key **out,
                             const hsmca_http_external_key **ext);
void daemon_tls_key_free(daemon_tls_key *k);

/* ---- notify.c: the service manager's protocol (sd_notify(3), sd_listen_fds(3)) ---- */
/* Reads NOTIFY_SOCKET ("/path" or "@abstract") and WATCHDOG_USEC/_PID, then
 * removes them from the environment. Without NOTIFY_SOCKET every
 * daemon_notify() is a no-op. */
hsmca_rv daemon_notify_init(void);
void daemon_notify_close(void);
/* One datagram, e.g. daemon_notify("READY=1\nSTATUS=%s", text). */
void daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The manager's watchdog timeout in microseconds; 0 when there is none. */
uint64_t daemon_notify_watchdog_usec(void);
/* Sockets passed by socket activation (LISTEN_FDS from fd 3, for this pid):
 * at most max, each checked to be a listening stream socket; *n = 0 when
 * none were passed. Removes the variables from the environment. */
hsmca_rv daemon_listen_fds(int *fds, size_t max, size_t *n);

/* ---- reload.c: SIGHUP ---- */
/* Reads config_path again and applies what can change while serving (log
 * level, the live HTTP limits, new mounts, policy files) to the live parts, keeping `running` in
 * step. A file that does not load changes nothing. `report` receives one
 * line: what changed, and what differs but needs a restart. */
typedef struct {
    hsmca_http_server *srv;
    hsmca_ca *ca;
    hsmca_auth *auth;
    hsmca_audit *audit;
} daemon_live;
hsmca_rv daemon_reload(const char *config_path, daemon_config *running, const daemon_live *live, char *report,
                       size_t report_size);

/* ---- policies.c ---- */
/* Writes every policy file of c whose text differs from the stored policy
 * (audited); all files are read and checked first, so a broken one writes
 * nothing. report receives "policy NAME written; ..." or "". */
hsmca_rv daemon_policies_sync(const daemon_config *c, hsmca_auth *auth, hsmca_audit *audit, char *report,
                              size_t report_size);

#endif
