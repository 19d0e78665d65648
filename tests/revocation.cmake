# SPDX-License-Identifier: Apache-2.0
# Tests of src/revocation that need no token: the DER primitives, the
# streaming CRL encoder (with a software key) and config/crl's rules. The
# endpoints run end to end in test_api_revocation (tests/api_revocation.cmake).
hsmca_unit_test(test_revocation)
target_include_directories(test_revocation PRIVATE ${PROJECT_SOURCE_DIR}/src/revocation)
set_tests_properties(unit.test_revocation PROPERTIES TIMEOUT 120 ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")
