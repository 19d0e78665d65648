/* SPDX-License-Identifier: Apache-2.0 */
/* PKI endpoint group "issue" (see pki_routes.c); its routes are added here. */
#include "internal.h"

const hsmca_http_route ob_issue_routes[] = {{0, "", NULL, 0}};
const size_t ob_issue_routes_n = 0;
