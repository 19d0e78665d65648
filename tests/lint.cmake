# SPDX-License-Identifier: Apache-2.0
# Tests of the pre-issuance lint (src/ca/lint*.c): the rule table, the
# negative corpus (at least one case per rule) and the rule families.
set(HSMCA_LINT_SOURCES
    ${PROJECT_SOURCE_DIR}/src/ca/lint.c
    ${PROJECT_SOURCE_DIR}/src/ca/lint_time.c
    ${PROJECT_SOURCE_DIR}/src/ca/lint_ext.c
    ${PROJECT_SOURCE_DIR}/src/ca/lint_key.c
    ${PROJECT_SOURCE_DIR}/src/ca/lint_names.c)

# The corpus builder is a library of its own so the CA's lint-gate test can
# push the very same certificates through the real issuance path.
add_library(hsmca-lint-corpus STATIC unit/lint_corpus.c)
target_include_directories(hsmca-lint-corpus PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(hsmca-lint-corpus PUBLIC hsmca OpenSSL::Crypto)

hsmca_unit_test(test_lint)
# Until src/ca/CMakeLists.txt puts the lint into libhsmca, the test compiles
# it itself; once libhsmca has it, linking twice would duplicate symbols.
get_target_property(_hsmca_sources hsmca SOURCES)
list(FILTER _hsmca_sources INCLUDE REGEX "(^|/)lint\\.c$")
if(NOT _hsmca_sources)
    target_sources(test_lint PRIVATE ${HSMCA_LINT_SOURCES})
endif()
# The DNS/Punycode checks are tested directly through the private header.
target_include_directories(test_lint PRIVATE ${PROJECT_SOURCE_DIR}/src/ca)
target_link_libraries(test_lint PRIVATE hsmca-lint-corpus)
set_tests_properties(unit.test_lint PROPERTIES LABELS lint TIMEOUT 120 ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")
