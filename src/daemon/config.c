/* SPDX-License-Identifier: Apache-2.0 */
/* hsmcad's configuration file: one JSON object (docs/daemon.md lists every
 * key). Unknown keys are refused, not ignored: a misspelt limit silently
 * falling back to its default is how an appliance ends up unprotected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsmca/auth.h"
#include "hsmca/jsonfield.h"
#include "internal.h"

#define CONFIG_FILE_MAX (1024 * 1024)

void daemon_config_clear(daemon_config *c)
{
    for (size_t i = 0; i < c->n_listen; i++)
        free(c->listen[i]);
    for (size_t i = 0; i < c->n_mounts; i++)
        free(c->mounts[i]);
    for (size_t i = 0; i < c->n_policies; i++) {
        free(c->policy_names[i]);
        free(c->policy_files[i]);
    }
    free(c->tls_cert_file);
    free(c->tls_key);
    free(c->tls_client_ca_file);
    free(c->module);
    free(c->token_label);
    free(c->token_serial);
    free(c->pin_file);
    free(c->pin_credential);
    free(c->db_path);
    free(c->audit_path);
    free(c->root_token_file);
    free(c->log_level);
    free(c->dev_state_dir);
    if (c->dev_root_token_id != NULL) {
        OPENSSL_cleanse(c->dev_root_token_id, strlen(c->dev_root_token_id));
        free(c->dev_root_token_id);
    }
    free(c->dev_root_token_file);
    memset(c, 0, sizeof(*c));
}

static hsmca_rv str_field(json_t *obj, const char *key, const char *where, char **out)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    char name[96];
    hsmca_rv rv;

    if (v == NULL)
        return HSMCA_OK;
    snprintf(name, sizeof(name), "%s%s", where, key);
    if ((rv = hsmca_jf_string_ref(v, name, DAEMON_PATH_MAX, &s)) != HSMCA_OK)
        return rv;
    free(*out);
    *out = strdup(s);
    return *out ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

static hsmca_rv uint_field(json_t *obj, const char *key, const char *where, unsigned max, unsigned *out)
{
    json_t *v = json_object_get(obj, key);
    int64_t x;
    char name[96];
    hsmca_rv rv;

    if (v == NULL)
        return HSMCA_OK;
    snprintf(name, sizeof(name), "%s%s", where, key);
    if ((rv = hsmca_jf_int64(v, name, &x)) != HSMCA_OK)
        return rv;
    if (x < 0 || x > (int64_t)max)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: must be 0..%u", name, max);
    *out = (unsigned)x;
    return HSMCA_OK;
}

static hsmca_rv bool_field(json_t *obj, const char *key, const char *where, bool *out)
{
    json_t *v = json_object_get(obj, key);
    char name[96];

    if (v == NULL)
        return HSMCA_OK;
    snprintf(name, sizeof(name), "%s%s", where, key);
    return hsmca_jf_bool(v, name, out);
}

static hsmca_rv duration_field(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    return v != NULL ? hsmca_jf_duration(v, key, out) : HSMCA_OK;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static hsmca_rv only_keys(json_t *obj, const char *where, const char *const *allowed)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: unknown key '%s%s'", where, k);
    }
    return HSMCA_OK;
}

static hsmca_rv section(json_t *root, const char *name, json_t **out)
{
    json_t *v = json_object_get(root, name);

    *out = NULL;
    if (v == NULL)
        return HSMCA_OK;
    if (!json_is_object(v))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: '%s' must be an object", name);
    *out = v;
    return HSMCA_OK;
}

static hsmca_rv string_array(json_t *root, const char *key, char **items, size_t max, size_t *n)
{
    json_t *v = json_object_get(root, key), *e;
    size_t i;

    if (v == NULL)
        return HSMCA_OK;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: '%s' must be an array of 1..%zu strings", key, max);
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: '%s'[%zu] must be a string", key, i);
        items[*n] = strdup(json_string_value(e));
        if (items[*n] == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
        (*n)++;
    }
    return HSMCA_OK;
}

/* "policies": {"name": "file"}: names as OpenBao normalises them. */
static hsmca_rv policies_field(json_t *root, daemon_config *c)
{
    json_t *v = json_object_get(root, "policies"), *f;
    const char *k;
    char norm[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    hsmca_rv rv;

    if (v == NULL)
        return HSMCA_OK;
    if (!json_is_object(v) || json_object_size(v) > DAEMON_POLICIES_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: 'policies' must be an object of at most %d "
                                                "\"name\": \"file\" pairs", DAEMON_POLICIES_MAX);
    json_object_foreach(v, k, f) {
        if ((rv = hsmca_auth_policy_name_normalize(k, norm, sizeof(norm))) != HSMCA_OK) {
            hsmca_err_prefix("configuration: policies.%s", k);
            return rv;
        }
        if (strcmp(norm, "root") == 0)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: policies.root: the root policy is built in");
        if (!json_is_string(f) || json_string_value(f)[0] != '/')
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: policies.%s must be an absolute file path", k);
        c->policy_names[c->n_policies] = strdup(norm);
        c->policy_files[c->n_policies] = strdup(json_string_value(f));
        c->n_policies++;
        if (c->policy_names[c->n_policies - 1] == NULL || c->policy_files[c->n_policies - 1] == NULL)
            return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    return HSMCA_OK;
}

hsmca_rv daemon_config_load(const char *path, daemon_config *c)
{
    static const char *const top[] = {"listen", "tls", "pkcs11", "storage", "audit", "limits", "workers",
                                      "io_threads", "default_ttl", "max_ttl", "mounts", "policies", "log_level",
                                      "crl_check_interval", NULL};
    static const char *const tls_keys[] = {"cert_file", "key", "client_ca_file", "disable", "allow_plain_remote",
                                           NULL};
    static const char *const p11_keys[] = {"module", "token_label", "token_serial", "pin_file", "pin_credential",
                                           "max_sessions", NULL};
    static const char *const st_keys[] = {"path", "root_token_file", NULL};
    static const char *const au_keys[] = {"path", "sync", NULL};
    static const char *const lim_keys[] = {"max_body",       "max_header",     "max_url",
                                           "max_connections", "max_per_client", "idle_timeout",
                                           "request_timeout", NULL};
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *s;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    bool tls_disable = false, audit_sync = true;

    if (root == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration '%s': %s (line %d)", path, err.text, err.line);
    if (!json_is_object(root)) {
        rv = hsmca_err(rv, "configuration '%s': must be a JSON object", path);
        goto done;
    }
    if ((rv = only_keys(root, "", top)) != HSMCA_OK)
        goto done;
    if ((rv = string_array(root, "listen", c->listen, DAEMON_LISTEN_MAX, &c->n_listen)) != HSMCA_OK ||
        (rv = string_array(root, "mounts", c->mounts, DAEMON_MOUNTS_MAX, &c->n_mounts)) != HSMCA_OK ||
        (rv = policies_field(root, c)) != HSMCA_OK ||
        (rv = str_field(root, "log_level", "", &c->log_level)) != HSMCA_OK ||
        (rv = uint_field(root, "workers", "", 4096, &c->workers)) != HSMCA_OK ||
        (rv = uint_field(root, "io_threads", "", 256, &c->io_threads)) != HSMCA_OK ||
        (rv = duration_field(root, "default_ttl", &c->default_ttl)) != HSMCA_OK ||
        (rv = duration_field(root, "max_ttl", &c->max_ttl)) != HSMCA_OK ||
        (rv = duration_field(root, "crl_check_interval", &c->crl_check_interval)) != HSMCA_OK)
        goto done;
    if ((rv = section(root, "tls", &s)) != HSMCA_OK)
        goto done;
    if (s != NULL && ((rv = only_keys(s, "tls.", tls_keys)) != HSMCA_OK ||
                      (rv = str_field(s, "cert_file", "tls.", &c->tls_cert_file)) != HSMCA_OK ||
                      (rv = str_field(s, "key", "tls.", &c->tls_key)) != HSMCA_OK ||
                      (rv = str_field(s, "client_ca_file", "tls.", &c->tls_client_ca_file)) != HSMCA_OK ||
                      (rv = bool_field(s, "disable", "tls.", &tls_disable)) != HSMCA_OK ||
                      (rv = bool_field(s, "allow_plain_remote", "tls.", &c->allow_plain_remote)) != HSMCA_OK))
        goto done;
    c->tls = !tls_disable;
    if ((rv = section(root, "pkcs11", &s)) != HSMCA_OK)
        goto done;
    if (s == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: 'pkcs11' (module, token, PIN source) is required");
        goto done;
    }
    if ((rv = only_keys(s, "pkcs11.", p11_keys)) != HSMCA_OK ||
        (rv = str_field(s, "module", "pkcs11.", &c->module)) != HSMCA_OK ||
        (rv = str_field(s, "token_label", "pkcs11.", &c->token_label)) != HSMCA_OK ||
        (rv = str_field(s, "token_serial", "pkcs11.", &c->token_serial)) != HSMCA_OK ||
        (rv = str_field(s, "pin_file", "pkcs11.", &c->pin_file)) != HSMCA_OK ||
        (rv = str_field(s, "pin_credential", "pkcs11.", &c->pin_credential)) != HSMCA_OK ||
        (rv = uint_field(s, "max_sessions", "pkcs11.", 256, &c->max_sessions)) != HSMCA_OK)
        goto done;
    if (json_object_get(s, "pin") != NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: a PIN is never written in the configuration; use "
                                              "pkcs11.pin_file or pkcs11.pin_credential");
        goto done;
    }
    if ((rv = section(root, "storage", &s)) != HSMCA_OK)
        goto done;
    if (s != NULL && ((rv = only_keys(s, "storage.", st_keys)) != HSMCA_OK ||
                      (rv = str_field(s, "path", "storage.", &c->db_path)) != HSMCA_OK ||
                      (rv = str_field(s, "root_token_file", "storage.", &c->root_token_file)) != HSMCA_OK))
        goto done;
    if ((rv = section(root, "audit", &s)) != HSMCA_OK)
        goto done;
    if (s != NULL && ((rv = only_keys(s, "audit.", au_keys)) != HSMCA_OK ||
                      (rv = str_field(s, "path", "audit.", &c->audit_path)) != HSMCA_OK ||
                      (rv = bool_field(s, "sync", "audit.", &audit_sync)) != HSMCA_OK))
        goto done;
    c->audit_no_sync = !audit_sync;
    if ((rv = section(root, "limits", &s)) != HSMCA_OK)
        goto done;
    if (s != NULL) {
        unsigned body = 0, hdr = 0, url = 0;
        if ((rv = only_keys(s, "limits.", lim_keys)) != HSMCA_OK ||
            (rv = uint_field(s, "max_body", "limits.", 64u * 1024 * 1024, &body)) != HSMCA_OK ||
            (rv = uint_field(s, "max_header", "limits.", 1024 * 1024, &hdr)) != HSMCA_OK ||
            (rv = uint_field(s, "max_url", "limits.", 64 * 1024, &url)) != HSMCA_OK ||
            (rv = uint_field(s, "max_connections", "limits.", 100000, &c->limits.max_connections)) != HSMCA_OK ||
            (rv = uint_field(s, "max_per_client", "limits.", 100000, &c->limits.max_per_client)) != HSMCA_OK ||
            (rv = uint_field(s, "idle_timeout", "limits.", 3600, &c->limits.idle_timeout_s)) != HSMCA_OK ||
            (rv = uint_field(s, "request_timeout", "limits.", 3600, &c->limits.request_timeout_s)) != HSMCA_OK)
            goto done;
        c->limits.max_body = body;
        c->limits.max_header = hdr;
        c->limits.max_url = url;
    }
    if (c->module == NULL || (c->token_label == NULL && c->token_serial == NULL) ||
        (c->pin_file == NULL) == (c->pin_credential == NULL)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: pkcs11 needs module, token_label or token_serial, and "
                                              "exactly one of pin_file and pin_credential");
        goto done;
    }
    if (c->db_path == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: storage.path (the SQLite database) is required");
        goto done;
    }
    if (c->audit_path == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: audit.path is required (every state change is "
                                              "audited)");
        goto done;
    }
    if (c->tls && (c->tls_cert_file == NULL || c->tls_key == NULL)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "configuration: tls.cert_file and tls.key are required unless "
                                              "tls.disable is true");
        goto done;
    }
    rv = HSMCA_OK;
done:
    json_decref(root);
    return rv;
}
