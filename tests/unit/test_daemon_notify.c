/* SPDX-License-Identifier: Apache-2.0 */
/* src/daemon/notify.c: the sd_notify datagrams reach path and abstract
 * sockets byte for byte, the environment is parsed strictly and removed,
 * and socket activation takes only listening stream sockets meant for this
 * process. Real sockets throughout (the manager's side is a bound
 * AF_UNIX datagram socket, as systemd's is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "unit_util.h"

/* A manager's notify socket: "@name" abstract or a path; returns the fd. */
static int manager_socket(const char *name)
{
    struct sockaddr_un a;
    socklen_t len;
    size_t n = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {2, 0};

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, name, n);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void no_manager(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    assert_rv(daemon_notify_init(), HSMCA_OK);
    daemon_notify("READY=1"); /* nowhere to go: a no-op, not an error */
    assert_int_equal(daemon_notify_watchdog_usec(), 0);
    daemon_notify_close();
}

static void abstract_and_path(void **state)
{
    char name[64], path[512], dir[256];
    int fd;

    (void)state;
    snprintf(name, sizeof(name), "@hsmca-unit-notify-%ld", (long)getpid());
    fd = manager_socket(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_rv(daemon_notify_init(), HSMCA_OK);
    assert_null(getenv("NOTIFY_SOCKET")); /* children must not notify in our name */
    daemon_notify("READY=1\nSTATUS=serving on port %u", 8200u);
    expect_datagram(fd, "READY=1\nSTATUS=serving on port 8200");
    daemon_notify_close();
    close(fd);

    assert_int_equal(unit_make_tmpdir(dir, sizeof(dir), "HSMCA_TEST_WORKDIR", "notify"), 0);
    snprintf(path, sizeof(path), "%s/notify.sock", dir);
    assert_true(strlen(path) < sizeof(((struct sockaddr_un *)0)->sun_path));
    fd = manager_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_rv(daemon_notify_init(), HSMCA_OK);
    daemon_notify("STOPPING=1");
    expect_datagram(fd, "STOPPING=1");
    daemon_notify_close();
    close(fd);
    unit_remove_dir(dir);
}

static void bad_environment(void **state)
{
    char pid[32];

    (void)state;
    setenv("NOTIFY_SOCKET", "relative/socket", 1);
    assert_rv(daemon_notify_init(), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("NOTIFY_SOCKET");
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "15s", 1);
    assert_rv(daemon_notify_init(), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("WATCHDOG_USEC");
    /* meant for another process: ignored */
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    assert_rv(daemon_notify_init(), HSMCA_OK);
    assert_int_equal(daemon_notify_watchdog_usec(), 0);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_rv(daemon_notify_init(), HSMCA_OK);
    assert_int_equal(daemon_notify_watchdog_usec(), 30000000);
    assert_null(getenv("WATCHDOG_USEC"));
    daemon_notify_close();
}

/* Puts fd at descriptor 3, as the manager passes LISTEN_FDS sockets. */
static void at_fd3(int fd)
{
    if (fd != 3) {
        assert_int_equal(dup2(fd, 3), 3);
        close(fd);
    }
}

static void listen_fds(void **state)
{
    char pid[32];
    int fds[8];
    size_t n = 99;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;

    (void)state;
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    unsetenv("LISTEN_FDS");
    assert_rv(daemon_listen_fds(fds, 8, &n), HSMCA_OK);
    assert_int_equal(n, 0);

    /* a stream socket that does not listen yet: refused */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    at_fd3(s);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", pid, 1);
    assert_rv(daemon_listen_fds(fds, 8, &n), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("descriptor 3");
    assert_null(getenv("LISTEN_FDS"));

    assert_int_equal(listen(3, 4), 0);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", "1", 1); /* another process's */
    assert_rv(daemon_listen_fds(fds, 8, &n), HSMCA_OK);
    assert_int_equal(n, 0);
    setenv("LISTEN_FDS", "9", 1); /* more than we take */
    setenv("LISTEN_PID", pid, 1);
    assert_rv(daemon_listen_fds(fds, 8, &n), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("LISTEN_FDS");
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", pid, 1);
    assert_rv(daemon_listen_fds(fds, 8, &n), HSMCA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fds[0], 3);
    close(3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_manager),
        cmocka_unit_test(abstract_and_path),
        cmocka_unit_test(bad_environment),
        cmocka_unit_test(listen_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
