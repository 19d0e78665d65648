/* SPDX-License-Identifier: Apache-2.0 */
/* No-echo PIN prompts on the controlling terminal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "prompt.h"

/* Reads one line from fd into buf (without its newline) with echo off.
 * Returns the length, or -1 (too long, closed, or a read error). */
static long read_line_noecho(int fd, const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    size_t n = 0;
    long result = -1;
    bool restore = false;

    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    if (!restore)
        goto done; /* never read a PIN with echo on */
    if (write(fd, prompt, strlen(prompt)) < 0)
        goto done;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto done;
        if (c == '\n' || c == '\r')
            break;
        /* One byte is kept for the terminator; a longer line is refused
         * rather than silently cut (a cut PIN would fail login and burn a
         * retry on the token). */
        if (n + 1 >= size)
            goto done;
        buf[n++] = c;
    }
    buf[n] = '\0';
    result = (long)n;
done:
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &old);
        (void)!write(fd, "\n", 1);
    }
    return result;
}

hsmca_rv hsmca_cli_prompt_pin(const char *what, bool confirm, hsmca_pin **out)
{
    char a[HSMCA_PIN_MAX + 1], b[HSMCA_PIN_MAX + 1], prompt[160];
    long la, lb;
    int fd = -1;
    hsmca_rv rv = HSMCA_ERR_IO;

    *out = NULL;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "%s: no terminal to prompt on (prompt needs a terminal; give a PIN file instead)", what);
        goto done;
    }
    snprintf(prompt, sizeof(prompt), "%s: ", what);
    la = read_line_noecho(fd, prompt, a, sizeof(a));
    if (la <= 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: empty, longer than %d bytes, or not read from the terminal", what,
                       HSMCA_PIN_MAX);
        goto done;
    }
    if (confirm) {
        snprintf(prompt, sizeof(prompt), "%s (again): ", what);
        lb = read_line_noecho(fd, prompt, b, sizeof(b));
        if (lb != la || CRYPTO_memcmp(a, b, (size_t)la) != 0) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "%s: the two entries differ", what);
            goto done;
        }
    }
    rv = hsmca_pin_from_bytes(a, (size_t)la, out);
done:
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    if (fd >= 0)
        close(fd);
    return rv;
}
