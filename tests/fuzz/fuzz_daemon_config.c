/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for hsmcad's configuration file (src/daemon/config.c,
 * compiled into the target since the daemon's sources are not a library):
 * any file must load or be refused cleanly, and a refused file must leave
 * nothing allocated (daemon_config_clear on the result stays safe). The
 * input goes through a memfd so the parser reads it by path, as hsmcad does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    daemon_config c;
    char path[64];
    int fd = memfd_create("hsmcad-config", 0);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    memset(&c, 0, sizeof(c));
    (void)daemon_config_load(path, &c);
    daemon_config_clear(&c);
    daemon_config_clear(&c); /* clearing twice must be safe (callers do on error paths) */
    close(fd);
    return 0;
}
