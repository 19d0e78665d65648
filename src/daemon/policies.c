/* SPDX-License-Identifier: Apache-2.0 */
/* ACL policies kept as files beside the configuration ("policies": {"name":
 * "/etc/hsmca/policies/name.json"}), so that an appliance's access rules can
 * live in configuration management: written to the store at start and on
 * SIGHUP when a file's text differs from the stored policy. Each write is
 * audited like the API's sys/policies/acl write — the audit log must show
 * every change to who may do what, whichever door it came through. A policy
 * that is dropped from the list stays stored (deleting rules by omission
 * would be an outage waiting for a typo; sys/policies/acl deletes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/audit.h"
#include "hsmca/auth.h"
#include "hsmca/log.h"
#include "internal.h"

#define POLICY_FILE_MAX (64 * 1024)

/* The whole file, NUL-terminated, at most POLICY_FILE_MAX bytes. */
static hsmca_rv read_policy_file(const char *name, const char *path, char **out)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n;
    hsmca_rv rv = HSMCA_ERR_IO;

    *out = NULL;
    f = fopen(path, "re");
    if (f == NULL) {
        rv = hsmca_err(rv, "policies.%s: cannot read '%s': %s", name, path, strerror(errno));
        goto done;
    }
    buf = malloc(POLICY_FILE_MAX + 1);
    if (buf == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        goto done;
    }
    n = fread(buf, 1, POLICY_FILE_MAX + 1, f);
    if (ferror(f) || n > POLICY_FILE_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policies.%s: '%s' is unreadable or larger than %d bytes", name,
                       path, POLICY_FILE_MAX);
        goto done;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    rv = HSMCA_OK;
done:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rv;
}

static hsmca_rv audit_write(hsmca_audit *audit, const char *name, const char *file, bool before,
                            hsmca_rv result)
{
    hsmca_audit_entry e;
    char path[HSMCA_AUTH_POLICY_NAME_MAX + 32];
    json_t *details = json_pack("{s:s, s:s, s:s}", "phase", before ? "request" : "response", "source",
                                "configuration", "file", file);
    hsmca_rv rv;

    snprintf(path, sizeof(path), "sys/policies/acl/%s", name);
    memset(&e, 0, sizeof(e));
    e.request_id = "hsmcad-configuration";
    e.remote_address = "local";
    e.operation = "update";
    e.mount = "sys/";
    e.path = path;
    e.status = result == HSMCA_OK ? 204 : 500;
    e.outcome = result == HSMCA_OK ? HSMCA_AUDIT_SUCCESS : HSMCA_AUDIT_ERROR;
    e.error = result == HSMCA_OK ? NULL : hsmca_err_message();
    e.details = details;
    rv = hsmca_audit_log(audit, &e);
    json_decref(details);
    return rv;
}

hsmca_rv daemon_policies_sync(const daemon_config *c, hsmca_auth *auth, hsmca_audit *audit, char *report,
                              size_t report_size)
{
    char *text[DAEMON_POLICIES_MAX] = {0};
    size_t used = 0;
    hsmca_rv rv = HSMCA_OK;

    report[0] = '\0';
    /* Every file read and checked before any is written: a broken file
     * changes nothing. */
    for (size_t i = 0; i < c->n_policies && rv == HSMCA_OK; i++) {
        if ((rv = read_policy_file(c->policy_names[i], c->policy_files[i], &text[i])) == HSMCA_OK &&
            (rv = hsmca_auth_policy_check(text[i])) != HSMCA_OK)
            hsmca_err_prefix("policies.%s ('%s')", c->policy_names[i], c->policy_files[i]);
    }
    if (rv != HSMCA_OK)
        goto done;
    for (size_t i = 0; i < c->n_policies; i++) {
        hsmca_auth_policy cur;
        bool same;
        int n;

        memset(&cur, 0, sizeof(cur));
        rv = hsmca_auth_policy_get(auth, c->policy_names[i], &cur);
        if (rv != HSMCA_OK && rv != HSMCA_ERR_NOT_FOUND) {
            hsmca_auth_policy_clear(&cur);
            goto done;
        }
        hsmca_err_clear();
        same = rv == HSMCA_OK && cur.text != NULL && text[i] != NULL && strcmp(cur.text, text[i]) == 0;
        hsmca_auth_policy_clear(&cur);
        if (same)
            continue;
        if ((rv = audit_write(audit, c->policy_names[i], c->policy_files[i], true, HSMCA_OK)) != HSMCA_OK) {
            hsmca_err_prefix("policies.%s: not written, the audit log refused the entry", c->policy_names[i]);
            goto done;
        }
        rv = hsmca_auth_policy_put(auth, c->policy_names[i], text[i], -1);
        /* the outcome is audited even when the write failed */
        if (audit_write(audit, c->policy_names[i], c->policy_files[i], false, rv) != HSMCA_OK &&
            rv == HSMCA_OK)
            hsmca_log(HSMCA_LOG_ERR, "policies.%s written, but its audit response entry failed",
                      c->policy_names[i]);
        if (rv != HSMCA_OK)
            goto done;
        n = snprintf(report + used, report_size - used, "%spolicy %s written", used ? "; " : "",
                     c->policy_names[i]);
        if (n > 0 && (size_t)n < report_size - used)
            used += (size_t)n;
    }
    rv = HSMCA_OK;
done:
    for (size_t i = 0; i < c->n_policies; i++)
        free(text[i]);
    return rv;
}
