/* SPDX-License-Identifier: Apache-2.0 */
/* Throwaway directories for the unit tests (unit_util.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

void unit_mkdir_p(const char *path)
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

void unit_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1200];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int unit_make_tmpdir(char *out, size_t size, const char *env_var, const char *name)
{
    const char *base = env_var != NULL ? getenv(env_var) : NULL;
    int n;

    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    unit_mkdir_p(base);
    n = snprintf(out, size, "%s/%s.XXXXXX", base, name);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return mkdtemp(out) != NULL ? 0 : -1;
}
