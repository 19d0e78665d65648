# SPDX-License-Identifier: Apache-2.0
# Revocation and CRL endpoints (src/api/openbao/pki_revoke.c, pki_crl.c;
# src/revocation) through the real hsmcad, judged by openssl and certtool.
hsmca_api_test(test_api_revocation 300)
# CRLs served from memory, and every path that signs one seen by the next
# read (tests/integration/test_api_crl_cache.sh).
hsmca_api_test(test_api_crl_cache 300)
