/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of hsm/p11: the Cryptoki wrapper layer, the module
 * registry, the token's session pool and the key object. */
#ifndef HSMCA_HSM_P11_INTERNAL_H
#define HSMCA_HSM_P11_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <p11-kit/pkcs11.h>

#include "hsmca/p11.h"
#include "hsmca/pin.h"

/* ---- modules (module.c) ---- */

/* One loaded PKCS#11 library, shared by every token of the process that uses
 * it: PKCS#11 allows one C_Initialize per process, so loading the same path
 * twice must yield the same object. */
typedef struct p11_module {
    char *path; /* realpath of the library */
    void *dl;
    CK_FUNCTION_LIST *fl; /* touched only by call.c */
    int refs;             /* under the registry lock */
    /* Every operation holds `gate` for reading; finalize/initialize (recovery,
     * fork) hold it for writing so no call is inside the module meanwhile. */
    pthread_rwlock_t gate;
    atomic_ulong generation; /* bumps at every successful (re)initialisation */
    pid_t init_pid;          /* process that called C_Initialize */
    bool we_initialized;     /* C_Initialize returned CKR_OK, so we finalize */
    /* back-off between finalize/initialize attempts */
    _Atomic int64_t next_reinit_ms;
    atomic_uint backoff_ms;
    atomic_ulong reinits;
    atomic_bool dead; /* finalized at process exit: never call it again */
    struct p11_module *next;
} p11_module;

hsmca_rv p11_module_acquire(const char *path, p11_module **out);
void p11_module_release(p11_module *m);
/* Enter/leave an operation. enter() re-initialises the module first if this is
 * a forked child (pid changed). */
hsmca_rv p11_module_enter(p11_module *m);
void p11_module_leave(p11_module *m);
/* Called inside enter/leave with the generation the caller saw; finalizes and
 * initialises the module again unless someone already did, or the back-off
 * since the last failed attempt has not elapsed. Returns with the gate held
 * for reading again. */
hsmca_rv p11_module_reinit(p11_module *m, unsigned long seen_generation);
/* A session opened again: the next failure starts the back-off afresh. */
void p11_module_reinit_succeeded(p11_module *m);
/* Registry lock, exposed for the fork handler and the token registry. */
void p11_registry_lock(void);
void p11_registry_unlock(void);
/* Fork handlers for every module (take/release all gates). */
void p11_modules_prefork(void);
void p11_modules_postfork_parent(void);
void p11_modules_postfork_child(void);

int64_t p11_now_ms(void);

/* ---- return values (ckr.c) ---- */

const char *p11_ckr_name(CK_RV rv);
/* Errors after which a session, its login or the device may be gone: the
 * caller resets the pool, looks objects up again and retries once. */
bool p11_ckr_recoverable(CK_RV rv);
/* The subset that points at the device or module rather than one session. */
bool p11_ckr_device_level(CK_RV rv);
/* Maps an unrecoverable CK_RV to an hsmca_rv and records a detail message
 * "what: C_Xxx failed: CKR_YYY". */
hsmca_rv p11_fail(CK_RV crv, const char *func, const char *what);
const char *p11_mech_name(CK_MECHANISM_TYPE m);

/* ---- the wrapper layer (call.c): the only code that touches
 * CK_FUNCTION_LIST. Each logs the call and its CK_RV at debug level. ---- */

/* dlsym(C_GetFunctionList) and call it; CKR_FUNCTION_NOT_SUPPORTED if the
 * library has no such symbol (it is not a PKCS#11 module). */
CK_RV p11_load_function_list(void *dl, CK_FUNCTION_LIST **fl);
CK_RV p11_C_Initialize(p11_module *m);
CK_RV p11_C_Finalize(p11_module *m);
CK_RV p11_C_GetInfo(p11_module *m, CK_INFO *info);
CK_RV p11_C_GetSlotList(p11_module *m, CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count);
CK_RV p11_C_GetTokenInfo(p11_module *m, CK_SLOT_ID slot, CK_TOKEN_INFO *info);
CK_RV p11_C_GetMechanismList(p11_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV p11_C_GetMechanismInfo(p11_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
CK_RV p11_C_OpenSession(p11_module *m, CK_SLOT_ID slot, CK_SESSION_HANDLE *s);
CK_RV p11_C_CloseSession(p11_module *m, CK_SESSION_HANDLE s);
CK_RV p11_C_GetSessionInfo(p11_module *m, CK_SESSION_HANDLE s, CK_SESSION_INFO *info);
CK_RV p11_C_Login(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *pin, size_t pin_len);
CK_RV p11_C_FindObjectsInit(p11_module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_C_FindObjects(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count);
CK_RV p11_C_FindObjectsFinal(p11_module *m, CK_SESSION_HANDLE s);
CK_RV p11_C_GetAttributeValue(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_C_SetAttributeValue(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_C_CreateObject(p11_module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *o);
CK_RV p11_C_DestroyObject(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o);
CK_RV p11_C_GenerateKeyPair(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
                            CK_ATTRIBUTE *pub, CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv);
CK_RV p11_C_GenerateKey(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
                        CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *key);
CK_RV p11_C_SignInit(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key);
CK_RV p11_C_Sign(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *data, size_t len,
                 unsigned char *sig, CK_ULONG *siglen);
CK_RV p11_C_GenerateRandom(p11_module *m, CK_SESSION_HANDLE s, unsigned char *buf, size_t len);
/* Token initialisation (init.c). */
CK_RV p11_C_InitToken(p11_module *m, CK_SLOT_ID slot, const unsigned char *so_pin, size_t so_pin_len,
                      const unsigned char label[32]);
CK_RV p11_C_LoginAs(p11_module *m, CK_SESSION_HANDLE s, CK_USER_TYPE who, const unsigned char *pin, size_t pin_len);
CK_RV p11_C_InitPIN(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *pin, size_t pin_len);
CK_RV p11_C_Logout(p11_module *m, CK_SESSION_HANDLE s);

/* ---- tokens and the session pool (token.c, pool.c) ---- */

typedef enum { PIN_UNTRIED = 0, PIN_ACCEPTED, PIN_REJECTED, PIN_LOCKED } pin_state;

struct hsmca_p11_token {
    atomic_int refs;
    p11_module *mod;
    char *sel_label;  /* selectors from the configuration (may be NULL) */
    char *sel_serial;
    char label[33], serial[17], manufacturer[33], model[17];
    hsmca_verify_policy verify;

    /* setup_lock serialises slot lookup and C_Login, so a wrong PIN reaches
     * the token exactly once however many threads race for a session. */
    pthread_mutex_t setup_lock;
    CK_SLOT_ID slot;
    bool slot_valid;
    hsmca_pin *pin_secret; /* secure heap; freed once the token rejects it */
    char pin_origin[160];  /* "file /etc/x" — for messages, never the PIN */
    pin_state pin;
    unsigned long login_epoch; /* epoch in which C_Login last succeeded */
    bool logged_once;

    /* the pool, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    CK_SESSION_HANDLE *idle;
    unsigned n_idle, n_open, n_busy, max;
    unsigned timeout_ms;
    unsigned long epoch;   /* bumps at every pool reset; handles are per epoch */
    unsigned long mod_gen; /* module generation the pool's sessions belong to */

    /* mechanisms of the slot, read once per epoch by the capability probe */
    CK_MECHANISM_TYPE *mechs;
    CK_ULONG n_mechs;
    unsigned long mechs_gen;

    /* health counters */
    atomic_ulong recoveries;
    atomic_ulong bad_signatures;
    pthread_mutex_t err_lock;
    hsmca_rv last_error;
    char last_error_msg[256];
    int64_t last_error_time;

    struct hsmca_p11_token *next; /* process registry */
};

/* A session lent out by the pool for one operation. The module gate is held
 * for reading from p11_session_get() to p11_session_put(). */
typedef struct {
    CK_SESSION_HANDLE h;
    unsigned long epoch;
    unsigned long gen;
} p11_session;

typedef enum {
    P11_PUT_OK,    /* back to the pool */
    P11_PUT_CLOSE, /* close this session only (e.g. an operation left active) */
    P11_PUT_RESET  /* the session, its login or the device failed: reset pool */
} p11_put_mode;

hsmca_rv p11_session_get(hsmca_p11_token *tok, p11_session *s);
/* Opens one session on the token's slot (finding the slot again if needed)
 * and logs in if this epoch has not. *crv_out carries the failing CK_RV so
 * the pool can decide to escalate. */
hsmca_rv p11_token_open_session(hsmca_p11_token *tok, unsigned long epoch,
                                CK_SESSION_HANDLE *h, CK_RV *crv_out);
void p11_session_put(hsmca_p11_token *tok, p11_session *s, p11_put_mode mode);
/* Forget every session without closing (module finalized or process forked). */
void p11_pool_forget_locked(hsmca_p11_token *tok);
void p11_token_record_error(hsmca_p11_token *tok, hsmca_rv rv, const char *msg);
/* Checks the token's mechanism list (cached per module generation). */
bool p11_token_has_mech(hsmca_p11_token *tok, p11_session *s, CK_MECHANISM_TYPE m);

/* One operation on a lent session. fn reports the failing CK_RV through
 * crv_out so the caller can tell a lost session from a refusal. */
typedef hsmca_rv (*p11_session_fn)(hsmca_p11_token *tok, p11_session *s, void *arg, CK_RV *crv_out);
/* Runs fn on a pooled session; on a recoverable CK_RV the pool is reset and,
 * if retry is set (idempotent operations only), fn runs once more. */
hsmca_rv p11_with_session(hsmca_p11_token *tok, p11_session_fn fn, void *arg, bool retry);

/* ---- key objects (key.c) ---- */

struct hsmca_p11_key {
    atomic_int refs;
    hsmca_p11_token *tok;
    hsmca_key_type type;
    unsigned bits;
    const char *curve; /* static string, EC only */
    unsigned char *id;
    size_t id_len;
    char *label;
    unsigned caps;
    EVP_PKEY *pub; /* software public key for export and re-verification */
    pthread_mutex_t handle_lock;
    CK_OBJECT_HANDLE handle;
    unsigned long handle_epoch; /* pool epoch the handle was found in */
    bool handle_valid;
};

/* Finds objects of class cls matching id/label; fills up to max handles. */
hsmca_rv p11_find_objects(hsmca_p11_token *tok, p11_session *s, CK_OBJECT_CLASS cls,
                          const unsigned char *id, size_t id_len, const char *label,
                          CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count);

/* ---- software RSA padding for tokens with only CKM_RSA_X_509 (rsa_pad.c) ---- */

/* A digest the signing mechanisms know: its name, size, PKCS#11 hash and
 * MGF1 identifiers, and its DER DigestInfo prefix (RFC 8017 9.2 note 1). */
typedef struct {
    const char *name; /* OpenSSL name */
    size_t len;
    CK_MECHANISM_TYPE ckm;
    CK_RSA_PKCS_MGF_TYPE mgf;
    const unsigned char *di;
    size_t di_len;
} p11_md;

/* SHA-256/384/512 under any OpenSSL spelling; NULL otherwise. */
const p11_md *p11_md_lookup(const char *name);
/* EMSA-PKCS1-v1_5 (RFC 8017 9.2) into em[k]. */
hsmca_rv p11_rsa_pad_pkcs1(const p11_md *md, const unsigned char *digest, size_t dlen,
                           unsigned char *em, size_t k);
/* EMSA-PSS-ENCODE (RFC 8017 9.1.1) with MGF1(md) and salt length = hash
 * length, for a modulus of mod_bits, into em[k] (leading zero octet when
 * emLen < k). */
hsmca_rv p11_rsa_pad_pss(const p11_md *md, const unsigned char *digest, size_t dlen,
                         unsigned mod_bits, unsigned char *em, size_t k);

#endif
