# SPDX-License-Identifier: Apache-2.0
# Tests of the PKI management endpoints (src/api/openbao/pki_issuers.c,
# pki_ca.c, pki_keys.c, pki_config.c) through the real hsmcad -dev, included
# by tests/api.cmake. Each starts its own daemon with its own SoftHSM2 token,
# database and audit log under work/<name> in this build directory.
if(COMMAND hsmca_api_test)
    foreach(script test_api_issuers test_api_keys test_api_certs_config)
        hsmca_api_test(${script} 300)
    endforeach()
endif()
# The rotation workflow (src/cli/rotate.c) against the real daemon.
hsmca_api_test(test_rotate 300)
