/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-signing lint of CRLs (RFC 5280 section 5): the offline root CRL of a
 * key ceremony is checked here before the token signs it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "hsmca/lint.h"
#include "hsmca/serial.h"
#include "internal.h"

#define CRL_KU_CRL_SIGN 6 /* keyUsage bit cRLSign (RFC 5280 4.2.1.3) */
#define CRL_EXT_MAX 32

static const hsmca_lint_rule crl_rules[] = {
    {"crl.version", "version is v2 (RFC 5280 5.1.2.1: a CRL with extensions must be v2)"},
    {"crl.issuer_match", "issuer is byte for byte the issuing CA's subject (RFC 5280 5.1.2.3)"},
    {"crl.issuer_crl_sign", "the issuing CA's keyUsage has cRLSign (RFC 5280 4.2.1.3)"},
    {"crl.time_format", "thisUpdate and nextUpdate are well-formed times"},
    {"crl.time_type", "UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 5.1.2.4, 5.1.2.5)"},
    {"crl.next_update", "nextUpdate is present and after thisUpdate (RFC 5280 5.1.2.5)"},
    {"crl.ext.count", "at most 32 CRL extensions"},
    {"crl.ext.empty", "no extension has an empty value"},
    {"crl.ext.duplicate", "no extension appears twice (RFC 5280 4.2)"},
    {"crl.aki.present", "authorityKeyIdentifier with a keyIdentifier (RFC 5280 5.2.1)"},
    {"crl.aki.critical", "authorityKeyIdentifier is not critical (RFC 5280 5.2.1)"},
    {"crl.aki.match", "authorityKeyIdentifier is the issuing CA's subjectKeyIdentifier"},
    {"crl.number.present", "cRLNumber is present (RFC 5280 5.2.3)"},
    {"crl.number.range", "cRLNumber is non-critical, non-negative, at most 20 octets (RFC 5280 5.2.3)"},
    {"crl.revoked.serial", "revoked serials are positive and 1 to 20 octets (RFC 5280 4.1.2.2)"},
    {"crl.revoked.duplicate", "no serial is listed twice"},
    {"crl.revoked.date", "no revocation date is after thisUpdate"},
};

const hsmca_lint_rule *hsmca_lint_crl_rules(size_t *count)
{
    *count = sizeof(crl_rules) / sizeof(crl_rules[0]);
    return crl_rules;
}

static hsmca_rv crl_fail(hsmca_lint_finding *f, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hsmca_rv crl_fail(hsmca_lint_finding *f, const char *rule, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (f != NULL) {
        snprintf(f->rule, sizeof(f->rule), "%s", rule);
        snprintf(f->message, sizeof(f->message), "%s", msg);
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "lint %s: %s", rule, msg);
}

/* RFC 5280 5.1.2.4/5.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
static hsmca_rv check_time(hsmca_lint_finding *f, const char *field, const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    time_t when;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return crl_fail(f, "crl.time_format", "%s is missing or malformed", field);
    when = timegm(&tm);
    *out = (int64_t)when;
    if ((tm.tm_year + 1900 < 2050) != (ASN1_STRING_type(t) == V_ASN1_UTCTIME))
        return crl_fail(f, "crl.time_type", "%s in %d is encoded as %s (UTCTime through 2049, GeneralizedTime from "
                                            "2050)",
                        field, tm.tm_year + 1900, ASN1_STRING_type(t) == V_ASN1_UTCTIME ? "UTCTime" : "GeneralizedTime");
    return HSMCA_OK;
}

static hsmca_rv check_names(hsmca_lint_finding *f, X509_CRL *crl, X509 *issuer)
{
    unsigned char *a = NULL, *b = NULL;
    int la = i2d_X509_NAME(X509_CRL_get_issuer(crl), &a), lb = i2d_X509_NAME(X509_get_subject_name(issuer), &b);
    hsmca_rv rv = HSMCA_OK;

    if (la <= 0 || lb <= 0 || la != lb || CRYPTO_memcmp(a, b, (size_t)la) != 0)
        rv = crl_fail(f, "crl.issuer_match", "the CRL's issuer is not byte for byte the CA's subject (RFC 5280 5.1.2.3)");
    OPENSSL_free(a);
    OPENSSL_free(b);
    return rv;
}

static hsmca_rv check_issuer(hsmca_lint_finding *f, X509 *issuer)
{
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(issuer, NID_key_usage, NULL, NULL);
    int ok = ku != NULL && ASN1_BIT_STRING_get_bit(ku, CRL_KU_CRL_SIGN);

    ASN1_BIT_STRING_free(ku);
    return ok ? HSMCA_OK
              : crl_fail(f, "crl.issuer_crl_sign", "the issuing CA's keyUsage lacks cRLSign (RFC 5280 4.2.1.3)");
}

/* Extensions: none twice, none empty; AKI keyid = the issuer's SKI, and a
 * cRLNumber of at most 20 octets, both non-critical (RFC 5280 5.2.1, 5.2.3). */
static hsmca_rv check_extensions(hsmca_lint_finding *f, X509_CRL *crl, X509 *issuer)
{
    const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
    int n = sk_X509_EXTENSION_num(exts), crit = 0;
    AUTHORITY_KEYID *aki = NULL;
    ASN1_INTEGER *num = NULL;
    ASN1_OCTET_STRING *ski = NULL;
    hsmca_rv rv = HSMCA_OK;

    if (n > CRL_EXT_MAX)
        return crl_fail(f, "crl.ext.count", "%d extensions (at most %d)", n, CRL_EXT_MAX);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (ASN1_STRING_length(X509_EXTENSION_get_data(e)) <= 2)
            return crl_fail(f, "crl.ext.empty", "extension %s is empty", OBJ_nid2sn(nid));
        for (int j = 0; j < i; j++) {
            if (OBJ_cmp(X509_EXTENSION_get_object(e),
                        X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j))) == 0)
                return crl_fail(f, "crl.ext.duplicate", "extension %s appears twice", OBJ_nid2sn(nid));
        }
    }
    aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
    if (aki == NULL || aki->keyid == NULL) {
        rv = crl_fail(f, "crl.aki.present", "no authorityKeyIdentifier keyIdentifier (RFC 5280 5.2.1)");
        goto done;
    }
    if (crit) {
        rv = crl_fail(f, "crl.aki.critical", "authorityKeyIdentifier is critical");
        goto done;
    }
    ski = X509_get_ext_d2i(issuer, NID_subject_key_identifier, NULL, NULL);
    if (ski == NULL || ASN1_OCTET_STRING_cmp(ski, aki->keyid) != 0) {
        rv = crl_fail(f, "crl.aki.match", "authorityKeyIdentifier is not the issuing CA's subjectKeyIdentifier");
        goto done;
    }
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    if (num == NULL) {
        rv = crl_fail(f, "crl.number.present", "no cRLNumber (RFC 5280 5.2.3)");
        goto done;
    }
    if (crit || ASN1_STRING_type(num) == V_ASN1_NEG_INTEGER || ASN1_STRING_length(num) > HSMCA_SERIAL_MAX) {
        rv = crl_fail(f, "crl.number.range", "cRLNumber must be non-critical, non-negative and at most 20 octets");
        goto done;
    }
done:
    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_OCTET_STRING_free(ski);
    return rv;
}

/* Zero is not negative, but not positive either (RFC 5280 4.1.2.2): its
 * content octets are all zero. (A zero serial passed this rule until the
 * test that builds one by hand.) */
static bool is_zero(const ASN1_INTEGER *s)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);

    for (int i = 0; i < ASN1_STRING_length(s); i++)
        if (d[i] != 0)
            return false;
    return true;
}

static hsmca_rv check_revoked(hsmca_lint_finding *f, X509_CRL *crl, int64_t this_update)
{
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n = sk_X509_REVOKED_num(rev);

    for (int i = 0; i < n; i++) {
        const X509_REVOKED *r = sk_X509_REVOKED_value(rev, i);
        const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(r);
        int64_t when = ca_asn1_time_to_unix(X509_REVOKED_get0_revocationDate(r));
        if (ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER || ASN1_STRING_length(s) == 0 ||
            ASN1_STRING_length(s) > HSMCA_SERIAL_MAX || is_zero(s))
            return crl_fail(f, "crl.revoked.serial", "revoked entry %d: serial must be positive, 1 to 20 octets", i + 1);
        for (int j = 0; j < i; j++) {
            if (ASN1_INTEGER_cmp(s, X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, j))) == 0)
                return crl_fail(f, "crl.revoked.duplicate", "revoked entries %d and %d have the same serial", j + 1,
                                i + 1);
        }
        if (when == 0 || when > this_update)
            return crl_fail(f, "crl.revoked.date", "revoked entry %d: revocation date is after thisUpdate", i + 1);
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_lint_crl(X509_CRL *crl, X509 *issuer, hsmca_lint_finding *finding)
{
    int64_t this_update = 0, next_update = 0;
    hsmca_rv rv;

    if (finding != NULL)
        memset(finding, 0, sizeof(*finding));
    if (crl == NULL || issuer == NULL)
        return crl_fail(finding, "lint.input", "a CRL and its issuing CA are both required");
    if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2)
        return crl_fail(finding, "crl.version", "version is not v2 (RFC 5280 5.1.2.1: extensions need v2)");
    if ((rv = check_names(finding, crl, issuer)) != HSMCA_OK || (rv = check_issuer(finding, issuer)) != HSMCA_OK)
        return rv;
    if ((rv = check_time(finding, "thisUpdate", X509_CRL_get0_lastUpdate(crl), &this_update)) != HSMCA_OK)
        return rv;
    if (X509_CRL_get0_nextUpdate(crl) == NULL)
        return crl_fail(finding, "crl.next_update", "nextUpdate is missing (RFC 5280 5.1.2.5: conforming CAs include it)");
    if ((rv = check_time(finding, "nextUpdate", X509_CRL_get0_nextUpdate(crl), &next_update)) != HSMCA_OK)
        return rv;
    if (next_update <= this_update)
        return crl_fail(finding, "crl.next_update", "nextUpdate is not after thisUpdate");
    if ((rv = check_extensions(finding, crl, issuer)) != HSMCA_OK)
        return rv;
    return check_revoked(finding, crl, this_update);
}
