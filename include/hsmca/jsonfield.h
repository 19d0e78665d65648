/* SPDX-License-Identifier: Apache-2.0 */
/* Request values as OpenBao's API reads them: well-formed UTF-8, and JSON
 * fields with its weak typing (booleans from "true"/"1", integers from
 * decimal strings, durations from "72h" or seconds, lists from a
 * comma-separated string or an array). Every error names the field. */
#ifndef HSMCA_JSONFIELD_H
#define HSMCA_JSONFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsmca/rv.h"
#include "hsmca/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF,
 * RFC 3629 3) and no NUL among the len bytes; *chars (if non-NULL) gets the
 * number of code points. */
bool hsmca_utf8_valid(const char *s, size_t len, size_t *chars);

/* "a string", "an array"... for messages. */
const char *hsmca_jf_kind(const json_t *v);

/* null reads as the type's zero value in each of these (OpenBao's
 * framework does the same). */
hsmca_rv hsmca_jf_bool(const json_t *v, const char *field, bool *out);
hsmca_rv hsmca_jf_int(const json_t *v, const char *field, int *out);
hsmca_rv hsmca_jf_int64(const json_t *v, const char *field, int64_t *out);
/* Seconds, never negative: 3600, "3600", "1h", "90m", "7d". */
hsmca_rv hsmca_jf_duration(const json_t *v, const char *field, int64_t *out);
/* Copies a string of at most size-1 bytes. */
hsmca_rv hsmca_jf_string(const json_t *v, const char *field, char *buf, size_t size);
/* Borrows a string of at most max bytes (valid while v lives); a number is
 * refused (OpenBao would stringify it; a certificate field never is one). */
hsmca_rv hsmca_jf_string_ref(const json_t *v, const char *field, size_t max, const char **out);
/* Entries trimmed of blanks, empty ones dropped, at most HSMCA_STRLIST_MAX
 * entries of entry_max bytes each; replaces *out on success. */
hsmca_rv hsmca_jf_list(const json_t *v, const char *field, size_t entry_max, hsmca_strlist *out);

/* Overwrites every string value inside j with zeros (jansson frees its
 * string buffers without cleansing): for JSON that held a secret. Keys are
 * left as they are. */
void hsmca_jf_cleanse(json_t *j);

#ifdef __cplusplus
}
#endif
#endif
