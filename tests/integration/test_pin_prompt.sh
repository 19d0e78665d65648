#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The no-echo PIN prompt's success path, on a real pseudo-terminal
# (tests/integration/pin_prompt_pty.py): `hsmca token init` asks for the SO
# and user PINs twice each, and a ceremony whose file says "pin": {"prompt":
# true} asks once. At every prompt the terminal's ECHO flag must be off, and
# no PIN may appear in what the terminal showed; the PINs typed must then
# be the token's (a login with them works). A control run against a prompt
# that leaves echo on shows that the harness does catch it.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"

need_env HSMCA_CLI
need_tool python3
W=$(workdir pin_prompt)
PTY="python3 $HERE/pin_prompt_pty.py"
token_create "$W/tok" placeholder
M=$SOFTHSM_MODULE
( umask 077; printf 'so-%s' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" >"$W/so.pin" )
( umask 077; printf 'us-%s' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" >"$W/user.pin" )

# Control: a prompt with echo on must fail the harness.
cat >"$W/echo.sh" <<'SH'
printf 'SO PIN: '
read -r x
echo "read ${#x} bytes"
SH
expect_fail "$W/control.out" $PTY "$W/control.tty" "SO PIN: =$W/so.pin" -- sh "$W/echo.sh"
expect_grep "$W/control.out" "echo is on" "control: a prompt with echo on is caught"
pass "control: the pty harness fails a prompt that echoes"

$PTY "$W/init.tty" "SO PIN: =$W/so.pin" "SO PIN (again): =$W/so.pin" "user PIN: =$W/user.pin" \
    "user PIN (again): =$W/user.pin" -- "$HSMCA_CLI" --module "$M" token init ptytok >"$W/init.out" 2>&1 ||
    { show "$W/init.out"; show "$W/init.tty"; die "token init with prompts on a pty"; }
expect_grep "$W/init.tty" "token 'ptytok' initialised" "token init on the pty"
"$HSMCA_CLI" --module "$M" --token ptytok --pin-file "$W/user.pin" key generate ec 256 typed >"$W/kg.out" 2>&1 ||
    { show "$W/kg.out"; die "the user PIN typed at the prompt does not log in"; }
pass "token init: four prompts with echo off, no PIN on the terminal, the typed user PIN logs in"

# A ceremony that prompts for its PIN.
mkdir -p "$W/c"
cat >"$W/c/prompt.json" <<JSON
{"version": 1, "name": "pty-prompt", "module": "$M", "token": {"label": "ptytok"}, "pin": {"prompt": true},
 "output_dir": "out",
 "steps": [{"kind": "root-key", "label": "pty-root", "key_type": "ec", "key_bits": 256},
           {"kind": "root-cert", "key": "pty-root", "output": "root.pem", "subject": {"common_name": "PTY Root"},
            "validity": "30d", "path_length": 0}]}
JSON
$PTY "$W/cer.tty" "user PIN of token 'ptytok': =$W/user.pin" -- "$HSMCA_CLI" ceremony run "$W/c/prompt.json" --operator Tester \
    >"$W/cer.out" 2>&1 || { show "$W/cer.out"; show "$W/cer.tty"; die "ceremony with a PIN prompt on a pty"; }
openssl x509 -in "$W/c/out/root.pem" -noout -subject | grep -q 'PTY Root' || die "the prompted ceremony made no root"
pass "ceremony run with \"pin\": {\"prompt\": true}: prompt with echo off, no PIN on the terminal, root made"
