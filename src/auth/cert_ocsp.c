/* SPDX-License-Identifier: Apache-2.0 */
/* The OCSP client of the TLS certificate auth method (a role's
 * ocsp_enabled): ask the certificate's responders (its AIA, or the role's
 * ocsp_servers_override) with a nonce, verify each answer by RFC 6960
 * 4.2.2.2, and decide with OpenBao's ocsp_fail_open and
 * ocsp_query_all_servers. Verified good/revoked answers are kept in a
 * bounded LRU cache per mount (config ocsp_cache_size) until their
 * nextUpdate. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hsmca/auth_cert.h"
#include "hsmca/fetch.h"
#include "hsmca/log.h"

#define OCSP_SERVERS_MAX 8          /* servers asked per login: bounds the time a login can take */
#define OCSP_ANSWER_MAX (64u * 1024u)
#define OCSP_TIMEOUT_MS 5000L        /* per server */
#define OCSP_SKEW_S 300L             /* clock skew allowed on thisUpdate/nextUpdate */
#define OCSP_MOUNTS_MAX 64           /* mounts with a cache; others are not cached */
#define OCSP_BUCKETS 4096u
#define ROLE_CERTS_MAX 16

/* ---- the cache ---- */

typedef struct entry {
    unsigned char key[32]; /* SHA-256 of mount, role trust, server, CertID */
    int status;            /* V_OCSP_CERTSTATUS_GOOD or _REVOKED */
    int64_t expires;       /* the answer's nextUpdate */
    int mount;             /* index in cache->mounts */
    struct entry *prev, *next, *hnext;
} entry;

typedef struct {
    char name[256];
    entry *head, *tail; /* most recently used first */
    size_t n;
} mount_lru;

struct hsmca_auth_ocsp_cache {
    pthread_mutex_t lock;
    entry *buckets[OCSP_BUCKETS];
    mount_lru mounts[OCSP_MOUNTS_MAX];
    size_t n_mounts;
};

hsmca_auth_ocsp_cache *hsmca_auth_ocsp_cache_new(void)
{
    hsmca_auth_ocsp_cache *c = calloc(1, sizeof(*c));

    if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

void hsmca_auth_ocsp_cache_free(hsmca_auth_ocsp_cache *c)
{
    if (c == NULL)
        return;
    for (size_t m = 0; m < c->n_mounts; m++) {
        for (entry *e = c->mounts[m].head, *nx; e != NULL; e = nx) {
            nx = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static unsigned bucket_of(const unsigned char key[32])
{
    return ((unsigned)key[0] << 8 | key[1]) % OCSP_BUCKETS;
}

static void unlink_entry(hsmca_auth_ocsp_cache *c, entry *e)
{
    mount_lru *m = &c->mounts[e->mount];
    entry **pp = &c->buckets[bucket_of(e->key)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    m->n--;
}

static void push_front(mount_lru *m, entry *e)
{
    e->prev = NULL;
    e->next = m->head;
    if (m->head != NULL)
        m->head->prev = e;
    m->head = e;
    if (m->tail == NULL)
        m->tail = e;
    m->n++;
}

static int mount_index(hsmca_auth_ocsp_cache *c, const char *mount, bool add)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (strcmp(c->mounts[i].name, mount) == 0)
            return (int)i;
    }
    if (!add || c->n_mounts >= OCSP_MOUNTS_MAX || strlen(mount) >= sizeof(c->mounts[0].name))
        return -1;
    snprintf(c->mounts[c->n_mounts].name, sizeof(c->mounts[0].name), "%s", mount);
    return (int)c->n_mounts++;
}

/* A cached verdict still before its nextUpdate, or -1. */
static int cache_get(hsmca_auth_ocsp_cache *c, const char *mount, const unsigned char key[32], int64_t now)
{
    int status = -1, mi;
    entry *e;

    pthread_mutex_lock(&c->lock);
    if ((mi = mount_index(c, mount, false)) < 0)
        goto done;
    for (e = c->buckets[bucket_of(key)]; e != NULL; e = e->hnext) {
        if (e->mount == mi && memcmp(e->key, key, 32) == 0)
            break;
    }
    if (e == NULL)
        goto done;
    unlink_entry(c, e);
    if (e->expires <= now) {
        free(e); /* past nextUpdate: ask again */
        goto done;
    }
    push_front(&c->mounts[mi], e);
    e->hnext = c->buckets[bucket_of(key)];
    c->buckets[bucket_of(key)] = e;
    status = e->status;
done:
    pthread_mutex_unlock(&c->lock);
    return status;
}

static void cache_put(hsmca_auth_ocsp_cache *c, const char *mount, size_t cap, const unsigned char key[32],
                      int status, int64_t expires)
{
    entry *e = calloc(1, sizeof(*e)), *old;
    int mi;

    if (e == NULL)
        return;
    memcpy(e->key, key, 32);
    e->status = status;
    e->expires = expires;
    pthread_mutex_lock(&c->lock);
    if ((mi = mount_index(c, mount, true)) < 0) {
        free(e);
        goto done;
    }
    e->mount = mi;
    for (old = c->buckets[bucket_of(key)]; old != NULL; old = old->hnext) {
        if (old->mount == mi && memcmp(old->key, key, 32) == 0)
            break;
    }
    if (old != NULL) {
        unlink_entry(c, old);
        free(old);
    }
    /* The mount's ocsp_cache_size may have shrunk since: evict down to it. */
    while (c->mounts[mi].n > 0 && c->mounts[mi].n >= cap) {
        old = c->mounts[mi].tail;
        unlink_entry(c, old);
        free(old);
    }
    push_front(&c->mounts[mi], e);
    e->hnext = c->buckets[bucket_of(key)];
    c->buckets[bucket_of(key)] = e;
done:
    pthread_mutex_unlock(&c->lock);
}

size_t hsmca_auth_ocsp_cache_count(hsmca_auth_ocsp_cache *c, const char *mount)
{
    size_t n = 0;
    int mi;

    pthread_mutex_lock(&c->lock);
    if ((mi = mount_index(c, mount, false)) >= 0)
        n = c->mounts[mi].n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ---- one query ---- */

typedef enum { Q_GOOD, Q_REVOKED, Q_UNKNOWN, Q_FAILED } qstatus;

static int64_t asn1_to_unix(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

/* Asks one responder about id; verifies the answer (signature and
 * responder authority, nonce, freshness). why gets the reason of anything
 * but a verified good/revoked/unknown. */
static qstatus query(const char *url, OCSP_CERTID *id, X509_STORE *st, STACK_OF(X509) *trusted, int64_t *expires,
                     char *why, size_t size)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_CERTID *dup = OCSP_CERTID_dup(id);
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    unsigned char *der = NULL, *answer = NULL;
    const unsigned char *p;
    size_t answer_len = 0;
    int len, status = -1, reason = -1, nonce;
    hsmca_fetch_req fr;
    qstatus q = Q_FAILED;

    *expires = 0;
    if (req == NULL || dup == NULL || OCSP_request_add0_id(req, dup) == NULL) {
        snprintf(why, size, "out of memory");
        OCSP_CERTID_free(dup);
        goto done;
    }
    /* A fresh nonce binds the answer to this login (RFC 8954). */
    if (OCSP_request_add1_nonce(req, NULL, 16) != 1 || (len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
        snprintf(why, size, "cannot encode the OCSP request");
        goto done;
    }
    memset(&fr, 0, sizeof(fr));
    fr.url = url;
    fr.content_type = "application/ocsp-request";
    fr.body = der;
    fr.body_len = (size_t)len;
    fr.max_bytes = OCSP_ANSWER_MAX;
    fr.timeout_ms = OCSP_TIMEOUT_MS;
    if (hsmca_fetch(&fr, &answer, &answer_len) != HSMCA_OK) {
        snprintf(why, size, "%s", hsmca_err_message());
        hsmca_err_clear();
        goto done;
    }
    p = answer;
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)answer_len);
    if (resp == NULL || p != answer + answer_len) {
        snprintf(why, size, "%s: the answer is not a DER OCSP response", url);
        goto done;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(why, size, "%s: responder says %s", url,
                 OCSP_response_status_str(OCSP_response_status(resp)));
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        snprintf(why, size, "%s: not a basic OCSP response", url);
        goto done;
    }
    /* 1: echoed, -1: the responder sends none (pre-signed answers; the
     * freshness window below still bounds replay), 0: a different one. */
    nonce = OCSP_check_nonce(req, bs);
    if (nonce == 0) {
        snprintf(why, size, "%s: the response's nonce is not the request's", url);
        goto done;
    }
    /* RFC 6960 4.2.2.2: the signer is the issuing CA, a delegate the CA
     * issued with id-kp-OCSPSigning, or a responder the role trusts
     * explicitly (ocsp_ca_certificates; TRUSTOTHER). NOEXPLICIT: that a
     * signer chains to some trusted root is not enough. */
    if (OCSP_basic_verify(bs, trusted, st, OCSP_TRUSTOTHER | OCSP_NOEXPLICIT) != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(why, size, "%s: the response's signature or signer is not trusted (%s)", url,
                 e ? ERR_reason_error_string(e) : "no detail");
        goto done;
    }
    if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
        snprintf(why, size, "%s: the response does not answer for this certificate", url);
        goto done;
    }
    if (OCSP_check_validity(thisupd, nextupd, OCSP_SKEW_S, -1) != 1) {
        snprintf(why, size, "%s: the response is not current (thisUpdate/nextUpdate)", url);
        goto done;
    }
    *expires = asn1_to_unix(nextupd);
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
        q = Q_GOOD;
        break;
    case V_OCSP_CERTSTATUS_REVOKED:
        q = Q_REVOKED;
        snprintf(why, size, "%s says the certificate is revoked", url);
        break;
    default:
        q = Q_UNKNOWN;
        snprintf(why, size, "%s says the certificate's status is unknown", url);
        break;
    }
done:
    ERR_clear_error();
    OPENSSL_free(der);
    free(answer);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    return q;
}

/* ---- the decision ---- */

static void add_pem(STACK_OF(X509) *sk, const char *pem)
{
    BIO *b = pem != NULL && pem[0] ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *x;
    int n = 0;

    while (b != NULL && n++ < ROLE_CERTS_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x))
            X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
}

/* The certificate that issued leaf among cands, or NULL. */
static X509 *find_issuer(STACK_OF(X509) *cands, X509 *leaf)
{
    for (int i = 0; i < sk_X509_num(cands); i++) {
        X509 *c = sk_X509_value(cands, i);
        EVP_PKEY *k = X509_get0_pubkey(c);
        if (X509_check_issued(c, leaf) == X509_V_OK && k != NULL && X509_verify(leaf, k) == 1)
            return c;
    }
    ERR_clear_error();
    return NULL;
}

/* The responders: the override, else the certificate's AIA OCSP URIs. */
static size_t servers_of(const json_t *role, X509 *leaf, char *urls[OCSP_SERVERS_MAX])
{
    const json_t *over = json_object_get(role, "ocsp_servers_override"), *v;
    STACK_OF(OPENSSL_STRING) *aia = NULL;
    size_t i, n = 0;

    if (json_array_size(over) > 0) {
        json_array_foreach(over, i, v) {
            if (n < OCSP_SERVERS_MAX && json_string_value(v) != NULL && (urls[n] = strdup(json_string_value(v))))
                n++;
        }
        return n;
    }
    aia = X509_get1_ocsp(leaf);
    for (int k = 0; k < sk_OPENSSL_STRING_num(aia) && n < OCSP_SERVERS_MAX; k++) {
        if ((urls[n] = strdup(sk_OPENSSL_STRING_value(aia, k))) != NULL)
            n++;
    }
    X509_email_free(aia);
    return n;
}

static void cache_key(const char *mount, const json_t *role, const char *url, OCSP_CERTID *id,
                      unsigned char key[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int len = i2d_OCSP_CERTID(id, &der);
    unsigned int n = 0;
    /* Everything that decided how the answer was verified is in the key,
     * so a role with other trust never sees another role's verdict. */
    const char *parts[] = {mount, json_string_value(json_object_get(role, "certificate")),
                           json_string_value(json_object_get(role, "ocsp_ca_certificates")), url};

    memset(key, 0, 32);
    if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            const char *s = parts[i] != NULL ? parts[i] : "";
            EVP_DigestUpdate(md, s, strlen(s) + 1);
        }
        if (len > 0)
            EVP_DigestUpdate(md, der, (size_t)len);
        EVP_DigestFinal_ex(md, key, &n);
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
}

hsmca_rv hsmca_auth_cert_ocsp_check(const hsmca_auth_ocsp_params *prm, char *warn, size_t warn_size)
{
    const json_t *role = prm->role;
    bool fail_open = json_is_true(json_object_get(role, "ocsp_fail_open"));
    bool all = json_is_true(json_object_get(role, "ocsp_query_all_servers"));
    STACK_OF(X509) *anchors = sk_X509_new_null(), *trusted = sk_X509_new_null();
    X509_STORE *st = X509_STORE_new();
    OCSP_CERTID *id = NULL;
    X509 *issuer = prm->issuer;
    char *urls[OCSP_SERVERS_MAX] = {0}, why[512] = "", last[512] = "no OCSP responder (no AIA OCSP URI and no "
                                                                    "ocsp_servers_override)";
    size_t n = 0, good = 0;
    hsmca_rv rv = HSMCA_ERR_NOMEM;

    warn[0] = '\0';
    if (anchors == NULL || trusted == NULL || st == NULL) {
        rv = hsmca_err(rv, "out of memory");
        goto done;
    }
    /* Trust for responses: the role's CAs and ocsp_ca_certificates as
     * anchors; the issuer (verified at login) and ocsp_ca_certificates
     * as directly trusted signers. */
    add_pem(anchors, json_string_value(json_object_get(role, "certificate")));
    add_pem(trusted, json_string_value(json_object_get(role, "ocsp_ca_certificates")));
    for (int i = 0; i < sk_X509_num(trusted); i++)
        X509_STORE_add_cert(st, sk_X509_value(trusted, i));
    for (int i = 0; i < sk_X509_num(anchors); i++) {
        if (X509_get_extension_flags(sk_X509_value(anchors, i)) & EXFLAG_CA)
            X509_STORE_add_cert(st, sk_X509_value(anchors, i));
    }
    if (issuer == NULL)
        issuer = find_issuer(trusted, prm->leaf);
    if (issuer == NULL)
        issuer = find_issuer(anchors, prm->leaf);
    for (int i = 0; i < sk_X509_num(prm->chain); i++) {
        X509 *x = sk_X509_value(prm->chain, i);
        if (x != prm->leaf && X509_get_extension_flags(x) & EXFLAG_CA)
            X509_STORE_add_cert(st, x);
    }
    if (issuer != NULL && X509_up_ref(issuer) == 1 && !sk_X509_push(trusted, issuer))
        X509_free(issuer);
    /* The role's CA may be an intermediate: partial chains, as at login. */
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
    ERR_clear_error();
    if (issuer == NULL) {
        snprintf(last, sizeof(last), "the certificate's issuer is unknown, so no OCSP request can name it");
        goto undecided;
    }
    if ((id = OCSP_cert_to_id(EVP_sha1(), prm->leaf, issuer)) == NULL) {
        snprintf(last, sizeof(last), "cannot build the OCSP CertID");
        goto undecided;
    }
    n = servers_of(role, prm->leaf, urls);
    for (size_t i = 0; i < n; i++) {
        unsigned char key[32];
        int64_t expires = 0;
        qstatus q;
        int cached = -1;

        cache_key(prm->mount, role, urls[i], id, key);
        if (prm->cache != NULL)
            cached = cache_get(prm->cache, prm->mount, key, prm->now);
        if (cached >= 0) {
            q = cached == V_OCSP_CERTSTATUS_REVOKED ? Q_REVOKED : Q_GOOD;
            snprintf(why, sizeof(why), "%s says the certificate is revoked (cached)", urls[i]);
        } else {
            q = query(urls[i], id, st, trusted, &expires, why, sizeof(why));
            /* Only verified definite answers with a nextUpdate are kept. */
            if (prm->cache != NULL && (q == Q_GOOD || q == Q_REVOKED) && expires > prm->now)
                cache_put(prm->cache, prm->mount, prm->cache_size, key,
                          q == Q_GOOD ? V_OCSP_CERTSTATUS_GOOD : V_OCSP_CERTSTATUS_REVOKED, expires);
        }
        if (q == Q_REVOKED) {
            /* Revoked is final whatever ocsp_fail_open says. */
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "OCSP: %s", why);
            goto done;
        }
        if (q == Q_GOOD) {
            good++;
            if (!all)
                break;
            continue;
        }
        hsmca_log(HSMCA_LOG_INFO, "certificate login: OCSP: %s", why);
        snprintf(last, sizeof(last), "%s", why);
    }
    if (good > 0 && (!all || good == n)) {
        rv = HSMCA_OK;
        goto done;
    }
undecided:
    /* No definite answer (or, with ocsp_query_all_servers, not every
     * server said good): unreachable, malformed, untrusted or unknown. */
    if (!fail_open) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "OCSP status unavailable (%s) and ocsp_fail_open is false", last);
        goto done;
    }
    snprintf(warn, warn_size, "OCSP status could not be established (%s); ocsp_fail_open let the login through",
             last);
    rv = HSMCA_OK;
done:
    for (size_t i = 0; i < OCSP_SERVERS_MAX; i++)
        free(urls[i]);
    OCSP_CERTID_free(id);
    X509_STORE_free(st);
    sk_X509_pop_free(anchors, X509_free);
    sk_X509_pop_free(trusted, X509_free);
    return rv;
}
