/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of the hsmca provider: its context, key objects, error
 * raising and the algorithm tables of each operation. */
#ifndef HSMCA_HSM_PROVIDER_INTERNAL_H
#define HSMCA_HSM_PROVIDER_INTERNAL_H

#include <pthread.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "hsmca/p11.h"

#define HSMCA_PROV_MAX_TOKENS 16
/* Software operations (digests, public-key checks) must never come back
 * to this provider. */
#define HSMCA_PROV_PROPQ_SOFT "provider!=hsmca"

typedef struct {
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    char *module_path; /* pkcs11-module-path, else $HSMCA_PKCS11_MODULE */
    char *pin_file;    /* pkcs11-pin-file */
    /* Tokens this provider opened for the store, kept logged in until
     * teardown so each load does not log in again. */
    pthread_mutex_t lock;
    hsmca_p11_token *tokens[HSMCA_PROV_MAX_TOKENS];
    size_t n_tokens;
    EVP_MD *sha2[3]; /* SHA2-256/384/512, fetched once (sig_common.c) */
} prov_ctx;

/* The provider's key object (keydata): a token key and the provider that
 * made it. */
typedef struct {
    prov_ctx *prov;
    hsmca_p11_key *p11;
} prov_key;

/* Reasons for errors raised on the OpenSSL error stack. */
#define HSMCA_PROV_R_TOKEN 100      /* the token or PKCS#11 layer failed */
#define HSMCA_PROV_R_ARG 101        /* bad parameter or input */
#define HSMCA_PROV_R_UNSUPPORTED 102
#define HSMCA_PROV_R_NOMEM 103
#define HSMCA_PROV_R_CRYPTO 104

void prov_raise(prov_ctx *ctx, int reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises the PKCS#11 layer's last error detail. */
void prov_raise_hsmca(prov_ctx *ctx, hsmca_rv rv);

prov_key *prov_key_new(prov_ctx *ctx, hsmca_p11_key *p11);

/* In-process hand-over of one key object to km_import() (keymgmt.c). */
#define HSMCA_PROV_PARAM_PENDING_KEY "hsmca-pending-key"
extern _Thread_local hsmca_p11_key *hsmca_prov_pending_key;
void prov_key_free(prov_key *key);

/* Algorithm tables. */
extern const OSSL_ALGORITHM hsmca_prov_keymgmt[];
extern const OSSL_ALGORITHM hsmca_prov_signature[];
extern const OSSL_ALGORITHM hsmca_prov_store[];

extern const OSSL_DISPATCH hsmca_keymgmt_rsa_functions[];
extern const OSSL_DISPATCH hsmca_keymgmt_ec_functions[];
extern const OSSL_DISPATCH hsmca_keymgmt_ed25519_functions[];
extern const OSSL_DISPATCH hsmca_sig_rsa_functions[];
extern const OSSL_DISPATCH hsmca_sig_ecdsa_functions[];
extern const OSSL_DISPATCH hsmca_sig_ed25519_functions[];
extern const OSSL_DISPATCH hsmca_store_pkcs11_functions[];

/* ---- shared signature machinery (sig_common.c) ---- */

typedef struct {
    prov_ctx *prov;
    prov_key *key;
    hsmca_sig_scheme scheme; /* for RSA: PKCS1 or PSS by pad mode */
    int operation;           /* EVP_PKEY_OP_SIGN / EVP_PKEY_OP_VERIFY */
    char mdname[32];         /* OpenSSL's name of md, "" until set */
    EVP_MD *md;
    EVP_MD_CTX *mdctx;       /* digest state for RSA and ECDSA */
    int digesting;           /* between digest init and final */
    int pss_saltlen;         /* as the caller set it (RSA_PSS_SALTLEN_*) */
    char propq[64];
    unsigned char *msg;      /* EdDSA: the whole message is signed at once */
    size_t msg_len;
    /* the algorithm's set_ctx_params, applied at digest init */
    OSSL_FUNC_signature_set_ctx_params_fn *set_params;
} sig_ctx;

sig_ctx *sig_newctx(void *provctx, const char *propq, hsmca_sig_scheme scheme);
void sig_freectx(void *vctx);
void *sig_dupctx(void *vctx);
int sig_set_md(sig_ctx *ctx, const char *mdname, const char *props);
/* Signs a digest (or, for EdDSA, the message) in the token. */
int sig_sign_raw(sig_ctx *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                 const unsigned char *tbs, size_t tbslen);
int sig_init(sig_ctx *ctx, void *provkey, int operation, hsmca_key_type want);
/* The DER AlgorithmIdentifier of the current settings, into buf. */
int sig_algorithm_id(sig_ctx *ctx, unsigned char **der, size_t *len);

/* OSSL_SIGNATURE_PARAM_ALGORITHM_ID and _DIGEST, for every algorithm. */
int sig_get_common_params(sig_ctx *ctx, OSSL_PARAM params[]);
/* OSSL_SIGNATURE_PARAM_DIGEST (+ _PROPERTIES), if present. */
int sig_set_digest_params(sig_ctx *ctx, const OSSL_PARAM params[]);

/* RSA/ECDSA digest sign/verify functions shared by both. */
OSSL_FUNC_signature_digest_sign_update_fn sig_digest_sign_update;
OSSL_FUNC_signature_digest_sign_final_fn sig_digest_sign_final;
OSSL_FUNC_signature_sign_fn sig_sign;
OSSL_FUNC_signature_verify_fn sig_verify;
OSSL_FUNC_signature_digest_verify_update_fn sig_digest_verify_update;
OSSL_FUNC_signature_digest_verify_final_fn sig_digest_verify_final;
int sig_verify_setup(sig_ctx *ctx);
int sig_digest_init(sig_ctx *ctx, const char *mdname, void *provkey, int operation,
                    hsmca_key_type want, const OSSL_PARAM params[]);

#endif
