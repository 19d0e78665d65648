# SPDX-License-Identifier: Apache-2.0
# The OCSP responder (src/revocation/ocsp*.c, src/api/openbao/pki_ocsp.c)
# through the real hsmcad, judged by openssl ocsp and GnuTLS ocsptool.
hsmca_api_test(test_api_ocsp 300)
