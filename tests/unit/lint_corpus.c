/* SPDX-License-Identifier: Apache-2.0 */
/* Builds the pre-issuance lint corpus in software (OpenSSL, software keys):
 * a root/intermediate fixture, baseline TBS certificates per role, and the
 * negative corpus of one-mutation cases, at least one per lint rule. */
#include "lint_corpus.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* 128 bits with the top bit clear, as hsmca's serial generator makes them
 * ("Lint corpus ser1"). */
static const unsigned char BASE_SERIAL[16] = {0x4c, 0x69, 0x6e, 0x74, 0x20, 0x63, 0x6f, 0x72,
                                              0x70, 0x75, 0x73, 0x20, 0x73, 0x65, 0x72, 0x31};

#define T_2026_03_15 INT64_C(1773532800)
#define T_2027_03_15 INT64_C(1805068800)
#define T_2029_03_15 INT64_C(1868227200)
#define T_2026_04_01 INT64_C(1775001600)
#define T_2049_END   INT64_C(2524607999)   /* 2049-12-31T23:59:59Z */
#define T_2050       INT64_C(2524608000)   /* 2050-01-01T00:00:00Z */
#define T_9999_END   INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* ---- mutators ---- */

int lint_tbs_del_ext(X509 *x, int nid)
{
    int n = X509_get_ext_count(x);

    /* At most one deletion per extension present. */
    for (int k = 0; k < n; k++) {
        int i = X509_get_ext_by_NID(x, nid, -1);
        if (i < 0)
            break;
        X509_EXTENSION_free(X509_delete_ext(x, i));
    }
    return 1;
}

int lint_tbs_set_ext(X509 *x, int nid, const char *conf)
{
    /* An empty config database: certificatePolicies' parser insists on
     * having one even when the value names no section. */
    CONF *db = NCONF_new(NULL);
    X509V3_CTX ctx;
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (db == NULL)
        goto done;
    X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
    X509V3_set_nconf(&ctx, db);
    ext = X509V3_EXT_nconf_nid(db, &ctx, nid, conf);
    if (ext == NULL)
        goto done;
    lint_tbs_del_ext(x, nid);
    ok = X509_add_ext(x, ext, -1);
done:
    X509_EXTENSION_free(ext);
    NCONF_free(db);
    return ok;
}

static int add_ext_der(X509 *x, ASN1_OBJECT *obj, int critical, const void *der, size_t len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    if (os == NULL || obj == NULL || ASN1_OCTET_STRING_set(os, der, (int)len) != 1)
        goto done;
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
    if (ext == NULL)
        goto done;
    ok = X509_add_ext(x, ext, -1);
done:
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    return ok;
}

int lint_tbs_set_ext_der(X509 *x, int nid, int critical, const void *der, size_t len)
{
    lint_tbs_del_ext(x, nid);
    return add_ext_der(x, OBJ_nid2obj(nid), critical, der, len);
}

int lint_tbs_add_ext_der(X509 *x, const char *oid, int critical, const void *der, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int ok = add_ext_der(x, obj, critical, der, len);

    ASN1_OBJECT_free(obj);
    return ok;
}

int lint_tbs_set_san(X509 *x, int critical, GENERAL_NAMES *names)
{
    lint_tbs_del_ext(x, NID_subject_alt_name);
    return X509_add1_ext_i2d(x, NID_subject_alt_name, names, critical, X509V3_ADD_APPEND) == 1;
}

int lint_gn_add_string(GENERAL_NAMES *names, int type, const void *bytes, size_t len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    int ok = 0;

    if (gn == NULL || s == NULL || ASN1_STRING_set(s, bytes, (int)len) != 1)
        goto done;
    GENERAL_NAME_set0_value(gn, type, s);
    s = NULL;
    if (sk_GENERAL_NAME_push(names, gn) <= 0)
        goto done;
    gn = NULL;
    ok = 1;
done:
    ASN1_IA5STRING_free(s);
    GENERAL_NAME_free(gn);
    return ok;
}

int lint_gn_add_ip(GENERAL_NAMES *names, const void *bytes, size_t len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    int ok = 0;

    if (gn == NULL || s == NULL || ASN1_OCTET_STRING_set(s, bytes, (int)len) != 1)
        goto done;
    GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
    s = NULL;
    if (sk_GENERAL_NAME_push(names, gn) <= 0)
        goto done;
    gn = NULL;
    ok = 1;
done:
    ASN1_OCTET_STRING_free(s);
    GENERAL_NAME_free(gn);
    return ok;
}

int lint_tbs_set_validity(X509 *x, int64_t not_before, int64_t not_after)
{
    ASN1_TIME *nb = ASN1_TIME_set(NULL, (time_t)not_before);
    ASN1_TIME *na = ASN1_TIME_set(NULL, (time_t)not_after);
    int ok = nb != NULL && na != NULL && X509_set1_notBefore(x, nb) == 1 && X509_set1_notAfter(x, na) == 1;

    ASN1_TIME_free(nb);
    ASN1_TIME_free(na);
    return ok;
}

int lint_tbs_set_raw_time(X509 *x, int not_after, int type, const char *text)
{
    ASN1_STRING *t = ASN1_STRING_type_new(type);
    int ok = 0;

    if (t == NULL || ASN1_STRING_set(t, text, -1) != 1)
        goto done;
    ok = not_after ? X509_set1_notAfter(x, t) : X509_set1_notBefore(x, t);
done:
    ASN1_STRING_free(t);
    return ok;
}

int lint_tbs_set_key(X509 *x, EVP_PKEY *key)
{
    return key != NULL && X509_set_pubkey(x, key) == 1;
}

EVP_PKEY *lint_fake_rsa(int bits, unsigned long exponent)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *n = BN_new(), *e = BN_new();

    if (bld == NULL || n == NULL || e == NULL || BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) != 1 ||
        BN_set_word(e, exponent) != 1 || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return key;
}

/* ---- fixture ---- */

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
static ASN1_OCTET_STRING *key_id_of(X509 *x)
{
    const unsigned char *pk = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ASN1_OCTET_STRING *id = NULL;
    int pk_len = 0;

    if (X509_PUBKEY_get0_param(NULL, &pk, &pk_len, NULL, X509_get_X509_PUBKEY(x)) != 1 ||
        EVP_Digest(pk, (size_t)pk_len, md, &md_len, EVP_sha1(), NULL) != 1)
        goto done;
    id = ASN1_OCTET_STRING_new();
    if (id != NULL && ASN1_OCTET_STRING_set(id, md, (int)md_len) != 1) {
        ASN1_OCTET_STRING_free(id);
        id = NULL;
    }
done:
    return id;
}

static int add_ski(X509 *x)
{
    ASN1_OCTET_STRING *id = key_id_of(x);
    int ok = id != NULL && X509_add1_ext_i2d(x, NID_subject_key_identifier, id, 0, X509V3_ADD_REPLACE) == 1;

    ASN1_OCTET_STRING_free(id);
    return ok;
}

/* AKI keyIdentifier = the SKI of `from` (decoded from its extension, not
 * from OpenSSL's cache). */
static int add_aki_from(X509 *x, X509 *from)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    int ok = 0;

    if (akid == NULL)
        goto done;
    akid->keyid = X509_get_ext_d2i(from, NID_subject_key_identifier, NULL, NULL);
    if (akid->keyid == NULL)
        goto done;
    ok = X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE) == 1;
done:
    AUTHORITY_KEYID_free(akid);
    return ok;
}

static X509_NAME *name_new(const char *o, const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    int ok = n != NULL &&
             X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1;

    if (!ok) {
        X509_NAME_free(n);
        n = NULL;
    }
    return n;
}

static X509 *tbs_new(const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *key, int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = BN_bin2bn(BASE_SERIAL, sizeof(BASE_SERIAL), NULL);
    int ok = 0;

    if (x == NULL || bn == NULL || X509_set_version(x, X509_VERSION_3) != 1)
        goto done;
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    if (serial == NULL || X509_set_serialNumber(x, serial) != 1 || X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer) != 1 || !lint_tbs_set_key(x, key) ||
        !lint_tbs_set_validity(x, nb, na))
        goto done;
    ok = 1;
done:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

X509 *lint_fixture_root(const lint_fixture *f)
{
    X509_NAME *name = name_new("hsmca test", "hsmca Lint Root");
    X509 *x = name ? tbs_new(name, name, f->root_key, LINT_T_ROOT_NB, LINT_T_ROOT_NA) : NULL;
    int ok = x != NULL && lint_tbs_set_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") &&
             lint_tbs_set_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") && add_ski(x) &&
             add_aki_from(x, x);

    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

X509 *lint_fixture_ca(const lint_fixture *f)
{
    X509_NAME *name = name_new("hsmca test", "hsmca Lint Intermediate");
    X509 *x =
        name ? tbs_new(name, X509_get_subject_name(f->root), f->ca_key, LINT_T_CA_NB, LINT_T_CA_NA) : NULL;
    int ok = x != NULL && lint_tbs_set_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             lint_tbs_set_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
             add_ski(x) && add_aki_from(x, f->root) &&
             lint_tbs_set_ext(x, NID_crl_distribution_points, "URI:http://crl.example.com/root.crl");

    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

X509 *lint_fixture_leaf(const lint_fixture *f)
{
    X509_NAME *name = name_new("Example", "www.example.com");
    X509 *x = name ? tbs_new(name, X509_get_subject_name(f->ca), f->leaf_key, LINT_T_LEAF_NB,
                             LINT_T_LEAF_NB + 90 * LINT_DAY - 1)
                   : NULL;
    int ok = x != NULL && lint_tbs_set_ext(x, NID_key_usage, "critical,digitalSignature") &&
             lint_tbs_set_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") &&
             lint_tbs_set_ext(x, NID_subject_alt_name, "DNS:www.example.com,DNS:example.com") &&
             lint_tbs_set_ext(x, NID_crl_distribution_points, "URI:http://crl.example.com/int.crl") &&
             lint_tbs_set_ext(x, NID_info_access, "caIssuers;URI:http://ca.example.com/int.crt") &&
             lint_tbs_set_ext(x, NID_certificate_policies, "2.23.140.1.2.1") && add_ski(x) &&
             add_aki_from(x, f->ca);

    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

hsmca_lint_opts lint_fixture_opts(const lint_fixture *f, hsmca_lint_role role)
{
    hsmca_lint_opts o;

    memset(&o, 0, sizeof(o));
    o.role = role;
    switch (role) {
    case HSMCA_LINT_LEAF:
        o.issuer = f->ca;
        o.now = LINT_T_LEAF_NB + 30;
        break;
    case HSMCA_LINT_CA:
        o.issuer = f->root;
        o.now = LINT_T_CA_NB + 30;
        break;
    default:
        o.issuer = NULL;
        o.now = LINT_T_ROOT_NB + 30;
        break;
    }
    return o;
}

void lint_fixture_free(lint_fixture *f)
{
    if (f != NULL) {
        EVP_PKEY_free(f->root_key);
        EVP_PKEY_free(f->ca_key);
        EVP_PKEY_free(f->leaf_key);
        X509_free(f->root);
        X509_free(f->ca);
        free(f);
    }
}

lint_fixture *lint_fixture_new(void)
{
    lint_fixture *f = calloc(1, sizeof(*f));
    int ok = 0;

    if (f == NULL)
        goto done;
    f->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    f->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (f->root_key == NULL || f->ca_key == NULL || f->leaf_key == NULL)
        goto done;
    f->root = lint_fixture_root(f);
    if (f->root == NULL || X509_sign(f->root, f->root_key, EVP_sha256()) <= 0)
        goto done;
    f->ca = lint_fixture_ca(f);
    if (f->ca == NULL || X509_sign(f->ca, f->root_key, EVP_sha256()) <= 0)
        goto done;
    ok = 1;
done:
    if (!ok) {
        ERR_print_errors_fp(stderr);
        lint_fixture_free(f);
        f = NULL;
    }
    return f;
}

/* ---- cases ---- */

typedef struct corpus_ctx {
    const lint_fixture *f;
    X509 *leaf_cert; /* the baseline leaf, signed: an issuer that is not a CA */
} corpus_ctx;

typedef int (*mutate_fn)(const corpus_ctx *cc, lint_case *c);

typedef struct {
    const char *name;
    const char *rule; /* NULL: must pass */
    hsmca_lint_role role;
    mutate_fn mutate; /* NULL: the baseline as is */
} case_spec;

static int set_issuer(lint_case *c, X509 *issuer, EVP_PKEY *signer)
{
    X509_free(c->issuer);
    EVP_PKEY_free(c->signer);
    c->issuer = issuer;
    c->signer = signer;
    c->opts.issuer = issuer;
    return (issuer == NULL || X509_up_ref(issuer) == 1) && EVP_PKEY_up_ref(signer) == 1;
}

/* Re-parents c->tbs under issuer: issuer name and AKI follow it. */
static int reparent(lint_case *c, X509 *issuer, EVP_PKEY *signer)
{
    return set_issuer(c, issuer, signer) &&
           X509_set_issuer_name(c->tbs, X509_get_subject_name(issuer)) == 1 && add_aki_from(c->tbs, issuer);
}

static int set_serial_hex(lint_case *c, const char *hex)
{
    BIGNUM *bn = NULL;
    int ok = BN_hex2bn(&bn, hex) > 0 && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c->tbs)) != NULL;

    BN_free(bn);
    return ok;
}

static int set_subject(lint_case *c, const char *o, const char *cn)
{
    X509_NAME *n = name_new(o, cn);
    int ok = n != NULL && X509_set_subject_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}

/* A subject C=US, O=Example plus one attribute with raw bytes and type.
 * Edited in place: OpenSSL cannot copy (encode) a name whose UTF8String is
 * not UTF-8, and the lint must catch such a name before anything tries. */
static int set_subject_raw(lint_case *c, const char *attr, int type, const void *bytes, size_t len)
{
    X509_NAME *n = X509_get_subject_name(c->tbs);
    int count = X509_NAME_entry_count(n);

    for (int i = 0; i < count; i++)
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, 0));
    return X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) == 1 &&
           X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Example", -1, -1, 0) ==
               1 &&
           X509_NAME_add_entry_by_txt(n, attr, type, bytes, (int)len, -1, 0) == 1;
}

/* Replaces the SAN with `count` names given as "DNS:x", "email:x", "URI:x"
 * or "IP:x" (text), critical or not. */
static int set_sans(lint_case *c, int critical, const char *const *names, size_t count)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    unsigned char ip[16];
    int ok = gens != NULL;

    for (size_t i = 0; i < count && ok; i++) {
        const char *v = strchr(names[i], ':') + 1;
        if (strncmp(names[i], "DNS:", 4) == 0)
            ok = lint_gn_add_string(gens, GEN_DNS, v, strlen(v));
        else if (strncmp(names[i], "email:", 6) == 0)
            ok = lint_gn_add_string(gens, GEN_EMAIL, v, strlen(v));
        else if (strncmp(names[i], "URI:", 4) == 0)
            ok = lint_gn_add_string(gens, GEN_URI, v, strlen(v));
        else if (strncmp(names[i], "IP:", 3) == 0 && inet_pton(AF_INET, v, ip) == 1)
            ok = lint_gn_add_ip(gens, ip, 4);
        else if (strncmp(names[i], "IP:", 3) == 0 && inet_pton(AF_INET6, v, ip) == 1)
            ok = lint_gn_add_ip(gens, ip, 16);
        else
            ok = 0;
    }
    ok = ok && lint_tbs_set_san(c->tbs, critical, gens);
    GENERAL_NAMES_free(gens);
    return ok;
}

#define SANS(c, crit, ...)                                                                                   \
    set_sans((c), (crit), (const char *const[]){__VA_ARGS__},                                                \
             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* One dNSName with raw bytes (may hold a NUL). */
static int set_dns_raw(lint_case *c, const void *bytes, size_t len)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int ok = gens != NULL && lint_gn_add_string(gens, GEN_DNS, "www.example.com", 15) &&
             lint_gn_add_string(gens, GEN_DNS, bytes, len) && lint_tbs_set_san(c->tbs, 0, gens);

    GENERAL_NAMES_free(gens);
    return ok;
}

static int set_bc(lint_case *c, int ca, int critical, int has_pathlen, int64_t pathlen)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    int ok = bc != NULL;

    if (ok) {
        bc->ca = ca ? 0xff : 0;
        if (has_pathlen) {
            bc->pathlen = ASN1_INTEGER_new();
            ok = bc->pathlen != NULL && ASN1_INTEGER_set_int64(bc->pathlen, pathlen) == 1;
        }
    }
    ok = ok && lint_tbs_del_ext(c->tbs, NID_basic_constraints) &&
         X509_add1_ext_i2d(c->tbs, NID_basic_constraints, bc, critical, X509V3_ADD_APPEND) == 1;
    BASIC_CONSTRAINTS_free(bc);
    return ok;
}

/* The DER of the extension with nid in x, re-added with another
 * criticality. */
static int set_critical(lint_case *c, int nid, int critical)
{
    X509_EXTENSION *ext = X509_get_ext(c->tbs, X509_get_ext_by_NID(c->tbs, nid, -1));
    ASN1_OCTET_STRING *data = ext != NULL ? ASN1_OCTET_STRING_dup(X509_EXTENSION_get_data(ext)) : NULL;
    int ok = data != NULL && lint_tbs_set_ext_der(c->tbs, nid, critical, ASN1_STRING_get0_data(data),
                                                  (size_t)ASN1_STRING_length(data));

    ASN1_OCTET_STRING_free(data);
    return ok;
}

static int set_key_new(lint_case *c, EVP_PKEY *key)
{
    int ok = lint_tbs_set_key(c->tbs, key);

    EVP_PKEY_free(key);
    return ok;
}

/* --- negative mutations, grouped by rule --- */

static int m_version_v1(const corpus_ctx *cc, lint_case *c)
{
    return X509_set_version(c->tbs, X509_VERSION_1) == 1;
}
static int m_serial_negative(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "-4C696E7420636F727075732073657231");
}
static int m_serial_zero(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "0");
}
static int m_serial_21(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "7F0102030405060708090A0B0C0D0E0F1011121314");
}
static int m_serial_20_top_bit(const corpus_ctx *cc, lint_case *c)
{
    /* 20 octets of magnitude, top bit set: DER adds a 0x00, making 21. */
    return set_serial_hex(c, "8F0102030405060708090A0B0C0D0E0F10111213");
}
static int m_serial_40bit(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "AB12345678");
}
static int m_utctime_no_seconds(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 0, V_ASN1_UTCTIME, "2506010000Z");
}
static int m_utctime_offset(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 0, V_ASN1_UTCTIME, "250601000000+0100");
}
static int m_utctime_2051_four_digits(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 1, V_ASN1_UTCTIME, "20510101000000Z");
}
static int m_gentime_fraction(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 1, V_ASN1_GENERALIZEDTIME, "20250801000000.5Z");
}
static int m_utctime_feb30(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 1, V_ASN1_UTCTIME, "250230000000Z");
}
static int m_gentime_2030(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_raw_time(c->tbs, 1, V_ASN1_GENERALIZEDTIME, "20300101000000Z");
}
static int m_utctime_51_meant_2051(const corpus_ctx *cc, lint_case *c)
{
    /* A CA that wants 2051 and writes UTCTime gets 1951. */
    c->opts.permit_beyond_issuer = true;
    return lint_tbs_set_raw_time(c->tbs, 1, V_ASN1_UTCTIME, "510101000000Z");
}
static int m_not_after_first(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB - 1);
}
static int m_zero_length_validity(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB);
}
static int m_beyond_issuer(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_CA_NA + 1);
}
static int m_ca_beyond_root(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_validity(c->tbs, LINT_T_CA_NB, LINT_T_ROOT_NA + LINT_DAY);
}
static int m_root_issuer_other(const corpus_ctx *cc, lint_case *c)
{
    X509_NAME *n = name_new("hsmca test", "Some Other Root");
    int ok = n != NULL && X509_set_issuer_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}
static int m_issuer_case(const corpus_ctx *cc, lint_case *c)
{
    /* Equal under RFC 5280 7.1 case-insensitive matching, not byte-equal. */
    X509_NAME *n = name_new("hsmca test", "HSMCA LINT INTERMEDIATE");
    int ok = n != NULL && X509_set_issuer_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}
static int m_issuer_string_type(const corpus_ctx *cc, lint_case *c)
{
    /* Same text as the CA's subject, but PrintableString, not UTF8String. */
    X509_NAME *n = X509_NAME_new();
    int ok = n != NULL &&
             X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "O", V_ASN1_PRINTABLESTRING, (const unsigned char *)"hsmca test",
                                        -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_PRINTABLESTRING,
                                        (const unsigned char *)"hsmca Lint Intermediate", -1, -1, 0) == 1 &&
             X509_set_issuer_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}
static int m_subject_nul(const corpus_ctx *cc, lint_case *c)
{
    return set_subject_raw(c, "CN", V_ASN1_UTF8STRING, "www.example.com\0.evil.com", 25);
}
static int m_subject_bad_utf8(const corpus_ctx *cc, lint_case *c)
{
    return set_subject_raw(c, "OU", V_ASN1_UTF8STRING, "Caf\xc3\x28", 5);
}
static int m_subject_printable(const corpus_ctx *cc, lint_case *c)
{
    return set_subject_raw(c, "OU", V_ASN1_PRINTABLESTRING, "a*b@c", 5);
}
static int m_subject_overlong_utf8(const corpus_ctx *cc, lint_case *c)
{
    /* "/" as an overlong two-octet sequence (RFC 3629 10). */
    return set_subject_raw(c, "OU", V_ASN1_UTF8STRING, "a\xc0\xaf", 3);
}
static int m_subject_cn_65(const corpus_ctx *cc, lint_case *c)
{
    char cn[66];

    memset(cn, 'a', 65);
    cn[65] = '\0';
    return set_subject_raw(c, "CN", V_ASN1_UTF8STRING, cn, 65);
}
static int m_subject_country_3(const corpus_ctx *cc, lint_case *c)
{
    X509_NAME *n = X509_NAME_new();
    int ok = n != NULL &&
             X509_NAME_add_entry_by_txt(n, "C", V_ASN1_PRINTABLESTRING, (const unsigned char *)"USA", -1, -1,
                                        0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"www.example.com", -1,
                                        -1, 0) == 1 &&
             X509_set_subject_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}
static int m_ext_count(const corpus_ctx *cc, lint_case *c)
{
    char oid[64];
    int ok = 1;

    for (int i = 0; i < 60 && ok; i++) {
        snprintf(oid, sizeof(oid), "1.3.6.1.4.1.55555.1.%d", i);
        ok = lint_tbs_add_ext_der(c->tbs, oid, 0, "\x05\x00", 2);
    }
    return ok;
}
static int m_ext_duplicate_san(const corpus_ctx *cc, lint_case *c)
{
    static const unsigned char san[] = {0x30, 0x0d, 0x82, 0x0b, 'e', 'x', 'a', 'm',
                                        'p',  'l',  'e',  '.',  'c', 'o', 'm'};
    return add_ext_der(c->tbs, OBJ_nid2obj(NID_subject_alt_name), 0, san, sizeof(san));
}
static int m_ext_duplicate_private(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_add_ext_der(c->tbs, "1.3.6.1.4.1.55555.3", 0, "\x05\x00", 2) &&
           lint_tbs_add_ext_der(c->tbs, "1.3.6.1.4.1.55555.3", 0, "\x05\x00", 2);
}
static int m_san_truncated(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext_der(c->tbs, NID_subject_alt_name, 0, "\x30\x05\x82\x03\x61\x62", 6);
}
static int m_san_trailing(const corpus_ctx *cc, lint_case *c)
{
    static const unsigned char san[] = {0x30, 0x11, 0x82, 0x0f, 'w', 'w', 'w', '.', 'e',  'x', 'a',
                                        'm',  'p',  'l',  'e',  '.', 'c', 'o', 'm', 0x00, 0x00};
    return lint_tbs_set_ext_der(c->tbs, NID_subject_alt_name, 0, san, sizeof(san));
}
static int m_bc_default_encoded(const corpus_ctx *cc, lint_case *c)
{
    /* cA FALSE written out: BER, not DER (X.690 11.5). */
    return lint_tbs_set_ext_der(c->tbs, NID_basic_constraints, 1, "\x30\x03\x01\x01\x00", 5);
}
static int m_san_empty(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext_der(c->tbs, NID_subject_alt_name, 0, "\x30\x00", 2);
}
static int m_eku_empty(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext_der(c->tbs, NID_ext_key_usage, 0, "\x30\x00", 2);
}
static int m_ku_no_bits(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext_der(c->tbs, NID_key_usage, 1, "\x03\x01\x00", 3);
}
static int m_ext_empty_value(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_add_ext_der(c->tbs, "1.3.6.1.4.1.55555.2", 0, "", 0);
}
static int m_empty_subject_noncritical_san(const corpus_ctx *cc, lint_case *c)
{
    X509_NAME *n = X509_NAME_new();
    int ok = n != NULL && X509_set_subject_name(c->tbs, n) == 1;

    X509_NAME_free(n);
    return ok;
}
static int m_empty_subject_no_san(const corpus_ctx *cc, lint_case *c)
{
    return m_empty_subject_noncritical_san(cc, c) && lint_tbs_del_ext(c->tbs, NID_subject_alt_name);
}
static int m_issued_by_leaf(const corpus_ctx *cc, lint_case *c)
{
    return reparent(c, cc->leaf_cert, cc->f->leaf_key);
}
static int m_bc_absent(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_del_ext(c->tbs, NID_basic_constraints);
}
static int m_bc_noncritical(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 0, 1, 0);
}
static int m_bc_ca_false(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 0, 1, 0, 0);
}
static int m_leaf_ca_true(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 1, 0, 0);
}
static int m_pathlen_negative(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 1, 1, -1);
}
static int m_leaf_pathlen(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 0, 1, 1, 0);
}
static int m_pathlen_equal_parent(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 1, 1, 1);
}
static int m_pathlen_absent_below_limit(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 1, 0, 0);
}
static int m_ca_under_pathlen0(const corpus_ctx *cc, lint_case *c)
{
    return reparent(c, cc->f->ca, cc->f->ca_key) && set_subject(c, "hsmca test", "hsmca Lint Sub-CA") &&
           set_bc(c, 1, 1, 1, 0) && lint_tbs_set_validity(c->tbs, LINT_T_CA_NB, LINT_T_CA_NA);
}
static int m_ku_absent(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_del_ext(c->tbs, NID_key_usage);
}
static int m_ku_noncritical(const corpus_ctx *cc, lint_case *c)
{
    return set_critical(c, NID_key_usage, 0);
}
static int m_ku_no_cert_sign(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext(c->tbs, NID_key_usage, "critical,cRLSign,digitalSignature");
}
static int m_leaf_cert_sign(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext(c->tbs, NID_key_usage, "critical,digitalSignature,keyCertSign");
}
static int m_ski_absent(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_del_ext(c->tbs, NID_subject_key_identifier);
}
static int m_ski_critical(const corpus_ctx *cc, lint_case *c)
{
    return set_critical(c, NID_subject_key_identifier, 1);
}
static int m_ski_empty(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext_der(c->tbs, NID_subject_key_identifier, 0, "\x04\x00", 2);
}
static int m_aki_absent(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_del_ext(c->tbs, NID_authority_key_identifier);
}
static int m_aki_critical(const corpus_ctx *cc, lint_case *c)
{
    return set_critical(c, NID_authority_key_identifier, 1);
}
static int m_aki_issuer_serial_only(const corpus_ctx *cc, lint_case *c)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    X509_NAME *dn = X509_NAME_dup(X509_get_issuer_name(cc->f->ca));
    int ok = 0;

    if (akid == NULL || gn == NULL || dn == NULL || (akid->issuer = GENERAL_NAMES_new()) == NULL)
        goto done;
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
    dn = NULL;
    if (sk_GENERAL_NAME_push(akid->issuer, gn) <= 0)
        goto done;
    gn = NULL;
    akid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(cc->f->ca));
    ok = akid->serial != NULL &&
         X509_add1_ext_i2d(c->tbs, NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE) == 1;
done:
    X509_NAME_free(dn);
    GENERAL_NAME_free(gn);
    AUTHORITY_KEYID_free(akid);
    return ok;
}
static int m_aki_root_ski(const corpus_ctx *cc, lint_case *c)
{
    return add_aki_from(c->tbs, cc->f->root);
}
static int m_root_aki_other(const corpus_ctx *cc, lint_case *c)
{
    return add_aki_from(c->tbs, cc->f->ca);
}
static int m_key_ed448(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "ED448"));
}
static int m_key_explicit_curve(const corpus_ctx *cc, lint_case *c)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int ok = k != NULL && EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
                                                         OSSL_PKEY_EC_ENCODING_EXPLICIT) == 1;

    return set_key_new(c, k) && ok;
}
static int m_key_garbage(const corpus_ctx *cc, lint_case *c)
{
    unsigned char *bits = OPENSSL_malloc(3);
    int ok = bits != NULL;

    if (ok) {
        memcpy(bits, "\x01\x02\x03", 3);
        /* Edits the encoded SPKI behind OpenSSL's cached key: the lint must
         * judge what will be signed, not the cache. */
        ok = X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(c->tbs), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
                                    NULL, bits, 3) == 1;
        if (!ok)
            OPENSSL_free(bits);
    }
    return ok;
}
static int m_key_rsa1024(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(1024, 65537));
}
static int m_key_rsa2052(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(2052, 65537));
}
static int m_key_rsa_even_e(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(2048, 65536));
}
static int m_key_rsa_e1(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(2048, 1));
}
static int m_key_secp256k1(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"));
}
static int m_san_1025(const corpus_ctx *cc, lint_case *c)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    char name[32];
    int ok = gens != NULL;

    for (int i = 0; i < 1025 && ok; i++) {
        int n = snprintf(name, sizeof(name), "h%d.example.com", i);
        ok = lint_gn_add_string(gens, GEN_DNS, name, (size_t)n);
    }
    ok = ok && lint_tbs_set_san(c->tbs, 0, gens);
    GENERAL_NAMES_free(gens);
    return ok;
}
static int m_san_dns_nul(const corpus_ctx *cc, lint_case *c)
{
    return set_dns_raw(c, "www.example.com\0.evil.com", 25);
}
static int m_san_uri_nul(const corpus_ctx *cc, lint_case *c)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int ok = gens != NULL && lint_gn_add_string(gens, GEN_DNS, "www.example.com", 15) &&
             lint_gn_add_string(gens, GEN_URI, "https://example.com/\0x", 22) &&
             lint_tbs_set_san(c->tbs, 0, gens);

    GENERAL_NAMES_free(gens);
    return ok;
}
static int m_san_ip5(const corpus_ctx *cc, lint_case *c)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int ok = gens != NULL && lint_gn_add_string(gens, GEN_DNS, "www.example.com", 15) &&
             lint_gn_add_ip(gens, "\xc0\x00\x02\x01\x05", 5) && lint_tbs_set_san(c->tbs, 0, gens);

    GENERAL_NAMES_free(gens);
    return ok;
}
static int m_ca_wildcard(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:*.example.com");
}
static int m_wild_middle(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:www.*.example.com");
}
static int m_wild_two_labels(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:*.*.example.com");
}
static int m_wild_two_stars(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:f*o*.example.com");
}
static int m_wild_partial_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return SANS(c, 0, "DNS:www.example.com", "DNS:foo*.example.com");
}
static int m_wild_tld(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:*.com");
}
static int m_wild_alabel(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:xn--*.example.com");
}
static int m_dns_underscore(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:exa_mple.com");
}
static int m_dns_leading_hyphen(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:-www.example.com");
}
static int m_dns_empty_label(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:www..example.com");
}
static int m_dns_trailing_dot(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:www.example.com.");
}
static int m_dns_label_64(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com",
                "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com");
}
static int m_dns_254(const corpus_ctx *cc, lint_case *c)
{
    /* Three 63-octet labels, a 58-octet one and ".com": 254 octets. */
    char name[4 + 254 + 1], *dns = name + 4;
    size_t o = 0;

    memcpy(name, "DNS:", 4);
    for (int l = 0; l < 3; l++) {
        memset(dns + o, 'a', 63);
        o += 63;
        dns[o++] = '.';
    }
    memset(dns + o, 'b', 58);
    o += 58;
    memcpy(dns + o, ".com", 5);
    return strlen(dns) == 254 && SANS(c, 0, "DNS:www.example.com", name);
}
static int m_dns_ipv4(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:192.0.2.1");
}
static int m_dns_ulabel(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com",
                "DNS:b\xc3\xbc"
                "cher.example.com");
}
static int m_dns_reserved_label(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:ab--cd.example.com");
}
static int m_dns_bad_punycode(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:xn--99999999999999.example.com");
}
static int m_dns_beyond_unicode(const corpus_ctx *cc, lint_case *c)
{
    /* Decodes past U+10FFFF: not the Punycode of any U-label. */
    return SANS(c, 0, "DNS:www.example.com", "DNS:xn--zzzzzzzzzzzzzzzzzz.example.com");
}
static int m_email_no_at(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:alice.example.com");
}
static int m_email_two_at(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:a@b@example.com");
}
static int m_email_bad_domain(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:alice@exa_mple.com");
}
static int m_email_space(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:al ice@example.com");
}
static int m_email_empty_local(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:@example.com");
}
static int m_uri_no_scheme(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "URI:www.example.com/path");
}
static int m_uri_no_ssp(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "URI:https:");
}
static int m_uri_space(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "URI:https://www.example.com/a b");
}
static int m_uri_empty_host(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "URI:https:///path");
}
static int m_uri_bad_percent(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "URI:https://www.example.com/%zz");
}
static int m_cn_not_in_san(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "other.example.com");
}
static int m_cn_ip_not_in_san(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "192.0.2.1") && SANS(c, 0, "DNS:www.example.com", "IP:192.0.2.2");
}
static int m_cn_case_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return set_subject(c, "Example", "WWW.example.com");
}
static int m_cn_label_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return set_subject(c, "Example", "Example Server");
}
static int m_cabf_400_days(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB + 400 * LINT_DAY - 1);
}
static int m_cabf_398_days_and_a_second(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB + 398 * LINT_DAY);
}
static int m_cabf_201_days_2026(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2026_04_01 + 30;
    return lint_tbs_set_validity(c->tbs, T_2026_04_01, T_2026_04_01 + 201 * LINT_DAY - 1);
}
static int m_cabf_backdated(const corpus_ctx *cc, lint_case *c)
{
    /* notBefore a day before the 200-day tier, signed a day into it. */
    c->opts.cabf = true;
    c->opts.now = T_2026_03_15 + LINT_DAY;
    return lint_tbs_set_validity(c->tbs, T_2026_03_15 - LINT_DAY,
                                 T_2026_03_15 - LINT_DAY + 398 * LINT_DAY - 1);
}
static int m_cabf_101_days_2027(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2027_03_15;
    return lint_tbs_set_validity(c->tbs, T_2027_03_15, T_2027_03_15 + 100 * LINT_DAY);
}
static int m_cabf_48_days_2029(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2029_03_15;
    return lint_tbs_set_validity(c->tbs, T_2029_03_15, T_2029_03_15 + 48 * LINT_DAY - 1);
}
static int m_cabf_no_san(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_del_ext(c->tbs, NID_subject_alt_name);
}
static int m_cabf_email_san(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return SANS(c, 0, "DNS:www.example.com", "email:alice@example.com");
}
static int m_cabf_no_eku(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_del_ext(c->tbs, NID_ext_key_usage);
}
static int m_cabf_any_eku(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_set_ext(c->tbs, NID_ext_key_usage, "serverAuth,anyExtendedKeyUsage");
}
static int m_cabf_ed25519(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
}

#define LEAF HSMCA_LINT_LEAF
#define CA   HSMCA_LINT_CA
#define ROOT HSMCA_LINT_ROOT

static const case_spec negative_specs[] = {
    {"v1 certificate with extensions", "version.v3", LEAF, m_version_v1},
    {"negative serial", "serial.positive", LEAF, m_serial_negative},
    {"zero serial", "serial.positive", LEAF, m_serial_zero},
    {"21-octet serial", "serial.length", LEAF, m_serial_21},
    {"20-octet magnitude with the top bit set (21 encoded)", "serial.length", LEAF, m_serial_20_top_bit},
    {"40-bit serial", "serial.entropy", LEAF, m_serial_40bit},
    {"UTCTime notBefore without seconds", "validity.time_format", LEAF, m_utctime_no_seconds},
    {"UTCTime notBefore with a time zone offset", "validity.time_format", LEAF, m_utctime_offset},
    {"UTCTime with a four-digit year for 2051", "validity.time_format", LEAF, m_utctime_2051_four_digits},
    {"GeneralizedTime with fractional seconds", "validity.time_format", LEAF, m_gentime_fraction},
    {"UTCTime on 30 February", "validity.time_format", LEAF, m_utctime_feb30},
    {"GeneralizedTime for 2030", "validity.time_type", LEAF, m_gentime_2030},
    {"UTCTime '51' meant as 2051 reads as 1951", "validity.order", LEAF, m_utctime_51_meant_2051},
    {"notAfter before notBefore", "validity.order", LEAF, m_not_after_first},
    {"notAfter equal to notBefore", "validity.order", LEAF, m_zero_length_validity},
    {"leaf notAfter after the issuer's", "validity.beyond_issuer", LEAF, m_beyond_issuer},
    {"CA notAfter after the root's", "validity.beyond_issuer", CA, m_ca_beyond_root},
    {"root whose issuer is not its subject", "name.root_self_issued", ROOT, m_root_issuer_other},
    {"issuer differs from the CA's subject in case", "name.issuer_match", LEAF, m_issuer_case},
    {"issuer as PrintableString, CA subject UTF8String", "name.issuer_match", LEAF, m_issuer_string_type},
    {"NUL in the subject CN", "subject.nul", LEAF, m_subject_nul},
    {"bad UTF-8 in a subject OU", "subject.encoding", LEAF, m_subject_bad_utf8},
    {"overlong UTF-8 in a subject OU", "subject.encoding", LEAF, m_subject_overlong_utf8},
    {"'*' and '@' in a PrintableString OU", "subject.encoding", LEAF, m_subject_printable},
    {"65-character CN", "subject.length", LEAF, m_subject_cn_65},
    {"three-letter countryName", "subject.length", LEAF, m_subject_country_3},
    {"more than 64 extensions", "ext.count", LEAF, m_ext_count},
    {"two subjectAltName extensions", "ext.duplicate", LEAF, m_ext_duplicate_san},
    {"a private extension twice", "ext.duplicate", LEAF, m_ext_duplicate_private},
    {"subjectAltName that does not decode", "ext.malformed", LEAF, m_san_truncated},
    {"subjectAltName with bytes after it", "ext.malformed", LEAF, m_san_trailing},
    {"basicConstraints with cA FALSE encoded (BER DEFAULT)", "ext.malformed", LEAF, m_bc_default_encoded},
    {"empty subjectAltName sequence", "ext.empty", LEAF, m_san_empty},
    {"empty extendedKeyUsage sequence", "ext.empty", LEAF, m_eku_empty},
    {"keyUsage with no bit set", "ext.empty", LEAF, m_ku_no_bits},
    {"extension with an empty extnValue", "ext.empty", LEAF, m_ext_empty_value},
    {"empty subject with a non-critical SAN", "subject.empty", LEAF, m_empty_subject_noncritical_san},
    {"empty subject without a SAN", "subject.empty", LEAF, m_empty_subject_no_san},
    {"CA with an empty subject", "subject.ca_empty", CA, m_empty_subject_noncritical_san},
    {"leaf issued by a leaf", "issuer.not_ca", LEAF, m_issued_by_leaf},
    {"CA without basicConstraints", "bc.ca_present", CA, m_bc_absent},
    {"root without basicConstraints", "bc.ca_present", ROOT, m_bc_absent},
    {"CA with non-critical basicConstraints", "bc.ca_critical", CA, m_bc_noncritical},
    {"CA with cA FALSE", "bc.ca_true", CA, m_bc_ca_false},
    {"leaf with cA TRUE", "bc.leaf_ca", LEAF, m_leaf_ca_true},
    {"CA with a negative pathLen", "bc.pathlen_range", CA, m_pathlen_negative},
    {"leaf with cA FALSE and pathLen 0", "bc.pathlen_leaf", LEAF, m_leaf_pathlen},
    {"CA pathLen 1 under a root with pathLen 1", "bc.pathlen_issuer", CA, m_pathlen_equal_parent},
    {"CA without pathLen under a root with pathLen 1", "bc.pathlen_issuer", CA, m_pathlen_absent_below_limit},
    {"CA under an intermediate with pathLen 0", "bc.pathlen_issuer", CA, m_ca_under_pathlen0},
    {"CA without keyUsage", "ku.ca_present", CA, m_ku_absent},
    {"CA without critical keyUsage", "ku.ca_critical", CA, m_ku_noncritical},
    {"root without critical keyUsage", "ku.ca_critical", ROOT, m_ku_noncritical},
    {"CA keyUsage without keyCertSign", "ku.ca_cert_sign", CA, m_ku_no_cert_sign},
    {"leaf with keyCertSign", "ku.cert_sign_without_ca", LEAF, m_leaf_cert_sign},
    {"CA without subjectKeyIdentifier", "ski.present", CA, m_ski_absent},
    {"critical subjectKeyIdentifier", "ski.critical", LEAF, m_ski_critical},
    {"empty subjectKeyIdentifier", "ski.malformed", LEAF, m_ski_empty},
    {"leaf without authorityKeyIdentifier", "aki.present", LEAF, m_aki_absent},
    {"CA without authorityKeyIdentifier", "aki.present", CA, m_aki_absent},
    {"critical authorityKeyIdentifier", "aki.critical", LEAF, m_aki_critical},
    {"authorityKeyIdentifier with issuer and serial only", "aki.keyid", LEAF, m_aki_issuer_serial_only},
    {"AKI is not the issuer's SKI", "aki.match", LEAF, m_aki_root_ski},
    {"root AKI is not its own SKI", "aki.match", ROOT, m_root_aki_other},
    {"Ed448 key", "key.type", LEAF, m_key_ed448},
    {"EC key with explicit curve parameters", "key.algorithm_params", LEAF, m_key_explicit_curve},
    {"subjectPublicKeyInfo that does not decode", "key.invalid", LEAF, m_key_garbage},
    {"RSA 1024", "key.rsa_bits", LEAF, m_key_rsa1024},
    {"RSA with a 2052-bit modulus", "key.rsa_bits_multiple", LEAF, m_key_rsa2052},
    {"RSA with an even exponent", "key.rsa_exponent", LEAF, m_key_rsa_even_e},
    {"RSA with exponent 1", "key.rsa_exponent", LEAF, m_key_rsa_e1},
    {"EC on secp256k1", "key.ec_curve", LEAF, m_key_secp256k1},
    {"1025 SANs", "san.count", LEAF, m_san_1025},
    {"NUL in a DNS SAN", "san.nul", LEAF, m_san_dns_nul},
    {"NUL in a URI SAN", "san.nul", LEAF, m_san_uri_nul},
    {"5-octet IP SAN", "san.ip", LEAF, m_san_ip5},
    {"wildcard in a CA's SAN", "san.dns.wildcard_ca", CA, m_ca_wildcard},
    {"wildcard in a middle label", "san.dns.wildcard", LEAF, m_wild_middle},
    {"*.*.example.com", "san.dns.wildcard", LEAF, m_wild_two_labels},
    {"two '*' in one label", "san.dns.wildcard", LEAF, m_wild_two_stars},
    {"partial wildcard foo*.example.com with CA/B", "san.dns.wildcard", LEAF, m_wild_partial_cabf},
    {"*.com", "san.dns.wildcard", LEAF, m_wild_tld},
    {"wildcard inside an A-label", "san.dns.wildcard", LEAF, m_wild_alabel},
    {"underscore in a DNS SAN", "san.dns.syntax", LEAF, m_dns_underscore},
    {"DNS label starting with a hyphen", "san.dns.syntax", LEAF, m_dns_leading_hyphen},
    {"empty DNS label", "san.dns.syntax", LEAF, m_dns_empty_label},
    {"DNS name with a trailing dot", "san.dns.syntax", LEAF, m_dns_trailing_dot},
    {"64-octet DNS label", "san.dns.syntax", LEAF, m_dns_label_64},
    {"254-octet DNS name", "san.dns.syntax", LEAF, m_dns_254},
    {"IPv4 address as a dNSName", "san.dns.syntax", LEAF, m_dns_ipv4},
    {"U-label (raw UTF-8) dNSName", "san.dns.syntax", LEAF, m_dns_ulabel},
    {"reserved ab--cd label", "san.dns.idn", LEAF, m_dns_reserved_label},
    {"xn-- label that overflows Punycode", "san.dns.idn", LEAF, m_dns_bad_punycode},
    {"xn-- label that decodes beyond Unicode", "san.dns.idn", LEAF, m_dns_beyond_unicode},
    {"email without '@'", "san.email", LEAF, m_email_no_at},
    {"email with two '@'", "san.email", LEAF, m_email_two_at},
    {"email with a bad domain", "san.email", LEAF, m_email_bad_domain},
    {"email with a space", "san.email", LEAF, m_email_space},
    {"email with an empty local part", "san.email", LEAF, m_email_empty_local},
    {"URI without a scheme", "san.uri", LEAF, m_uri_no_scheme},
    {"URI with nothing after the scheme", "san.uri", LEAF, m_uri_no_ssp},
    {"URI with a space", "san.uri", LEAF, m_uri_space},
    {"URI with an empty host", "san.uri", LEAF, m_uri_empty_host},
    {"URI with a bad percent-encoding", "san.uri", LEAF, m_uri_bad_percent},
    {"CA/B leaf valid 400 days", "cabf.validity", LEAF, m_cabf_400_days},
    {"CA/B leaf valid 398 days and a second", "cabf.validity", LEAF, m_cabf_398_days_and_a_second},
    {"CA/B leaf valid 201 days from 2026-04-01", "cabf.validity", LEAF, m_cabf_201_days_2026},
    {"CA/B leaf backdated before 2026-03-15, signed after", "cabf.validity", LEAF, m_cabf_backdated},
    {"CA/B leaf valid 100 days and a second from 2027-03-15", "cabf.validity", LEAF, m_cabf_101_days_2027},
    {"CA/B leaf valid 48 days from 2029-03-15", "cabf.validity", LEAF, m_cabf_48_days_2029},
    {"CA/B leaf without a SAN", "cabf.san_present", LEAF, m_cabf_no_san},
    {"CA/B leaf with an email SAN", "cabf.san_types", LEAF, m_cabf_email_san},
    {"CA/B leaf without EKU", "cabf.eku_present", LEAF, m_cabf_no_eku},
    {"CA/B leaf with anyExtendedKeyUsage", "cabf.eku_any", LEAF, m_cabf_any_eku},
    {"CA/B leaf with an Ed25519 key", "cabf.key_type", LEAF, m_cabf_ed25519},
    {"CN not among the DNS SANs", "subject.cn_in_san", LEAF, m_cn_not_in_san},
    {"IP CN not among the IP SANs", "subject.cn_in_san", LEAF, m_cn_ip_not_in_san},
    {"CA/B CN differs from its SAN in case", "subject.cn_in_san", LEAF, m_cn_case_cabf},
    {"CA/B CN that is not a host name", "subject.cn_in_san", LEAF, m_cn_label_cabf},
};

/* --- passing variants --- */

static int p_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return 1;
}
static int p_rsa2048(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(2048, 65537)) && p_cabf(cc, c);
}
static int p_rsa3072_e3(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(3072, 3));
}
static int p_rsa4096(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, lint_fake_rsa(4096, 65537));
}
static int p_p384(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")) && p_cabf(cc, c);
}
static int p_p521(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"));
}
static int p_ed25519(const corpus_ctx *cc, lint_case *c)
{
    return set_key_new(c, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
}
static int p_wildcard_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return set_subject(c, "Example", "*.example.com") && SANS(c, 0, "DNS:*.example.com", "DNS:example.com");
}
static int p_partial_wildcards(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:foo*.example.com", "DNS:*bar.example.com",
                "DNS:f*o.example.com", "DNS:*.example.com");
}
static int p_idn(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "DNS:xn--bcher-kva.example.com", "DNS:xn--ls8h.example.com",
                "DNS:XN--BCHER-KVA.example.com", "DNS:a-b.c-d.example.com", "DNS:123.example.com");
}
static int p_ip_cn(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "192.0.2.1") &&
           SANS(c, 0, "DNS:www.example.com", "IP:192.0.2.1", "IP:2001:db8::1");
}
static int p_ipv6_cn_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return set_subject(c, "Example", "2001:db8::1") && SANS(c, 0, "DNS:www.example.com", "IP:2001:db8::1");
}
static int p_email_uri(const corpus_ctx *cc, lint_case *c)
{
    return SANS(c, 0, "DNS:www.example.com", "email:alice.o'hara+tag@example.com",
                "URI:https://user@www.example.com:8443/p/a%20th?q=1#frag",
                "URI:urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
                "URI:spiffe://example.org/ns/default/sa/web", "URI:https://[2001:db8::1]/",
                "URI:ldap://192.0.2.1/cn=x");
}
static int p_cn_label(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "Example Server");
}
static int p_cn_single_label(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "localhost");
}
static int p_cn_email(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "alice@example.com");
}
static int p_cn_case(const corpus_ctx *cc, lint_case *c)
{
    return set_subject(c, "Example", "WWW.Example.COM");
}
static int p_exclude_cn(const corpus_ctx *cc, lint_case *c)
{
    c->opts.exclude_cn_from_sans = true;
    return set_subject(c, "Example", "other.example.com");
}
static int p_empty_subject(const corpus_ctx *cc, lint_case *c)
{
    return m_empty_subject_noncritical_san(cc, c) && SANS(c, 1, "DNS:www.example.com");
}
static int p_empty_subject_cabf(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return p_empty_subject(cc, c);
}
static int p_until_issuer(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_CA_NA);
}
static int p_9999(const corpus_ctx *cc, lint_case *c)
{
    c->opts.permit_beyond_issuer = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, T_9999_END);
}
static int p_2049_end(const corpus_ctx *cc, lint_case *c)
{
    c->opts.permit_beyond_issuer = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, T_2049_END);
}
static int p_2050(const corpus_ctx *cc, lint_case *c)
{
    c->opts.permit_beyond_issuer = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, T_2050);
}
static int p_cabf_398(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB + 398 * LINT_DAY - 1);
}
static int p_cabf_398_last_second(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2026_03_15 - 1;
    return lint_tbs_set_validity(c->tbs, T_2026_03_15 - 1, T_2026_03_15 - 1 + 398 * LINT_DAY - 1);
}
static int p_cabf_200(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2026_03_15;
    return lint_tbs_set_validity(c->tbs, T_2026_03_15, T_2026_03_15 + 200 * LINT_DAY - 1);
}
static int p_cabf_100(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2027_03_15;
    return lint_tbs_set_validity(c->tbs, T_2027_03_15, T_2027_03_15 + 100 * LINT_DAY - 1);
}
static int p_cabf_47(const corpus_ctx *cc, lint_case *c)
{
    c->opts.cabf = true;
    c->opts.now = T_2029_03_15;
    return lint_tbs_set_validity(c->tbs, T_2029_03_15, T_2029_03_15 + 47 * LINT_DAY - 1);
}
static int p_no_cabf_long(const corpus_ctx *cc, lint_case *c)
{
    /* The schedule is a CA/B option: private PKI leaves may be long. */
    return lint_tbs_set_validity(c->tbs, LINT_T_LEAF_NB, LINT_T_LEAF_NB + 3 * 365 * LINT_DAY);
}
static int p_root_no_aki(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_del_ext(c->tbs, NID_authority_key_identifier);
}
static int p_self_issued_under_pathlen0(const corpus_ctx *cc, lint_case *c)
{
    /* Key rollover: a self-issued CA does not count against pathLen. */
    return reparent(c, cc->f->ca, cc->f->ca_key) &&
           X509_set_subject_name(c->tbs, X509_get_subject_name(cc->f->ca)) == 1 && set_bc(c, 1, 1, 1, 0) &&
           lint_tbs_set_validity(c->tbs, LINT_T_CA_NB, LINT_T_CA_NA);
}
static int p_ca_pathlen_0(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 1, 1, 1, 0);
}
static int p_serial_20(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "7F0102030405060708090A0B0C0D0E0F10111213");
}
static int p_serial_64bit(const corpus_ctx *cc, lint_case *c)
{
    return set_serial_hex(c, "8000000000000000");
}
static int p_leaf_bc_false(const corpus_ctx *cc, lint_case *c)
{
    return set_bc(c, 0, 1, 0, 0);
}
static int p_other_name(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_set_ext(c->tbs, NID_subject_alt_name,
                            "DNS:www.example.com,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com,"
                            "RID:1.2.3.4");
}
static int p_unknown_critical(const corpus_ctx *cc, lint_case *c)
{
    return lint_tbs_add_ext_der(c->tbs, "1.3.6.1.4.1.55555.9", 1, "\x0c\x02hi", 4);
}
/* Adds the extensions of an OpenSSL config section (text) to c->tbs,
 * replacing those already there with the same NIDs. */
static int add_config_extensions(lint_case *c, const char *config, const int *replace, size_t n_replace)
{
    CONF *conf = NCONF_new(NULL);
    BIO *bio = BIO_new_mem_buf(config, -1);
    X509V3_CTX ctx;
    long line = 0;
    int ok = conf != NULL && bio != NULL && NCONF_load_bio(conf, bio, &line) == 1;

    for (size_t i = 0; i < n_replace && ok; i++)
        ok = lint_tbs_del_ext(c->tbs, replace[i]);
    if (ok) {
        X509V3_set_ctx(&ctx, NULL, c->tbs, NULL, NULL, 0);
        X509V3_set_nconf(&ctx, conf);
        ok = X509V3_EXT_add_nconf(conf, &ctx, "ext", c->tbs) == 1;
    }
    BIO_free(bio);
    NCONF_free(conf);
    return ok;
}

/* The extensions OpenBao-style issuance emits with every option on: the
 * DER round-trip in ext.malformed must accept all of them. */
static int p_rich_leaf(const corpus_ctx *cc, lint_case *c)
{
    static const char config[] =
        "[ext]\n"
        "certificatePolicies = 2.23.140.1.2.2, @pol\n"
        "authorityInfoAccess = "
        "OCSP;URI:http://ocsp.example.com/,caIssuers;URI:http://ca.example.com/int.crt\n"
        "crlDistributionPoints = URI:http://crl.example.com/a.crl,URI:http://crl2.example.com/a.crl\n"
        "subjectAltName = "
        "DNS:www.example.com,dirName:dir,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@example.com,"
        "email:a@example.com,URI:https://www.example.com/,IP:192.0.2.7,IP:2001:db8::7,RID:1.2.3.4\n"
        "extendedKeyUsage = serverAuth,clientAuth,codeSigning,emailProtection,1.3.6.1.4.1.55555.7\n"
        "keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement\n"
        "[pol]\n"
        "policyIdentifier = 1.3.6.1.4.1.55555.100\n"
        "CPS.1 = \"https://www.example.com/cps\"\n"
        "userNotice.1 = @notice\n"
        "[notice]\n"
        "explicitText = \"Test notice\"\n"
        "organization = \"Example\"\n"
        "noticeNumbers = 1, 2\n"
        "[dir]\n"
        "C = US\n"
        "O = Example\n"
        "CN = Directory Name\n";
    static const int replace[] = {NID_certificate_policies, NID_info_access,   NID_crl_distribution_points,
                                  NID_subject_alt_name,     NID_ext_key_usage, NID_key_usage};

    return add_config_extensions(c, config, replace, sizeof(replace) / sizeof(replace[0]));
}

static int p_name_constraints(const corpus_ctx *cc, lint_case *c)
{
    static const char config[] =
        "[ext]\n"
        "nameConstraints = critical,permitted;DNS:example.com,permitted;email:.example.com,"
        "permitted;IP:192.0.2.0/255.255.255.0,excluded;IP:0.0.0.0/0.0.0.0,excluded;DNS:bad.example.com,"
        "permitted;dirName:dir\n"
        "certificatePolicies = 2.5.29.32.0\n"
        "authorityInfoAccess = caIssuers;URI:http://ca.example.com/root.crt\n"
        "extendedKeyUsage = serverAuth,clientAuth\n"
        "[dir]\n"
        "O = hsmca test\n";
    static const int replace[] = {NID_name_constraints};

    return add_config_extensions(c, config, replace, sizeof(replace) / sizeof(replace[0]));
}

static const case_spec baseline_specs[] = {
    {"baseline leaf", NULL, LEAF, NULL},
    {"baseline CA", NULL, CA, NULL},
    {"baseline root", NULL, ROOT, NULL},
    {"baseline leaf, CA/B mode", NULL, LEAF, p_cabf},
    {"leaf RSA 2048, CA/B mode", NULL, LEAF, p_rsa2048},
    {"leaf RSA 3072 with e = 3", NULL, LEAF, p_rsa3072_e3},
    {"leaf RSA 4096", NULL, LEAF, p_rsa4096},
    {"leaf P-384, CA/B mode", NULL, LEAF, p_p384},
    {"leaf P-521", NULL, LEAF, p_p521},
    {"leaf Ed25519", NULL, LEAF, p_ed25519},
    {"CA Ed25519", NULL, CA, p_ed25519},
    {"root RSA 4096", NULL, ROOT, p_rsa4096},
    {"leaf *.example.com, CA/B mode", NULL, LEAF, p_wildcard_cabf},
    {"leaf RFC 6125 partial wildcards", NULL, LEAF, p_partial_wildcards},
    {"leaf A-label IDNs", NULL, LEAF, p_idn},
    {"leaf with IP SANs and an IP CN", NULL, LEAF, p_ip_cn},
    {"leaf with an IPv6 CN, CA/B mode", NULL, LEAF, p_ipv6_cn_cabf},
    {"leaf with email and URI SANs", NULL, LEAF, p_email_uri},
    {"leaf with otherName and registeredID SANs", NULL, LEAF, p_other_name},
    {"leaf whose CN is not a host name", NULL, LEAF, p_cn_label},
    {"leaf whose CN is a single label", NULL, LEAF, p_cn_single_label},
    {"leaf whose CN is an email address", NULL, LEAF, p_cn_email},
    {"leaf whose CN matches a SAN in another case", NULL, LEAF, p_cn_case},
    {"leaf CN outside the SANs, exclude_cn_from_sans", NULL, LEAF, p_exclude_cn},
    {"leaf with an empty subject and a critical SAN", NULL, LEAF, p_empty_subject},
    {"CA/B leaf with an empty subject and a critical SAN", NULL, LEAF, p_empty_subject_cabf},
    {"leaf notAfter equal to the issuer's", NULL, LEAF, p_until_issuer},
    {"leaf until 9999-12-31T23:59:59Z, permit", NULL, LEAF, p_9999},
    {"leaf until 2049-12-31T23:59:59Z (UTCTime), permit", NULL, LEAF, p_2049_end},
    {"leaf until 2050-01-01 (GeneralizedTime), permit", NULL, LEAF, p_2050},
    {"CA/B leaf valid exactly 398 days", NULL, LEAF, p_cabf_398},
    {"CA/B leaf 398 days issued 2026-03-14T23:59:59Z", NULL, LEAF, p_cabf_398_last_second},
    {"CA/B leaf valid exactly 200 days from 2026-03-15", NULL, LEAF, p_cabf_200},
    {"CA/B leaf valid exactly 100 days from 2027-03-15", NULL, LEAF, p_cabf_100},
    {"CA/B leaf valid exactly 47 days from 2029-03-15", NULL, LEAF, p_cabf_47},
    {"leaf valid three years without CA/B", NULL, LEAF, p_no_cabf_long},
    {"root without authorityKeyIdentifier", NULL, ROOT, p_root_no_aki},
    {"self-issued CA under an intermediate with pathLen 0", NULL, CA, p_self_issued_under_pathlen0},
    {"CA with pathLen 0 under a root with pathLen 1", NULL, CA, p_ca_pathlen_0},
    {"20-octet serial", NULL, LEAF, p_serial_20},
    {"serial of exactly 64 bits", NULL, LEAF, p_serial_64bit},
    {"leaf with critical basicConstraints cA FALSE", NULL, LEAF, p_leaf_bc_false},
    {"leaf with an unknown critical extension", NULL, LEAF, p_unknown_critical},
    {"CA with name constraints, policies, AIA and EKU", NULL, CA, p_name_constraints},
    {"leaf with every extension OpenBao can emit", NULL, LEAF, p_rich_leaf},
};

static int build_case(const corpus_ctx *cc, const case_spec *spec, lint_case *c)
{
    const lint_fixture *f = cc->f;
    int ok = 0;

    memset(c, 0, sizeof(*c));
    c->name = spec->name;
    c->rule = spec->rule;
    c->opts = lint_fixture_opts(f, spec->role);
    switch (spec->role) {
    case HSMCA_LINT_LEAF:
        c->tbs = lint_fixture_leaf(f);
        ok = set_issuer(c, f->ca, f->ca_key);
        break;
    case HSMCA_LINT_CA:
        c->tbs = lint_fixture_ca(f);
        ok = set_issuer(c, f->root, f->root_key);
        break;
    default:
        c->tbs = lint_fixture_root(f);
        ok = set_issuer(c, NULL, f->root_key);
        break;
    }
    ok = ok && c->tbs != NULL && (spec->mutate == NULL || spec->mutate(cc, c));
    if (!ok) {
        fprintf(stderr, "lint corpus: cannot build case '%s'\n", spec->name);
        ERR_print_errors_fp(stderr);
    }
    return ok;
}

static size_t build(const case_spec *specs, size_t n_specs, lint_case **cases)
{
    lint_fixture *f = lint_fixture_new();
    corpus_ctx cc = {f, NULL};
    lint_case *out = calloc(n_specs, sizeof(*out));
    size_t built = 0;
    int ok = f != NULL && out != NULL;

    *cases = NULL;
    if (ok) {
        cc.leaf_cert = lint_fixture_leaf(f);
        ok = cc.leaf_cert != NULL && X509_sign(cc.leaf_cert, f->ca_key, EVP_sha256()) > 0;
    }
    for (size_t i = 0; i < n_specs && ok; i++) {
        ok = build_case(&cc, &specs[i], &out[i]);
        built = i + 1;
    }
    if (!ok) {
        lint_corpus_free(out, built);
        out = NULL;
        built = 0;
    }
    X509_free(cc.leaf_cert);
    lint_fixture_free(f);
    *cases = out;
    return built;
}

size_t lint_corpus_build(lint_case **cases)
{
    return build(negative_specs, sizeof(negative_specs) / sizeof(negative_specs[0]), cases);
}

size_t lint_corpus_build_baselines(lint_case **cases)
{
    return build(baseline_specs, sizeof(baseline_specs) / sizeof(baseline_specs[0]), cases);
}

void lint_corpus_free(lint_case *cases, size_t n)
{
    for (size_t i = 0; cases != NULL && i < n; i++) {
        X509_free(cases[i].tbs);
        X509_free(cases[i].issuer);
        EVP_PKEY_free(cases[i].signer);
    }
    free(cases);
}
