/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the TLS certificate auth method's pieces in src/auth: the
 * glob rules (whole-name, '*' within one DNS label), and tokens made for a
 * login (the role's policies, never root, orphans, the login's path). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/auth.h"
#include "hsmca/auth_cert.h"
#include "hsmca/store.h"
#include "unit_util.h"

static void glob_dns(void **state)
{
    (void)state;
    assert_true(hsmca_auth_cert_glob("*.example.com", "a.example.com", true));
    assert_true(hsmca_auth_cert_glob("*.example.com", "A.EXAMPLE.com", true));
    /* '*' never crosses a label: the wildcard stays where it is written */
    assert_false(hsmca_auth_cert_glob("*.example.com", "a.b.example.com", true));
    assert_false(hsmca_auth_cert_glob("a*.example.com", "ab.c.example.com", true));
    assert_true(hsmca_auth_cert_glob("a*.example.com", "abc.example.com", true));
    /* whole name only: no prefix or suffix matches */
    assert_false(hsmca_auth_cert_glob("example.com", "example.com.evil", true));
    assert_false(hsmca_auth_cert_glob("example.com", "evil.example.com", true));
    assert_false(hsmca_auth_cert_glob("a.example.com", "a.example.co", true));
    assert_true(hsmca_auth_cert_glob("*", "anything", false));
    assert_false(hsmca_auth_cert_glob("*", "a.b", true));
}

static void glob_plain(void **state)
{
    (void)state;
    assert_true(hsmca_auth_cert_glob("spiffe://example/*", "spiffe://example/a/b", false));
    assert_false(hsmca_auth_cert_glob("spiffe://example/*", "spiffe://other/a", false));
    /* case matters outside DNS names, as in OpenBao */
    assert_false(hsmca_auth_cert_glob("Ops", "ops", false));
    assert_true(hsmca_auth_cert_glob("prod-*-eu", "prod-x-eu", false));
    assert_false(hsmca_auth_cert_glob("prod-*-eu", "prod-x-us", false));
    assert_true(hsmca_auth_cert_glob("**", "", false));
    assert_false(hsmca_auth_cert_glob("", "x", false));
}

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
    hsmca_auth *a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hsmca_store_config sc;
    hsmca_auth_config ac;

    if (f == NULL || unit_make_tmpdir(f->dir, sizeof(f->dir), "HSMCA_AUTH_TEST_DIR", "test_auth_cert") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    memset(&sc, 0, sizeof(sc));
    sc.path = f->path;
    memset(&ac, 0, sizeof(ac));
    if (hsmca_store_open(&sc, &f->st) != HSMCA_OK)
        return -1;
    ac.store = f->st;
    if (hsmca_auth_open(&ac, &f->a) != HSMCA_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    hsmca_auth_free(f->a);
    hsmca_store_close(f->st);
    unit_remove_dir(f->dir);
    free(f);
    return 0;
}

static void login_token(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t, looked;

    memset(&t, 0, sizeof(t));
    memset(&looked, 0, sizeof(looked));
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "web,ops");
    p.ttl = 600;
    p.login_path = "auth/cert/login";
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_OK);
    assert_string_equal(t.path, "auth/cert/login");
    assert_true(t.orphan);
    assert_true(t.renewable);
    assert_int_equal(t.creation_ttl, 600);
    assert_true(hsmca_strlist_contains(&t.policies, "web") && hsmca_strlist_contains(&t.policies, "ops") &&
                hsmca_strlist_contains(&t.policies, "default"));
    /* an ordinary token: found by its string (stored hashed) */
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &looked), HSMCA_OK);
    assert_string_equal(looked.accessor, t.accessor);
    hsmca_auth_secret_clear(&s);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&looked);
    hsmca_auth_create_params_clear(&p);

    /* a role can never hand out root */
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "root");
    p.login_path = "auth/cert/login";
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_auth_create_params_clear(&p);

    /* no_default_policy with no policies: nothing to give */
    hsmca_auth_create_params_init(&p);
    p.no_default_policy = true;
    p.login_path = "auth/cert/login";
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    /* and a login path is required */
    p.no_default_policy = false;
    p.login_path = NULL;
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_auth_create_params_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_dns),
        cmocka_unit_test(glob_plain),
        cmocka_unit_test_setup_teardown(login_token, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
