/* SPDX-License-Identifier: Apache-2.0 */
/* Creating token keys (generation in the token, import of software keys),
 * renaming and destroying them, and reading their protection attributes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hsmca/log.h"
#include "internal.h"

/* DER OIDs for CKA_EC_PARAMS (namedCurve). */
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

static CK_BBOOL ck_true = CK_TRUE;
static CK_BBOOL ck_false = CK_FALSE;

#define ATTR(t, v, l) ((CK_ATTRIBUTE){(t), (void *)(uintptr_t)(v), (CK_ULONG)(l)})
#define ATTR_BOOL(t, b) ATTR((t), (b) ? &ck_true : &ck_false, sizeof(CK_BBOOL))

/* The private-key attributes every hsmca key gets (DESIGN.md, HSM layer):
 * usable only for signing, never readable. */
static size_t private_template(CK_ATTRIBUTE *t, const unsigned char *id, size_t id_len, const char *label)
{
    size_t n = 0;
    t[n++] = ATTR_BOOL(CKA_TOKEN, 1);
    t[n++] = ATTR_BOOL(CKA_PRIVATE, 1);
    t[n++] = ATTR_BOOL(CKA_SENSITIVE, 1);
    t[n++] = ATTR_BOOL(CKA_EXTRACTABLE, 0);
    t[n++] = ATTR_BOOL(CKA_SIGN, 1);
    t[n++] = ATTR_BOOL(CKA_DECRYPT, 0);
    t[n++] = ATTR_BOOL(CKA_UNWRAP, 0);
    t[n++] = ATTR_BOOL(CKA_DERIVE, 0);
    t[n++] = ATTR(CKA_ID, id, id_len);
    t[n++] = ATTR(CKA_LABEL, label, strlen(label));
    return n;
}

static size_t public_template(CK_ATTRIBUTE *t, const unsigned char *id, size_t id_len, const char *label)
{
    size_t n = 0;
    t[n++] = ATTR_BOOL(CKA_TOKEN, 1);
    t[n++] = ATTR_BOOL(CKA_PRIVATE, 0);
    t[n++] = ATTR_BOOL(CKA_VERIFY, 1);
    t[n++] = ATTR_BOOL(CKA_ENCRYPT, 0);
    t[n++] = ATTR_BOOL(CKA_WRAP, 0);
    t[n++] = ATTR(CKA_ID, id, id_len);
    t[n++] = ATTR(CKA_LABEL, label, strlen(label));
    return n;
}

static hsmca_rv check_common(hsmca_p11_token *tok, const unsigned char *id, size_t id_len, const char *label)
{
    if (tok == NULL || id == NULL || id_len == 0 || id_len > 64)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "a key needs a CKA_ID of 1..64 bytes");
    if (label == NULL || strlen(label) > 255)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "a key label is at most 255 bytes");
    return HSMCA_OK;
}

typedef struct {
    CK_MECHANISM mech;
    CK_ATTRIBUTE pub[12], priv[12];
    CK_ULONG npub, npriv;
} gen_args;

static hsmca_rv do_generate(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    gen_args *g = arg;
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    CK_RV crv = p11_C_GenerateKeyPair(tok->mod, s->h, &g->mech, g->pub, g->npub, g->priv, g->npriv, &hpub, &hpriv);

    *crv_out = crv;
    if (crv != CKR_OK)
        return p11_fail(crv, "C_GenerateKeyPair", "generating the key pair in the token");
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_generate(hsmca_p11_token *tok, hsmca_key_type type, unsigned bits,
                            const unsigned char *id, size_t id_len, const char *label,
                            hsmca_p11_key **out)
{
    gen_args g;
    CK_ULONG modulus_bits = bits;
    static const unsigned char f4[] = {0x01, 0x00, 0x01};
    hsmca_rv rv;

    *out = NULL;
    rv = check_common(tok, id, id_len, label);
    if (rv != HSMCA_OK)
        return rv;
    memset(&g, 0, sizeof(g));
    g.npub = public_template(g.pub, id, id_len, label);
    g.npriv = private_template(g.priv, id, id_len, label);
    switch (type) {
    case HSMCA_KEY_RSA:
        if (bits != 2048 && bits != 3072 && bits != 4096)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %u is not a supported RSA size (2048, 3072, 4096)", bits);
        g.mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        g.pub[g.npub++] = ATTR(CKA_MODULUS_BITS, &modulus_bits, sizeof(modulus_bits));
        g.pub[g.npub++] = ATTR(CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
        break;
    case HSMCA_KEY_EC:
        g.mech.mechanism = CKM_EC_KEY_PAIR_GEN;
        if (bits == 256)
            g.pub[g.npub++] = ATTR(CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));
        else if (bits == 384)
            g.pub[g.npub++] = ATTR(CKA_EC_PARAMS, oid_p384, sizeof(oid_p384));
        else if (bits == 521)
            g.pub[g.npub++] = ATTR(CKA_EC_PARAMS, oid_p521, sizeof(oid_p521));
        else
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %u is not a supported EC curve (256 = P-256, 384 = P-384, 521 = P-521)", bits);
        break;
    case HSMCA_KEY_ED25519:
        g.mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
        g.pub[g.npub++] = ATTR(CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519));
        break;
    default:
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "unknown key type %d", (int)type);
    }
    /* Not retried: a lost answer may still have created the key, and a
     * second pair with the same CKA_ID would make the reference ambiguous. */
    rv = p11_with_session(tok, do_generate, &g, false);
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_p11_key_find(tok, id, id_len, NULL, out);
    if (rv != HSMCA_OK)
        hsmca_err_prefix("reading back the generated key");
    return rv;
}

/* ---- import ---- */

typedef struct {
    CK_ATTRIBUTE priv[20], pub[12];
    CK_ULONG npriv, npub;
} import_args;

static hsmca_rv do_import(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    import_args *a = arg;
    CK_OBJECT_HANDLE hpriv = CK_INVALID_HANDLE, hpub = CK_INVALID_HANDLE;
    CK_RV crv;

    crv = p11_C_CreateObject(tok->mod, s->h, a->priv, a->npriv, &hpriv);
    if (crv != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_CreateObject", "writing the private key into the token");
    }
    crv = p11_C_CreateObject(tok->mod, s->h, a->pub, a->npub, &hpub);
    if (crv != CKR_OK) {
        /* Half an import is no import: take the private object out again. */
        p11_C_DestroyObject(tok->mod, s->h, hpriv);
        *crv_out = crv;
        return p11_fail(crv, "C_CreateObject", "writing the public key into the token");
    }
    return HSMCA_OK;
}

/* A big number as a big-endian byte string in secure memory; exactly len
 * bytes if len > 0 (left-padded), else its natural length. */
static unsigned char *bn_bytes(const EVP_PKEY *pkey, const char *name, size_t len, size_t *out_len)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;
    int n;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return NULL;
    n = len ? (int)len : BN_num_bytes(bn);
    if (n <= 0)
        n = 1;
    buf = OPENSSL_secure_zalloc((size_t)n);
    if (buf == NULL || BN_bn2binpad(bn, buf, n) != n) {
        OPENSSL_secure_clear_free(buf, (size_t)n);
        BN_clear_free(bn);
        return NULL;
    }
    BN_clear_free(bn);
    *out_len = (size_t)n;
    return buf;
}

/* Wraps a raw point in a DER OCTET STRING (CKA_EC_POINT, PKCS#11 2.40). */
static size_t der_octet_string(const unsigned char *in, size_t len, unsigned char *out, size_t out_size)
{
    size_t hdr = len < 0x80 ? 2 : 3;

    if (len > 0xff || hdr + len > out_size)
        return 0;
    out[0] = 0x04;
    if (hdr == 2) {
        out[1] = (unsigned char)len;
    } else {
        out[1] = 0x81;
        out[2] = (unsigned char)len;
    }
    memcpy(out + hdr, in, len);
    return hdr + len;
}

hsmca_rv hsmca_p11_import(hsmca_p11_token *tok, EVP_PKEY *priv, const unsigned char *id,
                          size_t id_len, const char *label, hsmca_p11_key **out)
{
    /* Names of the RSA private components, PKCS#11 attribute order. */
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *param;
    } rsa_parts[] = {
        {CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N},
        {CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E},
        {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
        {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1},
        {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2},
        {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    unsigned char *parts[8] = {NULL};
    size_t part_len[8] = {0};
    unsigned char point[160], point_der[164];
    size_t point_len = 0, point_der_len = 0;
    CK_OBJECT_CLASS cls_priv = CKO_PRIVATE_KEY, cls_pub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = 0;
    const unsigned char *params = NULL;
    size_t params_len = 0;
    import_args a;
    hsmca_rv rv;

    *out = NULL;
    rv = check_common(tok, id, id_len, label);
    if (rv != HSMCA_OK)
        return rv;
    memset(&a, 0, sizeof(a));
    a.npriv = private_template(a.priv, id, id_len, label);
    a.npub = public_template(a.pub, id, id_len, label);

    if (EVP_PKEY_is_a(priv, "RSA")) {
        int bits = EVP_PKEY_get_bits(priv);
        if (bits != 2048 && bits != 3072 && bits != 4096) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                           "imported RSA key has %d bits; hsmca accepts 2048, 3072 or 4096", bits);
            goto done;
        }
        kt = CKK_RSA;
        for (size_t i = 0; i < 8; i++) {
            parts[i] = bn_bytes(priv, rsa_parts[i].param, 0, &part_len[i]);
            if (parts[i] == NULL) {
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                               "imported RSA key lacks its CRT components; it cannot be imported");
                goto done;
            }
            a.priv[a.npriv++] = ATTR(rsa_parts[i].type, parts[i], part_len[i]);
        }
        a.pub[a.npub++] = ATTR(CKA_MODULUS, parts[0], part_len[0]);
        a.pub[a.npub++] = ATTR(CKA_PUBLIC_EXPONENT, parts[1], part_len[1]);
    } else if (EVP_PKEY_is_a(priv, "EC")) {
        char group[64];
        size_t field;
        if (!EVP_PKEY_get_utf8_string_param(priv, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "imported EC key has no named curve");
            goto done;
        }
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            params = oid_p256, params_len = sizeof(oid_p256), field = 32;
        } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            params = oid_p384, params_len = sizeof(oid_p384), field = 48;
        } else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0) {
            params = oid_p521, params_len = sizeof(oid_p521), field = 66;
        } else {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "imported EC key uses curve '%s'; hsmca accepts P-256, P-384, P-521", group);
            goto done;
        }
        kt = CKK_EC;
        parts[0] = bn_bytes(priv, OSSL_PKEY_PARAM_PRIV_KEY, field, &part_len[0]);
        if (parts[0] == NULL ||
            !EVP_PKEY_get_octet_string_param(priv, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &point_len)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "imported EC key lacks its private scalar or public point");
            goto done;
        }
        a.priv[a.npriv++] = ATTR(CKA_VALUE, parts[0], part_len[0]);
    } else if (EVP_PKEY_is_a(priv, "ED25519")) {
        size_t len = 32;
        kt = CKK_EC_EDWARDS;
        params = oid_ed25519, params_len = sizeof(oid_ed25519);
        parts[0] = OPENSSL_secure_zalloc(32);
        part_len[0] = 32;
        point_len = sizeof(point); /* in: capacity, out: length */
        if (parts[0] == NULL || !EVP_PKEY_get_raw_private_key(priv, parts[0], &len) || len != 32 ||
            !EVP_PKEY_get_raw_public_key(priv, point, &point_len)) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "imported Ed25519 key lacks its private or public value");
            goto done;
        }
        a.priv[a.npriv++] = ATTR(CKA_VALUE, parts[0], part_len[0]);
    } else {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "imported key type '%s' is not RSA, EC or Ed25519",
                       EVP_PKEY_get0_type_name(priv) ? EVP_PKEY_get0_type_name(priv) : "?");
        goto done;
    }
    if (params != NULL) {
        point_der_len = der_octet_string(point, point_len, point_der, sizeof(point_der));
        if (point_der_len == 0) {
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "EC point too long");
            goto done;
        }
        a.priv[a.npriv++] = ATTR(CKA_EC_PARAMS, params, params_len);
        a.pub[a.npub++] = ATTR(CKA_EC_PARAMS, params, params_len);
        a.pub[a.npub++] = ATTR(CKA_EC_POINT, point_der, point_der_len);
    }
    a.priv[a.npriv++] = ATTR(CKA_CLASS, &cls_priv, sizeof(cls_priv));
    a.priv[a.npriv++] = ATTR(CKA_KEY_TYPE, &kt, sizeof(kt));
    a.pub[a.npub++] = ATTR(CKA_CLASS, &cls_pub, sizeof(cls_pub));
    a.pub[a.npub++] = ATTR(CKA_KEY_TYPE, &kt, sizeof(kt));

    rv = p11_with_session(tok, do_import, &a, false);
    if (rv != HSMCA_OK)
        goto done;
    rv = hsmca_p11_key_find(tok, id, id_len, NULL, out);
    if (rv != HSMCA_OK)
        hsmca_err_prefix("reading back the imported key");
done:
    /* The software copies of the private values end here. */
    for (size_t i = 0; i < 8; i++)
        OPENSSL_secure_clear_free(parts[i], part_len[i]);
    OPENSSL_cleanse(&a, sizeof(a));
    return rv;
}

/* ---- rename, destroy, count, attributes ---- */

typedef struct {
    hsmca_p11_key *key;
    const char *label;
    size_t count;
    hsmca_p11_key_attrs *attrs;
} obj_args;

static hsmca_rv do_set_label(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    obj_args *a = arg;
    CK_OBJECT_HANDLE h[4];
    CK_ATTRIBUTE t = ATTR(CKA_LABEL, a->label, strlen(a->label));
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};

    for (size_t c = 0; c < 2; c++) {
        CK_ULONG n = 0;
        hsmca_rv rv = p11_find_objects(tok, s, classes[c], a->key->id, a->key->id_len, NULL, h, 4, &n);
        if (rv != HSMCA_OK) {
            *crv_out = CKR_SESSION_HANDLE_INVALID;
            return rv;
        }
        for (CK_ULONG i = 0; i < n; i++) {
            CK_RV crv = p11_C_SetAttributeValue(tok->mod, s->h, h[i], &t, 1);
            if (crv != CKR_OK) {
                *crv_out = crv;
                return p11_fail(crv, "C_SetAttributeValue", "setting CKA_LABEL");
            }
        }
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_key_set_label(hsmca_p11_key *key, const char *label)
{
    obj_args a = {key, label, 0, NULL};
    char *copy;
    hsmca_rv rv;

    hsmca_return_val_if_fail(key != NULL && label != NULL, HSMCA_ERR_INVALID_ARG);
    if (key->id_len == 0)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "key has no CKA_ID; it cannot be renamed safely");
    copy = strdup(label);
    if (copy == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = p11_with_session(key->tok, do_set_label, &a, true);
    if (rv != HSMCA_OK) {
        free(copy);
        return rv;
    }
    free(key->label);
    key->label = copy;
    return HSMCA_OK;
}

static hsmca_rv do_destroy(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    obj_args *a = arg;
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};

    for (size_t c = 0; c < 2; c++) {
        CK_OBJECT_HANDLE h[8];
        CK_ULONG n = 0;
        hsmca_rv rv = p11_find_objects(tok, s, classes[c], a->key->id, a->key->id_len, NULL, h, 8, &n);
        if (rv != HSMCA_OK) {
            *crv_out = CKR_SESSION_HANDLE_INVALID;
            return rv;
        }
        for (CK_ULONG i = 0; i < n; i++) {
            CK_RV crv = p11_C_DestroyObject(tok->mod, s->h, h[i]);
            if (crv != CKR_OK && crv != CKR_OBJECT_HANDLE_INVALID) {
                *crv_out = crv;
                return p11_fail(crv, "C_DestroyObject", "destroying the key");
            }
            a->count++;
        }
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_key_destroy(hsmca_p11_key *key)
{
    obj_args a = {key, NULL, 0, NULL};
    hsmca_rv rv;

    hsmca_return_val_if_fail(key != NULL, HSMCA_ERR_INVALID_ARG);
    if (key->id_len == 0)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "key has no CKA_ID; refusing to destroy objects by label");
    /* Retrying is safe: objects already gone are simply not found again. */
    rv = p11_with_session(key->tok, do_destroy, &a, true);
    if (rv == HSMCA_OK) {
        pthread_mutex_lock(&key->handle_lock);
        key->handle_valid = false;
        pthread_mutex_unlock(&key->handle_lock);
        hsmca_log(HSMCA_LOG_NOTICE, "token '%s': destroyed %zu objects of key '%s'", key->tok->label,
                  a.count, key->label ? key->label : "");
    }
    return rv;
}

static hsmca_rv do_count(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    obj_args *a = arg;
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};

    a->count = 0;
    for (size_t c = 0; c < 2; c++) {
        CK_OBJECT_HANDLE h[8];
        CK_ULONG n = 0;
        hsmca_rv rv = p11_find_objects(tok, s, classes[c], NULL, 0, a->label, h, 8, &n);
        if (rv != HSMCA_OK) {
            *crv_out = CKR_SESSION_HANDLE_INVALID;
            return rv;
        }
        a->count += n;
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_count_labelled(hsmca_p11_token *tok, const char *label, size_t *count)
{
    obj_args a = {NULL, label, 0, NULL};
    hsmca_rv rv;

    hsmca_return_val_if_fail(tok != NULL && label != NULL && count != NULL, HSMCA_ERR_INVALID_ARG);
    rv = p11_with_session(tok, do_count, &a, true);
    *count = a.count;
    return rv;
}

static hsmca_rv do_attrs(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    obj_args *a = arg;
    CK_BBOOL v[7] = {0};
    CK_ATTRIBUTE t[7] = {
        ATTR(CKA_TOKEN, &v[0], 1), ATTR(CKA_PRIVATE, &v[1], 1), ATTR(CKA_SENSITIVE, &v[2], 1),
        ATTR(CKA_ALWAYS_SENSITIVE, &v[3], 1), ATTR(CKA_EXTRACTABLE, &v[4], 1),
        ATTR(CKA_NEVER_EXTRACTABLE, &v[5], 1), ATTR(CKA_LOCAL, &v[6], 1),
    };
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    hsmca_rv rv;
    CK_RV crv;

    rv = p11_find_objects(tok, s, CKO_PRIVATE_KEY, a->key->id, a->key->id_len,
                          a->key->id_len ? NULL : a->key->label, &h, 1, &n);
    if (rv != HSMCA_OK) {
        *crv_out = CKR_SESSION_HANDLE_INVALID;
        return rv;
    }
    if (n == 0)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "private key is no longer on the token");
    crv = p11_C_GetAttributeValue(tok->mod, s->h, h, t, 7);
    if (crv != CKR_OK && crv != CKR_ATTRIBUTE_TYPE_INVALID) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading key attributes");
    }
    a->attrs->token = v[0];
    a->attrs->private_ = v[1];
    a->attrs->sensitive = v[2];
    a->attrs->always_sensitive = v[3];
    a->attrs->extractable = v[4];
    a->attrs->never_extractable = v[5];
    a->attrs->local = v[6];
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_key_get_attrs(hsmca_p11_key *key, hsmca_p11_key_attrs *out)
{
    obj_args a = {key, NULL, 0, out};

    hsmca_return_val_if_fail(key != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    return p11_with_session(key->tok, do_attrs, &a, true);
}
