/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-testtool: drives the HSM layer from integration tests (key creation,
 * signing artefacts through the provider, concurrency, fork, faults) so that
 * independent tools (openssl, certtool, pkcs11-tool) can judge the results.
 * The token comes from HSMCA_TEST_MODULE / HSMCA_TEST_TOKEN and the PIN from
 * the file named by HSMCA_TEST_PIN_FILE (a path, never the PIN). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "hsmca/provider.h"

static hsmca_p11_token *tok;
static hsmca_keyslot *ks;
static OSSL_PROVIDER *prov;
/* Monotonic time taken before the token is opened (and so before the PKCS#11
 * module's C_Initialize): the origin of every "_ms" figure load prints, so a
 * test can compare them with a fault window that the fault module counts from
 * its C_Initialize. */
static double t0;
/* The same instant on the wall clock (ms since the epoch), so a shell script
 * can place its own `date +%s%3N` stamps on the testtool's time line. */
static long long t0_epoch_ms;

static int fail(const char *what)
{
    fprintf(stderr, "testtool: %s: %s (%s)\n", what, hsmca_err_message(), hsmca_rv_name(hsmca_err_last()));
    ERR_print_errors_fp(stderr);
    return 1;
}

static hsmca_rv open_token(void)
{
    hsmca_p11_config cfg;
    const char *verify = getenv("HSMCA_TEST_VERIFY");
    const char *sessions = getenv("HSMCA_TEST_SESSIONS");
    hsmca_rv rv;

    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = getenv("HSMCA_TEST_MODULE");
    cfg.token_label = getenv("HSMCA_TEST_TOKEN");
    cfg.token_serial = getenv("HSMCA_TEST_SERIAL");
    cfg.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    cfg.pin.credential = getenv("HSMCA_TEST_PIN_CREDENTIAL");
    cfg.max_sessions = sessions ? (unsigned)atoi(sessions) : 0;
    if (verify != NULL && strcmp(verify, "always") == 0)
        cfg.verify = HSMCA_VERIFY_ALWAYS;
    else if (verify != NULL && strcmp(verify, "after-retry") == 0)
        cfg.verify = HSMCA_VERIFY_AFTER_RETRY;
    rv = hsmca_p11_token_open(&cfg, &tok);
    if (rv != HSMCA_OK)
        return rv;
    rv = hsmca_keyslot_new(tok, &ks);
    if (rv != HSMCA_OK)
        return rv;
    return hsmca_provider_load(NULL, &prov);
}

static const char *type_name(hsmca_key_type t)
{
    return t == HSMCA_KEY_RSA ? "rsa" : t == HSMCA_KEY_EC ? "ec" : "ed25519";
}

static void print_info(const hsmca_keyslot_info *i)
{
    printf("%s %s %s %u caps=0x%02x\n", i->key_id, i->key_name[0] ? i->key_name : "-", type_name(i->type),
           i->bits, i->caps);
}

/* ---- signing artefacts ---- */

typedef struct {
    const char *md;  /* NULL for Ed25519 */
    int pss;
} sign_opts;

static EVP_MD_CTX *sign_ctx(EVP_PKEY *pkey, const sign_opts *o)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();

    if (mctx == NULL || hsmca_provider_sign_init(mctx, NULL, o->md, pkey, o->pss) != HSMCA_OK) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int random_serial(ASN1_INTEGER *serial)
{
    unsigned char b[16];
    BIGNUM *bn;
    int ok;

    if (hsmca_p11_token_random(tok, b, sizeof(b)) != HSMCA_OK)
        return 0;
    b[0] &= 0x7f; /* positive */
    b[0] |= 0x40; /* full length */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL;
    BN_free(bn);
    return ok;
}

static X509 *make_cert(EVP_PKEY *subject_key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       int ca, const sign_opts *o)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    EVP_MD_CTX *mctx = NULL;

    if (x == NULL || name == NULL || !X509_set_version(x, X509_VERSION_3) ||
        !random_serial(X509_get_serialNumber(x)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) || !X509_set_pubkey(x, subject_key))
        goto fail;
    if (!add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash") ||
        !add_ext(x, issuer ? issuer : x, NID_authority_key_identifier, "keyid:always"))
        goto fail;
    if (ca) {
        if (!add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
            !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"))
            goto fail;
    } else {
        if (!add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
            !add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") ||
            !add_ext(x, issuer, NID_ext_key_usage, "serverAuth") ||
            !add_ext(x, issuer, NID_subject_alt_name, "DNS:leaf.test"))
            goto fail;
    }
    mctx = sign_ctx(issuer_key, o);
    if (mctx == NULL || X509_sign_ctx(x, mctx) <= 0)
        goto fail;
    EVP_MD_CTX_free(mctx);
    X509_NAME_free(name);
    return x;
fail:
    EVP_MD_CTX_free(mctx);
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static int write_pem(const char *dir, const char *file, int (*w)(BIO *, void *), void *obj)
{
    char path[4096];
    BIO *b;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    b = BIO_new_file(path, "w");
    if (b == NULL)
        return 0;
    ok = w(b, obj);
    BIO_free(b);
    return ok;
}

static int w_x509(BIO *b, void *o) { return PEM_write_bio_X509(b, o); }
static int w_req(BIO *b, void *o) { return PEM_write_bio_X509_REQ(b, o); }
static int w_crl(BIO *b, void *o) { return PEM_write_bio_X509_CRL(b, o); }
static int w_pub(BIO *b, void *o) { return PEM_write_bio_PUBKEY(b, o); }
/* i2d_OCSP_RESPONSE_bio() casts away const inside a macro; call the item API. */
static int w_ocsp(BIO *b, void *o) { return ASN1_item_i2d_bio(ASN1_ITEM_rptr(OCSP_RESPONSE), b, o); }

/* artifacts REF pkcs1|pss|ecdsa|eddsa MD OUTDIR: a self-signed CA, a leaf it
 * issues (to a software key), a CSR, a CRL revoking a serial and an OCSP
 * response for the leaf — every signature made in the token. */
static int cmd_artifacts(const char *ref, const char *scheme, const char *md, const char *dir)
{
    sign_opts o = {strcmp(md, "none") == 0 ? NULL : md, strcmp(scheme, "pss") == 0};
    EVP_PKEY *key = NULL, *leaf_key = NULL;
    X509 *ca = NULL, *leaf = NULL;
    X509_REQ *req = NULL;
    X509_CRL *crl = NULL;
    X509_REVOKED *rev = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_RESPONSE *resp = NULL;
    OCSP_CERTID *id = NULL;
    ASN1_TIME *now = NULL, *next = NULL;
    ASN1_INTEGER *crlnum = NULL, *revserial = NULL;
    ASN1_ENUMERATED *reason = NULL;
    EVP_MD_CTX *mctx = NULL;
    X509_NAME *name = NULL;
    int rc = 1;

    if (hsmca_keyslot_get1_pkey(ks, ref, NULL, &key) != HSMCA_OK)
        return fail("loading the key through the provider");
    leaf_key = EVP_PKEY_Q_keygen(NULL, "provider!=hsmca", "EC", "P-256");
    if (leaf_key == NULL)
        goto done;
    ca = make_cert(key, "hsmca test CA", NULL, key, 1, &o);
    if (ca == NULL) {
        fprintf(stderr, "testtool: signing the CA certificate failed\n");
        goto done;
    }
    leaf = make_cert(leaf_key, "leaf.test", ca, key, 0, &o);
    if (leaf == NULL) {
        fprintf(stderr, "testtool: signing the leaf certificate failed\n");
        goto done;
    }

    /* CSR for the token key */
    req = X509_REQ_new();
    name = X509_NAME_new();
    if (req == NULL || name == NULL ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"hsmca test CSR", -1, -1, 0) ||
        !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, key) ||
        (mctx = sign_ctx(key, &o)) == NULL || X509_REQ_sign_ctx(req, mctx) <= 0) {
        fprintf(stderr, "testtool: signing the CSR failed\n");
        goto done;
    }
    EVP_MD_CTX_free(mctx);
    mctx = NULL;

    /* CRL v2 with CRL number, AKI and one revoked serial with a reason */
    crl = X509_CRL_new();
    now = X509_gmtime_adj(NULL, 0);
    next = X509_gmtime_adj(NULL, 7L * 86400);
    rev = X509_REVOKED_new();
    revserial = ASN1_INTEGER_new();
    crlnum = ASN1_INTEGER_new();
    reason = ASN1_ENUMERATED_new();
    if (crl == NULL || now == NULL || next == NULL || rev == NULL || revserial == NULL || crlnum == NULL ||
        reason == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) || !X509_CRL_set1_lastUpdate(crl, now) ||
        !X509_CRL_set1_nextUpdate(crl, next) || !ASN1_INTEGER_set(revserial, 0x1234) ||
        !X509_REVOKED_set_serialNumber(rev, revserial) || !X509_REVOKED_set_revocationDate(rev, now) ||
        !ASN1_ENUMERATED_set(reason, 1) || !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) ||
        !X509_CRL_add0_revoked(crl, rev))
        goto done;
    rev = NULL;
    if (!ASN1_INTEGER_set(crlnum, 1) || !X509_CRL_add1_ext_i2d(crl, NID_crl_number, crlnum, 0, 0)) 
        goto done;
    {
        X509V3_CTX v3;
        X509_EXTENSION *aki;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, ca, NULL, NULL, crl, 0);
        aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
        if (aki == NULL || !X509_CRL_add_ext(crl, aki, -1)) {
            X509_EXTENSION_free(aki);
            goto done;
        }
        X509_EXTENSION_free(aki);
    }
    if ((mctx = sign_ctx(key, &o)) == NULL || X509_CRL_sign_ctx(crl, mctx) <= 0) {
        fprintf(stderr, "testtool: signing the CRL failed\n");
        goto done;
    }
    EVP_MD_CTX_free(mctx);
    mctx = NULL;

    /* OCSP basic response for the leaf, signed by the CA key */
    bs = OCSP_BASICRESP_new();
    id = OCSP_cert_to_id(EVP_sha256(), leaf, ca);
    if (bs == NULL || id == NULL ||
        OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, now, next) == NULL ||
        (mctx = sign_ctx(key, &o)) == NULL || OCSP_basic_sign_ctx(bs, ca, mctx, NULL, 0) != 1) {
        fprintf(stderr, "testtool: signing the OCSP response failed\n");
        goto done;
    }
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    if (resp == NULL)
        goto done;

    if (!write_pem(dir, "ca.pem", w_x509, ca) || !write_pem(dir, "leaf.pem", w_x509, leaf) ||
        !write_pem(dir, "csr.pem", w_req, req) || !write_pem(dir, "crl.pem", w_crl, crl) ||
        !write_pem(dir, "ocsp.der", w_ocsp, resp) || !write_pem(dir, "pub.pem", w_pub, key))
        goto done;
    rc = 0;
done:
    if (rc != 0)
        ERR_print_errors_fp(stderr);
    EVP_MD_CTX_free(mctx);
    X509_NAME_free(name);
    X509_REVOKED_free(rev);
    ASN1_INTEGER_free(revserial);
    ASN1_INTEGER_free(crlnum);
    ASN1_ENUMERATED_free(reason);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    X509_CRL_free(crl);
    X509_REQ_free(req);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- concurrency and faults ---- */

typedef struct {
    EVP_PKEY *key; /* the token key, through the provider */
    EVP_PKEY *pub; /* a software copy of its public key (see soft_public) */
    sign_opts o;
    long iterations;
    double seconds;
    atomic_long ok, unavailable, other, bad;
    /* ms since t0 of the first and last call that did not yield a good
     * signature (-1: none), and the first error detail seen per class. */
    atomic_llong first_fail_ms, last_fail_ms, last_ok_ms;
    atomic_int said_unavailable, said_other;
} load_args;

/* The key's SubjectPublicKeyInfo as hsmca exports it, parsed by OpenSSL's
 * default provider: a verifying key that shares nothing with the token key
 * object or the hsmca provider. */
static EVP_PKEY *soft_public(const char *ref)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    EVP_PKEY *pub = NULL;

    if (hsmca_keyslot_export_spki(ks, ref, &der, &len) != HSMCA_OK)
        return NULL;
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, (long)len, NULL, "provider=default");
    OPENSSL_free(der);
    return pub;
}

static int sign_and_check(EVP_PKEY *key, EVP_PKEY *pub, const sign_opts *o, const unsigned char *msg,
                          size_t len, hsmca_rv *why)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *mctx = sign_ctx(key, o), *vctx = NULL;
    EVP_PKEY_CTX *vp = NULL;
    int r = -1;

    hsmca_err_clear();
    if (mctx == NULL || EVP_DigestSign(mctx, sig, &siglen, msg, len) != 1) {
        *why = hsmca_err_last();
        ERR_clear_error();
        goto done;
    }
    /* Independent check: the default provider verifies with a software
     * copy of the public key. */
    vctx = EVP_MD_CTX_new();
    if (vctx == NULL || EVP_DigestVerifyInit_ex(vctx, &vp, o->md, NULL, "provider=default", pub, NULL) != 1) {
        fprintf(stderr, "testtool: cannot set up verification with the software public key\n");
        ERR_print_errors_fp(stderr);
        goto done;
    }
    if (o->pss && (EVP_PKEY_CTX_set_rsa_padding(vp, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(vp, RSA_PSS_SALTLEN_AUTO) != 1))
        goto done;
    r = EVP_DigestVerify(vctx, sig, siglen, msg, len) == 1 ? 1 : 0;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_MD_CTX_free(vctx);
    return r;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long ms_since_t0(void)
{
    return (long long)((now_s() - t0) * 1000.0);
}

static void note_failure(load_args *a, atomic_int *said, const char *what, hsmca_rv why)
{
    long long t = ms_since_t0(), prev = -1;

    atomic_compare_exchange_strong(&a->first_fail_ms, &prev, t);
    prev = atomic_load(&a->last_fail_ms);
    while (prev < t && !atomic_compare_exchange_weak(&a->last_fail_ms, &prev, t))
        ;
    /* One example per class is enough to tell a test log what went wrong. */
    if (said != NULL && atomic_exchange(said, 1) == 0)
        fprintf(stderr, "testtool: first %s at %lld ms: %s (%s)\n", what, t, hsmca_err_message(),
                hsmca_rv_name(why));
}

static void *load_thread(void *arg)
{
    load_args *a = arg;
    double end = now_s() + a->seconds;
    unsigned char msg[64];

    for (long i = 0; a->seconds > 0 ? now_s() < end : i < a->iterations; i++) {
        hsmca_rv why = HSMCA_OK;
        int r;
        RAND_bytes(msg, sizeof(msg));
        r = sign_and_check(a->key, a->pub, &a->o, msg, sizeof(msg), &why);
        if (r == 1) {
            long long t = ms_since_t0(), prev = atomic_load(&a->last_ok_ms);
            atomic_fetch_add(&a->ok, 1);
            while (prev < t && !atomic_compare_exchange_weak(&a->last_ok_ms, &prev, t))
                ;
        } else if (r == 0) {
            atomic_fetch_add(&a->bad, 1);
            note_failure(a, NULL, "bad signature", why);
            fprintf(stderr, "testtool: BAD SIGNATURE returned at %lld ms\n", ms_since_t0());
        } else if (why == HSMCA_ERR_HSM_UNAVAILABLE || why == HSMCA_ERR_BAD_SIGNATURE) {
            atomic_fetch_add(&a->unavailable, 1);
            note_failure(a, &a->said_unavailable, "unavailable", why);
        } else {
            atomic_fetch_add(&a->other, 1);
            note_failure(a, &a->said_other, "other error", why);
        }
    }
    return NULL;
}

static const char *scheme_md(const char *scheme, const char *md)
{
    return strcmp(scheme, "eddsa") == 0 ? NULL : md;
}

/* load REF SCHEME MD THREADS ITER|Ns: sign concurrently, verify every
 * signature independently; prints counts; fails on any bad signature or on
 * any error other than "HSM unavailable". The line also carries, in ms since
 * the program started (before the token was opened), when signing started
 * and ended, the first and last failed call and the last good signature
 * (-1: none), and the wall-clock time of that start (t0_epoch_ms). */
static int cmd_load(const char *ref, const char *scheme, const char *md, int threads, const char *amount)
{
    load_args a;
    pthread_t th[64];
    long long start_ms, end_ms;
    int started = 0, rc;

    memset(&a, 0, sizeof(a));
    atomic_init(&a.first_fail_ms, -1);
    atomic_init(&a.last_fail_ms, -1);
    atomic_init(&a.last_ok_ms, -1);
    a.o.md = scheme_md(scheme, md);
    a.o.pss = strcmp(scheme, "pss") == 0;
    if (amount[strlen(amount) - 1] == 's')
        a.seconds = atof(amount);
    else
        a.iterations = atol(amount);
    if (threads < 1 || threads > 64)
        return 2;
    if (hsmca_keyslot_get1_pkey(ks, ref, NULL, &a.key) != HSMCA_OK)
        return fail("loading the key");
    if ((a.pub = soft_public(ref)) == NULL) {
        EVP_PKEY_free(a.key);
        return fail("exporting the public key");
    }
    start_ms = ms_since_t0();
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&th[i], NULL, load_thread, &a) != 0) {
            fprintf(stderr, "testtool: cannot start thread %d\n", i);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    end_ms = ms_since_t0();
    printf("ok=%ld unavailable=%ld other=%ld bad=%ld threads=%d start_ms=%lld end_ms=%lld "
           "first_failure_ms=%lld last_failure_ms=%lld last_ok_ms=%lld t0_epoch_ms=%lld\n",
           atomic_load(&a.ok), atomic_load(&a.unavailable), atomic_load(&a.other), atomic_load(&a.bad),
           started, start_ms, end_ms, atomic_load(&a.first_fail_ms), atomic_load(&a.last_fail_ms),
           atomic_load(&a.last_ok_ms), t0_epoch_ms);
    rc = (started == threads && atomic_load(&a.bad) == 0 && atomic_load(&a.other) == 0 &&
          atomic_load(&a.ok) > 0) ? 0 : 1;
    EVP_PKEY_free(a.key);
    EVP_PKEY_free(a.pub);
    return rc;
}

/* fork REF SCHEME MD: sign in the parent, fork, sign and verify in the
 * child, then again in the parent. */
static int cmd_fork(const char *ref, const char *scheme, const char *md)
{
    sign_opts o = {scheme_md(scheme, md), strcmp(scheme, "pss") == 0};
    unsigned char msg[32] = "fork test message";
    EVP_PKEY *key = NULL, *pub = NULL;
    hsmca_rv why;
    pid_t pid;
    int status = 0, rc = 1;

    if (hsmca_keyslot_get1_pkey(ks, ref, NULL, &key) != HSMCA_OK)
        return fail("loading the key");
    if ((pub = soft_public(ref)) == NULL) {
        rc = fail("exporting the public key");
        goto done;
    }
    if (sign_and_check(key, pub, &o, msg, sizeof(msg), &why) != 1) {
        rc = fail("signing in the parent before fork");
        goto done;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        goto done;
    if (pid == 0) {
        int r = sign_and_check(key, pub, &o, msg, sizeof(msg), &why);
        if (r != 1) {
            fprintf(stderr, "child: signing failed: %s\n", hsmca_err_message());
            _exit(1);
        }
        printf("child signed and verified\n");
        fflush(stdout);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "testtool: forked child failed (status %d)\n", status);
        goto done;
    }
    if (sign_and_check(key, pub, &o, msg, sizeof(msg), &why) != 1) {
        rc = fail("signing in the parent after fork");
        goto done;
    }
    printf("parent signed and verified after fork\n");
    rc = 0;
done:
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return rc;
}

/* identity REF SCHEME MD: regression for the in-process key hand-over. A
 * second token object for the same token is opened with verify policy
 * "after-retry" after the first (HSMCA_TEST_VERIFY); a key taken from the
 * first key-slot manager must sign through the first token object. Prints
 * each object's count of signatures that failed re-verification. */
static int cmd_identity(const char *ref, const char *scheme, const char *md)
{
    sign_opts o = {scheme_md(scheme, md), strcmp(scheme, "pss") == 0};
    unsigned char msg[64] = "key identity";
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    hsmca_p11_config cfg;
    hsmca_p11_token *second = NULL;
    hsmca_p11_health h1, h2;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *mctx = NULL;
    int signed_ok;

    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = getenv("HSMCA_TEST_MODULE");
    cfg.token_label = getenv("HSMCA_TEST_TOKEN");
    cfg.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    cfg.verify = HSMCA_VERIFY_AFTER_RETRY;
    if (hsmca_p11_token_open(&cfg, &second) != HSMCA_OK)
        return fail("opening the second token object");
    if (hsmca_keyslot_get1_pkey(ks, ref, NULL, &key) != HSMCA_OK) {
        hsmca_p11_token_free(second);
        return fail("loading the key");
    }
    mctx = sign_ctx(key, &o);
    signed_ok = mctx != NULL && EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)) == 1;
    ERR_clear_error();
    hsmca_p11_token_health(tok, &h1);
    hsmca_p11_token_health(second, &h2);
    printf("signed=%d first_bad=%lu second_bad=%lu\n", signed_ok, h1.bad_signatures, h2.bad_signatures);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(key);
    hsmca_p11_token_free(second);
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: hsmca-testtool open\n"
            "       hsmca-testtool gen TYPE BITS NAME\n"
            "       hsmca-testtool import NAME PEMFILE\n"
            "       hsmca-testtool list | info REF | pubkey REF | attrs REF\n"
            "       hsmca-testtool rename REF NAME | delete REF\n"
            "       hsmca-testtool artifacts REF SCHEME MD OUTDIR\n"
            "       hsmca-testtool load REF SCHEME MD THREADS ITERATIONS|SECONDSs\n"
            "       hsmca-testtool fork REF SCHEME MD\n"
            "       hsmca-testtool identity REF SCHEME MD\n"
            "       hsmca-testtool random N\n"
            "       hsmca-testtool health\n");
    return 2;
}

int main(int argc, char **argv)
{
    hsmca_keyslot_info info;
    hsmca_rv rv;
    int rc = 0;

    {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        t0 = now_s();
        t0_epoch_ms = (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    }
    if (getenv("HSMCA_TEST_DEBUG"))
        hsmca_log_set_level(HSMCA_LOG_DEBUG);
    if (argc < 2)
        return usage();
    rv = open_token();
    if (rv != HSMCA_OK) {
        /* "open" reports the outcome as a machine-readable line too. */
        printf("open: %s\n", hsmca_rv_name(rv));
        return fail("opening the token");
    }
    if (strcmp(argv[1], "open") == 0) {
        printf("open: OK\n");
    } else if (strcmp(argv[1], "gen") == 0 && argc == 5) {
        hsmca_key_type t;
        unsigned bits;
        rv = hsmca_keyslot_parse_type(argv[2], (unsigned)atoi(argv[3]), &t, &bits);
        if (rv == HSMCA_OK)
            rv = hsmca_keyslot_generate(ks, argv[4], t, bits, &info);
        if (rv != HSMCA_OK)
            rc = fail("generating");
        else
            print_info(&info);
    } else if (strcmp(argv[1], "import") == 0 && argc == 4) {
        char buf[65536];
        FILE *f = fopen(argv[3], "r");
        size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
        if (f)
            fclose(f);
        rv = hsmca_keyslot_import_pem(ks, argv[2], buf, n, &info);
        OPENSSL_cleanse(buf, sizeof(buf));
        if (rv != HSMCA_OK)
            rc = fail("importing");
        else
            print_info(&info);
    } else if (strcmp(argv[1], "list") == 0) {
        hsmca_keyslot_info *all = NULL;
        size_t n = 0;
        if (hsmca_keyslot_list(ks, &all, &n) != HSMCA_OK)
            rc = fail("listing");
        for (size_t i = 0; i < n; i++)
            print_info(&all[i]);
        OPENSSL_free(all);
    } else if (strcmp(argv[1], "info") == 0 && argc == 3) {
        if (hsmca_keyslot_lookup(ks, argv[2], &info) != HSMCA_OK)
            rc = fail("looking up");
        else
            print_info(&info);
    } else if (strcmp(argv[1], "attrs") == 0 && argc == 3) {
        hsmca_p11_key *key = NULL;
        hsmca_p11_key_attrs a;
        if (hsmca_keyslot_get1_key(ks, argv[2], &key) != HSMCA_OK || hsmca_p11_key_get_attrs(key, &a) != HSMCA_OK)
            rc = fail("reading attributes");
        else
            printf("token=%d private=%d sensitive=%d always_sensitive=%d extractable=%d never_extractable=%d local=%d\n",
                   a.token, a.private_, a.sensitive, a.always_sensitive, a.extractable, a.never_extractable, a.local);
        hsmca_p11_key_free(key);
    } else if (strcmp(argv[1], "pubkey") == 0 && argc == 3) {
        char *pem = NULL;
        if (hsmca_keyslot_export_public_pem(ks, argv[2], &pem) != HSMCA_OK)
            rc = fail("exporting the public key");
        else
            fputs(pem, stdout);
        OPENSSL_free(pem);
    } else if (strcmp(argv[1], "rename") == 0 && argc == 4) {
        if (hsmca_keyslot_rename(ks, argv[2], argv[3]) != HSMCA_OK)
            rc = fail("renaming");
    } else if (strcmp(argv[1], "delete") == 0 && argc == 3) {
        if (hsmca_keyslot_delete(ks, argv[2]) != HSMCA_OK)
            rc = fail("deleting");
    } else if (strcmp(argv[1], "artifacts") == 0 && argc == 6) {
        rc = cmd_artifacts(argv[2], argv[3], argv[4], argv[5]);
    } else if (strcmp(argv[1], "load") == 0 && argc == 7) {
        rc = cmd_load(argv[2], argv[3], argv[4], atoi(argv[5]), argv[6]);
    } else if (strcmp(argv[1], "identity") == 0 && argc == 5) {
        rc = cmd_identity(argv[2], argv[3], argv[4]);
    } else if (strcmp(argv[1], "fork") == 0 && argc == 5) {
        rc = cmd_fork(argv[2], argv[3], argv[4]);
    } else if (strcmp(argv[1], "random") == 0 && argc == 3) {
        unsigned char buf[4096];
        size_t n = (size_t)atoi(argv[2]);
        if (n > sizeof(buf) || hsmca_p11_token_random(tok, buf, n) != HSMCA_OK)
            rc = fail("drawing random bytes");
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%02x", buf[i]);
        printf("\n");
    } else if (strcmp(argv[1], "health") == 0) {
        hsmca_p11_health h;
        hsmca_p11_token_health(tok, &h);
        printf("present=%d logged_in=%d pin_rejected=%d open=%u in_use=%u max=%u recoveries=%lu reinits=%lu "
               "bad_signatures=%lu last_error=%s\n",
               h.present, h.logged_in, h.pin_rejected, h.sessions_open, h.sessions_in_use, h.sessions_max,
               h.recoveries, h.reinits, h.bad_signatures, hsmca_rv_name(h.last_error));
    } else {
        rc = usage();
    }
    OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    return rc;
}
