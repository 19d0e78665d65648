/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's init verb (src/cli/init.c), called from main.c. */
#ifndef HSMCA_CLI_INIT_H
#define HSMCA_CLI_INIT_H

#include "hsmca/rv.h"

/* argv[0] is "init". Needs no token: it writes the database only. */
hsmca_rv hsmca_cli_init(int argc, char **argv);

#endif
