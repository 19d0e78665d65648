/* SPDX-License-Identifier: Apache-2.0 */
/* SIGHUP: the configuration read again and applied where that is safe while
 * serving — the log level, the HTTP limits a request reads when it starts,
 * PKI mounts added to `mounts`, and the policy files (policies.c). What is bound to open resources (the
 * listeners, TLS, the token, the database, the audit log, thread counts)
 * keeps running as it is and is reported as needing a restart, so an
 * operator never believes a change is in force when it is not. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsmca/log.h"
#include "internal.h"

/* A bounded report line: appends stop quietly at the end of the buffer (a
 * cut report is still true as far as it goes). */
typedef struct {
    char *buf;
    size_t size, len;
} report_buf;

__attribute__((format(printf, 2, 3))) static void report_add(report_buf *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->len + 1 >= r->size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(r->buf + r->len, r->size - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len = (size_t)n < r->size - r->len ? r->len + (size_t)n : r->size - 1;
}

static bool same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool has_mount(const daemon_config *c, const char *m)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (strcmp(c->mounts[i], m) == 0)
            return true;
    }
    return false;
}

/* Every setting that only a restart applies, by its configuration name. */
static void fixed_changes(const daemon_config *a, const daemon_config *b, report_buf *r)
{
    bool listen_same = a->n_listen == b->n_listen;

    for (size_t i = 0; listen_same && i < a->n_listen; i++)
        listen_same = strcmp(a->listen[i], b->listen[i]) == 0;
#define FIXED(cond, name)                                                                                    \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            report_add(r, " %s", name);                                                                      \
    } while (0)
    FIXED(listen_same, "listen");
    FIXED(a->tls == b->tls && a->allow_plain_remote == b->allow_plain_remote,
          "tls.disable/allow_plain_remote");
    FIXED(same_str(a->tls_cert_file, b->tls_cert_file), "tls.cert_file");
    FIXED(same_str(a->tls_key, b->tls_key), "tls.key");
    FIXED(same_str(a->tls_client_ca_file, b->tls_client_ca_file), "tls.client_ca_file");
    FIXED(same_str(a->module, b->module), "pkcs11.module");
    FIXED(same_str(a->token_label, b->token_label) && same_str(a->token_serial, b->token_serial),
          "pkcs11.token");
    FIXED(same_str(a->pin_file, b->pin_file) && same_str(a->pin_credential, b->pin_credential), "pkcs11.pin");
    FIXED(a->max_sessions == b->max_sessions, "pkcs11.max_sessions");
    FIXED(same_str(a->db_path, b->db_path) && same_str(a->root_token_file, b->root_token_file), "storage");
    FIXED(same_str(a->audit_path, b->audit_path) && a->audit_no_sync == b->audit_no_sync, "audit");
    FIXED(a->workers == b->workers, "workers");
    FIXED(a->io_threads == b->io_threads, "io_threads");
    FIXED(a->default_ttl == b->default_ttl && a->max_ttl == b->max_ttl, "default_ttl/max_ttl");
#undef FIXED
}

hsmca_rv daemon_reload(const char *config_path, daemon_config *running, const daemon_live *live, char *report,
                       size_t report_size)
{
    char policies[512];
    daemon_config next;
    hsmca_log_level level = HSMCA_LOG_INFO;
    report_buf r = {report, report_size, 0};
    size_t mark;
    unsigned diff;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    memset(&next, 0, sizeof(next));
    report[0] = '\0';
    if ((rv = daemon_config_load(config_path, &next)) != HSMCA_OK)
        goto done;
    if (next.log_level != NULL && !hsmca_log_parse_level(next.log_level, &level)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "log_level '%s' is unknown (err, warning, notice, info, debug)",
                       next.log_level);
        goto done;
    }
    /* Mounts first: the only step that can fail half-way, and a failure
     * must leave the rest of the running configuration untouched. An added
     * mount that was made stays (it is empty and harmless). */
    for (size_t i = 0; i < next.n_mounts; i++) {
        if (has_mount(running, next.mounts[i]))
            continue;
        rv = hsmca_ca_mount_enable(live->ca, next.mounts[i]);
        if (rv != HSMCA_OK && rv != HSMCA_ERR_EXISTS) {
            hsmca_err_prefix("mounts: '%s'", next.mounts[i]);
            goto done;
        }
        report_add(&r, "%smount %s enabled", r.len ? "; " : "", next.mounts[i]);
    }
    for (size_t i = 0; i < running->n_mounts; i++) {
        /* Disabling deletes a mount's issuers, keys and certificates: only
         * an explicit API call may do that, never an edited list. */
        if (!has_mount(&next, running->mounts[i]))
            report_add(&r, "%smount %s left enabled (disable it through sys/mounts)", r.len ? "; " : "",
                       running->mounts[i]);
    }
    /* Policy files: all read and checked before any is written. */
    if ((rv = daemon_policies_sync(&next, live->auth, live->audit, policies, sizeof(policies))) != HSMCA_OK)
        goto done;
    if (policies[0] != '\0')
        report_add(&r, "%s%s", r.len ? "; " : "", policies);
    if (!same_str(running->log_level, next.log_level)) {
        report_add(&r, "%slog_level %s -> %s", r.len ? "; " : "",
                   running->log_level ? running->log_level : "info",
                   next.log_level ? next.log_level : "info");
        hsmca_log_set_level(level);
    }
    diff = hsmca_http_server_update_limits(live->srv, &next.limits);
    for (unsigned bit = 1; bit <= HSMCA_HTTP_LIMITS_LIVE; bit <<= 1) {
        if (diff & bit)
            report_add(&r, "%s%s changed", r.len ? "; " : "", hsmca_http_limit_name(bit));
    }
    if (r.len == 0)
        report_add(&r, "nothing to change");
    mark = r.len;
    report_add(&r, "; needs a restart to apply:");
    {
        size_t before = r.len;
        for (unsigned bit = HSMCA_HTTP_LIMITS_LIVE + 1; bit <= HSMCA_HTTP_LIMIT_IDLE_TIMEOUT; bit <<= 1) {
            if (diff & bit)
                report_add(&r, " %s", hsmca_http_limit_name(bit));
        }
        fixed_changes(running, &next, &r);
        if (r.len == before) { /* nothing pending: drop the heading */
            r.len = mark;
            report[mark] = '\0';
        }
    }
    /* The running configuration now describes what is in force: the live
     * settings from the file, the fixed ones as they were started. */
    running->limits = next.limits;
    {
        char *t = running->log_level;
        running->log_level = next.log_level;
        next.log_level = t;
    }
    for (size_t i = 0; i < DAEMON_POLICIES_MAX; i++) { /* the policy list as now in force */
        char *tn = running->policy_names[i], *tf = running->policy_files[i];
        running->policy_names[i] = next.policy_names[i];
        running->policy_files[i] = next.policy_files[i];
        next.policy_names[i] = tn;
        next.policy_files[i] = tf;
    }
    {
        size_t tn = running->n_policies;
        running->n_policies = next.n_policies;
        next.n_policies = tn;
    }
    for (size_t i = 0; i < next.n_mounts && running->n_mounts < DAEMON_MOUNTS_MAX; i++) {
        if (!has_mount(running, next.mounts[i])) {
            running->mounts[running->n_mounts++] = next.mounts[i];
            next.mounts[i] = NULL;
        }
    }
    rv = HSMCA_OK;
done:
    /* moved mounts are NULL there, and free(NULL) is a no-op */
    daemon_config_clear(&next);
    return rv;
}
