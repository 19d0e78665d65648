# SPDX-License-Identifier: Apache-2.0
# Tidy endpoints (src/api/openbao/pki_tidy.c; src/revocation/tidy.c) through
# the real hsmcad, with the CRL after tidy judged by openssl.
hsmca_api_test(test_api_tidy 300)
