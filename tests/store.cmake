# SPDX-License-Identifier: Apache-2.0
# Tests of src/store (included by tests/CMakeLists.txt). Each test makes its
# own database under work/store in this build directory; nothing needs a
# token. The threaded ones carry the "concurrency" label, which the TSan
# stage of scripts/test.sh runs.
file(MAKE_DIRECTORY ${HSMCA_TEST_WORK}/store)
set(HSMCA_STORE_TEST_ENV "HSMCA_STORE_TEST_DIR=${HSMCA_TEST_WORK}/store" ${HSMCA_TEST_SAN_ENV})

hsmca_unit_test(test_store)
set_tests_properties(unit.test_store PROPERTIES
    LABELS store TIMEOUT 60 ENVIRONMENT "${HSMCA_STORE_TEST_ENV}")

# Group commit, reads beside a blocked writer, timeouts, nested reads.
hsmca_unit_test(test_store_concurrency)
set_tests_properties(unit.test_store_concurrency PROPERTIES
    LABELS "store;concurrency" TIMEOUT 120 ENVIRONMENT "${HSMCA_STORE_TEST_ENV}")

# kill -9 of a committing child process, and a full disk (RLIMIT_FSIZE).
hsmca_unit_test(test_store_crash)
set_tests_properties(unit.test_store_crash PROPERTIES
    LABELS "store;concurrency" TIMEOUT 120 ENVIRONMENT "${HSMCA_STORE_TEST_ENV}")
