/* SPDX-License-Identifier: Apache-2.0 */
/* No-echo PIN prompts on the controlling terminal (src/cli/prompt.c). */
#ifndef HSMCA_CLI_PROMPT_H
#define HSMCA_CLI_PROMPT_H

#include <stdbool.h>

#include "hsmca/pin.h"
#include "hsmca/rv.h"

/* Asks for a PIN on /dev/tty with echo off (never stdin, so a PIN cannot
 * arrive through a pipe that a shell history or a log also saw). confirm:
 * ask twice and refuse a mismatch (for PINs being set). The PIN goes to the
 * secure heap; every transient copy is cleansed. */
hsmca_rv hsmca_cli_prompt_pin(const char *what, bool confirm, hsmca_pin **out);

#endif
