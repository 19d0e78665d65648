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
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "hsmca/keyslot.h"
#include "hsmca/provider.h"

#include "ceremony.h"

#define LINES_MAX 4096
#define SIG_CONTEXT "hsmca ceremony transcript v1\n" /* what is signed: this, then the head in hex */
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

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
        snprintf(prev, sizeof(prev), GENESIS);
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
    char msg[sizeof(SIG_CONTEXT) + 64], head[65], sig64[1400], pub64[2900], spki_hex[65];
    unsigned char sig[1024], *spki = NULL, md[32];
    size_t siglen = sizeof(sig);
    const char *digest = EVP_PKEY_is_a(key, "ED25519") ? NULL : "SHA256";
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int spki_len;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    if (mctx == NULL)
        goto done;
    cer_hex(t->prev, sizeof(t->prev), head);
    snprintf(msg, sizeof(msg), SIG_CONTEXT "%s", head);
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

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void check_artefacts(verdict *v, const char *dir, unsigned line, json_t *entry, unsigned *n_art)
{
    json_t *arts = json_object_get(entry, "artefacts"), *a;
    size_t i;

    json_array_foreach(arts, i, a) {
        char path[CER_PATH_MAX], *data = NULL, hex[65];
        unsigned char md[32];
        size_t len = 0;
        (*n_art)++;
        if (cer_path(dir, jstr(a, "path"), path, sizeof(path)) != HSMCA_OK ||
            cer_read_file(path, CER_FILE_MAX, &data, &len) != HSMCA_OK) {
            fail(v, "line %u (step %lld): artefact '%s' is missing or unreadable", line,
                 (long long)json_integer_value(json_object_get(entry, "index")), jstr(a, "path"));
            continue;
        }
        SHA256((unsigned char *)data, len, md);
        free(data);
        cer_hex(md, sizeof(md), hex);
        if (strcmp(hex, jstr(a, "sha256")) != 0)
            fail(v, "line %u (step %lld): artefact '%s' changed: sha256 is %s, the transcript says %s", line,
                 (long long)json_integer_value(json_object_get(entry, "index")), jstr(a, "path"), hex,
                 jstr(a, "sha256"));
    }
}

/* The keys the transcript recorded, checked on the token: still there
 * (same key_id and label), same public key, still non-extractable. */
static void check_keys(verdict *v, hsmca_p11_token *tok, json_t *keys, unsigned *n_keys)
{
    hsmca_keyslot *ks = NULL;
    json_t *k;
    size_t i;

    if (hsmca_keyslot_new(tok, &ks) != HSMCA_OK) {
        fail(v, "cannot read the token's keys: %s", hsmca_err_message());
        return;
    }
    json_array_foreach(keys, i, k) {
        const char *label = jstr(k, "label"), *id = jstr(k, "key_id");
        hsmca_keyslot_info info;
        hsmca_p11_key *key = NULL;
        hsmca_p11_key_attrs a = {0};
        char hex[65];
        (*n_keys)++;
        if (hsmca_keyslot_lookup(ks, id, &info) != HSMCA_OK) {
            fail(v, "key '%s' (key_id %s) is no longer on the token", label, id);
            continue;
        }
        cer_hex(info.spki_sha256, sizeof(info.spki_sha256), hex);
        if (strcmp(hex, jstr(k, "spki_sha256")) != 0)
            fail(v, "key '%s' (key_id %s) changed: its public key's sha256 is %s, the transcript says %s", label, id,
                 hex, jstr(k, "spki_sha256"));
        if (strcmp(info.key_name, label) != 0)
            fail(v, "key '%s' (key_id %s) is now labelled '%s'", label, id, info.key_name);
        if (hsmca_keyslot_get1_key(ks, id, &key) != HSMCA_OK || hsmca_p11_key_get_attrs(key, &a) != HSMCA_OK)
            fail(v, "key '%s': cannot read its attributes", label);
        else if (a.extractable || !a.sensitive || !a.never_extractable || !a.always_sensitive)
            fail(v, "key '%s' (key_id %s) is no longer protected: CKA_EXTRACTABLE=%d CKA_SENSITIVE=%d "
                    "CKA_NEVER_EXTRACTABLE=%d CKA_ALWAYS_SENSITIVE=%d",
                 label, id, a.extractable, a.sensitive, a.never_extractable, a.always_sensitive);
        hsmca_p11_key_free(key);
    }
    hsmca_keyslot_free(ks);
}

static void check_signature(verdict *v, unsigned line, json_t *sig, const char *head, json_t *keys)
{
    unsigned char der[2200], raw[1100], md[32];
    const unsigned char *p = der;
    char msg[sizeof(SIG_CONTEXT) + 64], hex[65];
    const char *pub64 = jstr(sig, "public_key"), *sig64 = jstr(sig, "signature"), *digest = jstr(sig, "digest");
    EVP_PKEY *pub = NULL;
    EVP_MD_CTX *mctx = NULL;
    int dl, sl;
    bool known = false;
    json_t *k;
    size_t i;

    if (strlen(pub64) > 2900 || strlen(sig64) > 1400 ||
        (dl = EVP_DecodeBlock(der, (const unsigned char *)pub64, (int)strlen(pub64))) <= 0 ||
        (sl = EVP_DecodeBlock(raw, (const unsigned char *)sig64, (int)strlen(sig64))) <= 0) {
        fail(v, "line %u: the signature line's public_key or signature is not base64", line);
        return;
    }
    /* EVP_DecodeBlock counts base64 padding as zero bytes. */
    for (const char *e = pub64 + strlen(pub64); e > pub64 && e[-1] == '='; e--)
        dl--;
    for (const char *e = sig64 + strlen(sig64); e > sig64 && e[-1] == '='; e--)
        sl--;
    SHA256(der, (size_t)dl, md);
    cer_hex(md, sizeof(md), hex);
    /* The signer must be a key this ceremony recorded: a transcript
     * rewritten and signed with another key fails here. */
    json_array_foreach(keys, i, k) {
        if (strcmp(jstr(k, "spki_sha256"), hex) == 0)
            known = true;
    }
    if (strcmp(hex, jstr(sig, "spki_sha256")) != 0 || !known) {
        fail(v, "line %u: the transcript is signed by a key (spki sha256 %s) that is not one of its ceremony's keys",
             line, hex);
        return;
    }
    snprintf(msg, sizeof(msg), SIG_CONTEXT "%s", head);
    pub = d2i_PUBKEY(NULL, &p, dl);
    mctx = EVP_MD_CTX_new();
    if (pub == NULL || mctx == NULL ||
        EVP_DigestVerifyInit(mctx, NULL, strcmp(digest, "none") == 0 ? NULL : EVP_get_digestbyname(digest), NULL,
                             pub) != 1 ||
        EVP_DigestVerify(mctx, raw, (size_t)sl, (const unsigned char *)msg, strlen(msg)) != 1)
        fail(v, "line %u: the signature by '%s' does not verify over the transcript", line, jstr(sig, "label"));
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pub);
}

#define VERIFY_USAGE "usage: hsmca [--module PATH --token LABEL --pin-file PATH] ceremony verify TRANSCRIPT"

hsmca_rv cer_verify(hsmca_p11_token *tok, int argc, char **argv)
{
    char *data = NULL, *line, *next, dir[CER_PATH_MAX], prev[65] = GENESIS, *slash;
    size_t len = 0;
    unsigned n = 0, n_art = 0, n_keys = 0;
    unsigned char md[32];
    json_t *keys = json_array(), *header = NULL;
    bool signed_ok = false;
    verdict v;
    hsmca_rv rv;

    memset(&v, 0, sizeof(v));
    if (argc != 2 || keys == NULL) {
        json_decref(keys);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, VERIFY_USAGE);
    }
    snprintf(dir, sizeof(dir), "%s", argv[1]);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        *slash = '\0';
    if ((rv = cer_read_file(argv[1], CER_FILE_MAX, &data, &len)) != HSMCA_OK) {
        json_decref(keys);
        return rv;
    }
    for (line = data; line < data + len && *line; line = next) {
        json_error_t jerr;
        json_t *e;
        const char *type;
        next = strchr(line, '\n');
        if (next == NULL) {
            fail(&v, "line %u: not terminated by a newline (truncated?)", n + 1);
            break;
        }
        *next++ = '\0';
        if (++n > LINES_MAX || signed_ok) {
            fail(&v, "line %u: lines after the signature line", n);
            break;
        }
        e = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        if (e == NULL || !json_is_object(e)) {
            fail(&v, "line %u: not a JSON object (%s)", n, e ? "" : jerr.text);
            json_decref(e);
            break;
        }
        /* The chain: each line names the hash of the one before. */
        if (strcmp(jstr(e, "prev"), prev) != 0)
            fail(&v, "line %u: chain broken: its prev is not the sha256 of line %u (line %u was changed, or lines "
                     "were removed or reordered)",
                 n, n - 1, n - 1);
        if (json_integer_value(json_object_get(e, "seq")) != (json_int_t)(n - 1))
            fail(&v, "line %u: seq %lld where %u was expected (lines removed or reordered)", n,
                 (long long)json_integer_value(json_object_get(e, "seq")), n - 1);
        SHA256((unsigned char *)line, strlen(line), md);
        type = jstr(e, "type");
        if (n == 1 && strcmp(type, "ceremony") != 0)
            fail(&v, "line 1: not a ceremony header");
        if (strcmp(type, "ceremony") == 0 && n == 1) {
            header = json_incref(e);
        } else if (strcmp(type, "step") == 0) {
            json_t *k;
            size_t i;
            check_artefacts(&v, dir, n, e, &n_art);
            json_array_foreach(json_object_get(e, "keys"), i, k) {
                json_array_append(keys, k);
            }
        } else if (strcmp(type, "signature") == 0) {
            check_signature(&v, n, e, prev, keys);
            signed_ok = true;
        } else if (strcmp(type, "aborted") == 0) {
            fail(&v, "line %u: the ceremony was aborted: %s", n, jstr(e, "error"));
        } else {
            fail(&v, "line %u: unknown entry type '%.32s'", n, type);
        }
        cer_hex(md, sizeof(md), prev);
        json_decref(e);
    }
    if (!signed_ok && v.failures == 0)
        fail(&v, "the transcript has no signature line (incomplete ceremony, or its last lines were removed)");
    if (tok != NULL && header != NULL) {
        json_t *t = json_object_get(header, "token");
        if (strcmp(jstr(t, "serial"), hsmca_p11_token_serial(tok)) != 0)
            fail(&v, "the token given (serial %s) is not the ceremony's token '%s' (serial %s)",
                 hsmca_p11_token_serial(tok), jstr(t, "label"), jstr(t, "serial"));
        else
            check_keys(&v, tok, keys, &n_keys);
    }
    free(data);
    json_decref(keys);
    if (v.failures > 0) {
        json_decref(header);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: %u problem%s; first: %s", argv[1], v.failures,
                         v.failures == 1 ? "" : "s", v.first);
    }
    printf("ok: ceremony '%s', %u entries, chain intact, signature valid, %u artefacts match", jstr(header, "name"), n,
           n_art);
    if (tok != NULL)
        printf(", %u key records present and non-extractable on token '%s'\n", n_keys, hsmca_p11_token_label(tok));
    else
        printf(" (no token given: keys not checked)\n");
    json_decref(header);
    return HSMCA_OK;
}
