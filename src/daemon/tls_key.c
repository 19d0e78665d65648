/* SPDX-License-Identifier: Apache-2.0 */
/* The listener's private key kept in the token (tls.key = "pkcs11:..."):
 * GnuTLS asks for each handshake signature through the HTTP server's
 * external-key hook, and the token signs it like any CA signature (session
 * pool, recovery, re-verification). */
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "hsmca/log.h"
#include "hsmca/p11_uri.h"
#include "internal.h"

struct daemon_tls_key {
    hsmca_p11_key *key;
    hsmca_http_external_key ext;
};

/* DER prefixes of the DigestInfo GnuTLS hands over for RSA PKCS#1 v1.5
 * (RFC 8017 9.2, note 1): the hash follows. */
static const struct {
    const char *md;
    size_t hash_len;
    unsigned char prefix[19];
} digest_infos[] = {
    {"SHA256", 32, {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
                    0x00, 0x04, 0x20}},
    {"SHA384", 48, {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
                    0x00, 0x04, 0x30}},
    {"SHA512", 64, {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
                    0x00, 0x04, 0x40}},
};

static const char *md_of(gnutls_sign_algorithm_t algo)
{
    switch (gnutls_sign_get_hash_algorithm(algo)) {
    case GNUTLS_DIG_SHA256:
        return "SHA256";
    case GNUTLS_DIG_SHA384:
        return "SHA384";
    case GNUTLS_DIG_SHA512:
        return "SHA512";
    default:
        return NULL;
    }
}

static int tls_sign(void *arg, int algorithm, unsigned flags, const unsigned char *data, size_t len,
                    unsigned char **sig, size_t *sig_len)
{
    daemon_tls_key *k = arg;
    gnutls_sign_algorithm_t algo = (gnutls_sign_algorithm_t)algorithm;
    gnutls_pk_algorithm_t pk = gnutls_sign_get_pk_algorithm(algo);
    hsmca_sig_scheme scheme;
    const char *md = NULL;
    const unsigned char *tbs = data;
    size_t tbslen = len, cap = hsmca_p11_key_max_signature(k->key);
    hsmca_rv rv;

    *sig = NULL;
    if (algo == GNUTLS_SIGN_RSA_RAW || (flags & GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA)) {
        /* PKCS#1 v1.5 over a DigestInfo: unwrap it, the token wraps again. */
        for (size_t i = 0; i < sizeof(digest_infos) / sizeof(digest_infos[0]) && md == NULL; i++) {
            if (len == sizeof(digest_infos[i].prefix) + digest_infos[i].hash_len &&
                memcmp(data, digest_infos[i].prefix, sizeof(digest_infos[i].prefix)) == 0) {
                md = digest_infos[i].md;
                tbs = data + sizeof(digest_infos[i].prefix);
                tbslen = digest_infos[i].hash_len;
            }
        }
        scheme = HSMCA_SIG_RSA_PKCS1;
    } else if (pk == GNUTLS_PK_RSA_PSS || (flags & GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS)) {
        scheme = HSMCA_SIG_RSA_PSS;
        md = md_of(algo);
    } else if (pk == GNUTLS_PK_ECDSA) {
        scheme = HSMCA_SIG_ECDSA;
        md = md_of(algo);
    } else {
        hsmca_log(HSMCA_LOG_WARNING, "tls: the token key cannot make a %s signature", gnutls_sign_get_name(algo));
        return -1;
    }
    if (md == NULL) {
        hsmca_log(HSMCA_LOG_WARNING, "tls: unsupported hash for %s", gnutls_sign_get_name(algo));
        return -1;
    }
    *sig = malloc(cap);
    if (*sig == NULL)
        return -1;
    *sig_len = cap;
    rv = hsmca_p11_key_sign(k->key, scheme, md, tbs, tbslen, *sig, sig_len);
    if (rv != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_ERR, "tls: handshake signature in the token failed: %s", hsmca_err_message());
        free(*sig);
        *sig = NULL;
        return -1;
    }
    return 0;
}

hsmca_rv daemon_tls_key_open(hsmca_p11_token *tok, const char *uri_text, daemon_tls_key **out,
                             const hsmca_http_external_key **ext)
{
    hsmca_p11_uri *uri = NULL;
    daemon_tls_key *k = NULL;
    hsmca_rv rv;

    *out = NULL;
    if ((rv = hsmca_p11_uri_parse(uri_text, &uri)) != HSMCA_OK) {
        hsmca_err_prefix("tls.key");
        return rv;
    }
    if (uri->pin_value != NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "tls.key: a PIN is never written in a URI (pin-value); the daemon "
                                              "uses its pkcs11 PIN source");
        goto done;
    }
    if (uri->object == NULL && uri->id_len == 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "tls.key: the pkcs11: URI must name the key by object= or id=");
        goto done;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = hsmca_p11_key_find(tok, uri->id, uri->id_len, uri->object, &k->key)) != HSMCA_OK) {
        hsmca_err_prefix("tls.key");
        goto done;
    }
    switch (hsmca_p11_key_type(k->key)) {
    case HSMCA_KEY_RSA:
        k->ext.key_algorithm = GNUTLS_PK_RSA;
        break;
    case HSMCA_KEY_EC:
        k->ext.key_algorithm = GNUTLS_PK_ECDSA;
        break;
    default:
        rv = hsmca_err(HSMCA_ERR_UNSUPPORTED, "tls.key: a TLS key in the token must be RSA or EC");
        goto done;
    }
    k->ext.key_bits = hsmca_p11_key_bits(k->key);
    k->ext.sign = tls_sign;
    k->ext.arg = k;
    *ext = &k->ext;
    *out = k;
    k = NULL;
    rv = HSMCA_OK;
done:
    daemon_tls_key_free(k);
    hsmca_p11_uri_free(uri);
    return rv;
}

void daemon_tls_key_free(daemon_tls_key *k)
{
    if (k == NULL)
        return;
    hsmca_p11_key_free(k->key);
    free(k);
}
