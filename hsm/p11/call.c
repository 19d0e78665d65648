/* SPDX-License-Identifier: Apache-2.0 */
/* The Cryptoki wrapper layer: the only code that touches CK_FUNCTION_LIST.
 * Every call is logged with its CK_RV at debug level (never its secrets). */
#include <dlfcn.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

#define LOG_CALL(name, crv)                                                    \
    hsmca_log_debug("pkcs11 %s -> %s", name, p11_ckr_name(crv))
#define LOG_CALL_S(name, s, crv)                                               \
    hsmca_log_debug("pkcs11 %s(session %lu) -> %s", name, (unsigned long)(s),   \
                    p11_ckr_name(crv))

CK_RV p11_C_Initialize(p11_module *m)
{
    /* CKF_OS_LOCKING_OK: the module may be called from many threads and must
     * use the OS primitives (DESIGN.md, HSM layer). */
    CK_C_INITIALIZE_ARGS args;
    CK_RV crv;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    crv = m->fl->C_Initialize(&args);
    LOG_CALL("C_Initialize", crv);
    return crv;
}

CK_RV p11_C_Finalize(p11_module *m)
{
    CK_RV crv = m->fl->C_Finalize(NULL);
    LOG_CALL("C_Finalize", crv);
    return crv;
}

CK_RV p11_C_GetInfo(p11_module *m, CK_INFO *info)
{
    CK_RV crv = m->fl->C_GetInfo(info);
    LOG_CALL("C_GetInfo", crv);
    return crv;
}

CK_RV p11_C_GetSlotList(p11_module *m, CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
    CK_RV crv = m->fl->C_GetSlotList(present, list, count);
    LOG_CALL("C_GetSlotList", crv);
    return crv;
}

CK_RV p11_C_GetTokenInfo(p11_module *m, CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV crv = m->fl->C_GetTokenInfo(slot, info);
    hsmca_log_debug("pkcs11 C_GetTokenInfo(slot %lu) -> %s", (unsigned long)slot, p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_GetMechanismList(p11_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_RV crv = m->fl->C_GetMechanismList(slot, list, count);
    LOG_CALL("C_GetMechanismList", crv);
    return crv;
}

CK_RV p11_C_GetMechanismInfo(p11_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    CK_RV crv = m->fl->C_GetMechanismInfo(slot, type, info);
    hsmca_log_debug("pkcs11 C_GetMechanismInfo(%s) -> %s", p11_mech_name(type), p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_OpenSession(p11_module *m, CK_SLOT_ID slot, CK_SESSION_HANDLE *s)
{
    /* Read/write: the same pool serves key generation, import and delete. */
    CK_RV crv = m->fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
    hsmca_log_debug("pkcs11 C_OpenSession(slot %lu) -> %s, session %lu", (unsigned long)slot,
                    p11_ckr_name(crv), crv == CKR_OK ? (unsigned long)*s : 0UL);
    return crv;
}

CK_RV p11_C_CloseSession(p11_module *m, CK_SESSION_HANDLE s)
{
    CK_RV crv = m->fl->C_CloseSession(s);
    LOG_CALL_S("C_CloseSession", s, crv);
    return crv;
}

CK_RV p11_C_GetSessionInfo(p11_module *m, CK_SESSION_HANDLE s, CK_SESSION_INFO *info)
{
    CK_RV crv = m->fl->C_GetSessionInfo(s, info);
    LOG_CALL_S("C_GetSessionInfo", s, crv);
    return crv;
}

CK_RV p11_C_Login(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *pin, size_t pin_len)
{
    /* The PIN is passed through, never logged. PKCS#11 2.40 types it
     * non-const; modules do not write to it. */
    CK_RV crv = m->fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin, (CK_ULONG)pin_len);
    LOG_CALL_S("C_Login", s, crv);
    return crv;
}

CK_RV p11_C_FindObjectsInit(p11_module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV crv = m->fl->C_FindObjectsInit(s, tmpl, n);
    LOG_CALL_S("C_FindObjectsInit", s, crv);
    return crv;
}

CK_RV p11_C_FindObjects(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count)
{
    CK_RV crv = m->fl->C_FindObjects(s, objs, max, count);
    LOG_CALL_S("C_FindObjects", s, crv);
    return crv;
}

CK_RV p11_C_FindObjectsFinal(p11_module *m, CK_SESSION_HANDLE s)
{
    CK_RV crv = m->fl->C_FindObjectsFinal(s);
    LOG_CALL_S("C_FindObjectsFinal", s, crv);
    return crv;
}

CK_RV p11_C_GetAttributeValue(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV crv = m->fl->C_GetAttributeValue(s, o, tmpl, n);
    hsmca_log_debug("pkcs11 C_GetAttributeValue(session %lu, object %lu, %lu attrs) -> %s",
                    (unsigned long)s, (unsigned long)o, (unsigned long)n, p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_SetAttributeValue(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV crv = m->fl->C_SetAttributeValue(s, o, tmpl, n);
    LOG_CALL_S("C_SetAttributeValue", s, crv);
    return crv;
}

CK_RV p11_C_CreateObject(p11_module *m, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *o)
{
    CK_RV crv = m->fl->C_CreateObject(s, tmpl, n, o);
    LOG_CALL_S("C_CreateObject", s, crv);
    return crv;
}

CK_RV p11_C_DestroyObject(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    CK_RV crv = m->fl->C_DestroyObject(s, o);
    LOG_CALL_S("C_DestroyObject", s, crv);
    return crv;
}

CK_RV p11_C_GenerateKeyPair(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
                            CK_ATTRIBUTE *pub, CK_ULONG npub, CK_ATTRIBUTE *priv, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv)
{
    CK_RV crv = m->fl->C_GenerateKeyPair(s, mech, pub, npub, priv, npriv, hpub, hpriv);
    hsmca_log_debug("pkcs11 C_GenerateKeyPair(session %lu, %s) -> %s", (unsigned long)s,
                    p11_mech_name(mech->mechanism), p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_GenerateKey(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
                        CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *key)
{
    CK_RV crv = m->fl->C_GenerateKey(s, mech, tmpl, n, key);
    hsmca_log_debug("pkcs11 C_GenerateKey(session %lu, %s) -> %s", (unsigned long)s,
                    p11_mech_name(mech->mechanism), p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_SignInit(p11_module *m, CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
    CK_RV crv = m->fl->C_SignInit(s, mech, key);
    hsmca_log_debug("pkcs11 C_SignInit(session %lu, %s, object %lu) -> %s", (unsigned long)s,
                    p11_mech_name(mech->mechanism), (unsigned long)key, p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_Sign(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *data, size_t len,
                 unsigned char *sig, CK_ULONG *siglen)
{
    CK_RV crv = m->fl->C_Sign(s, (CK_BYTE_PTR)(uintptr_t)data, (CK_ULONG)len, sig, siglen);
    LOG_CALL_S("C_Sign", s, crv);
    return crv;
}

CK_RV p11_C_GenerateRandom(p11_module *m, CK_SESSION_HANDLE s, unsigned char *buf, size_t len)
{
    CK_RV crv = m->fl->C_GenerateRandom(s, buf, (CK_ULONG)len);
    LOG_CALL_S("C_GenerateRandom", s, crv);
    return crv;
}

CK_RV p11_load_function_list(void *dl, CK_FUNCTION_LIST **fl)
{
    CK_C_GetFunctionList get;
    void *sym = dlsym(dl, "C_GetFunctionList");
    CK_RV crv;

    if (sym == NULL)
        return CKR_FUNCTION_NOT_SUPPORTED;
    /* POSIX guarantees object and function pointers convert through dlsym. */
    memcpy(&get, &sym, sizeof(get));
    crv = get(fl);
    LOG_CALL("C_GetFunctionList", crv);
    if (crv == CKR_OK && *fl == NULL)
        crv = CKR_GENERAL_ERROR;
    return crv;
}

/* ---- token initialisation (hsmca_p11_token_init) ---- */

CK_RV p11_C_InitToken(p11_module *m, CK_SLOT_ID slot, const unsigned char *so_pin, size_t so_pin_len,
                      const unsigned char label[32])
{
    CK_RV crv = m->fl->C_InitToken(slot, (CK_UTF8CHAR_PTR)(uintptr_t)so_pin, (CK_ULONG)so_pin_len,
                                   (CK_UTF8CHAR_PTR)(uintptr_t)label);
    hsmca_log_debug("pkcs11 C_InitToken(slot %lu) -> %s", (unsigned long)slot, p11_ckr_name(crv));
    return crv;
}

CK_RV p11_C_LoginAs(p11_module *m, CK_SESSION_HANDLE s, CK_USER_TYPE who, const unsigned char *pin, size_t pin_len)
{
    CK_RV crv = m->fl->C_Login(s, who, (CK_UTF8CHAR_PTR)(uintptr_t)pin, (CK_ULONG)pin_len);
    LOG_CALL_S("C_Login", s, crv);
    return crv;
}

CK_RV p11_C_InitPIN(p11_module *m, CK_SESSION_HANDLE s, const unsigned char *pin, size_t pin_len)
{
    CK_RV crv = m->fl->C_InitPIN(s, (CK_UTF8CHAR_PTR)(uintptr_t)pin, (CK_ULONG)pin_len);
    LOG_CALL_S("C_InitPIN", s, crv);
    return crv;
}

CK_RV p11_C_Logout(p11_module *m, CK_SESSION_HANDLE s)
{
    CK_RV crv = m->fl->C_Logout(s);
    LOG_CALL_S("C_Logout", s, crv);
    return crv;
}
