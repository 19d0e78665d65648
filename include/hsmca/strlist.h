/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded list of owned strings: the parsed form of OpenBao's "comma
 * separated string or JSON array" fields. */
#ifndef HSMCA_STRLIST_H
#define HSMCA_STRLIST_H

#include <stddef.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSMCA_STRLIST_MAX 1024 /* entries in one list */

typedef struct {
    char **v; /* v[0..n-1], each malloc'd and NUL-terminated */
    size_t n;
} hsmca_strlist;

/* Appends a copy of s (len bytes; may contain no NUL). */
hsmca_rv hsmca_strlist_add(hsmca_strlist *l, const char *s, size_t len);
/* Appends the comma-separated items of s, trimmed of surrounding spaces;
 * empty items are skipped. */
hsmca_rv hsmca_strlist_add_csv(hsmca_strlist *l, const char *s);
hsmca_rv hsmca_strlist_copy(hsmca_strlist *dst, const hsmca_strlist *src);
int hsmca_strlist_contains(const hsmca_strlist *l, const char *s);
void hsmca_strlist_clear(hsmca_strlist *l);

#ifdef __cplusplus
}
#endif
#endif
