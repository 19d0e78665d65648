/* SPDX-License-Identifier: Apache-2.0 */
/* Development mode (`hsmcad -dev`, like `bao server -dev`): a throwaway
 * appliance in one command. Everything lives in one state directory: a
 * SoftHSM2 configuration and token directory with a fresh token (random SO
 * and user PINs in 0600 files), the SQLite database, the audit log and, with
 * -dev-tls, a listener certificate issued by a development CA. Started again
 * on the same directory, it reuses all of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "hsmca/log.h"
#include "hsmca/pin.h"
#include "internal.h"

#define DEV_TOKEN_LABEL "hsmca-dev"

static const char *const softhsm_paths[] = {
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
};

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static bool exists(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0;
}

/* Writes a whole file with the given mode, refusing to follow a link or
 * to replace an existing file. */
static hsmca_rv write_new(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    const char *p = data;

    if (fd < 0)
        return hsmca_err(HSMCA_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return hsmca_err(HSMCA_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
        return hsmca_err(HSMCA_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return HSMCA_OK;
}

/* A random PIN of 32 hex digits, written to path (0600). */
static hsmca_rv make_pin_file(const char *path)
{
    unsigned char raw[16];
    char hex[34];
    hsmca_rv rv;

    if (RAND_priv_bytes(raw, sizeof(raw)) != 1)
        return hsmca_err(HSMCA_ERR_CRYPTO, "no random bytes for a PIN");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[32] = '\n';
    hex[33] = '\0';
    rv = write_new(path, hex, 33, 0600);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(hex, sizeof(hex));
    return rv;
}

static hsmca_rv make_token(const char *dir, const char *module, const char *pin_path)
{
    char *so_path = path_join(dir, "so-pin");
    hsmca_pin_source ss = {0}, us = {0};
    hsmca_pin *so = NULL, *user = NULL;
    char origin[128];
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (so_path == NULL)
        goto done;
    if ((rv = make_pin_file(so_path)) != HSMCA_OK || (rv = make_pin_file(pin_path)) != HSMCA_OK)
        goto done;
    ss.file = so_path;
    us.file = pin_path;
    if ((rv = hsmca_pin_load(&ss, &so, origin, sizeof(origin))) != HSMCA_OK ||
        (rv = hsmca_pin_load(&us, &user, origin, sizeof(origin))) != HSMCA_OK)
        goto done;
    rv = hsmca_p11_token_init(module, DEV_TOKEN_LABEL, so, user);
done:
    hsmca_pin_free(so);
    hsmca_pin_free(user);
    free(so_path);
    return rv;
}

/* ---- the development TLS identity ---- */

static EVP_PKEY *ec_key(void)
{
    return EVP_EC_gen("P-256");
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    bool ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long days, bool ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    bool ok;

    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ok = x != NULL && name != NULL && bn != NULL && X509_set_version(x, X509_VERSION_3) &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"hsmca development", -1, -1,
                                    0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_subject_name(x, name) &&
         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -60) && X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) &&
         X509_set_pubkey(x, key);
    if (!ok)
        goto fail;
    if (ca)
        ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, x, NID_subject_key_identifier, "hash");
    else
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, issuer, NID_ext_key_usage, "serverAuth") &&
             add_ext(x, issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") &&
             add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
             add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (!ok || X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
        goto fail;
    X509_NAME_free(name);
    BN_free(bn);
    return x;
fail:
    X509_NAME_free(name);
    BN_free(bn);
    X509_free(x);
    return NULL;
}

static hsmca_rv write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    hsmca_rv rv;

    if (b == NULL || (cert != NULL && PEM_write_bio_X509(b, cert) != 1) ||
        (key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)) {
        BIO_free(b);
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode '%s'", path);
    }
    n = BIO_get_mem_data(b, &data);
    rv = write_new(path, data, (size_t)n, key != NULL ? 0600 : 0644);
    if (n > 0)
        OPENSSL_cleanse(data, (size_t)n);
    BIO_free(b);
    return rv;
}

/* The listener's certificate and key (software: a development convenience;
 * production listeners keep their key in the token, tls.key = pkcs11:...),
 * issued by a development CA whose key is never written anywhere. */
static hsmca_rv make_tls(const char *ca_path, const char *cert_path, const char *key_path)
{
    EVP_PKEY *ca_key = ec_key(), *key = ec_key();
    X509 *ca = NULL, *leaf = NULL;
    hsmca_rv rv = HSMCA_ERR_CRYPTO;

    if (ca_key == NULL || key == NULL) {
        rv = hsmca_err(rv, "cannot make development TLS keys");
        goto done;
    }
    ca = make_cert(ca_key, "hsmca development TLS CA", NULL, NULL, 3650, true);
    leaf = ca ? make_cert(key, "localhost", ca, ca_key, 397, false) : NULL;
    if (leaf == NULL) {
        rv = hsmca_err(rv, "cannot make development TLS certificates");
        goto done;
    }
    if ((rv = write_pem(ca_path, ca, NULL)) != HSMCA_OK || (rv = write_pem(key_path, NULL, key)) != HSMCA_OK)
        goto done;
    /* the listener's file: its certificate, then the CA */
    {
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n;
        if (b == NULL || PEM_write_bio_X509(b, leaf) != 1 || PEM_write_bio_X509(b, ca) != 1) {
            BIO_free(b);
            rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the listener certificate");
            goto done;
        }
        n = BIO_get_mem_data(b, &data);
        rv = write_new(cert_path, data, (size_t)n, 0644);
        BIO_free(b);
    }
done:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(leaf);
    return rv;
}

static bool loopback_address(const char *a)
{
    return strncmp(a, "127.", 4) == 0 || strncmp(a, "[::1]:", 6) == 0 || strncmp(a, "localhost:", 10) == 0;
}

/* The first line of a file (at most the longest token), for
 * -dev-root-token-file. */
static hsmca_rv read_token_file(const char *path, char **out)
{
    char buf[300];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return hsmca_err(HSMCA_ERR_IO, "-dev-root-token-file '%s': %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0' || strlen(buf) > 256) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "-dev-root-token-file '%s': the first line must be 1..256 bytes", path);
    }
    *out = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

hsmca_rv daemon_dev_prepare(daemon_config *c)
{
    char *conf = NULL, *tokens = NULL, *pin = NULL, *text = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    size_t n;

    if (c->dev_root_token_file != NULL && (rv = read_token_file(c->dev_root_token_file, &c->dev_root_token_id)) != HSMCA_OK)
        goto done;
    rv = HSMCA_ERR_NOMEM;
    if (c->n_listen == 0) {
        c->listen[0] = strdup("127.0.0.1:8200");
        if (c->listen[0] == NULL)
            goto done;
        c->n_listen = 1;
    }
    for (size_t i = 0; i < c->n_listen; i++) {
        if (!loopback_address(c->listen[i])) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "-dev-listen-address '%s': development mode listens on loopback "
                                                  "only",
                           c->listen[i]);
            goto done;
        }
    }
    if (c->dev_state_dir == NULL) {
        const char *tmp = getenv("TMPDIR");
        char templ[DAEMON_PATH_MAX];
        snprintf(templ, sizeof(templ), "%s/hsmcad-dev.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (mkdtemp(templ) == NULL) {
            rv = hsmca_err(HSMCA_ERR_IO, "cannot make a state directory under %s: %s", tmp ? tmp : "/tmp",
                           strerror(errno));
            goto done;
        }
        c->dev_state_dir = strdup(templ);
        if (c->dev_state_dir == NULL)
            goto done;
    } else if (mkdir(c->dev_state_dir, 0700) != 0 && errno != EEXIST) {
        rv = hsmca_err(HSMCA_ERR_IO, "cannot make state directory '%s': %s", c->dev_state_dir, strerror(errno));
        goto done;
    }
    conf = path_join(c->dev_state_dir, "softhsm2.conf");
    tokens = path_join(c->dev_state_dir, "tokens");
    pin = path_join(c->dev_state_dir, "pin");
    if (conf == NULL || tokens == NULL || pin == NULL)
        goto done;
    if (!exists(conf)) {
        if (mkdir(tokens, 0700) != 0 && errno != EEXIST) {
            rv = hsmca_err(HSMCA_ERR_IO, "cannot make '%s': %s", tokens, strerror(errno));
            goto done;
        }
        n = strlen(tokens) + 128;
        text = malloc(n);
        if (text == NULL)
            goto done;
        snprintf(text, n, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
        if ((rv = write_new(conf, text, strlen(text), 0600)) != HSMCA_OK)
            goto done;
    }
    /* SoftHSM2 reads its configuration from the environment when the
     * module is initialised: this process's token directory, nobody else's. */
    setenv("SOFTHSM2_CONF", conf, 1);
    if (c->module == NULL) {
        for (size_t i = 0; i < sizeof(softhsm_paths) / sizeof(softhsm_paths[0]) && c->module == NULL; i++) {
            if (exists(softhsm_paths[i]))
                c->module = strdup(softhsm_paths[i]);
        }
        if (c->module == NULL) {
            rv = hsmca_err(HSMCA_ERR_MODULE, "SoftHSM2 is not installed (apt-get install softhsm2)");
            goto done;
        }
    }
    if (!exists(pin) && (rv = make_token(c->dev_state_dir, c->module, pin)) != HSMCA_OK)
        goto done;
    c->token_label = strdup(DEV_TOKEN_LABEL);
    c->pin_file = strdup(pin);
    c->db_path = path_join(c->dev_state_dir, "hsmca.db");
    c->audit_path = path_join(c->dev_state_dir, "audit.log");
    if (c->token_label == NULL || c->pin_file == NULL || c->db_path == NULL || c->audit_path == NULL)
        goto done;
    if (c->n_mounts == 0) {
        c->mounts[0] = strdup("pki");
        if (c->mounts[0] == NULL)
            goto done;
        c->n_mounts = 1;
    }
    c->tls = c->dev_tls;
    if (c->dev_tls) {
        c->tls_client_ca_file = path_join(c->dev_state_dir, "tls-ca.pem");
        c->tls_cert_file = path_join(c->dev_state_dir, "tls.pem");
        c->tls_key = path_join(c->dev_state_dir, "tls.key");
        if (c->tls_client_ca_file == NULL || c->tls_cert_file == NULL || c->tls_key == NULL)
            goto done;
        if (!exists(c->tls_cert_file) &&
            (rv = make_tls(c->tls_client_ca_file, c->tls_cert_file, c->tls_key)) != HSMCA_OK)
            goto done;
    }
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_message()[0] == '\0')
        hsmca_err(rv, "out of memory");
    free(conf);
    free(tokens);
    free(pin);
    free(text);
    return rv;
}
