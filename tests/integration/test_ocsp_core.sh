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

# A corrupted token signature is refused and never cached: the fault module
# corrupts the third C_Sign (after the root's and the leaf's).
need_env HSMCA_FAULT_MODULE
token_create "$W/token2" ocsp-core
cat >"$W/fault.conf" <<CONF
module = $SOFTHSM_MODULE
corrupt = C_Sign every=3
CONF
HSMCA_OCSP_CORRUPT_TEST=1 HSMCA_TEST_MODULE=$HSMCA_FAULT_MODULE HSMCA_FAULT_CONFIG=$W/fault.conf \
    HSMCA_TEST_DB=$W/corrupt.db "$HSMCA_OCSP_CORE" >"$W/corrupt.out" 2>&1 || { show "$W/corrupt.out"; die "OCSP corrupt"; }
pass "OCSP core: a corrupted token signature is answered internalError and not cached"
