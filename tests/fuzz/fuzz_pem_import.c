/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for PEM bundle import (hsmca_ca_import_bundle, behind
 * config/ca and issuers/import/bundle): the input is the pem_bundle text,
 * imported with keys allowed into a mount on the real SoftHSM2 token
 * (fuzz_env.c), so accepted keys really go into the token. Any input must
 * be imported or refused cleanly; a refusal leaves the mount as it was (no
 * new issuer, no new key); whatever was imported can be deleted again,
 * which also keeps the token small across millions of runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fuzz_env env;

static int count_cb(const void *x, void *arg)
{
    (void)x;
    (*(size_t *)arg)++;
    return 1;
}

static int count_issuer(const hsmca_ca_issuer *i, void *arg)
{
    return count_cb(i, arg);
}

static int count_key(const hsmca_ca_key *k, void *arg)
{
    return count_cb(k, arg);
}

/* Issuers and keys of the mount. */
static void census(size_t *issuers, size_t *keys)
{
    *issuers = *keys = 0;
    if (hsmca_ca_issuer_list(env.ca, "pki", count_issuer, issuers) != HSMCA_OK ||
        hsmca_ca_key_list(env.ca, "pki", count_key, keys) != HSMCA_OK) {
        fprintf(stderr, "fuzz_pem_import: cannot list the mount: %s\n", hsmca_err_message());
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hsmca_ca_params p;
    hsmca_ca_result r;

    fuzz_ca_open(&env, "pki");
    /* An issuer of the mount's own, so bundles meet existing issuers and
     * keys as well as new ones. */
    hsmca_ca_params_init(&p);
    p.common_name = "Fuzz Root";
    p.key_type = "ec";
    p.key_bits = 256;
    p.ttl = 86400 * 365;
    memset(&r, 0, sizeof(r));
    if (hsmca_ca_generate_root(env.ca, "pki", &p, &r) != HSMCA_OK) {
        fprintf(stderr, "fuzz_pem_import: root: %s\n", hsmca_err_message());
        abort();
    }
    hsmca_ca_result_clear(&r);
    hsmca_ca_params_clear(&p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsmca_ca_result r;
    size_t issuers0, keys0, issuers1, keys1;
    hsmca_rv rv;

    census(&issuers0, &keys0);
    memset(&r, 0, sizeof(r));
    rv = hsmca_ca_import_bundle(env.ca, "pki", (const char *)data, size, true, &r);
    if (rv != HSMCA_OK) {
        census(&issuers1, &keys1);
        if (issuers1 != issuers0 || keys1 != keys0) {
            fprintf(stderr, "fuzz_pem_import: refused (%s) but the mount changed: issuers %zu -> %zu, keys %zu -> %zu\n",
                    hsmca_err_message(), issuers0, issuers1, keys0, keys1);
            abort();
        }
        return 0;
    }
    if (r.imported_issuers.n + r.existing_issuers.n + r.imported_keys.n + r.existing_keys.n == 0) {
        fprintf(stderr, "fuzz_pem_import: accepted a bundle that imported nothing and matched nothing\n");
        abort();
    }
    for (size_t i = 0; i < r.imported_issuers.n; i++)
        if (hsmca_ca_issuer_delete(env.ca, "pki", r.imported_issuers.v[i]) != HSMCA_OK) {
            fprintf(stderr, "fuzz_pem_import: imported issuer %s cannot be deleted: %s\n", r.imported_issuers.v[i],
                    hsmca_err_message());
            abort();
        }
    for (size_t i = 0; i < r.imported_keys.n; i++)
        if (hsmca_ca_key_delete(env.ca, "pki", r.imported_keys.v[i]) != HSMCA_OK) {
            fprintf(stderr, "fuzz_pem_import: imported key %s cannot be deleted: %s\n", r.imported_keys.v[i],
                    hsmca_err_message());
            abort();
        }
    census(&issuers1, &keys1);
    if (issuers1 != issuers0 || keys1 != keys0) {
        fprintf(stderr, "fuzz_pem_import: after deleting what was imported: issuers %zu -> %zu, keys %zu -> %zu\n",
                issuers0, issuers1, keys0, keys1);
        abort();
    }
    hsmca_ca_result_clear(&r);
    return 0;
}
