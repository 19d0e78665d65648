/* SPDX-License-Identifier: Apache-2.0 */
/* What a policy set may do on a path: the allow/deny answer for one
 * operation and the capability list of sys/capabilities-self. */
#include <string.h>

#include "internal.h"

static hsmca_rv check_path(const char *path)
{
    if (path == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path: missing");
    if (strnlen(path, HSMCA_AUTH_PATH_MAX + 1) > HSMCA_AUTH_PATH_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "path: longer than %d bytes", HSMCA_AUTH_PATH_MAX);
    return HSMCA_OK;
}

hsmca_rv hsmca_auth_capabilities(hsmca_auth *a, const hsmca_strlist *policies, const char *path, unsigned *caps)
{
    auth_acl *acl = NULL;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && policies != NULL && caps != NULL, HSMCA_ERR_INVALID_ARG);
    *caps = 0;
    if ((rv = check_path(path)) != HSMCA_OK || (rv = auth_acl_get(a, policies, &acl)) != HSMCA_OK)
        return rv;
    /* OpenBao answers capabilities as for LIST, so that an exact rule
     * written without the trailing '/' counts for "dir/". */
    *caps = auth_acl_caps(acl, path[0] == '/' ? path + 1 : path, true);
    auth_acl_release(acl);
    return HSMCA_OK;
}

hsmca_rv hsmca_auth_allowed(hsmca_auth *a, const hsmca_strlist *policies, const char *path, unsigned capability,
                            unsigned flags, bool *allowed)
{
    auth_acl *acl = NULL;
    unsigned caps;
    hsmca_rv rv;

    hsmca_return_val_if_fail(a != NULL && policies != NULL && allowed != NULL, HSMCA_ERR_INVALID_ARG);
    *allowed = false;
    if ((rv = check_path(path)) != HSMCA_OK || (rv = auth_acl_get(a, policies, &acl)) != HSMCA_OK)
        return rv;
    caps = auth_acl_caps(acl, path[0] == '/' ? path + 1 : path, capability == HSMCA_CAP_LIST);
    *allowed = auth_acl_caps_allow(caps, capability, flags);
    auth_acl_release(acl);
    return HSMCA_OK;
}

json_t *hsmca_auth_caps_to_json(unsigned caps)
{
    /* Alphabetical, as OpenBao sorts them. */
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"create", HSMCA_CAP_CREATE}, {"delete", HSMCA_CAP_DELETE}, {"list", HSMCA_CAP_LIST},
                 {"patch", HSMCA_CAP_PATCH},   {"read", HSMCA_CAP_READ},     {"sudo", HSMCA_CAP_SUDO},
                 {"update", HSMCA_CAP_UPDATE}};
    json_t *arr = json_array();
    bool ok = arr != NULL;

    if (ok && (caps & HSMCA_CAP_ROOT)) {
        ok = json_array_append_new(arr, json_string("root")) == 0;
        goto done;
    }
    for (size_t i = 0; ok && !(caps & HSMCA_CAP_DENY) && i < sizeof(names) / sizeof(names[0]); i++) {
        if (caps & names[i].bit)
            ok = json_array_append_new(arr, json_string(names[i].name)) == 0;
    }
    /* Nothing granted reads as "deny", as in OpenBao. */
    if (ok && json_array_size(arr) == 0)
        ok = json_array_append_new(arr, json_string("deny")) == 0;
done:
    if (!ok) {
        json_decref(arr);
        arr = NULL;
    }
    return arr;
}
