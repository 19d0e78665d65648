/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca_policy_evaluate: a leaf request checked against its role, step by
 * step in the order OpenBao's signCert/generateCreationBundle take them
 * (builtin/logical/pki/cert_util.go), ending in a certificate template. */
#include "hsmca/policy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "hsmca/duration.h"
#include "hsmca/log.h"
#include "internal.h"
#include "policy_internal.h"

/* OpenBao's system default and maximum lease TTL (768h), used when the
 * context leaves them 0. */
#define POLICY_SYSTEM_TTL INT64_C(2764800)
/* certutil: NotBefore is now - 30s unless not_before_duration says more. */
#define POLICY_DEFAULT_BACKDATE 30
/* RFC 5280 Appendix A.1 upper bounds, in characters. */
#define UB_COMMON_NAME   64
#define UB_SERIAL_NUMBER 64
/* RFC 1274 ub-user-identifier. */
#define UB_USER_ID 256
/* RFC 5321 4.5.3.1: 64 octets of local part, 254 in all for a path. */
#define EMAIL_LOCAL_MAX 64
#define EMAIL_MAX       254

typedef struct {
    unsigned char b[16];
    int len; /* 4 or 16 */
} ip_addr;

/* Everything one evaluation collects; freed by eval_clear. */
typedef struct {
    const hsmca_role *role;
    const hsmca_issue_request *req;
    const hsmca_policy_context *ctx;
    hsmca_cert_template *out;
    const char *rname;
    EVP_PKEY *key; /* borrowed: the request's or the CSR's */
    const char *key_src;
    char *cn; /* "" when none */
    const char *cn_field;
    char *serial; /* NULL when none */
    const char *serial_field;
    hsmca_strlist dns, dns_src; /* A-label names and the field each came from */
    hsmca_strlist email, email_src;
    ip_addr *ips;
    size_t nips;
    hsmca_strlist uris;
    const char *uri_field;
    hsmca_strlist other_oid, other_val, other_src;
    hsmca_strlist uids;
    const char *uid_field;
    GENERAL_NAMES *csr_sans;
    bool csr_sans_used;
} eval;

static void eval_clear(eval *e)
{
    free(e->cn);
    free(e->serial);
    hsmca_strlist_clear(&e->dns);
    hsmca_strlist_clear(&e->dns_src);
    hsmca_strlist_clear(&e->email);
    hsmca_strlist_clear(&e->email_src);
    free(e->ips);
    hsmca_strlist_clear(&e->uris);
    hsmca_strlist_clear(&e->other_oid);
    hsmca_strlist_clear(&e->other_val);
    hsmca_strlist_clear(&e->other_src);
    hsmca_strlist_clear(&e->uids);
    GENERAL_NAMES_free(e->csr_sans);
}

/* "<field> '<value>' not allowed by role '<name>': <rule>" */
static hsmca_rv deny(const eval *e, const char *field, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static hsmca_rv deny(const eval *e, const char *field, const char *value, const char *fmt, ...)
{
    char rule[POLICY_WHY_BUF], q[POLICY_QUOTE_BUF];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rule, sizeof(rule), fmt, ap);
    va_end(ap);
    policy_quote(value, q, sizeof(q));
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s' not allowed by role '%s': %s", field, q, e->rname, rule);
}

/* "<field> '<value>' is not valid: <rule>" for values no role could allow. */
static hsmca_rv invalid(const char *field, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hsmca_rv invalid(const char *field, const char *value, const char *fmt, ...)
{
    char rule[POLICY_WHY_BUF], q[POLICY_QUOTE_BUF];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rule, sizeof(rule), fmt, ap);
    va_end(ap);
    policy_quote(value, q, sizeof(q));
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s' is not valid: %s", field, q, rule);
}

static hsmca_rv warn(eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hsmca_rv warn(eval *e, const char *fmt, ...)
{
    char text[POLICY_WHY_BUF];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return hsmca_strlist_add(&e->out->warnings, text, strlen(text));
}

static hsmca_rv add2(hsmca_strlist *a, const char *va, hsmca_strlist *b, const char *vb)
{
    hsmca_rv rv = hsmca_strlist_add(a, va, strlen(va));

    if (rv == HSMCA_OK) {
        rv = hsmca_strlist_add(b, vb, strlen(vb));
        if (rv != HSMCA_OK) {
            free(a->v[--a->n]); /* keep the two lists parallel */
        }
    }
    return rv;
}

/* ASN.1 text to an owned, NUL-free, valid UTF-8 C string. */
static hsmca_rv asn1_text(const ASN1_STRING *s, const char *field, char **out)
{
    unsigned char *u = NULL;
    int n;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *out = NULL;
    n = ASN1_STRING_to_UTF8(&u, s);
    if (n < 0) {
        ERR_clear_error();
        rv = hsmca_err(rv, "%s: the CSR's value cannot be read as text", field);
        goto done;
    }
    if ((size_t)n != strlen((const char *)u) || !policy_utf8_valid((const char *)u, (size_t)n, NULL)) {
        rv = invalid(field, (const char *)u, "holds a NUL byte or invalid UTF-8");
        goto done;
    }
    *out = strdup((const char *)u);
    rv = HSMCA_OK;
    if (*out == NULL)
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
done:
    OPENSSL_free(u);
    return rv;
}

/* IA5String bytes (dNSName, rfc822Name, URI) to a C string: ASCII, no NUL
 * (RFC 5280 4.2.1.6; a NUL would let "a.com\0.evil.com" pass as a.com). */
static hsmca_rv ia5_text(const ASN1_STRING *s, const char *field, char *buf, size_t size)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);

    if (n < 0 || (size_t)n >= size)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: value longer than %zu octets", field, size - 1);
    memcpy(buf, d, (size_t)n);
    buf[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (d[i] == 0 || d[i] >= 0x80)
            return invalid(field, buf,
                           "an IA5String name must be ASCII without NUL bytes (RFC 5280 4.2.1.6)");
    }
    return HSMCA_OK;
}

/* Go's pkix.Name keeps the last value of a single-valued attribute. */
static hsmca_rv csr_last_attr(const X509_REQ *csr, int nid, const char *field, char **out)
{
    const X509_NAME *name = X509_REQ_get_subject_name(csr);
    int idx = -1, last = -1;

    *out = NULL;
    while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0)
        last = idx;
    if (last < 0)
        return HSMCA_OK;
    return asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)), field, out);
}

/* ---- keys ---- */

static hsmca_rv check_key(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    char desc[64], group[64];
    const char *actual;
    int bits = 0, min;

    if (req->csr != NULL) {
        /* The caller's key is the CSR's, built by the CSR parser (csr.c);
         * asking the X509_REQ would run OpenSSL's decoder (~0.1 ms). The
         * match is still checked: cheaply when the encodings show it, else
         * with a decoder-free copy of the CSR's key. */
        EVP_PKEY *k = req->pubkey, *csr_key = NULL;
        int same = k != NULL ? ca_spki_same_key(X509_REQ_get_X509_PUBKEY(req->csr), k) : -1;

        if (same < 0) {
            csr_key = ca_spki_to_pkey(X509_REQ_get_X509_PUBKEY(req->csr));
            if (csr_key == NULL)
                csr_key = X509_REQ_get_pubkey(req->csr);
            if (csr_key == NULL) {
                ERR_clear_error();
                return invalid("csr", "public key", "the CSR's subject public key cannot be parsed");
            }
            same = k == NULL || EVP_PKEY_eq(k, csr_key) == 1;
            if (k == NULL)
                k = X509_REQ_get0_pubkey(req->csr);
            EVP_PKEY_free(csr_key);
            ERR_clear_error();
        }
        /* The self-signature (RFC 2986 4.2, proof of possession) is the CSR
         * parser's to check, once, before any path uses the CSR: sign,
         * sign-verbatim and sign-intermediate alike (policy.h). */
        if (!same)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "pubkey is not the CSR's public key");
        e->key = k;
        e->key_src = "csr key";
    } else {
        e->key = req->pubkey;
        e->key_src = "key";
    }
    if (e->key == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "no subject public key: give a csr (sign) or a pubkey (issue)");

    if (EVP_PKEY_is_a(e->key, "RSA")) {
        actual = "rsa";
        bits = EVP_PKEY_get_bits(e->key);
        snprintf(desc, sizeof(desc), "RSA %d-bit", bits);
    } else if (EVP_PKEY_is_a(e->key, "EC")) {
        size_t glen = 0;

        actual = "ec";
        if (!EVP_PKEY_get_group_name(e->key, group, sizeof(group), &glen)) {
            ERR_clear_error();
            return invalid(e->key_src, "EC", "the curve of the key cannot be determined");
        }
        /* Go's x509 parses NIST P-curves only; OpenBao's sizes are theirs. */
        if (strcmp(group, "secp224r1") == 0)
            bits = 224;
        else if (strcmp(group, "prime256v1") == 0)
            bits = 256;
        else if (strcmp(group, "secp384r1") == 0)
            bits = 384;
        else if (strcmp(group, "secp521r1") == 0)
            bits = 521;
        else
            return deny(e, e->key_src, group, "EC keys must be on P-224, P-256, P-384 or P-521");
        snprintf(desc, sizeof(desc), "EC P-%d", bits);
    } else if (EVP_PKEY_is_a(e->key, "ED25519")) {
        actual = "ed25519";
        snprintf(desc, sizeof(desc), "Ed25519");
    } else {
        const char *tn = EVP_PKEY_get0_type_name(e->key);

        /* RSASSA-PSS keys (OID 1.2.840.113549.1.1.10) included: OpenBao
         * refuses them as an unknown key type too. */
        return deny(e, e->key_src, tn != NULL ? tn : "unknown",
                    "key_type: only rsa, ec and ed25519 subject keys are supported");
    }

    switch (r->key_type) {
    case HSMCA_ROLE_KEY_RSA:
    case HSMCA_ROLE_KEY_EC:
    case HSMCA_ROLE_KEY_ED25519:
        if (strcmp(actual, hsmca_role_key_type_name(r->key_type)) != 0)
            return deny(e, e->key_src, desc, "key_type: role requires keys of type %s",
                        hsmca_role_key_type_name(r->key_type));
        min = r->key_bits;
        if (min == 0)
            min = r->key_type == HSMCA_ROLE_KEY_RSA ? 2048 : 256;
        break;
    case HSMCA_ROLE_KEY_ANY:
        /* key_type any: only OpenBao's floors, RSA >= 2048 and EC >= 224;
         * the role's key_bits is ignored when signing (reference). */
        min = strcmp(actual, "rsa") == 0 ? 2048 : 224;
        break;
    default:
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "role '%s' has an unknown key_type", e->rname);
    }
    if (strcmp(actual, "rsa") == 0 && bits < 2048)
        return deny(e, e->key_src, desc, "RSA keys < 2048 bits are unsafe and not supported");
    if (strcmp(actual, "ed25519") != 0 && bits < min)
        return deny(e, e->key_src, desc,
                    "key_bits: role requires a minimum of a %d-bit key, but the key is %d bits", min, bits);
    return HSMCA_OK;
}

/* ---- names ---- */

/* local@domain with the domain as A-labels; false with why. */
static bool email_to_ascii(const char *in, char *out, size_t size, char *why, size_t why_size)
{
    const char *at = strchr(in, '@');
    char dom[POLICY_DNS_MAX + 2];
    size_t local;

    if (at == NULL || strchr(at + 1, '@') != NULL) {
        snprintf(why, why_size, "an email address has exactly one '@'");
        return false;
    }
    local = (size_t)(at - in);
    if (local == 0 || local > EMAIL_LOCAL_MAX) {
        snprintf(why, why_size, "the local part must have 1 to %d octets (RFC 5321 4.5.3.1.1)",
                 EMAIL_LOCAL_MAX);
        return false;
    }
    /* rfc822Name is an IA5String: SMTPUTF8 local parts would need the
     * SmtpUTF8Mailbox otherName (RFC 8398), which is not offered. */
    for (size_t i = 0; i < local; i++) {
        if ((unsigned char)in[i] <= 0x20 || (unsigned char)in[i] >= 0x7f) {
            snprintf(why, why_size,
                     "the local part must be printable ASCII without spaces (rfc822Name is an IA5String, RFC "
                     "5280 4.2.1.6)");
            return false;
        }
    }
    if (policy_domain_to_ascii(at + 1, dom, sizeof(dom), why, why_size) != POLICY_DOMAIN_OK)
        return false;
    if (!policy_dns_syntax_valid(dom)) {
        snprintf(why, why_size, "the domain part is not a DNS name");
        return false;
    }
    if (local + 1 + strlen(dom) > EMAIL_MAX || local + 1 + strlen(dom) >= size) {
        snprintf(why, why_size, "longer than %d octets (RFC 5321 4.5.3.1.3)", EMAIL_MAX);
        return false;
    }
    memcpy(out, in, local + 1);
    memcpy(out + local + 1, dom, strlen(dom) + 1);
    return true;
}

static hsmca_rv collect_email(eval *e, const char *field, const char *value)
{
    char a[EMAIL_MAX + 2], why[POLICY_WHY_BUF];

    if (!email_to_ascii(value, a, sizeof(a), why, sizeof(why)))
        return invalid(field, value, "not an email address: %s", why);
    return add2(&e->email, a, &e->email_src, field);
}

/* A requested dNSName: A-labels and dNSName syntax now, role rules later. */
static hsmca_rv collect_dns(eval *e, const char *field, const char *value)
{
    char a[POLICY_DNS_MAX + 2], why[POLICY_WHY_BUF];

    if (!policy_utf8_valid(value, strlen(value), NULL))
        return invalid(field, value, "not valid UTF-8 (RFC 3629)");
    if (policy_domain_to_ascii(value, a, sizeof(a), why, sizeof(why)) != POLICY_DOMAIN_OK)
        return invalid(field, value, "not a DNS name: %s", why);
    if (!policy_dns_syntax_valid(a))
        return invalid(field, value,
                       "a dNSName is printable ASCII without spaces, with labels of 1-63 octets and no "
                       "trailing dot (RFC 5280 4.2.1.6)");
    return add2(&e->dns, a, &e->dns_src, field);
}

/* RFC 3986 3.1 scheme, then something: RFC 5280 4.2.1.6 wants an absolute
 * URI with a scheme-specific part, in IA5 characters. */
static bool uri_valid(const char *s)
{
    const char *p = s;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
           *p == '-' || *p == '.')
        p++;
    if (*p != ':' || p[1] == '\0')
        return false;
    for (; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    }
    return true;
}

static hsmca_rv add_ip(eval *e, const unsigned char *b, int len)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip_addr *grown;

    if (e->nips >= HSMCA_STRLIST_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ip_sans: more than %d addresses", HSMCA_STRLIST_MAX);
    grown = realloc(e->ips, (e->nips + 1) * sizeof(*grown));
    if (grown == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    e->ips = grown;
    /* Go encodes an IPv4-mapped IPv6 address as the 4-octet IPv4 address
     * (net.IP.To4), and so does OpenBao's certificate. */
    if (len == 16 && memcmp(b, v4mapped, 12) == 0) {
        b += 12;
        len = 4;
    }
    memcpy(e->ips[e->nips].b, b, (size_t)len);
    e->ips[e->nips].len = len;
    e->nips++;
    return HSMCA_OK;
}

/* "<oid>;UTF8:<value>" (type utf8 or utf-8, any case: parseOtherSANs). */
static bool other_san_split(const char *s, char *oid, size_t oid_size, const char **value)
{
    const char *semi = strchr(s, ';');
    const char *colon = semi != NULL ? strchr(semi + 1, ':') : NULL;
    size_t tlen;

    if (semi == NULL || colon == NULL || (size_t)(semi - s) >= oid_size)
        return false;
    tlen = (size_t)(colon - semi - 1);
    if (!((tlen == 4 && strncasecmp(semi + 1, "utf8", 4) == 0) ||
          (tlen == 5 && strncasecmp(semi + 1, "utf-8", 5) == 0)))
        return false;
    memcpy(oid, s, (size_t)(semi - s));
    oid[semi - s] = '\0';
    *value = colon + 1;
    return true;
}

/* The names, addresses and other names of the CSR's subjectAltName. */
static hsmca_rv collect_csr_sans(eval *e)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(e->req->csr);
    int crit = -1, ignored = 0;
    bool has_bc;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    e->csr_sans = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    has_bc = X509v3_get_ext_by_NID(exts, NID_basic_constraints, -1) >= 0;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    /* A leaf never takes the CSR's basicConstraints; OpenBao says so. */
    rv = HSMCA_OK;
    if (has_bc && !e->role->basic_constraints_valid_for_non_ca)
        rv =
            warn(e, "specified CSR contained a Basic Constraints extension that was ignored during issuance");
    ERR_clear_error();
    if (rv != HSMCA_OK)
        return rv;
    if (e->csr_sans == NULL) {
        if (crit == -2)
            return invalid("csr", "subjectAltName", "more than one subjectAltName extension (RFC 5280 4.2)");
        if (crit >= 0)
            return invalid("csr", "subjectAltName", "the extension cannot be decoded");
        return HSMCA_OK;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(e->csr_sans) && i < HSMCA_STRLIST_MAX; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(e->csr_sans, i);
        char buf[HSMCA_ROLE_ENTRY_MAX + 1];

        switch (g->type) {
        case GEN_DNS:
            if ((rv = ia5_text(g->d.dNSName, "csr dNSName", buf, sizeof(buf))) == HSMCA_OK)
                rv = collect_dns(e, "csr dNSName", buf);
            break;
        case GEN_EMAIL:
            if ((rv = ia5_text(g->d.rfc822Name, "csr rfc822Name", buf, sizeof(buf))) == HSMCA_OK)
                rv = collect_email(e, "csr rfc822Name", buf);
            break;
        case GEN_URI:
            if ((rv = ia5_text(g->d.uniformResourceIdentifier, "csr uniformResourceIdentifier", buf,
                               sizeof(buf))) == HSMCA_OK)
                rv = hsmca_strlist_add(&e->uris, buf, strlen(buf));
            break;
        case GEN_IPADD: {
            int n = ASN1_STRING_length(g->d.iPAddress);

            if (n != 4 && n != 16)
                return invalid("csr iPAddress", "(binary)", "an address has 4 or 16 octets, this one %d", n);
            rv = add_ip(e, ASN1_STRING_get0_data(g->d.iPAddress), n);
            break;
        }
        case GEN_OTHERNAME: {
            char oid[130], *val = NULL;
            const ASN1_TYPE *v = g->d.otherName->value;

            if (OBJ_obj2txt(oid, sizeof(oid), g->d.otherName->type_id, 1) <= 0) {
                ERR_clear_error();
                return invalid("csr otherName", "(OID)", "the type-id cannot be read");
            }
            if (v == NULL || v->type != V_ASN1_UTF8STRING)
                return invalid("csr otherName", oid,
                               "could not parse requested other SAN: no UTF-8 string found in OtherName");
            if ((rv = asn1_text(v->value.utf8string, "csr otherName", &val)) == HSMCA_OK && val != NULL) {
                rv = add2(&e->other_oid, oid, &e->other_val, val);
                if (rv == HSMCA_OK)
                    rv = hsmca_strlist_add(&e->other_src, "csr otherName", 13);
            }
            free(val);
            break;
        }
        default:
            ignored++;
            break;
        }
        if (rv != HSMCA_OK)
            return rv;
    }
    if (ignored > 0)
        rv = warn(
            e,
            "specified CSR contained %d subject alternative name(s) of a type other than DNS, email, IP, "
            "URI or UTF-8 otherName; they were ignored during issuance",
            ignored);
    return rv;
}

/* Common name, subject serialNumber and the DNS/email names: where each
 * comes from (CSR or request) follows use_csr_common_name/use_csr_sans. */
static hsmca_rv collect_names(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    bool from_csr_sans = req->csr != NULL && r->use_csr_sans;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    size_t chars = 0;

    e->cn_field = "common_name";
    if (req->csr != NULL && r->use_csr_common_name) {
        if ((rv = csr_last_attr(req->csr, NID_commonName, "csr common name", &e->cn)) != HSMCA_OK)
            return rv;
        e->cn_field = "csr common name";
    }
    if (e->cn == NULL || e->cn[0] == '\0') {
        free(e->cn);
        e->cn = strdup(req->common_name != NULL ? req->common_name : "");
        if (e->cn == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        e->cn_field = "common_name";
    }
    if (e->cn[0] == '\0' && r->require_cn)
        return deny(e, "common_name", "",
                    "the common_name field is required, or must be provided in a CSR with "
                    "\"use_csr_common_name\" set to true, unless \"require_cn\" is set to false");
    if (!policy_utf8_valid(e->cn, strlen(e->cn), &chars))
        return invalid(e->cn_field, e->cn, "not valid UTF-8 (RFC 3629)");
    if (chars > UB_COMMON_NAME)
        return invalid(e->cn_field, e->cn, "%zu characters; ub-common-name is %d (RFC 5280 Appendix A.1)",
                       chars, UB_COMMON_NAME);

    /* serial_number from the request, else from the CSR's subject. */
    e->serial_field = "serial_number";
    if (req->serial_number != NULL && req->serial_number[0] != '\0') {
        e->serial = strdup(req->serial_number);
        if (e->serial == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    } else if (req->csr != NULL) {
        if ((rv = csr_last_attr(req->csr, NID_serialNumber, "csr serialNumber", &e->serial)) != HSMCA_OK)
            return rv;
        e->serial_field = "csr serialNumber";
        if (e->serial != NULL && e->serial[0] == '\0') {
            free(e->serial);
            e->serial = NULL;
        }
    }

    if (from_csr_sans) {
        e->csr_sans_used = true;
        if ((rv = collect_csr_sans(e)) != HSMCA_OK)
            return rv;
    }
    /* The CN goes into the SANs unless excluded: as an email address when
     * it has an '@', as a dNSName only when it is shaped like a host name
     * (a human-readable CN stays in the subject only, as in OpenBao). */
    if (e->cn[0] != '\0' && !req->exclude_cn_from_sans) {
        if (strchr(e->cn, '@') != NULL) {
            char a[EMAIL_MAX + 2], why[POLICY_WHY_BUF];

            if (!email_to_ascii(e->cn, a, sizeof(a), why, sizeof(why)))
                return invalid(e->cn_field, e->cn,
                               "it has an '@' but cannot be an email SAN: %s (set exclude_cn_from_sans)",
                               why);
            if ((rv = add2(&e->email, a, &e->email_src, e->cn_field)) != HSMCA_OK)
                return rv;
        } else {
            char a[POLICY_DNS_MAX + 2], why[POLICY_WHY_BUF];
            policy_domain_result dr = policy_domain_to_ascii(e->cn, a, sizeof(a), why, sizeof(why));

            /* A CN that does not convert is not a host name and stays in
             * the subject only. (OpenBao refuses a CN with an empty or
             * over-63-octet label here unless exclude_cn_from_sans is
             * set; a long human-readable CN is legitimate, so hsmca does
             * not.) */
            if (dr == POLICY_DOMAIN_OK && policy_dns_name_shaped(a) &&
                (rv = add2(&e->dns, a, &e->dns_src, e->cn_field)) != HSMCA_OK)
                return rv;
        }
    }
    if (!from_csr_sans) {
        for (size_t i = 0; i < req->alt_names.n; i++) {
            const char *v = req->alt_names.v[i];

            rv = strchr(v, '@') != NULL ? collect_email(e, "alt_names", v) : collect_dns(e, "alt_names", v);
            if (rv != HSMCA_OK)
                return rv;
        }
    }
    return HSMCA_OK;
}

static bool cn_validation_has(const hsmca_role *r, const char *what)
{
    for (size_t i = 0; i < r->cn_validations.n; i++) {
        if (strcasecmp(r->cn_validations.v[i], what) == 0)
            return true;
    }
    return false;
}

/* validateCommonName: the name rules, then the kind cn_validations allows. */
static hsmca_rv check_cn(eval *e)
{
    const hsmca_role *r = e->role;
    const char *cn = e->cn;
    char a[EMAIL_MAX + 2], why[POLICY_WHY_BUF];
    const char *judged = cn;
    bool email = strchr(cn, '@') != NULL;

    if (cn[0] == '\0')
        return HSMCA_OK;
    /* "disabled" alone skips every check, allowed_domains included. */
    if (r->cn_validations.n == 1 && strcasecmp(r->cn_validations.v[0], "disabled") == 0)
        return HSMCA_OK;
    /* Judge the A-label form. A CN that does not convert is judged as
     * written: only enforce_hostnames makes that fatal. */
    if (email ? email_to_ascii(cn, a, sizeof(a), why, sizeof(why))
              : policy_domain_to_ascii(cn, a, sizeof(a), why, sizeof(why)) == POLICY_DOMAIN_OK)
        judged = a;
    else if (r->enforce_hostnames)
        return deny(e, e->cn_field, cn, "enforce_hostnames: %s", why);
    if (!policy_name_allowed(r, judged, why, sizeof(why)))
        return deny(e, e->cn_field, cn, "%s", why);
    if (r->cn_validations.n == 0)
        return HSMCA_OK;
    if (email && !cn_validation_has(r, "email"))
        return deny(e, e->cn_field, cn,
                    "cn_validations does not include 'email' and the common name has an '@'");
    if (!email && !cn_validation_has(r, "hostname"))
        return deny(e, e->cn_field, cn,
                    "cn_validations does not include 'hostname' and the common name has no '@'");
    return HSMCA_OK;
}

/* X.680 41.4 PrintableString characters. */
static bool printable_string(const char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(" '()+,-./:=?", c) != NULL))
            return false;
    }
    return true;
}

/* validateSerialNumber: exact or glob match in allowed_serial_numbers; an
 * empty list forbids any. */
static hsmca_rv check_serial(eval *e)
{
    const hsmca_role *r = e->role;
    size_t chars = 0;

    if (e->serial == NULL)
        return HSMCA_OK;
    if (!policy_utf8_valid(e->serial, strlen(e->serial), &chars) || !printable_string(e->serial) ||
        chars > UB_SERIAL_NUMBER)
        return invalid(e->serial_field, e->serial,
                       "serialNumber is a PrintableString of at most %d characters (RFC 5280 Appendix A.1)",
                       UB_SERIAL_NUMBER);
    for (size_t i = 0; i < r->allowed_serial_numbers.n; i++) {
        const char *p = r->allowed_serial_numbers.v[i];

        if (strcmp(p, e->serial) == 0 || (strchr(p, '*') != NULL && policy_glob_match(p, e->serial, false)))
            return HSMCA_OK;
    }
    return deny(e, e->serial_field, e->serial, "%s",
                r->allowed_serial_numbers.n == 0
                    ? "allowed_serial_numbers is empty, so no serial_number is allowed"
                    : "no match in allowed_serial_numbers");
}

static hsmca_rv check_dns_and_email(eval *e)
{
    char why[POLICY_WHY_BUF];

    for (size_t i = 0; i < e->dns.n; i++) {
        if (!policy_name_allowed(e->role, e->dns.v[i], why, sizeof(why)))
            return deny(e, e->dns_src.v[i], e->dns.v[i], "%s", why);
    }
    for (size_t i = 0; i < e->email.n; i++) {
        if (!policy_name_allowed(e->role, e->email.v[i], why, sizeof(why)))
            return deny(e, e->email_src.v[i], e->email.v[i], "%s", why);
    }
    return HSMCA_OK;
}

/* validateOtherSANs: a lone "*" allows anything; otherwise the OID must be
 * listed and the value must match one of its globs. */
static hsmca_rv check_other_sans(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    for (size_t i = 0; i < req->other_sans.n; i++) {
        char oid[130];
        const char *val;
        size_t vlen;

        if (!other_san_split(req->other_sans.v[i], oid, sizeof(oid), &val))
            return invalid("other_sans", req->other_sans.v[i],
                           "could not parse requested other SAN: the format is <oid>;UTF8:<value>");
        if (!hsmca_role_oid_valid(oid))
            return invalid("other_sans", req->other_sans.v[i], "'%s' is not a dotted-decimal OID", oid);
        vlen = strlen(val);
        if (vlen > HSMCA_ROLE_ENTRY_MAX || !policy_utf8_valid(val, vlen, NULL))
            return invalid("other_sans", req->other_sans.v[i], "the value is not UTF-8 of at most %d bytes",
                           HSMCA_ROLE_ENTRY_MAX);
        if ((rv = add2(&e->other_oid, oid, &e->other_val, val)) != HSMCA_OK ||
            (rv = hsmca_strlist_add(&e->other_src, "other_sans", 10)) != HSMCA_OK)
            return rv;
    }
    if (e->other_oid.n == 0 || (r->allowed_other_sans.n == 1 && strcmp(r->allowed_other_sans.v[0], "*") == 0))
        return HSMCA_OK;
    for (size_t i = 0; i < e->other_oid.n; i++) {
        bool oid_listed = false, ok = false;
        char shown[HSMCA_ROLE_ENTRY_MAX + 140];

        for (size_t k = 0; k < r->allowed_other_sans.n && !ok; k++) {
            char aoid[130];
            const char *aval;

            if (!other_san_split(r->allowed_other_sans.v[k], aoid, sizeof(aoid), &aval) ||
                strcmp(aoid, e->other_oid.v[i]) != 0)
                continue;
            oid_listed = true;
            ok = policy_glob_match(aval, e->other_val.v[i], false);
        }
        if (ok)
            continue;
        snprintf(shown, sizeof(shown), "%s;UTF8:%s", e->other_oid.v[i], e->other_val.v[i]);
        if (!oid_listed)
            return deny(e, e->other_src.v[i], shown, "other SAN OID %s not allowed by allowed_other_sans",
                        e->other_oid.v[i]);
        return deny(e, e->other_src.v[i], shown, "value not allowed for OID %s by allowed_other_sans",
                    e->other_oid.v[i]);
    }
    return HSMCA_OK;
}

static hsmca_rv check_ips(eval *e)
{
    const hsmca_issue_request *req = e->req;

    if (e->csr_sans_used) {
        if (e->nips > 0 && !e->role->allow_ip_sans) {
            char text[INET6_ADDRSTRLEN];

            if (inet_ntop(e->ips[0].len == 4 ? AF_INET : AF_INET6, e->ips[0].b, text, sizeof(text)) == NULL)
                snprintf(text, sizeof(text), "?");
            return deny(e, "csr iPAddress", text,
                        "IP Subject Alternative Names are not allowed in this role (allow_ip_sans is false)");
        }
        return HSMCA_OK;
    }
    for (size_t i = 0; i < req->ip_sans.n; i++) {
        unsigned char b[16];
        const char *v = req->ip_sans.v[i];
        hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

        if (!e->role->allow_ip_sans)
            return deny(e, "ip_sans", v,
                        "IP Subject Alternative Names are not allowed in this role (allow_ip_sans is false)");
        /* inet_pton, like Go's net.ParseIP, refuses IPv4 octets with
         * leading zeros (ambiguous octal) and zone suffixes. */
        if (inet_pton(AF_INET, v, b) == 1)
            rv = add_ip(e, b, 4);
        else if (inet_pton(AF_INET6, v, b) == 1)
            rv = add_ip(e, b, 16);
        else
            return invalid("ip_sans", v, "not an IPv4 or IPv6 address");
        if (rv != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

static hsmca_rv check_uris(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    e->uri_field = e->csr_sans_used ? "csr uniformResourceIdentifier" : "uri_sans";
    if (!e->csr_sans_used) {
        for (size_t i = 0; i < req->uri_sans.n; i++) {
            if ((rv = hsmca_strlist_add(&e->uris, req->uri_sans.v[i], strlen(req->uri_sans.v[i]))) !=
                HSMCA_OK)
                return rv;
        }
    }
    for (size_t i = 0; i < e->uris.n; i++) {
        const char *u = e->uris.v[i];
        bool ok = false;

        if (r->allowed_uri_sans.n == 0)
            return deny(
                e, e->uri_field, u,
                "URI Subject Alternative Names are not allowed in this role (allowed_uri_sans is empty)");
        for (size_t k = 0; k < r->allowed_uri_sans.n && !ok; k++) {
            const char *p = r->allowed_uri_sans.v[k];

            /* A template needs an identity entity to fill it (see names). */
            if (r->allowed_uri_sans_template && strstr(p, "{{") != NULL)
                continue;
            ok = policy_glob_match(p, u, false);
        }
        if (!ok)
            return deny(e, e->uri_field, u, "no match in allowed_uri_sans");
        if (!uri_valid(u))
            return invalid(
                e->uri_field, u,
                "not an absolute URI with a scheme (RFC 3986 3, RFC 5280 4.2.1.6) in printable ASCII");
    }
    return HSMCA_OK;
}

/* validateUserId: case-insensitive exact match, or a glob; an empty list
 * forbids any. From the request, else from the CSR's UID attributes. */
static hsmca_rv check_user_ids(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    e->uid_field = "user_ids";
    if (req->user_ids.n > 0) {
        if ((rv = hsmca_strlist_copy(&e->uids, &req->user_ids)) != HSMCA_OK)
            return rv;
    } else if (req->csr != NULL) {
        const X509_NAME *n = X509_REQ_get_subject_name(req->csr);
        int idx = -1;

        e->uid_field = "csr UID";
        while ((idx = X509_NAME_get_index_by_NID(n, NID_userId, idx)) >= 0) {
            char *v = NULL;

            if ((rv = asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)), "csr UID", &v)) ==
                    HSMCA_OK &&
                v != NULL)
                rv = hsmca_strlist_add(&e->uids, v, strlen(v));
            free(v);
            if (rv != HSMCA_OK)
                return rv;
        }
    }
    for (size_t i = 0; i < e->uids.n; i++) {
        const char *u = e->uids.v[i];
        size_t chars = 0;
        bool ok = false;

        if (!policy_utf8_valid(u, strlen(u), &chars) || chars > UB_USER_ID)
            return invalid(e->uid_field, u, "a UID is UTF-8 of at most %d characters (RFC 1274)", UB_USER_ID);
        for (size_t k = 0; k < r->allowed_user_ids.n && !ok; k++) {
            const char *p = r->allowed_user_ids.v[k];

            ok = strcasecmp(p, u) == 0 || (strchr(p, '*') != NULL && policy_glob_match(p, u, false));
        }
        if (!ok)
            return deny(e, e->uid_field, u, "%s",
                        r->allowed_user_ids.n == 0 ? "allowed_user_ids is empty, so no user ID is allowed"
                                                   : "no match in allowed_user_ids");
    }
    return HSMCA_OK;
}

/* ---- validity ---- */

/* CA/Browser Forum BR 6.3.2 (ballot SC-081): maximum validity in days by
 * issuance date. */
static int64_t cabf_max_days(int64_t now)
{
    if (now < INT64_C(1773532800)) /* 2026-03-15 */
        return 398;
    if (now < INT64_C(1805068800)) /* 2027-03-15 */
        return 200;
    if (now < INT64_C(1868227200)) /* 2029-03-15 */
        return 100;
    return 47;
}

/* getCertificateNotAfter and the NotBefore of certutil.SignCertificate. */
static hsmca_rv compute_validity(eval *e)
{
    const hsmca_role *r = e->role;
    const hsmca_issue_request *req = e->req;
    const hsmca_policy_context *ctx = e->ctx;
    int64_t ttl = req->ttl, max, not_after, not_before, backdate;
    const char *na_text = NULL, *na_field = "not_after";
    char t1[HSMCA_RFC3339_BUF], t2[HSMCA_RFC3339_BUF];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (ttl < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ttl %lld is negative", (long long)ttl);
    /* The role's not_after wins over the request's. */
    if (r->not_after[0] != '\0') {
        na_text = r->not_after;
        na_field = "role not_after";
    } else if (req->not_after != NULL && req->not_after[0] != '\0') {
        na_text = req->not_after;
    }
    if (ttl > 0 && na_text != NULL)
        return deny(
            e, "ttl", "given",
            "Either ttl or not_after should be provided. Both should not be provided in the same request "
            "(%s is %s)",
            na_field, na_text);
    if (ttl == 0 && r->ttl > 0)
        ttl = r->ttl;
    max = r->max_ttl > 0 ? r->max_ttl : ctx->max_ttl > 0 ? ctx->max_ttl : POLICY_SYSTEM_TTL;
    if (ttl == 0)
        ttl = ctx->default_ttl > 0 ? ctx->default_ttl : POLICY_SYSTEM_TTL;
    if (ttl > max) {
        char a[32], b[32];

        /* OpenBao caps a TTL beyond max_ttl and says so; it is not an error. */
        hsmca_duration_format(ttl, a, sizeof(a));
        hsmca_duration_format(max, b, sizeof(b));
        if ((rv = warn(e, "TTL \"%s\" is longer than permitted maxTTL \"%s\", so maxTTL is being used", a,
                       b)) != HSMCA_OK)
            return rv;
        ttl = max;
    }
    if (na_text != NULL) {
        if ((rv = hsmca_time_parse_rfc3339(na_text, &not_after)) != HSMCA_OK) {
            hsmca_err_prefix("%s", na_field);
            return rv;
        }
    } else if (__builtin_add_overflow(ctx->now, ttl, &not_after)) {
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "ttl %lld is out of range", (long long)ttl);
    }
    if (not_after > HSMCA_TIME_UNIX_MAX)
        return invalid(
            na_text != NULL ? na_field : "ttl", na_text != NULL ? na_text : "(computed)",
            "notAfter would be later than 9999-12-31T23:59:59Z, the last GeneralizedTime (RFC 5280 "
            "4.1.2.5)");
    /* leaf_not_after_behavior of the issuer decides about a leaf that
     * would outlive it. */
    if (ctx->issuer_not_after > 0 && not_after > ctx->issuer_not_after) {
        switch (ctx->leaf_not_after_behavior) {
        case HSMCA_NOT_AFTER_PERMIT:
            break;
        case HSMCA_NOT_AFTER_TRUNCATE:
            not_after = ctx->issuer_not_after;
            break;
        case HSMCA_NOT_AFTER_ERR:
        default:
            hsmca_time_format_rfc3339(not_after, t1, sizeof(t1));
            hsmca_time_format_rfc3339(ctx->issuer_not_after, t2, sizeof(t2));
            return deny(e, na_text != NULL ? na_field : "ttl", na_text != NULL ? na_text : t1,
                        "cannot satisfy request, as TTL would result in notAfter of %s that is beyond the "
                        "expiration of the CA certificate at %s (issuer leaf_not_after_behavior is err)",
                        t1, t2);
        }
    }
    backdate = r->not_before_duration > 0 ? r->not_before_duration : POLICY_DEFAULT_BACKDATE;
    not_before = ctx->now - backdate;
    if (not_before >= not_after) {
        hsmca_time_format_rfc3339(not_before, t1, sizeof(t1));
        hsmca_time_format_rfc3339(not_after, t2, sizeof(t2));
        return deny(e, na_text != NULL ? na_field : "ttl", na_text != NULL ? na_text : t2,
                    "The certificate's Not Before (%s) is %s the certificate's Not After (%s)", t1,
                    not_before == not_after ? "equal to" : "later than", t2);
    }
    if (r->cabf_validity_limit) {
        /* RFC 5280 4.1.2.5: the period includes both ends, hence + 1 s. */
        int64_t limit = cabf_max_days(ctx->now);
        int64_t span = not_after - not_before + 1;

        if (span > limit * 86400)
            return deny(
                e, na_text != NULL ? na_field : "ttl", na_text != NULL ? na_text : "(computed)",
                "cabf_validity_limit: a validity of %lld s exceeds the CA/Browser Forum maximum of %lld "
                "days for certificates issued now (Baseline Requirements 6.3.2)",
                (long long)span, (long long)limit);
    }
    e->out->not_before = not_before;
    e->out->not_after = not_after;
    return HSMCA_OK;
}

/* ---- template ---- */

/* Go marshals a string attribute as PrintableString when it can, else as
 * UTF8String; so does this (RFC 5280 4.1.2.4 allows both). */
static hsmca_rv subject_add(X509_NAME *n, int nid, const char *v, bool same_rdn)
{
    int type = printable_string(v) ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING;

    if (!X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, (int)strlen(v), -1,
                                    same_rdn ? -1 : 0)) {
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot add %s to the subject", OBJ_nid2sn(nid));
    }
    return HSMCA_OK;
}

/* One RDN holding every (de-duplicated) value of the attribute, as Go's
 * pkix.Name.ToRDNSequence writes multi-valued role fields. */
static hsmca_rv subject_add_list(X509_NAME *n, int nid, const hsmca_strlist *l)
{
    size_t added = 0;

    for (size_t i = 0; i < l->n; i++) {
        bool dup = false;
        hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(l->v[k], l->v[i]) == 0;
        if (dup)
            continue;
        if ((rv = subject_add(n, nid, l->v[i], added > 0)) != HSMCA_OK)
            return rv;
        added++;
    }
    return HSMCA_OK;
}

static hsmca_rv build_subject(eval *e)
{
    const hsmca_role *r = e->role;
    X509_NAME *n = X509_NAME_new();
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (n == NULL)
        goto done;
    /* pkix.Name.ToRDNSequence order: C, ST, L, street, postalCode, O, OU,
     * CN, serialNumber, then extra names (the UIDs). */
    if ((rv = subject_add_list(n, NID_countryName, &r->country)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_stateOrProvinceName, &r->province)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_localityName, &r->locality)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_streetAddress, &r->street_address)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_postalCode, &r->postal_code)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_organizationName, &r->organization)) != HSMCA_OK ||
        (rv = subject_add_list(n, NID_organizationalUnitName, &r->ou)) != HSMCA_OK)
        goto done;
    if (e->cn[0] != '\0' && (rv = subject_add(n, NID_commonName, e->cn, false)) != HSMCA_OK)
        goto done;
    if (e->serial != NULL && (rv = subject_add(n, NID_serialNumber, e->serial, false)) != HSMCA_OK)
        goto done;
    for (size_t i = 0; i < e->uids.n; i++) {
        if ((rv = subject_add(n, NID_userId, e->uids.v[i], false)) != HSMCA_OK)
            goto done;
    }
    e->out->subject = n;
    n = NULL;
    rv = HSMCA_OK;
done:
    X509_NAME_free(n);
    return rv;
}

static GENERAL_NAME *gen_ia5(int type, const char *v)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (g == NULL || s == NULL || !ASN1_STRING_set(s, v, (int)strlen(v))) {
        GENERAL_NAME_free(g);
        ASN1_IA5STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(g, type, s);
    return g;
}

static GENERAL_NAME *gen_ip(const ip_addr *ip)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();

    if (g == NULL || s == NULL || !ASN1_OCTET_STRING_set(s, ip->b, ip->len)) {
        GENERAL_NAME_free(g);
        ASN1_OCTET_STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(g, GEN_IPADD, s);
    return g;
}

/* otherName { type-id, [0] EXPLICIT UTF8String } (RFC 5280 4.2.1.6). */
static GENERAL_NAME *gen_other(const char *oid, const char *val)
{
    GENERAL_NAME *g = GENERAL_NAME_new(), *ret = NULL;
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

    if (g == NULL || o == NULL || t == NULL || s == NULL || !ASN1_STRING_set(s, val, (int)strlen(val)))
        goto done;
    ASN1_TYPE_set(t, V_ASN1_UTF8STRING, s);
    s = NULL;
    if (!GENERAL_NAME_set0_othername(g, o, t))
        goto done;
    o = NULL;
    t = NULL;
    ret = g;
    g = NULL;
done:
    GENERAL_NAME_free(g);
    ASN1_OBJECT_free(o);
    ASN1_TYPE_free(t);
    ASN1_UTF8STRING_free(s);
    ERR_clear_error();
    return ret;
}

static hsmca_rv push_name(GENERAL_NAMES *sans, GENERAL_NAME *g)
{
    if (g == NULL || !sk_GENERAL_NAME_push(sans, g)) {
        GENERAL_NAME_free(g);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory building the subjectAltName");
    }
    return HSMCA_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static hsmca_rv build_sans(eval *e)
{
    GENERAL_NAMES *sans = sk_GENERAL_NAME_new_null();
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (sans == NULL)
        goto done;
    /* OpenBao's order: other names first, then DNS (first occurrence kept,
     * compared case-insensitively here as DNS names are, RFC 4343), email
     * (sorted and de-duplicated, strutil.RemoveDuplicates), IP, URI. */
    for (size_t i = 0; i < e->other_oid.n; i++) {
        if ((rv = push_name(sans, gen_other(e->other_oid.v[i], e->other_val.v[i]))) != HSMCA_OK)
            goto done;
    }
    for (size_t i = 0; i < e->dns.n; i++) {
        bool dup = false;

        for (size_t k = 0; k < i && !dup; k++)
            dup = strcasecmp(e->dns.v[k], e->dns.v[i]) == 0;
        if (!dup && (rv = push_name(sans, gen_ia5(GEN_DNS, e->dns.v[i]))) != HSMCA_OK)
            goto done;
    }
    if (e->email.n > 1)
        qsort(e->email.v, e->email.n, sizeof(e->email.v[0]), cmp_str);
    for (size_t i = 0; i < e->email.n; i++) {
        if (i > 0 && strcmp(e->email.v[i - 1], e->email.v[i]) == 0)
            continue;
        if ((rv = push_name(sans, gen_ia5(GEN_EMAIL, e->email.v[i]))) != HSMCA_OK)
            goto done;
    }
    for (size_t i = 0; i < e->nips; i++) {
        if ((rv = push_name(sans, gen_ip(&e->ips[i]))) != HSMCA_OK)
            goto done;
    }
    for (size_t i = 0; i < e->uris.n; i++) {
        if ((rv = push_name(sans, gen_ia5(GEN_URI, e->uris.v[i]))) != HSMCA_OK)
            goto done;
    }
    /* RFC 5280 4.1.2.6: an empty subject needs a (critical) SAN; with
     * neither, the certificate would name nobody. */
    if (X509_NAME_entry_count(e->out->subject) == 0) {
        if (sk_GENERAL_NAME_num(sans) == 0) {
            rv = hsmca_err(
                HSMCA_ERR_INVALID_ARG,
                "request names nothing: no common_name and no subject alternative names, and role '%s' "
                "adds no subject fields (RFC 5280 4.1.2.6)",
                e->rname);
            goto done;
        }
        e->out->san_critical = true;
    }
    e->out->sans = sans;
    sans = NULL;
    rv = HSMCA_OK;
done:
    GENERAL_NAMES_free(sans);
    return rv;
}

static hsmca_rv push_oid(STACK_OF(ASN1_OBJECT) * sk, const char *oid)
{
    ASN1_OBJECT *o;

    for (int i = 0; i < sk_ASN1_OBJECT_num(sk); i++) {
        char have[130];

        if (OBJ_obj2txt(have, sizeof(have), sk_ASN1_OBJECT_value(sk, i), 1) > 0 && strcmp(have, oid) == 0)
            return HSMCA_OK; /* listed twice (a flag and its name): once is enough */
    }
    o = OBJ_txt2obj(oid, 1);
    if (o == NULL || !sk_ASN1_OBJECT_push(sk, o)) {
        ASN1_OBJECT_free(o);
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "OID '%s' cannot be encoded", oid);
    }
    return HSMCA_OK;
}

/* Key usage from key_usage; extended key usage from the four flags, then
 * ext_key_usage names, then ext_key_usage_oids (reference, Create/Update
 * role), in Go's ExtKeyUsage order; certificate policies. */
static hsmca_rv build_usages(eval *e)
{
    static const char *const eku_order[] = {"any",
                                            "serverauth",
                                            "clientauth",
                                            "codesigning",
                                            "emailprotection",
                                            "ipsecendsystem",
                                            "ipsectunnel",
                                            "ipsecuser",
                                            "timestamping",
                                            "ocspsigning",
                                            "microsoftservergatedcrypto",
                                            "netscapeservergatedcrypto",
                                            "microsoftcommercialcodesigning",
                                            "microsoftkernelcodesigning"};
    const hsmca_role *r = e->role;
    hsmca_cert_template *t = e->out;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    for (size_t i = 0; i < r->key_usage.n; i++) {
        int bit = hsmca_role_key_usage_bit(r->key_usage.v[i]);

        if (bit == 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "role '%s': key_usage '%s' is not a key usage", e->rname,
                             r->key_usage.v[i]);
        t->key_usage |= bit;
    }
    t->ext_key_usage = sk_ASN1_OBJECT_new_null();
    t->policy_oids = sk_ASN1_OBJECT_new_null();
    if (t->ext_key_usage == NULL || t->policy_oids == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < sizeof(eku_order) / sizeof(eku_order[0]); k++) {
        bool want = (k == 1 && r->server_flag) || (k == 2 && r->client_flag) ||
                    (k == 3 && r->code_signing_flag) || (k == 4 && r->email_protection_flag);

        for (size_t i = 0; i < r->ext_key_usage.n && !want; i++)
            want = strcasecmp(r->ext_key_usage.v[i], eku_order[k]) == 0;
        if (want && (rv = push_oid(t->ext_key_usage, hsmca_role_ext_key_usage_oid(eku_order[k]))) != HSMCA_OK)
            return rv;
    }
    for (size_t i = 0; i < r->ext_key_usage.n; i++) {
        if (hsmca_role_ext_key_usage_oid(r->ext_key_usage.v[i]) == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "role '%s': ext_key_usage '%s' is not an extended key usage", e->rname,
                             r->ext_key_usage.v[i]);
    }
    for (size_t i = 0; i < r->ext_key_usage_oids.n; i++) {
        if (!hsmca_role_oid_valid(r->ext_key_usage_oids.v[i]))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "role '%s': ext_key_usage_oids '%s' is not an OID",
                             e->rname, r->ext_key_usage_oids.v[i]);
        if ((rv = push_oid(t->ext_key_usage, r->ext_key_usage_oids.v[i])) != HSMCA_OK)
            return rv;
    }
    for (size_t i = 0; i < r->policy_identifiers.n; i++) {
        if (!hsmca_role_oid_valid(r->policy_identifiers.v[i]))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "role '%s': policy_identifiers '%s' is not an OID",
                             e->rname, r->policy_identifiers.v[i]);
        if ((rv = push_oid(t->policy_oids, r->policy_identifiers.v[i])) != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_policy_evaluate(const hsmca_role *role, const hsmca_issue_request *req,
                               const hsmca_policy_context *ctx, hsmca_cert_template *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    eval e;

    hsmca_return_val_if_fail(role != NULL && req != NULL && ctx != NULL && out != NULL,
                             HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    memset(&e, 0, sizeof(e));
    e.role = role;
    e.req = req;
    e.ctx = ctx;
    e.out = out;
    e.rname = role->name[0] != '\0' ? role->name : "(unnamed)";

    /* signCert checks the key first, generateCreationBundle then names,
     * other names, IPs, URIs, validity and user IDs, in that order. */
    if ((rv = check_key(&e)) != HSMCA_OK || (rv = collect_names(&e)) != HSMCA_OK ||
        (rv = check_cn(&e)) != HSMCA_OK || (rv = check_serial(&e)) != HSMCA_OK ||
        (rv = check_dns_and_email(&e)) != HSMCA_OK || (rv = check_other_sans(&e)) != HSMCA_OK ||
        (rv = check_ips(&e)) != HSMCA_OK || (rv = check_uris(&e)) != HSMCA_OK ||
        (rv = compute_validity(&e)) != HSMCA_OK || (rv = check_user_ids(&e)) != HSMCA_OK ||
        (rv = build_subject(&e)) != HSMCA_OK || (rv = build_sans(&e)) != HSMCA_OK ||
        (rv = build_usages(&e)) != HSMCA_OK)
        goto done;
    out->basic_constraints = role->basic_constraints_valid_for_non_ca;
    out->use_pss = role->use_pss;
    out->signature_bits = role->signature_bits;
    out->no_store = role->no_store;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        hsmca_cert_template_clear(out);
    eval_clear(&e);
    return rv;
}

void hsmca_cert_template_clear(hsmca_cert_template *t)
{
    if (t == NULL)
        return;
    X509_NAME_free(t->subject);
    GENERAL_NAMES_free(t->sans);
    sk_ASN1_OBJECT_pop_free(t->ext_key_usage, ASN1_OBJECT_free);
    sk_ASN1_OBJECT_pop_free(t->policy_oids, ASN1_OBJECT_free);
    hsmca_strlist_clear(&t->warnings);
    memset(t, 0, sizeof(*t));
}

void hsmca_issue_request_clear(hsmca_issue_request *r)
{
    if (r == NULL)
        return;
    hsmca_strlist_clear(&r->alt_names);
    hsmca_strlist_clear(&r->ip_sans);
    hsmca_strlist_clear(&r->uri_sans);
    hsmca_strlist_clear(&r->other_sans);
    hsmca_strlist_clear(&r->user_ids);
}
