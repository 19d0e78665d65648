# SPDX-License-Identifier: Apache-2.0
# Tests of the daemon and its OpenBao API: the real hsmcad (development mode)
# over real sockets, judged by curl, jq, openssl, certtool and npm Vault
# clients. Endpoint groups register their own scripts through
# hsmca_api_test() in the fragments included at the end.
function(hsmca_api_test name timeout)
    add_test(NAME integration.${name} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
    set_tests_properties(integration.${name} PROPERTIES
        LABELS "token;api"
        TIMEOUT ${timeout}
        SKIP_RETURN_CODE 77
        ENVIRONMENT "HSMCAD=$<TARGET_FILE:hsmcad>;HSMCA_CLI=$<TARGET_FILE:hsmca-cli>;HSMCA_P11RAW=$<TARGET_FILE:hsmca-p11raw>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/${name};${HSMCA_TEST_SAN_ENV}")
endfunction()

foreach(script test_api_server test_api_auth test_api_audit)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${script}.sh)
        hsmca_api_test(${script} 300)
    endif()
endforeach()
# The daemon is threads all the way down (I/O pool, workers, store writer,
# audit syncer): its server and authorisation tests also run in the
# ThreadSanitizer stage of scripts/test.sh.
foreach(script test_api_server test_api_auth)
    if(TEST integration.${script})
        set_property(TEST integration.${script} APPEND PROPERTY LABELS concurrency)
    endif()
endforeach()

# Endpoint groups' own fragments (owned with their handlers).
foreach(fragment api_pki_issue api_pki_manage api_clients api_bad_input api_revocation api_ocsp api_cert_auth api_tidy)
    include(${CMAKE_CURRENT_SOURCE_DIR}/${fragment}.cmake OPTIONAL)
endforeach()
