/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate requests (RFC 2986) parsed without OpenSSL 3.0's eager public
 * key decoding: d2i_X509_REQ runs the decoder framework on the key, ~0.1 ms
 * per CSR, a fifth of an issuance (docs/performance.md). Here the request is
 * read with a template that keeps the SubjectPublicKeyInfo as its algorithm
 * and bits, the self-signature is checked over the request's original
 * CertificationRequestInfo bytes with a key built by spki.c, and an X509_REQ
 * with the same subject, key and attributes is assembled for the rest of the
 * CA. Algorithms spki.c does not build go through OpenSSL's own parser. */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"

#define CSR_PEM_MAX (64 * 1024)

typedef struct {
    X509_ALGOR *algor;
    ASN1_BIT_STRING *public_key;
} CSR_SPKI;

typedef struct {
    ASN1_ENCODING enc; /* the bytes the signature covers, kept as received */
    ASN1_INTEGER *version;
    X509_NAME *subject;
    CSR_SPKI *spki;
    STACK_OF(X509_ATTRIBUTE) *attributes;
} CSR_INFO;

typedef struct {
    CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *signature;
} CSR;

ASN1_SEQUENCE(CSR_SPKI) = {
    ASN1_SIMPLE(CSR_SPKI, algor, X509_ALGOR),
    ASN1_SIMPLE(CSR_SPKI, public_key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(CSR_SPKI)

ASN1_SEQUENCE_enc(CSR_INFO, enc, NULL) = {
    ASN1_SIMPLE(CSR_INFO, version, ASN1_INTEGER),
    ASN1_SIMPLE(CSR_INFO, subject, X509_NAME),
    ASN1_SIMPLE(CSR_INFO, spki, CSR_SPKI),
    /* RFC 2986 4.1: attributes [0] IMPLICIT SET OF (may be empty) */
    ASN1_IMP_SET_OF_OPT(CSR_INFO, attributes, X509_ATTRIBUTE, 0)
} static_ASN1_SEQUENCE_END_ref(CSR_INFO, CSR_INFO)

ASN1_SEQUENCE(CSR) = {
    ASN1_SIMPLE(CSR, info, CSR_INFO),
    ASN1_SIMPLE(CSR, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(CSR, signature, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(CSR)

static CSR *d2i_CSR(const unsigned char **in, long len)
{
    return (CSR *)ASN1_item_d2i(NULL, in, len, ASN1_ITEM_rptr(CSR));
}

static void CSR_free(CSR *csr)
{
    ASN1_item_free((ASN1_VALUE *)csr, ASN1_ITEM_rptr(CSR));
}

/* The request as an X509_REQ the rest of the CA reads (subject, key
 * parameters, attributes); it carries no signature and is never signed. */
static X509_REQ *assemble(const CSR *csr)
{
    X509_REQ *req = X509_REQ_new();
    const ASN1_OBJECT *obj = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    ASN1_OBJECT *obj_copy = NULL;
    void *pval_copy = NULL;
    unsigned char *bits = NULL;
    int nbits = csr->info->spki->public_key->length;

    if (req == NULL || !X509_REQ_set_version(req, ASN1_INTEGER_get(csr->info->version)) ||
        !X509_REQ_set_subject_name(req, csr->info->subject))
        goto fail;
    X509_ALGOR_get0(&obj, &ptype, &pval, csr->info->spki->algor);
    obj_copy = OBJ_dup(obj);
    if (ptype == V_ASN1_OBJECT)
        pval_copy = OBJ_dup(pval);
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        goto fail; /* only the algorithms spki.c builds come this way */
    bits = OPENSSL_memdup(csr->info->spki->public_key->data, (size_t)nbits);
    if (obj_copy == NULL || bits == NULL || (ptype == V_ASN1_OBJECT && pval_copy == NULL) ||
        !X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), obj_copy, ptype, pval_copy, bits, nbits))
        goto fail;
    obj_copy = NULL;
    pval_copy = NULL;
    bits = NULL;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(csr->info->attributes); i++) {
        if (!X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(csr->info->attributes, i)))
            goto fail;
    }
    return req;
fail:
    ASN1_OBJECT_free(obj_copy);
    if (ptype == V_ASN1_OBJECT)
        ASN1_OBJECT_free(pval_copy);
    OPENSSL_free(bits);
    X509_REQ_free(req);
    return NULL;
}

/* OpenSSL's own parser, for keys spki.c does not build. */
static hsmca_rv parse_slow(const unsigned char *der, long len, X509_REQ **out, EVP_PKEY **pub)
{
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, len);
    EVP_PKEY *k = req ? X509_REQ_get0_pubkey(req) : NULL;
    int ok = k != NULL && X509_REQ_verify(req, k) == 1 && EVP_PKEY_up_ref(k);

    ERR_clear_error();
    if (req == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "csr is not a PEM certificate request");
    if (!ok) {
        X509_REQ_free(req);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "csr self-signature does not verify");
    }
    *out = req;
    *pub = k;
    return HSMCA_OK;
}

hsmca_rv ca_csr_parse(const char *pem, X509_REQ **out, EVP_PKEY **pub)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    long len = 0;
    CSR *csr = NULL;
    X509_PUBKEY *spki = NULL;
    EVP_PKEY *key = NULL;
    BIO *in = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *out = NULL;
    *pub = NULL;
    if (pem == NULL || pem[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "csr is empty");
    if (strlen(pem) > CSR_PEM_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "csr is larger than 64 KiB");
    in = BIO_new_mem_buf(pem, -1);
    if (in == NULL || PEM_read_bio(in, &name, &header, &der, &len) != 1 ||
        (strcmp(name, "CERTIFICATE REQUEST") != 0 && strcmp(name, "NEW CERTIFICATE REQUEST") != 0)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "csr is not a PEM certificate request");
        goto done;
    }
    p = der;
    csr = d2i_CSR(&p, len);
    if (csr == NULL || p != der + len) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "csr is not a well-formed certificate request (RFC 2986)");
        goto done;
    }
    /* The key, built without the decoder; an algorithm it does not know
     * takes OpenSSL's full parser. */
    spki = X509_PUBKEY_new();
    if (spki == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        const ASN1_OBJECT *obj = NULL;
        int ptype = V_ASN1_UNDEF;
        const void *pval = NULL;
        X509_ALGOR_get0(&obj, &ptype, &pval, csr->info->spki->algor);
        if (ptype == V_ASN1_OBJECT || ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF) {
            unsigned char *bits = OPENSSL_memdup(csr->info->spki->public_key->data,
                                                 (size_t)csr->info->spki->public_key->length);
            ASN1_OBJECT *o = OBJ_dup(obj);
            void *pv = ptype == V_ASN1_OBJECT ? OBJ_dup(pval) : NULL;
            if (bits != NULL && o != NULL && (ptype != V_ASN1_OBJECT || pv != NULL) &&
                X509_PUBKEY_set0_param(spki, o, ptype, pv, bits, csr->info->spki->public_key->length)) {
                key = ca_spki_to_pkey(spki);
            } else {
                OPENSSL_free(bits);
                ASN1_OBJECT_free(o);
                if (ptype == V_ASN1_OBJECT)
                    ASN1_OBJECT_free(pv);
            }
        }
    }
    if (key == NULL) {
        rv = parse_slow(der, len, out, pub);
        goto done;
    }
    /* RFC 2986 4.2: the signature over the CertificationRequestInfo as sent
     * (ASN1_SEQUENCE_enc keeps those bytes) proves possession of the key. */
    if (ASN1_item_verify(ASN1_ITEM_rptr(CSR_INFO), csr->sig_alg, csr->signature, csr->info, key) != 1) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "csr self-signature does not verify");
        goto done;
    }
    *out = assemble(csr);
    if (*out == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory assembling the request");
        goto done;
    }
    *pub = key;
    key = NULL;
    rv = HSMCA_OK;
done:
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_PUBKEY_free(spki);
    CSR_free(csr);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(in);
    return rv;
}
