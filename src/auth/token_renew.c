/* SPDX-License-Identifier: Apache-2.0 */
/* auth/token/renew*: a new lease for a token, within its explicit max TTL,
 * the system max TTL and its parent's lifetime. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void add_warning(hsmca_rv *rv, hsmca_strlist *warnings, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends a warning unless an earlier step already failed (*rv). */
static void add_warning(hsmca_rv *rv, hsmca_strlist *warnings, const char *fmt, ...)
{
    char w[256];
    va_list ap;

    if (*rv != HSMCA_OK || warnings == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(w, sizeof(w), fmt, ap);
    va_end(ap);
    *rv = hsmca_strlist_add(warnings, w, strlen(w));
}

/* The new lease length, as OpenBao's CalculateTTL computes it: periodic
 * tokens get their period; others the increment asked for, or their
 * creation TTL; never past creation + min(system max, explicit max), which
 * for periodic tokens only the explicit max bounds. */
static hsmca_rv lease_ttl(hsmca_auth *a, const hsmca_auth_token *t, int64_t increment, int64_t now, int64_t *out,
                          hsmca_strlist *warnings)
{
    int64_t max_ttl = a->max_ttl, ttl, max_valid = 0;
    hsmca_rv rv = HSMCA_OK;

    if (t->explicit_max_ttl > 0 && t->explicit_max_ttl < max_ttl)
        max_ttl = t->explicit_max_ttl;
    if (t->period > 0) {
        ttl = t->period;
        if (ttl > max_ttl) {
            add_warning(&rv, warnings, "period of %lld seconds exceeded the effective max TTL of %lld seconds; capped",
                        (long long)ttl, (long long)max_ttl);
            ttl = max_ttl;
        }
        if (t->explicit_max_ttl > 0)
            max_valid = t->creation_time + t->explicit_max_ttl;
    } else {
        ttl = increment > 0 ? increment : (t->creation_ttl > 0 ? t->creation_ttl : a->default_ttl);
        max_valid = t->creation_time + max_ttl;
    }
    if (max_valid != 0) {
        int64_t left = max_valid - now;

        if (left <= 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "past the max TTL, cannot renew");
        if (ttl > left) {
            add_warning(&rv, warnings, "TTL of %lld seconds exceeded the effective max TTL; capped to %lld seconds",
                        (long long)ttl, (long long)left);
            ttl = left;
        }
    }
    *out = ttl;
    return rv;
}

hsmca_rv hsmca_auth_token_renew(hsmca_auth *a, const char *accessor, int64_t increment, hsmca_auth_token *out,
                                hsmca_strlist *warnings)
{
    auth_token_doc d, parent;
    hsmca_store_batch *b = NULL;
    char *body = NULL;
    int64_t now, ttl = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL, HSMCA_ERR_INVALID_ARG);
    memset(&d, 0, sizeof(d));
    memset(&parent, 0, sizeof(parent));
    if (increment < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "increment: cannot be negative");
    pthread_mutex_lock(&a->token_lock);
    now = hsmca_auth_now(a);
    rv = auth_token_read_accessor(a, accessor, &d);
    if (rv == HSMCA_OK)
        rv = auth_token_chain_alive(a, &d, now);
    if (rv == HSMCA_ERR_NOT_FOUND) {
        rv = hsmca_err(HSMCA_ERR_NOT_FOUND, "invalid accessor or token");
        goto done;
    }
    if (rv != HSMCA_OK)
        goto done;
    /* Tokens that never expire have nothing to renew (OpenBao does not
     * even call them renewable). */
    if (d.t.expire_time == 0 || !d.t.renewable) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "token (accessor %s) is not renewable", d.t.accessor);
        goto done;
    }
    if ((rv = lease_ttl(a, &d.t, increment, now, &ttl, warnings)) != HSMCA_OK)
        goto done;
    /* A child never outlives its parent: OpenBao revokes it with the parent. */
    if (d.t.parent_accessor[0] != '\0') {
        if ((rv = auth_token_read_accessor(a, d.t.parent_accessor, &parent)) != HSMCA_OK)
            goto done;
        if (parent.t.expire_time != 0 && ttl > parent.t.expire_time - now) {
            add_warning(&rv, warnings, "TTL of %lld seconds exceeded the parent token's remaining lifetime; capped "
                                       "to %lld seconds",
                        (long long)ttl, (long long)(parent.t.expire_time - now));
            ttl = parent.t.expire_time - now;
        }
        if (rv != HSMCA_OK)
            goto done;
    }
    d.t.lease_ttl = ttl;
    d.t.ttl = ttl;
    d.t.expire_time = now + ttl;
    d.t.last_renewal_time = now;
    if ((rv = auth_token_to_body(&d.t, &body)) != HSMCA_OK)
        goto done;
    b = hsmca_store_batch_new(a->store);
    if (b != NULL)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_UPDATE, HSMCA_AUTH_MOUNT, HSMCA_DOC_TOKEN, d.hash, d.t.accessor, body,
                                  NULL, 0);
    rv = auth_commit(b);
    if (rv != HSMCA_OK) {
        rv = auth_store_fail(rv, "renewing", d.t.accessor);
        goto done;
    }
    if (out != NULL) {
        hsmca_auth_token_clear(out);
        *out = d.t;
        memset(&d.t, 0, sizeof(d.t));
    }
done:
    pthread_mutex_unlock(&a->token_lock);
    auth_token_doc_clear(&d);
    auth_token_doc_clear(&parent);
    free(body);
    return rv;
}
