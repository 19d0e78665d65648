/* SPDX-License-Identifier: Apache-2.0 */
/* CRLs from the caller's data, signed by an issuer's token key:
 * issuer/:ref/sign-revocation-list (entries as given) and
 * issuer/:ref/resign-crls (the entries of CRLs that issuer signed, merged).
 * Their size is bounded by the request body, not by the store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsmca/log.h"
#include "hsmca/serial.h"
#include "internal.h"

#define RESIGN_CRLS_MAX 64
#define RESIGN_PEM_MAX  (8u << 20)

static hsmca_rv check_request(const hsmca_crl_request *req)
{
    if (req->crl_number < 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "crl_number: %lld is negative", (long long)req->crl_number);
    if (req->delta_crl_base < -1)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "delta_crl_base_number: %lld is below -1",
                         (long long)req->delta_crl_base);
    if (req->next_update <= 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "next_update: must be a positive duration");
    return HSMCA_OK;
}

/* Signs entries (already validated) with the issuer `ref`. */
static hsmca_rv sign_entries(hsmca_ca *ca, const char *mount, const char *ref, const hsmca_crl_request *req,
                             const hsmca_crl_entry *entries, size_t n, unsigned char **der, size_t *der_len)
{
    hsmca_ca_issuer iss;
    EVP_PKEY *key = NULL;
    rev_crl_params prm;
    rev_crl_builder *b = NULL;
    int64_t now = (int64_t)time(NULL);
    hsmca_rv rv;

    memset(&iss, 0, sizeof(iss));
    rv = hsmca_ca_issuer_get1_crl_key(ca, mount, ref, &iss, &key);
    if (rv != HSMCA_OK)
        return rv;
    memset(&prm, 0, sizeof(prm));
    prm.issuer = &iss;
    prm.key = key;
    prm.libctx = hsmca_ca_get0_libctx(ca);
    prm.this_update = now;
    prm.next_update = now + req->next_update;
    prm.crl_number = req->crl_number;
    prm.delta_base = req->delta_crl_base;
    prm.extra_exts = req->extensions_der;
    prm.extra_exts_len = req->extensions_len;
    rv = rev_crl_begin(&prm, &b);
    for (size_t i = 0; rv == HSMCA_OK && i < n; i++) {
        rv = rev_crl_add(b, entries[i].serial, entries[i].serial_len, entries[i].revocation_time, 0,
                         entries[i].extensions_der, entries[i].extensions_len);
        if (rv != HSMCA_OK)
            hsmca_err_prefix("revoked_certs[%zu]", i);
    }
    if (rv == HSMCA_OK) {
        rv = rev_crl_finish(b, der, der_len);
        b = NULL;
    }
    rev_crl_abort(b);
    EVP_PKEY_free(key);
    hsmca_ca_issuer_clear(&iss);
    return rv;
}

hsmca_rv hsmca_revocation_sign_list(hsmca_ca *ca, const char *mount, const char *ref,
                                    const hsmca_crl_request *req, unsigned char **der, size_t *der_len)
{
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && req != NULL && der != NULL && der_len != NULL,
                             HSMCA_ERR_INVALID_ARG);
    *der = NULL;
    *der_len = 0;
    if ((rv = check_request(req)) != HSMCA_OK)
        return rv;
    return sign_entries(ca, mount, ref, req, req->entries, req->n_entries, der, der_len);
}

/* The merged entries of resign-crls; the extension DER is owned. */
typedef struct {
    hsmca_crl_entry *v;
    size_t n, cap;
} entry_list;

static void entries_free(entry_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        OPENSSL_free((void *)(uintptr_t)l->v[i].extensions_der);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int entry_cmp(const void *a, const void *b)
{
    const hsmca_crl_entry *x = a, *y = b;

    if (x->serial_len != y->serial_len)
        return x->serial_len < y->serial_len ? -1 : 1;
    return memcmp(x->serial, y->serial, x->serial_len);
}

static hsmca_rv collect_crl(X509_CRL *crl, size_t idx, entry_list *l)
{
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);

    for (int k = 0; k < sk_X509_REVOKED_num(rev); k++) {
        X509_REVOKED *r = sk_X509_REVOKED_value(rev, k);
        const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(r);
        hsmca_crl_entry *e;
        struct tm tm;

        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            hsmca_crl_entry *grown = realloc(l->v, cap * sizeof(*grown));
            if (grown == NULL)
                return hsmca_err(HSMCA_ERR_NOMEM, "out of memory merging CRLs");
            l->v = grown;
            l->cap = cap;
        }
        e = &l->v[l->n];
        memset(e, 0, sizeof(*e));
        if (hsmca_serial_from_asn1(X509_REVOKED_get0_serialNumber(r), e->serial, &e->serial_len) !=
                HSMCA_OK ||
            ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(r), &tm) != 1)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "crls[%zu]: entry %d has a bad serial or time", idx, k);
        e->revocation_time = (int64_t)timegm(&tm);
        if (sk_X509_EXTENSION_num(exts) > 0) {
            unsigned char *d = NULL;
            int n = i2d_X509_EXTENSIONS((X509_EXTENSIONS *)(uintptr_t)exts, &d);
            if (n <= 0)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "crls[%zu]: entry %d extensions cannot be encoded",
                                 idx, k);
            e->extensions_der = d;
            e->extensions_len = (size_t)n;
        }
        l->n++;
    }
    return HSMCA_OK;
}

hsmca_rv hsmca_revocation_resign_crls(hsmca_ca *ca, const char *mount, const char *ref,
                                      const char *const *crl_pems, size_t n_crls,
                                      const hsmca_crl_request *req, unsigned char **der, size_t *der_len)
{
    hsmca_ca_issuer iss;
    entry_list l;
    size_t w = 0;
    hsmca_rv rv;

    hsmca_return_val_if_fail(ca != NULL && req != NULL && der != NULL && der_len != NULL,
                             HSMCA_ERR_INVALID_ARG);
    *der = NULL;
    *der_len = 0;
    memset(&l, 0, sizeof(l));
    if ((rv = check_request(req)) != HSMCA_OK)
        return rv;
    if (n_crls == 0 || n_crls > RESIGN_CRLS_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "crls: %zu CRLs given; 1..%d are accepted", n_crls,
                         RESIGN_CRLS_MAX);
    rv = hsmca_ca_issuer_get(ca, mount, ref, &iss);
    if (rv != HSMCA_OK)
        return rv;
    for (size_t i = 0; rv == HSMCA_OK && i < n_crls; i++) {
        size_t n = strnlen(crl_pems[i], RESIGN_PEM_MAX + 1);
        BIO *b = n <= RESIGN_PEM_MAX ? BIO_new_mem_buf(crl_pems[i], (int)n) : NULL;
        X509_CRL *crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;

        /* Only what this issuer signed may be signed again by it. */
        if (crl == NULL)
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "crls[%zu]: not a PEM CRL", i);
        else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(iss.certificate)) != 0 ||
                 X509_CRL_verify(crl, X509_get0_pubkey(iss.certificate)) != 1)
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "crls[%zu]: not signed by issuer '%s'", i, iss.issuer_id);
        else
            rv = collect_crl(crl, i, &l);
        X509_CRL_free(crl);
        BIO_free(b);
        ERR_clear_error();
    }
    hsmca_ca_issuer_clear(&iss);
    if (rv != HSMCA_OK)
        goto done;
    /* One entry per serial: the earliest revocation wins. */
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(l.v[0]), entry_cmp);
    for (size_t i = 0; i < l.n; i++) {
        if (w > 0 && entry_cmp(&l.v[w - 1], &l.v[i]) == 0) {
            if (l.v[i].revocation_time < l.v[w - 1].revocation_time)
                l.v[w - 1].revocation_time = l.v[i].revocation_time;
            OPENSSL_free((void *)(uintptr_t)l.v[i].extensions_der);
            continue;
        }
        l.v[w++] = l.v[i];
    }
    l.n = w;
    rv = sign_entries(ca, mount, ref, req, l.v, l.n, der, der_len);
done:
    entries_free(&l);
    return rv;
}
