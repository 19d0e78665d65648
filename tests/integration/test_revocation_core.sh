#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs tests/unit/test_revocation_core.c against a throwaway SoftHSM2 token
# and database of its own.
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_REVOCATION_CORE
need_tool softhsm2-util
W=$(workdir revocation_core)
token_create "$W/token" rev-core
HSMCA_TEST_DB=$W/rev.db "$HSMCA_REVOCATION_CORE" >"$W/out" 2>&1 || { show "$W/out"; die "revocation core"; }
pass "revocation core: listener, no_store by PEM, wrong key, auto_rebuild records only"
