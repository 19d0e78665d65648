/* SPDX-License-Identifier: Apache-2.0 */
/* Private to hsmcad: its configuration (file or development mode), the
 * parts it assembles, and the TLS key it may keep in the token. */
#ifndef HSMCA_SRC_DAEMON_INTERNAL_H
#define HSMCA_SRC_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hsmca/ca.h"
#include "hsmca/http.h"
#include "hsmca/p11.h"

#define DAEMON_LISTEN_MAX 8
#define DAEMON_MOUNTS_MAX 32
#define DAEMON_PATH_MAX 4096

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

#endif
