/* SPDX-License-Identifier: Apache-2.0 */
/* The ceremony verbs as main.c calls them (src/cli/ceremony.c). */
#ifndef HSMCA_CLI_CEREMONY_CLI_H
#define HSMCA_CLI_CEREMONY_CLI_H

#include "hsmca/p11.h"

/* argv[0] is "ceremony". */
hsmca_rv hsmca_cli_ceremony(const hsmca_p11_config *cfg, int argc, char **argv);

#endif
