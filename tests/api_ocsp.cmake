# SPDX-License-Identifier: Apache-2.0
# The OCSP responder (src/revocation/ocsp*.c, src/api/openbao/pki_ocsp.c)
# through the real hsmcad, judged by openssl ocsp and GnuTLS ocsptool.
hsmca_api_test(test_api_ocsp 300)

# The core in one process with a real token (cache, invalidation, rollover).
add_executable(test_ocsp_core unit/test_ocsp_core.c unit/unit_util.c)
target_include_directories(test_ocsp_core PRIVATE ${PROJECT_SOURCE_DIR}/src/revocation)
target_link_libraries(test_ocsp_core PRIVATE hsmca ${CMOCKA_LIBRARY})
add_test(NAME integration.test_ocsp_core COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ocsp_core.sh)
set_tests_properties(integration.test_ocsp_core PROPERTIES
    LABELS "token;ca"
    TIMEOUT 120
    ENVIRONMENT "HSMCA_OCSP_CORE=$<TARGET_FILE:test_ocsp_core>;HSMCA_FAULT_MODULE=$<TARGET_FILE:hsmca-fault-pkcs11>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/test_ocsp_core;${HSMCA_TEST_SAN_ENV}")
hsmca_api_test(test_api_ocsp_http 180)
