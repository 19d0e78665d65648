/* SPDX-License-Identifier: Apache-2.0 */
/* Subject names and subjectAltNames for CA certificates and CSRs from the
 * request fields of root/intermediate generation and sign-intermediate. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "internal.h"

/* RFC 5280 upper bounds (Appendix A.1). */
#define UB_COMMON_NAME 64
#define UB_NAME_FIELD 128

static int printable_utf8(const char *s)
{
    /* No controls and valid UTF-8 (ASN1_mbstring_copy checks UTF-8 too,
     * but with a worse message). */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    }
    return 1;
}

static hsmca_rv add_entry(X509_NAME *name, int nid, const char *field, const char *value, size_t ub)
{
    size_t n = strlen(value);

    if (n == 0)
        return HSMCA_OK;
    if (n > ub)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%.32s...' is longer than %zu characters (RFC 5280 A.1)", field,
                         value, ub);
    if (!printable_utf8(value))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s contains control characters", field);
    if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, (int)n, -1, 0))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s' is not valid UTF-8 for this attribute", field, value);
    return HSMCA_OK;
}

static hsmca_rv add_list(X509_NAME *name, int nid, const char *field, const hsmca_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        hsmca_rv rv = add_entry(name, nid, field, l->v[i], nid == NID_countryName ? 2 : UB_NAME_FIELD);
        if (rv != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

hsmca_rv ca_names_subject(const ca_names_input *in, X509_NAME **out)
{
    X509_NAME *name = X509_NAME_new();
    hsmca_rv rv;

    *out = NULL;
    if (name == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    /* Go's pkix.Name order, which OpenBao produces: C, ST, L, street,
     * postalCode, O, OU, CN, serialNumber. */
    if ((rv = add_list(name, NID_countryName, "country", &in->country)) != HSMCA_OK ||
        (rv = add_list(name, NID_stateOrProvinceName, "province", &in->province)) != HSMCA_OK ||
        (rv = add_list(name, NID_localityName, "locality", &in->locality)) != HSMCA_OK ||
        (rv = add_list(name, NID_streetAddress, "street_address", &in->street_address)) != HSMCA_OK ||
        (rv = add_list(name, NID_postalCode, "postal_code", &in->postal_code)) != HSMCA_OK ||
        (rv = add_list(name, NID_organizationName, "organization", &in->organization)) != HSMCA_OK ||
        (rv = add_list(name, NID_organizationalUnitName, "ou", &in->ou)) != HSMCA_OK ||
        (rv = add_entry(name, NID_commonName, "common_name", in->common_name ? in->common_name : "",
                        UB_COMMON_NAME)) != HSMCA_OK ||
        (rv = add_entry(name, NID_serialNumber, "serial_number", in->serial_number ? in->serial_number : "",
                        64)) != HSMCA_OK) {
        X509_NAME_free(name);
        return rv;
    }
    *out = name;
    return HSMCA_OK;
}

/* A DNS name as hostname syntax (LDH labels, optional leading "*."). */
static int looks_like_hostname(const char *s)
{
    size_t len = strlen(s), label = 0;

    if (len == 0 || len > 253)
        return 0;
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0;
}

static hsmca_rv push_string(GENERAL_NAMES *sans, int type, const char *value)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, value, (int)strlen(value))) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    GENERAL_NAME_set0_value(gn, type, s);
    if (!sk_GENERAL_NAME_push(sans, gn)) {
        GENERAL_NAME_free(gn);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    return HSMCA_OK;
}

static hsmca_rv push_name_or_email(GENERAL_NAMES *sans, const char *field, const char *v)
{
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "%s '%s' must be ASCII without spaces (A-label form for international names)", field, v);
    }
    if (strchr(v, '@') != NULL)
        return push_string(sans, GEN_EMAIL, v);
    if (!looks_like_hostname(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s '%s' is neither a host name nor an email address", field, v);
    return push_string(sans, GEN_DNS, v);
}

static hsmca_rv push_other(GENERAL_NAMES *sans, const char *v)
{
    /* "<oid>;UTF8:<value>" (OpenSSL syntax, the only type OpenBao takes). */
    const char *semi = strchr(v, ';');
    char oid_text[128];
    ASN1_OBJECT *oid = NULL;
    ASN1_TYPE *val = NULL;
    ASN1_UTF8STRING *u = NULL;
    GENERAL_NAME *gn = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (semi == NULL || (size_t)(semi - v) >= sizeof(oid_text) ||
        (strncmp(semi + 1, "UTF8:", 5) != 0 && strncmp(semi + 1, "utf8:", 5) != 0))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "other_sans '%s' is not '<oid>;UTF8:<value>'", v);
    memcpy(oid_text, v, (size_t)(semi - v));
    oid_text[semi - v] = '\0';
    oid = OBJ_txt2obj(oid_text, 1);
    if (oid == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "other_sans OID '%s' is not a dotted OID", oid_text);
        goto done;
    }
    u = ASN1_UTF8STRING_new();
    val = ASN1_TYPE_new();
    gn = GENERAL_NAME_new();
    if (u == NULL || val == NULL || gn == NULL || !ASN1_STRING_set(u, semi + 6, (int)strlen(semi + 6))) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u);
    u = NULL;
    if (!GENERAL_NAME_set0_othername(gn, oid, val)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    oid = NULL;
    val = NULL;
    if (!sk_GENERAL_NAME_push(sans, gn)) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    gn = NULL;
    rv = HSMCA_OK;
done:
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(val);
    ASN1_UTF8STRING_free(u);
    GENERAL_NAME_free(gn);
    return rv;
}

hsmca_rv ca_names_sans(const ca_names_input *in, GENERAL_NAMES **out)
{
    GENERAL_NAMES *sans = GENERAL_NAMES_new();
    hsmca_rv rv = HSMCA_OK;

    *out = NULL;
    if (sans == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    /* The CN joins the SANs when it is a host name or an email address,
     * unless exclude_cn_from_sans (OpenBao). */
    if (in->common_name && in->common_name[0] && !in->exclude_cn_from_sans &&
        (strchr(in->common_name, '@') != NULL || looks_like_hostname(in->common_name)))
        rv = push_name_or_email(sans, "common_name", in->common_name);
    for (size_t i = 0; rv == HSMCA_OK && i < in->alt_names.n; i++)
        rv = push_name_or_email(sans, "alt_names", in->alt_names.v[i]);
    for (size_t i = 0; rv == HSMCA_OK && i < in->ip_sans.n; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(in->ip_sans.v[i]);
        GENERAL_NAME *gn = ip ? GENERAL_NAME_new() : NULL;
        if (ip == NULL) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "ip_sans '%s' is not an IPv4 or IPv6 address", in->ip_sans.v[i]);
        } else if (gn == NULL) {
            ASN1_OCTET_STRING_free(ip);
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        } else {
            GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
            if (!sk_GENERAL_NAME_push(sans, gn)) {
                GENERAL_NAME_free(gn);
                rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            }
        }
    }
    for (size_t i = 0; rv == HSMCA_OK && i < in->uri_sans.n; i++) {
        const char *u = in->uri_sans.v[i];
        const char *colon = strchr(u, ':');
        if (colon == NULL || colon == u)
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "uri_sans '%s' has no scheme", u);
        else
            rv = push_string(sans, GEN_URI, u);
    }
    for (size_t i = 0; rv == HSMCA_OK && i < in->other_sans.n; i++)
        rv = push_other(sans, in->other_sans.v[i]);
    if (rv != HSMCA_OK) {
        GENERAL_NAMES_free(sans);
        return rv;
    }
    *out = sans;
    return HSMCA_OK;
}
