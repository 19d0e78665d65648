/* SPDX-License-Identifier: Apache-2.0 */
/* Throwaway directories and a CA stack on a test token for the unit tests
 * (unit_util.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/provider.h>

#include "hsmca/ca.h"
#include "hsmca/keyslot.h"
#include "hsmca/p11.h"
#include "hsmca/provider.h"
#include "hsmca/store.h"
#include "unit_util.h"

void unit_mkdir_p(const char *path)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0700);
        *p = '/';
    }
    mkdir(buf, 0700);
}

void unit_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1200];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int unit_make_tmpdir(char *out, size_t size, const char *env_var, const char *name)
{
    const char *base = env_var != NULL ? getenv(env_var) : NULL;
    int n;

    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    unit_mkdir_p(base);
    n = snprintf(out, size, "%s/%s.XXXXXX", base, name);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return mkdtemp(out) != NULL ? 0 : -1;
}

int unit_ca_open(unit_ca_env *e, const char *mount)
{
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    const char *what = "token";

    memset(e, 0, sizeof(*e));
    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    memset(&sc, 0, sizeof(sc));
    sc.path = getenv("HSMCA_TEST_DB");
    if (hsmca_p11_token_open(&pc, &e->tok) != HSMCA_OK || (what = "key slots", false) ||
        hsmca_keyslot_new(e->tok, &e->ks) != HSMCA_OK || (what = "provider", false) ||
        hsmca_provider_load(NULL, &e->prov) != HSMCA_OK || (what = "store", false) ||
        hsmca_store_open(&sc, &e->st) != HSMCA_OK)
        goto fail;
    memset(&cc, 0, sizeof(cc));
    cc.store = e->st;
    cc.keyslot = e->ks;
    cc.max_ttl = 10 * 365 * 86400LL;
    what = "CA";
    if (hsmca_ca_new(&cc, &e->ca) != HSMCA_OK || (what = "mount", false) ||
        hsmca_ca_mount_enable(e->ca, mount) != HSMCA_OK)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "unit_ca_open: %s: %s\n", what, hsmca_err_message());
    return -1;
}

void unit_ca_close(unit_ca_env *e)
{
    hsmca_ca_free(e->ca);
    hsmca_store_close(e->st);
    OSSL_PROVIDER_unload(e->prov);
    hsmca_keyslot_free(e->ks);
    hsmca_p11_token_free(e->tok);
    memset(e, 0, sizeof(*e));
}
