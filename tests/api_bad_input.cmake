# SPDX-License-Identifier: Apache-2.0
# The bad-input corpus (tests/integration/bad_input_corpus.txt) and slow
# clients against the real hsmcad.
hsmca_api_test(test_api_bad_input 300)
