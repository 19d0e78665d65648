# SPDX-License-Identifier: Apache-2.0
# Tests of the CA core operations (src/ca): chains for every issuer key
# type judged by openssl and certtool, imports, cross-signs, bad input.
add_executable(hsmca-ca-testtool tools/ca_testtool.c)
target_link_libraries(hsmca-ca-testtool PRIVATE hsmca)

function(hsmca_ca_test name timeout)
    add_test(NAME integration.${name} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
    set_tests_properties(integration.${name} PROPERTIES
        LABELS "token;ca"
        TIMEOUT ${timeout}
        SKIP_RETURN_CODE 77
        ENVIRONMENT "HSMCA_CA_TESTTOOL=$<TARGET_FILE:hsmca-ca-testtool>;HSMCA_TESTTOOL=$<TARGET_FILE:hsmca-testtool>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/${name};${HSMCA_TEST_SAN_ENV}")
endfunction()

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ca_chains.sh)
    hsmca_ca_test(test_ca_chains 300)
endif()

# The lint gate: the negative lint corpus through the real signing pipeline.
add_executable(test_ca_lint_gate unit/test_ca_lint_gate.c)
target_include_directories(test_ca_lint_gate PRIVATE ${PROJECT_SOURCE_DIR}/src/ca)
target_link_libraries(test_ca_lint_gate PRIVATE hsmca hsmca-lint-corpus ${CMOCKA_LIBRARY})
add_executable(test_ca_cache unit/test_ca_cache.c unit/unit_util.c)
target_link_libraries(test_ca_cache PRIVATE hsmca ${CMOCKA_LIBRARY})

add_executable(test_ca_serials unit/test_ca_serials.c)
target_link_libraries(test_ca_serials PRIVATE hsmca ${CMOCKA_LIBRARY})

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ca_core.sh)
    hsmca_ca_test(test_ca_core 300)
    set_property(TEST integration.test_ca_core APPEND PROPERTY ENVIRONMENT
        "HSMCA_CA_LINT_GATE=$<TARGET_FILE:test_ca_lint_gate>;HSMCA_CA_SERIALS=$<TARGET_FILE:test_ca_serials>;HSMCA_CA_CACHE=$<TARGET_FILE:test_ca_cache>;HSMCA_FAULT_MODULE=$<TARGET_FILE:hsmca-fault-pkcs11>")
endif()
