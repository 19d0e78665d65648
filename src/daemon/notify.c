/* SPDX-License-Identifier: Apache-2.0 */
/* The service manager's side channels, spoken without libsystemd: sd_notify
 * datagrams (READY=1, RELOADING=1, STOPPING=1, STATUS=, WATCHDOG=1) to
 * $NOTIFY_SOCKET, the watchdog interval from $WATCHDOG_USEC, and sockets
 * passed by socket activation ($LISTEN_FDS). The protocol is sd_notify(3) /
 * sd_listen_fds(3): plain AF_UNIX datagrams and inherited descriptors, so
 * an appliance without libsystemd (or under another supervisor that speaks
 * it, e.g. s6 or a test) behaves the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hsmca/log.h"
#include "internal.h"

#define NOTIFY_MSG_MAX   1024
#define LISTEN_FDS_START 3 /* SD_LISTEN_FDS_START */

static struct {
    int fd; /* -1: no manager listening */
    struct sockaddr_un addr;
    socklen_t addr_len;
    uint64_t watchdog_usec; /* 0: no watchdog */
} nt = {.fd = -1};

/* Strict unsigned parse: the environment comes from outside the process. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* A variable meant for this process: *_PID unset, or our pid. A value left
 * in the environment by a parent that forked us (without exec'ing through
 * the manager) must not make us answer for it. */
static bool meant_for_us(const char *pid_var)
{
    const char *p = getenv(pid_var);
    uint64_t pid;

    if (p == NULL)
        return true;
    return parse_u64(p, &pid) && pid == (uint64_t)getpid();
}

hsmca_rv daemon_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *wd = getenv("WATCHDOG_USEC");
    size_t n;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (wd != NULL && meant_for_us("WATCHDOG_PID")) {
        if (!parse_u64(wd, &nt.watchdog_usec) || nt.watchdog_usec == 0) {
            rv = hsmca_err(rv, "WATCHDOG_USEC '%s' is not a positive number of microseconds", wd);
            goto done;
        }
    }
    if (path == NULL || path[0] == '\0') {
        rv = HSMCA_OK;
        goto done;
    }
    n = strlen(path);
    /* "/path" or "@abstract" (sd_notify(3)); vsock: is for VMs, not us. */
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(nt.addr.sun_path)) {
        rv = hsmca_err(rv, "NOTIFY_SOCKET '%s' must be an absolute path or @abstract name under %zu bytes",
                       path, sizeof(nt.addr.sun_path));
        goto done;
    }
    memset(&nt.addr, 0, sizeof(nt.addr));
    nt.addr.sun_family = AF_UNIX;
    memcpy(nt.addr.sun_path, path, n);
    if (path[0] == '@')
        nt.addr.sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
    nt.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/' ? 1 : 0));
    nt.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (nt.fd < 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "NOTIFY_SOCKET: cannot make a datagram socket: %s", strerror(errno));
        goto done;
    }
    rv = HSMCA_OK;
done:
    /* Children (none today) must not notify in our name, as sd_notify's
     * unset_environment does. */
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return rv;
}

void daemon_notify_close(void)
{
    if (nt.fd >= 0)
        close(nt.fd);
    nt.fd = -1;
}

uint64_t daemon_notify_watchdog_usec(void)
{
    return nt.watchdog_usec;
}

void daemon_notify(const char *fmt, ...)
{
    char msg[NOTIFY_MSG_MAX];
    va_list ap;
    int n;

    if (nt.fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1; /* a cut STATUS= line beats none */
    /* MSG_NOSIGNAL: a manager that went away is not worth dying for. A lost
     * datagram is only a lost status line; a lost READY=1 shows up as a
     * start timeout, which the manager reports. */
    if (sendto(nt.fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&nt.addr, nt.addr_len) < 0)
        hsmca_log_debug("sd_notify: %s", strerror(errno));
}

hsmca_rv daemon_listen_fds(int *fds, size_t max, size_t *n)
{
    const char *count = getenv("LISTEN_FDS");
    uint64_t k = 0;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    *n = 0;
    if (count == NULL || !meant_for_us("LISTEN_PID") || getenv("LISTEN_PID") == NULL) {
        rv = HSMCA_OK;
        goto done;
    }
    if (!parse_u64(count, &k) || k == 0 || k > max) {
        rv = hsmca_err(rv, "LISTEN_FDS '%s': hsmcad takes 1..%zu sockets", count, max);
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        int fd = LISTEN_FDS_START + (int)i, type = 0, listening = 0;
        socklen_t len = sizeof(type), len2 = sizeof(listening);
        /* Only listening stream sockets: a datagram or a plain file here is
         * a unit mistake (ListenDatagram=, Accept=yes) to refuse early. */
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len2) != 0 || !listening) {
            rv = hsmca_err(rv,
                           "LISTEN_FDS: descriptor %d is not a listening stream socket (hsmcad.socket needs "
                           "ListenStream= and Accept=no)",
                           fd);
            goto done;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fds[i] = fd;
    }
    *n = (size_t)k;
    rv = HSMCA_OK;
done:
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    return rv;
}
