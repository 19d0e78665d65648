/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenBao dialect: the wire format of OpenBao's HTTP API (/v1/...,
 * X-Vault-Token, LIST, the response envelope) over the CA core, the token
 * and policy module and the audit log. Its dispatch function is what the
 * HTTP server runs for every request. */
#ifndef HSMCA_OPENBAO_H
#define HSMCA_OPENBAO_H

#include "hsmca/ca.h"
#include "hsmca/http.h"
#include "hsmca/p11.h"
#include "hsmca/rv.h"
#include "hsmca/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_openbao hsmca_openbao;
typedef struct hsmca_auth hsmca_auth;
typedef struct hsmca_audit hsmca_audit;

typedef struct {
    hsmca_ca *ca;
    hsmca_store *store;
    hsmca_auth *auth;
    hsmca_audit *audit;          /* NULL: no audit log (refused by the daemon outside tests) */
    hsmca_p11_token *token;      /* for health and metrics */
    const char *version;
    bool dev_mode;               /* sys/health reports it */
} hsmca_openbao_config;

hsmca_rv hsmca_openbao_new(const hsmca_openbao_config *cfg, hsmca_openbao **out);
void hsmca_openbao_free(hsmca_openbao *api);
/* The server whose counters sys/metrics reports, once it runs (requests
 * may arrive before: they see zeros). */
void hsmca_openbao_set_server(hsmca_openbao *api, hsmca_http_server *srv);
/* hsmca_http_dispatch_fn: arg is the hsmca_openbao. */
void hsmca_openbao_dispatch(hsmca_http_req *req, hsmca_http_resp *resp, void *arg);

#ifdef __cplusplus
}
#endif
#endif
