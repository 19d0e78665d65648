/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca init --db PATH`: makes the root token of a new appliance database
 * (before the daemon's first start, which would otherwise do it), prints it
 * once and stores only its hash. Run it while hsmcad is stopped: token
 * writes belong to one process at a time. */
#include <stdio.h>
#include <string.h>

#include "hsmca/auth.h"
#include "hsmca/store.h"
#include "init.h"

hsmca_rv hsmca_cli_init(int argc, char **argv)
{
    const char *db = NULL;
    hsmca_store_config sc;
    hsmca_store *st = NULL;
    hsmca_auth_config ac;
    hsmca_auth *auth = NULL;
    hsmca_auth_secret secret;
    bool done = false;
    hsmca_rv rv;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "usage: hsmca init --db PATH");
    }
    if (db == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "usage: hsmca init --db PATH (the daemon's storage.path)");
    memset(&secret, 0, sizeof(secret));
    memset(&sc, 0, sizeof(sc));
    sc.path = db;
    if ((rv = hsmca_store_open(&sc, &st)) != HSMCA_OK)
        return rv;
    memset(&ac, 0, sizeof(ac));
    ac.store = st;
    if ((rv = hsmca_auth_open(&ac, &auth)) != HSMCA_OK)
        goto out;
    if ((rv = hsmca_auth_initialized(auth, &done)) != HSMCA_OK)
        goto out;
    if (done) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "database '%s' already had its root token made; it is never made twice "
                                         "(use an existing root or sudo token to make more tokens)",
                       db);
        goto out;
    }
    if ((rv = hsmca_auth_init_root(auth, NULL, &secret, NULL)) != HSMCA_OK)
        goto out;
    printf("Root Token: %s\n"
           "It is shown this once and stored only as a hash. Keep it safe; revoke it once you have made "
           "operators' tokens.\n",
           secret.token);
    fflush(stdout);
out:
    hsmca_auth_secret_clear(&secret);
    hsmca_auth_free(auth);
    hsmca_store_close(st);
    return rv;
}
