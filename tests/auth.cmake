# SPDX-License-Identifier: Apache-2.0
# Tests of src/auth (tokens, policies, ACLs), included by tests/CMakeLists.txt.
# Each test makes its own SQLite store under work/auth in this build
# directory; no token (HSM) is needed. The threaded one carries the
# "concurrency" label, which the TSan stage of scripts/test.sh runs.
file(MAKE_DIRECTORY ${HSMCA_TEST_WORK}/auth)
set(HSMCA_AUTH_TEST_ENV "HSMCA_AUTH_TEST_DIR=${HSMCA_TEST_WORK}/auth" ${HSMCA_TEST_SAN_ENV})

foreach(t test_auth_token test_auth_acl test_auth_cert)
    hsmca_unit_test(${t})
    set_tests_properties(unit.${t} PROPERTIES LABELS auth TIMEOUT 300 ENVIRONMENT "${HSMCA_AUTH_TEST_ENV}")
endforeach()

# Uses counted exactly across threads, children vs a revoked parent,
# requests while policies are rewritten.
hsmca_unit_test(test_auth_concurrency)
set_tests_properties(unit.test_auth_concurrency PROPERTIES
    LABELS "auth;concurrency" TIMEOUT 300 ENVIRONMENT "${HSMCA_AUTH_TEST_ENV}")
