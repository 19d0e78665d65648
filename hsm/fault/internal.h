/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations shared by the files of the fault-injecting PKCS#11 test module. */
#ifndef HSMCA_FAULT_INTERNAL_H
#define HSMCA_FAULT_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* Function flags. FAULT_FF_DEVICE marks functions that take a session or a
 * slot, which a device-removed window answers without forwarding.
 * FAULT_FF_LIFECYCLE marks the functions a `*` rule never matches and no
 * `fail`/`latency` line may name: failing them would only break the module's
 * own setup and teardown, not simulate a device fault. */
#define FAULT_FF_DEVICE    0x1u
#define FAULT_FF_LIFECYCLE 0x2u

/* The 68 functions of the PKCS#11 v2.40 function list, in the order of
 * CK_FUNCTION_LIST (pkcs11.h), with their flags. The order is also the order of
 * the lines in the counters file. */
#define HSMCA_FAULT_FUNCTIONS(X)                           \
    X(C_Initialize, FAULT_FF_LIFECYCLE)                    \
    X(C_Finalize, FAULT_FF_LIFECYCLE)                      \
    X(C_GetInfo, 0)                                        \
    X(C_GetFunctionList, FAULT_FF_LIFECYCLE)               \
    X(C_GetSlotList, FAULT_FF_DEVICE)                      \
    X(C_GetSlotInfo, FAULT_FF_DEVICE)                      \
    X(C_GetTokenInfo, FAULT_FF_DEVICE)                     \
    X(C_GetMechanismList, FAULT_FF_DEVICE)                 \
    X(C_GetMechanismInfo, FAULT_FF_DEVICE)                 \
    X(C_InitToken, FAULT_FF_DEVICE)                        \
    X(C_InitPIN, FAULT_FF_DEVICE)                          \
    X(C_SetPIN, FAULT_FF_DEVICE)                           \
    X(C_OpenSession, FAULT_FF_DEVICE)                      \
    X(C_CloseSession, FAULT_FF_DEVICE)                     \
    X(C_CloseAllSessions, FAULT_FF_DEVICE)                 \
    X(C_GetSessionInfo, FAULT_FF_DEVICE)                   \
    X(C_GetOperationState, FAULT_FF_DEVICE)                \
    X(C_SetOperationState, FAULT_FF_DEVICE)                \
    X(C_Login, FAULT_FF_DEVICE)                            \
    X(C_Logout, FAULT_FF_DEVICE)                           \
    X(C_CreateObject, FAULT_FF_DEVICE)                     \
    X(C_CopyObject, FAULT_FF_DEVICE)                       \
    X(C_DestroyObject, FAULT_FF_DEVICE)                    \
    X(C_GetObjectSize, FAULT_FF_DEVICE)                    \
    X(C_GetAttributeValue, FAULT_FF_DEVICE)                \
    X(C_SetAttributeValue, FAULT_FF_DEVICE)                \
    X(C_FindObjectsInit, FAULT_FF_DEVICE)                  \
    X(C_FindObjects, FAULT_FF_DEVICE)                      \
    X(C_FindObjectsFinal, FAULT_FF_DEVICE)                 \
    X(C_EncryptInit, FAULT_FF_DEVICE)                      \
    X(C_Encrypt, FAULT_FF_DEVICE)                          \
    X(C_EncryptUpdate, FAULT_FF_DEVICE)                    \
    X(C_EncryptFinal, FAULT_FF_DEVICE)                     \
    X(C_DecryptInit, FAULT_FF_DEVICE)                      \
    X(C_Decrypt, FAULT_FF_DEVICE)                          \
    X(C_DecryptUpdate, FAULT_FF_DEVICE)                    \
    X(C_DecryptFinal, FAULT_FF_DEVICE)                     \
    X(C_DigestInit, FAULT_FF_DEVICE)                       \
    X(C_Digest, FAULT_FF_DEVICE)                           \
    X(C_DigestUpdate, FAULT_FF_DEVICE)                     \
    X(C_DigestKey, FAULT_FF_DEVICE)                        \
    X(C_DigestFinal, FAULT_FF_DEVICE)                      \
    X(C_SignInit, FAULT_FF_DEVICE)                         \
    X(C_Sign, FAULT_FF_DEVICE)                             \
    X(C_SignUpdate, FAULT_FF_DEVICE)                       \
    X(C_SignFinal, FAULT_FF_DEVICE)                        \
    X(C_SignRecoverInit, FAULT_FF_DEVICE)                  \
    X(C_SignRecover, FAULT_FF_DEVICE)                      \
    X(C_VerifyInit, FAULT_FF_DEVICE)                       \
    X(C_Verify, FAULT_FF_DEVICE)                           \
    X(C_VerifyUpdate, FAULT_FF_DEVICE)                     \
    X(C_VerifyFinal, FAULT_FF_DEVICE)                      \
    X(C_VerifyRecoverInit, FAULT_FF_DEVICE)                \
    X(C_VerifyRecover, FAULT_FF_DEVICE)                    \
    X(C_DigestEncryptUpdate, FAULT_FF_DEVICE)              \
    X(C_DecryptDigestUpdate, FAULT_FF_DEVICE)              \
    X(C_SignEncryptUpdate, FAULT_FF_DEVICE)                \
    X(C_DecryptVerifyUpdate, FAULT_FF_DEVICE)              \
    X(C_GenerateKey, FAULT_FF_DEVICE)                      \
    X(C_GenerateKeyPair, FAULT_FF_DEVICE)                  \
    X(C_WrapKey, FAULT_FF_DEVICE)                          \
    X(C_UnwrapKey, FAULT_FF_DEVICE)                        \
    X(C_DeriveKey, FAULT_FF_DEVICE)                        \
    X(C_SeedRandom, FAULT_FF_DEVICE)                       \
    X(C_GenerateRandom, FAULT_FF_DEVICE)                   \
    X(C_GetFunctionStatus, FAULT_FF_DEVICE)                \
    X(C_CancelFunction, FAULT_FF_DEVICE)                   \
    X(C_WaitForSlotEvent, 0)

enum fault_fn {
#define FAULT_FN_ENUM(name, flags) FAULT_FN_##name,
    HSMCA_FAULT_FUNCTIONS(FAULT_FN_ENUM)
#undef FAULT_FN_ENUM
    FAULT_FN_COUNT
};

/* `*` in a fail or latency line: any function without FAULT_FF_LIFECYCLE. */
#define FAULT_FN_ANY ((unsigned)FAULT_FN_COUNT)

/* Bounds on the configuration, so a mistyped or hostile file cannot make the
 * module allocate without limit. */
#define FAULT_CONFIG_MAX_BYTES   65536u
#define FAULT_MAX_RULES          64u
#define FAULT_MAX_RVS            16u
#define FAULT_MAX_HIDDEN         64u
#define FAULT_MAX_CORRUPT        4u
#define FAULT_MAX_LATENCY_US     60000000u          /* one minute */
#define FAULT_MAX_WINDOW_MS      (7ull * 86400000ull) /* one week */
#define FAULT_MAX_EVERY          1000000000000ull
#define FAULT_PATH_MAX           PATH_MAX

/* Config reloads are noticed by stat()ing the file at most this often. */
#define FAULT_RELOAD_INTERVAL_MS 20u

/* Probabilities are compared against the top 53 bits of a PRNG draw. */
#define FAULT_PROBABILITY_ONE    (UINT64_C(1) << 53)

enum fault_rule_kind { FAULT_RULE_EVERY, FAULT_RULE_PROBABILITY };

/* One `fail = ...` line. `calls` is the only field written after parsing; it
 * lives in the config so that a reload (a new config) restarts the count. */
struct fault_rule {
    unsigned fn; /* enum fault_fn or FAULT_FN_ANY */
    enum fault_rule_kind kind;
    uint64_t every;     /* FAULT_RULE_EVERY: the Nth call fails */
    uint64_t threshold; /* FAULT_RULE_PROBABILITY: p * FAULT_PROBABILITY_ONE */
    CK_RV rv[FAULT_MAX_RVS];
    size_t n_rv;
    atomic_uint_fast64_t calls;
};

/* One `corrupt = ...` line; `successes` counts successful signatures. */
struct fault_corrupt {
    unsigned fn;
    uint64_t every;
    atomic_uint_fast64_t successes;
};

/* A parsed configuration file. Immutable once published except for the
 * atomic counters inside rules; readers hold the read side of the module lock. */
struct fault_config {
    char module[FAULT_PATH_MAX];   /* empty when the file has no `module` */
    char counters[FAULT_PATH_MAX]; /* empty: no counters file */
    struct fault_rule rules[FAULT_MAX_RULES];
    size_t n_rules;
    struct fault_corrupt corrupt[FAULT_MAX_CORRUPT];
    size_t n_corrupt;
    CK_MECHANISM_TYPE hidden[FAULT_MAX_HIDDEN];
    size_t n_hidden;
    CK_FLAGS token_flags_add;
    bool has_removed;
    uint64_t removed_after_ms;
    uint64_t removed_for_ms;
    uint32_t latency_us[FAULT_FN_COUNT];
    bool flush_on[FAULT_FN_COUNT];
    bool has_seed;
    uint64_t seed;
};

/* names.c: name <-> value tables taken from pkcs11.h. */
const char *hsmca_fault_fn_name(unsigned fn);
unsigned hsmca_fault_fn_flags(unsigned fn);
bool hsmca_fault_fn_from_name(const char *name, unsigned *fn);
bool hsmca_fault_rv_from_name(const char *name, CK_RV *rv);
bool hsmca_fault_mech_from_name(const char *name, CK_MECHANISM_TYPE *mech);
bool hsmca_fault_token_flag_from_name(const char *name, CK_FLAGS *flag);

/* config.c: parses `path` into a new config the caller frees. On failure
 * `err` holds a message naming the file, the line and the rule broken.
 * `require_module` is false on reloads, where the module key is ignored. */
CK_RV hsmca_fault_config_load(const char *path, bool require_module,
                              struct fault_config **out, char *err, size_t errlen);
void hsmca_fault_config_free(struct fault_config *cfg);

/* counters.c: per-function call counters and the counters file. */
void hsmca_fault_count_call(unsigned fn);
void hsmca_fault_count_injected(void);
void hsmca_fault_count_corrupted(void);
void hsmca_fault_count_removed(void);
void hsmca_fault_counters_set_path(const char *path);
void hsmca_fault_counters_flush(void);
bool hsmca_fault_flush_wanted(unsigned fn);
void hsmca_fault_set_flush_on(const bool flush_on[FAULT_FN_COUNT]);

/* state.c: one PKCS#11 call as seen by the fault layer. Between
 * hsmca_fault_call_enter() returning CKR_OK and hsmca_fault_call_leave() the
 * call holds the read side of the module lock, so `cfg` stays valid and a
 * device-removed window cannot close sessions under it. */
struct fault_call {
    unsigned fn;
    struct fault_config *cfg; /* borrowed while `locked` */
    CK_FUNCTION_LIST *real;   /* the wrapped module; never unloaded */
    bool locked;
    bool removed;   /* inside a device-removed window (FAULT_FF_DEVICE only) */
    CK_RV injected; /* CKR_OK, or the fault to report */
};

CK_RV hsmca_fault_call_enter(struct fault_call *c, unsigned fn);
CK_RV hsmca_fault_call_leave(struct fault_call *c, CK_RV rv);
void hsmca_fault_call_unlock(struct fault_call *c);
bool hsmca_fault_mech_hidden(const struct fault_config *cfg, CK_MECHANISM_TYPE mech);
void hsmca_fault_note_slot(CK_SLOT_ID slot);
void hsmca_fault_maybe_corrupt(struct fault_call *c, CK_BYTE_PTR buf, CK_ULONG len);
uint64_t hsmca_fault_random(void);
CK_RV hsmca_fault_initialize(void *init_args);
CK_RV hsmca_fault_finalize(void *reserved);

/* fault.c: the function list this module hands out, used to refuse a config
 * whose `module` is this module itself (which would deadlock C_Initialize). */
extern CK_FUNCTION_LIST hsmca_fault_function_list;

#endif /* HSMCA_FAULT_INTERNAL_H */
