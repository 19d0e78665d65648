/* SPDX-License-Identifier: Apache-2.0 */
/* PINs: read from a file or a systemd credential into locked, cleansed memory;
 * never from argv or the environment, never logged. */
#ifndef HSMCA_PIN_H
#define HSMCA_PIN_H

#include <stddef.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a PIN comes from. Exactly one member is set. */
typedef struct {
    const char *file;       /* path of a file whose first line is the PIN */
    const char *credential; /* name under $CREDENTIALS_DIRECTORY (systemd) */
} hsmca_pin_source;

/* A PIN held in OpenSSL's secure heap (mlock'ed when the program called
 * CRYPTO_secure_malloc_init) and cleansed when freed. */
typedef struct hsmca_pin hsmca_pin;

#define HSMCA_PIN_MAX 256

/* Reads the PIN: the first line of the file, without its line ending. The file
 * must be a regular file of at most HSMCA_PIN_MAX bytes; a group- or
 * world-readable file is used but logged as a warning. origin receives a
 * description of the source for messages ("file /etc/hsmca/pin") — never the
 * PIN itself. */
hsmca_rv hsmca_pin_load(const hsmca_pin_source *src, hsmca_pin **out,
                        char *origin, size_t origin_size);
/* Makes a PIN from bytes the caller holds (e.g. a no-echo prompt); the caller
 * cleanses its own copy. */
hsmca_rv hsmca_pin_from_bytes(const void *data, size_t len, hsmca_pin **out);
hsmca_rv hsmca_pin_dup(const hsmca_pin *pin, hsmca_pin **out);
const unsigned char *hsmca_pin_data(const hsmca_pin *pin, size_t *len);
void hsmca_pin_free(hsmca_pin *pin);

#ifdef __cplusplus
}
#endif
#endif
