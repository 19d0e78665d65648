/* SPDX-License-Identifier: Apache-2.0 */
/* Checking a key-ceremony transcript from its text: the hash chain, the
 * signature by one of the ceremony's own keys, and what it records; shared
 * by `hsmca ceremony verify` and the daemon's issuer import. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hsmca/transcript.h"

#define ENTRIES_MAX 256 /* artefacts or keys recorded by one transcript */

typedef struct {
    hsmca_transcript *t;
    hsmca_transcript_fail_fn fn;
    void *arg;
} checker;

static void fail(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(checker *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->fn != NULL)
        c->fn(c->arg, msg);
    if (c->t->failures++ == 0)
        snprintf(c->t->first_failure, sizeof(c->t->first_failure), "%s", msg);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

static void collect_step(checker *c, unsigned line, json_t *e)
{
    hsmca_transcript *t = c->t;
    json_t *a, *k;
    size_t i;

    json_array_foreach(json_object_get(e, "artefacts"), i, a) {
        hsmca_transcript_artefact *x;
        if (t->n_artefacts >= ENTRIES_MAX) {
            fail(c, "line %u: more than %d artefacts", line, ENTRIES_MAX);
            return;
        }
        x = &t->artefacts[t->n_artefacts++];
        x->line = line;
        x->step = (unsigned)json_integer_value(json_object_get(e, "index"));
        copy(x->path, sizeof(x->path), jstr(a, "path"));
        copy(x->type, sizeof(x->type), jstr(a, "type"));
        copy(x->sha256, sizeof(x->sha256), jstr(a, "sha256"));
        copy(x->der_sha256, sizeof(x->der_sha256), jstr(a, "der_sha256"));
    }
    json_array_foreach(json_object_get(e, "keys"), i, k) {
        hsmca_transcript_key *x;
        if (t->n_keys >= ENTRIES_MAX) {
            fail(c, "line %u: more than %d key records", line, ENTRIES_MAX);
            return;
        }
        x = &t->keys[t->n_keys++];
        x->line = line;
        copy(x->label, sizeof(x->label), jstr(k, "label"));
        copy(x->key_id, sizeof(x->key_id), jstr(k, "key_id"));
        copy(x->spki_sha256, sizeof(x->spki_sha256), jstr(k, "spki_sha256"));
    }
}

/* Base64 into out (capacity size); the decoded length, or -1. */
static int unbase64(const char *in, unsigned char *out, size_t size)
{
    size_t n = strlen(in);
    int len;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > size)
        return -1;
    len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    for (const char *e = in + n; len > 0 && e > in && e[-1] == '='; e--)
        len--;
    return len;
}

static void check_signature(checker *c, unsigned line, json_t *sig, const char *head)
{
    hsmca_transcript *t = c->t;
    unsigned char der[2200], raw[1100], md[32];
    const unsigned char *p = der;
    char msg[sizeof(HSMCA_TRANSCRIPT_SIG_CONTEXT) + 64], fp[65];
    const char *digest = jstr(sig, "digest");
    EVP_PKEY *pub = NULL;
    EVP_MD_CTX *mctx = NULL;
    int dl = unbase64(jstr(sig, "public_key"), der, sizeof(der)), sl = unbase64(jstr(sig, "signature"), raw, sizeof(raw));
    bool known = false;

    if (dl <= 0 || sl <= 0) {
        fail(c, "line %u: the signature line's public_key or signature is not base64", line);
        return;
    }
    SHA256(der, (size_t)dl, md);
    hex(md, sizeof(md), fp);
    /* The signer must be a key this ceremony recorded: a transcript
     * rewritten and signed with another key fails here. */
    for (size_t i = 0; i < t->n_keys; i++) {
        if (strcmp(t->keys[i].spki_sha256, fp) == 0)
            known = true;
    }
    if (strcmp(fp, jstr(sig, "spki_sha256")) != 0 || !known) {
        fail(c, "line %u: the transcript is signed by a key (spki sha256 %s) that is not one of its ceremony's keys",
             line, fp);
        return;
    }
    snprintf(msg, sizeof(msg), HSMCA_TRANSCRIPT_SIG_CONTEXT "%s", head);
    pub = d2i_PUBKEY(NULL, &p, dl);
    mctx = EVP_MD_CTX_new();
    if (pub == NULL || mctx == NULL ||
        EVP_DigestVerifyInit(mctx, NULL, strcmp(digest, "none") == 0 ? NULL : EVP_get_digestbyname(digest), NULL,
                             pub) != 1 ||
        EVP_DigestVerify(mctx, raw, (size_t)sl, (const unsigned char *)msg, strlen(msg)) != 1) {
        fail(c, "line %u: the signature by '%s' does not verify over the transcript", line, jstr(sig, "label"));
    } else {
        t->signer = pub;
        pub = NULL;
        copy(t->signer_label, sizeof(t->signer_label), jstr(sig, "label"));
    }
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pub);
}

hsmca_rv hsmca_transcript_check(const char *text, size_t len, hsmca_transcript_fail_fn fn, void *arg,
                                hsmca_transcript *out)
{
    checker c = {out, fn, arg};
    char prev[65] = HSMCA_TRANSCRIPT_GENESIS, *buf = NULL, *line, *next;
    unsigned char md[32];
    bool signed_seen = false;
    unsigned n = 0;

    memset(out, 0, sizeof(*out));
    out->artefacts = calloc(ENTRIES_MAX, sizeof(*out->artefacts));
    out->keys = calloc(ENTRIES_MAX, sizeof(*out->keys));
    if (out->artefacts == NULL || out->keys == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (len == 0 || len > HSMCA_TRANSCRIPT_MAX || memchr(text, '\0', len) != NULL) {
        fail(&c, "the transcript is empty, larger than %d bytes, or not text", HSMCA_TRANSCRIPT_MAX);
        goto done;
    }
    if ((buf = malloc(len + 1)) == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (line = buf; *line; line = next) {
        json_error_t jerr;
        json_t *e;
        const char *type;
        next = strchr(line, '\n');
        if (next == NULL) {
            fail(&c, "line %u: not terminated by a newline (truncated?)", n + 1);
            break;
        }
        *next++ = '\0';
        if (++n > HSMCA_TRANSCRIPT_LINES_MAX || signed_seen) {
            fail(&c, "line %u: lines after the signature line", n);
            break;
        }
        e = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        if (e == NULL || !json_is_object(e)) {
            fail(&c, "line %u: not a JSON object%s%s", n, e ? "" : ": ", e ? "" : jerr.text);
            json_decref(e);
            break;
        }
        /* The chain: each line names the hash of the one before. */
        if (strcmp(jstr(e, "prev"), prev) != 0)
            fail(&c,
                 "line %u: chain broken: its prev is not the sha256 of line %u (line %u was changed, or lines "
                 "were removed or reordered)",
                 n, n - 1, n - 1);
        if (json_integer_value(json_object_get(e, "seq")) != (json_int_t)(n - 1))
            fail(&c, "line %u: seq %lld where %u was expected (lines removed or reordered)", n,
                 (long long)json_integer_value(json_object_get(e, "seq")), n - 1);
        SHA256((unsigned char *)line, strlen(line), md);
        type = jstr(e, "type");
        if (n == 1) {
            if (strcmp(type, "ceremony") != 0) {
                fail(&c, "line 1: not a ceremony header");
            } else {
                copy(out->name, sizeof(out->name), jstr(e, "name"));
                copy(out->token_label, sizeof(out->token_label), jstr(json_object_get(e, "token"), "label"));
                copy(out->token_serial, sizeof(out->token_serial), jstr(json_object_get(e, "token"), "serial"));
            }
        } else if (strcmp(type, "step") == 0) {
            collect_step(&c, n, e);
        } else if (strcmp(type, "signature") == 0) {
            check_signature(&c, n, e, prev);
            signed_seen = true;
        } else if (strcmp(type, "aborted") == 0) {
            fail(&c, "line %u: the ceremony was aborted: %.300s", n, jstr(e, "error"));
        } else {
            fail(&c, "line %u: unknown entry type '%.32s'", n, type);
        }
        hex(md, sizeof(md), prev);
        json_decref(e);
    }
    out->entries = n;
    if (!signed_seen && out->failures == 0)
        fail(&c, "the transcript has no signature line (incomplete ceremony, or its last lines were removed)");
done:
    free(buf);
    if (out->failures > 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "transcript: %u problem%s; first: %s", out->failures,
                         out->failures == 1 ? "" : "s", out->first_failure);
    return HSMCA_OK;
}

void hsmca_transcript_clear(hsmca_transcript *t)
{
    if (t == NULL)
        return;
    EVP_PKEY_free(t->signer);
    free(t->artefacts);
    free(t->keys);
    memset(t, 0, sizeof(*t));
}

hsmca_rv hsmca_transcript_match_certificate(const hsmca_transcript *t, X509 *cert)
{
    unsigned char *der = NULL, md[32];
    char fp[65];
    int n = i2d_X509(cert, &der);
    bool found = false;

    if (n <= 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "the certificate cannot be encoded");
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    hex(md, sizeof(md), fp);
    for (size_t i = 0; i < t->n_artefacts; i++) {
        if (strcmp(t->artefacts[i].type, "certificate") == 0 && strcmp(t->artefacts[i].der_sha256, fp) == 0)
            found = true;
    }
    if (!found)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "the certificate (DER sha256 %s) is not one that ceremony '%s' made", fp, t->name);
    /* The ceremony's signer is the key that signed the certificate: its own
     * root, or the root that signed the intermediate. */
    if (t->signer == NULL || X509_verify(cert, t->signer) != 1) {
        ERR_clear_error();
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "the certificate is not signed by the key that signed ceremony '%s''s transcript", t->name);
    }
    return HSMCA_OK;
}
