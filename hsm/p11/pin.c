/* SPDX-License-Identifier: Apache-2.0 */
/* Reading PINs from files and systemd credentials into the secure heap. */
#include "hsmca/pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmca/log.h"

struct hsmca_pin {
    size_t len;
    unsigned char data[HSMCA_PIN_MAX + 1];
};

hsmca_rv hsmca_pin_from_bytes(const void *data, size_t len, hsmca_pin **out)
{
    hsmca_pin *pin;

    *out = NULL;
    if (len == 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN is empty");
    if (len > HSMCA_PIN_MAX)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN is longer than %d bytes", HSMCA_PIN_MAX);
    pin = OPENSSL_secure_zalloc(sizeof(*pin));
    if (pin == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of secure memory for the PIN");
    memcpy(pin->data, data, len);
    pin->len = len;
    *out = pin;
    return HSMCA_OK;
}

hsmca_rv hsmca_pin_dup(const hsmca_pin *pin, hsmca_pin **out)
{
    return hsmca_pin_from_bytes(pin->data, pin->len, out);
}

const unsigned char *hsmca_pin_data(const hsmca_pin *pin, size_t *len)
{
    *len = pin ? pin->len : 0;
    return pin ? pin->data : NULL;
}

void hsmca_pin_free(hsmca_pin *pin)
{
    if (pin != NULL)
        OPENSSL_secure_clear_free(pin, sizeof(*pin));
}

/* A credential name is one path component: systemd rejects anything else and
 * accepting "../x" would let a config read arbitrary files as credentials. */
static int credential_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 255 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    return strchr(name, '/') == NULL;
}

static hsmca_rv read_pin_file(const char *path, hsmca_pin **out)
{
    hsmca_rv rv = HSMCA_ERR_IO;
    hsmca_pin *pin = NULL;
    struct stat st;
    size_t got = 0;
    int fd;

    /* O_NOFOLLOW is not used: systemd credentials and secret mounts are often
     * symlinks. The file type check below is what matters. */
    /* O_NONBLOCK: a FIFO or pipe given as the PIN path must fail the
     * regular-file check below, not block the daemon forever in open(). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rv = hsmca_err(HSMCA_ERR_IO, "cannot open PIN file '%s': %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN file '%s' is not a regular file", path);
        goto done;
    }
    if (st.st_size > HSMCA_PIN_MAX + 2) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "PIN file '%s' is %lld bytes; a PIN file holds one line of at most %d bytes",
                       path, (long long)st.st_size, HSMCA_PIN_MAX);
        goto done;
    }
    if ((st.st_mode & 077) != 0)
        hsmca_log(HSMCA_LOG_WARNING, "PIN file '%s' is readable by group or others (mode %03o); "
                  "it should be 0600 or 0400", path, (unsigned)(st.st_mode & 0777));
    pin = OPENSSL_secure_zalloc(sizeof(*pin));
    if (pin == NULL) {
        rv = hsmca_err(HSMCA_ERR_NOMEM, "out of secure memory for the PIN");
        goto done;
    }
    /* Read into the secure buffer directly: no stdio buffers holding copies. */
    while (got < HSMCA_PIN_MAX + 1) {
        ssize_t r = read(fd, pin->data + got, HSMCA_PIN_MAX + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rv = hsmca_err(HSMCA_ERR_IO, "cannot read PIN file '%s': %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    {
        /* The PIN is the first line; CR LF and LF endings are not part of it. */
        unsigned char *nl = memchr(pin->data, '\n', got);
        size_t len = nl ? (size_t)(nl - pin->data) : got;
        if (len > 0 && pin->data[len - 1] == '\r')
            len--;
        if (len > HSMCA_PIN_MAX) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN in '%s' is longer than %d bytes",
                           path, HSMCA_PIN_MAX);
            goto done;
        }
        if (len == 0) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN file '%s' is empty", path);
            goto done;
        }
        OPENSSL_cleanse(pin->data + len, sizeof(pin->data) - len);
        pin->len = len;
    }
    *out = pin;
    pin = NULL;
    rv = HSMCA_OK;
done:
    if (fd >= 0)
        close(fd);
    hsmca_pin_free(pin);
    return rv;
}

hsmca_rv hsmca_pin_load(const hsmca_pin_source *src, hsmca_pin **out,
                        char *origin, size_t origin_size)
{
    char path[4096];
    const char *dir;
    hsmca_rv rv;

    *out = NULL;
    if (origin_size > 0)
        origin[0] = '\0';
    if (src == NULL || ((src->file == NULL) == (src->credential == NULL)))
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "exactly one PIN source is needed: a PIN file or a systemd credential name");
    if (src->file != NULL) {
        if (src->file[0] == '\0')
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "PIN file path is empty");
        snprintf(origin, origin_size, "file %s", src->file);
        return read_pin_file(src->file, out);
    }
    if (!credential_name_ok(src->credential))
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "credential name '%s' must be a single file name", src->credential);
    /* The directory comes from systemd's environment; the PIN itself never
     * does. */
    dir = secure_getenv("CREDENTIALS_DIRECTORY");
    if (dir == NULL || dir[0] == '\0')
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "PIN credential '%s' requested but $CREDENTIALS_DIRECTORY is not set "
                         "(start the service with LoadCredential=%s:...)",
                         src->credential, src->credential);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, src->credential) >= sizeof(path))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "credential path too long");
    snprintf(origin, origin_size, "credential %s", src->credential);
    rv = read_pin_file(path, out);
    if (rv != HSMCA_OK)
        hsmca_err_prefix("systemd credential '%s'", src->credential);
    return rv;
}
