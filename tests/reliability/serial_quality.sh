#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Serial quality (issue 9, item 4) on a throwaway SoftHSM2 token:
#   serial_quality.sh [N]     (default 1,000,000; about 10 s on 2 cores)
# env: HSMCA_SERIAL_QUALITY (the program), HSMCA_TEST_WORKDIR
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/token.sh"
need_env HSMCA_SERIAL_QUALITY
need_tool softhsm2-util
W=$(workdir serial_quality)
token_create "$W/token" serials
"$HSMCA_SERIAL_QUALITY" "${1:-1000000}"
