/* SPDX-License-Identifier: Apache-2.0 */
/* Mount keys: a key document per token key the mount uses (OpenBao's keys/
 * endpoints). The key material is only ever in the token; the document
 * records its key_id (= CKA_ID), name and type. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/log.h"
#include "internal.h"

static const char *key_type_name(hsmca_key_type t)
{
    return t == HSMCA_KEY_RSA ? "rsa" : t == HSMCA_KEY_EC ? "ec" : "ed25519";
}

/* The token label of a mount key: "<mount>:<name>" (or ":<key_id>" when
 * unnamed), so two mounts may each have a key called "root". */
static hsmca_rv token_label(const char *mount, const char *name, const char *key_id, char *out, size_t size)
{
    const char *tail = name && name[0] ? name : key_id;
    size_t ml = strlen(mount), tl = strlen(tail);

    if (ml + 1 + tl + 1 > size)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "mount '%s' and key_name '%s' together exceed the %zu-byte token label", mount, tail,
                         size - 1);
    memcpy(out, mount, ml);
    out[ml] = ':';
    memcpy(out + ml + 1, tail, tl);
    out[ml + 1 + tl] = '\0';
    return HSMCA_OK;
}

static hsmca_rv key_from_doc(const hsmca_store_doc *doc, const json_t *body, hsmca_ca_key *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->key_id, sizeof(out->key_id), "%.36s", doc->id);
    snprintf(out->key_name, sizeof(out->key_name), "%s", doc->name);
    snprintf(out->key_type, sizeof(out->key_type), "%s", ca_json_str(body, "key_type", ""));
    out->key_bits = (unsigned)json_integer_value(json_object_get(body, "key_bits"));
    return HSMCA_OK;
}

hsmca_rv ca_key_resolve(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_key *out)
{
    hsmca_store_doc doc;
    json_t *body = NULL;
    char default_id[40] = "";
    hsmca_rv rv;

    if (ref == NULL || ref[0] == '\0' || strcmp(ref, "default") == 0) {
        json_t *cfg = NULL;
        rv = ca_config_load(ca, mount, "keys", &cfg);
        if (rv != HSMCA_OK)
            return rv;
        snprintf(default_id, sizeof(default_id), "%s", ca_json_str(cfg, "default", ""));
        json_decref(cfg);
        if (default_id[0] == '\0')
            return hsmca_err(HSMCA_ERR_NOT_FOUND, "mount '%s' has no default key", mount);
        ref = default_id;
    }
    rv = ca_doc_load(ca, mount, HSMCA_DOC_KEY, ref, &doc, &body);
    if (rv == HSMCA_ERR_NOT_FOUND)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "no key '%s' in mount '%s'", ref, mount);
    if (rv == HSMCA_OK)
        rv = key_from_doc(&doc, body, out);
    json_decref(body);
    hsmca_store_doc_clear(&doc);
    return rv;
}

void ca_key_record(hsmca_ca *ca, hsmca_store_batch *b, const char *mount, const hsmca_ca_key *k,
                   bool make_default)
{
    json_t *body = json_pack("{s:s, s:I}", "key_type", k->key_type, "key_bits", (json_int_t)k->key_bits);
    char *text = body ? ca_json_text(body) : NULL;

    /* A NULL body fails the batch at commit (invalid JSON). */
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, mount, HSMCA_DOC_KEY, k->key_id, k->key_name, text, NULL, 0);
    if (make_default) {
        json_t *cfg = json_pack("{s:s}", "default", k->key_id);
        char *ctext = cfg ? ca_json_text(cfg) : NULL;
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, mount, HSMCA_DOC_CONFIG, "keys", NULL, ctext, NULL, 0);
        free(ctext);
        json_decref(cfg);
    }
    free(text);
    json_decref(body);
}

hsmca_rv ca_key_pkey(hsmca_ca *ca, const char *key_id, EVP_PKEY **out)
{
    return hsmca_keyslot_get1_pkey(ca->keyslot, key_id, ca->libctx, out);
}

static bool mount_has_default_key(hsmca_ca *ca, const char *mount)
{
    json_t *cfg = NULL;
    bool has = ca_config_load(ca, mount, "keys", &cfg) == HSMCA_OK && ca_json_str(cfg, "default", "")[0];

    json_decref(cfg);
    return has;
}

static hsmca_rv check_key_name(hsmca_ca *ca, const char *mount, const char *name)
{
    hsmca_store_doc doc;
    hsmca_rv rv;

    if (name == NULL || name[0] == '\0')
        return HSMCA_OK;
    if ((rv = hsmca_name_check("key_name", name, HSMCA_KEY_NAME_MAX)) != HSMCA_OK ||
        (rv = hsmca_keyslot_check_name(name)) != HSMCA_OK)
        return rv;
    memset(&doc, 0, sizeof(doc));
    rv = hsmca_store_doc_get(ca->store, mount, HSMCA_DOC_KEY, name, &doc);
    hsmca_store_doc_clear(&doc);
    if (rv == HSMCA_OK)
        return hsmca_err(HSMCA_ERR_EXISTS, "key_name '%s' is already used in mount '%s'", name, mount);
    hsmca_err_clear();
    return HSMCA_OK;
}

/* Records a token key as a mount key; on failure the token key is destroyed
 * again so nothing half-made remains. */
static hsmca_rv adopt(hsmca_ca *ca, const char *mount, const hsmca_keyslot_info *info, const char *key_name,
                      bool destroy_on_failure, hsmca_ca_key *out)
{
    hsmca_store_batch *b = hsmca_store_batch_new(ca->store);
    hsmca_rv rv;

    memset(out, 0, sizeof(*out));
    snprintf(out->key_id, sizeof(out->key_id), "%s", info->key_id);
    snprintf(out->key_name, sizeof(out->key_name), "%s", key_name ? key_name : "");
    snprintf(out->key_type, sizeof(out->key_type), "%s", key_type_name(info->type));
    out->key_bits = info->bits;
    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    ca_key_record(ca, b, mount, out, !mount_has_default_key(ca, mount));
    rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    if (rv != HSMCA_OK && destroy_on_failure) {
        hsmca_rv keep = rv;
        char detail[512];
        snprintf(detail, sizeof(detail), "%s", hsmca_err_message());
        if (hsmca_keyslot_delete(ca->keyslot, info->key_id) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_ERR, "key %s could not be recorded nor destroyed; remove it from the token",
                      info->key_id);
        hsmca_err(keep, "%s", detail);
        rv = keep;
    }
    return rv;
}

hsmca_rv hsmca_ca_key_generate(hsmca_ca *ca, const char *mount, const char *type, const char *key_name,
                               const char *key_type, unsigned key_bits, hsmca_ca_key *out)
{
    hsmca_keyslot_info info;
    hsmca_key_type t;
    unsigned bits;
    char label[HSMCA_KEY_NAME_MAX + 1];
    hsmca_rv rv;

    if (type != NULL && strcmp(type, "exported") == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "type 'exported' is refused: issuer keys are generated in the HSM and can never be "
                         "exported (use 'internal')");
    if (type != NULL && strcmp(type, "internal") != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "type '%s' is not 'internal'", type);
    if (key_type != NULL && strcmp(key_type, "ec") == 0 && key_bits == 224)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "key_bits 224 (P-224) is not offered; use 256, 384 or 521");
    rv = hsmca_keyslot_parse_type(key_type, key_bits, &t, &bits);
    if (rv != HSMCA_OK)
        return rv;
    rv = check_key_name(ca, mount, key_name);
    if (rv != HSMCA_OK)
        return rv;
    /* An unnamed key is labelled with its key_id once that is known. */
    rv = token_label(mount, key_name, "new", label, sizeof(label));
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_keyslot_generate(ca->keyslot, key_name && key_name[0] ? label : "", t, bits, &info);
    if (rv != HSMCA_OK)
        return rv;
    if (key_name == NULL || key_name[0] == '\0') {
        if (token_label(mount, NULL, info.key_id, label, sizeof(label)) != HSMCA_OK ||
            hsmca_keyslot_rename(ca->keyslot, info.key_id, label) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "key %s: could not label it '%s' on the token", info.key_id, label);
    }
    return adopt(ca, mount, &info, key_name, true, out);
}

hsmca_rv hsmca_ca_key_import(hsmca_ca *ca, const char *mount, const char *key_name, const char *pem,
                             size_t pem_len, hsmca_ca_key *out)
{
    hsmca_keyslot_info info;
    hsmca_store_doc doc;
    char label[HSMCA_KEY_NAME_MAX + 1];
    hsmca_rv rv;

    rv = check_key_name(ca, mount, key_name);
    if (rv != HSMCA_OK)
        return rv;
    rv = token_label(mount, key_name, "imported", label, sizeof(label));
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_keyslot_import_pem(ca->keyslot, key_name && key_name[0] ? label : "", pem, pem_len, &info);
    if (rv != HSMCA_OK)
        return rv;
    /* Already a key of this mount: OpenBao returns the existing key. */
    memset(&doc, 0, sizeof(doc));
    if (hsmca_store_doc_get(ca->store, mount, HSMCA_DOC_KEY, info.key_id, &doc) == HSMCA_OK) {
        hsmca_store_doc_clear(&doc);
        return hsmca_ca_key_get(ca, mount, info.key_id, out);
    }
    hsmca_err_clear();
    /* An unnamed import is labelled "<mount>:<key_id>" as a generated key
     * is, so pkcs11-tool and operators see whose it is. A key that already
     * carries a label (another mount's, or a ceremony's) keeps it. */
    if ((key_name == NULL || key_name[0] == '\0') && info.key_name[0] == '\0') {
        if (token_label(mount, NULL, info.key_id, label, sizeof(label)) != HSMCA_OK ||
            hsmca_keyslot_rename(ca->keyslot, info.key_id, label) != HSMCA_OK)
            hsmca_log(HSMCA_LOG_WARNING, "key %s: could not label it '%s' on the token", info.key_id, label);
    }
    return adopt(ca, mount, &info, key_name, false, out);
}

hsmca_rv ca_key_adopt_by_spki(hsmca_ca *ca, const char *mount, const unsigned char spki_sha256[32], hsmca_ca_key *out)
{
    hsmca_keyslot_info *all = NULL, *hit = NULL;
    hsmca_store_doc doc;
    size_t n = 0, matches = 0;
    hsmca_rv rv;

    if ((rv = hsmca_keyslot_list(ca->keyslot, &all, &n)) != HSMCA_OK)
        return rv;
    for (size_t i = 0; i < n; i++) {
        if (CRYPTO_memcmp(all[i].spki_sha256, spki_sha256, 32) == 0) {
            hit = &all[i];
            matches++;
        }
    }
    if (matches != 1) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, matches == 0 ? "no token key has this public key"
                                                         : "more than one token key has this public key");
        goto done;
    }
    memset(&doc, 0, sizeof(doc));
    if (hsmca_store_doc_get(ca->store, mount, HSMCA_DOC_KEY, hit->key_id, &doc) == HSMCA_OK) {
        hsmca_store_doc_clear(&doc);
        rv = hsmca_ca_key_get(ca, mount, hit->key_id, out);
        goto done;
    }
    hsmca_err_clear();
    rv = adopt(ca, mount, hit, "", false, out);
    if (rv == HSMCA_OK)
        hsmca_log(HSMCA_LOG_NOTICE, "mount '%s': adopted token key %s ('%s') made by a key ceremony", mount,
                  hit->key_id, hit->key_name);
done:
    OPENSSL_free(all);
    return rv;
}

hsmca_rv hsmca_ca_key_get(hsmca_ca *ca, const char *mount, const char *ref, hsmca_ca_key *out)
{
    return ca_key_resolve(ca, mount, ref, out);
}

typedef struct {
    const char *key_id;
    bool used;
} key_use;

static int issuer_uses_key(const hsmca_ca_issuer *i, void *arg)
{
    key_use *u = arg;

    if (strcmp(i->key_id, u->key_id) == 0)
        u->used = true;
    return !u->used; /* stop at the first user */
}

hsmca_rv hsmca_ca_key_delete(hsmca_ca *ca, const char *mount, const char *ref)
{
    hsmca_ca_key k;
    hsmca_store_batch *b;
    hsmca_rv rv = ca_key_resolve(ca, mount, ref, &k);
    key_use probe = {k.key_id, false};
    json_t *cfg = NULL;

    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_ca_issuer_list(ca, mount, issuer_uses_key, &probe);
    if (rv != HSMCA_OK)
        return rv;
    if (probe.used)
        return hsmca_err(HSMCA_ERR_EXISTS, "key '%s' is used by an issuer in mount '%s'; delete the issuer first",
                         ref, mount);
    b = hsmca_store_batch_new(ca->store);
    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_KEY, k.key_id);
    if (ca_config_load(ca, mount, "keys", &cfg) == HSMCA_OK && strcmp(ca_json_str(cfg, "default", ""), k.key_id) == 0)
        hsmca_store_batch_doc_delete(b, mount, HSMCA_DOC_CONFIG, "keys");
    json_decref(cfg);
    rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    if (rv != HSMCA_OK)
        return rv;
    /* The record goes first: a key without a record is an orphan an operator
     * can see on the token; a record without a key would break issuance. */
    rv = hsmca_keyslot_delete(ca->keyslot, k.key_id);
    if (rv == HSMCA_ERR_NOT_FOUND)
        rv = HSMCA_OK;
    return rv;
}

hsmca_rv hsmca_ca_key_rename(hsmca_ca *ca, const char *mount, const char *ref, const char *new_name)
{
    hsmca_ca_key k;
    hsmca_store_batch *b;
    char label[HSMCA_KEY_NAME_MAX + 1];
    hsmca_rv rv = ca_key_resolve(ca, mount, ref, &k);

    if (rv != HSMCA_OK)
        return rv;
    if (new_name != NULL && strcmp(new_name, k.key_name) == 0)
        return HSMCA_OK;
    rv = check_key_name(ca, mount, new_name);
    if (rv != HSMCA_OK)
        return rv;
    snprintf(k.key_name, sizeof(k.key_name), "%s", new_name ? new_name : "");
    b = hsmca_store_batch_new(ca->store);
    if (b == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    {
        json_t *body = json_pack("{s:s, s:I}", "key_type", k.key_type, "key_bits", (json_int_t)k.key_bits);
        char *text = body ? ca_json_text(body) : NULL;
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, mount, HSMCA_DOC_KEY, k.key_id, k.key_name, text, NULL, 0);
        free(text);
        json_decref(body);
    }
    rv = ca_commit(ca, b);
    hsmca_store_batch_free(b);
    if (rv != HSMCA_OK)
        return rv;
    if (token_label(mount, k.key_name, k.key_id, label, sizeof(label)) != HSMCA_OK ||
        hsmca_keyslot_rename(ca->keyslot, k.key_id, label) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_WARNING, "key %s renamed in mount '%s' but its token label stayed", k.key_id, mount);
    return HSMCA_OK;
}

typedef struct {
    int (*cb)(const hsmca_ca_key *k, void *arg);
    void *arg;
} key_walk;

static int key_doc_cb(const hsmca_store_doc *d, void *arg)
{
    key_walk *w = arg;
    json_error_t jerr;
    json_t *body = json_loads(d->body ? d->body : "{}", 0, &jerr);
    hsmca_ca_key k;
    int go;

    key_from_doc(d, body, &k);
    go = w->cb(&k, w->arg);
    json_decref(body);
    return go;
}

hsmca_rv hsmca_ca_key_list(hsmca_ca *ca, const char *mount, int (*cb)(const hsmca_ca_key *k, void *arg),
                           void *arg)
{
    key_walk w = {cb, arg};
    return hsmca_store_doc_list(ca->store, mount, HSMCA_DOC_KEY, NULL, 0, key_doc_cb, &w);
}
