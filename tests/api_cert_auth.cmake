# SPDX-License-Identifier: Apache-2.0
# The TLS certificate auth method (auth/<path>/...): its mounts, roles,
# CRLs and config through the real daemon, judged by curl, jq and openssl.
hsmca_api_test(test_api_cert_auth 300)
hsmca_api_test(test_api_cert_login 300)
hsmca_api_test(test_api_cert_ocsp 300)
hsmca_api_test(test_api_cert_chain 300)
hsmca_api_test(test_api_cert_crl_url 300)
