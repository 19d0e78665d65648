# SPDX-License-Identifier: Apache-2.0
# Unit tests of the HTTP server module (src/http).
add_executable(test_http_router unit/test_http_router.c)
target_link_libraries(test_http_router PRIVATE hsmca ${CMOCKA_LIBRARY})
add_test(NAME unit.test_http_router COMMAND test_http_router)
set_tests_properties(unit.test_http_router PROPERTIES LABELS "http" ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")
