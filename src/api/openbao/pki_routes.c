/* SPDX-License-Identifier: Apache-2.0 */
/* The PKI mount's route table: each endpoint group keeps its routes in its
 * own file (pki_<group>.c) and is listed here once. */
#include "internal.h"

extern const hsmca_http_route ob_roles_routes[];
extern const size_t ob_roles_routes_n;
extern const hsmca_http_route ob_issue_routes[];
extern const size_t ob_issue_routes_n;
extern const hsmca_http_route ob_generate_routes[];
extern const size_t ob_generate_routes_n;
extern const hsmca_http_route ob_issuers_routes[];
extern const size_t ob_issuers_routes_n;
extern const hsmca_http_route ob_ca_routes[];
extern const size_t ob_ca_routes_n;
extern const hsmca_http_route ob_keys_routes[];
extern const size_t ob_keys_routes_n;
extern const hsmca_http_route ob_config_routes[];
extern const size_t ob_config_routes_n;
extern const hsmca_http_route ob_revoke_routes[];
extern const size_t ob_revoke_routes_n;
extern const hsmca_http_route ob_crl_routes[];
extern const size_t ob_crl_routes_n;
extern const hsmca_http_route ob_ocsp_routes[];
extern const size_t ob_ocsp_routes_n;
extern const hsmca_http_route ob_tidy_routes[];
extern const size_t ob_tidy_routes_n;

hsmca_rv ob_pki_routes(hsmca_http_router *r, hsmca_openbao *api)
{
    static const struct {
        const hsmca_http_route *routes;
        const size_t *n;
    } groups[] = {
        {ob_roles_routes, &ob_roles_routes_n},
        {ob_issue_routes, &ob_issue_routes_n},
        {ob_generate_routes, &ob_generate_routes_n},
        {ob_issuers_routes, &ob_issuers_routes_n},
        {ob_ca_routes, &ob_ca_routes_n},
        {ob_keys_routes, &ob_keys_routes_n},
        {ob_config_routes, &ob_config_routes_n},
        {ob_revoke_routes, &ob_revoke_routes_n},
        {ob_crl_routes, &ob_crl_routes_n},
        {ob_ocsp_routes, &ob_ocsp_routes_n},
        {ob_tidy_routes, &ob_tidy_routes_n},
    };
    hsmca_rv rv = HSMCA_OK;

    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]) && rv == HSMCA_OK; i++)
        rv = hsmca_http_router_add(r, groups[i].routes, *groups[i].n, api);
    return rv;
}
