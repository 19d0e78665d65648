/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 access: module loading, token selection and login, the session pool
 * with recovery, token key objects and signing. No PKCS#11 types cross this
 * header: callers above hsm/ see only hsmca types. */
#ifndef HSMCA_P11_H
#define HSMCA_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsmca/pin.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsmca_p11_token hsmca_p11_token;
typedef struct hsmca_p11_key hsmca_p11_key;

/* When the HSM layer re-verifies a signature with the public key before
 * handing it out. RSA verification costs ~3% of an RSA signature and stops
 * RSA-CRT fault attacks, so ALWAYS_RSA is the default. */
typedef enum {
    HSMCA_VERIFY_ALWAYS_RSA = 0, /* RSA always; EC/EdDSA after a retried call */
    HSMCA_VERIFY_ALWAYS,         /* every signature */
    HSMCA_VERIFY_AFTER_RETRY     /* only signatures produced after recovery */
} hsmca_verify_policy;

typedef struct {
    const char *module_path;  /* PKCS#11 module to dlopen */
    const char *token_label;  /* pick the token by label ... */
    const char *token_serial; /* ... or by serial (both: both must match) */
    hsmca_pin_source pin;
    /* Or a PIN the caller already holds (a no-echo prompt); the token keeps
     * its own copy. Takes precedence over `pin` when set. */
    const hsmca_pin *pin_value;
    unsigned max_sessions;       /* pool bound; 0 = default (8) */
    unsigned acquire_timeout_ms; /* wait for a free session; 0 = 5000 */
    hsmca_verify_policy verify;
} hsmca_p11_config;

/* Opens the token the config names, with its own session pool, and logs in
 * once. Each call is one configuration load: a PIN the token rejects is
 * remembered for the life of the returned object and never presented again.
 * The module itself is shared by every token of the process (one
 * C_Initialize). */
hsmca_rv hsmca_p11_token_open(const hsmca_p11_config *cfg, hsmca_p11_token **out);
void hsmca_p11_token_up_ref(hsmca_p11_token *tok);
void hsmca_p11_token_free(hsmca_p11_token *tok);

/* Finds an already open token of this process whose module path matches
 * (NULL: any) and whose label/serial/manufacturer/model match the non-NULL
 * arguments. Returns a new reference or NULL. */
hsmca_p11_token *hsmca_p11_token_find_open(const char *module_path,
                                           const char *label, const char *serial,
                                           const char *manufacturer,
                                           const char *model);

/* Token identity as the token reports it (blank padding removed). */
const char *hsmca_p11_token_label(const hsmca_p11_token *tok);
const char *hsmca_p11_token_serial(const hsmca_p11_token *tok);
const char *hsmca_p11_token_manufacturer(const hsmca_p11_token *tok);
const char *hsmca_p11_token_model(const hsmca_p11_token *tok);
const char *hsmca_p11_token_module_path(const hsmca_p11_token *tok);

/* Random bytes from the token's C_GenerateRandom. */
hsmca_rv hsmca_p11_token_random(hsmca_p11_token *tok, unsigned char *buf, size_t len);

typedef struct {
    bool present;          /* token answered C_GetTokenInfo */
    bool logged_in;        /* the pool holds a logged-in session */
    bool pin_rejected;     /* PIN was refused; no further login will be tried */
    unsigned sessions_open;
    unsigned sessions_in_use;
    unsigned sessions_max;
    unsigned long recoveries;   /* session resets since open */
    unsigned long reinits;      /* module finalize/initialize cycles */
    unsigned long bad_signatures; /* signatures that failed re-verification */
    hsmca_rv last_error;       /* HSMCA_OK if none */
    char last_error_message[256];
    int64_t last_error_time;   /* unix seconds, 0 if none */
} hsmca_p11_health;

/* Cheap: one C_GetTokenInfo plus counters; never logs in. */
hsmca_rv hsmca_p11_token_health(hsmca_p11_token *tok, hsmca_p11_health *out);

/* ---- key objects ---- */

typedef enum {
    HSMCA_KEY_RSA = 1,
    HSMCA_KEY_EC,
    HSMCA_KEY_ED25519
} hsmca_key_type;

/* Signature schemes a key can produce. PSS always uses salt = hash length. */
typedef enum {
    HSMCA_SIG_RSA_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 over a DigestInfo */
    HSMCA_SIG_RSA_PSS,       /* RSASSA-PSS, MGF1 with the same hash */
    HSMCA_SIG_ECDSA,         /* ECDSA over a digest; output DER Ecdsa-Sig-Value */
    HSMCA_SIG_EDDSA          /* PureEdDSA over the whole message */
} hsmca_sig_scheme;

/* Capability bits recorded by the probe when a key is loaded. */
#define HSMCA_CAP_RSA_PKCS1 0x01u /* token does CKM_RSA_PKCS */
#define HSMCA_CAP_RSA_PSS 0x02u   /* token does CKM_RSA_PKCS_PSS */
#define HSMCA_CAP_RSA_RAW 0x04u   /* token does CKM_RSA_X_509 (pad in software) */
#define HSMCA_CAP_ECDSA 0x08u
#define HSMCA_CAP_EDDSA 0x10u

/* Finds the private key whose CKA_ID is id (if id_len > 0) and/or whose
 * CKA_LABEL is label (if non-NULL), probes its capabilities and reads its
 * public key. Exactly one private key must match. */
hsmca_rv hsmca_p11_key_find(hsmca_p11_token *tok, const unsigned char *id,
                            size_t id_len, const char *label, hsmca_p11_key **out);
/* Every private key matching id and/or label (both may be absent: all keys),
 * at most max of them. Keys that cannot be used (unsupported type, missing
 * public half) are skipped with a notice. */
hsmca_rv hsmca_p11_key_find_all(hsmca_p11_token *tok, const unsigned char *id, size_t id_len,
                                const char *label, hsmca_p11_key **keys, size_t max, size_t *n);
void hsmca_p11_key_up_ref(hsmca_p11_key *key);
void hsmca_p11_key_free(hsmca_p11_key *key);

hsmca_key_type hsmca_p11_key_type(const hsmca_p11_key *key);
unsigned hsmca_p11_key_bits(const hsmca_p11_key *key);
/* Curve short name for EC keys ("P-256" ...), NULL otherwise. */
const char *hsmca_p11_key_curve(const hsmca_p11_key *key);
unsigned hsmca_p11_key_caps(const hsmca_p11_key *key);
const char *hsmca_p11_key_label(const hsmca_p11_key *key);
const unsigned char *hsmca_p11_key_id(const hsmca_p11_key *key, size_t *len);
hsmca_p11_token *hsmca_p11_key_get0_token(const hsmca_p11_key *key);
/* Software copy of the public key (never the private key). Borrowed. */
EVP_PKEY *hsmca_p11_key_get0_public(const hsmca_p11_key *key);
/* Largest signature this key makes in the given scheme's output encoding. */
size_t hsmca_p11_key_max_signature(const hsmca_p11_key *key);

/* Whether the key can produce scheme (natively or through raw RSA); if not,
 * records a detail that says which mechanism the token lacks. */
hsmca_rv hsmca_p11_key_check_scheme(const hsmca_p11_key *key, hsmca_sig_scheme scheme);

/* Signs in the token. For RSA and ECDSA, tbs is the digest made with md
 * (an OpenSSL digest name: "SHA256", "SHA384", "SHA512"); for EdDSA, tbs is
 * the message and md is NULL. The signature goes to sig (capacity *siglen,
 * at least hsmca_p11_key_max_signature()); *siglen receives its length.
 * Recovers from lost sessions/devices and retries once; returns
 * HSMCA_ERR_HSM_UNAVAILABLE when the token stays away. Never returns a
 * signature that failed re-verification. */
hsmca_rv hsmca_p11_key_sign(hsmca_p11_key *key, hsmca_sig_scheme scheme,
                            const char *md, const unsigned char *tbs, size_t tbslen,
                            unsigned char *sig, size_t *siglen);

/* ---- creating, renaming and destroying token keys (keygen.c) ---- */

/* Generates a key pair in the token. bits: RSA 2048/3072/4096; EC 256/384/521
 * (P-256/P-384/P-521); ignored for Ed25519. The private object gets
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE = TRUE, CKA_EXTRACTABLE = FALSE,
 * CKA_SIGN = TRUE and nothing else (no decrypt, unwrap or derive); the public
 * object CKA_VERIFY only. Both carry id as CKA_ID and label as CKA_LABEL. */
hsmca_rv hsmca_p11_generate(hsmca_p11_token *tok, hsmca_key_type type, unsigned bits,
                            const unsigned char *id, size_t id_len, const char *label,
                            hsmca_p11_key **out);

/* Writes a software private key (RSA, EC P-256/384/521, Ed25519) into the
 * token with the same attributes as generated keys, plus its public object.
 * Every intermediate copy of the private values is cleansed before return;
 * the caller frees (and so cleanses) priv itself right after. */
hsmca_rv hsmca_p11_import(hsmca_p11_token *tok, EVP_PKEY *priv, const unsigned char *id,
                          size_t id_len, const char *label, hsmca_p11_key **out);

/* Sets CKA_LABEL on the private and public objects of key. */
hsmca_rv hsmca_p11_key_set_label(hsmca_p11_key *key, const char *label);

/* Destroys every private and public key object carrying key's CKA_ID. */
hsmca_rv hsmca_p11_key_destroy(hsmca_p11_key *key);

/* Number of key objects (private or public) whose CKA_LABEL is label. */
hsmca_rv hsmca_p11_count_labelled(hsmca_p11_token *tok, const char *label, size_t *count);

/* Attributes read back from the token for inspection. */
typedef struct {
    bool token, private_, sensitive, always_sensitive, extractable, never_extractable, local;
} hsmca_p11_key_attrs;
hsmca_rv hsmca_p11_key_get_attrs(hsmca_p11_key *key, hsmca_p11_key_attrs *out);

/* ---- in-token HMAC keys (hmac.c; used by the audit log) ----
 * A CKK_GENERIC_SECRET key made in the token by CKM_GENERIC_SECRET_KEY_GEN
 * and used only through CKM_SHA256_HMAC (C_SignInit/C_Sign): its value is
 * never read, by hsmca or anyone (CKA_SENSITIVE, not CKA_EXTRACTABLE). */

typedef struct hsmca_p11_hmac_key hsmca_p11_hmac_key;

#define HSMCA_P11_HMAC_SHA256_LEN 32
#define HSMCA_P11_HMAC_DATA_MAX (1u << 20) /* bound of one MAC's input */

/* Finds the secret key with CKA_ID id and CKA_LABEL label. If there is none
 * and create is set, generates it: 32 bytes, CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE = TRUE, CKA_EXTRACTABLE = FALSE, CKA_SIGN/CKA_VERIFY = TRUE
 * and no other use. An existing key that is extractable, not sensitive,
 * not a generic secret or cannot sign is refused, as is more than one
 * match. Without create, a missing key is HSMCA_ERR_NOT_FOUND. */
hsmca_rv hsmca_p11_hmac_key_open(hsmca_p11_token *tok, const unsigned char *id, size_t id_len,
                                 const char *label, bool create, hsmca_p11_hmac_key **out);
void hsmca_p11_hmac_key_free(hsmca_p11_hmac_key *key);

/* HMAC-SHA256 of data[len] (len <= HSMCA_P11_HMAC_DATA_MAX) computed in the
 * token. Thread-safe; recovers from lost sessions/devices and retries once
 * (a MAC is deterministic, so a retry is harmless); returns
 * HSMCA_ERR_HSM_UNAVAILABLE when the token stays away. */
hsmca_rv hsmca_p11_hmac_sha256(hsmca_p11_hmac_key *key, const unsigned char *data, size_t len,
                               unsigned char mac[HSMCA_P11_HMAC_SHA256_LEN]);

/* The key's protection attributes as the token reports them. */
hsmca_rv hsmca_p11_hmac_key_get_attrs(hsmca_p11_hmac_key *key, hsmca_p11_key_attrs *out);

/* ---- end of in-token HMAC keys ---- */

/* Library-wide: called once by programs before threads start (installs the
 * fork handler). Safe to call more than once. */
void hsmca_p11_global_init(void);

/* ---- token initialisation ---- */

/* Initialises the first uninitialised token of the module with this label
 * (1..32 bytes), SO PIN and user PIN. HSMCA_ERR_EXISTS if a token with the
 * label exists. For development tokens (SoftHSM2); vendors' HSMs are
 * initialised with their own tools. */
hsmca_rv hsmca_p11_token_init(const char *module_path, const char *label, const hsmca_pin *so_pin,
                              const hsmca_pin *user_pin);

/* One slot's token as C_GetTokenInfo reports it (blank padding removed). */
typedef struct {
    unsigned long slot;
    char label[33], manufacturer[33], model[17], serial[17];
    bool initialized;   /* CKF_TOKEN_INITIALIZED */
    bool user_pin_set;  /* CKF_USER_PIN_INITIALIZED */
    bool pin_locked;    /* CKF_USER_PIN_LOCKED */
} hsmca_p11_token_desc;

#define HSMCA_P11_SLOTS_MAX 64

/* Every slot of the module that holds a token, initialised or not, in the
 * module's slot order; at most max entries (HSMCA_P11_SLOTS_MAX is the
 * module's own bound). Needs no PIN and logs in nowhere. */
hsmca_rv hsmca_p11_token_list(const char *module_path, hsmca_p11_token_desc *out, size_t max, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
