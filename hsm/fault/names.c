/* SPDX-License-Identifier: Apache-2.0 */
/* Name tables (functions, CKR_*, CKM_*, token CKF_*) the fault config file may use. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fault_fn_info {
    const char *name;
    unsigned flags;
};

static const struct fault_fn_info fn_info[FAULT_FN_COUNT] = {
#define FAULT_FN_INFO(name, flags) {#name, flags},
    HSMCA_FAULT_FUNCTIONS(FAULT_FN_INFO)
#undef FAULT_FN_INFO
};

struct fault_name {
    const char *name;
    CK_ULONG value;
};

/* Stringify the macro name and keep its value, so a table entry cannot
 * disagree with pkcs11.h. */
#define NAME(sym) {#sym, (CK_ULONG)(sym)}

/* Every CKR_* that p11-kit's pkcs11.h (v2.40) defines: a test may want to
 * inject any of them, not only the handful the session pool retries on. */
static const struct fault_name rv_names[] = {
    NAME(CKR_OK), NAME(CKR_CANCEL), NAME(CKR_HOST_MEMORY),
    NAME(CKR_SLOT_ID_INVALID), NAME(CKR_GENERAL_ERROR), NAME(CKR_FUNCTION_FAILED),
    NAME(CKR_ARGUMENTS_BAD), NAME(CKR_NO_EVENT), NAME(CKR_NEED_TO_CREATE_THREADS),
    NAME(CKR_CANT_LOCK), NAME(CKR_ATTRIBUTE_READ_ONLY), NAME(CKR_ATTRIBUTE_SENSITIVE),
    NAME(CKR_ATTRIBUTE_TYPE_INVALID), NAME(CKR_ATTRIBUTE_VALUE_INVALID),
    NAME(CKR_ACTION_PROHIBITED), NAME(CKR_DATA_INVALID), NAME(CKR_DATA_LEN_RANGE),
    NAME(CKR_DEVICE_ERROR), NAME(CKR_DEVICE_MEMORY), NAME(CKR_DEVICE_REMOVED),
    NAME(CKR_ENCRYPTED_DATA_INVALID), NAME(CKR_ENCRYPTED_DATA_LEN_RANGE),
    NAME(CKR_FUNCTION_CANCELED), NAME(CKR_FUNCTION_NOT_PARALLEL),
    NAME(CKR_FUNCTION_NOT_SUPPORTED), NAME(CKR_KEY_HANDLE_INVALID),
    NAME(CKR_KEY_SIZE_RANGE), NAME(CKR_KEY_TYPE_INCONSISTENT), NAME(CKR_KEY_NOT_NEEDED),
    NAME(CKR_KEY_CHANGED), NAME(CKR_KEY_NEEDED), NAME(CKR_KEY_INDIGESTIBLE),
    NAME(CKR_KEY_FUNCTION_NOT_PERMITTED), NAME(CKR_KEY_NOT_WRAPPABLE),
    NAME(CKR_KEY_UNEXTRACTABLE), NAME(CKR_MECHANISM_INVALID),
    NAME(CKR_MECHANISM_PARAM_INVALID), NAME(CKR_OBJECT_HANDLE_INVALID),
    NAME(CKR_OPERATION_ACTIVE), NAME(CKR_OPERATION_NOT_INITIALIZED),
    NAME(CKR_PIN_INCORRECT), NAME(CKR_PIN_INVALID), NAME(CKR_PIN_LEN_RANGE),
    NAME(CKR_PIN_EXPIRED), NAME(CKR_PIN_LOCKED), NAME(CKR_SESSION_CLOSED),
    NAME(CKR_SESSION_COUNT), NAME(CKR_SESSION_HANDLE_INVALID),
    NAME(CKR_SESSION_PARALLEL_NOT_SUPPORTED), NAME(CKR_SESSION_READ_ONLY),
    NAME(CKR_SESSION_EXISTS), NAME(CKR_SESSION_READ_ONLY_EXISTS),
    NAME(CKR_SESSION_READ_WRITE_SO_EXISTS), NAME(CKR_SIGNATURE_INVALID),
    NAME(CKR_SIGNATURE_LEN_RANGE), NAME(CKR_TEMPLATE_INCOMPLETE),
    NAME(CKR_TEMPLATE_INCONSISTENT), NAME(CKR_TOKEN_NOT_PRESENT),
    NAME(CKR_TOKEN_NOT_RECOGNIZED), NAME(CKR_TOKEN_WRITE_PROTECTED),
    NAME(CKR_UNWRAPPING_KEY_HANDLE_INVALID), NAME(CKR_UNWRAPPING_KEY_SIZE_RANGE),
    NAME(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT), NAME(CKR_USER_ALREADY_LOGGED_IN),
    NAME(CKR_USER_NOT_LOGGED_IN), NAME(CKR_USER_PIN_NOT_INITIALIZED),
    NAME(CKR_USER_TYPE_INVALID), NAME(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    NAME(CKR_USER_TOO_MANY_TYPES), NAME(CKR_WRAPPED_KEY_INVALID),
    NAME(CKR_WRAPPED_KEY_LEN_RANGE), NAME(CKR_WRAPPING_KEY_HANDLE_INVALID),
    NAME(CKR_WRAPPING_KEY_SIZE_RANGE), NAME(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    NAME(CKR_RANDOM_SEED_NOT_SUPPORTED), NAME(CKR_RANDOM_NO_RNG),
    NAME(CKR_DOMAIN_PARAMS_INVALID), NAME(CKR_CURVE_NOT_SUPPORTED),
    NAME(CKR_BUFFER_TOO_SMALL), NAME(CKR_SAVED_STATE_INVALID),
    NAME(CKR_INFORMATION_SENSITIVE), NAME(CKR_STATE_UNSAVEABLE),
    NAME(CKR_CRYPTOKI_NOT_INITIALIZED), NAME(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    NAME(CKR_MUTEX_BAD), NAME(CKR_MUTEX_NOT_LOCKED), NAME(CKR_NEW_PIN_MODE),
    NAME(CKR_NEXT_OTP), NAME(CKR_EXCEEDED_MAX_ITERATIONS),
    NAME(CKR_FIPS_SELF_TEST_FAILED), NAME(CKR_LIBRARY_LOAD_FAILED),
    NAME(CKR_PIN_TOO_WEAK), NAME(CKR_PUBLIC_KEY_INVALID), NAME(CKR_FUNCTION_REJECTED),
    NAME(CKR_VENDOR_DEFINED),
};

/* The signature, digest and key-generation mechanisms hsmca uses (DESIGN.md:
 * RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519) plus their neighbours; anything
 * else can be given as 0x... . */
static const struct fault_name mech_names[] = {
    NAME(CKM_RSA_PKCS_KEY_PAIR_GEN), NAME(CKM_RSA_PKCS), NAME(CKM_RSA_X_509),
    NAME(CKM_RSA_PKCS_OAEP), NAME(CKM_RSA_PKCS_PSS),
    NAME(CKM_SHA1_RSA_PKCS), NAME(CKM_SHA224_RSA_PKCS), NAME(CKM_SHA256_RSA_PKCS),
    NAME(CKM_SHA384_RSA_PKCS), NAME(CKM_SHA512_RSA_PKCS),
    NAME(CKM_SHA1_RSA_PKCS_PSS), NAME(CKM_SHA224_RSA_PKCS_PSS),
    NAME(CKM_SHA256_RSA_PKCS_PSS), NAME(CKM_SHA384_RSA_PKCS_PSS),
    NAME(CKM_SHA512_RSA_PKCS_PSS),
    NAME(CKM_EC_KEY_PAIR_GEN), NAME(CKM_ECDSA_KEY_PAIR_GEN), NAME(CKM_ECDSA),
    NAME(CKM_ECDSA_SHA1), NAME(CKM_ECDSA_SHA224), NAME(CKM_ECDSA_SHA256),
    NAME(CKM_ECDSA_SHA384), NAME(CKM_ECDSA_SHA512),
    NAME(CKM_EC_EDWARDS_KEY_PAIR_GEN), NAME(CKM_EDDSA),
    NAME(CKM_SHA_1), NAME(CKM_SHA224), NAME(CKM_SHA256), NAME(CKM_SHA384),
    NAME(CKM_SHA512), NAME(CKM_SHA_1_HMAC), NAME(CKM_SHA224_HMAC),
    NAME(CKM_SHA256_HMAC), NAME(CKM_SHA384_HMAC), NAME(CKM_SHA512_HMAC),
    NAME(CKM_GENERIC_SECRET_KEY_GEN), NAME(CKM_AES_KEY_GEN), NAME(CKM_AES_ECB),
    NAME(CKM_AES_CBC), NAME(CKM_AES_CBC_PAD), NAME(CKM_AES_GCM),
    NAME(CKM_AES_KEY_WRAP), NAME(CKM_AES_KEY_WRAP_PAD), NAME(CKM_ECDH1_DERIVE),
};

/* The CK_TOKEN_INFO flags (PKCS#11 v2.40 section 3.2, table 8). */
static const struct fault_name token_flag_names[] = {
    NAME(CKF_RNG), NAME(CKF_WRITE_PROTECTED), NAME(CKF_LOGIN_REQUIRED),
    NAME(CKF_USER_PIN_INITIALIZED), NAME(CKF_RESTORE_KEY_NOT_NEEDED),
    NAME(CKF_CLOCK_ON_TOKEN), NAME(CKF_PROTECTED_AUTHENTICATION_PATH),
    NAME(CKF_DUAL_CRYPTO_OPERATIONS), NAME(CKF_TOKEN_INITIALIZED),
    NAME(CKF_SECONDARY_AUTHENTICATION), NAME(CKF_USER_PIN_COUNT_LOW),
    NAME(CKF_USER_PIN_FINAL_TRY), NAME(CKF_USER_PIN_LOCKED),
    NAME(CKF_USER_PIN_TO_BE_CHANGED), NAME(CKF_SO_PIN_COUNT_LOW),
    NAME(CKF_SO_PIN_FINAL_TRY), NAME(CKF_SO_PIN_LOCKED), NAME(CKF_SO_PIN_TO_BE_CHANGED),
};

#undef NAME

/* "0x" followed by 1..16 hex digits; anything else (signs, spaces, decimal)
 * is refused so that a typo is reported instead of read as a number. */
static bool parse_hex(const char *s, CK_ULONG *out)
{
    bool ok = false;
    char *end = NULL;
    unsigned long long v;
    size_t digits;

    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        goto done;
    digits = strspn(s + 2, "0123456789abcdefABCDEF");
    if (digits == 0 || digits > 2 * sizeof(CK_ULONG) || s[2 + digits] != '\0')
        goto done;
    v = strtoull(s + 2, &end, 16);
    if (end != s + 2 + digits)
        goto done;
    *out = (CK_ULONG)v;
    ok = true;
done:
    return ok;
}

static bool lookup(const struct fault_name *table, size_t n, const char *name,
                   CK_ULONG *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *out = table[i].value;
            return true;
        }
    }
    return parse_hex(name, out);
}

const char *hsmca_fault_fn_name(unsigned fn)
{
    return fn < FAULT_FN_COUNT ? fn_info[fn].name : "*";
}

unsigned hsmca_fault_fn_flags(unsigned fn)
{
    return fn < FAULT_FN_COUNT ? fn_info[fn].flags : 0u;
}

bool hsmca_fault_fn_from_name(const char *name, unsigned *fn)
{
    for (unsigned i = 0; i < FAULT_FN_COUNT; i++) {
        if (strcmp(fn_info[i].name, name) == 0) {
            *fn = i;
            return true;
        }
    }
    return false;
}

bool hsmca_fault_rv_from_name(const char *name, CK_RV *rv)
{
    return lookup(rv_names, sizeof rv_names / sizeof rv_names[0], name, rv);
}

bool hsmca_fault_mech_from_name(const char *name, CK_MECHANISM_TYPE *mech)
{
    return lookup(mech_names, sizeof mech_names / sizeof mech_names[0], name, mech);
}

bool hsmca_fault_token_flag_from_name(const char *name, CK_FLAGS *flag)
{
    return lookup(token_flag_names, sizeof token_flag_names / sizeof token_flag_names[0],
                  name, flag);
}
