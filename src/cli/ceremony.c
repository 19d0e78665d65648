/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca ceremony run|verify`: dispatch. A run takes its module, token and
 * PIN source from the ceremony file; verify uses the global token options
 * when given, to check the keys as well. */
#include <string.h>

#include "ceremony.h"
#include "ceremony_cli.h"

hsmca_rv hsmca_cli_ceremony(const hsmca_p11_config *cfg, int argc, char **argv)
{
    hsmca_p11_token *tok = NULL;
    hsmca_rv rv;

    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cer_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        /* With a module and a PIN source the keys are checked too. */
        if (cfg->module_path != NULL && (cfg->pin.file != NULL || cfg->pin.credential != NULL)) {
            if ((rv = hsmca_p11_token_open(cfg, &tok)) != HSMCA_OK)
                return rv;
        }
        rv = cer_verify(tok, argc - 1, argv + 1);
        hsmca_p11_token_free(tok);
        return rv;
    }
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "usage: hsmca ceremony run CEREMONY.json [--dry-run] [--operator NAME ...]"
                                            " | hsmca ceremony verify TRANSCRIPT");
}
