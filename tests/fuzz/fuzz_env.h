/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzz targets that need the token share: the CA stack on the
 * SoftHSM2 token scripts/fuzz.sh creates (HSMCA_TEST_MODULE,
 * HSMCA_TEST_TOKEN, HSMCA_TEST_PIN_FILE, as tests/lib/token.sh exports
 * them) with a throwaway database, and the in-process daemon (the real
 * HTTP server and OpenBao dispatcher on a loopback port) with a plain-HTTP
 * client for it. Setup failures abort: a target without its stack would
 * fuzz nothing and report success. */
#ifndef HSMCA_TESTS_FUZZ_ENV_H
#define HSMCA_TESTS_FUZZ_ENV_H

#include <stddef.h>

#include "hsmca/auth.h"
#include "hsmca/ca.h"
#include "hsmca/http.h"
#include "hsmca/keyslot.h"
#include "hsmca/openbao.h"
#include "hsmca/p11.h"
#include "hsmca/store.h"

typedef struct {
    hsmca_p11_token *tok;
    hsmca_keyslot *ks;
    struct ossl_provider_st *prov;
    hsmca_store *st;
    hsmca_ca *ca;
    hsmca_auth *auth;
    hsmca_openbao *api;
    hsmca_http_server *srv;
    char dir[256];   /* the throwaway directory holding the database */
} fuzz_env;

/* The token, key slots, provider, a fresh store and a CA with `mount`
 * enabled. Aborts, saying what failed, when the token is not there. */
void fuzz_ca_open(fuzz_env *e, const char *mount);

/* fuzz_ca_open plus the token module (root token FUZZ_ROOT_TOKEN), the
 * OpenBao dispatcher and the HTTP server on 127.0.0.1:<random port>. */
#define FUZZ_ROOT_TOKEN "hsmca-fuzz-root"
void fuzz_daemon_start(fuzz_env *e, const char *mount);

/* One request to the daemon of fuzz_daemon_start (keep-alive, reconnects
 * when the server closed). Returns the HTTP status (0: no answer) and, when
 * body is given, the response body (malloc'd, NUL-terminated). */
int fuzz_http(fuzz_env *e, const char *method, const char *path, const void *req_body, size_t req_len,
              char **body);

/* fuzz_http that must answer 2xx (setup steps): aborts otherwise. */
void fuzz_http_ok(fuzz_env *e, const char *method, const char *path, const char *json);

#endif
