/* SPDX-License-Identifier: Apache-2.0 */
/* Token initialisation: a fresh token in a module's free slot, with an SO
 * PIN and a user PIN (PKCS#11 v2.40 C_InitToken, then C_InitPIN as the SO).
 * Used by the daemon's development mode and by `hsmca token init`; a
 * production HSM is initialised with its vendor's tools. */
#include <stdio.h>
#include <string.h>

#include "hsmca/p11.h"
#include "internal.h"

#define SLOTS_MAX HSMCA_P11_SLOTS_MAX

/* The slot whose token is initialised and labelled `label` (blank padded to
 * 32, as C_GetTokenInfo reports it), or the first uninitialised one. */
static hsmca_rv find_slot(p11_module *m, const unsigned char label[32], bool want_free, CK_SLOT_ID *out)
{
    CK_SLOT_ID slots[SLOTS_MAX];
    CK_ULONG n = SLOTS_MAX;
    CK_RV crv = p11_C_GetSlotList(m, CK_TRUE, slots, &n);

    if (crv != CKR_OK)
        return p11_fail(crv, "C_GetSlotList", "listing slots");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (p11_C_GetTokenInfo(m, slots[i], &ti) != CKR_OK)
            continue;
        if (want_free ? !(ti.flags & CKF_TOKEN_INITIALIZED)
                      : (ti.flags & CKF_TOKEN_INITIALIZED) && memcmp(ti.label, label, 32) == 0) {
            *out = slots[i];
            return HSMCA_OK;
        }
    }
    return hsmca_err(HSMCA_ERR_TOKEN_NOT_FOUND, want_free ? "the module has no uninitialised token slot"
                                                          : "the initialised token is not in the slot list");
}

hsmca_rv hsmca_p11_token_init(const char *module_path, const char *label, const hsmca_pin *so_pin,
                              const hsmca_pin *user_pin)
{
    p11_module *m = NULL;
    unsigned char lab[32];
    const unsigned char *so, *up;
    size_t so_len, up_len, ll = label ? strlen(label) : 0;
    CK_SLOT_ID slot = 0;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    bool entered = false, logged_in = false;
    CK_RV crv;
    hsmca_rv rv;

    if (ll == 0 || ll > 32)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "token label must be 1 to 32 bytes");
    memset(lab, ' ', sizeof(lab));
    memcpy(lab, label, ll);
    so = hsmca_pin_data(so_pin, &so_len);
    up = hsmca_pin_data(user_pin, &up_len);
    if ((rv = p11_module_acquire(module_path, &m)) != HSMCA_OK)
        return rv;
    if ((rv = p11_module_enter(m)) != HSMCA_OK)
        goto done;
    entered = true;
    if (find_slot(m, lab, false, &slot) == HSMCA_OK) {
        rv = hsmca_err(HSMCA_ERR_EXISTS, "a token labelled '%s' already exists in this module", label);
        goto done;
    }
    if ((rv = find_slot(m, lab, true, &slot)) != HSMCA_OK)
        goto done;
    crv = p11_C_InitToken(m, slot, so, so_len, lab);
    if (crv != CKR_OK) {
        rv = p11_fail(crv, "C_InitToken", "initialising the token");
        goto done;
    }
    /* SoftHSM2 moves an initialised token to a new slot id: find it again. */
    if ((rv = find_slot(m, lab, false, &slot)) != HSMCA_OK)
        goto done;
    crv = p11_C_OpenSession(m, slot, &s);
    if (crv != CKR_OK) {
        rv = p11_fail(crv, "C_OpenSession", "opening a session on the new token");
        goto done;
    }
    crv = p11_C_LoginAs(m, s, CKU_SO, so, so_len);
    if (crv != CKR_OK) {
        rv = p11_fail(crv, "C_Login", "logging in as the security officer");
        goto done;
    }
    logged_in = true;
    crv = p11_C_InitPIN(m, s, up, up_len);
    if (crv != CKR_OK) {
        rv = p11_fail(crv, "C_InitPIN", "setting the user PIN");
        goto done;
    }
    rv = HSMCA_OK;
done:
    if (logged_in)
        p11_C_Logout(m, s);
    if (s != CK_INVALID_HANDLE)
        p11_C_CloseSession(m, s);
    if (entered)
        p11_module_leave(m);
    p11_module_release(m);
    return rv;
}

/* CK_TOKEN_INFO strings are blank-padded and not NUL-terminated. */
static void unpad(char *dst, size_t dst_size, const CK_UTF8CHAR *src, size_t src_len)
{
    size_t n = src_len;

    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    if (n >= dst_size)
        n = dst_size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

hsmca_rv hsmca_p11_token_list(const char *module_path, hsmca_p11_token_desc *out, size_t max, size_t *n)
{
    p11_module *m = NULL;
    CK_SLOT_ID slots[SLOTS_MAX];
    CK_ULONG ns = SLOTS_MAX;
    bool entered = false;
    CK_RV crv;
    hsmca_rv rv;

    *n = 0;
    if ((rv = p11_module_acquire(module_path, &m)) != HSMCA_OK)
        return rv;
    if ((rv = p11_module_enter(m)) != HSMCA_OK)
        goto done;
    entered = true;
    crv = p11_C_GetSlotList(m, CK_TRUE, slots, &ns);
    if (crv != CKR_OK) {
        rv = p11_fail(crv, "C_GetSlotList", "listing slots");
        goto done;
    }
    for (CK_ULONG i = 0; i < ns && *n < max; i++) {
        CK_TOKEN_INFO ti;
        hsmca_p11_token_desc *d = &out[*n];
        /* A slot whose token vanished between the two calls is skipped. */
        if (p11_C_GetTokenInfo(m, slots[i], &ti) != CKR_OK)
            continue;
        memset(d, 0, sizeof(*d));
        d->slot = slots[i];
        unpad(d->label, sizeof(d->label), ti.label, sizeof(ti.label));
        unpad(d->manufacturer, sizeof(d->manufacturer), ti.manufacturerID, sizeof(ti.manufacturerID));
        unpad(d->model, sizeof(d->model), ti.model, sizeof(ti.model));
        unpad(d->serial, sizeof(d->serial), ti.serialNumber, sizeof(ti.serialNumber));
        d->initialized = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
        d->user_pin_set = (ti.flags & CKF_USER_PIN_INITIALIZED) != 0;
        d->pin_locked = (ti.flags & CKF_USER_PIN_LOCKED) != 0;
        (*n)++;
    }
    rv = HSMCA_OK;
done:
    if (entered)
        p11_module_leave(m);
    p11_module_release(m);
    return rv;
}
