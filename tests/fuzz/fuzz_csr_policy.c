/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for CSR parse + policy evaluation (pki/sign): the input
 * is a DER CertificationRequest, read as OpenSSL reads a client's CSR, then
 * judged by the policy engine under a role that uses the CSR's names
 * (use_csr_common_name, use_csr_sans) against allowed_domains with
 * subdomains and globs. Any input must be accepted or refused cleanly; an
 * accepted request must yield a template with a subject. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "hsmca/policy.h"
#include "hsmca/role.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hsmca_role role;
static int role_ready;

static int init_role(void)
{
    json_t *body = json_pack("{s:s,s:b,s:b,s:b,s:b,s:s}", "allowed_domains", "example.com,*.example.org",
                             "allow_subdomains", 1, "allow_glob_domains", 1, "use_csr_common_name", 1,
                             "use_csr_sans", 1, "key_type", "any");
    int ok = body != NULL && hsmca_role_from_json(body, NULL, false, &role, NULL) == HSMCA_OK &&
             hsmca_role_set_name(&role, "fuzz") == HSMCA_OK && hsmca_role_validate(&role, NULL) == HSMCA_OK;

    json_decref(body);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)size);
    hsmca_issue_request req;
    hsmca_policy_context ctx;
    hsmca_cert_template t;

    if (!role_ready) {
        if (!init_role())
            abort(); /* the fixed role must be valid */
        role_ready = 1;
    }
    if (csr == NULL)
        return 0;
    memset(&req, 0, sizeof(req));
    memset(&ctx, 0, sizeof(ctx));
    memset(&t, 0, sizeof(t));
    req.csr = csr;
    req.pubkey = X509_REQ_get0_pubkey(csr);
    ctx.now = 1767225600; /* 2026-01-01: fixed, so runs reproduce */
    ctx.issuer_not_after = ctx.now + 10 * 365 * 86400;
    ctx.default_ttl = 768 * 3600;
    ctx.max_ttl = 768 * 3600;
    if (req.pubkey != NULL && hsmca_policy_evaluate(&role, &req, &ctx, &t) == HSMCA_OK) {
        if (t.subject == NULL || t.not_after <= t.not_before)
            abort(); /* accepted, but no subject or an empty validity */
    }
    hsmca_cert_template_clear(&t);
    X509_REQ_free(csr);
    return 0;
}
