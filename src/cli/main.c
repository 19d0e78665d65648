/* SPDX-License-Identifier: Apache-2.0 */
/* hsmca, the operator CLI: token and key management against a PKCS#11 token.
 * PINs come from files or systemd credentials only, never from arguments. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hsmca/keyslot.h"
#include "hsmca/log.h"
#include "hsmca/p11.h"
#include "init.h"
#include "token.h"
#include "ceremony_cli.h"

#include "audit.h"
#include "rotate.h"

/* sysexits(3)-style codes, one per hsmca_rv class (CONVENTIONS.md: one
 * table to exit codes in the CLI). */
static int exit_code(hsmca_rv rv)
{
    switch (rv) {
    case HSMCA_OK:
        return 0;
    case HSMCA_ERR_INVALID_ARG:
        return 65; /* EX_DATAERR */
    case HSMCA_ERR_NOT_FOUND:
    case HSMCA_ERR_TOKEN_NOT_FOUND:
        return 66; /* EX_NOINPUT */
    case HSMCA_ERR_EXISTS:
        return 73; /* EX_CANTCREAT */
    case HSMCA_ERR_UNSUPPORTED:
        return 69; /* EX_UNAVAILABLE */
    case HSMCA_ERR_PIN_INCORRECT:
    case HSMCA_ERR_PIN_LOCKED:
        return 77; /* EX_NOPERM */
    case HSMCA_ERR_MODULE:
    case HSMCA_ERR_IO:
        return 74; /* EX_IOERR */
    case HSMCA_ERR_HSM_UNAVAILABLE:
    case HSMCA_ERR_TIMEOUT:
        return 75; /* EX_TEMPFAIL */
    default:
        return 70; /* EX_SOFTWARE */
    }
}

static int report(hsmca_rv rv, const char *what)
{
    if (rv != HSMCA_OK)
        fprintf(stderr, "hsmca: %s: %s\n", what, hsmca_err_message()[0] ? hsmca_err_message() : hsmca_rv_name(rv));
    return exit_code(rv);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hsmca [--module PATH] [--token LABEL | --serial SERIAL]\n"
            "             [--pin-file PATH | --pin-credential NAME] [--debug] COMMAND ...\n"
            "\n"
            "commands:\n"
            "  token list                      the module's tokens (no PIN needed)\n"
            "  token init LABEL [--so-pin-file PATH] [--user-pin-file PATH]\n"
            "                                  initialise a free slot's token; PINs not given\n"
            "                                  as files are asked for on the terminal, no echo\n"
            "  token info                      token identity and health\n"
            "  key list                        keys on the token\n"
            "  key generate TYPE [BITS] NAME   TYPE rsa (2048|3072|4096), ec (256|384|521), ed25519\n"
            "  key info REF                    key, its token attributes and SPKI fingerprint\n"
            "  key pubkey REF                  public key as PEM\n"
            "  key rename REF NAME\n"
            "  key delete REF\n"
            "  ceremony run FILE [--dry-run] [--operator NAME ...]\n"
            "                                  a key ceremony as its JSON file describes (docs/ceremony.md)\n"
            "  ceremony verify TRANSCRIPT      check a ceremony transcript (and, with the token options,\n"
            "                                  that its keys are still in the token and non-extractable)\n"
            "  audit verify FILE [--prev HEX] check an audit log's HMAC chain (docs/audit.md)\n"
            "  rotate plan|start|promote|retire|finish --addr URL --token-file PATH [--mount M] [--state FILE]\n"
            "                                  the issuer rotation workflow against hsmcad (docs/rotation.md)\n"
            "  init --db PATH                  make a new database's root token, print it once (no token needed)\n"
            "\n"
            "REF is a key_id (UUID) or a key name. The module, token and PIN file can\n"
            "also come from HSMCA_PKCS11_MODULE, HSMCA_TOKEN and HSMCA_PIN_FILE (paths\n"
            "and labels only: a PIN is never read from the environment or arguments).\n");
}

static const char *type_name(hsmca_key_type t)
{
    return t == HSMCA_KEY_RSA ? "rsa" : t == HSMCA_KEY_EC ? "ec" : "ed25519";
}

static void print_key(const hsmca_keyslot_info *k)
{
    printf("%s  %-24s  %-7s %4u  %s\n", k->key_id, k->key_name[0] ? k->key_name : "-", type_name(k->type),
           k->bits, k->curve);
}

static void print_hex(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x%s", b[i], i + 1 < n ? ":" : "");
}

static int cmd_key_info(hsmca_keyslot *ks, const char *ref)
{
    hsmca_keyslot_info k;
    hsmca_p11_key *key = NULL;
    hsmca_p11_key_attrs a = {0};
    hsmca_rv rv;

    rv = hsmca_keyslot_lookup(ks, ref, &k);
    if (rv == HSMCA_OK)
        rv = hsmca_keyslot_get1_key(ks, ref, &key);
    if (rv == HSMCA_OK)
        rv = hsmca_p11_key_get_attrs(key, &a);
    if (rv == HSMCA_OK) {
        printf("key_id:                %s\n", k.key_id);
        printf("key_name:              %s\n", k.key_name);
        printf("key_type:              %s\n", type_name(k.type));
        printf("key_bits:              %u\n", k.bits);
        if (k.curve[0])
            printf("curve:                 %s\n", k.curve);
        printf("CKA_LOCAL:             %s\n", a.local ? "true" : "false");
        printf("CKA_SENSITIVE:         %s\n", a.sensitive ? "true" : "false");
        printf("CKA_ALWAYS_SENSITIVE:  %s\n", a.always_sensitive ? "true" : "false");
        printf("CKA_EXTRACTABLE:       %s\n", a.extractable ? "true" : "false");
        printf("CKA_NEVER_EXTRACTABLE: %s\n", a.never_extractable ? "true" : "false");
        printf("signature schemes:    %s%s%s%s%s\n", (k.caps & HSMCA_CAP_RSA_PKCS1) ? " rsa-pkcs1" : "",
               (k.caps & HSMCA_CAP_RSA_PSS) ? " rsa-pss" : "",
               (k.caps & HSMCA_CAP_RSA_RAW) ? " rsa-raw(software padding)" : "",
               (k.caps & HSMCA_CAP_ECDSA) ? " ecdsa" : "", (k.caps & HSMCA_CAP_EDDSA) ? " eddsa" : "");
        printf("SPKI SHA-256:          ");
        print_hex(k.spki_sha256, sizeof(k.spki_sha256));
        printf("\n");
    }
    hsmca_p11_key_free(key);
    return report(rv, "key info");
}

static int run(hsmca_p11_token *tok, int argc, char **argv)
{
    hsmca_keyslot *ks = NULL;
    hsmca_keyslot_info k;
    hsmca_rv rv;
    int rc = 64;

    if (argc >= 2 && strcmp(argv[0], "token") == 0 && strcmp(argv[1], "info") == 0) {
        hsmca_p11_health h;
        hsmca_p11_token_health(tok, &h);
        printf("label:        %s\nserial:       %s\nmanufacturer: %s\nmodel:        %s\nmodule:       %s\n",
               hsmca_p11_token_label(tok), hsmca_p11_token_serial(tok), hsmca_p11_token_manufacturer(tok),
               hsmca_p11_token_model(tok), hsmca_p11_token_module_path(tok));
        printf("present:      %s\nlogged in:    %s\nsessions:     %u open, %u in use, %u max\n",
               h.present ? "yes" : "no", h.logged_in ? "yes" : "no", h.sessions_open, h.sessions_in_use,
               h.sessions_max);
        return 0;
    }
    if (argc >= 1 && strcmp(argv[0], "audit") == 0)
        return report(hsmca_cli_audit(tok, argc - 1, argv + 1), "audit");
    if (argc < 2 || strcmp(argv[0], "key") != 0) {
        usage(stderr);
        return 64;
    }
    rv = hsmca_keyslot_new(tok, &ks);
    if (rv != HSMCA_OK)
        return report(rv, "key-slot manager");
    if (strcmp(argv[1], "list") == 0 && argc == 2) {
        hsmca_keyslot_info *all = NULL;
        size_t n = 0;
        rv = hsmca_keyslot_list(ks, &all, &n);
        for (size_t i = 0; i < n; i++)
            print_key(&all[i]);
        OPENSSL_free(all);
        rc = report(rv, "key list");
    } else if (strcmp(argv[1], "generate") == 0 && (argc == 4 || argc == 5)) {
        hsmca_key_type t;
        unsigned bits;
        unsigned req = argc == 5 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
        rv = hsmca_keyslot_parse_type(argv[2], req, &t, &bits);
        if (rv == HSMCA_OK)
            rv = hsmca_keyslot_generate(ks, argv[argc - 1], t, bits, &k);
        if (rv == HSMCA_OK)
            print_key(&k);
        rc = report(rv, "key generate");
    } else if (strcmp(argv[1], "info") == 0 && argc == 3) {
        rc = cmd_key_info(ks, argv[2]);
    } else if (strcmp(argv[1], "pubkey") == 0 && argc == 3) {
        char *pem = NULL;
        rv = hsmca_keyslot_export_public_pem(ks, argv[2], &pem);
        if (rv == HSMCA_OK)
            fputs(pem, stdout);
        OPENSSL_free(pem);
        rc = report(rv, "key pubkey");
    } else if (strcmp(argv[1], "rename") == 0 && argc == 4) {
        rc = report(hsmca_keyslot_rename(ks, argv[2], argv[3]), "key rename");
    } else if (strcmp(argv[1], "delete") == 0 && argc == 3) {
        rc = report(hsmca_keyslot_delete(ks, argv[2]), "key delete");
    } else {
        usage(stderr);
    }
    hsmca_keyslot_free(ks);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"module", required_argument, NULL, 'm'},   {"token", required_argument, NULL, 't'},
        {"serial", required_argument, NULL, 's'},   {"pin-file", required_argument, NULL, 'p'},
        {"pin-credential", required_argument, NULL, 'c'}, {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    hsmca_p11_config cfg;
    hsmca_p11_token *tok = NULL;
    hsmca_rv rv;
    int c, rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.module_path = getenv("HSMCA_PKCS11_MODULE");
    cfg.token_label = getenv("HSMCA_TOKEN");
    cfg.pin.file = getenv("HSMCA_PIN_FILE");
    hsmca_log_set_level(HSMCA_LOG_WARNING);
    /* "+": stop at the first command word so its arguments are not options. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            cfg.module_path = optarg;
            break;
        case 't':
            cfg.token_label = optarg;
            break;
        case 's':
            cfg.token_serial = optarg;
            break;
        case 'p':
            cfg.pin.file = optarg;
            cfg.pin.credential = NULL;
            break;
        case 'c':
            cfg.pin.credential = optarg;
            cfg.pin.file = NULL;
            break;
        case 'd':
            hsmca_log_set_level(HSMCA_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 64;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 64;
    }
    if (strcmp(argv[optind], "init") == 0)
        return report(hsmca_cli_init(argc - optind, argv + optind), "init");
    /* Rotation talks to hsmcad, not to a token; its client token sits in
     * the secure heap. */
    if (strcmp(argv[optind], "rotate") == 0) {
        CRYPTO_secure_malloc_init(32 * 1024, 32);
        return report(hsmca_cli_rotate(argc - optind, argv + optind), "rotate");
    }
    /* A ceremony names its own module, token and PIN source. */
    if (strcmp(argv[optind], "ceremony") == 0) {
        CRYPTO_secure_malloc_init(32 * 1024, 32);
        return report(hsmca_cli_ceremony(&cfg, argc - optind, argv + optind), "ceremony");
    }
    if (cfg.module_path == NULL) {
        fprintf(stderr, "hsmca: no PKCS#11 module: give --module PATH or set HSMCA_PKCS11_MODULE\n");
        return 64;
    }
    /* These run before any login: list needs no PIN, init sets the PINs. */
    if (strcmp(argv[optind], "token") == 0 && optind + 1 < argc &&
        (strcmp(argv[optind + 1], "list") == 0 || strcmp(argv[optind + 1], "init") == 0)) {
        CRYPTO_secure_malloc_init(32 * 1024, 32);
        return report(hsmca_cli_token(&cfg, argc - optind, argv + optind), "token");
    }
    if (cfg.pin.file == NULL && cfg.pin.credential == NULL) {
        fprintf(stderr, "hsmca: no PIN source: give --pin-file PATH or --pin-credential NAME\n");
        return 64;
    }
    /* The PIN lives in the secure heap, locked in memory. */
    CRYPTO_secure_malloc_init(32 * 1024, 32);
    rv = hsmca_p11_token_open(&cfg, &tok);
    if (rv != HSMCA_OK)
        return report(rv, "opening the token");
    rc = run(tok, argc - optind, argv + optind);
    hsmca_p11_token_free(tok);
    return rc;
}
