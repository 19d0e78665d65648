/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca-ca-testtool: drives the CA core from integration tests, one
 * operation per run against a real token (HSMCA_TEST_MODULE /
 * HSMCA_TEST_TOKEN / HSMCA_TEST_PIN_FILE) and a real SQLite file
 * (HSMCA_TEST_DB), writing PEM files for independent judges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "hsmca/ca.h"
#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/provider.h"
#include "hsmca/store.h"

static hsmca_p11_token *tok;
static hsmca_keyslot *ks;
static OSSL_PROVIDER *prov;
static hsmca_store *st;
static hsmca_ca *ca;

static int fail(const char *what)
{
    fprintf(stderr, "ca-testtool: %s: %s (%s)\n", what, hsmca_err_message(), hsmca_rv_name(hsmca_err_last()));
    ERR_print_errors_fp(stderr);
    return 1;
}

static hsmca_rv open_all(void)
{
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    hsmca_rv rv;

    memset(&pc, 0, sizeof(pc));
    pc.module_path = getenv("HSMCA_TEST_MODULE");
    pc.token_label = getenv("HSMCA_TEST_TOKEN");
    pc.pin.file = getenv("HSMCA_TEST_PIN_FILE");
    if ((rv = hsmca_p11_token_open(&pc, &tok)) != HSMCA_OK || (rv = hsmca_keyslot_new(tok, &ks)) != HSMCA_OK ||
        (rv = hsmca_provider_load(NULL, &prov)) != HSMCA_OK)
        return rv;
    memset(&sc, 0, sizeof(sc));
    sc.path = getenv("HSMCA_TEST_DB");
    if ((rv = hsmca_store_open(&sc, &st)) != HSMCA_OK)
        return rv;
    memset(&cc, 0, sizeof(cc));
    cc.store = st;
    cc.keyslot = ks;
    cc.max_ttl = 20 * 365 * 86400LL; /* roots in tests live long */
    return hsmca_ca_new(&cc, &ca);
}

static int write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && PEM_write_X509(f, x) == 1;

    if (f)
        fclose(f);
    return ok;
}

static int write_chain(const char *path, STACK_OF(X509) *chain)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL;

    for (int i = 0; ok && i < sk_X509_num(chain); i++)
        ok = PEM_write_X509(f, sk_X509_value(chain, i)) == 1;
    if (f)
        fclose(f);
    return ok;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = malloc(1 << 20);
    size_t n = 0;

    if (f == NULL || buf == NULL) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* KEY=VALUE options after the positional arguments fill params. */
static int apply_opts(hsmca_ca_params *p, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        const char *k = argv[i], *v;
        if (eq == NULL)
            return 0;
        *eq = '\0';
        v = eq + 1;
        if (strcmp(k, "key_type") == 0)
            p->key_type = v;
        else if (strcmp(k, "key_bits") == 0)
            p->key_bits = (unsigned)atoi(v);
        else if (strcmp(k, "key_name") == 0)
            p->key_name = v;
        else if (strcmp(k, "key_ref") == 0)
            p->key_ref = v;
        else if (strcmp(k, "type") == 0)
            p->type = v;
        else if (strcmp(k, "issuer_name") == 0)
            p->issuer_name = v;
        else if (strcmp(k, "common_name") == 0)
            p->common_name = v;
        else if (strcmp(k, "alt_names") == 0)
            hsmca_strlist_add_csv(&p->alt_names, v);
        else if (strcmp(k, "ip_sans") == 0)
            hsmca_strlist_add_csv(&p->ip_sans, v);
        else if (strcmp(k, "uri_sans") == 0)
            hsmca_strlist_add_csv(&p->uri_sans, v);
        else if (strcmp(k, "organization") == 0)
            hsmca_strlist_add_csv(&p->organization, v);
        else if (strcmp(k, "country") == 0)
            hsmca_strlist_add_csv(&p->country, v);
        else if (strcmp(k, "ttl") == 0)
            p->ttl = atoll(v);
        else if (strcmp(k, "not_after") == 0)
            p->not_after = v;
        else if (strcmp(k, "max_path_length") == 0)
            p->max_path_length = atoi(v);
        else if (strcmp(k, "permitted_dns_domains") == 0)
            hsmca_strlist_add_csv(&p->permitted_dns_domains, v);
        else if (strcmp(k, "signature_bits") == 0)
            p->signature_bits = atoi(v);
        else if (strcmp(k, "use_pss") == 0)
            p->use_pss = strcmp(v, "true") == 0;
        else if (strcmp(k, "use_csr_values") == 0)
            p->use_csr_values = strcmp(v, "true") == 0;
        else if (strcmp(k, "exclude_cn_from_sans") == 0)
            p->exclude_cn_from_sans = strcmp(v, "true") == 0;
        else
            return 0;
    }
    return 1;
}

/* KEY=VALUE options of issue/sign requests. */
static int apply_req(hsmca_issue_request *r, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        const char *k = argv[i], *v;
        if (eq == NULL)
            return 0;
        *eq = '\0';
        v = eq + 1;
        if (strcmp(k, "common_name") == 0)
            r->common_name = v;
        else if (strcmp(k, "alt_names") == 0)
            hsmca_strlist_add_csv(&r->alt_names, v);
        else if (strcmp(k, "ip_sans") == 0)
            hsmca_strlist_add_csv(&r->ip_sans, v);
        else if (strcmp(k, "uri_sans") == 0)
            hsmca_strlist_add_csv(&r->uri_sans, v);
        else if (strcmp(k, "other_sans") == 0)
            hsmca_strlist_add_csv(&r->other_sans, v);
        else if (strcmp(k, "ttl") == 0)
            r->ttl = atoll(v);
        else if (strcmp(k, "not_after") == 0)
            r->not_after = v;
        else if (strcmp(k, "exclude_cn_from_sans") == 0)
            r->exclude_cn_from_sans = strcmp(v, "true") == 0;
        else
            return 0;
    }
    return 1;
}

static int print_serial(const char *serial, void *arg)
{
    printf("serial=%s\n", serial);
    return 1;
}

static int print_key(const hsmca_ca_key *k, void *arg)
{
    printf("key=%s %s %s %u\n", k->key_id, k->key_name[0] ? k->key_name : "-", k->key_type, k->key_bits);
    return 1;
}

static void print_result(const hsmca_ca_result *r)
{
    printf("issuer_id=%s\nissuer_name=%s\nkey_id=%s\nkey_name=%s\nserial_number=%s\nexpiration=%lld\n", r->issuer_id,
           r->issuer_name, r->key_id, r->key_name, r->serial_number, (long long)r->expiration);
    for (size_t i = 0; i < r->imported_issuers.n; i++)
        printf("imported_issuer=%s\n", r->imported_issuers.v[i]);
    for (size_t i = 0; i < r->existing_issuers.n; i++)
        printf("existing_issuer=%s\n", r->existing_issuers.v[i]);
    for (size_t i = 0; i < r->imported_keys.n; i++)
        printf("imported_key=%s\n", r->imported_keys.v[i]);
    for (size_t i = 0; i < r->existing_keys.n; i++)
        printf("existing_key=%s\n", r->existing_keys.v[i]);
}

static int usage(void)
{
    fprintf(stderr, "usage: hsmca-ca-testtool mount MOUNT\n"
                    "       hsmca-ca-testtool root MOUNT OUT.pem [key=value...]\n"
                    "       hsmca-ca-testtool csr MOUNT OUT.csr [key=value...]\n"
                    "       hsmca-ca-testtool sign-intermediate MOUNT ISSUER_REF CSR OUT.pem OUTCHAIN.pem [key=value...]\n"
                    "       hsmca-ca-testtool import MOUNT PEMFILE keys|nokeys\n"
                    "       hsmca-ca-testtool issuer MOUNT REF OUT.pem OUTCHAIN.pem\n"
                    "       hsmca-ca-testtool role MOUNT NAME JSON\n"
                    "       hsmca-ca-testtool issue MOUNT ROLE OUTDIR [key=value...]\n"
                    "       hsmca-ca-testtool sign MOUNT ROLE CSR OUT.pem [key=value...]\n"
                    "       hsmca-ca-testtool keys MOUNT | key-delete MOUNT REF | disable MOUNT\n");
    return 2;
}

int main(int argc, char **argv)
{
    hsmca_ca_params p;
    hsmca_ca_result r;
    hsmca_rv rv;
    int rc = 0;

    if (getenv("HSMCA_TEST_DEBUG"))
        hsmca_log_set_level(HSMCA_LOG_DEBUG);
    if (argc < 3)
        return usage();
    if ((rv = open_all()) != HSMCA_OK)
        return fail("opening token, store and CA");
    hsmca_ca_params_init(&p);
    memset(&r, 0, sizeof(r));
    if (strcmp(argv[1], "mount") == 0) {
        rc = hsmca_ca_mount_enable(ca, argv[2]) == HSMCA_OK ? 0 : fail("mount");
    } else if (strcmp(argv[1], "disable") == 0) {
        rc = hsmca_ca_mount_disable(ca, argv[2]) == HSMCA_OK ? 0 : fail("disable");
    } else if (strcmp(argv[1], "root") == 0 && argc >= 4) {
        if (!apply_opts(&p, argc - 4, argv + 4))
            return usage();
        if (hsmca_ca_generate_root(ca, argv[2], &p, &r) != HSMCA_OK)
            rc = fail("root");
        else if (!write_cert(argv[3], r.certificate))
            rc = fail("writing");
        else
            print_result(&r);
    } else if (strcmp(argv[1], "csr") == 0 && argc >= 4) {
        FILE *f;
        if (!apply_opts(&p, argc - 4, argv + 4))
            return usage();
        if (hsmca_ca_generate_intermediate(ca, argv[2], &p, &r) != HSMCA_OK) {
            rc = fail("intermediate");
        } else {
            f = fopen(argv[3], "w");
            if (f == NULL || PEM_write_X509_REQ(f, r.csr) != 1)
                rc = fail("writing");
            if (f)
                fclose(f);
            print_result(&r);
        }
    } else if (strcmp(argv[1], "sign-intermediate") == 0 && argc >= 7) {
        size_t len;
        char *csr = read_file(argv[4], &len);
        if (!apply_opts(&p, argc - 7, argv + 7) || csr == NULL)
            return usage();
        if (hsmca_ca_sign_intermediate(ca, argv[2], argv[3], csr, &p, &r) != HSMCA_OK)
            rc = fail("sign-intermediate");
        else if (!write_cert(argv[5], r.certificate) || !write_chain(argv[6], r.ca_chain))
            rc = fail("writing");
        else
            print_result(&r);
        free(csr);
    } else if (strcmp(argv[1], "import") == 0 && argc == 5) {
        size_t len;
        char *pem = read_file(argv[3], &len);
        if (pem == NULL)
            return usage();
        if (hsmca_ca_import_bundle(ca, argv[2], pem, len, strcmp(argv[4], "keys") == 0, &r) != HSMCA_OK)
            rc = fail("import");
        else
            print_result(&r);
        OPENSSL_cleanse(pem, len);
        free(pem);
    } else if (strcmp(argv[1], "issuer") == 0 && argc == 6) {
        hsmca_ca_issuer iss;
        if (hsmca_ca_issuer_get(ca, argv[2], argv[3], &iss) != HSMCA_OK) {
            rc = fail("issuer");
        } else {
            if (!write_cert(argv[4], iss.certificate) || !write_chain(argv[5], iss.ca_chain))
                rc = fail("writing");
            printf("issuer_id=%s\nkey_id=%s\nchain_length=%d\n", iss.issuer_id, iss.key_id, sk_X509_num(iss.ca_chain));
            hsmca_ca_issuer_clear(&iss);
        }
    } else if (strcmp(argv[1], "role") == 0 && argc == 5) {
        hsmca_strlist warnings = {0};
        if (hsmca_ca_role_put(ca, argv[2], argv[3], argv[4], false, &warnings) != HSMCA_OK)
            rc = fail("role");
        for (size_t i = 0; i < warnings.n; i++)
            printf("warning=%s\n", warnings.v[i]);
        hsmca_strlist_clear(&warnings);
    } else if (strcmp(argv[1], "issue") == 0 && argc >= 5) {
        hsmca_issue_request req;
        char path[4096];
        memset(&req, 0, sizeof(req));
        if (!apply_req(&req, argc - 5, argv + 5))
            return usage();
        if (hsmca_ca_issue(ca, argv[2], argv[3], NULL, &req, &r) != HSMCA_OK) {
            rc = fail("issue");
        } else {
            FILE *f;
            snprintf(path, sizeof(path), "%s/leaf.pem", argv[4]);
            if (!write_cert(path, r.certificate))
                rc = fail("writing");
            snprintf(path, sizeof(path), "%s/chain.pem", argv[4]);
            if (!write_chain(path, r.ca_chain))
                rc = fail("writing");
            snprintf(path, sizeof(path), "%s/leaf.key", argv[4]);
            f = fopen(path, "w");
            if (f == NULL || PEM_write_PrivateKey(f, r.private_key, NULL, NULL, 0, NULL, NULL) != 1)
                rc = fail("writing the key");
            if (f)
                fclose(f);
            print_result(&r);
        }
        hsmca_issue_request_clear(&req);
    } else if (strcmp(argv[1], "sign") == 0 && argc >= 6) {
        hsmca_issue_request req;
        size_t len;
        char *csr = read_file(argv[4], &len);
        memset(&req, 0, sizeof(req));
        if (csr == NULL || !apply_req(&req, argc - 6, argv + 6))
            return usage();
        if (hsmca_ca_sign(ca, argv[2], argv[3], NULL, csr, &req, &r) != HSMCA_OK)
            rc = fail("sign");
        else if (!write_cert(argv[5], r.certificate))
            rc = fail("writing");
        else
            print_result(&r);
        free(csr);
        hsmca_issue_request_clear(&req);
    } else if (strcmp(argv[1], "manual-chain") == 0 && argc >= 4) {
        /* manual-chain MOUNT REF [ID...]: set the issuer's manual_chain */
        hsmca_ca_issuer cur, attrs;
        memset(&attrs, 0, sizeof(attrs));
        if (hsmca_ca_issuer_get(ca, argv[2], argv[3], &cur) != HSMCA_OK) {
            rc = fail("issuer");
        } else {
            snprintf(attrs.issuer_name, sizeof(attrs.issuer_name), "%s", cur.issuer_name);
            attrs.usage = cur.usage;
            attrs.leaf_not_after_behavior = cur.leaf_not_after_behavior;
            for (int i = 4; i < argc; i++)
                hsmca_strlist_add(&attrs.manual_chain, argv[i], strlen(argv[i]));
            if (hsmca_ca_issuer_update(ca, argv[2], argv[3], &attrs) != HSMCA_OK)
                rc = fail("issuer update");
            hsmca_ca_issuer_clear(&cur);
            hsmca_ca_issuer_clear(&attrs);
        }
    } else if (strcmp(argv[1], "verbatim") == 0 && argc >= 5) {
        /* verbatim MOUNT CSR OUT.pem [role=NAME] [ext_key_usage=...] [key_usage=...] */
        hsmca_verbatim_params vp;
        size_t len;
        char *csr = read_file(argv[3], &len);
        hsmca_verbatim_params_init(&vp);
        for (int i = 5; i < argc; i++) {
            if (strncmp(argv[i], "role=", 5) == 0)
                vp.role = argv[i] + 5;
            else if (strncmp(argv[i], "ext_key_usage=", 14) == 0)
                hsmca_strlist_add_csv(&vp.ext_key_usage, argv[i] + 14);
            else if (strncmp(argv[i], "key_usage=", 10) == 0) {
                hsmca_strlist_add_csv(&vp.key_usage, argv[i] + 10);
                vp.key_usage_set = true;
            } else
                return usage();
        }
        if (csr == NULL || hsmca_ca_sign_verbatim(ca, argv[2], NULL, csr, &vp, &r) != HSMCA_OK)
            rc = fail("sign-verbatim");
        else if (!write_cert(argv[4], r.certificate))
            rc = fail("writing");
        else
            print_result(&r);
        hsmca_verbatim_params_clear(&vp);
        free(csr);
    } else if (strcmp(argv[1], "self-issued") == 0 && argc == 6) {
        size_t len;
        char *pem = read_file(argv[4], &len);
        if (pem == NULL || hsmca_ca_sign_self_issued(ca, argv[2], argv[3], pem, false, &r) != HSMCA_OK)
            rc = fail("sign-self-issued");
        else if (!write_cert(argv[5], r.certificate))
            rc = fail("writing");
        else
            print_result(&r);
        free(pem);
    } else if (strcmp(argv[1], "issuer-revoke") == 0 && argc == 4) {
        hsmca_ca_issuer iss;
        if (hsmca_ca_issuer_revoke(ca, argv[2], argv[3], &iss) != HSMCA_OK)
            rc = fail("issuer-revoke");
        else
            printf("revoked=%d\nrevocation_time=%lld\n", iss.revoked, (long long)iss.revocation_time);
        hsmca_ca_issuer_clear(&iss);
    } else if (strcmp(argv[1], "delete-all") == 0 && argc == 3) {
        rc = hsmca_ca_delete_all(ca, argv[2]) == HSMCA_OK ? 0 : fail("delete-all");
    } else if (strcmp(argv[1], "issuer-delete") == 0 && argc == 4) {
        rc = hsmca_ca_issuer_delete(ca, argv[2], argv[3]) == HSMCA_OK ? 0 : fail("issuer-delete");
    } else if (strcmp(argv[1], "config-set") == 0 && argc == 5) {
        rc = hsmca_ca_config_set(ca, argv[2], argv[3], argv[4]) == HSMCA_OK ? 0 : fail("config-set");
    } else if (strcmp(argv[1], "config-get") == 0 && argc == 4) {
        char *text = NULL;
        if (hsmca_ca_config_get(ca, argv[2], argv[3], &text) != HSMCA_OK)
            rc = fail("config-get");
        else
            printf("%s\n", text);
        free(text);
    } else if (strcmp(argv[1], "certs") == 0 && argc == 3) {
        rc = hsmca_ca_cert_list(ca, argv[2], NULL, 0, print_serial, NULL) == HSMCA_OK ? 0 : fail("certs");
    } else if (strcmp(argv[1], "cert") == 0 && argc == 5) {
        hsmca_store_cert c;
        if (hsmca_ca_cert_get(ca, argv[2], argv[3], &c) != HSMCA_OK) {
            rc = fail("cert");
        } else {
            FILE *f = fopen(argv[4], "wb");
            if (f == NULL || fwrite(c.der, 1, c.der_len, f) != c.der_len)
                rc = fail("writing");
            if (f)
                fclose(f);
            printf("issuer_id=%s\nrole=%s\n", c.issuer_id, c.role);
            hsmca_store_cert_clear(&c);
        }
    } else if (strcmp(argv[1], "key-rename") == 0 && argc == 5) {
        rc = hsmca_ca_key_rename(ca, argv[2], argv[3], argv[4]) == HSMCA_OK ? 0 : fail("key-rename");
    } else if (strcmp(argv[1], "keys") == 0 && argc == 3) {
        rc = hsmca_ca_key_list(ca, argv[2], print_key, NULL) == HSMCA_OK ? 0 : fail("keys");
    } else if (strcmp(argv[1], "key-delete") == 0 && argc == 4) {
        rc = hsmca_ca_key_delete(ca, argv[2], argv[3]) == HSMCA_OK ? 0 : fail("key-delete");
    } else {
        rc = usage();
    }
    hsmca_ca_result_clear(&r);
    hsmca_ca_params_clear(&p);
    hsmca_ca_free(ca);
    hsmca_store_close(st);
    OSSL_PROVIDER_unload(prov);
    hsmca_keyslot_free(ks);
    hsmca_p11_token_free(tok);
    return rc;
}
