/* SPDX-License-Identifier: Apache-2.0 */
/* Token private-key objects: lookup by CKA_ID/CKA_LABEL, the capability probe,
 * the software public key, and signing with recovery and re-verification. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "internal.h"

#define ATTR_MAX 8192        /* no attribute we read is larger */
#define RSA_MAX_BYTES 1024   /* 8192-bit modulus */
#define FIND_BATCH 16
/* Keep software helpers off our own provider when it is loaded in-process. */
#define PROPQ_NOT_HSMCA "provider!=hsmca"

static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
/* PrintableString "edwards25519", PKCS#11 3.0 curve name form. */
static const unsigned char name_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's',
                                             '2',  '5',  '5', '1', '9'};

hsmca_rv p11_find_objects(hsmca_p11_token *tok, p11_session *s, CK_OBJECT_CLASS cls,
                          const unsigned char *id, size_t id_len, const char *label,
                          CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count)
{
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG n = 0;
    CK_RV crv, crv2;

    tmpl[n].type = CKA_CLASS;
    tmpl[n].pValue = &cls;
    tmpl[n].ulValueLen = sizeof(cls);
    n++;
    if (id != NULL && id_len > 0) {
        tmpl[n].type = CKA_ID;
        tmpl[n].pValue = (void *)(uintptr_t)id;
        tmpl[n].ulValueLen = (CK_ULONG)id_len;
        n++;
    }
    if (label != NULL) {
        tmpl[n].type = CKA_LABEL;
        tmpl[n].pValue = (void *)(uintptr_t)label;
        tmpl[n].ulValueLen = (CK_ULONG)strlen(label);
        n++;
    }
    *count = 0;
    crv = p11_C_FindObjectsInit(tok->mod, s->h, tmpl, n);
    if (crv != CKR_OK)
        return p11_fail(crv, "C_FindObjectsInit", "looking up token objects") == HSMCA_OK
                   ? HSMCA_ERR_HSM
                   : (hsmca_err_last() == HSMCA_ERR_HSM_UNAVAILABLE ? HSMCA_ERR_HSM_UNAVAILABLE
                                                                    : HSMCA_ERR_HSM);
    crv = p11_C_FindObjects(tok->mod, s->h, out, max, count);
    crv2 = p11_C_FindObjectsFinal(tok->mod, s->h);
    if (crv != CKR_OK)
        return p11_fail(crv, "C_FindObjects", "looking up token objects");
    if (crv2 != CKR_OK)
        return p11_fail(crv2, "C_FindObjectsFinal", "looking up token objects");
    return HSMCA_OK;
}

/* Two-call C_GetAttributeValue into a malloc'd buffer. Returns CKR_OK with
 * *buf NULL and *len 0 when the attribute is absent (CKR_ATTRIBUTE_TYPE_INVALID). */
static CK_RV get_attr_alloc(hsmca_p11_token *tok, p11_session *s, CK_OBJECT_HANDLE o,
                            CK_ATTRIBUTE_TYPE type, unsigned char **buf, size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV crv;

    *buf = NULL;
    *len = 0;
    crv = p11_C_GetAttributeValue(tok->mod, s->h, o, &a, 1);
    if (crv == CKR_ATTRIBUTE_TYPE_INVALID || crv == CKR_ATTRIBUTE_SENSITIVE ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_OK;
    if (crv != CKR_OK)
        return crv;
    if (a.ulValueLen == 0)
        return CKR_OK;
    if (a.ulValueLen > ATTR_MAX)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    a.pValue = malloc(a.ulValueLen);
    if (a.pValue == NULL)
        return CKR_HOST_MEMORY;
    crv = p11_C_GetAttributeValue(tok->mod, s->h, o, &a, 1);
    if (crv != CKR_OK) {
        free(a.pValue);
        return crv;
    }
    *buf = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

static CK_RV get_ulong(hsmca_p11_token *tok, p11_session *s, CK_OBJECT_HANDLE o,
                       CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};
    return p11_C_GetAttributeValue(tok->mod, s->h, o, &a, 1);
}

static CK_RV get_bool(hsmca_p11_token *tok, p11_session *s, CK_OBJECT_HANDLE o,
                      CK_ATTRIBUTE_TYPE type, CK_BBOOL *v)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};
    return p11_C_GetAttributeValue(tok->mod, s->h, o, &a, 1);
}

/* CKA_EC_POINT is DER OCTET STRING per PKCS#11 2.40; some modules return
 * the raw point. Accept both, return the raw point. */
static const unsigned char *ec_point_unwrap(const unsigned char *p, size_t len, size_t *out_len)
{
    if (len >= 2 && p[0] == 0x04) {
        size_t hdr = 2, body;
        if (p[1] < 0x80) {
            body = p[1];
        } else if (p[1] == 0x81 && len >= 3) {
            body = p[2];
            hdr = 3;
        } else if (p[1] == 0x82 && len >= 4) {
            body = ((size_t)p[2] << 8) | p[3];
            hdr = 4;
        } else {
            body = 0;
        }
        if (body > 0 && hdr + body == len) {
            *out_len = body;
            return p + hdr;
        }
    }
    *out_len = len;
    return p;
}

static bool is_ed25519_params(const unsigned char *p, size_t len)
{
    return (len == sizeof(oid_ed25519) && memcmp(p, oid_ed25519, len) == 0) ||
           (len == sizeof(name_ed25519) && memcmp(p, name_ed25519, len) == 0);
}

static hsmca_rv build_public_rsa(hsmca_p11_key *key, const unsigned char *n, size_t nlen,
                                 const unsigned char *e, size_t elen)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);

    if (bld == NULL || bn_n == NULL || bn_e == NULL)
        goto done;
    if (BN_num_bits(bn_n) > RSA_MAX_BYTES * 8) {
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED, "RSA keys above %d bits are not supported",
                       RSA_MAX_BYTES * 8);
        goto done;
    }
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", PROPQ_NOT_HSMCA);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key->pub, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto done;
    key->bits = (unsigned)BN_num_bits(bn_n);
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_CRYPTO)
        hsmca_err(rv, "cannot build the RSA public key from the token's attributes");
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static hsmca_rv build_public_ec(hsmca_p11_key *key, const unsigned char *params_der, size_t plen,
                                const unsigned char *point, size_t point_len)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    const unsigned char *p = params_der;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    const char *group = NULL;
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;

    switch (nid) {
    case NID_X9_62_prime256v1:
        group = "prime256v1";
        key->curve = "P-256";
        break;
    case NID_secp384r1:
        group = "secp384r1";
        key->curve = "P-384";
        break;
    case NID_secp521r1:
        group = "secp521r1";
        key->curve = "P-521";
        break;
    default:
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED,
                       "EC key uses a curve hsmca does not sign with (supported: P-256, P-384, P-521)");
        goto done;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  (void *)(uintptr_t)point, point_len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", PROPQ_NOT_HSMCA);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key->pub, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the token's EC public point is not on curve %s", key->curve);
        goto done;
    }
    key->bits = (unsigned)EVP_PKEY_get_bits(key->pub);
    rv = HSMCA_OK;
done:
    ASN1_OBJECT_free(oid);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static hsmca_rv build_public_ed25519(hsmca_p11_key *key, const unsigned char *point, size_t len)
{
    if (len != 32)
        return hsmca_err(HSMCA_ERR_CRYPTO, "Ed25519 public key from the token is %zu bytes, not 32", len);
    key->pub = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", PROPQ_NOT_HSMCA, point, len);
    if (key->pub == NULL)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot build the Ed25519 public key");
    key->bits = 256;
    return HSMCA_OK;
}

/* Reads the public half: from the public-key object with the same CKA_ID, or
 * (RSA) from the private object's public attributes. */
static hsmca_rv load_public(hsmca_p11_key *key, p11_session *s, CK_OBJECT_HANDLE priv, CK_RV *crv_out)
{
    hsmca_p11_token *tok = key->tok;
    CK_OBJECT_HANDLE pubs[2];
    CK_ULONG npub = 0;
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    hsmca_rv rv;
    CK_RV crv = CKR_OK;

    rv = p11_find_objects(tok, s, CKO_PUBLIC_KEY, key->id, key->id_len,
                          key->id_len ? NULL : key->label, pubs, 2, &npub);
    if (rv != HSMCA_OK)
        return rv;

    if (key->type == HSMCA_KEY_RSA) {
        CK_OBJECT_HANDLE src = npub == 1 ? pubs[0] : priv;
        if ((crv = get_attr_alloc(tok, s, src, CKA_MODULUS, &a, &alen)) != CKR_OK ||
            (crv = get_attr_alloc(tok, s, src, CKA_PUBLIC_EXPONENT, &b, &blen)) != CKR_OK)
            goto fail;
        if (a == NULL || b == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "RSA key '%s' has no readable modulus/exponent",
                           key->label ? key->label : "");
            goto done;
        }
        rv = build_public_rsa(key, a, alen, b, blen);
        goto done;
    }
    if (npub != 1) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND,
                       "%s public key object for key '%s' (%s); hsmca needs the public key next to the "
                       "private key with the same CKA_ID",
                       npub == 0 ? "no" : "more than one", key->label ? key->label : "",
                       key->type == HSMCA_KEY_EC ? "EC" : "Ed25519");
        goto done;
    }
    if ((crv = get_attr_alloc(tok, s, pubs[0], CKA_EC_PARAMS, &a, &alen)) != CKR_OK ||
        (crv = get_attr_alloc(tok, s, pubs[0], CKA_EC_POINT, &b, &blen)) != CKR_OK)
        goto fail;
    if (a == NULL || b == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "public key of '%s' lacks CKA_EC_PARAMS or CKA_EC_POINT",
                       key->label ? key->label : "");
        goto done;
    }
    {
        size_t plen;
        const unsigned char *pt = ec_point_unwrap(b, blen, &plen);
        if (key->type == HSMCA_KEY_EC)
            rv = build_public_ec(key, a, alen, pt, plen);
        else if (is_ed25519_params(a, alen))
            rv = build_public_ed25519(key, pt, plen);
        else
            rv = hsmca_err(HSMCA_ERR_UNSUPPORTED, "Edwards key '%s' is not Ed25519 (Ed448 is not supported)",
                           key->label ? key->label : "");
    }
    goto done;
fail:
    *crv_out = crv;
    rv = p11_fail(crv, "C_GetAttributeValue", "reading the public key");
done:
    free(a);
    free(b);
    return rv;
}

/* CKA_ALLOWED_MECHANISMS, where the token sets it, narrows what the key may do. */
static bool mech_allowed(const CK_MECHANISM_TYPE *allowed, size_t n_allowed, CK_MECHANISM_TYPE m)
{
    if (allowed == NULL)
        return true;
    for (size_t i = 0; i < n_allowed; i++) {
        if (allowed[i] == m)
            return true;
    }
    return false;
}

static void probe_caps(hsmca_p11_key *key, p11_session *s, CK_OBJECT_HANDLE priv)
{
    hsmca_p11_token *tok = key->tok;
    unsigned char *buf = NULL;
    size_t len = 0;
    const CK_MECHANISM_TYPE *allowed = NULL;
    size_t n_allowed = 0;

    if (get_attr_alloc(tok, s, priv, CKA_ALLOWED_MECHANISMS, &buf, &len) == CKR_OK && buf != NULL &&
        len >= sizeof(CK_MECHANISM_TYPE)) {
        allowed = (const CK_MECHANISM_TYPE *)(void *)buf;
        n_allowed = len / sizeof(CK_MECHANISM_TYPE);
    }
#define CAP(mech, bit)                                                         \
    do {                                                                       \
        if (p11_token_has_mech(tok, s, mech) && mech_allowed(allowed, n_allowed, mech)) \
            key->caps |= (bit);                                                \
    } while (0)
    switch (key->type) {
    case HSMCA_KEY_RSA:
        CAP(CKM_RSA_PKCS, HSMCA_CAP_RSA_PKCS1);
        CAP(CKM_RSA_PKCS_PSS, HSMCA_CAP_RSA_PSS);
        CAP(CKM_RSA_X_509, HSMCA_CAP_RSA_RAW);
        break;
    case HSMCA_KEY_EC:
        CAP(CKM_ECDSA, HSMCA_CAP_ECDSA);
        break;
    case HSMCA_KEY_ED25519:
        CAP(CKM_EDDSA, HSMCA_CAP_EDDSA);
        break;
    }
#undef CAP
    free(buf);
}

static void key_destroy(hsmca_p11_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pub);
    free(key->id);
    free(key->label);
    pthread_mutex_destroy(&key->handle_lock);
    hsmca_p11_token_free(key->tok);
    free(key);
}

/* One attempt at loading; *crv_out tells the caller whether to recover. */
static hsmca_rv key_load(hsmca_p11_key *key, p11_session *s, const unsigned char *id,
                         size_t id_len, const char *label, CK_RV *crv_out)
{
    hsmca_p11_token *tok = key->tok;
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_ULONG kt = 0;
    CK_BBOOL can_sign = CK_FALSE;
    unsigned char *buf = NULL;
    size_t len = 0;
    hsmca_rv rv;
    CK_RV crv;

    rv = p11_find_objects(tok, s, CKO_PRIVATE_KEY, id, id_len, label, found, 2, &n);
    if (rv != HSMCA_OK) {
        *crv_out = CKR_SESSION_HANDLE_INVALID; /* let the caller retry once */
        return rv;
    }
    if (n == 0)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "no private key with %s%s%s in token '%s'",
                         label ? "label '" : "CKA_ID", label ? label : "", label ? "'" : "", tok->label);
    if (n > 1)
        return hsmca_err(HSMCA_ERR_EXISTS,
                         "more than one private key with %s%s%s in token '%s'; refer to the key by id",
                         label ? "label '" : "this CKA_ID", label ? label : "", label ? "'" : "",
                         tok->label);
    if ((crv = get_ulong(tok, s, found[0], CKA_KEY_TYPE, &kt)) != CKR_OK ||
        (crv = get_bool(tok, s, found[0], CKA_SIGN, &can_sign)) != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading the key type");
    }
    switch (kt) {
    case CKK_RSA:
        key->type = HSMCA_KEY_RSA;
        break;
    case CKK_EC:
        key->type = HSMCA_KEY_EC;
        break;
    case CKK_EC_EDWARDS:
        key->type = HSMCA_KEY_ED25519;
        break;
    default:
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "key type 0x%lx is not RSA, EC or Ed25519", (unsigned long)kt);
    }
    if (!can_sign)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "the token key has CKA_SIGN = FALSE; it cannot sign");
    if ((crv = get_attr_alloc(tok, s, found[0], CKA_ID, &buf, &len)) != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading CKA_ID");
    }
    key->id = buf;
    key->id_len = len;
    if ((crv = get_attr_alloc(tok, s, found[0], CKA_LABEL, &buf, &len)) != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading CKA_LABEL");
    }
    key->label = calloc(1, len + 1);
    if (key->label == NULL) {
        free(buf);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    if (buf != NULL)
        memcpy(key->label, buf, len);
    free(buf);
    rv = load_public(key, s, found[0], crv_out);
    if (rv != HSMCA_OK)
        return rv;
    probe_caps(key, s, found[0]);
    key->handle = found[0];
    key->handle_epoch = s->epoch;
    key->handle_valid = true;
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_key_find(hsmca_p11_token *tok, const unsigned char *id, size_t id_len,
                            const char *label, hsmca_p11_key **out)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    hsmca_return_val_if_fail(tok != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if ((id == NULL || id_len == 0) && label == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "a key is found by CKA_ID or CKA_LABEL; neither given");
    for (int attempt = 0; attempt < 2; attempt++) {
        hsmca_p11_key *key = calloc(1, sizeof(*key));
        p11_session s;
        CK_RV crv = CKR_OK;

        if (key == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        atomic_init(&key->refs, 1);
        pthread_mutex_init(&key->handle_lock, NULL);
        hsmca_p11_token_up_ref(tok);
        key->tok = tok;
        rv = p11_session_get(tok, &s);
        if (rv != HSMCA_OK) {
            key_destroy(key);
            return rv;
        }
        rv = key_load(key, &s, id, id_len, label, &crv);
        p11_session_put(tok, &s, p11_ckr_recoverable(crv) ? P11_PUT_RESET : P11_PUT_OK);
        if (rv == HSMCA_OK) {
            *out = key;
            return HSMCA_OK;
        }
        key_destroy(key);
        if (!p11_ckr_recoverable(crv))
            break;
    }
    return rv;
}

#define FIND_ALL_MAX 4096

hsmca_rv hsmca_p11_key_find_all(hsmca_p11_token *tok, const unsigned char *id, size_t id_len,
                                const char *label, hsmca_p11_key **keys, size_t max, size_t *n)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    CK_OBJECT_HANDLE *found = NULL;
    unsigned char **ids = NULL;
    size_t *id_lens = NULL;
    CK_ULONG count = 0;
    p11_session s;

    hsmca_return_val_if_fail(tok != NULL && keys != NULL && n != NULL, HSMCA_ERR_INVALID_ARG);
    *n = 0;
    if (max == 0)
        return HSMCA_OK;
    if ((id != NULL && id_len > 0) || label != NULL) {
        hsmca_p11_key *key = NULL;
        rv = hsmca_p11_key_find(tok, id, id_len, label, &key);
        if (rv == HSMCA_OK) {
            keys[0] = key;
            *n = 1;
        }
        return rv;
    }
    if (max > FIND_ALL_MAX)
        max = FIND_ALL_MAX;
    found = calloc(max, sizeof(*found));
    ids = calloc(max, sizeof(*ids));
    id_lens = calloc(max, sizeof(*id_lens));
    if (found == NULL || ids == NULL || id_lens == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory listing keys");
        goto done;
    }
    rv = p11_session_get(tok, &s);
    if (rv != HSMCA_OK)
        goto done;
    rv = p11_find_objects(tok, &s, CKO_PRIVATE_KEY, NULL, 0, NULL, found, (CK_ULONG)max, &count);
    for (CK_ULONG i = 0; rv == HSMCA_OK && i < count; i++) {
        if (get_attr_alloc(tok, &s, found[i], CKA_ID, &ids[i], &id_lens[i]) != CKR_OK) {
            ids[i] = NULL;
            id_lens[i] = 0;
        }
    }
    p11_session_put(tok, &s, rv == HSMCA_ERR_HSM_UNAVAILABLE ? P11_PUT_RESET : P11_PUT_OK);
    if (rv != HSMCA_OK)
        goto done;
    for (CK_ULONG i = 0; i < count; i++) {
        hsmca_p11_key *key = NULL;
        if (ids[i] != NULL && id_lens[i] > 0 && hsmca_p11_key_find(tok, ids[i], id_lens[i], NULL, &key) == HSMCA_OK)
            keys[(*n)++] = key;
        else
            hsmca_log(HSMCA_LOG_NOTICE, "token '%s': skipping a private key hsmca cannot use: %s",
                      tok->label, ids[i] && id_lens[i] ? hsmca_err_message() : "it has no CKA_ID");
    }
    rv = HSMCA_OK;
done:
    for (size_t i = 0; ids != NULL && i < max; i++)
        free(ids[i]);
    free(ids);
    free(id_lens);
    free(found);
    return rv;
}

void hsmca_p11_key_up_ref(hsmca_p11_key *key)
{
    if (key != NULL)
        atomic_fetch_add(&key->refs, 1);
}

void hsmca_p11_key_free(hsmca_p11_key *key)
{
    if (key != NULL && atomic_fetch_sub(&key->refs, 1) == 1)
        key_destroy(key);
}

hsmca_key_type hsmca_p11_key_type(const hsmca_p11_key *key) { return key->type; }
unsigned hsmca_p11_key_bits(const hsmca_p11_key *key) { return key->bits; }
const char *hsmca_p11_key_curve(const hsmca_p11_key *key) { return key->curve; }
unsigned hsmca_p11_key_caps(const hsmca_p11_key *key) { return key->caps; }
const char *hsmca_p11_key_label(const hsmca_p11_key *key) { return key->label; }
hsmca_p11_token *hsmca_p11_key_get0_token(const hsmca_p11_key *key) { return key->tok; }
EVP_PKEY *hsmca_p11_key_get0_public(const hsmca_p11_key *key) { return key->pub; }

const unsigned char *hsmca_p11_key_id(const hsmca_p11_key *key, size_t *len)
{
    *len = key->id_len;
    return key->id;
}

size_t hsmca_p11_key_max_signature(const hsmca_p11_key *key)
{
    int n = EVP_PKEY_get_size(key->pub);
    return n > 0 ? (size_t)n : 0;
}

hsmca_rv hsmca_p11_key_check_scheme(const hsmca_p11_key *key, hsmca_sig_scheme scheme)
{
    static const char *const names[] = {"", "RSA PKCS#1 v1.5", "RSA-PSS", "ECDSA", "EdDSA"};
    bool ok = false;
    const char *need = "";

    switch (scheme) {
    case HSMCA_SIG_RSA_PKCS1:
        ok = key->type == HSMCA_KEY_RSA && (key->caps & (HSMCA_CAP_RSA_PKCS1 | HSMCA_CAP_RSA_RAW));
        need = "CKM_RSA_PKCS or CKM_RSA_X_509";
        break;
    case HSMCA_SIG_RSA_PSS:
        ok = key->type == HSMCA_KEY_RSA && (key->caps & (HSMCA_CAP_RSA_PSS | HSMCA_CAP_RSA_RAW));
        need = "CKM_RSA_PKCS_PSS or CKM_RSA_X_509";
        break;
    case HSMCA_SIG_ECDSA:
        ok = key->type == HSMCA_KEY_EC && (key->caps & HSMCA_CAP_ECDSA);
        need = "CKM_ECDSA";
        break;
    case HSMCA_SIG_EDDSA:
        ok = key->type == HSMCA_KEY_ED25519 && (key->caps & HSMCA_CAP_EDDSA);
        need = "CKM_EDDSA";
        break;
    default:
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "unknown signature scheme %d", (int)scheme);
    }
    if (ok)
        return HSMCA_OK;
    return hsmca_err(HSMCA_ERR_UNSUPPORTED,
                     "key '%s' cannot produce %s signatures: %s (token '%s' and the key's "
                     "CKA_ALLOWED_MECHANISMS must offer %s)",
                     key->label ? key->label : "", names[scheme],
                     (scheme == HSMCA_SIG_EDDSA && key->type != HSMCA_KEY_ED25519) ||
                             (scheme == HSMCA_SIG_ECDSA && key->type != HSMCA_KEY_EC) ||
                             ((scheme == HSMCA_SIG_RSA_PKCS1 || scheme == HSMCA_SIG_RSA_PSS) &&
                              key->type != HSMCA_KEY_RSA)
                         ? "wrong key type"
                         : "mechanism not available",
                     key->tok->label, need);
}

/* Returns the cached private-key handle for this session's epoch, looking
 * the object up again by CKA_ID after a reset: handles from dead sessions
 * are stale. */
static hsmca_rv key_handle(hsmca_p11_key *key, p11_session *s, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    hsmca_rv rv;

    pthread_mutex_lock(&key->handle_lock);
    if (key->handle_valid && key->handle_epoch == s->epoch) {
        *h = key->handle;
        pthread_mutex_unlock(&key->handle_lock);
        return HSMCA_OK;
    }
    pthread_mutex_unlock(&key->handle_lock);
    rv = p11_find_objects(key->tok, s, CKO_PRIVATE_KEY, key->id, key->id_len,
                          key->id_len ? NULL : key->label, found, 2, &n);
    if (rv != HSMCA_OK)
        return rv;
    if (n == 0) {
        /* A private object is invisible to a session that lost its login
         * (device removed and back): report it as such so the caller resets
         * the pool and retries once; a key really gone fails the retry. */
        return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                         "private key '%s' not visible on token '%s' (login lost or key deleted)",
                         key->label ? key->label : "", key->tok->label);
    }
    if (n != 1)
        return hsmca_err(HSMCA_ERR_EXISTS, "private key '%s' is no longer unique on token '%s'",
                         key->label ? key->label : "", key->tok->label);
    pthread_mutex_lock(&key->handle_lock);
    key->handle = found[0];
    key->handle_epoch = s->epoch;
    key->handle_valid = true;
    pthread_mutex_unlock(&key->handle_lock);
    *h = found[0];
    return HSMCA_OK;
}

/* Re-verifies a signature with the software public key. */
static bool signature_verifies(hsmca_p11_key *key, hsmca_sig_scheme scheme, const p11_md *md,
                               const unsigned char *tbs, size_t tbslen,
                               const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_MD_CTX *mctx = NULL;
    EVP_MD *evp = NULL;
    bool ok = false;

    if (scheme == HSMCA_SIG_EDDSA) {
        mctx = EVP_MD_CTX_new();
        ok = mctx != NULL &&
             EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, PROPQ_NOT_HSMCA, key->pub, NULL) == 1 &&
             EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) == 1;
        goto done;
    }
    evp = EVP_MD_fetch(NULL, md->name, PROPQ_NOT_HSMCA);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, PROPQ_NOT_HSMCA);
    if (evp == NULL || ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, evp) <= 0)
        goto done;
    if (scheme == HSMCA_SIG_RSA_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
        goto done;
    if (scheme == HSMCA_SIG_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, evp) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)md->len) <= 0))
        goto done;
    ok = EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_MD_free(evp);
    return ok;
}

/* Appends DER INTEGER of the unsigned big-endian v[len] at out. */
static size_t der_uint(const unsigned char *v, size_t len, unsigned char *out)
{
    size_t n = 0;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    out[n++] = 0x02;
    /* A leading 0x00 keeps the integer positive (X.690 8.3.2). */
    out[n++] = (unsigned char)(len + (v[0] & 0x80 ? 1 : 0));
    if (v[0] & 0x80)
        out[n++] = 0x00;
    memcpy(out + n, v, len);
    return n + len;
}

/* PKCS#11 ECDSA output is r || s, each the size of the group order; X.509
 * wants Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 2.2).
 * Encoded directly: through ECDSA_SIG and BIGNUMs it cost ~0.6 us a
 * signature (docs/performance.md). */
static hsmca_rv ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen, unsigned char *out,
                                 size_t *outlen)
{
    unsigned char body[2 * (2 + 1 + 66)];
    size_t half = rawlen / 2, blen, hdr;

    /* P-521 is the largest: 66 bytes per half. */
    if (rawlen == 0 || rawlen % 2 != 0 || half > 66)
        return hsmca_err(HSMCA_ERR_CRYPTO, "token returned a %zu-byte ECDSA signature", rawlen);
    blen = der_uint(raw, half, body);
    blen += der_uint(raw + half, half, body + blen);
    hdr = blen < 0x80 ? 2 : 3;
    if (hdr + blen > *outlen)
        return hsmca_err(HSMCA_ERR_INTERNAL, "ECDSA signature buffer too small");
    out[0] = 0x30;
    if (hdr == 2) {
        out[1] = (unsigned char)blen;
    } else {
        out[1] = 0x81;
        out[2] = (unsigned char)blen;
    }
    memcpy(out + hdr, body, blen);
    *outlen = hdr + blen;
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_key_sign(hsmca_p11_key *key, hsmca_sig_scheme scheme, const char *md_name,
                            const unsigned char *tbs, size_t tbslen, unsigned char *sig,
                            size_t *siglen)
{
    hsmca_rv rv;
    hsmca_p11_token *tok;
    const p11_md *md = NULL;
    unsigned char input[RSA_MAX_BYTES];
    unsigned char raw[RSA_MAX_BYTES];
    const unsigned char *in = tbs;
    size_t inlen = tbslen;
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = {0, NULL, 0};
    CK_ULONG rawlen = 0;
    size_t k = 0;
    bool retried = false, verify;

    hsmca_return_val_if_fail(key != NULL && tbs != NULL && sig != NULL && siglen != NULL,
                             HSMCA_ERR_INVALID_ARG);
    tok = key->tok;
    rv = hsmca_p11_key_check_scheme(key, scheme);
    if (rv != HSMCA_OK)
        return rv;
    if (scheme != HSMCA_SIG_EDDSA) {
        md = p11_md_lookup(md_name);
        if (md == NULL)
            return hsmca_err(HSMCA_ERR_UNSUPPORTED,
                             "digest '%s' is not supported for signing (use SHA256, SHA384 or SHA512)",
                             md_name ? md_name : "(none)");
        if (tbslen != md->len)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s digest to sign must be %zu bytes, got %zu",
                             md->name, md->len, tbslen);
    } else if (tbslen == 0 || tbslen > (1u << 24)) {
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "EdDSA message length %zu is outside 1..16 MiB", tbslen);
    }
    if (*siglen < hsmca_p11_key_max_signature(key))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "signature buffer of %zu bytes is too small (need %zu)",
                         *siglen, hsmca_p11_key_max_signature(key));

    /* Choose the mechanism and its input once; a retry signs the same bytes. */
    k = (key->bits + 7) / 8;
    switch (scheme) {
    case HSMCA_SIG_RSA_PKCS1:
        if (key->caps & HSMCA_CAP_RSA_PKCS1) {
            mech.mechanism = CKM_RSA_PKCS;
            memcpy(input, md->di, md->di_len);
            memcpy(input + md->di_len, tbs, tbslen);
            in = input;
            inlen = md->di_len + tbslen;
        } else {
            mech.mechanism = CKM_RSA_X_509;
            rv = p11_rsa_pad_pkcs1(md, tbs, tbslen, input, k);
            in = input;
            inlen = k;
        }
        break;
    case HSMCA_SIG_RSA_PSS:
        if (key->caps & HSMCA_CAP_RSA_PSS) {
            pss.hashAlg = md->ckm;
            pss.mgf = md->mgf;
            pss.sLen = md->len; /* salt = hash length (RFC 8017 9.1 recommendation) */
            mech.mechanism = CKM_RSA_PKCS_PSS;
            mech.pParameter = &pss;
            mech.ulParameterLen = sizeof(pss);
        } else {
            mech.mechanism = CKM_RSA_X_509;
            rv = p11_rsa_pad_pss(md, tbs, tbslen, key->bits, input, k);
            in = input;
            inlen = k;
        }
        break;
    case HSMCA_SIG_ECDSA:
        mech.mechanism = CKM_ECDSA;
        break;
    case HSMCA_SIG_EDDSA:
        mech.mechanism = CKM_EDDSA;
        break;
    }
    if (rv != HSMCA_OK)
        goto done;

    for (int attempt = 0; attempt < 2; attempt++) {
        p11_session s;
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        CK_RV crv;

        rv = p11_session_get(tok, &s);
        if (rv != HSMCA_OK)
            goto done;
        rv = key_handle(key, &s, &h);
        if (rv != HSMCA_OK) {
            bool again = hsmca_err_last() == HSMCA_ERR_HSM_UNAVAILABLE;
            p11_session_put(tok, &s, again ? P11_PUT_RESET : P11_PUT_OK);
            if (again && attempt == 0) {
                retried = true;
                continue;
            }
            goto done;
        }
        rawlen = sizeof(raw);
        crv = p11_C_SignInit(tok->mod, s.h, &mech, h);
        if (crv == CKR_OK) {
            crv = p11_C_Sign(tok->mod, s.h, in, inlen, raw, &rawlen);
        }
        if (crv == CKR_OK) {
            p11_session_put(tok, &s, P11_PUT_OK);
            rv = HSMCA_OK;
            break;
        }
        rv = p11_fail(crv, crv == CKR_OK ? "C_Sign" : "C_SignInit/C_Sign", "signing in the token");
        /* A session whose operation state is unknown is never reused. */
        p11_session_put(tok, &s, p11_ckr_recoverable(crv) ? P11_PUT_RESET : P11_PUT_CLOSE);
        if (!p11_ckr_recoverable(crv))
            goto done;
        hsmca_log(HSMCA_LOG_WARNING, "token '%s': signing failed with %s; recovering and retrying once",
                  tok->label, p11_ckr_name(crv));
        retried = true;
        rv = hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE, "HSM unavailable: signing with key '%s' failed with %s "
                       "after recovery", key->label ? key->label : "", p11_ckr_name(crv));
    }
    if (rv != HSMCA_OK)
        goto done;

    if (scheme == HSMCA_SIG_ECDSA) {
        rv = ecdsa_raw_to_der(raw, rawlen, sig, siglen);
        if (rv != HSMCA_OK)
            goto done;
    } else {
        if (rawlen > *siglen) {
            rv = hsmca_err(HSMCA_ERR_INTERNAL, "token returned a %lu-byte signature", (unsigned long)rawlen);
            goto done;
        }
        memcpy(sig, raw, rawlen);
        *siglen = rawlen;
    }

    switch (tok->verify) {
    case HSMCA_VERIFY_ALWAYS:
        verify = true;
        break;
    case HSMCA_VERIFY_AFTER_RETRY:
        verify = retried;
        break;
    case HSMCA_VERIFY_ALWAYS_RSA:
    default:
        verify = retried || key->type == HSMCA_KEY_RSA;
        break;
    }
    if (verify && !signature_verifies(key, scheme, md, tbs, tbslen, sig, *siglen)) {
        atomic_fetch_add(&tok->bad_signatures, 1);
        OPENSSL_cleanse(sig, *siglen);
        *siglen = 0;
        rv = hsmca_err(HSMCA_ERR_BAD_SIGNATURE,
                       "token '%s' returned a signature with key '%s' that does not verify; discarded",
                       tok->label, key->label ? key->label : "");
        hsmca_log(HSMCA_LOG_ERR, "%s", hsmca_err_message());
    }
done:
    if (rv != HSMCA_OK)
        p11_token_record_error(tok, rv, hsmca_err_message());
    OPENSSL_cleanse(input, sizeof(input));
    return rv;
}
