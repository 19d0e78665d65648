/* SPDX-License-Identifier: Apache-2.0 */
/* The key-slot manager: key references to token objects, with names kept
 * unique on the token and ids kept as CKA_ID. */
#include "hsmca/keyslot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "hsmca/provider.h"

#define KEYSLOT_LIST_MAX 4096
#define PEM_IMPORT_MAX (64 * 1024)

struct hsmca_keyslot {
    hsmca_p11_token *tok;
    /* Serialises creation, renaming and deletion so two callers cannot both
     * pass the uniqueness check for one name. */
    pthread_mutex_t lock;
};

hsmca_rv hsmca_keyslot_new(hsmca_p11_token *tok, hsmca_keyslot **out)
{
    hsmca_keyslot *ks;

    hsmca_return_val_if_fail(tok != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    ks = calloc(1, sizeof(*ks));
    if (ks == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_p11_token_up_ref(tok);
    ks->tok = tok;
    pthread_mutex_init(&ks->lock, NULL);
    *out = ks;
    return HSMCA_OK;
}

void hsmca_keyslot_free(hsmca_keyslot *ks)
{
    if (ks == NULL)
        return;
    hsmca_p11_token_free(ks->tok);
    pthread_mutex_destroy(&ks->lock);
    free(ks);
}

hsmca_p11_token *hsmca_keyslot_get0_token(const hsmca_keyslot *ks)
{
    return ks->tok;
}

hsmca_rv hsmca_keyslot_parse_type(const char *key_type, unsigned key_bits, hsmca_key_type *type,
                                  unsigned *bits)
{
    if (key_type == NULL || strcmp(key_type, "rsa") == 0) {
        *type = HSMCA_KEY_RSA;
        *bits = key_bits ? key_bits : 2048;
        if (*bits != 2048 && *bits != 3072 && *bits != 4096)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %u is not valid for key_type rsa (2048, 3072 or 4096)", key_bits);
        return HSMCA_OK;
    }
    if (strcmp(key_type, "ec") == 0) {
        *type = HSMCA_KEY_EC;
        *bits = key_bits ? key_bits : 256;
        if (*bits != 256 && *bits != 384 && *bits != 521)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_bits %u is not valid for key_type ec (256, 384 or 521)", key_bits);
        return HSMCA_OK;
    }
    if (strcmp(key_type, "ed25519") == 0) {
        *type = HSMCA_KEY_ED25519;
        *bits = 0;
        if (key_bits != 0 && key_bits != 256)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %u is not valid for key_type ed25519 (0)", key_bits);
        return HSMCA_OK;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_type '%s' is not one of rsa, ec, ed25519", key_type);
}

hsmca_rv hsmca_keyslot_check_name(const char *name)
{
    unsigned char scratch[16];
    size_t len;

    if (name == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_name is missing");
    len = strlen(name);
    if (len == 0 || len > HSMCA_KEY_NAME_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_name must be 1 to %d bytes long", HSMCA_KEY_NAME_MAX);
    /* OpenBao reserves "default" as the reference to the default key. */
    if (strcmp(name, "default") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_name 'default' is reserved");
    /* A name that reads as a key_id would make references ambiguous. */
    if (hsmca_uuid_parse(name, scratch))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_name '%s' looks like a key_id (UUID)", name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "key_name may not contain control characters or '/' (byte %zu)", i);
    }
    return HSMCA_OK;
}

/* key_id of a key: its CKA_ID when that is 16 bytes (every key hsmca
 * creates), else a stable UUIDv8 derived from CKA_ID for keys made by other
 * tools (pkcs11-tool --id 01). */
static void key_id_of(const hsmca_p11_key *key, unsigned char out[16], int *native)
{
    size_t len = 0;
    const unsigned char *id = hsmca_p11_key_id(key, &len);
    unsigned char h[SHA256_DIGEST_LENGTH];
    static const char domain[] = "hsmca CKA_ID to key_id";
    EVP_MD_CTX *ctx;

    if (len == 16) {
        memcpy(out, id, 16);
        *native = 1;
        return;
    }
    *native = 0;
    memset(h, 0, sizeof(h));
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) &&
        EVP_DigestUpdate(ctx, domain, sizeof(domain) - 1) && EVP_DigestUpdate(ctx, id, len))
        EVP_DigestFinal_ex(ctx, h, NULL);
    EVP_MD_CTX_free(ctx);
    memcpy(out, h, 16);
    hsmca_uuid_set_version(out, 8);
}

static hsmca_rv info_from_key(const hsmca_p11_key *key, hsmca_keyslot_info *info)
{
    unsigned char id[16];
    unsigned char *der = NULL;
    const char *label = hsmca_p11_key_label(key);
    int len;

    memset(info, 0, sizeof(*info));
    key_id_of(key, id, &info->native_id);
    hsmca_uuid_format(id, info->key_id);
    snprintf(info->key_name, sizeof(info->key_name), "%s", label ? label : "");
    info->type = hsmca_p11_key_type(key);
    info->bits = info->type == HSMCA_KEY_ED25519 ? 0 : hsmca_p11_key_bits(key);
    if (hsmca_p11_key_curve(key) != NULL)
        snprintf(info->curve, sizeof(info->curve), "%s", hsmca_p11_key_curve(key));
    info->caps = hsmca_p11_key_caps(key);
    len = i2d_PUBKEY(hsmca_p11_key_get0_public(key), &der);
    if (len <= 0)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the public key");
    SHA256(der, (size_t)len, info->spki_sha256);
    OPENSSL_free(der);
    return HSMCA_OK;
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const hsmca_keyslot_info *)a)->key_id, ((const hsmca_keyslot_info *)b)->key_id);
}

/* Finds the key a reference names. */
static hsmca_rv resolve(hsmca_keyslot *ks, const char *ref, hsmca_p11_key **out)
{
    unsigned char id[16];
    hsmca_p11_key **all = NULL;
    size_t n = 0;
    hsmca_rv rv;

    *out = NULL;
    if (ref == NULL || ref[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key reference is empty");
    if (!hsmca_uuid_parse(ref, id)) {
        rv = hsmca_p11_key_find(ks->tok, NULL, 0, ref, out);
        if (rv == HSMCA_ERR_NOT_FOUND)
            return hsmca_err(HSMCA_ERR_NOT_FOUND, "no key named '%s'", ref);
        return rv;
    }
    rv = hsmca_p11_key_find(ks->tok, id, sizeof(id), NULL, out);
    if (rv != HSMCA_ERR_NOT_FOUND)
        return rv;
    /* Not a native id: look for a foreign key whose derived id matches. */
    all = calloc(KEYSLOT_LIST_MAX, sizeof(*all));
    if (all == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = hsmca_p11_key_find_all(ks->tok, NULL, 0, NULL, all, KEYSLOT_LIST_MAX, &n);
    if (rv == HSMCA_OK)
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "no key with key_id '%s'", ref);
    for (size_t i = 0; i < n; i++) {
        unsigned char derived[16];
        int native;
        key_id_of(all[i], derived, &native);
        if (*out == NULL && !native && memcmp(derived, id, 16) == 0) {
            *out = all[i];
            all[i] = NULL;
            rv = HSMCA_OK;
        }
        hsmca_p11_key_free(all[i]);
    }
    free(all);
    return rv;
}

hsmca_rv hsmca_keyslot_lookup(hsmca_keyslot *ks, const char *ref, hsmca_keyslot_info *out)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv = resolve(ks, ref, &key);

    if (rv == HSMCA_OK)
        rv = info_from_key(key, out);
    hsmca_p11_key_free(key);
    return rv;
}

hsmca_rv hsmca_keyslot_get1_key(hsmca_keyslot *ks, const char *ref, hsmca_p11_key **out)
{
    return resolve(ks, ref, out);
}

/* Under ks->lock: a name is free when no key object on the token carries it
 * (private or public, ours or not). */
static hsmca_rv name_is_free(hsmca_keyslot *ks, const char *name)
{
    size_t count = 0;
    hsmca_rv rv = hsmca_p11_count_labelled(ks->tok, name, &count);

    if (rv != HSMCA_OK)
        return rv;
    if (count > 0)
        return hsmca_err(HSMCA_ERR_EXISTS, "a key named '%s' already exists on token '%s'", name,
                         hsmca_p11_token_label(ks->tok));
    return HSMCA_OK;
}

static hsmca_rv new_id(hsmca_keyslot *ks, unsigned char id[16])
{
    /* Random from the token (C_GenerateRandom): a second source besides
     * OpenSSL's, and the one DESIGN.md names for identifiers. */
    hsmca_rv rv = hsmca_p11_token_random(ks->tok, id, 16);

    if (rv != HSMCA_OK)
        return rv;
    hsmca_uuid_set_version(id, 4);
    return HSMCA_OK;
}

hsmca_rv hsmca_keyslot_generate(hsmca_keyslot *ks, const char *name, hsmca_key_type type,
                                unsigned bits, hsmca_keyslot_info *out)
{
    unsigned char id[16];
    hsmca_p11_key *key = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ks != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    if (name == NULL)
        name = "";
    if (name[0] != '\0' && (rv = hsmca_keyslot_check_name(name)) != HSMCA_OK)
        return rv;
    if (type == HSMCA_KEY_RSA && bits != 2048 && bits != 3072 && bits != 4096)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %u is not valid for key_type rsa (2048, 3072 or 4096)", bits);
    if (type == HSMCA_KEY_EC && bits != 256 && bits != 384 && bits != 521)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %u is not valid for key_type ec (256, 384 or 521)", bits);
    pthread_mutex_lock(&ks->lock);
    if (name[0] != '\0' && (rv = name_is_free(ks, name)) != HSMCA_OK)
        goto done;
    if ((rv = new_id(ks, id)) != HSMCA_OK)
        goto done;
    rv = hsmca_p11_generate(ks->tok, type, bits, id, sizeof(id), name, &key);
    if (rv != HSMCA_OK)
        goto done;
    rv = info_from_key(key, out);
    if (rv == HSMCA_OK)
        hsmca_log(HSMCA_LOG_NOTICE, "generated key %s '%s' in token '%s'", out->key_id, name,
                  hsmca_p11_token_label(ks->tok));
done:
    pthread_mutex_unlock(&ks->lock);
    hsmca_p11_key_free(key);
    return rv;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    /* Encrypted PEM is refused: a passphrase would have to come from
     * somewhere, and every such channel is a place a secret can leak. */
    return -1;
}

hsmca_rv hsmca_keyslot_import_pem(hsmca_keyslot *ks, const char *name, const char *pem,
                                  size_t pem_len, hsmca_keyslot_info *out)
{
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    hsmca_keyslot_info *existing = NULL;
    size_t n_existing = 0;
    unsigned char id[16];
    unsigned char spki_hash[SHA256_DIGEST_LENGTH];
    unsigned char *der = NULL;
    EVP_PKEY *priv = NULL;
    hsmca_p11_key *key = NULL;
    BIO *bio = NULL;
    int der_len;

    hsmca_return_val_if_fail(ks != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    if (name == NULL)
        name = "";
    if (name[0] != '\0' && (rv = hsmca_keyslot_check_name(name)) != HSMCA_OK)
        return rv;
    if (pem == NULL || pem_len == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle is empty");
    if (pem_len > PEM_IMPORT_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "pem_bundle is larger than %d bytes", PEM_IMPORT_MAX);
    bio = BIO_new_mem_buf(pem, (int)pem_len);
    if (bio == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    priv = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, "provider!=hsmca");
    ERR_clear_error();
    if (priv == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "pem_bundle holds no unencrypted private key (PKCS#8, RSA or EC PEM)");
        goto done;
    }
    der_len = i2d_PUBKEY(priv, &der);
    if (der_len <= 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "the private key in pem_bundle has no usable public key");
        goto done;
    }
    SHA256(der, (size_t)der_len, spki_hash);

    pthread_mutex_lock(&ks->lock);
    /* Importing a key that is already on the token returns that key, as
     * OpenBao does, instead of a second copy under a new id. */
    rv = hsmca_keyslot_list(ks, &existing, &n_existing);
    if (rv != HSMCA_OK)
        goto unlock;
    for (size_t i = 0; i < n_existing; i++) {
        if (memcmp(existing[i].spki_sha256, spki_hash, sizeof(spki_hash)) == 0) {
            *out = existing[i];
            rv = HSMCA_OK;
            goto unlock;
        }
    }
    if (name[0] != '\0' && (rv = name_is_free(ks, name)) != HSMCA_OK)
        goto unlock;
    if ((rv = new_id(ks, id)) != HSMCA_OK)
        goto unlock;
    rv = hsmca_p11_import(ks->tok, priv, id, sizeof(id), name, &key);
    if (rv == HSMCA_OK)
        rv = info_from_key(key, out);
    if (rv == HSMCA_OK)
        hsmca_log(HSMCA_LOG_NOTICE, "imported key %s '%s' into token '%s'", out->key_id, name,
                  hsmca_p11_token_label(ks->tok));
unlock:
    pthread_mutex_unlock(&ks->lock);
done:
    OPENSSL_free(existing);
    OPENSSL_free(der);
    /* EVP_PKEY_free clears private components (BN_clear_free, secure heap). */
    EVP_PKEY_free(priv);
    BIO_free(bio);
    hsmca_p11_key_free(key);
    return rv;
}

hsmca_rv hsmca_keyslot_list(hsmca_keyslot *ks, hsmca_keyslot_info **out, size_t *n)
{
    hsmca_p11_key **keys = NULL;
    hsmca_keyslot_info *infos = NULL;
    size_t count = 0, good = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ks != NULL && out != NULL && n != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    *n = 0;
    keys = calloc(KEYSLOT_LIST_MAX, sizeof(*keys));
    if (keys == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    rv = hsmca_p11_key_find_all(ks->tok, NULL, 0, NULL, keys, KEYSLOT_LIST_MAX, &count);
    if (rv != HSMCA_OK)
        goto done;
    infos = OPENSSL_zalloc((count ? count : 1) * sizeof(*infos));
    if (infos == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if (info_from_key(keys[i], &infos[good]) == HSMCA_OK)
            good++;
    }
    qsort(infos, good, sizeof(*infos), info_cmp);
    *out = infos;
    *n = good;
    infos = NULL;
done:
    for (size_t i = 0; i < count; i++)
        hsmca_p11_key_free(keys[i]);
    free(keys);
    OPENSSL_free(infos);
    return rv;
}

hsmca_rv hsmca_keyslot_rename(hsmca_keyslot *ks, const char *ref, const char *new_name)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ks != NULL, HSMCA_ERR_INVALID_ARG);
    if (new_name == NULL)
        new_name = "";
    if (new_name[0] != '\0' && (rv = hsmca_keyslot_check_name(new_name)) != HSMCA_OK)
        return rv;
    pthread_mutex_lock(&ks->lock);
    rv = resolve(ks, ref, &key);
    if (rv != HSMCA_OK)
        goto done;
    {
        const char *old = hsmca_p11_key_label(key);
        if (old != NULL && strcmp(old, new_name) == 0)
            goto done; /* unchanged */
    }
    if (new_name[0] != '\0' && (rv = name_is_free(ks, new_name)) != HSMCA_OK)
        goto done;
    rv = hsmca_p11_key_set_label(key, new_name);
done:
    pthread_mutex_unlock(&ks->lock);
    hsmca_p11_key_free(key);
    return rv;
}

hsmca_rv hsmca_keyslot_delete(hsmca_keyslot *ks, const char *ref)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ks != NULL, HSMCA_ERR_INVALID_ARG);
    pthread_mutex_lock(&ks->lock);
    rv = resolve(ks, ref, &key);
    if (rv == HSMCA_OK)
        rv = hsmca_p11_key_destroy(key);
    pthread_mutex_unlock(&ks->lock);
    hsmca_p11_key_free(key);
    return rv;
}

hsmca_rv hsmca_keyslot_export_spki(hsmca_keyslot *ks, const char *ref, unsigned char **der, size_t *len)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv = resolve(ks, ref, &key);
    int n;

    *der = NULL;
    *len = 0;
    if (rv != HSMCA_OK)
        return rv;
    n = i2d_PUBKEY(hsmca_p11_key_get0_public(key), der);
    hsmca_p11_key_free(key);
    if (n <= 0)
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the public key");
    *len = (size_t)n;
    return HSMCA_OK;
}

hsmca_rv hsmca_keyslot_export_public_pem(hsmca_keyslot *ks, const char *ref, char **pem)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv = resolve(ks, ref, &key);
    BIO *bio = NULL;
    BUF_MEM *mem = NULL;

    *pem = NULL;
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the public key as PEM");
    bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_PUBKEY(bio, hsmca_p11_key_get0_public(key)) == 1 &&
        BIO_get_mem_ptr(bio, &mem) == 1 && mem != NULL) {
        *pem = OPENSSL_strndup(mem->data, mem->length);
        rv = *pem ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    BIO_free(bio);
    hsmca_p11_key_free(key);
    return rv;
}

hsmca_rv hsmca_keyslot_get1_pkey(hsmca_keyslot *ks, const char *ref, OSSL_LIB_CTX *libctx, EVP_PKEY **out)
{
    hsmca_p11_key *key = NULL;
    hsmca_rv rv = resolve(ks, ref, &key);

    *out = NULL;
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_provider_pkey_from_key(libctx, key, out);
    hsmca_p11_key_free(key);
    return rv;
}
