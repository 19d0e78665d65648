/* SPDX-License-Identifier: Apache-2.0 */
/* src/auth from many threads at once, as the daemon calls it: uses of a
 * limited-use token are counted exactly, children created while their
 * parent is revoked never survive it, and requests keep being answered
 * while policies are rewritten. Run under ThreadSanitizer by the TSan stage
 * (label "concurrency"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsmca/auth.h"
#include "unit_util.h"

#define THREADS 8

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
    hsmca_auth *a;
    hsmca_auth_secret root_secret;
    hsmca_auth_token root;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hsmca_store_config sc;
    hsmca_auth_config ac;

    if (f == NULL)
        return -1;
    if (unit_make_tmpdir(f->dir, sizeof(f->dir), "HSMCA_AUTH_TEST_DIR", "test_auth_concurrency") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    memset(&sc, 0, sizeof(sc));
    sc.path = f->path;
    sc.readers = THREADS;
    memset(&ac, 0, sizeof(ac));
    if (hsmca_store_open(&sc, &f->st) != HSMCA_OK)
        return -1;
    ac.store = f->st;
    ac.acl_cache_size = 4; /* small: evictions race with lookups */
    if (hsmca_auth_open(&ac, &f->a) != HSMCA_OK ||
        hsmca_auth_init_root(f->a, NULL, &f->root_secret, &f->root) != HSMCA_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    hsmca_auth_free(f->a);
    hsmca_store_close(f->st);
    hsmca_auth_token_clear(&f->root);
    hsmca_auth_secret_clear(&f->root_secret);
    unit_remove_dir(f->dir);
    free(f);
    return 0;
}

/* ---- uses ---- */

typedef struct {
    fixture *f;
    const char *token;
    atomic_int *ok;
    atomic_int *errors;
} use_arg;

static void *use_worker(void *p)
{
    use_arg *u = p;
    hsmca_auth_token t = {0};

    for (int i = 0; i < 40; i++) {
        hsmca_rv rv = hsmca_auth_token_lookup(u->f->a, u->token, HSMCA_AUTH_LOOKUP_USE, &t);

        if (rv == HSMCA_OK)
            atomic_fetch_add(u->ok, 1);
        else if (rv != HSMCA_ERR_NOT_FOUND)
            atomic_fetch_add(u->errors, 1);
    }
    hsmca_auth_token_clear(&t);
    return NULL;
}

static void uses_counted_exactly(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    pthread_t th[THREADS];
    use_arg args[THREADS];
    atomic_int ok = 0, errors = 0;

    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "default");
    p.num_uses = 100; /* 8 threads x 40 attempts = 320 > 100 */
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (use_arg){f, s.token, &ok, &errors};
        assert_int_equal(pthread_create(&th[i], NULL, use_worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    assert_int_equal(atomic_load(&ok), 100);
    assert_rv(hsmca_auth_token_lookup_accessor(f->a, t.accessor, &t), HSMCA_ERR_NOT_FOUND);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

/* ---- children vs a revoked parent ---- */

#define CHILDREN_PER_THREAD 30

typedef struct {
    fixture *f;
    const hsmca_auth_token *parent;
    char made[CHILDREN_PER_THREAD][HSMCA_AUTH_ACCESSOR_LEN + 1];
    int n;
    atomic_int *errors;
} child_arg;

static void *child_worker(void *p)
{
    child_arg *c = p;
    hsmca_auth_create_params prm;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};

    for (int i = 0; i < CHILDREN_PER_THREAD; i++) {
        hsmca_rv rv;

        hsmca_auth_create_params_init(&prm);
        rv = hsmca_auth_token_create(c->f->a, c->parent, &prm, &s, &t, NULL);
        hsmca_auth_create_params_clear(&prm);
        if (rv == HSMCA_OK)
            memcpy(c->made[c->n++], t.accessor, sizeof(c->made[0]));
        else if (rv != HSMCA_ERR_NOT_FOUND) /* the parent went: the only allowed failure */
            atomic_fetch_add(c->errors, 1);
        hsmca_auth_secret_clear(&s);
    }
    hsmca_auth_token_clear(&t);
    return NULL;
}

static void children_never_outlive_a_revoked_parent(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret s;
    hsmca_auth_token parent = {0}, t = {0};
    hsmca_auth_create_params p;
    pthread_t th[THREADS];
    child_arg *args = calloc(THREADS, sizeof(*args));
    atomic_int errors = 0;
    int made = 0;

    assert_non_null(args);
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "default");
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &parent, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    for (int i = 0; i < THREADS; i++) {
        args[i].f = f;
        args[i].parent = &parent;
        args[i].errors = &errors;
        assert_int_equal(pthread_create(&th[i], NULL, child_worker, &args[i]), 0);
    }
    usleep(2000);
    assert_rv(hsmca_auth_token_revoke(f->a, parent.accessor, HSMCA_AUTH_REVOKE_TREE, NULL), HSMCA_OK);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < args[i].n; j++) {
            made++;
            if (hsmca_auth_token_lookup_accessor(f->a, args[i].made[j], &t) != HSMCA_ERR_NOT_FOUND)
                fail_msg("child %s outlived its revoked parent", args[i].made[j]);
        }
    }
    print_message("%d children were made before the revocation\n", made);
    hsmca_auth_token_clear(&parent);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
    free(args);
}

/* ---- requests during policy writes ---- */

typedef struct {
    fixture *f;
    const char *token;
    atomic_bool *stop;
    atomic_int *errors;
    atomic_int *allowed;
} req_arg;

static void *request_worker(void *p)
{
    req_arg *r = p;
    hsmca_auth_token t = {0};
    char path[64];

    for (int i = 0; !atomic_load(r->stop) && i < 2000; i++) {
        hsmca_auth_decision d;
        hsmca_strlist pol = {0};
        unsigned caps;

        snprintf(path, sizeof(path), "app/%d/x", i % 7);
        if (hsmca_auth_authorize(r->f->a, r->token, path, HSMCA_CAP_READ, 0, &d, &t) != HSMCA_OK)
            atomic_fetch_add(r->errors, 1);
        else if (d == HSMCA_AUTH_ALLOW)
            atomic_fetch_add(r->allowed, 1);
        else if (d != HSMCA_AUTH_DENY_POLICY)
            atomic_fetch_add(r->errors, 1); /* the token itself never goes */
        /* other sets too, so the tiny cache keeps evicting */
        hsmca_strlist_add_csv(&pol, i % 2 ? "toggle,default" : "toggle,other");
        if (hsmca_auth_capabilities(r->f->a, &pol, path, &caps) != HSMCA_OK)
            atomic_fetch_add(r->errors, 1);
        hsmca_strlist_clear(&pol);
    }
    hsmca_auth_token_clear(&t);
    return NULL;
}

static void requests_during_policy_writes(void **state)
{
    fixture *f = *state;
    hsmca_auth_create_params p;
    hsmca_auth_secret s;
    hsmca_auth_token t = {0};
    pthread_t th[THREADS];
    req_arg args[THREADS];
    atomic_bool stop = false;
    atomic_int errors = 0, allowed = 0;
    hsmca_auth_decision d;
    static const char *texts[] = {"{\"path\": {\"app/*\": {\"capabilities\": [\"read\"]}}}",
                                  "{\"path\": {\"app/+/x\": {\"capabilities\": [\"deny\"]}}}"};

    assert_rv(hsmca_auth_policy_put(f->a, "toggle", texts[0], -1), HSMCA_OK);
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "toggle");
    assert_rv(hsmca_auth_token_create(f->a, &f->root, &p, &s, &t, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (req_arg){f, s.token, &stop, &errors, &allowed};
        assert_int_equal(pthread_create(&th[i], NULL, request_worker, &args[i]), 0);
    }
    for (int i = 0; i < 60; i++)
        assert_rv(hsmca_auth_policy_put(f->a, "toggle", texts[(i + 1) % 2], -1), HSMCA_OK);
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);
    /* the last write (texts[0]) is what every later request sees */
    assert_rv(hsmca_auth_authorize(f->a, s.token, "app/1/x", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(uses_counted_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(children_never_outlive_a_revoked_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(requests_during_policy_writes, setup, teardown),
    };
    return cmocka_run_group_tests_name("auth_concurrency", tests, NULL, NULL);
}
