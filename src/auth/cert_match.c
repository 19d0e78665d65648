/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a client certificate satisfies a role of the TLS certificate
 * auth method: the trust decision (chain or pinned leaf), then the name,
 * OU and extension constraints. Each rule cites the Vault/OpenBao bug it
 * keeps out. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hsmca/auth_cert.h"
#include "hsmca/log.h"

#define ROLE_CERTS_MAX 16
#define NAME_MAX_BYTES 1024

bool hsmca_auth_cert_glob(const char *p, const char *t, bool dns)
{
    /* Iterative with one backtrack point: linear in practice and bounded
     * by |p| * |t| in the worst case, both bounded by their fields. */
    const char *star = NULL, *resume = NULL;

    while (*t != '\0') {
        if (*p == '*') {
            star = p++;
            resume = t;
        } else if (*p != '\0' && (dns ? tolower((unsigned char)*p) == tolower((unsigned char)*t) : *p == *t)) {
            p++;
            t++;
        } else if (star != NULL && !(dns && *resume == '.')) {
            /* the star takes one more character; never a label dot */
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* A name entry or SAN as UTF-8; false for text holding a NUL (a CN of
 * "good.example\0.evil" must not be read as "good.example"). */
static bool asn1_text(const ASN1_STRING *s, char *out, size_t size)
{
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, s);
    bool ok = n >= 0 && (size_t)n < size && memchr(u, '\0', (size_t)n) == NULL;

    if (ok) {
        memcpy(out, u, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(u);
    return ok;
}

/* The names of a certificate, read once. */
typedef struct {
    char cn[8][NAME_MAX_BYTES];
    size_t n_cn;
    char ou[8][NAME_MAX_BYTES];
    size_t n_ou;
    GENERAL_NAMES *sans;
} cert_names;

static hsmca_rv names_read(X509 *x, cert_names *out)
{
    const X509_NAME *subj = X509_get_subject_name(x);
    int i = -1, crit = 0;

    memset(out, 0, sizeof(*out));
    for (int nid = 0; nid < 2; nid++) {
        int which = nid == 0 ? NID_commonName : NID_organizationalUnitName;
        i = -1;
        while ((i = X509_NAME_get_index_by_NID(subj, which, i)) >= 0) {
            char(*dst)[NAME_MAX_BYTES] = nid == 0 ? out->cn : out->ou;
            size_t *n = nid == 0 ? &out->n_cn : &out->n_ou;
            if (*n >= 8)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "subject: more than 8 %s entries",
                                 nid == 0 ? "CN" : "OU");
            if (!asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)), dst[*n], NAME_MAX_BYTES))
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "subject: a %s holds a NUL or is not text",
                                 nid == 0 ? "CN" : "OU");
            (*n)++;
        }
    }
    out->sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (out->sans == NULL && crit != -1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "subjectAltName: not decodable");
    for (int k = 0; k < sk_GENERAL_NAME_num(out->sans); k++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(out->sans, k);
        if ((g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) &&
            memchr(ASN1_STRING_get0_data(g->d.ia5), '\0', (size_t)ASN1_STRING_length(g->d.ia5)) != NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "subjectAltName: a name holds a NUL");
    }
    return HSMCA_OK;
}

static bool any_glob(const json_t *patterns, const char *text, bool dns)
{
    size_t i;
    const json_t *v;

    json_array_foreach(patterns, i, v) {
        if (hsmca_auth_cert_glob(json_string_value(v), text, dns))
            return true;
    }
    return false;
}

/* Whether some SAN of `type` matches some pattern. */
static bool san_match(const cert_names *n, int type, const json_t *patterns, bool dns)
{
    char buf[NAME_MAX_BYTES];

    for (int k = 0; k < sk_GENERAL_NAME_num(n->sans); k++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(n->sans, k);
        if (g->type == type && asn1_text(g->d.ia5, buf, sizeof(buf)) && any_glob(patterns, buf, dns))
            return true;
    }
    return false;
}

static bool cn_is_dns_san(const cert_names *n, const char *cn)
{
    for (int k = 0; k < sk_GENERAL_NAME_num(n->sans); k++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(n->sans, k);
        char buf[NAME_MAX_BYTES];
        if (g->type == GEN_DNS && asn1_text(g->d.ia5, buf, sizeof(buf)) && strcasecmp(buf, cn) == 0)
            return true;
    }
    return false;
}

/* An extension's value as OpenBao reads it: DER of some ASN.1 string
 * type; false when absent or not a string. */
static bool ext_string(X509 *x, const char *oid, char *out, size_t size)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int idx = o != NULL ? X509_get_ext_by_OBJ(x, o, -1) : -1;
    const ASN1_OCTET_STRING *os;
    const unsigned char *p;
    ASN1_TYPE *t = NULL;
    bool ok = false;

    ASN1_OBJECT_free(o);
    if (idx < 0)
        goto done;
    os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    p = ASN1_STRING_get0_data(os);
    t = d2i_ASN1_TYPE(NULL, &p, ASN1_STRING_length(os));
    if (t == NULL)
        goto done;
    switch (t->type) {
    case V_ASN1_UTF8STRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UNIVERSALSTRING:
    case V_ASN1_VISIBLESTRING:
        ok = asn1_text(t->value.asn1_string, out, size);
        break;
    default:
        break;
    }
done:
    ASN1_TYPE_free(t);
    ERR_clear_error();
    return ok;
}

/* The trust decision. Leaves pinned in the role (OpenBao allows a non-CA
 * certificate there) match only the identical certificate -- never by
 * serial and issuer key id, which anyone with another key can copy
 * (CVE-2024-2048). CA certificates anchor an RFC 5280 path with the
 * client-auth purpose; the role's CA may be an intermediate (partial
 * chain), as OpenBao trusts whatever is configured. */
static hsmca_rv trust(const char *pem, X509 *leaf, STACK_OF(X509) *untrusted, int64_t now, STACK_OF(X509) **chain)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509 *x = NULL;
    int n = 0, n_ca = 0;
    bool pinned = false;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (b == NULL || store == NULL || ctx == NULL) {
        rv = hsmca_err(rv, "out of memory");
        goto done;
    }
    while (n < ROLE_CERTS_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        n++;
        if (X509_check_ca(x) != 0 && (X509_get_extension_flags(x) & EXFLAG_CA)) {
            if (X509_STORE_add_cert(store, x) == 1)
                n_ca++;
        } else if (X509_cmp(x, leaf) == 0) {
            pinned = true;
        }
        X509_free(x);
    }
    ERR_clear_error();
    if (pinned) {
        /* A pinned leaf still has to be in its validity period and fit
         * for client authentication. */
        if (X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){(time_t)now}) > 0 ||
            X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){(time_t)now}) < 0) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pinned certificate is expired or not yet valid");
            goto done;
        }
        if (X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "pinned certificate is not for client authentication");
            goto done;
        }
        if (chain != NULL && ((*chain = sk_X509_new_null()) == NULL || X509_up_ref(leaf) != 1 ||
                              !sk_X509_push(*chain, leaf))) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
        rv = HSMCA_OK;
        goto done;
    }
    if (n_ca == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "no CA certificate of the role issued it and it is not the pinned leaf");
        goto done;
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "X509_STORE_CTX_init failed");
        goto done;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    if (X509_verify_cert(ctx) != 1) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "chain to the role's CA: %s",
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto done;
    }
    if (chain != NULL && (*chain = X509_STORE_CTX_get1_chain(ctx)) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    rv = HSMCA_OK;
done:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    BIO_free(b);
    return rv;
}

hsmca_rv hsmca_auth_cert_match(const json_t *role, X509 *leaf, int64_t now)
{
    return hsmca_auth_cert_match_chain(role, leaf, NULL, now, NULL);
}

hsmca_rv hsmca_auth_cert_match_chain(const json_t *role, X509 *leaf, STACK_OF(X509) *untrusted, int64_t now,
                                     STACK_OF(X509) **chain)
{
    cert_names n;
    const json_t *pat, *v;
    size_t i;
    bool ok;
    hsmca_rv rv;

    memset(&n, 0, sizeof(n));
    /* A CA certificate is no client: letting one log in would let anyone
     * holding a sub-CA mint identities (and a role's own CA would match). */
    if (X509_get_extension_flags(leaf) & EXFLAG_CA) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "the client certificate is a CA certificate");
        goto done;
    }
    if (chain != NULL)
        *chain = NULL;
    if ((rv = trust(json_string_value(json_object_get(role, "certificate")), leaf, untrusted, now, chain)) !=
        HSMCA_OK)
        goto done;
    /* Names are checked after trust, for pinned leaves too: a trusted
     * leaf with another CN must still fail the role (CVE-2025-6037). */
    if ((rv = names_read(leaf, &n)) != HSMCA_OK)
        goto done;
    /* allowed_names (deprecated): DNS and email SANs, and the CN only
     * when RFC 6125 lets it stand for a host: duplicated as a DNS SAN. */
    pat = json_object_get(role, "allowed_names");
    if (json_array_size(pat) > 0) {
        ok = san_match(&n, GEN_DNS, pat, true) || san_match(&n, GEN_EMAIL, pat, false);
        for (i = 0; !ok && i < n.n_cn; i++)
            ok = cn_is_dns_san(&n, n.cn[i]) && any_glob(pat, n.cn[i], true);
        if (!ok) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "allowed_names: no DNS or email name matches");
            goto done;
        }
    }
    pat = json_object_get(role, "allowed_common_names");
    if (json_array_size(pat) > 0) {
        for (i = 0, ok = false; !ok && i < n.n_cn; i++)
            ok = any_glob(pat, n.cn[i], true);
        if (!ok) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "allowed_common_names: the CN '%s' matches no pattern",
                           n.n_cn ? n.cn[0] : "");
            goto done;
        }
    }
    {
        static const struct {
            const char *field;
            int type;
            bool dns;
        } sans[] = {{"allowed_dns_sans", GEN_DNS, true},
                    {"allowed_email_sans", GEN_EMAIL, false},
                    {"allowed_uri_sans", GEN_URI, false}};
        for (size_t k = 0; k < sizeof(sans) / sizeof(sans[0]); k++) {
            pat = json_object_get(role, sans[k].field);
            if (json_array_size(pat) > 0 && !san_match(&n, sans[k].type, pat, sans[k].dns)) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: no such subjectAltName matches", sans[k].field);
                goto done;
            }
        }
    }
    pat = json_object_get(role, "allowed_organizational_units");
    if (json_array_size(pat) > 0) {
        for (i = 0, ok = false; !ok && i < n.n_ou; i++)
            ok = any_glob(pat, n.ou[i], false);
        if (!ok) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "allowed_organizational_units: no OU matches");
            goto done;
        }
    }
    /* required_extensions: every "oid:glob" must hold. */
    json_array_foreach(json_object_get(role, "required_extensions"), i, v) {
        const char *e = json_string_value(v), *colon = strchr(e, ':');
        char oid[128], val[NAME_MAX_BYTES];
        size_t len = colon != NULL ? (size_t)(colon - e) : 0;
        if (len == 0 || len >= sizeof(oid)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "required_extensions: '%s' is not oid:value", e);
            goto done;
        }
        memcpy(oid, e, len);
        oid[len] = '\0';
        if (!ext_string(leaf, oid, val, sizeof(val)) || !hsmca_auth_cert_glob(colon + 1, val, false)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "required_extensions: %s is absent or does not match", oid);
            goto done;
        }
    }
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK && chain != NULL) {
        sk_X509_pop_free(*chain, X509_free);
        *chain = NULL;
    }
    GENERAL_NAMES_free(n.sans);
    return rv;
}

hsmca_rv hsmca_auth_cert_metadata(const json_t *role, X509 *leaf, json_t *meta)
{
    size_t i;
    const json_t *v;

    json_array_foreach(json_object_get(role, "allowed_metadata_extensions"), i, v) {
        const char *oid = json_string_value(v);
        char key[128], val[NAME_MAX_BYTES];
        size_t k;

        if (!ext_string(leaf, oid, val, sizeof(val)))
            continue;
        for (k = 0; oid[k] != '\0' && k + 1 < sizeof(key); k++)
            key[k] = (char)(oid[k] == '.' ? '-' : oid[k]);
        key[k] = '\0';
        if (json_object_set_new(meta, key, json_string(val)) != 0)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    return HSMCA_OK;
}
