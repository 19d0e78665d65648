/* SPDX-License-Identifier: Apache-2.0 */
/* PKI endpoint group "config" (see pki_routes.c); its routes are added here. */
#include "internal.h"

const hsmca_http_route ob_config_routes[] = {{0, "", NULL, 0}};
const size_t ob_config_routes_n = 0;
