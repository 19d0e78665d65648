# SPDX-License-Identifier: Apache-2.0
# Reliability harnesses (issue 9, tests/reliability/): the short CI versions.
# The full versions run on demand: scripts/reliability.sh --full
# (docs/reliability.md gives each one's run time and pass criteria).

# Serial quality: 1,000,000 serials in-process from a real token (about 10 s).
add_executable(serial_quality reliability/serial_quality.c)
target_link_libraries(serial_quality PRIVATE hsmca)
add_test(NAME reliability.serial_quality COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/reliability/serial_quality.sh)
set_tests_properties(reliability.serial_quality PROPERTIES
    LABELS "token;reliability" TIMEOUT 240 SKIP_RETURN_CODE 77
    ENVIRONMENT "HSMCA_SERIAL_QUALITY=$<TARGET_FILE:serial_quality>;HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/reliability_serial_quality;${HSMCA_TEST_SAN_ENV}")

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import cryptography"
                    RESULT_VARIABLE _hsmca_py_crypto OUTPUT_QUIET ERROR_QUIET)
endif()
if(NOT Python3_FOUND OR NOT _hsmca_py_crypto EQUAL 0)
    message(WARNING "python3 with cryptography is missing (scripts/install-deps.sh): reliability tests are not registered")
    return()
endif()

# hsmca_reliability_test(NAME TIMEOUT SCRIPT ARGS...): tests/reliability/SCRIPT.
function(hsmca_reliability_test name timeout script)
    add_test(NAME reliability.${name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/reliability/${script}
                     --workdir ${HSMCA_TEST_WORK}/reliability_${name} ${ARGN})
    set_tests_properties(reliability.${name} PROPERTIES
        LABELS "token;reliability"
        TIMEOUT ${timeout}
        SKIP_RETURN_CODE 77
        ENVIRONMENT "HSMCAD=$<TARGET_FILE:hsmcad>;${HSMCA_TEST_SAN_ENV}")
endfunction()

# kill -9 chaos: 12 SIGKILLs 0.5-3 s apart under 32 clients (about 30 s).
hsmca_reliability_test(chaos_kill 180 chaos_kill.py --kills 12 --clients 32 --min-gap 0.5 --max-gap 3)
# Storage failure: a trigger aborts the certificate insert for one domain.
hsmca_reliability_test(storage_failure 90 storage_failure.py --rounds 5 --require-revocation)
# PKCS#11 chaos: 1% faults on every call, then the token directory moved
# away and back, 16 clients each time (about 30 s). Regression test for the
# daemon bugs it found (audit-MAC outages answered 500, no Retry-After on
# 503, no recovery after SoftHSM2's CKR_GENERAL_ERROR).
if(TARGET hsmca-fault-pkcs11)
    hsmca_reliability_test(p11_chaos 180 p11_chaos.py --seconds 12)
    set_property(TEST reliability.p11_chaos APPEND PROPERTY ENVIRONMENT
                 "HSMCA_FAULT_MODULE=$<TARGET_FILE:hsmca-fault-pkcs11>")
endif()
# OCSP truthfulness: 10,000 random never-issued serials (1-32 per request,
# GET and POST, nonce or not) -> 0 good, 200 of them also by openssl ocsp;
# revoked right after SIGTERM and SIGKILL restarts (about 5 s).
hsmca_reliability_test(ocsp_truth 120 ocsp_truth.py --serials 10000 --sample 200)
