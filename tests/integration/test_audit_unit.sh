#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the audit unit tests (tests/unit/test_audit.c) against a throwaway
# SoftHSM2 token reached through the fault-injecting module, whose config
# file the tests rewrite to make C_Sign fail.
#
# env (set by tests/audit.cmake): HSMCA_AUDIT_UNIT, HSMCA_FAULT_MODULE,
# HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_AUDIT_UNIT HSMCA_FAULT_MODULE
need_tool softhsm2-util

W=$(workdir audit_unit)
token_create "$W/token" audit-unit
mkdir -p "$W/logs"
printf 'module = %s\n' "$SOFTHSM_MODULE" >"$W/fault.conf"
set +e
HSMCA_TEST_MODULE=$HSMCA_FAULT_MODULE HSMCA_REAL_MODULE=$SOFTHSM_MODULE \
    HSMCA_FAULT_CONFIG=$W/fault.conf HSMCA_AUDIT_TEST_DIR=$W/logs "$HSMCA_AUDIT_UNIT"
rc=$?
set -e
[ "$rc" -eq 0 ] || die "audit unit tests failed (exit $rc)"
rm -rf "$W"
