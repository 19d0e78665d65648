# SPDX-License-Identifier: Apache-2.0
# Tests of roles, the issuance policy engine and durations (included by
# tests/CMakeLists.txt). Pure computation: no token, no database.
foreach(t test_duration test_role test_policy)
    hsmca_unit_test(${t})
    set_tests_properties(unit.${t} PROPERTIES LABELS policy TIMEOUT 120 ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")
endforeach()
