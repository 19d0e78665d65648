/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the OpenBao API's JSON request bodies, one binary
 * per endpoint family (FUZZ_API_FAMILY, set by CMake). The input's first
 * byte picks one of the family's routes, the rest is the body, sent over a
 * real socket to the real HTTP server and dispatcher (fuzz_env.c) on a real
 * SoftHSM2 token: the body meets exactly the parser and validators hsmcad
 * runs. The rule judged is the appliance's: bad input gets a 4xx with a
 * message, never a 5xx, a crash or a hang; what a write accepted reads back
 * with 200.
 *
 * Seeds may hold placeholders the target fills in, so that the mutations
 * reach the validators behind a valid CSR or certificate: @CSR@ (a PEM
 * CSR for a.example.com), @CA@ (the mount's issuer certificate), @CERT@
 * and @SERIAL@ (a leaf the mount issued at start-up), each JSON-escaped. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_API_FAMILY
#error "FUZZ_API_FAMILY must name the endpoint family"
#endif

typedef struct {
    const char *method;
    const char *path;
    const char *read_back;   /* GET after a 2xx write; NULL: none */
    const char *undo;        /* DELETE after a 2xx write (keeps a create reachable); NULL: none */
} route;

typedef struct {
    const char *name;
    const route *routes;
    size_t n;
} family;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const route roles[] = {
    {"POST", "pki/roles/fz", "pki/roles/fz", NULL},
    {"PATCH", "pki/roles/fz", "pki/roles/fz", NULL},
};
static const route issue[] = {
    {"POST", "pki/issue/web", NULL, NULL},
    {"POST", "pki/sign/web", NULL, NULL},
    {"POST", "pki/sign-verbatim/web", NULL, NULL},
    {"POST", "pki/sign-verbatim", NULL, NULL},
    {"POST", "pki/root/sign-intermediate", NULL, NULL},
    {"POST", "pki/issuer/default/issue/web", NULL, NULL},
};
static const route config[] = {
    {"POST", "pki/config/urls", "pki/config/urls", NULL},
    {"POST", "pki/config/crl", "pki/config/crl", NULL},
    {"POST", "pki/config/auto-tidy", "pki/config/auto-tidy", NULL},
    {"POST", "pki/config/issuers", "pki/config/issuers", NULL},
    {"POST", "pki/config/ocsp", "pki/config/ocsp", NULL},
};
static const route revoke[] = {
    {"POST", "pki/revoke", NULL, NULL},
    {"POST", "pki/revoke-with-key", NULL, NULL},
};
static const route tidy[] = {
    {"POST", "pki/tidy", "pki/tidy-status", NULL},
    {"POST", "pki/tidy-cancel", NULL, NULL},
};
static const route sys[] = {
    {"POST", "sys/policies/acl/fz", "sys/policies/acl/fz", NULL},
    {"POST", "sys/auth/fz", NULL, "sys/auth/fz"},
    {"POST", "sys/mounts/fz", NULL, "sys/mounts/fz"},
    {"POST", "sys/mounts/pki/tune", "sys/mounts/pki/tune", NULL},
    {"POST", "sys/capabilities-self", NULL, NULL},
};
static const route auth_cert[] = {
    {"POST", "auth/cert/certs/fz", "auth/cert/certs/fz", NULL},
    {"POST", "auth/cert/crls/fz", "auth/cert/crls/fz", NULL},
    {"POST", "auth/cert/config", "auth/cert/config", NULL},
};

static const family families[] = {
    {"roles", roles, N(roles)},       {"issue", issue, N(issue)},    {"config", config, N(config)},
    {"revoke", revoke, N(revoke)},    {"tidy", tidy, N(tidy)},       {"sys", sys, N(sys)},
    {"auth_cert", auth_cert, N(auth_cert)},
};

static fuzz_env env;
static const family *fam;
/* placeholder values, JSON-escaped without quotes */
static char *ph_csr, *ph_ca, *ph_cert, *ph_serial;

/* The JSON string body of s without its quotes. */
static char *json_escaped(const char *s)
{
    json_t *j = json_string(s);
    char *t = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    char *out = NULL;

    if (t != NULL && strlen(t) >= 2) {
        out = strndup(t + 1, strlen(t) - 2);
    }
    free(t);
    json_decref(j);
    if (out == NULL)
        abort();
    return out;
}

static char *csr_pem(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    char *out;

    if (k == NULL || r == NULL || n == NULL || b == NULL ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"a.example.com", -1, -1, 0) ||
        !X509_REQ_set_subject_name(r, n) || !X509_REQ_set_pubkey(r, k) || !X509_REQ_sign(r, k, EVP_sha256()) ||
        !PEM_write_bio_X509_REQ(b, r) || BIO_get_mem_ptr(b, &bm) != 1)
        abort();
    out = strndup(bm->data, bm->length);
    BIO_free(b);
    X509_NAME_free(n);
    X509_REQ_free(r);
    EVP_PKEY_free(k);
    if (out == NULL)
        abort();
    return out;
}

/* data.<field> of a 2xx response to a setup request, JSON-escaped. */
static char *setup_field(const char *method, const char *path, const char *json, const char *field)
{
    char *body = NULL, *out;
    int status = fuzz_http(&env, method, path, json, strlen(json), &body);
    json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(json_object_get(j, "data"), field));

    if (status != 200 || v == NULL) {
        fprintf(stderr, "fuzz_api: setup %s %s answered %d: %s\n", method, path, status, body ? body : "");
        abort();
    }
    out = json_escaped(v);
    json_decref(j);
    free(body);
    return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *csr;

    for (size_t i = 0; i < N(families); i++)
        if (strcmp(families[i].name, FUZZ_API_FAMILY) == 0)
            fam = &families[i];
    if (fam == NULL)
        abort();
    fuzz_daemon_start(&env, "pki");
    ph_ca = setup_field("POST", "pki/root/generate/internal",
                        "{\"common_name\":\"Fuzz Root\",\"key_type\":\"ec\",\"key_bits\":256,\"ttl\":\"87600h\"}",
                        "certificate");
    fuzz_http_ok(&env, "POST", "pki/roles/web",
                 "{\"allowed_domains\":\"example.com\",\"allow_subdomains\":true,\"key_type\":\"ec\",\"key_bits\":256,"
                 "\"ttl\":\"24h\",\"max_ttl\":\"720h\"}");
    fuzz_http_ok(&env, "POST", "sys/auth/cert", "{\"type\":\"cert\"}");
    ph_cert = setup_field("POST", "pki/issue/web", "{\"common_name\":\"leaf.example.com\",\"key_type\":\"ec\"}",
                          "certificate");
    ph_serial = setup_field("POST", "pki/issue/web", "{\"common_name\":\"s.example.com\",\"key_type\":\"ec\"}",
                            "serial_number");
    csr = csr_pem();
    ph_csr = json_escaped(csr);
    free(csr);
    return 0;
}

/* body with every placeholder replaced (malloc'd). */
static char *expand(const uint8_t *data, size_t size, size_t *out_len)
{
    static const char *const names[] = {"@CSR@", "@CA@", "@CERT@", "@SERIAL@"};
    const char *values[] = {ph_csr, ph_ca, ph_cert, ph_serial};
    size_t cap = size + 1, len = 0;
    char *out;

    for (size_t i = 0; i < size; i++)
        if (data[i] == '@')
            cap += 8192; /* a generous bound per possible placeholder */
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < size;) {
        size_t k;
        for (k = 0; k < N(names); k++) {
            size_t n = strlen(names[k]);
            if (size - i >= n && memcmp(data + i, names[k], n) == 0 && strlen(values[k]) <= 8192) {
                memcpy(out + len, values[k], strlen(values[k]));
                len += strlen(values[k]);
                i += n;
                break;
            }
        }
        if (k == N(names))
            out[len++] = (char)data[i++];
    }
    out[len] = '\0';
    *out_len = len;
    return out;
}

static void judge(const char *method, const char *path, int status, const char *body)
{
    if (status == 0 || status >= 500) {
        fprintf(stderr, "fuzz_api: %s %s answered %d: %s\n", method, path, status, body ? body : "(nothing)");
        abort();
    }
    if (status >= 400) {
        /* a refusal says why: {"errors": ["..."]} with a message */
        json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
        const char *m = json_string_value(json_array_get(json_object_get(j, "errors"), 0));
        if (m == NULL || m[0] == '\0') {
            fprintf(stderr, "fuzz_api: %s %s answered %d without a message: %s\n", method, path, status,
                    body ? body : "");
            abort();
        }
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const route *r;
    char *req, *body = NULL;
    size_t len = 0;
    int status;

    if (size == 0)
        return 0;
    r = &fam->routes[data[0] % fam->n];
    req = expand(data + 1, size - 1, &len);
    if (req == NULL)
        return 0;
    status = fuzz_http(&env, r->method, r->path, req, len, &body);
    if (getenv("FUZZ_API_VERBOSE") != NULL) /* to see what seeds reach */
        fprintf(stderr, "fuzz_api: %s %s -> %d %.300s\n", r->method, r->path, status, body ? body : "");
    judge(r->method, r->path, status, body);
    free(body);
    body = NULL;
    if (status >= 200 && status < 300) {
        if (r->read_back != NULL) {
            status = fuzz_http(&env, "GET", r->read_back, NULL, 0, &body);
            if (status != 200) {
                fprintf(stderr, "fuzz_api: %s %s was accepted but GET %s answered %d: %s\n", r->method, r->path,
                        r->read_back, status, body ? body : "");
                abort();
            }
            free(body);
            body = NULL;
        }
        if (r->undo != NULL) {
            status = fuzz_http(&env, "DELETE", r->undo, NULL, 0, &body);
            judge("DELETE", r->undo, status, body);
            free(body);
        }
    }
    free(req);
    return 0;
}
