/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for role bodies (POST/PATCH pki/roles/:name, the largest
 * API JSON family): strict JSON parse as the HTTP layer does it, then
 * hsmca_role_from_json (POST and PATCH) and hsmca_role_validate. Whatever is
 * accepted must round-trip: to_json -> from_json -> to_json gives the same
 * JSON text (the header promises the same role). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hsmca/role.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    json_t *j1 = NULL, *j2 = NULL;
    hsmca_role base, r, again;
    char *t1 = NULL, *t2 = NULL;

    memset(&base, 0, sizeof(base));
    memset(&r, 0, sizeof(r));
    memset(&again, 0, sizeof(again));
    if (body == NULL || !json_is_object(body))
        goto done;
    if (hsmca_role_init_defaults(&base) != HSMCA_OK)
        goto done;
    /* PATCH over the defaults: only exercised, not compared */
    if (hsmca_role_from_json(body, &base, true, &r, NULL) == HSMCA_OK)
        hsmca_role_clear(&r);
    memset(&r, 0, sizeof(r));
    if (hsmca_role_from_json(body, NULL, false, &r, NULL) != HSMCA_OK || hsmca_role_validate(&r, NULL) != HSMCA_OK)
        goto done;
    if (hsmca_role_to_json(&r, &j1) != HSMCA_OK)
        abort(); /* an accepted role that cannot be shown */
    if (hsmca_role_from_json(j1, NULL, false, &again, NULL) != HSMCA_OK || hsmca_role_validate(&again, NULL) != HSMCA_OK)
        abort(); /* GET output that POST refuses */
    if (hsmca_role_to_json(&again, &j2) != HSMCA_OK)
        abort();
    t1 = json_dumps(j1, JSON_SORT_KEYS | JSON_COMPACT);
    t2 = json_dumps(j2, JSON_SORT_KEYS | JSON_COMPACT);
    if (t1 == NULL || t2 == NULL || strcmp(t1, t2) != 0)
        abort(); /* the round trip changed the role */
done:
    free(t1);
    free(t2);
    json_decref(j1);
    json_decref(j2);
    hsmca_role_clear(&again);
    hsmca_role_clear(&r);
    hsmca_role_clear(&base);
    json_decref(body);
    return 0;
}
