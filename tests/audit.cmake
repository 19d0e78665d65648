# SPDX-License-Identifier: Apache-2.0
# Tests of the audit log (src/audit, hsm/p11/hmac.c, `hsmca audit verify`),
# included by tests/CMakeLists.txt. Each makes its own SoftHSM2 token under
# work/<name> in this build directory.
add_executable(test_audit unit/test_audit.c)
target_link_libraries(test_audit PRIVATE hsmca ${CMOCKA_LIBRARY})
add_executable(hsmca-audit-testtool unit/test_audit_tool.c)
target_link_libraries(hsmca-audit-testtool PRIVATE hsmca)

# The unit tests need the token behind the fault module (MAC failures).
if(TARGET hsmca-fault-pkcs11)
    add_test(NAME unit.test_audit COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_audit_unit.sh)
    # 8 writer threads: the ThreadSanitizer stage runs it too.
    set_tests_properties(unit.test_audit PROPERTIES
        LABELS "audit;token;concurrency"
        TIMEOUT 180
        SKIP_RETURN_CODE 77
        ENVIRONMENT "HSMCA_AUDIT_UNIT=$<TARGET_FILE:test_audit>;HSMCA_FAULT_MODULE=$<TARGET_FILE:hsmca-fault-pkcs11>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/test_audit_unit;${HSMCA_TEST_SAN_ENV}")
else()
    message(WARNING "hsm/fault is not built: unit.test_audit is not registered")
endif()

add_test(NAME integration.test_audit_verify COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_audit_verify.sh)
set_tests_properties(integration.test_audit_verify PROPERTIES
    LABELS "audit;token"
    TIMEOUT 180
    SKIP_RETURN_CODE 77
    ENVIRONMENT "HSMCA_CLI=$<TARGET_FILE:hsmca-cli>;HSMCA_AUDIT_TESTTOOL=$<TARGET_FILE:hsmca-audit-testtool>;HSMCA_P11RAW=$<TARGET_FILE:hsmca-p11raw>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/test_audit_verify;${HSMCA_TEST_SAN_ENV}")
