/* SPDX-License-Identifier: Apache-2.0 */
/* In-token HMAC-SHA256 keys: finding or generating the generic secret key and
 * computing MACs with it (CKM_SHA256_HMAC), with the pool's recovery. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/log.h"
#include "internal.h"

/* A MAC key shorter than the hash output weakens HMAC (RFC 2104 section 3). */
#define HMAC_KEY_BYTES 32
#define HMAC_ID_MAX 64
#define HMAC_LABEL_MAX 255

struct hsmca_p11_hmac_key {
    hsmca_p11_token *tok; /* a reference */
    unsigned char id[HMAC_ID_MAX];
    size_t id_len;
    char label[HMAC_LABEL_MAX + 1];
    /* The object handle is valid for the pool epoch it was found in only:
     * handles of dead sessions may name another object later. */
    pthread_mutex_t handle_lock;
    CK_OBJECT_HANDLE handle;
    unsigned long handle_epoch;
    bool handle_valid;
};

/* Serialises find-or-generate inside the process, so two threads opening the
 * key for the first time cannot both generate one (two keys with the same
 * label would make every later lookup ambiguous). */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

static CK_BBOOL ck_true = CK_TRUE;
static CK_BBOOL ck_false = CK_FALSE;

#define ATTR(t, v, l) ((CK_ATTRIBUTE){(t), (void *)(uintptr_t)(v), (CK_ULONG)(l)})
#define ATTR_BOOL(t, b) ATTR((t), (b) ? &ck_true : &ck_false, sizeof(CK_BBOOL))

typedef struct {
    hsmca_p11_hmac_key *key;
    bool create;
    hsmca_p11_key_attrs *attrs;
} hmac_args;

/* Looks the key up by class, CKA_ID and CKA_LABEL; *n is 0, 1 or 2 (2: not
 * unique). A failed lookup is reported as a lost session so that the pool
 * resets and the caller retries once, as key.c does. */
static hsmca_rv find_key(hsmca_p11_hmac_key *key, p11_session *s, CK_OBJECT_HANDLE *h, CK_ULONG *n,
                         CK_RV *crv_out)
{
    CK_OBJECT_HANDLE found[2];
    hsmca_rv rv;

    rv = p11_find_objects(key->tok, s, CKO_SECRET_KEY, key->id, key->id_len, key->label, found, 2, n);
    if (rv != HSMCA_OK) {
        *crv_out = CKR_SESSION_HANDLE_INVALID;
        return rv;
    }
    if (*n == 1)
        *h = found[0];
    return HSMCA_OK;
}

/* A MAC key whose value could leave the token would let whoever extracts it
 * forge audit chains, so an existing object must carry the same protection
 * as one we generate. */
static hsmca_rv check_key(hsmca_p11_hmac_key *key, p11_session *s, CK_OBJECT_HANDLE h, CK_RV *crv_out)
{
    CK_KEY_TYPE kt = 0;
    CK_ULONG value_len = 0;
    CK_BBOOL sign = CK_FALSE, sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ATTRIBUTE t[5] = {
        ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
        ATTR(CKA_SIGN, &sign, sizeof(sign)),
        ATTR(CKA_SENSITIVE, &sensitive, sizeof(sensitive)),
        ATTR(CKA_EXTRACTABLE, &extractable, sizeof(extractable)),
        ATTR(CKA_VALUE_LEN, &value_len, sizeof(value_len)),
    };
    CK_RV crv = p11_C_GetAttributeValue(key->tok->mod, s->h, h, t, 5);

    if (crv != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading the HMAC key's attributes");
    }
    if (kt != CKK_GENERIC_SECRET)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED,
                         "token object '%s' has key type 0x%lx; an HMAC key must be CKK_GENERIC_SECRET",
                         key->label, (unsigned long)kt);
    if (!sensitive || extractable)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED,
                         "HMAC key '%s' is %s: refusing a MAC key whose value can leave the token",
                         key->label, !sensitive ? "not sensitive" : "extractable");
    if (!sign)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "HMAC key '%s' has CKA_SIGN = FALSE; it cannot MAC",
                         key->label);
    if (value_len < HMAC_KEY_BYTES)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "HMAC key '%s' is %lu bytes; at least %d are required",
                         key->label, (unsigned long)value_len, HMAC_KEY_BYTES);
    return HSMCA_OK;
}

static hsmca_rv generate_key(hsmca_p11_hmac_key *key, p11_session *s, CK_OBJECT_HANDLE *h, CK_RV *crv_out)
{
    CK_MECHANISM mech = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ULONG value_len = HMAC_KEY_BYTES;
    /* Signing (MAC) and verifying only: no encryption, wrapping or
     * derivation, so the key cannot be used to move its value elsewhere. */
    CK_ATTRIBUTE t[] = {
        ATTR(CKA_CLASS, &cls, sizeof(cls)),
        ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
        ATTR(CKA_VALUE_LEN, &value_len, sizeof(value_len)),
        ATTR_BOOL(CKA_TOKEN, 1),
        ATTR_BOOL(CKA_PRIVATE, 1),
        ATTR_BOOL(CKA_SENSITIVE, 1),
        ATTR_BOOL(CKA_EXTRACTABLE, 0),
        ATTR_BOOL(CKA_SIGN, 1),
        ATTR_BOOL(CKA_VERIFY, 1),
        ATTR_BOOL(CKA_ENCRYPT, 0),
        ATTR_BOOL(CKA_DECRYPT, 0),
        ATTR_BOOL(CKA_WRAP, 0),
        ATTR_BOOL(CKA_UNWRAP, 0),
        ATTR_BOOL(CKA_DERIVE, 0),
        ATTR(CKA_ID, key->id, key->id_len),
        ATTR(CKA_LABEL, key->label, strlen(key->label)),
    };
    CK_RV crv = p11_C_GenerateKey(key->tok->mod, s->h, &mech, t, sizeof(t) / sizeof(t[0]), h);

    if (crv != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GenerateKey", "generating the HMAC key in the token");
    }
    hsmca_log(HSMCA_LOG_NOTICE, "token '%s': generated HMAC key '%s'", key->tok->label, key->label);
    return HSMCA_OK;
}

static void cache_handle(hsmca_p11_hmac_key *key, p11_session *s, CK_OBJECT_HANDLE h)
{
    pthread_mutex_lock(&key->handle_lock);
    key->handle = h;
    key->handle_epoch = s->epoch;
    key->handle_valid = true;
    pthread_mutex_unlock(&key->handle_lock);
}

/* Find, or generate when allowed, then check. Run through p11_with_session
 * with retry: if a lost answer hid a successful generation, the retry finds
 * the key instead of making a second one. */
static hsmca_rv do_open(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    hmac_args *a = arg;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    hsmca_rv rv;

    rv = find_key(a->key, s, &h, &n, crv_out);
    if (rv != HSMCA_OK)
        return rv;
    if (n > 1)
        return hsmca_err(HSMCA_ERR_EXISTS,
                         "more than one secret key labelled '%s' with the same CKA_ID on token '%s'; "
                         "the HMAC key must be unique",
                         a->key->label, tok->label);
    if (n == 0) {
        if (!a->create)
            return hsmca_err(HSMCA_ERR_NOT_FOUND, "no HMAC key labelled '%s' on token '%s'", a->key->label,
                             tok->label);
        rv = generate_key(a->key, s, &h, crv_out);
        if (rv != HSMCA_OK)
            return rv;
    }
    rv = check_key(a->key, s, h, crv_out);
    if (rv != HSMCA_OK)
        return rv;
    cache_handle(a->key, s, h);
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_hmac_key_open(hsmca_p11_token *tok, const unsigned char *id, size_t id_len,
                                 const char *label, bool create, hsmca_p11_hmac_key **out)
{
    hsmca_p11_hmac_key *key = NULL;
    hmac_args a;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    hsmca_return_val_if_fail(tok != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    if (id == NULL || id_len == 0 || id_len > HMAC_ID_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "an HMAC key needs a CKA_ID of 1..%d bytes", HMAC_ID_MAX);
    if (label == NULL || label[0] == '\0' || strlen(label) > HMAC_LABEL_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "an HMAC key needs a label of 1..%d bytes", HMAC_LABEL_MAX);
    key = calloc(1, sizeof(*key));
    if (key == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&key->handle_lock, NULL);
    hsmca_p11_token_up_ref(tok);
    key->tok = tok;
    memcpy(key->id, id, id_len);
    key->id_len = id_len;
    memcpy(key->label, label, strlen(label) + 1);

    memset(&a, 0, sizeof(a));
    a.key = key;
    a.create = create;
    pthread_mutex_lock(&create_lock);
    rv = p11_with_session(tok, do_open, &a, true);
    pthread_mutex_unlock(&create_lock);
    if (rv != HSMCA_OK) {
        hsmca_err_prefix("HMAC key '%s'", label);
        goto done;
    }
    *out = key;
    key = NULL;
done:
    hsmca_p11_hmac_key_free(key);
    return rv;
}

void hsmca_p11_hmac_key_free(hsmca_p11_hmac_key *key)
{
    if (key == NULL)
        return;
    pthread_mutex_destroy(&key->handle_lock);
    hsmca_p11_token_free(key->tok);
    free(key);
}

/* The cached handle for this session's epoch, or the key looked up again
 * after a pool reset. A key that is not visible is reported unavailable:
 * a session that lost its login cannot see private objects, and a reset
 * plus one retry tells that apart from a key really gone. */
static hsmca_rv key_handle(hsmca_p11_hmac_key *key, p11_session *s, CK_OBJECT_HANDLE *h)
{
    CK_ULONG n = 0;
    CK_RV crv = CKR_OK;
    hsmca_rv rv;

    pthread_mutex_lock(&key->handle_lock);
    if (key->handle_valid && key->handle_epoch == s->epoch) {
        *h = key->handle;
        pthread_mutex_unlock(&key->handle_lock);
        return HSMCA_OK;
    }
    pthread_mutex_unlock(&key->handle_lock);
    rv = find_key(key, s, h, &n, &crv);
    if (rv != HSMCA_OK)
        return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE, "HSM unavailable: looking up HMAC key '%s' on token '%s' failed",
                         key->label, key->tok->label);
    if (n == 0)
        return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                         "HMAC key '%s' not visible on token '%s' (login lost or key deleted)", key->label,
                         key->tok->label);
    if (n != 1)
        return hsmca_err(HSMCA_ERR_EXISTS, "HMAC key '%s' is no longer unique on token '%s'", key->label,
                         key->tok->label);
    cache_handle(key, s, *h);
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_hmac_sha256(hsmca_p11_hmac_key *key, const unsigned char *data, size_t len,
                               unsigned char mac[HSMCA_P11_HMAC_SHA256_LEN])
{
    CK_MECHANISM mech = {CKM_SHA256_HMAC, NULL, 0};
    hsmca_p11_token *tok;
    hsmca_rv rv = HSMCA_ERR_HSM;

    hsmca_return_val_if_fail(key != NULL && mac != NULL && (data != NULL || len == 0), HSMCA_ERR_INVALID_ARG);
    if (len > HSMCA_P11_HMAC_DATA_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "HMAC input of %zu bytes exceeds the %u-byte bound", len,
                         HSMCA_P11_HMAC_DATA_MAX);
    tok = key->tok;
    /* Bounded: one attempt, and one more after a recoverable failure. */
    for (int attempt = 0; attempt < 2; attempt++) {
        p11_session s;
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        CK_ULONG maclen = HSMCA_P11_HMAC_SHA256_LEN;
        CK_RV crv;

        rv = p11_session_get(tok, &s);
        if (rv != HSMCA_OK)
            goto done;
        rv = key_handle(key, &s, &h);
        if (rv != HSMCA_OK) {
            bool again = hsmca_err_last() == HSMCA_ERR_HSM_UNAVAILABLE;
            p11_session_put(tok, &s, again ? P11_PUT_RESET : P11_PUT_OK);
            if (again && attempt == 0)
                continue;
            goto done;
        }
        crv = p11_C_SignInit(tok->mod, s.h, &mech, h);
        if (crv == CKR_OK)
            crv = p11_C_Sign(tok->mod, s.h, data, len, mac, &maclen);
        if (crv == CKR_OK && maclen == HSMCA_P11_HMAC_SHA256_LEN) {
            p11_session_put(tok, &s, P11_PUT_OK);
            rv = HSMCA_OK;
            goto done;
        }
        if (crv == CKR_OK) {
            /* A token that answers with another length is not doing
             * CKM_SHA256_HMAC; its output is no MAC we can use. */
            p11_session_put(tok, &s, P11_PUT_CLOSE);
            rv = hsmca_err(HSMCA_ERR_HSM, "token '%s' returned a %lu-byte HMAC-SHA256", tok->label,
                           (unsigned long)maclen);
            goto done;
        }
        rv = p11_fail(crv, "C_SignInit/C_Sign", "computing an HMAC in the token");
        /* A session whose operation state is unknown is never reused. */
        p11_session_put(tok, &s, p11_ckr_recoverable(crv) ? P11_PUT_RESET : P11_PUT_CLOSE);
        if (!p11_ckr_recoverable(crv))
            goto done;
        hsmca_log(HSMCA_LOG_WARNING, "token '%s': HMAC failed with %s; recovering and retrying once",
                  tok->label, p11_ckr_name(crv));
        rv = hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE, "HSM unavailable: HMAC with key '%s' failed with %s",
                       key->label, p11_ckr_name(crv));
    }
done:
    if (rv != HSMCA_OK) {
        OPENSSL_cleanse(mac, HSMCA_P11_HMAC_SHA256_LEN);
        p11_token_record_error(tok, rv, hsmca_err_message());
    }
    return rv;
}

static hsmca_rv do_attrs(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out)
{
    hmac_args *a = arg;
    CK_BBOOL v[7] = {0};
    CK_ATTRIBUTE t[7] = {
        ATTR(CKA_TOKEN, &v[0], 1),       ATTR(CKA_PRIVATE, &v[1], 1),
        ATTR(CKA_SENSITIVE, &v[2], 1),   ATTR(CKA_ALWAYS_SENSITIVE, &v[3], 1),
        ATTR(CKA_EXTRACTABLE, &v[4], 1), ATTR(CKA_NEVER_EXTRACTABLE, &v[5], 1),
        ATTR(CKA_LOCAL, &v[6], 1),
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    hsmca_rv rv;
    CK_RV crv;

    rv = find_key(a->key, s, &h, &n, crv_out);
    if (rv != HSMCA_OK)
        return rv;
    if (n != 1)
        return hsmca_err(HSMCA_ERR_NOT_FOUND, "HMAC key '%s' is %s on token '%s'", a->key->label,
                         n == 0 ? "no longer" : "not uniquely", tok->label);
    crv = p11_C_GetAttributeValue(tok->mod, s->h, h, t, 7);
    if (crv != CKR_OK && crv != CKR_ATTRIBUTE_TYPE_INVALID) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetAttributeValue", "reading the HMAC key's attributes");
    }
    a->attrs->token = v[0];
    a->attrs->private_ = v[1];
    a->attrs->sensitive = v[2];
    a->attrs->always_sensitive = v[3];
    a->attrs->extractable = v[4];
    a->attrs->never_extractable = v[5];
    a->attrs->local = v[6];
    return HSMCA_OK;
}

hsmca_rv hsmca_p11_hmac_key_get_attrs(hsmca_p11_hmac_key *key, hsmca_p11_key_attrs *out)
{
    hmac_args a;

    hsmca_return_val_if_fail(key != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    memset(&a, 0, sizeof(a));
    a.key = key;
    a.attrs = out;
    return p11_with_session(key->tok, do_attrs, &a, true);
}
