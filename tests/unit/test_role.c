/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/ca/role.c: documented defaults, the JSON of POST, PATCH
 * and GET roles/:name (OpenBao's types and field set), and role validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "hsmca/role.h"

/* JSON written with ' for " keeps the tables readable. */
static json_t *j(const char *sq)
{
    char buf[4096];
    json_error_t err;
    json_t *v;
    size_t n = strlen(sq);

    assert_true(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = sq[i] == '\'' ? '"' : sq[i];
    v = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", buf, err.text);
    return v;
}

static hsmca_rv post(const char *sq, hsmca_role *out, hsmca_strlist *warnings)
{
    json_t *in = j(sq);
    hsmca_rv rv;

    hsmca_err_clear();
    rv = hsmca_role_from_json(in, NULL, false, out, warnings);
    json_decref(in);
    return rv;
}

static json_t *role_json(const hsmca_role *r)
{
    json_t *o = NULL;

    assert_int_equal(hsmca_role_to_json(r, &o), HSMCA_OK);
    return o;
}

static void assert_json_equal(json_t *got, const char *want_sq)
{
    json_t *want = j(want_sq);

    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

        print_error("got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

/* What GET roles/:name returns for a role written with an empty body:
 * every documented default, with key_bits and signature_bits filled in as
 * OpenBao's validateRole stores them. */
static const char defaults_read[] =
    "{'ttl':0,'max_ttl':0,'allow_localhost':true,'allowed_domains':[],'allowed_domains_template':false,"
    "'allow_bare_domains':false,'allow_token_displayname':false,'allow_subdomains':false,"
    "'allow_glob_domains':false,'allow_wildcard_certificates':true,'allow_any_name':false,"
    "'allowed_uri_sans_template':false,'enforce_hostnames':true,'allow_ip_sans':true,'server_flag':true,"
    "'client_flag':true,'code_signing_flag':false,'email_protection_flag':false,'use_csr_common_name':true,"
    "'use_csr_sans':true,'key_type':'rsa','key_bits':2048,'signature_bits':256,'use_pss':false,"
    "'key_usage':['DigitalSignature','KeyAgreement','KeyEncipherment'],'ext_key_usage':[],"
    "'ext_key_usage_oids':[],'ou':[],'organization':[],'country':[],'locality':[],'province':[],"
    "'street_address':[],'postal_code':[],'no_store':false,'allowed_other_sans':[],"
    "'allowed_serial_numbers':[],'allowed_user_ids':[],'allowed_uri_sans':[],'require_cn':true,"
    "'cn_validations':['email','hostname'],'policy_identifiers':[],"
    "'basic_constraints_valid_for_non_ca':false,'not_before_duration':30,'not_after':'',"
    "'issuer_ref':'default','generate_lease':false,'cabf_validity_limit':false}";

static void test_defaults_documented(void **state)
{
    hsmca_role r;
    json_t *o;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(hsmca_role_init_defaults(&r), HSMCA_OK);
    /* The documented defaults themselves: key_bits and signature_bits 0. */
    assert_int_equal(r.key_bits, 0);
    assert_int_equal(r.signature_bits, 0);
    assert_int_equal(r.not_before_duration, 30);
    assert_true(r.allow_localhost && r.allow_wildcard_certificates && r.enforce_hostnames && r.allow_ip_sans);
    assert_true(r.server_flag && r.client_flag && r.use_csr_common_name && r.use_csr_sans && r.require_cn);
    assert_false(r.allow_bare_domains || r.allow_subdomains || r.allow_glob_domains || r.allow_any_name);
    assert_false(r.code_signing_flag || r.email_protection_flag || r.use_pss || r.no_store ||
                 r.generate_lease);
    assert_false(r.basic_constraints_valid_for_non_ca || r.cabf_validity_limit);
    assert_int_equal(r.key_type, HSMCA_ROLE_KEY_RSA);
    assert_string_equal(r.issuer_ref, "default");
    assert_string_equal(r.not_after, "");
    o = role_json(&r);
    json_object_set_new(o, "key_bits", json_integer(2048));
    json_object_set_new(o, "signature_bits", json_integer(256));
    assert_json_equal(o, defaults_read);
    json_decref(o);
    hsmca_role_clear(&r);
}

static void test_post_empty_reads_as_openbao(void **state)
{
    hsmca_role r;
    hsmca_strlist w = {0};
    json_t *o;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(post("{}", &r, &w), HSMCA_OK);
    assert_int_equal(w.n, 0);
    o = role_json(&r);
    assert_json_equal(o, defaults_read);
    /* Durations are integers of seconds, as OpenBao's int64(d.Seconds()). */
    assert_true(json_is_integer(json_object_get(o, "ttl")));
    assert_true(json_is_integer(json_object_get(o, "not_before_duration")));
    json_decref(o);
    hsmca_role_clear(&r);
    hsmca_strlist_clear(&w);
}

static void test_value_forms(void **state)
{
    static const struct {
        const char *body;
        const char *field;
        const char *want; /* JSON of the field as GET returns it */
    } cases[] = {
        /* durations: Go strings, "Nd", integers, numeric strings */
        {"{'ttl':'72h'}", "ttl", "259200"},
        {"{'ttl':'30s'}", "ttl", "30"},
        {"{'ttl':'1h30m'}", "ttl", "5400"},
        {"{'ttl':3600}", "ttl", "3600"},
        {"{'ttl':'3600'}", "ttl", "3600"},
        {"{'ttl':'7d'}", "ttl", "604800"},
        {"{'ttl':''}", "ttl", "0"},
        {"{'ttl':null}", "ttl", "0"},
        {"{'max_ttl':'768h'}", "max_ttl", "2764800"},
        {"{'not_before_duration':'1m'}", "not_before_duration", "60"},
        {"{'not_before_duration':0}", "not_before_duration", "0"},
        /* booleans: JSON, strconv.ParseBool strings, 0/1, "" and null */
        {"{'allow_any_name':true}", "allow_any_name", "true"},
        {"{'allow_any_name':'true'}", "allow_any_name", "true"},
        {"{'allow_any_name':'True'}", "allow_any_name", "true"},
        {"{'allow_any_name':'t'}", "allow_any_name", "true"},
        {"{'allow_any_name':'1'}", "allow_any_name", "true"},
        {"{'allow_any_name':1}", "allow_any_name", "true"},
        {"{'allow_localhost':'false'}", "allow_localhost", "false"},
        {"{'allow_localhost':'F'}", "allow_localhost", "false"},
        {"{'allow_localhost':0}", "allow_localhost", "false"},
        {"{'allow_localhost':''}", "allow_localhost", "false"},
        {"{'allow_localhost':null}", "allow_localhost", "false"},
        /* lists: comma-separated strings (trimmed) or arrays */
        {"{'allowed_domains':'example.com, foobar.com'}", "allowed_domains", "['example.com','foobar.com']"},
        {"{'allowed_domains':['example.com',' foobar.com ']}", "allowed_domains",
         "['example.com','foobar.com']"},
        {"{'allowed_domains':'example.com,,'}", "allowed_domains", "['example.com']"},
        {"{'allowed_domains':''}", "allowed_domains", "[]"},
        {"{'allowed_domains':[]}", "allowed_domains", "[]"},
        {"{'allowed_domains':null}", "allowed_domains", "[]"},
        {"{'key_usage':[]}", "key_usage", "[]"},
        {"{'key_usage':'DigitalSignature'}", "key_usage", "['DigitalSignature']"},
        {"{'ou':'Eng,Ops'}", "ou", "['Eng','Ops']"},
        {"{'allowed_other_sans':'*'}", "allowed_other_sans", "['*']"},
        /* integers: JSON or decimal strings */
        {"{'key_bits':'4096'}", "key_bits", "4096"},
        {"{'key_bits':3072}", "key_bits", "3072"},
        {"{'key_bits':''}", "key_bits", "2048"},
        {"{'signature_bits':'384'}", "signature_bits", "384"},
        /* normalisation as OpenBao stores roles */
        {"{'key_type':'ec'}", "key_bits", "256"},
        {"{'key_type':'ec'}", "signature_bits", "0"},
        {"{'key_type':'ec','signature_bits':384}", "signature_bits", "384"},
        {"{'key_type':'ed25519','signature_bits':512}", "signature_bits", "0"},
        {"{'key_type':'any'}", "key_bits", "0"},
        {"{'key_type':''}", "key_type", "'rsa'"},
        {"{'issuer_ref':''}", "issuer_ref", "'default'"},
        {"{'issuer_ref':'root-2025'}", "issuer_ref", "'root-2025'"},
        {"{'cn_validations':'EMAIL'}", "cn_validations", "['email']"},
        {"{'cn_validations':[]}", "cn_validations", "['email','hostname']"},
        {"{'cn_validations':'disabled'}", "cn_validations", "['disabled']"},
        {"{'not_after':'9999-12-31T23:59:59Z'}", "not_after", "'9999-12-31T23:59:59Z'"},
        {"{'no_store':true,'generate_lease':true}", "generate_lease", "false"},
        {"{'generate_lease':true}", "generate_lease", "true"},
        {"{'cabf_validity_limit':true}", "cabf_validity_limit", "true"},
        {"{'country':'us'}", "country", "['us']"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsmca_role r;
        json_t *o, *want;
        char wrapped[512];

        memset(&r, 0, sizeof(r));
        if (post(cases[i].body, &r, NULL) != HSMCA_OK)
            fail_msg("%s: %s", cases[i].body, hsmca_err_message());
        o = role_json(&r);
        snprintf(wrapped, sizeof(wrapped), "{'v':%s}", cases[i].want);
        want = j(wrapped);
        if (!json_equal(json_object_get(o, cases[i].field), json_object_get(want, "v"))) {
            char *got = json_dumps(json_object_get(o, cases[i].field), JSON_ENCODE_ANY);

            fail_msg("%s: %s is %s, want %s", cases[i].body, cases[i].field, got, cases[i].want);
        }
        json_decref(want);
        json_decref(o);
        hsmca_role_clear(&r);
    }
}

/* Wrong types and broken rules: INVALID_ARG, and the detail names the field. */
static void test_rejects_name_the_field(void **state)
{
    static const struct {
        const char *body;
        const char *detail; /* must appear in the error detail */
    } cases[] = {
        {"{'allow_localhost':'maybe'}", "allow_localhost"},
        {"{'allow_localhost':2}", "allow_localhost"},
        {"{'allow_localhost':[true]}", "allow_localhost"},
        {"{'allow_localhost':{}}", "allow_localhost"},
        {"{'allow_localhost':1.0}", "allow_localhost"},
        {"{'ttl':true}", "ttl"},
        {"{'ttl':1.5}", "ttl"},
        {"{'ttl':'1x'}", "ttl"},
        {"{'ttl':'1d12h'}", "ttl"},
        {"{'ttl':-5}", "ttl"},
        {"{'ttl':'-5m'}", "ttl"},
        {"{'max_ttl':[]}", "max_ttl"},
        {"{'not_before_duration':'soon'}", "not_before_duration"},
        {"{'key_bits':'abc'}", "key_bits"},
        {"{'key_bits':' 2048'}", "key_bits"},
        {"{'key_bits':1.5}", "key_bits"},
        {"{'key_bits':true}", "key_bits"},
        {"{'key_bits':99999999999}", "key_bits"},
        {"{'allowed_domains':5}", "allowed_domains"},
        {"{'allowed_domains':true}", "allowed_domains"},
        {"{'allowed_domains':[1]}", "allowed_domains"},
        {"{'allowed_domains':{'a':1}}", "allowed_domains"},
        {"{'not_after':5}", "not_after"},
        {"{'not_after':'2030-01-01'}", "not_after"},
        {"{'not_after':'2030-02-30T00:00:00Z'}", "not_after"},
        {"{'issuer_ref':true}", "issuer_ref"},
        {"{'key_type':'RSA'}", "key_type"},
        {"{'key_type':'dsa'}", "key_type"},
        {"{'key_type':7}", "key_type"},
        /* validateRole */
        {"{'ttl':'2h','max_ttl':'1h'}", "\"ttl\" value must be less than \"max_ttl\""},
        {"{'key_bits':1024}", "key_bits 1024"},
        {"{'key_bits':2047}", "key_bits 2047"},
        {"{'key_bits':8192}", "key_bits 8192"},
        {"{'key_type':'ec','key_bits':255}", "key_bits 255"},
        {"{'key_type':'ec','key_bits':2048}", "key_bits 2048"},
        {"{'signature_bits':123}", "signature_bits 123"},
        {"{'signature_bits':1}", "signature_bits 1"},
        {"{'key_type':'ec','signature_bits':100}", "signature_bits 100"},
        {"{'ext_key_usage_oids':'1.2.x'}", "ext_key_usage_oids"},
        {"{'ext_key_usage_oids':'3.1'}", "ext_key_usage_oids"},
        {"{'ext_key_usage_oids':'1.40.5'}", "ext_key_usage_oids"},
        {"{'ext_key_usage_oids':'1.02.3'}", "ext_key_usage_oids"},
        {"{'ext_key_usage_oids':'1'}", "ext_key_usage_oids"},
        {"{'policy_identifiers':'not-an-oid'}", "policy_identifiers"},
        {"{'cn_validations':'dns'}", "cn_validations"},
        {"{'cn_validations':'email,email'}", "cn_validations"},
        {"{'cn_validations':'disabled,hostname'}", "cn_validations"},
        /* hsmca's own checks */
        {"{'key_usage':'NonRepudiation'}", "key_usage 'NonRepudiation'"},
        {"{'key_usage':'KeyUsageDigitalSignature'}", "key_usage"},
        {"{'ext_key_usage':'ExtKeyUsageServerAuth'}", "ext_key_usage 'ExtKeyUsageServerAuth'"},
        {"{'allowed_other_sans':'1.2.3.4'}", "allowed_other_sans"},
        {"{'allowed_other_sans':'1.2.3.4;UTF8'}", "allowed_other_sans"},
        {"{'allowed_other_sans':'1.2.3.4;IA5:x'}", "allowed_other_sans"},
        {"{'allowed_other_sans':'a.b;UTF8:x'}", "allowed_other_sans"},
        {"{'allowed_other_sans':'*,1.2.3.4;UTF8:x'}", "allowed_other_sans"},
        {"{'country':'USA'}", "country value 'USA'"},
        {"{'country':'U1'}", "country"},
        {"{'postal_code':'12345678901234567890123456789012345678901'}", "postal_code"},
        {"{'organization':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
         "organization"},
        /* the body itself */
        {"[]", "JSON object"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsmca_role r;
        hsmca_rv rv;

        memset(&r, 0, sizeof(r));
        rv = post(cases[i].body, &r, NULL);
        if (rv != HSMCA_ERR_INVALID_ARG)
            fail_msg("%s: want INVALID_ARGUMENT, got %s", cases[i].body, hsmca_rv_name(rv));
        if (strstr(hsmca_err_message(), cases[i].detail) == NULL)
            fail_msg("%s: detail '%s' does not name '%s'", cases[i].body, hsmca_err_message(),
                     cases[i].detail);
        /* A refused body leaves out untouched (still zero). */
        assert_string_equal(r.issuer_ref, "");
        assert_int_equal(r.allowed_domains.n, 0);
    }
}

/* A NUL inside a JSON string (jansson allows \u0000) or in a list entry. */
static void test_rejects_nul_and_long(void **state)
{
    json_t *o = json_object();
    hsmca_role r;
    char big[HSMCA_ROLE_ENTRY_MAX + 10];

    (void)state;
    memset(&r, 0, sizeof(r));
    json_object_set_new(o, "allowed_domains", json_stringn("a\0b.com", 7));
    assert_int_equal(hsmca_role_from_json(o, NULL, false, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "allowed_domains"));
    json_object_set_new(o, "allowed_domains", json_pack("[s#]", "a\0b.com", (size_t)7));
    assert_int_equal(hsmca_role_from_json(o, NULL, false, &r, NULL), HSMCA_ERR_INVALID_ARG);
    json_object_del(o, "allowed_domains");
    json_object_set_new(o, "issuer_ref", json_stringn("x\0y", 3));
    assert_int_equal(hsmca_role_from_json(o, NULL, false, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "issuer_ref"));
    json_object_del(o, "issuer_ref");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(o, "allowed_uri_sans", json_pack("[s]", big));
    assert_int_equal(hsmca_role_from_json(o, NULL, false, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "allowed_uri_sans"));
    json_object_del(o, "allowed_uri_sans");
    json_object_set_new(o, "issuer_ref", json_string(big));
    assert_int_equal(hsmca_role_from_json(o, NULL, false, &r, NULL), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "issuer_ref"));
    json_decref(o);
    hsmca_role_clear(&r);
}

static void test_post_overwrites_patch_merges(void **state)
{
    hsmca_role first, posted, patched;
    json_t *in;

    (void)state;
    memset(&first, 0, sizeof(first));
    memset(&posted, 0, sizeof(posted));
    memset(&patched, 0, sizeof(patched));
    assert_int_equal(post("{'allowed_domains':'example.com','allow_subdomains':true,'ttl':'24h',"
                          "'allow_wildcard_certificates':false,'organization':'Acme','key_type':'ec'}",
                          &first, NULL),
                     HSMCA_OK);
    assert_int_equal(hsmca_role_set_name(&first, "web"), HSMCA_OK);

    /* POST: a full overwrite; what the body leaves out goes back to its
     * default (reference: "using the provided request data (and any
     * defaults for elided parameters)"). */
    in = j("{'ttl':'1h'}");
    assert_int_equal(hsmca_role_from_json(in, NULL, false, &posted, NULL), HSMCA_OK);
    assert_int_equal(posted.ttl, 3600);
    assert_int_equal(posted.allowed_domains.n, 0);
    assert_false(posted.allow_subdomains);
    assert_true(posted.allow_wildcard_certificates);
    assert_int_equal(posted.organization.n, 0);
    assert_int_equal(posted.key_type, HSMCA_ROLE_KEY_RSA);
    assert_int_equal(posted.key_bits, 2048);

    /* PATCH: only the given fields change; the name is kept. */
    assert_int_equal(hsmca_role_from_json(in, &first, true, &patched, NULL), HSMCA_OK);
    assert_int_equal(patched.ttl, 3600);
    assert_int_equal(patched.allowed_domains.n, 1);
    assert_string_equal(patched.allowed_domains.v[0], "example.com");
    assert_true(patched.allow_subdomains);
    assert_false(patched.allow_wildcard_certificates);
    assert_string_equal(patched.organization.v[0], "Acme");
    assert_int_equal(patched.key_type, HSMCA_ROLE_KEY_EC);
    assert_int_equal(patched.key_bits, 256);
    assert_string_equal(patched.name, "web");
    json_decref(in);

    /* PATCH onto itself (out == base) replaces a list wholesale. */
    in = j("{'allowed_domains':['a.com','b.com'],'allow_subdomains':'false'}");
    assert_int_equal(hsmca_role_from_json(in, &patched, true, &patched, NULL), HSMCA_OK);
    assert_int_equal(patched.allowed_domains.n, 2);
    assert_string_equal(patched.allowed_domains.v[1], "b.com");
    assert_false(patched.allow_subdomains);
    assert_int_equal(patched.ttl, 3600);
    json_decref(in);

    /* A PATCH that fails leaves the base as it was. */
    in = j("{'ttl':'1h','key_bits':1}");
    assert_int_equal(hsmca_role_from_json(in, &patched, true, &patched, NULL), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(patched.allowed_domains.n, 2);
    assert_int_equal(patched.key_bits, 256);
    json_decref(in);

    /* PATCH needs a base. */
    in = j("{}");
    assert_int_equal(hsmca_role_from_json(in, NULL, true, &posted, NULL), HSMCA_ERR_INVALID_ARG);
    json_decref(in);

    hsmca_role_clear(&first);
    hsmca_role_clear(&posted);
    hsmca_role_clear(&patched);
}

static void test_warnings(void **state)
{
    hsmca_role r, p;
    hsmca_strlist w = {0};
    json_t *in;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    /* Unknown parameters: ignored, with OpenBao's one warning. */
    assert_int_equal(post("{'allowed_domain':'example.com','colour':'blue','ttl':'1h'}", &r, &w), HSMCA_OK);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.v[0], "Endpoint ignored these unrecognized parameters: [allowed_domain colour]");
    assert_int_equal(r.ttl, 3600);
    hsmca_strlist_clear(&w);
    hsmca_role_clear(&r);

    /* no_store wins over generate_lease, with a warning. */
    assert_int_equal(post("{'no_store':true,'generate_lease':true}", &r, &w), HSMCA_OK);
    assert_false(r.generate_lease);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "no_store=true takes priority"));
    hsmca_strlist_clear(&w);
    hsmca_role_clear(&r);

    /* generate_lease alone is discouraged, with a warning. */
    assert_int_equal(post("{'generate_lease':true}", &r, &w), HSMCA_OK);
    assert_true(r.generate_lease);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "encouraged to disable generate_lease"));
    hsmca_strlist_clear(&w);

    /* PATCH no_store onto a leasing role: the old generate_lease counts. */
    in = j("{'no_store':true}");
    assert_int_equal(hsmca_role_from_json(in, &r, true, &p, &w), HSMCA_OK);
    assert_false(p.generate_lease);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.v[0], "mutually exclusive"));
    json_decref(in);
    hsmca_strlist_clear(&w);
    hsmca_role_clear(&r);
    hsmca_role_clear(&p);

    /* Our own GET output, fed back, raises no warning. */
    assert_int_equal(post("{}", &r, NULL), HSMCA_OK);
    in = role_json(&r);
    assert_int_equal(hsmca_role_from_json(in, NULL, false, &p, &w), HSMCA_OK);
    assert_int_equal(w.n, 0);
    json_decref(in);
    hsmca_role_clear(&r);
    hsmca_role_clear(&p);
}

static void test_roundtrip(void **state)
{
    static const char *const bodies[] = {
        "{}",
        "{'ttl':'72h','max_ttl':'720h','allowed_domains':['example.com','bücher.example'],'allow_subdomains':"
        "true,"
        "'allow_bare_domains':true,'allow_glob_domains':true,'allow_any_name':false,'allow_localhost':false,"
        "'allow_wildcard_certificates':false,'enforce_hostnames':false,'allow_ip_sans':false,"
        "'allowed_uri_sans':'spiffe://example.org/*','allowed_other_sans':'1.3.6.1.4.1.311.20.2.3;utf8:*',"
        "'allowed_serial_numbers':'SN-*','allowed_user_ids':'alice,svc-*','server_flag':false,"
        "'client_flag':false,'code_signing_flag':true,'email_protection_flag':true,'key_type':'ec',"
        "'key_bits':384,'signature_bits':384,'use_pss':true,'key_usage':'DigitalSignature',"
        "'ext_key_usage':'TimeStamping,OCSPSigning','ext_key_usage_oids':'1.3.6.1.4.1.99999.1',"
        "'use_csr_common_name':false,'use_csr_sans':false,'ou':'Eng,Ops','organization':'Acme',"
        "'country':'DE','locality':'Berlin','province':'BE','street_address':'Unter den Linden 1',"
        "'postal_code':'10117','no_store':true,'require_cn':false,'policy_identifiers':'2.23.140.1.2.1',"
        "'basic_constraints_valid_for_non_ca':true,'not_before_duration':'5m',"
        "'not_after':'9999-12-31T23:59:59Z','cn_validations':'disabled','issuer_ref':'int-2025',"
        "'allowed_domains_template':true,'allowed_uri_sans_template':true,'cabf_validity_limit':true}",
        "{'key_type':'any','generate_lease':true,'cn_validations':'email'}",
        "{'key_type':'ed25519','key_usage':[]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        hsmca_role a, b;
        json_t *ja, *jb;

        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        if (post(bodies[i], &a, NULL) != HSMCA_OK)
            fail_msg("%s: %s", bodies[i], hsmca_err_message());
        ja = role_json(&a);
        assert_int_equal(hsmca_role_from_json(ja, NULL, false, &b, NULL), HSMCA_OK);
        jb = role_json(&b);
        assert_true(json_equal(ja, jb));
        /* A second validation changes nothing (roles are re-read from
         * storage through the same path). */
        assert_int_equal(hsmca_role_validate(&b, NULL), HSMCA_OK);
        json_decref(jb);
        jb = role_json(&b);
        assert_true(json_equal(ja, jb));
        json_decref(ja);
        json_decref(jb);
        hsmca_role_clear(&a);
        hsmca_role_clear(&b);
    }
}

static void test_copy_is_deep(void **state)
{
    hsmca_role a, b;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(post("{'allowed_domains':'example.com','ou':'Eng'}", &a, NULL), HSMCA_OK);
    assert_int_equal(hsmca_role_copy(&b, &a), HSMCA_OK);
    assert_ptr_not_equal(a.allowed_domains.v, b.allowed_domains.v);
    hsmca_role_clear(&a);
    assert_string_equal(b.allowed_domains.v[0], "example.com");
    assert_string_equal(b.ou.v[0], "Eng");
    hsmca_role_clear(&b);
}

static void test_names_and_tables(void **state)
{
    hsmca_role r;

    (void)state;
    memset(&r, 0, sizeof(r));
    /* framework.GenericNameRegex */
    assert_int_equal(hsmca_role_set_name(&r, "web-servers.v2"), HSMCA_OK);
    assert_string_equal(r.name, "web-servers.v2");
    assert_int_equal(hsmca_role_set_name(&r, "a"), HSMCA_OK);
    assert_int_equal(hsmca_role_set_name(&r, "_x_"), HSMCA_OK);
    assert_int_equal(hsmca_role_set_name(&r, ""), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_role_set_name(&r, "-web"), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_role_set_name(&r, "web."), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_role_set_name(&r, "we b"), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_role_set_name(&r, "web/x"), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(r.name, "_x_");
    {
        char longname[HSMCA_ROLE_NAME_MAX + 2];

        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(hsmca_role_set_name(&r, longname), HSMCA_ERR_INVALID_ARG);
    }
    /* Go's names, case-insensitive, without their prefix. */
    assert_int_equal(hsmca_role_key_usage_bit("DigitalSignature"), KU_DIGITAL_SIGNATURE);
    assert_int_equal(hsmca_role_key_usage_bit("contentcommitment"), KU_NON_REPUDIATION);
    assert_int_equal(hsmca_role_key_usage_bit("DECIPHERONLY"), KU_DECIPHER_ONLY);
    assert_int_equal(hsmca_role_key_usage_bit("KeyUsageDigitalSignature"), 0);
    assert_string_equal(hsmca_role_ext_key_usage_oid("ServerAuth"), "1.3.6.1.5.5.7.3.1");
    assert_string_equal(hsmca_role_ext_key_usage_oid("any"), "2.5.29.37.0");
    assert_string_equal(hsmca_role_ext_key_usage_oid("MicrosoftKernelCodeSigning"), "1.3.6.1.4.1.311.61.1.1");
    assert_null(hsmca_role_ext_key_usage_oid("ExtKeyUsageServerAuth"));
    assert_true(hsmca_role_oid_valid("2.25.329800735698586629295641978511506172918"));
    assert_true(hsmca_role_oid_valid("0.9.2342.19200300.100.1.1"));
    assert_false(hsmca_role_oid_valid("2"));
    assert_false(hsmca_role_oid_valid("1.2."));
    assert_false(hsmca_role_oid_valid(".1.2"));
    assert_false(hsmca_role_oid_valid("1..2"));
    assert_false(hsmca_role_oid_valid("1.-2"));
    assert_string_equal(hsmca_role_key_type_name(HSMCA_ROLE_KEY_ANY), "any");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_documented),
        cmocka_unit_test(test_post_empty_reads_as_openbao),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_rejects_name_the_field),
        cmocka_unit_test(test_rejects_nul_and_long),
        cmocka_unit_test(test_post_overwrites_patch_merges),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_names_and_tables),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
