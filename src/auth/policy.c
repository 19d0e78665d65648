/* SPDX-License-Identifier: Apache-2.0 */
/* ACL policy documents: names, the JSON form of OpenBao's policy syntax
 * (path blocks with capabilities, and the old "policy" shorthand), and the
 * built-in default policy. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

/* OpenBao's default policy, reduced to the endpoints hsmca serves: a token
 * may look itself up, renew and revoke itself, and ask what it may do. */
const char auth_default_policy_text[] = "{\n"
                                        "  \"path\": {\n"
                                        "    \"auth/token/lookup-self\": {\"capabilities\": [\"read\"]},\n"
                                        "    \"auth/token/renew-self\": {\"capabilities\": [\"update\"]},\n"
                                        "    \"auth/token/revoke-self\": {\"capabilities\": [\"update\"]},\n"
                                        "    \"sys/capabilities-self\": {\"capabilities\": [\"update\"]}\n"
                                        "  }\n"
                                        "}\n";

hsmca_rv hsmca_auth_policy_name_normalize(const char *in, char *out, size_t size)
{
    const char *a, *b;
    size_t n;

    hsmca_return_val_if_fail(out != NULL && size > 0, HSMCA_ERR_INVALID_ARG);
    out[0] = '\0';
    if (in == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "policy name: missing");
    /* OpenBao trims and lower-cases names before storing or matching them,
     * so "Admin" and "admin " are the same policy. */
    a = in;
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    b = a + strnlen(a, HSMCA_AUTH_POLICY_NAME_MAX + 2);
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r'))
        b--;
    n = (size_t)(b - a);
    if (n == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "policy name: must not be empty");
    if (n > HSMCA_AUTH_POLICY_NAME_MAX || n >= size)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "policy name '%.32s...': longer than %d bytes", a,
                         HSMCA_AUTH_POLICY_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];

        /* '/' would leave the sys/policies/acl/:name route, ',' splits a
         * token's policy list, and control bytes and spaces have no place in
         * a name that appears in URLs, logs and audit entries. */
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',')
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "policy name: byte %zu (0x%02x) is not allowed (printable ASCII without space, "
                             "'/' or ',')",
                             i, c);
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return HSMCA_OK;
}

void auth_policy_rules_clear(auth_policy_rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->rules[i].path);
    free(r->rules);
    r->rules = NULL;
    r->n = 0;
}

/* OpenBao accepts the policy document base64-encoded "to avoid string
 * escaping". Returns NULL (no detail) when text is not base64. */
static char *base64_decode(const char *text)
{
    size_t len = strlen(text), n = 0, pad = 0;
    char *clean = NULL, *out = NULL, *result = NULL;
    int got;

    clean = malloc(len + 1);
    if (clean == NULL)
        goto done;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == '\n' || c == '\r')
            continue; /* Go's StdEncoding skips line breaks */
        if (!(isalnum(c) || c == '+' || c == '/' || c == '='))
            goto done;
        clean[n++] = (char)c;
    }
    if (n == 0 || n % 4 != 0)
        goto done;
    if (clean[n - 1] == '=')
        pad++;
    if (clean[n - 2] == '=')
        pad++;
    out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        goto done;
    got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)clean, (int)n);
    if (got < 0 || (size_t)got < pad)
        goto done;
    got -= (int)pad;
    out[got] = '\0';
    /* A NUL inside would cut the document short without saying so. */
    if (strlen(out) != (size_t)got)
        goto done;
    result = out;
    out = NULL;
done:
    free(clean);
    free(out);
    return result;
}

static hsmca_rv add_caps(const char *key, const char *cap, unsigned *caps, bool *deny)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"create", HSMCA_CAP_CREATE}, {"read", HSMCA_CAP_READ},   {"update", HSMCA_CAP_UPDATE},
                 {"patch", HSMCA_CAP_PATCH},   {"delete", HSMCA_CAP_DELETE}, {"list", HSMCA_CAP_LIST},
                 {"sudo", HSMCA_CAP_SUDO}};

    if (strcmp(cap, "deny") == 0) {
        *deny = true;
        return HSMCA_OK;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(cap, names[i].name) == 0) {
            *caps |= names[i].bit;
            return HSMCA_OK;
        }
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                     "path \"%s\": invalid capability \"%.40s\" (create, read, update, patch, delete, list, sudo or "
                     "deny)",
                     key, cap);
}

/* The old single-word form: "policy": "read" and friends. */
static hsmca_rv add_old_policy(const char *key, const char *word, unsigned *caps, bool *deny)
{
    const unsigned write = HSMCA_CAP_CREATE | HSMCA_CAP_READ | HSMCA_CAP_UPDATE | HSMCA_CAP_DELETE | HSMCA_CAP_LIST;

    if (strcmp(word, "deny") == 0)
        *deny = true;
    else if (strcmp(word, "read") == 0)
        *caps |= HSMCA_CAP_READ | HSMCA_CAP_LIST;
    else if (strcmp(word, "write") == 0)
        *caps |= write;
    else if (strcmp(word, "sudo") == 0)
        *caps |= write | HSMCA_CAP_SUDO;
    else
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": invalid policy \"%.40s\" (deny, read, write or sudo)",
                         key, word);
    return HSMCA_OK;
}

/* Path keys: at most HSMCA_AUTH_PATH_MAX bytes, no control bytes; a glob
 * '*' only as the last character and never right after a '+' (OpenBao
 * refuses "+*"); one leading '/' is dropped as OpenBao does. */
static hsmca_rv check_path_key(const char *key, const char **path)
{
    size_t n = strnlen(key, HSMCA_AUTH_PATH_MAX + 1);

    /* set before the checks: clang-analyzer cannot see that hsmca_err
     * never returns HSMCA_OK, and callers only read it on success */
    *path = key[0] == '/' ? key + 1 : key;
    if (n > HSMCA_AUTH_PATH_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%.40s...\": longer than %d bytes", key, HSMCA_AUTH_PATH_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c < 0x20 || c == 0x7f)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%.40s\": control character at byte %zu", key, i);
        /* hsmca: OpenBao would take such a '*' literally, which is never
         * what the author meant (it is not a glob there). */
        if (c == '*' && i + 1 != n)
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "path \"%s\": '*' is a glob only as the last character; use '+' for one segment",
                             key);
    }
    if (strstr(key, "+*") != NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": invalid use of wildcards ('+*' is forbidden)", key);
    return HSMCA_OK;
}

/* One path block (an object; HCL's JSON form may also wrap it in an array). */
static hsmca_rv parse_block(const char *key, const json_t *block, auth_policy_rules *out)
{
    /* Parameter constraints and wrapping limits narrow what a rule grants:
     * silently ignoring them would grant more than the author wrote. */
    static const char *const unsupported[] = {"allowed_parameters", "denied_parameters", "required_parameters",
                                              "min_wrapping_ttl",   "max_wrapping_ttl",  "mfa_methods",
                                              "control_group",      "pagination_limit"};
    const char *path = NULL, *field;
    json_t *value;
    unsigned caps = 0;
    bool deny = false;
    size_t i;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;
    auth_policy_rule *grown;

    if ((rv = check_path_key(key, &path)) != HSMCA_OK)
        return rv;
    if (!json_is_object(block))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": expected an object with \"capabilities\"", key);
    /* jansson's iteration takes a non-const object and does not change it. */
    json_object_foreach((json_t *)(uintptr_t)block, field, value)
    {
        if (strcmp(field, "capabilities") == 0) {
            const json_t *cap;

            if (!json_is_array(value))
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": capabilities must be an array of strings",
                                 key);
            json_array_foreach(value, i, cap)
            {
                if (!json_is_string(cap))
                    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                     "path \"%s\": capabilities must be an array of strings", key);
                if ((rv = add_caps(key, json_string_value(cap), &caps, &deny)) != HSMCA_OK)
                    return rv;
            }
        } else if (strcmp(field, "policy") == 0) {
            if (!json_is_string(value))
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": policy must be a string", key);
            if ((rv = add_old_policy(key, json_string_value(value), &caps, &deny)) != HSMCA_OK)
                return rv;
        } else if (strcmp(field, "comment") == 0 || strcmp(field, "description") == 0) {
            continue;
        } else {
            for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
                if (strcmp(field, unsupported[i]) == 0)
                    return hsmca_err(HSMCA_ERR_INVALID_ARG,
                                     "path \"%s\": %s is not supported by hsmca (ignoring it would grant more "
                                     "than the policy says); remove it",
                                     key, field);
            }
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "path \"%s\": invalid key \"%.40s\"", key, field);
        }
    }
    if (out->n >= HSMCA_AUTH_POLICY_PATHS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: more than %d path rules", HSMCA_AUTH_POLICY_PATHS_MAX);
    grown = realloc(out->rules, (out->n + 1) * sizeof(*out->rules));
    if (grown == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    out->rules = grown;
    out->rules[out->n].path = strdup(path);
    if (out->rules[out->n].path == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    /* OpenBao: deny in a rule replaces every other capability of it. */
    out->rules[out->n].caps = deny ? HSMCA_CAP_DENY : caps;
    out->n++;
    return HSMCA_OK;
}

static hsmca_rv parse_paths(const json_t *paths, auth_policy_rules *out)
{
    const char *key;
    json_t *block;
    hsmca_rv rv;

    if (!json_is_object(paths))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: \"path\" must be an object of path blocks");
    json_object_foreach((json_t *)(uintptr_t)paths, key, block)
    {
        if (json_is_array(block)) {
            size_t i;
            json_t *one;

            json_array_foreach(block, i, one)
            {
                if ((rv = parse_block(key, one, out)) != HSMCA_OK)
                    return rv;
            }
        } else if ((rv = parse_block(key, block, out)) != HSMCA_OK) {
            return rv;
        }
    }
    return HSMCA_OK;
}

hsmca_rv auth_policy_parse(const char *text, auth_policy_rules *out, char **decoded)
{
    json_error_t jerr;
    json_t *doc = NULL, *value;
    char *b64 = NULL;
    const char *json_text = text, *key, *p;
    auth_policy_rules tmp = {0};
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (decoded != NULL)
        *decoded = NULL;
    if (text == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: missing");
        goto done;
    }
    if (strnlen(text, HSMCA_AUTH_POLICY_TEXT_MAX + 1) > HSMCA_AUTH_POLICY_TEXT_MAX) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: longer than %d bytes", HSMCA_AUTH_POLICY_TEXT_MAX);
        goto done;
    }
    p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '{') {
        b64 = base64_decode(p);
        if (b64 != NULL) {
            json_text = b64;
            p = b64;
            while (isspace((unsigned char)*p))
                p++;
        }
    }
    if (*p != '{') {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "policy: the document is not JSON; hsmca reads OpenBao policies in their JSON form only "
                       "(HCL is not supported), e.g. {\"path\": {\"pki/issue/web\": {\"capabilities\": "
                       "[\"update\"]}}}");
        goto done;
    }
    doc = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: invalid JSON at line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
        goto done;
    }
    if (!json_is_object(doc)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: the document must be a JSON object");
        goto done;
    }
    json_object_foreach(doc, key, value)
    {
        if (strcmp(key, "name") == 0)
            continue; /* OpenBao accepts and ignores it: the URL names the policy */
        if (strcmp(key, "path") != 0) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "policy: invalid key \"%.40s\" (only \"path\" and \"name\")", key);
            goto done;
        }
        if (json_is_array(value)) {
            size_t i;
            json_t *one;

            json_array_foreach(value, i, one)
            {
                if ((rv = parse_paths(one, &tmp)) != HSMCA_OK)
                    goto done;
            }
        } else if ((rv = parse_paths(value, &tmp)) != HSMCA_OK) {
            goto done;
        }
    }
    if (decoded != NULL) {
        *decoded = strdup(json_text);
        if (*decoded == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    auth_policy_rules_clear(out);
    *out = tmp;
    memset(&tmp, 0, sizeof(tmp));
    rv = HSMCA_OK;
done:
    auth_policy_rules_clear(&tmp);
    json_decref(doc);
    free(b64);
    return rv;
}

hsmca_rv hsmca_auth_policy_check(const char *text)
{
    auth_policy_rules r = {0};
    hsmca_rv rv = auth_policy_parse(text, &r, NULL);

    auth_policy_rules_clear(&r);
    return rv;
}
