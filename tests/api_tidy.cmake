# SPDX-License-Identifier: Apache-2.0
# Tidy endpoints (src/api/openbao/pki_tidy.c; src/revocation/tidy.c) through
# the real hsmcad, with the CRL after tidy judged by openssl.
hsmca_api_test(test_api_tidy 300)
# Tidy runs: audit entries per run, OCSP cache, stored certificate counts,
# issuer associations (tests/integration/test_api_tidy_runs.sh).
hsmca_api_test(test_api_tidy_runs 300)
