/* SPDX-License-Identifier: Apache-2.0 */
/* The OpenBao dialect object: its three route tables (sys/, auth/token/,
 * PKI mounts) and the in-memory table of enabled PKI mounts the dispatcher
 * resolves paths with (loaded from the store, changed by sys/mounts). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int mount_cmp(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

    return la < lb ? 1 : la > lb ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_mount(const hsmca_store_mount *m, void *arg)
{
    hsmca_openbao *api = arg;
    char *copy;

    if (strcmp(m->type, "pki") != 0)
        return 1;
    if (api->n_mounts >= OB_MOUNTS_MAX)
        return 0;
    copy = strdup(m->name);
    if (copy == NULL)
        return 0;
    api->mounts[api->n_mounts++] = copy;
    return 1;
}

hsmca_rv ob_mounts_reload(hsmca_openbao *api)
{
    hsmca_rv rv;

    pthread_rwlock_wrlock(&api->mounts_lock);
    for (size_t i = 0; i < api->n_mounts; i++)
        free(api->mounts[i]);
    api->n_mounts = 0;
    rv = hsmca_store_mount_list(api->cfg.store, load_mount, api);
    qsort(api->mounts, api->n_mounts, sizeof(api->mounts[0]), mount_cmp);
    pthread_rwlock_unlock(&api->mounts_lock);
    return rv;
}

hsmca_rv hsmca_openbao_new(const hsmca_openbao_config *cfg, hsmca_openbao **out)
{
    hsmca_openbao *api;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    *out = NULL;
    if (cfg->ca == NULL || cfg->store == NULL || cfg->auth == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "openbao: the CA, the store and the token module are required");
    api = calloc(1, sizeof(*api));
    if (api == NULL)
        return hsmca_err(rv, "out of memory");
    api->cfg = *cfg;
    pthread_rwlock_init(&api->mounts_lock, NULL);
    pthread_mutex_init(&api->crl_lock, NULL);
    pthread_cond_init(&api->crl_cond, NULL);
    if ((api->ocsp_cache = hsmca_auth_ocsp_cache_new()) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = hsmca_http_router_new(&api->pki)) != HSMCA_OK || (rv = hsmca_http_router_new(&api->sys)) != HSMCA_OK ||
        (rv = hsmca_http_router_new(&api->token)) != HSMCA_OK || (rv = hsmca_http_router_new(&api->cert)) != HSMCA_OK)
        goto done;
    if ((rv = ob_pki_routes(api->pki, api)) != HSMCA_OK || (rv = ob_sys_routes(api->sys, api)) != HSMCA_OK ||
        (rv = ob_token_routes(api->token, api)) != HSMCA_OK || (rv = ob_cert_routes(api->cert, api)) != HSMCA_OK ||
        (rv = ob_cert_login_routes(api->cert, api)) != HSMCA_OK ||
        (rv = ob_sys_auth_routes(api->sys, api)) != HSMCA_OK)
        goto done;
    if ((rv = ob_mounts_reload(api)) != HSMCA_OK)
        goto done;
    if ((rv = ob_cert_crl_refresher_start(api)) != HSMCA_OK)
        goto done;
    *out = api;
    api = NULL;
    rv = HSMCA_OK;
done:
    hsmca_openbao_free(api);
    return rv;
}

void hsmca_openbao_free(hsmca_openbao *api)
{
    if (api == NULL)
        return;
    ob_cert_crl_refresher_stop(api);
    hsmca_http_router_free(api->pki);
    hsmca_http_router_free(api->sys);
    hsmca_http_router_free(api->token);
    hsmca_http_router_free(api->cert);
    for (size_t i = 0; i < api->n_mounts; i++)
        free(api->mounts[i]);
    pthread_rwlock_destroy(&api->mounts_lock);
    hsmca_auth_ocsp_cache_free(api->ocsp_cache);
    pthread_cond_destroy(&api->crl_cond);
    pthread_mutex_destroy(&api->crl_lock);
    free(api);
}

void hsmca_openbao_set_server(hsmca_openbao *api, hsmca_http_server *srv)
{
    atomic_store(&api->server, srv);
}
