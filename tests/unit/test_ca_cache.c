/* SPDX-License-Identifier: Apache-2.0 */
/* The signing-issuer cache (src/ca/issuer_cache.c) never outlives a change:
 * in one process, an issuer used once (and so cached) is revoked, deleted,
 * replaced as the default or given other URLs, and the next issuance must
 * see the change. The role cache (src/ca/roles.c) likewise: a role used
 * once is patched, replaced and deleted. env: HSMCA_TEST_MODULE, HSMCA_TEST_TOKEN,
 * HSMCA_TEST_PIN_FILE, HSMCA_TEST_DB. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cached_issuer_follows_changes),
        cmocka_unit_test(cached_role_follows_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
