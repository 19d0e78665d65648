# SPDX-License-Identifier: Apache-2.0
# Tests of the offline CA operations of key ceremonies (src/ca/offline.c)
# and the CRL lint (src/ca/lint_crl.c). The end-to-end ceremony test,
# integration/test_ceremony.sh, is a token test in tests/CMakeLists.txt.
hsmca_unit_test(test_offline)
set_tests_properties(unit.test_offline PROPERTIES LABELS lint ENVIRONMENT "${HSMCA_TEST_SAN_ENV}")
# The no-echo PIN prompts' success path on a pseudo-terminal (python3 pty).
hsmca_token_test(test_pin_prompt 120)
