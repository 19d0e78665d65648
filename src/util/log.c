/* SPDX-License-Identifier: Apache-2.0 */
/* stderr logging with sd-daemon "<N>" priority prefixes, one line per event. */
#include "hsmca/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_LINE_MAX 1024

/* Libraries stay quiet by default (the provider runs inside the openssl
 * command); programs raise the level. */
static atomic_int log_max = HSMCA_LOG_NOTICE;

void hsmca_log_set_level(hsmca_log_level max)
{
    atomic_store(&log_max, (int)max);
}

hsmca_log_level hsmca_log_get_level(void)
{
    return (hsmca_log_level)atomic_load(&log_max);
}

int hsmca_log_enabled(hsmca_log_level level)
{
    return (int)level <= atomic_load(&log_max);
}

int hsmca_log_parse_level(const char *name, hsmca_log_level *out)
{
    static const struct {
        const char *name;
        hsmca_log_level level;
    } levels[] = {
        {"err", HSMCA_LOG_ERR},       {"error", HSMCA_LOG_ERR},
        {"warning", HSMCA_LOG_WARNING}, {"notice", HSMCA_LOG_NOTICE},
        {"info", HSMCA_LOG_INFO},     {"debug", HSMCA_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcasecmp(name, levels[i].name) == 0) {
            *out = levels[i].level;
            return 1;
        }
    }
    return 0;
}

void hsmca_log(hsmca_log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    int n;

    if (!hsmca_log_enabled(level))
        return;
    va_start(ap, fmt);
    n = snprintf(line, sizeof(line), "<%d>", (int)level);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One event is one line: fold embedded newlines so a message can never
     * forge a second journal entry. */
    for (char *p = line; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    /* One fputs of the whole line keeps concurrent events from interleaving. */
    size_t len = strlen(line);
    if (len + 1 < sizeof(line)) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}
