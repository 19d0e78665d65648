/* SPDX-License-Identifier: Apache-2.0 */
/* The signing-issuer cache (src/ca/issuer_cache.c) never outlives a change:
 * in one process, an issuer used once (and so cached) is revoked, deleted,
 * replaced as the default or given other URLs, and the next issuance must
 * see the change. The role cache (src/ca/roles.c) likewise: a role used
 * once is patched, replaced and deleted; the mount's URLs are changed.
 * Configuration read-modify-write (hsmca_ca_config_update) loses no
 * concurrent change. env: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN,
 * HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "hsmca/ca.h"
#include "hsmca/provider.h"
#include "unit_util.h"

static unit_ca_env env;
static hsmca_store *st; /* env's, for brevity */
static hsmca_ca *ca;

static int setup(void **state)
{

    if (unit_ca_open(&env, "cache") != 0)
        return -1;
    st = env.st;
    ca = env.ca;
    return 0;
}

static int teardown(void **state)
{
    unit_ca_close(&env);
    return 0;
}

static void make_root(const char *name, hsmca_ca_result *r)
{
    hsmca_ca_params p;

    hsmca_ca_params_init(&p);
    p.key_type = "ec";
    p.key_bits = 256;
    p.common_name = name;
    p.issuer_name = name;
    memset(r, 0, sizeof(*r));
    assert_int_equal(hsmca_ca_generate_root(ca, "cache", &p, r), HSMCA_OK);
    hsmca_ca_params_clear(&p);
}

static hsmca_rv issue(hsmca_ca_result *r)
{
    hsmca_issue_request req;

    memset(&req, 0, sizeof(req));
    req.common_name = "x.example.com";
    memset(r, 0, sizeof(*r));
    return hsmca_ca_issue(ca, "cache", "web", NULL, &req, r);
}

static void cached_issuer_follows_changes(void **state)
{
    hsmca_ca_result a, b, r;
    hsmca_ca_issuer iss, attrs;

    make_root("first", &a);
    make_root("second", &b);
    assert_int_equal(hsmca_ca_role_put(ca, "cache", "web",
                                       "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                       "\"key_type\":\"ec\",\"key_bits\":256}",
                                       false, NULL),
                     HSMCA_OK);

    /* first is the default: it issues (and is now cached) */
    assert_int_equal(issue(&r), HSMCA_OK);
    assert_string_equal(r.issuer_id, a.issuer_id);
    assert_int_equal(X509_check_issued(a.certificate, r.certificate), X509_V_OK);
    hsmca_ca_result_clear(&r);

    /* the default moves to second: the next issuance follows */
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "issuers", "{\"default\":\"second\"}"), HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    assert_string_equal(r.issuer_id, b.issuer_id);
    hsmca_ca_result_clear(&r);

    /* new URLs on the issuer show up in the next certificate */
    assert_int_equal(hsmca_ca_issuer_get(ca, "cache", "second", &iss), HSMCA_OK);
    memset(&attrs, 0, sizeof(attrs));
    snprintf(attrs.issuer_name, sizeof(attrs.issuer_name), "%s", iss.issuer_name);
    attrs.usage = iss.usage;
    hsmca_strlist_add_csv(&attrs.ocsp_servers, "http://ocsp.cache.test/");
    assert_int_equal(hsmca_ca_issuer_update(ca, "cache", "second", &attrs), HSMCA_OK);
    hsmca_ca_issuer_clear(&attrs);
    hsmca_ca_issuer_clear(&iss);
    assert_int_equal(issue(&r), HSMCA_OK);
    {
        AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(r.certificate, NID_info_access, NULL, NULL);
        assert_non_null(aia);
        AUTHORITY_INFO_ACCESS_free(aia);
    }
    hsmca_ca_result_clear(&r);

    /* revoked: it may not issue any more */
    assert_int_equal(hsmca_ca_issuer_revoke(ca, "cache", "second", &iss), HSMCA_OK);
    hsmca_ca_issuer_clear(&iss);
    assert_int_not_equal(issue(&r), HSMCA_OK);

    /* deleted: gone */
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "issuers", "{\"default\":\"first\"}"), HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    hsmca_ca_result_clear(&r);
    assert_int_equal(hsmca_ca_issuer_delete(ca, "cache", "first"), HSMCA_OK);
    assert_int_not_equal(issue(&r), HSMCA_OK);

    hsmca_ca_result_clear(&a);
    hsmca_ca_result_clear(&b);
}

static void cached_role_follows_changes(void **state)
{
    hsmca_ca_result root, r;
    hsmca_role role;

    make_root("third", &root);
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "issuers", "{\"default\":\"third\"}"), HSMCA_OK);
    assert_int_equal(hsmca_ca_role_put(ca, "cache", "web",
                                       "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                       "\"key_type\":\"ec\",\"key_bits\":256,\"ttl\":\"1h\"}",
                                       false, NULL),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK); /* the role is now cached */
    hsmca_ca_result_clear(&r);

    /* patched to another domain: x.example.com is refused at once */
    assert_int_equal(hsmca_ca_role_put(ca, "cache", "web", "{\"allowed_domains\":\"other.test\"}", true, NULL),
                     HSMCA_OK);
    assert_int_not_equal(issue(&r), HSMCA_OK);
    assert_non_null(strstr(hsmca_err_message(), "other.test"));

    /* replaced with a new TTL: the next certificate has it */
    assert_int_equal(hsmca_ca_role_put(ca, "cache", "web",
                                       "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                       "\"key_type\":\"ec\",\"key_bits\":256,\"ttl\":\"2h\"}",
                                       false, NULL),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    {
        int days = -1, secs = -1;
        assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(r.certificate),
                                        X509_get0_notAfter(r.certificate)),
                         1);
        /* notBefore is backdated by 30 s, as OpenBao does */
        assert_in_range(days * 86400 + secs, 7200, 7200 + 60);
    }
    hsmca_ca_result_clear(&r);
    assert_int_equal(hsmca_ca_role_get(ca, "cache", "web", &role), HSMCA_OK);
    hsmca_role_clear(&role);

    /* deleted: unknown */
    assert_int_equal(hsmca_ca_role_delete(ca, "cache", "web"), HSMCA_OK);
    assert_int_equal(hsmca_ca_role_get(ca, "cache", "web", &role), HSMCA_ERR_NOT_FOUND);
    assert_int_equal(issue(&r), HSMCA_ERR_NOT_FOUND);
    hsmca_ca_result_clear(&root);
}

/* ---- concurrent partial updates of one configuration document ---- */

#define EDIT_THREADS 4
#define EDITS_PER_THREAD 40

/* Bumps the counter kept in config/cluster's path ("http://n.example/<n>")
 * and this thread's own field, pausing between read and write so that
 * unserialised updates would overwrite each other. */
static hsmca_rv bump(json_t *cfg, void *arg)
{
    const char *field = arg;
    const char *path = json_string_value(json_object_get(cfg, "path"));
    long n = path ? strtol(path + strlen("http://n.example/"), NULL, 10) : 0;
    char next[64];
    struct timespec pause = {0, 200 * 1000};

    nanosleep(&pause, NULL);
    snprintf(next, sizeof(next), "http://n.example/%ld", n + 1);
    json_object_set_new(cfg, "path", json_string(next));
    json_object_set_new(cfg, field, json_integer(json_integer_value(json_object_get(cfg, field)) + 1));
    return HSMCA_OK;
}

static void *editor(void *arg)
{
    for (int i = 0; i < EDITS_PER_THREAD; i++) {
        if (hsmca_ca_config_update(ca, "cache", "cluster", bump, arg, NULL) != HSMCA_OK)
            return arg;
    }
    return NULL;
}

static hsmca_rv refuse(json_t *cfg, void *arg)
{
    (void)arg;
    json_object_set_new(cfg, "path", json_string("http://changed.example/"));
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "refused by the test");
}

static void concurrent_config_updates_keep_every_change(void **state)
{
    static char fields[EDIT_THREADS][8];
    pthread_t t[EDIT_THREADS];
    char *text = NULL;
    json_t *cfg;

    (void)state;
    for (int i = 0; i < EDIT_THREADS; i++) {
        snprintf(fields[i], sizeof(fields[i]), "t%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, editor, fields[i]), 0);
    }
    for (int i = 0; i < EDIT_THREADS; i++) {
        void *failed = NULL;
        pthread_join(t[i], &failed);
        assert_null(failed);
    }
    assert_int_equal(hsmca_ca_config_get(ca, "cache", "cluster", &text), HSMCA_OK);
    cfg = json_loads(text, 0, NULL);
    assert_non_null(cfg);
    {
        char want[64];
        snprintf(want, sizeof(want), "http://n.example/%d", EDIT_THREADS * EDITS_PER_THREAD);
        assert_string_equal(json_string_value(json_object_get(cfg, "path")), want);
    }
    for (int i = 0; i < EDIT_THREADS; i++)
        assert_int_equal(json_integer_value(json_object_get(cfg, fields[i])), EDITS_PER_THREAD);
    json_decref(cfg);

    /* An edit that fails stores nothing, whatever it changed in its copy. */
    assert_int_equal(hsmca_ca_config_update(ca, "cache", "cluster", refuse, NULL, NULL), HSMCA_ERR_INVALID_ARG);
    {
        char *after = NULL;
        assert_int_equal(hsmca_ca_config_get(ca, "cache", "cluster", &after), HSMCA_OK);
        assert_string_equal(after, text);
        free(after);
    }
    free(text);
    assert_int_equal(hsmca_ca_config_update(ca, "cache", "nonsense", bump, fields[0], NULL), HSMCA_ERR_INVALID_ARG);
}

/* The first CRL distribution point URI of cert, "" when it has none. */
static void first_cdp(X509 *cert, char *out, size_t cap)
{
    CRL_DIST_POINTS *cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);

    out[0] = '\0';
    if (cdp != NULL && sk_DIST_POINT_num(cdp) > 0) {
        DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);
        if (dp->distpoint != NULL && dp->distpoint->type == 0 && sk_GENERAL_NAME_num(dp->distpoint->name.fullname) > 0) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
            if (gn->type == GEN_URI)
                snprintf(out, cap, "%.*s", ASN1_STRING_length(gn->d.uniformResourceIdentifier),
                         (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
        }
    }
    CRL_DIST_POINTS_free(cdp);
}

/* The mount's config/urls and config/cluster are cached for the AIA and CDP
 * extensions (src/ca/ext.c): every change shows in the next certificate. */
static void cached_urls_follow_changes(void **state)
{
    hsmca_ca_result root, r;
    char uri[256];

    make_root("fourth", &root);
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "issuers", "{\"default\":\"fourth\"}"), HSMCA_OK);
    assert_int_equal(hsmca_ca_role_put(ca, "cache", "web",
                                       "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,"
                                       "\"key_type\":\"ec\",\"key_bits\":256}",
                                       false, NULL),
                     HSMCA_OK);
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "urls",
                                         "{\"crl_distribution_points\":[\"http://one.cache.test/crl\"]}"),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK); /* the URLs are now cached */
    first_cdp(r.certificate, uri, sizeof(uri));
    assert_string_equal(uri, "http://one.cache.test/crl");
    hsmca_ca_result_clear(&r);
    assert_int_equal(issue(&r), HSMCA_OK); /* from the cache: the same */
    first_cdp(r.certificate, uri, sizeof(uri));
    assert_string_equal(uri, "http://one.cache.test/crl");
    hsmca_ca_result_clear(&r);

    /* changed: the next certificate has the new one */
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "urls",
                                         "{\"crl_distribution_points\":[\"http://two.cache.test/crl\"]}"),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    first_cdp(r.certificate, uri, sizeof(uri));
    assert_string_equal(uri, "http://two.cache.test/crl");
    hsmca_ca_result_clear(&r);

    /* templated on config/cluster: a change of the cluster path shows too */
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "urls",
                                         "{\"crl_distribution_points\":[\"{{cluster_path}}/crl\"],"
                                         "\"enable_templating\":true}"),
                     HSMCA_OK);
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "cluster", "{\"path\":\"http://a.cache.test/v1/cache\"}"),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    first_cdp(r.certificate, uri, sizeof(uri));
    assert_string_equal(uri, "http://a.cache.test/v1/cache/crl");
    hsmca_ca_result_clear(&r);
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "cluster", "{\"path\":\"http://b.cache.test/v1/cache\"}"),
                     HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    first_cdp(r.certificate, uri, sizeof(uri));
    assert_string_equal(uri, "http://b.cache.test/v1/cache/crl");
    hsmca_ca_result_clear(&r);

    /* emptied: no distribution point at all */
    assert_int_equal(hsmca_ca_config_set(ca, "cache", "urls", "{}"), HSMCA_OK);
    assert_int_equal(issue(&r), HSMCA_OK);
    assert_int_equal(X509_get_ext_by_NID(r.certificate, NID_crl_distribution_points, -1), -1);
    hsmca_ca_result_clear(&r);
    hsmca_ca_result_clear(&root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cached_issuer_follows_changes),
        cmocka_unit_test(cached_role_follows_changes),
        cmocka_unit_test(concurrent_config_updates_keep_every_change),
        cmocka_unit_test(cached_urls_follow_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
