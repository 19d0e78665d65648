/* SPDX-License-Identifier: Apache-2.0 */
/* UUIDs (RFC 9562) as hsmca uses them for key, issuer and request ids. */
#ifndef HSMCA_UUID_H
#define HSMCA_UUID_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HSMCA_UUID_STR_LEN 36

/* Lower-case 8-4-4-4-12 hex text of 16 bytes. */
void hsmca_uuid_format(const unsigned char bytes[16], char out[HSMCA_UUID_STR_LEN + 1]);
/* Parses exactly the 8-4-4-4-12 form (either case); 1 on success. */
int hsmca_uuid_parse(const char *text, unsigned char bytes[16]);
/* Sets the version and RFC 9562 variant bits of 16 random or hashed bytes. */
void hsmca_uuid_set_version(unsigned char bytes[16], unsigned version);

#ifdef __cplusplus
}
#endif
#endif
