/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint, entry point: the rule table, how a finding is
 * reported, and the rules on the certificate's top-level fields (version,
 * serial number, issuer/subject chaining, the issuing CA). Rule families
 * with more code live beside it: lint_time.c, lint_ext.c, lint_key.c,
 * lint_names.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lint_internal.h"

/* Indexed by lint_rule_id; the order is the order the checks run. Ids are
 * stable: stored findings, logs and tests refer to them. */
static const hsmca_lint_rule rule_table[LINT_RULE_COUNT] = {
    [LINT_VERSION_V3] = {"version.v3", "version is v3 when extensions are present (RFC 5280 4.1.2.1)"},
    [LINT_SERIAL_POSITIVE] = {"serial.positive",
                              "serialNumber is a positive integer (RFC 5280 4.1.2.2, BR 7.1)"},
    [LINT_SERIAL_LENGTH] = {"serial.length", "serialNumber is at most 20 content octets (RFC 5280 4.1.2.2)"},
    [LINT_SERIAL_ENTROPY] =
        {"serial.entropy",
         "serialNumber has at least 64 significant bits (BR 7.1: 64 bits of CSPRNG output)"},
    [LINT_VALIDITY_TIME_FORMAT] = {"validity.time_format",
                                   "times are YYMMDDHHMMSSZ UTCTime or YYYYMMDDHHMMSSZ GeneralizedTime with "
                                   "seconds, 'Z' and no fraction (RFC 5280 4.1.2.5.1, 4.1.2.5.2)"},
    [LINT_VALIDITY_TIME_TYPE] =
        {"validity.time_type",
         "dates through 2049 are UTCTime, from 2050 GeneralizedTime (RFC 5280 4.1.2.5)"},
    [LINT_VALIDITY_ORDER] = {"validity.order", "notBefore is before notAfter (RFC 5280 4.1.2.5)"},
    [LINT_VALIDITY_BEYOND_ISSUER] = {"validity.beyond_issuer",
                                     "notAfter is not after the issuer's notAfter unless the issuer's "
                                     "leaf_not_after_behavior is permit"},
    [LINT_NAME_ROOT_SELF_ISSUED] = {"name.root_self_issued",
                                    "a root's issuer is byte-for-byte its subject (RFC 5280 3.2, 6.1)"},
    [LINT_NAME_ISSUER_MATCH] =
        {"name.issuer_match",
         "issuer is byte-for-byte the issuing CA's subject (RFC 5280 4.1.2.4, 6.1.3; BR 7.1.4.1)"},
    [LINT_SUBJECT_NUL] = {"subject.nul", "no subject attribute value contains a NUL character"},
    [LINT_SUBJECT_ENCODING] =
        {"subject.encoding",
         "subject strings are valid for their type: UTF8String is UTF-8 (RFC 3629), "
         "PrintableString/IA5String/BMPString in their character sets (RFC 5280 4.1.2.4)"},
    [LINT_SUBJECT_LENGTH] =
        {"subject.length", "subject attributes within the upper bounds of RFC 5280 Appendix A (CN, O, OU 64; "
                           "L, ST 128; C exactly 2; ...)"},
    [LINT_EXT_COUNT] = {"ext.count", "at most 64 extensions"},
    [LINT_EXT_DUPLICATE] = {"ext.duplicate", "no extension appears more than once (RFC 5280 4.2)"},
    [LINT_EXT_MALFORMED] =
        {"ext.malformed",
         "every extension OpenSSL knows is DER of its type with nothing after it (RFC 5280 4.2)"},
    [LINT_EXT_EMPTY] =
        {"ext.empty", "no empty extension: SAN, EKU, policies, AIA, CRL DP, name constraints hold an entry, "
                      "keyUsage a bit (RFC 5280 4.2.1.x)"},
    [LINT_SUBJECT_EMPTY] = {"subject.empty",
                            "an empty subject comes with a subjectAltName that is present and critical "
                            "(RFC 5280 4.1.2.6, 4.2.1.6)"},
    [LINT_SUBJECT_CA_EMPTY] = {"subject.ca_empty",
                               "CA certificates have a non-empty subject (RFC 5280 4.1.2.6)"},
    [LINT_ISSUER_NOT_CA] =
        {"issuer.not_ca",
         "the issuing certificate is a CA: basicConstraints cA TRUE and keyCertSign if it has "
         "keyUsage (RFC 5280 4.2.1.3, 4.2.1.9, 6.1.4(k))"},
    [LINT_BC_CA_PRESENT] = {"bc.ca_present", "CA certificates carry basicConstraints (RFC 5280 4.2.1.9)"},
    [LINT_BC_CA_CRITICAL] = {"bc.ca_critical",
                             "basicConstraints is critical on CA certificates (RFC 5280 4.2.1.9)"},
    [LINT_BC_CA_TRUE] = {"bc.ca_true", "CA certificates assert cA TRUE (RFC 5280 4.2.1.9)"},
    [LINT_BC_LEAF_CA] = {"bc.leaf_ca",
                         "a leaf's basicConstraints, if present, has cA FALSE (RFC 5280 4.2.1.9)"},
    [LINT_BC_PATHLEN_RANGE] =
        {"bc.pathlen_range",
         "pathLenConstraint is a non-negative integer (RFC 5280 4.2.1.9, INTEGER (0..MAX))"},
    [LINT_BC_PATHLEN_LEAF] = {"bc.pathlen_leaf", "pathLenConstraint only with cA TRUE (RFC 5280 4.2.1.9)"},
    [LINT_BC_PATHLEN_ISSUER] =
        {"bc.pathlen_issuer",
         "a CA below an issuer with pathLenConstraint p needs p >= 1 and its own "
         "pathLenConstraint < p (<= p when self-issued) (RFC 5280 4.2.1.9, 6.1.4(l),(m))"},
    [LINT_KU_CA_PRESENT] = {"ku.ca_present",
                            "CA certificates carry keyUsage (RFC 5280 4.2.1.3, BR 7.1.2.10.7)"},
    [LINT_KU_CA_CRITICAL] = {"ku.ca_critical",
                             "keyUsage is critical on CA certificates (RFC 5280 4.2.1.3, BR 7.1.2.10.7)"},
    [LINT_KU_CA_CERT_SIGN] = {"ku.ca_cert_sign", "CA keyUsage asserts keyCertSign (RFC 5280 4.2.1.3)"},
    [LINT_KU_CERT_SIGN_WITHOUT_CA] = {"ku.cert_sign_without_ca",
                                      "keyCertSign only with basicConstraints cA TRUE (RFC 5280 4.2.1.3)"},
    [LINT_SKI_PRESENT] = {"ski.present", "CA certificates carry subjectKeyIdentifier (RFC 5280 4.2.1.2)"},
    [LINT_SKI_CRITICAL] = {"ski.critical", "subjectKeyIdentifier is non-critical (RFC 5280 4.2.1.2)"},
    [LINT_SKI_MALFORMED] = {"ski.malformed",
                            "subjectKeyIdentifier is 1..64 octets (RFC 5280 4.2.1.2, RFC 7093)"},
    [LINT_AKI_PRESENT] = {"aki.present",
                          "authorityKeyIdentifier is present unless self-signed (RFC 5280 4.2.1.1)"},
    [LINT_AKI_CRITICAL] = {"aki.critical", "authorityKeyIdentifier is non-critical (RFC 5280 4.2.1.1)"},
    [LINT_AKI_KEYID] = {"aki.keyid", "authorityKeyIdentifier carries keyIdentifier (RFC 5280 4.2.1.1)"},
    [LINT_AKI_MATCH] = {"aki.match",
                        "authorityKeyIdentifier equals the issuer's subjectKeyIdentifier (a root's: its own) "
                        "(RFC 5280 4.2.1.1)"},
    [LINT_KEY_TYPE] = {"key.type", "the key is RSA, EC or Ed25519 (BR 6.1.5, RFC 8410)"},
    [LINT_KEY_ALGORITHM_PARAMS] = {"key.algorithm_params",
                                   "SPKI parameters: NULL for RSA (RFC 3279 2.3.1), a namedCurve for EC "
                                   "(RFC 5480 2.1.1), absent for Ed25519 (RFC 8410 3)"},
    [LINT_KEY_INVALID] = {"key.invalid", "subjectPublicKeyInfo decodes (RFC 5280 4.1.2.7)"},
    [LINT_KEY_RSA_BITS] = {"key.rsa_bits", "RSA modulus of 2048..16384 bits (BR 6.1.5)"},
    [LINT_KEY_RSA_BITS_MULTIPLE] = {"key.rsa_bits_multiple", "RSA modulus size divisible by 8 (BR 6.1.5)"},
    [LINT_KEY_RSA_EXPONENT] = {"key.rsa_exponent", "RSA public exponent odd and at least 3 (BR 6.1.6)"},
    [LINT_KEY_EC_CURVE] = {"key.ec_curve", "EC keys on P-256, P-384 or P-521 only (BR 6.1.5)"},
    [LINT_SAN_COUNT] = {"san.count", "at most 1024 subjectAltName entries"},
    [LINT_SAN_NUL] = {"san.nul", "no subjectAltName string contains a NUL character"},
    [LINT_SAN_IP] = {"san.ip", "iPAddress is 4 (IPv4) or 16 (IPv6) octets (RFC 5280 4.2.1.6)"},
    [LINT_SAN_DNS_WILDCARD_CA] = {"san.dns.wildcard_ca", "no wildcard in a CA certificate's dNSNames"},
    [LINT_SAN_DNS_WILDCARD] =
        {"san.dns.wildcard", "a leaf's wildcard is one '*' in the left-most label, followed by two or more "
                             "labels, not in an A-label (RFC 6125 6.4.3); with cabf only \"*\" as that whole "
                             "label (BR 1.6.1)"},
    [LINT_SAN_DNS_SYNTAX] =
        {"san.dns.syntax",
         "dNSName in preferred name syntax: LDH labels of 1..63, at most 253 octets, no "
         "trailing dot, no all-numeric top label (RFC 5280 4.2.1.6, RFC 1034 3.5, RFC 1123 2.1)"},
    [LINT_SAN_DNS_IDN] =
        {"san.dns.idn",
         "xn-- labels are Punycode of non-ASCII text; other labels with \"--\" in positions 3-4 "
         "are reserved (RFC 5890 2.3.1, RFC 5891 4.2.3.1, RFC 3492)"},
    [LINT_SAN_EMAIL] =
        {"san.email", "rfc822Name is one '@' between a dot-atom local part of at most 64 octets and a valid "
                      "domain (RFC 5280 4.2.1.6, RFC 5321 4.1.2, 4.5.3.1)"},
    [LINT_SAN_URI] =
        {"san.uri", "URI has a scheme and a scheme-specific part, only RFC 3986 characters, and a host when "
                    "it has an authority (RFC 5280 4.2.1.6)"},
    [LINT_CABF_VALIDITY] =
        {"cabf.validity",
         "CA/B: leaf validity at most 398 days, 200 from 2026-03-15, 100 from 2027-03-15, 47 "
         "from 2029-03-15 (BR 6.3.2)"},
    [LINT_CABF_SAN_PRESENT] =
        {"cabf.san_present", "CA/B: a leaf has a subjectAltName with a dNSName or iPAddress (BR 7.1.2.7.12)"},
    [LINT_CABF_SAN_TYPES] =
        {"cabf.san_types",
         "CA/B: a leaf's subjectAltName holds only dNSName and iPAddress entries (BR 7.1.2.7.12)"},
    [LINT_CABF_EKU_PRESENT] = {"cabf.eku_present", "CA/B: a leaf has extendedKeyUsage (BR 7.1.2.7.10)"},
    [LINT_CABF_EKU_ANY] = {"cabf.eku_any", "CA/B: a leaf has no anyExtendedKeyUsage (BR 7.1.2.7.10)"},
    [LINT_CABF_KEY_TYPE] = {"cabf.key_type",
                            "CA/B: the key is RSA or ECDSA, not Ed25519 (BR 6.1.5, 7.1.3.1)"},
    [LINT_SUBJECT_CN_IN_SAN] =
        {"subject.cn_in_san", "a leaf's hostname- or IP-like commonName is one of its dNSName/iPAddress SANs "
                              "(RFC 6125 6.4.4; with cabf any CN, character for character, BR 7.1.2.7.2)"},
};

const hsmca_lint_rule *hsmca_lint_rules(size_t *count)
{
    if (count != NULL)
        *count = LINT_RULE_COUNT;
    return rule_table;
}

/* Writes "rule"/"message" into the finding and "lint <rule>: <message>"
 * into the thread's error detail. */
static void record(lint_ctx *ctx, const char *rule, const char *message)
{
    if (ctx->finding != NULL) {
        snprintf(ctx->finding->rule, sizeof(ctx->finding->rule), "%s", rule);
        snprintf(ctx->finding->message, sizeof(ctx->finding->message), "%s", message);
    }
}

hsmca_rv lint_fail(lint_ctx *ctx, lint_rule_id rule, const char *fmt, ...)
{
    char message[sizeof(((hsmca_lint_finding *)0)->message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    record(ctx, rule_table[rule].id, message);
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "lint %s: %s", rule_table[rule].id, message);
}

hsmca_rv lint_error(lint_ctx *ctx, hsmca_rv rv, const char *what)
{
    /* OpenSSL's queue is ours to clear: the caller reads hsmca_err. */
    ERR_clear_error();
    record(ctx, "", what);
    return hsmca_err(rv, "lint could not run: %s", what);
}

const char *lint_render(const unsigned char *p, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (outlen == 0)
        goto done;
    /* Reserve room for "..." and the terminator; each input byte takes at
     * most 4 output bytes. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
        if (o + need + 4 > outlen) {
            if (o + 4 <= outlen) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xf];
        }
    }
    out[o] = '\0';
done:
    return out;
}

int64_t lint_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
     * calendar, no table, no time zone, no time_t range limits. */
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC 5280 4.1.2.1: v3 (value 2) is required as soon as there are
 * extensions; values other than 0..2 are not X.509 at all. */
static hsmca_rv check_version(lint_ctx *ctx)
{
    long version = X509_get_version(ctx->tbs);
    int n_ext = X509_get_ext_count(ctx->tbs);
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (version < 0 || version > 2) {
        rv = lint_fail(ctx, LINT_VERSION_V3, "version value %ld is not an X.509 version (0..2)", version);
        goto done;
    }
    if (n_ext > 0 && version != 2) {
        rv = lint_fail(ctx, LINT_VERSION_V3, "version is v%ld but the certificate has %d extension(s)",
                       version + 1, n_ext);
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* RFC 5280 4.1.2.2: positive, at most 20 octets; BR 7.1: at least 64 bits
 * of CSPRNG output. We draw 128 random bits, so a serial with fewer than 64
 * significant bits means the random source is not what was used (the odds
 * of 128 random bits having 64 leading zeros are 2^-64). */
static hsmca_rv check_serial(lint_ctx *ctx)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(ctx->tbs);
    unsigned char *der = NULL;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    size_t content = 0;
    int der_len, bits;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (serial == NULL) {
        rv = lint_fail(ctx, LINT_SERIAL_POSITIVE, "the certificate has no serialNumber");
        goto done;
    }
    bn = ASN1_INTEGER_to_BN(serial, NULL);
    if (bn == NULL) {
        rv = lint_error(ctx, HSMCA_ERR_NOMEM, "cannot read the serial number");
        goto done;
    }
    hex = BN_bn2hex(bn);
    if (hex == NULL) {
        rv = lint_error(ctx, HSMCA_ERR_NOMEM, "cannot render the serial number");
        goto done;
    }
    if (BN_is_zero(bn) || BN_is_negative(bn)) {
        rv = lint_fail(ctx, LINT_SERIAL_POSITIVE, "serialNumber %s is not positive", hex);
        goto done;
    }
    /* The encoded length, not the magnitude: a magnitude with its top bit
     * set needs a leading 0x00 octet, and that octet counts (RFC 5280
     * 4.1.2.2 "20 octets"). */
    der_len = i2d_ASN1_INTEGER(serial, &der);
    if (der_len < 2) {
        rv = lint_error(ctx, HSMCA_ERR_CRYPTO, "cannot encode the serial number");
        goto done;
    }
    if (der[1] < 0x80) {
        content = der[1];
    } else {
        /* Long form: the content is what follows the length octets. */
        content = (size_t)der_len - 2 - (der[1] & 0x7f);
    }
    if (content > 20) {
        rv = lint_fail(ctx, LINT_SERIAL_LENGTH, "serialNumber %s is %zu octets long; at most 20 allowed", hex,
                       content);
        goto done;
    }
    bits = BN_num_bits(bn);
    if (bits < 64) {
        rv = lint_fail(ctx, LINT_SERIAL_ENTROPY,
                       "serialNumber %s has %d significant bits; at least 64 random bits are required", hex,
                       bits);
        goto done;
    }
    rv = HSMCA_OK;
done:
    OPENSSL_free(der);
    OPENSSL_free(hex);
    BN_free(bn);
    return rv;
}

/* Byte equality of two names' DER: RFC 5280 7.1 allows a relying party to
 * compare names after case folding, but not every client does, and a
 * chain we build must link under the strictest comparison. */
static hsmca_rv names_equal(lint_ctx *ctx, const X509_NAME *a, const X509_NAME *b, bool *equal)
{
    const unsigned char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    *equal = false;
    if (X509_NAME_get0_der(a, &da, &la) != 1 || X509_NAME_get0_der(b, &db, &lb) != 1) {
        rv = lint_error(ctx, HSMCA_ERR_CRYPTO, "cannot encode a name");
        goto done;
    }
    *equal = la == lb && memcmp(da, db, la) == 0;
    rv = HSMCA_OK;
done:
    return rv;
}

static const char *name_text(const X509_NAME *name, char *buf, size_t len)
{
    /* One line, RFC 2253-ish; a name that cannot be printed is shown as
     * "?" rather than failing the lint over a message. */
    if (X509_NAME_oneline(name, buf, (int)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

static hsmca_rv check_issuer_name(lint_ctx *ctx)
{
    char a[LINT_VALUE_MAX], b[LINT_VALUE_MAX];
    bool equal = false;
    hsmca_rv rv;

    if (ctx->is_root) {
        rv = names_equal(ctx, X509_get_issuer_name(ctx->tbs), X509_get_subject_name(ctx->tbs), &equal);
        if (rv == HSMCA_OK && !equal)
            rv = lint_fail(ctx, LINT_NAME_ROOT_SELF_ISSUED, "root issuer '%s' is not its subject '%s'",
                           name_text(X509_get_issuer_name(ctx->tbs), a, sizeof(a)),
                           name_text(X509_get_subject_name(ctx->tbs), b, sizeof(b)));
        goto done;
    }
    rv = names_equal(ctx, X509_get_issuer_name(ctx->tbs), X509_get_subject_name(ctx->issuer), &equal);
    if (rv == HSMCA_OK && !equal)
        rv = lint_fail(ctx, LINT_NAME_ISSUER_MATCH,
                       "issuer '%s' is not byte-for-byte the issuing CA's subject '%s'",
                       name_text(X509_get_issuer_name(ctx->tbs), a, sizeof(a)),
                       name_text(X509_get_subject_name(ctx->issuer), b, sizeof(b)));
done:
    return rv;
}

/* RFC 5280 4.1.2.6: an empty subject is allowed only when the identity is
 * in a critical subjectAltName; a CA's subject is what its children's
 * issuer field chains on, so it is never empty. */
static hsmca_rv check_subject_empty(lint_ctx *ctx)
{
    const X509_NAME *subject = X509_get_subject_name(ctx->tbs);
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (X509_NAME_entry_count(subject) > 0) {
        rv = HSMCA_OK;
        goto done;
    }
    if (ctx->is_ca) {
        rv = lint_fail(ctx, LINT_SUBJECT_CA_EMPTY, "a CA certificate's subject is empty");
        goto done;
    }
    if (!ctx->ext.san.present) {
        rv = lint_fail(ctx, LINT_SUBJECT_EMPTY, "the subject is empty and there is no subjectAltName");
        goto done;
    }
    if (!ctx->ext.san.critical) {
        rv =
            lint_fail(ctx, LINT_SUBJECT_EMPTY, "the subject is empty but the subjectAltName is not critical");
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* The issuing certificate must itself be a CA, or the chain cannot verify
 * (RFC 5280 6.1.4(k): basicConstraints cA TRUE; (n): keyCertSign when
 * keyUsage is present). Catching it here means an issuer record that was
 * imported wrongly never gets a signature out of the token. */
static hsmca_rv check_issuer_is_ca(lint_ctx *ctx)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (ctx->is_root) {
        rv = HSMCA_OK;
        goto done;
    }
    if (ctx->issuer_bc == NULL || !ctx->issuer_bc->ca) {
        rv = lint_fail(ctx, LINT_ISSUER_NOT_CA, "the issuing certificate has no basicConstraints cA TRUE");
        goto done;
    }
    if (ctx->issuer_ku != NULL && !ASN1_BIT_STRING_get_bit(ctx->issuer_ku, LINT_KU_KEY_CERT_SIGN)) {
        rv = lint_fail(ctx, LINT_ISSUER_NOT_CA, "the issuing certificate's keyUsage lacks keyCertSign");
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* The issuer's extensions the chain rules need. Taken through
 * X509_get_ext_d2i without an index: a duplicated extension in the issuer
 * reads as absent, which fails closed (issuer.not_ca, aki.match). */
static void load_issuer(lint_ctx *ctx)
{
    int crit = -1;

    ctx->issuer_bc = X509_get_ext_d2i(ctx->issuer, NID_basic_constraints, &crit, NULL);
    ctx->issuer_ku = X509_get_ext_d2i(ctx->issuer, NID_key_usage, &crit, NULL);
    ctx->issuer_ski = X509_get_ext_d2i(ctx->issuer, NID_subject_key_identifier, &crit, NULL);
    /* A decoding failure and absence look the same here; both fail closed
     * in the rules that use these, so the queue holds nothing useful. */
    ERR_clear_error();
}

static hsmca_rv input_error(lint_ctx *ctx, const char *message)
{
    record(ctx, "lint.input", message);
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "lint lint.input: %s", message);
}

hsmca_rv hsmca_lint_certificate(X509 *tbs, const hsmca_lint_opts *opts, hsmca_lint_finding *finding)
{
    lint_ctx ctx;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    memset(&ctx, 0, sizeof(ctx));
    ctx.finding = finding;
    if (finding != NULL)
        memset(finding, 0, sizeof(*finding));
    if (tbs == NULL || opts == NULL) {
        rv = input_error(&ctx, "no certificate or no options to lint");
        goto done;
    }
    if (opts->role != HSMCA_LINT_LEAF && opts->role != HSMCA_LINT_CA && opts->role != HSMCA_LINT_ROOT) {
        rv = input_error(&ctx, "unknown certificate role");
        goto done;
    }
    ctx.tbs = tbs;
    ctx.opts = opts;
    ctx.is_root = opts->role == HSMCA_LINT_ROOT;
    ctx.is_ca = opts->role != HSMCA_LINT_LEAF;
    /* A root is its own issuer whatever opts->issuer says: its chain
     * rules (self-issued name, AKI = own SKI) are about itself. */
    ctx.issuer = ctx.is_root ? tbs : opts->issuer;
    if (ctx.issuer == NULL) {
        rv = input_error(&ctx, "a leaf or CA certificate needs the issuing CA's certificate");
        goto done;
    }
    if (!ctx.is_root)
        load_issuer(&ctx);

    /* Cheap structural rules first, then what depends on the decoded
     * extensions, then key and name syntax, then CA/B policy: the rule
     * table's order (within the SAN rules, entry by entry), so the first
     * failing rule is predictable. */
    if ((rv = check_version(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = check_serial(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_validity(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = check_issuer_name(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_subject_strings(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_extensions(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = check_subject_empty(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = check_issuer_is_ca(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_ca_extensions(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_key(&ctx)) != HSMCA_OK)
        goto done;
    if ((rv = lint_check_san(&ctx)) != HSMCA_OK)
        goto done;
    /* CA/Browser Forum rules are a role option; roles issue leaves only. */
    if (opts->cabf && !ctx.is_ca) {
        if ((rv = lint_check_cabf_validity(&ctx)) != HSMCA_OK)
            goto done;
        if ((rv = lint_check_cabf_profile(&ctx)) != HSMCA_OK)
            goto done;
    }
    /* Last: with cabf a missing SAN is reported as such above, not as a
     * CN that is missing from it. */
    if ((rv = lint_check_cn_in_san(&ctx)) != HSMCA_OK)
        goto done;
    rv = HSMCA_OK;
done:
    lint_exts_free(&ctx.ext);
    BASIC_CONSTRAINTS_free(ctx.issuer_bc);
    ASN1_BIT_STRING_free(ctx.issuer_ku);
    ASN1_OCTET_STRING_free(ctx.issuer_ski);
    return rv;
}
