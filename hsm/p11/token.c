/* SPDX-License-Identifier: Apache-2.0 */
/* Opening a token: slot selection by label or serial, the one-login PIN
 * policy, the process registry of open tokens, health and random bytes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmca/log.h"
#include "internal.h"

#define DEFAULT_MAX_SESSIONS 8
#define MAX_SESSIONS_LIMIT 256
#define DEFAULT_ACQUIRE_TIMEOUT_MS 5000
#define MAX_SLOTS 256

static hsmca_p11_token *tokens; /* under p11_registry_lock */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

/* ---- fork handling ---- */

static void fork_prepare(void)
{
    /* Lock order everywhere: registry, token setup, pool. Holding them
     * across fork() keeps the pools consistent in the child. */
    p11_modules_prefork();
    for (hsmca_p11_token *t = tokens; t != NULL; t = t->next) {
        pthread_mutex_lock(&t->setup_lock);
        pthread_mutex_lock(&t->lock);
    }
}

static void fork_parent(void)
{
    for (hsmca_p11_token *t = tokens; t != NULL; t = t->next) {
        pthread_mutex_unlock(&t->lock);
        pthread_mutex_unlock(&t->setup_lock);
    }
    p11_modules_postfork_parent();
}

static void fork_child(void)
{
    for (hsmca_p11_token *t = tokens; t != NULL; t = t->next) {
        /* No thread of the parent exists here: the locks it held and the
         * waiters it recorded are gone, so they start afresh. The pool
         * itself is forgotten when the module is re-initialised on first
         * use. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&t->cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_unlock(&t->lock);
        pthread_mutex_unlock(&t->setup_lock);
    }
    p11_modules_postfork_child();
}

static void global_init_once(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void hsmca_p11_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

/* ---- helpers ---- */

/* CK_TOKEN_INFO strings are blank-padded and not NUL-terminated. */
static void copy_padded(char *dst, size_t dst_size, const CK_UTF8CHAR *src, size_t src_len)
{
    size_t n = src_len;

    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    if (n >= dst_size)
        n = dst_size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void p11_token_record_error(hsmca_p11_token *tok, hsmca_rv rv, const char *msg)
{
    pthread_mutex_lock(&tok->err_lock);
    tok->last_error = rv;
    snprintf(tok->last_error_msg, sizeof(tok->last_error_msg), "%s", msg ? msg : "");
    tok->last_error_time = (int64_t)time(NULL);
    pthread_mutex_unlock(&tok->err_lock);
}

/* Finds the slot holding the configured token. crv_out is set to a
 * device-level value only when a token we were using has disappeared, so the
 * caller escalates; a token never found is a configuration error. */
static hsmca_rv locate_slot(hsmca_p11_token *tok, CK_RV *crv_out)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    char seen[512] = "";
    size_t seen_len = 0;
    int matches = 0;
    CK_TOKEN_INFO info, chosen;
    CK_SLOT_ID chosen_slot = 0;
    CK_RV crv;

    crv = p11_C_GetSlotList(tok->mod, CK_TRUE, slots, &n);
    if (crv == CKR_BUFFER_TOO_SMALL)
        return hsmca_err(HSMCA_ERR_UNSUPPORTED, "PKCS#11 module '%s' has more than %d slots",
                         tok->mod->path, MAX_SLOTS);
    if (crv != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetSlotList", "listing slots");
    }
    for (CK_ULONG i = 0; i < n; i++) {
        char label[33], serial[17];
        crv = p11_C_GetTokenInfo(tok->mod, slots[i], &info);
        if (crv != CKR_OK)
            continue;
        copy_padded(label, sizeof(label), info.label, sizeof(info.label));
        copy_padded(serial, sizeof(serial), info.serialNumber, sizeof(info.serialNumber));
        if (seen_len < sizeof(seen) - 1) {
            int w = snprintf(seen + seen_len, sizeof(seen) - seen_len, "%s'%s' (serial %s)",
                             seen_len ? ", " : "", label, serial);
            if (w > 0)
                seen_len += (size_t)w;
            if (seen_len >= sizeof(seen))
                seen_len = sizeof(seen) - 1;
        }
        if (tok->sel_label != NULL && strcmp(label, tok->sel_label) != 0)
            continue;
        if (tok->sel_serial != NULL && strcmp(serial, tok->sel_serial) != 0)
            continue;
        matches++;
        chosen = info;
        chosen_slot = slots[i];
    }
    if (matches == 0) {
        if (tok->logged_once) {
            *crv_out = CKR_TOKEN_NOT_PRESENT;
            return hsmca_err(HSMCA_ERR_HSM_UNAVAILABLE,
                             "HSM unavailable: token '%s' (serial %s) is not present in module '%s'",
                             tok->label, tok->serial, tok->mod->path);
        }
        return hsmca_err(HSMCA_ERR_TOKEN_NOT_FOUND,
                         "no token with %s%s%s%s%s in PKCS#11 module '%s'; tokens present: %s",
                         tok->sel_label ? "label '" : "", tok->sel_label ? tok->sel_label : "",
                         tok->sel_label ? "'" : "",
                         tok->sel_serial ? (tok->sel_label ? " and serial " : "serial ") : "",
                         tok->sel_serial ? tok->sel_serial : "", tok->mod->path,
                         seen_len ? seen : "none");
    }
    if (matches > 1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "%d tokens match label '%s' in module '%s'; select the token by serial "
                         "(tokens present: %s)",
                         matches, tok->sel_label ? tok->sel_label : "", tok->mod->path, seen);
    copy_padded(tok->label, sizeof(tok->label), chosen.label, sizeof(chosen.label));
    copy_padded(tok->serial, sizeof(tok->serial), chosen.serialNumber, sizeof(chosen.serialNumber));
    copy_padded(tok->manufacturer, sizeof(tok->manufacturer), chosen.manufacturerID,
                sizeof(chosen.manufacturerID));
    copy_padded(tok->model, sizeof(tok->model), chosen.model, sizeof(chosen.model));
    tok->slot = chosen_slot;
    tok->slot_valid = true;
    return HSMCA_OK;
}

/* C_Login under setup_lock: at most one attempt per token object with a PIN
 * the token has not accepted, none while the token warns that one more wrong
 * PIN would lock it (no lockout caused by us). */
static hsmca_rv login_locked(hsmca_p11_token *tok, CK_SESSION_HANDLE h, unsigned long epoch,
                             CK_RV *crv_out)
{
    CK_TOKEN_INFO info;
    const unsigned char *pin;
    size_t pin_len;
    CK_RV crv;

    if (tok->pin == PIN_REJECTED)
        return hsmca_err(HSMCA_ERR_PIN_INCORRECT,
                         "token '%s' rejected the PIN from %s; not retrying (fix the PIN and reload "
                         "the configuration)", tok->label, tok->pin_origin);
    if (tok->pin == PIN_LOCKED)
        return hsmca_err(HSMCA_ERR_PIN_LOCKED,
                         "token '%s' reports its user PIN locked or on its final try; hsmca does not "
                         "log in (unlock or reset the PIN with the security officer)", tok->label);
    /* Ask the session rather than trusting our own bookkeeping: a device
     * that went away and came back has logged us out even when this epoch
     * already saw a login (found by the removal-window fault test). */
    {
        CK_SESSION_INFO si;
        crv = p11_C_GetSessionInfo(tok->mod, h, &si);
        if (crv != CKR_OK) {
            *crv_out = crv;
            return p11_fail(crv, "C_GetSessionInfo", "checking the login state");
        }
        if (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS) {
            tok->login_epoch = epoch;
            tok->logged_once = true;
            return HSMCA_OK;
        }
    }

    crv = p11_C_GetTokenInfo(tok->mod, tok->slot, &info);
    if (crv != CKR_OK) {
        *crv_out = crv;
        return p11_fail(crv, "C_GetTokenInfo", "checking the PIN state before login");
    }
    if (info.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY)) {
        tok->pin = PIN_LOCKED;
        return hsmca_err(HSMCA_ERR_PIN_LOCKED,
                         "token '%s' reports its user PIN %s; hsmca does not log in (unlock or reset "
                         "the PIN with the security officer)", tok->label,
                         (info.flags & CKF_USER_PIN_LOCKED) ? "locked"
                                                            : "on its final try before locking");
    }
    if (!(info.flags & CKF_LOGIN_REQUIRED)) {
        tok->login_epoch = epoch;
        tok->logged_once = true;
        return HSMCA_OK;
    }
    if (tok->pin_secret == NULL)
        return hsmca_err(HSMCA_ERR_PIN_INCORRECT, "token '%s' needs a PIN and none is configured",
                         tok->label);
    pin = hsmca_pin_data(tok->pin_secret, &pin_len);
    crv = p11_C_Login(tok->mod, h, pin, pin_len);
    if (crv == CKR_OK || crv == CKR_USER_ALREADY_LOGGED_IN) {
        tok->pin = PIN_ACCEPTED;
        tok->login_epoch = epoch;
        tok->logged_once = true;
        return HSMCA_OK;
    }
    if (crv == CKR_PIN_INCORRECT || crv == CKR_PIN_INVALID || crv == CKR_PIN_LEN_RANGE) {
        tok->pin = PIN_REJECTED;
        /* The rejected PIN is dropped at once: nothing can present it again. */
        hsmca_pin_free(tok->pin_secret);
        tok->pin_secret = NULL;
        hsmca_log(HSMCA_LOG_ERR, "token '%s' rejected the PIN from %s (%s); not retrying",
                  tok->label, tok->pin_origin, p11_ckr_name(crv));
        return hsmca_err(HSMCA_ERR_PIN_INCORRECT,
                         "token '%s' rejected the PIN from %s (%s); not retrying (fix the PIN and "
                         "reload the configuration)", tok->label, tok->pin_origin, p11_ckr_name(crv));
    }
    if (crv == CKR_PIN_LOCKED || crv == CKR_PIN_EXPIRED) {
        tok->pin = PIN_LOCKED;
        return hsmca_err(HSMCA_ERR_PIN_LOCKED, "token '%s': C_Login failed: %s", tok->label,
                         p11_ckr_name(crv));
    }
    *crv_out = crv;
    return p11_fail(crv, "C_Login", "logging in");
}

hsmca_rv p11_token_open_session(hsmca_p11_token *tok, unsigned long epoch,
                                CK_SESSION_HANDLE *h, CK_RV *crv_out)
{
    hsmca_rv rv;
    CK_RV crv;

    *crv_out = CKR_OK;
    pthread_mutex_lock(&tok->setup_lock);
    if (!tok->slot_valid) {
        rv = locate_slot(tok, crv_out);
        if (rv != HSMCA_OK)
            goto done;
    }
    crv = p11_C_OpenSession(tok->mod, tok->slot, h);
    if (crv != CKR_OK) {
        *crv_out = crv;
        if (p11_ckr_device_level(crv))
            tok->slot_valid = false;
        rv = p11_fail(crv, "C_OpenSession", "opening a session");
        goto done;
    }
    rv = login_locked(tok, *h, epoch, crv_out);
    if (rv != HSMCA_OK) {
        p11_C_CloseSession(tok->mod, *h);
        *h = CK_INVALID_HANDLE;
    }
done:
    pthread_mutex_unlock(&tok->setup_lock);
    return rv;
}

bool p11_token_has_mech(hsmca_p11_token *tok, p11_session *s, CK_MECHANISM_TYPE mech)
{
    bool found = false;

    pthread_mutex_lock(&tok->setup_lock);
    if (tok->mechs == NULL || tok->mechs_gen != s->gen) {
        CK_ULONG n = 0;
        free(tok->mechs);
        tok->mechs = NULL;
        tok->n_mechs = 0;
        if (p11_C_GetMechanismList(tok->mod, tok->slot, NULL, &n) == CKR_OK && n > 0 && n < 4096) {
            tok->mechs = calloc(n, sizeof(*tok->mechs));
            if (tok->mechs != NULL &&
                p11_C_GetMechanismList(tok->mod, tok->slot, tok->mechs, &n) == CKR_OK) {
                tok->n_mechs = n;
                tok->mechs_gen = s->gen;
            }
        }
    }
    for (CK_ULONG i = 0; i < tok->n_mechs; i++) {
        if (tok->mechs[i] == mech) {
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&tok->setup_lock);
    return found;
}

/* ---- lifecycle ---- */

static void token_destroy(hsmca_p11_token *tok)
{
    if (tok == NULL)
        return;
    if (tok->mod != NULL && tok->mod->init_pid == getpid() &&
        tok->mod_gen == atomic_load(&tok->mod->generation) &&
        p11_module_enter(tok->mod) == HSMCA_OK) {
        for (unsigned i = 0; i < tok->n_idle; i++)
            p11_C_CloseSession(tok->mod, tok->idle[i]);
        p11_module_leave(tok->mod);
    }
    hsmca_pin_free(tok->pin_secret);
    free(tok->idle);
    free(tok->mechs);
    free(tok->sel_label);
    free(tok->sel_serial);
    pthread_mutex_destroy(&tok->setup_lock);
    pthread_mutex_destroy(&tok->lock);
    pthread_mutex_destroy(&tok->err_lock);
    pthread_cond_destroy(&tok->cond);
    p11_module_release(tok->mod);
    free(tok);
}

hsmca_rv hsmca_p11_token_open(const hsmca_p11_config *cfg, hsmca_p11_token **out)
{
    hsmca_rv rv = HSMCA_ERR_NOMEM;
    hsmca_p11_token *tok = NULL;
    pthread_condattr_t ca;
    p11_session s;

    hsmca_return_val_if_fail(cfg != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    *out = NULL;
    hsmca_p11_global_init();
    if ((cfg->token_label == NULL || cfg->token_label[0] == '\0') &&
        (cfg->token_serial == NULL || cfg->token_serial[0] == '\0'))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "token_label or token_serial must name the token");
    if (cfg->token_label != NULL && strlen(cfg->token_label) > 32)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "token_label '%s' is longer than the 32 bytes PKCS#11 allows", cfg->token_label);
    if (cfg->token_serial != NULL && strlen(cfg->token_serial) > 16)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "token_serial '%s' is longer than the 16 bytes PKCS#11 allows", cfg->token_serial);
    if (cfg->max_sessions > MAX_SESSIONS_LIMIT)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "max_sessions %u is above the limit of %d",
                         cfg->max_sessions, MAX_SESSIONS_LIMIT);

    tok = calloc(1, sizeof(*tok));
    if (tok == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory opening token");
    atomic_init(&tok->refs, 1);
    pthread_mutex_init(&tok->setup_lock, NULL);
    pthread_mutex_init(&tok->lock, NULL);
    pthread_mutex_init(&tok->err_lock, NULL);
    /* The pool's deadlines use CLOCK_MONOTONIC: wall-clock steps must not
     * stretch or cut a wait. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tok->cond, &ca);
    pthread_condattr_destroy(&ca);
    tok->max = cfg->max_sessions ? cfg->max_sessions : DEFAULT_MAX_SESSIONS;
    tok->timeout_ms = cfg->acquire_timeout_ms ? cfg->acquire_timeout_ms : DEFAULT_ACQUIRE_TIMEOUT_MS;
    tok->verify = cfg->verify;
    tok->idle = calloc(tok->max, sizeof(*tok->idle));
    if (tok->idle == NULL)
        goto done;
    if (cfg->token_label != NULL && cfg->token_label[0] != '\0' &&
        (tok->sel_label = strdup(cfg->token_label)) == NULL)
        goto done;
    if (cfg->token_serial != NULL && cfg->token_serial[0] != '\0' &&
        (tok->sel_serial = strdup(cfg->token_serial)) == NULL)
        goto done;
    snprintf(tok->label, sizeof(tok->label), "%s", tok->sel_label ? tok->sel_label : "");

    /* The PIN source is checked before the module is touched: a bad path
     * is a configuration error that must not cost a login attempt. */
    if (cfg->pin_value != NULL) {
        snprintf(tok->pin_origin, sizeof(tok->pin_origin), "the PIN prompt");
        rv = hsmca_pin_dup(cfg->pin_value, &tok->pin_secret);
    } else {
        rv = hsmca_pin_load(&cfg->pin, &tok->pin_secret, tok->pin_origin, sizeof(tok->pin_origin));
    }
    if (rv != HSMCA_OK)
        goto done;
    rv = p11_module_acquire(cfg->module_path, &tok->mod);
    if (rv != HSMCA_OK)
        goto done;
    tok->mod_gen = atomic_load(&tok->mod->generation);

    /* The first session proves the token is there and logs in: a wrong PIN,
     * an unknown label or a locked token is reported at configuration load. */
    rv = p11_session_get(tok, &s);
    if (rv != HSMCA_OK)
        goto done;
    p11_session_put(tok, &s, P11_PUT_OK);
    hsmca_log(HSMCA_LOG_INFO, "token '%s' (serial %s, %s %s) opened through '%s', %u sessions max",
              tok->label, tok->serial, tok->manufacturer, tok->model, tok->mod->path, tok->max);

    p11_registry_lock();
    tok->next = tokens;
    tokens = tok;
    p11_registry_unlock();
    *out = tok;
    tok = NULL;
    rv = HSMCA_OK;
done:
    if (rv == HSMCA_ERR_NOMEM && hsmca_err_last() != HSMCA_ERR_NOMEM)
        hsmca_err(HSMCA_ERR_NOMEM, "out of memory opening token");
    token_destroy(tok);
    return rv;
}

void hsmca_p11_token_up_ref(hsmca_p11_token *tok)
{
    if (tok != NULL)
        atomic_fetch_add(&tok->refs, 1);
}

void hsmca_p11_token_free(hsmca_p11_token *tok)
{
    if (tok == NULL)
        return;
    p11_registry_lock();
    if (atomic_fetch_sub(&tok->refs, 1) != 1) {
        p11_registry_unlock();
        return;
    }
    for (hsmca_p11_token **pp = &tokens; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == tok) {
            *pp = tok->next;
            break;
        }
    }
    p11_registry_unlock();
    token_destroy(tok);
}

hsmca_p11_token *hsmca_p11_token_find_open(const char *module_path, const char *label,
                                           const char *serial, const char *manufacturer,
                                           const char *model)
{
    char real[PATH_MAX];
    hsmca_p11_token *found = NULL;

    if (module_path != NULL && realpath(module_path, real) == NULL)
        return NULL;
    p11_registry_lock();
    for (hsmca_p11_token *t = tokens; t != NULL; t = t->next) {
        if (module_path != NULL && strcmp(t->mod->path, real) != 0)
            continue;
        if (label != NULL && strcmp(t->label, label) != 0)
            continue;
        if (serial != NULL && strcmp(t->serial, serial) != 0)
            continue;
        if (manufacturer != NULL && strcmp(t->manufacturer, manufacturer) != 0)
            continue;
        if (model != NULL && strcmp(t->model, model) != 0)
            continue;
        if (t->pin != PIN_ACCEPTED && !(t->logged_once))
            continue;
        found = t;
        atomic_fetch_add(&t->refs, 1);
        break;
    }
    p11_registry_unlock();
    return found;
}

const char *hsmca_p11_token_label(const hsmca_p11_token *tok) { return tok->label; }
const char *hsmca_p11_token_serial(const hsmca_p11_token *tok) { return tok->serial; }
const char *hsmca_p11_token_manufacturer(const hsmca_p11_token *tok) { return tok->manufacturer; }
const char *hsmca_p11_token_model(const hsmca_p11_token *tok) { return tok->model; }
const char *hsmca_p11_token_module_path(const hsmca_p11_token *tok) { return tok->mod->path; }

hsmca_rv hsmca_p11_token_random(hsmca_p11_token *tok, unsigned char *buf, size_t len)
{
    hsmca_rv rv = HSMCA_ERR_HSM;

    hsmca_return_val_if_fail(tok != NULL && (buf != NULL || len == 0), HSMCA_ERR_INVALID_ARG);
    if (len == 0)
        return HSMCA_OK;
    if (len > 1024 * 1024)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "random request of %zu bytes exceeds 1 MiB", len);
    for (int attempt = 0; attempt < 2; attempt++) {
        p11_session s;
        CK_RV crv;

        rv = p11_session_get(tok, &s);
        if (rv != HSMCA_OK)
            return rv;
        crv = p11_C_GenerateRandom(tok->mod, s.h, buf, len);
        if (crv == CKR_OK) {
            p11_session_put(tok, &s, P11_PUT_OK);
            return HSMCA_OK;
        }
        p11_session_put(tok, &s, p11_ckr_recoverable(crv) ? P11_PUT_RESET : P11_PUT_CLOSE);
        rv = p11_fail(crv, "C_GenerateRandom", "drawing random bytes from the token");
        if (!p11_ckr_recoverable(crv))
            break;
    }
    OPENSSL_cleanse(buf, len);
    p11_token_record_error(tok, rv, hsmca_err_message());
    return rv;
}

hsmca_rv hsmca_p11_token_health(hsmca_p11_token *tok, hsmca_p11_health *out)
{
    CK_TOKEN_INFO info;
    CK_RV crv = CKR_TOKEN_NOT_PRESENT;

    hsmca_return_val_if_fail(tok != NULL && out != NULL, HSMCA_ERR_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if (p11_module_enter(tok->mod) == HSMCA_OK) {
        pthread_mutex_lock(&tok->setup_lock);
        if (tok->slot_valid)
            crv = p11_C_GetTokenInfo(tok->mod, tok->slot, &info);
        pthread_mutex_unlock(&tok->setup_lock);
        p11_module_leave(tok->mod);
    }
    out->present = (crv == CKR_OK);
    pthread_mutex_lock(&tok->lock);
    out->sessions_open = tok->n_open;
    out->sessions_in_use = tok->n_busy;
    out->sessions_max = tok->max;
    out->logged_in = out->present && tok->logged_once && tok->login_epoch == tok->epoch &&
                     tok->n_open > 0;
    pthread_mutex_unlock(&tok->lock);
    out->pin_rejected = (tok->pin == PIN_REJECTED || tok->pin == PIN_LOCKED);
    out->recoveries = atomic_load(&tok->recoveries);
    out->reinits = atomic_load(&tok->mod->reinits);
    out->bad_signatures = atomic_load(&tok->bad_signatures);
    pthread_mutex_lock(&tok->err_lock);
    out->last_error = tok->last_error;
    snprintf(out->last_error_message, sizeof(out->last_error_message), "%s", tok->last_error_msg);
    out->last_error_time = tok->last_error_time;
    pthread_mutex_unlock(&tok->err_lock);
    return HSMCA_OK;
}
