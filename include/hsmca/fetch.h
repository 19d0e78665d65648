/* SPDX-License-Identifier: Apache-2.0 */
/* Outbound HTTP(S) fetches for the daemon's own needs (OCSP queries and CRL
 * distribution points of the certificate auth method): one bounded
 * request, never a redirect, never more than a caller-set number of bytes
 * or milliseconds. Built on libcurl (OpenSSL backend). */
#ifndef HSMCA_FETCH_H
#define HSMCA_FETCH_H

#include <stddef.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard ceilings whatever the caller asks: 1 MiB and 30 s. */
#define HSMCA_FETCH_MAX_BYTES (1024u * 1024u)
#define HSMCA_FETCH_MAX_MS 30000L

typedef struct {
    const char *url;          /* http:// or https:// only */
    const char *content_type; /* of body; NULL for a GET */
    const unsigned char *body;
    size_t body_len;
    size_t max_bytes; /* of the answer's body; 0 or above the ceiling: the ceiling */
    long timeout_ms;  /* whole transfer, connect included; 0 or above: the ceiling */
} hsmca_fetch_req;

/* Performs req. HSMCA_OK with *out (malloc'd, caller frees) and *out_len
 * when the server answered 200; else HSMCA_ERR_IO (unreachable, non-200,
 * larger than max_bytes), HSMCA_ERR_TIMEOUT or HSMCA_ERR_INVALID_ARG (URL
 * scheme), the detail naming the URL and what happened. Thread-safe. */
hsmca_rv hsmca_fetch(const hsmca_fetch_req *req, unsigned char **out, size_t *out_len);

/* Adds the PEM certificates of `path` to the trust of https fetches, on top
 * of the system's bundle (the development CA of -dev-tls, an internal
 * root). Call before the first fetch; later calls replace the file. */
hsmca_rv hsmca_fetch_trust_file(const char *path);

#ifdef __cplusplus
}
#endif
#endif
