/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for hsm/p11/uri.c: RFC 7512 pkcs11: URI parsing, matching and
 * canonical formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/p11_uri.h"
#include "hsmca/rv.h"

/* ---- fixture: every parsed URI and formatted string of a test is owned
 * here, so a failing assertion (which longjmps out) still frees them ---- */

typedef struct {
    hsmca_p11_uri *uri;
    hsmca_p11_uri *uri2;
    char *text;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    hsmca_err_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    hsmca_p11_uri_free(f->uri);
    hsmca_p11_uri_free(f->uri2);
    free(f->text);
    free(f);
    return 0;
}

/* Parses text, which must succeed, into the fixture's uri slot. */
static hsmca_p11_uri *must_parse(void **state, const char *text)
{
    fixture *f = *state;
    hsmca_rv rv;

    hsmca_p11_uri_free(f->uri);
    f->uri = NULL;
    rv = hsmca_p11_uri_parse(text, &f->uri);
    if (rv != HSMCA_OK)
        print_error("parse of '%s' failed: %s: %s\n", text, hsmca_rv_name(rv),
                    hsmca_err_message());
    assert_int_equal(rv, HSMCA_OK);
    assert_non_null(f->uri);
    return f->uri;
}

/* Parses text, which must fail with INVALID_ARG and a detail containing
 * each non-NULL needle; returns the detail. */
static const char *must_fail(const char *text, const char *needle1, const char *needle2)
{
    hsmca_p11_uri *uri = (hsmca_p11_uri *)(uintptr_t)0x1; /* must be reset */
    hsmca_rv rv;
    const char *msg;

    hsmca_err_clear();
    rv = hsmca_p11_uri_parse(text, &uri);
    msg = hsmca_err_message();
    if (rv == HSMCA_OK) {
        hsmca_p11_uri_free(uri);
        print_error("parse of '%s' unexpectedly succeeded\n", text);
        fail();
    }
    assert_int_equal(rv, HSMCA_ERR_INVALID_ARG);
    assert_int_equal(hsmca_err_last(), HSMCA_ERR_INVALID_ARG);
    assert_null(uri);
    assert_true(msg[0] != '\0');
    if ((needle1 != NULL && strstr(msg, needle1) == NULL) ||
        (needle2 != NULL && strstr(msg, needle2) == NULL))
        print_error("detail for '%s' was: %s\n", text, msg);
    if (needle1 != NULL)
        assert_non_null(strstr(msg, needle1));
    if (needle2 != NULL)
        assert_non_null(strstr(msg, needle2));
    return msg;
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

/* Everything the parser fills in must be equal. */
static void assert_uri_equal(const hsmca_p11_uri *a, const hsmca_p11_uri *b)
{
    assert_str_or_null(a->token, b->token);
    assert_str_or_null(a->manufacturer, b->manufacturer);
    assert_str_or_null(a->model, b->model);
    assert_str_or_null(a->serial, b->serial);
    assert_str_or_null(a->object, b->object);
    assert_int_equal(a->id_len, b->id_len);
    if (a->id_len > 0)
        assert_memory_equal(a->id, b->id, a->id_len);
    assert_int_equal(a->type, b->type);
    assert_str_or_null(a->library_manufacturer, b->library_manufacturer);
    assert_str_or_null(a->library_description, b->library_description);
    assert_str_or_null(a->library_version, b->library_version);
    assert_str_or_null(a->slot_description, b->slot_description);
    assert_str_or_null(a->slot_manufacturer, b->slot_manufacturer);
    assert_int_equal(a->has_slot_id, b->has_slot_id);
    assert_int_equal(a->slot_id, b->slot_id);
    assert_str_or_null(a->pin_source, b->pin_source);
    assert_str_or_null(a->pin_value, b->pin_value);
    assert_str_or_null(a->module_name, b->module_name);
    assert_str_or_null(a->module_path, b->module_path);
}

/* ---- the empty URI and each attribute ---- */

static void test_empty_uri_matches_everything(void **state)
{
    hsmca_p11_uri *u = must_parse(state, "pkcs11:");

    assert_null(u->token);
    assert_null(u->manufacturer);
    assert_null(u->model);
    assert_null(u->serial);
    assert_null(u->object);
    assert_null(u->id);
    assert_int_equal(u->id_len, 0);
    assert_int_equal(u->type, HSMCA_P11_URI_TYPE_ANY);
    assert_null(u->library_manufacturer);
    assert_null(u->library_description);
    assert_null(u->library_version);
    assert_null(u->slot_description);
    assert_null(u->slot_manufacturer);
    assert_false(u->has_slot_id);
    assert_null(u->pin_source);
    assert_null(u->pin_value);
    assert_null(u->module_name);
    assert_null(u->module_path);
    assert_true(hsmca_p11_uri_match_token(u, NULL, NULL, NULL, NULL));

    /* An empty query is allowed too (pk11-query may be empty). */
    must_parse(state, "pkcs11:?");
    must_parse(state, "pkcs11:token=a?");
}

/* Every string attribute, each on its own, lands in its own member. */
static void test_each_string_attribute(void **state)
{
    static const struct {
        const char *uri;
        size_t field;
        const char *want;
    } cases[] = {
        {"pkcs11:token=tok", offsetof(hsmca_p11_uri, token), "tok"},
        {"pkcs11:manufacturer=SoftHSM%20project", offsetof(hsmca_p11_uri, manufacturer),
         "SoftHSM project"},
        {"pkcs11:model=SoftHSM%20v2", offsetof(hsmca_p11_uri, model), "SoftHSM v2"},
        {"pkcs11:serial=0123abcd", offsetof(hsmca_p11_uri, serial), "0123abcd"},
        {"pkcs11:object=root-2024", offsetof(hsmca_p11_uri, object), "root-2024"},
        {"pkcs11:library-manufacturer=OpenSC", offsetof(hsmca_p11_uri, library_manufacturer),
         "OpenSC"},
        {"pkcs11:library-description=lib%20d", offsetof(hsmca_p11_uri, library_description),
         "lib d"},
        {"pkcs11:library-version=2.6", offsetof(hsmca_p11_uri, library_version), "2.6"},
        {"pkcs11:slot-description=slot%201", offsetof(hsmca_p11_uri, slot_description),
         "slot 1"},
        {"pkcs11:slot-manufacturer=acme", offsetof(hsmca_p11_uri, slot_manufacturer), "acme"},
        {"pkcs11:?pin-source=file:/run/pin", offsetof(hsmca_p11_uri, pin_source),
         "file:/run/pin"},
        {"pkcs11:?pin-value=1234", offsetof(hsmca_p11_uri, pin_value), "1234"},
        {"pkcs11:?module-name=softhsm2", offsetof(hsmca_p11_uri, module_name), "softhsm2"},
        {"pkcs11:?module-path=/usr/lib/softhsm/libsofthsm2.so",
         offsetof(hsmca_p11_uri, module_path), "/usr/lib/softhsm/libsofthsm2.so"},
    };
    static const size_t members[] = {
        offsetof(hsmca_p11_uri, token),
        offsetof(hsmca_p11_uri, manufacturer),
        offsetof(hsmca_p11_uri, model),
        offsetof(hsmca_p11_uri, serial),
        offsetof(hsmca_p11_uri, object),
        offsetof(hsmca_p11_uri, library_manufacturer),
        offsetof(hsmca_p11_uri, library_description),
        offsetof(hsmca_p11_uri, library_version),
        offsetof(hsmca_p11_uri, slot_description),
        offsetof(hsmca_p11_uri, slot_manufacturer),
        offsetof(hsmca_p11_uri, pin_source),
        offsetof(hsmca_p11_uri, pin_value),
        offsetof(hsmca_p11_uri, module_name),
        offsetof(hsmca_p11_uri, module_path),
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsmca_p11_uri *u = must_parse(state, cases[i].uri);
        for (size_t m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
            char *const *member = (char *const *)(const void *)((const char *)u + members[m]);
            if (members[m] == cases[i].field)
                assert_str_or_null(*member, cases[i].want);
            else
                assert_null(*member);
        }
        assert_int_equal(u->id_len, 0);
        assert_int_equal(u->type, HSMCA_P11_URI_TYPE_ANY);
        assert_false(u->has_slot_id);
    }
}

static void test_empty_string_value_is_present(void **state)
{
    /* RFC 7512 section 3 uses "serial=": present and empty, not absent. */
    hsmca_p11_uri *u = must_parse(state, "pkcs11:serial=;object=");

    assert_non_null(u->serial);
    assert_string_equal(u->serial, "");
    assert_non_null(u->object);
    assert_string_equal(u->object, "");
}

static void test_type_values(void **state)
{
    static const struct {
        const char *uri;
        hsmca_p11_uri_type want;
    } cases[] = {
        {"pkcs11:type=private", HSMCA_P11_URI_TYPE_PRIVATE},
        {"pkcs11:type=public", HSMCA_P11_URI_TYPE_PUBLIC},
        {"pkcs11:type=cert", HSMCA_P11_URI_TYPE_CERT},
        {"pkcs11:type=secret-key", HSMCA_P11_URI_TYPE_SECRET_KEY},
        {"pkcs11:type=data", HSMCA_P11_URI_TYPE_DATA},
        /* ABNF literals are case-insensitive (RFC 5234 2.3). */
        {"pkcs11:type=CERT", HSMCA_P11_URI_TYPE_CERT},
        {"pkcs11:TYPE=Secret-Key", HSMCA_P11_URI_TYPE_SECRET_KEY},
        /* %70 is 'p': RFC 3986 2.3 makes it the same URI as "public". */
        {"pkcs11:type=%70ublic", HSMCA_P11_URI_TYPE_PUBLIC},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(must_parse(state, cases[i].uri)->type, cases[i].want);
}

static void test_slot_id(void **state)
{
    char text[64];
    hsmca_p11_uri *u = must_parse(state, "pkcs11:slot-id=0");

    assert_true(u->has_slot_id);
    assert_int_equal(u->slot_id, 0);
    u = must_parse(state, "pkcs11:slot-id=1804289383");
    assert_true(u->has_slot_id);
    assert_int_equal(u->slot_id, 1804289383UL);
    snprintf(text, sizeof(text), "pkcs11:slot-id=%lu", ULONG_MAX);
    u = must_parse(state, text);
    assert_true(u->slot_id == ULONG_MAX);
}

static void test_library_version(void **state)
{
    assert_string_equal(must_parse(state, "pkcs11:library-version=3")->library_version, "3");
    assert_string_equal(must_parse(state, "pkcs11:library-version=1.23")->library_version,
                        "1.23");
    assert_string_equal(must_parse(state, "pkcs11:library-version=255.255")->library_version,
                        "255.255");
}

/* ---- percent-decoding ---- */

static void test_percent_decoding(void **state)
{
    hsmca_p11_uri *u = must_parse(state, "pkcs11:token=a%20b%25c%3bd;object=%c3%A1");

    assert_string_equal(u->token, "a b%c;d");
    assert_string_equal(u->object, "\xc3\xa1");

    /* The reserved characters both components admit unencoded, plus '&' in
     * the path and '/', '?', '|' in the query (RFC 7512 2.3). */
    u = must_parse(state, "pkcs11:token=:[]@!$'()*+,=&?pin-source=:[]@!$'()*+,=/?|");
    assert_string_equal(u->token, ":[]@!$'()*+,=&");
    assert_string_equal(u->pin_source, ":[]@!$'()*+,=/?|");

    /* The value runs to the separator; only the first '=' splits. */
    assert_string_equal(must_parse(state, "pkcs11:object=a=b")->object, "a=b");

    /* Attribute names are decoded too: %74oken is token. */
    assert_string_equal(must_parse(state, "pkcs11:%74oken=t")->token, "t");
}

static void test_binary_id(void **state)
{
    static const unsigned char want[] = {0x00, 0x01, 0xff, 0xfe, 0x00, 'a', 'Z'};
    hsmca_p11_uri *u = must_parse(state, "pkcs11:id=%00%01%FF%fe%00aZ");

    assert_int_equal(u->id_len, sizeof(want));
    assert_memory_equal(u->id, want, sizeof(want));
}

/* ---- every error path ---- */

static void test_missing_scheme(void **state)
{
    must_fail("token=a", "pkcs11:", "RFC 7512");
    must_fail("pkcs11", "pkcs11:", NULL);
    must_fail("pkcs12:token=a", "scheme 'pkcs12'", NULL);
    must_fail("http://example.com/pkcs11:", "scheme 'http'", NULL);
    must_fail(" pkcs11:token=a", "pkcs11", NULL);
    /* The scheme itself is case-insensitive (RFC 3986 3.1). */
    assert_string_equal(must_parse(state, "PKCS11:token=a")->token, "a");
}

static void test_empty_string(void **state)
{
    must_fail("", "empty", NULL);
}

static void test_null_arguments(void **state)
{
    hsmca_p11_uri *u = NULL;

    assert_int_equal(hsmca_p11_uri_parse(NULL, &u), HSMCA_ERR_INVALID_ARG);
    assert_null(u);
    assert_int_equal(hsmca_p11_uri_parse("pkcs11:", NULL), HSMCA_ERR_INVALID_ARG);
    assert_null(hsmca_p11_uri_format(NULL));
    assert_false(hsmca_p11_uri_match_token(NULL, "a", "b", "c", "d"));
    hsmca_p11_uri_free(NULL);
}

static void test_bad_percent(void **state)
{
    must_fail("pkcs11:token=%", "'token'", "two hex digits");
    must_fail("pkcs11:token=ab%4", "'token'", "offset 2");
    must_fail("pkcs11:token=%zz", "'token'", "RFC 3986 2.1");
    must_fail("pkcs11:object=%2g", "'object'", "two hex digits");
    must_fail("pkcs11:id=%0", "'id'", "two hex digits");
    must_fail("pkcs11:?module-name=%G0", "'module-name'", "two hex digits");
    /* Also in a name, and in values hsmca otherwise ignores. */
    must_fail("pkcs11:tok%en=a", "name", "two hex digits");
    must_fail("pkcs11:x-vendor=%zz", "'x-vendor'", "two hex digits");
    must_fail("pkcs11:?unknown=%", "'unknown'", "two hex digits");
}

static void test_unencoded_characters_refused(void **state)
{
    must_fail("pkcs11:token=a b", "0x20", "pk11-pchar");
    must_fail("pkcs11:token=a/b", "0x2f", "pk11-pchar");
    must_fail("pkcs11:object=a#b", "0x23", NULL);
    must_fail("pkcs11:object=\xc3\xa1", "0xc3", NULL);
    must_fail("pkcs11:object=a\tb", "0x09", NULL);
    must_fail("pkcs11:?pin-source=a;b", "0x3b", "pk11-qchar");
    must_fail("pkcs11:?pin-source=a b", "'pin-source'", "pk11-qchar");
}

static void test_duplicate_attributes(void **state)
{
    must_fail("pkcs11:token=a;token=b", "'token'", "more than once");
    must_fail("pkcs11:token=a;object=o;token=a", "'token'", "RFC 7512 2.3");
    must_fail("pkcs11:id=%01;id=%02", "'id'", "more than once");
    must_fail("pkcs11:type=cert;type=cert", "'type'", "more than once");
    must_fail("pkcs11:slot-id=1;slot-id=1", "'slot-id'", "more than once");
    must_fail("pkcs11:serial=;serial=", "'serial'", "more than once");
    /* Case folding cannot be used to sneak a second copy in. */
    must_fail("pkcs11:token=a;TOKEN=b", "'token'", "more than once");
    must_fail("pkcs11:x-a=1;x-a=2", "'x-a'", "more than once");
    must_fail("pkcs11:?pin-source=a&pin-source=b", "'pin-source'", "RFC 7512 2.4");
    must_fail("pkcs11:?module-path=/a&module-path=/b", "'module-path'", "more than once");
}

static void test_unknown_path_attribute(void **state)
{
    must_fail("pkcs11:token=a;foo=bar", "unknown path attribute 'foo'", "RFC 7512 2.5");
    /* Query attributes have no meaning in the path. */
    must_fail("pkcs11:module-path=/x.so", "'module-path'", NULL);
    /* Not "x-" but the RFC's own vendor example spelling (see below). */
    must_fail("pkcs11:vendor-aaa=value-a", "'vendor-aaa'", NULL);
    /* "x-" alone names no vendor attribute. */
    must_fail("pkcs11:x-=1", "'x-'", NULL);
}

static void test_bad_type(void **state)
{
    must_fail("pkcs11:type=key", "'type'", "'key'");
    must_fail("pkcs11:type=", "'type'", "secret-key");
    must_fail("pkcs11:type=certs", "'type'", NULL);
    must_fail("pkcs11:type=secret", "'type'", NULL);
    must_fail("pkcs11:type=cert%00", "'type'", NULL);
}

static void test_bad_slot_id(void **state)
{
    char text[64];

    must_fail("pkcs11:slot-id=abc", "'slot-id'", "'abc'");
    must_fail("pkcs11:slot-id=", "'slot-id'", "empty");
    must_fail("pkcs11:slot-id=-1", "'slot-id'", "1*DIGIT");
    must_fail("pkcs11:slot-id=1.5", "'slot-id'", NULL);
    must_fail("pkcs11:slot-id=0x10", "'slot-id'", NULL);
    must_fail("pkcs11:slot-id=1%00", "'slot-id'", NULL);
    /* One more than ULONG_MAX ends in a digit one higher. */
    snprintf(text, sizeof(text), "pkcs11:slot-id=%lu0", ULONG_MAX);
    must_fail(text, "'slot-id'", "CK_SLOT_ID");
    must_fail("pkcs11:slot-id=99999999999999999999999", "'slot-id'", "CK_SLOT_ID");
}

static void test_bad_library_version(void **state)
{
    must_fail("pkcs11:library-version=", "'library-version'", "M.N");
    must_fail("pkcs11:library-version=1.", "'library-version'", "M.N");
    must_fail("pkcs11:library-version=.1", "'library-version'", NULL);
    must_fail("pkcs11:library-version=1.2.3", "'library-version'", NULL);
    must_fail("pkcs11:library-version=v1", "'library-version'", NULL);
    must_fail("pkcs11:library-version=256", "'library-version'", "255");
    must_fail("pkcs11:library-version=1.1000", "'library-version'", "255");
}

static void test_empty_id_refused(void **state)
{
    must_fail("pkcs11:id=", "'id'", "empty");
}

static void test_embedded_nul_in_string(void **state)
{
    must_fail("pkcs11:token=ab%00cd", "'token'", "NUL");
    must_fail("pkcs11:object=%00", "'object'", "NUL");
    must_fail("pkcs11:serial=1%002", "'serial'", "NUL");
    must_fail("pkcs11:library-version=1%00", "'library-version'", "NUL");
    must_fail("pkcs11:?pin-source=file:/a%00b", "'pin-source'", "NUL");
    must_fail("pkcs11:?module-path=/lib%00.so", "'module-path'", "NUL");
    /* ... but id is binary and keeps them (test_binary_id). */
}

static void test_over_long_input(void **state)
{
    fixture *f = *state;
    const char *prefix = "pkcs11:object=";
    size_t plen = strlen(prefix);

    f->text = malloc(HSMCA_P11_URI_MAX + 2);
    assert_non_null(f->text);
    memcpy(f->text, prefix, plen);
    memset(f->text + plen, 'a', HSMCA_P11_URI_MAX + 1 - plen);
    f->text[HSMCA_P11_URI_MAX + 1] = '\0';
    must_fail(f->text, "longer than 4096", NULL);

    /* Exactly at the limit is fine. */
    f->text[HSMCA_P11_URI_MAX] = '\0';
    assert_int_equal(strlen(must_parse(state, f->text)->object), HSMCA_P11_URI_MAX - plen);
}

static void test_malformed_segments(void **state)
{
    must_fail("pkcs11:;token=a", "empty path attribute", NULL);
    must_fail("pkcs11:token=a;", "empty path attribute", NULL);
    must_fail("pkcs11:token=a;;object=b", "empty path attribute", NULL);
    must_fail("pkcs11:?&pin-source=x", "empty query attribute", NULL);
    must_fail("pkcs11:?pin-source=x&", "empty query attribute", NULL);
    must_fail("pkcs11:token", "'token' has no '='", NULL);
    must_fail("pkcs11:?pin-source", "'pin-source' has no '='", NULL);
    must_fail("pkcs11:=a", "empty name", NULL);
    must_fail("pkcs11:?=a", "empty name", NULL);
    must_fail("pkcs11:to:ken=a", "letters, digits", NULL);
    must_fail("pkcs11:%3b=a", "letters, digits", NULL);
    must_fail("pkcs11:token=a?b", "'b' has no '='", NULL);
}

static void test_pin_source_and_pin_value_together(void **state)
{
    const char *msg = must_fail("pkcs11:token=a?pin-source=file:/p&pin-value=s3cr3t",
                                "pin-source", "RFC 7512 2.4");

    assert_null(strstr(msg, "s3cr3t"));
}

static void test_relative_module_path(void **state)
{
    must_fail("pkcs11:?module-path=lib/softhsm2.so", "'module-path'", "absolute");
    must_fail("pkcs11:?module-path=", "'module-path'", "absolute");
}

/* A PIN must never reach an error message, whatever is wrong with it. */
static void test_pin_value_never_echoed(void **state)
{
    static const char *const bad[] = {
        "pkcs11:?pin-value=s3cr3t%00x",    /* embedded NUL */
        "pkcs11:?pin-value=s3cr3t%zz",     /* bad escape */
        "pkcs11:?pin-value=s3cr3t x",      /* unencoded character */
        "pkcs11:?pin-value=s3cr3t&pin-value=s3cr3t", /* duplicate */
        "pkcs11:pin-value=s3cr3t",         /* in the path */
        "pkcs11:?PIN-VALUE=s3cr3t%",       /* folded name, bad escape */
        "pkcs11:?x-pin=s3cr3t%",           /* vendor attribute, bad escape */
        "pkcs12:?pin-value=s3cr3t",        /* wrong scheme */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = must_fail(bad[i], NULL, NULL);
        if (strstr(msg, "s3cr3t") != NULL)
            print_error("'%s' leaked the PIN: %s\n", bad[i], msg);
        assert_null(strstr(msg, "s3cr3t"));
    }
    /* The folded name is the pin-value attribute, not an unknown one. */
    assert_string_equal(must_parse(state, "pkcs11:?PIN-VALUE=1234")->pin_value, "1234");
}

static void test_error_value_is_truncated(void **state)
{
    fixture *f = *state;
    const char *prefix = "pkcs11:token=";
    size_t plen = strlen(prefix), n = 600;
    const char *msg;

    /* 600 good bytes, then a bad escape: the detail quotes only the start. */
    f->text = malloc(plen + n + sizeof("%zz"));
    assert_non_null(f->text);
    memcpy(f->text, prefix, plen);
    memset(f->text + plen, 'v', n);
    memcpy(f->text + plen + n, "%zz", sizeof("%zz"));
    msg = must_fail(f->text, "'token'", "...");
    assert_true(strlen(msg) < 300);
}

/* ---- what is ignored ---- */

static void test_unknown_query_attributes_ignored(void **state)
{
    hsmca_p11_uri *u =
        must_parse(state, "pkcs11:object=k?foo=bar&pin-source=file:/p&x-a=1&x-a=2&token=t&id=");

    assert_string_equal(u->object, "k");
    assert_string_equal(u->pin_source, "file:/p");
    /* A path attribute's name in the query is just an unknown query attribute. */
    assert_null(u->token);
    assert_int_equal(u->id_len, 0);
}

static void test_vendor_path_attributes_ignored(void **state)
{
    hsmca_p11_uri *u = must_parse(state, "pkcs11:x-vendor=1;token=a;X-Other_2=%00%FF");

    assert_string_equal(u->token, "a");
    assert_null(u->object);
}

static void test_vendor_path_attribute_bound(void **state)
{
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof(text), "pkcs11:");

    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sx-v%d=1", i ? ";" : "", i);
    must_parse(state, text);
    snprintf(text + n, sizeof(text) - n, ";x-v16=1");
    must_fail(text, "vendor", NULL);
}

/* ---- RFC 7512 section 3: the RFC's own examples (unwrapped) ---- */

static void test_rfc7512_examples(void **state)
{
    static const unsigned char id1[] = {0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91};
    static const unsigned char id2[] = {0x01, 0x02, 0x03, 0xba, 0xdd, 0xca, 0xfe, 0x04, 0x05, 0x06};
    hsmca_p11_uri *u;

    must_parse(state, "pkcs11:");

    u = must_parse(state, "pkcs11:object=my-pubkey;type=public");
    assert_string_equal(u->object, "my-pubkey");
    assert_int_equal(u->type, HSMCA_P11_URI_TYPE_PUBLIC);

    u = must_parse(state, "pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
    assert_string_equal(u->object, "my-key");
    assert_int_equal(u->type, HSMCA_P11_URI_TYPE_PRIVATE);
    assert_string_equal(u->pin_source, "file:/etc/token");

    u = must_parse(state, "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
                          "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;"
                          "type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial="
                          "?pin-source=file:/etc/token_pin");
    assert_string_equal(u->token, "The Software PKCS#11 Softtoken");
    assert_string_equal(u->manufacturer, "Snake Oil, Inc.");
    assert_string_equal(u->model, "1.0");
    assert_string_equal(u->object, "my-certificate");
    assert_int_equal(u->type, HSMCA_P11_URI_TYPE_CERT);
    assert_int_equal(u->id_len, sizeof(id1));
    assert_memory_equal(u->id, id1, sizeof(id1));
    assert_string_equal(u->serial, "");
    assert_string_equal(u->pin_source, "file:/etc/token_pin");

    u = must_parse(state, "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11");
    assert_string_equal(u->object, "my-sign-key");
    assert_string_equal(u->module_name, "mypkcs11");

    u = must_parse(state,
                   "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1");
    assert_string_equal(u->module_path, "/mnt/libmypkcs11.so.1");

    u = must_parse(state, "pkcs11:token=Software%20PKCS%2311%20softtoken;"
                          "manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin");
    assert_string_equal(u->token, "Software PKCS#11 softtoken");
    assert_string_equal(u->pin_value, "the-pin");

    u = must_parse(state, "pkcs11:slot-description=Sun%20Metaslot");
    assert_string_equal(u->slot_description, "Sun Metaslot");

    u = must_parse(state, "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;"
                          "library-description=Soft%20Token%20Library;library-version=1.23");
    assert_string_equal(u->library_manufacturer, "Snake Oil, Inc.");
    assert_string_equal(u->library_description, "Soft Token Library");
    assert_string_equal(u->library_version, "1.23");

    u = must_parse(state, "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;"
                          "id=%01%02%03%Ba%dd%Ca%fe%04%05%06");
    assert_string_equal(u->token, "My token% created by Joe");
    assert_string_equal(u->library_version, "3");
    assert_int_equal(u->id_len, sizeof(id2));
    assert_memory_equal(u->id, id2, sizeof(id2));

    u = must_parse(state, "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;"
                          "object=my-certificate;type=cert");
    assert_string_equal(u->token, "A name with a substring %;");

    u = must_parse(state, "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;"
                          "object=my-certificate;type=cert");
    assert_string_equal(u->token, "Name with a small A with acute: \xc3\xa1");

    /* The last example carries a vendor path attribute spelled without the
     * "x-" prefix. hsmca accepts only "x-" vendor path attributes and
     * refuses every other unknown path attribute (the header contract and
     * RFC 7512 2.5), so this one example is refused as written; the same URI
     * with an "x-" name parses. */
    must_fail("pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a"
              "?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
              "'vendor-aaa'", NULL);
    u = must_parse(state, "pkcs11:token=my-token;object=my-certificate;type=cert;"
                          "x-vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b");
    assert_string_equal(u->token, "my-token");
    assert_string_equal(u->pin_source, "file:/etc/token_pin");
}

/* ---- formatting ---- */

static void test_format_canonical(void **state)
{
    fixture *f = *state;
    char token[] = "My Token", manuf[] = "Snake Oil, Inc.", model[] = "1.0", serial[] = "";
    char object[] = "key;1/a&b%", pin_source[] = "file:/run/pin&x?|";
    unsigned char id[] = {0x01, 0xab, 0x00, 0x7f, 'a'};
    hsmca_p11_uri x = {0};

    x.token = token;
    x.manufacturer = manuf;
    x.model = model;
    x.serial = serial;
    x.object = object;
    x.id = id;
    x.id_len = sizeof(id);
    x.type = HSMCA_P11_URI_TYPE_PRIVATE;
    x.pin_source = pin_source;
    f->text = hsmca_p11_uri_format(&x);
    assert_non_null(f->text);
    assert_string_equal(f->text, "pkcs11:token=My%20Token;manufacturer=Snake%20Oil,%20Inc.;"
                                 "model=1.0;serial=;object=key%3B1%2Fa&b%25;"
                                 "id=%01%AB%00%7F%61;type=private"
                                 "?pin-source=file:/run/pin%26x?|");
}

static void test_format_empty_and_omitted(void **state)
{
    fixture *f = *state;
    char s[] = "v", pin[] = "1234", lib[] = "2.1";
    hsmca_p11_uri x = {0};

    f->text = hsmca_p11_uri_format(&x);
    assert_string_equal(f->text, "pkcs11:");
    free(f->text);

    /* Only token/object attributes and pin-source are part of the canonical
     * key URI; the rest, and above all a PIN, are never written. */
    x.library_manufacturer = s;
    x.library_description = s;
    x.library_version = lib;
    x.slot_description = s;
    x.slot_manufacturer = s;
    x.has_slot_id = true;
    x.slot_id = 3;
    x.pin_value = pin;
    x.module_name = s;
    x.module_path = s;
    f->text = hsmca_p11_uri_format(&x);
    assert_string_equal(f->text, "pkcs11:");
    free(f->text);

    x = (hsmca_p11_uri){0};
    x.type = HSMCA_P11_URI_TYPE_SECRET_KEY;
    f->text = hsmca_p11_uri_format(&x);
    assert_string_equal(f->text, "pkcs11:type=secret-key");
}

static void test_format_refuses_invalid(void **state)
{
    fixture *f = *state;
    hsmca_p11_uri x = {0};

    x.type = (hsmca_p11_uri_type)42;
    assert_null(hsmca_p11_uri_format(&x));
    assert_int_equal(hsmca_err_last(), HSMCA_ERR_INVALID_ARG);

    x.type = HSMCA_P11_URI_TYPE_ANY;
    x.id_len = 4; /* with id NULL */
    assert_null(hsmca_p11_uri_format(&x));

    /* Would be longer than the parser accepts. */
    x.id_len = 0;
    f->text = malloc(HSMCA_P11_URI_MAX);
    assert_non_null(f->text);
    memset(f->text, 'a', HSMCA_P11_URI_MAX - 1);
    f->text[HSMCA_P11_URI_MAX - 1] = '\0';
    x.object = f->text;
    assert_null(hsmca_p11_uri_format(&x));
    assert_non_null(strstr(hsmca_err_message(), "4096"));
}

/* parse(format(x)) == x over the members format writes. */
static void test_format_round_trip(void **state)
{
    fixture *f = *state;
    char t1[] = "tok \t%;?&/=#\x7f", o1[] = "\xc3\xa1\xff\x01", s1[] = "", m1[] = "M";
    char p1[] = "file:/run/a&b;c d?e|f";
    unsigned char id1[] = {0x00, 0x00, 0xff, '%', ';', '?'};
    hsmca_p11_uri cases[4];

    memset(cases, 0, sizeof(cases));
    cases[0].token = t1;
    cases[0].object = o1;
    cases[0].serial = s1;
    cases[0].id = id1;
    cases[0].id_len = sizeof(id1);
    cases[0].type = HSMCA_P11_URI_TYPE_DATA;
    cases[0].pin_source = p1;
    cases[1].manufacturer = m1;
    cases[1].model = s1;
    cases[1].type = HSMCA_P11_URI_TYPE_PUBLIC;
    cases[2].pin_source = s1;
    /* cases[3]: all absent */

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsmca_rv rv;

        free(f->text);
        f->text = hsmca_p11_uri_format(&cases[i]);
        assert_non_null(f->text);
        hsmca_p11_uri_free(f->uri);
        f->uri = NULL;
        rv = hsmca_p11_uri_parse(f->text, &f->uri);
        if (rv != HSMCA_OK)
            print_error("'%s': %s\n", f->text, hsmca_err_message());
        assert_int_equal(rv, HSMCA_OK);
        assert_uri_equal(f->uri, &cases[i]);
    }
}

/* format(parse(s)) == s for a URI already in canonical form, and any
 * spelling of it formats to that one form. */
static void test_format_is_canonical_form(void **state)
{
    static const char *const canonical =
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
        "model=1.0;serial=;object=my-certificate;id=%69%95%3E%5C%F4%BD%EC%91;type=cert"
        "?pin-source=file:/etc/token_pin";
    fixture *f = *state;

    f->text = hsmca_p11_uri_format(must_parse(state, canonical));
    assert_string_equal(f->text, canonical);
    free(f->text);

    /* Other order, lower-case hex, literal id bytes, upper-case names, a
     * needless escape and an ignored vendor attribute: same canonical URI. */
    f->text = hsmca_p11_uri_format(must_parse(
        state, "PKCS11:TYPE=CERT;serial=;id=i%95%3e%5c%f4%bd%ec%91;x-v=1;object=my-certificate;"
               "model=1%2E0;manufacturer=Snake%20Oil%2C%20Inc.;"
               "token=The%20Software%20PKCS%2311%20Softtoken?pin-source=file%3A%2Fetc%2Ftoken_pin"
               "&x-q=2"));
    assert_string_equal(f->text, canonical);
}

/* ---- match_token ---- */

static void test_match_token(void **state)
{
    hsmca_p11_uri *u = must_parse(state, "pkcs11:token=ca-root;serial=0a1b");

    assert_true(hsmca_p11_uri_match_token(u, "ca-root", "SoftHSM", "v2", "0a1b"));
    assert_true(hsmca_p11_uri_match_token(u, "ca-root", NULL, NULL, "0a1b"));
    assert_false(hsmca_p11_uri_match_token(u, "ca-root", NULL, NULL, "0a1c"));
    assert_false(hsmca_p11_uri_match_token(u, "ca-roo", NULL, NULL, "0a1b"));
    assert_false(hsmca_p11_uri_match_token(u, "ca-root ", NULL, NULL, "0a1b"));
    /* Exact: no case folding of values. */
    assert_false(hsmca_p11_uri_match_token(u, "CA-ROOT", NULL, NULL, "0a1b"));
    /* NULL never matches a present attribute. */
    assert_false(hsmca_p11_uri_match_token(u, NULL, NULL, NULL, "0a1b"));
    assert_false(hsmca_p11_uri_match_token(u, "ca-root", NULL, NULL, NULL));

    u = must_parse(state, "pkcs11:manufacturer=SoftHSM;model=SoftHSM%20v2");
    assert_true(hsmca_p11_uri_match_token(u, "any", "SoftHSM", "SoftHSM v2", "x"));
    assert_false(hsmca_p11_uri_match_token(u, "any", "SoftHSM", "SoftHSM v3", "x"));
    assert_false(hsmca_p11_uri_match_token(u, "any", NULL, "SoftHSM v2", "x"));

    /* An empty serial is present: it matches "" only. */
    u = must_parse(state, "pkcs11:serial=");
    assert_true(hsmca_p11_uri_match_token(u, "t", NULL, NULL, ""));
    assert_false(hsmca_p11_uri_match_token(u, "t", NULL, NULL, "1"));
    assert_false(hsmca_p11_uri_match_token(u, "t", NULL, NULL, NULL));

    /* Object attributes do not take part in token matching. */
    u = must_parse(state, "pkcs11:object=k;type=private;id=%01");
    assert_true(hsmca_p11_uri_match_token(u, NULL, NULL, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_empty_uri_matches_everything),
        T(test_each_string_attribute),
        T(test_empty_string_value_is_present),
        T(test_type_values),
        T(test_slot_id),
        T(test_library_version),
        T(test_percent_decoding),
        T(test_binary_id),
        T(test_missing_scheme),
        T(test_empty_string),
        T(test_null_arguments),
        T(test_bad_percent),
        T(test_unencoded_characters_refused),
        T(test_duplicate_attributes),
        T(test_unknown_path_attribute),
        T(test_bad_type),
        T(test_bad_slot_id),
        T(test_bad_library_version),
        T(test_empty_id_refused),
        T(test_embedded_nul_in_string),
        T(test_over_long_input),
        T(test_malformed_segments),
        T(test_pin_source_and_pin_value_together),
        T(test_relative_module_path),
        T(test_pin_value_never_echoed),
        T(test_error_value_is_truncated),
        T(test_unknown_query_attributes_ignored),
        T(test_vendor_path_attributes_ignored),
        T(test_vendor_path_attribute_bound),
        T(test_rfc7512_examples),
        T(test_format_canonical),
        T(test_format_empty_and_omitted),
        T(test_format_refuses_invalid),
        T(test_format_round_trip),
        T(test_format_is_canonical_form),
        T(test_match_token),
#undef T
    };

    return cmocka_run_group_tests_name("p11_uri", tests, NULL, NULL);
}
