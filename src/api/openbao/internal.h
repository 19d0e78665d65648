/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the OpenBao dialect: the dispatcher's state, the request-field
 * schemas every endpoint declares, and the helpers handlers share. A
 * handler translates one request into one core call and its result into
 * OpenBao's response; it never builds certificates itself. */
#ifndef HSMCA_SRC_API_OPENBAO_INTERNAL_H
#define HSMCA_SRC_API_OPENBAO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "hsmca/auth.h"
#include "hsmca/auth_cert.h"
#include "hsmca/ca.h"
#include "hsmca/http.h"
#include "hsmca/openbao.h"

/* ---- request fields ---- */

typedef enum {
    OBF_STRING,   /* string (numbers refused) */
    OBF_INT,      /* integer or decimal string */
    OBF_BOOL,     /* boolean, "true"/"false"/"1"/"0"... */
    OBF_DURATION, /* seconds: 3600, "1h", "7d" */
    OBF_LIST,     /* comma-separated string or array of strings */
    OBF_OBJECT,   /* a JSON object, as is */
    OBF_ANY       /* any JSON value, as is (the handler checks it) */
} ob_field_type;

typedef struct {
    const char *name;
    ob_field_type type;
} ob_field;

#define OB_FIELDS_END {NULL, OBF_ANY}

/* Bytes in one string field (a PEM bundle may be long). */
#define OB_STRING_MAX (256u * 1024u)
#define OB_ENTRY_MAX 1024u

/* The request's fields, typed per schema: the JSON body for writes, the
 * query string for reads (GET, LIST, DELETE). Values become canonical JSON
 * (strings, integers, booleans, arrays of strings; durations as integer
 * seconds). Fields the schema lacks are dropped with OpenBao's warning
 * naming them. NULL: resp holds the 400 (the message names the field). */
json_t *ob_fields(hsmca_http_req *req, hsmca_http_resp *resp, const ob_field *schema);

/* Readers of a normalised object (absent -> default). */
const char *ob_str(const json_t *in, const char *name, const char *dflt);
int64_t ob_int(const json_t *in, const char *name, int64_t dflt);
bool ob_bool(const json_t *in, const char *name, bool dflt);
bool ob_has(const json_t *in, const char *name);
/* Appends the list's entries to out. */
hsmca_rv ob_list(const json_t *in, const char *name, hsmca_strlist *out);

/* ---- dispatcher state ---- */

#define OB_MOUNTS_MAX 256

struct hsmca_openbao {
    hsmca_openbao_config cfg;
    hsmca_http_router *pki;  /* routes relative to a pki mount */
    hsmca_http_router *sys;  /* routes relative to "sys/" */
    hsmca_http_router *token;/* routes relative to "auth/token/" */
    hsmca_http_router *cert; /* routes relative to an enabled "auth/<path>/" of type cert */
    /* enabled PKI mounts, longest first (a request path is matched against
     * them in order); changed only by sys/mounts, under mounts_lock */
    pthread_rwlock_t mounts_lock;
    char *mounts[OB_MOUNTS_MAX];
    size_t n_mounts;
    _Atomic(hsmca_http_server *) server; /* for sys/metrics */
    hsmca_auth_ocsp_cache *ocsp_cache; /* the cert auth method's OCSP answers, per mount */
    /* CRLs from distribution points (auth_cert_crl_url.c): crl_lock
     * serialises their writes (API and refresher), crl_cond wakes the
     * refresher to stop */
    pthread_mutex_t crl_lock;
    pthread_cond_t crl_cond;
    pthread_t crl_thread;
    bool crl_thread_started;
    atomic_bool crl_stop;
    /* counters for sys/metrics */
    atomic_uint_fast64_t issued, issue_failed, denied, audit_failures;
    atomic_uint_fast64_t ocsp_get, ocsp_post; /* OCSP requests by method */
};

/* What the dispatcher attaches to each request (hsmca_http_req_context). */
typedef struct {
    bool authenticated;           /* a token was checked (false on unauthenticated routes) */
    hsmca_auth_token token;       /* the caller, after this request's use */
    char token_text[HSMCA_AUTH_TOKEN_MAX + 1]; /* as received (lookup-self etc.); cleansed after */
    json_t *audit;                /* details for the audit entry (non-secret) */
} ob_reqctx;

ob_reqctx *ob_ctx(const hsmca_http_req *req);
/* Adds a non-secret detail (serial_number, issuer_id, role...) to the
 * request's audit entry; value is stolen. */
void ob_audit_detail(hsmca_http_req *req, const char *key, json_t *value);
/* A certificate was issued or signed (sys/metrics). */
void ob_count_issued(void *arg, bool ok);

/* The mount a PKI route runs in (set by the dispatcher). */
const char *ob_mount(const hsmca_http_req *req);
hsmca_ca *ob_ca(void *arg);

/* ---- responses ---- */

/* The error for a failed core call. */
void ob_fail(hsmca_http_resp *resp, hsmca_rv rv);
/* ob_fail for a write whose request names a role, issuer or key: OpenBao
 * answers one that does not exist with 400 (a logical.ErrorResponse), not
 * 404, and clients such as hvac raise different exceptions for the two. */
void ob_fail_write(hsmca_http_resp *resp, hsmca_rv rv);
/* not_after, when given, is RFC 3339; false with the 400 in resp. */
bool ob_not_after_ok(const json_t *in, hsmca_http_resp *resp);
/* The subject, name and validity fields of a CA certificate request
 * (generate, sign-intermediate) into p; strings borrowed from in. */
hsmca_rv ob_ca_subject_read(const json_t *in, hsmca_ca_params *p);
/* signature_bits is 0 (the key's default), 256, 384 or 512; false with the
 * 400 in resp. */
bool ob_signature_bits_ok(const json_t *in, hsmca_http_resp *resp);
/* max_path_length (-1: no limit, else 0..255) into *out; false with the 400
 * in resp. */
bool ob_max_path_length_read(const json_t *in, hsmca_http_resp *resp, int *out);

/* OpenBao's `format` of certificates and CSRs in write responses. */
typedef enum { OB_FMT_PEM, OB_FMT_DER, OB_FMT_PEM_BUNDLE } ob_format;
/* format (pem, der, pem_bundle) and private_key_format ("", der, pem:
 * PKCS#1/SEC1; pkcs8) of the request; pkcs8 may be NULL. False with the 400
 * in resp. */
bool ob_format_read(const json_t *in, hsmca_http_resp *resp, ob_format *format, bool *pkcs8);
/* Base64 without line breaks, from malloc or (secure) the secure heap;
 * NULL on failure. */
char *ob_base64(const unsigned char *data, size_t len, bool secure);
/* A certificate or CSR as OpenBao returns it: PEM without the trailing
 * newline, or base64 DER for OB_FMT_DER. malloc'd; NULL on failure. */
char *ob_cert_text(X509 *x, ob_format f);
char *ob_csr_text(X509_REQ *r, ob_format f);
/* PEM text of a certificate / request / chain; NULL on failure. */
char *ob_cert_pem(X509 *x);
char *ob_csr_pem(X509_REQ *r);
json_t *ob_chain_pem_array(STACK_OF(X509) *chain);
json_t *ob_strlist_json(const hsmca_strlist *l);
/* OpenBao's serial text "39:dd:2e:..." of a certificate. */
void ob_serial_text(X509 *x, char *out, size_t size);
/* A LIST response: {"keys": [...]} (and key_info when given). */
void ob_list_response(hsmca_http_resp *resp, json_t *keys, json_t *key_info);
/* after/limit of a LIST request; false with a 400 in resp. */
bool ob_list_page(hsmca_http_req *req, hsmca_http_resp *resp, const char **after, size_t *limit);

/* A LIST of names or serials (roles, certs, certs/revoked): paging
 * fields, then the core's lister with its callback, then the response. An
 * invalid page position is reported against `after`. */
typedef hsmca_rv (*ob_name_lister)(hsmca_ca *ca, const char *mount, const char *after, size_t limit,
                                   int (*cb)(const char *name, void *arg), void *arg);
void ob_name_list(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, ob_name_lister list);

/* The default issuer's or key's id of the mount (config/issuers or
 * config/keys: `config` is "issuers" or "keys"), "" when none. */
void ob_default_id(void *arg, const char *mount, const char *config, char out[40]);

/* A LIST with key_info of a mount's issuers or keys, which the core walks
 * in id order: ob_id_page_start, then from the core's callback
 * ob_id_page_add (its return is the callback's), then ob_id_page_finish. */
typedef struct {
    const char *after;
    size_t limit;
    char default_id[40];
    json_t *keys, *info;
    bool failed;
} ob_id_page;
/* Paging fields and the default id; false with the 400 in resp. */
bool ob_id_page_start(hsmca_http_req *req, hsmca_http_resp *resp, void *arg, const char *config, ob_id_page *p);
/* 1 to go on, 0 to stop. entry (taken; NULL makes the page fail) is built
 * by make(item, is_default) only for an id on the page. */
int ob_id_page_add(ob_id_page *p, const char *id, json_t *(*make)(const void *item, bool is_default),
                   const void *item);
/* The response: the page, or the error of rv (or out of memory). */
void ob_id_page_finish(hsmca_http_resp *resp, ob_id_page *p, hsmca_rv rv);

/* ---- route tables ---- */
hsmca_rv ob_pki_routes(hsmca_http_router *r, hsmca_openbao *api);
hsmca_rv ob_sys_routes(hsmca_http_router *r, hsmca_openbao *api);
hsmca_rv ob_token_routes(hsmca_http_router *r, hsmca_openbao *api);
hsmca_rv ob_cert_routes(hsmca_http_router *r, hsmca_openbao *api);
hsmca_rv ob_sys_auth_routes(hsmca_http_router *r, hsmca_openbao *api);
hsmca_rv ob_cert_login_routes(hsmca_http_router *r, hsmca_openbao *api);
/* Fetches the CRL at url (bounded), verifies it against the CA
 * certificates of the mount's roles, and makes its stored document (body:
 * serials, url, this/next_update, refresh_at) and DER. */
hsmca_rv ob_cert_crl_from_url(hsmca_openbao *api, const char *mount, const char *url, char **body,
                              unsigned char **der, size_t *der_len);
/* The thread that refreshes url CRLs before their nextUpdate. */
hsmca_rv ob_cert_crl_refresher_start(hsmca_openbao *api);
void ob_cert_crl_refresher_stop(hsmca_openbao *api);
/* Whether token t may be renewed by this request: true for tokens not made
 * by a certificate login; for those, only with the very certificate of the
 * login presented on this connection, unless the method's config has
 * disable_binding. */
bool ob_cert_renew_allowed(hsmca_openbao *api, hsmca_http_req *req, const hsmca_auth_token *t);
/* The cert auth mount ("auth/<path>", its store mount name) that rel lies
 * in, copied to out; its length, 0 when rel is in none. */
size_t ob_cert_mount_find(hsmca_openbao *api, const char *rel, char *out, size_t size);
/* Reloads the table of enabled PKI mounts from the store. */
hsmca_rv ob_mounts_reload(hsmca_openbao *api);

#endif
