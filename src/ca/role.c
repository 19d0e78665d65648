/* SPDX-License-Identifier: Apache-2.0 */
/* PKI roles: documented defaults, the JSON of POST/PATCH/GET roles/:name, and
 * the checks OpenBao (builtin/logical/pki/path_roles.go validateRole) makes
 * when a role is written, plus hsmca's own, each marked. */
#include "hsmca/role.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "hsmca/duration.h"
#include "hsmca/log.h"
#include "policy_internal.h"

/* JSON value kinds of role fields (OpenBao framework field types). */
typedef enum {
    F_BOOL,     /* TypeBool */
    F_DURATION, /* TypeDurationSecond */
    F_INT,      /* TypeInt */
    F_STRING,   /* TypeString, into a fixed buffer */
    F_LIST,     /* TypeCommaStringSlice */
    F_KEY_TYPE, /* TypeString limited to rsa/ec/ed25519/any */
    F_ACCEPTED  /* known, never stored: accepted without a warning */
} field_kind;

typedef struct {
    const char *name;
    field_kind kind;
    size_t off;
    size_t size; /* F_STRING buffer size */
} field_desc;

/* clang-format off */
#define FB(n) {#n, F_BOOL, offsetof(hsmca_role, n), 0}
#define FD(n) {#n, F_DURATION, offsetof(hsmca_role, n), 0}
#define FI(n) {#n, F_INT, offsetof(hsmca_role, n), 0}
#define FS(n) {#n, F_STRING, offsetof(hsmca_role, n), sizeof(((hsmca_role *)0)->n)}
#define FL(n) {#n, F_LIST, offsetof(hsmca_role, n), 0}
/* clang-format on */

/* In the order OpenBao's roleEntry.ToResponseData lists them, which is also
 * the order of GET roles/:name here. */
static const field_desc fields[] = {
    FD(ttl),
    FD(max_ttl),
    FB(allow_localhost),
    FL(allowed_domains),
    FB(allowed_domains_template),
    FB(allow_bare_domains),
    {"allow_token_displayname", F_ACCEPTED, 0, 0},
    FB(allow_subdomains),
    FB(allow_glob_domains),
    FB(allow_wildcard_certificates),
    FB(allow_any_name),
    FB(allowed_uri_sans_template),
    FB(enforce_hostnames),
    FB(allow_ip_sans),
    FB(server_flag),
    FB(client_flag),
    FB(code_signing_flag),
    FB(email_protection_flag),
    FB(use_csr_common_name),
    FB(use_csr_sans),
    {"key_type", F_KEY_TYPE, offsetof(hsmca_role, key_type), 0},
    FI(key_bits),
    FI(signature_bits),
    FB(use_pss),
    FL(key_usage),
    FL(ext_key_usage),
    FL(ext_key_usage_oids),
    FL(ou),
    FL(organization),
    FL(country),
    FL(locality),
    FL(province),
    FL(street_address),
    FL(postal_code),
    FB(no_store),
    FL(allowed_other_sans),
    FL(allowed_serial_numbers),
    FL(allowed_user_ids),
    FL(allowed_uri_sans),
    FB(require_cn),
    FL(cn_validations),
    FL(policy_identifiers),
    FB(basic_constraints_valid_for_non_ca),
    FD(not_before_duration),
    FS(not_after),
    FS(issuer_ref),
    FB(generate_lease),
    FB(cabf_validity_limit),
    /* Path fields of the endpoint's schema: present in some clients' bodies,
     * never role content. */
    {"name", F_ACCEPTED, 0, 0},
    {"backend", F_ACCEPTED, 0, 0},
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const field_desc *find_field(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    }
    return NULL;
}

static hsmca_strlist *list_at(hsmca_role *r, const field_desc *f)
{
    return (hsmca_strlist *)((char *)r + f->off);
}

static const hsmca_strlist *clist_at(const hsmca_role *r, const field_desc *f)
{
    return (const hsmca_strlist *)((const char *)r + f->off);
}

/* ---- name tables ---- */

static const struct {
    const char *name;
    int bit;
} key_usages[] = {
    /* Go crypto/x509 KeyUsage names, mapped onto RFC 5280 4.2.1.3 bits. */
    {"digitalsignature", KU_DIGITAL_SIGNATURE},
    {"contentcommitment", KU_NON_REPUDIATION},
    {"keyencipherment", KU_KEY_ENCIPHERMENT},
    {"dataencipherment", KU_DATA_ENCIPHERMENT},
    {"keyagreement", KU_KEY_AGREEMENT},
    {"certsign", KU_KEY_CERT_SIGN},
    {"crlsign", KU_CRL_SIGN},
    {"encipheronly", KU_ENCIPHER_ONLY},
    {"decipheronly", KU_DECIPHER_ONLY},
};

static const struct {
    const char *name;
    const char *oid;
} ext_key_usages[] = {
    /* Go crypto/x509 ExtKeyUsage names (the reference's list) and their
     * OIDs: RFC 5280 4.2.1.12, RFC 4945 (IPsec), vendor arcs. */
    {"any", "2.5.29.37.0"},
    {"serverauth", "1.3.6.1.5.5.7.3.1"},
    {"clientauth", "1.3.6.1.5.5.7.3.2"},
    {"codesigning", "1.3.6.1.5.5.7.3.3"},
    {"emailprotection", "1.3.6.1.5.5.7.3.4"},
    {"ipsecendsystem", "1.3.6.1.5.5.7.3.5"},
    {"ipsectunnel", "1.3.6.1.5.5.7.3.6"},
    {"ipsecuser", "1.3.6.1.5.5.7.3.7"},
    {"timestamping", "1.3.6.1.5.5.7.3.8"},
    {"ocspsigning", "1.3.6.1.5.5.7.3.9"},
    {"microsoftservergatedcrypto", "1.3.6.1.4.1.311.10.3.3"},
    {"netscapeservergatedcrypto", "2.16.840.1.113730.4.1"},
    {"microsoftcommercialcodesigning", "1.3.6.1.4.1.311.2.1.22"},
    {"microsoftkernelcodesigning", "1.3.6.1.4.1.311.61.1.1"},
};

int hsmca_role_key_usage_bit(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(key_usages) / sizeof(key_usages[0]); i++) {
        if (strcasecmp(key_usages[i].name, name) == 0)
            return key_usages[i].bit;
    }
    return 0;
}

const char *hsmca_role_ext_key_usage_oid(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(ext_key_usages) / sizeof(ext_key_usages[0]); i++) {
        if (strcasecmp(ext_key_usages[i].name, name) == 0)
            return ext_key_usages[i].oid;
    }
    return NULL;
}

bool hsmca_role_oid_valid(const char *oid)
{
    const char *p = oid;
    size_t arcs = 0, len;
    unsigned first = 0;

    if (oid == NULL)
        return false;
    len = strnlen(oid, 129);
    if (len == 0 || len > 128)
        return false;
    for (;;) {
        const char *start = p;
        unsigned long small = 0;

        while (*p >= '0' && *p <= '9') {
            if (small < 1000)
                small = small * 10 + (unsigned long)(*p - '0');
            p++;
        }
        /* X.690 8.19: arcs are non-negative integers; a leading zero would
         * be a second spelling of the same OID. */
        if (p == start || (*start == '0' && p - start > 1))
            return false;
        if (arcs == 0) {
            if (small > 2)
                return false;
            first = (unsigned)small;
        } else if (arcs == 1 && first < 2 && small >= 40) {
            return false;
        }
        arcs++;
        if (*p == '\0')
            break;
        if (*p != '.')
            return false;
        p++;
    }
    return arcs >= 2;
}

const char *hsmca_role_key_type_name(hsmca_role_key_type t)
{
    switch (t) {
    case HSMCA_ROLE_KEY_RSA:
        return "rsa";
    case HSMCA_ROLE_KEY_EC:
        return "ec";
    case HSMCA_ROLE_KEY_ED25519:
        return "ed25519";
    case HSMCA_ROLE_KEY_ANY:
        return "any";
    }
    return "unknown";
}

static bool key_type_parse(const char *s, hsmca_role_key_type *t)
{
    static const hsmca_role_key_type all[] = {HSMCA_ROLE_KEY_RSA, HSMCA_ROLE_KEY_EC, HSMCA_ROLE_KEY_ED25519,
                                              HSMCA_ROLE_KEY_ANY};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, hsmca_role_key_type_name(all[i])) == 0) {
            *t = all[i];
            return true;
        }
    }
    return false;
}

/* ---- lifecycle ---- */

hsmca_rv hsmca_role_init_defaults(hsmca_role *r)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    hsmca_return_val_if_fail(r != NULL, HSMCA_ERR_INVALID_ARG);
    memset(r, 0, sizeof(*r));
    /* Defaults as the reference's "Create/Update role" documents them. */
    snprintf(r->issuer_ref, sizeof(r->issuer_ref), "default");
    r->allow_localhost = true;
    r->allow_wildcard_certificates = true;
    r->enforce_hostnames = true;
    r->allow_ip_sans = true;
    r->server_flag = true;
    r->client_flag = true;
    r->key_type = HSMCA_ROLE_KEY_RSA;
    r->use_csr_common_name = true;
    r->use_csr_sans = true;
    r->require_cn = true;
    r->not_before_duration = 30;
    if (hsmca_strlist_add_csv(&r->key_usage, "DigitalSignature,KeyAgreement,KeyEncipherment") != HSMCA_OK ||
        hsmca_strlist_add_csv(&r->cn_validations, "email,hostname") != HSMCA_OK)
        goto done;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        hsmca_role_clear(r);
    return rv;
}

void hsmca_role_clear(hsmca_role *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < NFIELDS; i++) {
        if (fields[i].kind == F_LIST)
            hsmca_strlist_clear(list_at(r, &fields[i]));
    }
    memset(r, 0, sizeof(*r));
}

hsmca_rv hsmca_role_copy(hsmca_role *dst, const hsmca_role *src)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    hsmca_return_val_if_fail(dst != NULL && src != NULL && dst != src, HSMCA_ERR_INVALID_ARG);
    *dst = *src;
    /* The struct copy shares list storage; give dst lists of its own. */
    for (size_t i = 0; i < NFIELDS; i++) {
        if (fields[i].kind == F_LIST)
            memset(list_at(dst, &fields[i]), 0, sizeof(hsmca_strlist));
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        if (fields[i].kind != F_LIST)
            continue;
        rv = hsmca_strlist_copy(list_at(dst, &fields[i]), clist_at(src, &fields[i]));
        if (rv != HSMCA_OK)
            goto done;
    }
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        hsmca_role_clear(dst);
    return rv;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

hsmca_rv hsmca_name_check(const char *field, const char *name, size_t max)
{
    size_t len;

    hsmca_return_val_if_fail(field != NULL && name != NULL, HSMCA_ERR_INVALID_ARG);
    len = strnlen(name, max + 1);
    if (len == 0 || len > max)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s must have 1 to %zu characters", field, max);
    /* framework.GenericNameRegex: \w(([\w-.]+)?\w)? */
    for (size_t i = 0; i < len; i++) {
        bool edge = i == 0 || i == len - 1;

        if (!word_char(name[i]) && (edge || (name[i] != '-' && name[i] != '.'))) {
            char q[POLICY_QUOTE_BUF];

            policy_quote(name, q, sizeof(q));
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "%s '%s' is not valid: letters, digits, '_', '-' and '.', starting and "
                             "ending with a letter, digit or '_'",
                             field, q);
        }
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_role_set_name(hsmca_role *r, const char *name)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(r != NULL && name != NULL, HSMCA_ERR_INVALID_ARG);
    rv = hsmca_name_check("role name", name, HSMCA_ROLE_NAME_MAX);
    if (rv != HSMCA_OK)
        return rv;
    snprintf(r->name, sizeof(r->name), "%s", name);
    return HSMCA_OK;
}

/* ---- validation ---- */

static hsmca_rv check_list_utf8(const hsmca_role *r)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const hsmca_strlist *l;

        if (fields[i].kind != F_LIST)
            continue;
        l = clist_at(r, &fields[i]);
        for (size_t k = 0; k < l->n; k++) {
            size_t len = strnlen(l->v[k], HSMCA_ROLE_ENTRY_MAX + 1);

            if (len > HSMCA_ROLE_ENTRY_MAX)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: an entry is longer than %d bytes",
                                 fields[i].name, HSMCA_ROLE_ENTRY_MAX);
            if (!policy_utf8_valid(l->v[k], len, NULL))
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: entry %zu is not valid UTF-8 (RFC 3629)",
                                 fields[i].name, k);
        }
    }
    return HSMCA_OK;
}

/* OpenBao certutil.ValidateDefaultOrValueKeyTypeSignatureLength: fills in
 * the default key_bits / signature_bits and checks the pair. */
static hsmca_rv check_key_params(hsmca_role *r)
{
    switch (r->key_type) {
    case HSMCA_ROLE_KEY_RSA:
        if (r->key_bits == 0)
            r->key_bits = 2048;
        if (r->key_bits < 2048)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %d not allowed: RSA keys < 2048 bits are unsafe and not supported",
                             r->key_bits);
        /* The reference lists 2048, 3072 and 4096 (OpenBao's code also takes
         * 8192; hsmca keeps to the documented sizes). */
        if (r->key_bits != 2048 && r->key_bits != 3072 && r->key_bits != 4096)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %d not allowed for key_type rsa: 2048, 3072 or 4096", r->key_bits);
        if (r->signature_bits == 0)
            r->signature_bits = 256;
        break;
    case HSMCA_ROLE_KEY_EC:
        if (r->key_bits == 0)
            r->key_bits = 256;
        if (r->key_bits != 224 && r->key_bits != 256 && r->key_bits != 384 && r->key_bits != 521)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %d not allowed for key_type ec: 224, 256, 384 or 521", r->key_bits);
        /* OpenBao leaves an EC role's signature_bits unchecked (the issuer's
         * curve decides); hsmca still refuses values that mean nothing. */
        if (r->signature_bits != 0 && r->signature_bits != 256 && r->signature_bits != 384 &&
            r->signature_bits != 512)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "signature_bits %d not allowed: 0, 256, 384 or 512",
                             r->signature_bits);
        return HSMCA_OK;
    case HSMCA_ROLE_KEY_ED25519:
    case HSMCA_ROLE_KEY_ANY:
        /* Ed25519 hashes internally and "any" cannot know the hash yet:
         * OpenBao stores signature_bits 0 for both. key_bits is ignored. */
        r->signature_bits = 0;
        return HSMCA_OK;
    default:
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_type %d is not rsa, ec, ed25519 or any",
                         (int)r->key_type);
    }
    if (r->signature_bits != 256 && r->signature_bits != 384 && r->signature_bits != 512)
        return hsmca_err(
            HSMCA_ERR_INVALID_ARG,
            "signature_bits %d not allowed: unsupported hash signature algorithm (256, 384 or 512)",
            r->signature_bits);
    return HSMCA_OK;
}

/* path_roles.go checkCNValidations: "email" and/or "hostname", or
 * "disabled" alone; empty means both; stored lower-case. */
static hsmca_rv check_cn_validations(hsmca_strlist *l)
{
    bool dis = false, email = false, host = false;

    if (l->n == 0)
        return hsmca_strlist_add_csv(l, "email,hostname");
    for (size_t i = 0; i < l->n; i++) {
        char *v = l->v[i];
        bool *seen;

        for (char *c = v; *c != '\0'; c++) {
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        }
        if (strcmp(v, "disabled") == 0) {
            seen = &dis;
        } else if (strcmp(v, "email") == 0) {
            seen = &email;
        } else if (strcmp(v, "hostname") == 0) {
            seen = &host;
        } else {
            char q[POLICY_QUOTE_BUF];

            policy_quote(v, q, sizeof(q));
            return hsmca_err(
                HSMCA_ERR_INVALID_ARG,
                "cn_validations value '%s' incorrect: unknown type (email, hostname or disabled)", q);
        }
        if (*seen)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "cn_validations value incorrect: '%s' specified multiple times", v);
        *seen = true;
    }
    if (dis && (email || host))
        return hsmca_err(
            HSMCA_ERR_INVALID_ARG,
            "cn_validations value incorrect: cannot specify 'disabled' along with 'email' or 'hostname'");
    return HSMCA_OK;
}

/* path_roles.go parseOtherSANs: "<oid>;<type>:<value>" with type utf8 or
 * utf-8 (any case), or a single "*". hsmca also checks the OID. */
static hsmca_rv check_allowed_other_sans(const hsmca_strlist *l)
{
    if (l->n == 0 || (l->n == 1 && strcmp(l->v[0], "*") == 0))
        return HSMCA_OK;
    for (size_t i = 0; i < l->n; i++) {
        const char *v = l->v[i];
        const char *semi = strchr(v, ';');
        const char *colon = semi != NULL ? strchr(semi + 1, ':') : NULL;
        char q[POLICY_QUOTE_BUF], oid[130];
        size_t tlen;

        policy_quote(v, q, sizeof(q));
        if (semi == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "error parsing allowed_other_sans: expected a semicolon in other SAN '%s' "
                             "(<oid>;UTF8:<value>, or a lone '*')",
                             q);
        if (colon == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "error parsing allowed_other_sans: expected a colon in other SAN '%s'", q);
        tlen = (size_t)(colon - semi - 1);
        if (!((tlen == 4 && strncasecmp(semi + 1, "utf8", 4) == 0) ||
              (tlen == 5 && strncasecmp(semi + 1, "utf-8", 5) == 0)))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "error parsing allowed_other_sans: only utf8 other SANs are supported; found "
                             "non-supported type in other SAN '%s'",
                             q);
        if ((size_t)(semi - v) >= sizeof(oid))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "allowed_other_sans '%s': the OID is too long", q);
        memcpy(oid, v, (size_t)(semi - v));
        oid[semi - v] = '\0';
        if (!hsmca_role_oid_valid(oid))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "allowed_other_sans '%s': '%s' is not a dotted-decimal OID", q, oid);
    }
    return HSMCA_OK;
}

/* hsmca: subject attribute values must fit their X.520 upper bounds (RFC
 * 5280 Appendix A.1), so a role cannot promise a subject that the lint would
 * then refuse at every issuance. */
static hsmca_rv check_subject_lists(const hsmca_role *r)
{
    static const struct {
        const char *field;
        size_t off;
        size_t max;
    } attrs[] = {
        {"ou", offsetof(hsmca_role, ou), 64},                          /* ub-organizational-unit-name */
        {"organization", offsetof(hsmca_role, organization), 64},      /* ub-organization-name */
        {"locality", offsetof(hsmca_role, locality), 128},             /* ub-locality-name */
        {"province", offsetof(hsmca_role, province), 128},             /* ub-state-name */
        {"street_address", offsetof(hsmca_role, street_address), 128}, /* X.520 ub-street-address */
        {"postal_code", offsetof(hsmca_role, postal_code), 40},        /* X.520 ub-postal-code */
    };

    for (size_t a = 0; a < sizeof(attrs) / sizeof(attrs[0]); a++) {
        const hsmca_strlist *l = (const hsmca_strlist *)((const char *)r + attrs[a].off);

        for (size_t i = 0; i < l->n; i++) {
            size_t chars = 0;

            policy_utf8_valid(l->v[i], strlen(l->v[i]), &chars);
            if (chars > attrs[a].max) {
                char q[POLICY_QUOTE_BUF];

                policy_quote(l->v[i], q, sizeof(q));
                return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                 "%s value '%s' has %zu characters; RFC 5280 Appendix A allows at most %zu",
                                 attrs[a].field, q, chars, attrs[a].max);
            }
        }
    }
    /* countryName is a two-letter ISO 3166 code, PrintableString SIZE(2)
     * (RFC 5280 Appendix A.1, X.520). */
    for (size_t i = 0; i < r->country.n; i++) {
        const char *c = r->country.v[i];
        bool ok = strlen(c) == 2;

        for (size_t k = 0; ok && k < 2; k++)
            ok = (c[k] >= 'A' && c[k] <= 'Z') || (c[k] >= 'a' && c[k] <= 'z');
        if (!ok) {
            char q[POLICY_QUOTE_BUF];

            policy_quote(c, q, sizeof(q));
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "country value '%s' is not a two-letter ISO 3166 code (RFC 5280 Appendix A.1)",
                             q);
        }
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_role_validate(hsmca_role *r, hsmca_strlist *warnings)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    char q[POLICY_QUOTE_BUF];

    (void)warnings; /* OpenBao's only role warnings concern issuer lookup, which the caller does */
    hsmca_return_val_if_fail(r != NULL, HSMCA_ERR_INVALID_ARG);
    if (r->ttl < 0 || r->max_ttl < 0 || r->not_before_duration < 0) {
        rv = hsmca_err(rv, "%s: cannot provide a negative duration",
                       r->ttl < 0       ? "ttl"
                       : r->max_ttl < 0 ? "max_ttl"
                                        : "not_before_duration");
        goto done;
    }
    if (r->max_ttl > 0 && r->ttl > r->max_ttl) {
        char t[32], m[32];

        hsmca_duration_format(r->ttl, t, sizeof(t));
        hsmca_duration_format(r->max_ttl, m, sizeof(m));
        rv = hsmca_err(rv, "\"ttl\" value must be less than \"max_ttl\" value (ttl %s, max_ttl %s)", t, m);
        goto done;
    }
    rv = check_list_utf8(r);
    if (rv != HSMCA_OK)
        goto done;
    rv = check_key_params(r);
    if (rv != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_INVALID_ARG;
    for (size_t i = 0; i < r->ext_key_usage_oids.n; i++) {
        if (!hsmca_role_oid_valid(r->ext_key_usage_oids.v[i])) {
            policy_quote(r->ext_key_usage_oids.v[i], q, sizeof(q));
            rv = hsmca_err(
                rv, "ext_key_usage_oids: '%s' could not be parsed as a valid oid for an extended key usage",
                q);
            goto done;
        }
    }
    /* OpenBao also takes JSON policy-information objects with CPS/notice
     * qualifiers here; hsmca takes OIDs only (the reference's form). */
    for (size_t i = 0; i < r->policy_identifiers.n; i++) {
        if (!hsmca_role_oid_valid(r->policy_identifiers.v[i])) {
            policy_quote(r->policy_identifiers.v[i], q, sizeof(q));
            rv = hsmca_err(rv, "policy_identifiers: '%s' is not a dotted-decimal policy OID", q);
            goto done;
        }
    }
    if (r->issuer_ref[0] == '\0')
        snprintf(r->issuer_ref, sizeof(r->issuer_ref), "default");
    rv = check_cn_validations(&r->cn_validations);
    if (rv != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_INVALID_ARG;
    /* hsmca: OpenBao ignores unknown usage names at issuance; a role that
     * silently grants less than it says is refused instead. */
    for (size_t i = 0; i < r->key_usage.n; i++) {
        if (hsmca_role_key_usage_bit(r->key_usage.v[i]) == 0) {
            policy_quote(r->key_usage.v[i], q, sizeof(q));
            rv =
                hsmca_err(rv,
                          "key_usage '%s' is not a key usage: DigitalSignature, ContentCommitment, "
                          "KeyEncipherment, DataEncipherment, KeyAgreement, CertSign, CRLSign, EncipherOnly, "
                          "DecipherOnly (Go's names without 'KeyUsage')",
                          q);
            goto done;
        }
    }
    for (size_t i = 0; i < r->ext_key_usage.n; i++) {
        if (hsmca_role_ext_key_usage_oid(r->ext_key_usage.v[i]) == NULL) {
            policy_quote(r->ext_key_usage.v[i], q, sizeof(q));
            rv = hsmca_err(
                rv,
                "ext_key_usage '%s' is not an extended key usage: Any, ServerAuth, ClientAuth, "
                "CodeSigning, EmailProtection, IPSECEndSystem, IPSECTunnel, IPSECUser, TimeStamping, "
                "OCSPSigning, MicrosoftServerGatedCrypto, NetscapeServerGatedCrypto, "
                "MicrosoftCommercialCodeSigning, MicrosoftKernelCodeSigning (without 'ExtKeyUsage'); "
                "other OIDs go in ext_key_usage_oids",
                q);
            goto done;
        }
    }
    rv = check_allowed_other_sans(&r->allowed_other_sans);
    if (rv != HSMCA_OK)
        goto done;
    if (r->not_after[0] != '\0') {
        int64_t t;

        rv = hsmca_time_parse_rfc3339(r->not_after, &t);
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("not_after");
            goto done;
        }
    }
    rv = check_subject_lists(r);
    if (rv != HSMCA_OK)
        goto done;
    rv = HSMCA_OK;
done:
    return rv;
}

/* ---- JSON in ---- */

static hsmca_rv read_field(const field_desc *f, const json_t *v, hsmca_role *r)
{
    char *base = (char *)r;

    switch (f->kind) {
    case F_BOOL:
        return hsmca_jf_bool(v, f->name, (bool *)(base + f->off));
    case F_DURATION:
        return hsmca_jf_duration(v, f->name, (int64_t *)(base + f->off));
    case F_INT:
        return hsmca_jf_int(v, f->name, (int *)(base + f->off));
    case F_STRING:
        return hsmca_jf_string(v, f->name, base + f->off, f->size);
    case F_LIST:
        return hsmca_jf_list(v, f->name, HSMCA_ROLE_ENTRY_MAX, list_at(r, f));
    case F_KEY_TYPE: {
        char kt[16] = "";
        hsmca_rv rv = hsmca_jf_string(v, f->name, kt, sizeof(kt));

        if (rv != HSMCA_OK)
            return rv;
        if (kt[0] == '\0') /* the schema default applies to an empty value */
            snprintf(kt, sizeof(kt), "rsa");
        if (!key_type_parse(kt, &r->key_type))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_type '%s' is unknown: rsa, ec, ed25519 or any", kt);
        return HSMCA_OK;
    }
    case F_ACCEPTED:
        return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INTERNAL, "role field %s has no reader", f->name);
}

static hsmca_rv add_warning(hsmca_strlist *warnings, const char *text)
{
    if (warnings == NULL)
        return HSMCA_OK;
    return hsmca_strlist_add(warnings, text, strlen(text));
}

hsmca_rv hsmca_role_from_json(const json_t *obj, hsmca_role *base_or_defaults, bool patch, hsmca_role *out,
                              hsmca_strlist *warnings)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_role tmp;
    char ignored[512];
    size_t ignored_len = 0, nignored = 0;
    bool ignored_cut = false, lease_given = false, lease_value = false, old_lease;
    /* jansson's iterator API takes a non-const object; iteration does not
     * modify it. The uintptr_t step keeps -Wcast-qual quiet on purpose. */
    json_t *iter_obj = (json_t *)(uintptr_t)obj;
    const char *key;
    json_t *value;

    memset(&tmp, 0, sizeof(tmp));
    hsmca_return_val_if_fail(obj != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    hsmca_return_val_if_fail(!patch || base_or_defaults != NULL, HSMCA_ERR_INVALID_ARG);
    if (!json_is_object(obj)) {
        rv = hsmca_err(rv, "role: expected a JSON object, got %s", hsmca_jf_kind(obj));
        goto done;
    }
    rv = base_or_defaults != NULL ? hsmca_role_copy(&tmp, base_or_defaults) : hsmca_role_init_defaults(&tmp);
    if (rv != HSMCA_OK)
        goto done;
    old_lease = tmp.generate_lease;
    ignored[0] = '\0';
    json_object_foreach(iter_obj, key, value)
    {
        const field_desc *f = find_field(key);

        if (f == NULL) {
            /* OpenBao ignores unknown parameters and says so in one
             * warning; the list is bounded, the count is not lost. */
            size_t klen = strnlen(key, 64);

            if (ignored_len + klen + 2 < sizeof(ignored)) {
                ignored_len += (size_t)snprintf(ignored + ignored_len, sizeof(ignored) - ignored_len,
                                                "%s%.*s", nignored ? " " : "", (int)klen, key);
            } else {
                ignored_cut = true;
            }
            nignored++;
            continue;
        }
        rv = read_field(f, value, &tmp);
        if (rv != HSMCA_OK)
            goto done;
        if (strcmp(f->name, "generate_lease") == 0) {
            lease_given = true;
            lease_value = tmp.generate_lease;
        }
    }
    rv = hsmca_role_validate(&tmp, warnings);
    if (rv != HSMCA_OK)
        goto done;
    /* path_roles.go: no_store implies generate_lease=false. */
    if (tmp.no_store) {
        tmp.generate_lease = false;
        if ((lease_given && lease_value) || (!lease_given && patch && old_lease))
            rv = add_warning(warnings,
                             "mutually exclusive values no_store=true and generate_lease=true were both "
                             "specified; no_store=true takes priority");
    } else if (tmp.generate_lease) {
        rv = add_warning(warnings,
                         "it is encouraged to disable generate_lease and rely on PKI's native "
                         "capabilities when possible; this option can cause instance-wide issues with "
                         "large numbers of issued certificates");
    }
    if (rv != HSMCA_OK)
        goto done;
    if (nignored > 0) {
        char w[600];

        snprintf(w, sizeof(w), "Endpoint ignored these unrecognized parameters: [%s%s]", ignored,
                 ignored_cut ? " ..." : "");
        rv = add_warning(warnings, w);
        if (rv != HSMCA_OK)
            goto done;
    }
    hsmca_role_clear(out);
    *out = tmp;
    memset(&tmp, 0, sizeof(tmp));
    rv = HSMCA_OK;
done:
    hsmca_role_clear(&tmp);
    return rv;
}

/* ---- JSON out ---- */

static json_t *list_to_json(const hsmca_strlist *l)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < l->n; i++) {
        if (json_array_append_new(a, json_string(l->v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

hsmca_rv hsmca_role_to_json(const hsmca_role *r, json_t **out)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    json_t *o = NULL;

    hsmca_return_val_if_fail(r != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    o = json_object();
    if (o == NULL)
        goto done;
    for (size_t i = 0; i < NFIELDS; i++) {
        const field_desc *f = &fields[i];
        const char *base = (const char *)r;
        json_t *v = NULL;

        switch (f->kind) {
        case F_BOOL:
            v = json_boolean(*(const bool *)(base + f->off));
            break;
        case F_DURATION: /* OpenBao renders int64(d.Seconds()) */
            v = json_integer(*(const int64_t *)(base + f->off));
            break;
        case F_INT:
            v = json_integer(*(const int *)(base + f->off));
            break;
        case F_STRING:
            v = json_string(base + f->off);
            break;
        case F_LIST:
            v = list_to_json(clist_at(r, f));
            break;
        case F_KEY_TYPE:
            v = json_string(hsmca_role_key_type_name(r->key_type));
            break;
        case F_ACCEPTED:
            /* OpenBao still returns allow_token_displayname, always false. */
            if (strcmp(f->name, "allow_token_displayname") != 0)
                continue;
            v = json_false();
            break;
        }
        if (v == NULL || json_object_set_new(o, f->name, v) != 0)
            goto done;
    }
    *out = o;
    o = NULL;
    rv = HSMCA_OK;
done:
    json_decref(o);
    return rv;
}
