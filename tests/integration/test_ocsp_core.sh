#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the OCSP core's in-process test (tests/unit/test_ocsp_core.c) against
# a throwaway SoftHSM2 token: cache hits, invalidation on revocation, the
# invalidation race, delegated signer rollover.
# env (set by tests/api_ocsp.cmake): HSMCA_OCSP_CORE, HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_OCSP_CORE
need_tool softhsm2-util
W=$(workdir ocsp_core)
token_create "$W/token" ocsp-core
HSMCA_TEST_DB=$W/ocsp.db "$HSMCA_OCSP_CORE" >"$W/out" 2>&1 || { show "$W/out"; die "OCSP core"; }
pass "OCSP core: cache hits without signing, invalidation at once, no stale answer after a race, signer rollover"
