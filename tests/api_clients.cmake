# SPDX-License-Identifier: Apache-2.0
# npm Vault clients (node-vault, hashi-vault-js) against the real hsmcad.
# They are installed by `npm ci` from tests/clients/package-lock.json into the
# test's work directory in the build tree; the npm registry must be reachable.
hsmca_api_test(test_api_clients 300)
set_tests_properties(integration.test_api_clients PROPERTIES LABELS "token;api;npm")
