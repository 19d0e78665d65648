/* SPDX-License-Identifier: Apache-2.0 */
/* Token strings and accessors: generation from the CSPRNG, the hash that
 * stands for a token in the store, and the rules for chosen token ids. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Body characters of a token: 24 base62 characters carry 142.9 bits, above
 * the 128 bits a bearer secret needs against online and offline guessing. */
#define TOKEN_BODY_LEN 24

/* Fills out[0..n-1] with uniform base62 characters. Bytes >= 248 (= 4 * 62)
 * are rejected so that every character is equally likely (no modulo bias).
 * priv selects RAND_priv_bytes, the generator OpenSSL keeps apart for
 * values that must stay secret. */
static hsmca_rv random_base62(char *out, size_t n, bool priv)
{
    unsigned char buf[64];
    size_t have = 0, used = 0, filled = 0;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;
    /* Each draw keeps 248/256 of its bytes; 16 refills cannot all come up
     * short for n <= 64 unless the generator is broken. */
    unsigned refills = 0;

    while (filled < n) {
        if (used == have) {
            if (refills++ >= 16) {
                rv = hsmca_err(HSMCA_ERR_CRYPTO, "random generator produced too many rejected bytes");
                goto done;
            }
            if ((priv ? RAND_priv_bytes(buf, (int)sizeof(buf)) : RAND_bytes(buf, (int)sizeof(buf))) != 1) {
                rv = hsmca_err(HSMCA_ERR_CRYPTO, "random generator failed (%s)", priv ? "RAND_priv_bytes" : "RAND_bytes");
                goto done;
            }
            have = sizeof(buf);
            used = 0;
        }
        if (buf[used] < 248)
            out[filled++] = base62[buf[used] % 62];
        used++;
    }
    out[n] = '\0';
    rv = HSMCA_OK;
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rv;
}

hsmca_rv auth_token_generate(hsmca_auth_secret *out)
{
    hsmca_rv rv;

    memset(out->token, 0, sizeof(out->token));
    out->token[0] = 's';
    out->token[1] = '.';
    rv = random_base62(out->token + 2, TOKEN_BODY_LEN, true);
    if (rv != HSMCA_OK)
        OPENSSL_cleanse(out->token, sizeof(out->token));
    return rv;
}

hsmca_rv auth_accessor_generate(char out[HSMCA_AUTH_ACCESSOR_LEN + 1])
{
    return random_base62(out, HSMCA_AUTH_ACCESSOR_LEN, false);
}

bool auth_accessor_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strnlen(s, HSMCA_AUTH_ACCESSOR_LEN + 1);
    if (n != HSMCA_AUTH_ACCESSOR_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strchr(base62, s[i]) == NULL)
            return false;
    }
    return true;
}

hsmca_rv auth_token_hash(const char *token, size_t len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int md_len = 0;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    if (EVP_Digest(token, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != sizeof(md)) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "SHA-256 of a token failed");
        goto done;
    }
    for (size_t i = 0; i < sizeof(md); i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0x0f];
    }
    hex[AUTH_HASH_HEX] = '\0';
    rv = HSMCA_OK;
done:
    OPENSSL_cleanse(md, sizeof(md));
    return rv;
}

hsmca_rv auth_chosen_id_check(const char *id)
{
    size_t n = strnlen(id, HSMCA_AUTH_TOKEN_MAX + 1);

    /* The value is a secret: the messages say what is wrong, never what it is. */
    if (n == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "id: must not be empty");
    if (n > HSMCA_AUTH_TOKEN_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "id: longer than %d bytes", HSMCA_AUTH_TOKEN_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];

        /* OpenBao: "the ID provided may not contain a '.' character" (the
         * prefixes s./b./r. mark generated tokens of each type). */
        if (c == '.')
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "id: may not contain a '.' character");
        /* It travels in an HTTP header: visible ASCII only. */
        if (c <= 0x20 || c >= 0x7f)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "id: may only hold visible ASCII characters (byte %zu is not)", i);
    }
    return HSMCA_OK;
}

void hsmca_auth_secret_clear(hsmca_auth_secret *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s->token, sizeof(s->token));
}
