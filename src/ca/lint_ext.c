/* SPDX-License-Identifier: Apache-2.0 */
/* Pre-issuance lint, extension rules: the extension list itself (count,
 * duplicates, DER, emptiness), basicConstraints and pathLen, keyUsage, the
 * key identifiers, and the CA/Browser Forum leaf profile (SAN, EKU, key). */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lint_internal.h"

/* RFC 7093 key identifiers go up to a full SHA-512 (64 octets); anything
 * longer is not a key identifier a CA would choose. */
#define SKI_MAX_OCTETS 64

static const char *ext_name(const ASN1_OBJECT *obj, char *buf, size_t len)
{
    if (OBJ_obj2txt(buf, (int)len, obj, 0) <= 0)
        snprintf(buf, len, "?");
    return buf;
}

static void ext_value_free(const X509V3_EXT_METHOD *method, void *value)
{
    if (value != NULL && method->it != NULL)
        ASN1_item_free(value, ASN1_ITEM_ptr(method->it));
    else if (value != NULL && method->ext_free != NULL)
        method->ext_free(value);
}

/* Decodes an extension OpenSSL knows and proves the bytes are the DER of
 * that value and nothing else: X509V3_EXT_d2i() ignores trailing bytes and
 * accepts some BER (explicit DEFAULT values, non-minimal lengths), which a
 * strict relying party rejects. Re-encoding and comparing catches both.
 * Returns the decoded value (free with ext_value_free), or NULL with *why
 * set. Running out of memory also reads as "cannot be re-encoded": the
 * extension is refused either way, and nothing gets signed. */
static void *decode_strict(const X509V3_EXT_METHOD *method, const ASN1_OCTET_STRING *data, const char **why)
{
    const unsigned char *start = ASN1_STRING_get0_data(data), *p = start;
    long len = ASN1_STRING_length(data);
    unsigned char *der = NULL, *q;
    void *v = NULL, *out = NULL;
    int der_len = -1;

    *why = NULL;
    if (method->it != NULL)
        v = ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_ptr(method->it));
    else if (method->d2i != NULL)
        v = method->d2i(NULL, &p, len);
    if (v == NULL) {
        *why = "does not decode";
        goto done;
    }
    if (p != start + len) {
        *why = "has bytes after its value";
        goto done;
    }
    if (method->it != NULL) {
        der_len = ASN1_item_i2d(v, &der, ASN1_ITEM_ptr(method->it));
    } else if (method->i2d != NULL) {
        der_len = method->i2d(v, NULL);
        if (der_len > 0 && (der = OPENSSL_malloc((size_t)der_len)) != NULL) {
            q = der;
            der_len = method->i2d(v, &q);
        }
    }
    /* A value OpenSSL decodes but cannot encode (its name canonicalisation
     * refuses some strings) could not be signed either. */
    if (der_len <= 0 || der == NULL) {
        *why = "cannot be re-encoded";
        goto done;
    }
    if ((long)der_len != len || memcmp(der, start, (size_t)len) != 0) {
        *why = "is not DER (it re-encodes differently)";
        goto done;
    }
    out = v;
    v = NULL;
done:
    ERR_clear_error();
    OPENSSL_free(der);
    ext_value_free(method, v);
    return out;
}

/* RFC 5280 4.2.1.x: each of these is a SEQUENCE SIZE (1..MAX) or a
 * BIT STRING that must assert at least one bit; an empty one is either a
 * template mistake (a role with no EKU OIDs still emitting the extension)
 * or a certificate that means nothing. */
static bool value_is_empty(int nid, void *value)
{
    bool empty = false;

    switch (nid) {
    case NID_subject_alt_name:
    case NID_issuer_alt_name:
        empty = sk_GENERAL_NAME_num(value) <= 0;
        break;
    case NID_ext_key_usage:
        empty = sk_ASN1_OBJECT_num(value) <= 0;
        break;
    case NID_certificate_policies:
        empty = sk_POLICYINFO_num(value) <= 0;
        break;
    case NID_info_access:
    case NID_sinfo_access:
        empty = sk_ACCESS_DESCRIPTION_num(value) <= 0;
        break;
    case NID_crl_distribution_points:
    case NID_freshest_crl:
        empty = sk_DIST_POINT_num(value) <= 0;
        break;
    case NID_policy_mappings:
        empty = sk_POLICY_MAPPING_num(value) <= 0;
        break;
    case NID_name_constraints: {
        const NAME_CONSTRAINTS *nc = value;
        empty = sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) <= 0 &&
                sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0;
        break;
    }
    case NID_key_usage: {
        const ASN1_BIT_STRING *ku = value;
        const unsigned char *b = ASN1_STRING_get0_data(ku);
        int n = ASN1_STRING_length(ku);
        empty = true;
        for (int i = 0; i < n && empty; i++)
            empty = b[i] == 0;
        break;
    }
    default:
        break;
    }
    return empty;
}

/* Keeps the decoded value of an extension the later rules read; others
 * are freed at once. */
static void keep_value(lint_ctx *ctx, int nid, const X509V3_EXT_METHOD *method, void *value, bool critical)
{
    lint_ext *slot = NULL;

    switch (nid) {
    case NID_basic_constraints:
        slot = &ctx->ext.bc;
        break;
    case NID_key_usage:
        slot = &ctx->ext.ku;
        break;
    case NID_ext_key_usage:
        slot = &ctx->ext.eku;
        break;
    case NID_subject_key_identifier:
        slot = &ctx->ext.ski;
        break;
    case NID_authority_key_identifier:
        slot = &ctx->ext.aki;
        break;
    case NID_subject_alt_name:
        slot = &ctx->ext.san;
        break;
    default:
        break;
    }
    /* Duplicates were refused before any value is kept, so a slot is
     * never filled twice. */
    if (slot == NULL || slot->present) {
        ext_value_free(method, value);
    } else {
        slot->value = value;
        slot->present = true;
        slot->critical = critical;
    }
}

hsmca_rv lint_check_extensions(lint_ctx *ctx)
{
    int n = X509_get_ext_count(ctx->tbs);
    char name[64];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (n > LINT_MAX_EXTENSIONS) {
        rv = lint_fail(ctx, LINT_EXT_COUNT, "%d extensions; at most %d allowed", n, LINT_MAX_EXTENSIONS);
        goto done;
    }
    /* RFC 5280 4.2: "A certificate MUST NOT include more than one instance
     * of a particular extension." Quadratic, but n <= 64. */
    for (int i = 1; i < n; i++) {
        const ASN1_OBJECT *oi = X509_EXTENSION_get_object(X509_get_ext(ctx->tbs, i));
        for (int j = 0; j < i; j++) {
            if (OBJ_cmp(oi, X509_EXTENSION_get_object(X509_get_ext(ctx->tbs, j))) == 0) {
                rv = lint_fail(ctx, LINT_EXT_DUPLICATE, "extension %s appears more than once",
                               ext_name(oi, name, sizeof(name)));
                goto done;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(ctx->tbs, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
        const X509V3_EXT_METHOD *method;
        const char *why = NULL;
        void *value = NULL;
        int nid = OBJ_obj2nid(obj);

        if (data == NULL || ASN1_STRING_length(data) <= 0) {
            rv = lint_fail(ctx, LINT_EXT_EMPTY, "extension %s has an empty extnValue",
                           ext_name(obj, name, sizeof(name)));
            goto done;
        }
        /* Extensions OpenSSL does not know are carried as given (a role's
         * custom OIDs); there is nothing to check their syntax against. */
        method = X509V3_EXT_get(ext);
        if (method == NULL || (method->it == NULL && method->d2i == NULL))
            continue;
        value = decode_strict(method, data, &why);
        if (value == NULL) {
            rv =
                lint_fail(ctx, LINT_EXT_MALFORMED, "extension %s %s", ext_name(obj, name, sizeof(name)), why);
            goto done;
        }
        if (value_is_empty(nid, value)) {
            ext_value_free(method, value);
            rv = lint_fail(ctx, LINT_EXT_EMPTY, "extension %s is empty", ext_name(obj, name, sizeof(name)));
            goto done;
        }
        keep_value(ctx, nid, method, value, X509_EXTENSION_get_critical(ext) > 0);
    }
    rv = HSMCA_OK;
done:
    return rv;
}

/* pathLenConstraint as a number; false (with *why) if negative or beyond
 * int64 (ASN.1 allows any size, but no real chain is that deep). */
static bool pathlen_value(const ASN1_INTEGER *pl, int64_t *out, const char **why)
{
    bool ok = false;

    if (ASN1_STRING_type(pl) == V_ASN1_NEG_INTEGER) {
        *why = "is negative";
        goto done;
    }
    if (ASN1_INTEGER_get_int64(out, pl) != 1 || *out < 0) {
        ERR_clear_error();
        *why = "does not fit 63 bits";
        goto done;
    }
    ok = true;
done:
    return ok;
}

static hsmca_rv names_same(const X509_NAME *a, const X509_NAME *b, bool *same)
{
    const unsigned char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    *same = false;
    if (X509_NAME_get0_der(a, &da, &la) != 1 || X509_NAME_get0_der(b, &db, &lb) != 1)
        goto done;
    *same = la == lb && memcmp(da, db, la) == 0;
    rv = HSMCA_OK;
done:
    return rv;
}

/* RFC 5280 6.1.4(l),(m): a non-self-issued CA below an issuer whose
 * pathLenConstraint is p uses up one step, so it needs p >= 1 and gets at
 * most p - 1 itself; a self-issued CA (key rollover) uses none. OpenBao
 * derives max_path_length from the parent the same way, so a child without
 * one would claim more than its parent allows and is refused too. */
static hsmca_rv check_pathlen_issuer(lint_ctx *ctx)
{
    const BASIC_CONSTRAINTS *bc = ctx->ext.bc.value;
    int64_t parent = 0, child = 0, limit;
    const char *why = NULL;
    bool self_issued = false;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (ctx->is_root || ctx->issuer_bc == NULL || ctx->issuer_bc->pathlen == NULL) {
        rv = HSMCA_OK;
        goto done;
    }
    if (!pathlen_value(ctx->issuer_bc->pathlen, &parent, &why)) {
        rv = lint_fail(ctx, LINT_BC_PATHLEN_ISSUER, "the issuing CA's pathLenConstraint %s", why);
        goto done;
    }
    if (names_same(X509_get_subject_name(ctx->tbs), X509_get_issuer_name(ctx->tbs), &self_issued) !=
        HSMCA_OK) {
        rv = lint_error(ctx, HSMCA_ERR_CRYPTO, "cannot encode a name");
        goto done;
    }
    if (!self_issued && parent == 0) {
        rv = lint_fail(ctx, LINT_BC_PATHLEN_ISSUER,
                       "the issuing CA has pathLenConstraint 0: it may not issue CA certificates");
        goto done;
    }
    limit = self_issued ? parent : parent - 1;
    if (bc->pathlen == NULL) {
        rv = lint_fail(
            ctx, LINT_BC_PATHLEN_ISSUER,
            "no pathLenConstraint below an issuing CA with pathLenConstraint %lld; at most %lld allowed",
            (long long)parent, (long long)limit);
        goto done;
    }
    /* The child's own value was range-checked before this. */
    (void)pathlen_value(bc->pathlen, &child, &why);
    if (child > limit) {
        rv = lint_fail(ctx, LINT_BC_PATHLEN_ISSUER,
                       "pathLenConstraint %lld is not below the issuing CA's %lld%s", (long long)child,
                       (long long)parent, self_issued ? " (self-issued: at most equal)" : "");
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

static hsmca_rv check_basic_constraints(lint_ctx *ctx)
{
    const BASIC_CONSTRAINTS *bc = ctx->ext.bc.value;
    int64_t pathlen = 0;
    const char *why = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    /* RFC 5280 4.2.1.9: a CA's basicConstraints MUST be present with cA
     * TRUE and critical; without it relying parties treat it as a leaf. */
    if (ctx->is_ca) {
        if (!ctx->ext.bc.present) {
            rv = lint_fail(ctx, LINT_BC_CA_PRESENT, "a CA certificate has no basicConstraints");
            goto done;
        }
        if (!ctx->ext.bc.critical) {
            rv = lint_fail(ctx, LINT_BC_CA_CRITICAL, "a CA certificate's basicConstraints is not critical");
            goto done;
        }
        if (!bc->ca) {
            rv = lint_fail(ctx, LINT_BC_CA_TRUE, "a CA certificate's basicConstraints has cA FALSE");
            goto done;
        }
    } else if (ctx->ext.bc.present && bc->ca) {
        rv = lint_fail(ctx, LINT_BC_LEAF_CA, "a leaf certificate's basicConstraints has cA TRUE");
        goto done;
    }
    if (ctx->ext.bc.present && bc->pathlen != NULL) {
        if (!pathlen_value(bc->pathlen, &pathlen, &why)) {
            rv = lint_fail(ctx, LINT_BC_PATHLEN_RANGE, "pathLenConstraint %s", why);
            goto done;
        }
        if (!bc->ca) {
            rv = lint_fail(ctx, LINT_BC_PATHLEN_LEAF, "pathLenConstraint %lld with cA FALSE",
                           (long long)pathlen);
            goto done;
        }
    }
    if (ctx->opts->role == HSMCA_LINT_CA && (rv = check_pathlen_issuer(ctx)) != HSMCA_OK)
        goto done;
    rv = HSMCA_OK;
done:
    return rv;
}

static hsmca_rv check_key_usage(lint_ctx *ctx)
{
    const ASN1_BIT_STRING *ku = ctx->ext.ku.value;
    const BASIC_CONSTRAINTS *bc = ctx->ext.bc.value;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    /* RFC 5280 4.2.1.3: a CA's key signs certificates, so keyUsage must
     * say keyCertSign; critical because BR 7.1.2.10.7 makes the RFC's
     * SHOULD a MUST and a non-critical KU can be ignored. */
    if (ctx->is_ca) {
        if (!ctx->ext.ku.present) {
            rv = lint_fail(ctx, LINT_KU_CA_PRESENT, "a CA certificate has no keyUsage");
            goto done;
        }
        if (!ctx->ext.ku.critical) {
            rv = lint_fail(ctx, LINT_KU_CA_CRITICAL, "a CA certificate's keyUsage is not critical");
            goto done;
        }
        if (!ASN1_BIT_STRING_get_bit(ku, LINT_KU_KEY_CERT_SIGN)) {
            rv = lint_fail(ctx, LINT_KU_CA_CERT_SIGN, "a CA certificate's keyUsage lacks keyCertSign");
            goto done;
        }
    }
    /* "If the keyCertSign bit is asserted, then the cA bit in the basic
     * constraints extension MUST also be asserted." */
    if (ctx->ext.ku.present && ASN1_BIT_STRING_get_bit(ku, LINT_KU_KEY_CERT_SIGN) &&
        !(ctx->ext.bc.present && bc->ca)) {
        rv = lint_fail(ctx, LINT_KU_CERT_SIGN_WITHOUT_CA,
                       "keyUsage asserts keyCertSign without basicConstraints cA TRUE");
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

static const char *hex_text(const ASN1_OCTET_STRING *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s), o = 0;

    for (size_t i = 0; i < n && o + 3 < len; i++) {
        buf[o++] = hex[p[i] >> 4];
        buf[o++] = hex[p[i] & 0xf];
    }
    buf[o] = '\0';
    return buf;
}

static hsmca_rv check_key_identifiers(lint_ctx *ctx)
{
    const ASN1_OCTET_STRING *ski = ctx->ext.ski.value;
    const AUTHORITY_KEYID *aki = ctx->ext.aki.value;
    const ASN1_OCTET_STRING *expected;
    char a[LINT_VALUE_MAX], b[LINT_VALUE_MAX];
    int ski_len;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    /* RFC 5280 4.2.1.2: CAs MUST carry a SKI (chain building finds the
     * parent by it); non-critical everywhere. */
    if (ctx->is_ca && !ctx->ext.ski.present) {
        rv = lint_fail(ctx, LINT_SKI_PRESENT, "a CA certificate has no subjectKeyIdentifier");
        goto done;
    }
    if (ctx->ext.ski.present) {
        if (ctx->ext.ski.critical) {
            rv = lint_fail(ctx, LINT_SKI_CRITICAL, "subjectKeyIdentifier is critical");
            goto done;
        }
        ski_len = ASN1_STRING_length(ski);
        if (ski_len < 1 || ski_len > SKI_MAX_OCTETS) {
            rv = lint_fail(ctx, LINT_SKI_MALFORMED, "subjectKeyIdentifier is %d octets; 1..%d expected",
                           ski_len, SKI_MAX_OCTETS);
            goto done;
        }
    }
    /* RFC 5280 4.2.1.1: every certificate but a self-signed one carries
     * the AKI keyIdentifier, equal to the issuer's SKI; a root may carry
     * one, which then names its own key. */
    if (!ctx->ext.aki.present) {
        if (!ctx->is_root) {
            rv = lint_fail(ctx, LINT_AKI_PRESENT, "no authorityKeyIdentifier");
            goto done;
        }
        rv = HSMCA_OK;
        goto done;
    }
    if (ctx->ext.aki.critical) {
        rv = lint_fail(ctx, LINT_AKI_CRITICAL, "authorityKeyIdentifier is critical");
        goto done;
    }
    if (aki->keyid == NULL) {
        rv = lint_fail(ctx, LINT_AKI_KEYID, "authorityKeyIdentifier has no keyIdentifier");
        goto done;
    }
    expected = ctx->is_root ? ski : ctx->issuer_ski;
    if (expected == NULL) {
        rv = lint_fail(ctx, LINT_AKI_MATCH,
                       "authorityKeyIdentifier %s cannot match: the issuing CA has no "
                       "subjectKeyIdentifier",
                       hex_text(aki->keyid, a, sizeof(a)));
        goto done;
    }
    if (ASN1_OCTET_STRING_cmp(aki->keyid, expected) != 0) {
        rv = lint_fail(ctx, LINT_AKI_MATCH, "authorityKeyIdentifier %s is not the %s subjectKeyIdentifier %s",
                       hex_text(aki->keyid, a, sizeof(a)), ctx->is_root ? "root's own" : "issuing CA's",
                       hex_text(expected, b, sizeof(b)));
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

hsmca_rv lint_check_ca_extensions(lint_ctx *ctx)
{
    hsmca_rv rv;

    if ((rv = check_basic_constraints(ctx)) != HSMCA_OK)
        goto done;
    if ((rv = check_key_usage(ctx)) != HSMCA_OK)
        goto done;
    rv = check_key_identifiers(ctx);
done:
    return rv;
}

/* The CA/Browser Forum TLS subscriber profile (BR 7.1.2.7), for the parts
 * a lint can judge without the validation records. */
hsmca_rv lint_check_cabf_profile(lint_ctx *ctx)
{
    const GENERAL_NAMES *san = ctx->ext.san.value;
    const EXTENDED_KEY_USAGE *eku = ctx->ext.eku.value;
    int n_host = 0, n;
    char name[64];
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    /* BR 7.1.2.7.12: SAN present with at least one dNSName or iPAddress,
     * and nothing else. */
    n = ctx->ext.san.present ? sk_GENERAL_NAME_num(san) : 0;
    for (int i = 0; i < n; i++) {
        int type = sk_GENERAL_NAME_value(san, i)->type;
        n_host += type == GEN_DNS || type == GEN_IPADD;
    }
    if (n_host == 0) {
        rv = lint_fail(ctx, LINT_CABF_SAN_PRESENT, "CA/B leaf without a dNSName or iPAddress subjectAltName");
        goto done;
    }
    if (n_host != n) {
        rv = lint_fail(ctx, LINT_CABF_SAN_TYPES,
                       "CA/B leaf subjectAltName has entries other than dNSName and iPAddress (%d of %d)",
                       n - n_host, n);
        goto done;
    }
    /* BR 7.1.2.7.10: EKU MUST be present; anyExtendedKeyUsage MUST NOT. */
    if (!ctx->ext.eku.present) {
        rv = lint_fail(ctx, LINT_CABF_EKU_PRESENT, "CA/B leaf without extendedKeyUsage");
        goto done;
    }
    n = sk_ASN1_OBJECT_num(eku);
    for (int i = 0; i < n; i++) {
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_anyExtendedKeyUsage) {
            rv = lint_fail(ctx, LINT_CABF_EKU_ANY, "CA/B leaf extendedKeyUsage includes %s",
                           ext_name(sk_ASN1_OBJECT_value(eku, i), name, sizeof(name)));
            goto done;
        }
    }
    /* BR 6.1.5 / 7.1.3.1: RSA and ECDSA only. */
    if (ctx->key_nid != NID_rsaEncryption && ctx->key_nid != NID_X9_62_id_ecPublicKey) {
        rv = lint_fail(ctx, LINT_CABF_KEY_TYPE, "CA/B leaf key is %s; only RSA and ECDSA are allowed",
                       OBJ_nid2sn(ctx->key_nid));
        goto done;
    }
    rv = HSMCA_OK;
done:
    return rv;
}

void lint_exts_free(lint_exts *e)
{
    BASIC_CONSTRAINTS_free(e->bc.value);
    ASN1_BIT_STRING_free(e->ku.value);
    EXTENDED_KEY_USAGE_free(e->eku.value);
    ASN1_OCTET_STRING_free(e->ski.value);
    AUTHORITY_KEYID_free(e->aki.value);
    GENERAL_NAMES_free(e->san.value);
    memset(e, 0, sizeof(*e));
}
