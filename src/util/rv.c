/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca_rv names and the per-thread error detail buffer. */
#include "hsmca/rv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_DETAIL_MAX 512

static _Thread_local char err_detail[ERR_DETAIL_MAX];
static _Thread_local hsmca_rv err_last = HSMCA_OK;

const char *hsmca_rv_name(hsmca_rv rv)
{
    static const char *const names[] = {
        [HSMCA_OK] = "OK",
        [HSMCA_ERR_NOMEM] = "NOMEM",
        [HSMCA_ERR_INVALID_ARG] = "INVALID_ARGUMENT",
        [HSMCA_ERR_NOT_FOUND] = "NOT_FOUND",
        [HSMCA_ERR_EXISTS] = "EXISTS",
        [HSMCA_ERR_UNSUPPORTED] = "UNSUPPORTED",
        [HSMCA_ERR_MODULE] = "MODULE",
        [HSMCA_ERR_TOKEN_NOT_FOUND] = "TOKEN_NOT_FOUND",
        [HSMCA_ERR_PIN_INCORRECT] = "PIN_INCORRECT",
        [HSMCA_ERR_PIN_LOCKED] = "PIN_LOCKED",
        [HSMCA_ERR_HSM_UNAVAILABLE] = "HSM_UNAVAILABLE",
        [HSMCA_ERR_HSM] = "HSM",
        [HSMCA_ERR_IO] = "IO",
        [HSMCA_ERR_CRYPTO] = "CRYPTO",
        [HSMCA_ERR_BAD_SIGNATURE] = "BAD_SIGNATURE",
        [HSMCA_ERR_TIMEOUT] = "TIMEOUT",
        [HSMCA_ERR_INTERNAL] = "INTERNAL",
    };
    if ((size_t)rv >= sizeof(names) / sizeof(names[0]) || names[rv] == NULL)
        return "UNKNOWN";
    return names[rv];
}

#undef hsmca_err /* rv.h's analyzer-only macro: this is the function itself */
hsmca_rv hsmca_err(hsmca_rv rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
    va_end(ap);
    err_last = rv;
    return rv;
}

void hsmca_err_prefix(const char *fmt, ...)
{
    char prefix[ERR_DETAIL_MAX];
    char old[ERR_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_detail, sizeof(old));
    /* Truncation is acceptable: the detail is bounded by design. */
    {
        size_t plen = strnlen(prefix, sizeof(err_detail) - 3);
        memcpy(err_detail, prefix, plen);
        memcpy(err_detail + plen, ": ", 2);
        size_t room = sizeof(err_detail) - plen - 3;
        size_t olen = strnlen(old, room);
        memcpy(err_detail + plen + 2, old, olen);
        err_detail[plen + 2 + olen] = '\0';
    }
}

const char *hsmca_err_message(void)
{
    return err_detail;
}

hsmca_rv hsmca_err_last(void)
{
    return err_last;
}

void hsmca_err_clear(void)
{
    err_detail[0] = '\0';
    err_last = HSMCA_OK;
}
