/* SPDX-License-Identifier: Apache-2.0 */
/* The ceremony transcript: JSON lines, each carrying the SHA-256 of the line
 * before it ("prev"), closed by a line that signs the chain's head with a
 * token key; and `hsmca ceremony verify`, which checks the chain, the
 * signature, every artefact's hash and, with the token, every key. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "hsmca/keyslot.h"
#include "hsmca/provider.h"
#include "hsmca/transcript.h"

#include "ceremony.h"


hsmca_rv cer_transcript_open(cer_transcript *t, const char *path)
{
    int fd;

    memset(t, 0, sizeof(*t));
    snprintf(t->path, sizeof(t->path), "%s", path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || (t->f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        return hsmca_err(HSMCA_ERR_IO, "cannot create transcript '%s': %s", path, strerror(errno));
    }
    return HSMCA_OK;
}

hsmca_rv cer_transcript_append(cer_transcript *t, json_t *entry)
{
    char prev[65], *line = NULL;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (entry == NULL)
        return hsmca_err(rv, "out of memory");
    if (t->seq == 0)
        snprintf(prev, sizeof(prev), HSMCA_TRANSCRIPT_GENESIS);
    else
        cer_hex(t->prev, sizeof(t->prev), prev);
    json_object_set_new(entry, "seq", json_integer((json_int_t)t->seq));
    json_object_set_new(entry, "prev", json_string(prev));
    /* Compact with sorted keys: one line, the same bytes for the same
     * content, so hashes can be recomputed from the file alone. */
    line = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (line == NULL)
        goto done;
    if (fprintf(t->f, "%s\n", line) < 0 || fflush(t->f) != 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "cannot write transcript '%s'", t->path);
        goto done;
    }
    /* The record of each step is on disk before the next starts. */
    fsync(fileno(t->f));
    SHA256((const unsigned char *)line, strlen(line), t->prev);
    t->seq++;
    rv = HSMCA_OK;
done:
    free(line);
    json_decref(entry);
    return rv;
}

static hsmca_rv b64(const unsigned char *in, size_t len, char *out, size_t size)
{
    if (4 * ((len + 2) / 3) + 1 > size)
        return hsmca_err(HSMCA_ERR_INTERNAL, "base64 buffer too small");
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return HSMCA_OK;
}

hsmca_rv cer_transcript_sign(cer_transcript *t, OSSL_LIB_CTX *libctx, EVP_PKEY *key, const char *label,
                             const char *key_id)
{
    char msg[sizeof(HSMCA_TRANSCRIPT_SIG_CONTEXT) + 64], head[65], sig64[1400], pub64[2900], spki_hex[65];
    unsigned char sig[1024], *spki = NULL, md[32];
    size_t siglen = sizeof(sig);
    const char *digest = EVP_PKEY_is_a(key, "ED25519") ? NULL : "SHA256";
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int spki_len;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (mctx == NULL)
        goto done;
    cer_hex(t->prev, sizeof(t->prev), head);
    snprintf(msg, sizeof(msg), HSMCA_TRANSCRIPT_SIG_CONTEXT "%s", head);
    if ((rv = hsmca_provider_sign_init(mctx, libctx, digest, key, 0)) != HSMCA_OK)
        goto done;
    if (EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)msg, strlen(msg)) != 1) {
        ERR_clear_error();
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "the token did not sign the transcript");
        goto done;
    }
    spki_len = i2d_PUBKEY(key, &spki);
    if (spki_len <= 0 || spki_len > 2048) {
        rv = hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the transcript key's public key");
        goto done;
    }
    SHA256(spki, (size_t)spki_len, md);
    cer_hex(md, sizeof(md), spki_hex);
    if ((rv = b64(sig, siglen, sig64, sizeof(sig64))) != HSMCA_OK ||
        (rv = b64(spki, (size_t)spki_len, pub64, sizeof(pub64))) != HSMCA_OK)
        goto done;
    rv = cer_transcript_append(t, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "signature", "label", label,
                                            "key_id", key_id, "spki_sha256", spki_hex, "public_key", pub64, "digest",
                                            digest ? digest : "none", "signature", sig64));
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(spki);
    return rv;
}

hsmca_rv cer_transcript_close(cer_transcript *t)
{
    int r = 0;

    if (t->f != NULL) {
        r = fflush(t->f);
        if (r == 0)
            r = fsync(fileno(t->f));
        r |= fclose(t->f);
        t->f = NULL;
    }
    return r == 0 ? HSMCA_OK : hsmca_err(HSMCA_ERR_IO, "cannot close transcript '%s'", t->path);
}

/* ---- verify ---- */

typedef struct {
    unsigned failures;
    char first[512];
} verdict;

static void fail(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(verdict *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("FAIL: %s\n", msg);
    if (v->failures++ == 0)
        snprintf(v->first, sizeof(v->first), "%s", msg);
}

static void check_artefacts(verdict *v, const char *dir, const hsmca_transcript *tr)
{
    for (size_t i = 0; i < tr->n_artefacts; i++) {
        const hsmca_transcript_artefact *a = &tr->artefacts[i];
        char path[CER_PATH_MAX], *data = NULL, hex[65];
        unsigned char md[32];
        size_t len = 0;
        if (cer_path(dir, a->path, path, sizeof(path)) != HSMCA_OK ||
            cer_read_file(path, CER_FILE_MAX, &data, &len) != HSMCA_OK) {
            fail(v, "line %u (step %u): artefact '%s' is missing or unreadable", a->line, a->step, a->path);
            continue;
        }
        SHA256((unsigned char *)data, len, md);
        free(data);
        cer_hex(md, sizeof(md), hex);
        if (strcmp(hex, a->sha256) != 0)
            fail(v, "line %u (step %u): artefact '%s' changed: sha256 is %s, the transcript says %s", a->line, a->step,
                 a->path, hex, a->sha256);
    }
}

/* The keys the transcript recorded, checked on the token: still there
 * (same key_id and label), same public key, still non-extractable. */
static void check_keys(verdict *v, hsmca_p11_token *tok, const hsmca_transcript *tr, unsigned *n_keys)
{
    hsmca_keyslot *ks = NULL;

    if (hsmca_keyslot_new(tok, &ks) != HSMCA_OK) {
        fail(v, "cannot read the token's keys: %s", hsmca_err_message());
        return;
    }
    for (size_t i = 0; i < tr->n_keys; i++) {
        const hsmca_transcript_key *k = &tr->keys[i];
        hsmca_keyslot_info info;
        hsmca_p11_key *key = NULL;
        hsmca_p11_key_attrs a = {0};
        char hex[65];
        (*n_keys)++;
        if (hsmca_keyslot_lookup(ks, k->key_id, &info) != HSMCA_OK) {
            fail(v, "key '%s' (key_id %s) is no longer on the token", k->label, k->key_id);
            continue;
        }
        cer_hex(info.spki_sha256, sizeof(info.spki_sha256), hex);
        if (strcmp(hex, k->spki_sha256) != 0)
            fail(v, "key '%s' (key_id %s) changed: its public key's sha256 is %s, the transcript says %s", k->label,
                 k->key_id, hex, k->spki_sha256);
        if (strcmp(info.key_name, k->label) != 0)
            fail(v, "key '%s' (key_id %s) is now labelled '%s'", k->label, k->key_id, info.key_name);
        if (hsmca_keyslot_get1_key(ks, k->key_id, &key) != HSMCA_OK || hsmca_p11_key_get_attrs(key, &a) != HSMCA_OK)
            fail(v, "key '%s': cannot read its attributes", k->label);
        else if (a.extractable || !a.sensitive || !a.never_extractable || !a.always_sensitive)
            fail(v,
                 "key '%s' (key_id %s) is no longer protected: CKA_EXTRACTABLE=%d CKA_SENSITIVE=%d "
                 "CKA_NEVER_EXTRACTABLE=%d CKA_ALWAYS_SENSITIVE=%d",
                 k->label, k->key_id, a.extractable, a.sensitive, a.never_extractable, a.always_sensitive);
        hsmca_p11_key_free(key);
    }
    hsmca_keyslot_free(ks);
}

static void check_signer(verdict *v, const char *path, const hsmca_transcript *tr)
{
    char *pem = NULL;
    size_t len = 0;
    BIO *b = NULL;
    X509 *cert = NULL;

    if (cer_read_file(path, CER_FILE_MAX, &pem, &len) == HSMCA_OK && (b = BIO_new_mem_buf(pem, (int)len)) != NULL)
        cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    ERR_clear_error();
    if (cert == NULL)
        fail(v, "--signer: '%s' is not a readable PEM certificate", path);
    else if (!hsmca_offline_key_matches(cert, tr->signer))
        fail(v, "the transcript is signed by '%s', whose key is not the key of --signer '%s'", tr->signer_label, path);
    X509_free(cert);
    BIO_free(b);
    free(pem);
}

/* hsmca_transcript_check's problems, printed and counted like ours. */
static void on_fail(void *arg, const char *msg)
{
    fail(arg, "%s", msg);
}

#define VERIFY_USAGE                                                                                              \
    "usage: hsmca [--module PATH --token LABEL --pin-file PATH] ceremony verify TRANSCRIPT [--signer CERT]"

hsmca_rv cer_verify(hsmca_p11_token *tok, int argc, char **argv)
{
    char *data = NULL, dir[CER_PATH_MAX], *slash;
    const char *file = NULL, *signer = NULL;
    size_t len = 0;
    unsigned n_keys = 0;
    hsmca_transcript tr;
    verdict v;
    hsmca_rv rv;

    memset(&v, 0, sizeof(v));
    memset(&tr, 0, sizeof(tr));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--signer") == 0 && i + 1 < argc && signer == NULL)
            signer = argv[++i];
        else if (argv[i][0] != '-' && file == NULL)
            file = argv[i];
        else
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "unexpected argument '%.100s'; " VERIFY_USAGE, argv[i]);
    }
    if (file == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, VERIFY_USAGE);
    /* Artefact paths are relative to the transcript's directory. */
    snprintf(dir, sizeof(dir), "%s", file);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        *slash = '\0';
    if ((rv = cer_read_file(file, HSMCA_TRANSCRIPT_MAX, &data, &len)) != HSMCA_OK)
        return rv;
    rv = hsmca_transcript_check(data, len, on_fail, &v, &tr);
    free(data);
    if (rv == HSMCA_ERR_NOMEM)
        goto done;
    check_artefacts(&v, dir, &tr);
    /* The trust anchor: a transcript is only as good as the key that
     * signed it, which the operator names by its certificate. */
    if (signer != NULL && tr.signer != NULL)
        check_signer(&v, signer, &tr);
    if (tok != NULL && tr.token_serial[0] != '\0') {
        if (strcmp(tr.token_serial, hsmca_p11_token_serial(tok)) != 0)
            fail(&v, "the token given (serial %s) is not the ceremony's token '%s' (serial %s)",
                 hsmca_p11_token_serial(tok), tr.token_label, tr.token_serial);
        else
            check_keys(&v, tok, &tr, &n_keys);
    }
    if (v.failures > 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: %u problem%s; first: %s", file, v.failures,
                       v.failures == 1 ? "" : "s", v.first);
        goto done;
    }
    printf("ok: ceremony '%s', %u entries, chain intact, signature by '%s' valid, %zu artefacts match", tr.name,
           tr.entries, tr.signer_label, tr.n_artefacts);
    if (tok != NULL)
        printf(", %u key records present and non-extractable on token '%s'\n", n_keys, hsmca_p11_token_label(tok));
    else
        printf(" (no token given: keys not checked)\n");
    rv = HSMCA_OK;
done:
    hsmca_transcript_clear(&tr);
    return rv;
}
