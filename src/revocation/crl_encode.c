/* SPDX-License-Identifier: Apache-2.0 */
/* The CRL encoder: a TBSCertList (RFC 5280 5.1) written entry by entry into
 * one growing DER buffer, signed with EVP_DigestSign by the issuer's token
 * key. No X509_CRL is built: OpenSSL's would hold every entry as an object
 * (hundreds of bytes each), so memory would grow with the number revoked;
 * here it grows with the output only. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/provider.h"
#include "internal.h"

struct rev_crl_builder {
    rev_der buf;
    unsigned char *prefix; /* version .. nextUpdate, written in front at the end */
    size_t prefix_len;
    unsigned char *exts; /* crlExtensions [0], appended at the end */
    size_t exts_len;
    unsigned char alg[128]; /* the signature AlgorithmIdentifier */
    size_t alg_len;
    EVP_MD_CTX *mctx;
    EVP_PKEY *key;     /* borrowed */
    X509 *issuer_cert; /* borrowed */
    OSSL_LIB_CTX *libctx;
    const char *md; /* NULL for Ed25519 */
    bool pss;
    size_t entries; /* bytes of revokedCertificates content */
    size_t count;
};

/* Go's x509.SignatureAlgorithm names (OpenBao's revocation_signature_algorithm). */
static const struct {
    const char *name;
    const char *key_type; /* EVP_PKEY_is_a */
    const char *md;
    bool pss;
} sig_algs[] = {
    {"SHA256WithRSA", "RSA", "SHA256", false},   {"SHA384WithRSA", "RSA", "SHA384", false},
    {"SHA512WithRSA", "RSA", "SHA512", false},   {"SHA256WithRSAPSS", "RSA", "SHA256", true},
    {"SHA384WithRSAPSS", "RSA", "SHA384", true}, {"SHA512WithRSAPSS", "RSA", "SHA512", true},
    {"ECDSAWithSHA256", "EC", "SHA256", false},  {"ECDSAWithSHA384", "EC", "SHA384", false},
    {"ECDSAWithSHA512", "EC", "SHA512", false},  {"PureEd25519", "ED25519", NULL, false},
};

static hsmca_rv choose_alg(const hsmca_ca_issuer *iss, EVP_PKEY *key, const char **md, bool *pss)
{
    const char *want = iss->revocation_signature_algorithm;

    *pss = false;
    if (want[0] == '\0') {
        /* Go's choice, as OpenBao leaves it: by key. */
        if (EVP_PKEY_is_a(key, "ED25519")) {
            *md = NULL;
        } else if (EVP_PKEY_is_a(key, "EC")) {
            int bits = EVP_PKEY_get_bits(key);
            *md = bits > 384 ? "SHA512" : bits > 256 ? "SHA384" : "SHA256";
        } else {
            *md = "SHA256";
        }
        return HSMCA_OK;
    }
    for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++) {
        if (strcmp(sig_algs[i].name, want) != 0)
            continue;
        if (!EVP_PKEY_is_a(key, sig_algs[i].key_type))
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "revocation_signature_algorithm '%s' of issuer '%s' does not fit its %s key",
                             want, iss->issuer_id, EVP_PKEY_get0_type_name(key));
        *md = sig_algs[i].md;
        *pss = sig_algs[i].pss;
        return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "revocation_signature_algorithm '%s' of issuer '%s' is unknown",
                     want, iss->issuer_id);
}

/* The issuer's key identifier for the Authority Key Identifier: its subject
 * key identifier, or (RFC 5280 4.2.1.2 method 1) the SHA-1 of its public
 * key when the certificate has none. */
static hsmca_rv issuer_key_id(X509 *cert, unsigned char out[64], size_t *len)
{
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(cert);
    unsigned int n = 0;

    if (skid != NULL && ASN1_STRING_length(skid) > 0 && ASN1_STRING_length(skid) <= 64) {
        *len = (size_t)ASN1_STRING_length(skid);
        memcpy(out, ASN1_STRING_get0_data(skid), *len);
        return HSMCA_OK;
    }
    if (X509_pubkey_digest(cert, EVP_sha1(), out, &n) != 1)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot compute the issuer's key identifier");
    *len = n;
    return HSMCA_OK;
}

/* One Extension: SEQUENCE { extnID, critical (only when TRUE), OCTET STRING }. */
static void put_ext(rev_der *b, const unsigned char *oid, size_t oid_len, bool critical,
                    const unsigned char *val, size_t val_len)
{
    unsigned char h[6], oh[6];
    size_t vh = rev_der_header(oh, 0x04, val_len);
    size_t inner = 2 + oid_len + (critical ? 3 : 0) + vh + val_len;
    size_t hl = rev_der_header(h, 0x30, inner);

    rev_der_put(b, h, hl);
    rev_der_tlv(b, 0x06, oid, oid_len);
    if (critical)
        rev_der_put(b, "\x01\x01\xff", 3);
    rev_der_put(b, oh, vh);
    rev_der_put(b, val, val_len);
}

static hsmca_rv encode_extensions(rev_crl_builder *cb, const rev_crl_params *prm)
{
    static const unsigned char oid_aki[] = {0x55, 0x1d, 0x23}, oid_number[] = {0x55, 0x1d, 0x14},
                               oid_delta[] = {0x55, 0x1d, 0x1b};
    unsigned char kid[64], aki[72], num[12], n9[9];
    size_t kid_len = 0, aki_len, k;
    rev_der list, wrapped;
    hsmca_rv rv = issuer_key_id(cb->issuer_cert, kid, &kid_len);

    if (rv != HSMCA_OK)
        return rv;
    rev_der_init(&list, 0, 1u << 20);
    /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT } */
    aki[0] = 0x30;
    aki[1] = (unsigned char)(2 + kid_len);
    aki[2] = 0x80;
    aki[3] = (unsigned char)kid_len;
    memcpy(aki + 4, kid, kid_len);
    aki_len = 4 + kid_len;
    put_ext(&list, oid_aki, sizeof(oid_aki), false, aki, aki_len);
    k = rev_der_int64(prm->crl_number, n9);
    num[0] = 0x02;
    num[1] = (unsigned char)k;
    memcpy(num + 2, n9, k);
    put_ext(&list, oid_number, sizeof(oid_number), false, num, 2 + k);
    if (prm->delta_base >= 0) {
        /* RFC 5280 5.2.4: the Delta CRL Indicator is critical. */
        k = rev_der_int64(prm->delta_base, n9);
        num[1] = (unsigned char)k;
        memcpy(num + 2, n9, k);
        put_ext(&list, oid_delta, sizeof(oid_delta), true, num, 2 + k);
    }
    if (prm->extra_exts != NULL)
        rev_der_put(&list, prm->extra_exts, prm->extra_exts_len);
    rev_der_init(&wrapped, 12, 1u << 20);
    rev_der_put(&wrapped, list.p + list.start, rev_der_size(&list));
    rev_der_prepend_header(&wrapped, 0x30, rev_der_size(&list));
    rev_der_prepend_header(&wrapped, 0xa0, rev_der_size(&wrapped)); /* [0] EXPLICIT */
    if (list.failed || wrapped.failed || (cb->exts = malloc(rev_der_size(&wrapped))) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory encoding CRL extensions");
    } else {
        cb->exts_len = rev_der_size(&wrapped);
        memcpy(cb->exts, wrapped.p + wrapped.start, cb->exts_len);
    }
    rev_der_free(&list);
    rev_der_free(&wrapped);
    return rv;
}

/* The signature AlgorithmIdentifier as the token key reports it. */
static hsmca_rv algorithm_id(rev_crl_builder *cb)
{
    OSSL_PARAM params[2];

    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, cb->alg, sizeof(cb->alg));
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(cb->mctx), params) != 1 ||
        !OSSL_PARAM_modified(&params[0]) || params[0].return_size == 0)
        return hsmca_err(HSMCA_ERR_CRYPTO, "the signing key did not report its signature algorithm");
    cb->alg_len = params[0].return_size;
    return HSMCA_OK;
}

void rev_crl_abort(rev_crl_builder *b)
{
    if (b == NULL)
        return;
    rev_der_free(&b->buf);
    free(b->prefix);
    free(b->exts);
    EVP_MD_CTX_free(b->mctx);
    free(b);
}

hsmca_rv rev_crl_begin(const rev_crl_params *prm, rev_crl_builder **out)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    rev_crl_builder *b = NULL;
    unsigned char *name = NULL;
    unsigned char t1[17], t2[17];
    size_t l1, l2;
    int name_len;
    rev_der pre;

    *out = NULL;
    memset(&pre, 0, sizeof(pre));
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        goto done;
    b->key = prm->key;
    b->issuer_cert = prm->issuer->certificate;
    b->libctx = prm->libctx;
    rv = choose_alg(prm->issuer, prm->key, &b->md, &b->pss);
    if (rv != HSMCA_OK)
        goto done;
    b->mctx = EVP_MD_CTX_new();
    if (b->mctx == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    rv = hsmca_provider_sign_init(b->mctx, prm->libctx, b->md, prm->key, b->pss);
    if (rv != HSMCA_OK)
        goto done;
    rv = algorithm_id(b);
    if (rv != HSMCA_OK)
        goto done;
    rv = encode_extensions(b, prm);
    if (rv != HSMCA_OK)
        goto done;

    name_len = i2d_X509_NAME(X509_get_subject_name(prm->issuer->certificate), &name);
    l1 = rev_der_time(prm->this_update, t1);
    l2 = rev_der_time(prm->next_update, t2);
    if (name_len <= 0 || l1 == 0 || l2 == 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the CRL's issuer name or update times");
        goto done;
    }
    /* version v2 (INTEGER 1), signature, issuer, thisUpdate, nextUpdate */
    rev_der_init(&pre, 0, 1u << 20);
    rev_der_put(&pre, "\x02\x01\x01", 3);
    rev_der_put(&pre, b->alg, b->alg_len);
    rev_der_put(&pre, name, (size_t)name_len);
    rev_der_put(&pre, t1, l1);
    rev_der_put(&pre, t2, l2);
    if (pre.failed) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory encoding the CRL");
        goto done;
    }
    b->prefix = pre.p;
    b->prefix_len = pre.len;
    pre.p = NULL;
    /* Room in front for: the outer CertificateList header, the TBS header,
     * the prefix and the revokedCertificates header (6 bytes each at most). */
    rev_der_init(&b->buf, b->prefix_len + 18, REV_CRL_MAX);
    if (b->buf.failed) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory starting the CRL");
        goto done;
    }
    *out = b;
    b = NULL;
    rv = HSMCA_OK;
done:
    OPENSSL_free(name);
    rev_der_free(&pre);
    rev_crl_abort(b);
    return rv;
}

hsmca_rv rev_crl_add(rev_crl_builder *b, const unsigned char *serial, size_t serial_len, int64_t when,
                     int reason, const unsigned char *exts_der, size_t exts_len)
{
    /* Extensions { Extension { reasonCode, OCTET STRING { ENUMERATED } } } */
    unsigned char reason_ext[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55,
                                  0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x00};
    unsigned char sn[24], h[6], t[17];
    size_t sn_len, tl, h_len, before = rev_der_size(&b->buf);
    size_t content;

    if (serial_len == 0 || serial_len > 20)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "serial_number: %zu octets is outside 1..20", serial_len);
    tl = rev_der_time(when, t);
    if (tl == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "revocation_time %lld cannot be encoded", (long long)when);
    sn_len = rev_der_uint(serial, serial_len, sn);
    if (exts_der == NULL && reason > 0) {
        reason_ext[13] = (unsigned char)reason;
        exts_der = reason_ext;
        exts_len = sizeof(reason_ext);
    }
    content = 2 + sn_len + tl + (exts_der != NULL ? exts_len : 0);
    h_len = rev_der_header(h, 0x30, content);
    rev_der_put(&b->buf, h, h_len);
    rev_der_tlv(&b->buf, 0x02, sn, sn_len);
    rev_der_put(&b->buf, t, tl);
    if (exts_der != NULL)
        rev_der_put(&b->buf, exts_der, exts_len);
    if (b->buf.failed)
        return hsmca_err(HSMCA_ERR_NOMEM, "CRL: more than %u bytes or out of memory at entry %zu",
                         (unsigned)REV_CRL_MAX, b->count + 1);
    b->entries += rev_der_size(&b->buf) - before;
    b->count++;
    return HSMCA_OK;
}

/* Checks the token's signature with the issuer certificate's public key:
 * the signing call alone does not prove the token signed these bytes with
 * the key the certificate names. */
static hsmca_rv verify(rev_crl_builder *b, const unsigned char *tbs, size_t tbs_len, const unsigned char *sig,
                       size_t sig_len)
{
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    if (v == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (EVP_DigestVerifyInit_ex(v, &pctx, b->md, b->libctx, NULL, X509_get0_pubkey(b->issuer_cert), NULL) !=
            1 ||
        (b->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
        EVP_DigestVerify(v, sig, sig_len, tbs, tbs_len) != 1)
        rv = hsmca_err(HSMCA_ERR_CRYPTO,
                       "the token's CRL signature does not verify with the issuer certificate");
    else
        rv = HSMCA_OK;
    ERR_clear_error();
    EVP_MD_CTX_free(v);
    return rv;
}

hsmca_rv rev_crl_finish(rev_crl_builder *b, unsigned char **der, size_t *der_len)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    unsigned char *sig = NULL;
    size_t sig_len = 0, tbs_len, h_len;
    unsigned char h[6];
    rev_der *buf = &b->buf;

    *der = NULL;
    *der_len = 0;
    /* RFC 5280 5.1.2.6: no revokedCertificates at all when empty. */
    if (b->count > 0)
        rev_der_prepend_header(buf, 0x30, b->entries);
    rev_der_prepend(buf, b->prefix, b->prefix_len);
    rev_der_put(buf, b->exts, b->exts_len);
    rev_der_prepend_header(buf, 0x30, rev_der_size(buf));
    if (buf->failed) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "CRL: more than %u bytes or out of memory", (unsigned)REV_CRL_MAX);
        goto done;
    }
    tbs_len = rev_der_size(buf);

    /* Sign the TBS bytes in the token. */
    if (EVP_DigestSign(b->mctx, NULL, &sig_len, buf->p + buf->start, tbs_len) != 1 || sig_len == 0 ||
        (sig = malloc(sig_len)) == NULL ||
        EVP_DigestSign(b->mctx, sig, &sig_len, buf->p + buf->start, tbs_len) != 1) {
        unsigned long e = ERR_peek_last_error();
        /* The provider left the HSM layer's class (503 when the token is
         * away); keep it. */
        rv = hsmca_err_last() != HSMCA_OK && hsmca_err_last() != HSMCA_ERR_INVALID_ARG ? hsmca_err_last()
                                                                                       : HSMCA_ERR_CRYPTO;
        if (rv == HSMCA_ERR_CRYPTO)
            hsmca_err(rv, "signing the CRL failed: %s", e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        goto done;
    }
    rv = verify(b, buf->p + buf->start, tbs_len, sig, sig_len);
    if (rv != HSMCA_OK)
        goto done;

    /* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, BIT STRING } */
    rev_der_put(buf, b->alg, b->alg_len);
    h_len = rev_der_header(h, 0x03, sig_len + 1);
    rev_der_put(buf, h, h_len);
    rev_der_put(buf, "\x00", 1); /* no unused bits */
    rev_der_put(buf, sig, sig_len);
    rev_der_prepend_header(buf, 0x30, rev_der_size(buf));
    if (buf->failed) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "CRL: more than %u bytes or out of memory", (unsigned)REV_CRL_MAX);
        goto done;
    }
    /* The content starts a few bytes into the allocation; hand out the
     * allocation itself after moving it down (once, at the end). */
    *der_len = rev_der_size(buf);
    memmove(buf->p, buf->p + buf->start, *der_len);
    *der = buf->p;
    buf->p = NULL;
    rv = HSMCA_OK;
done:
    free(sig);
    rev_crl_abort(b);
    return rv;
}
