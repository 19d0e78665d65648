/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP router (src/http/router.c): literal, ":param" and "*rest"
 * segments, the most literal pattern winning whatever the table order,
 * parameter names for parameters in the middle of a pattern, and 404 vs 405. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hsmca/http.h"

static void h_a(hsmca_http_req *q, hsmca_http_resp *r, void *a) { (void)q; (void)r; (void)a; }
static void h_b(hsmca_http_req *q, hsmca_http_resp *r, void *a) { (void)q; (void)r; (void)a; }
static void h_c(hsmca_http_req *q, hsmca_http_resp *r, void *a) { (void)q; (void)r; (void)a; }

static const hsmca_http_route routes[] = {
    {HSMCA_HTTP_GET | HSMCA_HTTP_DELETE, "mounts/*path", h_a, 0},
    {HSMCA_HTTP_GET | HSMCA_HTTP_POST, "mounts/:path/tune", h_b, 0},
    {HSMCA_HTTP_GET, "issuer/:ref/crl/delta/pem", h_c, 0},
    {HSMCA_HTTP_POST, "issuer/:ref/issue/:role", h_a, 0},
    {HSMCA_HTTP_POST, "issuers/generate/root/:type", h_b, 0},
    {HSMCA_HTTP_POST, "issuers/:x/root/internal", h_c, 0},
};

static const char *param(const hsmca_http_match *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->values[i];
    return NULL;
}

static void test_match(void **state)
{
    hsmca_http_router *r = NULL;
    hsmca_http_match m;
    unsigned allowed = 0;

    (void)state;
    assert_int_equal(hsmca_http_router_new(&r), HSMCA_OK);
    assert_int_equal(hsmca_http_router_add(r, routes, sizeof(routes) / sizeof(routes[0]), NULL), HSMCA_OK);

    /* a parameter before a literal keeps its own name (regression: the
     * name once ran on into the rest of the pattern, "path/tune") */
    assert_int_equal(hsmca_http_router_match(r, "mounts/pki/tune", HSMCA_HTTP_GET, &m, &allowed), HSMCA_OK);
    assert_ptr_equal(m.route->fn, h_b);
    assert_string_equal(param(&m, "path"), "pki");

    /* the rest parameter takes several segments */
    assert_int_equal(hsmca_http_router_match(r, "mounts/a/b/c", HSMCA_HTTP_DELETE, &m, &allowed), HSMCA_OK);
    assert_ptr_equal(m.route->fn, h_a);
    assert_string_equal(param(&m, "path"), "a/b/c");

    /* two parameters */
    assert_int_equal(hsmca_http_router_match(r, "issuer/root-1/issue/web", HSMCA_HTTP_POST, &m, &allowed), HSMCA_OK);
    assert_string_equal(param(&m, "ref"), "root-1");
    assert_string_equal(param(&m, "role"), "web");
    assert_int_equal(hsmca_http_router_match(r, "issuer/x/crl/delta/pem", HSMCA_HTTP_GET, &m, &allowed), HSMCA_OK);
    assert_string_equal(param(&m, "ref"), "x");

    /* the more literal pattern wins over a parameter at the same place */
    assert_int_equal(hsmca_http_router_match(r, "issuers/generate/root/internal", HSMCA_HTTP_POST, &m, &allowed),
                     HSMCA_OK);
    assert_ptr_equal(m.route->fn, h_b);
    assert_string_equal(param(&m, "type"), "internal");

    /* a known path with another method: 405 material, with the methods */
    assert_int_equal(hsmca_http_router_match(r, "mounts/pki/tune", HSMCA_HTTP_PATCH, &m, &allowed),
                     HSMCA_ERR_UNSUPPORTED);
    assert_true(allowed & HSMCA_HTTP_POST);
    /* nothing matches: 404 */
    assert_int_equal(hsmca_http_router_match(r, "nothing/here", HSMCA_HTTP_GET, &m, &allowed), HSMCA_ERR_NOT_FOUND);
    assert_int_equal(hsmca_http_router_match(r, "issuer/x/issue", HSMCA_HTTP_POST, &m, &allowed),
                     HSMCA_ERR_NOT_FOUND);
    /* an empty segment never matches a parameter */
    assert_int_equal(hsmca_http_router_match(r, "issuer//issue/web", HSMCA_HTTP_POST, &m, &allowed),
                     HSMCA_ERR_NOT_FOUND);
    hsmca_http_router_free(r);
}

/* A "*rest" parameter takes any number of segments and up to the server's
 * URL limit (regression: more than 16 segments, or a path over 1 KiB, was
 * "no handler for route" -- an OCSP GET whose base64 holds many '/'). A
 * path that long still matches no literal or ":param" pattern. */
static void test_long_rest(void **state)
{
    hsmca_http_router *r = NULL;
    hsmca_http_match m;
    unsigned allowed = 0;
    char path[4000];
    size_t n;

    (void)state;
    assert_int_equal(hsmca_http_router_new(&r), HSMCA_OK);
    assert_int_equal(hsmca_http_router_add(r, routes, sizeof(routes) / sizeof(routes[0]), NULL), HSMCA_OK);
    n = (size_t)snprintf(path, sizeof(path), "mounts");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "/seg%02d", i);
    while (n < 3000)
        path[n++] = 'x';
    path[n] = '\0';
    assert_int_equal(hsmca_http_router_match(r, path, HSMCA_HTTP_GET, &m, &allowed), HSMCA_OK);
    assert_ptr_equal(m.route->fn, h_a);
    assert_string_equal(param(&m, "path"), path + strlen("mounts/"));
    /* 17+ segments never land in a pattern without "*rest" */
    assert_int_equal(hsmca_http_router_match(r, "issuer/a/issue/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", HSMCA_HTTP_POST, &m,
                                             &allowed),
                     HSMCA_ERR_NOT_FOUND);
    assert_int_equal(hsmca_http_router_match(r, "mounts/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/tune", HSMCA_HTTP_POST, &m,
                                             &allowed),
                     HSMCA_ERR_UNSUPPORTED); /* only the "*path" route of mounts (GET, DELETE) matches */
    hsmca_http_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_long_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
