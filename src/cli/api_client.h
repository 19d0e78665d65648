/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's thin client for hsmcad's HTTP API (one request per connection,
 * http:// or https://), used by `hsmca rotate`. */
#ifndef HSMCA_CLI_API_CLIENT_H
#define HSMCA_CLI_API_CLIENT_H

#include <jansson.h>

#include "hsmca/rv.h"

typedef struct cli_api cli_api;

/* addr: "http://HOST:PORT" or "https://HOST:PORT" (a trailing "/" is
 * allowed). token_file: the file holding the client token (first line; never
 * argv or the environment); NULL for unauthenticated calls only. ca_file: the
 * PEM bundle that verifies an https listener (NULL: the system store). */
hsmca_rv cli_api_open(const char *addr, const char *token_file, const char *ca_file, cli_api **out);
void cli_api_free(cli_api *a);

/* One request: METHOD /v1/PATH with `body` as JSON (NULL: none) and, when
 * `rotation` is not NULL, the X-Hsmca-Rotation header the daemon writes into
 * its audit entry. *status gets the HTTP status and *reply the parsed JSON
 * body (NULL when there was none). Fails only when no answer was read; an
 * error status is the caller's to judge (cli_api_errors gives its text). */
hsmca_rv cli_api_call(cli_api *a, const char *method, const char *path, const json_t *body,
                      const char *rotation, int *status, json_t **reply);

/* The "errors" of an error reply joined with "; " into out. */
void cli_api_errors(const json_t *reply, char *out, size_t size);

#endif
