/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca_strlist: owned string lists with a bound. */
#include "hsmca/strlist.h"

#include <stdlib.h>
#include <string.h>

hsmca_rv hsmca_strlist_add(hsmca_strlist *l, const char *s, size_t len)
{
    char **grown;
    char *copy;

    if (l->n >= HSMCA_STRLIST_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "more than %d list entries", HSMCA_STRLIST_MAX);
    if (memchr(s, '\0', len) != NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "list entry contains a NUL byte");
    copy = malloc(len + 1);
    if (copy == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    memcpy(copy, s, len);
    copy[len] = '\0';
    grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    if (grown == NULL) {
        free(copy);
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    }
    l->v = grown;
    l->v[l->n++] = copy;
    return HSMCA_OK;
}

hsmca_rv hsmca_strlist_add_csv(hsmca_strlist *l, const char *s)
{
    const char *p = s;

    if (s == NULL)
        return HSMCA_OK;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            hsmca_rv rv = hsmca_strlist_add(l, a, (size_t)(b - a));
            if (rv != HSMCA_OK)
                return rv;
        }
        if (comma == NULL)
            return HSMCA_OK;
        p = comma + 1;
    }
}

hsmca_rv hsmca_strlist_copy(hsmca_strlist *dst, const hsmca_strlist *src)
{
    for (size_t i = 0; i < src->n; i++) {
        hsmca_rv rv = hsmca_strlist_add(dst, src->v[i], strlen(src->v[i]));
        if (rv != HSMCA_OK)
            return rv;
    }
    return HSMCA_OK;
}

int hsmca_strlist_contains(const hsmca_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0)
            return 1;
    }
    return 0;
}

void hsmca_strlist_clear(hsmca_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
