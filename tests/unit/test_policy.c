/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven tests of the issuance policy engine (src/ca/policy*.c): one
 * row per rule of OpenBao's documented role semantics, allowed and denied,
 * checking the template (subject, SANs, usages, times) or the denial's
 * detail (field, value, rule). Each row's name cites the rule it checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "hsmca/policy.h"
#include "hsmca/role.h"

#define NOW       INT64_C(1735689600) /* 2025-01-01T00:00:00Z */
#define TEN_YEARS INT64_C(315360000)  /* the test issuer's remaining life */
#define SYS_TTL   INT64_C(2764800)    /* 768h */
#define Y2027     INT64_C(1798761600) /* 2027-01-01: CA/B 200-day period */
#define Y2030     INT64_C(1893456000) /* 2030-01-01: CA/B 47-day period */

typedef struct {
    const char *rule; /* the rule the row checks: also the test's name */
    const char *role; /* JSON ('-quoted) applied over the defaults, as POST */
    /* the request */
    const char *cn, *alt, *ips, *uris, *uids, *serial, *not_after;
    const char *others; /* '|'-separated: values may hold commas */
    int64_t ttl;
    bool exclude_cn;
    const char *key; /* key name (see keys[]); rsa2048 when NULL */
    const char *csr; /* '|'-separated CSR spec; NULL for issue */
    /* the context */
    hsmca_not_after_behavior behavior;
    int64_t issuer_life; /* issuer notAfter - now; 0 = ten years */
    int64_t now;         /* 0 = NOW */
    /* expectations: err set = denied; else the template's parts */
    const char *err; /* '|'-separated substrings of the error detail */
    const char *subject, *sans, *ku, *eku;
    bool times;
    int64_t nb, na;    /* not_before - now, not_after - now */
    const char *extra; /* ';'-separated: crit nocrit bc nobc pss nopss nostore sig=N warn=S nowarn pol=O
                          utf8cn printcn */
} row;

/* ---------------------------------------------------------------- keys */

static struct {
    const char *name;
    EVP_PKEY *key;
} keys[] = {
    {"rsa1024", NULL}, {"rsa2048", NULL}, {"rsa3072", NULL}, {"ec224", NULL},
    {"ec256", NULL},   {"ec384", NULL},   {"ec521", NULL},   {"k256", NULL},
    {"ed25519", NULL}, {"ed448", NULL},   {"rsapss", NULL},
};

static EVP_PKEY *key_named(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].name, name) == 0)
            return keys[i].key;
    }
    fail_msg("no test key %s", name);
    return NULL;
}

static int keys_setup(void **state)
{
    (void)state;
    keys[0].key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    keys[1].key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    keys[2].key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    keys[3].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
    keys[4].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    keys[5].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    keys[6].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    keys[7].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    keys[8].key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    keys[9].key = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    {
        /* EVP_PKEY_Q_keygen knows no RSA-PSS: the long way. */
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);

        if (c != NULL && EVP_PKEY_keygen_init(c) > 0)
            EVP_PKEY_keygen(c, &keys[10].key);
        EVP_PKEY_CTX_free(c);
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].key == NULL)
            return -1;
    }
    return 0;
}

static int keys_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        EVP_PKEY_free(keys[i].key);
        keys[i].key = NULL;
    }
    return 0;
}

/* ---------------------------------------------------------------- CSRs */

static void push_gen(GENERAL_NAMES *g, int type, const char *v, int len)
{
    GENERAL_NAME *n = GENERAL_NAME_new();
    ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

    assert_non_null(n);
    assert_true(ASN1_STRING_set(s, v, len));
    GENERAL_NAME_set0_value(n, type, s);
    assert_true(sk_GENERAL_NAME_push(g, n));
}

/* spec: cn=.. uid=.. serial=.. dns=.. email=.. uri=.. ip=.. other=<oid>=<utf8>
 * otheria5=<oid>=<ia5>, and flags dnsnul / cnnul (a dNSName / CN with an
 * embedded NUL), dirname (a directoryName SAN) and bc (basicConstraints). */
static X509_REQ *make_csr(const char *spec, EVP_PKEY *key)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    char buf[1024], *save = NULL;
    const EVP_MD *md = EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? NULL : EVP_sha256();

    assert_true(strlen(spec) < sizeof(buf));
    strcpy(buf, spec);
    for (char *it = strtok_r(buf, "|", &save); it != NULL; it = strtok_r(NULL, "|", &save)) {
        char *v = strchr(it, '=');

        if (v != NULL)
            *v++ = '\0';
        if (strcmp(it, "cn") == 0) {
            assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (unsigned char *)v,
                                                   -1, -1, 0));
        } else if (strcmp(it, "uid") == 0) {
            assert_true(
                X509_NAME_add_entry_by_NID(name, NID_userId, MBSTRING_UTF8, (unsigned char *)v, -1, -1, 0));
        } else if (strcmp(it, "serial") == 0) {
            assert_true(X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_ASC, (unsigned char *)v,
                                                   -1, -1, 0));
        } else if (strcmp(it, "dns") == 0) {
            push_gen(gens, GEN_DNS, v, (int)strlen(v));
        } else if (strcmp(it, "email") == 0) {
            push_gen(gens, GEN_EMAIL, v, (int)strlen(v));
        } else if (strcmp(it, "uri") == 0) {
            push_gen(gens, GEN_URI, v, (int)strlen(v));
        } else if (strcmp(it, "ip") == 0) {
            ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v);

            assert_non_null(ip);
            push_gen(gens, GEN_IPADD, (const char *)ASN1_STRING_get0_data(ip), ASN1_STRING_length(ip));
            ASN1_OCTET_STRING_free(ip);
        } else if (strcmp(it, "other") == 0) {
            char *eq = strchr(v, '=');
            GENERAL_NAME *n = GENERAL_NAME_new();
            ASN1_TYPE *t = ASN1_TYPE_new();
            ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

            assert_non_null(eq);
            *eq++ = '\0';
            assert_true(ASN1_STRING_set(s, eq, -1));
            ASN1_TYPE_set(t, V_ASN1_UTF8STRING, s);
            assert_true(GENERAL_NAME_set0_othername(n, OBJ_txt2obj(v, 1), t));
            assert_true(sk_GENERAL_NAME_push(gens, n));
        } else if (strcmp(it, "dnsnul") == 0) {
            push_gen(gens, GEN_DNS, "good.example.com\0.evil.com", 26);
        } else if (strcmp(it, "cnnul") == 0) {
            assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
                                                   (const unsigned char *)"a.example.com\0.evil.com", 24, -1,
                                                   0));
        } else if (strcmp(it, "otheria5") == 0) {
            char *eq = strchr(v, '=');
            GENERAL_NAME *n = GENERAL_NAME_new();
            ASN1_TYPE *t = ASN1_TYPE_new();
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();

            assert_non_null(eq);
            *eq++ = '\0';
            assert_true(ASN1_STRING_set(s, eq, -1));
            ASN1_TYPE_set(t, V_ASN1_IA5STRING, s);
            assert_true(GENERAL_NAME_set0_othername(n, OBJ_txt2obj(v, 1), t));
            assert_true(sk_GENERAL_NAME_push(gens, n));
        } else if (strcmp(it, "dirname") == 0) {
            GENERAL_NAME *n = GENERAL_NAME_new();
            X509_NAME *dn = X509_NAME_new();

            assert_true(X509_NAME_add_entry_by_NID(dn, NID_organizationName, MBSTRING_ASC,
                                                   (const unsigned char *)"Elsewhere", -1, -1, 0));
            GENERAL_NAME_set0_value(n, GEN_DIRNAME, dn);
            assert_true(sk_GENERAL_NAME_push(gens, n));
        } else if (strcmp(it, "bc") == 0) {
            BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

            assert_true(sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_basic_constraints, 1, bc)));
            BASIC_CONSTRAINTS_free(bc);
        } else {
            fail_msg("bad CSR spec item %s", it);
        }
    }
    if (sk_GENERAL_NAME_num(gens) > 0)
        assert_true(sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)));
    assert_true(X509_REQ_set_subject_name(req, name));
    assert_true(X509_REQ_set_pubkey(req, key));
    if (sk_X509_EXTENSION_num(exts) > 0)
        assert_true(X509_REQ_add_extensions(req, exts));
    assert_true(X509_REQ_sign(req, key, md) > 0);
    X509_NAME_free(name);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return req;
}

/* ----------------------------------------------------------- rendering */

static void cat(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);

    snprintf(buf + n, size - n, "%s", s);
}

static void render_subject(const X509_NAME *n, char *buf, size_t size)
{
    int prev_set = -1;

    buf[0] = '\0';
    for (int i = 0; i < X509_NAME_entry_count(n); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
        unsigned char *u = NULL;
        int set = X509_NAME_ENTRY_set(e);

        assert_true(ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e)) >= 0);
        if (i > 0)
            cat(buf, size, set == prev_set ? "+" : ",");
        cat(buf, size, OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))));
        cat(buf, size, "=");
        cat(buf, size, (const char *)u);
        OPENSSL_free(u);
        prev_set = set;
    }
}

static void render_sans(const GENERAL_NAMES *g, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
        const GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
        char tmp[1200];

        switch (n->type) {
        case GEN_DNS:
            snprintf(tmp, sizeof(tmp), "DNS:%.*s", ASN1_STRING_length(n->d.ia5),
                     ASN1_STRING_get0_data(n->d.ia5));
            break;
        case GEN_EMAIL:
            snprintf(tmp, sizeof(tmp), "email:%.*s", ASN1_STRING_length(n->d.ia5),
                     ASN1_STRING_get0_data(n->d.ia5));
            break;
        case GEN_URI:
            snprintf(tmp, sizeof(tmp), "URI:%.*s", ASN1_STRING_length(n->d.ia5),
                     ASN1_STRING_get0_data(n->d.ia5));
            break;
        case GEN_IPADD: {
            char a[INET6_ADDRSTRLEN];
            int len = ASN1_STRING_length(n->d.iPAddress);

            assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(n->d.iPAddress), a,
                                      sizeof(a)));
            snprintf(tmp, sizeof(tmp), "IP:%s%s", a, len == 4 ? "" : "(16)");
            break;
        }
        case GEN_OTHERNAME: {
            char oid[128];
            const ASN1_TYPE *t = n->d.otherName->value;

            OBJ_obj2txt(oid, sizeof(oid), n->d.otherName->type_id, 1);
            assert_int_equal(t->type, V_ASN1_UTF8STRING);
            snprintf(tmp, sizeof(tmp), "other:%s;UTF8:%.*s", oid, ASN1_STRING_length(t->value.utf8string),
                     ASN1_STRING_get0_data(t->value.utf8string));
            break;
        }
        default:
            snprintf(tmp, sizeof(tmp), "type%d", n->type);
        }
        if (i > 0)
            cat(buf, size, ",");
        cat(buf, size, tmp);
    }
}

static void render_ku(int ku, char *buf, size_t size)
{
    static const struct {
        int bit;
        const char *name;
    } names[] = {
        {KU_DIGITAL_SIGNATURE, "DigitalSignature"},
        {KU_NON_REPUDIATION, "ContentCommitment"},
        {KU_KEY_ENCIPHERMENT, "KeyEncipherment"},
        {KU_DATA_ENCIPHERMENT, "DataEncipherment"},
        {KU_KEY_AGREEMENT, "KeyAgreement"},
        {KU_KEY_CERT_SIGN, "CertSign"},
        {KU_CRL_SIGN, "CRLSign"},
        {KU_ENCIPHER_ONLY, "EncipherOnly"},
        {KU_DECIPHER_ONLY, "DecipherOnly"},
    };

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ku & names[i].bit) {
            if (buf[0] != '\0')
                cat(buf, size, ",");
            cat(buf, size, names[i].name);
        }
    }
}

static void render_oids(const STACK_OF(ASN1_OBJECT) * sk, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < sk_ASN1_OBJECT_num(sk); i++) {
        const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(sk, i);
        int nid = OBJ_obj2nid(o);
        char tmp[128];

        if (nid != NID_undef)
            snprintf(tmp, sizeof(tmp), "%s", OBJ_nid2sn(nid));
        else
            OBJ_obj2txt(tmp, sizeof(tmp), o, 1);
        if (i > 0)
            cat(buf, size, ",");
        cat(buf, size, tmp);
    }
}

/* ------------------------------------------------------------- running */

static json_t *sq_json(const char *sq)
{
    char buf[2048];
    json_error_t err;
    json_t *v;
    size_t n = strlen(sq);

    assert_true(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = sq[i] == '\'' ? '"' : sq[i];
    v = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL)
        fail_msg("bad role JSON %s: %s", buf, err.text);
    return v;
}

static void split_into(hsmca_strlist *l, const char *s, char sep)
{
    const char *p = s;

    if (s == NULL)
        return;
    for (;;) {
        const char *e = strchr(p, sep);
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

        assert_int_equal(hsmca_strlist_add(l, p, n), HSMCA_OK);
        if (e == NULL)
            break;
        p = e + 1;
    }
}

static void expect_substrings(const char *rule, const char *detail, const char *want)
{
    char buf[512], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", want);
    for (char *s = strtok_r(buf, "|", &save); s != NULL; s = strtok_r(NULL, "|", &save)) {
        if (strstr(detail, s) == NULL)
            fail_msg("[%s] detail \"%s\" lacks \"%s\"", rule, detail, s);
    }
}

static void check_extra(const row *r, const hsmca_cert_template *t)
{
    char buf[512], *save = NULL;

    if (r->extra == NULL)
        return;
    snprintf(buf, sizeof(buf), "%s", r->extra);
    for (char *s = strtok_r(buf, ";", &save); s != NULL; s = strtok_r(NULL, ";", &save)) {
        char got[512];
        bool ok = true;

        if (strcmp(s, "crit") == 0) {
            ok = t->san_critical;
        } else if (strcmp(s, "nocrit") == 0) {
            ok = !t->san_critical;
        } else if (strcmp(s, "bc") == 0) {
            ok = t->basic_constraints;
        } else if (strcmp(s, "nobc") == 0) {
            ok = !t->basic_constraints;
        } else if (strcmp(s, "pss") == 0) {
            ok = t->use_pss;
        } else if (strcmp(s, "nopss") == 0) {
            ok = !t->use_pss;
        } else if (strcmp(s, "nostore") == 0) {
            ok = t->no_store;
        } else if (strcmp(s, "store") == 0) {
            ok = !t->no_store;
        } else if (strncmp(s, "sig=", 4) == 0) {
            ok = t->signature_bits == atoi(s + 4);
        } else if (strcmp(s, "nowarn") == 0) {
            ok = t->warnings.n == 0;
        } else if (strncmp(s, "warn=", 5) == 0) {
            ok = false;
            for (size_t i = 0; i < t->warnings.n && !ok; i++)
                ok = strstr(t->warnings.v[i], s + 5) != NULL;
        } else if (strncmp(s, "pol=", 4) == 0) {
            render_oids(t->policy_oids, got, sizeof(got));
            ok = strcmp(got, s + 4) == 0;
        } else if (strcmp(s, "utf8cn") == 0 || strcmp(s, "printcn") == 0) {
            int idx = X509_NAME_get_index_by_NID(t->subject, NID_commonName, -1);

            ok = idx >= 0 &&
                 ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(t->subject, idx))) ==
                     (s[0] == 'u' ? V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING);
        } else {
            fail_msg("[%s] unknown extra check %s", r->rule, s);
        }
        if (!ok)
            fail_msg("[%s] extra check '%s' failed", r->rule, s);
    }
}

static void run_row(void **state)
{
    const row *r = *state;
    hsmca_role role;
    hsmca_issue_request req;
    hsmca_policy_context ctx;
    hsmca_cert_template t;
    json_t *rj;
    X509_REQ *csr = NULL;
    EVP_PKEY *key = key_named(r->key != NULL ? r->key : "rsa2048");
    hsmca_rv rv;
    char got[2048];

    memset(&role, 0, sizeof(role));
    memset(&req, 0, sizeof(req));
    memset(&t, 0, sizeof(t));
    hsmca_err_clear();
    rj = sq_json(r->role != NULL ? r->role : "{}");
    rv = hsmca_role_from_json(rj, NULL, false, &role, NULL);
    json_decref(rj);
    if (rv == HSMCA_OK)
        rv = hsmca_role_set_name(&role, "web");
    if (rv == HSMCA_OK) {
        req.common_name = r->cn;
        split_into(&req.alt_names, r->alt, ',');
        split_into(&req.ip_sans, r->ips, ',');
        split_into(&req.uri_sans, r->uris, ',');
        split_into(&req.other_sans, r->others, '|');
        split_into(&req.user_ids, r->uids, ',');
        req.serial_number = r->serial;
        req.ttl = r->ttl;
        req.not_after = r->not_after;
        req.exclude_cn_from_sans = r->exclude_cn;
        if (r->csr != NULL)
            csr = make_csr(r->csr, key);
        req.csr = csr;
        req.pubkey = key;
        memset(&ctx, 0, sizeof(ctx));
        ctx.now = r->now != 0 ? r->now : NOW;
        ctx.issuer_not_after = ctx.now + (r->issuer_life != 0 ? r->issuer_life : TEN_YEARS);
        ctx.leaf_not_after_behavior = r->behavior;
        ctx.default_ttl = SYS_TTL;
        ctx.max_ttl = SYS_TTL;
        rv = hsmca_policy_evaluate(&role, &req, &ctx, &t);
    }
    if (r->err != NULL) {
        if (rv == HSMCA_OK)
            fail_msg("[%s] allowed, but the row expects a denial with \"%s\"", r->rule, r->err);
        if (rv != HSMCA_ERR_INVALID_ARG)
            fail_msg("[%s] want INVALID_ARGUMENT, got %s (%s)", r->rule, hsmca_rv_name(rv),
                     hsmca_err_message());
        expect_substrings(r->rule, hsmca_err_message(), r->err);
        assert_null(t.subject); /* nothing half-built is handed out */
        assert_null(t.sans);
    } else {
        if (rv != HSMCA_OK)
            fail_msg("[%s] denied: %s", r->rule, hsmca_err_message());
        if (r->subject != NULL) {
            render_subject(t.subject, got, sizeof(got));
            if (strcmp(got, r->subject) != 0)
                fail_msg("[%s] subject \"%s\", want \"%s\"", r->rule, got, r->subject);
        }
        if (r->sans != NULL) {
            render_sans(t.sans, got, sizeof(got));
            if (strcmp(got, r->sans) != 0)
                fail_msg("[%s] SANs \"%s\", want \"%s\"", r->rule, got, r->sans);
        }
        if (r->ku != NULL) {
            render_ku(t.key_usage, got, sizeof(got));
            if (strcmp(got, r->ku) != 0)
                fail_msg("[%s] key usage \"%s\", want \"%s\"", r->rule, got, r->ku);
        }
        if (r->eku != NULL) {
            render_oids(t.ext_key_usage, got, sizeof(got));
            if (strcmp(got, r->eku) != 0)
                fail_msg("[%s] extended key usage \"%s\", want \"%s\"", r->rule, got, r->eku);
        }
        if (r->times) {
            int64_t now = r->now != 0 ? r->now : NOW;

            if (t.not_before - now != r->nb || t.not_after - now != r->na)
                fail_msg("[%s] validity now%+lld..now%+lld, want now%+lld..now%+lld", r->rule,
                         (long long)(t.not_before - now), (long long)(t.not_after - now), (long long)r->nb,
                         (long long)r->na);
        }
        check_extra(r, &t);
    }
    hsmca_cert_template_clear(&t);
    hsmca_issue_request_clear(&req);
    hsmca_role_clear(&role);
    X509_REQ_free(csr);
    ERR_clear_error();
}

/* ---------------------------------------------------------------- table */

#define ANY       "{'allow_any_name':true}"
#define EXCOM_SUB "{'allowed_domains':'example.com','allow_subdomains':true}"

static const row rows[] = {
    /* ---- allowed_domains with allow_bare_domains / allow_subdomains / allow_glob_domains ---- */
    {.rule = "allow_subdomains: sub.example.com allowed under example.com",
     .role = EXCOM_SUB,
     .cn = "sub.example.com",
     .subject = "CN=sub.example.com",
     .sans = "DNS:sub.example.com",
     .extra = "nocrit;nowarn"},
    {.rule = "allow_subdomains: a.b.example.com (several labels deep) allowed",
     .role = EXCOM_SUB,
     .cn = "a.b.example.com",
     .sans = "DNS:a.b.example.com"},
    {.rule = "allow_subdomains false: sub.example.com denied",
     .role = "{'allowed_domains':'example.com'}",
     .cn = "sub.example.com",
     .err = "common_name 'sub.example.com' not allowed by role 'web'|allowed_domains "
            "[example.com]|allow_subdomains=false"},
    {.rule = "allow_bare_domains: example.com itself allowed",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true}",
     .cn = "example.com",
     .sans = "DNS:example.com"},
    {.rule = "allow_bare_domains false: example.com denied under allow_subdomains alone",
     .role = EXCOM_SUB,
     .cn = "example.com",
     .err = "common_name 'example.com'|allow_bare_domains=false"},
    {.rule = "allow_bare_domains: matched case-insensitively (strings.EqualFold)",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true}",
     .cn = "EXAMPLE.com",
     .subject = "CN=EXAMPLE.com",
     .sans = "DNS:EXAMPLE.com"},
    {.rule = "allow_subdomains: a suffix must end at a label boundary (badexample.com denied)",
     .role = EXCOM_SUB,
     .cn = "badexample.com",
     .err = "common_name 'badexample.com'|no match in allowed_domains"},
    {.rule = "allow_subdomains: suffix compared case-insensitively (RFC 4343)",
     .role = EXCOM_SUB,
     .cn = "Sub.Example.COM",
     .sans = "DNS:Sub.Example.COM"},
    {.rule = "allow_glob_domains: ftp*.example.com matches ftp01.example.com",
     .role = "{'allowed_domains':'ftp*.example.com','allow_glob_domains':true}",
     .cn = "ftp01.example.com",
     .sans = "DNS:ftp01.example.com"},
    {.rule = "allow_glob_domains: *.example.com spans labels (baz.bar.foo.example.com, documented)",
     .role = "{'allowed_domains':'*.example.com','allow_glob_domains':true}",
     .cn = "baz.bar.foo.example.com",
     .sans = "DNS:baz.bar.foo.example.com"},
    {.rule = "allow_glob_domains false: a glob entry is not expanded",
     .role = "{'allowed_domains':'ftp*.example.com'}",
     .cn = "ftp01.example.com",
     .err = "common_name 'ftp01.example.com'|allow_glob_domains=false"},
    {.rule = "allow_glob_domains: a name outside the glob is denied",
     .role = "{'allowed_domains':'ftp*.example.com','allow_glob_domains':true}",
     .cn = "www.example.com",
     .err = "common_name 'www.example.com'|no match in allowed_domains [ftp*.example.com]"},
    {.rule = "options are independent: foo.*.example.com + subdomains + glob does not allow "
             "bar.foo.baz.example.com (documented)",
     .role = "{'allowed_domains':'foo.*.example.com','allow_subdomains':true,'allow_glob_domains':true}",
     .cn = "bar.foo.baz.example.com",
     .err = "common_name 'bar.foo.baz.example.com'|no match"},
    {.rule = "options are independent: foo.baz.example.com matches the glob foo.*.example.com",
     .role = "{'allowed_domains':'foo.*.example.com','allow_subdomains':true,'allow_glob_domains':true}",
     .cn = "foo.baz.example.com",
     .sans = "DNS:foo.baz.example.com"},
    {.rule = "allowed_domains: any entry may match (second of a comma list)",
     .role = "{'allowed_domains':'example.com,foobar.com','allow_subdomains':true}",
     .cn = "a.foobar.com",
     .sans = "DNS:a.foobar.com"},
    {.rule = "allowed_domains: a JSON array works like the comma list",
     .role = "{'allowed_domains':['example.com','foobar.com'],'allow_subdomains':true}",
     .cn = "x.example.com",
     .sans = "DNS:x.example.com"},
    {.rule = "allowed_domains empty and allow_any_name false: every name denied",
     .cn = "www.example.com",
     .err = "common_name 'www.example.com'|allowed_domains is empty and allow_any_name is false"},
    {.rule = "allow_any_name: any host name allowed",
     .role = ANY,
     .cn = "anything.test",
     .sans = "DNS:anything.test"},
    {.rule = "allow_any_name: enforce_hostnames still applies (underscore denied)",
     .role = ANY,
     .cn = "foo_bar.example.com",
     .err = "common_name 'foo_bar.example.com'|enforce_hostnames"},
    {.rule = "enforce_hostnames false + allow_any_name: foo_bar.example.com CN allowed, kept out of the SANs",
     .role = "{'allow_any_name':true,'enforce_hostnames':false}",
     .cn = "foo_bar.example.com",
     .subject = "CN=foo_bar.example.com",
     .sans = ""},
    {.rule = "enforce_hostnames: a label starting with a hyphen is denied (RFC 1123)",
     .role = ANY,
     .cn = "-bad.example.com",
     .err = "common_name '-bad.example.com'|RFC 1123"},
    {.rule = "enforce_hostnames: a label ending with a hyphen is denied (RFC 1123)",
     .role = ANY,
     .alt = "bad-.example.com",
     .cn = "a.example.com",
     .err = "alt_names 'bad-.example.com'|enforce_hostnames"},
    {.rule = "DNS names: a label over 63 octets is refused (RFC 1035)",
     .role = "{'allow_any_name':true,'require_cn':false}",
     .alt = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
     .err = "alt_names 'aaaa|63 octets"},
    {.rule = "DNS names: more than 253 octets refused (RFC 1035)",
     .role = "{'allow_any_name':true,'require_cn':false}",
     .alt =
         "a123456789.b123456789.c123456789.d123456789.e123456789.f123456789.g123456789.h123456789.i123456789."
         "j123456789.k123456789.l123456789.m123456789.n123456789.o123456789.p123456789.q123456789.r123456789."
         "s123456789.t123456789.u123456789.v123456789.w123456789.example.com",
     .err = "alt_names|253 octets"},
    {.rule = "DNS names: an empty label (a..example.com) is refused",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "a..example.com",
     .err = "alt_names 'a..example.com' is not valid|empty label"},
    {.rule = "DNS names: a trailing dot is refused (RFC 5280 preferred name syntax)",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "www.example.com.",
     .err = "alt_names 'www.example.com.' is not valid|trailing dot"},

    /* ---- allow_wildcard_certificates and the four RFC 6125 forms ---- */
    {.rule = "allow_wildcard_certificates + allow_subdomains: *.example.com allowed",
     .role = EXCOM_SUB,
     .cn = "*.example.com",
     .subject = "CN=*.example.com",
     .sans = "DNS:*.example.com",
     .extra = "utf8cn"},
    {.rule = "RFC 6125 form x*: foo*.example.com allowed",
     .role = EXCOM_SUB,
     .cn = "foo*.example.com",
     .sans = "DNS:foo*.example.com"},
    {.rule = "RFC 6125 form *x: *foo.example.com allowed",
     .role = EXCOM_SUB,
     .cn = "*foo.example.com",
     .sans = "DNS:*foo.example.com"},
    {.rule = "RFC 6125 form x*y: f*o.example.com allowed",
     .role = EXCOM_SUB,
     .cn = "f*o.example.com",
     .sans = "DNS:f*o.example.com"},
    {.rule = "allow_wildcard_certificates false: *.example.com denied even with allow_any_name",
     .role = "{'allow_any_name':true,'allow_wildcard_certificates':false}",
     .cn = "*.example.com",
     .err = "common_name '*.example.com'|allow_wildcard_certificates is false"},
    {.rule = "allow_wildcard_certificates false: a wildcard in alt_names denied too",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'allow_wildcard_certificates':false}",
     .cn = "www.example.com",
     .alt = "*.example.com",
     .err = "alt_names '*.example.com'|allow_wildcard_certificates"},
    {.rule = "RFC 6125 6.4.3: two wildcard characters denied",
     .role = ANY,
     .cn = "*.*.example.com",
     .err = "common_name '*.*.example.com'|more than one wildcard"},
    {.rule = "RFC 6125 6.4.3: a wildcard outside the left-most label denied",
     .role = ANY,
     .cn = "www.*.example.com",
     .err = "common_name 'www.*.example.com'|left-most label"},
    {.rule = "wildcards: not in an email address",
     .role = ANY,
     .cn = "user@*.example.com",
     .err = "common_name 'user@*.example.com'|email address cannot hold a wildcard"},
    {.rule = "enforce_hostnames: wildcard label f*- is none of the four forms",
     .role = ANY,
     .cn = "f*-.example.com",
     .err = "common_name 'f*-.example.com'|RFC 6125 forms"},
    {.rule = "enforce_hostnames false: odd wildcard label allowed in the CN, not put in a dNSName",
     .role = "{'allow_any_name':true,'enforce_hostnames':false}",
     .cn = "f*-.example.com",
     .sans = "",
     .subject = "CN=f*-.example.com"},
    {.rule = "wildcards: a lone * covers no domain and is denied (hsmca)",
     .role = ANY,
     .cn = "*",
     .err = "common_name '*'|must be followed by a domain"},
    {.rule = "allow_bare_domains + wildcard allowed_domains entry issues *.example.com (documented)",
     .role = "{'allowed_domains':'*.example.com','allow_bare_domains':true}",
     .cn = "*.example.com",
     .sans = "DNS:*.example.com"},
    {.rule =
         "allow_glob_domains matches wildcard names: *.*.example.com allows *.foo.example.com (documented)",
     .role = "{'allowed_domains':'*.*.example.com','allow_glob_domains':true}",
     .cn = "*.foo.example.com",
     .sans = "DNS:*.foo.example.com"},
    {.rule = "allow_glob_domains + allow_wildcard_certificates false: *.foo.example.com denied",
     .role = "{'allowed_domains':'*.*.example.com','allow_glob_domains':true,'allow_wildcard_certificates':"
             "false}",
     .cn = "*.foo.example.com",
     .err = "common_name '*.foo.example.com'|allow_wildcard_certificates"},
    {.rule = "allow_subdomains: the wildcard of the domain itself (*.example.com) in alt_names",
     .role = EXCOM_SUB,
     .cn = "www.example.com",
     .alt = "*.example.com",
     .sans = "DNS:www.example.com,DNS:*.example.com"},
    {.rule = "allow_subdomains: a wildcard below a subdomain (*.a.example.com)",
     .role = EXCOM_SUB,
     .cn = "*.a.example.com",
     .sans = "DNS:*.a.example.com"},
    {.rule = "cabf_validity_limit: a partial-label wildcard (foo*.example.com) denied",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'cabf_validity_limit':true}",
     .cn = "foo*.example.com",
     .err = "common_name 'foo*.example.com'|cabf_validity_limit|whole left-most label"},
    {.rule = "cabf_validity_limit: a whole-label wildcard (*.example.com) allowed",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'cabf_validity_limit':true}",
     .cn = "*.example.com",
     .sans = "DNS:*.example.com"},

    /* ---- allow_localhost ---- */
    {.rule = "allow_localhost: localhost allowed with no allowed_domains",
     .cn = "localhost",
     .sans = "DNS:localhost"},
    {.rule = "allow_localhost: localdomain allowed", .cn = "localdomain", .sans = "DNS:localdomain"},
    {.rule = "allow_localhost false: localhost denied",
     .role = "{'allow_localhost':false}",
     .cn = "localhost",
     .err = "common_name 'localhost'|allow_localhost is false"},
    {.rule = "allow_localhost + allow_subdomains: foo.localhost allowed",
     .role = "{'allow_subdomains':true}",
     .cn = "foo.localhost",
     .sans = "DNS:foo.localhost"},
    {.rule = "allow_localhost without allow_subdomains: foo.localhost denied",
     .cn = "foo.localhost",
     .err = "common_name 'foo.localhost'|allowed_domains is empty"},
    {.rule = "allow_localhost: user@localhost email allowed",
     .cn = "user@localhost",
     .sans = "email:user@localhost"},
    {.rule = "allow_localhost false: localhost via allowed_domains + allow_bare_domains still issues "
             "(documented)",
     .role = "{'allow_localhost':false,'allowed_domains':'localhost','allow_bare_domains':true}",
     .cn = "localhost",
     .sans = "DNS:localhost"},

    /* ---- cn_validations ---- */
    {.rule = "cn_validations email,hostname: an email CN allowed and put in an rfc822Name",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true}",
     .cn = "user@example.com",
     .subject = "CN=user@example.com",
     .sans = "email:user@example.com"},
    {.rule = "cn_validations hostname only: an email CN denied",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'cn_validations':'hostname'}",
     .cn = "user@example.com",
     .err = "common_name 'user@example.com'|cn_validations does not include 'email'"},
    {.rule = "cn_validations email only: a host name CN denied",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'cn_validations':'email'}",
     .cn = "www.example.com",
     .err = "common_name 'www.example.com'|cn_validations does not include 'hostname'"},
    {.rule = "cn_validations email only: an email CN allowed",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'cn_validations':'email'}",
     .cn = "ops@example.com",
     .sans = "email:ops@example.com"},
    {.rule = "cn_validations disabled: a free-text CN is taken verbatim, not put in the SANs",
     .role = "{'cn_validations':'disabled'}",
     .cn = "My Service",
     .subject = "CN=My Service",
     .sans = "",
     .extra = "printcn"},
    {.rule = "cn_validations disabled: a host-name CN still meets allowed_domains as a DNS SAN",
     .role = "{'cn_validations':'disabled','allowed_domains':'example.com','allow_subdomains':true}",
     .cn = "evil.com",
     .err = "common_name 'evil.com' not allowed|no match in allowed_domains"},
    {.rule = "cn_validations disabled + exclude_cn_from_sans: the CN is not checked at all",
     .role = "{'cn_validations':'disabled','allowed_domains':'example.com','allow_subdomains':true}",
     .cn = "evil.com",
     .exclude_cn = true,
     .subject = "CN=evil.com",
     .sans = ""},
    {.rule = "cn_validations email: the address's domain is judged by allowed_domains",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'cn_validations':'email'}",
     .cn = "user@other.com",
     .err = "common_name 'user@other.com'|no match in allowed_domains"},
    {.rule = "email CN: exactly one '@'",
     .role = ANY,
     .cn = "a@b@example.com",
     .err = "common_name 'a@b@example.com' is not valid|exactly one '@'"},

    /* ---- require_cn, exclude_cn_from_sans, use_csr_common_name, use_csr_sans ---- */
    {.rule = "require_cn: a request without common_name is denied",
     .role = ANY,
     .alt = "www.example.com",
     .err = "common_name ''|the common_name field is required"},
    {.rule =
         "require_cn false: SAN-only certificate with an empty subject and a critical SAN (RFC 5280 4.2.1.6)",
     .role = "{'allow_any_name':true,'require_cn':false}",
     .alt = "www.example.com",
     .subject = "",
     .sans = "DNS:www.example.com",
     .extra = "crit"},
    {.rule = "require_cn false with no names at all: refused (RFC 5280 4.1.2.6)",
     .role = "{'allow_any_name':true,'require_cn':false}",
     .err = "names nothing|role 'web'"},
    {.rule = "require_cn false with a role organization: subject O only, no SAN needed",
     .role = "{'require_cn':false,'organization':'Acme'}",
     .subject = "O=Acme",
     .sans = "",
     .extra = "nocrit"},
    {.rule = "exclude_cn_from_sans: the CN stays out of the SANs",
     .role = ANY,
     .cn = "www.example.com",
     .exclude_cn = true,
     .subject = "CN=www.example.com",
     .sans = ""},
    {.rule = "exclude_cn_from_sans: the CN is still validated",
     .role = EXCOM_SUB,
     .cn = "evil.com",
     .exclude_cn = true,
     .err = "common_name 'evil.com'|no match"},
    {.rule = "use_csr_common_name: the CSR's CN replaces common_name",
     .role = ANY,
     .cn = "api.example.com",
     .csr = "cn=csr.example.com",
     .subject = "CN=csr.example.com",
     .sans = "DNS:csr.example.com"},
    {.rule = "use_csr_common_name false: common_name from the request",
     .role = "{'allow_any_name':true,'use_csr_common_name':false}",
     .cn = "api.example.com",
     .csr = "cn=csr.example.com",
     .subject = "CN=api.example.com",
     .sans = "DNS:api.example.com"},
    {.rule = "use_csr_common_name: a CSR without a CN falls back to common_name",
     .role = ANY,
     .cn = "api.example.com",
     .csr = "dns=x.example.com",
     .subject = "CN=api.example.com",
     .sans = "DNS:x.example.com,DNS:api.example.com"},
    {.rule = "use_csr_common_name: a CSR CN is validated like common_name",
     .role = EXCOM_SUB,
     .csr = "cn=evil.com",
     .err = "csr common name 'evil.com' not allowed"},
    {.rule = "use_csr_sans: the CSR's SANs are used and alt_names ignored",
     .role = ANY,
     .alt = "c.example.com",
     .csr = "cn=a.example.com|dns=b.example.com",
     .sans = "DNS:b.example.com,DNS:a.example.com"},
    {.rule = "use_csr_sans false: alt_names used and the CSR's SANs ignored",
     .role = "{'allow_any_name':true,'use_csr_sans':false}",
     .alt = "c.example.com",
     .csr = "cn=a.example.com|dns=b.example.com",
     .sans = "DNS:a.example.com,DNS:c.example.com"},
    {.rule = "use_csr_sans: a CSR dNSName is checked against allowed_domains",
     .role = EXCOM_SUB,
     .csr = "cn=a.example.com|dns=evil.com",
     .err = "csr dNSName 'evil.com' not allowed by role 'web'"},
    {.rule = "use_csr_sans: a CSR iPAddress with allow_ip_sans false denied",
     .role = "{'allow_any_name':true,'allow_ip_sans':false}",
     .csr = "cn=a.example.com|ip=10.0.0.1",
     .err = "csr iPAddress '10.0.0.1'|allow_ip_sans is false"},
    {.rule = "use_csr_sans: a CSR rfc822Name is kept after the DNS names",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'allow_bare_domains':true}",
     .csr = "cn=a.example.com|email=ops@example.com",
     .sans = "DNS:a.example.com,email:ops@example.com"},
    {.rule = "use_csr_sans: a CSR URI is checked against allowed_uri_sans and kept",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'spiffe://example.org/*'}",
     .csr = "cn=a.example.com|uri=spiffe://example.org/ns/x",
     .sans = "DNS:a.example.com,URI:spiffe://example.org/ns/x"},
    {.rule = "use_csr_sans: a CSR URI outside allowed_uri_sans denied",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'spiffe://example.org/*'}",
     .csr = "cn=a.example.com|uri=https://evil.example/",
     .err = "csr uniformResourceIdentifier 'https://evil.example/'|allowed_uri_sans"},
    {.rule = "CSR dNSName with an embedded NUL refused (a.com\\0.evil.com)",
     .role = ANY,
     .csr = "cn=a.example.com|dnsnul",
     .err = "csr dNSName|NUL"},
    {.rule = "CSR common name with an embedded NUL refused",
     .role = ANY,
     .csr = "cnnul",
     .err = "csr common name 'a.example.com' is not valid|NUL"},
    {.rule = "CSR otherName whose value is not a UTF8String refused (as OpenBao: no UTF-8 string found)",
     .role = "{'allow_any_name':true,'allowed_other_sans':'*'}",
     .csr = "cn=a.example.com|otheria5=1.2.3.4=x",
     .err = "csr otherName '1.2.3.4' is not valid|no UTF-8 string found"},
    {.rule = "use_csr_sans: a CSR rfc822Name outside allowed_domains denied",
     .role = "{'allowed_domains':'example.com','allow_subdomains':true,'allow_bare_domains':true}",
     .csr = "cn=a.example.com|email=x@evil.com",
     .err = "csr rfc822Name 'x@evil.com' not allowed"},
    {.rule = "use_csr_sans: a CSR IPv6 iPAddress kept, after DNS names",
     .role = ANY,
     .csr = "ip=2001:db8::2|cn=a.example.com",
     .sans = "DNS:a.example.com,IP:2001:db8::2(16)"},
    {.rule = "use_csr_sans: SAN types Go does not parse (directoryName) are dropped with a warning",
     .role = ANY,
     .csr = "cn=a.example.com|dirname",
     .sans = "DNS:a.example.com",
     .extra = "warn=were ignored during issuance"},
    {.rule = "CSR basicConstraints is ignored for a leaf, with OpenBao's warning",
     .role = ANY,
     .csr = "cn=a.example.com|bc",
     .sans = "DNS:a.example.com",
     .extra = "warn=Basic Constraints extension that was ignored;nobc"},
    {.rule = "CSR UTF-8 otherName checked against allowed_other_sans and put first",
     .role = "{'allow_any_name':true,'allowed_other_sans':'1.3.6.1.4.1.311.20.2.3;UTF8:*@example.com'}",
     .csr = "cn=a.example.com|other=1.3.6.1.4.1.311.20.2.3=dev@example.com",
     .sans = "other:1.3.6.1.4.1.311.20.2.3;UTF8:dev@example.com,DNS:a.example.com"},
    {.rule = "CSR serialNumber used when the request gives none",
     .role = "{'allow_any_name':true,'allowed_serial_numbers':'SN*'}",
     .csr = "cn=a.example.com|serial=SN42",
     .subject = "CN=a.example.com,serialNumber=SN42"},
    {.rule = "CSR UID used when user_ids is absent",
     .role = "{'allow_any_name':true,'allowed_user_ids':'jdoe'}",
     .csr = "cn=a.example.com|uid=jdoe",
     .subject = "CN=a.example.com,UID=jdoe"},
    {.rule = "request user_ids override the CSR's UIDs",
     .role = "{'allow_any_name':true,'allowed_user_ids':'alice'}",
     .uids = "alice",
     .csr = "cn=a.example.com|uid=jdoe",
     .subject = "CN=a.example.com,UID=alice"},
    {.rule = "CSR UID not in allowed_user_ids denied",
     .role = "{'allow_any_name':true,'allowed_user_ids':'alice'}",
     .csr = "cn=a.example.com|uid=mallory",
     .err = "csr UID 'mallory'|no match in allowed_user_ids"},

    /* ---- allow_ip_sans ---- */
    {.rule = "allow_ip_sans (default true): an IPv4 SAN after the DNS names",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "10.0.0.1",
     .sans = "DNS:a.example.com,IP:10.0.0.1"},
    {.rule = "allow_ip_sans: an IPv6 SAN (16 octets)",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "2001:db8::1",
     .sans = "DNS:a.example.com,IP:2001:db8::1(16)"},
    {.rule = "allow_ip_sans: an IPv4-mapped IPv6 address is encoded in 4 octets (Go net.IP.To4)",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "::ffff:192.0.2.1",
     .sans = "DNS:a.example.com,IP:192.0.2.1"},
    {.rule = "allow_ip_sans false: ip_sans denied",
     .role = "{'allow_any_name':true,'allow_ip_sans':false}",
     .cn = "a.example.com",
     .ips = "10.0.0.1",
     .err = "ip_sans '10.0.0.1'|allow_ip_sans is false"},
    {.rule = "ip_sans: not an address (octet 256) refused",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "10.0.0.256",
     .err = "ip_sans '10.0.0.256' is not valid"},
    {.rule = "ip_sans: an IPv4 octet with a leading zero refused (ambiguous octal)",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "010.0.0.1",
     .err = "ip_sans '010.0.0.1' is not valid"},
    {.rule = "ip_sans: an IPv6 zone suffix refused",
     .role = ANY,
     .cn = "a.example.com",
     .ips = "fe80::1%eth0",
     .err = "ip_sans 'fe80::1%eth0' is not valid"},
    {.rule = "alt_names: an address-looking entry is a dNSName, as in OpenBao",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "10.0.0.1",
     .sans = "DNS:a.example.com,DNS:10.0.0.1"},

    /* ---- allowed_uri_sans ---- */
    {.rule = "allowed_uri_sans glob: spiffe://example.org/* allows spiffe://example.org/ns/prod",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'spiffe://example.org/*'}",
     .cn = "a.example.com",
     .uris = "spiffe://example.org/ns/prod",
     .sans = "DNS:a.example.com,URI:spiffe://example.org/ns/prod"},
    {.rule = "allowed_uri_sans: a URI outside every glob denied",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'spiffe://example.org/*'}",
     .cn = "a.example.com",
     .uris = "spiffe://evil.org/x",
     .err = "uri_sans 'spiffe://evil.org/x'|no match in allowed_uri_sans"},
    {.rule = "allowed_uri_sans empty: every URI SAN denied",
     .role = ANY,
     .cn = "a.example.com",
     .uris = "https://example.com/",
     .err = "uri_sans 'https://example.com/'|allowed_uri_sans is empty"},
    {.rule = "allowed_uri_sans: an exact entry",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'https://example.com/a'}",
     .cn = "a.example.com",
     .uris = "https://example.com/a",
     .sans = "DNS:a.example.com,URI:https://example.com/a"},
    {.rule = "allowed_uri_sans '*': still an absolute URI with a scheme (RFC 5280 4.2.1.6)",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'*'}",
     .cn = "a.example.com",
     .uris = "not a uri",
     .err = "uri_sans 'not a uri' is not valid|scheme"},
    {.rule = "allowed_uri_sans '*': a URN allowed",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'*'}",
     .cn = "a.example.com",
     .uris = "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
     .sans = "DNS:a.example.com,URI:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
    {.rule = "allowed_uri_sans globs are case-sensitive (go-glob)",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'spiffe://Example.org/*'}",
     .cn = "a.example.com",
     .uris = "spiffe://example.org/x",
     .err = "uri_sans 'spiffe://example.org/x'|no match"},
    {.rule = "allowed_uri_sans_template: a template entry needs an identity and matches nothing",
     .role = "{'allow_any_name':true,'allowed_uri_sans_template':true,'allowed_uri_sans':'spiffe://"
             "{{identity.entity.name}}/*'}",
     .cn = "a.example.com",
     .uris = "spiffe://{{identity.entity.name}}/x",
     .err = "uri_sans|no match in allowed_uri_sans"},

    /* ---- allowed_other_sans ---- */
    {.rule = "allowed_other_sans: an exact value (type written utf8)",
     .role = "{'allow_any_name':true,'allowed_other_sans':'1.3.6.1.4.1.311.20.2.3;utf8:devops@example.com'}",
     .cn = "a.example.com",
     .others = "1.3.6.1.4.1.311.20.2.3;UTF8:devops@example.com",
     .sans = "other:1.3.6.1.4.1.311.20.2.3;UTF8:devops@example.com,DNS:a.example.com"},
    {.rule = "allowed_other_sans: value * allows any value of that OID (type UTF-8)",
     .role = "{'allow_any_name':true,'allowed_other_sans':'1.3.6.1.4.1.311.20.2.4;UTF-8:*'}",
     .cn = "a.example.com",
     .others = "1.3.6.1.4.1.311.20.2.4;utf-8:anything, with a comma",
     .sans = "other:1.3.6.1.4.1.311.20.2.4;UTF8:anything, with a comma,DNS:a.example.com"},
    {.rule = "allowed_other_sans: a lone * allows any OID",
     .role = "{'allow_any_name':true,'allowed_other_sans':'*'}",
     .cn = "a.example.com",
     .others = "1.2.3.4;UTF8:x|1.2.3.5;UTF8:y",
     .sans = "other:1.2.3.4;UTF8:x,other:1.2.3.5;UTF8:y,DNS:a.example.com"},
    {.rule = "allowed_other_sans: an OID not listed is denied",
     .role = "{'allow_any_name':true,'allowed_other_sans':'1.3.6.1.4.1.311.20.2.3;UTF8:*'}",
     .cn = "a.example.com",
     .others = "1.2.3.4;UTF8:x",
     .err = "other_sans '1.2.3.4;UTF8:x'|other SAN OID 1.2.3.4 not allowed"},
    {.rule = "allowed_other_sans: a value outside the glob is denied",
     .role = "{'allow_any_name':true,'allowed_other_sans':'1.3.6.1.4.1.311.20.2.3;UTF8:*@example.com'}",
     .cn = "a.example.com",
     .others = "1.3.6.1.4.1.311.20.2.3;UTF8:root@evil.com",
     .err = "other_sans '1.3.6.1.4.1.311.20.2.3;UTF8:root@evil.com'|value not allowed for OID"},
    {.rule = "other_sans: only UTF8 values exist",
     .role = "{'allow_any_name':true,'allowed_other_sans':'*'}",
     .cn = "a.example.com",
     .others = "1.2.3.4;IA5:x",
     .err = "other_sans '1.2.3.4;IA5:x' is not valid|UTF8"},
    {.rule = "allowed_other_sans empty: every other SAN denied",
     .role = ANY,
     .cn = "a.example.com",
     .others = "1.2.3.4;UTF8:x",
     .err = "other_sans '1.2.3.4;UTF8:x'|not allowed by allowed_other_sans"},
    {.rule = "other_sans: the OID must be dotted decimal",
     .role = "{'allow_any_name':true,'allowed_other_sans':'*'}",
     .cn = "a.example.com",
     .others = "1.2.x;UTF8:v",
     .err = "other_sans '1.2.x;UTF8:v' is not valid|OID"},

    /* ---- allowed_user_ids ---- */
    {.rule = "allowed_user_ids: exact match, case-insensitive (StrListContainsCaseInsensitive)",
     .role = "{'allow_any_name':true,'allowed_user_ids':'jdoe'}",
     .cn = "a.example.com",
     .uids = "JDoe",
     .subject = "CN=a.example.com,UID=JDoe"},
    {.rule = "allowed_user_ids: a glob",
     .role = "{'allow_any_name':true,'allowed_user_ids':'svc-*'}",
     .cn = "a.example.com",
     .uids = "svc-web",
     .subject = "CN=a.example.com,UID=svc-web"},
    {.rule = "allowed_user_ids '*': any user ID",
     .role = "{'allow_any_name':true,'allowed_user_ids':'*'}",
     .cn = "a.example.com",
     .uids = "anyone",
     .subject = "CN=a.example.com,UID=anyone"},
    {.rule = "allowed_user_ids empty: user_ids denied",
     .role = ANY,
     .cn = "a.example.com",
     .uids = "jdoe",
     .err = "user_ids 'jdoe'|allowed_user_ids is empty"},
    {.rule = "allowed_user_ids: a user ID outside the list denied",
     .role = "{'allow_any_name':true,'allowed_user_ids':'alice,bob'}",
     .cn = "a.example.com",
     .uids = "carol",
     .err = "user_ids 'carol'|no match in allowed_user_ids"},
    {.rule = "user_ids: each value is its own UID RDN, after the CN",
     .role = "{'allow_any_name':true,'allowed_user_ids':'*'}",
     .cn = "a.example.com",
     .uids = "a,b",
     .subject = "CN=a.example.com,UID=a,UID=b"},

    /* ---- allowed_serial_numbers (subject serialNumber) ---- */
    {.rule = "allowed_serial_numbers empty: serial_number denied",
     .role = ANY,
     .cn = "a.example.com",
     .serial = "ABC123",
     .err = "serial_number 'ABC123'|allowed_serial_numbers is empty"},
    {.rule = "allowed_serial_numbers: an exact value",
     .role = "{'allow_any_name':true,'allowed_serial_numbers':'ABC123'}",
     .cn = "a.example.com",
     .serial = "ABC123",
     .subject = "CN=a.example.com,serialNumber=ABC123"},
    {.rule = "allowed_serial_numbers: a glob",
     .role = "{'allow_any_name':true,'allowed_serial_numbers':'ABC*'}",
     .cn = "a.example.com",
     .serial = "ABC999",
     .subject = "CN=a.example.com,serialNumber=ABC999"},
    {.rule = "allowed_serial_numbers: globs are case-sensitive",
     .role = "{'allow_any_name':true,'allowed_serial_numbers':'abc*'}",
     .cn = "a.example.com",
     .serial = "ABC1",
     .err = "serial_number 'ABC1'|no match in allowed_serial_numbers"},
    {.rule = "serial_number: a PrintableString (RFC 5280 Appendix A.1)",
     .role = "{'allow_any_name':true,'allowed_serial_numbers':'*'}",
     .cn = "a.example.com",
     .serial = "AB_1",
     .err = "serial_number 'AB_1' is not valid|PrintableString"},

    /* ---- key_type / key_bits ---- */
    {.rule = "key_type rsa: an RSA 2048 CSR allowed",
     .csr = "cn=a.example.com",
     .role = ANY,
     .key = "rsa2048",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type rsa: an EC key denied",
     .role = ANY,
     .cn = "a.example.com",
     .key = "ec256",
     .err = "key 'EC P-256' not allowed by role 'web'|role requires keys of type rsa"},
    {.rule = "key_type rsa (key_bits 2048): RSA 1024 denied",
     .role = ANY,
     .cn = "a.example.com",
     .key = "rsa1024",
     .err = "key 'RSA 1024-bit'|2048"},
    {.rule = "key_type rsa key_bits 3072: RSA 2048 denied as below the minimum",
     .role = "{'allow_any_name':true,'key_bits':3072}",
     .cn = "a.example.com",
     .key = "rsa2048",
     .err = "key 'RSA 2048-bit'|key_bits: role requires a minimum of a 3072-bit key"},
    {.rule = "key_type rsa key_bits 3072: RSA 3072 allowed",
     .role = "{'allow_any_name':true,'key_bits':3072}",
     .cn = "a.example.com",
     .key = "rsa3072",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ec (default 256): P-256 allowed",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .cn = "a.example.com",
     .key = "ec256",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ec (default 256): P-224 denied as below the minimum",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .cn = "a.example.com",
     .key = "ec224",
     .err = "key 'EC P-224'|minimum of a 256-bit key"},
    {.rule = "key_type ec key_bits 224: P-224 allowed",
     .role = "{'allow_any_name':true,'key_type':'ec','key_bits':224}",
     .cn = "a.example.com",
     .key = "ec224",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ec key_bits 384: P-256 denied",
     .role = "{'allow_any_name':true,'key_type':'ec','key_bits':384}",
     .cn = "a.example.com",
     .key = "ec256",
     .err = "key 'EC P-256'|minimum of a 384-bit key"},
    {.rule = "key_type ec key_bits 256 is a minimum: P-521 allowed",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .cn = "a.example.com",
     .key = "ec521",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ec key_bits 384: P-384 CSR allowed",
     .role = "{'allow_any_name':true,'key_type':'ec','key_bits':384}",
     .csr = "cn=a.example.com",
     .key = "ec384",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ec: secp256k1 denied (NIST P-curves only)",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .cn = "a.example.com",
     .key = "k256",
     .err = "key 'secp256k1'|P-224, P-256, P-384 or P-521"},
    {.rule = "key_type ed25519: an Ed25519 CSR allowed",
     .role = "{'allow_any_name':true,'key_type':'ed25519'}",
     .csr = "cn=a.example.com",
     .key = "ed25519",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type ed25519: an RSA key denied",
     .role = "{'allow_any_name':true,'key_type':'ed25519'}",
     .cn = "a.example.com",
     .key = "rsa2048",
     .err = "key 'RSA 2048-bit'|role requires keys of type ed25519"},
    {.rule = "key_type any: RSA 2048 allowed",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .csr = "cn=a.example.com",
     .key = "rsa2048",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type any: RSA 1024 denied (OpenBao's 2048 floor)",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .csr = "cn=a.example.com",
     .key = "rsa1024",
     .err = "csr key 'RSA 1024-bit'|RSA keys < 2048 bits"},
    {.rule = "key_type any: P-224 allowed (OpenBao's 224 floor)",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .csr = "cn=a.example.com",
     .key = "ec224",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type any: Ed25519 allowed",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .csr = "cn=a.example.com",
     .key = "ed25519",
     .sans = "DNS:a.example.com"},
    {.rule = "key_type any: Ed448 denied (not an OpenBao key type)",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .csr = "cn=a.example.com",
     .key = "ed448",
     .err = "csr key 'ED448'|only rsa, ec and ed25519"},
    {.rule = "key_type any: an RSASSA-PSS subject key denied, as in OpenBao",
     .role = "{'allow_any_name':true,'key_type':'any'}",
     .cn = "a.example.com",
     .key = "rsapss",
     .err = "key 'RSA-PSS'|only rsa, ec and ed25519"},
    {.rule = "key_type ec: the CSR's key is what is checked on sign",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .csr = "cn=a.example.com",
     .key = "rsa2048",
     .err = "csr key 'RSA 2048-bit'|role requires keys of type ec"},

    /* ---- signature_bits, use_pss ---- */
    {.rule = "signature_bits: an RSA role stores 256 by default",
     .role = ANY,
     .cn = "a.example.com",
     .extra = "sig=256;nopss"},
    {.rule = "signature_bits 384 is carried to the template",
     .role = "{'allow_any_name':true,'signature_bits':384}",
     .cn = "a.example.com",
     .extra = "sig=384"},
    {.rule = "signature_bits 512 is carried to the template",
     .role = "{'allow_any_name':true,'signature_bits':'512'}",
     .cn = "a.example.com",
     .extra = "sig=512"},
    {.rule = "use_pss is carried to the template",
     .role = "{'allow_any_name':true,'use_pss':true}",
     .cn = "a.example.com",
     .extra = "pss"},
    {.rule = "key_type ec: signature_bits 0, the issuer's curve decides",
     .role = "{'allow_any_name':true,'key_type':'ec'}",
     .cn = "a.example.com",
     .key = "ec256",
     .extra = "sig=0"},

    /* ---- key_usage, ext_key_usage, the four flags, ext_key_usage_oids, policies ---- */
    {.rule = "key_usage default: DigitalSignature, KeyAgreement, KeyEncipherment",
     .role = ANY,
     .cn = "a.example.com",
     .ku = "DigitalSignature,KeyEncipherment,KeyAgreement"},
    {.rule = "key_usage empty list: no keyUsage extension",
     .role = "{'allow_any_name':true,'key_usage':[]}",
     .cn = "a.example.com",
     .ku = ""},
    {.rule = "key_usage names are case-insensitive",
     .role = "{'allow_any_name':true,'key_usage':'digitalsignature,CONTENTCOMMITMENT'}",
     .cn = "a.example.com",
     .ku = "DigitalSignature,ContentCommitment"},
    {.rule = "key_usage: every Go name maps to its RFC 5280 bit",
     .role =
         "{'allow_any_name':true,'key_usage':'DataEncipherment,CertSign,CRLSign,EncipherOnly,DecipherOnly'}",
     .cn = "a.example.com",
     .ku = "DataEncipherment,CertSign,CRLSign,EncipherOnly,DecipherOnly"},
    {.rule = "server_flag + client_flag (defaults): serverAuth, clientAuth",
     .role = ANY,
     .cn = "a.example.com",
     .eku = "serverAuth,clientAuth"},
    {.rule = "server_flag false: clientAuth only",
     .role = "{'allow_any_name':true,'server_flag':false}",
     .cn = "a.example.com",
     .eku = "clientAuth"},
    {.rule = "client_flag false: serverAuth only",
     .role = "{'allow_any_name':true,'client_flag':false}",
     .cn = "a.example.com",
     .eku = "serverAuth"},
    {.rule = "all four flags: server, client, code signing, email protection",
     .role = "{'allow_any_name':true,'code_signing_flag':true,'email_protection_flag':true}",
     .cn = "a.example.com",
     .eku = "serverAuth,clientAuth,codeSigning,emailProtection"},
    {.rule = "flags off + ext_key_usage TimeStamping: only timeStamping",
     .role = "{'allow_any_name':true,'server_flag':false,'client_flag':false,'ext_key_usage':'TimeStamping'}",
     .cn = "a.example.com",
     .eku = "timeStamping"},
    {.rule = "ext_key_usage adds to the flags, which default true (documented)",
     .role = "{'allow_any_name':true,'ext_key_usage':'CodeSigning'}",
     .cn = "a.example.com",
     .eku = "serverAuth,clientAuth,codeSigning"},
    {.rule = "ext_key_usage_oids come after the named usages",
     .role = "{'allow_any_name':true,'server_flag':false,'client_flag':false,'ext_key_usage':'OCSPSigning',"
             "'ext_key_usage_oids':'1.3.6.1.4.1.99999.1'}",
     .cn = "a.example.com",
     .eku = "OCSPSigning,1.3.6.1.4.1.99999.1"},
    {.rule = "every flag false and no lists: no extendedKeyUsage",
     .role = "{'allow_any_name':true,'server_flag':false,'client_flag':false}",
     .cn = "a.example.com",
     .eku = ""},
    {.rule = "ext_key_usage_oids repeating a flag's OID encodes it once",
     .role = "{'allow_any_name':true,'ext_key_usage_oids':'1.3.6.1.5.5.7.3.1'}",
     .cn = "a.example.com",
     .eku = "serverAuth,clientAuth"},
    {.rule = "ext_key_usage Any comes first, in Go's ExtKeyUsage order",
     .role = "{'allow_any_name':true,'ext_key_usage':'ServerAuth,Any'}",
     .cn = "a.example.com",
     .eku = "anyExtendedKeyUsage,serverAuth,clientAuth"},
    {.rule = "ext_key_usage: IPsec, Microsoft and Netscape names",
     .role = "{'allow_any_name':true,'server_flag':false,'client_flag':false,'ext_key_usage':"
             "'IPSECEndSystem,IPSECTunnel,IPSECUser,MicrosoftServerGatedCrypto,NetscapeServerGatedCrypto,"
             "MicrosoftCommercialCodeSigning,MicrosoftKernelCodeSigning'}",
     .cn = "a.example.com",
     .eku = "ipsecEndSystem,ipsecTunnel,ipsecUser,msSGC,nsSGC,msCodeCom,1.3.6.1.4.1.311.61.1.1"},
    {.rule = "policy_identifiers become certificatePolicies OIDs",
     .role = "{'allow_any_name':true,'policy_identifiers':'1.3.6.1.4.1.44947.1.2.4,2.23.140.1.2.1'}",
     .cn = "a.example.com",
     .extra = "pol=1.3.6.1.4.1.44947.1.2.4,2.23.140.1.2.1"},
    {.rule = "policy_identifiers empty: no certificatePolicies",
     .role = ANY,
     .cn = "a.example.com",
     .extra = "pol="},
    {.rule = "basic_constraints_valid_for_non_ca: basicConstraints CA:FALSE added",
     .role = "{'allow_any_name':true,'basic_constraints_valid_for_non_ca':true}",
     .cn = "a.example.com",
     .extra = "bc"},
    {.rule = "basic_constraints_valid_for_non_ca false (default): no basicConstraints",
     .role = ANY,
     .cn = "a.example.com",
     .extra = "nobc;store"},
    {.rule = "no_store is carried to the template",
     .role = "{'allow_any_name':true,'no_store':true}",
     .cn = "a.example.com",
     .extra = "nostore"},

    /* ---- subject fields from the role ---- */
    {.rule =
         "subject: country, province, locality, street_address, postal_code, organization, ou in Go's order",
     .role =
         "{'allow_any_name':true,'ou':'Eng','organization':'Acme','country':'US','locality':'San Francisco',"
         "'province':'CA','street_address':'1 Main St','postal_code':'94105'}",
     .cn = "a.example.com",
     .subject =
         "C=US,ST=CA,L=San Francisco,street=1 Main St,postalCode=94105,O=Acme,OU=Eng,CN=a.example.com"},
    {.rule = "subject: several values of one role field form one multi-valued RDN",
     .role = "{'allow_any_name':true,'ou':'Eng,Ops'}",
     .cn = "a.example.com",
     .subject = "OU=Eng+OU=Ops,CN=a.example.com"},
    {.rule = "subject: duplicate role values are written once",
     .role = "{'allow_any_name':true,'organization':'Acme,Acme'}",
     .cn = "a.example.com",
     .subject = "O=Acme,CN=a.example.com"},
    {.rule = "subject: non-PrintableString text becomes UTF8String",
     .role = "{'allow_any_name':true,'organization':'Müller GmbH','cn_validations':'disabled'}",
     .cn = "Zoë's Service",
     .subject = "O=Müller GmbH,CN=Zoë's Service",
     .extra = "utf8cn"},
    {.rule = "subject: country must be a two-letter code (role write, RFC 5280 Appendix A.1)",
     .role = "{'country':'USA'}",
     .err = "country value 'USA'"},
    {.rule = "common_name: more than 64 characters refused (ub-common-name)",
     .role = "{'cn_validations':'disabled'}",
     .cn = "This common name is much longer than sixty-four characters, alas!!",
     .err = "common_name|ub-common-name"},
    {.rule = "common_name: exactly 64 characters allowed (ub-common-name)",
     .role = "{'cn_validations':'disabled'}",
     .cn = "This common name is exactly sixty-four characters long, honestly",
     .subject = "CN=This common name is exactly sixty-four characters long, honestly",
     .sans = ""},
    {.rule = "common_name: 64 characters of UTF-8 allowed (counted in characters, not bytes)",
     .role = "{'cn_validations':'disabled'}",
     .cn = "éééééééééééééééé"
           "éééééééééééééééé"
           "éééééééééééééééé"
           "éééééééééééééééé",
     .sans = "",
     .extra = "utf8cn"},
    {.rule = "alt_names: invalid UTF-8 refused",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "\xc3\x28.example.com",
     .err = "alt_names '\\xc3(.example.com' is not valid|UTF-8"},
    {.rule = "DNS names: 253 octets with 63-octet labels allowed (RFC 1035 limits are inclusive)",
     .role = "{'allow_any_name':true,'require_cn':false}",
     .alt = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
            "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
            "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
     .sans = "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
             "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
             "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
     .extra = "crit"},
    {.rule = "common_name: invalid UTF-8 refused",
     .role = "{'cn_validations':'disabled'}",
     .cn = "caf\xe9",
     .err = "common_name 'caf\\xe9' is not valid|UTF-8"},

    /* ---- internationalised names ---- */
    {.rule = "IDN: a U-label CN keeps its text in the subject, the SAN gets the A-label (RFC 5890)",
     .role = ANY,
     .cn = "bücher.example",
     .subject = "CN=bücher.example",
     .sans = "DNS:xn--bcher-kva.example"},
    {.rule = "IDN: a U-label allowed_domains entry matches the A-label request",
     .role = "{'allowed_domains':'bücher.example','allow_subdomains':true}",
     .cn = "www.bücher.example",
     .sans = "DNS:www.xn--bcher-kva.example"},
    {.rule = "IDN: an A-label allowed_domains entry matches a U-label alt_names entry",
     .role = "{'allowed_domains':'xn--bcher-kva.example','allow_subdomains':true,'require_cn':false}",
     .alt = "shop.bücher.example",
     .sans = "DNS:shop.xn--bcher-kva.example"},
    {.rule = "IDN: invalid punycode in an A-label refused",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "xn--zz-.example",
     .err = "alt_names 'xn--zz-.example' is not valid|IDNA2008"},
    {.rule = "IDN: a wildcard label must be ASCII",
     .role = ANY,
     .cn = "*ü.example.com",
     .err = "common_name '*ü.example.com'|enforce_hostnames|ASCII"},
    {.rule = "IDN: an email domain is converted to A-labels",
     .role = ANY,
     .cn = "user@bücher.example",
     .sans = "email:user@xn--bcher-kva.example"},
    {.rule = "email: a non-ASCII local part refused (rfc822Name is IA5String)",
     .role = ANY,
     .cn = "jörg@example.com",
     .err = "common_name 'jörg@example.com' is not valid|IA5|local part"},

    /* ---- ttl, max_ttl, not_after, not_before_duration, leaf_not_after_behavior ---- */
    {.rule = "ttl: none given, the mount default (768h) applies and NotBefore is now-30s",
     .role = ANY,
     .cn = "a.example.com",
     .times = true,
     .nb = -30,
     .na = SYS_TTL,
     .extra = "nowarn"},
    {.rule = "ttl: the request's ttl",
     .role = ANY,
     .cn = "a.example.com",
     .ttl = 3600,
     .times = true,
     .nb = -30,
     .na = 3600},
    {.rule = "ttl: the role's ttl when the request has none",
     .role = "{'allow_any_name':true,'ttl':'72h'}",
     .cn = "a.example.com",
     .times = true,
     .nb = -30,
     .na = 259200},
    {.rule = "max_ttl: a longer request ttl is capped, with OpenBao's warning",
     .role = "{'allow_any_name':true,'max_ttl':'1h'}",
     .cn = "a.example.com",
     .ttl = 7200,
     .times = true,
     .nb = -30,
     .na = 3600,
     .extra = "warn=TTL \"2h0m0s\" is longer than permitted maxTTL \"1h0m0s\""},
    {.rule = "max_ttl unset: a role ttl beyond the mount maximum is capped to it",
     .role = "{'allow_any_name':true,'ttl':'800h'}",
     .cn = "a.example.com",
     .times = true,
     .nb = -30,
     .na = SYS_TTL,
     .extra = "warn=maxTTL"},
    {.rule = "not_after: an RFC 3339 date from the request",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "2025-06-01T00:00:00Z",
     .times = true,
     .nb = -30,
     .na = 13046400},
    {.rule = "not_after 9999-12-31T23:59:59Z with leaf_not_after_behavior permit",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "9999-12-31T23:59:59Z",
     .behavior = HSMCA_NOT_AFTER_PERMIT,
     .times = true,
     .nb = -30,
     .na = INT64_C(251666611199)},
    {.rule = "not_after 9999-12-31T23:59:59Z with err: beyond the issuer, denied",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "9999-12-31T23:59:59Z",
     .err = "not_after '9999-12-31T23:59:59Z'|beyond the expiration of the CA certificate"},
    {.rule = "not_after 9999-12-31T23:59:59Z with truncate: the issuer's notAfter",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "9999-12-31T23:59:59Z",
     .behavior = HSMCA_NOT_AFTER_TRUNCATE,
     .times = true,
     .nb = -30,
     .na = TEN_YEARS},
    {.rule = "ttl and not_after together are refused",
     .role = ANY,
     .cn = "a.example.com",
     .ttl = 3600,
     .not_after = "2025-06-01T00:00:00Z",
     .err = "ttl|Either ttl or not_after should be provided"},
    {.rule = "role not_after wins over the request's not_after",
     .role = "{'allow_any_name':true,'not_after':'2025-03-01T00:00:00Z'}",
     .cn = "a.example.com",
     .not_after = "2025-06-01T00:00:00Z",
     .times = true,
     .nb = -30,
     .na = 5097600},
    {.rule = "role not_after and a request ttl are refused together",
     .role = "{'allow_any_name':true,'not_after':'2025-03-01T00:00:00Z'}",
     .cn = "a.example.com",
     .ttl = 60,
     .err = "Either ttl or not_after|role not_after is 2025-03-01T00:00:00Z"},
    {.rule = "not_after: not RFC 3339 refused",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "2025-06-01",
     .err = "not_after|RFC 3339"},
    {.rule = "not_after in the past: Not Before later than Not After",
     .role = ANY,
     .cn = "a.example.com",
     .not_after = "2024-01-01T00:00:00Z",
     .err = "not_after '2024-01-01T00:00:00Z'|later than the certificate's Not After"},
    {.rule = "not_before_duration 1h backdates NotBefore by an hour",
     .role = "{'allow_any_name':true,'not_before_duration':'1h'}",
     .cn = "a.example.com",
     .times = true,
     .nb = -3600,
     .na = SYS_TTL},
    {.rule = "not_before_duration 0 keeps certutil's 30 s backdate",
     .role = "{'allow_any_name':true,'not_before_duration':0}",
     .cn = "a.example.com",
     .times = true,
     .nb = -30,
     .na = SYS_TTL},
    {.rule = "leaf_not_after_behavior err: a leaf outliving the issuer is denied",
     .role = ANY,
     .cn = "a.example.com",
     .issuer_life = 3600,
     .err = "ttl|beyond the expiration of the CA certificate|leaf_not_after_behavior is err"},
    {.rule = "leaf_not_after_behavior truncate: notAfter cut to the issuer's",
     .role = ANY,
     .cn = "a.example.com",
     .issuer_life = 3600,
     .behavior = HSMCA_NOT_AFTER_TRUNCATE,
     .times = true,
     .nb = -30,
     .na = 3600},
    {.rule = "leaf_not_after_behavior permit: notAfter past the issuer's kept",
     .role = ANY,
     .cn = "a.example.com",
     .issuer_life = 3600,
     .behavior = HSMCA_NOT_AFTER_PERMIT,
     .times = true,
     .nb = -30,
     .na = SYS_TTL},
    {.rule = "cabf_validity_limit: exactly 398 days allowed before 2026-03-15 (BR 6.3.2)",
     .role = "{'allow_any_name':true,'max_ttl':'9600h','cabf_validity_limit':true}",
     .cn = "a.example.com",
     .ttl = 34387169,
     .times = true,
     .nb = -30,
     .na = 34387169},
    {.rule = "cabf_validity_limit: one second over 398 days denied",
     .role = "{'allow_any_name':true,'max_ttl':'9600h','cabf_validity_limit':true}",
     .cn = "a.example.com",
     .ttl = 34387170,
     .err = "ttl|cabf_validity_limit|398 days"},
    {.rule = "cabf_validity_limit: 200 days from 2026-03-15",
     .role = "{'allow_any_name':true,'max_ttl':'9600h','cabf_validity_limit':true}",
     .cn = "a.example.com",
     .ttl = 17279970,
     .now = Y2027,
     .err = "cabf_validity_limit|200 days"},
    {.rule = "cabf_validity_limit: 47 days from 2029-03-15 (exactly 47 allowed)",
     .role = "{'allow_any_name':true,'max_ttl':'9600h','cabf_validity_limit':true}",
     .cn = "a.example.com",
     .ttl = 4060769,
     .now = Y2030,
     .times = true,
     .nb = -30,
     .na = 4060769},
    {.rule = "cabf_validity_limit false: 399 days allowed",
     .role = "{'allow_any_name':true,'max_ttl':'9600h'}",
     .cn = "a.example.com",
     .ttl = 399 * 86400,
     .times = true,
     .nb = -30,
     .na = 399 * 86400},

    /* ---- alt_names and SAN assembly ---- */
    {.rule = "alt_names: an email address becomes an rfc822Name after the DNS names",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'allow_subdomains':true}",
     .cn = "www.example.com",
     .alt = "ops@example.com",
     .sans = "DNS:www.example.com,email:ops@example.com"},
    {.rule = "alt_names: an email address outside allowed_domains denied",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'allow_subdomains':true}",
     .cn = "www.example.com",
     .alt = "ops@evil.com",
     .err = "alt_names 'ops@evil.com' not allowed|no match"},
    {.rule = "alt_names: a DNS name outside allowed_domains denied",
     .role = EXCOM_SUB,
     .cn = "www.example.com",
     .alt = "api.example.com,evil.org",
     .err = "alt_names 'evil.org' not allowed by role 'web'"},
    {.rule = "DNS SANs: the CN repeated in alt_names (any case) is written once",
     .role = ANY,
     .cn = "www.example.com",
     .alt = "WWW.example.com,api.example.com",
     .sans = "DNS:www.example.com,DNS:api.example.com"},
    {.rule = "email SANs: sorted and de-duplicated (strutil.RemoveDuplicates)",
     .role = "{'allowed_domains':'example.com','allow_bare_domains':true,'require_cn':false}",
     .alt = "b@example.com,a@example.com,b@example.com",
     .sans = "email:a@example.com,email:b@example.com",
     .extra = "crit"},
    {.rule = "enforce_hostnames false: an underscore alt_names entry is a dNSName (hsmca; OpenBao drops it)",
     .role = "{'allow_any_name':true,'enforce_hostnames':false}",
     .cn = "a.example.com",
     .alt = "_srv.example.com",
     .sans = "DNS:a.example.com,DNS:_srv.example.com"},
    {.rule = "enforce_hostnames true: an underscore alt_names entry denied",
     .role = ANY,
     .cn = "a.example.com",
     .alt = "_srv.example.com",
     .err = "alt_names '_srv.example.com' not allowed|enforce_hostnames"},
    {.rule = "alt_names: a space is never part of a dNSName",
     .role = "{'allow_any_name':true,'enforce_hostnames':false}",
     .cn = "a.example.com",
     .alt = "a b.example.com",
     .err = "alt_names 'a b.example.com' is not valid|printable ASCII"},
    {.rule = "allowed_domains_template: a template entry needs an identity and matches nothing",
     .role = "{'allowed_domains':'{{identity.entity.name}}.example.com','allowed_domains_template':true,'"
             "allow_subdomains':true}",
     .cn = "x.example.com",
     .err = "common_name 'x.example.com'|no match"},
    {.rule = "allowed_domains_template: plain entries still match",
     .role = "{'allowed_domains':'{{identity.entity.name}}.example.com,example.net','allowed_domains_"
             "template':true,'allow_subdomains':true}",
     .cn = "x.example.net",
     .sans = "DNS:x.example.net"},
    {.rule = "SAN order: otherName, DNS, email, IP, URI (OpenBao's)",
     .role = "{'allow_any_name':true,'allowed_uri_sans':'*','allowed_other_sans':'*'}",
     .cn = "a.example.com",
     .alt = "ops@example.com",
     .ips = "10.1.2.3",
     .uris = "https://example.com/",
     .others = "1.2.3.4;UTF8:o",
     .sans =
         "other:1.2.3.4;UTF8:o,DNS:a.example.com,email:ops@example.com,IP:10.1.2.3,URI:https://example.com/"},

    /* ---- role writes that the table's roles go through ---- */
    {.rule = "role write: key_bits 1024 refused (RSA keys < 2048 bits are unsafe)",
     .role = "{'key_bits':1024}",
     .err = "key_bits 1024"},
    {.rule = "role write: an unknown key_usage name refused (hsmca)",
     .role = "{'key_usage':'NonRepudiation'}",
     .err = "key_usage 'NonRepudiation'"},
    {.rule = "role write: cn_validations disabled cannot be combined",
     .role = "{'cn_validations':'disabled,email'}",
     .err = "cn_validations|disabled"},
};

/* Rows with the same rule would be indistinguishable in the output. */
static void test_rules_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        for (size_t k = i + 1; k < sizeof(rows) / sizeof(rows[0]); k++) {
            if (strcmp(rows[i].rule, rows[k].rule) == 0)
                fail_msg("rule cited twice: %s", rows[i].rule);
        }
    }
    assert_true(sizeof(rows) / sizeof(rows[0]) >= 150);
}

/* ------------------------------------------------- non-table checks */

static void test_pubkey_must_be_the_csr_key(void **state)
{
    hsmca_role role;
    hsmca_issue_request req;
    hsmca_policy_context ctx = {.now = NOW, .issuer_not_after = NOW + TEN_YEARS};
    hsmca_cert_template t;
    json_t *rj = sq_json(ANY);

    (void)state;
    memset(&role, 0, sizeof(role));
    memset(&req, 0, sizeof(req));
    assert_int_equal(hsmca_role_from_json(rj, NULL, false, &role, NULL), HSMCA_OK);
    req.csr = make_csr("cn=a.example.com", key_named("rsa2048"));
    req.pubkey = key_named("ec256");
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "pubkey is not the CSR's public key"));
    /* No key at all. */
    X509_REQ_free(req.csr);
    req.csr = NULL;
    req.pubkey = NULL;
    req.common_name = "a.example.com";
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "no subject public key"));
    /* The CSR's key is enough on its own (pubkey NULL). */
    req.csr = make_csr("cn=a.example.com", key_named("rsa2048"));
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_OK);
    hsmca_cert_template_clear(&t);
    X509_REQ_free(req.csr);
    json_decref(rj);
    hsmca_role_clear(&role);
}

static void test_unnamed_role_and_null_args(void **state)
{
    hsmca_role role;
    hsmca_issue_request req;
    hsmca_policy_context ctx = {.now = NOW};
    hsmca_cert_template t;

    (void)state;
    memset(&role, 0, sizeof(role));
    memset(&req, 0, sizeof(req));
    assert_int_equal(hsmca_role_init_defaults(&role), HSMCA_OK);
    req.pubkey = key_named("rsa2048");
    req.common_name = "evil.com";
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    assert_non_null(strstr(hsmca_err_message(), "role '(unnamed)'"));
    /* A context without issuer bound or TTLs uses OpenBao's system 768h. */
    role.allow_any_name = true;
    req.common_name = "a.example.com";
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_OK);
    assert_int_equal(t.not_after - NOW, SYS_TTL);
    hsmca_cert_template_clear(&t);
    hsmca_cert_template_clear(&t); /* idempotent */
    hsmca_cert_template_clear(NULL);
    hsmca_issue_request_clear(NULL);
    assert_int_equal(hsmca_policy_evaluate(NULL, &req, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_policy_evaluate(&role, NULL, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    hsmca_role_clear(&role);
}

/* Denial messages stay bounded and printable whatever the input. */
static void test_messages_bounded(void **state)
{
    hsmca_role role;
    hsmca_issue_request req;
    hsmca_policy_context ctx = {.now = NOW, .issuer_not_after = NOW + TEN_YEARS};
    hsmca_cert_template t;
    char big[1000];

    (void)state;
    memset(&role, 0, sizeof(role));
    memset(&req, 0, sizeof(req));
    assert_int_equal(hsmca_role_init_defaults(&role), HSMCA_OK);
    assert_int_equal(hsmca_role_set_name(&role, "web"), HSMCA_OK);
    role.require_cn = false;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '\x01';
    assert_int_equal(hsmca_strlist_add(&req.alt_names, big, strlen(big)), HSMCA_OK);
    req.pubkey = key_named("rsa2048");
    assert_int_equal(hsmca_policy_evaluate(&role, &req, &ctx, &t), HSMCA_ERR_INVALID_ARG);
    assert_true(strlen(hsmca_err_message()) < 512);
    assert_non_null(strstr(hsmca_err_message(), "\\x01"));
    assert_non_null(strstr(hsmca_err_message(), "..."));
    hsmca_issue_request_clear(&req);
    hsmca_role_clear(&role);
}

int main(void)
{
    size_t n = sizeof(rows) / sizeof(rows[0]);
    struct CMUnitTest *tests = calloc(n + 4, sizeof(*tests));
    int rc;

    if (tests == NULL)
        return 1;
    tests[0] = (struct CMUnitTest)cmocka_unit_test(test_rules_unique);
    tests[1] = (struct CMUnitTest)cmocka_unit_test(test_pubkey_must_be_the_csr_key);
    tests[2] = (struct CMUnitTest)cmocka_unit_test(test_unnamed_role_and_null_args);
    tests[3] = (struct CMUnitTest)cmocka_unit_test(test_messages_bounded);
    /* One test per row, named after the rule it cites. */
    for (size_t i = 0; i < n; i++) {
        tests[i + 4].name = rows[i].rule;
        tests[i + 4].test_func = run_row;
        tests[i + 4].initial_state = (void *)(uintptr_t)&rows[i];
    }
    rc = _cmocka_run_group_tests("policy", tests, n + 4, keys_setup, keys_teardown);
    free(tests);
    return rc;
}
