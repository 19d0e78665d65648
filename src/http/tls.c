/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the listeners (GnuTLS, through libmicrohttpd): TLS 1.2 and 1.3
 * only, AEAD ciphers with forward secrecy; the certificate and key from PEM
 * files, or the key held elsewhere (the token) and asked to sign each
 * handshake through a GnuTLS external private key; the client's certificate
 * handed to the dispatcher for certificate auth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "internal.h"

#define PEM_FILE_MAX (256u * 1024u)

/* Mozilla's "intermediate" profile in GnuTLS terms: TLS 1.2/1.3, ECDHE
 * only, AES-GCM and ChaCha20-Poly1305, no SHA-1 signatures; the server's
 * order wins. */
const char http_tls_priorities[] = "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"
                                   "+AES-128-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
                                   "-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE";

static hsmca_rv read_pem(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    hsmca_rv rv = HSMCA_ERR_IO;

    *out = NULL;
    if (f == NULL)
        return hsmca_err(HSMCA_ERR_IO, "cannot open TLS file '%s'", path);
    buf = malloc(PEM_FILE_MAX + 1);
    if (buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    n = fread(buf, 1, PEM_FILE_MAX + 1, f);
    if (ferror(f) || n == 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "cannot read TLS file '%s'", path);
        goto done;
    }
    if (n > PEM_FILE_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "TLS file '%s' is larger than %u bytes", path, PEM_FILE_MAX);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    rv = HSMCA_OK;
done:
    if (buf != NULL) {
        gnutls_memset(buf, 0, PEM_FILE_MAX + 1);
        free(buf);
    }
    fclose(f);
    return rv;
}

/* ---- a key held elsewhere ---- */

/* libmicrohttpd's certificate callback carries no argument, so the one
 * external identity of the process lives here (set before the daemons
 * start, read-only afterwards). */
static struct {
    gnutls_pcert_st pcerts[8];
    unsigned n_pcerts;
    const hsmca_http_external_key *key;
    gnutls_privkey_t privkey;
} ext;

static int ext_info(gnutls_privkey_t pkey, unsigned int flags, void *userdata)
{
    const hsmca_http_external_key *k = userdata;

    (void)pkey;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
        return k->key_algorithm;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
        return (int)k->key_bits;
    if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
        gnutls_sign_algorithm_t algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
        gnutls_pk_algorithm_t pk = gnutls_sign_get_pk_algorithm(algo);
        /* RSA keys sign PKCS#1 and PSS (rsae); EC keys ECDSA of their curve. */
        if (k->key_algorithm == GNUTLS_PK_RSA)
            return pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS;
        return pk == (gnutls_pk_algorithm_t)k->key_algorithm;
    }
    return GNUTLS_E_UNKNOWN_PK_ALGORITHM;
}

static int ext_sign_hash(gnutls_privkey_t pkey, gnutls_sign_algorithm_t algo, void *userdata, unsigned int flags,
                         const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
    const hsmca_http_external_key *k = userdata;
    unsigned char *sig = NULL;
    size_t sig_len = 0;

    (void)pkey;
    if (k->sign(k->arg, (int)algo, flags, hash->data, hash->size, &sig, &sig_len) != 0 || sig == NULL)
        return GNUTLS_E_PK_SIGN_FAILED;
    signature->data = gnutls_malloc(sig_len);
    if (signature->data == NULL) {
        free(sig);
        return GNUTLS_E_MEMORY_ERROR;
    }
    memcpy(signature->data, sig, sig_len);
    signature->size = (unsigned)sig_len;
    free(sig);
    return 0;
}

static int ext_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                             unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    /* GnuTLS neither modifies nor frees what this returns: one shared
     * certificate list and key object serve every handshake (signing
     * itself is the external key's callback, which is thread-safe). */
    if (ext.key == NULL || ext.privkey == NULL)
        return -1;
    *pcert = ext.pcerts;
    *pcert_length = ext.n_pcerts;
    *pkey = ext.privkey;
    return 0;
}

void *http_tls_cert_callback(void)
{
    return (void *)(uintptr_t)ext_cert_callback;
}

static hsmca_rv ext_prepare(const char *cert_pem, const hsmca_http_external_key *key)
{
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem)};
    unsigned n = 8;
    int r = gnutls_pcert_list_import_x509_raw(ext.pcerts, &n, &d, GNUTLS_X509_FMT_PEM, 0);

    if (r < 0 || n == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "TLS certificate file: %s", gnutls_strerror(r));
    ext.n_pcerts = n;
    if (gnutls_privkey_init(&ext.privkey) < 0 ||
        gnutls_privkey_import_ext4(ext.privkey, (void *)(uintptr_t)key, NULL, ext_sign_hash, NULL, NULL, ext_info,
                                   0) < 0) {
        if (ext.privkey != NULL)
            gnutls_privkey_deinit(ext.privkey);
        ext.privkey = NULL;
        for (unsigned i = 0; i < ext.n_pcerts; i++)
            gnutls_pcert_deinit(&ext.pcerts[i]);
        ext.n_pcerts = 0;
        return hsmca_err(HSMCA_ERR_INTERNAL, "cannot wrap the TLS key for GnuTLS");
    }
    ext.key = key;
    return HSMCA_OK;
}

hsmca_rv http_tls_prepare(hsmca_http_server *srv)
{
    const hsmca_http_config *c = &srv->cfg;
    hsmca_rv rv;

    if (!c->tls)
        return HSMCA_OK;
    if (c->tls_cert_file == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "TLS is on but no certificate file is configured");
    if ((rv = read_pem(c->tls_cert_file, &srv->tls_cert_pem)) != HSMCA_OK)
        return rv;
    if (c->tls_client_ca_file != NULL && (rv = read_pem(c->tls_client_ca_file, &srv->tls_trust_pem)) != HSMCA_OK)
        return rv;
    if (c->tls_external_key != NULL) {
        if (ext.key != NULL && ext.key != c->tls_external_key)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "only one TLS identity with an external key per process");
        return ext_prepare(srv->tls_cert_pem, c->tls_external_key);
    }
    if (c->tls_key_file == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "TLS is on but neither a key file nor a token key is configured");
    return read_pem(c->tls_key_file, &srv->tls_key_pem);
}

void http_tls_free(hsmca_http_server *srv)
{
    if (srv->tls_key_pem != NULL) {
        gnutls_memset(srv->tls_key_pem, 0, strlen(srv->tls_key_pem));
        free(srv->tls_key_pem);
    }
    free(srv->tls_cert_pem);
    free(srv->tls_trust_pem);
    srv->tls_key_pem = srv->tls_cert_pem = srv->tls_trust_pem = NULL;
    if (srv->cfg.tls_external_key != NULL && ext.key == srv->cfg.tls_external_key) {
        for (unsigned i = 0; i < ext.n_pcerts; i++)
            gnutls_pcert_deinit(&ext.pcerts[i]);
        ext.n_pcerts = 0;
        gnutls_privkey_deinit(ext.privkey);
        ext.privkey = NULL;
        ext.key = NULL;
    }
}

void http_tls_client_cert(struct MHD_Connection *conn, unsigned char **der, size_t *len, unsigned char **chain,
                          size_t *chain_len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    const gnutls_datum_t *peers;
    unsigned n = 0;
    size_t total = 0;

    *der = *chain = NULL;
    *len = *chain_len = 0;
    if (ci == NULL || ci->tls_session == NULL)
        return;
    peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
    if (peers == NULL || n == 0 || peers[0].size == 0 || peers[0].size > HTTP_CLIENT_CERT_MAX)
        return;
    *der = malloc(peers[0].size);
    if (*der == NULL)
        return;
    memcpy(*der, peers[0].data, peers[0].size);
    *len = peers[0].size;
    /* The rest of what the client sent: intermediates for building its
     * path at login, never trusted for themselves (GnuTLS does not judge
     * them here: the listener only requests a certificate). Bounded in
     * number and size; past the bound the extra ones are dropped and the
     * path simply does not build. */
    if (n > HTTP_CLIENT_CHAIN_MAX + 1)
        n = HTTP_CLIENT_CHAIN_MAX + 1;
    for (unsigned i = 1; i < n; i++) {
        if (peers[i].size == 0 || peers[i].size > HTTP_CLIENT_CERT_MAX)
            return;
        total += peers[i].size;
    }
    if (total == 0 || (*chain = malloc(total)) == NULL)
        return;
    for (unsigned i = 1; i < n; i++) {
        memcpy(*chain + *chain_len, peers[i].data, peers[i].size);
        *chain_len += peers[i].size;
    }
}
