# SPDX-License-Identifier: Apache-2.0
# The PKI "issue" and "generate" endpoint groups (src/api/openbao/pki_issue.c,
# pki_generate.c) through the real hsmcad: certificates judged by openssl and
# certtool, the token by pkcs11-tool, the store by its bytes.
hsmca_api_test(test_api_issue 300)
hsmca_api_test(test_api_generate 300)
