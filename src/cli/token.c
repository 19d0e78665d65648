/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca token init|list`: initialising a token (SO PIN and user PIN from
 * files or no-echo prompts, never from arguments) and listing a module's
 * tokens without logging in. */
#include <stdio.h>
#include <string.h>

#include "hsmca/pin.h"
#include "prompt.h"
#include "token.h"

#define INIT_USAGE "usage: hsmca --module PATH token init LABEL [--so-pin-file PATH] [--user-pin-file PATH]"

static hsmca_rv cmd_list(const hsmca_p11_config *cfg)
{
    hsmca_p11_token_desc d[HSMCA_P11_SLOTS_MAX];
    size_t n = 0;
    hsmca_rv rv = hsmca_p11_token_list(cfg->module_path, d, HSMCA_P11_SLOTS_MAX, &n);

    if (rv != HSMCA_OK)
        return rv;
    printf("%-6s  %-32s  %-16s  %-16s  %-20s  %s\n", "slot", "label", "serial", "model", "manufacturer", "state");
    for (size_t i = 0; i < n; i++) {
        const char *state = !d[i].initialized    ? "uninitialised"
                            : d[i].pin_locked    ? "user PIN locked"
                            : !d[i].user_pin_set ? "no user PIN"
                                                 : "ready";
        printf("%-6lu  %-32s  %-16s  %-16s  %-20s  %s\n", d[i].slot, d[i].initialized ? d[i].label : "-",
               d[i].serial, d[i].model, d[i].manufacturer, state);
    }
    return HSMCA_OK;
}

/* One PIN from a file when a path is given, else from a confirmed prompt. */
static hsmca_rv pin_from(const hsmca_pin_source *src, const char *what, hsmca_pin **out)
{
    char origin[320];

    if (src->file != NULL || src->credential != NULL)
        return hsmca_pin_load(src, out, origin, sizeof(origin));
    return hsmca_cli_prompt_pin(what, true, out);
}

static hsmca_rv cmd_init(const hsmca_p11_config *cfg, int argc, char **argv)
{
    const char *label = NULL;
    hsmca_pin_source so_src = {0}, user_src = cfg->pin;
    hsmca_pin *so = NULL, *user = NULL;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--so-pin-file") == 0 && i + 1 < argc)
            so_src.file = argv[++i];
        else if (strcmp(argv[i], "--user-pin-file") == 0 && i + 1 < argc)
            user_src = (hsmca_pin_source){.file = argv[++i]};
        else if (strncmp(argv[i], "--so-pin", 8) == 0 || strncmp(argv[i], "--pin", 5) == 0)
            /* Refused by name: a PIN on the command line is visible in ps
             * and shell history. */
            return hsmca_err(rv, "'%.40s': PINs are never taken as arguments; use --so-pin-file/--user-pin-file "
                                 "or answer the prompts",
                             argv[i]);
        else if (argv[i][0] != '-' && label == NULL)
            label = argv[i];
        else
            return hsmca_err(rv, "unexpected argument '%.100s'; " INIT_USAGE, argv[i]);
    }
    if (label == NULL)
        return hsmca_err(rv, INIT_USAGE);
    if ((rv = pin_from(&so_src, "SO PIN", &so)) != HSMCA_OK)
        goto done;
    if ((rv = pin_from(&user_src, "user PIN", &user)) != HSMCA_OK)
        goto done;
    if ((rv = hsmca_p11_token_init(cfg->module_path, label, so, user)) != HSMCA_OK)
        goto done;
    printf("token '%s' initialised\n", label);
done:
    hsmca_pin_free(so);
    hsmca_pin_free(user);
    return rv;
}

hsmca_rv hsmca_cli_token(const hsmca_p11_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2)
        return cmd_list(cfg);
    if (argc >= 2 && strcmp(argv[1], "init") == 0)
        return cmd_init(cfg, argc - 2, argv + 2);
    return hsmca_err(HSMCA_ERR_INVALID_ARG, "usage: hsmca token init|list|info");
}
