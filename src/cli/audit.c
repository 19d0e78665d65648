/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca audit verify: checks an audit log's HMAC chain with the token's key
 * and names the first broken line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hsmca/audit.h"

#include "audit.h"

#define USAGE "usage: hsmca audit verify FILE [--prev HEX]"

static hsmca_rv cmd_verify(hsmca_p11_token *tok, int argc, char **argv)
{
    const char *file = NULL, *prev = NULL;
    hsmca_audit_verify_result res;
    hsmca_rv rv;

    /* FILE and --prev in any order; --prev HEX or --prev=HEX. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--prev") == 0 && i + 1 < argc && prev == NULL)
            prev = argv[++i];
        else if (strncmp(argv[i], "--prev=", 7) == 0 && prev == NULL)
            prev = argv[i] + 7;
        else if (argv[i][0] != '-' && file == NULL)
            file = argv[i];
        else
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "unexpected argument '%.100s'; " USAGE, argv[i]);
    }
    if (file == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, USAGE);
    rv = hsmca_audit_verify(tok, file, prev, &res);
    if (rv != HSMCA_OK)
        return rv; /* "line K: reason", or why the file could not be checked */
    printf("ok: %" PRIu64 " entries\n", res.entries);
    printf("seq: %" PRIu64 "..%" PRIu64 "\n", res.first_seq, res.last_seq);
    printf("first prev: %s%s\n", res.first_prev,
           strcmp(res.first_prev, HSMCA_AUDIT_GENESIS) == 0 ? " (genesis)" : "");
    printf("last hmac: %s\n", res.last_hmac);
    return HSMCA_OK;
}

hsmca_rv hsmca_cli_audit(hsmca_p11_token *tok, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "verify") == 0)
        return cmd_verify(tok, argc - 1, argv + 1);
    return hsmca_err(HSMCA_ERR_INVALID_ARG, USAGE);
}
