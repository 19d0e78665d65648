/* SPDX-License-Identifier: Apache-2.0 */
/* Digest descriptions for PKCS#11 mechanisms, and RSA signature encodings
 * (RFC 8017 EMSA-PKCS1-v1_5 and EMSA-PSS) made in software for tokens that
 * only offer raw RSA (CKM_RSA_X_509). Only the private-key operation then
 * runs in the token. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"

/* DER of DigestInfo up to the digest octets (RFC 8017 9.2, note 1). */
static const unsigned char di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const p11_md md_table[] = {
    {"SHA256", 32, CKM_SHA256, CKG_MGF1_SHA256, di_sha256, sizeof(di_sha256)},
    {"SHA384", 48, CKM_SHA384, CKG_MGF1_SHA384, di_sha384, sizeof(di_sha384)},
    {"SHA512", 64, CKM_SHA512, CKG_MGF1_SHA512, di_sha512, sizeof(di_sha512)},
};

const p11_md *p11_md_lookup(const char *name)
{
    /* Accept OpenSSL's spellings: "SHA256", "SHA2-256", "sha-256". */
    static const char *const aliases[][3] = {
        {"SHA256", "SHA2-256", "SHA-256"},
        {"SHA384", "SHA2-384", "SHA-384"},
        {"SHA512", "SHA2-512", "SHA-512"},
    };
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(md_table) / sizeof(md_table[0]); i++) {
        for (size_t j = 0; j < 3; j++) {
            if (strcasecmp(name, aliases[i][j]) == 0)
                return &md_table[i];
        }
    }
    return NULL;
}

hsmca_rv p11_rsa_pad_pkcs1(const p11_md *md, const unsigned char *digest, size_t dlen,
                           unsigned char *em, size_t k)
{
    size_t tlen = md->di_len + md->len;

    if (dlen != md->len)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s digest must be %zu bytes, got %zu", md->name,
                         md->len, dlen);
    /* RFC 8017 9.2 step 3: emLen < tLen + 11 -> "intended encoded message
     * length too short". */
    if (k < tlen + 11)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "RSA modulus too short for %s PKCS#1 v1.5", md->name);
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, k - tlen - 3);
    em[k - tlen - 1] = 0x00;
    memcpy(em + k - tlen, md->di, md->di_len);
    memcpy(em + k - md->len, digest, md->len);
    return HSMCA_OK;
}

/* MGF1 (RFC 8017 B.2.1) XORed into out[len]. */
static hsmca_rv mgf1_xor(const EVP_MD *evp, const unsigned char *seed, size_t seed_len,
                         unsigned char *out, size_t len)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    unsigned char block[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t hlen = (size_t)EVP_MD_get_size(evp);
    uint32_t counter = 0;

    if (ctx == NULL)
        goto done;
    for (size_t off = 0; off < len; counter++) {
        unsigned char c[4] = {(unsigned char)(counter >> 24), (unsigned char)(counter >> 16),
                              (unsigned char)(counter >> 8), (unsigned char)counter};
        unsigned int outl = 0;
        if (!EVP_DigestInit_ex(ctx, evp, NULL) || !EVP_DigestUpdate(ctx, seed, seed_len) ||
            !EVP_DigestUpdate(ctx, c, sizeof(c)) || !EVP_DigestFinal_ex(ctx, block, &outl))
            goto done;
        for (size_t i = 0; i < hlen && off < len; i++, off++)
            out[off] ^= block[i];
    }
    rv = HSMCA_OK;
done:
    OPENSSL_cleanse(block, sizeof(block));
    EVP_MD_CTX_free(ctx);
    return rv;
}

hsmca_rv p11_rsa_pad_pss(const p11_md *md, const unsigned char *digest, size_t dlen,
                         unsigned mod_bits, unsigned char *em_out, size_t k)
{
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    EVP_MD *evp = NULL;
    EVP_MD_CTX *ctx = NULL;
    unsigned char salt[EVP_MAX_MD_SIZE];
    unsigned char h[EVP_MAX_MD_SIZE];
    static const unsigned char zeros[8] = {0};
    size_t hlen = md->len;
    size_t slen = hlen; /* salt length = hash length (RFC 8017 9.1 note) */
    size_t em_bits = mod_bits - 1;
    size_t em_len = (em_bits + 7) / 8;
    unsigned char *em;
    size_t db_len;
    unsigned int outl = 0;

    if (dlen != hlen)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s digest must be %zu bytes, got %zu", md->name,
                         hlen, dlen);
    /* RFC 8017 9.1.1 step 3. */
    if (em_len < hlen + slen + 2 || em_len > k)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "RSA modulus too short for %s PSS", md->name);
    /* When emBits is a multiple of 8 the encoded message is one octet
     * shorter than the modulus and the signature input gets a leading 0. */
    memset(em_out, 0, k);
    em = em_out + (k - em_len);
    db_len = em_len - hlen - 1;

    evp = EVP_MD_fetch(NULL, md->name, "provider!=hsmca");
    ctx = EVP_MD_CTX_new();
    if (evp == NULL || ctx == NULL)
        goto done;
    if (RAND_bytes(salt, (int)slen) != 1)
        goto done;
    /* H = Hash(0x00*8 || mHash || salt) */
    if (!EVP_DigestInit_ex(ctx, evp, NULL) || !EVP_DigestUpdate(ctx, zeros, sizeof(zeros)) ||
        !EVP_DigestUpdate(ctx, digest, hlen) || !EVP_DigestUpdate(ctx, salt, slen) ||
        !EVP_DigestFinal_ex(ctx, h, &outl))
        goto done;
    /* DB = PS || 0x01 || salt, then maskedDB = DB xor MGF1(H). */
    em[db_len - slen - 1] = 0x01;
    memcpy(em + db_len - slen, salt, slen);
    if (mgf1_xor(evp, h, hlen, em, db_len) != HSMCA_OK)
        goto done;
    /* Clear the leftmost 8*emLen - emBits bits. */
    em[0] &= (unsigned char)(0xffu >> (8 * em_len - em_bits));
    memcpy(em + db_len, h, hlen);
    em[em_len - 1] = 0xbc;
    rv = HSMCA_OK;
done:
    if (rv != HSMCA_OK)
        hsmca_err(rv, "encoding RSA-PSS in software failed");
    OPENSSL_cleanse(salt, sizeof(salt));
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(evp);
    return rv;
}
