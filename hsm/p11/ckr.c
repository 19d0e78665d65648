/* SPDX-License-Identifier: Apache-2.0 */
/* CK_RV and mechanism names, the recoverable-error classes, and the one
 * translation from CK_RV to hsmca_rv. */
#include <stdio.h>

#include "internal.h"

#define N(x) {x, #x}

static const struct {
    CK_RV rv;
    const char *name;
} ckr_names[] = {
    N(CKR_OK), N(CKR_CANCEL), N(CKR_HOST_MEMORY), N(CKR_SLOT_ID_INVALID),
    N(CKR_GENERAL_ERROR), N(CKR_FUNCTION_FAILED), N(CKR_ARGUMENTS_BAD),
    N(CKR_NO_EVENT), N(CKR_NEED_TO_CREATE_THREADS), N(CKR_CANT_LOCK),
    N(CKR_ATTRIBUTE_READ_ONLY), N(CKR_ATTRIBUTE_SENSITIVE), N(CKR_ATTRIBUTE_TYPE_INVALID),
    N(CKR_ATTRIBUTE_VALUE_INVALID), N(CKR_DATA_INVALID), N(CKR_DATA_LEN_RANGE),
    N(CKR_DEVICE_ERROR), N(CKR_DEVICE_MEMORY), N(CKR_DEVICE_REMOVED),
    N(CKR_ENCRYPTED_DATA_INVALID), N(CKR_ENCRYPTED_DATA_LEN_RANGE),
    N(CKR_FUNCTION_CANCELED), N(CKR_FUNCTION_NOT_PARALLEL), N(CKR_FUNCTION_NOT_SUPPORTED),
    N(CKR_KEY_HANDLE_INVALID), N(CKR_KEY_SIZE_RANGE), N(CKR_KEY_TYPE_INCONSISTENT),
    N(CKR_KEY_NOT_NEEDED), N(CKR_KEY_CHANGED), N(CKR_KEY_NEEDED),
    N(CKR_KEY_INDIGESTIBLE), N(CKR_KEY_FUNCTION_NOT_PERMITTED), N(CKR_KEY_NOT_WRAPPABLE),
    N(CKR_KEY_UNEXTRACTABLE), N(CKR_MECHANISM_INVALID), N(CKR_MECHANISM_PARAM_INVALID),
    N(CKR_OBJECT_HANDLE_INVALID), N(CKR_OPERATION_ACTIVE), N(CKR_OPERATION_NOT_INITIALIZED),
    N(CKR_PIN_INCORRECT), N(CKR_PIN_INVALID), N(CKR_PIN_LEN_RANGE), N(CKR_PIN_EXPIRED),
    N(CKR_PIN_LOCKED), N(CKR_SESSION_CLOSED), N(CKR_SESSION_COUNT),
    N(CKR_SESSION_HANDLE_INVALID), N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    N(CKR_SESSION_READ_ONLY), N(CKR_SESSION_EXISTS), N(CKR_SESSION_READ_ONLY_EXISTS),
    N(CKR_SESSION_READ_WRITE_SO_EXISTS), N(CKR_SIGNATURE_INVALID), N(CKR_SIGNATURE_LEN_RANGE),
    N(CKR_TEMPLATE_INCOMPLETE), N(CKR_TEMPLATE_INCONSISTENT), N(CKR_TOKEN_NOT_PRESENT),
    N(CKR_TOKEN_NOT_RECOGNIZED), N(CKR_TOKEN_WRITE_PROTECTED), N(CKR_USER_ALREADY_LOGGED_IN),
    N(CKR_USER_NOT_LOGGED_IN), N(CKR_USER_PIN_NOT_INITIALIZED), N(CKR_USER_TYPE_INVALID),
    N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), N(CKR_USER_TOO_MANY_TYPES),
    N(CKR_DOMAIN_PARAMS_INVALID), N(CKR_CURVE_NOT_SUPPORTED), N(CKR_BUFFER_TOO_SMALL),
    N(CKR_SAVED_STATE_INVALID), N(CKR_INFORMATION_SENSITIVE), N(CKR_STATE_UNSAVEABLE),
    N(CKR_CRYPTOKI_NOT_INITIALIZED), N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    N(CKR_MUTEX_BAD), N(CKR_MUTEX_NOT_LOCKED), N(CKR_FUNCTION_REJECTED),
};

const char *p11_ckr_name(CK_RV rv)
{
    static _Thread_local char unknown[32];

    for (size_t i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++) {
        if (ckr_names[i].rv == rv)
            return ckr_names[i].name;
    }
    snprintf(unknown, sizeof(unknown), "CKR_0x%08lx", (unsigned long)rv);
    return unknown;
}

static const struct {
    CK_MECHANISM_TYPE m;
    const char *name;
} mech_names[] = {
    N(CKM_RSA_PKCS_KEY_PAIR_GEN), N(CKM_RSA_PKCS), N(CKM_RSA_X_509), N(CKM_RSA_PKCS_PSS),
    N(CKM_SHA256_RSA_PKCS), N(CKM_SHA384_RSA_PKCS), N(CKM_SHA512_RSA_PKCS),
    N(CKM_SHA256_RSA_PKCS_PSS), N(CKM_SHA384_RSA_PKCS_PSS), N(CKM_SHA512_RSA_PKCS_PSS),
    N(CKM_EC_KEY_PAIR_GEN), N(CKM_ECDSA), N(CKM_ECDSA_SHA256), N(CKM_ECDSA_SHA384),
    N(CKM_ECDSA_SHA512), N(CKM_EC_EDWARDS_KEY_PAIR_GEN), N(CKM_EDDSA),
    N(CKM_SHA256), N(CKM_SHA384), N(CKM_SHA512),
    N(CKM_GENERIC_SECRET_KEY_GEN), N(CKM_SHA256_HMAC),
};

const char *p11_mech_name(CK_MECHANISM_TYPE m)
{
    static _Thread_local char unknown[32];

    for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++) {
        if (mech_names[i].m == m)
            return mech_names[i].name;
    }
    snprintf(unknown, sizeof(unknown), "CKM_0x%08lx", (unsigned long)m);
    return unknown;
}

bool p11_ckr_recoverable(CK_RV rv)
{
    switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
        return true;
    default:
        return p11_ckr_device_level(rv);
    }
}

bool p11_ckr_device_level(CK_RV rv)
{
    switch (rv) {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_SLOT_ID_INVALID:
    case CKR_TOKEN_NOT_RECOGNIZED:
    /* PKCS#11 v2.40 5.1: "some horrible, unrecoverable error" -- the module
     * itself gave up, so finalizing and initialising it again is the one way
     * back. SoftHSM2 answers every call on a token whose directory vanished
     * with it and keeps doing so after the directory returns, until
     * C_Initialize rebuilds its object store (found by
     * tests/reliability/p11_chaos.py: the daemon answered 500 for ever). */
    case CKR_GENERAL_ERROR:
        return true;
    default:
        return false;
    }
}

hsmca_rv p11_fail(CK_RV crv, const char *func, const char *what)
{
    hsmca_rv rv;

    switch (crv) {
    case CKR_HOST_MEMORY:
        rv = HSMCA_ERR_NOMEM;
        break;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
        rv = HSMCA_ERR_PIN_INCORRECT;
        break;
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
        rv = HSMCA_ERR_PIN_LOCKED;
        break;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_KEY_SIZE_RANGE:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_FUNCTION_NOT_SUPPORTED:
        rv = HSMCA_ERR_UNSUPPORTED;
        break;
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
        rv = HSMCA_ERR_INVALID_ARG;
        break;
    default:
        rv = p11_ckr_recoverable(crv) ? HSMCA_ERR_HSM_UNAVAILABLE : HSMCA_ERR_HSM;
        break;
    }
    return hsmca_err(rv, "%s: %s failed: %s", what, func, p11_ckr_name(crv));
}
