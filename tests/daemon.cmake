# SPDX-License-Identifier: Apache-2.0
# hsmcad as a systemd service (issue #7): the notify protocol, watchdog,
# SIGTERM under load, SIGHUP reload and socket activation, through the real
# daemon started from a configuration file with the PIN as a credential;
# tests/tools/sd_harness.py stands in for the manager's side of each protocol.
function(hsmca_systemd_test name timeout)
    set(env "HSMCAD=$<TARGET_FILE:hsmcad>" "HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/${name}" ${HSMCA_TEST_SAN_ENV})
    if(TARGET hsmca-fault-pkcs11)
        list(APPEND env "HSMCA_FAULT_MODULE=$<TARGET_FILE:hsmca-fault-pkcs11>")
    endif()
    add_test(NAME integration.${name} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${name}.sh)
    set_tests_properties(integration.${name} PROPERTIES
        LABELS "token;systemd"
        TIMEOUT ${timeout}
        SKIP_RETURN_CODE 77
        ENVIRONMENT "${env}")
endfunction()

if(TARGET hsmca-fault-pkcs11)
    hsmca_systemd_test(test_systemd_notify 120)
    # Watchdog timing (pings every 200 ms) is a property of hsmcad, not of a
    # machine busy with other tests.
    set_property(TEST integration.test_systemd_notify PROPERTY RUN_SERIAL TRUE)
endif()
hsmca_systemd_test(test_systemd_stop 180)
hsmca_systemd_test(test_systemd_reload 120)
hsmca_systemd_test(test_systemd_activation 120)
set_property(TEST integration.test_systemd_stop APPEND PROPERTY LABELS concurrency)

# The units and the installed tree (no daemon runs in these).
find_program(SYSTEMD_ANALYZE systemd-analyze)
if(SYSTEMD_ANALYZE)
    add_test(NAME integration.test_systemd_units COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_systemd_units.sh)
    add_test(NAME integration.test_install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_install.sh)
    set_tests_properties(integration.test_systemd_units integration.test_install PROPERTIES
        LABELS systemd TIMEOUT 120
        ENVIRONMENT "HSMCA_BUILD_DIR=${PROJECT_BINARY_DIR};HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/units")
    set_property(TEST integration.test_install PROPERTY ENVIRONMENT
        "HSMCA_BUILD_DIR=${PROJECT_BINARY_DIR};HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/install")
    find_program(DPKG_DEB dpkg-deb)
    find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
    if(DPKG_DEB AND DPKG_SHLIBDEPS)
        add_test(NAME integration.test_package COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_package.sh)
        set_tests_properties(integration.test_package PROPERTIES LABELS systemd TIMEOUT 180
            ENVIRONMENT "HSMCA_BUILD_DIR=${PROJECT_BINARY_DIR};HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/package")
    endif()
else()
    message(WARNING "systemd-analyze is not installed: the unit and install tests are not registered")
endif()

# notify.c on its own (cmocka): the daemon's sources are not a library, so
# the test compiles the one file it checks.
add_executable(test_daemon_notify unit/test_daemon_notify.c unit/unit_util.c
    ${PROJECT_SOURCE_DIR}/src/daemon/notify.c)
target_include_directories(test_daemon_notify PRIVATE ${PROJECT_SOURCE_DIR}/src/daemon)
target_link_libraries(test_daemon_notify PRIVATE hsmca ${CMOCKA_LIBRARY})
add_test(NAME unit.test_daemon_notify COMMAND test_daemon_notify)
set_tests_properties(unit.test_daemon_notify PROPERTIES LABELS systemd
    ENVIRONMENT "HSMCA_TEST_WORKDIR=${HSMCA_TEST_WORK}/unit_notify")
