/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the OCSP responder's request handling
 * (hsmca_ocsp_respond): any bytes must give an OCSP response whose status
 * is one of the error statuses (the mount's issuers have no keys here, so
 * nothing can be signed), never a crash or a successful answer. The mount
 * has two key-less issuers so CertIDs go through issuer matching. No token:
 * the CA context is the core's own struct with only what the responder
 * reads before it signs (store, generation, responder state). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "../../src/revocation/ocsp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hsmca_ca fake;
static hsmca_store *st;

/* A self-signed software CA certificate (never signs anything here). */
static X509 *software_ca(const char *cn)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    if (k == NULL || x == NULL || n == NULL ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
        !X509_set_pubkey(x, k) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_sign(x, k, EVP_sha256()))
        abort();
    EVP_PKEY_free(k);
    X509_NAME_free(n);
    return x;
}

static void init(void)
{
    char dir[] = "/tmp/hsmca-fuzz-ocsp.XXXXXX", path[64];
    hsmca_store_config sc;
    hsmca_store_batch *b;
    static const char *const ids[] = {"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"};

    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/fuzz.db", dir);
    memset(&sc, 0, sizeof(sc));
    sc.path = path;
    if (hsmca_store_open(&sc, &st) != HSMCA_OK || hsmca_store_mount_create(st, "f", "pki", NULL) != HSMCA_OK)
        abort();
    b = hsmca_store_batch_new(st);
    for (int k = 0; k < 2; k++) {
        hsmca_ca_issuer i;
        memset(&i, 0, sizeof(i));
        snprintf(i.issuer_id, sizeof(i.issuer_id), "%s", ids[k]);
        snprintf(i.issuer_name, sizeof(i.issuer_name), "i%d", k);
        i.certificate = software_ca(k ? "Fuzz B" : "Fuzz A");
        i.usage = HSMCA_USAGE_ALL;
        if (ca_issuer_record(b, "f", &i) != HSMCA_OK)
            abort();
        X509_free(i.certificate);
    }
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, "f", HSMCA_DOC_CONFIG, "issuers", NULL,
                              "{\"default\":\"11111111-1111-4111-8111-111111111111\"}", NULL, 0);
    if (hsmca_store_batch_commit(b) != HSMCA_OK)
        abort();
    hsmca_store_batch_free(b);
    fake.store = st;
    atomic_init(&fake.gen, 1);
    pthread_mutex_init(&fake.cache_lock, NULL);
    if (hsmca_ocsp_state_new(&fake.ocsp) != HSMCA_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    hsmca_ocsp_response r;
    const unsigned char *p;
    OCSP_RESPONSE *resp;

    if (!ready) {
        init();
        ready = 1;
    }
    if (hsmca_ocsp_respond(&fake, "f", data, size, &r) != HSMCA_OK)
        abort(); /* every input gets a response */
    if (r.status == HSMCA_OCSP_SUCCESSFUL || r.der == NULL)
        abort(); /* nothing here can sign */
    p = r.der;
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r.der_len);
    if (resp == NULL || OCSP_response_status(resp) != (int)r.status || p != r.der + r.der_len)
        abort(); /* the bytes say what the status says */
    OCSP_RESPONSE_free(resp);
    hsmca_ocsp_response_clear(&r);
    return 0;
}
