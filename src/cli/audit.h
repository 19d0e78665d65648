/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's audit verbs (src/cli/audit.c), called from main.c. */
#ifndef HSMCA_CLI_AUDIT_H
#define HSMCA_CLI_AUDIT_H

#include "hsmca/p11.h"
#include "hsmca/rv.h"

/* argv[0] is the word after "audit". Prints results on stdout; a failure
 * comes back as an hsmca_rv with its detail for main's report(). */
hsmca_rv hsmca_cli_audit(hsmca_p11_token *tok, int argc, char **argv);

#endif
