# SPDX-License-Identifier: Apache-2.0
# Tests of src/revocation that need no token: the DER primitives, the
# streaming CRL encoder (with a software key) and config/crl's rules. The
# endpoints run end to end in test_api_revocation (tests/api_revocation.cmake).
hsmca_unit_test(test_revocation)
target_include_directories(test_revocation PRIVATE ${PROJECT_SOURCE_DIR}/src/revocation)
set_tests_properties(unit.test_revocation PROPERTIES TIMEOUT 120 ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")

# The core against a real token: listener, no_store revocation by PEM, wrong
# keys, auto_rebuild (the wrapper script makes the token).
add_executable(test_revocation_core unit/test_revocation_core.c unit/unit_util.c)
target_link_libraries(test_revocation_core PRIVATE hsmca ${CMOCKA_LIBRARY})
add_test(NAME integration.test_revocation_core COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_revocation_core.sh)
set_tests_properties(integration.test_revocation_core PROPERTIES
    LABELS token TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "HSMCA_REVOCATION_CORE=$<TARGET_FILE:test_revocation_core>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/test_revocation_core;${HSMCA_TEST_SAN_ENV}")
