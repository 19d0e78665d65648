/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca rotate plan|start|promote|retire|finish`: the issuer rotation
 * workflow against a running hsmcad (docs/rotation.md). */
#ifndef HSMCA_CLI_ROTATE_H
#define HSMCA_CLI_ROTATE_H

#include "hsmca/rv.h"

/* argv[0] is "rotate". */
hsmca_rv hsmca_cli_rotate(int argc, char **argv);

#endif
