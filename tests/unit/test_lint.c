/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the pre-issuance lint (src/ca/lint*.c): baselines pass,
 * the negative corpus fails with the expected rule (one case or more per
 * rule), and table tests for DNS names, Punycode, times and the CA/B
 * validity schedule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/lint.h"
#include "hsmca/rv.h"
#include "lint_corpus.h"
#include "lint_internal.h"

typedef struct {
    lint_fixture *f;
    lint_case *neg;
    size_t n_neg;
    lint_case *pos;
    size_t n_pos;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    fx->f = lint_fixture_new();
    fx->n_neg = lint_corpus_build(&fx->neg);
    fx->n_pos = lint_corpus_build_baselines(&fx->pos);
    *state = fx;
    return fx->f != NULL && fx->n_neg > 0 && fx->n_pos > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    if (fx != NULL) {
        lint_corpus_free(fx->neg, fx->n_neg);
        lint_corpus_free(fx->pos, fx->n_pos);
        lint_fixture_free(fx->f);
        free(fx);
    }
    return 0;
}

static bool rule_known(const char *id)
{
    size_t n = 0;
    const hsmca_lint_rule *rules = hsmca_lint_rules(&n);
    bool found = false;

    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(rules[i].id, id) == 0;
    return found;
}

/* Lints c and returns the rule it failed ("" when it passed). */
static const char *lint_rule_of(lint_case *c, hsmca_lint_finding *finding)
{
    hsmca_rv rv;

    memset(finding, 0x5a, sizeof(*finding));
    hsmca_err_clear();
    rv = hsmca_lint_certificate(c->tbs, &c->opts, finding);
    if (rv == HSMCA_OK) {
        assert_string_equal(finding->rule, "");
        return "";
    }
    assert_int_equal(rv, HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_err_last(), HSMCA_ERR_INVALID_ARG);
    return finding->rule;
}

static void test_rule_table(void **state)
{
    size_t n = 0;
    const hsmca_lint_rule *rules = hsmca_lint_rules(&n);

    (void)state;
    assert_non_null(rules);
    assert_true(n >= 50);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(rules[i].id);
        assert_non_null(rules[i].summary);
        assert_true(strlen(rules[i].id) > 0 && strlen(rules[i].id) < sizeof(((hsmca_lint_finding *)0)->rule));
        assert_true(strlen(rules[i].summary) > 10);
        assert_true(strspn(rules[i].id, "abcdefghijklmnopqrstuvwxyz0123456789._") == strlen(rules[i].id));
        assert_non_null(strchr(rules[i].id, '.'));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(rules[i].id, rules[j].id);
    }
    assert_false(rule_known("lint.input"));
    assert_true(rule_known("serial.positive"));
    assert_true(rule_known("san.dns.wildcard"));
}

static void test_baselines_pass(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    size_t failed = 0;

    for (size_t i = 0; i < fx->n_pos; i++) {
        const char *rule = lint_rule_of(&fx->pos[i], &finding);
        if (rule[0] != '\0') {
            print_error("baseline '%s' failed: %s: %s\n", fx->pos[i].name, rule, finding.message);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_negative_corpus(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    char detail[600];
    size_t failed = 0;

    for (size_t i = 0; i < fx->n_neg; i++) {
        lint_case *c = &fx->neg[i];
        const char *rule;

        assert_non_null(c->rule);
        rule = lint_rule_of(c, &finding);
        if (strcmp(rule, c->rule) != 0) {
            print_error("case '%s': expected %s, got '%s': %s\n", c->name, c->rule, rule,
                        rule[0] ? finding.message : "(passed)");
            failed++;
            continue;
        }
        /* The message says what failed, and the thread's detail is
         * "lint <rule>: <message>". */
        assert_true(strlen(finding.message) > 8);
        snprintf(detail, sizeof(detail), "lint %s: %s", finding.rule, finding.message);
        assert_string_equal(hsmca_err_message(), detail);
    }
    assert_int_equal(failed, 0);
}

static void test_corpus_covers_every_rule(void **state)
{
    fixture *fx = *state;
    size_t n = 0, missing = 0;
    const hsmca_lint_rule *rules = hsmca_lint_rules(&n);

    for (size_t i = 0; i < fx->n_neg; i++) {
        if (!rule_known(fx->neg[i].rule))
            print_error("case '%s' expects unknown rule %s\n", fx->neg[i].name, fx->neg[i].rule);
        assert_true(rule_known(fx->neg[i].rule));
    }
    for (size_t r = 0; r < n; r++) {
        size_t cases = 0;
        for (size_t i = 0; i < fx->n_neg; i++)
            cases += strcmp(fx->neg[i].rule, rules[r].id) == 0;
        if (cases == 0) {
            print_error("rule %s has no negative case\n", rules[r].id);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

/* The corpus is reusable: each case carries a signed issuer (or none for
 * a root), a software signer, and options pointing at that issuer. */
static void test_corpus_shape(void **state)
{
    fixture *fx = *state;
    lint_case *sets[2] = {fx->neg, fx->pos};
    size_t counts[2] = {fx->n_neg, fx->n_pos};

    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            lint_case *c = &sets[s][i];
            assert_non_null(c->tbs);
            assert_non_null(c->signer);
            assert_ptr_equal(c->opts.issuer, c->issuer);
            if (c->opts.role == HSMCA_LINT_ROOT) {
                assert_null(c->issuer);
            } else {
                EVP_PKEY *pub = X509_get0_pubkey(c->issuer);
                assert_non_null(pub);
                assert_int_equal(X509_check_private_key(c->issuer, c->signer), 1);
            }
        }
    }
}

static void test_input_errors(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    hsmca_lint_opts opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
    X509 *leaf = lint_fixture_leaf(fx->f);

    assert_non_null(leaf);
    assert_int_equal(hsmca_lint_certificate(NULL, &opts, &finding), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(finding.rule, "lint.input");
    assert_int_equal(hsmca_lint_certificate(leaf, NULL, &finding), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(finding.rule, "lint.input");
    opts.issuer = NULL;
    assert_int_equal(hsmca_lint_certificate(leaf, &opts, &finding), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(finding.rule, "lint.input");
    assert_non_null(strstr(hsmca_err_message(), "lint lint.input: "));
    opts.role = (hsmca_lint_role)7;
    opts.issuer = fx->f->ca;
    assert_int_equal(hsmca_lint_certificate(leaf, &opts, &finding), HSMCA_ERR_INVALID_ARG);
    assert_string_equal(finding.rule, "lint.input");
    /* finding is optional; the detail still names the rule. */
    opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
    assert_int_equal(hsmca_lint_certificate(leaf, &opts, NULL), HSMCA_OK);
    X509_set_version(leaf, X509_VERSION_1);
    assert_int_equal(hsmca_lint_certificate(leaf, &opts, NULL), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "lint version.v3: "));
    /* A root ignores opts->issuer: it is its own issuer. */
    X509 *root = lint_fixture_root(fx->f);
    opts = lint_fixture_opts(fx->f, HSMCA_LINT_ROOT);
    opts.issuer = fx->f->ca;
    assert_int_equal(hsmca_lint_certificate(root, &opts, &finding), HSMCA_OK);
    X509_free(root);
    X509_free(leaf);
}

/* Messages name the value that failed, rendered safely. */
static void test_messages_name_values(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;

    for (size_t i = 0; i < fx->n_neg; i++) {
        lint_case *c = &fx->neg[i];
        const char *want = NULL;

        if (strcmp(c->name, "negative serial") == 0)
            want = "-4C696E7420636F727075732073657231";
        else if (strcmp(c->name, "NUL in a DNS SAN") == 0)
            want = "www.example.com\\x00.evil.com";
        else if (strcmp(c->name, "wildcard in a middle label") == 0)
            want = "www.*.example.com";
        else if (strcmp(c->name, "RSA 1024") == 0)
            want = "1024 bits";
        else if (strcmp(c->name, "EC on secp256k1") == 0)
            want = "secp256k1";
        else if (strcmp(c->name, "CA/B leaf valid 400 days") == 0)
            want = "398 days";
        else if (strcmp(c->name, "GeneralizedTime for 2030") == 0)
            want = "2030-01-01T00:00:00Z";
        if (want == NULL)
            continue;
        assert_int_equal(hsmca_lint_certificate(c->tbs, &c->opts, &finding), HSMCA_ERR_INVALID_ARG);
        if (strstr(finding.message, want) == NULL)
            print_error("case '%s': message '%s' lacks '%s'\n", c->name, finding.message, want);
        assert_non_null(strstr(finding.message, want));
    }
}

/* The lint reads the TBS; it must not change it (the CA compares the
 * signed TBS with the linted one byte for byte). */
static void test_lint_does_not_modify(void **state)
{
    fixture *fx = *state;
    lint_case *sets[2] = {fx->neg, fx->pos};
    size_t counts[2] = {fx->n_neg, fx->n_pos};
    hsmca_lint_finding finding;

    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            lint_case *c = &sets[s][i];
            X509 *copy = X509_dup(c->issuer != NULL ? c->issuer : fx->f->root);
            int n_ext = X509_get_ext_count(c->tbs);
            long version = X509_get_version(c->tbs);
            ASN1_INTEGER *serial = ASN1_INTEGER_dup(X509_get0_serialNumber(c->tbs));

            (void)hsmca_lint_certificate(c->tbs, &c->opts, &finding);
            assert_int_equal(X509_get_ext_count(c->tbs), n_ext);
            assert_int_equal(X509_get_version(c->tbs), version);
            assert_int_equal(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(c->tbs)), 0);
            assert_int_equal(X509_cmp(copy, c->issuer != NULL ? c->issuer : fx->f->root), 0);
            ASN1_INTEGER_free(serial);
            X509_free(copy);
        }
    }
}

typedef struct {
    const char *name;
    bool wildcard_ok;
    bool cabf;
    lint_dns_verdict want;
} dns_row;

static void test_dns_names(void **state)
{
    static const dns_row rows[] = {
        {"example.com", true, true, LINT_DNS_OK},
        {"www.example.com", false, false, LINT_DNS_OK},
        {"localhost", false, false, LINT_DNS_OK},
        {"a.b", false, false, LINT_DNS_OK},
        {"EXAMPLE.COM", false, false, LINT_DNS_OK},
        {"1password.com", false, false, LINT_DNS_OK},
        {"xn--bcher-kva.example", false, false, LINT_DNS_OK},
        {"xn--ls8h.la", false, false, LINT_DNS_OK},
        {"*.example.com", true, true, LINT_DNS_OK},
        {"*.example.com", true, false, LINT_DNS_OK},
        {"foo*.example.com", true, false, LINT_DNS_OK},
        {"*foo.example.com", true, false, LINT_DNS_OK},
        {"f*o.example.com", true, false, LINT_DNS_OK},
        {"*-1.example.com", true, false, LINT_DNS_OK},
        {"foo*.example.com", true, true, LINT_DNS_WILDCARD},
        {"*.example.com", false, false, LINT_DNS_WILDCARD},
        {"www.*.example.com", true, false, LINT_DNS_WILDCARD},
        {"*.*.example.com", true, false, LINT_DNS_WILDCARD},
        {"**.example.com", true, false, LINT_DNS_WILDCARD},
        {"*.com", true, false, LINT_DNS_WILDCARD},
        {"*", true, false, LINT_DNS_WILDCARD},
        {"xn--*.example.com", true, false, LINT_DNS_WILDCARD},
        {"XN--*.example.com", true, false, LINT_DNS_WILDCARD},
        {"www.example.*", true, false, LINT_DNS_WILDCARD},
        {"", true, false, LINT_DNS_SYNTAX},
        {".", true, false, LINT_DNS_SYNTAX},
        {".example.com", true, false, LINT_DNS_SYNTAX},
        {"example.com.", true, false, LINT_DNS_SYNTAX},
        {"www..example.com", true, false, LINT_DNS_SYNTAX},
        {"exa_mple.com", true, false, LINT_DNS_SYNTAX},
        {"exa mple.com", true, false, LINT_DNS_SYNTAX},
        {"-example.com", true, false, LINT_DNS_SYNTAX},
        {"example-.com", true, false, LINT_DNS_SYNTAX},
        {"-*.example.com", true, false, LINT_DNS_SYNTAX},
        {"example.com-", true, false, LINT_DNS_SYNTAX},
        {"192.0.2.1", true, false, LINT_DNS_SYNTAX},
        {"example.123", true, false, LINT_DNS_SYNTAX},
        {"b\xc3\xbc"
         "cher.example",
         true, false, LINT_DNS_SYNTAX},
        {"xn--.example", true, false, LINT_DNS_SYNTAX},
        {"xn--abc-.example", true, false, LINT_DNS_SYNTAX},
        {"ab--cd.example", true, false, LINT_DNS_IDN},
        {"xn--99999999999999.example", true, false, LINT_DNS_IDN},
        {"xn--zzzzzzzzzzzzzzzzzz.example", true, false, LINT_DNS_IDN},
        {"xn--a.example", true, false, LINT_DNS_OK}, /* U+0080: decodes; IDNA2008 tables are out of scope */
    };
    char label63[64 + 12], label64[65 + 12], name253[254], name254[255];
    const char *why = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        lint_dns_verdict v = lint_dns_check((const unsigned char *)rows[i].name, strlen(rows[i].name),
                                            rows[i].wildcard_ok, rows[i].cabf, &why);
        if (v != rows[i].want)
            print_error("'%s' (wildcard_ok %d, cabf %d): got %d (%s), want %d\n", rows[i].name,
                        rows[i].wildcard_ok, rows[i].cabf, v, why ? why : "ok", rows[i].want);
        assert_int_equal(v, rows[i].want);
        assert_true(v == LINT_DNS_OK ? why == NULL : why != NULL);
    }
    /* Length limits, on the boundary. */
    memset(label63, 'a', 63);
    memcpy(label63 + 63, ".example", 9);
    assert_int_equal(lint_dns_check((const unsigned char *)label63, strlen(label63), false, false, &why),
                     LINT_DNS_OK);
    memset(label64, 'a', 64);
    memcpy(label64 + 64, ".example", 9);
    assert_int_equal(lint_dns_check((const unsigned char *)label64, strlen(label64), false, false, &why),
                     LINT_DNS_SYNTAX);
    /* Three 63-octet labels and a last one of 61 (253) or 62 (254). */
    for (size_t i = 0; i < 254; i++)
        name254[i] = (i % 64 == 63) ? '.' : 'a';
    name254[254] = '\0';
    memcpy(name253, name254, 253);
    name253[253] = '\0';
    assert_int_equal(lint_dns_check((const unsigned char *)name253, 253, false, false, &why), LINT_DNS_OK);
    assert_int_equal(lint_dns_check((const unsigned char *)name254, 254, false, false, &why),
                     LINT_DNS_SYNTAX);
}

static void test_punycode(void **state)
{
    static const struct {
        const char *label;
        bool valid;
    } rows[] = {
        {"bcher-kva", true},  /* bücher */
        {"ls8h", true},       /* U+1F4A9 */
        {"mnchen-3ya", true}, /* münchen */
        {"fiqs8s", true},     /* 中国 */
        {"p1ai", true},       /* рф */
        {"BCHER-KVA", true},  /* case-insensitive */
        {"", false},
        {"abc-", false},           /* basic code points only */
        {"99999999999999", false}, /* overflow */
        {"zzzzzzzzzzzzzzzzzz", false},
        {"bcher-kv!", false},
        {"-", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool v = lint_punycode_valid((const unsigned char *)rows[i].label, strlen(rows[i].label));
        if (v != rows[i].valid)
            print_error("punycode '%s': got %d\n", rows[i].label, v);
        assert_int_equal(v, rows[i].valid);
    }
}

/* Lints the baseline leaf with validity [nb, na], now and cabf. */
static const char *leaf_validity_rule(fixture *fx, int64_t nb, int64_t na, int64_t now, bool cabf,
                                      hsmca_lint_finding *finding)
{
    static char rule[sizeof(finding->rule)];
    lint_case c;

    memset(&c, 0, sizeof(c));
    c.tbs = lint_fixture_leaf(fx->f);
    c.opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
    c.opts.cabf = cabf;
    c.opts.now = now;
    assert_non_null(c.tbs);
    assert_int_equal(lint_tbs_set_validity(c.tbs, nb, na), 1);
    snprintf(rule, sizeof(rule), "%s", lint_rule_of(&c, finding));
    X509_free(c.tbs);
    return rule;
}

static void test_cabf_schedule(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    static const struct {
        int64_t from;
        int64_t days;
    } tiers[] = {
        {INT64_C(1748736000), 398}, /* 2025-06-01 */
        {INT64_C(1773532800), 200}, /* 2026-03-15 */
        {INT64_C(1805068800), 100}, /* 2027-03-15 */
        {INT64_C(1868227200), 47},  /* 2029-03-15 */
    };

    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
        int64_t nb = tiers[i].from, max = tiers[i].days * LINT_DAY;
        /* The Validity Period counts both ends: notAfter = nb + max - 1 is
         * exactly max seconds. One more second is a part day: too long. */
        assert_string_equal(leaf_validity_rule(fx, nb, nb + max - 1, nb, true, &finding), "");
        assert_string_equal(leaf_validity_rule(fx, nb, nb + max, nb, true, &finding), "cabf.validity");
        /* Without the option, no schedule. */
        assert_string_equal(leaf_validity_rule(fx, nb, nb + max + 30 * LINT_DAY, nb, false, &finding), "");
        /* now = 0 (unset): the tier comes from notBefore alone. */
        assert_string_equal(leaf_validity_rule(fx, nb, nb + max - 1, 0, true, &finding), "");
    }
    /* The tier is chosen by issuance: the last second before 2026-03-15
     * still gets 398 days; the first second of it gets 200. */
    assert_string_equal(leaf_validity_rule(fx, INT64_C(1773532799), INT64_C(1773532799) + 398 * LINT_DAY - 1,
                                           0, true, &finding),
                        "");
    assert_string_equal(leaf_validity_rule(fx, INT64_C(1773532800), INT64_C(1773532800) + 398 * LINT_DAY - 1,
                                           0, true, &finding),
                        "cabf.validity");
    /* A notBefore backdated across the boundary does not buy the old tier
     * when the signing time is after it. */
    assert_string_equal(leaf_validity_rule(fx, INT64_C(1773532799), INT64_C(1773532799) + 398 * LINT_DAY - 1,
                                           INT64_C(1773532800) + 60, true, &finding),
                        "cabf.validity");
    assert_non_null(strstr(finding.message, "200 days"));
}

static void test_time_encodings(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    static const struct {
        int type;
        const char *text;
        const char *rule;
    } rows[] = {
        {V_ASN1_UTCTIME, "250801000000Z", ""},
        {V_ASN1_UTCTIME, "280229000000Z", ""}, /* leap day */
        {V_ASN1_UTCTIME, "250229000000Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "250801000060Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "250801240000Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "251301000000Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "250801000000", "validity.time_format"},
        {V_ASN1_UTCTIME, "2508010000Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "250801000000z", "validity.time_format"},
        {V_ASN1_UTCTIME, "25080100000 Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "20250801000000Z", "validity.time_format"},
        {V_ASN1_GENERALIZEDTIME, "20250801000000Z", "validity.time_type"},
        {V_ASN1_GENERALIZEDTIME, "20491231235959Z", "validity.time_type"},
        {V_ASN1_GENERALIZEDTIME, "2025080100000Z", "validity.time_format"},
        {V_ASN1_GENERALIZEDTIME, "20250801000000.0Z", "validity.time_format"},
        {V_ASN1_GENERALIZEDTIME, "20250801000000+0000", "validity.time_format"},
        {V_ASN1_OCTET_STRING, "250801000000Z", "validity.time_format"},
        {V_ASN1_UTCTIME, "490101000000Z", ""}, /* 2049, permit below */
        {V_ASN1_GENERALIZEDTIME, "20500101000000Z", ""},
        {V_ASN1_GENERALIZEDTIME, "99991231235959Z", ""},
        {V_ASN1_UTCTIME, "500101000000Z", "validity.order"}, /* 1950 */
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        lint_case c;
        const char *rule;

        memset(&c, 0, sizeof(c));
        c.tbs = lint_fixture_leaf(fx->f);
        c.opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
        c.opts.permit_beyond_issuer = true;
        assert_int_equal(lint_tbs_set_raw_time(c.tbs, 1, rows[i].type, rows[i].text), 1);
        rule = lint_rule_of(&c, &finding);
        if (strcmp(rule, rows[i].rule) != 0)
            print_error("notAfter '%s' (type %d): got '%s' (%s), want '%s'\n", rows[i].text, rows[i].type,
                        rule, finding.message, rows[i].rule);
        assert_string_equal(rule, rows[i].rule);
        X509_free(c.tbs);
    }
}

/* permit_beyond_issuer is the only thing between a long leaf and the
 * issuer's notAfter; a root has no issuer to be beyond. */
static void test_beyond_issuer_permit(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;

    assert_string_equal(leaf_validity_rule(fx, LINT_T_LEAF_NB, LINT_T_CA_NA, 0, false, &finding), "");
    assert_string_equal(leaf_validity_rule(fx, LINT_T_LEAF_NB, LINT_T_CA_NA + 1, 0, false, &finding),
                        "validity.beyond_issuer");
    assert_non_null(strstr(finding.message, "2035-01-01T00:00:00Z"));
    assert_non_null(strstr(finding.message, "2035-01-01T00:00:01Z"));
}

/* What the CN rule treats as a host name, with and without CA/B. */
static void test_cn_rules(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    static const struct {
        const char *cn;
        bool cabf;
        bool exclude;
        const char *rule;
    } rows[] = {
        {"www.example.com", false, false, ""},
        {"www.example.com", true, false, ""},
        {"example.com", true, false, ""},
        {"WWW.EXAMPLE.COM", false, false, ""},
        {"WWW.EXAMPLE.COM", true, false, "subject.cn_in_san"},
        {"other.example.com", false, false, "subject.cn_in_san"},
        {"other.example.com", false, true, ""},
        {"other.example.com", true, true, "subject.cn_in_san"},
        {"*.example.com", false, false, "subject.cn_in_san"},
        {"Example Web Server", false, false, ""},
        {"Example Web Server", true, false, "subject.cn_in_san"},
        {"web01", false, false, ""},
        {"alice@example.com", false, false, ""},
        {"192.0.2.1", false, false, ""}, /* no iPAddress SANs to compare with */
        {"192.0.2.1", true, false, "subject.cn_in_san"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        lint_case c;
        X509_NAME *n = X509_NAME_new();
        const char *rule;

        memset(&c, 0, sizeof(c));
        c.tbs = lint_fixture_leaf(fx->f);
        c.opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
        c.opts.cabf = rows[i].cabf;
        c.opts.exclude_cn_from_sans = rows[i].exclude;
        assert_non_null(n);
        assert_int_equal(
            X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)rows[i].cn, -1, -1, 0),
            1);
        assert_int_equal(X509_set_subject_name(c.tbs, n), 1);
        rule = lint_rule_of(&c, &finding);
        if (strcmp(rule, rows[i].rule) != 0)
            print_error("CN '%s' (cabf %d, exclude %d): got '%s' (%s), want '%s'\n", rows[i].cn, rows[i].cabf,
                        rows[i].exclude, rule, finding.message, rows[i].rule);
        assert_string_equal(rule, rows[i].rule);
        X509_NAME_free(n);
        X509_free(c.tbs);
    }
}

/* SAN syntax through the whole lint: one extra entry on the baseline. */
static void test_san_entries(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    static const struct {
        int type;
        const char *value;
        const char *rule;
    } rows[] = {
        {GEN_EMAIL, "alice@example.com", ""},
        {GEN_EMAIL, "first.last+tag@sub.example.com", ""},
        {GEN_EMAIL, "alice@localhost", ""},
        {GEN_EMAIL, "alice", "san.email"},
        {GEN_EMAIL, "alice@", "san.email"},
        {GEN_EMAIL, "alice@@example.com", "san.email"},
        {GEN_EMAIL, "al..ice@example.com", "san.email"},
        {GEN_EMAIL, "alice.@example.com", "san.email"},
        {GEN_EMAIL, "\"al ice\"@example.com", "san.email"},
        {GEN_EMAIL, "alice@example.com.", "san.email"},
        {GEN_EMAIL, "alice@*.example.com", "san.email"},
        {GEN_EMAIL, "alice@[192.0.2.1]", "san.email"},
        {GEN_EMAIL, "alicé@example.com", "san.email"},
        {GEN_URI, "https://www.example.com/", ""},
        {GEN_URI, "https://www.example.com", ""},
        {GEN_URI, "mailto:alice@example.com", ""},
        {GEN_URI, "urn:ietf:rfc:5280", ""},
        {GEN_URI, "http://192.0.2.1:8080/x?y#z", ""},
        {GEN_URI, "http://[::1]:8080/", ""},
        {GEN_URI, "a+b-c.d:x", ""},
        {GEN_URI, "//www.example.com/", "san.uri"},
        {GEN_URI, "/relative/path", "san.uri"},
        {GEN_URI, "1http://x", "san.uri"},
        {GEN_URI, "http://", "san.uri"},
        {GEN_URI, "http://:80/", "san.uri"},
        {GEN_URI, "http://[::1/", "san.uri"},
        {GEN_URI, "http://[zz::1]/", "san.uri"},
        {GEN_URI, "http://host:8x/", "san.uri"},
        {GEN_URI, "http://exa_mple.com/", "san.uri"},
        {GEN_URI, "http://example.com/\"", "san.uri"},
        {GEN_URI, "http://example.com/%4", "san.uri"},
        {GEN_URI, "http://example.com/\xc3\xa9", "san.uri"},
        {GEN_DNS, "sub.example.com", ""},
        {GEN_DNS, "*.example.com", ""},
        {GEN_DNS, "www.*.example.com", "san.dns.wildcard"},
        {GEN_DNS, "exa_mple.com", "san.dns.syntax"},
        {GEN_DNS, "xn--zzzzzzzzzzzzzzzzzz.example", "san.dns.idn"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        lint_case c;
        GENERAL_NAMES *gens = GENERAL_NAMES_new();
        const char *rule;

        memset(&c, 0, sizeof(c));
        c.tbs = lint_fixture_leaf(fx->f);
        c.opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
        assert_non_null(gens);
        assert_int_equal(lint_gn_add_string(gens, GEN_DNS, "www.example.com", 15), 1);
        assert_int_equal(lint_gn_add_string(gens, rows[i].type, rows[i].value, strlen(rows[i].value)), 1);
        assert_int_equal(lint_tbs_set_san(c.tbs, 0, gens), 1);
        rule = lint_rule_of(&c, &finding);
        if (strcmp(rule, rows[i].rule) != 0)
            print_error("SAN type %d '%s': got '%s' (%s), want '%s'\n", rows[i].type, rows[i].value, rule,
                        finding.message, rows[i].rule);
        assert_string_equal(rule, rows[i].rule);
        GENERAL_NAMES_free(gens);
        X509_free(c.tbs);
    }
}

/* IP SAN lengths: 4 and 16 octets only (8 and 32 are name-constraint
 * forms, not addresses). */
static void test_ip_lengths(void **state)
{
    fixture *fx = *state;
    hsmca_lint_finding finding;
    static const unsigned char bytes[33] = {0xc0, 0x00, 0x02, 0x01};

    for (size_t len = 0; len <= 32; len++) {
        lint_case c;
        GENERAL_NAMES *gens = GENERAL_NAMES_new();
        const char *rule;

        memset(&c, 0, sizeof(c));
        c.tbs = lint_fixture_leaf(fx->f);
        c.opts = lint_fixture_opts(fx->f, HSMCA_LINT_LEAF);
        assert_non_null(gens);
        assert_int_equal(lint_gn_add_string(gens, GEN_DNS, "www.example.com", 15), 1);
        assert_int_equal(lint_gn_add_ip(gens, bytes, len), 1);
        assert_int_equal(lint_tbs_set_san(c.tbs, 0, gens), 1);
        rule = lint_rule_of(&c, &finding);
        assert_string_equal(rule, len == 4 || len == 16 ? "" : "san.ip");
        GENERAL_NAMES_free(gens);
        X509_free(c.tbs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_baselines_pass),
        cmocka_unit_test(test_negative_corpus),
        cmocka_unit_test(test_corpus_covers_every_rule),
        cmocka_unit_test(test_corpus_shape),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_messages_name_values),
        cmocka_unit_test(test_lint_does_not_modify),
        cmocka_unit_test(test_dns_names),
        cmocka_unit_test(test_punycode),
        cmocka_unit_test(test_cabf_schedule),
        cmocka_unit_test(test_time_encodings),
        cmocka_unit_test(test_beyond_issuer_permit),
        cmocka_unit_test(test_cn_rules),
        cmocka_unit_test(test_san_entries),
        cmocka_unit_test(test_ip_lengths),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
