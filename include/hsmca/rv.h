/* SPDX-License-Identifier: Apache-2.0 */
/* The one result type of every hsmca layer above PKCS#11, and the per-thread
 * error detail that says which field, value and rule failed. */
#ifndef HSMCA_RV_H
#define HSMCA_RV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Keep in step with the name table in src/util/rv.c. The HTTP and CLI
 * boundaries translate these through one table each. */
typedef enum {
    HSMCA_OK = 0,
    HSMCA_ERR_NOMEM,          /* allocation failed */
    HSMCA_ERR_INVALID_ARG,    /* caller input broke a rule; detail names it */
    HSMCA_ERR_NOT_FOUND,      /* a referenced object does not exist */
    HSMCA_ERR_EXISTS,         /* a unique name or id is already taken */
    HSMCA_ERR_UNSUPPORTED,    /* a valid request the token or build cannot do */
    HSMCA_ERR_MODULE,         /* the PKCS#11 module could not be loaded */
    HSMCA_ERR_TOKEN_NOT_FOUND,/* no token matches the configured label/serial */
    HSMCA_ERR_PIN_INCORRECT,  /* the token rejected the PIN; never retried */
    HSMCA_ERR_PIN_LOCKED,     /* token reports final-try/locked; no login tried */
    HSMCA_ERR_HSM_UNAVAILABLE,/* token gone or not recovering; try again later */
    HSMCA_ERR_HSM,            /* the token failed the call for another reason */
    HSMCA_ERR_IO,             /* a file could not be read or written */
    HSMCA_ERR_CRYPTO,         /* an OpenSSL operation failed */
    HSMCA_ERR_BAD_SIGNATURE,  /* the token's signature did not verify */
    HSMCA_ERR_TIMEOUT,        /* a bounded wait ran out */
    HSMCA_ERR_INTERNAL        /* a broken invariant: a bug */
} hsmca_rv;

/* Stable identifier such as "HSM_UNAVAILABLE"; never NULL. */
const char *hsmca_rv_name(hsmca_rv rv);

/* Records a detail message for the calling thread and returns rv, so a failure
 * site reads `return hsmca_err(HSMCA_ERR_INVALID_ARG, "key_bits %u ...", b);`.
 * Messages must never contain secrets (PINs, key material). */
hsmca_rv hsmca_err(hsmca_rv rv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* For clang-analyzer (clang-tidy) only: it cannot see across files that
 * hsmca_err returns its first argument, and would otherwise follow
 * "return hsmca_err(HSMCA_ERR_..., ...)" as if it could be HSMCA_OK. */
static inline hsmca_rv hsmca_err_analyzer_(hsmca_rv rv, hsmca_rv same)
{
    (void)same;
    return rv;
}
#define hsmca_err(rv, ...) hsmca_err_analyzer_((rv), hsmca_err((rv), __VA_ARGS__))
#endif

/* Prefixes the current detail with more context: "loading key 'x': <old>". */
void hsmca_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last detail, or "" if none. Valid until the next
 * hsmca_err*() call on this thread. */
const char *hsmca_err_message(void);
hsmca_rv hsmca_err_last(void);
void hsmca_err_clear(void);

#ifdef __cplusplus
}
#endif
#endif
