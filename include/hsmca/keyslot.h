/* SPDX-License-Identifier: Apache-2.0 */
/* The key-slot manager: maps key references (a UUID key_id or a unique
 * key_name) to token key pairs, and creates, imports, renames and deletes
 * them. Issuer private keys never leave the token; only public keys do. */
#ifndef HSMCA_KEYSLOT_H
#define HSMCA_KEYSLOT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "hsmca/p11.h"
#include "hsmca/rv.h"
#include "hsmca/uuid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_keyslot hsmca_keyslot;

#define HSMCA_KEY_NAME_MAX 128

typedef struct {
    char key_id[HSMCA_UUID_STR_LEN + 1]; /* CKA_ID as a UUID */
    char key_name[HSMCA_KEY_NAME_MAX + 1]; /* CKA_LABEL; "" if unnamed */
    hsmca_key_type type;
    unsigned bits;      /* RSA modulus / EC field size; 0 for Ed25519 (as OpenBao) */
    char curve[8];      /* "P-256" ... for EC, "" otherwise */
    unsigned caps;      /* HSMCA_CAP_* from the capability probe */
    unsigned char spki_sha256[32]; /* SHA-256 of the DER SubjectPublicKeyInfo */
    /* false when CKA_ID is not 16 bytes (a key made by another tool): its
     * key_id is then derived from CKA_ID and stable, but not CKA_ID itself. */
    int native_id;
} hsmca_keyslot_info;

/* The manager holds a reference to tok. */
hsmca_rv hsmca_keyslot_new(hsmca_p11_token *tok, hsmca_keyslot **out);
void hsmca_keyslot_free(hsmca_keyslot *ks);
hsmca_p11_token *hsmca_keyslot_get0_token(const hsmca_keyslot *ks);

/* OpenBao's key_type/key_bits: "rsa" (2048 default, 3072, 4096), "ec" (256
 * default, 384, 521), "ed25519" (bits 0). */
hsmca_rv hsmca_keyslot_parse_type(const char *key_type, unsigned key_bits,
                                  hsmca_key_type *type, unsigned *bits);
/* Whether name is acceptable as a key_name: 1..128 bytes, no control
 * characters or '/', not "default", not shaped like a UUID. */
hsmca_rv hsmca_keyslot_check_name(const char *name);

/* Generates a key pair in the token. name may be "" (unnamed); a name
 * already used by any token key is refused with HSMCA_ERR_EXISTS. */
hsmca_rv hsmca_keyslot_generate(hsmca_keyslot *ks, const char *name, hsmca_key_type type,
                                unsigned bits, hsmca_keyslot_info *out);

/* Imports one PEM private key (PKCS#8, traditional RSA/EC, unencrypted) into
 * the token as sensitive and non-extractable; the parsed software key is
 * cleansed before this returns. The caller cleanses pem. */
hsmca_rv hsmca_keyslot_import_pem(hsmca_keyslot *ks, const char *name, const char *pem,
                                  size_t pem_len, hsmca_keyslot_info *out);

/* Every usable key on the token, sorted by key_id. Free with OPENSSL_free. */
hsmca_rv hsmca_keyslot_list(hsmca_keyslot *ks, hsmca_keyslot_info **out, size_t *n);

/* ref: a key_id (UUID) or a key_name. */
hsmca_rv hsmca_keyslot_lookup(hsmca_keyslot *ks, const char *ref, hsmca_keyslot_info *out);
hsmca_rv hsmca_keyslot_rename(hsmca_keyslot *ks, const char *ref, const char *new_name);
hsmca_rv hsmca_keyslot_delete(hsmca_keyslot *ks, const char *ref);

/* DER SubjectPublicKeyInfo of the key (the only key material that leaves).
 * Free with OPENSSL_free. */
hsmca_rv hsmca_keyslot_export_spki(hsmca_keyslot *ks, const char *ref, unsigned char **der, size_t *len);
/* The same as PEM ("-----BEGIN PUBLIC KEY-----"); free with OPENSSL_free. */
hsmca_rv hsmca_keyslot_export_public_pem(hsmca_keyslot *ks, const char *ref, char **pem);

/* The token key object for ref (a new reference). */
hsmca_rv hsmca_keyslot_get1_key(hsmca_keyslot *ks, const char *ref, hsmca_p11_key **out);

/* An EVP_PKEY whose signatures are made in the token through the hsmca
 * provider loaded in libctx (see hsmca_provider_load). */
hsmca_rv hsmca_keyslot_get1_pkey(hsmca_keyslot *ks, const char *ref, OSSL_LIB_CTX *libctx,
                                 EVP_PKEY **out);

#ifdef __cplusplus
}
#endif
#endif
