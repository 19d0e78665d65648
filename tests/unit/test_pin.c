/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for hsm/p11/pin.c: reading the PIN from a file or a systemd
 * credential (first line only, line endings, size limits, file types,
 * credential names) without ever echoing it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsmca/pin.h"
#include "hsmca/rv.h"

/* ---- fixture: a private directory of PIN files, and the PIN and origin of
 * the test, freed even when an assertion longjmps out ---- */

/* Stored in the fixture's PIN slot before each load: a load that fails must
 * reset it to NULL. */
#define NOT_SET ((hsmca_pin *)0x1)

typedef struct {
    char dir[256];
    hsmca_pin *pin;
    char origin[512];
    char *saved_creds; /* CREDENTIALS_DIRECTORY before the test, if set */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    const char *creds = getenv("CREDENTIALS_DIRECTORY");

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/hsmca-test-pin.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    if (creds != NULL)
        f->saved_creds = strdup(creds);
    unsetenv("CREDENTIALS_DIRECTORY");
    hsmca_err_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[600];

    if (f->pin != NOT_SET)
        hsmca_pin_free(f->pin);
    if (f->saved_creds != NULL)
        setenv("CREDENTIALS_DIRECTORY", f->saved_creds, 1);
    else
        unsetenv("CREDENTIALS_DIRECTORY");
    free(f->saved_creds);
    /* The directory holds only files this test wrote (and maybe a FIFO). */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        print_error("could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Writes name in the fixture directory with exactly len bytes and mode. */
static const char *put(void **state, const char *name, const void *data, size_t len, mode_t mode)
{
    static char path[512];
    fixture *f = *state;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static hsmca_rv load_file(void **state, const char *path)
{
    fixture *f = *state;
    hsmca_pin_source src = {.file = path, .credential = NULL};

    if (f->pin != NOT_SET)
        hsmca_pin_free(f->pin);
    f->pin = NOT_SET;
    return hsmca_pin_load(&src, &f->pin, f->origin, sizeof(f->origin));
}

static hsmca_rv load_credential(void **state, const char *name)
{
    fixture *f = *state;
    hsmca_pin_source src = {.file = NULL, .credential = name};

    if (f->pin != NOT_SET)
        hsmca_pin_free(f->pin);
    f->pin = NOT_SET;
    return hsmca_pin_load(&src, &f->pin, f->origin, sizeof(f->origin));
}

/* The loaded PIN is exactly want (want_len bytes). */
static void expect_pin(void **state, const void *want, size_t want_len)
{
    fixture *f = *state;
    size_t len = 0;
    const unsigned char *data;

    assert_non_null(f->pin);
    data = hsmca_pin_data(f->pin, &len);
    assert_non_null(data);
    if (len != want_len)
        fail_msg("PIN is %zu bytes, expected %zu", len, want_len);
    assert_memory_equal(data, want, want_len);
}

/* A failure: rv as expected, no PIN handed out, and a detail that contains
 * the key words in `words` (and not the secret, when given). */
static void expect_error(void **state, hsmca_rv got, hsmca_rv want, const char *words, const char *secret)
{
    fixture *f = *state;
    const char *msg = hsmca_err_message();

    if (got != want)
        fail_msg("got %s, expected %s (%s)", hsmca_rv_name(got), hsmca_rv_name(want), msg);
    if (f->pin != NULL)
        fail_msg("a failed load left a PIN object behind (%p)", (void *)f->pin);
    if (words != NULL && strstr(msg, words) == NULL)
        fail_msg("message '%s' does not say '%s'", msg, words);
    if (secret != NULL && strstr(msg, secret) != NULL)
        fail_msg("message '%s' contains the PIN", msg);
    if (secret != NULL && strstr(f->origin, secret) != NULL)
        fail_msg("origin '%s' contains the PIN", f->origin);
}

/* ---- PIN files ---- */

static void test_first_line_only(void **state)
{
    const char *p = put(state, "pin", "1234\nsecond line\n", 17, 0600);
    fixture *f = *state;

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, "1234", 4);
    /* origin names the source, never the PIN */
    assert_non_null(strstr(f->origin, "file"));
    assert_non_null(strstr(f->origin, p));
    assert_null(strstr(f->origin, "1234"));
}

static void test_no_line_ending(void **state)
{
    const char *p = put(state, "pin", "s3cr3t", 6, 0600);

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, "s3cr3t", 6);
}

static void test_crlf(void **state)
{
    const char *p = put(state, "pin", "1234\r\n", 6, 0600);

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, "1234", 4);
    p = put(state, "pin2", "abcd\r\nefgh\r\n", 12, 0400);
    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, "abcd", 4);
}

static void test_only_line_ending_stripped(void **state)
{
    /* Spaces and a CR inside the line are part of the PIN: a token PIN may
     * contain any bytes, and guessing would lock tokens out. */
    const char *p = put(state, "pin", " 12\r34 \n", 8, 0600);

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, " 12\r34 ", 7);
}

static void test_binary_bytes(void **state)
{
    static const unsigned char bytes[] = {0x01, 0xff, 0x80, 'a', 0x00, 'b', '\n'};
    const char *p = put(state, "pin", bytes, sizeof(bytes), 0600);

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, bytes, 6);
}

static void test_empty(void **state)
{
    const char *p = put(state, "pin", "", 0, 0600);

    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "empty", NULL);
    p = put(state, "pin2", "\n", 1, 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "empty", NULL);
    p = put(state, "pin3", "\r\n", 2, 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "empty", NULL);
    p = put(state, "pin4", "\nsecond-line-is-not-the-pin\n", 28, 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "empty", "second-line");
}

static void test_longest_pin(void **state)
{
    char buf[HSMCA_PIN_MAX + 2];
    const char *p;

    memset(buf, 'p', HSMCA_PIN_MAX);
    buf[HSMCA_PIN_MAX] = '\n';
    p = put(state, "pin", buf, HSMCA_PIN_MAX + 1, 0600);
    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, buf, HSMCA_PIN_MAX);

    buf[HSMCA_PIN_MAX] = '\r';
    buf[HSMCA_PIN_MAX + 1] = '\n';
    p = put(state, "pin2", buf, HSMCA_PIN_MAX + 2, 0600);
    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, buf, HSMCA_PIN_MAX);

    p = put(state, "pin3", buf, HSMCA_PIN_MAX, 0600);
    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, buf, HSMCA_PIN_MAX);
}

static void test_too_long(void **state)
{
    char buf[HSMCA_PIN_MAX + 2];
    char big[4096];
    const char *p;

    /* One byte over, without and with a line ending. */
    memset(buf, 'q', sizeof(buf));
    p = put(state, "pin", buf, HSMCA_PIN_MAX + 1, 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "256", "qqqqqqqq");
    buf[HSMCA_PIN_MAX + 1] = '\n';
    p = put(state, "pin2", buf, HSMCA_PIN_MAX + 2, 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "256", "qqqqqqqq");

    /* A large file (a key, a certificate by mistake) is refused outright. */
    memset(big, 'z', sizeof(big));
    big[10] = '\n';
    p = put(state, "big", big, sizeof(big), 0600);
    expect_error(state, load_file(state, p), HSMCA_ERR_INVALID_ARG, "bytes", "zzzzzzzz");
}

static void test_group_readable_still_used(void **state)
{
    /* Too permissive is logged as a warning, not refused (secret mounts
     * often come 0640 root:service). */
    const char *p = put(state, "pin", "4321\n", 5, 0640);

    assert_int_equal(load_file(state, p), HSMCA_OK);
    expect_pin(state, "4321", 4);
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    char path[512];

    snprintf(path, sizeof(path), "%s/does-not-exist", f->dir);
    expect_error(state, load_file(state, path), HSMCA_ERR_IO, "does-not-exist", NULL);
    assert_non_null(strstr(hsmca_err_message(), strerror(ENOENT)));
}

static void test_empty_path(void **state)
{
    expect_error(state, load_file(state, ""), HSMCA_ERR_INVALID_ARG, "empty", NULL);
}

static void test_directory(void **state)
{
    fixture *f = *state;

    expect_error(state, load_file(state, f->dir), HSMCA_ERR_INVALID_ARG, "not a regular file", NULL);
}

static void test_device(void **state)
{
    expect_error(state, load_file(state, "/dev/null"), HSMCA_ERR_INVALID_ARG, "not a regular file", NULL);
}

/* A FIFO (or a /dev/fd/N pipe from process substitution) is not a regular
 * file and must be refused at once. Opening it for reading without
 * O_NONBLOCK would block until a writer appears — a daemon that hangs at
 * start-up. Run in a child with an alarm so a hang fails the test. */
static void test_fifo(void **state)
{
    fixture *f = *state;
    char path[512];
    pid_t pid;
    int status = 0;

    snprintf(path, sizeof(path), "%s/fifo", f->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hsmca_pin_source src = {.file = path, .credential = NULL};
        hsmca_pin *pin = NULL;
        hsmca_rv rv;
        alarm(3);
        rv = hsmca_pin_load(&src, &pin, NULL, 0);
        _exit(rv == HSMCA_ERR_INVALID_ARG && pin == NULL &&
                      strstr(hsmca_err_message(), "not a regular file") != NULL
                  ? 0
                  : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("hsmca_pin_load blocked for 3 s opening a FIFO (open() without O_NONBLOCK)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("hsmca_pin_load on a FIFO did not fail with 'not a regular file' (status %d)", status);
}

static void test_symlink_to_file(void **state)
{
    /* systemd credentials and Kubernetes secrets are symlinks. */
    fixture *f = *state;
    const char *p = put(state, "real", "9999\n", 5, 0600);
    char link[512];

    snprintf(link, sizeof(link), "%s/link", f->dir);
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(load_file(state, link), HSMCA_OK);
    expect_pin(state, "9999", 4);
}

static void test_origin_optional_and_truncated(void **state)
{
    const char *p = put(state, "a-rather-long-pin-file-name", "77\n", 3, 0600);
    hsmca_pin_source src = {.file = p, .credential = NULL};
    hsmca_pin *pin = NULL;
    char small[6];

    assert_int_equal(hsmca_pin_load(&src, &pin, NULL, 0), HSMCA_OK);
    hsmca_pin_free(pin);
    pin = NULL;
    memset(small, 'x', sizeof(small));
    assert_int_equal(hsmca_pin_load(&src, &pin, small, sizeof(small)), HSMCA_OK);
    assert_int_equal(small[sizeof(small) - 1], '\0');
    hsmca_pin_free(pin);
}

static void test_source_rules(void **state)
{
    fixture *f = *state;
    hsmca_pin_source none = {NULL, NULL}, both = {"/x", "y"};

    f->pin = NOT_SET;
    expect_error(state, hsmca_pin_load(&none, &f->pin, f->origin, sizeof(f->origin)),
                 HSMCA_ERR_INVALID_ARG, "exactly one", NULL);
    f->pin = NOT_SET;
    expect_error(state, hsmca_pin_load(&both, &f->pin, f->origin, sizeof(f->origin)),
                 HSMCA_ERR_INVALID_ARG, "exactly one", NULL);
    f->pin = NOT_SET;
    expect_error(state, hsmca_pin_load(NULL, &f->pin, f->origin, sizeof(f->origin)),
                 HSMCA_ERR_INVALID_ARG, NULL, NULL);
}

/* ---- systemd credentials ---- */

static void test_credential(void **state)
{
    fixture *f = *state;

    put(state, "hsmca-pin", "cred-pin\n", 9, 0400);
    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    assert_int_equal(load_credential(state, "hsmca-pin"), HSMCA_OK);
    expect_pin(state, "cred-pin", 8);
    assert_non_null(strstr(f->origin, "credential"));
    assert_non_null(strstr(f->origin, "hsmca-pin"));
    assert_null(strstr(f->origin, "cred-pin\n"));
}

static void test_credential_crlf_and_first_line(void **state)
{
    fixture *f = *state;

    put(state, "c", "abc\r\nrest\n", 10, 0400);
    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    assert_int_equal(load_credential(state, "c"), HSMCA_OK);
    expect_pin(state, "abc", 3);
}

static void test_credential_directory_unset(void **state)
{
    unsetenv("CREDENTIALS_DIRECTORY");
    expect_error(state, load_credential(state, "hsmca-pin"), HSMCA_ERR_INVALID_ARG,
                 "CREDENTIALS_DIRECTORY", NULL);
    setenv("CREDENTIALS_DIRECTORY", "", 1);
    expect_error(state, load_credential(state, "hsmca-pin"), HSMCA_ERR_INVALID_ARG,
                 "CREDENTIALS_DIRECTORY", NULL);
}

static void test_credential_names(void **state)
{
    static const char *const bad[] = {"", ".", "..", "a/b", "../hsmca-pin", "/etc/passwd", "x/"};
    fixture *f = *state;
    char long_name[300];

    /* A file the traversal names would reach, so a wrong acceptance shows. */
    put(state, "hsmca-pin", "1111\n", 5, 0400);
    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hsmca_rv rv = load_credential(state, bad[i]);
        if (rv != HSMCA_ERR_INVALID_ARG)
            fail_msg("credential name '%s' gave %s, expected INVALID_ARGUMENT", bad[i], hsmca_rv_name(rv));
        if (f->pin != NULL)
            fail_msg("credential name '%s' left a PIN object behind", bad[i]);
    }
    memset(long_name, 'n', sizeof(long_name));
    long_name[256] = '\0';
    expect_error(state, load_credential(state, long_name), HSMCA_ERR_INVALID_ARG, NULL, NULL);
    /* Names are checked whether or not the directory is set. */
    unsetenv("CREDENTIALS_DIRECTORY");
    expect_error(state, load_credential(state, "../x"), HSMCA_ERR_INVALID_ARG, "single file name", NULL);
}

static void test_credential_missing(void **state)
{
    fixture *f = *state;

    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    expect_error(state, load_credential(state, "not-there"), HSMCA_ERR_IO, "not-there", NULL);
    assert_non_null(strstr(hsmca_err_message(), "credential"));
}

static void test_credential_empty(void **state)
{
    fixture *f = *state;

    put(state, "empty", "", 0, 0400);
    setenv("CREDENTIALS_DIRECTORY", f->dir, 1);
    expect_error(state, load_credential(state, "empty"), HSMCA_ERR_INVALID_ARG, "empty", NULL);
}

/* ---- PINs from bytes ---- */

static void test_from_bytes(void **state)
{
    char buf[HSMCA_PIN_MAX + 1];
    hsmca_pin *pin = NULL, *copy = NULL;
    const unsigned char *d;
    size_t len;

    (void)state;
    memset(buf, 'b', sizeof(buf));
    assert_int_equal(hsmca_pin_from_bytes(buf, 0, &pin), HSMCA_ERR_INVALID_ARG);
    assert_null(pin);
    assert_int_equal(hsmca_pin_from_bytes(buf, HSMCA_PIN_MAX + 1, &pin), HSMCA_ERR_INVALID_ARG);
    assert_null(pin);
    assert_int_equal(hsmca_pin_from_bytes(buf, HSMCA_PIN_MAX, &pin), HSMCA_OK);
    assert_int_equal(hsmca_pin_dup(pin, &copy), HSMCA_OK);
    d = hsmca_pin_data(copy, &len);
    assert_int_equal(len, HSMCA_PIN_MAX);
    assert_memory_equal(d, buf, HSMCA_PIN_MAX);
    hsmca_pin_free(pin);
    hsmca_pin_free(copy);
    hsmca_pin_free(NULL);
    assert_null(hsmca_pin_data(NULL, &len));
    assert_int_equal(len, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_line_only),
        T(test_no_line_ending),
        T(test_crlf),
        T(test_only_line_ending_stripped),
        T(test_binary_bytes),
        T(test_empty),
        T(test_longest_pin),
        T(test_too_long),
        T(test_group_readable_still_used),
        T(test_missing_file),
        T(test_empty_path),
        T(test_directory),
        T(test_device),
        T(test_fifo),
        T(test_symlink_to_file),
        T(test_origin_optional_and_truncated),
        T(test_source_rules),
        T(test_credential),
        T(test_credential_crlf_and_first_line),
        T(test_credential_directory_unset),
        T(test_credential_names),
        T(test_credential_missing),
        T(test_credential_empty),
        T(test_from_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
