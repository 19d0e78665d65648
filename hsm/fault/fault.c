/* SPDX-License-Identifier: Apache-2.0 */
/* The 68 PKCS#11 v2.40 entry points of the fault module and the exported C_GetFunctionList. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Most output an operation ended by an injected fault may need drained into
 * a scratch buffer (a 4096-bit signature is 512 bytes; this leaves room for
 * bulk encryption in tests). */
#define FAULT_SCRATCH_MAX (1024ul * 1024ul)

/* Shapes shared by the calls that end an operation. */
typedef CK_RV (*single_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*final_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR);

/* Most calls: a removal window or an injected fault answers instead of the
 * real module. Sets *rv and returns true when the call must not be forwarded. */
static bool refused(const struct fault_call *c, CK_RV *rv)
{
    if (c->removed) {
        *rv = CKR_DEVICE_REMOVED;
        return true;
    }
    if (c->injected != CKR_OK) {
        *rv = c->injected;
        return true;
    }
    return false;
}

/* A hidden mechanism is refused the way a token without it would refuse it. */
static bool mech_refused(const struct fault_call *c, const CK_MECHANISM *mech, CK_RV *rv)
{
    if (mech && hsmca_fault_mech_hidden(c->cfg, mech->mechanism)) {
        *rv = CKR_MECHANISM_INVALID;
        return true;
    }
    return false;
}

struct scratch {
    CK_BYTE *buf;
    CK_ULONG cap;
};

static void scratch_free(struct scratch *sc)
{
    if (sc->buf) {
        /* It may hold plaintext or a signature the caller was told failed. */
        explicit_bzero(sc->buf, sc->cap);
        free(sc->buf);
    }
    sc->buf = NULL;
    sc->cap = 0;
}

static bool scratch_reserve(struct scratch *sc, CK_ULONG n)
{
    if (n == 0)
        n = 1;
    if (n > FAULT_SCRATCH_MAX) {
        fprintf(stderr, "hsmca-fault: ending an operation after an injected fault needs %lu "
                        "bytes of output, over the %lu-byte limit; it stays active\n",
                (unsigned long)n, FAULT_SCRATCH_MAX);
        return false;
    }
    scratch_free(sc);
    sc->buf = malloc(n);
    if (!sc->buf)
        return false;
    sc->cap = n;
    return true;
}

/* Runs a single-part operation that a length query or CKR_BUFFER_TOO_SMALL
 * left active to its end, into a scratch buffer that is then wiped. Any rv
 * other than those two ends the operation, so that is where the loop stops. */
static void drain_single(single_fn fn, CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len)
{
    struct scratch sc = {0};
    CK_ULONG n = 0;
    CK_RV rv = fn(s, in, in_len, NULL, &n);

    for (unsigned tries = 0; rv == CKR_OK && tries < 3; tries++) {
        if (!scratch_reserve(&sc, n))
            break;
        n = sc.cap;
        rv = fn(s, in, in_len, sc.buf, &n);
        if (rv != CKR_BUFFER_TOO_SMALL)
            break;
        rv = CKR_OK; /* n now holds the size the module wants */
    }
    scratch_free(&sc);
}

/* As drain_single(), for the C_*Final functions. Also used to end a
 * multi-part operation whose C_*Update got an injected fault. */
static void drain_final(final_fn fn, CK_SESSION_HANDLE s)
{
    struct scratch sc = {0};
    CK_ULONG n = 0;
    CK_RV rv = fn(s, NULL, &n);

    for (unsigned tries = 0; rv == CKR_OK && tries < 3; tries++) {
        if (!scratch_reserve(&sc, n))
            break;
        n = sc.cap;
        rv = fn(s, sc.buf, &n);
        if (rv != CKR_BUFFER_TOO_SMALL)
            break;
        rv = CKR_OK;
    }
    scratch_free(&sc);
}

/* Ends a verification: a one-byte signature is wrong for every mechanism,
 * and a failed C_VerifyFinal ends the operation (v2.40 §5.13). */
static void end_verify(const struct fault_call *c, CK_SESSION_HANDLE s)
{
    CK_BYTE dummy[1] = {0};

    (void)c->real->C_VerifyFinal(s, dummy, sizeof dummy);
}

/* Hides the output of a call whose success we report as a failure, so a
 * caller that ignores the rv uses zeros, which any verification rejects. */
static void wipe_output(CK_BYTE_PTR out, CK_ULONG cap, const CK_ULONG *out_len)
{
    if (out && out_len)
        explicit_bzero(out, *out_len < cap ? *out_len : cap);
}

/*
 * A fault injected on a call that ends an operation. PKCS#11 v2.40 (§5.8 to
 * §5.13) says C_Encrypt, C_Decrypt, C_Digest, C_Sign, C_SignRecover,
 * C_VerifyRecover and their C_*Final forms always end the active operation
 * unless they return CKR_BUFFER_TOO_SMALL or answer a length query. If the
 * fault kept the call from the real module, the real operation would stay
 * active and the caller's next C_*Init would get CKR_OPERATION_ACTIVE, a
 * failure no real token produces. So: forward the call, finish the operation
 * if it is still active, wipe what it wrote, report the fault.
 */
static CK_RV fault_single(const struct fault_call *c, single_fn fn, CK_SESSION_HANDLE s,
                          CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                          CK_ULONG_PTR out_len)
{
    CK_ULONG cap = out_len ? *out_len : 0;
    CK_RV rv = fn(s, in, in_len, out, out_len);

    if (rv == CKR_OK && out)
        wipe_output(out, cap, out_len);
    else
        drain_single(fn, s, in, in_len);
    return c->injected;
}

static CK_RV fault_final(const struct fault_call *c, final_fn fn, CK_SESSION_HANDLE s,
                         CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_ULONG cap = out_len ? *out_len : 0;
    CK_RV rv = fn(s, out, out_len);

    if (rv == CKR_OK && out)
        wipe_output(out, cap, out_len);
    else
        drain_final(fn, s);
    return c->injected;
}

/* ---- General purpose and slot/token management ---------------------------------------- */

static CK_RV fault_C_Initialize(CK_VOID_PTR init_args)
{
    hsmca_fault_count_call(FAULT_FN_C_Initialize);
    return hsmca_fault_initialize(init_args);
}

static CK_RV fault_C_Finalize(CK_VOID_PTR reserved)
{
    hsmca_fault_count_call(FAULT_FN_C_Finalize);
    return hsmca_fault_finalize(reserved);
}

static CK_RV fault_C_GetInfo(CK_INFO_PTR info)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetInfo);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetInfo(info);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* During a removal window the slots are still there but hold no token, so
 * only tokenPresent=TRUE lists change (to empty). */
static CK_RV fault_C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR list,
                                 CK_ULONG_PTR count)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetSlotList);

    if (rv != CKR_OK)
        goto done;
    if (c.removed && token_present) {
        rv = CKR_ARGUMENTS_BAD;
        if (count) {
            *count = 0;
            rv = CKR_OK;
        }
        goto done;
    }
    if (c.injected != CKR_OK) {
        rv = c.injected;
        goto done;
    }
    rv = c.real->C_GetSlotList(token_present, list, count);
    if (rv == CKR_OK && list && count) {
        for (CK_ULONG i = 0; i < *count; i++)
            hsmca_fault_note_slot(list[i]);
    }
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetSlotInfo);

    if (rv != CKR_OK)
        goto done;
    if (!c.removed && c.injected != CKR_OK) {
        rv = c.injected;
        goto done;
    }
    rv = c.real->C_GetSlotInfo(slot, info);
    if (rv == CKR_OK && c.removed && info)
        info->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetTokenInfo);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_TOKEN_NOT_PRESENT;
        goto done;
    }
    if (c.injected != CKR_OK) {
        rv = c.injected;
        goto done;
    }
    hsmca_fault_note_slot(slot);
    rv = c.real->C_GetTokenInfo(slot, info);
    if (rv == CKR_OK && info)
        info->flags |= c.cfg->token_flags_add;
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* Hidden mechanisms are filtered out of the real list. The caller's length
 * query must see the filtered count, so the full list is always fetched. */
static CK_RV filtered_mechanisms(const struct fault_call *c, CK_SLOT_ID slot,
                                 CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = CKR_ARGUMENTS_BAD;
    CK_MECHANISM_TYPE *all = NULL;
    CK_ULONG n = 0, kept = 0;

    if (!count)
        goto done;
    /* Bounded retries in case the list grows between the two calls. */
    for (unsigned tries = 0; tries < 3; tries++) {
        rv = c->real->C_GetMechanismList(slot, NULL, &n);
        if (rv != CKR_OK)
            goto done;
        if (n > 4096) {
            fprintf(stderr, "hsmca-fault: C_GetMechanismList: %lu mechanisms, over the limit of 4096\n",
                    (unsigned long)n);
            rv = CKR_GENERAL_ERROR;
            goto done;
        }
        free(all);
        all = calloc(n ? n : 1, sizeof *all);
        if (!all) {
            rv = CKR_HOST_MEMORY;
            goto done;
        }
        rv = c->real->C_GetMechanismList(slot, all, &n);
        if (rv != CKR_BUFFER_TOO_SMALL)
            break;
    }
    if (rv != CKR_OK)
        goto done;
    for (CK_ULONG i = 0; i < n; i++) {
        if (!hsmca_fault_mech_hidden(c->cfg, all[i]))
            all[kept++] = all[i];
    }
    if (list && *count < kept) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else if (list) {
        memcpy(list, all, kept * sizeof *all);
        rv = CKR_OK;
    }
    *count = kept;
done:
    free(all);
    return rv;
}

static CK_RV fault_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                                      CK_ULONG_PTR count)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetMechanismList);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    if (c.cfg->n_hidden == 0)
        rv = c.real->C_GetMechanismList(slot, list, count);
    else
        rv = filtered_mechanisms(&c, slot, list, count);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                      CK_MECHANISM_INFO_PTR info)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetMechanismInfo);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    if (hsmca_fault_mech_hidden(c.cfg, type)) {
        rv = CKR_MECHANISM_INVALID;
        goto done;
    }
    rv = c.real->C_GetMechanismInfo(slot, type, info);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
                               CK_UTF8CHAR_PTR label)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_InitToken);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_InitToken(slot, pin, pin_len, label);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_InitPIN);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_InitPIN(s, pin, pin_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SetPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                            CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SetPIN);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_SetPIN(s, old_pin, old_len, new_pin, new_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Sessions ----------------------------------------------------------------------- */

static CK_RV fault_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                                 CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_OpenSession);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    /* Remembered before the session exists, so a removal window that starts
     * right after always knows which slot to empty. */
    hsmca_fault_note_slot(slot);
    rv = c.real->C_OpenSession(slot, flags, app, notify, session);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* A fault on closing still closes: the caller drops the handle either way,
 * and a session left open in the real module would leak for the rest of a
 * load test (and keep its login state alive). */
static CK_RV fault_C_CloseSession(CK_SESSION_HANDLE s)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_CloseSession);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
        goto done;
    }
    rv = c.real->C_CloseSession(s);
    if (c.injected != CKR_OK)
        rv = c.injected;
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_CloseAllSessions(CK_SLOT_ID slot)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_CloseAllSessions);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
        goto done;
    }
    rv = c.real->C_CloseAllSessions(slot);
    if (c.injected != CKR_OK)
        rv = c.injected;
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetSessionInfo);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetSessionInfo(s, info);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR state,
                                       CK_ULONG_PTR state_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetOperationState);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetOperationState(s, state, state_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR state,
                                       CK_ULONG state_len, CK_OBJECT_HANDLE enc_key,
                                       CK_OBJECT_HANDLE auth_key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SetOperationState);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_SetOperationState(s, state, state_len, enc_key, auth_key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                           CK_ULONG pin_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Login);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_Login(s, user, pin, pin_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* Not forwarded on a fault: a token whose logout failed may well still be
 * logged in, and callers must cope with CKR_USER_ALREADY_LOGGED_IN next. */
static CK_RV fault_C_Logout(CK_SESSION_HANDLE s)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Logout);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_Logout(s);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Objects ------------------------------------------------------------------------ */

static CK_RV fault_C_CreateObject(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR templ, CK_ULONG count,
                                  CK_OBJECT_HANDLE_PTR object)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_CreateObject);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_CreateObject(s, templ, count, object);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_CopyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                                CK_ATTRIBUTE_PTR templ, CK_ULONG count,
                                CK_OBJECT_HANDLE_PTR new_object)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_CopyObject);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_CopyObject(s, object, templ, count, new_object);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DestroyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DestroyObject);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_DestroyObject(s, object);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetObjectSize(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                                   CK_ULONG_PTR size)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetObjectSize);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetObjectSize(s, object, size);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                                       CK_ATTRIBUTE_PTR templ, CK_ULONG count)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetAttributeValue);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetAttributeValue(s, object, templ, count);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                                       CK_ATTRIBUTE_PTR templ, CK_ULONG count)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SetAttributeValue);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_SetAttributeValue(s, object, templ, count);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR templ,
                                     CK_ULONG count)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_FindObjectsInit);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_FindObjectsInit(s, templ, count);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR objects,
                                 CK_ULONG max, CK_ULONG_PTR found)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_FindObjects);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_FindObjects(s, objects, max, found);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* C_FindObjectsFinal ends the search whatever it returns, for the same
 * reason as fault_single(): the next C_FindObjectsInit must not see an
 * active search the caller was told had ended. */
static CK_RV fault_C_FindObjectsFinal(CK_SESSION_HANDLE s)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_FindObjectsFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
        goto done;
    }
    rv = c.real->C_FindObjectsFinal(s);
    if (c.injected != CKR_OK)
        rv = c.injected;
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Encryption and decryption ------------------------------------------------------- */

static CK_RV fault_C_EncryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_EncryptInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_EncryptInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_Encrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len,
                             CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Encrypt);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_single(&c, c.real->C_Encrypt, s, data, data_len, out, out_len);
    else
        rv = c.real->C_Encrypt(s, data, data_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* A failed C_*Update ends its operation (v2.40 §5.8 to §5.13), so an
 * injected one ends the real operation too, through the matching C_*Final. */
static CK_RV fault_C_EncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG part_len,
                                   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_EncryptUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            drain_final(c.real->C_EncryptFinal, s);
        goto done;
    }
    rv = c.real->C_EncryptUpdate(s, part, part_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_EncryptFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_EncryptFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_final(&c, c.real->C_EncryptFinal, s, out, out_len);
    else
        rv = c.real->C_EncryptFinal(s, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DecryptInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_DecryptInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_Decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                             CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Decrypt);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_single(&c, c.real->C_Decrypt, s, in, in_len, out, out_len);
    else
        rv = c.real->C_Decrypt(s, in, in_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DecryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                                   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DecryptUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            drain_final(c.real->C_DecryptFinal, s);
        goto done;
    }
    rv = c.real->C_DecryptUpdate(s, in, in_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DecryptFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DecryptFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_final(&c, c.real->C_DecryptFinal, s, out, out_len);
    else
        rv = c.real->C_DecryptFinal(s, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Message digesting ---------------------------------------------------------------- */

static CK_RV fault_C_DigestInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DigestInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_DigestInit(s, mech);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_Digest(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len,
                            CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Digest);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_single(&c, c.real->C_Digest, s, data, data_len, out, out_len);
    else
        rv = c.real->C_Digest(s, data, data_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DigestUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG part_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DigestUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            drain_final(c.real->C_DigestFinal, s);
        goto done;
    }
    rv = c.real->C_DigestUpdate(s, part, part_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DigestKey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DigestKey);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            drain_final(c.real->C_DigestFinal, s);
        goto done;
    }
    rv = c.real->C_DigestKey(s, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DigestFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DigestFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_final(&c, c.real->C_DigestFinal, s, out, out_len);
    else
        rv = c.real->C_DigestFinal(s, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Signing and MACing --------------------------------------------------------------- */

static CK_RV fault_C_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_SignInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len,
                          CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Sign);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
    } else if (c.injected != CKR_OK) {
        rv = fault_single(&c, c.real->C_Sign, s, data, data_len, sig, sig_len);
    } else {
        rv = c.real->C_Sign(s, data, data_len, sig, sig_len);
        if (rv == CKR_OK && sig && sig_len)
            hsmca_fault_maybe_corrupt(&c, sig, *sig_len);
    }
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG part_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            drain_final(c.real->C_SignFinal, s);
        goto done;
    }
    rv = c.real->C_SignUpdate(s, part, part_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SignFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
    } else if (c.injected != CKR_OK) {
        rv = fault_final(&c, c.real->C_SignFinal, s, sig, sig_len);
    } else {
        rv = c.real->C_SignFinal(s, sig, sig_len);
        if (rv == CKR_OK && sig && sig_len)
            hsmca_fault_maybe_corrupt(&c, sig, *sig_len);
    }
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SignRecoverInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                     CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignRecoverInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_SignRecoverInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SignRecover(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len,
                                 CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignRecover);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
    } else if (c.injected != CKR_OK) {
        rv = fault_single(&c, c.real->C_SignRecover, s, data, data_len, sig, sig_len);
    } else {
        rv = c.real->C_SignRecover(s, data, data_len, sig, sig_len);
        if (rv == CKR_OK && sig && sig_len)
            hsmca_fault_maybe_corrupt(&c, sig, *sig_len);
    }
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Verifying signatures and MACs ------------------------------------------------------ */

static CK_RV fault_C_VerifyInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_VerifyInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_VerifyInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* C_Verify and C_VerifyFinal have no length query: forwarding them always
 * ends the operation, whatever they return. */
static CK_RV fault_C_Verify(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len,
                            CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_Verify);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
        goto done;
    }
    rv = c.real->C_Verify(s, data, data_len, sig, sig_len);
    if (c.injected != CKR_OK)
        rv = c.injected;
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_VerifyUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG part_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_VerifyUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK)
            end_verify(&c, s);
        goto done;
    }
    rv = c.real->C_VerifyUpdate(s, part, part_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_VerifyFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_VerifyFinal);

    if (rv != CKR_OK)
        goto done;
    if (c.removed) {
        rv = CKR_DEVICE_REMOVED;
        goto done;
    }
    rv = c.real->C_VerifyFinal(s, sig, sig_len);
    if (c.injected != CKR_OK)
        rv = c.injected;
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_VerifyRecoverInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                       CK_OBJECT_HANDLE key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_VerifyRecoverInit);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_VerifyRecoverInit(s, mech, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_VerifyRecover(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len,
                                   CK_BYTE_PTR data, CK_ULONG_PTR data_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_VerifyRecover);

    if (rv != CKR_OK)
        goto done;
    if (c.removed)
        rv = CKR_DEVICE_REMOVED;
    else if (c.injected != CKR_OK)
        rv = fault_single(&c, c.real->C_VerifyRecover, s, sig, sig_len, data, data_len);
    else
        rv = c.real->C_VerifyRecover(s, sig, sig_len, data, data_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Dual-function cryptographic operations --------------------------------------------- */
/* A failure ends both operations the call drives. */

static CK_RV fault_C_DigestEncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part,
                                         CK_ULONG part_len, CK_BYTE_PTR out,
                                         CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DigestEncryptUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK) {
            drain_final(c.real->C_DigestFinal, s);
            drain_final(c.real->C_EncryptFinal, s);
        }
        goto done;
    }
    rv = c.real->C_DigestEncryptUpdate(s, part, part_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DecryptDigestUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                                         CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DecryptDigestUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK) {
            drain_final(c.real->C_DecryptFinal, s);
            drain_final(c.real->C_DigestFinal, s);
        }
        goto done;
    }
    rv = c.real->C_DecryptDigestUpdate(s, in, in_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_SignEncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG part_len,
                                       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SignEncryptUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK) {
            drain_final(c.real->C_SignFinal, s);
            drain_final(c.real->C_EncryptFinal, s);
        }
        goto done;
    }
    rv = c.real->C_SignEncryptUpdate(s, part, part_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DecryptVerifyUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                                         CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DecryptVerifyUpdate);

    if (rv != CKR_OK || refused(&c, &rv)) {
        if (c.injected != CKR_OK) {
            drain_final(c.real->C_DecryptFinal, s);
            end_verify(&c, s);
        }
        goto done;
    }
    rv = c.real->C_DecryptVerifyUpdate(s, in, in_len, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Key management ------------------------------------------------------------------ */

static CK_RV fault_C_GenerateKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                 CK_ATTRIBUTE_PTR templ, CK_ULONG count,
                                 CK_OBJECT_HANDLE_PTR key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GenerateKey);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_GenerateKey(s, mech, templ, count, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                     CK_ATTRIBUTE_PTR pub_templ, CK_ULONG pub_count,
                                     CK_ATTRIBUTE_PTR priv_templ, CK_ULONG priv_count,
                                     CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GenerateKeyPair);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_GenerateKeyPair(s, mech, pub_templ, pub_count, priv_templ, priv_count, pub,
                                   priv);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_WrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                             CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key,
                             CK_BYTE_PTR wrapped, CK_ULONG_PTR wrapped_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_WrapKey);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_WrapKey(s, mech, wrapping_key, key, wrapped, wrapped_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_UnwrapKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                               CK_OBJECT_HANDLE unwrapping_key, CK_BYTE_PTR wrapped,
                               CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR templ, CK_ULONG count,
                               CK_OBJECT_HANDLE_PTR key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_UnwrapKey);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_UnwrapKey(s, mech, unwrapping_key, wrapped, wrapped_len, templ, count, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_DeriveKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                               CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE_PTR templ,
                               CK_ULONG count, CK_OBJECT_HANDLE_PTR key)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_DeriveKey);

    if (rv != CKR_OK || refused(&c, &rv) || mech_refused(&c, mech, &rv))
        goto done;
    rv = c.real->C_DeriveKey(s, mech, base_key, templ, count, key);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- Random numbers, legacy parallel functions, slot events ---------------------------- */

static CK_RV fault_C_SeedRandom(CK_SESSION_HANDLE s, CK_BYTE_PTR seed, CK_ULONG seed_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_SeedRandom);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_SeedRandom(s, seed, seed_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GenerateRandom(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG out_len)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GenerateRandom);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GenerateRandom(s, out, out_len);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_GetFunctionStatus(CK_SESSION_HANDLE s)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_GetFunctionStatus);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_GetFunctionStatus(s);
done:
    return hsmca_fault_call_leave(&c, rv);
}

static CK_RV fault_C_CancelFunction(CK_SESSION_HANDLE s)
{
    struct fault_call c;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_CancelFunction);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    rv = c.real->C_CancelFunction(s);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* Without CKF_DONT_BLOCK this may wait for ever, so the module lock is
 * dropped first: a blocked waiter must not hold up reloads or C_Finalize
 * (which is what wakes it, with CKR_CRYPTOKI_NOT_INITIALIZED). */
static CK_RV fault_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
    struct fault_call c;
    CK_FUNCTION_LIST *real;
    CK_RV rv = hsmca_fault_call_enter(&c, FAULT_FN_C_WaitForSlotEvent);

    if (rv != CKR_OK || refused(&c, &rv))
        goto done;
    real = c.real;
    hsmca_fault_call_unlock(&c);
    rv = real->C_WaitForSlotEvent(flags, slot, reserved);
done:
    return hsmca_fault_call_leave(&c, rv);
}

/* ---- The function list ----------------------------------------------------------------- */

CK_FUNCTION_LIST hsmca_fault_function_list = {
    .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
    .C_Initialize = fault_C_Initialize,
    .C_Finalize = fault_C_Finalize,
    .C_GetInfo = fault_C_GetInfo,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetSlotList = fault_C_GetSlotList,
    .C_GetSlotInfo = fault_C_GetSlotInfo,
    .C_GetTokenInfo = fault_C_GetTokenInfo,
    .C_GetMechanismList = fault_C_GetMechanismList,
    .C_GetMechanismInfo = fault_C_GetMechanismInfo,
    .C_InitToken = fault_C_InitToken,
    .C_InitPIN = fault_C_InitPIN,
    .C_SetPIN = fault_C_SetPIN,
    .C_OpenSession = fault_C_OpenSession,
    .C_CloseSession = fault_C_CloseSession,
    .C_CloseAllSessions = fault_C_CloseAllSessions,
    .C_GetSessionInfo = fault_C_GetSessionInfo,
    .C_GetOperationState = fault_C_GetOperationState,
    .C_SetOperationState = fault_C_SetOperationState,
    .C_Login = fault_C_Login,
    .C_Logout = fault_C_Logout,
    .C_CreateObject = fault_C_CreateObject,
    .C_CopyObject = fault_C_CopyObject,
    .C_DestroyObject = fault_C_DestroyObject,
    .C_GetObjectSize = fault_C_GetObjectSize,
    .C_GetAttributeValue = fault_C_GetAttributeValue,
    .C_SetAttributeValue = fault_C_SetAttributeValue,
    .C_FindObjectsInit = fault_C_FindObjectsInit,
    .C_FindObjects = fault_C_FindObjects,
    .C_FindObjectsFinal = fault_C_FindObjectsFinal,
    .C_EncryptInit = fault_C_EncryptInit,
    .C_Encrypt = fault_C_Encrypt,
    .C_EncryptUpdate = fault_C_EncryptUpdate,
    .C_EncryptFinal = fault_C_EncryptFinal,
    .C_DecryptInit = fault_C_DecryptInit,
    .C_Decrypt = fault_C_Decrypt,
    .C_DecryptUpdate = fault_C_DecryptUpdate,
    .C_DecryptFinal = fault_C_DecryptFinal,
    .C_DigestInit = fault_C_DigestInit,
    .C_Digest = fault_C_Digest,
    .C_DigestUpdate = fault_C_DigestUpdate,
    .C_DigestKey = fault_C_DigestKey,
    .C_DigestFinal = fault_C_DigestFinal,
    .C_SignInit = fault_C_SignInit,
    .C_Sign = fault_C_Sign,
    .C_SignUpdate = fault_C_SignUpdate,
    .C_SignFinal = fault_C_SignFinal,
    .C_SignRecoverInit = fault_C_SignRecoverInit,
    .C_SignRecover = fault_C_SignRecover,
    .C_VerifyInit = fault_C_VerifyInit,
    .C_Verify = fault_C_Verify,
    .C_VerifyUpdate = fault_C_VerifyUpdate,
    .C_VerifyFinal = fault_C_VerifyFinal,
    .C_VerifyRecoverInit = fault_C_VerifyRecoverInit,
    .C_VerifyRecover = fault_C_VerifyRecover,
    .C_DigestEncryptUpdate = fault_C_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = fault_C_DecryptDigestUpdate,
    .C_SignEncryptUpdate = fault_C_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = fault_C_DecryptVerifyUpdate,
    .C_GenerateKey = fault_C_GenerateKey,
    .C_GenerateKeyPair = fault_C_GenerateKeyPair,
    .C_WrapKey = fault_C_WrapKey,
    .C_UnwrapKey = fault_C_UnwrapKey,
    .C_DeriveKey = fault_C_DeriveKey,
    .C_SeedRandom = fault_C_SeedRandom,
    .C_GenerateRandom = fault_C_GenerateRandom,
    .C_GetFunctionStatus = fault_C_GetFunctionStatus,
    .C_CancelFunction = fault_C_CancelFunction,
    .C_WaitForSlotEvent = fault_C_WaitForSlotEvent,
};

/* The module's only exported symbol (see fault.map). Works before
 * C_Initialize, as PKCS#11 requires, whatever the configuration says. */
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    CK_RV rv = CKR_ARGUMENTS_BAD;

    hsmca_fault_count_call(FAULT_FN_C_GetFunctionList);
    if (!list)
        goto done;
    *list = &hsmca_fault_function_list;
    rv = CKR_OK;
done:
    if (hsmca_fault_flush_wanted(FAULT_FN_C_GetFunctionList))
        hsmca_fault_counters_flush();
    return rv;
}
