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

/* CIDR blocks of token_bound_cidrs: prefix boundaries, IPv6, malformed text. */
static void cidr_blocks(void **state)
{
    (void)state;
    assert_true(hsmca_auth_cidr_contains("127.0.0.2/32", "127.0.0.2"));
    assert_false(hsmca_auth_cidr_contains("127.0.0.2/32", "127.0.0.1"));
    assert_true(hsmca_auth_cidr_contains("10.1.0.0/15", "10.0.255.1"));
    assert_false(hsmca_auth_cidr_contains("10.1.0.0/16", "10.0.255.1"));
    assert_true(hsmca_auth_cidr_contains("192.168.1.0/25", "192.168.1.127"));
    assert_false(hsmca_auth_cidr_contains("192.168.1.0/25", "192.168.1.128"));
    assert_true(hsmca_auth_cidr_contains("0.0.0.0/0", "8.8.8.8"));
    assert_true(hsmca_auth_cidr_contains("127.0.0.1", "127.0.0.1"));     /* bare address: /32 */
    assert_true(hsmca_auth_cidr_contains("127.0.0.0/8", "::ffff:127.9.9.9")); /* v4 on a dual-stack socket */
    assert_true(hsmca_auth_cidr_contains("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(hsmca_auth_cidr_contains("2001:db8::/32", "2001:db9::1"));
    assert_false(hsmca_auth_cidr_contains("2001:db8::/32", "127.0.0.1"));  /* other family */
    assert_false(hsmca_auth_cidr_contains("127.0.0.0/8", NULL));          /* unknown address */
    assert_false(hsmca_auth_cidr_valid("127.0.0.0/33"));
    assert_false(hsmca_auth_cidr_valid("127.0.0.0/"));
    assert_false(hsmca_auth_cidr_valid("127.0.0.0/8x"));
    assert_false(hsmca_auth_cidr_valid("/8"));
    assert_false(hsmca_auth_cidr_valid("example.com/8"));
    assert_true(hsmca_auth_cidr_valid("::1/128"));
}

/* A login token bound to CIDRs: stored with the token, refused from
 * elsewhere or from an unknown address without spending a use. */
static void bound_token(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t, looked;
    hsmca_auth_decision d;

    memset(&t, 0, sizeof(t));
    memset(&looked, 0, sizeof(looked));
    hsmca_auth_create_params_init(&p);
    p.login_path = "auth/cert/login";
    p.num_uses = 2;
    hsmca_strlist_add_csv(&p.bound_cidrs, "127.0.0.2/32,10.0.0.0/8");
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &looked), HSMCA_OK);
    assert_int_equal(looked.bound_cidrs.n, 2);
    for (int i = 0; i < 3; i++) {
        assert_rv(hsmca_auth_authorize_from(f->a, s.token, "127.0.0.1", "auth/token/lookup-self", HSMCA_CAP_READ,
                                            0, &d, NULL),
                  HSMCA_OK);
        assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
        assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, NULL),
                  HSMCA_OK);
        assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    }
    assert_rv(hsmca_auth_authorize_from(f->a, s.token, "10.2.3.4", "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d,
                                        NULL),
              HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_rv(hsmca_auth_authorize_from(f->a, s.token, "127.0.0.2", "auth/token/lookup-self", HSMCA_CAP_READ, 0,
                                        &d, NULL),
              HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW); /* the second of two uses: the refusals spent none */
    hsmca_auth_secret_clear(&s);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&looked);
    hsmca_auth_create_params_clear(&p);

    /* a block that is not one is refused at creation */
    hsmca_auth_create_params_init(&p);
    p.login_path = "auth/cert/login";
    hsmca_strlist_add_csv(&p.bound_cidrs, "127.0.0.300/32");
    assert_rv(hsmca_auth_token_create_login(f->a, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_auth_create_params_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_dns),
        cmocka_unit_test(glob_plain),
        cmocka_unit_test_setup_teardown(login_token, setup, teardown),
        cmocka_unit_test(cidr_blocks),
        cmocka_unit_test_setup_teardown(bound_token, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
