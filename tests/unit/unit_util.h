/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the cmocka unit tests share: hsmca_rv assertions and throwaway
 * directories for the stores they open. Include after <cmocka.h>. */
#ifndef HSMCA_TESTS_UNIT_UTIL_H
#define HSMCA_TESTS_UNIT_UTIL_H

#include <stddef.h>
#include <string.h>

#include "hsmca/rv.h"

/* expr must give want; on failure the message names both and the error
 * detail. */
#define assert_rv(expr, want)                                                                        \
    do {                                                                                             \
        hsmca_rv got_ = (expr);                                                                      \
        if (got_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #expr, hsmca_rv_name(got_), hsmca_err_message(),    \
                     hsmca_rv_name(want));                                                           \
    } while (0)

/* The last error's detail mentions text (messages name the field). */
#define assert_detail_has(text)                                                                      \
    do {                                                                                             \
        const char *m_ = hsmca_err_message();                                                        \
        if (strstr(m_, (text)) == NULL)                                                              \
            fail_msg("error detail '%s' does not mention '%s'", m_, (text));                         \
    } while (0)

/* mkdir -p with mode 0700; errors are left to the caller's next step. */
void unit_mkdir_p(const char *path);
/* Removes dir and the files directly in it (the tests make no subdirs). */
void unit_remove_dir(const char *dir);
/* A new directory NAME.XXXXXX under $env_var, else $TMPDIR, else /tmp, made
 * (with its parents) and written to out. 0, or -1. */
int unit_make_tmpdir(char *out, size_t size, const char *env_var, const char *name);

/* A CA stack on the test's token and database, from the environment the
 * wrapper scripts set (HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN,
 * HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB): token, key slots, the provider, the
 * store and a CA with `mount` enabled (system max TTL 10 years). */
typedef struct unit_ca_env {
    struct hsmca_p11_token *tok;
    struct hsmca_keyslot *ks;
    struct ossl_provider_st *prov;
    struct hsmca_store *st;
    struct hsmca_ca *ca;
} unit_ca_env;
/* 0, or -1 with what failed on stderr. */
int unit_ca_open(unit_ca_env *e, const char *mount);
void unit_ca_close(unit_ca_env *e);

#endif
