/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the cert-auth constraint matcher
 * (src/auth/cert_match.c: hsmca_auth_cert_match and
 * hsmca_auth_cert_metadata, what auth/cert/login runs on a client
 * certificate). Input: one mode byte, the role's constraints as JSON, a NUL,
 * then the client certificate's DER. The role document is built as the
 * method stores one: list fields become arrays of strings (a string is
 * split at commas, as the API's list fields are), "certificate" is set by
 * the mode:
 *   0  the leaf itself (a pinned leaf),
 *   1  the fixed CA below, the leaf re-signed by it (so mutated names and
 *      extensions get past the signature and reach the constraints),
 *   2  the fixed CA, the leaf as given (signature and chain errors).
 * `now` is just after the leaf's notBefore so validity rarely stops it.
 * Judged: no crash, no leak, the same verdict twice, and never a CA
 * certificate accepted as a client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmca/auth_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A throwaway software CA for client certificates (fuzzing fixture only;
 * tests/fuzz/corpus/cert_match/ leaves are signed by it). */
static const char ca_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAkLcB73SrQtRgtXN\n"
    "1sz/IE0fyuB4UanXQ7ScK3i8brShRANCAAS3RUCdIEgUGBFn9pWwQzjndQt7SGFk\n"
    "EOknY4cNIgCNNAsnl/Jgo0f0TfO23f72/9CxVogdWwEtmSDER3CXDlCs\n"
    "-----END PRIVATE KEY-----\n"
    ;
static const char ca_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmDCCAT+gAwIBAgIUA/6YwGjehayEMN2xRV3BBmi0lsswCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwORnV6eiBDbGllbnQgQ0EwIBcNMjYxMTI1MTQzMjI5WhgPMjEy\n"
    "NjExMDExNDMyMjlaMBkxFzAVBgNVBAMMDkZ1enogQ2xpZW50IENBMFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEt0VAnSBIFBgRZ/aVsEM453ULe0hhZBDpJ2OHDSIA\n"
    "jTQLJ5fyYKNH9E3ztt3+9v/QsVaIHVsBLZkgxEdwlw5QrKNjMGEwHQYDVR0OBBYE\n"
    "FCo7RcavZ13BUhc2igtnOFvexkV0MB8GA1UdIwQYMBaAFCo7RcavZ13BUhc2igtn\n"
    "OFvexkV0MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49\n"
    "BAMCA0cAMEQCICd49fcuRIpSC5W/Lb0//pbk3m9EPLobW7603fjAP0dBAiAU/VV6\n"
    "Q2ft0eE2U02cY4QQ3Cpv/JYbOm8BbmpD146nOQ==\n"
    "-----END CERTIFICATE-----\n"
    ;

static const char *const list_fields[] = {
    "allowed_names",    "allowed_common_names",         "allowed_dns_sans",    "allowed_email_sans",
    "allowed_uri_sans", "allowed_organizational_units", "required_extensions", "allowed_metadata_extensions",
};

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static void init(void)
{
    BIO *b = BIO_new_mem_buf(ca_key_pem, -1);
    BIO *c = BIO_new_mem_buf(ca_cert_pem, -1);

    ca_key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    ca_cert = c != NULL ? PEM_read_bio_X509(c, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    BIO_free(c);
    if (ca_key == NULL || ca_cert == NULL)
        abort();
}

/* An API list field's value as the method stores it: an array of strings. */
static json_t *as_list(const json_t *v)
{
    json_t *out = json_array();
    size_t i;
    const json_t *e;

    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s != '\0') {
            const char *comma = strchr(s, ',');
            size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
            if (n > 0)
                json_array_append_new(out, json_stringn(s, n));
            s += n + (comma != NULL);
        }
    } else {
        json_array_foreach(v, i, e) {
            if (json_is_string(e))
                json_array_append_new(out, json_string(json_string_value(e)));
        }
    }
    return out;
}

static char *pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    char *out = NULL;

    if (b != NULL && PEM_write_bio_X509(b, x) == 1 && BIO_get_mem_ptr(b, &bm) == 1)
        out = strndup(bm->data, bm->length);
    BIO_free(b);
    return out;
}

static int64_t now_for(X509 *leaf)
{
    struct tm tm;
    int64_t now = 1767225600; /* 2026-01-01 when notBefore is unreadable */

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm) == 1)
        now = (int64_t)timegm(&tm) + 60;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(X509_get0_notBefore(ca_cert), &tm) == 1 && now < (int64_t)timegm(&tm) + 60)
        now = (int64_t)timegm(&tm) + 60;
    return now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul;
    const unsigned char *p;
    json_t *in = NULL, *role = NULL, *meta = NULL;
    X509 *leaf = NULL;
    char *pem = NULL;
    int mode;
    int64_t now;
    hsmca_rv rv1, rv2;

    if (ca_key == NULL)
        init();
    if (size < 2 || (nul = memchr(data + 1, 0, size - 1)) == NULL)
        return 0;
    mode = data[0] % 3;
    in = json_loadb((const char *)data + 1, (size_t)(nul - data - 1), JSON_REJECT_DUPLICATES, NULL);
    p = nul + 1;
    leaf = d2i_X509(NULL, &p, (long)(data + size - p));
    if (!json_is_object(in) || leaf == NULL)
        goto done;
    role = json_object();
    for (size_t i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++)
        json_object_set_new(role, list_fields[i], as_list(json_object_get(in, list_fields[i])));
    if (mode == 1 && (!X509_set_issuer_name(leaf, X509_get_subject_name(ca_cert)) ||
                      !X509_sign(leaf, ca_key, EVP_sha256())))
        goto done; /* not re-encodable: nothing a client could send */
    pem = pem_of(mode == 0 ? leaf : ca_cert);
    if (pem == NULL)
        goto done;
    json_object_set_new(role, "certificate", json_string(pem));
    now = now_for(leaf);
    rv1 = hsmca_auth_cert_match(role, leaf, now);
    rv2 = hsmca_auth_cert_match(role, leaf, now);
    if (rv1 != rv2) {
        fprintf(stderr, "fuzz_cert_match: the same certificate got %d, then %d\n", (int)rv1, (int)rv2);
        abort();
    }
    if (rv1 == HSMCA_OK && (X509_get_extension_flags(leaf) & EXFLAG_CA)) {
        fprintf(stderr, "fuzz_cert_match: a CA certificate was accepted as a client\n");
        abort();
    }
    if (rv1 == HSMCA_OK) {
        meta = json_object();
        json_object_set_new(role, "allowed_metadata_extensions",
                            as_list(json_object_get(in, "allowed_metadata_extensions")));
        if (hsmca_auth_cert_metadata(role, leaf, meta) != HSMCA_OK)
            abort();
    }
done:
    ERR_clear_error();
    json_decref(meta);
    free(pem);
    X509_free(leaf);
    json_decref(role);
    json_decref(in);
    return 0;
}
