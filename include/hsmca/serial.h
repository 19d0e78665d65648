/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate serial numbers: drawn from the token's random generator,
 * positive, at most 20 octets (RFC 5280 4.1.2.2), printed as OpenBao does
 * ("39:dd:2e:..."). */
#ifndef HSMCA_SERIAL_H
#define HSMCA_SERIAL_H

#include <stddef.h>

#include <openssl/asn1.h>

#include "hsmca/p11.h"
#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HSMCA_SERIAL_RANDOM_BYTES 16 /* 127 random bits: CA/B BR 7.1 asks for >= 64 */
#define HSMCA_SERIAL_MAX 20
#define HSMCA_SERIAL_TEXT_MAX (3 * HSMCA_SERIAL_MAX)

/* A fresh serial: 16 bytes from C_GenerateRandom with the top bit cleared
 * (positive) and no other bit forced, so every bit but the sign is uniform.
 * Leading zero octets are stripped (DER minimal encoding), so *len is 9..16
 * except with probability 2^-63; callers reject < 64 significant bits. */
hsmca_rv hsmca_serial_generate(hsmca_p11_token *tok, unsigned char out[HSMCA_SERIAL_MAX], size_t *len);

/* "39:dd:2e:90" (lower-case, colon separated), into text[HSMCA_SERIAL_TEXT_MAX]. */
void hsmca_serial_format(const unsigned char *serial, size_t len, char *text);
/* Accepts "39:dd:2e", "39-dd-2e" and "39dd2e" (either case); leading zero
 * octets are removed. HSMCA_ERR_INVALID_ARG names the problem. */
hsmca_rv hsmca_serial_parse(const char *text, unsigned char out[HSMCA_SERIAL_MAX], size_t *len);

/* To and from the certificate's ASN1_INTEGER (must be positive). */
hsmca_rv hsmca_serial_to_asn1(const unsigned char *serial, size_t len, ASN1_INTEGER *out);
hsmca_rv hsmca_serial_from_asn1(const ASN1_INTEGER *in, unsigned char out[HSMCA_SERIAL_MAX], size_t *len);

#ifdef __cplusplus
}
#endif
#endif
