#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regression: an EVP_PKEY made in-process from a key object signs through that
# key's own token object, even when the process holds the same token open a
# second time (with another pool and verify policy). The provider used to
# find the key again by pkcs11: URI and could land on the other object.
# Observed through the verify policy: the token corrupts every signature
# (fault module), the first object re-verifies always, the second never
# (without a retry), so only the first object can notice.
#
# env (set by tests/CMakeLists.txt): HSMCA_TESTTOOL, HSMCA_FAULT_MODULE,
# HSMCA_TEST_WORKDIR
set -eu
. "$(dirname "$0")/../lib/token.sh"
need_env HSMCA_TESTTOOL HSMCA_FAULT_MODULE
need_tool softhsm2-util

W=$(workdir key_identity)
token_create "$W/token" identity
T=$HSMCA_TESTTOOL
"$T" gen ec 256 id-p256 >/dev/null 2>"$W/err" || { show "$W/err"; die "gen ec failed"; }

cat >"$W/fault.conf" <<CONF
module = $SOFTHSM_MODULE
corrupt = C_Sign every=1
CONF
HSMCA_TEST_MODULE=$HSMCA_FAULT_MODULE HSMCA_FAULT_CONFIG=$W/fault.conf HSMCA_TEST_VERIFY=always \
    "$T" identity id-p256 ecdsa SHA256 >"$W/out" 2>"$W/err" || { show "$W/err"; die "identity run failed"; }
out=$(cat "$W/out")
case "$out" in
"signed=0 first_bad=1 second_bad=0") pass "key signs through its own token object ($out)" ;;
*) show "$W/err"; die "key signed through the wrong token object: $out (want signed=0 first_bad=1 second_bad=0)" ;;
esac
