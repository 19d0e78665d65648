/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca ceremony run FILE [--dry-run] [--operator NAME ...]`: every step is
 * first planned in full (labels free, keys present and matching their
 * issuer certificates, CSRs verified, every certificate and CRL built and
 * linted, with software stand-ins for keys not made yet); only when the
 * whole plan passes does a real run generate a key or sign anything. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hsmca/keyslot.h"
#include "hsmca/provider.h"
#include "hsmca/serial.h"
#include "prompt.h"

#include "ceremony.h"

#define ART_MAX (2 * CER_STEPS_MAX)
#define PEM_MAX (256 * 1024)

/* An artefact this ceremony made (or, in the plan, would make), by the
 * output name the file gives it: later steps name it as an input. */
typedef struct {
    const char *name;
    X509 *cert;
    X509_REQ *req;
    X509_CRL *crl;
} cer_artefact;

/* A token key the ceremony uses; in the plan, a key to be generated is a
 * software stand-in of the same type. */
typedef struct {
    const char *label;
    EVP_PKEY *pkey;
    bool made_here;
    bool recorded; /* its attributes are in the transcript */
} cer_key;

typedef struct {
    cer_file *f;
    bool execute;
    hsmca_p11_token *tok;
    hsmca_keyslot *ks;
    OSSL_LIB_CTX *libctx;
    cer_artefact art[ART_MAX];
    size_t n_art;
    cer_key keys[CER_STEPS_MAX * 2];
    size_t n_keys;
    cer_transcript *t;
    size_t n_lint_rules, n_crl_rules;
} cer_ctx;

static void say(const cer_ctx *c, size_t step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(const cer_ctx *c, size_t step, const char *fmt, ...)
{
    va_list ap;

    printf("%s step %zu (%s): ", c->execute ? "run  " : "check", step + 1, c->f->steps[step].kind_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void ctx_reset(cer_ctx *c)
{
    for (size_t i = 0; i < c->n_art; i++) {
        X509_free(c->art[i].cert);
        X509_REQ_free(c->art[i].req);
        X509_CRL_free(c->art[i].crl);
    }
    for (size_t i = 0; i < c->n_keys; i++)
        EVP_PKEY_free(c->keys[i].pkey);
    c->n_art = 0;
    c->n_keys = 0;
}

static const char *time_text(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* ---- keys ---- */

static cer_key *key_table(cer_ctx *c, const char *label)
{
    for (size_t i = 0; i < c->n_keys; i++) {
        if (strcmp(c->keys[i].label, label) == 0)
            return &c->keys[i];
    }
    return NULL;
}

/* An existing token key (or one made earlier in this ceremony). */
static hsmca_rv key_find(cer_ctx *c, size_t idx, const char *field, const char *label, cer_key **out)
{
    hsmca_keyslot_info info;
    cer_key *k = key_table(c, label);
    hsmca_rv rv;

    *out = NULL;
    if (k != NULL) {
        *out = k;
        return HSMCA_OK;
    }
    if (c->n_keys >= sizeof(c->keys) / sizeof(c->keys[0]))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "too many keys in one ceremony");
    if (hsmca_keyslot_lookup(c->ks, label, &info) != HSMCA_OK)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "steps[%zu].%s: no key labelled '%s' on token '%s'", idx, field, label,
                         hsmca_p11_token_label(c->tok));
    k = &c->keys[c->n_keys];
    memset(k, 0, sizeof(*k));
    k->label = label;
    if ((rv = hsmca_keyslot_get1_pkey(c->ks, label, c->libctx, &k->pkey)) != HSMCA_OK)
        return rv;
    c->n_keys++;
    *out = k;
    return HSMCA_OK;
}

static EVP_PKEY *stand_in(OSSL_LIB_CTX *libctx, const cer_step *s)
{
    hsmca_key_type t;
    unsigned bits;

    if (hsmca_keyslot_parse_type(s->key_type, s->key_bits, &t, &bits) != HSMCA_OK)
        return NULL;
    if (t == HSMCA_KEY_RSA)
        return EVP_PKEY_Q_keygen(libctx, NULL, "RSA", (size_t)bits);
    if (t == HSMCA_KEY_EC)
        return EVP_PKEY_Q_keygen(libctx, NULL, "EC", bits == 521 ? "P-521" : bits == 384 ? "P-384" : "P-256");
    return EVP_PKEY_Q_keygen(libctx, NULL, "ED25519");
}

/* Generates the step's key; the plan only checks that its label is free
 * (on the token and in this ceremony) and makes a stand-in. */
static hsmca_rv key_make(cer_ctx *c, size_t idx, cer_key **out)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_keyslot_info info;
    size_t n = 0;
    cer_key *k = NULL;
    hsmca_key_type t;
    unsigned bits;
    hsmca_rv rv;

    *out = NULL;
    if (key_table(c, s->label) != NULL)
        return hsmca_err(HSMCA_ERR_EXISTS, "steps[%zu].label: '%s' is already used by this ceremony", idx, s->label);
    if (!c->execute) {
        if ((rv = hsmca_p11_count_labelled(c->tok, s->label, &n)) != HSMCA_OK)
            return rv;
        if (n > 0)
            return hsmca_err(HSMCA_ERR_EXISTS,
                             "steps[%zu].label: a key labelled '%s' already exists on token '%s'; a ceremony "
                             "never reuses or replaces a key",
                             idx, s->label, hsmca_p11_token_label(c->tok));
    }
    k = &c->keys[c->n_keys];
    memset(k, 0, sizeof(*k));
    k->label = s->label;
    k->made_here = true;
    if (!c->execute) {
        if ((k->pkey = stand_in(c->libctx, s)) == NULL)
            return hsmca_err(HSMCA_ERR_CRYPTO, "steps[%zu]: cannot make a stand-in %s key for the plan", idx,
                             s->key_type);
        c->n_keys++;
        say(c, idx, "label '%s' is free; a %s key will be generated in the token", s->label, s->key_type);
        *out = k;
        return HSMCA_OK;
    }
    if ((rv = hsmca_keyslot_parse_type(s->key_type, s->key_bits, &t, &bits)) != HSMCA_OK ||
        (rv = hsmca_keyslot_generate(c->ks, s->label, t, bits, &info)) != HSMCA_OK ||
        (rv = hsmca_keyslot_get1_pkey(c->ks, s->label, c->libctx, &k->pkey)) != HSMCA_OK)
        return rv;
    c->n_keys++;
    say(c, idx, "generated %s key '%s' (key_id %s)", s->key_type, s->label, info.key_id);
    *out = k;
    return HSMCA_OK;
}

/* The key as the token reports it now: what the transcript records. */
static hsmca_rv key_json(cer_ctx *c, const char *label, json_t **out)
{
    hsmca_keyslot_info info;
    hsmca_p11_key *key = NULL;
    hsmca_p11_key_attrs a = {0};
    char hex[65];
    hsmca_rv rv;

    *out = NULL;
    if ((rv = hsmca_keyslot_lookup(c->ks, label, &info)) != HSMCA_OK ||
        (rv = hsmca_keyslot_get1_key(c->ks, label, &key)) != HSMCA_OK ||
        (rv = hsmca_p11_key_get_attrs(key, &a)) != HSMCA_OK)
        goto done;
    cer_hex(info.spki_sha256, sizeof(info.spki_sha256), hex);
    *out = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:b, s:b, s:b, s:b, s:b, s:b, s:b}}", "label", label, "key_id",
                     info.key_id, "key_type",
                     info.type == HSMCA_KEY_RSA ? "rsa" : info.type == HSMCA_KEY_EC ? "ec" : "ed25519", "key_bits",
                     (int)info.bits, "spki_sha256", hex, "attributes", "CKA_TOKEN", a.token, "CKA_PRIVATE", a.private_,
                     "CKA_LOCAL", a.local, "CKA_SENSITIVE", a.sensitive, "CKA_ALWAYS_SENSITIVE", a.always_sensitive,
                     "CKA_EXTRACTABLE", a.extractable, "CKA_NEVER_EXTRACTABLE", a.never_extractable);
    rv = *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
done:
    hsmca_p11_key_free(key);
    return rv;
}

/* Adds the key's read-back attributes to a step entry ("keys" array). */
static hsmca_rv record_key(cer_ctx *c, json_t *entry, cer_key *k, const char *role)
{
    json_t *j = NULL, *arr = json_object_get(entry, "keys");
    hsmca_rv rv;

    if (!c->execute)
        return HSMCA_OK;
    if ((rv = key_json(c, k->label, &j)) != HSMCA_OK)
        return rv;
    json_object_set_new(j, "role", json_string(role));
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(entry, "keys", arr);
    }
    json_array_append_new(arr, j);
    k->recorded = true;
    return HSMCA_OK;
}

/* ---- artefacts ---- */

static cer_artefact *art_find(cer_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_art; i++) {
        if (strcmp(c->art[i].name, name) == 0)
            return &c->art[i];
    }
    return NULL;
}

/* A certificate input: this ceremony's artefact of that name, else a PEM
 * file relative to the ceremony file. The file's hash goes to inputs. */
static hsmca_rv cert_input(cer_ctx *c, size_t idx, const char *field, const char *name, json_t *entry, X509 **out)
{
    cer_artefact *a = art_find(c, name);
    char path[CER_PATH_MAX], *data = NULL, hex[65];
    unsigned char md[32];
    size_t len = 0;
    BIO *b = NULL;
    hsmca_rv rv;

    *out = NULL;
    if (a != NULL) {
        if (a->cert == NULL)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "steps[%zu].%s: '%s' is not a certificate", idx, field, name);
        X509_up_ref(a->cert);
        *out = a->cert;
        return HSMCA_OK;
    }
    if ((rv = cer_path(c->f->base_dir, name, path, sizeof(path))) != HSMCA_OK ||
        (rv = cer_read_file(path, PEM_MAX, &data, &len)) != HSMCA_OK) {
        hsmca_err_prefix("steps[%zu].%s", idx, field);
        return rv;
    }
    b = BIO_new_mem_buf(data, (int)len);
    *out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (*out == NULL) {
        free(data);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "steps[%zu].%s: '%s' is not a PEM certificate", idx, field, path);
    }
    SHA256((unsigned char *)data, len, md);
    free(data);
    cer_hex(md, sizeof(md), hex);
    if (entry != NULL) {
        json_t *inputs = json_object_get(entry, "inputs");
        if (inputs == NULL) {
            inputs = json_array();
            json_object_set_new(entry, "inputs", inputs);
        }
        json_array_append_new(inputs, json_pack("{s:s, s:s}", "path", name, "sha256", hex));
    }
    return HSMCA_OK;
}

/* In the plan: the output must not exist (a ceremony never overwrites an
 * artefact). In a run: writes it exclusively and records its hash. */
static hsmca_rv write_output(cer_ctx *c, size_t idx, const char *field, const char *name, const char *type,
                             const char *pem, size_t len, const char *der_hex, json_t *entry)
{
    char path[CER_PATH_MAX], hex[65];
    unsigned char md[32];
    int fd;
    hsmca_rv rv;

    if ((rv = cer_path(c->f->output_dir, name, path, sizeof(path))) != HSMCA_OK)
        return rv;
    if (!c->execute) {
        if (access(path, F_OK) == 0)
            return hsmca_err(HSMCA_ERR_EXISTS, "steps[%zu].%s: '%s' exists; a ceremony never overwrites an artefact",
                             idx, field, path);
        if (art_find(c, name) != NULL)
            return hsmca_err(HSMCA_ERR_EXISTS, "steps[%zu].%s: '%s' is written by an earlier step", idx, field, name);
        return HSMCA_OK;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return hsmca_err(HSMCA_ERR_IO, "steps[%zu].%s: cannot create '%s': %s", idx, field, path, strerror(errno));
    if (write(fd, pem, len) != (ssize_t)len || fsync(fd) != 0) {
        close(fd);
        return hsmca_err(HSMCA_ERR_IO, "steps[%zu].%s: cannot write '%s'", idx, field, path);
    }
    close(fd);
    SHA256((const unsigned char *)pem, len, md);
    cer_hex(md, sizeof(md), hex);
    json_array_append_new(json_object_get(entry, "artefacts"),
                          json_pack("{s:s, s:s, s:s, s:s}", "path", name, "type", type, "sha256", hex, "der_sha256",
                                    der_hex));
    say(c, idx, "wrote %s %s (sha256 %s)", type, path, hex);
    return HSMCA_OK;
}

static hsmca_rv art_add(cer_ctx *c, const char *name, X509 *cert, X509_REQ *req, X509_CRL *crl)
{
    cer_artefact *a;

    if (c->n_art >= ART_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "too many artefacts in one ceremony");
    a = &c->art[c->n_art++];
    a->name = name;
    a->cert = cert;
    a->req = req;
    a->crl = crl;
    return HSMCA_OK;
}

/* PEM of whichever object is given, into a bounded buffer (caller frees),
 * and the SHA-256 of its DER (what an importer compares certificates by,
 * whatever the PEM's line breaks). */
static hsmca_rv to_pem(X509 *cert, X509_REQ *req, X509_CRL *crl, char **out, size_t *len, char der_hex[65])
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *der = NULL, md[32];
    char *p = NULL;
    long n;
    int ok, dl;

    *out = NULL;
    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    ok = cert ? PEM_write_bio_X509(b, cert) : req ? PEM_write_bio_X509_REQ(b, req) : PEM_write_bio_X509_CRL(b, crl);
    dl = cert ? i2d_X509(cert, &der) : req ? i2d_X509_REQ(req, &der) : i2d_X509_CRL(crl, &der);
    n = BIO_get_mem_data(b, &p);
    if (ok != 1 || dl <= 0 || n <= 0 || n > PEM_MAX || (*out = malloc((size_t)n + 1)) == NULL) {
        BIO_free(b);
        OPENSSL_free(der);
        return hsmca_err(HSMCA_ERR_CRYPTO, "cannot encode the artefact as PEM");
    }
    SHA256(der, (size_t)dl, md);
    cer_hex(md, sizeof(md), der_hex);
    OPENSSL_free(der);
    memcpy(*out, p, (size_t)n);
    (*out)[n] = '\0';
    *len = (size_t)n;
    BIO_free(b);
    return HSMCA_OK;
}

/* A step's lint result for the transcript: only passes are ever recorded,
 * since a failure stops the ceremony before signing. */
static void lint_entry(json_t *entry, const char *gate, size_t rules)
{
    json_object_set_new(entry, "lint", json_pack("{s:s, s:s, s:i}", "result", "pass", "gate", gate, "rules",
                                                 (int)rules));
}

/* ---- certificate steps ---- */

/* The signing side of a step: issuer certificate and its token key, which
 * must certify each other (a mismatch would sign with the wrong root). */
static hsmca_rv issuer_of(cer_ctx *c, size_t idx, json_t *entry, X509 **cert, cer_key **key)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_rv rv;

    if ((rv = cert_input(c, idx, "issuer_cert", s->issuer_cert, entry, cert)) != HSMCA_OK ||
        (rv = key_find(c, idx, "issuer_key", s->issuer_key, key)) != HSMCA_OK)
        return rv;
    if (!hsmca_offline_key_matches(*cert, (*key)->pkey))
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "steps[%zu]: issuer_cert '%s' does not certify the token key '%s' (wrong certificate or "
                         "wrong key; nothing signed)",
                         idx, s->issuer_cert, s->issuer_key);
    if (!c->execute)
        say(c, idx, "issuer certificate '%s' matches token key '%s'", s->issuer_cert, s->issuer_key);
    return record_key(c, entry, *key, "issuer");
}

/* Builds, lints and (in a run) signs one certificate, then writes it. */
static hsmca_rv do_cert(cer_ctx *c, size_t idx, hsmca_offline_cert_profile *p, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_lint_finding finding;
    X509 *tbs = NULL, *cert = NULL;
    char *pem = NULL, serial[HSMCA_SERIAL_TEXT_MAX + 1], der_hex[65];
    size_t len = 0;
    hsmca_rv rv;

    if (!c->execute && (rv = write_output(c, idx, "output", s->output, "certificate", NULL, 0, NULL, entry)) != HSMCA_OK)
        return rv;
    if ((rv = hsmca_serial_generate(c->tok, p->serial, &p->serial_len)) != HSMCA_OK)
        return rv;
    p->not_before = s->not_before;
    p->not_after = s->not_after;
    p->policies = &s->policies;
    p->ocsp_urls = &s->ocsp_urls;
    p->ca_issuers_urls = &s->ca_issuers_urls;
    p->crl_urls = &s->crl_urls;
    rv = hsmca_offline_cert_prepare(c->libctx, p, &tbs, &finding);
    if (rv != HSMCA_OK) {
        if (finding.rule[0])
            say(c, idx, "lint FAILED: %s: %s (nothing signed)", finding.rule, finding.message);
        hsmca_err_prefix("steps[%zu] (%s)", idx, s->kind_name);
        goto done;
    }
    hsmca_serial_format(p->serial, p->serial_len, serial);
    if (!c->execute) {
        char subj[256], iss[256] = "itself", nb[32], na[32];
        /* What the witnesses are asked to approve, before anything is signed. */
        X509_NAME_oneline(p->subject, subj, sizeof(subj));
        if (p->issuer != NULL)
            X509_NAME_oneline(X509_get_subject_name(p->issuer), iss, sizeof(iss));
        say(c, idx, "'%s': subject %s, signed by %s, valid %s to %s%s", s->output, subj, iss,
            time_text(p->not_before, nb, sizeof(nb)),
            time_text(p->not_after, na, sizeof(na)), p->kind == HSMCA_OFFLINE_OCSP_SIGNER ? ", OCSP signer" : "");
        say(c, idx, "lint passed (%zu rules) for '%s', serial %s", c->n_lint_rules, s->output, serial);
        rv = art_add(c, s->output, tbs, NULL, NULL);
        tbs = NULL;
        goto done;
    }
    if ((rv = hsmca_offline_cert_sign(c->libctx, p, tbs, &cert)) != HSMCA_OK ||
        (rv = to_pem(cert, NULL, NULL, &pem, &len, der_hex)) != HSMCA_OK ||
        (rv = write_output(c, idx, "output", s->output, "certificate", pem, len, der_hex, entry)) != HSMCA_OK)
        goto done;
    lint_entry(entry, "hsmca_lint_certificate", c->n_lint_rules);
    json_object_set_new(json_array_get(json_object_get(entry, "artefacts"),
                                       json_array_size(json_object_get(entry, "artefacts")) - 1),
                        "serial", json_string(serial));
    rv = art_add(c, s->output, cert, NULL, NULL);
    cert = NULL;
done:
    free(pem);
    X509_free(tbs);
    X509_free(cert);
    return rv;
}

static hsmca_rv step_root_cert(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_offline_cert_profile p;
    X509_NAME *subject = NULL;
    cer_key *k = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    if ((rv = key_find(c, idx, "key", s->key, &k)) != HSMCA_OK || (rv = record_key(c, entry, k, "subject")) != HSMCA_OK)
        return rv;
    if ((rv = hsmca_offline_name_build(&s->subject, &subject)) != HSMCA_OK) {
        hsmca_err_prefix("steps[%zu].subject", idx);
        return rv;
    }
    p.kind = HSMCA_OFFLINE_ROOT;
    p.subject = subject;
    p.subject_key = k->pkey;
    p.signing_key = k->pkey;
    p.path_len = s->path_len;
    rv = do_cert(c, idx, &p, entry);
    X509_NAME_free(subject);
    return rv;
}

/* A CSR input: this ceremony's request of that name (read back through
 * its PEM so its signature is checked the same way), else a file. */
static hsmca_rv csr_input(cer_ctx *c, size_t idx, json_t *entry, X509_REQ **req, EVP_PKEY **pub)
{
    const cer_step *s = &c->f->steps[idx];
    cer_artefact *a = art_find(c, s->csr);
    char path[CER_PATH_MAX], *pem = NULL, hex[65], der_hex[65];
    unsigned char md[32];
    size_t len = 0;
    hsmca_rv rv;

    if (a != NULL && a->req != NULL) {
        rv = to_pem(NULL, a->req, NULL, &pem, &len, der_hex);
    } else {
        if ((rv = cer_path(c->f->base_dir, s->csr, path, sizeof(path))) == HSMCA_OK)
            rv = cer_read_file(path, PEM_MAX, &pem, &len);
        if (rv == HSMCA_OK) {
            SHA256((unsigned char *)pem, len, md);
            cer_hex(md, sizeof(md), hex);
            json_object_set_new(entry, "inputs", json_pack("[{s:s, s:s}]", "path", s->csr, "sha256", hex));
        }
    }
    if (rv == HSMCA_OK)
        rv = hsmca_offline_csr_read(pem, req, pub);
    if (rv != HSMCA_OK)
        hsmca_err_prefix("steps[%zu].csr '%s'", idx, s->csr);
    else if (!c->execute)
        say(c, idx, "CSR '%s': signature valid", s->csr);
    free(pem);
    return rv;
}

static hsmca_rv step_intermediate_sign(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_offline_cert_profile p;
    X509_REQ *req = NULL;
    EVP_PKEY *pub = NULL;
    X509_NAME *subject = NULL;
    X509 *issuer = NULL;
    cer_key *k = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    if ((rv = csr_input(c, idx, entry, &req, &pub)) != HSMCA_OK || (rv = issuer_of(c, idx, entry, &issuer, &k)) != HSMCA_OK)
        goto done;
    if (s->has_subject) {
        if ((rv = hsmca_offline_name_build(&s->subject, &subject)) != HSMCA_OK) {
            hsmca_err_prefix("steps[%zu].subject", idx);
            goto done;
        }
    } else if ((subject = X509_NAME_dup(X509_REQ_get_subject_name(req))) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    p.kind = HSMCA_OFFLINE_CA;
    p.subject = subject;
    p.subject_key = pub;
    p.issuer = issuer;
    p.signing_key = k->pkey;
    p.path_len = s->path_len;
    rv = do_cert(c, idx, &p, entry);
done:
    X509_REQ_free(req);
    EVP_PKEY_free(pub);
    X509_NAME_free(subject);
    X509_free(issuer);
    return rv;
}

static hsmca_rv step_intermediate_generate(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    X509_NAME *subject = NULL;
    X509_REQ *req = NULL;
    char *pem = NULL, der_hex[65];
    size_t len = 0;
    cer_key *k = NULL;
    hsmca_rv rv;

    if (!c->execute && (rv = write_output(c, idx, "csr_output", s->csr_output, "csr", NULL, 0, NULL, entry)) != HSMCA_OK)
        return rv;
    if ((rv = hsmca_offline_name_build(&s->subject, &subject)) != HSMCA_OK) {
        hsmca_err_prefix("steps[%zu].subject", idx);
        return rv;
    }
    if ((rv = key_make(c, idx, &k)) != HSMCA_OK || (rv = record_key(c, entry, k, "subject")) != HSMCA_OK ||
        (rv = hsmca_offline_csr_make(c->libctx, subject, k->pkey, &req)) != HSMCA_OK)
        goto done;
    if (c->execute) {
        if ((rv = to_pem(NULL, req, NULL, &pem, &len, der_hex)) != HSMCA_OK ||
            (rv = write_output(c, idx, "csr_output", s->csr_output, "csr", pem, len, der_hex, entry)) != HSMCA_OK)
            goto done;
    } else {
        say(c, idx, "a CSR for '%s' will be signed by the new key", s->subject.common_name);
    }
    rv = art_add(c, s->csr_output, NULL, req, NULL);
    req = NULL;
done:
    free(pem);
    X509_NAME_free(subject);
    X509_REQ_free(req);
    return rv;
}

static hsmca_rv step_cross_sign(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_offline_cert_profile p;
    X509 *subject_cert = NULL, *issuer = NULL;
    BASIC_CONSTRAINTS *bc = NULL;
    cer_key *k = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    if ((rv = cert_input(c, idx, "cert", s->cert, entry, &subject_cert)) != HSMCA_OK ||
        (rv = issuer_of(c, idx, entry, &issuer, &k)) != HSMCA_OK)
        goto done;
    /* Read from the extension itself, not OpenSSL's cached flags: in the
     * plan, the certificate may be this ceremony's unsigned TBS, cached
     * before its extensions were added. */
    bc = X509_get_ext_d2i(subject_cert, NID_basic_constraints, NULL, NULL);
    if (bc == NULL || !bc->ca) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "steps[%zu].cert: '%s' is not a CA certificate", idx, s->cert);
        goto done;
    }
    p.kind = HSMCA_OFFLINE_CA;
    p.subject = X509_get_subject_name(subject_cert);
    p.subject_key = X509_get0_pubkey(subject_cert);
    p.issuer = issuer;
    p.signing_key = k->pkey;
    /* The cross-certificate keeps the CA's own path length unless the
     * file narrows it. */
    p.path_len = s->path_len != -2 ? s->path_len : bc->pathlen ? (int)ASN1_INTEGER_get(bc->pathlen) : -1;
    if (p.subject_key == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "steps[%zu].cert: unsupported public key", idx);
        goto done;
    }
    rv = do_cert(c, idx, &p, entry);
done:
    BASIC_CONSTRAINTS_free(bc);
    X509_free(subject_cert);
    X509_free(issuer);
    return rv;
}

static hsmca_rv step_ocsp_signer(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_offline_cert_profile p;
    X509_NAME *subject = NULL;
    X509 *issuer = NULL;
    cer_key *k = NULL, *ik = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    if ((rv = issuer_of(c, idx, entry, &issuer, &ik)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_offline_name_build(&s->subject, &subject)) != HSMCA_OK) {
        hsmca_err_prefix("steps[%zu].subject", idx);
        goto done;
    }
    if ((rv = key_make(c, idx, &k)) != HSMCA_OK || (rv = record_key(c, entry, k, "subject")) != HSMCA_OK)
        goto done;
    p.kind = HSMCA_OFFLINE_OCSP_SIGNER;
    p.subject = subject;
    p.subject_key = k->pkey;
    p.issuer = issuer;
    p.signing_key = ik->pkey;
    p.path_len = -1;
    rv = do_cert(c, idx, &p, entry);
done:
    X509_NAME_free(subject);
    X509_free(issuer);
    return rv;
}

static hsmca_rv step_crl(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    hsmca_offline_crl_profile p;
    hsmca_offline_revoked rev[CER_REVOKED_MAX];
    hsmca_lint_finding finding;
    X509 *issuer = NULL, *rc = NULL;
    X509_CRL *tbs = NULL, *crl = NULL;
    char *pem = NULL, der_hex[65];
    size_t len = 0;
    cer_key *k = NULL;
    hsmca_rv rv;

    memset(&p, 0, sizeof(p));
    memset(rev, 0, sizeof(rev));
    if (!c->execute && (rv = write_output(c, idx, "output", s->output, "crl", NULL, 0, NULL, entry)) != HSMCA_OK)
        return rv;
    if ((rv = issuer_of(c, idx, entry, &issuer, &k)) != HSMCA_OK)
        goto done;
    for (size_t i = 0; i < s->n_revoked; i++) {
        const cer_revoked *r = &s->revoked[i];
        rev[i].reason = r->reason;
        rev[i].revoked_at = r->revoked_at ? r->revoked_at : s->this_update;
        if (r->serial != NULL) {
            rv = hsmca_serial_parse(r->serial, rev[i].serial, &rev[i].serial_len);
        } else {
            char field[48];
            snprintf(field, sizeof(field), "revoked[%zu].cert", i);
            if ((rv = cert_input(c, idx, field, r->cert, entry, &rc)) != HSMCA_OK)
                goto done;
            /* Only this CA's own certificates can be on its CRL. */
            if (X509_NAME_cmp(X509_get_issuer_name(rc), X509_get_subject_name(issuer)) != 0)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "'%s' was not issued by this CRL's CA", r->cert);
            else
                rv = hsmca_serial_from_asn1(X509_get0_serialNumber(rc), rev[i].serial, &rev[i].serial_len);
            X509_free(rc);
            rc = NULL;
        }
        if (rv != HSMCA_OK) {
            hsmca_err_prefix("steps[%zu].revoked[%zu]", idx, i);
            goto done;
        }
    }
    p.issuer = issuer;
    p.signing_key = k->pkey;
    p.this_update = s->this_update;
    p.next_update = s->next_update;
    for (uint64_t n = s->crl_number; n > 0; n >>= 8)
        p.number_len++;
    for (size_t i = 0; i < p.number_len; i++)
        p.number[p.number_len - 1 - i] = (unsigned char)(s->crl_number >> (8 * i));
    p.revoked = rev;
    p.n_revoked = s->n_revoked;
    if ((rv = hsmca_offline_crl_prepare(&p, &tbs, &finding)) != HSMCA_OK) {
        if (finding.rule[0])
            say(c, idx, "lint FAILED: %s: %s (nothing signed)", finding.rule, finding.message);
        hsmca_err_prefix("steps[%zu] (crl)", idx);
        goto done;
    }
    if (!c->execute) {
        say(c, idx, "lint passed (%zu CRL rules) for '%s': number %llu, %zu revoked, next update in %lld s",
            c->n_crl_rules, s->output,
            (unsigned long long)s->crl_number, s->n_revoked, (long long)(s->next_update - s->this_update));
        rv = art_add(c, s->output, NULL, NULL, tbs);
        tbs = NULL;
        goto done;
    }
    if ((rv = hsmca_offline_crl_sign(c->libctx, &p, tbs, &crl)) != HSMCA_OK ||
        (rv = to_pem(NULL, NULL, crl, &pem, &len, der_hex)) != HSMCA_OK ||
        (rv = write_output(c, idx, "output", s->output, "crl", pem, len, der_hex, entry)) != HSMCA_OK)
        goto done;
    lint_entry(entry, "hsmca_lint_crl", c->n_crl_rules);
    rv = art_add(c, s->output, NULL, NULL, crl);
    crl = NULL;
done:
    free(pem);
    X509_free(issuer);
    X509_free(rc);
    X509_CRL_free(tbs);
    X509_CRL_free(crl);
    return rv;
}

static hsmca_rv run_step(cer_ctx *c, size_t idx, json_t *entry)
{
    const cer_step *s = &c->f->steps[idx];
    cer_key *k = NULL;
    hsmca_rv rv;

    switch (s->kind) {
    case CER_ROOT_KEY:
        if ((rv = key_make(c, idx, &k)) == HSMCA_OK)
            rv = record_key(c, entry, k, "subject");
        return rv;
    case CER_ROOT_CERT:
        return step_root_cert(c, idx, entry);
    case CER_INTERMEDIATE:
        return s->generate ? step_intermediate_generate(c, idx, entry) : step_intermediate_sign(c, idx, entry);
    case CER_CROSS_SIGN:
        return step_cross_sign(c, idx, entry);
    case CER_CRL:
        return step_crl(c, idx, entry);
    case CER_OCSP_SIGNER:
        return step_ocsp_signer(c, idx, entry);
    }
    return hsmca_err(HSMCA_ERR_INTERNAL, "unknown step kind");
}

/* The transcript's signer: the file's transcript_key, else the first root
 * key, else the first issuer key, else the first key made. */
static const char *transcript_signer(const cer_file *f)
{
    if (f->transcript_key != NULL)
        return f->transcript_key;
    for (size_t i = 0; i < f->n_steps; i++) {
        if (f->steps[i].kind == CER_ROOT_KEY)
            return f->steps[i].label;
    }
    for (size_t i = 0; i < f->n_steps; i++) {
        if (f->steps[i].issuer_key != NULL)
            return f->steps[i].issuer_key;
    }
    for (size_t i = 0; i < f->n_steps; i++) {
        if (f->steps[i].label != NULL)
            return f->steps[i].label;
    }
    return NULL;
}

static hsmca_rv run_pass(cer_ctx *c)
{
    char when[32];
    hsmca_rv rv = HSMCA_OK;

    for (size_t i = 0; i < c->f->n_steps && rv == HSMCA_OK; i++) {
        json_t *entry = json_pack("{s:s, s:i, s:s, s:s, s:[]}", "type", "step", "index", (int)i + 1, "kind",
                                  c->f->steps[i].kind_name, "time", time_text((int64_t)time(NULL), when, sizeof(when)),
                                  "artefacts");
        if (entry == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        if (c->f->steps[i].generate)
            json_object_set_new(entry, "mode", json_string("generate"));
        rv = run_step(c, i, entry);
        if (rv != HSMCA_OK && strncmp(hsmca_err_message(), "steps[", 6) != 0)
            hsmca_err_prefix("steps[%zu] (%s)", i, c->f->steps[i].kind_name);
        if (rv == HSMCA_OK && c->t != NULL)
            rv = cer_transcript_append(c->t, entry);
        else
            json_decref(entry);
    }
    return rv;
}

/* mkdir -p: the output directory and any missing parents, 0755. */
static hsmca_rv make_dirs(const char *path)
{
    char buf[CER_PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return hsmca_err(HSMCA_ERR_IO, "output_dir: cannot create '%s': %s", buf, strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return HSMCA_OK;
}

#define RUN_USAGE "usage: hsmca ceremony run CEREMONY.json [--dry-run] [--operator NAME ...]"

hsmca_rv cer_run(int argc, char **argv)
{
    cer_file *f = calloc(1, sizeof(*f));
    cer_ctx c;
    cer_transcript t;
    const char *file = NULL, *ops[CER_OPERATORS_MAX], *signer;
    size_t n_ops = 0, n_rules = 0;
    bool dry_run = false, t_open = false;
    hsmca_p11_config cfg;
    hsmca_pin *pin = NULL;
    OSSL_PROVIDER *prov = NULL;
    char tpath[CER_PATH_MAX], pin_path[CER_PATH_MAX], hex[65], when[32];
    int64_t now = (int64_t)time(NULL);
    cer_key *sk = NULL;
    json_t *j;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    if (f == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(argv[i], "--operator") == 0 && i + 1 < argc) {
            if (n_ops >= CER_OPERATORS_MAX || argv[i + 1][0] == '\0' || strlen(argv[i + 1]) > 128) {
                rv = hsmca_err(rv, "--operator: at most %d names of 1 to 128 bytes", CER_OPERATORS_MAX);
                goto done;
            }
            ops[n_ops++] = argv[++i];
        } else if (argv[i][0] != '-' && file == NULL) {
            file = argv[i];
        } else {
            rv = hsmca_err(rv, "unexpected argument '%.100s'; " RUN_USAGE, argv[i]);
            goto done;
        }
    }
    if (file == NULL) {
        rv = hsmca_err(rv, RUN_USAGE);
        goto done;
    }
    /* A ceremony is witnessed: its transcript names who ran it. */
    if (!dry_run && n_ops == 0) {
        rv = hsmca_err(rv, "name the operators with --operator NAME (at least one; the transcript records them)");
        goto done;
    }
    if ((rv = cer_file_load(file, now, f)) != HSMCA_OK)
        goto done;
    c.f = f;
    signer = transcript_signer(f);
    hsmca_lint_rules(&n_rules);
    c.n_lint_rules = n_rules;
    hsmca_lint_crl_rules(&n_rules);
    c.n_crl_rules = n_rules;

    /* The token, logged in with the PIN from the file's source. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = f->module;
    cfg.token_label = f->token_label;
    cfg.token_serial = f->token_serial;
    if (f->pin_file != NULL) {
        /* Its own buffer: the token may read the file again to log in
         * after a lost session. */
        if ((rv = cer_path(f->base_dir, f->pin_file, pin_path, sizeof(pin_path))) != HSMCA_OK)
            goto done;
        cfg.pin.file = pin_path;
    } else {
        char what[96];
        snprintf(what, sizeof(what), "user PIN of token '%s'", f->token_label ? f->token_label : f->token_serial);
        if ((rv = hsmca_cli_prompt_pin(what, false, &pin)) != HSMCA_OK)
            goto done;
        cfg.pin_value = pin;
    }
    if ((rv = hsmca_p11_token_open(&cfg, &c.tok)) != HSMCA_OK)
        goto done;
    /* hsmca_p11_token_open logs in lazily: prove the PIN now, before any
     * step, so a wrong PIN stops the ceremony at its start. */
    {
        unsigned char probe[8];
        if ((rv = hsmca_p11_token_random(c.tok, probe, sizeof(probe))) != HSMCA_OK)
            goto done;
    }
    if ((rv = hsmca_keyslot_new(c.tok, &c.ks)) != HSMCA_OK)
        goto done;
    if ((c.libctx = OSSL_LIB_CTX_new()) == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = hsmca_provider_load(c.libctx, &prov)) != HSMCA_OK)
        goto done;

    /* 1. The plan: every precondition and every lint, nothing touched. */
    printf("ceremony '%s' on token '%s' (serial %s)%s\n", f->name, hsmca_p11_token_label(c.tok),
           hsmca_p11_token_serial(c.tok), dry_run ? ": dry run, nothing will be generated or signed" : "");
    if ((rv = run_pass(&c)) != HSMCA_OK)
        goto done;
    if (signer == NULL || key_table(&c, signer) == NULL) {
        cer_key *tk = NULL;
        if (signer == NULL || key_find(&c, 0, "transcript_key", signer, &tk) != HSMCA_OK) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "transcript_key: no key on the token to sign the transcript with");
            goto done;
        }
    }
    if ((rv = cer_path(f->output_dir, "transcript.jsonl", tpath, sizeof(tpath))) != HSMCA_OK)
        goto done;
    if (access(tpath, F_OK) == 0) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "output_dir: '%s' exists; each ceremony needs its own output_dir", tpath);
        goto done;
    }
    if (dry_run) {
        printf("dry run passed: %zu steps checked; the transcript would be signed by '%s'\n", f->n_steps, signer);
        rv = HSMCA_OK;
        goto done;
    }
    ctx_reset(&c);

    /* 2. The run. */
    if ((rv = make_dirs(f->output_dir)) != HSMCA_OK)
        goto done;
    if ((rv = cer_transcript_open(&t, tpath)) != HSMCA_OK)
        goto done;
    t_open = true;
    c.execute = true;
    c.t = &t;
    cer_hex(f->sha256, sizeof(f->sha256), hex);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[], s:s}", "type", "ceremony", "name",
                  f->name, "ceremony_file", f->path, "ceremony_sha256", hex, "tool", "hsmca " HSMCA_VERSION, "module",
                  f->module, "token", "label", hsmca_p11_token_label(c.tok), "serial", hsmca_p11_token_serial(c.tok),
                  "model", hsmca_p11_token_model(c.tok), "manufacturer", hsmca_p11_token_manufacturer(c.tok),
                  "operators", "started", time_text((int64_t)time(NULL), when, sizeof(when)));
    for (size_t i = 0; j != NULL && i < n_ops; i++)
        json_array_append_new(json_object_get(j, "operators"), json_string(ops[i]));
    if (j == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rv = cer_transcript_append(&t, j)) != HSMCA_OK)
        goto done;
    if ((rv = run_pass(&c)) != HSMCA_OK)
        goto done;
    if ((rv = key_find(&c, 0, "transcript_key", signer, &sk)) != HSMCA_OK)
        goto done;
    if (sk == NULL) {
        rv = hsmca_err(HSMCA_ERR_INTERNAL, "transcript_key '%s' was not loaded", signer);
        goto done;
    }
    {
        hsmca_keyslot_info info;
        if ((rv = hsmca_keyslot_lookup(c.ks, signer, &info)) != HSMCA_OK ||
            (rv = cer_transcript_sign(&t, c.libctx, sk->pkey, signer, info.key_id)) != HSMCA_OK)
            goto done;
    }
    rv = cer_transcript_close(&t);
    t_open = false;
    if (rv == HSMCA_OK)
        printf("ceremony '%s' complete: transcript %s signed by '%s'\n", f->name, tpath, signer);
done:
    if (t_open) {
        /* A run that failed part-way keeps its record of what was done,
         * unsigned, so verify reports it as incomplete. Keys it made stay
         * in the token (certificates may already name them); the operator
         * is told which, since a re-run would refuse their labels. */
        char msg[512], made[512] = "";
        json_t *keys = json_array();
        size_t o = 0;
        snprintf(msg, sizeof(msg), "%s", hsmca_err_message());
        for (size_t i = 0; i < c.n_keys; i++) {
            if (!c.keys[i].made_here)
                continue;
            json_array_append_new(keys, json_string(c.keys[i].label));
            o += (size_t)snprintf(made + o, o < sizeof(made) ? sizeof(made) - o : 0, "%s'%s'", o ? ", " : "",
                                  c.keys[i].label);
        }
        cer_transcript_append(&t, json_pack("{s:s, s:s, s:o}", "type", "aborted", "error", msg, "keys_made", keys));
        cer_transcript_close(&t);
        if (made[0])
            hsmca_err(rv, "%s; the ceremony stopped there: keys it generated remain on the token (%s), its transcript "
                          "records them and is unsigned",
                      msg, made);
        else
            hsmca_err(rv, "%s; the ceremony stopped there, its transcript is unsigned", msg);
    }
    ctx_reset(&c);
    hsmca_keyslot_free(c.ks);
    if (prov != NULL)
        OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(c.libctx);
    hsmca_p11_token_free(c.tok);
    hsmca_pin_free(pin);
    cer_file_clear(f);
    free(f);
    return rv;
}
