/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca token init|list` (src/cli/token.c): the token verbs that run
 * before (or without) a login. */
#ifndef HSMCA_CLI_TOKEN_H
#define HSMCA_CLI_TOKEN_H

#include "hsmca/p11.h"

/* argv[0] is "token", argv[1] "init" or "list". cfg gives the module and,
 * for init, an optional user-PIN source (--pin-file/--pin-credential). */
hsmca_rv hsmca_cli_token(const hsmca_p11_config *cfg, int argc, char **argv);

#endif
