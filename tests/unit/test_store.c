/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/store: opening and migrations, mounts, documents,
 * intents and certificates (constraints proven through raw SQLite too),
 * serial order, bad input, and a trigger-injected storage failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hsmca/rv.h"
#include "hsmca/store.h"

/* ---- fixture: a private directory with one store holding mount "pki" ---- */

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
} fixture;

#define assert_rv(expr, want)                                                                        \
    do {                                                                                             \
        hsmca_rv got_ = (expr);                                                                      \
        if (got_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #expr, hsmca_rv_name(got_), hsmca_err_message(),    \
                     hsmca_rv_name(want));                                                           \
    } while (0)

#define assert_detail_has(text)                                                                      \
    do {                                                                                             \
        const char *m_ = hsmca_err_message();                                                        \
        if (strstr(m_, (text)) == NULL)                                                              \
            fail_msg("error detail '%s' does not mention '%s'", m_, (text));                         \
    } while (0)

static hsmca_rv open_store(fixture *f)
{
    hsmca_store_config cfg = {.path = f->path};

    return hsmca_store_open(&cfg, &f->st);
}

/* mkdir -p: the base directory may not exist yet in a fresh build tree. */
static void mkdir_p(const char *path)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0700);
        *p = '/';
    }
    mkdir(buf, 0700);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("HSMCA_STORE_TEST_DIR");

    if (f == NULL)
        return -1;
    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    mkdir_p(base);
    snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX", base);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    if (open_store(f) != HSMCA_OK || hsmca_store_mount_create(f->st, "pki", "pki", NULL) != HSMCA_OK) {
        print_error("store setup: %s\n", hsmca_err_message());
        hsmca_store_close(f->st);
        free(f);
        return -1;
    }
    hsmca_err_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[600];

    hsmca_store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        print_error("could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static const unsigned char DIGEST[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const unsigned char DER[] = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x01};

static hsmca_rv put_doc(hsmca_store *st, hsmca_put_mode mode, const char *mount, const char *kind, const char *id,
                        const char *name, const char *body)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_doc_put(b, mode, mount, kind, id, name, body, NULL, 0);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

static hsmca_rv reserve(hsmca_store *st, const char *mount, const unsigned char *serial, size_t len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_intent(b, mount, serial, len, "issuer-1", "web", DIGEST);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

static hsmca_rv store_cert(hsmca_store *st, const char *mount, const unsigned char *serial, size_t len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_cert(b, mount, serial, len, "issuer-1", "web", DER, sizeof(DER), 1000, 2000);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* Intent and certificate in one batch. */
static hsmca_rv issue(hsmca_store *st, const char *mount, const unsigned char *serial, size_t len)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_intent(b, mount, serial, len, "issuer-1", "web", DIGEST);
    hsmca_store_batch_cert(b, mount, serial, len, "issuer-1", "web", DER, sizeof(DER), 1000, 2000);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* An independent connection: plain SQLite, not the store's code. */
static sqlite3 *raw_open(const fixture *f, int foreign_keys)
{
    sqlite3 *db = NULL;

    if (sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        fail_msg("raw open of %s failed", f->path);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, foreign_keys ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF", NULL, NULL, NULL);
    return db;
}

static int raw_exec(const fixture *f, const char *sql)
{
    sqlite3 *db = raw_open(f, 1);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        rc = sqlite3_extended_errcode(db);
    sqlite3_close(db);
    return rc;
}

static long long raw_count(const fixture *f, const char *sql)
{
    sqlite3 *db = raw_open(f, 1);
    sqlite3_stmt *s = NULL;
    long long n = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void raw_text(const fixture *f, const char *sql, char *buf, size_t cap)
{
    sqlite3 *db = raw_open(f, 1);
    sqlite3_stmt *s = NULL;

    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Collects ids / serials from list callbacks. */
typedef struct {
    char ids[32][HSMCA_STORE_ID_MAX + 1];
    unsigned char serials[32][HSMCA_STORE_SERIAL_MAX];
    size_t serial_lens[32];
    size_t n;
    size_t stop_after; /* 0: never stop */
} collect;

static int collect_doc(const hsmca_store_doc *d, void *arg)
{
    collect *c = arg;

    if (c->n < 32)
        snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", d->id);
    c->n++;
    return !(c->stop_after && c->n >= c->stop_after);
}

static int collect_mount(const hsmca_store_mount *m, void *arg)
{
    collect *c = arg;

    if (c->n < 32)
        snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", m->name);
    c->n++;
    return 1;
}

static int collect_cert(const hsmca_store_cert *cert, void *arg)
{
    collect *c = arg;

    if (c->n < 32) {
        memcpy(c->serials[c->n], cert->serial, cert->serial_len);
        c->serial_lens[c->n] = cert->serial_len;
    }
    c->n++;
    return !(c->stop_after && c->n >= c->stop_after);
}

static int collect_intent(const hsmca_store_intent *i, void *arg)
{
    collect *c = arg;

    if (c->n < 32) {
        memcpy(c->serials[c->n], i->serial, i->serial_len);
        c->serial_lens[c->n] = i->serial_len;
    }
    c->n++;
    return 1;
}

/* ---- opening, migrations, file ---- */

static void test_open_private_wal_file(void **state)
{
    fixture *f = *state;
    char wal[700], mode[16];
    struct stat sb;
    mode_t old;

    /* Reopen into a fresh file with umask 0: the 0600 must come from the
     * store, not from the environment. */
    hsmca_store_close(f->st);
    f->st = NULL;
    unlink(f->path);
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", f->path);
    unlink(wal);
    old = umask(0);
    assert_rv(open_store(f), HSMCA_OK);
    umask(old);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    raw_text(f, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    assert_int_equal(hsmca_store_schema_version(f->st), 4);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

static void test_reopen_is_idempotent(void **state)
{
    fixture *f = *state;
    hsmca_store_mount m;

    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "role", "web", NULL, "{}"), HSMCA_OK);
    for (int i = 0; i < 3; i++) {
        hsmca_store_close(f->st);
        f->st = NULL;
        assert_rv(open_store(f), HSMCA_OK);
        assert_int_equal(hsmca_store_schema_version(f->st), 4);
    }
    /* One row per migration, however often it was opened. */
    assert_int_equal(raw_count(f, "SELECT count(*) FROM schema_version"), 4);
    assert_rv(hsmca_store_mount_get(f->st, "pki", &m), HSMCA_OK);
    hsmca_store_mount_clear(&m);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM docs"), 1);
}

static void test_open_refuses_newer_schema(void **state)
{
    fixture *f = *state;

    hsmca_store_close(f->st);
    f->st = NULL;
    assert_int_equal(raw_exec(f, "INSERT INTO schema_version (version, applied) VALUES (99, 0)"), SQLITE_OK);
    assert_rv(open_store(f), HSMCA_ERR_UNSUPPORTED);
    assert_detail_has("99");
    assert_null(f->st);
}

static void test_open_bad_config(void **state)
{
    fixture *f = *state;
    hsmca_store_config cfg = {.path = f->path, .readers = 1000};
    hsmca_store_config nopath = {.path = NULL};
    hsmca_store *st = (hsmca_store *)0x1;

    assert_rv(hsmca_store_open(&cfg, &st), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("readers");
    assert_null(st);
    assert_rv(hsmca_store_open(&nopath, &st), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("path");
}

/* ---- mounts ---- */

static void test_mount_crud(void **state)
{
    fixture *f = *state;
    hsmca_store_mount m;
    collect c = {0};

    assert_rv(hsmca_store_mount_create(f->st, "pki", "pki", NULL), HSMCA_ERR_EXISTS);
    assert_detail_has("'pki'");
    assert_rv(hsmca_store_mount_create(f->st, "zeta", "pki", "{\"max_lease_ttl\":\"87600h\"}"), HSMCA_OK);
    assert_rv(hsmca_store_mount_create(f->st, "alpha", "pki", NULL), HSMCA_OK);
    assert_rv(hsmca_store_mount_get(f->st, "zeta", &m), HSMCA_OK);
    assert_string_equal(m.name, "zeta");
    assert_string_equal(m.type, "pki");
    assert_non_null(m.options_json);
    assert_string_equal(m.options_json, "{\"max_lease_ttl\":\"87600h\"}");
    assert_true(m.created > 0);
    hsmca_store_mount_clear(&m);
    assert_null(m.options_json);

    assert_rv(hsmca_store_mount_list(f->st, collect_mount, &c), HSMCA_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.ids[0], "alpha");
    assert_string_equal(c.ids[1], "pki");
    assert_string_equal(c.ids[2], "zeta");

    assert_rv(hsmca_store_mount_delete(f->st, "zeta"), HSMCA_OK);
    assert_rv(hsmca_store_mount_get(f->st, "zeta", &m), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("zeta");
    assert_rv(hsmca_store_mount_delete(f->st, "zeta"), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_mount_create(f->st, "bad", "pki", "{"), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("options");
    assert_rv(hsmca_store_mount_create(f->st, "bad", "pki", "[1]"), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("object");
    assert_rv(hsmca_store_mount_create(f->st, "bad", "", NULL), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("type");
    assert_rv(hsmca_store_mount_get(f->st, "bad", &m), HSMCA_ERR_NOT_FOUND);
}

static void test_mount_delete_removes_everything(void **state)
{
    fixture *f = *state;
    unsigned char s1[] = {0x11}, s2[] = {0x22};

    assert_rv(hsmca_store_mount_create(f->st, "other", "pki", NULL), HSMCA_OK);
    for (int i = 0; i < 2; i++) {
        const char *mount = i ? "other" : "pki";
        assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, mount, "role", "web", "web-name", "{}"), HSMCA_OK);
        assert_rv(issue(f->st, mount, s1, 1), HSMCA_OK);
        assert_rv(reserve(f->st, mount, s2, 1), HSMCA_OK);
    }
    assert_rv(hsmca_store_mount_delete(f->st, "pki"), HSMCA_OK);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM docs WHERE mount = 'pki'"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM intents WHERE mount = 'pki'"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM certs WHERE mount = 'pki'"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM mounts WHERE name = 'pki'"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM docs WHERE mount = 'other'"), 1);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM intents WHERE mount = 'other'"), 2);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM certs WHERE mount = 'other'"), 1);
    /* Writes into a deleted mount are refused, not resurrected. */
    assert_rv(issue(f->st, "pki", s1, 1), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("mount 'pki'");
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "role", "web", NULL, "{}"), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_mount_create(f->st, "pki", "pki", NULL), HSMCA_OK);
    assert_rv(issue(f->st, "pki", s1, 1), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

/* ---- documents ---- */

static void test_doc_put_modes(void **state)
{
    fixture *f = *state;
    static const unsigned char blob[] = {0, 1, 2, 0xff};
    hsmca_store_doc d;
    hsmca_store_batch *b;

    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "role", "web", NULL, "{\"ttl\":\"1h\"}"), HSMCA_OK);
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "role", "web", NULL, "{}"), HSMCA_ERR_EXISTS);
    assert_detail_has("role 'web'");
    assert_detail_has("mount 'pki'");
    assert_rv(put_doc(f->st, HSMCA_PUT_UPDATE, "pki", "role", "nope", NULL, "{}"), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("'nope'");
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "nope", &d), HSMCA_ERR_NOT_FOUND);

    /* UPDATE replaces; created stays (set far back to see it). */
    assert_int_equal(raw_exec(f, "UPDATE docs SET created = 1000, updated = 1000"), SQLITE_OK);
    assert_rv(put_doc(f->st, HSMCA_PUT_UPDATE, "pki", "role", "web", NULL, "{\"ttl\":\"2h\"}"), HSMCA_OK);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "web", &d), HSMCA_OK);
    assert_string_equal(d.body, "{\"ttl\":\"2h\"}");
    assert_int_equal(d.created, 1000);
    assert_true(d.updated > 1000);
    assert_null(d.blob);
    assert_int_equal(d.blob_len, 0);
    assert_string_equal(d.name, "");
    hsmca_store_doc_clear(&d);

    /* UPSERT: replaces an existing one (keeping created), creates a new one. */
    b = hsmca_store_batch_new(f->st);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, "pki", "role", "web", "web-role", "{\"ttl\":\"3h\"}", blob,
                              sizeof(blob));
    hsmca_store_batch_doc_put(b, HSMCA_PUT_UPSERT, "pki", "role", "mail", NULL, "[1,2]", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_free(b);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "web", &d), HSMCA_OK);
    assert_string_equal(d.body, "{\"ttl\":\"3h\"}");
    assert_string_equal(d.name, "web-role");
    assert_int_equal(d.created, 1000);
    assert_int_equal(d.blob_len, sizeof(blob));
    assert_memory_equal(d.blob, blob, sizeof(blob));
    hsmca_store_doc_clear(&d);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "mail", &d), HSMCA_OK);
    assert_string_equal(d.body, "[1,2]");
    hsmca_store_doc_clear(&d);

    /* Delete is idempotent. */
    b = hsmca_store_batch_new(f->st);
    hsmca_store_batch_doc_delete(b, "pki", "role", "mail");
    hsmca_store_batch_doc_delete(b, "pki", "role", "never-existed");
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_free(b);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "mail", &d), HSMCA_ERR_NOT_FOUND);
}

static void test_doc_names(void **state)
{
    fixture *f = *state;
    hsmca_store_doc d;

    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "issuer", "id-a", "root", "{}"), HSMCA_OK);
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "issuer", "id-b", "root", "{}"), HSMCA_ERR_EXISTS);
    assert_detail_has("name 'root'");
    assert_detail_has("'id-b'");
    assert_rv(hsmca_store_doc_get(f->st, "pki", "issuer", "id-b", &d), HSMCA_ERR_NOT_FOUND);
    /* No name (NULL or "") may repeat. */
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "issuer", "id-b", NULL, "{}"), HSMCA_OK);
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "issuer", "id-c", "", "{}"), HSMCA_OK);
    /* Names are per (mount, kind). */
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "key", "k1", "root", "{}"), HSMCA_OK);
    assert_rv(hsmca_store_mount_create(f->st, "pki2", "pki", NULL), HSMCA_OK);
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki2", "issuer", "id-x", "root", "{}"), HSMCA_OK);
    /* A name held by another document fails UPSERT and UPDATE too. */
    assert_rv(put_doc(f->st, HSMCA_PUT_UPSERT, "pki", "issuer", "id-b", "root", "{}"), HSMCA_ERR_EXISTS);
    assert_rv(put_doc(f->st, HSMCA_PUT_UPDATE, "pki", "issuer", "id-c", "root", "{}"), HSMCA_ERR_EXISTS);

    assert_rv(hsmca_store_doc_get(f->st, "pki", "issuer", "root", &d), HSMCA_OK);
    assert_string_equal(d.id, "id-a");
    assert_string_equal(d.name, "root");
    hsmca_store_doc_clear(&d);
    /* An id wins over a name that looks the same. */
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", "issuer", "id-d", "id-a", "{}"), HSMCA_OK);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "issuer", "id-a", &d), HSMCA_OK);
    assert_string_equal(d.name, "root");
    hsmca_store_doc_clear(&d);
    /* Renaming frees the old name. */
    assert_rv(put_doc(f->st, HSMCA_PUT_UPDATE, "pki", "issuer", "id-a", "new-root", "{}"), HSMCA_OK);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "issuer", "root", &d), HSMCA_ERR_NOT_FOUND);
    assert_rv(put_doc(f->st, HSMCA_PUT_UPDATE, "pki", "issuer", "id-b", "root", "{}"), HSMCA_OK);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "issuer", "root", &d), HSMCA_OK);
    assert_string_equal(d.id, "id-b");
    hsmca_store_doc_clear(&d);
}

static void test_doc_list_pagination(void **state)
{
    fixture *f = *state;
    static const char *const ids[] = {"g", "b", "j", "a", "e", "c", "i", "d", "h", "f"};
    hsmca_store_batch *b = hsmca_store_batch_new(f->st);
    collect c = {0};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", ids[i], NULL, "{}", NULL, 0);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "key", "aa", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_free(b);

    assert_rv(hsmca_store_doc_list(f->st, "pki", "role", NULL, 0, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 10);
    for (size_t i = 0; i < 10; i++) {
        char want[2] = {(char)('a' + i), 0};
        assert_string_equal(c.ids[i], want);
    }
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_doc_list(f->st, "pki", "role", "c", 3, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.ids[0], "d");
    assert_string_equal(c.ids[2], "f");
    /* after need not exist; it is a position. */
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_doc_list(f->st, "pki", "role", "cc", 2, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "d");
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_doc_list(f->st, "pki", "role", "j", 0, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 0);
    /* The callback stops the walk. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 4;
    assert_rv(hsmca_store_doc_list(f->st, "pki", "role", NULL, 0, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 4);
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_doc_list(f->st, "pki", "key", NULL, 0, collect_doc, &c), HSMCA_OK);
    assert_int_equal(c.n, 1);
}

/* ---- intents and certificates ---- */

static void test_intent_cert_flow(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x4a, 0x01, 0xbe, 0xef, 0x00, 0x10, 0x20, 0x30};
    static const unsigned char other[] = {0x4a, 0x01, 0xbe, 0xef, 0x00, 0x10, 0x20, 0x31};
    hsmca_store_intent in;
    hsmca_store_cert c;

    assert_rv(reserve(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
    assert_false(in.has_certificate);
    assert_int_equal(in.serial_len, sizeof(serial));
    assert_memory_equal(in.serial, serial, sizeof(serial));
    assert_string_equal(in.issuer_id, "issuer-1");
    assert_string_equal(in.role, "web");
    assert_memory_equal(in.request_digest, DIGEST, sizeof(DIGEST));
    assert_true(in.created > 0);
    /* An intent alone is not a certificate. */
    assert_rv(hsmca_store_cert_get(f->st, "pki", serial, sizeof(serial), &c), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("4a:01:be:ef:00:10:20:30");

    assert_rv(reserve(f->st, "pki", serial, sizeof(serial)), HSMCA_ERR_EXISTS);
    assert_detail_has("4a:01:be:ef:00:10:20:30");
    assert_detail_has("mount 'pki'");

    assert_rv(store_cert(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
    assert_true(in.has_certificate);
    assert_rv(hsmca_store_cert_get(f->st, "pki", serial, sizeof(serial), &c), HSMCA_OK);
    assert_int_equal(c.serial_len, sizeof(serial));
    assert_memory_equal(c.serial, serial, sizeof(serial));
    assert_int_equal(c.der_len, sizeof(DER));
    assert_memory_equal(c.der, DER, sizeof(DER));
    assert_int_equal(c.not_before, 1000);
    assert_int_equal(c.not_after, 2000);
    assert_int_equal(c.revoked_at, 0);
    assert_string_equal(c.issuer_id, "issuer-1");
    assert_string_equal(c.role, "web");
    hsmca_store_cert_clear(&c);
    assert_null(c.der);

    /* A second certificate for the serial. */
    assert_rv(store_cert(f->st, "pki", serial, sizeof(serial)), HSMCA_ERR_EXISTS);
    assert_detail_has("4a:01:be:ef:00:10:20:30");
    /* A certificate without an intent. */
    assert_rv(store_cert(f->st, "pki", other, sizeof(other)), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("intent");
    assert_detail_has("4a:01:be:ef:00:10:20:31");
    assert_int_equal(raw_count(f, "SELECT count(*) FROM certs"), 1);
    /* Unknown mount. */
    assert_rv(reserve(f->st, "nomount", other, sizeof(other)), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("mount 'nomount'");
    assert_rv(store_cert(f->st, "nomount", other, sizeof(other)), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("mount 'nomount'");
    /* Intent and certificate in one batch: fine in that order... */
    assert_rv(issue(f->st, "pki", other, sizeof(other)), HSMCA_OK);
    /* ...and refused in the other (operations apply in order). */
    {
        static const unsigned char third[] = {0x03};
        hsmca_store_batch *b = hsmca_store_batch_new(f->st);
        hsmca_store_batch_cert(b, "pki", third, 1, "issuer-1", "web", DER, sizeof(DER), 1, 2);
        hsmca_store_batch_intent(b, "pki", third, 1, "issuer-1", "web", DIGEST);
        assert_rv(hsmca_store_batch_commit(b), HSMCA_ERR_NOT_FOUND);
        assert_detail_has("operation 1 of 2");
        hsmca_store_batch_free(b);
        assert_rv(hsmca_store_intent_get(f->st, "pki", third, 1, &in), HSMCA_ERR_NOT_FOUND);
    }
}

static void test_serial_is_a_number(void **state)
{
    fixture *f = *state;
    static const unsigned char short_form[] = {0x8f, 0x01};
    static const unsigned char padded[] = {0x00, 0x8f, 0x01};
    hsmca_store_cert c;

    assert_rv(issue(f->st, "pki", short_form, sizeof(short_form)), HSMCA_OK);
    /* 00:8f:01 is the same integer: the same serial. */
    assert_rv(reserve(f->st, "pki", padded, sizeof(padded)), HSMCA_ERR_EXISTS);
    assert_rv(hsmca_store_cert_get(f->st, "pki", padded, sizeof(padded), &c), HSMCA_OK);
    /* The caller's octets come back as stored. */
    assert_int_equal(c.serial_len, sizeof(short_form));
    assert_memory_equal(c.serial, short_form, sizeof(short_form));
    hsmca_store_cert_clear(&c);
}

static void test_serial_order(void **state)
{
    fixture *f = *state;
    /* Inserted out of order, with lengths that disagree with byte order. */
    static const unsigned char s_ff[] = {0xff};                       /* 255 */
    static const unsigned char s_0100[] = {0x01, 0x00};               /* 256 */
    static const unsigned char s_01[] = {0x01};                       /* 1 */
    static const unsigned char s_0002[] = {0x00, 0x02};               /* 2 */
    static const unsigned char s_7f00[] = {0x7f, 0x00, 0x00};         /* 8323072 */
    static const unsigned char s_big[20] = {0x7f, 0xff, 0xff, 0xff};  /* 20 octets */
    static const unsigned char s_80[] = {0x80, 0x00};                 /* 32768 */
    const unsigned char *const in[] = {s_ff, s_big, s_0100, s_01, s_7f00, s_0002, s_80};
    const size_t in_len[] = {1, 20, 2, 1, 3, 2, 2};
    const unsigned char *const want[] = {s_01, s_0002, s_ff, s_0100, s_80, s_7f00, s_big};
    const size_t want_len[] = {1, 2, 1, 2, 2, 3, 20};
    collect c = {0};

    for (size_t i = 0; i < 7; i++)
        assert_rv(issue(f->st, "pki", in[i], in_len[i]), HSMCA_OK);
    assert_rv(hsmca_store_cert_list(f->st, "pki", NULL, 0, 0, collect_cert, &c), HSMCA_OK);
    assert_int_equal(c.n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(c.serial_lens[i], want_len[i]);
        assert_memory_equal(c.serials[i], want[i], want_len[i]);
    }
    /* after = 00:ff (255, given in a different length), limit 2. */
    memset(&c, 0, sizeof(c));
    {
        static const unsigned char after[] = {0x00, 0xff};
        assert_rv(hsmca_store_cert_list(f->st, "pki", after, sizeof(after), 2, collect_cert, &c), HSMCA_OK);
    }
    assert_int_equal(c.n, 2);
    assert_memory_equal(c.serials[0], s_0100, 2);
    assert_memory_equal(c.serials[1], s_80, 2);
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_cert_list(f->st, "pki", s_big, 20, 0, collect_cert, &c), HSMCA_OK);
    assert_int_equal(c.n, 0);
    /* Intents list in the same order; orphans only shows the reserved one. */
    {
        static const unsigned char s_05[] = {0x05};
        assert_rv(reserve(f->st, "pki", s_05, 1), HSMCA_OK);
    }
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_intent_list(f->st, "pki", false, collect_intent, &c), HSMCA_OK);
    assert_int_equal(c.n, 8);
    assert_memory_equal(c.serials[0], s_01, 1);
    assert_int_equal(c.serials[2][0], 0x05);
    assert_memory_equal(c.serials[7], s_big, 20);
    memset(&c, 0, sizeof(c));
    assert_rv(hsmca_store_intent_list(f->st, "pki", true, collect_intent, &c), HSMCA_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.serials[0][0], 0x05);
}

/* The constraints hold for any client of the file, not only this code. */
static void test_raw_sqlite_constraints(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x12, 0x34};
    sqlite3 *db;

    assert_rv(issue(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    /* The stored key: 20 octets, left-padded. */
    assert_int_equal(raw_count(f, "SELECT count(*) FROM intents WHERE serial = "
                                  "x'0000000000000000000000000000000000001234' AND serial_len = 2"),
                     1);
    assert_int_equal(raw_exec(f, "INSERT INTO intents (mount, serial, serial_len, issuer_id, role, "
                                 "request_digest, created) VALUES ('pki', "
                                 "x'0000000000000000000000000000000000001234', 2, 'i', 'r', zeroblob(32), 0)"),
                     SQLITE_CONSTRAINT_PRIMARYKEY);
    assert_int_equal(raw_exec(f, "INSERT INTO certs (mount, serial, serial_len, issuer_id, role, der, "
                                 "not_before, not_after, created) VALUES ('pki', "
                                 "x'0000000000000000000000000000000000001234', 2, 'i', 'r', x'30', 0, 0, 0)"),
                     SQLITE_CONSTRAINT_PRIMARYKEY);
    assert_int_equal(raw_exec(f, "INSERT INTO certs (mount, serial, serial_len, issuer_id, role, der, "
                                 "not_before, not_after, created) VALUES ('pki', "
                                 "x'0000000000000000000000000000000000009999', 2, 'i', 'r', x'30', 0, 0, 0)"),
                     SQLITE_CONSTRAINT_FOREIGNKEY);
    assert_int_equal(raw_exec(f, "INSERT INTO intents (mount, serial, serial_len, issuer_id, role, "
                                 "request_digest, created) VALUES ('pki', x'01', 1, 'i', 'r', zeroblob(32), 0)"),
                     SQLITE_CONSTRAINT_CHECK);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
    /* A client that leaves foreign keys off can plant an orphan; the
     * integrity check finds it. */
    db = raw_open(f, 0);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO certs (mount, serial, serial_len, issuer_id, role, der, "
                                      "not_before, not_after, created) VALUES ('pki', "
                                      "x'0000000000000000000000000000000000009999', 2, 'i', 'r', x'30', 0, 0, 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_ERR_IO);
    assert_detail_has("foreign_key_check");
    assert_detail_has("certs");
}

/* ---- bad input: INVALID_ARG naming the field, nothing written ---- */

typedef struct {
    const char *what;  /* field the detail must name */
    int op;            /* 0 doc put, 1 intent, 2 cert, 3 doc delete */
    hsmca_put_mode mode;
    const char *mount, *kind, *id, *name, *body;
    const unsigned char *blob;
    size_t blob_len;
    size_t serial_len;
    int null_serial;
    const char *issuer, *role;
    size_t der_len;
    int64_t nb, na;
} bad_case;

static void test_bad_input(void **state)
{
    fixture *f = *state;
    char long129[130], long128[129], ctl[] = "we\nb";
    static const unsigned char serial21[21] = {1};
    hsmca_store_stats before, after;
    hsmca_store_doc d;

    memset(long129, 'x', 129);
    long129[129] = '\0';
    memset(long128, 'y', 128);
    long128[128] = '\0';
    {
        const bad_case cases[] = {
            {"mount", 0, HSMCA_PUT_CREATE, long129, "role", "a", NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"mount", 0, HSMCA_PUT_CREATE, "", "role", "a", NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"mount", 0, HSMCA_PUT_CREATE, NULL, "role", "a", NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"kind", 0, HSMCA_PUT_CREATE, "pki", long129, "a", NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"id", 0, HSMCA_PUT_CREATE, "pki", "role", long129, NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"id", 0, HSMCA_PUT_CREATE, "pki", "role", ctl, NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"name", 0, HSMCA_PUT_CREATE, "pki", "role", "a", long129, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"body", 0, HSMCA_PUT_CREATE, "pki", "role", "a", NULL, "{", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"body", 0, HSMCA_PUT_CREATE, "pki", "role", "a", NULL, "{\"a\":1} x", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"body", 0, HSMCA_PUT_CREATE, "pki", "role", "a", NULL, "{\"a\":1,\"a\":2}", NULL, 0, 1, 0, "i", "r", 1,
             0, 0},
            {"body", 0, HSMCA_PUT_CREATE, "pki", "role", "a", NULL, NULL, NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"blob", 0, HSMCA_PUT_CREATE, "pki", "role", "a", NULL, "{}", NULL, 5, 1, 0, "i", "r", 1, 0, 0},
            {"mode", 0, (hsmca_put_mode)7, "pki", "role", "a", NULL, "{}", NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"id", 3, HSMCA_PUT_CREATE, "pki", "role", long129, NULL, NULL, NULL, 0, 1, 0, "i", "r", 1, 0, 0},
            {"serial", 1, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "i", "r", 1, 0, 0},
            {"serial", 1, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 21, 0, "i", "r", 1, 0, 0},
            {"serial", 1, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 4, 1, "i", "r", 1, 0, 0},
            {"issuer_id", 1, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 4, 0, "", "r", 1, 0, 0},
            {"role", 1, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 4, 0, "i", long129, 1, 0, 0},
            {"serial", 2, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "i", "r", 1, 0, 0},
            {"serial", 2, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 21, 0, "i", "r", 1, 0, 0},
            {"der", 2, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 4, 0, "i", "r", 0, 0, 0},
            {"not_after", 2, HSMCA_PUT_CREATE, "pki", NULL, NULL, NULL, NULL, NULL, 0, 4, 0, "i", "r", 1, 10, 5},
        };

        hsmca_store_get_stats(f->st, &before);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const bad_case *c = &cases[i];
            hsmca_store_batch *b = hsmca_store_batch_new(f->st);
            hsmca_rv rv;

            /* A valid operation first: the whole batch must be refused. */
            hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "valid", NULL, "{}", NULL, 0);
            switch (c->op) {
            case 0:
                hsmca_store_batch_doc_put(b, c->mode, c->mount, c->kind, c->id, c->name, c->body, c->blob,
                                          c->blob_len);
                break;
            case 1:
                hsmca_store_batch_intent(b, c->mount, c->null_serial ? NULL : serial21, c->serial_len, c->issuer,
                                         c->role, DIGEST);
                break;
            case 2:
                hsmca_store_batch_cert(b, c->mount, serial21, c->serial_len, c->issuer, c->role, DER, c->der_len,
                                       c->nb, c->na);
                break;
            default:
                hsmca_store_batch_doc_delete(b, c->mount, c->kind, c->id);
                break;
            }
            /* Further valid adds do not clear the failure. */
            hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "valid2", NULL, "{}", NULL, 0);
            rv = hsmca_store_batch_commit(b);
            hsmca_store_batch_free(b);
            if (rv != HSMCA_ERR_INVALID_ARG)
                fail_msg("case %zu (%s): got %s (%s)", i, c->what, hsmca_rv_name(rv), hsmca_err_message());
            if (strstr(hsmca_err_message(), c->what) == NULL)
                fail_msg("case %zu: detail '%s' does not name '%s'", i, hsmca_err_message(), c->what);
        }
        hsmca_store_get_stats(f->st, &after);
    }
    /* Nothing reached the database: no transaction, nothing stored. */
    assert_int_equal(after.batches, before.batches);
    assert_int_equal(after.transactions, before.transactions);
    assert_int_equal(after.failed, before.failed);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM docs"), 0);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM intents"), 0);

    /* The limits themselves are allowed. */
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", long128, long128, long128, "{}"), HSMCA_OK);
    assert_rv(issue(f->st, "pki", serial21, 20), HSMCA_OK);
    /* Reads check their input too. */
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", long129, &d), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("id_or_name");
    {
        hsmca_store_cert c;
        hsmca_store_intent in;
        assert_rv(hsmca_store_cert_get(f->st, "pki", serial21, 21, &c), HSMCA_ERR_INVALID_ARG);
        assert_detail_has("serial");
        assert_rv(hsmca_store_intent_get(f->st, "pki", serial21, 0, &in), HSMCA_ERR_INVALID_ARG);
        assert_detail_has("serial");
    }
}

static void test_batch_edges(void **state)
{
    fixture *f = *state;
    hsmca_store_batch *b = hsmca_store_batch_new(f->st);
    hsmca_store_stats before, after;
    hsmca_store_doc d;

    /* A failed allocation of the batch is reported at commit. */
    assert_rv(hsmca_store_batch_commit(NULL), HSMCA_ERR_NOMEM);
    hsmca_store_get_stats(f->st, &before);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK); /* empty: nothing to do */
    hsmca_store_get_stats(f->st, &after);
    assert_int_equal(after.transactions, before.transactions);
    /* After a commit the batch is empty and can be used again. */
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "one", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "two", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    /* ...also after a failed one. */
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "two", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_ERR_EXISTS);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "role", "three", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_OK);
    hsmca_store_batch_free(b);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "role", "three", &d), HSMCA_OK);
    hsmca_store_doc_clear(&d);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM docs"), 3);
}

/* ---- storage failure injected by a trigger (issue 3, issue 9 item 2) ---- */

#define FAIL_TRIGGER(serial_hex)                                                                     \
    "CREATE TRIGGER fail_cert BEFORE INSERT ON certs WHEN NEW.serial = x'" serial_hex "'"            \
    " BEGIN SELECT RAISE(ABORT, 'injected certificate storage failure'); END"

static void test_trigger_fails_whole_batch(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x66, 0x77};
    static const unsigned char ok_serial[] = {0x66, 0x78};
    hsmca_store_stats before, after;
    hsmca_store_intent in;
    hsmca_store_doc d;
    hsmca_store_batch *b;

    assert_int_equal(raw_exec(f, FAIL_TRIGGER("0000000000000000000000000000000000006677")), SQLITE_OK);
    hsmca_store_get_stats(f->st, &before);
    b = hsmca_store_batch_new(f->st);
    hsmca_store_batch_intent(b, "pki", serial, sizeof(serial), "issuer-1", "web", DIGEST);
    hsmca_store_batch_cert(b, "pki", serial, sizeof(serial), "issuer-1", "web", DER, sizeof(DER), 1, 2);
    hsmca_store_batch_doc_put(b, HSMCA_PUT_CREATE, "pki", "audit", "66:77", NULL, "{}", NULL, 0);
    assert_rv(hsmca_store_batch_commit(b), HSMCA_ERR_IO);
    hsmca_store_batch_free(b);
    assert_detail_has("injected certificate storage failure");
    assert_detail_has("66:77");
    assert_detail_has("operation 2 of 3");
    /* Nothing of the batch: not the intent before the failing insert, not
     * the document after it. */
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_doc_get(f->st, "pki", "audit", "66:77", &d), HSMCA_ERR_NOT_FOUND);
    hsmca_store_get_stats(f->st, &after);
    assert_int_equal(after.failed, before.failed + 1);
    assert_int_equal(after.batches, before.batches);
    /* Other serials are stored as usual, on the same connection. */
    assert_rv(issue(f->st, "pki", ok_serial, sizeof(ok_serial)), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

static void test_trigger_leaves_intent(void **state)
{
    fixture *f = *state;
    static const unsigned char serial[] = {0x0a, 0x0b, 0x0c};
    hsmca_store_intent in;
    hsmca_store_cert c;
    collect orphans = {0};

    assert_int_equal(raw_exec(f, FAIL_TRIGGER("00000000000000000000000000000000000a0b0c")), SQLITE_OK);
    /* The CA's order: reserve; sign; store. */
    assert_rv(reserve(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    assert_rv(store_cert(f->st, "pki", serial, sizeof(serial)), HSMCA_ERR_IO);
    assert_detail_has("injected certificate storage failure");
    assert_detail_has("0a:0b:0c");
    assert_rv(hsmca_store_cert_get(f->st, "pki", serial, sizeof(serial), &c), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
    assert_false(in.has_certificate);
    assert_string_equal(in.issuer_id, "issuer-1");
    assert_rv(hsmca_store_intent_list(f->st, "pki", true, collect_intent, &orphans), HSMCA_OK);
    assert_int_equal(orphans.n, 1);
    assert_memory_equal(orphans.serials[0], serial, sizeof(serial));
    /* Once storage works again, the certificate goes in. */
    assert_int_equal(raw_exec(f, "DROP TRIGGER fail_cert"), SQLITE_OK);
    assert_rv(store_cert(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", serial, sizeof(serial), &in), HSMCA_OK);
    assert_true(in.has_certificate);
}

/* ---- damaged files are I/O errors, never crashes or silent success ---- */

static void test_not_a_database(void **state)
{
    fixture *f = *state;
    FILE *fp;

    hsmca_store_close(f->st);
    f->st = NULL;
    unlink(f->path);
    fp = fopen(f->path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 256; i++)
        fputs("this is not an SQLite database ", fp);
    fclose(fp);
    assert_rv(open_store(f), HSMCA_ERR_IO);
    assert_detail_has("not a database");
    assert_null(f->st);
}

static void test_corrupt_page(void **state)
{
    fixture *f = *state;
    unsigned char page[4096];
    struct stat sb;
    collect c = {0};
    hsmca_rv rv;
    FILE *fp;

    /* Enough certificates for several pages; closing checkpoints the WAL
     * into the main file. */
    for (unsigned i = 1; i <= 300; i++) {
        unsigned char serial[2] = {(unsigned char)(i >> 8), (unsigned char)i};
        assert_rv(issue(f->st, "pki", serial, sizeof(serial)), HSMCA_OK);
    }
    hsmca_store_close(f->st);
    f->st = NULL;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_true(sb.st_size >= 8 * 4096);
    /* Overwrite the last page (certificate rows) with junk. */
    memset(page, 0xa5, sizeof(page));
    fp = fopen(f->path, "r+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)(sb.st_size - 4096), SEEK_SET), 0);
    assert_int_equal(fwrite(page, 1, sizeof(page), fp), sizeof(page));
    fclose(fp);

    rv = open_store(f);
    if (rv == HSMCA_OK) {
        assert_rv(hsmca_store_check_integrity(f->st), HSMCA_ERR_IO);
        assert_detail_has("integrity_check");
        print_message("damaged page: %s\n", hsmca_err_message());
        /* Reading the damaged rows is an I/O error too, not a crash. */
        rv = hsmca_store_cert_list(f->st, "pki", NULL, 0, 0, collect_cert, &c);
        if (rv != HSMCA_OK && rv != HSMCA_ERR_IO)
            fail_msg("listing a damaged table: %s (%s)", hsmca_rv_name(rv), hsmca_err_message());
    } else {
        assert_int_equal(rv, HSMCA_ERR_IO);
        print_message("damaged page: open refused: %s\n", hsmca_err_message());
    }
}

/* ---- revocations ---- */

static hsmca_rv revoke_one(hsmca_store *st, const unsigned char *serial, size_t len, int64_t when, int reason)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_revoke(b, "pki", serial, len, when, reason);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

typedef struct {
    unsigned char first[HSMCA_STORE_SERIAL_MAX];
    size_t n;
    int64_t seqs[8];
    int reasons[8];
} revoked_seen;

static int collect_revoked(const hsmca_store_revoked *r, void *arg)
{
    revoked_seen *seen = arg;

    if (seen->n < 8) {
        if (seen->n == 0)
            memcpy(seen->first, r->serial, r->serial_len);
        seen->seqs[seen->n] = r->seq;
        seen->reasons[seen->n] = r->reason;
    }
    seen->n++;
    return 1;
}

static void test_revocation_flow(void **state)
{
    fixture *f = *state;
    const unsigned char s1[] = {0x30, 0x01}, s2[] = {0x10, 0x02}, s3[] = {0x20, 0x03}, s4[] = {0x05};
    hsmca_store_revoked_query all = {.since_seq = -1}, issuer = {.issuer_id = "issuer-1", .since_seq = -1};
    hsmca_store_revoked_query delta = {.issuer_id = "issuer-1", .since_seq = 1};
    revoked_seen seen;
    hsmca_store_cert c;
    int64_t seq = -1;

    assert_rv(issue(f->st, "pki", s1, sizeof(s1)), HSMCA_OK);
    assert_rv(issue(f->st, "pki", s2, sizeof(s2)), HSMCA_OK);
    assert_rv(issue(f->st, "pki", s3, sizeof(s3)), HSMCA_OK);
    memset(&seen, 0, sizeof(seen));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &all, &seq, collect_revoked, &seen), HSMCA_OK);
    assert_int_equal(seen.n, 0);
    assert_int_equal(seq, 0);

    assert_rv(revoke_one(f->st, s1, sizeof(s1), 5000, 1), HSMCA_OK);
    assert_rv(revoke_one(f->st, s3, sizeof(s3), 5001, 0), HSMCA_OK);
    /* Twice: refused, and the first revocation stays. */
    assert_rv(revoke_one(f->st, s1, sizeof(s1), 6000, 4), HSMCA_ERR_EXISTS);
    assert_detail_has("already revoked");
    /* Not stored; a bad reason: refused, nothing counted. */
    assert_rv(revoke_one(f->st, s4, sizeof(s4), 5000, 0), HSMCA_ERR_NOT_FOUND);
    assert_rv(revoke_one(f->st, s2, sizeof(s2), 5000, 7), HSMCA_ERR_INVALID_ARG);
    assert_rv(revoke_one(f->st, s2, sizeof(s2), 0, 0), HSMCA_ERR_INVALID_ARG);

    assert_rv(hsmca_store_cert_get(f->st, "pki", s1, sizeof(s1), &c), HSMCA_OK);
    assert_int_equal(c.revoked_at, 5000);
    assert_int_equal(c.revocation_reason, 1);
    hsmca_store_cert_clear(&c);

    /* Serial order, with the sequence numbers in revocation order. */
    memset(&seen, 0, sizeof(seen));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &issuer, &seq, collect_revoked, &seen), HSMCA_OK);
    assert_int_equal(seen.n, 2);
    assert_memory_equal(seen.first, s3, sizeof(s3));
    assert_int_equal(seen.seqs[0], 2);
    assert_int_equal(seen.seqs[1], 1);
    assert_int_equal(seen.reasons[1], 1);
    assert_int_equal(seq, 2);

    /* A delta since 1 holds exactly the second revocation. */
    memset(&seen, 0, sizeof(seen));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &delta, &seq, collect_revoked, &seen), HSMCA_OK);
    assert_int_equal(seen.n, 1);
    assert_memory_equal(seen.first, s3, sizeof(s3));

    /* The counter never goes back, even when revoked rows disappear. */
    assert_int_equal(raw_exec(f, "DELETE FROM certs WHERE revocation_seq = 2"), SQLITE_OK);
    assert_rv(revoke_one(f->st, s2, sizeof(s2), 7000, 0), HSMCA_OK);
    memset(&seen, 0, sizeof(seen));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &delta, &seq, collect_revoked, &seen), HSMCA_OK);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.seqs[0], 3);
    assert_int_equal(seq, 3);

    /* Other issuers' revocations are not this issuer's. */
    issuer.issuer_id = "issuer-2";
    memset(&seen, 0, sizeof(seen));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &issuer, NULL, collect_revoked, &seen), HSMCA_OK);
    assert_int_equal(seen.n, 0);
    /* A delta needs an issuer. */
    delta.issuer_id = NULL;
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &delta, NULL, collect_revoked, &seen), HSMCA_ERR_INVALID_ARG);

    /* Deleting the mount deletes its counter too. */
    assert_rv(hsmca_store_mount_delete(f->st, "pki"), HSMCA_OK);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM revocation_counters"), 0);
}

/* The query plan's detail lines, joined. */
static hsmca_rv expunge(hsmca_store *st, const unsigned char *serial, size_t len, int64_t before, bool revoked)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_cert_expunge(b, "pki", serial, len, before, revoked);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

static hsmca_rv reassociate(hsmca_store *st, const unsigned char *serial, size_t len, const char *from, const char *to)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_cert_reassociate(b, "pki", serial, len, from, to);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

/* maintain_stored_certificate_counts and tidy_revoked_cert_issuer_
 * associations: the counts; orphans are the revoked rows whose issuer
 * document is gone; a reassociation applies only while the row still
 * names the issuer it is moved from. */
static void test_tidy_counts_and_orphans(void **state)
{
    fixture *f = *state;
    const unsigned char s1[] = {0x01}, s2[] = {0x02}, s3[] = {0x03};
    hsmca_store_expired rows[4];
    uint64_t stored = 0, revoked = 0;
    size_t n = 99;

    assert_rv(issue(f->st, "pki", s1, sizeof(s1)), HSMCA_OK); /* issuer-1 */
    assert_rv(issue(f->st, "pki", s2, sizeof(s2)), HSMCA_OK);
    assert_rv(issue(f->st, "pki", s3, sizeof(s3)), HSMCA_OK);
    assert_rv(revoke_one(f->st, s2, sizeof(s2), 1500, 1), HSMCA_OK);
    assert_rv(revoke_one(f->st, s3, sizeof(s3), 1500, 1), HSMCA_OK);
    assert_rv(hsmca_store_cert_counts(f->st, "pki", &stored, &revoked), HSMCA_OK);
    assert_int_equal(stored, 3);
    assert_int_equal(revoked, 2);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM certs WHERE mount = 'pki'"), (long long)stored);

    /* No issuer document "issuer-1": both revoked rows are orphans, the
     * unrevoked s1 is not listed. */
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(rows[0].serial, s2, 1);
    assert_string_equal(rows[0].issuer_id, "issuer-1");
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", s2, sizeof(s2), rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(rows[0].serial, s3, 1);
    assert_rv(put_doc(f->st, HSMCA_PUT_CREATE, "pki", HSMCA_DOC_ISSUER, "issuer-1", NULL, "{}"), HSMCA_OK);
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 0);

    /* Moved to an issuer with no document: an orphan again, naming it. */
    assert_rv(reassociate(f->st, s2, sizeof(s2), "issuer-1", "issuer-2"), HSMCA_OK);
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].issuer_id, "issuer-2");
    /* A stale "from": nothing changes, and the batch does not fail. */
    assert_rv(reassociate(f->st, s2, sizeof(s2), "issuer-9", "issuer-1"), HSMCA_OK);
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_rv(reassociate(f->st, s2, sizeof(s2), "issuer-2", "issuer-1"), HSMCA_OK);
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 0);
    /* Bad input is refused before anything is queued. */
    assert_rv(reassociate(f->st, s2, sizeof(s2), "", "issuer-1"), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_store_revoked_orphans(f->st, "pki", NULL, 0, rows, 0, &n), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_store_cert_counts(f->st, "pki", &stored, &revoked), HSMCA_OK);
    assert_int_equal(stored, 3);
    assert_int_equal(revoked, 2);
}

/* Tidy at scale: its listing is served by the index certs_not_after
 * (migration 4), as SQLite's own query plan for the statement shows, and
 * pages in (not_after, serial) order across rows of different expiry. */
static void test_tidy_uses_not_after_index(void **state)
{
    fixture *f = *state;
    sqlite3 *db = raw_open(f, 1);
    sqlite3_stmt *s = NULL;
    char sql[1024], plan[2048] = "";
    size_t used = 0;

    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", hsmca_store_expired_list_sql());
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && used < sizeof(plan) - 1) {
        int n = snprintf(plan + used, sizeof(plan) - used, "%s\n", (const char *)sqlite3_column_text(s, 3));
        used += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    print_message("tidy listing plan: %s", plan);
    /* A SEARCH (a seek), on the index, with the expiry bound in the key;
     * no SCAN of certs and no temporary B-tree for the ORDER BY. */
    assert_non_null(strstr(plan, "SEARCH certs USING INDEX certs_not_after (mount=? AND"));
    assert_non_null(strstr(plan, "not_after<?"));
    assert_null(strstr(plan, "SCAN"));
    assert_null(strstr(plan, "TEMP B-TREE"));
}

/* Tidy's operations: the listing honours the cutoff and pages in serial
 * order; an expunge removes only the kind it names and only past the
 * cutoff, intent included, and a missing row is no error. */
static void test_tidy_expunge(void **state)
{
    fixture *f = *state;
    const unsigned char s1[] = {0x01}, s2[] = {0x02}, s3[] = {0x03};
    hsmca_store_expired rows[4], after;
    hsmca_store_intent in;
    hsmca_store_cert c;
    uint64_t count = 0;
    int64_t seq = -1;
    size_t n = 99;

    assert_rv(issue(f->st, "pki", s1, sizeof(s1)), HSMCA_OK); /* not_after 2000 */
    assert_rv(issue(f->st, "pki", s2, sizeof(s2)), HSMCA_OK);
    assert_rv(issue(f->st, "pki", s3, sizeof(s3)), HSMCA_OK);
    assert_rv(revoke_one(f->st, s2, sizeof(s2), 1500, 1), HSMCA_OK);

    assert_rv(hsmca_store_expired_list(f->st, "pki", 2000, NULL, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 0); /* not_after 2000 is not before 2000 */
    assert_rv(hsmca_store_expired_list(f->st, "pki", 2001, NULL, rows, 4, &n), HSMCA_OK);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].revoked_at, 0);
    assert_int_equal(rows[1].revoked_at, 1500);
    assert_int_equal(rows[1].not_after, 2000);
    after = rows[0]; /* s1, not_after 2000 */
    assert_rv(hsmca_store_expired_list(f->st, "pki", 2001, &after, rows, 1, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(rows[0].serial, s2, 1);
    assert_rv(hsmca_store_expired_list(f->st, "pki", 2001, NULL, rows, 0, &n), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_store_cert_count(f->st, "pki", &count), HSMCA_OK);
    assert_int_equal(count, 3);

    /* Inside the cutoff: nothing goes. */
    assert_rv(expunge(f->st, s1, sizeof(s1), 2000, false), HSMCA_OK);
    assert_rv(hsmca_store_cert_get(f->st, "pki", s1, sizeof(s1), &c), HSMCA_OK);
    hsmca_store_cert_clear(&c);
    /* Unrevoked only: s1 and s3 go with their intents, the revoked s2 stays. */
    for (int i = 0; i < 3; i++) {
        const unsigned char *s = i == 0 ? s1 : i == 1 ? s2 : s3;
        assert_rv(expunge(f->st, s, 1, 2001, false), HSMCA_OK);
    }
    assert_rv(hsmca_store_cert_get(f->st, "pki", s1, sizeof(s1), &c), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_intent_get(f->st, "pki", s1, sizeof(s1), &in), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_cert_get(f->st, "pki", s3, sizeof(s3), &c), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_cert_get(f->st, "pki", s2, sizeof(s2), &c), HSMCA_OK);
    hsmca_store_cert_clear(&c);
    /* Revoked: now s2 goes; a second expunge of it is no error. */
    assert_rv(expunge(f->st, s2, sizeof(s2), 2001, true), HSMCA_OK);
    assert_rv(expunge(f->st, s2, sizeof(s2), 2001, true), HSMCA_OK);
    assert_rv(hsmca_store_cert_get(f->st, "pki", s2, sizeof(s2), &c), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_intent_get(f->st, "pki", s2, sizeof(s2), &in), HSMCA_ERR_NOT_FOUND);
    assert_rv(hsmca_store_cert_count(f->st, "pki", &count), HSMCA_OK);
    assert_int_equal(count, 0);
    /* The revocation counter keeps its number: a delta must not reuse it. */
    {
        hsmca_store_revoked_query all = {.since_seq = -1};
        revoked_seen seen;

        memset(&seen, 0, sizeof(seen));
        assert_rv(hsmca_store_revoked_list(f->st, "pki", &all, &seq, collect_revoked, &seen), HSMCA_OK);
        assert_int_equal(seen.n, 0);
        assert_int_equal(seq, 1);
    }
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);
}

static hsmca_rv revoke_intent(hsmca_store *st, const unsigned char *serial, size_t len, int64_t when, int reason)
{
    hsmca_store_batch *b = hsmca_store_batch_new(st);
    hsmca_rv rv;

    hsmca_store_batch_revoke_intent(b, "pki", serial, len, when, reason);
    rv = hsmca_store_batch_commit(b);
    hsmca_store_batch_free(b);
    return rv;
}

typedef struct {
    size_t n;
    unsigned char serial[8];
    bool intent_only[8];
    int64_t seq[8];
} revoked_kinds;

static int collect_kinds(const hsmca_store_revoked *r, void *arg)
{
    revoked_kinds *k = arg;

    if (k->n < 8) {
        k->serial[k->n] = r->serial[r->serial_len - 1];
        k->intent_only[k->n] = r->intent_only;
        k->seq[k->n] = r->seq;
    }
    k->n++;
    return 1;
}

/* Issue 5 / issue 9 item 2: a serial with an intent but no certificate
 * (its insert failed after the token signed) can be revoked; the
 * revocation shares the mount's sequence, is listed among the revoked
 * certificates in serial order and in deltas, and blocks a late
 * certificate for the serial. */
static void test_intent_revocation(void **state)
{
    fixture *f = *state;
    const unsigned char s1[] = {0x01}, s2[] = {0x02}, s3[] = {0x03}, s4[] = {0x04}, none[] = {0x09};
    hsmca_store_revoked_query all = {.since_seq = -1}, issuer = {.issuer_id = "issuer-1", .since_seq = -1};
    hsmca_store_revoked_query delta = {.issuer_id = "issuer-1", .since_seq = 1};
    hsmca_store_intent in;
    revoked_kinds k;
    int64_t seq = -1;

    assert_rv(reserve(f->st, "pki", s1, sizeof(s1)), HSMCA_OK); /* intent only */
    assert_rv(issue(f->st, "pki", s2, sizeof(s2)), HSMCA_OK);
    assert_rv(reserve(f->st, "pki", s3, sizeof(s3)), HSMCA_OK); /* intent only, revoked second */
    assert_rv(reserve(f->st, "pki", s4, sizeof(s4)), HSMCA_OK); /* intent only, never revoked */

    assert_rv(revoke_one(f->st, s2, sizeof(s2), 5000, 0), HSMCA_OK);       /* seq 1 */
    assert_rv(revoke_intent(f->st, s3, sizeof(s3), 5001, 4), HSMCA_OK);    /* seq 2 */
    assert_rv(revoke_intent(f->st, s1, sizeof(s1), 5002, 0), HSMCA_OK);    /* seq 3 */
    /* Refusals, each changing nothing and taking no number. */
    assert_rv(revoke_intent(f->st, s1, sizeof(s1), 6000, 0), HSMCA_ERR_EXISTS);
    assert_detail_has("already revoked");
    assert_rv(revoke_intent(f->st, s2, sizeof(s2), 6000, 0), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("certificate with that serial is stored");
    assert_rv(revoke_intent(f->st, none, sizeof(none), 6000, 0), HSMCA_ERR_NOT_FOUND);
    assert_detail_has("never reserved");
    assert_rv(revoke_intent(f->st, s4, sizeof(s4), 6000, 7), HSMCA_ERR_INVALID_ARG);
    /* The certificate revocation path still says "no certificate". */
    assert_rv(revoke_one(f->st, s4, sizeof(s4), 6000, 0), HSMCA_ERR_NOT_FOUND);

    assert_rv(hsmca_store_intent_get(f->st, "pki", s3, sizeof(s3), &in), HSMCA_OK);
    assert_false(in.has_certificate);
    assert_int_equal(in.revoked_at, 5001);
    assert_int_equal(in.revocation_reason, 4);
    assert_rv(hsmca_store_intent_get(f->st, "pki", s4, sizeof(s4), &in), HSMCA_OK);
    assert_int_equal(in.revoked_at, 0);

    /* Serial order across both kinds, for the mount and for the issuer. */
    for (int pass = 0; pass < 2; pass++) {
        memset(&k, 0, sizeof(k));
        assert_rv(hsmca_store_revoked_list(f->st, "pki", pass == 0 ? &all : &issuer, &seq, collect_kinds, &k),
                  HSMCA_OK);
        assert_int_equal(k.n, 3);
        assert_int_equal(k.serial[0], 0x01);
        assert_true(k.intent_only[0]);
        assert_int_equal(k.seq[0], 3);
        assert_int_equal(k.serial[1], 0x02);
        assert_false(k.intent_only[1]);
        assert_int_equal(k.serial[2], 0x03);
        assert_true(k.intent_only[2]);
        assert_int_equal(seq, 3);
    }
    /* Paging after a serial, and a limit, across the merge. */
    all.after = s1;
    all.after_len = sizeof(s1);
    all.limit = 1;
    memset(&k, 0, sizeof(k));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &all, NULL, collect_kinds, &k), HSMCA_OK);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.serial[0], 0x02);
    /* A delta since 1: the two intent revocations, in sequence order. */
    memset(&k, 0, sizeof(k));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &delta, &seq, collect_kinds, &k), HSMCA_OK);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.serial[0], 0x03);
    assert_int_equal(k.serial[1], 0x01);
    /* Another issuer sees none of them. */
    issuer.issuer_id = "issuer-2";
    memset(&k, 0, sizeof(k));
    assert_rv(hsmca_store_revoked_list(f->st, "pki", &issuer, NULL, collect_kinds, &k), HSMCA_OK);
    assert_int_equal(k.n, 0);

    /* A certificate arriving for a revoked intent is refused (it would be
     * stored unrevoked); one for the unrevoked intent is stored. */
    assert_int_not_equal(store_cert(f->st, "pki", s1, sizeof(s1)), HSMCA_OK);
    assert_detail_has("revoked before its certificate was stored");
    assert_rv(store_cert(f->st, "pki", s4, sizeof(s4)), HSMCA_OK);
    assert_rv(hsmca_store_check_integrity(f->st), HSMCA_OK);

    /* The revocations survive a reopen; deleting the mount removes them. */
    hsmca_store_close(f->st);
    f->st = NULL;
    assert_rv(open_store(f), HSMCA_OK);
    assert_rv(hsmca_store_intent_get(f->st, "pki", s1, sizeof(s1), &in), HSMCA_OK);
    assert_int_equal(in.revoked_at, 5002);
    assert_rv(hsmca_store_mount_delete(f->st, "pki"), HSMCA_OK);
    assert_int_equal(raw_count(f, "SELECT count(*) FROM intent_revocations"), 0);
}

static void raw_plan(const fixture *f, const char *sql, char *buf, size_t cap)
{
    sqlite3 *db = raw_open(f, 1);
    sqlite3_stmt *s = NULL;
    size_t used = 0;

    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW && used + 1 < cap) {
            int n = snprintf(buf + used, cap - used, "%s;", (const char *)sqlite3_column_text(s, 3));
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_revocation_uses_indexes(void **state)
{
    fixture *f = *state;
    char plan[256];

    /* A CRL walks only revoked rows: the partial indexes must serve the
     * statements (a full scan would make a CRL cost the whole table). */
    raw_plan(f, "EXPLAIN QUERY PLAN SELECT serial FROM certs WHERE mount = 'pki' AND issuer_id = 'x'"
                " AND revoked_at IS NOT NULL AND serial > x'' ORDER BY serial", plan, sizeof(plan));
    assert_non_null(strstr(plan, "certs_revoked_issuer"));
    raw_plan(f, "EXPLAIN QUERY PLAN SELECT serial FROM certs WHERE mount = 'pki' AND issuer_id = 'x'"
                " AND revocation_seq IS NOT NULL AND revocation_seq > 3 AND revocation_seq <= 9"
                " ORDER BY revocation_seq", plan, sizeof(plan));
    assert_non_null(strstr(plan, "certs_revocation_seq"));
    /* Revoked intents (migration 3) merge in by their own indexes. */
    raw_plan(f, "EXPLAIN QUERY PLAN SELECT serial FROM intent_revocations WHERE mount = 'pki' AND issuer_id = 'x'"
                " AND revocation_seq > 3 AND revocation_seq <= 9 ORDER BY revocation_seq", plan, sizeof(plan));
    assert_non_null(strstr(plan, "intent_revocations_seq"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_private_wal_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intent_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_delete_removes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_put_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intent_cert_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_is_a_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_sqlite_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_fails_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_leaves_intent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_uses_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tidy_expunge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tidy_uses_not_after_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tidy_counts_and_orphans, setup, teardown),
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
