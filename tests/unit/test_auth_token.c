/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the token side of src/auth against a real SQLite store:
 * the one-time root token, create/lookup, TTL expiry on an injected clock,
 * renewal caps, use counting down to revocation, cascading revocation,
 * the child policy rules, and that no token string ever reaches the
 * database file or an error message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hsmca/auth.h"
#include "unit_util.h"

#define T0 INT64_C(1700000000)
#define MAX_TTL 36000     /* the fixture's system max TTL: 10 h */
#define DEFAULT_TTL 3600  /* the fixture's default TTL: 1 h */

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
    hsmca_auth *a;
    _Atomic int64_t now;
    hsmca_auth_secret root_secret;
    hsmca_auth_token root;
} fixture;

static int64_t test_clock(void *arg)
{
    fixture *f = arg;
    return atomic_load(&f->now);
}

static void advance(fixture *f, int64_t secs)
{
    atomic_fetch_add(&f->now, secs);
}

static hsmca_rv open_all(fixture *f)
{
    hsmca_store_config sc = {.path = f->path};
    hsmca_auth_config ac;
    hsmca_rv rv = hsmca_store_open(&sc, &f->st);

    if (rv != HSMCA_OK)
        return rv;
    memset(&ac, 0, sizeof(ac));
    ac.store = f->st;
    ac.default_ttl = DEFAULT_TTL;
    ac.max_ttl = MAX_TTL;
    ac.clock = test_clock;
    ac.clock_arg = f;
    return hsmca_auth_open(&ac, &f->a);
}

static void close_all(fixture *f)
{
    hsmca_auth_free(f->a);
    f->a = NULL;
    hsmca_store_close(f->st);
    f->st = NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    if (unit_make_tmpdir(f->dir, sizeof(f->dir), "HSMCA_AUTH_TEST_DIR", "test_auth_token") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    atomic_init(&f->now, T0);
    if (open_all(f) != HSMCA_OK) {
        fprintf(stderr, "setup: %s\n", hsmca_err_message());
        return -1;
    }
    if (hsmca_auth_init_root(f->a, NULL, &f->root_secret, &f->root) != HSMCA_OK) {
        fprintf(stderr, "setup: init: %s\n", hsmca_err_message());
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    close_all(f);
    hsmca_auth_token_clear(&f->root);
    hsmca_auth_secret_clear(&f->root_secret);
    unit_remove_dir(f->dir);
    free(f);
    return 0;
}

/* Creates a token as caller; policies is a comma-separated list or NULL. */
static hsmca_rv create(fixture *f, const hsmca_auth_token *caller, const char *policies, int64_t ttl,
                       hsmca_auth_secret *sec, hsmca_auth_token *out)
{
    hsmca_auth_create_params p;
    hsmca_rv rv;

    hsmca_auth_create_params_init(&p);
    if (policies != NULL)
        hsmca_strlist_add_csv(&p.policies, policies);
    p.ttl = ttl;
    rv = hsmca_auth_token_create(f->a, caller, &p, sec, out, NULL);
    hsmca_auth_create_params_clear(&p);
    return rv;
}

static void assert_policies(const hsmca_auth_token *t, const char *csv)
{
    char got[512] = "";

    for (size_t i = 0; i < t->policies.n; i++) {
        strcat(got, i ? "," : "");
        strcat(got, t->policies.v[i]);
    }
    assert_string_equal(got, csv);
}

static bool is_base62(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

/* ---- the root token ---- */

static void root_token_init_only_once(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s2;
    hsmca_auth_token t = {0}, again = {0};
    bool yes = false;

    /* setup ran init: a random "s." token, root alone, never expiring */
    assert_int_equal(strlen(f->root_secret.token), 2 + 24);
    assert_memory_equal(f->root_secret.token, "s.", 2);
    assert_true(is_base62(f->root_secret.token + 2, 24));
    assert_true(f->root.root);
    assert_policies(&f->root, "root");
    assert_int_equal(f->root.expire_time, 0);
    assert_false(f->root.renewable);
    assert_true(f->root.orphan);
    assert_string_equal(f->root.path, "auth/token/root");
    assert_rv(hsmca_auth_initialized(f->a, &yes), HSMCA_OK);
    assert_true(yes);

    /* a second init is refused and hands out nothing */
    memset(&s2, 'x', sizeof(s2));
    assert_rv(hsmca_auth_init_root(f->a, NULL, &s2, &t), HSMCA_ERR_EXISTS);
    assert_detail_has("already initialised");
    assert_string_equal(s2.token, "");

    /* ... also after a restart, and after the root token was revoked
     * (OpenBao's advice is to revoke it once set up) */
    assert_rv(hsmca_auth_token_revoke(f->a, f->root.accessor, HSMCA_AUTH_REVOKE_TREE, NULL), HSMCA_OK);
    close_all(f);
    assert_rv(open_all(f), HSMCA_OK);
    assert_rv(hsmca_auth_init_root(f->a, NULL, &s2, &t), HSMCA_ERR_EXISTS);
    assert_rv(hsmca_auth_token_lookup(f->a, f->root_secret.token, 0, &t), HSMCA_ERR_NOT_FOUND);

    /* the local recovery path makes another one */
    assert_rv(hsmca_auth_root_generate(f->a, &s2, &t), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup(f->a, s2.token, 0, &again), HSMCA_OK);
    assert_string_equal(again.accessor, t.accessor);
    assert_true(again.root);
    assert_string_not_equal(s2.token, f->root_secret.token);
    hsmca_auth_secret_clear(&s2);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&again);
}

static void root_token_chosen_id_for_dev_mode(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    bool yes = true;

    /* a fresh database: dev mode passes -dev-root-token-id */
    close_all(f);
    unit_remove_dir(f->dir);
    mkdir(f->dir, 0700);
    assert_rv(open_all(f), HSMCA_OK);
    assert_rv(hsmca_auth_initialized(f->a, &yes), HSMCA_OK);
    assert_false(yes);
    assert_rv(hsmca_auth_init_root(f->a, "bad.id", &s, &t), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("'.'");
    assert_null(strstr(hsmca_err_message(), "bad.id")); /* the id is a secret: never echoed */
    assert_rv(hsmca_auth_init_root(f->a, "with space", &s, &t), HSMCA_ERR_INVALID_ARG);
    /* a refused id did not initialise anything */
    assert_rv(hsmca_auth_init_root(f->a, "devroot", &s, &t), HSMCA_OK);
    assert_string_equal(s.token, "devroot");
    hsmca_auth_token_clear(&t);
    assert_rv(hsmca_auth_token_lookup(f->a, "devroot", 0, &t), HSMCA_OK);
    assert_true(t.root);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

/* ---- create and lookup ---- */

static void create_and_lookup(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0}, l = {0};
    hsmca_strlist w = {0};
    json_t *j = NULL;

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, " Web , ops,web");
    snprintf(p.display_name, sizeof(p.display_name), "My App!");
    p.meta = json_pack("{s:s}", "team", "blue");
    p.ttl = 600;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, &w), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);

    /* root gives any policies; names are trimmed, lower-cased, unique,
     * sorted, with default added */
    assert_policies(&t, "default,ops,web");
    assert_string_equal(t.display_name, "token-My-App");
    assert_string_equal(t.parent_accessor, f->root.accessor);
    assert_false(t.orphan);
    assert_int_equal(t.creation_time, T0);
    assert_int_equal(t.expire_time, T0 + 600);
    assert_true(t.renewable);
    assert_int_equal(strlen(t.accessor), 24);
    assert_true(is_base62(t.accessor, 24));
    assert_string_not_equal(t.accessor, s.token + 2);

    /* lookup by token and by accessor give the same record */
    advance(f, 100);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &l), HSMCA_OK);
    assert_string_equal(l.accessor, t.accessor);
    assert_int_equal(l.ttl, 500);
    assert_string_equal(json_string_value(json_object_get(l.meta, "team")), "blue");
    hsmca_auth_token_clear(&l);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, t.accessor, &l), HSMCA_OK);
    assert_string_equal(l.display_name, "token-My-App");

    /* OpenBao's lookup fields */
    assert_rv(hsmca_auth_token_to_json(&l, &j), HSMCA_OK);
    assert_string_equal(json_string_value(json_object_get(j, "accessor")), t.accessor);
    assert_int_equal(json_integer_value(json_object_get(j, "ttl")), 500);
    assert_int_equal(json_integer_value(json_object_get(j, "creation_ttl")), 600);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "service");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "");
    assert_true(json_is_string(json_object_get(j, "expire_time")));
    assert_int_equal(json_array_size(json_object_get(j, "policies")), 3);
    json_decref(j);
    assert_rv(hsmca_auth_token_auth_json(&t, &s, &j), HSMCA_OK);
    assert_string_equal(json_string_value(json_object_get(j, "client_token")), s.token);
    assert_int_equal(json_integer_value(json_object_get(j, "lease_duration")), 600);
    json_decref(j);

    /* unknown, malformed and absent tokens are all the same "bad token" */
    assert_rv(hsmca_auth_token_lookup(f->a, "s.AAAAAAAAAAAAAAAAAAAAAAAA", 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("bad token");
    assert_rv(hsmca_auth_token_lookup(f->a, "", 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup(f->a, NULL, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, "not an accessor", &l), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, "AAAAAAAAAAAAAAAAAAAAAAAA", &l), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("invalid accessor");
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&l);
    hsmca_auth_secret_clear(&s);
    hsmca_strlist_clear(&w);
}

static void create_params_from_json(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_strlist w = {0};
    json_t *body;

    (void)f;
    hsmca_auth_create_params_init(&p);
    body = json_pack("{s:s, s:s, s:i, s:s, s:b, s:s, s:{s:s}, s:s, s:s}", "policies", "a, b", "ttl", "1h",
                     "num_uses", 3, "explicit_max_ttl", "2d", "renewable", 0, "display_name", "x", "meta", "k",
                     "v", "no_default_policy", "true", "bogus", "1");
    assert_rv(hsmca_auth_create_params_from_json(body, &p, &w), HSMCA_OK);
    assert_int_equal(p.policies.n, 2);
    assert_int_equal(p.ttl, 3600);
    assert_int_equal(p.explicit_max_ttl, 2 * 86400);
    assert_int_equal(p.num_uses, 3);
    assert_false(p.renewable);
    assert_true(p.no_default_policy);
    assert_string_equal(p.display_name, "x");
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "bogus"));
    json_decref(body);

    /* a bad field changes nothing and names itself */
    body = json_pack("{s:s}", "ttl", "soon");
    assert_rv(hsmca_auth_create_params_from_json(body, &p, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("ttl");
    assert_int_equal(p.ttl, 3600);
    json_decref(body);
    body = json_pack("{s:s}", "type", "batch");
    assert_rv(hsmca_auth_create_params_from_json(body, &p, NULL), HSMCA_ERR_INVALID_ARG);
    json_decref(body);
    body = json_pack("{s:[s,s]}", "policies", "a", "b");
    assert_rv(hsmca_auth_create_params_from_json(body, &p, NULL), HSMCA_OK);
    assert_int_equal(p.policies.n, 2);
    assert_int_equal(p.ttl, 0); /* a new body starts from the defaults */
    json_decref(body);
    hsmca_auth_create_params_clear(&p);
    hsmca_strlist_clear(&w);
}

static void token_from_headers(void **state)
{
    const char *t = NULL;
    size_t n = 0;

    (void)state;
    assert_rv(hsmca_auth_token_from_headers("s.abc", "Bearer s.other", &t, &n), HSMCA_OK);
    assert_string_equal(t, "s.abc");
    assert_int_equal(n, 5);
    assert_rv(hsmca_auth_token_from_headers(NULL, "Bearer s.other", &t, &n), HSMCA_OK);
    assert_string_equal(t, "s.other");
    assert_rv(hsmca_auth_token_from_headers("", "bearer   s.x", &t, NULL), HSMCA_OK);
    assert_string_equal(t, "s.x");
    assert_rv(hsmca_auth_token_from_headers(NULL, "Basic abc", &t, NULL), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_from_headers(NULL, "Bearer ", &t, NULL), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_from_headers(NULL, "Bearers.x", &t, NULL), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_from_headers(NULL, NULL, &t, NULL), HSMCA_ERR_NOT_FOUND);
}

/* ---- TTLs ---- */

static void ttl_expiry_on_the_clock(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0}, l = {0};
    hsmca_auth_decision d;
    size_t n = 9;

    assert_rv(create(f, &f->root, "default", 60, &s, &t), HSMCA_OK);
    advance(f, 59);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &l), HSMCA_OK);
    assert_int_equal(l.ttl, 1);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    advance(f, 1);
    /* at expire_time it is gone, whichever way it is asked for */
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("bad token");
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, t.accessor, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 0, NULL, NULL), HSMCA_ERR_NOT_FOUND);
    /* tidy removes it for good; the root token stays */
    assert_rv(hsmca_auth_tidy(f->a, 0, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_rv(hsmca_auth_tidy(f->a, 0, &n), HSMCA_OK);
    assert_int_equal(n, 0);
    assert_rv(hsmca_auth_token_lookup(f->a, f->root_secret.token, 0, &l), HSMCA_OK);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&l);
    hsmca_auth_secret_clear(&s);
}

static void ttl_defaults_and_caps(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    hsmca_strlist w = {0};

    /* no ttl: the default; a root token made by root: none */
    assert_rv(create(f, &f->root, "a", 0, &s, &t), HSMCA_OK);
    assert_int_equal(t.creation_ttl, DEFAULT_TTL);
    assert_rv(create(f, &f->root, NULL, 0, &s, &t), HSMCA_OK);
    assert_true(t.root);
    assert_int_equal(t.expire_time, 0);
    assert_false(t.renewable);

    /* above the system max: capped, with a warning */
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "a");
    p.ttl = MAX_TTL * 2;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, &w), HSMCA_OK);
    assert_int_equal(t.creation_ttl, MAX_TTL);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "system max TTL"));
    hsmca_strlist_clear(&w);

    /* explicit_max_ttl caps the TTL; it is itself capped by the system max */
    p.ttl = 1000;
    p.explicit_max_ttl = 300;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, &w), HSMCA_OK);
    assert_int_equal(t.creation_ttl, 300);
    assert_int_equal(t.explicit_max_ttl, 300);
    p.explicit_max_ttl = MAX_TTL * 3;
    p.ttl = 0;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, &w), HSMCA_OK);
    assert_int_equal(t.explicit_max_ttl, MAX_TTL);
    assert_int_equal(t.creation_ttl, DEFAULT_TTL);

    /* negative values are refused */
    p.num_uses = -1;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("num_uses");
    hsmca_auth_create_params_clear(&p);
    hsmca_strlist_clear(&w);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

static void child_ttl_capped_by_parent(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret ps, cs;
    hsmca_auth_token parent = {0}, child = {0}, l = {0};
    hsmca_auth_create_params p;
    hsmca_strlist w = {0};

    assert_rv(create(f, &f->root, "default,a", 100, &ps, &parent), HSMCA_OK);
    advance(f, 40);
    hsmca_auth_create_params_init(&p);
    p.ttl = 1000;
    assert_rv(hsmca_auth_token_create(f->a, &parent, &p, &cs, &child, &w), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    assert_int_equal(child.creation_ttl, 60);
    assert_int_equal(child.expire_time, parent.expire_time);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "parent"));

    /* the parent renewed to a shorter lease takes the child with it */
    assert_rv(hsmca_auth_token_renew(f->a, parent.accessor, 10, NULL, NULL), HSMCA_OK);
    advance(f, 11);
    assert_rv(hsmca_auth_token_lookup(f->a, cs.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, child.accessor, &l), HSMCA_ERR_NOT_FOUND);
    hsmca_auth_token_clear(&parent);
    hsmca_auth_token_clear(&child);
    hsmca_strlist_clear(&w);
    hsmca_auth_secret_clear(&ps);
    hsmca_auth_secret_clear(&cs);
}

static void renew_capped(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0}, r = {0};
    hsmca_strlist w = {0};

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "a");
    p.ttl = 100;
    p.explicit_max_ttl = 250;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);

    /* no increment: the creation TTL again, from now */
    advance(f, 50);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 0, &r, &w), HSMCA_OK);
    assert_int_equal(r.expire_time, T0 + 150);
    assert_int_equal(r.last_renewal_time, T0 + 50);
    assert_int_equal(w.n, 0);
    /* an increment past the explicit max is cut to what is left of it */
    advance(f, 99);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 1000, &r, &w), HSMCA_OK);
    assert_int_equal(r.expire_time, T0 + 250);
    assert_int_equal(r.lease_ttl, 101);
    assert_int_equal(w.n, 1);
    /* the renewal is durable */
    close_all(f);
    assert_rv(open_all(f), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &r), HSMCA_OK);
    assert_int_equal(r.expire_time, T0 + 250);
    /* at the explicit max it is over */
    advance(f, 101);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 10, &r, NULL), HSMCA_ERR_NOT_FOUND);

    /* the system max bounds renewals counted from creation */
    p.explicit_max_ttl = 0;
    p.ttl = 1000;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    for (int k = 1; k <= 38; k++) { /* renewed every 900 s: 1000 s leases fit until 35100 s */
        advance(f, 900);
        assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 1000, &r, NULL), HSMCA_OK);
        assert_int_equal(r.lease_ttl, 1000);
    }
    advance(f, 900);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 1000, &r, &w), HSMCA_OK);
    assert_int_equal(r.lease_ttl, 900); /* to creation + MAX_TTL exactly */
    assert_int_equal(r.expire_time, t.creation_time + MAX_TTL);
    advance(f, 900);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 1000, &r, NULL), HSMCA_ERR_NOT_FOUND);

    /* not renewable: refused, and so is a token that never expires */
    p.renewable = false;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 0, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("not renewable");
    assert_rv(hsmca_auth_token_renew(f->a, f->root.accessor, 0, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_token_renew(f->a, t.accessor, -1, &r, NULL), HSMCA_ERR_INVALID_ARG);
    hsmca_auth_create_params_clear(&p);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&r);
    hsmca_strlist_clear(&w);
    hsmca_auth_secret_clear(&s);
}

static void periodic_tokens(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s, s2;
    hsmca_auth_token t = {0}, r = {0}, plain = {0};

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "a");
    p.period = 300;
    p.ttl = 5; /* ignored: a periodic token's TTL is its period */
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    assert_int_equal(t.creation_ttl, 300);
    assert_int_equal(t.period, 300);
    /* every renewal gives the period, whatever the increment, and may go on
     * past the system max */
    for (int i = 0; i < 160; i++) {
        advance(f, 250);
        assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 10000, &r, NULL), HSMCA_OK);
        assert_int_equal(r.lease_ttl, 300);
    }
    assert_true(hsmca_auth_now(f->a) - t.creation_time > MAX_TTL);

    /* periods need root or sudo */
    assert_rv(create(f, &f->root, "default,a", 0, &s2, &plain), HSMCA_OK);
    assert_rv(hsmca_auth_token_create(f->a, &plain, &p, &s, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("periodic");
    hsmca_auth_create_params_clear(&p);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&r);
    hsmca_auth_token_clear(&plain);
    hsmca_auth_secret_clear(&s);
    hsmca_auth_secret_clear(&s2);
}

/* ---- uses ---- */

static void num_uses_count_down_to_revocation(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s, cs;
    hsmca_auth_token t = {0}, l = {0}, child = {0};
    hsmca_auth_decision d;

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "default");
    p.num_uses = 4;
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    assert_int_equal(t.num_uses, 4);

    /* a plain lookup does not count */
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &l), HSMCA_OK);
    assert_int_equal(l.num_uses, 4);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, HSMCA_AUTH_LOOKUP_USE, &l), HSMCA_OK);
    assert_int_equal(l.num_uses, 3);
    /* a denied request does not count; an allowed one does */
    assert_rv(hsmca_auth_authorize(f->a, s.token, "pki/issue/web", HSMCA_CAP_UPDATE, 0, &d, &l), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_POLICY);
    assert_int_equal(l.num_uses, 3);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, &l), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_int_equal(l.num_uses, 2);

    /* the count is durable */
    close_all(f);
    assert_rv(open_all(f), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, t.accessor, &l), HSMCA_OK);
    assert_int_equal(l.num_uses, 2);

    /* a limited-use token cannot make children (OpenBao) */
    hsmca_auth_create_params_init(&p);
    assert_rv(hsmca_auth_token_create(f->a, &l, &p, &cs, &child, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("restricted use");
    hsmca_auth_create_params_clear(&p);

    assert_rv(hsmca_auth_token_lookup(f->a, s.token, HSMCA_AUTH_LOOKUP_USE, &l), HSMCA_OK);
    assert_int_equal(l.num_uses, 1);
    /* the last use is served, then the token is revoked */
    assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, &l), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, t.accessor, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "auth/token/lookup-self", HSMCA_CAP_READ, 0, &d, &l), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    hsmca_auth_token_clear(&t);
    hsmca_auth_token_clear(&l);
    hsmca_auth_secret_clear(&s);
}

/* ---- revocation ---- */

static void revoke_cascades_to_children_not_orphans(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret sa, sb, sc, so, sd;
    hsmca_auth_token a = {0}, b = {0}, c = {0}, o = {0}, d = {0}, l = {0};
    size_t n = 0;

    /* root -> a -> b -> c, a -> o (orphan), root -> d (sibling of a) */
    assert_rv(create(f, &f->root, "default,x", 0, &sa, &a), HSMCA_OK);
    assert_rv(create(f, &a, NULL, 0, &sb, &b), HSMCA_OK);
    assert_rv(create(f, &b, NULL, 0, &sc, &c), HSMCA_OK);
    assert_rv(create(f, &f->root, "default", 0, &sd, &d), HSMCA_OK);
    assert_string_equal(c.parent_accessor, b.accessor);
    assert_int_equal(c.depth, 3);
    hsmca_auth_create_params_init(&p);
    p.orphan = true; /* auth/token/create-orphan: no sudo needed */
    p.path = "auth/token/create-orphan";
    assert_rv(hsmca_auth_token_create(f->a, &a, &p, &so, &o, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    assert_true(o.orphan);
    assert_string_equal(o.parent_accessor, "");
    assert_policies(&o, "default,x");

    assert_rv(hsmca_auth_token_revoke(f->a, a.accessor, HSMCA_AUTH_REVOKE_TREE, &n), HSMCA_OK);
    assert_int_equal(n, 3);
    assert_rv(hsmca_auth_token_lookup(f->a, sa.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup(f->a, sb.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup(f->a, sc.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, c.accessor, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup(f->a, so.token, 0, &l), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup(f->a, sd.token, 0, &l), HSMCA_OK);
    assert_rv(hsmca_auth_token_lookup(f->a, f->root_secret.token, 0, &l), HSMCA_OK);
    /* revoking what is gone is not an error (OpenBao answers 204) */
    assert_rv(hsmca_auth_token_revoke(f->a, a.accessor, HSMCA_AUTH_REVOKE_TREE, &n), HSMCA_OK);
    assert_int_equal(n, 0);
    /* a revoked parent can no longer create */
    hsmca_auth_create_params_init(&p);
    assert_rv(hsmca_auth_token_create(f->a, &a, &p, &sb, &b, NULL), HSMCA_ERR_NOT_FOUND);
    hsmca_auth_create_params_clear(&p);

    /* revoke-orphan: d goes, its child stays as an orphan */
    assert_rv(create(f, &d, NULL, 0, &sb, &b), HSMCA_OK);
    assert_rv(create(f, &b, NULL, 0, &sc, &c), HSMCA_OK);
    assert_rv(hsmca_auth_token_revoke(f->a, d.accessor, HSMCA_AUTH_REVOKE_ORPHAN, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_rv(hsmca_auth_token_lookup(f->a, sd.token, 0, &l), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_auth_token_lookup(f->a, sb.token, 0, &l), HSMCA_OK);
    assert_true(l.orphan);
    assert_string_equal(l.parent_accessor, "");
    assert_rv(hsmca_auth_token_lookup(f->a, sc.token, 0, &l), HSMCA_OK);
    /* and the former child's own subtree still revokes with it */
    assert_rv(hsmca_auth_token_revoke(f->a, b.accessor, HSMCA_AUTH_REVOKE_TREE, &n), HSMCA_OK);
    assert_int_equal(n, 2);
    assert_rv(hsmca_auth_token_lookup(f->a, sc.token, 0, &l), HSMCA_ERR_NOT_FOUND);

    assert_rv(hsmca_auth_token_revoke(f->a, "../etc", HSMCA_AUTH_REVOKE_TREE, &n), HSMCA_ERR_INVALID_ARG);
    hsmca_auth_token_clear(&a);
    hsmca_auth_token_clear(&b);
    hsmca_auth_token_clear(&c);
    hsmca_auth_token_clear(&o);
    hsmca_auth_token_clear(&d);
    hsmca_auth_token_clear(&l);
    hsmca_auth_secret_clear(&sa);
    hsmca_auth_secret_clear(&sb);
    hsmca_auth_secret_clear(&sc);
    hsmca_auth_secret_clear(&so);
    hsmca_auth_secret_clear(&sd);
}

static void revoke_large_tree(void **state)
{
    fixture *f = *state;
    enum { FAN = 40 };
    hsmca_auth_secret s;
    hsmca_auth_token top = {0}, kids[FAN], t = {0};
    size_t n = 0;
    int live = 0;

    /* 1 + 40 + 40*20 = 841 tokens: more than one commit of removals */
    memset(kids, 0, sizeof(kids));
    assert_rv(create(f, &f->root, "default", 0, &s, &top), HSMCA_OK);
    for (int i = 0; i < FAN; i++) {
        assert_rv(create(f, &top, NULL, 0, &s, &kids[i]), HSMCA_OK);
        for (int j = 0; j < 20; j++)
            assert_rv(create(f, &kids[i], NULL, 0, &s, &t), HSMCA_OK);
    }
    assert_rv(hsmca_auth_token_revoke(f->a, top.accessor, HSMCA_AUTH_REVOKE_TREE, &n), HSMCA_OK);
    assert_int_equal(n, 1 + FAN + FAN * 20);
    for (int i = 0; i < FAN; i++) {
        live += hsmca_auth_token_lookup_accessor(f->a, kids[i].accessor, &t) == HSMCA_OK;
        hsmca_auth_token_clear(&kids[i]);
    }
    assert_int_equal(live, 0);
    hsmca_auth_token_clear(&top);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

static int count_cb(const char *accessor, void *arg)
{
    (void)accessor;
    (*(int *)arg)++;
    return 1;
}

static void list_accessors(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    int n = 0;

    assert_rv(create(f, &f->root, "default", 10, &s, &t), HSMCA_OK);
    assert_rv(create(f, &f->root, "default", 100, &s, &t), HSMCA_OK);
    assert_rv(hsmca_auth_token_list_accessors(f->a, count_cb, &n), HSMCA_OK);
    assert_int_equal(n, 3);
    advance(f, 10); /* the expired one is not listed */
    n = 0;
    assert_rv(hsmca_auth_token_list_accessors(f->a, count_cb, &n), HSMCA_OK);
    assert_int_equal(n, 2);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

/* ---- what a parent may give ---- */

static void child_policy_subset_rule(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s, ps;
    hsmca_auth_token parent = {0}, nodef = {0}, admin = {0}, t = {0};

    assert_rv(create(f, &f->root, "a,b", 0, &ps, &parent), HSMCA_OK);
    assert_policies(&parent, "a,b,default");

    /* a subset is fine, and default comes along */
    assert_rv(create(f, &parent, "a", 0, &s, &t), HSMCA_OK);
    assert_policies(&t, "a,default");
    /* nothing asked: the parent's */
    assert_rv(create(f, &parent, NULL, 0, &s, &t), HSMCA_OK);
    assert_policies(&t, "a,b,default");
    /* anything else is refused */
    assert_rv(create(f, &parent, "a,c", 0, &s, &t), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("subset");
    assert_rv(create(f, &parent, "root", 0, &s, &t), HSMCA_ERR_INVALID_ARG);
    assert_rv(create(f, &parent, "A , B", 0, &s, &t), HSMCA_OK); /* names are case-insensitive */
    assert_policies(&t, "a,b,default");

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "a");
    p.no_default_policy = true;
    assert_rv(hsmca_auth_token_create(f->a, &parent, &p, &s, &nodef, NULL), HSMCA_OK);
    assert_policies(&nodef, "a");
    /* a parent without default cannot hand it out */
    assert_rv(create(f, &nodef, "a", 0, &s, &t), HSMCA_OK);
    assert_policies(&t, "a");
    assert_rv(create(f, &nodef, "a,default", 0, &s, &t), HSMCA_ERR_INVALID_ARG);
    /* only root chooses ids; orphans and periods need sudo */
    snprintf(p.id, sizeof(p.id), "chosen-id");
    assert_rv(hsmca_auth_token_create(f->a, &parent, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("root");
    assert_null(strstr(hsmca_err_message(), "chosen-id"));
    p.id[0] = '\0';
    p.no_parent = true;
    assert_rv(hsmca_auth_token_create(f->a, &parent, &p, &s, &t, NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("orphan");
    hsmca_auth_create_params_clear(&p);

    /* sudo on auth/token/create lifts the subset rule but not the root one */
    assert_rv(hsmca_auth_policy_put(f->a, "token-admin",
                                    "{\"path\": {\"auth/token/create\": {\"capabilities\": [\"update\", \"sudo\"]}}}",
                                    -1),
              HSMCA_OK);
    assert_rv(create(f, &f->root, "token-admin", 0, &s, &admin), HSMCA_OK);
    assert_rv(create(f, &admin, "anything,else", 0, &s, &t), HSMCA_OK);
    assert_policies(&t, "anything,default,else");
    assert_rv(create(f, &admin, "root", 0, &s, &t), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("root");
    hsmca_auth_create_params_init(&p);
    p.no_parent = true;
    assert_rv(hsmca_auth_token_create(f->a, &admin, &p, &s, &t, NULL), HSMCA_OK);
    assert_true(t.orphan);
    hsmca_auth_create_params_clear(&p);

    /* root chooses an id; a taken one is refused without being echoed */
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "a");
    snprintf(p.id, sizeof(p.id), "my-chosen-token");
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    assert_string_equal(s.token, "my-chosen-token");
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_ERR_EXISTS);
    assert_null(strstr(hsmca_err_message(), "my-chosen-token"));
    assert_string_equal(s.token, "");
    hsmca_auth_create_params_clear(&p);

    hsmca_auth_token_clear(&parent);
    hsmca_auth_token_clear(&nodef);
    hsmca_auth_token_clear(&admin);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
    hsmca_auth_secret_clear(&ps);
}

/* ---- secrets stay secret ---- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    *len = 0;
    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n)
            *len = (size_t)n;
    }
    fclose(fp);
    return buf;
}

static bool contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    for (size_t i = 0; m > 0 && i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    }
    return false;
}

static void hash_hex(const char *token, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void only_hashes_are_stored(void **state)
{
    fixture *f = *state;
    enum { N = 20 };
    hsmca_auth_secret s[N];
    hsmca_auth_token t = {0};
    hsmca_auth_create_params p;
    char tokens[N + 1][HSMCA_AUTH_TOKEN_MAX + 1], hex[65];
    const char *suffixes[] = {"", "-wal", "-journal"};
    size_t total = 0;

    for (int i = 0; i < N; i++) {
        hsmca_auth_create_params_init(&p);
        hsmca_strlist_add_csv(&p.policies, "a");
        p.num_uses = i % 2 ? 5 : 0;
        if (i == 0) /* a chosen id too */
            snprintf(p.id, sizeof(p.id), "ChosenTokenValue0123456789");
        assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s[i], &t, NULL), HSMCA_OK);
        hsmca_auth_create_params_clear(&p);
        memcpy(tokens[i], s[i].token, sizeof(tokens[i]));
        /* used, renewed: every write path of a token document */
        assert_rv(hsmca_auth_token_lookup(f->a, s[i].token, HSMCA_AUTH_LOOKUP_USE, &t), HSMCA_OK);
        assert_rv(hsmca_auth_token_renew(f->a, t.accessor, 50, &t, NULL), HSMCA_OK);
        hsmca_auth_secret_clear(&s[i]);
    }
    memcpy(tokens[N], f->root_secret.token, sizeof(tokens[N]));

    /* with the store open (WAL present) and after it is closed */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            close_all(f);
        for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
            char path[700];
            size_t len;
            unsigned char *bytes;

            snprintf(path, sizeof(path), "%s%s", f->path, suffixes[k]);
            bytes = read_file(path, &len);
            if (bytes == NULL)
                continue;
            total += len;
            for (int i = 0; i <= N; i++) {
                if (contains(bytes, len, tokens[i]))
                    fail_msg("token %d found in %s", i, path);
                /* the body of a generated token without its prefix, too */
                if (strncmp(tokens[i], "s.", 2) == 0 && contains(bytes, len, tokens[i] + 2))
                    fail_msg("token body %d found in %s", i, path);
            }
            free(bytes);
        }
    }
    assert_true(total > 0);
    /* the test looks at the right bytes: the hashes are there */
    {
        size_t len;
        unsigned char *bytes = read_file(f->path, &len);

        assert_non_null(bytes);
        for (int i = 0; i <= N; i++) {
            hash_hex(tokens[i], hex);
            if (!contains(bytes, len, hex))
                fail_msg("hash of token %d not found in the database", i);
        }
        free(bytes);
    }
    assert_rv(open_all(f), HSMCA_OK);
    hsmca_auth_token_clear(&t);
}

static void errors_never_name_tokens_or_hashes(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    hsmca_auth_decision d;
    char hex[65];
    const char *probes[] = {"s.NoSuchTokenNoSuchToken12", "short", "x", "s.AAAAAAAAAAAAAAAAAAAAAAAA"};

    assert_rv(create(f, &f->root, "default", 60, &s, &t), HSMCA_OK);
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        assert_rv(hsmca_auth_token_lookup(f->a, probes[i], HSMCA_AUTH_LOOKUP_USE, &t), HSMCA_ERR_NOT_FOUND);
        hash_hex(probes[i], hex);
        assert_null(strstr(hsmca_err_message(), probes[i]));
        assert_null(strstr(hsmca_err_message(), hex));
        assert_rv(hsmca_auth_authorize(f->a, probes[i], "pki/x", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
        assert_null(strstr(hsmca_err_message(), probes[i]));
    }
    /* an expired real token: the same words */
    advance(f, 61);
    assert_rv(hsmca_auth_token_lookup(f->a, s.token, 0, &t), HSMCA_ERR_NOT_FOUND);
    hash_hex(s.token, hex);
    assert_string_equal(hsmca_err_message(), "bad token");
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

static void authorize_denies_without_a_good_token(void **state)
{
    fixture *f = *state;
    hsmca_auth_decision d = HSMCA_AUTH_ALLOW;
    hsmca_auth_token t = {0};
    char longtok[HSMCA_AUTH_TOKEN_MAX + 10];

    memset(longtok, 'a', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    assert_rv(hsmca_auth_authorize(f->a, NULL, "pki/x", HSMCA_CAP_READ, 0, &d, &t), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    assert_rv(hsmca_auth_authorize(f->a, "", "pki/x", HSMCA_CAP_READ, 0, &d, &t), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    assert_rv(hsmca_auth_authorize(f->a, longtok, "pki/x", HSMCA_CAP_READ, 0, &d, &t), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_TOKEN);
    /* the root token may do anything, sudo included */
    assert_rv(hsmca_auth_authorize(f->a, f->root_secret.token, "sys/anything", HSMCA_CAP_DELETE,
                                   HSMCA_AUTH_NEED_SUDO, &d, &t),
              HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_string_equal(t.accessor, f->root.accessor);
    /* a capability that is not one operation is a caller bug: denied */
    assert_rv(hsmca_auth_authorize(f->a, f->root_secret.token, "x", HSMCA_CAP_READ | HSMCA_CAP_UPDATE, 0, &d, &t),
              HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_POLICY);
    hsmca_auth_token_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(root_token_init_only_once, setup, teardown),
        cmocka_unit_test_setup_teardown(root_token_chosen_id_for_dev_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(create_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(create_params_from_json, setup, teardown),
        cmocka_unit_test_setup_teardown(token_from_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(ttl_expiry_on_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(ttl_defaults_and_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(child_ttl_capped_by_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(renew_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(periodic_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(num_uses_count_down_to_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_cascades_to_children_not_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_large_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(list_accessors, setup, teardown),
        cmocka_unit_test_setup_teardown(child_policy_subset_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(only_hashes_are_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_never_name_tokens_or_hashes, setup, teardown),
        cmocka_unit_test_setup_teardown(authorize_denies_without_a_good_token, setup, teardown),
    };
    return cmocka_run_group_tests_name("auth_token", tests, NULL, NULL);
}
